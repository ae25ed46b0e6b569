/* The GRPC-RATLS KMS: ratls.GrSecret/GetSecret over mutual RA-TLS. Clients prove their enclave in the
 * handshake (evidence + DCAP); each call is decided by policy; secrets go out in Occlum's form: the JSON
 * string of their standard padded base64, quotes included (docs/grpc-ratls.md). */
#include <pthread.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "initra/attest.h"
#include "initra/kms.h"
#include "initra/rpc.h"
#include <jansson.h>
#include "kms/internal.h"
#include "ratls.pb-c.h"

#define GETSECRET "/ratls.GrSecret/GetSecret"

typedef struct {
    kms_shared base; /* first: reference count, swapped whole on reload */
    initra_kms_secrets secrets;
    initra_policy *clients;
    initra_secret_policy *per_secret;
} kms_config;

struct initra_kms {
    initra_kms_opts o;
    uint8_t pins[3][32]; /* o's *_sha256 point here */
    char *listen;
    char *secrets_path, *clients_path, *policy_path;
    initra_ratls_verifier *verifier;
    initra_attester *attester;
    initra_rpc_server *server;
    time_t cert_made;
    pthread_mutex_t lock; /* guards cfg and log */
    kms_shared *cfg;      /* a kms_config */
    FILE *log;
    /* The sealed store (docs/kms.md, "The store"): NULL without one. */
    initra_store *store;
    initra_sgx_report_body self; /* this KMS's report (replicas: the rule compares with it) */
    kms_replica replica;
    char *advertise;   /* a replica on PostgreSQL: the address recorded for the others (NULL: no replica) */
    initra_policy *replica_policy; /* "replica": {"policy"}, or NULL: the default rule */
    time_t last_ask;   /* when a waiting replica last asked the others for the data key */
    kms_ns_cache *ns_cache;
    uint8_t (*admins)[32];
    kms_admin admin;
};

static void config_destroy(kms_shared *s)
{
    kms_config *c = (kms_config *)s;
    kms_secrets_free(&c->secrets);
    initra_policy_free(c->clients);
    initra_secret_policy_free(c->per_secret);
    free(c);
}

/* A JSON file the configuration names, read once through its pin (src/kms/conf.c) and parsed from
 * those bytes. */
static json_t *load_json_pinned(const char *key, const char *path, const uint8_t *sha256, int image_paths,
                                initra_err *err)
{
    uint8_t *text;
    size_t n;
    if (kms_read_file(path, sha256, image_paths, INITRA_MAX_COLLATERAL, &text, &n, err)) {
        initra_fail_prefix(err, "%s", key);
        return NULL;
    }
    json_t *j = NULL;
    initra_json_parse(text, n, path, 0, NULL, &j, err);
    free(text);
    return j;
}

static kms_config *config_load(initra_kms *k, initra_err *err)
{
    kms_config *c = calloc(1, sizeof *c);
    if (!c) return initra_fail(err, "out of memory"), NULL;
    c->base = (kms_shared){1, config_destroy};
    initra_policy_opts po = {.accept_any_enclave = k->o.accept_any_enclave, .peer = "the client"};
    int img = k->o.image_paths;
    if (k->secrets_path) {
        uint8_t *text;
        size_t n;
        if (kms_read_file(k->secrets_path, k->o.secrets_sha256, img, INITRA_MAX_COLLATERAL, &text, &n, err)) {
            initra_fail_prefix(err, "secrets");
            goto fail;
        }
        int rc = kms_secrets_parse((const char *)text, n, k->secrets_path, &c->secrets, err);
        initra_free_secret(text, n);
        if (rc) goto fail;
    }
    json_t *j;
    if (k->clients_path) {
        if (!(j = load_json_pinned("clients", k->clients_path, k->o.clients_sha256, img, err))) goto fail;
        c->clients = initra_policy_from_json_opts(j, k->clients_path, &po, err);
        json_decref(j);
        if (!c->clients) goto fail;
    }
    if (k->policy_path) {
        if (!(j = load_json_pinned("policy", k->policy_path, k->o.policy_sha256, img, err))) goto fail;
        c->per_secret = initra_secret_policy_from_json_opts(j, k->policy_path, &po, err);
        json_decref(j);
        if (!c->per_secret) goto fail;
    }
    return c;
fail:
    config_destroy(&c->base);
    return NULL;
}

int initra_kms_reload(initra_kms *k, initra_err *err)
{
    kms_config *c = config_load(k, err);
    if (!c) return -1;
    kms_shared_swap(&k->lock, &k->cfg, &c->base);
    return 0;
}

/* Handshake: a client must present evidence that verifies (policy is applied per call, so that a
 * refused enclave gets a PERMISSION_DENIED it can report, not a failed handshake). */
static int verify_client(void *ctx, const char *pem, initra_err *err)
{
    initra_kms *k = ctx;
    initra_ratls_peer peer;
    /* A handshake costs a quote verification: refuse it early when the server is at its cap. */
    if (initra_rpc_server_over_cap(k->server)) {
        logf_(k, "handshake refused: more than %u connections open (max_connections)", k->o.max_connections);
        return initra_fail(err, "the KMS has more connections open than its max_connections; try again later");
    }
    /* An admin's certificate (its SPKI listed under admins) carries no evidence: it may call Admin only. */
    char hex[65] = "";
    if (k->admin.n_admins && kms_admin_listed(k->admin.admins, k->admin.n_admins, pem, hex)) return 0;
    if (initra_ratls_verify_peer(k->verifier, pem, time(NULL), &peer, err) == 0) return 0;
    if (k->admin.n_admins && k->store && hex[0]) {
        /* Most likely an admin whose key is not listed: said so, and audited (the call never arrives). */
        initra_fail_prefix(err, "admin key %s is not listed under admins in the KMS configuration, and the "
                                "certificate carries no verifiable enclave evidence", hex);
        initra_audit_rec r = {.protocol = "admin", .admin = hex, .op = "handshake", .decision = "denied",
                              .reason = err->msg};
        initra_err ae;
        if (initra_store_audit(k->store, &r, &ae)) logf_(k, "audit record not written: %s", ae.msg);
    }
    logf_(k, "handshake refused: %s", err->msg);
    return -1;
}

static void short_hex(const uint8_t *p, char out[17]) { initra_hex(p, 8, out); }

/* Occlum's server replies cJSON_Print(item) of the secret's string in secret_config.json: the base64
 * text inside its two JSON quotes (base64 needs no escaping). Occlum's client was written for that form:
 * it decodes skipping non-alphabet characters and drops one byte for the quotes. Fresh string or NULL. */
static char *quoted_b64(const uint8_t *data, size_t len)
{
    char *b64 = initra_b64_encode(data, len);
    size_t n = b64 ? strlen(b64) : 0;
    char *q = b64 ? malloc(n + 3) : NULL;
    if (q) {
        q[0] = '"';
        memcpy(q + 1, b64, n);
        q[n + 1] = '"';
        q[n + 2] = 0;
    }
    if (b64) initra_free_secret(b64, n);
    return q;
}

/* The audit record of one fetch decision, appended before the answer (docs/kms.md, "Audit"). With a
 * store, a record that cannot be written turns the answer into UNAVAILABLE and drops any reply. 0 or -1. */
static int audit_fetch(initra_kms *k, const initra_rpc_request *rq, const initra_ratls_peer *peer, const char *ns,
                       const char *name, uint32_t version, const char *decision, const char *reason,
                       initra_rpc_reply *rp)
{
    if (!k->store) return 0;
    initra_audit_rec r = {.protocol = "grpc_ratls", .peer_addr = rq->peer_addr, .report = &peer->report,
                          .tcb_status = peer->status, .advisories = peer->advisory_ptrs,
                          .n_advisories = peer->n_advisories, .quote_sha256 = peer->quote_sha256, .op = "fetch",
                          .ns = ns, .name = name, .version = version, .decision = decision, .reason = reason};
    initra_err e;
    if (initra_store_audit(k->store, &r, &e) == 0) return 0;
    logf_(k, "%s asked for \"%.64s\": audit record not written (%s): answered UNAVAILABLE, nothing released",
          rq->peer_addr, name, e.msg);
    if (rp->resp) initra_free_secret(rp->resp, rp->resp_len);
    rp->resp = NULL;
    rp->resp_len = 0;
    rp->code = INITRA_RPC_UNAVAILABLE;
    snprintf(rp->msg, sizeof rp->msg, "the KMS cannot write its audit log; try again later");
    return -1;
}

/* The reply carrying a secret (Occlum's form). 0, or -1 with INTERNAL set. */
static int secret_reply(const uint8_t *data, size_t len, initra_rpc_reply *rp)
{
    char *b64 = quoted_b64(data, len);
    Ratls__SecretReply reply = RATLS__SECRET_REPLY__INIT;
    reply.secret = b64;
    size_t n = b64 ? ratls__secret_reply__get_packed_size(&reply) : 0;
    rp->resp = b64 ? malloc(n ? n : 1) : NULL;
    if (rp->resp) rp->resp_len = ratls__secret_reply__pack(&reply, rp->resp);
    if (b64) initra_free_secret(b64, strlen(b64));
    if (rp->resp) return 0;
    rp->code = INITRA_RPC_INTERNAL;
    snprintf(rp->msg, sizeof rp->msg, "out of memory");
    return -1;
}

/* A name the secrets file does not hold, from the sealed store: the namespace's policy, then the newest
 * version whose rule this enclave meets (docs/kss.md). */
static void store_fetch(initra_kms *k, const initra_rpc_request *rq, const initra_ratls_peer *peer,
                        const initra_evidence *ev, const char *who, const char *full, initra_rpc_reply *rp)
{
    char ns[256];
    const char *name;
    initra_err why, err;
    if (kms_split_name(full, ns, &name)) {
        rp->code = INITRA_RPC_INVALID_ARGUMENT;
        snprintf(rp->msg, sizeof rp->msg, "\"%.64s\" is not NAME or NAMESPACE/NAME", full);
        logf_(k, "%s asked for \"%.64s\": refused, not NAME or NAMESPACE/NAME", who, full);
        audit_fetch(k, rq, peer, NULL, full, 0, "denied", "not NAME or NAMESPACE/NAME", rp);
        return;
    }
    int d = kms_ns_policy_check(k->ns_cache, k->store, ns, name, ev, k->o.accept_any_enclave, &why, &err);
    if (d < 0) {
        logf_(k, "%s asked for \"%.64s\": error: %s", who, full, err.msg);
        if (audit_fetch(k, rq, peer, ns, name, 0, "error", err.msg, rp)) return;
        rp->code = INITRA_RPC_INTERNAL;
        snprintf(rp->msg, sizeof rp->msg, "the KMS cannot read the policy of namespace \"%.64s\"", ns);
        return;
    }
    if (d > 0) {
        logf_(k, "%s asked for \"%.64s\": denied: %s", who, full, why.msg);
        if (audit_fetch(k, rq, peer, ns, name, 0, "denied", why.msg, rp)) return;
        rp->code = INITRA_RPC_PERMISSION_DENIED;
        snprintf(rp->msg, sizeof rp->msg, "the KMS policy does not allow this enclave to read \"%.64s\"", full);
        return;
    }
    initra_store_value v = {0};
    int rc = initra_store_fetch(k->store, ns, name, peer->report.config_id, peer->report.config_svn, &v, &why, &err);
    if (rc == INITRA_STORE_NO_SUCH) {
        logf_(k, "%s asked for \"%.64s\": not found", who, full);
        if (audit_fetch(k, rq, peer, ns, name, 0, "not_found", NULL, rp)) return;
        rp->code = INITRA_RPC_NOT_FOUND;
        snprintf(rp->msg, sizeof rp->msg, "no secret named \"%.64s\"", full);
    } else if (rc == INITRA_STORE_NO_VERSION) {
        logf_(k, "%s asked for \"%.64s\": denied: %s", who, full, why.msg);
        if (audit_fetch(k, rq, peer, ns, name, 0, "denied", why.msg, rp)) return;
        rp->code = INITRA_RPC_PERMISSION_DENIED;
        snprintf(rp->msg, sizeof rp->msg, "no version of \"%.64s\" is for this enclave's CONFIGID/CONFIGSVN", full);
    } else if (rc == INITRA_STORE_UNAVAILABLE) {
        /* The database is down: nothing released; the client may try another replica or later. */
        logf_(k, "%s asked for \"%.64s\": store unavailable, answered UNAVAILABLE, nothing released: %s", who, full,
              err.msg);
        if (audit_fetch(k, rq, peer, ns, name, 0, "error", err.msg, rp)) return;
        rp->code = INITRA_RPC_UNAVAILABLE;
        snprintf(rp->msg, sizeof rp->msg, "the KMS cannot read its store now; try again later");
    } else if (rc != INITRA_STORE_FOUND) {
        logf_(k, "%s asked for \"%.64s\": error: %s", who, full, err.msg);
        if (audit_fetch(k, rq, peer, ns, name, 0, "error", err.msg, rp)) return;
        rp->code = INITRA_RPC_DATA_LOSS;
        snprintf(rp->msg, sizeof rp->msg, "the KMS cannot read \"%.64s\" (damaged in its store)", full);
    } else {
        if (secret_reply(v.data, v.len, rp) == 0 && audit_fetch(k, rq, peer, ns, name, v.version, "released", NULL, rp) == 0)
            logf_(k, "%s asked for \"%.64s\": released version %u (%zu bytes)", who, full, v.version, v.len);
        initra_store_value_free(&v);
    }
}

static void get_secret(void *ctx, const initra_rpc_request *rq, initra_rpc_reply *rp)
{
    initra_kms *k = ctx;
    if (!strncmp(rq->method, KMS_ADMIN_PREFIX, strlen(KMS_ADMIN_PREFIX))) {
        kms_admin_call(&k->admin, rq, rp);
        return;
    }
    if (!strcmp(rq->method, KMS_REPLICA_GET_DATA_KEY) && k->replica.store) {
        kms_replica_serve(&k->replica, rq, rp);
        return;
    }
    if (strcmp(rq->method, GETSECRET) != 0) {
        rp->code = INITRA_RPC_UNIMPLEMENTED;
        snprintf(rp->msg, sizeof rp->msg, "this server implements %s", GETSECRET);
        return;
    }
    Ratls__SecretRequest *req = ratls__secret_request__unpack(NULL, rq->req_len, rq->req);
    initra_err bad;
    if (!req || !req->name || initra_check_secret_name(req->name, "SecretRequest", "name", &bad)) {
        rp->code = INITRA_RPC_INVALID_ARGUMENT;
        snprintf(rp->msg, sizeof rp->msg, "%s", req && req->name ? bad.msg : "the request is not a SecretRequest");
        if (req && req->name) /* raw: the log line escapes it */
            logf_(k, "%s asked for \"%.300s\": refused, not 1 to 255 printable ASCII characters", rq->peer_addr,
                  req->name);
        else
            logf_(k, "%s: refused, %s", rq->peer_addr, rp->msg);
        if (req) ratls__secret_request__free_unpacked(req, NULL);
        return;
    }
    const char *name = req->name;
    char who[256] = "unattested peer";
    initra_ratls_peer peer;
    initra_err why;
    initra_evidence ev;
    int attested = !k->o.no_client_attestation;
    if (attested) {
        if (!rq->peer_pem || initra_ratls_verify_peer(k->verifier, rq->peer_pem, time(NULL), &peer, &why)) {
            rp->code = INITRA_RPC_UNAUTHENTICATED;
            snprintf(rp->msg, sizeof rp->msg, "the client certificate carries no verifiable enclave evidence");
            logf_(k, "%s asked for \"%.64s\": refused, %s", rq->peer_addr, name, rq->peer_pem ? why.msg : "no certificate");
            if (k->store) { /* e.g. an admin's certificate: audited like every decision */
                initra_audit_rec r = {.protocol = "grpc_ratls", .peer_addr = rq->peer_addr, .op = "fetch", .name = name,
                                      .decision = "denied", .reason = "no verifiable enclave evidence"};
                initra_err ae;
                if (initra_store_audit(k->store, &r, &ae)) {
                    logf_(k, "audit record not written: %s", ae.msg);
                    rp->code = INITRA_RPC_UNAVAILABLE;
                    snprintf(rp->msg, sizeof rp->msg, "the KMS cannot write its audit log; try again later");
                }
            }
            ratls__secret_request__free_unpacked(req, NULL);
            return;
        }
        char e[17], s[17];
        short_hex(peer.report.mr_enclave, e);
        short_hex(peer.report.mr_signer, s);
        snprintf(who, sizeof who, "%s mr_enclave=%s.. mr_signer=%s.. isv_svn=%u config_svn=%u tcb=%s ratls=%s",
                 rq->peer_addr, e, s, peer.report.isv_svn, peer.report.config_svn, peer.status,
                 initra_ratls_format_short(peer.format));
        ev = (initra_evidence){&peer.report, peer.status, peer.advisory_ptrs, peer.n_advisories,
                               peer.collateral_expired, peer.tcb_eval_data_number};
    }
    char lwhy[200];
    if (k->store && initra_store_locked(k->store, lwhy, sizeof lwhy)) {
        rp->code = INITRA_RPC_UNAVAILABLE;
        snprintf(rp->msg, sizeof rp->msg, "store locked: run `initra kms admin recover`");
        logf_(k, "%s asked for \"%.64s\": UNAVAILABLE, the store is locked (%s)", who, name, lwhy);
        ratls__secret_request__free_unpacked(req, NULL);
        return;
    }
    kms_config *c = (kms_config *)kms_shared_get(&k->lock, &k->cfg);
    /* accept_any_enclave: every decision under a policy that pins nothing is logged as such. */
    const char *warn[2] = {initra_policy_warning(c->clients), initra_secret_policy_warning(c->per_secret)};
    for (int i = 0; attested && i < 2; i++)
        if (warn[i]) logf_(k, "%s asked for \"%.64s\": %s", who, name, warn[i]);
    const initra_kms_secret *sec = kms_secrets_find(&c->secrets, name);
    /* Names from the configuration's secrets file are served as without a store; others come from it. */
    int from_store = k->store && !sec;
    int denied = 0;
    if (attested && c->clients && initra_policy_check(c->clients, &ev, &why)) denied = 1;
    if (attested && !denied && !from_store && c->per_secret && initra_secret_policy_check(c->per_secret, name, &ev, &why))
        denied = 1;
    if (denied) {
        /* The same answer whether or not the name exists. */
        logf_(k, "%s asked for \"%.64s\": denied: %s", who, name, why.msg);
        char ns[256];
        const char *short_name = name;
        int split = from_store && kms_split_name(name, ns, &short_name) == 0;
        if (audit_fetch(k, rq, &peer, split ? ns : NULL, short_name, 0, "denied", why.msg, rp) == 0) {
            rp->code = INITRA_RPC_PERMISSION_DENIED;
            snprintf(rp->msg, sizeof rp->msg, "the KMS policy does not allow this enclave to read \"%.64s\"", name);
        }
    } else if (from_store) {
        store_fetch(k, rq, &peer, &ev, who, name, rp);
    } else if (!sec) {
        rp->code = INITRA_RPC_NOT_FOUND;
        snprintf(rp->msg, sizeof rp->msg, "no secret named \"%.64s\"", name);
        logf_(k, "%s asked for \"%.64s\": not found", who, name);
    } else if (secret_reply(sec->data, sec->len, rp) == 0 &&
               audit_fetch(k, rq, &peer, NULL, name, 0, "released", "the configuration's secrets file", rp) == 0) {
        logf_(k, "%s asked for \"%.64s\": released (%zu bytes)", who, name, sec->len);
    }
    kms_shared_put(&k->lock, &c->base);
    ratls__secret_request__free_unpacked(req, NULL);
}

/* Our RA-TLS certificate's validity in seconds: the option, or 24 hours. */
static long cert_validity(const initra_kms *k) { return k->o.cert_seconds > 0 ? k->o.cert_seconds : 24 * 3600; }

static int start_server(initra_kms *k, initra_err *err)
{
    char *cert = NULL, *key = NULL;
    long secs = cert_validity(k);
    int fmt = k->o.ratls_format ? k->o.ratls_format : INITRA_RATLS_DEFAULT_FORMAT;
    if (initra_ratls_create(k->attester ? initra_attest_quote_cb : NULL, k->attester, fmt, secs, &cert, &key, err))
        return -1;
    initra_rpc_server_opts so = {
        .listen = k->listen,
        .tls = {.cert_chain_pem = cert,
                .key_pem = key,
                .verify = k->o.no_client_attestation ? initra_rpc_accept_any : verify_client,
                .verify_ctx = k},
        .handler = get_secret,
        .handler_ctx = k,
        .threads = k->o.threads,
        .max_concurrent_streams = k->o.max_concurrent_streams ? k->o.max_concurrent_streams
                                                              : INITRA_KMS_DEFAULT_MAX_STREAMS,
        .max_connections = k->o.max_connections ? k->o.max_connections : INITRA_KMS_DEFAULT_MAX_CONNECTIONS,
    };
    initra_rpc_server *s = initra_rpc_server_start(&so, err);
    free(cert);
    initra_free_secret(key, strlen(key));
    if (!s) return -1;
    k->server = s;
    k->cert_made = time(NULL);
    return 0;
}

initra_kms *initra_kms_start(const initra_kms_opts *o, initra_err *err)
{
    if (!o->clients_path && !o->policy_path && !o->store_sqlite && !o->store_postgres && !o->no_client_attestation)
        return initra_fail(err, "kms: give \"clients\" (Occlum's dynamic_config.json) or \"policy\": without a policy "
                                "any attested enclave would get every secret"),
               NULL;
    initra_kms *k = calloc(1, sizeof *k);
    if (!k) return initra_fail(err, "out of memory"), NULL;
    k->o = *o;
    if (!k->o.max_connections) k->o.max_connections = INITRA_KMS_DEFAULT_MAX_CONNECTIONS;
    const uint8_t *src[3] = {o->secrets_sha256, o->clients_sha256, o->policy_sha256};
    const uint8_t **dst[3] = {&k->o.secrets_sha256, &k->o.clients_sha256, &k->o.policy_sha256};
    for (int i = 0; i < 3; i++)
        if (src[i]) *dst[i] = memcpy(k->pins[i], src[i], 32);
    k->o.verifier = (initra_ratls_verifier_opts){0}; /* used at start only: the caller's pointers */
    pthread_mutex_init(&k->lock, NULL);
    k->log = o->log ? o->log : stderr;
    k->listen = strdup(o->listen);
    k->secrets_path = o->secrets_path ? strdup(o->secrets_path) : NULL;
    k->clients_path = o->clients_path ? strdup(o->clients_path) : NULL;
    k->policy_path = o->policy_path ? strdup(o->policy_path) : NULL;
    kms_config *cfg = config_load(k, err);
    if (!cfg) goto fail;
    k->cfg = &cfg->base;
    initra_err aerr;
    k->attester = initra_attest_detect(&aerr);
    if (!k->attester && !o->insecure_no_attestation) {
        initra_fail(err, "kms: no quote provider, so clients could not verify this server (%s); run it inside an "
                         "enclave (`initra run`), or set insecure_no_attestation for a test setup",
                    aerr.msg);
        goto fail;
    }
    if (o->no_client_attestation && k->attester) {
        initra_fail(err, "kms: running without client attestation is refused inside an enclave (it is for "
                         "benchmarks outside one)");
        goto fail;
    }
    char slabel[400] = "";
    if (o->store_sqlite || o->store_postgres) kms_store_label(o->store_sqlite, o->store_postgres, slabel, sizeof slabel);
    if (o->store_sqlite || o->store_postgres) {
        if (o->no_client_attestation) {
            initra_fail(err, "kms: store.%s: the sealed store serves attested clients only (no_client_attestation "
                             "is for benchmarks without it)", o->store_postgres ? "postgres" : "sqlite");
            goto fail;
        }
        if (o->store_postgres ? kms_store_open_replica(k->attester, o->store_postgres,
                                                       o->replica_advertise ? o->replica_advertise : o->listen,
                                                       o->recovery_pub, o->recovery_pub_len, k->log, &k->lock, &k->self,
                                                       &k->store, err)
                              : kms_store_open(k->attester, o->store_sqlite, NULL, o->recovery_pub, o->recovery_pub_len,
                                               k->log, &k->lock, &k->store, err))
            goto fail;
        if (!(k->ns_cache = kms_ns_cache_new())) {
            initra_fail(err, "out of memory");
            goto fail;
        }
    }
    if (!o->no_client_attestation && !(k->verifier = initra_ratls_verifier_new(&o->verifier, err))) {
        initra_fail_prefix(err, "kms: cannot verify clients");
        goto fail;
    }
    if (k->store && o->store_postgres) {
        if (o->replica_policy) {
            json_error_t je;
            json_t *pj = json_loads(o->replica_policy, 0, &je);
            initra_policy_opts po = {.accept_any_enclave = o->accept_any_enclave, .peer = "a replica"};
            k->replica_policy = pj ? initra_policy_from_json_opts(pj, "replica.policy", &po, err) : NULL;
            json_decref(pj);
            if (!k->replica_policy) {
                if (!pj) initra_fail(err, "kms: replica.policy: not JSON");
                goto fail;
            }
        }
        k->replica = (kms_replica){.store = k->store, .verifier = k->verifier, .self = &k->self, .log = k->log,
                                   .policy = k->replica_policy,
                                   .lock = &k->lock};
        k->advertise = strdup(o->replica_advertise ? o->replica_advertise : o->listen);
        k->last_ask = time(NULL);
        if (initra_store_locked(k->store, NULL, 0)) kms_replica_ask(&k->replica, k->attester, k->advertise);
    }
    if (o->n_admins && !(k->admins = malloc(o->n_admins * sizeof *k->admins))) {
        initra_fail(err, "out of memory");
        goto fail;
    }
    if (o->n_admins) memcpy(k->admins, o->admins, o->n_admins * sizeof *k->admins);
    k->admin = (kms_admin){.store = k->store, .admins = (const uint8_t(*)[32])k->admins, .n_admins = o->n_admins,
                           .accept_any_enclave = o->accept_any_enclave, .log = k->log, .lock = &k->lock};
    k->o.store_sqlite = k->o.store_postgres = k->o.replica_advertise = k->o.replica_policy = NULL; /* the caller's pointers: used at start only */
    k->o.admins = NULL;
    k->o.recovery_pub = NULL;
    if (start_server(k, err)) goto fail;
    logf_(k, "serving %s on port %d (%s; %zu secrets%s%s%s%s; max_connections %u)", GETSECRET,
          initra_rpc_server_port(k->server),
          k->attester ? initra_attest_name(k->attester) : "NO ATTESTATION: insecure_no_attestation",
          cfg->secrets.n, cfg->clients ? ", client policy" : "", cfg->per_secret ? ", per-secret policy" : "",
          k->store ? ", sealed store " : "", k->store ? slabel : "", k->o.max_connections);
    if (k->store)
        logf_(k, "serving initra.kms.v1.Admin on the same port (%zu admins)", k->admin.n_admins);
    if (initra_rpc_connections(initra_rpc_server_port(k->server), 0) < 0)
        logf_(k, "warning: max_connections cannot be enforced here (no /proc/self/fd)");
    return k;
fail:
    initra_kms_stop(k);
    return NULL;
}

int initra_kms_port(const initra_kms *k) { return initra_rpc_server_port(k->server); }

int initra_kms_store_stats(initra_kms *k, initra_store_stats *st)
{
    if (!k->store) return -1;
    initra_store_get_stats(k->store, st);
    return 0;
}
long kms_cert_age(const initra_kms *k) { return (long)(time(NULL) - k->cert_made); }

int initra_kms_rotate_if_due(initra_kms *k, initra_err *err)
{
    return kms_cert_age(k) > cert_validity(k) / 2 ? kms_rotate(k, err) : 0;
}

int initra_kms_tick(initra_kms *k, initra_err *err)
{
    time_t now = time(NULL);
    if (k->advertise && k->store && initra_store_locked(k->store, NULL, 0) && now - k->last_ask >= INITRA_KMS_ASK_SECONDS) {
        k->last_ask = now;
        kms_replica_ask(&k->replica, k->attester, k->advertise);
    }
    return initra_kms_rotate_if_due(k, err);
}

int kms_rotate(initra_kms *k, initra_err *err)
{
    initra_rpc_server *old = k->server;
    char listen[300];
    /* Rebind to the same port. */
    const char *colon = strrchr(k->listen, ':');
    snprintf(listen, sizeof listen, "%.*s:%d", colon ? (int)(colon - k->listen) : 0, k->listen,
             initra_rpc_server_port(old));
    initra_rpc_server_stop(old);
    k->server = NULL;
    free(k->listen);
    k->listen = strdup(listen);
    return start_server(k, err);
}

void initra_kms_stop(initra_kms *k)
{
    if (!k) return;
    initra_rpc_server_stop(k->server);
    initra_store_close(k->store);
    kms_ns_cache_free(k->ns_cache);
    free(k->admins);
    free(k->advertise);
    initra_policy_free(k->replica_policy);
    initra_ratls_verifier_free(k->verifier);
    initra_attest_free(k->attester);
    kms_shared_put(&k->lock, k->cfg);
    free(k->listen);
    free(k->secrets_path);
    free(k->clients_path);
    free(k->policy_path);
    pthread_mutex_destroy(&k->lock);
    free(k);
}
