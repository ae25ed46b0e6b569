/* Unified Attestation attributes of an SGX_DCAP report and UA policy matching (docs/aecs.md, docs/protocols.md#aecs):
 * OR across entries, AND within an entry, empty field unchecked (except that a debug enclave needs an
 * entry with bool_debug_disabled "false"), empty list fails; decimal prod id,
 * >= on min isvsvn, prefix on user data and nonce, uppercase hex; attributes the platform never fills
 * fail when a policy sets them. */
#include "aecs/internal.h"
#include "initra/aecs.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/sha.h>

const char *const INITRA_UA_ATTR_NAMES[INITRA_UA_N_ATTRS] = {
    "str_tee_platform",       "hex_platform_hw_version", "hex_platform_sw_version", "hex_secure_flags",
    "hex_platform_measurement", "hex_boot_measurement",  "str_tee_identity",        "hex_ta_measurement",
    "hex_ta_dyn_measurement", "hex_signer",              "hex_prod_id",             "str_min_isvsvn",
    "hex_user_data",          "bool_debug_disabled",     "hex_hash_or_pem_pubkey",  "hex_nonce",
    "hex_spid",
};

int aecs_ua_attr_index(const char *name)
{
    for (int i = 0; i < INITRA_UA_N_ATTRS; i++)
        if (!strcmp(name, INITRA_UA_ATTR_NAMES[i])) return i;
    return -1;
}

void aecs_ua_attrs_free(initra_ua_attrs *a)
{
    if (!a) return;
    for (int i = 0; i < INITRA_UA_N_ATTRS; i++) {
        free(a->v[i]);
        a->v[i] = NULL;
    }
}

int aecs_ua_attrs_set(initra_ua_attrs *a, int attr, const char *value)
{
    char *c = NULL;
    if (value && !(c = strdup(value))) return -1;
    free(a->v[attr]);
    a->v[attr] = c;
    return 0;
}

int aecs_ua_attrs_from_sgx(const initra_sgx_report_body *b, initra_ua_attrs *out, initra_err *err)
{
    char hex[129], num[16];
    memset(out, 0, sizeof *out);
    int rc = 0;
    rc |= aecs_ua_attrs_set(out, INITRA_UA_STR_TEE_PLATFORM, INITRA_UA_PLATFORM_SGX_DCAP);
    rc |= aecs_ua_attrs_set(out, INITRA_UA_HEX_TA_MEASUREMENT, initra_hex_upper(b->mr_enclave, 32, hex));
    rc |= aecs_ua_attrs_set(out, INITRA_UA_HEX_SIGNER, initra_hex_upper(b->mr_signer, 32, hex));
    snprintf(num, sizeof num, "%u", (unsigned)b->isv_prod_id);
    rc |= aecs_ua_attrs_set(out, INITRA_UA_HEX_PROD_ID, num);
    snprintf(num, sizeof num, "%u", (unsigned)b->isv_svn);
    rc |= aecs_ua_attrs_set(out, INITRA_UA_STR_MIN_ISVSVN, num);
    rc |= aecs_ua_attrs_set(out, INITRA_UA_BOOL_DEBUG_DISABLED,
                              (b->attributes.flags & INITRA_ATTR_DEBUG) ? "false" : "true");
    rc |= aecs_ua_attrs_set(out, INITRA_UA_HEX_USER_DATA, initra_hex_upper(b->report_data, 32, hex));
    rc |= aecs_ua_attrs_set(out, INITRA_UA_HEX_HASH_OR_PEM_PUBKEY, initra_hex_upper(b->report_data + 32, 32, hex));
    rc |= aecs_ua_attrs_set(out, INITRA_UA_HEX_SPID, "");
    if (rc) {
        aecs_ua_attrs_free(out);
        return initra_fail(err, "UA attributes: out of memory");
    }
    return 0;
}

/* ---------------- values ---------------- */

enum kind { K_STR, K_HEX, K_HEX64, K_DEC, K_BOOL, K_KEY };

static int kind_of(int attr)
{
    switch (attr) {
    case INITRA_UA_STR_TEE_PLATFORM:
    case INITRA_UA_STR_TEE_IDENTITY: return K_STR;
    case INITRA_UA_HEX_TA_MEASUREMENT:
    case INITRA_UA_HEX_SIGNER: return K_HEX64;
    case INITRA_UA_HEX_PROD_ID:
    case INITRA_UA_STR_MIN_ISVSVN: return K_DEC;
    case INITRA_UA_BOOL_DEBUG_DISABLED: return K_BOOL;
    case INITRA_UA_HEX_HASH_OR_PEM_PUBKEY: return K_KEY;
    default: return K_HEX;
    }
}

static int is_hex_str(const char *s)
{
    for (; *s; s++)
        if (!((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'f') || (*s >= 'A' && *s <= 'F'))) return 0;
    return 1;
}

static char *upper_dup(const char *s)
{
    char *c = strdup(s);
    if (c)
        for (char *p = c; *p; p++)
            if (*p >= 'a' && *p <= 'f') *p = (char)(*p - 'a' + 'A');
    return c;
}

/* "true" or "1" is true (UA's reading). */
static int ua_true(const char *s) { return !strcmp(s, "true") || !strcmp(s, "1"); }

int aecs_ua_value_normalise(int attr, const char *value, char **out, initra_err *err)
{
    const char *name = INITRA_UA_ATTR_NAMES[attr];
    *out = NULL;
    if (!value) value = "";
    if (!*value) {
        if (!(*out = strdup(""))) return initra_fail(err, "out of memory");
        return 0;
    }
    switch (kind_of(attr)) {
    case K_STR: *out = strdup(value); break;
    case K_HEX64:
        if (strlen(value) != 64 || !is_hex_str(value))
            return initra_fail(err, "%s: \"%.80s\" is not 64 hex digits", name, value);
        *out = upper_dup(value);
        break;
    case K_HEX:
        if (!is_hex_str(value)) return initra_fail(err, "%s: \"%.80s\" is not hex digits", name, value);
        if (attr == INITRA_UA_HEX_USER_DATA && strlen(value) > 64)
            return initra_fail(err, "%s: \"%.80s\" is longer than 64 hex digits (32 bytes of report data)", name,
                               value);
        *out = upper_dup(value);
        break;
    case K_DEC: {
        uint64_t v;
        for (const char *p = value; *p; p++)
            if (*p < '0' || *p > '9')
                return initra_fail(err, "%s: \"%.40s\" is not a decimal number", name, value);
        if (initra_parse_uint(value, 65535, &v))
            return initra_fail(err, "%s: \"%.40s\" is above 65535", name, value);
        char num[16];
        snprintf(num, sizeof num, "%u", (unsigned)v);
        *out = strdup(num);
        break;
    }
    case K_BOOL:
        if (strcmp(value, "true") && strcmp(value, "false") && strcmp(value, "1") && strcmp(value, "0"))
            return initra_fail(err, "%s: \"%.40s\" is not true, false, 1 or 0", name, value);
        *out = strdup(ua_true(value) ? "true" : "false");
        break;
    case K_KEY:
        if (strstr(value, "-----BEGIN ")) {
            *out = strdup(value);
        } else if (strlen(value) == 64 && is_hex_str(value)) {
            *out = upper_dup(value);
        } else {
            return initra_fail(err, "%s: \"%.80s\" is neither 64 hex digits (a SHA-256) nor a PEM public key", name,
                               value);
        }
        break;
    }
    if (!*out) return initra_fail(err, "out of memory");
    return 0;
}

/* ---------------- policies ---------------- */

void initra_ua_policy_free(initra_ua_policy *p)
{
    if (!p) return;
    for (size_t i = 0; i < p->n; i++) aecs_ua_attrs_free(&p->entries[i]);
    free(p->entries);
    p->entries = NULL;
    p->n = 0;
}

/* A JSON value as the string a field holds: strings; integers for decimal fields; booleans. */
static int json_value_str(const json_t *v, int attr, char *buf, size_t n, const char **out)
{
    if (json_is_string(v)) {
        *out = json_string_value(v);
        return 0;
    }
    if (json_is_integer(v) && kind_of(attr) == K_DEC && json_integer_value(v) >= 0) {
        snprintf(buf, n, "%lld", (long long)json_integer_value(v));
        *out = buf;
        return 0;
    }
    if (json_is_boolean(v) && kind_of(attr) == K_BOOL) {
        *out = json_is_true(v) ? "true" : "false";
        return 0;
    }
    return -1;
}

static int entry_from_json(const json_t *o, const char *where, const char *prefix, const char *label,
                           initra_ua_attrs *e, int *n_set, initra_err *err)
{
    const char *key;
    const json_t *v;
    memset(e, 0, sizeof *e);
    *n_set = 0;
    json_object_foreach((json_t *)o, key, v)
    {
        const char *k = key;
        if (prefix) {
            if (strncmp(key, prefix, strlen(prefix))) continue; /* other ra_config fields */
            k = key + strlen(prefix);
        }
        int a = aecs_ua_attr_index(k);
        if (a < 0) {
            aecs_ua_attrs_free(e);
            return initra_fail(err, "%s: %s: unknown UA attribute \"%.64s\" (known: str_tee_platform, "
                                    "hex_ta_measurement, hex_signer, hex_prod_id, str_min_isvsvn, hex_user_data, "
                                    "bool_debug_disabled, hex_hash_or_pem_pubkey, hex_spid, ...)",
                               where, label, key);
        }
        char buf[32];
        const char *s;
        if (json_value_str(v, a, buf, sizeof buf, &s)) {
            aecs_ua_attrs_free(e);
            return initra_fail(err, "%s: %s.%s: must be a string", where, label, key);
        }
        char *norm;
        if (aecs_ua_value_normalise(a, s, &norm, err)) {
            aecs_ua_attrs_free(e);
            return initra_fail_prefix(err, "%s: %s", where, label);
        }
        free(e->v[a]);
        e->v[a] = norm;
        if (*norm) ++*n_set;
    }
    return 0;
}

int aecs_ua_policy_from_json(const json_t *j, const char *where, initra_ua_policy *out, initra_err *err)
{
    memset(out, 0, sizeof *out);
    if (!json_is_array(j))
        return initra_fail(err, "%s: a UA policy must be a JSON array of attribute entries", where);
    size_t n = json_array_size(j);
    if (n && !(out->entries = calloc(n, sizeof *out->entries))) return initra_fail(err, "out of memory");
    for (size_t i = 0; i < n; i++) {
        const json_t *o = json_array_get(j, i);
        char label[32];
        snprintf(label, sizeof label, "[%zu]", i);
        if (!json_is_object(o)) {
            initra_ua_policy_free(out);
            return initra_fail(err, "%s: %s: a UA policy entry must be an object", where, label);
        }
        int n_set;
        if (entry_from_json(o, where, NULL, label, &out->entries[i], &n_set, err)) {
            initra_ua_policy_free(out);
            return -1;
        }
        out->n = i + 1;
        if (n_set == 0) {
            initra_ua_policy_free(out);
            return initra_fail(err, "%s: %s: every field of the entry is empty, so it would match any enclave; set "
                                    "hex_ta_measurement (mrenclave) or hex_signer (mrsigner)",
                               where, label);
        }
    }
    return 0;
}

int initra_ua_entry_pinned(const initra_ua_attrs *e)
{
    const char *m = e->v[INITRA_UA_HEX_TA_MEASUREMENT], *s = e->v[INITRA_UA_HEX_SIGNER];
    return (m && *m) || (s && *s);
}

int aecs_ua_policy_check_pinned(const initra_ua_policy *p, const char *where, initra_err *err)
{
    for (size_t i = 0; i < p->n; i++)
        if (!initra_ua_entry_pinned(&p->entries[i]))
            return initra_fail(err, "%s: [%zu]: the entry pins neither hex_ta_measurement (mrenclave) nor hex_signer "
                                    "(mrsigner), so any genuine enclave could match; set one of them, or set "
                                    "accept_any_enclave in the KMS configuration",
                               where, i);
    return 0;
}

json_t *aecs_ua_policy_to_json(const initra_ua_policy *p)
{
    json_t *a = json_array();
    for (size_t i = 0; a && i < p->n; i++) {
        json_t *o = json_object();
        for (int k = 0; o && k < INITRA_UA_N_ATTRS; k++)
            if (p->entries[i].v[k] && *p->entries[i].v[k])
                json_object_set_new(o, INITRA_UA_ATTR_NAMES[k], json_string(p->entries[i].v[k]));
        json_array_append_new(a, o);
    }
    return a;
}

int initra_ua_policy_from_ra_config(const json_t *ra_config, const char *where, initra_ua_policy *out,
                                    int *all_empty, initra_err *err)
{
    memset(out, 0, sizeof *out);
    if (!json_is_object(ra_config)) return initra_fail(err, "%s: ra_config must be an object", where);
    if (!(out->entries = calloc(1, sizeof *out->entries))) return initra_fail(err, "out of memory");
    int n_set;
    if (entry_from_json(ra_config, where, "ua_policy_", "ra_config", &out->entries[0], &n_set, err)) {
        free(out->entries);
        out->entries = NULL;
        return -1;
    }
    out->n = 1;
    *all_empty = n_set == 0;
    return 0;
}

/* ---------------- matching ---------------- */

/* 0 when the entry's value for attr accepts actual; else -1 with the reason (no entry label). */
static int match_attr(int attr, const char *want, const char *have, initra_err *why)
{
    const char *name = INITRA_UA_ATTR_NAMES[attr];
    if (!have)
        return initra_fail(why, "%s is set to \"%.80s\" but an SGX_DCAP report never has %s", name, want, name);
    switch (attr) {
    case INITRA_UA_STR_MIN_ISVSVN: {
        uint64_t h, w;
        if (initra_parse_uint(have, 65535, &h) || initra_parse_uint(want, 65535, &w))
            return initra_fail(why, "%s: \"%s\" or \"%s\" is not a number", name, have, want);
        if (h < w) return initra_fail(why, "%s: the report has ISVSVN %s, the entry requires at least %s", name, have, want);
        return 0;
    }
    case INITRA_UA_BOOL_DEBUG_DISABLED:
        if (ua_true(have) != ua_true(want))
            return initra_fail(why, "bool_debug_disabled is \"%s\" (%s enclave), the entry requires \"%s\"", have,
                               ua_true(have) ? "a production" : "a debug", want);
        return 0;
    case INITRA_UA_HEX_USER_DATA:
    case INITRA_UA_HEX_NONCE:
        if (strncmp(have, want, strlen(want)))
            return initra_fail(why, "%s is \"%s\", the entry requires the prefix \"%s\"", name, have, want);
        return 0;
    case INITRA_UA_HEX_HASH_OR_PEM_PUBKEY:
        if (!strcmp(have, want)) return 0;
        if (strstr(want, "-----BEGIN ")) {
            uint8_t h[32];
            char hex[65];
            SHA256((const unsigned char *)want, strlen(want), h);
            initra_hex_upper(h, 32, hex);
            if (!strcmp(have, hex)) return 0;
            return initra_fail(why, "%s is \"%s\", the entry requires the SHA-256 of its PEM key, \"%s\"", name, have,
                               hex);
        }
        return initra_fail(why, "%s is \"%s\", the entry requires \"%s\"", name, have, want);
    default:
        if (strcmp(have, want)) return initra_fail(why, "%s is \"%.80s\", the entry requires \"%.80s\"", name, have, want);
        return 0;
    }
}

/* Number of failing attributes of entry e; the first failure's reason in why. */
static int entry_failures(const initra_ua_attrs *e, const initra_ua_attrs *actual, initra_err *why)
{
    int fails = 0;
    for (int a = 0; a < INITRA_UA_N_ATTRS; a++) {
        if (!e->v[a] || !*e->v[a]) continue;
        initra_err tmp;
        if (match_attr(a, e->v[a], actual->v[a], &tmp)) {
            if (!fails && why) *why = tmp;
            fails++;
        }
    }
    /* A debug enclave's memory is open to the host: accepted only by an entry that asks for one. */
    const char *dbg = actual->v[INITRA_UA_BOOL_DEBUG_DISABLED], *want = e->v[INITRA_UA_BOOL_DEBUG_DISABLED];
    if (dbg && !ua_true(dbg) && !(want && *want)) {
        if (!fails && why)
            initra_fail(why, "bool_debug_disabled is \"false\": a debug enclave (its memory is readable by the host), "
                             "which the entry does not allow; set bool_debug_disabled \"false\" (debug_disabled in a "
                             "spec) to accept debug enclaves");
        fails++;
    }
    return fails;
}

int aecs_ua_policy_check(const initra_ua_policy *p, const initra_ua_attrs *actual, initra_err *why)
{
    if (!p || p->n == 0) return initra_fail(why, "the UA policy has no entries, so nothing is accepted");
    int best = -1;
    size_t best_i = 0;
    initra_err best_why;
    for (size_t i = 0; i < p->n; i++) {
        initra_err w;
        int f = entry_failures(&p->entries[i], actual, &w);
        if (f == 0) return 0;
        if (best < 0 || f < best) {
            best = f;
            best_i = i;
            best_why = w;
        }
    }
    if (p->n == 1) return initra_fail(why, "UA policy entry [0]: %s", best_why.msg);
    return initra_fail(why, "no UA policy entry matches (%zu entries); closest entry [%zu]: %s", p->n, best_i,
                       best_why.msg);
}
