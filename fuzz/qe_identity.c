/* libFuzzer target: QE identity JSON (QE, TD_QE), the signed text from collateral. */
#include "dcap/internal.h"
#include "initra/dcap.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    initra_err err;
    dcap_qe_identity_free(dcap_qe_identity_parse((const char *)data, size, &err));
    return 0;
}
