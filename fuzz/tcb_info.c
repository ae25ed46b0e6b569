/* libFuzzer target: TCB info JSON (v2 and v3, SGX and TDX), the signed text from collateral. */
#include "dcap/internal.h"
#include "initra/dcap.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    initra_err err;
    dcap_tcb_info_free(dcap_tcb_info_parse((const char *)data, size, &err));
    return 0;
}
