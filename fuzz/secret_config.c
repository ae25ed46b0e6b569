/* libFuzzer target: Occlum's secret_config.json as the KMS loads it. */
#include "initra/kms.h"
#include "kms/internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    initra_kms_secrets s;
    initra_err err;
    if (kms_secrets_parse((const char *)data, size, "fuzz.json", &s, &err) == 0) {
        if (s.n) kms_secrets_find(&s, s.items[0].name);
        kms_secrets_free(&s);
    }
    return 0;
}
