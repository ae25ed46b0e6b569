/* libFuzzer target: a peer's RA-TLS certificate (DER) through evidence extraction and binding. */
#include <stdlib.h>

#include "initra/ratls.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const unsigned char *p = data;
    X509 *x = d2i_X509(NULL, &p, (long)size);
    if (!x) return 0;
    uint8_t *q = NULL;
    size_t ql = 0;
    int fmt = 0;
    initra_err err;
    if (initra_ratls_evidence(x, &q, &ql, &fmt, &err) == 0) free(q);
    X509_free(x);
    return 0;
}
