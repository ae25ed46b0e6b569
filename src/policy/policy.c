/* Policies: Occlum's ra_config schema with Occlum's semantics under initra's TCB defaults, initra's own
 * identity list, and the KMS's per-secret rules. Loading is strict (every error names the source, the
 * JSON path and the value); checking reports the closest entry and the field that failed. */
#include "initra/policy.h"
#include "policy/internal.h"

#include "initra/dcap.h"

#include <stdlib.h>
#include <string.h>

enum {
    F_MRENCLAVE = 1 << 0, F_MRSIGNER = 1 << 1, F_PRODID = 1 << 2, F_MIN_ISVSVN = 1 << 3, F_CONFIGID = 1 << 4,
    F_MIN_CONFIGSVN = 1 << 5, F_FAMILY = 1 << 6, F_EXTPROD = 1 << 7,
    F_ISVSVN_EQ = 1 << 8, F_CONFIGSVN_EQ = 1 << 9, F_DEBUG_EQ = 1 << 10, /* Occlum's exact comparisons */
    F_MIN_TCB_EVAL = 1 << 11,
};
#define F_KSS (F_CONFIGID | F_MIN_CONFIGSVN | F_FAMILY | F_EXTPROD)

#define MAX_LIST 32
typedef struct {
    char name[80]; /* for messages: "[0] (\"app\")", "sgx_mrs[1]", "\"app\"" */
    char key[64];  /* per-secret policy: the identity's name */
    unsigned has;
    uint8_t mr_enclave[32], mr_signer[32], config_id[64], family[16], ext[16];
    uint16_t isv_prod_id, isv_svn, config_svn; /* isv_svn/config_svn: minimum, or exact for Occlum */
    int debuggable;                            /* Occlum: exact DEBUG bit when F_DEBUG_EQ */
    int allow_debug;
    const char *statuses[8];
    size_t n_statuses;
    char *advisories[MAX_LIST];
    size_t n_advisories;
    int any_advisory;
    int allow_expired;
    uint32_t min_tcb_eval; /* min_tcb_evaluation_data_number */
} entry;

struct initra_policy {
    int occlum;
    char where[160];
    char warning[400]; /* set when some entry is unpinned */
    entry *entries;
    size_t n;
};

/* ---------------- loading ---------------- */

typedef struct {
    const char *where;
    char path[128];
    initra_err *err;
    const initra_policy_opts *o;
    int unpinned; /* some entry pins nothing (accept_any_enclave) */
} ctx;

static const initra_policy_opts DEFAULT_OPTS = {.accept_any_enclave = 0, .peer = NULL};

static const char *peer(const ctx *c) { return c->o->peer ? c->o->peer : "the enclave"; }

/* The warning logged at every use of a policy that pins nothing. */
static void set_warning(char *out, size_t n, const char *where)
{
    snprintf(out, n, "warning: %s pins neither mr_enclave nor mr_signer (accept_any_enclave is set): any genuine "
                     "enclave is accepted", where);
}

static int bad(ctx *c, const char *key, const json_t *v, const char *what)
{
    char path[160];
    snprintf(path, sizeof path, "%s%s%s", c->path, c->path[0] && key ? "." : "", key ? key : "");
    return initra_json_bad(c->err, c->where, path, v, what);
}

static int get_hex(ctx *c, const json_t *o, const char *key, uint8_t *out, size_t n)
{
    const json_t *v = json_object_get(o, key);
    if (!json_is_string(v) || initra_unhex(json_string_value(v), out, n) != 0) {
        char what[96];
        snprintf(what, sizeof what, "is not %zu hex digits (%zu bytes)", 2 * n, n);
        return bad(c, key, v, what);
    }
    return 0;
}

static int get_u16(ctx *c, const json_t *o, const char *key, uint16_t *out)
{
    const json_t *v = json_object_get(o, key);
    uint64_t x;
    if (initra_json_uint(v, 0, 65535, &x)) return bad(c, key, v, "is not an integer from 0 to 65535");
    *out = (uint16_t)x;
    return 0;
}

static int get_u32(ctx *c, const json_t *o, const char *key, uint32_t *out)
{
    const json_t *v = json_object_get(o, key);
    uint64_t x;
    if (initra_json_uint(v, 0, UINT32_MAX, &x))
        return bad(c, key, v, "is not an integer from 0 to 4294967295 (a tcbEvaluationDataNumber such as 17)");
    *out = (uint32_t)x;
    return 0;
}

static int get_bool(ctx *c, const json_t *o, const char *key, int *out)
{
    const json_t *v = json_object_get(o, key);
    if (!json_is_boolean(v)) return bad(c, key, v, "is not true or false");
    *out = json_is_true(v);
    return 0;
}

static int get_statuses(ctx *c, const json_t *o, const char *key, entry *e)
{
    const json_t *v = json_object_get(o, key);
    if (!json_is_array(v) || json_array_size(v) == 0 || json_array_size(v) > 8)
        return bad(c, key, v, "is not a non-empty list of TCB status names such as [\"UpToDate\"]");
    e->n_statuses = 0;
    size_t i;
    const json_t *s;
    json_array_foreach(v, i, s) {
        const char *name = json_string_value(s);
        int st = name ? initra_tcb_status_from_name(name) : -1;
        if (st < 0)
            return bad(c, key, s, "is not a TCB status (UpToDate, SWHardeningNeeded, ConfigurationNeeded, "
                                  "ConfigurationAndSWHardeningNeeded, OutOfDate, OutOfDateConfigurationNeeded)");
        if (st == INITRA_TCB_REVOKED || st == INITRA_TCB_NOT_SUPPORTED)
            return bad(c, key, s, "can never be accepted: the platform is not trustworthy");
        e->statuses[e->n_statuses++] = initra_tcb_status_name(st);
    }
    return 0;
}

static int get_advisories(ctx *c, const json_t *o, const char *key, entry *e)
{
    const json_t *v = json_object_get(o, key);
    if (!json_is_array(v) || json_array_size(v) > MAX_LIST)
        return bad(c, key, v, "is not a list of advisory IDs such as [\"INTEL-SA-00615\"] (or [\"*\"] for any)");
    size_t i;
    const json_t *s;
    json_array_foreach(v, i, s) {
        const char *id = json_string_value(s);
        if (!id || !*id || strlen(id) > 40) return bad(c, key, s, "is not an advisory ID such as \"INTEL-SA-00615\"");
        if (!strcmp(id, "*")) e->any_advisory = 1;
        else e->advisories[e->n_advisories++] = strdup(id);
    }
    return 0;
}

static int check_keys(ctx *c, const json_t *o, const char *const *allowed)
{
    const char *key = initra_json_unknown_key(o, allowed);
    if (!key) return 0;
    char list[300], path[160];
    snprintf(path, sizeof path, "%s%s%s", c->path, c->path[0] ? "." : "", key);
    return initra_fail(c->err, "%s: %s is not a known key; known keys: %s", c->where, path,
                       initra_json_key_list(allowed, list, sizeof list));
}

static void set_default_statuses(entry *e, int occlum)
{
    e->statuses[0] = initra_tcb_status_name(INITRA_TCB_UP_TO_DATE);
    e->n_statuses = 1;
    if (occlum) e->statuses[e->n_statuses++] = initra_tcb_status_name(INITRA_TCB_SW_HARDENING_NEEDED);
}

/* An entry of initra's format. */
static int parse_entry(ctx *c, const json_t *o, entry *e)
{
    static const char *const keys[] = {"name", "mr_enclave", "mr_signer", "isv_prod_id", "min_isv_svn", "config_id",
                                       "min_config_svn", "isv_family_id", "isv_ext_prod_id", "allow_debug",
                                       "tcb_statuses", "advisories", "allow_expired_collateral",
                                       "min_tcb_evaluation_data_number", NULL};
    if (!json_is_object(o)) return bad(c, NULL, o, "is not an object describing an allowed identity");
    if (check_keys(c, o, keys)) return -1;
    set_default_statuses(e, 0);
    const json_t *name = json_object_get(o, "name");
    if (name && !json_is_string(name)) return bad(c, "name", name, "is not a string");
    if (name) snprintf(e->name + strlen(e->name), sizeof e->name - strlen(e->name), " (\"%s\")", json_string_value(name));
    if (json_object_get(o, "mr_enclave") && (e->has |= F_MRENCLAVE, get_hex(c, o, "mr_enclave", e->mr_enclave, 32))) return -1;
    if (json_object_get(o, "mr_signer") && (e->has |= F_MRSIGNER, get_hex(c, o, "mr_signer", e->mr_signer, 32))) return -1;
    if (json_object_get(o, "isv_prod_id") && (e->has |= F_PRODID, get_u16(c, o, "isv_prod_id", &e->isv_prod_id))) return -1;
    if (json_object_get(o, "min_isv_svn") && (e->has |= F_MIN_ISVSVN, get_u16(c, o, "min_isv_svn", &e->isv_svn))) return -1;
    if (json_object_get(o, "config_id") && (e->has |= F_CONFIGID, get_hex(c, o, "config_id", e->config_id, 64))) return -1;
    if (json_object_get(o, "min_config_svn") && (e->has |= F_MIN_CONFIGSVN, get_u16(c, o, "min_config_svn", &e->config_svn))) return -1;
    if (json_object_get(o, "isv_family_id") && (e->has |= F_FAMILY, get_hex(c, o, "isv_family_id", e->family, 16))) return -1;
    if (json_object_get(o, "isv_ext_prod_id") && (e->has |= F_EXTPROD, get_hex(c, o, "isv_ext_prod_id", e->ext, 16))) return -1;
    if (json_object_get(o, "allow_debug") && get_bool(c, o, "allow_debug", &e->allow_debug)) return -1;
    if (json_object_get(o, "allow_expired_collateral") && get_bool(c, o, "allow_expired_collateral", &e->allow_expired)) return -1;
    if (json_object_get(o, "tcb_statuses") && get_statuses(c, o, "tcb_statuses", e)) return -1;
    if (json_object_get(o, "advisories") && get_advisories(c, o, "advisories", e)) return -1;
    if (json_object_get(o, "min_tcb_evaluation_data_number") &&
        (e->has |= F_MIN_TCB_EVAL, get_u32(c, o, "min_tcb_evaluation_data_number", &e->min_tcb_eval)))
        return -1;
    if (!(e->has & (F_MRENCLAVE | F_MRSIGNER))) {
        if (c->o->accept_any_enclave) {
            c->unpinned = 1;
            return 0;
        }
        return initra_fail(c->err, "%s: %s: an allowed identity must name mr_enclave or mr_signer (or both): set "
                                   "mr_enclave to %s's MRENCLAVE (`initra print mrenclave DIR`) or mr_signer to its "
                                   "MRSIGNER (`initra print mrsigner DIR`)",
                           c->where, c->path, peer(c));
    }
    return 0;
}

static int switch_on(ctx *c, const json_t *o, const char *key, int *on)
{
    const json_t *v = json_object_get(o, key);
    const char *s = json_string_value(v);
    if (!s || (strcmp(s, "on") && strcmp(s, "off"))) return bad(c, key, v, "must be \"on\" or \"off\"");
    *on = !strcmp(s, "on");
    return 0;
}

static int parse_occlum(ctx *c, const json_t *o, initra_policy *p)
{
    static const char *const keys[] = {"verify_mr_enclave", "verify_mr_signer", "verify_isv_prod_id",
                                       "verify_isv_svn", "verify_config_svn", "verify_enclave_debuggable",
                                       "sgx_mrs", "tcb_statuses", "advisories", NULL};
    static const char *const mr_keys[] = {"mr_enclave", "mr_signer", "isv_prod_id", "isv_svn",
                                          "config_svn", "debuggable", NULL};
    int on_enclave, on_signer, on_prod, on_svn, on_config, on_debug;
    if (check_keys(c, o, keys) || switch_on(c, o, "verify_mr_enclave", &on_enclave) ||
        switch_on(c, o, "verify_mr_signer", &on_signer) || switch_on(c, o, "verify_isv_prod_id", &on_prod) ||
        switch_on(c, o, "verify_isv_svn", &on_svn) || switch_on(c, o, "verify_config_svn", &on_config) ||
        switch_on(c, o, "verify_enclave_debuggable", &on_debug))
        return -1;
    entry defaults = {0};
    set_default_statuses(&defaults, 1);
    defaults.any_advisory = 1;
    if (json_object_get(o, "tcb_statuses") && get_statuses(c, o, "tcb_statuses", &defaults)) return -1;
    if (json_object_get(o, "advisories")) {
        defaults.any_advisory = 0;
        if (get_advisories(c, o, "advisories", &defaults)) goto fail_defaults;
    }
    const json_t *mrs = json_object_get(o, "sgx_mrs");
    if (!json_is_array(mrs) || json_array_size(mrs) == 0) {
        bad(c, "sgx_mrs", mrs, "must be a non-empty list of allowed measurements");
        goto fail_defaults;
    }
    p->n = json_array_size(mrs);
    p->entries = calloc(p->n, sizeof *p->entries);
    size_t base = strlen(c->path);
    for (size_t i = 0; i < p->n; i++) {
        entry *e = &p->entries[i];
        const json_t *m = json_array_get(mrs, i);
        snprintf(c->path + base, sizeof c->path - base, "%ssgx_mrs[%zu]", base ? "." : "", i);
        snprintf(e->name, sizeof e->name, "sgx_mrs[%zu]", i);
        if (!json_is_object(m)) {
            bad(c, NULL, m, "is not an object");
            goto fail_defaults;
        }
        for (const char *const *k = mr_keys; *k; k++)
            if (!json_object_get(m, *k)) {
                bad(c, *k, NULL, "is required (Occlum's sgx_mrs entries have mr_enclave, mr_signer, isv_prod_id, isv_svn, config_svn, debuggable)");
                goto fail_defaults;
            }
        if (check_keys(c, m, mr_keys)) goto fail_defaults;
        /* Values are type-checked whether or not their switch is on; hex only when it is used (Occlum's
         * template leaves them ""), but a non-empty value must always be 64 hex digits. */
        const char *mre = json_string_value(json_object_get(m, "mr_enclave"));
        const char *mrs_ = json_string_value(json_object_get(m, "mr_signer"));
        if ((on_enclave || (mre && *mre)) && get_hex(c, m, "mr_enclave", e->mr_enclave, 32)) goto fail_defaults;
        if (!mre) { bad(c, "mr_enclave", json_object_get(m, "mr_enclave"), "is not a string"); goto fail_defaults; }
        if ((on_signer || (mrs_ && *mrs_)) && get_hex(c, m, "mr_signer", e->mr_signer, 32)) goto fail_defaults;
        if (!mrs_) { bad(c, "mr_signer", json_object_get(m, "mr_signer"), "is not a string"); goto fail_defaults; }
        if (get_u16(c, m, "isv_prod_id", &e->isv_prod_id) || get_u16(c, m, "isv_svn", &e->isv_svn) ||
            get_u16(c, m, "config_svn", &e->config_svn) || get_bool(c, m, "debuggable", &e->debuggable))
            goto fail_defaults;
        e->has = (on_enclave ? F_MRENCLAVE : 0) | (on_signer ? F_MRSIGNER : 0) | (on_prod ? F_PRODID : 0) |
                 (on_svn ? F_ISVSVN_EQ : 0) | (on_config ? F_CONFIGSVN_EQ : 0) | (on_debug ? F_DEBUG_EQ : 0);
        e->allow_debug = 0; /* debug only with verify_enclave_debuggable "on" and debuggable true */
        memcpy(e->statuses, defaults.statuses, sizeof e->statuses);
        e->n_statuses = defaults.n_statuses;
        e->any_advisory = defaults.any_advisory;
        for (size_t k = 0; k < defaults.n_advisories; k++) e->advisories[k] = strdup(defaults.advisories[k]);
        e->n_advisories = defaults.n_advisories;
    }
    c->path[base] = 0;
    for (size_t k = 0; k < defaults.n_advisories; k++) free(defaults.advisories[k]);
    if (!on_enclave && !on_signer) {
        if (c->o->accept_any_enclave) {
            c->unpinned = 1;
            return 0;
        }
        return initra_fail(c->err, "%s: pins nothing: verify_mr_enclave and verify_mr_signer are both \"off\", so any "
                                   "genuine enclave would pass; set verify_mr_enclave \"on\" and sgx_mrs[].mr_enclave "
                                   "to %s's MRENCLAVE (`initra print mrenclave DIR`), or verify_mr_signer \"on\" and "
                                   "sgx_mrs[].mr_signer to its MRSIGNER (`initra print mrsigner DIR`); only "
                                   "accept_any_enclave in the measured configuration opts out",
                           c->where, peer(c));
    }
    return 0;
fail_defaults:
    for (size_t k = 0; k < defaults.n_advisories; k++) free(defaults.advisories[k]);
    return -1;
}

initra_policy *initra_policy_from_json_opts(const json_t *j, const char *where, const initra_policy_opts *o,
                                            initra_err *err)
{
    initra_policy *p = calloc(1, sizeof *p);
    if (!p) return initra_fail(err, "out of memory"), NULL;
    snprintf(p->where, sizeof p->where, "%s", where);
    ctx c = {where, "", err, o ? o : &DEFAULT_OPTS, 0};
    int rc;
    if (json_is_array(j)) {
        p->n = json_array_size(j);
        if (p->n == 0) {
            initra_fail(err, "%s: the list of allowed identities is empty: nothing would be accepted", where);
            free(p);
            return NULL;
        }
        p->entries = calloc(p->n, sizeof *p->entries);
        rc = 0;
        for (size_t i = 0; rc == 0 && i < p->n; i++) {
            snprintf(c.path, sizeof c.path, "[%zu]", i);
            snprintf(p->entries[i].name, sizeof p->entries[i].name, "[%zu]", i);
            rc = parse_entry(&c, json_array_get(j, i), &p->entries[i]);
        }
    } else if (json_is_object(j) && json_object_get(j, "sgx_mrs")) {
        p->occlum = 1;
        rc = parse_occlum(&c, j, p);
    } else {
        rc = initra_fail(err, "%s: is neither a list of allowed identities (initra format) nor an object with "
                              "verify_* switches and sgx_mrs (Occlum format)", where);
    }
    if (rc) {
        initra_policy_free(p);
        return NULL;
    }
    if (c.unpinned) set_warning(p->warning, sizeof p->warning, where);
    return p;
}

initra_policy *initra_policy_from_json(const json_t *j, const char *where, initra_err *err)
{
    return initra_policy_from_json_opts(j, where, NULL, err);
}

const char *initra_policy_warning(const initra_policy *p) { return p && p->warning[0] ? p->warning : NULL; }

initra_policy *policy_load_opts(const char *path, const initra_policy_opts *o, initra_err *err)
{
    json_t *j;
    if (initra_json_load(path, INITRA_MAX_CONFIG, &j, err)) return NULL;
    initra_policy *p = initra_policy_from_json_opts(j, path, o, err);
    json_decref(j);
    return p;
}

initra_policy *policy_load(const char *path, initra_err *err) { return policy_load_opts(path, NULL, err); }

static void entry_release(entry *e)
{
    for (size_t k = 0; k < e->n_advisories; k++) free(e->advisories[k]);
}

void initra_policy_free(initra_policy *p)
{
    if (!p) return;
    for (size_t i = 0; i < p->n; i++) entry_release(&p->entries[i]);
    free(p->entries);
    free(p);
}

int policy_is_occlum(const initra_policy *p) { return p->occlum; }

/* ---------------- checking ---------------- */

static char *hexs(const uint8_t *p, size_t n, char *buf) { return initra_hex(p, n, buf); }

/* Number of failing checks of e for ev; the first failure's text in why. */
static int entry_failures(const entry *e, int occlum, const initra_evidence *ev, char *why, size_t whyn)
{
    const initra_sgx_report_body *r = ev->report;
    int fails = 0;
    char a[129], b[129];
#define FAIL(...) do { if (fails++ == 0) snprintf(why, whyn, __VA_ARGS__); } while (0)
    if ((e->has & F_MRENCLAVE) && memcmp(r->mr_enclave, e->mr_enclave, 32))
        FAIL("mr_enclave is %s, the entry requires %s", hexs(r->mr_enclave, 32, a), hexs(e->mr_enclave, 32, b));
    if ((e->has & F_MRSIGNER) && memcmp(r->mr_signer, e->mr_signer, 32))
        FAIL("mr_signer is %s, the entry requires %s", hexs(r->mr_signer, 32, a), hexs(e->mr_signer, 32, b));
    if ((e->has & F_PRODID) && r->isv_prod_id != e->isv_prod_id)
        FAIL("isv_prod_id is %u, the entry requires %u", r->isv_prod_id, e->isv_prod_id);
    if ((e->has & F_MIN_ISVSVN) && r->isv_svn < e->isv_svn)
        FAIL("isv_svn is %u, below the entry's min_isv_svn %u", r->isv_svn, e->isv_svn);
    if ((e->has & F_ISVSVN_EQ) && r->isv_svn != e->isv_svn)
        FAIL("isv_svn is %u, the entry requires exactly %u", r->isv_svn, e->isv_svn);
    if ((e->has & F_CONFIGSVN_EQ) && r->config_svn != e->config_svn)
        FAIL("config_svn is %u, the entry requires exactly %u", r->config_svn, e->config_svn);
    int debug = (r->attributes.flags & INITRA_ATTR_DEBUG) != 0;
    if ((e->has & F_DEBUG_EQ) && debug != e->debuggable)
        FAIL("the enclave is %sa debug enclave, the entry requires debuggable %s", debug ? "" : "not ",
             e->debuggable ? "true" : "false");
    if (!(e->has & F_DEBUG_EQ) && debug && !e->allow_debug)
        FAIL("the enclave is a debug enclave (its memory is readable by the host) and the entry does not %s",
             occlum ? "allow it (verify_enclave_debuggable \"on\" with debuggable true accepts debug enclaves)"
                    : "set allow_debug");
    if ((e->has & F_KSS) && !(r->attributes.flags & INITRA_ATTR_KSS))
        FAIL("the enclave was not launched with KSS, and the entry names a KSS field (config_id, min_config_svn, "
             "isv_family_id or isv_ext_prod_id)");
    else {
        if ((e->has & F_CONFIGID) && memcmp(r->config_id, e->config_id, 64))
            FAIL("config_id is %s, the entry requires %s", hexs(r->config_id, 64, a), hexs(e->config_id, 64, b));
        if ((e->has & F_MIN_CONFIGSVN) && r->config_svn < e->config_svn)
            FAIL("config_svn is %u, below the entry's min_config_svn %u", r->config_svn, e->config_svn);
        if ((e->has & F_FAMILY) && memcmp(r->isv_family_id, e->family, 16))
            FAIL("isv_family_id is %s, the entry requires %s", hexs(r->isv_family_id, 16, a), hexs(e->family, 16, b));
        if ((e->has & F_EXTPROD) && memcmp(r->isv_ext_prod_id, e->ext, 16))
            FAIL("isv_ext_prod_id is %s, the entry requires %s", hexs(r->isv_ext_prod_id, 16, a), hexs(e->ext, 16, b));
    }
    int status_ok = 0;
    for (size_t k = 0; k < e->n_statuses; k++) status_ok |= ev->tcb_status && !strcmp(ev->tcb_status, e->statuses[k]);
    if (!status_ok) {
        char list[256] = "";
        for (size_t k = 0; k < e->n_statuses; k++) {
            strncat(list, k ? ", " : "", sizeof list - strlen(list) - 1);
            strncat(list, e->statuses[k], sizeof list - strlen(list) - 1);
        }
        FAIL("TCB status %s is not accepted (the entry accepts %s%s)", ev->tcb_status ? ev->tcb_status : "(none)",
             list, occlum ? "; add \"tcb_statuses\" to accept others" : "; set tcb_statuses to accept others");
    }
    if (!e->any_advisory)
        for (size_t k = 0; k < ev->n_advisories; k++) {
            int found = 0;
            for (size_t m = 0; m < e->n_advisories; m++) found |= !strcmp(ev->advisories[k], e->advisories[m]);
            if (!found) {
                FAIL("advisory %s applies to the platform and is not in the entry's accepted advisories",
                     ev->advisories[k]);
                break;
            }
        }
    /* Collateral older than the entry's TCB recovery: a host replaying old collateral with its clock set
     * back is refused even though every signature and date checks out. */
    if ((e->has & F_MIN_TCB_EVAL) && ev->tcb_eval_data_number < e->min_tcb_eval)
        FAIL("the collateral's tcbEvaluationDataNumber is %u, below the entry's min_tcb_evaluation_data_number %u "
             "(old collateral; fetch current collateral)",
             ev->tcb_eval_data_number, e->min_tcb_eval);
    if (ev->collateral_expired && (occlum || !e->allow_expired))
        FAIL("the collateral was expired at verification time%s", occlum ? " (never accepted)"
                                                                         : " and the entry does not set allow_expired_collateral");
#undef FAIL
    return fails;
}

static int check_entries(const entry *const *es, size_t n, int occlum, const char *where, const initra_evidence *ev,
                         initra_err *why)
{
    int best = -1;
    size_t best_i = 0;
    char best_why[400] = "", cur[400];
    for (size_t i = 0; i < n; i++) {
        int f = entry_failures(es[i], occlum, ev, cur, sizeof cur);
        if (f == 0) return 0;
        if (best < 0 || f < best) {
            best = f;
            best_i = i;
            memcpy(best_why, cur, sizeof cur);
        }
    }
    if (n == 0) return initra_fail(why, "refused by %s: no allowed identity", where);
    return initra_fail(why, "refused by %s: closest entry %s: %s%s", where, es[best_i]->name, best_why,
                       best > 1 ? " (and more differences)" : "");
}

int initra_policy_check(const initra_policy *p, const initra_evidence *ev, initra_err *why)
{
    const entry **es = malloc((p->n ? p->n : 1) * sizeof *es);
    if (!es) return initra_fail(why, "out of memory");
    for (size_t i = 0; i < p->n; i++) es[i] = &p->entries[i];
    int rc = check_entries(es, p->n, p->occlum, p->where, ev, why);
    free(es);
    return rc;
}

/* ---------------- per-secret policy ---------------- */

typedef struct {
    char *secret;
    size_t *idx; /* indexes into identities */
    size_t n;
} rule;

struct initra_secret_policy {
    char where[160];
    char warning[400]; /* set when some identity is unpinned */
    entry *identities;
    size_t n_identities;
    rule *rules;
    size_t n_rules;
};

void initra_secret_policy_free(initra_secret_policy *sp)
{
    if (!sp) return;
    for (size_t i = 0; i < sp->n_identities; i++) entry_release(&sp->identities[i]);
    for (size_t i = 0; i < sp->n_rules; i++) {
        free(sp->rules[i].secret);
        free(sp->rules[i].idx);
    }
    free(sp->identities);
    free(sp->rules);
    free(sp);
}

initra_secret_policy *initra_secret_policy_from_json_opts(const json_t *j, const char *where,
                                                          const initra_policy_opts *o, initra_err *err)
{
    static const char *const keys[] = {"identities", "secrets", NULL};
    initra_secret_policy *sp = calloc(1, sizeof *sp);
    if (!sp) return initra_fail(err, "out of memory"), NULL;
    ctx c = {where, "", err, o ? o : &DEFAULT_OPTS, 0};
    snprintf(sp->where, sizeof sp->where, "%s", where);
    const json_t *ids = json_object_get(j, "identities"), *secrets = json_object_get(j, "secrets");
    if (!json_is_object(j)) {
        initra_fail(err, "%s: is not an object with \"identities\" and \"secrets\"", where);
        goto fail;
    }
    if (check_keys(&c, j, keys)) goto fail;
    if (!json_is_object(ids) || json_object_size(ids) == 0) {
        bad(&c, "identities", ids, "must be a non-empty object: name -> allowed identity");
        goto fail;
    }
    if (!json_is_object(secrets)) {
        bad(&c, "secrets", secrets, "must be an object: secret name -> list of identity names");
        goto fail;
    }
    sp->identities = calloc(json_object_size(ids), sizeof *sp->identities);
    const char *key;
    const json_t *v;
    json_object_foreach((json_t *)ids, key, v) {
        entry *e = &sp->identities[sp->n_identities++];
        snprintf(c.path, sizeof c.path, "identities.%s", key);
        snprintf(e->name, sizeof e->name, "\"%s\"", key);
        if (strlen(key) >= sizeof e->key) {
            bad(&c, NULL, NULL, "identity name is longer than 63 characters");
            goto fail;
        }
        strcpy(e->key, key);
        if (parse_entry(&c, v, e)) goto fail;
    }
    sp->rules = calloc(json_object_size(secrets) ? json_object_size(secrets) : 1, sizeof *sp->rules);
    json_object_foreach((json_t *)secrets, key, v) {
        snprintf(c.path, sizeof c.path, "secrets");
        if (!json_is_array(v) || json_array_size(v) == 0) {
            bad(&c, key, v, "must be a non-empty list of identity names (from \"identities\")");
            goto fail;
        }
        rule *r = &sp->rules[sp->n_rules++];
        r->secret = strdup(key);
        r->idx = calloc(json_array_size(v), sizeof *r->idx);
        size_t i;
        const json_t *name;
        json_array_foreach(v, i, name) {
            const char *n = json_string_value(name);
            size_t k = 0;
            while (n && k < sp->n_identities && strcmp(sp->identities[k].key, n) != 0) k++;
            if (!n || k == sp->n_identities) {
                snprintf(c.path, sizeof c.path, "secrets.%s[%zu]", key, i);
                bad(&c, NULL, name, "is not the name of an identity in \"identities\"");
                goto fail;
            }
            r->idx[r->n++] = k;
        }
    }
    if (c.unpinned) set_warning(sp->warning, sizeof sp->warning, where);
    return sp;
fail:
    initra_secret_policy_free(sp);
    return NULL;
}

initra_secret_policy *policy_secret_from_json(const json_t *j, const char *where, initra_err *err)
{
    return initra_secret_policy_from_json_opts(j, where, NULL, err);
}

initra_secret_policy *policy_secret_load_opts(const char *path, const initra_policy_opts *o, initra_err *err)
{
    json_t *j;
    if (initra_json_load(path, INITRA_MAX_CONFIG, &j, err)) return NULL;
    initra_secret_policy *sp = initra_secret_policy_from_json_opts(j, path, o, err);
    json_decref(j);
    return sp;
}

initra_secret_policy *policy_secret_load(const char *path, initra_err *err)
{
    return policy_secret_load_opts(path, NULL, err);
}

const char *initra_secret_policy_warning(const initra_secret_policy *sp)
{
    return sp && sp->warning[0] ? sp->warning : NULL;
}

int initra_secret_policy_check(const initra_secret_policy *sp, const char *secret, const initra_evidence *ev,
                               initra_err *why)
{
    for (size_t i = 0; i < sp->n_rules; i++) {
        const rule *r = &sp->rules[i];
        if (strcmp(r->secret, secret)) continue;
        const entry **es = malloc(r->n * sizeof *es);
        if (!es) return initra_fail(why, "out of memory");
        for (size_t k = 0; k < r->n; k++) es[k] = &sp->identities[r->idx[k]];
        char where[256];
        snprintf(where, sizeof where, "%s for secret \"%s\"", sp->where, secret);
        int rc = check_entries(es, r->n, 0, where, ev, why);
        free(es);
        return rc;
    }
    return initra_fail(why, "refused by %s: secret \"%s\" has no rule, so no one may read it", sp->where, secret);
}
