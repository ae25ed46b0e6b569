/* libFuzzer target: a DER CRL (root CA CRL, PCK CRL) from collateral or a PCCS. */
#include "dcap/internal.h"
#include "initra/dcap.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    initra_err err;
    dcap_crl_free(dcap_crl_parse(data, size, "CRL", &err));
    return 0;
}
