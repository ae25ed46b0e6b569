/* libFuzzer target: RA-TLS evidence from a peer certificate. The input's first byte picks the
 * extension (Occlum raw quote, Gramine raw quote, TCG CBOR); the rest is its content, grafted into a
 * valid self-signed certificate so the fuzzer reaches the CBOR, claims, quote and binding checks.
 * Inputs that start with 0x30 are also tried as a whole DER certificate. */
#include <openssl/evp.h>
#include <openssl/x509v3.h>
#include <stdlib.h>

#include "initra/ratls.h"

static void try_cert(X509 *x)
{
    uint8_t *q = NULL;
    size_t ql = 0;
    int fmt = 0;
    initra_err err;
    if (initra_ratls_evidence(x, &q, &ql, &fmt, &err) == 0) free(q);
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
    static const char *const oids[] = {INITRA_OID_RATLS_OCCLUM, INITRA_OID_RATLS_GRAMINE, INITRA_OID_RATLS_TCG};
    X509 *x = X509_new();
    ASN1_OBJECT *obj = OBJ_txt2obj(oids[data[0] % 3], 1);
    ASN1_OCTET_STRING *os = ASN1_OCTET_STRING_new();
    X509_EXTENSION *ext = NULL;
    if (x && obj && os && ASN1_OCTET_STRING_set(os, data + 1, (int)(size - 1)) &&
        (ext = X509_EXTENSION_create_by_OBJ(NULL, obj, 0, os)) && X509_add_ext(x, ext, -1) &&
        X509_set_pubkey(x, key) && X509_gmtime_adj(X509_getm_notBefore(x), 0) &&
        X509_gmtime_adj(X509_getm_notAfter(x), 60) && X509_sign(x, key, EVP_sha256()))
        try_cert(x);
    X509_EXTENSION_free(ext);
    ASN1_OCTET_STRING_free(os);
    ASN1_OBJECT_free(obj);
    X509_free(x);
    return 0;
}
