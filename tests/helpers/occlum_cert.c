/* An RA-TLS certificate shaped as Occlum's grpc_ratls makes them (occlum/occlum 690d5db,
 * tools/toolchains/grpc_ratls/ra_tls/0001-Add-Occlum-SGX-tls-function.patch, occlum_get_key_cert):
 * a fresh RSA-2048 key (e = 65537); X509_new() without X509_set_version, so X.509 v1, yet carrying the
 * extension 1.2.840.113741.1 (non-critical) with the raw quote; serial 1; subject = issuer =
 * C=CN, O=Intel Inc., CN=localhost; notBefore = the moment it is made, notAfter 630720000 s later;
 * report_data[0..32] = SHA-256 of the DER SubjectPublicKeyInfo, [32..64] zero; X509_sign with SHA-1.
 * The quote comes from the simulated platform ($INITRA_SIM_DIR), for the identity given.
 *
 *   occlum_cert [--mrenclave HEX64] [--mrsigner HEX64] [--config-svn N] [--not-before-offset SECONDS]
 *               [--digest sha1|sha256] [--corrupt-signature] --key-out KEY.pem --cert-out CERT.pem
 *
 * --not-before-offset models a peer whose clock is ahead; --digest sha256 and --corrupt-signature
 * (one bit of the signature flipped) test the self-signature rules. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/sha.h>
#include <openssl/x509v3.h>

#include "initra/attest.h"
#include "initra/sim.h"

static int fail(const char *what)
{
    fprintf(stderr, "occlum_cert: %s\n", what);
    return 1;
}

static int write_pem(const char *path, int (*w)(BIO *, void *), void *obj)
{
    BIO *b = BIO_new_file(path, "w");
    int ok = b && w(b, obj);
    BIO_free(b);
    return ok ? 0 : -1;
}
static int w_cert(BIO *b, void *x) { return PEM_write_bio_X509(b, x); }
static int w_key(BIO *b, void *k) { return PEM_write_bio_PrivateKey(b, k, NULL, NULL, 0, NULL, NULL); }

int main(int argc, char **argv)
{
    initra_sgx_report_body id;
    memset(&id, 0, sizeof id);
    id.attributes.flags = INITRA_ATTR_INIT | INITRA_ATTR_MODE64BIT;
    id.attributes.xfrm = 0xe7;
    const char *key_out = NULL, *cert_out = NULL;
    long offset = 0;
    int corrupt = 0;
    const EVP_MD *md = EVP_sha1();
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--corrupt-signature")) {
            corrupt = 1;
            continue;
        }
        if (!v) return fail("an option lacks its value");
        i++;
        if (!strcmp(a, "--mrenclave") && initra_unhex(v, id.mr_enclave, 32) == 0) continue;
        if (!strcmp(a, "--mrsigner") && initra_unhex(v, id.mr_signer, 32) == 0) continue;
        if (!strcmp(a, "--config-svn")) {
            id.config_svn = (uint16_t)atoi(v);
            id.attributes.flags |= INITRA_ATTR_KSS;
        } else if (!strcmp(a, "--not-before-offset")) offset = atol(v);
        else if (!strcmp(a, "--digest") && !strcmp(v, "sha1")) md = EVP_sha1();
        else if (!strcmp(a, "--digest") && !strcmp(v, "sha256")) md = EVP_sha256();
        else if (!strcmp(a, "--key-out")) key_out = v;
        else if (!strcmp(a, "--cert-out")) cert_out = v;
        else return fail("bad option or value; see the comment at the top of tests/helpers/occlum_cert.c");
    }
    if (!key_out || !cert_out) return fail("--key-out and --cert-out are required");

    EVP_PKEY *key = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
    X509 *x = X509_new();
    X509_NAME *name = X509_NAME_new();
    if (!key || !x || !name) return fail("out of memory");
    ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
    X509_gmtime_adj(X509_getm_notBefore(x), offset);
    X509_gmtime_adj(X509_getm_notAfter(x), 630720000L);
    X509_set_pubkey(x, key);
    X509_NAME_add_entry_by_txt(name, "C", MBSTRING_ASC, (const unsigned char *)"CN", -1, -1, 0);
    X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC, (const unsigned char *)"Intel Inc.", -1, -1, 0);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)"localhost", -1, -1, 0);
    X509_set_subject_name(x, name);
    X509_set_issuer_name(x, name);

    unsigned char *spki = NULL;
    int spki_len = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(x), &spki);
    uint8_t rd[64] = {0};
    if (spki_len <= 0) return fail("cannot encode the public key");
    SHA256(spki, (size_t)spki_len, rd);
    OPENSSL_free(spki);

    char dir[4096];
    initra_err err;
    initra_sim *sim = initra_sim_dir(dir, sizeof dir, &err) == 0 ? initra_sim_open(dir, &err) : NULL;
    uint8_t *quote = NULL;
    size_t qlen = 0;
    if (!sim || initra_sim_quote(sim, &id, rd, &quote, &qlen, &err)) return fail(err.msg);
    initra_sim_close(sim);

    ASN1_OBJECT *obj = OBJ_txt2obj("1.2.840.113741.1", 1);
    ASN1_OCTET_STRING *data = ASN1_OCTET_STRING_new();
    ASN1_OCTET_STRING_set(data, quote, (int)qlen);
    X509_EXTENSION *ext = X509_EXTENSION_create_by_OBJ(NULL, obj, 0, data);
    if (!ext || !X509_add_ext(x, ext, -1) || !X509_sign(x, key, md)) return fail("cannot build the certificate");

    if (corrupt) { /* flip one bit of the signature: the last byte of the DER certificate */
        unsigned char *der = NULL;
        int n = i2d_X509(x, &der);
        if (n <= 0) return fail("cannot encode the certificate");
        der[n - 1] ^= 1;
        const unsigned char *p = der;
        X509 *bad = d2i_X509(NULL, &p, n);
        OPENSSL_free(der);
        if (!bad) return fail("cannot decode the corrupted certificate");
        X509_free(x);
        x = bad;
    }
    if (write_pem(key_out, w_key, key) || write_pem(cert_out, w_cert, x)) return fail("cannot write the PEM files");
    X509_EXTENSION_free(ext);
    ASN1_OCTET_STRING_free(data);
    ASN1_OBJECT_free(obj);
    X509_NAME_free(name);
    X509_free(x);
    EVP_PKEY_free(key);
    free(quote);
    return 0;
}
