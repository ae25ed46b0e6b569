/* The KMS configuration file (docs/kms.md): everything that decides a release comes from one strictly
 * parsed JSON file that is either measured (inside the image) or bound by the enclave's CONFIGID, and
 * every file it names is either inside the image or pinned by its SHA-256. */
#include "initra/kms.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/sha.h>

#include "initra/sgx.h"
#include "kms/internal.h"

static void ref_free(initra_kms_file_ref *r)
{
    free(r->path);
    memset(r, 0, sizeof *r);
}

void initra_kms_conf_free(initra_kms_conf *c)
{
    free(c->protocol);
    free(c->pccs_url);
    free(c->pccs_ca);
    ref_free(&c->secrets);
    ref_free(&c->clients);
    ref_free(&c->policy);
    ref_free(&c->store);
    ref_free(&c->collateral);
    ref_free(&c->recovery_key);
    free(c->store_sqlite);
    free(c->replica_advertise);
    free(c->replica_policy);
    if (c->store_postgres) initra_free_secret(c->store_postgres, strlen(c->store_postgres)); /* may hold a password */
    for (size_t i = 0; i < c->n_trust_roots; i++) ref_free(&c->trust_roots[i]);
    memset(c, 0, sizeof *c);
}

/* "<where>: <key>: <value> <what>", the value shortened. */
static int bad(initra_err *err, const char *where, const char *key, const json_t *v, const char *what)
{
    return initra_json_bad(err, where, key, v, what);
}

static const char *const host_dirs[] = {"/proc", "/dev", "/sys", "/host", NULL};
/* The sealed store may live on host storage (its integrity comes from encryption), never in the
 * kernel's or the launcher's trees. */
static const char *const store_dirs[] = {"/proc", "/dev", "/sys", NULL};

static int under(const char *path, const char *dir)
{
    size_t n = strlen(dir);
    return !strncmp(path, dir, n) && (path[n] == 0 || path[n] == '/');
}

/* Absolute and normalised; the first of dirs it is under, or NULL. -1 with err when not normalised. */
static int path_norm(const char *path, const char *what, initra_err *err)
{
    if (path[0] != '/') return initra_fail(err, "\"%.200s\" is not an absolute path %s", path, what);
    for (const char *p = path; *p; p++) {
        if (*p != '/') continue;
        if (p[1] == '/' || (p[1] == '.' && (p[2] == '/' || p[2] == 0)) ||
            (p[1] == '.' && p[2] == '.' && (p[3] == '/' || p[3] == 0)))
            return initra_fail(err, "\"%.200s\" is not a normalised path (no \"//\", \".\" or \"..\")", path);
    }
    return 0;
}

static const char *under_any(const char *path, const char *const *dirs)
{
    for (int i = 0; dirs[i]; i++)
        if (under(path, dirs[i])) return dirs[i];
    return NULL;
}

int kms_path_in_image(const char *path, initra_err *err)
{
    if (path_norm(path, "inside the image", err)) return -1;
    const char *d = under_any(path, host_dirs);
    if (d)
        return initra_fail(err, "\"%.200s\" is under %s, which the host provides, not the measured image: put the "
                                "file in the image or pin it with {\"path\": ..., \"sha256\": ...} in a "
                                "CONFIGID-bound configuration",
                           path, d);
    return 0;
}

int kms_path_for_store(const char *path, initra_err *err)
{
    if (path_norm(path, "for the store (e.g. /host/kms.db)", err)) return -1;
    const char *d = under_any(path, store_dirs);
    if (d)
        return initra_fail(err, "\"%.200s\" is under %s, which is no place for a database: put the store on storage "
                                "such as /host/kms.db (`initra run --host-dir`)",
                           path, d);
    return 0;
}

int initra_kms_read_regular(const char *path, size_t max, uint8_t **buf, size_t *n, initra_err *err)
{
    /* O_NONBLOCK: opening a FIFO must not wait for a writer; it is refused below anyway. */
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
    if (fd < 0) return initra_fail(err, "%s: cannot open: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return initra_fail(err, "%s: is not a regular file (a FIFO, device or socket can give each reader "
                                "different bytes)", path);
    }
    if ((size_t)st.st_size > max) {
        close(fd);
        return initra_fail(err, "%s: %lld bytes, more than the limit of %zu", path, (long long)st.st_size, max);
    }
    size_t cap = (size_t)st.st_size + 1, len = 0;
    uint8_t *b = malloc(cap);
    if (!b) {
        close(fd);
        return initra_fail(err, "out of memory");
    }
    for (;;) {
        uint8_t extra;
        int full = len == cap - 1; /* the file grew since fstat: read on, up to max */
        ssize_t r = full ? read(fd, &extra, 1) : read(fd, b + len, cap - 1 - len);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0 || (r > 0 && full && len >= max)) {
            int e = errno;
            initra_free_secret(b, len);
            close(fd);
            return r < 0 ? initra_fail(err, "%s: read failed: %s", path, strerror(e))
                         : initra_fail(err, "%s: more than the limit of %zu bytes", path, max);
        }
        if (r == 0) break;
        if (full) {
            size_t ncap = cap * 2 > max + 1 ? max + 1 : cap * 2;
            uint8_t *nb = malloc(ncap);
            if (!nb) {
                initra_free_secret(b, len);
                close(fd);
                return initra_fail(err, "out of memory");
            }
            memcpy(nb, b, len);
            initra_free_secret(b, len);
            b = nb;
            cap = ncap;
            b[len] = extra;
        }
        len += (size_t)r;
    }
    close(fd);
    b[len] = 0;
    *buf = b;
    *n = len;
    return 0;
}

int kms_read_file(const char *path, const uint8_t *sha256, int image_paths, size_t max, uint8_t **buf,
                         size_t *n, initra_err *err)
{
    if (!sha256 && image_paths) {
        if (kms_path_in_image(path, err)) return -1;
        char real[PATH_MAX];
        if (!realpath(path, real)) return initra_fail(err, "%s: cannot open: %s", path, strerror(errno));
        initra_err e;
        if (kms_path_in_image(real, &e))
            return initra_fail(err, "%s: resolves to %s: %s", path, real, e.msg);
    }
    if (initra_kms_read_regular(path, max, buf, n, err)) return -1;
    if (!sha256) return 0;
    uint8_t got[32];
    SHA256(*buf, *n, got);
    if (!memcmp(got, sha256, 32)) return 0;
    char g[65], w[65];
    initra_hex(got, 32, g);
    initra_hex(sha256, 32, w);
    initra_free_secret(*buf, *n);
    *buf = NULL;
    return initra_fail(err, "%s: its SHA-256 is %s, not the %s the configuration pins (the file changed, or is "
                            "not the one the configuration names)", path, g, w);
}

/* A file reference: "PATH" or {"path": PATH, "sha256": 64 hex digits}. */
static int parse_ref(const char *where, const char *key, const json_t *v, initra_kms_file_ref *r, initra_err *err)
{
    const char *path;
    const json_t *pv = v;
    if (json_is_string(v)) {
        path = json_string_value(v);
    } else if (json_is_object(v)) {
        const char *k;
        const json_t *x;
        json_object_foreach((json_t *)v, k, x) {
            if (strcmp(k, "path") && strcmp(k, "sha256")) {
                char kk[80];
                snprintf(kk, sizeof kk, "%s.%.40s", key, k);
                return bad(err, where, kk, x, "is not a known key (path, sha256)");
            }
        }
        const json_t *p = json_object_get(v, "path"), *h = json_object_get(v, "sha256");
        char kk[80];
        snprintf(kk, sizeof kk, "%s.path", key);
        if (!json_is_string(p)) return bad(err, where, kk, p, "is not a string (the file's absolute path)");
        path = json_string_value(p);
        pv = p;
        snprintf(kk, sizeof kk, "%s.sha256", key);
        if (!json_is_string(h) || json_string_length(h) != 64 || initra_unhex(json_string_value(h), r->sha256, 32))
            return bad(err, where, kk, h, "is not 64 hex digits (the file's SHA-256: `sha256sum FILE`)");
        r->pinned = 1;
    } else {
        return bad(err, where, key, v, "is not a path string or {\"path\": ..., \"sha256\": ...}");
    }
    if (!*path || strlen(path) > 1024 || path[0] != '/' || strlen(path) != json_string_length(pv))
        return bad(err, where, key, v, "is not an absolute path (1 to 1024 characters)");
    if (!r->pinned) {
        initra_err e;
        if (kms_path_in_image(path, &e)) return initra_fail(err, "%s: %s: %s", where, key, e.msg);
    }
    if (!(r->path = strdup(path))) return initra_fail(err, "out of memory");
    return 0;
}

static int parse_uint(const char *where, const char *key, const json_t *v, unsigned max, unsigned *out,
                      initra_err *err)
{
    char what[64];
    snprintf(what, sizeof what, "is not an integer from 1 to %u", max);
    uint64_t x;
    if (initra_json_uint(v, 1, max, &x)) return bad(err, where, key, v, what);
    *out = (unsigned)x;
    return 0;
}

int kms_check_recovery_key(const char *path, const uint8_t *pem, size_t len, initra_err *err)
{
    BIO *b = BIO_new_mem_buf(pem, (int)len);
    EVP_PKEY *k = b ? PEM_read_bio_PUBKEY(b, NULL, NULL, NULL) : NULL;
    BIO_free(b);
    if (!k)
        return initra_fail(err, "%s: not a PEM public key (\"-----BEGIN PUBLIC KEY-----\"; make one with `openssl pkey "
                                "-pubout`)", path);
    int ok = EVP_PKEY_is_a(k, "X25519") || (EVP_PKEY_is_a(k, "RSA") && EVP_PKEY_get_bits(k) == 3072);
    int bits = EVP_PKEY_get_bits(k);
    const char *type = EVP_PKEY_get0_type_name(k);
    char t[32];
    snprintf(t, sizeof t, "%s", type ? type : "unknown");
    EVP_PKEY_free(k);
    if (!ok)
        return initra_fail(err, "%s: a %s key of %d bits, not RSA-3072 or X25519 (the recovery key types)", path, t, bits);
    return 0;
}

/* "store": {"sqlite": PATH} or {"postgres": CONNINFO}: the sealed store. The CONNINFO is the host's to
 * choose (the database only ever holds ciphertext); it may hold a password, so it is never logged. */
static int parse_sealed_store(const char *where, const json_t *v, initra_kms_conf *c, initra_err *err)
{
    const char *k;
    const json_t *x;
    const json_t *p = json_object_get(v, "sqlite"), *pg = json_object_get(v, "postgres");
    json_object_foreach((json_t *)v, k, x) {
        if (strcmp(k, "sqlite") && strcmp(k, "postgres")) {
            char kk[80];
            snprintf(kk, sizeof kk, "store.%.40s", k);
            return bad(err, where, kk, x, p ? "is not a known key (sqlite)" : "is not a known key (postgres)");
        }
    }
    if (p && pg) return initra_fail(err, "%s: store: give \"sqlite\" or \"postgres\", not both", where);
    if (pg) {
        const char *ci = json_is_string(pg) ? json_string_value(pg) : "";
        if (!*ci || strlen(ci) > 4096 || strlen(ci) != json_string_length(pg))
            return initra_fail(err, "%s: store.postgres: is not a libpq CONNINFO of 1 to 4096 characters (e.g. \"host=db "
                                    "port=5432 dbname=initra user=kms\")", where);
        if (!(c->store_postgres = strdup(ci))) return initra_fail(err, "out of memory");
        return 0;
    }
    const char *path = json_is_string(p) ? json_string_value(p) : "";
    if (!*path || strlen(path) > 1024 || strlen(path) != json_string_length(p))
        return bad(err, where, "store.sqlite", p, "is not an absolute path of 1 to 1024 characters (e.g. /host/kms.db)");
    initra_err e;
    if (kms_path_for_store(path, &e)) return initra_fail(err, "%s: store.sqlite: %s", where, e.msg);
    if (!(c->store_sqlite = strdup(path))) return initra_fail(err, "out of memory");
    return 0;
}

/* "admins": ["<64 hex: SPKI SHA-256>", ...] as `initra kms admin keygen` prints them. */
static int parse_admins(const char *where, const json_t *v, initra_kms_conf *c, initra_err *err)
{
    if (!json_is_array(v) || json_array_size(v) > INITRA_KMS_MAX_ADMINS)
        return bad(err, where, "admins", v, "is not an array of at most 64 SPKI SHA-256 values (`initra kms admin keygen` prints them)");
    size_t i;
    json_t *x;
    json_array_foreach(v, i, x) {
        char kk[32];
        snprintf(kk, sizeof kk, "admins[%zu]", i);
        if (!json_is_string(x) || json_string_length(x) != 64 || initra_unhex(json_string_value(x), c->admins[i], 32))
            return bad(err, where, kk, x, "is not 64 hex digits (an admin certificate's SPKI SHA-256, as `initra kms admin keygen` prints it)");
        for (size_t j = 0; j < i; j++)
            if (!memcmp(c->admins[j], c->admins[i], 32))
                return bad(err, where, kk, x, "is listed twice (remove one)");
        c->n_admins = i + 1;
    }
    return 0;
}

static int parse_obj(const char *where, json_t *j, initra_kms_conf *c, initra_err *err)
{
    if (!json_is_object(j)) return bad(err, where, "(top level)", j, "is not a JSON object");
    const char *k;
    json_t *v;
    json_object_foreach(j, k, v) {
        initra_kms_file_ref *ref = !strcmp(k, "secrets")      ? &c->secrets
                                   : !strcmp(k, "clients")    ? &c->clients
                                   : !strcmp(k, "policy")     ? &c->policy
                                   : !strcmp(k, "store")      ? &c->store
                                   : !strcmp(k, "collateral") ? &c->collateral
                                   : !strcmp(k, "recovery_key") ? &c->recovery_key
                                                              : NULL;
        if (ref == &c->store && json_is_object(v) && (json_object_get(v, "sqlite") || json_object_get(v, "postgres"))) {
            if (parse_sealed_store(where, v, c, err)) return -1;
        } else if (ref) {
            if (parse_ref(where, k, v, ref, err)) return -1;
        } else if (!strcmp(k, "protocol")) {
            if (!json_is_string(v) || (strcmp(json_string_value(v), "grpc_ratls") && strcmp(json_string_value(v), "aecs")))
                return bad(err, where, k, v, "is not \"grpc_ratls\" or \"aecs\"");
            c->protocol = strdup(json_string_value(v));
        } else if (!strcmp(k, "replica")) {
            /* {"advertise": "HOST:PORT", "policy": POLICY}, each optional: the address other replicas reach this
             * one on, and who may be given the data key instead of the default rule (docs/kms.md). */
            const json_t *a = json_is_object(v) ? json_object_get(v, "advertise") : NULL;
            const json_t *pol = json_is_object(v) ? json_object_get(v, "policy") : NULL;
            const char *ad = json_is_string(a) ? json_string_value(a) : "";
            if (!json_is_object(v) || json_object_size(v) != (size_t)(!!a + !!pol) ||
                (a && (!*ad || strlen(ad) > 255 || !strchr(ad, ':'))))
                return bad(err, where, k, v, "is not {\"advertise\": \"HOST:PORT\"} (the address other replicas reach "
                                             "this one on) and/or {\"policy\": POLICY} (who may be given the data key)");
            if (pol && !json_is_array(pol) && !json_is_object(pol))
                return bad(err, where, "replica.policy", pol, "is not a policy (an initra list or an Occlum ra_config)");
            c->has_replica = 1;
            if (a && !(c->replica_advertise = strdup(ad))) return initra_fail(err, "out of memory");
            if (pol && !(c->replica_policy = json_dumps(pol, JSON_COMPACT))) return initra_fail(err, "out of memory");
        } else if (!strcmp(k, "pccs_url")) {
            const char *u = json_is_string(v) ? json_string_value(v) : "";
            if (strncmp(u, "https://", 8) && strncmp(u, "http://", 7))
                return bad(err, where, k, v, "is not an http:// or https:// URL");
            c->pccs_url = strdup(u);
        } else if (!strcmp(k, "pccs_ca")) {
            /* TLS to a PCCS protects availability only (collateral is signed by Intel): a plain path. */
            if (!json_is_string(v) || json_string_value(v)[0] != '/')
                return bad(err, where, k, v, "is not an absolute path (a PEM CA file for TLS to the PCCS)");
            c->pccs_ca = strdup(json_string_value(v));
        } else if (!strcmp(k, "trust_roots")) {
            if (!json_is_array(v) || json_array_size(v) > INITRA_KMS_MAX_ROOTS)
                return bad(err, where, k, v, "is not an array of at most 8 files (DER or PEM root certificates)");
            size_t i;
            json_t *x;
            json_array_foreach(v, i, x) {
                char kk[32];
                snprintf(kk, sizeof kk, "trust_roots[%zu]", i);
                if (parse_ref(where, kk, x, &c->trust_roots[i], err)) return -1;
                c->n_trust_roots = i + 1;
            }
        } else if (!strcmp(k, "admins")) {
            if (parse_admins(where, v, c, err)) return -1;
        } else if (!strcmp(k, "accept_any_enclave")) {
            if (!json_is_boolean(v)) return bad(err, where, k, v, "is not true or false");
            c->accept_any_enclave = json_is_true(v);
        } else if (!strcmp(k, "ratls_format")) {
            if (!(c->ratls_format = initra_ratls_format_parse(json_is_string(v) ? json_string_value(v) : "")))
                return bad(err, where, k, v, "is not \"occlum\", \"tcg\" or \"occlum+tcg\"");
        } else if (!strcmp(k, "max_connections")) {
            if (parse_uint(where, k, v, 65535, &c->max_connections, err)) return -1;
        } else if (!strcmp(k, "max_concurrent_streams")) {
            if (parse_uint(where, k, v, 1024, &c->max_concurrent_streams, err)) return -1;
        } else {
            return bad(err, where, k, v,
                       "is not a known key (protocol, secrets, clients, policy, store, replica, admins, recovery_key, collateral, "
                       "pccs_url, pccs_ca, trust_roots, accept_any_enclave, ratls_format, max_connections, "
                       "max_concurrent_streams)");
        }
    }
    if (!c->protocol && !(c->protocol = strdup("grpc_ratls"))) return initra_fail(err, "out of memory");
    if (!c->max_connections) c->max_connections = INITRA_KMS_DEFAULT_MAX_CONNECTIONS;
    if (!c->max_concurrent_streams) c->max_concurrent_streams = INITRA_KMS_DEFAULT_MAX_STREAMS;
    if (c->collateral.path && c->pccs_url)
        return initra_fail(err, "%s: give \"collateral\" or \"pccs_url\", not both", where);
    int sealed = c->store_sqlite || c->store_postgres;
    if (!strcmp(c->protocol, "aecs")) {
        if (c->secrets.path || c->clients.path || c->policy.path)
            return initra_fail(err, "%s: \"secrets\", \"clients\" and \"policy\" are for protocol grpc_ratls; the AECS "
                                    "server takes \"store\"", where);
        if (!c->store.path && !sealed)
            return initra_fail(err, "%s: protocol \"aecs\" needs \"store\" (a file made by `initra kms aecs-admin`, or "
                                    "{\"sqlite\": PATH} or {\"postgres\": CONNINFO})", where);
    } else {
        if (c->store.path)
            return initra_fail(err, "%s: \"store\" is for protocol \"aecs\" when it names a file; grpc_ratls takes {\"sqlite\": PATH} "
                                    "or {\"postgres\": CONNINFO} (the sealed store)", where);
        /* With the sealed store the namespaces' policies live in the store (none: no one reads). */
        if (!c->clients.path && !c->policy.path && !sealed)
            return initra_fail(err, "%s: give \"clients\" (Occlum's dynamic_config.json) or \"policy\": without a "
                                    "policy any attested enclave would get every secret", where);
    }
    if (c->has_replica && !c->store_postgres)
        return initra_fail(err, "%s: \"replica\" is for KMS replicas on PostgreSQL: add \"store\": {\"postgres\": "
                                "CONNINFO}", where);
    if (!sealed && (c->n_admins || c->recovery_key.path))
        return initra_fail(err, "%s: \"%s\" is for the sealed store: add \"store\": {\"sqlite\": PATH} or {\"postgres\": "
                                "CONNINFO}", where,
                           c->n_admins ? "admins" : "recovery_key");
    return 0;
}

int initra_kms_conf_parse(const char *text, size_t len, const char *where, initra_kms_conf *c, initra_err *err)
{
    memset(c, 0, sizeof *c);
    json_t *j;
    if (initra_json_parse(text, len, where, 0, NULL, &j, err)) return -1;
    int rc = parse_obj(where, j, c, err);
    json_decref(j);
    if (rc) initra_kms_conf_free(c);
    return rc;
}

/* The binding marker is measured: "config_id" means the configuration is attached and CONFIGID-bound. */
static int config_id_bound(void)
{
    uint8_t *t;
    size_t n;
    initra_err e;
    if (initra_read_file(INITRA_BINDING_FILE, 64, &t, &n, &e)) return 0;
    int bound = n >= 9 && !memcmp(t, "config_id", 9);
    free(t);
    return bound;
}

int initra_kms_conf_load_enclave(initra_attester *a, initra_kms_conf *c, char *where, size_t where_size,
                                 initra_err *err)
{
    int bound = config_id_bound();
    const char *path = bound ? INITRA_KMS_ATTACHED_CONF : INITRA_KMS_CONF_PATH;
    snprintf(where, where_size, "%s", path);
    uint8_t *text;
    size_t n;
    if (initra_kms_read_regular(path, INITRA_MAX_CONFIG, &text, &n, err))
        return initra_fail_prefix(err, "kms: inside an enclave the configuration is %s (%s; docs/kms.md)", path,
                                  bound ? "attached by `initra run --config`, bound by CONFIGID"
                                        : "in the measured image");
    int rc = -1;
    if (bound) {
        uint8_t rd[64] = {0}, *q = NULL, got[64];
        size_t qlen;
        initra_quote pq;
        unsigned hl = 64;
        if (initra_attest_quote(a, rd, &q, &qlen, err) || initra_quote_parse(q, qlen, &pq, err)) {
            initra_fail_prefix(err, "kms: %s: cannot read this enclave's CONFIGID", path);
            free(q);
            goto done;
        }
        free(q);
        if (!EVP_Digest(text, n, got, &hl, EVP_sha512(), NULL)) {
            initra_fail(err, "SHA-512 unavailable");
            goto done;
        }
        if (memcmp(got, pq.enclave.config_id, 64)) {
            char *g = initra_b64_encode(got, 64), *w = initra_b64_encode(pq.enclave.config_id, 64);
            initra_fail(err, "kms: %s: its SHA-512 (base64 %.88s) is not this enclave's CONFIGID (%.88s): the attached "
                             "configuration is not the one bound at launch; launch with --config-id $(initra config-id "
                             "FILE)", path, g ? g : "?", w ? w : "?");
            free(g);
            free(w);
            goto done;
        }
    }
    rc = initra_kms_conf_parse((const char *)text, n, path, c, err);
    if (rc) initra_fail_prefix(err, "kms");
done:
    free(text);
    return rc;
}

void initra_kms_held_free(initra_kms_held *h)
{
    for (size_t i = 0; i < INITRA_KMS_MAX_ROOTS; i++) free(h->root_data[i]);
    free(h->collateral);
    free(h->recovery_pub);
    memset(h, 0, sizeof *h);
}

int initra_kms_conf_apply(const initra_kms_conf *c, int image_paths, initra_kms_held *h, initra_kms_opts *o,
                          initra_kms_aecs_opts *ao, initra_err *err)
{
    memset(h, 0, sizeof *h);
    for (size_t i = 0; i < c->n_trust_roots; i++) {
        const initra_kms_file_ref *r = &c->trust_roots[i];
        if (kms_read_file(r->path, r->pinned ? r->sha256 : NULL, image_paths, INITRA_MAX_CONFIG, &h->root_data[i],
                                 &h->root_lens[i], err)) {
            initra_kms_held_free(h);
            return initra_fail_prefix(err, "kms: trust_roots[%zu]", i);
        }
    }
    if (c->collateral.path &&
        kms_read_file(c->collateral.path, c->collateral.pinned ? c->collateral.sha256 : NULL, image_paths,
                             INITRA_MAX_COLLATERAL, &h->collateral, &h->collateral_len, err)) {
        initra_kms_held_free(h);
        return initra_fail_prefix(err, "kms: collateral");
    }
    if (c->recovery_key.path &&
        (kms_read_file(c->recovery_key.path, c->recovery_key.pinned ? c->recovery_key.sha256 : NULL, image_paths,
                       INITRA_MAX_CONFIG, &h->recovery_pub, &h->recovery_pub_len, err) ||
         kms_check_recovery_key(c->recovery_key.path, h->recovery_pub, h->recovery_pub_len, err))) {
        initra_kms_held_free(h);
        return initra_fail_prefix(err, "kms: recovery_key");
    }
#define PIN(r) ((r).path && (r).pinned ? (r).sha256 : NULL)
    o->store_sqlite = ao->store_sqlite = c->store_sqlite;
    o->store_postgres = ao->store_postgres = c->store_postgres;
    o->replica_advertise = c->replica_advertise;
    o->replica_policy = c->replica_policy;
    o->admins = (const uint8_t(*)[32])c->admins;
    o->n_admins = c->n_admins;
    o->recovery_pub = ao->recovery_pub = h->recovery_pub;
    o->recovery_pub_len = ao->recovery_pub_len = h->recovery_pub_len;
    o->secrets_path = c->secrets.path;
    o->secrets_sha256 = PIN(c->secrets);
    o->clients_path = c->clients.path;
    o->clients_sha256 = PIN(c->clients);
    o->policy_path = c->policy.path;
    o->policy_sha256 = PIN(c->policy);
    o->image_paths = image_paths;
    o->accept_any_enclave = c->accept_any_enclave;
    o->ratls_format = c->ratls_format;
    o->max_connections = c->max_connections;
    o->max_concurrent_streams = c->max_concurrent_streams;
    o->verifier.trust_roots = NULL;
    o->verifier.n_trust_roots = 0;
    o->verifier.trust_root_data = (const uint8_t *const *)h->root_data;
    o->verifier.trust_root_lens = h->root_lens;
    o->verifier.n_trust_root_data = c->n_trust_roots;
    o->verifier.collateral = NULL;
    o->verifier.collateral_data = h->collateral;
    o->verifier.collateral_len = h->collateral_len;
    o->verifier.pccs_url = c->pccs_url;
    o->verifier.pccs_ca = c->pccs_ca;
    ao->store_path = c->store.path;
    ao->store_sha256 = PIN(c->store);
    ao->image_paths = image_paths;
    ao->collateral = NULL;
    ao->collateral_data = h->collateral;
    ao->collateral_len = h->collateral_len;
    ao->pccs_url = c->pccs_url;
    ao->trust_roots = NULL;
    ao->n_trust_roots = 0;
    ao->trust_root_data = (const uint8_t *const *)h->root_data;
    ao->trust_root_lens = h->root_lens;
    ao->n_trust_root_data = c->n_trust_roots;
    ao->accept_any_enclave = c->accept_any_enclave;
    ao->max_connections = c->max_connections;
    ao->max_concurrent_streams = c->max_concurrent_streams;
#undef PIN
    return 0;
}
