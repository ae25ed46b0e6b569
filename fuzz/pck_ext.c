/* libFuzzer target: the PCK certificate SGX extension (DER from an untrusted certificate). */
#include <openssl/crypto.h>
#include <stdlib.h>
#include <string.h>

#include "dcap/internal.h"
#include "initra/dcap.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    initra_pck_ext e, back;
    initra_err err;
    if (dcap_pck_ext_parse(data, size, &e, &err) == 0) {
        uint8_t *der;
        size_t len;
        /* Whatever parses re-encodes to something that parses to the same values. */
        if (initra_pck_ext_encode(&e, &der, &len, &err) != 0) abort();
        if (dcap_pck_ext_parse(der, len, &back, &err) != 0 || memcmp(&e, &back, sizeof e) != 0) abort();
        OPENSSL_free(der);
    }
    return 0;
}
