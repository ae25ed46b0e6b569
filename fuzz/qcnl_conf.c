/* libFuzzer target: Intel's QCNL configuration (sgx_default_qcnl.conf), JSON with comments or KEY=value. */
#include "dcap/internal.h"
#include "initra/dcap.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    initra_qcnl q;
    initra_err err;
    dcap_qcnl_parse((const char *)data, size, "fuzz.conf", &q, &err);
    return 0;
}
