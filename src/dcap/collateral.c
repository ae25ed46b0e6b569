/* Collateral: the bundle JSON, TCB info (v2 and v3, SGX and TDX), QE identity and CRLs parsed into C
 * arrays once (jansson, OpenSSL), and their signatures and issuer chains checked once against a
 * context's roots; the outcome (error or anchoring root, validity windows) is kept with them. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <jansson.h>
#include <openssl/err.h>
#include <openssl/sha.h>
#include <openssl/x509v3.h>

#include "dcap/internal.h"

static const char *const status_names[] = {
    "UpToDate", "SWHardeningNeeded", "ConfigurationNeeded", "ConfigurationAndSWHardeningNeeded",
    "OutOfDate", "OutOfDateConfigurationNeeded", "Revoked", "TcbNotSupported",
};

const char *initra_tcb_status_name(int s)
{
    return s >= 0 && s < (int)(sizeof status_names / sizeof status_names[0]) ? status_names[s] : "";
}

int initra_tcb_status_from_name(const char *name)
{
    for (int i = 0; i < (int)(sizeof status_names / sizeof status_names[0]); i++)
        if (!strcmp(name, status_names[i])) return i;
    return -1;
}

/* docs/protocols.md#dcap step 8: converge the platform status with the QE (or TDX module) status. */
int dcap_status_converge(int platform, int other)
{
    if (other == INITRA_TCB_REVOKED) return INITRA_TCB_REVOKED;
    if (other == INITRA_TCB_OUT_OF_DATE) {
        if (platform == INITRA_TCB_UP_TO_DATE || platform == INITRA_TCB_SW_HARDENING_NEEDED) return INITRA_TCB_OUT_OF_DATE;
        if (platform == INITRA_TCB_CONFIGURATION_NEEDED || platform == INITRA_TCB_CONFIGURATION_AND_SW_HARDENING_NEEDED)
            return INITRA_TCB_OUT_OF_DATE_CONFIGURATION_NEEDED;
    }
    return platform;
}

void dcap_adv_free(dcap_adv *a)
{
    free(a->ids);
    a->ids = NULL;
    a->n = 0;
}

/* ---- JSON field access with errors naming the field ---- */

typedef struct {
    const char *doc; /* "TCB info", "QE identity" */
    initra_err *err;
} jctx;

static int jfail(jctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int jfail(jctx *c, const char *fmt, ...)
{
    char m[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(m, sizeof m, fmt, ap);
    va_end(ap);
    return initra_fail(c->err, "%s: %s", c->doc, m);
}

static int jstr(jctx *c, json_t *o, const char *k, const char **out)
{
    json_t *v = json_object_get(o, k);
    if (!json_is_string(v)) return jfail(c, "field \"%s\" is missing or not a string", k);
    *out = json_string_value(v);
    return 0;
}

static int juint(jctx *c, json_t *o, const char *k, json_int_t max, json_int_t *out)
{
    json_t *v = json_object_get(o, k);
    if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > max)
        return jfail(c, "field \"%s\" is missing or not an integer from 0 to %lld", k, (long long)max);
    *out = json_integer_value(v);
    return 0;
}

static int jhex(jctx *c, json_t *o, const char *k, uint8_t *out, size_t n)
{
    const char *s = "";
    if (jstr(c, o, k, &s)) return -1;
    if (initra_unhex(s, out, n)) return jfail(c, "field \"%s\" is not %zu hex digits: \"%.80s\"", k, 2 * n, s);
    return 0;
}

static int jdate(jctx *c, json_t *o, const char *k, time_t *out)
{
    const char *s = "";
    if (jstr(c, o, k, &s)) return -1;
    if (dcap_parse_date(s, out)) return jfail(c, "field \"%s\" is not a UTC date (YYYY-MM-DDThh:mm:ssZ): \"%.40s\"", k, s);
    return 0;
}

static int jstatus(jctx *c, json_t *o, int *out)
{
    const char *s = "";
    if (jstr(c, o, "tcbStatus", &s)) return -1;
    *out = initra_tcb_status_from_name(s);
    if (*out < 0 || *out == INITRA_TCB_NOT_SUPPORTED) return jfail(c, "unknown tcbStatus \"%.40s\"", s);
    return 0;
}

static int jadv(jctx *c, json_t *o, dcap_adv *a)
{
    json_t *v = json_object_get(o, "advisoryIDs");
    a->ids = NULL;
    a->n = 0;
    if (!v) return 0;
    if (!json_is_array(v) || json_array_size(v) > INITRA_DCAP_MAX_ADVISORIES)
        return jfail(c, "advisoryIDs is not an array of at most %d strings", INITRA_DCAP_MAX_ADVISORIES);
    size_t n = json_array_size(v);
    if (!n) return 0;
    a->ids = calloc(n, sizeof *a->ids);
    if (!a->ids) return jfail(c, "out of memory");
    for (size_t i = 0; i < n; i++) {
        json_t *s = json_array_get(v, i);
        if (!json_is_string(s) || json_string_length(s) == 0 || json_string_length(s) >= sizeof a->ids[0])
            return jfail(c, "advisoryIDs[%zu] is not a string of 1 to 31 characters", i);
        memcpy(a->ids[i], json_string_value(s), json_string_length(s) + 1);
        a->n++;
    }
    return 0;
}

static json_t *jload(jctx *c, const char *text, size_t len)
{
    json_error_t je;
    json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
    if (!root) {
        jfail(c, "not valid JSON (line %d column %d: %s)", je.line, je.column, je.text);
        return NULL;
    }
    if (!json_is_object(root)) {
        json_decref(root);
        jfail(c, "not a JSON object");
        return NULL;
    }
    return root;
}

/* svn components: v3 array of 16 {"svn": n}; v2 flat keys prefix01svn..prefix16svn */
static int jcomponents(jctx *c, json_t *tcb, const char *key, uint8_t out[16], int i_level)
{
    json_t *arr = json_object_get(tcb, key);
    if (!json_is_array(arr) || json_array_size(arr) != 16)
        return jfail(c, "tcbLevels[%d].tcb.%s is missing or not an array of 16 components", i_level, key);
    for (size_t i = 0; i < 16; i++) {
        json_t *e = json_array_get(arr, i), *svn = json_is_object(e) ? json_object_get(e, "svn") : NULL;
        if (!json_is_integer(svn) || json_integer_value(svn) < 0 || json_integer_value(svn) > 255)
            return jfail(c, "tcbLevels[%d].tcb.%s[%zu].svn is missing or not 0..255", i_level, key, i);
        out[i] = (uint8_t)json_integer_value(svn);
    }
    return 0;
}

static int isv_levels(jctx *c, json_t *arr, const char *where, dcap_isv_level **out, size_t *n_out)
{
    if (!json_is_array(arr) || json_array_size(arr) == 0 || json_array_size(arr) > 1024)
        return jfail(c, "%s is missing or not a non-empty array", where);
    size_t n = json_array_size(arr);
    dcap_isv_level *l = calloc(n, sizeof *l);
    if (!l) return jfail(c, "out of memory");
    *out = l;
    *n_out = n;
    for (size_t i = 0; i < n; i++) {
        json_t *e = json_array_get(arr, i), *tcb = json_is_object(e) ? json_object_get(e, "tcb") : NULL;
        json_int_t v;
        if (!json_is_object(tcb)) return jfail(c, "%s[%zu].tcb is missing", where, i);
        if (juint(c, tcb, "isvsvn", 65535, &v) || jdate(c, e, "tcbDate", &l[i].date) || jstatus(c, e, &l[i].status) ||
            jadv(c, e, &l[i].adv))
            return initra_fail_prefix(c->err, "%s[%zu]", where, i);
        l[i].isvsvn = (uint16_t)v;
    }
    return 0;
}

static void isv_levels_free(dcap_isv_level *l, size_t n)
{
    for (size_t i = 0; l && i < n; i++) dcap_adv_free(&l[i].adv);
    free(l);
}

void dcap_tcb_info_free(initra_tcb_info *t)
{
    if (!t) return;
    for (size_t i = 0; t->levels && i < t->n_levels; i++) dcap_adv_free(&t->levels[i].adv);
    free(t->levels);
    for (size_t i = 0; t->identities && i < t->n_identities; i++)
        isv_levels_free(t->identities[i].levels, t->identities[i].n_levels);
    free(t->identities);
    free(t);
}

static int module_fields(jctx *c, json_t *o, dcap_tdx_module *m)
{
    return jhex(c, o, "mrsigner", m->mrsigner, 48) || jhex(c, o, "attributes", m->attributes, 8) ||
                   jhex(c, o, "attributesMask", m->mask, 8) ? -1 : 0;
}

static int tcb_info_fill(jctx *c, json_t *o, initra_tcb_info *t)
{
    json_int_t v;
    const char *id = "SGX";
    if (juint(c, o, "version", 100, &v)) return -1;
    t->version = (int)v;
    if (t->version != 2 && t->version != 3) return jfail(c, "version %d is not supported (2 or 3)", t->version);
    if (t->version == 3 && jstr(c, o, "id", &id)) return -1;
    if (strcmp(id, "SGX") && strcmp(id, "TDX")) return jfail(c, "id \"%.20s\" is neither SGX nor TDX", id);
    snprintf(t->id, sizeof t->id, "%s", id);
    if (jdate(c, o, "issueDate", &t->issue) || jdate(c, o, "nextUpdate", &t->next) || jhex(c, o, "fmspc", t->fmspc, 6) ||
        jhex(c, o, "pceId", t->pce_id, 2))
        return -1;
    if (json_object_get(o, "tcbEvaluationDataNumber")) {
        if (juint(c, o, "tcbEvaluationDataNumber", 0xffffffff, &v)) return -1;
        t->eval = (uint32_t)v;
    }
    int tdx = !strcmp(id, "TDX");
    json_t *m = json_object_get(o, "tdxModule");
    if (m) {
        if (!json_is_object(m)) return jfail(c, "tdxModule is not an object");
        c->doc = "TCB info tdxModule";
        if (module_fields(c, m, &t->module)) return -1;
        c->doc = "TCB info";
        t->has_module = 1;
    }
    json_t *ids = json_object_get(o, "tdxModuleIdentities");
    if (ids) {
        if (!json_is_array(ids) || json_array_size(ids) > 256) return jfail(c, "tdxModuleIdentities is not an array");
        t->n_identities = json_array_size(ids);
        t->identities = calloc(t->n_identities ? t->n_identities : 1, sizeof *t->identities);
        if (!t->identities) return jfail(c, "out of memory");
        for (size_t i = 0; i < t->n_identities; i++) {
            json_t *e = json_array_get(ids, i);
            dcap_tdx_module *mi = &t->identities[i];
            const char *mid = "";
            if (!json_is_object(e) || jstr(c, e, "id", &mid) || module_fields(c, e, mi))
                return initra_fail_prefix(c->err, "tdxModuleIdentities[%zu]", i);
            snprintf(mi->id, sizeof mi->id, "%s", mid);
            if (isv_levels(c, json_object_get(e, "tcbLevels"), "tdxModuleIdentities[].tcbLevels", &mi->levels, &mi->n_levels))
                return -1;
        }
    }
    json_t *levels = json_object_get(o, "tcbLevels");
    if (!json_is_array(levels) || json_array_size(levels) == 0 || json_array_size(levels) > 1024)
        return jfail(c, "tcbLevels is missing or not a non-empty array");
    t->n_levels = json_array_size(levels);
    t->levels = calloc(t->n_levels, sizeof *t->levels);
    if (!t->levels) return jfail(c, "out of memory");
    for (size_t i = 0; i < t->n_levels; i++) {
        json_t *e = json_array_get(levels, i), *tcb = json_is_object(e) ? json_object_get(e, "tcb") : NULL;
        dcap_tcb_level *l = &t->levels[i];
        if (!json_is_object(tcb)) return jfail(c, "tcbLevels[%zu].tcb is missing", i);
        if (t->version == 2) {
            for (int k = 0; k < 16; k++) {
                char key[24];
                snprintf(key, sizeof key, "sgxtcbcomp%02dsvn", k + 1);
                if (juint(c, tcb, key, 255, &v)) return initra_fail_prefix(c->err, "tcbLevels[%zu].tcb", i);
                l->sgx[k] = (uint8_t)v;
            }
        } else if (jcomponents(c, tcb, "sgxtcbcomponents", l->sgx, (int)i)) {
            return -1;
        }
        if (tdx) {
            if (jcomponents(c, tcb, "tdxtcbcomponents", l->tdx, (int)i)) return -1;
            l->has_tdx = 1;
        }
        if (juint(c, tcb, "pcesvn", 65535, &v)) return initra_fail_prefix(c->err, "tcbLevels[%zu].tcb", i);
        l->pcesvn = (uint16_t)v;
        if (jdate(c, e, "tcbDate", &l->date) || jstatus(c, e, &l->status) || jadv(c, e, &l->adv))
            return initra_fail_prefix(c->err, "tcbLevels[%zu]", i);
    }
    return 0;
}

initra_tcb_info *dcap_tcb_info_parse(const char *text, size_t len, initra_err *err)
{
    jctx c = {"TCB info", err};
    json_t *o = jload(&c, text, len);
    if (!o) return NULL;
    initra_tcb_info *t = calloc(1, sizeof *t);
    int rc = t ? tcb_info_fill(&c, o, t) : jfail(&c, "out of memory");
    json_decref(o);
    if (rc) {
        dcap_tcb_info_free(t);
        return NULL;
    }
    return t;
}

void dcap_qe_identity_free(initra_qe_identity *q)
{
    if (!q) return;
    isv_levels_free(q->levels, q->n_levels);
    free(q);
}

static int qe_identity_fill(jctx *c, json_t *o, initra_qe_identity *q)
{
    json_int_t v;
    const char *id = "";
    uint8_t b4[4];
    if (jstr(c, o, "id", &id) || juint(c, o, "version", 100, &v)) return -1;
    if (strcmp(id, "QE") && strcmp(id, "TD_QE") && strcmp(id, "QVE"))
        return jfail(c, "id \"%.20s\" is not QE, TD_QE or QVE", id);
    snprintf(q->id, sizeof q->id, "%s", id);
    q->version = (int)v;
    if (q->version != 2 && q->version != 3) return jfail(c, "version %d is not supported (2)", q->version);
    if (jdate(c, o, "issueDate", &q->issue) || jdate(c, o, "nextUpdate", &q->next)) return -1;
    if (json_object_get(o, "tcbEvaluationDataNumber")) {
        if (juint(c, o, "tcbEvaluationDataNumber", 0xffffffff, &v)) return -1;
        q->eval = (uint32_t)v;
    }
    /* miscselect and its mask are hex of the report's bytes (little-endian), like attributes */
    if (jhex(c, o, "miscselect", b4, 4)) return -1;
    q->miscselect = initra_le32(b4);
    if (jhex(c, o, "miscselectMask", b4, 4)) return -1;
    q->miscselect_mask = initra_le32(b4);
    if (jhex(c, o, "attributes", q->attributes, 16) || jhex(c, o, "attributesMask", q->attributes_mask, 16) ||
        jhex(c, o, "mrsigner", q->mrsigner, 32) || juint(c, o, "isvprodid", 65535, &v))
        return -1;
    q->isvprodid = (uint16_t)v;
    return isv_levels(c, json_object_get(o, "tcbLevels"), "tcbLevels", &q->levels, &q->n_levels);
}

initra_qe_identity *dcap_qe_identity_parse(const char *text, size_t len, initra_err *err)
{
    jctx c = {"QE identity", err};
    json_t *o = jload(&c, text, len);
    if (!o) return NULL;
    initra_qe_identity *q = calloc(1, sizeof *q);
    int rc = q ? qe_identity_fill(&c, o, q) : jfail(&c, "out of memory");
    json_decref(o);
    if (rc) {
        dcap_qe_identity_free(q);
        return NULL;
    }
    return q;
}

/* ---- PCCS bodies: {"tcbInfo": {...}, "signature": "..."} ---- */

static size_t skip_ws(const char *s, size_t i, size_t n)
{
    while (i < n && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r')) i++;
    return i;
}

/* One JSON value at s[*i..n) parsed by jansson; *i moves past it. */
static json_t *value_at(const char *s, size_t *i, size_t n)
{
    if (*i >= n) return NULL;
    json_error_t je;
    json_t *v = json_loadb(s + *i, n - *i, JSON_DECODE_ANY | JSON_DISABLE_EOF_CHECK | JSON_REJECT_DUPLICATES, &je);
    if (v) *i += (size_t)je.position;
    return v;
}

int initra_dcap_signed_body(const char *body, size_t len, const char *key, char **text, size_t *text_len, char **sig,
                            initra_err *err)
{
    *text = *sig = NULL;
    *text_len = 0;
    json_error_t je;
    json_t *o = json_loadb(body, len, JSON_REJECT_DUPLICATES, &je);
    json_t *s = json_is_object(o) ? json_object_get(o, "signature") : NULL;
    if (!json_is_object(o) || !json_is_object(json_object_get(o, key)) || !json_is_string(s)) {
        json_decref(o);
        return initra_fail(err, "not a PCCS body {\"%s\": {...}, \"signature\": \"...\"}%s%s", key, o ? "" : ": ",
                           o ? "" : je.text);
    }
    /* The exact text of the top-level member: walk the members with jansson parsing each key and value
     * (the document parsed above, so only the separators between them are looked at here). */
    size_t i = skip_ws(body, 0, len) + 1, start = 0, end = 0;
    for (int first = 1;; first = 0) {
        i = skip_ws(body, i, len);
        if (first && i < len && body[i] == '}') break;
        json_t *k = value_at(body, &i, len);
        int match = json_is_string(k) && !strcmp(json_string_value(k), key);
        json_decref(k);
        i = skip_ws(body, i, len) + 1; /* ':' */
        i = skip_ws(body, i, len);
        size_t v0 = i;
        json_t *v = value_at(body, &i, len);
        if (!v) break;
        json_decref(v);
        if (match) start = v0, end = i;
        i = skip_ws(body, i, len);
        if (i >= len || body[i] != ',') break;
        i++;
    }
    int rc = -1;
    if (end > start && (*text = strndup(body + start, end - start)) && (*sig = strdup(json_string_value(s)))) {
        *text_len = end - start;
        rc = 0;
    } else {
        free(*text);
        *text = NULL;
        initra_fail(err, "cannot locate the exact text of \"%s\" (or out of memory)", key);
    }
    json_decref(o);
    return rc;
}

/* ---- bundle ---- */

void initra_collateral_release(initra_collateral *c)
{
    if (!c || atomic_fetch_sub(&c->refs, 1) != 1) return;
    dcap_tcb_info_free(c->tcb);
    dcap_qe_identity_free(c->qe);
    dcap_crl_free(c->root_crl);
    dcap_crl_free(c->pck_crl);
    free(c->tcb_text);
    free(c->qe_text);
    sk_X509_pop_free(c->tcb_chain, X509_free);
    sk_X509_pop_free(c->qe_chain, X509_free);
    sk_X509_pop_free(c->pck_crl_chain, X509_free);
    free(c);
}

initra_collateral *dcap_collateral_ref(initra_collateral *c)
{
    if (c) atomic_fetch_add(&c->refs, 1);
    return c;
}

time_t dcap_collateral_expires(const initra_collateral *c) { return c->expires; }

void dcap_collateral_fmspc(const initra_collateral *c, uint8_t fmspc[6]) { memcpy(fmspc, c->tcb->fmspc, 6); }

static int bstr(json_t *o, const char *k, const char **out, size_t *len, initra_err *err)
{
    json_t *v = json_object_get(o, k);
    if (!json_is_string(v)) return initra_fail(err, "collateral: field \"%s\" is missing or not a string", k);
    *out = json_string_value(v);
    *len = json_string_length(v);
    return 0;
}

static int bcrl(json_t *o, const char *k, const char *what, initra_crl **out, initra_err *err)
{
    const char *s = "";
    size_t n = 0;
    uint8_t *der;
    size_t dlen;
    if (bstr(o, k, &s, &n, err)) return -1;
    if (initra_unhex_alloc(s, &der, &dlen)) return initra_fail(err, "collateral: \"%s\" is not hex (DER of a CRL)", k);
    *out = dcap_crl_parse(der, dlen, what, err);
    free(der);
    return *out ? 0 : initra_fail_prefix(err, "collateral \"%s\"", k);
}

static int bsig(json_t *o, const char *k, uint8_t sig[64], initra_err *err)
{
    const char *s = "";
    size_t n = 0;
    if (bstr(o, k, &s, &n, err)) return -1;
    if (initra_unhex(s, sig, 64)) return initra_fail(err, "collateral: \"%s\" is not 128 hex digits (ECDSA r||s)", k);
    return 0;
}

static int bchain(json_t *o, const char *k, STACK_OF(X509) **out, initra_err *err)
{
    const char *s = "";
    size_t n = 0;
    if (bstr(o, k, &s, &n, err)) return -1;
    *out = dcap_pem_chain(s, n);
    if (!*out) return initra_fail(err, "collateral: \"%s\" holds no PEM certificate", k);
    return 0;
}

static int bundle_fill(json_t *o, initra_collateral *c, initra_err *err)
{
    const char *s = "";
    size_t n = 0;
    if (bchain(o, "pck_crl_issuer_chain", &c->pck_crl_chain, err) || bchain(o, "tcb_info_issuer_chain", &c->tcb_chain, err) ||
        bchain(o, "qe_identity_issuer_chain", &c->qe_chain, err))
        return -1;
    if (bcrl(o, "root_ca_crl", "root CA CRL", &c->root_crl, err) || bcrl(o, "pck_crl", "PCK CRL", &c->pck_crl, err)) return -1;
    if (bsig(o, "tcb_info_signature", c->tcb_sig, err) || bsig(o, "qe_identity_signature", c->qe_sig, err)) return -1;
    if (bstr(o, "tcb_info", &s, &n, err)) return -1;
    c->tcb_text = strndup(s, n);
    c->tcb_text_len = n;
    if (!c->tcb_text) return initra_fail(err, "out of memory");
    if (!(c->tcb = dcap_tcb_info_parse(s, n, err))) return -1;
    if (bstr(o, "qe_identity", &s, &n, err)) return -1;
    c->qe_text = strndup(s, n);
    c->qe_text_len = n;
    if (!c->qe_text) return initra_fail(err, "out of memory");
    if (!(c->qe = dcap_qe_identity_parse(s, n, err))) return -1;
    return 0;
}

initra_collateral *dcap_collateral_parse(const char *bundle, size_t len, initra_err *err)
{
    json_error_t je;
    json_t *o = json_loadb(bundle, len, JSON_REJECT_DUPLICATES, &je);
    if (!o || !json_is_object(o)) {
        json_decref(o);
        initra_fail(err, "collateral: not a JSON object (line %d column %d: %s)", o ? 0 : je.line, o ? 0 : je.column,
                    o ? "not an object" : je.text);
        return NULL;
    }
    initra_collateral *c = calloc(1, sizeof *c);
    if (!c) {
        json_decref(o);
        initra_fail(err, "out of memory");
        return NULL;
    }
    atomic_init(&c->refs, 1);
    c->root = -1;
    SHA256((const unsigned char *)bundle, len, c->key);
    int rc = bundle_fill(o, c, err);
    json_decref(o);
    if (rc) {
        initra_collateral_release(c);
        return NULL;
    }
    return c;
}

/* ---- checks against the context's roots (done once per collateral) ---- */

static int check_crl_signature(const initra_crl *crl, X509 *issuer, const char *what, initra_err *err)
{
    char cn[96];
    dcap_cn(X509_get_subject_name(issuer), cn, sizeof cn);
    if (X509_NAME_cmp(crl->issuer, X509_get_subject_name(issuer)) != 0)
        return initra_fail(err, "%s issuer '%s' is not '%s', the certificate meant to sign it", what, crl->issuer_cn, cn);
    EVP_PKEY *k = X509_get0_pubkey(issuer);
    if (!k || X509_CRL_verify(crl->crl, k) != 1) {
        ERR_clear_error();
        return initra_fail(err, "%s signature does not verify with the %s key", what, cn);
    }
    return 0;
}

/* Certificates directly under the root must not be in the root CA CRL. */
static int check_root_revocation(const initra_collateral *c, STACK_OF(X509) *chain, const char *what, initra_err *err)
{
    for (int i = 0; i < sk_X509_num(chain); i++) {
        X509 *x = sk_X509_value(chain, i);
        if (X509_NAME_cmp(X509_get_issuer_name(x), c->root_crl->issuer) != 0 || X509_check_issued(x, x) == X509_V_OK) continue;
        dcap_serial s;
        dcap_serial_of(X509_get0_serialNumber(x), &s);
        if (dcap_crl_revoked(c->root_crl, &s)) {
            char cn[96];
            dcap_cn(X509_get_subject_name(x), cn, sizeof cn);
            return initra_fail(err, "%s: '%s' is revoked by the root CA CRL", what, cn);
        }
    }
    return 0;
}

/* TCB info and QE identity are Intel's statements about every platform: only the TCB signing role may
 * make them; another certificate of the same root (a PCK certificate, the PCK CA) must not. The role is named in the subject CN: Intel's
 * "Intel SGX TCB Signing", and the simulated platform's "initra sim SGX TCB Signing". */
static int check_tcb_signing_role(const char *cn, const char *what, initra_err *err)
{
    static const char *const roles[] = {"Intel SGX TCB Signing", "initra sim SGX TCB Signing"};
    for (size_t i = 0; i < sizeof roles / sizeof roles[0]; i++)
        if (!strcmp(cn, roles[i])) return 0;
    return initra_fail(err, "%s is signed by '%s', which is not the TCB signing role (CN 'Intel SGX TCB Signing'); "
                            "refusing collateral not signed by it",
                       what, cn);
}

static int check_all(const initra_dcap *d, initra_collateral *c, initra_err *err)
{
    int r1, r2, r3;
    dcap_window *w = c->windows;
    size_t *nw = &c->n_windows;
    const size_t maxw = DCAP_MAX_WINDOWS;
    /* TCB info: chain to a trusted root, signature over the exact text */
    if (dcap_verify_chain(d, c->tcb_chain, "TCB info signing chain", w, nw, maxw, &r1, err)) return -1;
    c->root = r1;
    X509 *signer = sk_X509_value(c->tcb_chain, 0);
    char cn[96];
    dcap_cn(X509_get_subject_name(signer), cn, sizeof cn);
    if (check_tcb_signing_role(cn, "TCB info", err)) return -1;
    if (!dcap_ecdsa_verify(X509_get0_pubkey(signer), (const uint8_t *)c->tcb_text, c->tcb_text_len, c->tcb_sig))
        return initra_fail(err, "TCB info signature does not verify with the %s key", cn);
    /* QE identity */
    if (dcap_verify_chain(d, c->qe_chain, "QE identity signing chain", w, nw, maxw, &r2, err)) return -1;
    signer = sk_X509_value(c->qe_chain, 0);
    dcap_cn(X509_get_subject_name(signer), cn, sizeof cn);
    if (check_tcb_signing_role(cn, "QE identity", err)) return -1;
    if (!dcap_ecdsa_verify(X509_get0_pubkey(signer), (const uint8_t *)c->qe_text, c->qe_text_len, c->qe_sig))
        return initra_fail(err, "QE identity signature does not verify with the %s key", cn);
    /* CRLs: root CA CRL by the root, PCK CRL by the first certificate of its issuer chain */
    if (dcap_verify_chain(d, c->pck_crl_chain, "PCK CRL issuer chain", w, nw, maxw, &r3, err)) return -1;
    if (r2 != r1 || r3 != r1)
        return initra_fail(err, "collateral signing chains end at different roots (%s, %s, %s)", d->roots[r1].cn,
                           d->roots[r2].cn, d->roots[r3].cn);
    if (check_crl_signature(c->root_crl, d->roots[r1].cert, "root CA CRL", err)) return -1;
    if (check_crl_signature(c->pck_crl, sk_X509_value(c->pck_crl_chain, 0), "PCK CRL", err)) return -1;
    if (check_root_revocation(c, c->tcb_chain, "TCB info signing chain", err) ||
        check_root_revocation(c, c->qe_chain, "QE identity signing chain", err) ||
        check_root_revocation(c, c->pck_crl_chain, "PCK CRL issuer chain", err))
        return -1;
    dcap_add_window(w, nw, maxw, c->tcb->issue, c->tcb->next, "TCB info");
    dcap_add_window(w, nw, maxw, c->qe->issue, c->qe->next, "QE identity");
    dcap_add_window(w, nw, maxw, c->root_crl->this_update, c->root_crl->next_update, "root CA CRL");
    dcap_add_window(w, nw, maxw, c->pck_crl->this_update, c->pck_crl->next_update, "PCK CRL (%s)", c->pck_crl->issuer_cn);
    return 0;
}

void dcap_check_collateral(const initra_dcap *d, initra_collateral *c)
{
    initra_err err = {{0}};
    c->n_windows = 0;
    c->root = -1;
    if (check_all(d, c, &err)) snprintf(c->error, sizeof c->error, "%s", err.msg);
    else c->error[0] = 0;
    /* expiry of the collateral's own items: the JSON documents and CRLs, and the signing chains */
    c->expires = c->tcb->next;
    if (c->qe->next < c->expires) c->expires = c->qe->next;
    if (c->root_crl->next_update < c->expires) c->expires = c->root_crl->next_update;
    if (c->pck_crl->next_update < c->expires) c->expires = c->pck_crl->next_update;
    for (size_t i = 0; i < c->n_windows; i++)
        if (c->windows[i].until < c->expires) c->expires = c->windows[i].until;
    c->checked_by = d;
    c->checked = 1;
}
