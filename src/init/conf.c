/* init_ra_conf.json (GRPC-RATLS schema) and all-or-nothing secret files. */
#include "init/internal.h"
#include "initra/init.h"
#include "initra/ratls.h"
#include "initra/sgx.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int init_parse_host_port(const char *s, char *host, size_t host_size, uint16_t *port, initra_err *err)
{
    const char *colon;
    size_t hlen;
    if (s[0] == '[') {
        const char *close = strchr(s, ']');
        if (!close || close[1] != ':') goto bad;
        colon = close + 1;
        s++;
        hlen = (size_t)(close - s);
    } else {
        colon = strrchr(s, ':');
        if (!colon || memchr(s, ':', (size_t)(colon - s))) goto bad;
        hlen = (size_t)(colon - s);
    }
    if (hlen == 0 || hlen >= host_size) goto bad;
    for (size_t i = 0; i < hlen; i++)
        if (!(s[i] == '.' || s[i] == '-' || s[i] == '_' || s[i] == ':' || (s[i] >= '0' && s[i] <= '9') ||
              (s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z')))
            goto bad;
    uint64_t p;
    if (initra_parse_uint(colon + 1, 65535, &p) || p == 0) goto bad;
    memcpy(host, s, hlen);
    host[hlen] = 0;
    *port = (uint16_t)p;
    return 0;
bad:
    return initra_fail(err, "\"%.100s\" is not HOST:PORT (e.g. localhost:50051 or [::1]:50051)", s);
}

int init_parse_servers(const char *list, initra_init_conf *c, initra_err *err)
{
    size_t n = 0;
    char *servers[INITRA_INIT_MAX_SERVERS];
    const char *p = list;
    int rc = 0;
    for (;;) {
        size_t len = strcspn(p, ",");
        const char *b = p, *e = p + len; /* the entry, trimmed */
        while (b < e && (*b == ' ' || *b == '\t')) b++;
        while (e > b && (e[-1] == ' ' || e[-1] == '\t')) e--;
        if (n == INITRA_INIT_MAX_SERVERS) {
            rc = initra_fail(err, "\"%.100s\" lists more than %d servers", list, INITRA_INIT_MAX_SERVERS);
            break;
        }
        if (e == b) {
            rc = initra_fail(err, "\"%.100s\": entry %zu is empty; list HOST:PORT entries separated by commas", list,
                             n + 1);
            break;
        }
        if (!(servers[n] = strndup(b, (size_t)(e - b)))) {
            rc = initra_fail(err, "out of memory");
            break;
        }
        n++;
        char host[256];
        uint16_t port;
        if (init_parse_host_port(servers[n - 1], n == 1 ? c->host : host, sizeof host, n == 1 ? &c->port : &port,
                                 err)) {
            if (strchr(list, ',')) initra_fail_prefix(err, "entry %zu", n);
            rc = -1;
            break;
        }
        for (size_t m = 0; m + 1 < n && !rc; m++)
            if (!strcmp(servers[m], servers[n - 1]))
                rc = initra_fail(err, "entry %zu \"%.100s\" repeats entry %zu", n, servers[n - 1], m + 1);
        if (rc || !p[len]) break;
        p += len + 1;
    }
    if (rc) {
        for (size_t i = 0; i < n; i++) free(servers[i]);
        return -1;
    }
    memcpy(c->servers, servers, n * sizeof *servers);
    c->n_servers = n;
    if (!(c->kms_server = strdup(list))) return initra_fail(err, "out of memory");
    return 0;
}

static int key_error(initra_err *err, const char *file, const char *path, const json_t *v, const char *what)
{
    return initra_json_bad(err, file, path, v, what);
}

static int get_uint_opt(const char *file, const json_t *o, const char *key, unsigned min, unsigned max,
                        unsigned *out, initra_err *err)
{
    const json_t *v = json_object_get(o, key);
    if (!v) return 0;
    char path[64], what[96];
    snprintf(path, sizeof path, "initra.%s", key);
    snprintf(what, sizeof what, "is not an integer from %u to %u", min, max);
    uint64_t x;
    if (initra_json_uint(v, min, max, &x)) return key_error(err, file, path, v, what);
    *out = (unsigned)x;
    return 0;
}

static int get_str_opt(const char *file, const json_t *o, const char *key, char **out, initra_err *err)
{
    const json_t *v = json_object_get(o, key);
    if (!v) return 0;
    char path[64];
    snprintf(path, sizeof path, "initra.%s", key);
    if (!json_is_string(v) || !*json_string_value(v)) return key_error(err, file, path, v, "is not a non-empty string");
    *out = strdup(json_string_value(v));
    return 0;
}

static int load_initra_section(const char *file, const json_t *o, initra_init_conf *c, initra_err *err)
{
    static const char *const known[] = {"deadline_ms", "initial_backoff_ms", "max_backoff_ms", "call_timeout_ms",
                                        "collateral", "pccs_url", "pccs_ca", "trust_roots", "ratls_format",
                                        "accept_any_enclave", NULL};
    if (!json_is_object(o)) return key_error(err, file, "initra", o, "is not an object");
    const char *k = initra_json_unknown_key(o, known);
    if (k) {
        char path[160], list[200], what[240];
        snprintf(path, sizeof path, "initra.%s", k);
        snprintf(what, sizeof what, "is not a known key (%s)", initra_json_key_list(known, list, sizeof list));
        return key_error(err, file, path, json_object_get(o, k), what);
    }
    const json_t *any = json_object_get(o, "accept_any_enclave");
    if (any && !json_is_boolean(any))
        return key_error(err, file, "initra.accept_any_enclave", any, "is not true or false");
    c->accept_any_enclave = json_is_true(any);
    if (get_uint_opt(file, o, "deadline_ms", 100, 3600000, &c->deadline_ms, err) ||
        get_uint_opt(file, o, "initial_backoff_ms", 1, 60000, &c->initial_backoff_ms, err) ||
        get_uint_opt(file, o, "max_backoff_ms", 1, 600000, &c->max_backoff_ms, err) ||
        get_uint_opt(file, o, "call_timeout_ms", 10, 600000, &c->call_timeout_ms, err) ||
        get_str_opt(file, o, "collateral", &c->collateral, err) || get_str_opt(file, o, "pccs_url", &c->pccs_url, err) ||
        get_str_opt(file, o, "pccs_ca", &c->pccs_ca, err))
        return -1;
    if (c->pccs_ca && !c->pccs_url)
        return key_error(err, file, "initra.pccs_ca", json_object_get(o, "pccs_ca"),
                         "is set without initra.pccs_url (it names the CA of that PCCS's TLS certificate)");
    const json_t *fmt = json_object_get(o, "ratls_format");
    if (fmt && !(c->ratls_format = initra_ratls_format_parse(json_string_value(fmt))))
        return key_error(err, file, "initra.ratls_format", fmt, "is not \"occlum\", \"tcg\" or \"occlum+tcg\"");
    const json_t *roots = json_object_get(o, "trust_roots");
    if (roots) {
        if (!json_is_array(roots) || json_array_size(roots) > 8)
            return key_error(err, file, "initra.trust_roots", roots, "is not a list of DER certificate files");
        c->trust_roots = calloc(json_array_size(roots) + 1, sizeof *c->trust_roots);
        size_t i;
        const json_t *r;
        json_array_foreach(roots, i, r) {
            if (!json_is_string(r) || json_string_value(r)[0] != '/') {
                char path[64];
                snprintf(path, sizeof path, "initra.trust_roots[%zu]", i);
                return key_error(err, file, path, r, "is not an absolute path");
            }
            c->trust_roots[c->n_trust_roots++] = strdup(json_string_value(r));
        }
    }
    return 0;
}

/* The AECS schema: ua_env_pccs_url, a "service" in some kms_keys entry, or ua_* keys in ra_config. */
static int is_aecs(const json_t *j)
{
    if (json_object_get(j, "ua_env_pccs_url")) return 1;
    size_t i;
    const json_t *k;
    json_array_foreach(json_object_get(j, "kms_keys"), i, k) if (json_object_get(k, "service")) return 1;
    const char *key;
    const json_t *v;
    json_object_foreach((json_t *)json_object_get(j, "ra_config"), key, v) if (!strncmp(key, "ua_", 3)) return 1;
    return 0;
}

/* ra_config of the AECS schema: the known ua_* keys, string values; ua_policy_* as one UA entry. */
static int load_aecs_ra_config(const char *file, const json_t *j, initra_init_conf *c, initra_err *err)
{
    static const char *const unused[] = {"ua_ias_url", "ua_ias_spid", "ua_ias_apk_key", "ua_dcap_lib_path",
                                         "ua_uas_url", "ua_uas_app_key", "ua_uas_app_secret", NULL};
    const json_t *ra = json_object_get(j, "ra_config"), *env_pccs = json_object_get(j, "ua_env_pccs_url");
    if (env_pccs && !json_is_string(env_pccs))
        return key_error(err, file, "ua_env_pccs_url", env_pccs, "is not a string (a PCCS URL, or \"\")");
    /* Occlum's UA_ENV_PCCS_URL override is not read: init runs inside an enclave, where the host sets the
     * environment; the PCCS comes from this (measured or CONFIGID-bound) file only. */
    const char *pccs = env_pccs ? json_string_value(env_pccs) : "";
    if (*pccs && !(c->ua_pccs_url = strdup(pccs))) return initra_fail(err, "out of memory");
    if (!json_is_object(ra)) return key_error(err, file, "ra_config", ra, "is not an object of ua_* fields");
    const char *k;
    const json_t *v;
    json_object_foreach((json_t *)ra, k, v) {
        char path[160];
        snprintf(path, sizeof path, "ra_config.%s", k);
        int is_unused = 0;
        for (const char *const *u = unused; *u; u++) is_unused |= !strcmp(*u, k);
        if (!is_unused && strcmp(k, "ua_dcap_pccs_url") && strncmp(k, "ua_policy_", 10))
            return key_error(err, file, path, v, "is not a known field (ua_ias_*, ua_dcap_lib_path, ua_dcap_pccs_url, "
                                                 "ua_uas_*, ua_policy_*)");
        if (!json_is_string(v)) return key_error(err, file, path, v, "is not a string");
        const char *val = json_string_value(v);
        if (is_unused && *val) {
            size_t n = strlen(c->unused);
            snprintf(c->unused + n, sizeof c->unused - n, "%s%s", n ? ", " : "", k);
        }
        if (!strcmp(k, "ua_dcap_pccs_url") && *val && !(c->ua_dcap_pccs_url = strdup(val)))
            return initra_fail(err, "out of memory");
    }
    char where[PATH_MAX + 16];
    snprintf(where, sizeof where, "%s", file);
    int all_empty;
    if (initra_ua_policy_from_ra_config(ra, where, &c->ua_policy, &all_empty, err)) return -1;
    c->ua_policy_set = !all_empty;
    c->ua_policy_unpinned = !initra_ua_entry_pinned(&c->ua_policy.entries[0]);
    if (c->ua_policy_unpinned && !c->accept_any_enclave)
        return initra_fail(err, "%s: ra_config: pins nothing: neither ua_policy_hex_ta_measurement nor "
                                "ua_policy_hex_signer is set, so any genuine enclave at kms_server could serve the "
                                "keys; set ua_policy_hex_ta_measurement to the AECS server's MRENCLAVE (`initra print "
                                "mrenclave DIR`) or ua_policy_hex_signer to its MRSIGNER (`initra print mrsigner "
                                "DIR`); only \"initra\": {\"accept_any_enclave\": true} opts out",
                           file);
    return 0;
}

/* kms_keys[i].service and .encode of the AECS schema; the key and service names as AECS allows them. */
static int load_aecs_key(const char *file, size_t i, const json_t *k, initra_init_key *key, initra_err *err)
{
    char path[64];
    const json_t *svc = json_object_get(k, "service"), *enc = json_object_get(k, "encode");
    initra_err why;
    snprintf(path, sizeof path, "kms_keys[%zu].key", i);
    if (initra_aecs_check_name(key->key, "secret name", &why)) return initra_fail(err, "%s: %s: %s", file, path, why.msg);
    snprintf(path, sizeof path, "kms_keys[%zu].service", i);
    if (!json_is_string(svc)) return key_error(err, file, path, svc, "is not a string naming the AECS service");
    if (initra_aecs_check_name(json_string_value(svc), "service name", &why))
        return initra_fail(err, "%s: %s: %s", file, path, why.msg);
    snprintf(path, sizeof path, "kms_keys[%zu].encode", i);
    if (enc && !(json_is_string(enc) && (!strcmp(json_string_value(enc), "base64") || !*json_string_value(enc))))
        return key_error(err, file, path, enc, "is not \"base64\" (or \"\" for none)");
    key->base64 = enc && !strcmp(json_string_value(enc), "base64");
    if (!(key->service = strdup(json_string_value(svc)))) return initra_fail(err, "out of memory");
    return 0;
}

int initra_init_conf_load(const char *file, initra_init_conf *c, initra_err *err)
{
    uint8_t *text;
    size_t n;
    memset(c, 0, sizeof *c);
    /* One read of a regular file: the bytes parsed are the bytes hashed for the config_id binding. */
    if (initra_read_regular_file(file, INITRA_MAX_CONFIG, &text, &n, err)) return -1;
    int rc = init_conf_parse((const char *)text, n, file, c, err);
    free(text);
    return rc;
}

int init_conf_parse(const char *text, size_t len, const char *file, initra_init_conf *c, initra_err *err)
{
    memset(c, 0, sizeof *c);
    c->deadline_ms = 30000;
    c->initial_backoff_ms = 100;
    c->max_backoff_ms = 2000;
    c->call_timeout_ms = 5000;
    if (initra_config_id_of_bytes((const uint8_t *)text, len, c->sha512, err)) return -1;
    json_t *j;
    if (initra_json_parse(text, len, file, 0, NULL, &j, err)) return -1;
    int rc = -1;
    if (!json_is_object(j)) {
        key_error(err, file, "(top level)", NULL, "is not a JSON object");
        goto done;
    }
    const json_t *server = json_object_get(j, "kms_server"), *keys = json_object_get(j, "kms_keys"),
                 *ra = json_object_get(j, "ra_config");
    c->flavour = is_aecs(j) ? INITRA_INIT_AECS : INITRA_INIT_GRPC_RATLS;
    const char *env = getenv(INITRA_KMS_SERVER_ENV);
    if (env && *env && init_parse_servers(env, c, err)) {
        initra_fail_prefix(err, "environment %s", INITRA_KMS_SERVER_ENV);
        goto done;
    }
    if (!json_is_string(server)) {
        key_error(err, file, "kms_server", server, "is not a string such as \"localhost:50051\"");
        goto done;
    }
    if (!c->kms_server && init_parse_servers(json_string_value(server), c, err)) {
        initra_fail_prefix(err, "%s: kms_server", file);
        goto done;
    }
    if (!json_is_array(keys) || json_array_size(keys) == 0) {
        key_error(err, file, "kms_keys", keys, "is not a non-empty list of {\"key\": NAME, \"path\": FILE}");
        goto done;
    }
    c->keys = calloc(json_array_size(keys), sizeof *c->keys);
    size_t i;
    const json_t *k;
    json_array_foreach(keys, i, k) {
        char path[64];
        const json_t *name = json_object_get(k, "key"), *dest = json_object_get(k, "path");
        snprintf(path, sizeof path, "kms_keys[%zu].key", i);
        if (!json_is_string(name) || !*json_string_value(name)) {
            key_error(err, file, path, name, "is not a non-empty string naming a secret at the KMS");
            goto done;
        }
        if (initra_check_secret_name(json_string_value(name), file, path, err)) goto done;
        snprintf(path, sizeof path, "kms_keys[%zu].path", i);
        const char *p = json_string_value(dest);
        size_t pl = p ? strlen(p) : 0;
        if (!p || p[0] != '/' || p[pl - 1] == '/' || pl >= PATH_MAX) {
            key_error(err, file, path, dest, "is not an absolute file path such as \"/etc/demo_key\"");
            goto done;
        }
        struct stat st;
        if (stat(p, &st) == 0 && S_ISDIR(st.st_mode)) {
            key_error(err, file, path, dest, "is a directory; name the file to write the key to");
            goto done;
        }
        for (size_t m = 0; m < i; m++)
            if (!strcmp(c->keys[m].path, p)) {
                key_error(err, file, path, dest, "is also the path of an earlier key");
                goto done;
            }
        c->keys[i].key = strdup(json_string_value(name));
        c->keys[i].path = strdup(p);
        c->n_keys++;
        if (c->flavour == INITRA_INIT_AECS && load_aecs_key(file, i, k, &c->keys[i], err)) goto done;
    }
    if (!ra) {
        key_error(err, file, "ra_config", NULL, "is required: the policy the KMS server's enclave must satisfy");
        goto done;
    }
    /* The initra section first: its accept_any_enclave decides whether ra_config may pin nothing. */
    const json_t *ext = json_object_get(j, "initra");
    if (ext && load_initra_section(file, ext, c, err)) goto done;
    if (c->flavour == INITRA_INIT_AECS) {
        if (load_aecs_ra_config(file, j, c, err)) goto done;
    } else {
        char where[PATH_MAX + 16];
        snprintf(where, sizeof where, "%s: ra_config", file);
        initra_policy_opts po = {.accept_any_enclave = c->accept_any_enclave, .peer = "the KMS"};
        if (!(c->server_policy = initra_policy_from_json_opts(ra, where, &po, err))) goto done;
    }
    if (c->initial_backoff_ms > c->max_backoff_ms) c->max_backoff_ms = c->initial_backoff_ms;
    rc = 0;
done:
    json_decref(j);
    if (rc) initra_init_conf_free(c);
    return rc;
}

const char *initra_init_conf_warning(const initra_init_conf *c)
{
    if (c->flavour == INITRA_INIT_AECS)
        return c->ua_policy_unpinned ? "warning: the AECS server's identity is not pinned (accept_any_enclave is set): "
                                       "neither ra_config ua_policy_hex_ta_measurement nor ua_policy_hex_signer is set, "
                                       "so any genuine enclave at kms_server is trusted; set "
                                       "ua_policy_hex_ta_measurement (its MRENCLAVE) or ua_policy_hex_signer"
                                     : NULL;
    return initra_policy_warning(c->server_policy);
}

void initra_init_conf_free(initra_init_conf *c)
{
    free(c->kms_server);
    for (size_t i = 0; i < c->n_servers; i++) free(c->servers[i]);
    for (size_t i = 0; i < c->n_keys; i++) {
        free(c->keys[i].key);
        free(c->keys[i].path);
        free(c->keys[i].service);
    }
    free(c->keys);
    initra_policy_free(c->server_policy);
    initra_ua_policy_free(&c->ua_policy);
    free(c->ua_pccs_url);
    free(c->ua_dcap_pccs_url);
    free(c->collateral);
    free(c->pccs_url);
    free(c->pccs_ca);
    for (size_t i = 0; i < c->n_trust_roots; i++) free(c->trust_roots[i]);
    free(c->trust_roots);
    memset(c, 0, sizeof *c);
}

/* ---- all-or-nothing secret files ---- */

static int parent_dir(const char *path, char *dir, size_t n)
{
    const char *slash = strrchr(path, '/');
    size_t len = slash ? (size_t)(slash - path) : 0;
    if (!slash || len + 1 > n) return -1;
    if (len == 0) len = 1; /* "/file" */
    memcpy(dir, path, len);
    dir[len] = 0;
    return 0;
}

/* Opens directory `dir` (absolute) one component at a time from "/", creating missing ones 0700 and
 * syncing their parents, never following a symbolic link (O_NOFOLLOW on every component): a link the
 * host planted in the path cannot redirect a key. The descriptor, or -1 with err. */
static int open_dir_chain(const char *dir, initra_err *err)
{
    int fd = open("/", O_DIRECTORY | O_RDONLY | O_CLOEXEC);
    if (fd < 0) return initra_fail(err, "/: cannot open: %s", strerror(errno));
    char walked[PATH_MAX] = "";
    const char *p = dir;
    while (*p) {
        while (*p == '/') p++;
        size_t n = strcspn(p, "/");
        if (!n) break;
        char comp[NAME_MAX + 1];
        if (n > NAME_MAX || strlen(walked) + n + 2 > sizeof walked) {
            close(fd);
            return initra_fail(err, "%s: path component too long", dir);
        }
        memcpy(comp, p, n);
        comp[n] = 0;
        strcat(walked, "/");
        strcat(walked, comp);
        p += n;
        if (mkdirat(fd, comp, 0700) == 0) {
            if (fsync(fd) != 0) {
                int e = errno;
                close(fd);
                return initra_fail(err, "%s: cannot sync the directory holding it: %s", walked, strerror(e));
            }
        } else if (errno != EEXIST) {
            int e = errno;
            close(fd);
            return initra_fail(err, "%s: cannot create directory: %s", walked, strerror(e));
        }
        int next = openat(fd, comp, O_DIRECTORY | O_NOFOLLOW | O_RDONLY | O_CLOEXEC);
        int e = errno;
        close(fd);
        if (next < 0)
            return initra_fail(err, "%s: %s; keys are written only through real directories, never symbolic links",
                               walked, e == ELOOP || e == ENOTDIR ? "is a symbolic link or not a directory" : strerror(e));
        fd = next;
    }
    return fd;
}

typedef struct {
    int dir;                      /* the parent directory, opened by open_dir_chain */
    const char *base;             /* the file's name in it */
    char tmp[NAME_MAX + 1];       /* the new bytes, until renamed into place */
    char bak[NAME_MAX + 1];       /* the previous file, while the set is being replaced ("" = none) */
    int has_tmp, placed;
} pending;

static int write_tmp(pending *f, const initra_secret_file *sf, size_t i, initra_err *err)
{
    int fd = -1;
    for (int attempt = 0; attempt < 100 && fd < 0; attempt++) {
        snprintf(f->tmp, sizeof f->tmp, ".%.200s.initra-tmp.%ld.%zu.%d", f->base, (long)getpid(), i, attempt);
        fd = openat(f->dir, f->tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (fd < 0 && errno != EEXIST) break;
    }
    if (fd < 0) return initra_fail(err, "%s: cannot create a temporary file beside it: %s", sf->path, strerror(errno));
    f->has_tmp = 1;
    const uint8_t *p = sf->data;
    size_t left = sf->len;
    int rc = 0;
    while (left > 0 && rc == 0) {
        ssize_t w = write(fd, p, left);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) rc = initra_fail(err, "%s: write failed: %s", sf->path, strerror(errno));
        else p += w, left -= (size_t)w;
    }
    if (rc == 0 && (fchmod(fd, 0600) != 0 || fsync(fd) != 0))
        rc = initra_fail(err, "%s: cannot set mode 0600 or sync: %s", sf->path, strerror(errno));
    close(fd);
    return rc;
}

/* Puts back what was there before: files already renamed into place are removed (or their previous
 * version restored). */
static void roll_back(pending *fs, size_t n)
{
    for (size_t i = n; i-- > 0;) {
        pending *f = &fs[i];
        if (f->placed && !f->bak[0]) unlinkat(f->dir, f->base, 0);
        if (f->bak[0]) renameat(f->dir, f->bak, f->dir, f->base);
        if (f->has_tmp && !f->placed) unlinkat(f->dir, f->tmp, 0);
        if (f->dir >= 0) fsync(f->dir);
    }
}

int init_write_secret_files(const initra_secret_file *files, size_t n, initra_err *err)
{
    pending *fs = calloc(n ? n : 1, sizeof *fs);
    if (!fs) return initra_fail(err, "out of memory");
    for (size_t i = 0; i < n; i++) fs[i].dir = -1;
    int rc = 0;
    /* 1. every temp file written and synced in its (symlink-free) directory */
    for (size_t i = 0; i < n && rc == 0; i++) {
        char dir[PATH_MAX];
        const char *slash = strrchr(files[i].path, '/');
        if (!slash || !slash[1] || files[i].path[0] != '/' || parent_dir(files[i].path, dir, sizeof dir)) {
            rc = initra_fail(err, "%s: not an absolute file path", files[i].path);
            break;
        }
        fs[i].base = slash + 1;
        if ((fs[i].dir = open_dir_chain(dir, err)) < 0 || write_tmp(&fs[i], &files[i], i, err)) rc = -1;
    }
    /* 2. renamed into place, the previous version of each kept aside until all are in place */
    for (size_t i = 0; i < n && rc == 0; i++) {
        pending *f = &fs[i];
        struct stat st;
        if (fstatat(f->dir, f->base, &st, AT_SYMLINK_NOFOLLOW) == 0) {
            if (S_ISDIR(st.st_mode)) {
                rc = initra_fail(err, "%s: is a directory; no key file was changed", files[i].path);
                break;
            }
            snprintf(f->bak, sizeof f->bak, ".%.200s.initra-old.%ld.%zu", f->base, (long)getpid(), i);
            if (renameat(f->dir, f->base, f->dir, f->bak) != 0) {
                rc = initra_fail(err, "%s: cannot move the existing file aside: %s", files[i].path, strerror(errno));
                f->bak[0] = 0;
                break;
            }
        }
        if (renameat(f->dir, f->tmp, f->dir, f->base) != 0) {
            rc = initra_fail(err, "%s: cannot rename the temporary file into place: %s; no key file was changed",
                             files[i].path, strerror(errno));
            break;
        }
        f->placed = 1;
    }
    if (rc) {
        roll_back(fs, n);
    } else {
        for (size_t i = 0; i < n; i++) {
            if (fs[i].bak[0]) unlinkat(fs[i].dir, fs[i].bak, 0);
            if (fsync(fs[i].dir) != 0 && rc == 0)
                rc = initra_fail(err, "%s: cannot sync its directory: %s", files[i].path, strerror(errno));
        }
    }
    for (size_t i = 0; i < n; i++)
        if (fs[i].dir >= 0) close(fs[i].dir);
    free(fs);
    return rc;
}
