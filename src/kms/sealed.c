/* The KMS on the sealed store (docs/kms.md, "The store"), shared by the GRPC-RATLS and AECS servers:
 * opening the store with this enclave's own identity and seal key, names to namespaces, the namespaces'
 * policies (parsed once per text), and the admin key list. */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/sha.h>

#include "initra/attest.h"
#include "initra/ratls.h"
#include "initra/sgx.h"
#include "kms/internal.h"

void kms_store_label(const char *path, const char *conninfo, char *out, size_t n)
{
    if (conninfo) initra_store_pg_label(conninfo, out, n);
    else snprintf(out, n, "%s", path ? path : "");
}

static int store_open(initra_attester *a, const char *path, const char *conninfo, const char *advertise,
                      const uint8_t *recovery_pub, size_t recovery_len, FILE *log, pthread_mutex_t *lock,
                      initra_sgx_report_body *self, initra_store **out, initra_err *err);

int kms_store_open(initra_attester *a, const char *path, const char *conninfo, const uint8_t *recovery_pub,
                   size_t recovery_len, FILE *log, pthread_mutex_t *lock, initra_store **out, initra_err *err)
{
    return store_open(a, path, conninfo, NULL, recovery_pub, recovery_len, log, lock, NULL, out, err);
}

int kms_store_open_replica(initra_attester *a, const char *conninfo, const char *advertise, const uint8_t *recovery_pub,
                           size_t recovery_len, FILE *log, pthread_mutex_t *lock, initra_sgx_report_body *self,
                           initra_store **out, initra_err *err)
{
    return store_open(a, NULL, conninfo, advertise, recovery_pub, recovery_len, log, lock, self, out, err);
}

static int store_open(initra_attester *a, const char *path, const char *conninfo, const char *advertise,
                      const uint8_t *recovery_pub, size_t recovery_len, FILE *log, pthread_mutex_t *lock,
                      initra_sgx_report_body *self, initra_store **out, initra_err *err)
{
    *out = NULL;
    char name[320], label[400];
    kms_store_label(path, conninfo, name, sizeof name);
    snprintf(label, sizeof label, "store.%s %s", conninfo ? "postgres" : "sqlite", name); /* the setting, for errors */
    if (!a)
        return initra_fail(err, "kms: %s: the sealed store needs an enclave's seal key and this process "
                                "has no quote provider; run the KMS inside an enclave (`initra run`)",
                           label);
    /* This KMS's own identity: a quote of itself (report data zero), its report body. */
    uint8_t rd[64] = {0}, *q = NULL;
    size_t qlen;
    initra_quote pq;
    if (initra_attest_quote(a, rd, &q, &qlen, err) || initra_quote_parse(q, qlen, &pq, err)) {
        free(q);
        return initra_fail_prefix(err, "kms: %s: cannot read this enclave's own report", label);
    }
    free(q);
    if (pq.body_type != INITRA_BODY_SGX)
        return initra_fail(err, "kms: %s: this enclave's quote is not an SGX quote (the store is sealed "
                                "with SGX's EGETKEY)", label);
    initra_store_opts so = {
        .path = conninfo ? NULL : path,
        .postgres_conninfo = conninfo,
        .seal_key = initra_attest_seal_key_cb,
        .seal_ctx = a,
        .self = &pq.enclave,
        .recovery_pub = recovery_pub,
        .recovery_pub_len = recovery_len,
        .allow_locked = recovery_pub != NULL,
        .allow_waiting = advertise != NULL,
        .advertise = advertise,
    };
    if (self) *self = pq.enclave;
    initra_store *s = initra_store_open(&so, err);
    if (!s) return initra_fail_prefix(err, "kms: %s", label);
    char why[512];
    if (initra_store_locked(s, why, sizeof why) && advertise)
        kms_log(log, lock, "store %s: no sealed copy of the data key opens here (%s): asking the running replicas",
                name, why);
    else if (initra_store_locked(s, why, sizeof why))
        kms_log(log, lock, "store %s is LOCKED (%s): fetches get UNAVAILABLE until an admin runs `initra kms admin "
                           "recover`", name, why);
    *out = s;
    return 0;
}

int kms_split_name(const char *full, char ns[256], const char **name)
{
    const char *slash = strchr(full, '/');
    if (!slash) {
        snprintf(ns, 256, "%s", INITRA_STORE_DEFAULT_NS);
        *name = full;
        return 0;
    }
    size_t n = (size_t)(slash - full);
    if (n == 0 || n > 255 || !slash[1]) return -1;
    memcpy(ns, full, n);
    ns[n] = 0;
    *name = slash + 1;
    return 0;
}

/* ---- namespace policies ---- */

struct kms_ns_cache {
    pthread_mutex_t lock;
    struct ns_entry {
        char ns[256];
        uint8_t text_sha[32];
        initra_policy *clients;          /* a client policy: every secret of the namespace */
        initra_secret_policy *per_secret; /* or initra's per-secret policy */
    } e[KMS_NS_CACHE];
    size_t n, next;
};

kms_ns_cache *kms_ns_cache_new(void)
{
    kms_ns_cache *c = calloc(1, sizeof *c);
    if (c) pthread_mutex_init(&c->lock, NULL);
    return c;
}

static void entry_clear(struct ns_entry *e)
{
    initra_policy_free(e->clients);
    initra_secret_policy_free(e->per_secret);
    memset(e, 0, sizeof *e);
}

void kms_ns_cache_free(kms_ns_cache *c)
{
    if (!c) return;
    for (size_t i = 0; i < c->n; i++) entry_clear(&c->e[i]);
    pthread_mutex_destroy(&c->lock);
    free(c);
}

int kms_ns_policy_parse(const char *json, size_t len, const char *where, int accept_any, initra_policy **clients,
                        initra_secret_policy **per_secret, initra_err *err)
{
    *clients = NULL;
    *per_secret = NULL;
    json_t *j;
    if (initra_json_parse(json, len, where, 0, NULL, &j, err)) return -1;
    initra_policy_opts po = {.accept_any_enclave = accept_any, .peer = "the client"};
    /* initra's per-secret format is the object with "identities" / "secrets"; anything else is a client
     * policy (Occlum's dynamic_config.json object, initra's list) for every secret of the namespace. */
    if (json_is_object(j) && (json_object_get(j, "identities") || json_object_get(j, "secrets")))
        *per_secret = initra_secret_policy_from_json_opts(j, where, &po, err);
    else
        *clients = initra_policy_from_json_opts(j, where, &po, err);
    json_decref(j);
    return *clients || *per_secret ? 0 : -1;
}

int kms_ns_policy_check(kms_ns_cache *c, initra_store *s, const char *ns, const char *name,
                        const initra_evidence *ev, int accept_any, initra_err *why, initra_err *err)
{
    char *json = NULL;
    size_t len = 0;
    int rc = initra_store_policy_get(s, ns, &json, &len, err);
    if (rc < 0) return initra_fail_prefix(err, "namespace \"%.64s\": its policy", ns);
    if (rc == 1) {
        initra_fail(why, "namespace \"%.64s\" has no policy (an admin sets one: `initra kms admin policy set`)", ns);
        return 1;
    }
    uint8_t sha[32];
    SHA256((const uint8_t *)json, len, sha);
    pthread_mutex_lock(&c->lock);
    struct ns_entry *e = NULL;
    for (size_t i = 0; i < c->n && !e; i++)
        if (!strcmp(c->e[i].ns, ns)) e = &c->e[i];
    if (e && memcmp(e->text_sha, sha, 32)) entry_clear(e); /* the policy changed: parse it anew */
    if (!e || !e->ns[0]) {
        if (!e) {
            e = &c->e[c->n < KMS_NS_CACHE ? c->n++ : c->next];
            if (c->n == KMS_NS_CACHE) c->next = (c->next + 1) % KMS_NS_CACHE;
            entry_clear(e);
        }
        char where[300];
        snprintf(where, sizeof where, "namespace %.64s policy", ns);
        if (kms_ns_policy_parse(json, len, where, accept_any, &e->clients, &e->per_secret, err)) {
            entry_clear(e);
            pthread_mutex_unlock(&c->lock);
            free(json);
            return -1;
        }
        snprintf(e->ns, sizeof e->ns, "%s", ns);
        memcpy(e->text_sha, sha, 32);
    }
    free(json);
    /* Checked under the lock: the parsed policy may be replaced by another thread otherwise. */
    int denied = e->clients ? initra_policy_check(e->clients, ev, why) != 0
                            : initra_secret_policy_check(e->per_secret, name, ev, why) != 0;
    if (denied) initra_fail_prefix(why, "namespace \"%.64s\" policy", ns);
    pthread_mutex_unlock(&c->lock);
    return denied;
}

/* ---- admins ---- */

int kms_admin_listed(const uint8_t (*admins)[32], size_t n, const char *pem, char hex[65])
{
    uint8_t spki[32];
    initra_err e;
    hex[0] = 0;
    if (!pem || initra_spki_sha256_pem(pem, spki, &e)) return 0;
    initra_hex(spki, 32, hex);
    for (size_t i = 0; i < n; i++)
        if (!memcmp(admins[i], spki, 32)) return 1;
    return 0;
}
