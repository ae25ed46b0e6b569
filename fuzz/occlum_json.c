/* libFuzzer target: Occlum.json validation (instances may come from others). */
#include <stdlib.h>

#include "enclave/internal.h"
#include "initra/enclave.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    initra_enclave_meta m;
    initra_err err;
    if (enclave_occlum_json_parse((const char *)data, size, "Occlum.json", &m, &err) == 0) {
        char *xml = enclave_xml(&m);
        if (!xml) abort();
        free(xml);
    }
    return 0;
}
