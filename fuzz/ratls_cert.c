/* libFuzzer target: RA-TLS evidence from a peer certificate. The input's first byte picks the
 * extension(s): 0 Occlum raw quote, 1 Gramine legacy raw quote (on-wire OID), 2 TCG CBOR, 3 Gramine
 * legacy under the intended OID; 4 Gramine legacy + TCG, 5 Occlum + TCG, where bytes 1-2 (big-endian)
 * give the length of the first extension's content and the rest is the TCG content. The content is
 * grafted into a valid self-signed certificate so the fuzzer reaches the CBOR, claims, quote, binding and
 * agreement checks. Inputs that start with 0x30 are also tried as a whole DER certificate. */
#include <openssl/evp.h>
#include <openssl/x509v3.h>
#include <stdlib.h>

#include "initra/ratls.h"
#include "ratls/internal.h"

static void try_cert(X509 *x)
{
    uint8_t *q = NULL;
    size_t ql = 0;
    int fmt = 0;
    initra_err err;
    if (ratls_evidence(x, &q, &ql, &fmt, &err) == 0) free(q);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static EVP_PKEY *key;
    if (!key) key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    if (size == 0) return 0;
    if (data[0] == 0x30) {
        const unsigned char *p = data;
        X509 *x = d2i_X509(NULL, &p, (long)size);
        if (x) try_cert(x);
        X509_free(x);
    }
    static const char *const oids[] = {INITRA_OID_RATLS_OCCLUM, INITRA_OID_RATLS_GRAMINE, INITRA_OID_RATLS_TCG,
                                       INITRA_OID_RATLS_GRAMINE_INTENDED};
    int mode = data[0] % 6;
    const uint8_t *first = data + 1, *second = NULL;
    size_t first_len = size - 1, second_len = 0;
    const char *first_oid = mode < 4 ? oids[mode] : mode == 4 ? INITRA_OID_RATLS_GRAMINE : INITRA_OID_RATLS_OCCLUM;
    if (mode >= 4) {
        if (size < 3) return 0;
        first = data + 3;
        first_len = (size_t)data[1] << 8 | data[2];
        if (first_len > size - 3) first_len = size - 3;
        second = first + first_len;
        second_len = size - 3 - first_len;
    }
    X509 *x = X509_new();
    int ok = x && ratls_add_ext(x, first_oid, first, first_len) == 0 &&
             (!second || ratls_add_ext(x, INITRA_OID_RATLS_TCG, second, second_len) == 0) && X509_set_pubkey(x, key) &&
             X509_gmtime_adj(X509_getm_notBefore(x), 0) && X509_gmtime_adj(X509_getm_notAfter(x), 60) &&
             X509_sign(x, key, EVP_sha256());
    if (ok) try_cert(x);
    X509_free(x);
    return 0;
}
