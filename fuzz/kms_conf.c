/* libFuzzer target: the KMS configuration file (/etc/initra/kms.json or the CONFIGID-bound one). */
#include "initra/kms.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    initra_kms_conf c;
    initra_err err;
    if (initra_kms_conf_parse((const char *)data, size, "fuzz.json", &c, &err) == 0) initra_kms_conf_free(&c);
    return 0;
}
