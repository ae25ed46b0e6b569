/* The AECS secret store: services and secrets with per-secret UA policies, in one JSON file written
 * atomically (0600), and the spec files (YAML or JSON, modelled on AECS's service_secret_policy.yaml)
 * that create secrets. Loading is strict: every error names the file, the JSON path and what to do. */
#include "aecs/internal.h"
#include "initra/aecs.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <openssl/rand.h>

static const char *const TYPE_NAMES[] = {"RSA_KEY_PAIR",  "AES256_KEY",   "IMPORT_DATA",
                                         "CERTIFICATE",   "SM2_KEY_PAIR", "CONFIGURATIONS"};
#define N_TYPES 6

const char *initra_aecs_type_name(int type) { return type >= 0 && type < N_TYPES ? TYPE_NAMES[type] : NULL; }

int aecs_type_from_name(const char *name)
{
    if (!strncmp(name, "SECRET_TYPE_", 12)) name += 12;
    for (int i = 0; i < N_TYPES; i++)
        if (!strcmp(name, TYPE_NAMES[i])) return i;
    return -1;
}

static int type_supported(int t)
{
    return t == INITRA_AECS_RSA_KEY_PAIR || t == INITRA_AECS_AES256_KEY || t == INITRA_AECS_IMPORT_DATA;
}

int initra_aecs_check_name(const char *name, const char *what, initra_err *err)
{
    size_t n = strlen(name);
    if (n == 0) return initra_fail(err, "%s is empty", what);
    if (n > INITRA_AECS_MAX_NAME)
        return initra_fail(err, "%s is %zu characters; at most %d are allowed", what, n, INITRA_AECS_MAX_NAME);
    for (size_t i = 0; i < n; i++) {
        char c = name[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-' ||
              c == '.'))
            return initra_fail(err, "%s \"%.64s\" has the forbidden character '%c' at position %zu (allowed: "
                                    "A-Z a-z 0-9 _ . -)",
                               what, name, (c >= 32 && c < 127) ? c : '?', i);
    }
    return 0;
}

/* ---------------- store ---------------- */

static void secret_free(initra_aecs_secret *s)
{
    free(s->service);
    free(s->name);
    if (s->data) initra_free_secret(s->data, strlen(s->data));
    initra_ua_policy_free(&s->policy);
    memset(s, 0, sizeof *s);
}

void initra_aecs_store_free(initra_aecs_store *st)
{
    if (!st) return;
    for (size_t i = 0; i < st->n_services; i++) free(st->services[i]);
    free(st->services);
    for (size_t i = 0; i < st->n_secrets; i++) secret_free(&st->secrets[i]);
    free(st->secrets);
    memset(st, 0, sizeof *st);
}

static int has_service(const initra_aecs_store *st, const char *name)
{
    for (size_t i = 0; i < st->n_services; i++)
        if (!strcmp(st->services[i], name)) return 1;
    return 0;
}

const initra_aecs_secret *initra_aecs_store_find(const initra_aecs_store *st, const char *service, const char *name)
{
    for (size_t i = 0; i < st->n_secrets; i++)
        if (!strcmp(st->secrets[i].service, service) && !strcmp(st->secrets[i].name, name)) return &st->secrets[i];
    return NULL;
}

static int is_upper_hex64(const char *s)
{
    if (strlen(s) != 64) return 0;
    for (; *s; s++)
        if (!((*s >= '0' && *s <= '9') || (*s >= 'A' && *s <= 'F'))) return 0;
    return 1;
}

/* Checks a secret's data against its type. */
static int check_data(int type, const char *data, initra_err *err)
{
    size_t n = strlen(data);
    switch (type) {
    case INITRA_AECS_IMPORT_DATA:
        if (n == 0) return initra_fail(err, "IMPORT_DATA needs non-empty data");
        if (n > INITRA_AECS_MAX_IMPORT)
            return initra_fail(err, "import data is %zu bytes; AECS allows at most %d", n, INITRA_AECS_MAX_IMPORT);
        return 0;
    case INITRA_AECS_AES256_KEY:
        if (!is_upper_hex64(data)) return initra_fail(err, "an AES256_KEY is 64 uppercase hex digits");
        return 0;
    case INITRA_AECS_RSA_KEY_PAIR: {
        json_t *j = json_loads(data, JSON_REJECT_DUPLICATES, NULL);
        int ok = json_is_object(j) && json_object_size(j) == 2 && json_is_string(json_object_get(j, "privateKey")) &&
                 json_is_string(json_object_get(j, "publicKey"));
        json_decref(j);
        if (!ok) return initra_fail(err, "an RSA_KEY_PAIR is the JSON object {\"privateKey\": PEM, \"publicKey\": PEM}");
        return 0;
    }
    default: return initra_fail(err, "secret type %s is not supported", initra_aecs_type_name(type));
    }
}

static int only_keys(const json_t *o, const char *const *keys, const char *where, const char *path, initra_err *err)
{
    const char *k = initra_json_unknown_key(o, keys);
    return k ? initra_fail(err, "%s: %s: unknown key \"%.64s\"", where, path, k) : 0;
}

static const char *get_str(const json_t *o, const char *key, const char *where, const char *path, initra_err *err)
{
    const json_t *v = json_object_get(o, key);
    if (!json_is_string(v)) {
        initra_fail(err, "%s: %s.%s: %s", where, path, key, v ? "must be a string" : "is missing");
        return NULL;
    }
    return json_string_value(v);
}

int initra_aecs_store_from_json(const char *text, size_t len, const char *where, initra_aecs_store *st,
                                initra_err *err)
{
    memset(st, 0, sizeof *st);
    json_t *j;
    if (initra_json_parse(text, len, where, INITRA_JSON_SECRET, "restore it from a backup or start a new store", &j,
                          err))
        return -1;
    static const char *const top_keys[] = {"version", "services", "secrets", NULL};
    const json_t *services = json_object_get(j, "services"), *secrets = json_object_get(j, "secrets");
    int rc = -1;
    if (!json_is_object(j)) {
        initra_fail(err, "%s: the store must be a JSON object", where);
        goto done;
    }
    if (only_keys(j, top_keys, where, "top level", err)) goto done;
    if (!json_is_integer(json_object_get(j, "version")) || json_integer_value(json_object_get(j, "version")) != 1) {
        initra_fail(err, "%s: version: must be 1", where);
        goto done;
    }
    if (!json_is_array(services) || !json_is_array(secrets)) {
        initra_fail(err, "%s: %s: must be an array", where, json_is_array(services) ? "secrets" : "services");
        goto done;
    }
    size_t ns = json_array_size(services), nk = json_array_size(secrets);
    if ((ns && !(st->services = calloc(ns, sizeof *st->services))) || (nk && !(st->secrets = calloc(nk, sizeof *st->secrets)))) {
        initra_fail(err, "out of memory");
        goto done;
    }
    for (size_t i = 0; i < ns; i++) {
        const json_t *v = json_array_get(services, i);
        if (!json_is_string(v)) {
            initra_fail(err, "%s: services[%zu]: must be a string", where, i);
            goto done;
        }
        if (initra_aecs_check_name(json_string_value(v), "service name", err)) {
            initra_fail_prefix(err, "%s: services[%zu]", where, i);
            goto done;
        }
        if (has_service(st, json_string_value(v))) {
            initra_fail(err, "%s: services[%zu]: \"%s\" is listed twice", where, i, json_string_value(v));
            goto done;
        }
        st->services[st->n_services++] = strdup(json_string_value(v));
    }
    static const char *const secret_keys[] = {"service", "name", "type", "data", "policy", NULL};
    for (size_t i = 0; i < nk; i++) {
        const json_t *o = json_array_get(secrets, i);
        char path[48];
        snprintf(path, sizeof path, "secrets[%zu]", i);
        if (!json_is_object(o)) {
            initra_fail(err, "%s: %s: must be an object", where, path);
            goto done;
        }
        if (only_keys(o, secret_keys, where, path, err)) goto done;
        const char *svc = get_str(o, "service", where, path, err), *name = svc ? get_str(o, "name", where, path, err) : NULL;
        const char *type = name ? get_str(o, "type", where, path, err) : NULL;
        const char *data = type ? get_str(o, "data", where, path, err) : NULL;
        if (!data) goto done;
        if (initra_aecs_check_name(svc, "service name", err) || initra_aecs_check_name(name, "secret name", err)) {
            initra_fail_prefix(err, "%s: %s", where, path);
            goto done;
        }
        if (!has_service(st, svc)) {
            initra_fail(err, "%s: %s.service: \"%s\" is not a registered service", where, path, svc);
            goto done;
        }
        if (initra_aecs_store_find(st, svc, name)) {
            initra_fail(err, "%s: %s: secret \"%s\" of service \"%s\" appears twice", where, path, name, svc);
            goto done;
        }
        int t = aecs_type_from_name(type);
        if (t < 0 || !type_supported(t) || strncmp(type, "SECRET_TYPE_", 12) == 0) {
            initra_fail(err, "%s: %s.type: \"%.40s\" is not IMPORT_DATA, AES256_KEY or RSA_KEY_PAIR", where, path, type);
            goto done;
        }
        if (check_data(t, data, err)) {
            initra_fail_prefix(err, "%s: %s.data", where, path);
            goto done;
        }
        char pwhere[600];
        snprintf(pwhere, sizeof pwhere, "%s: %s.policy", where, path);
        initra_aecs_secret *s = &st->secrets[st->n_secrets];
        if (aecs_ua_policy_from_json(json_object_get(o, "policy"), pwhere, &s->policy, err)) goto done;
        s->service = strdup(svc);
        s->name = strdup(name);
        s->type = t;
        s->data = strdup(data);
        st->n_secrets++;
        if (!s->service || !s->name || !s->data) {
            initra_fail(err, "out of memory");
            goto done;
        }
    }
    rc = 0;
done:
    json_decref(j);
    if (rc) initra_aecs_store_free(st);
    return rc;
}

int initra_aecs_store_load(const char *path, int allow_missing, initra_aecs_store *st, initra_err *err)
{
    memset(st, 0, sizeof *st);
    uint8_t *buf;
    size_t n;
    struct stat sb;
    if (allow_missing && stat(path, &sb) != 0 && errno == ENOENT) return 0;
    if (initra_read_file(path, INITRA_MAX_STORE, &buf, &n, err)) return -1;
    int rc = initra_aecs_store_from_json((const char *)buf, n, path, st, err);
    initra_free_secret(buf, n);
    return rc;
}

int initra_aecs_store_save(const initra_aecs_store *st, const char *path, initra_err *err)
{
    json_t *j = json_object(), *svcs = json_array(), *secs = json_array();
    json_object_set_new(j, "version", json_integer(1));
    for (size_t i = 0; i < st->n_services; i++) json_array_append_new(svcs, json_string(st->services[i]));
    for (size_t i = 0; i < st->n_secrets; i++) {
        const initra_aecs_secret *s = &st->secrets[i];
        json_array_append_new(secs, json_pack("{s:s, s:s, s:s, s:s, s:o}", "service", s->service, "name", s->name, "type",
                                              initra_aecs_type_name(s->type), "data", s->data, "policy",
                                              aecs_ua_policy_to_json(&s->policy)));
    }
    json_object_set_new(j, "services", svcs);
    json_object_set_new(j, "secrets", secs);
    char *text = json_dumps(j, JSON_INDENT(2));
    json_decref(j); /* the tree held copies of the secrets; jansson frees without zeroizing (known limit) */
    if (!text) return initra_fail(err, "%s: cannot serialise the store", path);
    size_t n = strlen(text);
    text[n] = 0;
    int rc = initra_write_file_atomic(path, text, n, 0600, err);
    initra_free_secret(text, n);
    return rc;
}

int initra_aecs_store_register_service(initra_aecs_store *st, const char *name, initra_err *err)
{
    if (initra_aecs_check_name(name, "service name", err)) return -1;
    if (has_service(st, name)) return initra_fail(err, "service \"%s\" is already registered", name);
    char **s = realloc(st->services, (st->n_services + 1) * sizeof *s);
    if (!s) return initra_fail(err, "out of memory");
    st->services = s;
    if (!(s[st->n_services] = strdup(name))) return initra_fail(err, "out of memory");
    st->n_services++;
    return 0;
}

int initra_aecs_store_destroy_secret(initra_aecs_store *st, const char *service, const char *name, initra_err *err)
{
    if (initra_aecs_check_name(service, "service name", err) || initra_aecs_check_name(name, "secret name", err))
        return -1;
    if (!has_service(st, service)) return initra_fail(err, "service \"%s\" is not registered", service);
    for (size_t i = 0; i < st->n_secrets; i++) {
        if (strcmp(st->secrets[i].service, service) || strcmp(st->secrets[i].name, name)) continue;
        secret_free(&st->secrets[i]);
        memmove(&st->secrets[i], &st->secrets[i + 1], (st->n_secrets - i - 1) * sizeof *st->secrets);
        st->n_secrets--;
        return 0;
    }
    return initra_fail(err, "service \"%s\" has no secret \"%s\"", service, name);
}

/* ---------------- secret generation ---------------- */

static char *gen_aes(initra_err *err)
{
    uint8_t k[32];
    char *s = malloc(65);
    if (!s || RAND_priv_bytes(k, sizeof k) != 1) {
        free(s);
        initra_fail(err, "cannot generate an AES-256 key");
        return NULL;
    }
    initra_hex_upper(k, 32, s);
    OPENSSL_cleanse(k, sizeof k);
    return s;
}

static char *gen_rsa(int bits, int pkcs8, initra_err *err)
{
    EVP_PKEY *k = aecs_rsa_generate(bits, err);
    if (!k) return NULL;
    char *priv = aecs_rsa_private_pem(k, pkcs8, err);
    char *pub = priv ? (pkcs8 ? aecs_rsa_spki_pem(k, err) : initra_aecs_rsa_public_pem(k, err)) : NULL;
    EVP_PKEY_free(k);
    char *out = NULL;
    if (pub) {
        /* AECS: PB2JSON(AsymmetricKeyPair{private_key = 1, public_key = 2}), protobuf's JSON names */
        json_t *j = json_pack("{s:s, s:s}", "privateKey", priv, "publicKey", pub);
        out = json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER);
        json_decref(j);
        if (!out) initra_fail(err, "out of memory");
    }
    if (priv) initra_free_secret(priv, strlen(priv));
    free(pub);
    return out;
}

int initra_aecs_store_create_secret(initra_aecs_store *st, const initra_aecs_spec *spec, initra_err *err)
{
    if (initra_aecs_check_name(spec->service, "service name", err) ||
        initra_aecs_check_name(spec->name, "secret name", err))
        return -1;
    if (!has_service(st, spec->service))
        return initra_fail(err, "service \"%s\" is not registered; run `initra kms aecs-admin register-service %s` first",
                           spec->service, spec->service);
    if (initra_aecs_store_find(st, spec->service, spec->name))
        return initra_fail(err, "service \"%s\" already has a secret \"%s\"; destroy it first to replace it",
                           spec->service, spec->name);
    if (!type_supported(spec->type))
        return initra_fail(err, "secret \"%s\": type %s is not supported (IMPORT_DATA, AES256_KEY, RSA_KEY_PAIR)",
                           spec->name, initra_aecs_type_name(spec->type) ? initra_aecs_type_name(spec->type) : "?");
    char *data = NULL;
    if (spec->data) {
        if (spec->type == INITRA_AECS_RSA_KEY_PAIR)
            return initra_fail(err, "secret \"%s\": RSA_KEY_PAIR secrets are generated; remove its data", spec->name);
        if (check_data(spec->type, spec->data, err)) return initra_fail_prefix(err, "secret \"%s\"", spec->name);
        data = strdup(spec->data);
    } else if (spec->type == INITRA_AECS_IMPORT_DATA) {
        return initra_fail(err, "secret \"%s\": IMPORT_DATA needs data", spec->name);
    } else if (spec->type == INITRA_AECS_AES256_KEY) {
        data = gen_aes(err);
    } else {
        data = gen_rsa(spec->bits ? spec->bits : 2048, spec->pkcs8, err);
    }
    if (!data) return -1;
    initra_aecs_secret *s = realloc(st->secrets, (st->n_secrets + 1) * sizeof *s);
    if (!s) {
        initra_free_secret(data, strlen(data));
        return initra_fail(err, "out of memory");
    }
    st->secrets = s;
    initra_aecs_secret *n = &s[st->n_secrets];
    memset(n, 0, sizeof *n);
    n->service = strdup(spec->service);
    n->name = strdup(spec->name);
    n->type = spec->type;
    n->data = data;
    json_t *pj = aecs_ua_policy_to_json(&spec->policy);
    int rc = aecs_ua_policy_from_json(pj, "policy", &n->policy, err);
    json_decref(pj);
    if (rc || !n->service || !n->name) {
        secret_free(n);
        return initra_fail(err, "out of memory");
    }
    st->n_secrets++;
    return 0;
}

/* ---------------- spec files ---------------- */

void initra_aecs_specs_free(initra_aecs_specs *s)
{
    if (!s) return;
    for (size_t i = 0; i < s->n; i++) {
        initra_aecs_spec *p = &s->items[i];
        free(p->service);
        free(p->name);
        if (p->data) initra_free_secret(p->data, strlen(p->data));
        initra_ua_policy_free(&p->policy);
    }
    free(s->items);
    memset(s, 0, sizeof *s);
}

/* A scalar as text: strings, integers, booleans (JSON); YAML gives strings. */
static const char *scalar(const json_t *v, char *buf, size_t n)
{
    if (json_is_string(v)) return json_string_value(v);
    if (json_is_integer(v)) {
        snprintf(buf, n, "%lld", (long long)json_integer_value(v));
        return buf;
    }
    if (json_is_boolean(v)) return json_is_true(v) ? "true" : "false";
    return NULL;
}

/* AECS's enclaveMatchAnyRules keys and the UA attributes they set. */
static const struct {
    const char *key;
    int attr;
} RULE_KEYS[] = {
    {"mrenclave", INITRA_UA_HEX_TA_MEASUREMENT}, {"mrsigner", INITRA_UA_HEX_SIGNER},
    {"prodID", INITRA_UA_HEX_PROD_ID},          {"minIsvSvn", INITRA_UA_STR_MIN_ISVSVN},
    {"user_data", INITRA_UA_HEX_USER_DATA},     {"spid", INITRA_UA_HEX_SPID},
    {"debug_disabled", INITRA_UA_BOOL_DEBUG_DISABLED},
};

static int rule_to_ua(const json_t *rule, const char *where, const char *path, json_t *out, initra_err *err)
{
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)rule, k, v)
    {
        int attr = aecs_ua_attr_index(k);
        for (size_t i = 0; attr < 0 && i < sizeof RULE_KEYS / sizeof RULE_KEYS[0]; i++)
            if (!strcmp(k, RULE_KEYS[i].key)) attr = RULE_KEYS[i].attr;
        if (attr < 0)
            return initra_fail(err, "%s: %s: unknown key \"%.64s\" (AECS keys: mrenclave, mrsigner, prodID, minIsvSvn, "
                                    "user_data, spid, debug_disabled; or a UA attribute name)",
                               where, path, k);
        char buf[32];
        const char *s = scalar(v, buf, sizeof buf);
        if (!s) return initra_fail(err, "%s: %s.%s: must be a scalar", where, path, k);
        const char *name = INITRA_UA_ATTR_NAMES[attr];
        if (json_object_get(out, name))
            return initra_fail(err, "%s: %s: \"%s\" is given twice (as %s and another name)", where, path, name, k);
        json_object_set_new(out, name, json_string(s));
    }
    return 0;
}

static int parse_spec(const json_t *item, const char *where, size_t idx, initra_aecs_spec *sp, initra_err *err)
{
    char path[64], sub[96];
    snprintf(path, sizeof path, "secrets[%zu]", idx);
    static const char *const item_keys[] = {"spec", "data", NULL};
    static const char *const spec_keys[] = {"name", "type", "service", "readonly", "share", "policy", "params", NULL};
    if (!json_is_object(item)) return initra_fail(err, "%s: %s: must be a mapping", where, path);
    if (only_keys(item, item_keys, where, path, err)) return -1;
    const json_t *spec = json_object_get(item, "spec");
    snprintf(sub, sizeof sub, "%s.spec", path);
    if (!json_is_object(spec)) return initra_fail(err, "%s: %s: is missing or not a mapping", where, sub);
    if (only_keys(spec, spec_keys, where, sub, err)) return -1;
    const char *name = get_str(spec, "name", where, sub, err);
    const char *svc = name ? get_str(spec, "service", where, sub, err) : NULL;
    const char *type = svc ? get_str(spec, "type", where, sub, err) : NULL;
    if (!type) return -1;
    if (initra_aecs_check_name(name, "secret name", err) || initra_aecs_check_name(svc, "service name", err))
        return initra_fail_prefix(err, "%s: %s", where, sub);
    int t = aecs_type_from_name(type);
    if (t < 0 || !type_supported(t))
        return initra_fail(err, "%s: %s.type: \"%.40s\" is not supported (SECRET_TYPE_IMPORT_DATA, "
                                "SECRET_TYPE_AES256_KEY or SECRET_TYPE_RSA_KEY_PAIR)",
                           where, sub, type);
    sp->type = t;
    sp->bits = 2048;
    /* policy */
    const json_t *pol = json_object_get(spec, "policy");
    static const char *const pol_keys[] = {"enclaveMatchAnyRules", NULL};
    char ppath[128];
    snprintf(ppath, sizeof ppath, "%s.policy", sub);
    if (!json_is_object(pol)) return initra_fail(err, "%s: %s: is missing or not a mapping", where, ppath);
    if (only_keys(pol, pol_keys, where, ppath, err)) return -1;
    const json_t *rules = json_object_get(pol, "enclaveMatchAnyRules");
    if (!json_is_array(rules))
        return initra_fail(err, "%s: %s.enclaveMatchAnyRules: is missing or not a list", where, ppath);
    json_t *ua = json_array();
    for (size_t i = 0; i < json_array_size(rules); i++) {
        char rpath[160];
        snprintf(rpath, sizeof rpath, "%s.enclaveMatchAnyRules[%zu]", ppath, i);
        const json_t *r = json_array_get(rules, i);
        json_t *o = json_object();
        json_array_append_new(ua, o);
        if (!json_is_object(r) || rule_to_ua(r, where, rpath, o, err)) {
            if (!json_is_object(r)) initra_fail(err, "%s: %s: must be a mapping", where, rpath);
            json_decref(ua);
            return -1;
        }
    }
    char pwhere[600];
    snprintf(pwhere, sizeof pwhere, "%s: %s.enclaveMatchAnyRules", where, ppath);
    int rc = aecs_ua_policy_from_json(ua, pwhere, &sp->policy, err);
    json_decref(ua);
    if (rc) return -1;
    /* params */
    const json_t *params = json_object_get(spec, "params");
    if (params && !json_is_array(params)) return initra_fail(err, "%s: %s.params: must be a list", where, sub);
    for (size_t i = 0; i < json_array_size(params); i++) {
        const json_t *p = json_array_get(params, i);
        static const char *const kv[] = {"key", "value", NULL};
        char kpath[128], buf[32];
        snprintf(kpath, sizeof kpath, "%s.params[%zu]", sub, i);
        if (!json_is_object(p)) return initra_fail(err, "%s: %s: must be a mapping", where, kpath);
        if (only_keys(p, kv, where, kpath, err)) return -1;
        const char *k = get_str(p, "key", where, kpath, err);
        const char *v = k ? scalar(json_object_get(p, "value"), buf, sizeof buf) : NULL;
        if (!k) return -1;
        if (!v) return initra_fail(err, "%s: %s.value: is missing or not a scalar", where, kpath);
        if (t != INITRA_AECS_RSA_KEY_PAIR)
            return initra_fail(err, "%s: %s: %s secrets take no params", where, kpath, initra_aecs_type_name(t));
        if (!strcmp(k, "pkcs_type")) {
            if (strcmp(v, "pkcs8") && strcmp(v, "pkcs1"))
                return initra_fail(err, "%s: %s: pkcs_type \"%.20s\" is not pkcs1 or pkcs8", where, kpath, v);
            sp->pkcs8 = !strcmp(v, "pkcs8");
        } else if (!strcmp(k, "bit_length")) {
            if (strcmp(v, "2048") && strcmp(v, "3072") && strcmp(v, "4096"))
                return initra_fail(err, "%s: %s: bit_length \"%.20s\" is not 2048, 3072 or 4096", where, kpath, v);
            sp->bits = atoi(v);
        } else {
            return initra_fail(err, "%s: %s: unknown param \"%.40s\" (pkcs_type, bit_length)", where, kpath, k);
        }
    }
    /* data */
    const json_t *data = json_object_get(item, "data");
    char buf[32];
    const char *d = data ? scalar(data, buf, sizeof buf) : NULL;
    if (data && !d) return initra_fail(err, "%s: %s.data: must be a scalar", where, path);
    if (d && !*d) d = NULL;
    if (d) {
        initra_err e2;
        if (t == INITRA_AECS_RSA_KEY_PAIR)
            return initra_fail(err, "%s: %s.data: RSA_KEY_PAIR secrets are generated; remove data", where, path);
        if (check_data(t, d, &e2)) return initra_fail(err, "%s: %s.data: %s", where, path, e2.msg);
    } else if (t == INITRA_AECS_IMPORT_DATA) {
        return initra_fail(err, "%s: %s.data: SECRET_TYPE_IMPORT_DATA needs data", where, path);
    }
    sp->name = strdup(name);
    sp->service = strdup(svc);
    sp->data = d ? strdup(d) : NULL;
    if (!sp->name || !sp->service || (d && !sp->data)) return initra_fail(err, "out of memory");
    return 0;
}

int initra_aecs_specs_parse(const char *text, size_t len, const char *where, initra_aecs_specs *out, initra_err *err)
{
    memset(out, 0, sizeof *out);
    size_t i = 0;
    while (i < len && (text[i] == ' ' || text[i] == '\n' || text[i] == '\r' || text[i] == '\t')) i++;
    json_t *j;
    if (i < len && text[i] == '{') {
        if (initra_json_parse(text, len, where, INITRA_JSON_SECRET, NULL, &j, err)) return -1;
    } else if (!(j = aecs_yaml_to_json(text, len, where, err))) {
        return -1;
    }
    static const char *const top[] = {"apiVersion", "kind", "secrets", NULL};
    const json_t *secrets = json_object_get(j, "secrets");
    int rc = -1;
    if (!json_is_object(j)) {
        initra_fail(err, "%s: the spec must be a mapping with kind: SecretPolicy and secrets", where);
    } else if (only_keys(j, top, where, "top level", err)) {
        /* err set */
    } else if (!json_is_string(json_object_get(j, "kind")) ||
               strcmp(json_string_value(json_object_get(j, "kind")), "SecretPolicy")) {
        initra_fail(err, "%s: kind: must be SecretPolicy", where);
    } else if (json_object_get(j, "apiVersion") && (!json_is_string(json_object_get(j, "apiVersion")) ||
                                                    strcmp(json_string_value(json_object_get(j, "apiVersion")), "v1"))) {
        initra_fail(err, "%s: apiVersion: must be v1", where);
    } else if (!json_is_array(secrets) || json_array_size(secrets) == 0) {
        initra_fail(err, "%s: secrets: must be a non-empty list", where);
    } else if (!(out->items = calloc(json_array_size(secrets), sizeof *out->items))) {
        initra_fail(err, "out of memory");
    } else {
        rc = 0;
        for (size_t k = 0; k < json_array_size(secrets) && rc == 0; k++) {
            out->n = k + 1;
            rc = parse_spec(json_array_get(secrets, k), where, k, &out->items[k], err);
            for (size_t m = 0; rc == 0 && m < k; m++)
                if (!strcmp(out->items[m].service, out->items[k].service) && !strcmp(out->items[m].name, out->items[k].name))
                    rc = initra_fail(err, "%s: secrets[%zu]: secret \"%s\" of service \"%s\" is also secrets[%zu]",
                                     where, k, out->items[k].name, out->items[k].service, m);
        }
    }
    json_decref(j);
    if (rc) initra_aecs_specs_free(out);
    return rc;
}

int initra_aecs_store_check_pinned(const initra_aecs_store *st, const char *where, initra_err *err)
{
    for (size_t i = 0; i < st->n_secrets; i++) {
        const initra_aecs_secret *s = &st->secrets[i];
        char w[400];
        snprintf(w, sizeof w, "%s: secrets[%zu] (%.64s/%.64s).policy", where, i, s->service, s->name);
        if (aecs_ua_policy_check_pinned(&s->policy, w, err)) return -1;
    }
    return 0;
}
