/* libFuzzer target: the AECS store file (JSON: services, secrets, UA policies). */
#include "aecs/internal.h"
#include "initra/aecs.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    initra_aecs_store st;
    initra_err err;
    if (initra_aecs_store_from_json((const char *)data, size, "fuzz", &st, &err) == 0) {
        for (size_t i = 0; i < st.n_secrets; i++) {
            initra_ua_attrs a;
            initra_sgx_report_body b = {0};
            if (aecs_ua_attrs_from_sgx(&b, &a, &err) == 0) {
                aecs_ua_policy_check(&st.secrets[i].policy, &a, &err);
                aecs_ua_attrs_free(&a);
            }
        }
        initra_aecs_store_free(&st);
    }
    return 0;
}
