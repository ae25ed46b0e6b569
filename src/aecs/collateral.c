/* DcapReport.json_collateral as Unified Attestation writes it: the protobuf JSON of SgxQlQveCollateral
 * (asterinas/jinzhao-attest ual/proto/attestation.proto), filled the way its PccsClient fills it
 * (ual/network/pccs/pccs_client.cpp): the raw PCCS response bodies and the URL-decoded issuer chain
 * headers. initra keeps its own bundle (docs/protocols.md#collateral) everywhere else; this is the AECS edge. */
#include "aecs/internal.h"
#include "initra/aecs.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/pem.h>

/* Field-number order, as protobuf's JSON printer writes them (json_name = the field name). */
static const char *const STR_FIELDS[] = {"pck_crl_issuer_chain", "root_ca_crl",  "pck_crl",    "tcb_info_issuer_chain",
                                         "tcb_info",             "qe_identity_issuer_chain", "qe_identity"};
#define N_STR_FIELDS (sizeof STR_FIELDS / sizeof STR_FIELDS[0])

static int is_hex(const char *s, size_t n)
{
    if (n == 0 || n % 2) return 0;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f') || (s[i] >= 'A' && s[i] <= 'F'))) return 0;
    return 1;
}

/* ---------------- writing (our bundle -> UAL) ---------------- */

/* {"KEY":TEXT,"signature":"SIG"}: the PCCS body around the exact signed text. */
static char *pccs_body(const char *key, const char *text, const char *sig, initra_err *err)
{
    if (!is_hex(sig, strlen(sig))) {
        initra_fail(err, "collateral: the %s signature is not hex", key);
        return NULL;
    }
    size_t n = strlen(key) + strlen(text) + strlen(sig) + 32;
    char *b = malloc(n);
    if (!b) {
        initra_fail(err, "out of memory");
        return NULL;
    }
    snprintf(b, n, "{\"%s\":%s,\"signature\":\"%s\"}", key, text, sig);
    json_t *check = json_loads(b, JSON_REJECT_DUPLICATES, NULL);
    if (!json_is_object(check)) {
        free(b);
        b = NULL;
        initra_fail(err, "collateral: the %s text is not a JSON object", key);
    }
    json_decref(check);
    return b;
}

/* The PCK CRL as the PCCS serves it without an encoding parameter: PEM. */
static char *crl_pem(const char *hex, initra_err *err)
{
    uint8_t *der;
    size_t n;
    if (initra_unhex_alloc(hex, &der, &n)) {
        initra_fail(err, "collateral: pck_crl is not hex");
        return NULL;
    }
    const unsigned char *p = der;
    X509_CRL *crl = d2i_X509_CRL(NULL, &p, (long)n);
    free(der);
    BIO *b = crl ? BIO_new(BIO_s_mem()) : NULL;
    char *out = NULL, *data;
    long len;
    if (b && PEM_write_bio_X509_CRL(b, crl) == 1 && (len = BIO_get_mem_data(b, &data)) > 0) out = strndup(data, (size_t)len);
    BIO_free(b);
    X509_CRL_free(crl);
    ERR_clear_error();
    if (!out) initra_fail(err, "collateral: pck_crl is not a DER CRL");
    return out;
}

static const char *bstr(json_t *o, const char *k, initra_err *err)
{
    json_t *v = json_object_get(o, k);
    if (!json_is_string(v) || !json_string_length(v)) {
        initra_fail(err, "collateral: field \"%s\" is missing or not a string", k);
        return NULL;
    }
    return json_string_value(v);
}

/* text as a JSON object (duplicate keys refused), or NULL with err naming `what`. */
static json_t *load_object(const char *text, size_t len, const char *what, initra_err *err)
{
    json_error_t je;
    json_t *o = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
    if (json_is_object(o)) return o;
    initra_fail(err, "%s: not a JSON object (%s)", what, o ? "another JSON value" : je.text);
    json_decref(o);
    return NULL;
}

int aecs_ua_collateral_from_bundle(const char *bundle, size_t len, char **ual, initra_err *err)
{
    *ual = NULL;
    json_t *b = load_object(bundle, len, "collateral", err);
    if (!b) return -1;
    const char *v[N_STR_FIELDS], *tsig, *qsig;
    for (size_t i = 0; i < N_STR_FIELDS; i++)
        if (!(v[i] = bstr(b, STR_FIELDS[i], err))) goto fail;
    if (!(tsig = bstr(b, "tcb_info_signature", err)) || !(qsig = bstr(b, "qe_identity_signature", err))) goto fail;
    char *tcb = pccs_body("tcbInfo", v[4], tsig, err);
    char *qe = tcb ? pccs_body("enclaveIdentity", v[6], qsig, err) : NULL;
    char *pck = qe ? crl_pem(v[2], err) : NULL;
    json_t *o = json_object();
    if (pck && o) {
        /* version: the PCCS API version ("/v3/" in UAL's default URL) as protobuf writes an int64 */
        json_object_set_new(o, "version", json_string("3"));
        const char *out[N_STR_FIELDS] = {v[0], v[1], pck, v[3], tcb, v[5], qe};
        for (size_t i = 0; i < N_STR_FIELDS; i++) json_object_set_new(o, STR_FIELDS[i], json_string(out[i]));
        *ual = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
        if (!*ual) initra_fail(err, "collateral: not UTF-8 text (or out of memory)");
    }
    json_decref(o);
    free(tcb);
    free(qe);
    free(pck);
    json_decref(b);
    return *ual ? 0 : -1;
fail:
    json_decref(b);
    return -1;
}

/* ---------------- reading (untrusted UAL -> our bundle) ---------------- */

/* A CRL field as Intel's QVL reads it: PEM ("-----BEGIN X509 CRL-----") or hex of DER; as hex of DER. */
static char *crl_hex(const char *field, const char *s, initra_err *err)
{
    static const char pem[] = "-----BEGIN X509 CRL-----";
    size_t n = strlen(s);
    if (strncmp(s, pem, sizeof pem - 1)) {
        if (!is_hex(s, n)) {
            initra_fail(err, "json_collateral: %s is neither a PEM CRL nor hex of a DER CRL", field);
            return NULL;
        }
        return strdup(s);
    }
    BIO *b = BIO_new_mem_buf(s, (int)n);
    X509_CRL *crl = b ? PEM_read_bio_X509_CRL(b, NULL, NULL, NULL) : NULL;
    unsigned char *der = NULL;
    int dl = crl ? i2d_X509_CRL(crl, &der) : -1;
    char *hex = dl > 0 ? malloc(2 * (size_t)dl + 1) : NULL;
    if (hex) initra_hex(der, (size_t)dl, hex);
    OPENSSL_free(der);
    X509_CRL_free(crl);
    BIO_free(b);
    ERR_clear_error();
    if (!hex) initra_fail(err, "json_collateral: %s is not a PEM CRL OpenSSL can read", field);
    return hex;
}

/* version: int64, which protobuf's JSON parser takes as a number or a decimal string. */
static int version_of(json_t *v, initra_err *err)
{
    json_int_t n = v ? -1 : 0; /* absent: protobuf's default, 0 */
    if (json_is_integer(v)) {
        n = json_integer_value(v);
    } else if (json_is_string(v)) {
        const char *s = json_string_value(v);
        char *end;
        long long x = strtoll(s, &end, 10);
        if (*s && !*end && (*s >= '0' && *s <= '9')) n = x;
    } else if (v) {
        return initra_fail(err, "json_collateral: version is neither a number nor a decimal string");
    }
    if (n != 1 && n != 3)
        return initra_fail(err, "json_collateral: version %lld is not a collateral version Intel's QVL reads (1 or 3)",
                           (long long)n);
    return 0;
}

int aecs_ua_collateral_to_bundle(const char *ual, size_t len, char **bundle, initra_err *err)
{
    *bundle = NULL;
    json_t *o = load_object(ual, len, "json_collateral", err);
    if (!o) return -1;
    const char *key;
    json_t *val;
    const char *v[N_STR_FIELDS] = {0};
    json_object_foreach(o, key, val)
    {
        size_t i = 0;
        while (i < N_STR_FIELDS && strcmp(key, STR_FIELDS[i])) i++;
        if (i == N_STR_FIELDS && strcmp(key, "version")) {
            initra_fail(err, "json_collateral: field \"%.40s\" is not one of SgxQlQveCollateral's", key);
            goto fail;
        }
        if (i < N_STR_FIELDS) {
            if (!json_is_string(val)) {
                initra_fail(err, "json_collateral: %s is not a string", key);
                goto fail;
            }
            v[i] = json_string_value(val);
        }
    }
    if (version_of(json_object_get(o, "version"), err)) goto fail;
    for (size_t i = 0; i < N_STR_FIELDS; i++)
        if (!v[i] || !*v[i]) {
            initra_fail(err, "json_collateral: %s is missing or empty", STR_FIELDS[i]);
            goto fail;
        }
    char *tt = NULL, *ts = NULL, *qt = NULL, *qs = NULL, *root = NULL, *pck = NULL;
    size_t tn, qn;
    if (initra_dcap_signed_body(v[4], strlen(v[4]), "tcbInfo", &tt, &tn, &ts, err)) {
        initra_fail_prefix(err, "json_collateral: tcb_info");
    } else if (initra_dcap_signed_body(v[6], strlen(v[6]), "enclaveIdentity", &qt, &qn, &qs, err)) {
        initra_fail_prefix(err, "json_collateral: qe_identity");
    } else if ((root = crl_hex("root_ca_crl", v[1], err)) && (pck = crl_hex("pck_crl", v[2], err))) {
        json_t *b = json_pack("{s:s, s:s, s:s, s:s, s:s%, s:s, s:s, s:s%, s:s}", "pck_crl_issuer_chain", v[0],
                              "root_ca_crl", root, "pck_crl", pck, "tcb_info_issuer_chain", v[3], "tcb_info", tt, tn,
                              "tcb_info_signature", ts, "qe_identity_issuer_chain", v[5], "qe_identity", qt, qn,
                              "qe_identity_signature", qs);
        if (!b || !(*bundle = json_dumps(b, JSON_COMPACT | JSON_SORT_KEYS)))
            initra_fail(err, "json_collateral: a field is not UTF-8 text (or out of memory)");
        json_decref(b);
    }
    free(tt);
    free(ts);
    free(qt);
    free(qs);
    free(root);
    free(pck);
    json_decref(o);
    return *bundle ? 0 : -1;
fail:
    json_decref(o);
    return -1;
}
