/* libFuzzer target: SIGSTRUCT parsing and verification (build/enclave.sig is read back at run time). */
#include <stdlib.h>
#include <string.h>

#include "enclave/internal.h"
#include "initra/enclave.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    initra_sigstruct s;
    initra_err err;
    if (initra_sigstruct_parse(data, size, &s, &err) == 0) {
        /* whatever parses re-encodes to the same bytes */
        uint8_t re[INITRA_SIGSTRUCT_SIZE];
        enclave_sigstruct_encode(&s, re);
        if (memcmp(re, data, INITRA_SIGSTRUCT_SIZE) != 0) abort();
        initra_sgx_report_body id;
        enclave_identity_from_sigstruct(&s, NULL, 0, &id);
        (void)initra_sigstruct_verify(data, size, &s, &err);
    }
    return 0;
}
