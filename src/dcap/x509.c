/* X.509, CRL and ECDSA helpers for DCAP verification, all on OpenSSL: raw r||s signatures are
 * converted to DER ECDSA-Sig-Value and verified with EVP; chains are checked explicitly (signature,
 * issuer name, CA flag) and their validity windows recorded, so the time checks can run later
 * without repeating the signature work. */
#include <stdarg.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "dcap/internal.h"

int dcap_parse_date(const char *s, time_t *out)
{
    int y, mo, d, h, mi, se;
    char z = 0;
    size_t n = strlen(s);
    /* "2025-06-19T10:56:11Z", optionally with fractional seconds before Z */
    if (n < 20 || sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d", &y, &mo, &d, &h, &mi, &se) != 6) return -1;
    if (s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' || s[16] != ':') return -1;
    const char *p = s + 19;
    if (*p == '.') {
        p++;
        while (*p >= '0' && *p <= '9') p++;
    }
    z = *p;
    if (z != 'Z' || p[1]) return -1;
    if (y < 1970 || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || se > 60) return -1;
    struct tm tm = {0};
    tm.tm_year = y - 1900;
    tm.tm_mon = mo - 1;
    tm.tm_mday = d;
    tm.tm_hour = h;
    tm.tm_min = mi;
    tm.tm_sec = se;
    *out = timegm(&tm);
    return 0;
}

void dcap_fmt_time(time_t t, char buf[32])
{
    struct tm tm;
    if (!gmtime_r(&t, &tm) || !strftime(buf, 32, "%Y-%m-%dT%H:%M:%SZ", &tm)) snprintf(buf, 32, "%lld", (long long)t);
}

int dcap_asn1_time(const ASN1_TIME *a, time_t *out)
{
    struct tm tm;
    if (!a || !ASN1_TIME_to_tm(a, &tm)) return -1;
    *out = timegm(&tm);
    return 0;
}

void dcap_add_window(dcap_window *w, size_t *nw, size_t maxw, time_t from, time_t until, const char *fmt, ...)
{
    if (*nw >= maxw) return;
    dcap_window *x = &w[(*nw)++];
    x->from = from;
    x->until = until;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(x->what, sizeof x->what, fmt, ap);
    va_end(ap);
}

static EVP_MD *g_sha256; /* fetched once: implicit fetches cost a lookup per call */
static void fetch_sha256(void) { g_sha256 = EVP_MD_fetch(NULL, "SHA256", NULL); }

int dcap_ecdsa_verify(EVP_PKEY *key, const uint8_t *msg, size_t n, const uint8_t sig[64])
{
    ECDSA_SIG *s = ECDSA_SIG_new();
    BIGNUM *r = BN_bin2bn(sig, 32, NULL), *ss = BN_bin2bn(sig + 32, 32, NULL);
    uint8_t der[80], *p = der;
    int ok = 0, len = -1;
    if (s && r && ss && ECDSA_SIG_set0(s, r, ss)) {
        r = ss = NULL; /* owned by s */
        if (i2d_ECDSA_SIG(s, NULL) <= (int)sizeof der) len = i2d_ECDSA_SIG(s, &p);
    }
    BN_free(r);
    BN_free(ss);
    ECDSA_SIG_free(s);
    if (len <= 0) return 0;
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, fetch_sha256);
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    if (ctx && g_sha256 && EVP_DigestVerifyInit(ctx, NULL, g_sha256, NULL, key) == 1)
        ok = EVP_DigestVerify(ctx, der, (size_t)len, msg, n) == 1;
    EVP_MD_CTX_free(ctx);
    return ok;
}

EVP_PKEY *dcap_p256_key(const uint8_t xy[64])
{
    uint8_t pt[65];
    pt[0] = 0x04;
    memcpy(pt + 1, xy, 64);
    OSSL_PARAM params[3];
    params[0] = OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, (char *)"prime256v1", 0);
    params[1] = OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, pt, sizeof pt);
    params[2] = OSSL_PARAM_construct_end();
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
    EVP_PKEY *key = NULL;
    if (!ctx || EVP_PKEY_fromdata_init(ctx) != 1 || EVP_PKEY_fromdata(ctx, &key, EVP_PKEY_PUBLIC_KEY, params) != 1)
        key = NULL;
    EVP_PKEY_CTX_free(ctx);
    return key;
}

STACK_OF(X509) *dcap_pem_chain(const char *pem, size_t len)
{
    if (len > INITRA_MAX_CONFIG) return NULL;
    BIO *bio = BIO_new_mem_buf(pem, (int)len);
    STACK_OF(X509) *sk = sk_X509_new_null();
    X509 *x;
    while (bio && sk && (x = PEM_read_bio_X509(bio, NULL, NULL, NULL)))
        if (!sk_X509_push(sk, x)) {
            X509_free(x);
            break;
        }
    ERR_clear_error();
    BIO_free(bio);
    if (sk && sk_X509_num(sk) == 0) {
        sk_X509_free(sk);
        sk = NULL;
    }
    return sk;
}

void dcap_cn(const X509_NAME *n, char *buf, size_t len)
{
    buf[0] = 0;
    int i = n ? X509_NAME_get_index_by_NID(n, NID_commonName, -1) : -1;
    if (i < 0) {
        snprintf(buf, len, "(no CN)");
        return;
    }
    ASN1_STRING *s = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(n, i));
    int l = ASN1_STRING_length(s);
    if (l < 0) l = 0;
    if ((size_t)l >= len) l = (int)len - 1;
    memcpy(buf, ASN1_STRING_get0_data(s), (size_t)l);
    buf[l] = 0;
    for (int k = 0; k < l; k++)
        if (buf[k] < 0x20 || buf[k] == 0x7f) buf[k] = '?';
}

void dcap_serial_of(const ASN1_INTEGER *i, dcap_serial *out)
{
    memset(out, 0, sizeof *out);
    const uint8_t *p = ASN1_STRING_get0_data(i);
    int n = ASN1_STRING_length(i);
    while (n > 0 && *p == 0) p++, n--; /* magnitude without leading zeros */
    if (n > (int)sizeof out->v) n = sizeof out->v, p += ASN1_STRING_length(i) - n;
    out->len = (uint8_t)n;
    memcpy(out->v, p, (size_t)n);
}

static int serial_cmp(const void *a, const void *b)
{
    const dcap_serial *x = a, *y = b;
    if (x->len != y->len) return x->len < y->len ? -1 : 1;
    return memcmp(x->v, y->v, x->len);
}

int dcap_crl_revoked(const initra_crl *c, const dcap_serial *s)
{
    return c && c->n_revoked && bsearch(s, c->revoked, c->n_revoked, sizeof *s, serial_cmp) != NULL;
}

initra_crl *dcap_crl_parse(const uint8_t *der, size_t len, const char *what, initra_err *err)
{
    const unsigned char *p = der;
    if (len > INITRA_MAX_CRL) {
        initra_fail(err, "%s: %zu bytes is too large for a CRL", what, len);
        return NULL;
    }
    X509_CRL *crl = d2i_X509_CRL(NULL, &p, (long)len);
    ERR_clear_error();
    if (!crl || p != der + len) {
        X509_CRL_free(crl);
        initra_fail(err, "%s: not a DER X.509 CRL", what);
        return NULL;
    }
    initra_crl *c = calloc(1, sizeof *c);
    if (!c) {
        X509_CRL_free(crl);
        initra_fail(err, "out of memory");
        return NULL;
    }
    c->crl = crl;
    c->issuer = X509_CRL_get_issuer(crl);
    dcap_cn(c->issuer, c->issuer_cn, sizeof c->issuer_cn);
    if (dcap_asn1_time(X509_CRL_get0_lastUpdate(crl), &c->this_update) ||
        dcap_asn1_time(X509_CRL_get0_nextUpdate(crl), &c->next_update)) {
        initra_fail(err, "%s (%s): thisUpdate or nextUpdate is missing or malformed", what, c->issuer_cn);
        dcap_crl_free(c);
        return NULL;
    }
    STACK_OF(X509_REVOKED) *rev = X509_CRL_get_REVOKED(crl);
    int n = rev ? sk_X509_REVOKED_num(rev) : 0;
    if (n > 0) {
        c->revoked = calloc((size_t)n, sizeof *c->revoked);
        if (!c->revoked) {
            dcap_crl_free(c);
            initra_fail(err, "out of memory");
            return NULL;
        }
        for (int i = 0; i < n; i++)
            dcap_serial_of(X509_REVOKED_get0_serialNumber(sk_X509_REVOKED_value(rev, i)), &c->revoked[i]);
        c->n_revoked = (size_t)n;
        qsort(c->revoked, c->n_revoked, sizeof *c->revoked, serial_cmp);
    }
    return c;
}

void dcap_crl_free(initra_crl *c)
{
    if (!c) return;
    X509_CRL_free(c->crl);
    free(c->revoked);
    free(c);
}

static int cert_window(X509 *x, time_t *from, time_t *until)
{
    return dcap_asn1_time(X509_get0_notBefore(x), from) || dcap_asn1_time(X509_get0_notAfter(x), until) ? -1 : 0;
}

int dcap_verify_chain(const initra_dcap *d, STACK_OF(X509) *chain, const char *what, dcap_window *w,
                      size_t *nw, size_t maxw, int *root, initra_err *err)
{
    int n = chain ? sk_X509_num(chain) : 0;
    *root = -1;
    if (n == 0) return initra_fail(err, "%s: no certificate", what);
    for (int i = 0; i < n; i++) {
        X509 *x = sk_X509_value(chain, i);
        char cn[96];
        dcap_cn(X509_get_subject_name(x), cn, sizeof cn);
        /* a certificate equal to a trusted root ends the chain */
        for (size_t r = 0; r < d->n_roots; r++)
            if (X509_cmp(x, d->roots[r].cert) == 0) {
                *root = (int)r;
                dcap_add_window(w, nw, maxw, d->roots[r].from, d->roots[r].until, "%s root certificate (%s)", what, cn);
                return 0;
            }
        if (X509_check_issued(x, x) == X509_V_OK) /* self-issued but not one of the trusted roots */
            return initra_fail(err, "%s ends at '%s', which is not a trusted root (the Intel SGX Root CA is built in; other roots must be named by the caller)",
                               what, cn);
        X509 *issuer = i + 1 < n ? sk_X509_value(chain, i + 1) : NULL;
        int anchored = -1;
        if (!issuer) { /* the chain stops short of a root: the issuer must be a trusted root */
            for (size_t r = 0; r < d->n_roots && anchored < 0; r++)
                if (X509_NAME_cmp(X509_get_issuer_name(x), X509_get_subject_name(d->roots[r].cert)) == 0)
                    anchored = (int)r;
            if (anchored < 0) {
                char icn[96];
                dcap_cn(X509_get_issuer_name(x), icn, sizeof icn);
                return initra_fail(err, "%s: issuer '%s' of '%s' is neither in the chain nor a trusted root", what, icn, cn);
            }
            issuer = d->roots[anchored].cert;
        }
        char icn[96];
        dcap_cn(X509_get_subject_name(issuer), icn, sizeof icn);
        if (X509_NAME_cmp(X509_get_issuer_name(x), X509_get_subject_name(issuer)) != 0)
            return initra_fail(err, "%s: '%s' is not issued by the next certificate '%s'", what, cn, icn);
        if (X509_check_ca(issuer) < 1)
            return initra_fail(err, "%s: issuer '%s' of '%s' is not a CA certificate", what, icn, cn);
        EVP_PKEY *ik = X509_get0_pubkey(issuer);
        if (!ik || X509_verify(x, ik) != 1) {
            ERR_clear_error();
            return initra_fail(err, "%s: the signature of '%s' does not verify with the %s key", what, cn, icn);
        }
        time_t from, until;
        if (cert_window(x, &from, &until)) return initra_fail(err, "%s: '%s' has a malformed validity period", what, cn);
        dcap_add_window(w, nw, maxw, from, until, "%s certificate '%s'", what, cn);
        if (anchored >= 0) {
            *root = anchored;
            dcap_add_window(w, nw, maxw, d->roots[anchored].from, d->roots[anchored].until, "%s root certificate (%s)", what, icn);
            return 0;
        }
    }
    return initra_fail(err, "%s does not end at a trusted root", what);
}

/* ---- trusted roots ---- */

static int add_root_der(initra_dcap *d, const uint8_t *der, size_t len, const char *name, initra_err *err)
{
    if (d->n_roots >= DCAP_MAX_ROOTS) return initra_fail(err, "too many trust roots (at most %d)", DCAP_MAX_ROOTS);
    const unsigned char *p = der;
    X509 *x = d2i_X509(NULL, &p, (long)len);
    ERR_clear_error();
    if (!x || p != der + len) {
        X509_free(x);
        return initra_fail(err, "trust root: not a DER X.509 certificate");
    }
    dcap_root *r = &d->roots[d->n_roots];
    memset(r, 0, sizeof *r);
    dcap_cn(X509_get_subject_name(x), r->cn, sizeof r->cn);
    EVP_PKEY *k = X509_get0_pubkey(x);
    if (!k || X509_verify(x, k) != 1 || X509_check_issued(x, x) != X509_V_OK || X509_check_ca(x) < 1) {
        ERR_clear_error();
        X509_free(x);
        return initra_fail(err, "trust root '%s' is not a self-signed CA certificate", r->cn);
    }
    if (cert_window(x, &r->from, &r->until)) {
        X509_free(x);
        return initra_fail(err, "trust root '%s' has a malformed validity period", r->cn);
    }
    for (size_t i = 0; i < d->n_roots; i++)
        if (X509_cmp(x, d->roots[i].cert) == 0) { /* already trusted */
            X509_free(x);
            return 0;
        }
    r->cert = x;
    r->key = k;
    if (name) snprintf(r->name, sizeof r->name, "%s", name);
    else snprintf(r->name, sizeof r->name, "%s", strstr(r->cn, "initra sim") ? "sim" : "custom");
    d->n_roots++;
    return 0;
}

initra_dcap *initra_dcap_new(initra_err *err)
{
    initra_dcap *d = calloc(1, sizeof *d);
    if (!d) {
        initra_fail(err, "out of memory");
        return NULL;
    }
    pthread_mutex_init(&d->lock, NULL);
    if (add_root_der(d, INITRA_INTEL_SGX_ROOT_CA_DER, INITRA_INTEL_SGX_ROOT_CA_DER_LEN, "intel", err)) {
        initra_dcap_free(d);
        return NULL;
    }
    return d;
}

int dcap_add_root(initra_dcap *d, const uint8_t *der, size_t len, initra_err *err)
{
    if (add_root_der(d, der, len, NULL, err)) return -1;
    dcap_cache_flush(d); /* outcomes checked against the old root set */
    return 0;
}

int initra_dcap_add_root_bytes(initra_dcap *d, const uint8_t *buf, size_t n, initra_err *err)
{
    if (!(n > 10 && !memcmp(buf, "-----BEGIN", 10))) return dcap_add_root(d, buf, n, err);
    BIO *bio = BIO_new_mem_buf(buf, (int)n); /* PEM accepted too */
    X509 *x = bio ? PEM_read_bio_X509(bio, NULL, NULL, NULL) : NULL;
    unsigned char *der = NULL;
    int len = x ? i2d_X509(x, &der) : -1;
    int rc = len > 0 ? dcap_add_root(d, der, (size_t)len, err) : initra_fail(err, "not a PEM certificate");
    OPENSSL_free(der);
    X509_free(x);
    BIO_free(bio);
    return rc;
}

int initra_dcap_add_root_file(initra_dcap *d, const char *path, initra_err *err)
{
    uint8_t *buf;
    size_t n;
    if (initra_read_file(path, INITRA_MAX_CONFIG, &buf, &n, err)) return -1;
    int rc = initra_dcap_add_root_bytes(d, buf, n, err);
    free(buf);
    return rc ? initra_fail_prefix(err, "%s", path) : 0;
}
