/* The simulated platform's PKI: P-256 keys, certificates shaped like Intel's SGX PCK hierarchy (but named
 * "initra sim ..." under O "initra simulated SGX"), empty CRLs, and raw r||s ECDSA signatures. OpenSSL 3. */
#include "sim/internal.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>

const uint8_t SIM_COMP_SVN[16] = {5, 5, 2, 2, 3, 1, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0};

EVP_PKEY *sim_keygen(initra_err *err)
{
    EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    if (!k) initra_fail(err, "sim: cannot generate a P-256 key (OpenSSL)");
    return k;
}

static X509_NAME *sim_name(const char *cn)
{
    X509_NAME *n = X509_NAME_new();
    static const char *const fields[][2] = {
        {"O", "initra simulated SGX"}, {"L", "Simulation"}, {"ST", "None"}, {"C", "ZZ"}};
    int ok = n && X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_UTF8, (const unsigned char *)cn, -1, -1, 0);
    for (size_t i = 0; ok && i < sizeof fields / sizeof fields[0]; i++)
        ok = X509_NAME_add_entry_by_txt(n, fields[i][0], MBSTRING_UTF8, (const unsigned char *)fields[i][1], -1, -1, 0);
    if (!ok) {
        X509_NAME_free(n);
        return NULL;
    }
    return n;
}

static int set_serial(X509 *c)
{
    uint8_t raw[20];
    if (RAND_bytes(raw, sizeof raw) != 1) return 0;
    raw[0] = (uint8_t)((raw[0] & 0x7f) | 0x01); /* positive, 20 bytes, like Intel's */
    BIGNUM *bn = BN_bin2bn(raw, sizeof raw, NULL);
    ASN1_INTEGER *s = bn ? BN_to_ASN1_INTEGER(bn, NULL) : NULL;
    int ok = s && X509_set_serialNumber(c, s);
    ASN1_INTEGER_free(s);
    BN_free(bn);
    return ok;
}

static int add_ext(X509 *c, X509V3_CTX *ctx, int nid, const char *value)
{
    X509_EXTENSION *e = X509V3_EXT_nconf_nid(NULL, ctx, nid, value);
    int ok = e && X509_add_ext(c, e, -1);
    X509_EXTENSION_free(e);
    return ok;
}

static int add_sgx_ext(X509 *c, const uint8_t *der, size_t len)
{
    ASN1_OBJECT *oid = OBJ_txt2obj(INITRA_OID_SGX_EXT, 1);
    ASN1_OCTET_STRING *os = ASN1_OCTET_STRING_new();
    int ok = oid && os && len < INT_MAX && ASN1_OCTET_STRING_set(os, der, (int)len);
    X509_EXTENSION *e = ok ? X509_EXTENSION_create_by_OBJ(NULL, oid, 0, os) : NULL;
    ok = e && X509_add_ext(c, e, -1);
    X509_EXTENSION_free(e);
    ASN1_OCTET_STRING_free(os);
    ASN1_OBJECT_free(oid);
    return ok;
}

X509 *sim_cert_issue(EVP_PKEY *subject_key, const char *cn, enum sim_cert_kind kind, X509 *issuer,
                     EVP_PKEY *issuer_key, const uint8_t *ext_der, size_t ext_len, time_t now, long days,
                     initra_err *err)
{
    X509 *c = X509_new();
    X509_NAME *name = sim_name(cn);
    int ok = c && name && X509_set_version(c, X509_VERSION_3) && set_serial(c) && X509_set_subject_name(c, name) &&
             X509_set_issuer_name(c, issuer ? X509_get_subject_name(issuer) : name) &&
             X509_time_adj_ex(X509_getm_notBefore(c), 0, -3600, &now) && /* an hour of clock skew */
             X509_time_adj_ex(X509_getm_notAfter(c), (int)days, 0, &now) && X509_set_pubkey(c, subject_key);
    X509V3_CTX ctx;
    if (ok) {
        X509V3_set_ctx(&ctx, issuer ? issuer : c, c, NULL, NULL, 0);
        ok = add_ext(c, &ctx, NID_subject_key_identifier, "hash") &&
             add_ext(c, &ctx, NID_authority_key_identifier, "keyid:always");
    }
    if (ok && kind == SIM_CERT_ROOT) ok = add_ext(c, &ctx, NID_basic_constraints, "critical,CA:TRUE,pathlen:1");
    if (ok && kind == SIM_CERT_CA) ok = add_ext(c, &ctx, NID_basic_constraints, "critical,CA:TRUE,pathlen:0");
    if (ok && kind == SIM_CERT_LEAF) ok = add_ext(c, &ctx, NID_basic_constraints, "critical,CA:FALSE");
    if (ok)
        ok = add_ext(c, &ctx, NID_key_usage,
                     kind == SIM_CERT_LEAF ? "critical,digitalSignature,nonRepudiation" : "critical,keyCertSign,cRLSign");
    if (ok && ext_der) ok = add_sgx_ext(c, ext_der, ext_len);
    if (ok) ok = X509_sign(c, issuer_key ? issuer_key : subject_key, EVP_sha256()) > 0;
    X509_NAME_free(name);
    if (!ok) {
        X509_free(c);
        initra_fail(err, "sim: cannot issue the certificate '%s' (OpenSSL)", cn);
        return NULL;
    }
    return c;
}

/* DER that OpenSSL encoded into out (n bytes, n <= 0 a failure named by what) as a malloc'd copy. */
static int take_der(unsigned char *out, int n, const char *what, uint8_t **der, size_t *len, initra_err *err)
{
    if (n <= 0) return initra_fail(err, "sim: cannot %s (OpenSSL)", what);
    *der = malloc((size_t)n);
    if (*der) memcpy(*der, out, (size_t)n);
    OPENSSL_free(out);
    if (!*der) return initra_fail(err, "out of memory");
    *len = (size_t)n;
    return 0;
}

int sim_crl_der(X509 *issuer, EVP_PKEY *key, long number, time_t now, long days, uint8_t **der, size_t *len,
                initra_err *err)
{
    X509_CRL *crl = X509_CRL_new();
    ASN1_TIME *t0 = ASN1_TIME_set(NULL, now), *t1 = ASN1_TIME_set(NULL, now + days * 86400);
    ASN1_INTEGER *num = ASN1_INTEGER_new();
    X509V3_CTX ctx;
    X509V3_set_ctx(&ctx, issuer, NULL, NULL, crl, 0);
    X509_EXTENSION *aki = crl ? X509V3_EXT_nconf_nid(NULL, &ctx, NID_authority_key_identifier, "keyid:always") : NULL;
    int ok = crl && t0 && t1 && num && aki && X509_CRL_set_version(crl, X509_CRL_VERSION_2) &&
             X509_CRL_set_issuer_name(crl, X509_get_subject_name(issuer)) && X509_CRL_set1_lastUpdate(crl, t0) &&
             X509_CRL_set1_nextUpdate(crl, t1) && ASN1_INTEGER_set(num, number) &&
             X509_CRL_add1_ext_i2d(crl, NID_crl_number, num, 0, 0) && X509_CRL_add_ext(crl, aki, -1) &&
             X509_CRL_sort(crl) && X509_CRL_sign(crl, key, EVP_sha256()) > 0;
    unsigned char *out = NULL;
    int n = ok ? i2d_X509_CRL(crl, &out) : -1;
    X509_EXTENSION_free(aki);
    ASN1_INTEGER_free(num);
    ASN1_TIME_free(t0);
    ASN1_TIME_free(t1);
    X509_CRL_free(crl);
    return take_der(out, n, "issue a CRL", der, len, err);
}

int sim_sign_rs(EVP_PKEY *key, const uint8_t *msg, size_t n, uint8_t out[64], initra_err *err)
{
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    unsigned char sig[80];
    size_t slen = sizeof sig;
    int ok = md && EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, key) == 1 &&
             EVP_DigestSign(md, sig, &slen, msg, n) == 1;
    EVP_MD_CTX_free(md);
    const unsigned char *p = sig;
    ECDSA_SIG *es = ok ? d2i_ECDSA_SIG(NULL, &p, (long)slen) : NULL;
    ok = es && BN_bn2binpad(ECDSA_SIG_get0_r(es), out, 32) == 32 && BN_bn2binpad(ECDSA_SIG_get0_s(es), out + 32, 32) == 32;
    ECDSA_SIG_free(es);
    return ok ? 0 : initra_fail(err, "sim: ECDSA signing failed (OpenSSL)");
}

int sim_pubkey_xy(EVP_PKEY *key, uint8_t out[64], initra_err *err)
{
    uint8_t pt[65];
    size_t n = 0;
    if (EVP_PKEY_get_octet_string_param(key, OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY, pt, sizeof pt, &n) != 1 || n != 65 ||
        pt[0] != 0x04)
        return initra_fail(err, "sim: the attestation key is not an uncompressed P-256 point");
    memcpy(out, pt + 1, 64);
    return 0;
}

static int bio_take(BIO *b, int ok, char **out, size_t *len, initra_err *err)
{
    char *data;
    long n = ok ? BIO_get_mem_data(b, &data) : 0;
    if (ok && n > 0) {
        *out = malloc((size_t)n + 1);
        if (*out) {
            memcpy(*out, data, (size_t)n);
            (*out)[n] = 0;
            *len = (size_t)n;
        }
    }
    ok = ok && n > 0 && *out;
    if (b) {
        if (n > 0) OPENSSL_cleanse(data, (size_t)n); /* may be a private key */
        BIO_free(b);
    }
    return ok ? 0 : initra_fail(err, "sim: cannot encode PEM (OpenSSL)");
}

int sim_key_pem(EVP_PKEY *key, char **pem, size_t *len, initra_err *err)
{
    BIO *b = BIO_new(BIO_s_mem());
    return bio_take(b, b && PEM_write_bio_PrivateKey(b, key, NULL, NULL, 0, NULL, NULL), pem, len, err);
}

int sim_cert_pem(X509 *cert, char **pem, size_t *len, initra_err *err)
{
    BIO *b = BIO_new(BIO_s_mem());
    return bio_take(b, b && PEM_write_bio_X509(b, cert), pem, len, err);
}

int sim_cert_der(X509 *cert, uint8_t **der, size_t *len, initra_err *err)
{
    unsigned char *out = NULL;
    int n = i2d_X509(cert, &out);
    return take_der(out, n, "encode a certificate", der, len, err);
}

/* Reads a PEM private key (is_key) or certificate from dir/name. */
static void *load_pem(const char *dir, const char *name, int is_key, initra_err *err)
{
    char path[4096];
    uint8_t *buf;
    size_t n;
    snprintf(path, sizeof path, "%s/%s", dir, name);
    if (initra_read_file(path, INITRA_MAX_CONFIG, &buf, &n, err)) return NULL;
    BIO *b = BIO_new_mem_buf(buf, (int)n);
    void *obj = !b ? NULL : is_key ? (void *)PEM_read_bio_PrivateKey(b, NULL, NULL, NULL) : (void *)PEM_read_bio_X509(b, NULL, NULL, NULL);
    BIO_free(b);
    initra_free_secret(buf, n);
    if (!obj)
        initra_fail(err, "%s: not a PEM %s; run `initra sim init` to rebuild the platform", path,
                    is_key ? "private key" : "certificate");
    return obj;
}

EVP_PKEY *sim_load_key(const char *dir, const char *name, initra_err *err) { return load_pem(dir, name, 1, err); }

X509 *sim_load_cert(const char *dir, const char *name, initra_err *err) { return load_pem(dir, name, 0, err); }

void sim_iso_time(time_t t, char out[21])
{
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, 21, "%Y-%m-%dT%H:%M:%SZ", &tm);
}
