/* libFuzzer target: policy files (ra_config, dynamic_config.json, initra policies, per-secret rules). */
#include <string.h>

#include "initra/policy.h"
#include "policy/internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_t *j = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, NULL);
    if (!j) return 0;
    initra_err err;
    initra_sgx_report_body b;
    memset(&b, 0, sizeof b);
    const char *adv[] = {"INTEL-SA-00615"};
    initra_evidence ev = {&b, "SWHardeningNeeded", adv, 1, 0, 1};
    initra_policy *p = initra_policy_from_json(j, "fuzz", &err);
    if (p) {
        initra_policy_check(p, &ev, &err);
        initra_policy_free(p);
    }
    initra_secret_policy *sp = policy_secret_from_json(j, "fuzz", &err);
    if (sp) {
        initra_secret_policy_check(sp, "k", &ev, &err);
        initra_secret_policy_free(sp);
    }
    json_decref(j);
    return 0;
}
