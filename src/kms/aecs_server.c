/* The AECS KMS: /kubetee.Aecs/GetEnclaveSecret over plaintext HTTP/2 (docs/aecs.md). The server proves
 * itself with a Passport report made once at start (its RSA-2048 key bound in report_data); each request
 * carries the client's Passport, which is verified and matched against the secret's UA policy before the
 * secret is sealed to the key it binds. The store is reloaded on request (SIGHUP), all or nothing. */
#include <pthread.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/sha.h>

#include "initra/aecs.h"
#include "initra/attest.h"
#include "initra/kms.h"
#include "kms/internal.h"
#include "aecs.pb-c.h"

typedef struct {
    kms_shared base; /* first: reference count, swapped whole on reload */
    initra_aecs_store store;
} aecs_cfg;

struct initra_kms_aecs {
    char *store_path;
    int accept_any;
    int pinned, image_paths;
    uint8_t store_sha256[32];
    char listen[320];
    initra_dcap *dcap;
    initra_ua_dcap_ctx vctx;
    EVP_PKEY *key;
    initra_ua_auth_report self;
    initra_attester *attester;
    initra_rpc_server *server;
    pthread_mutex_t lock; /* guards cfg and log */
    kms_shared *cfg;      /* an aecs_cfg */
    FILE *log;
    /* The sealed store (docs/kms.md, "The KMS on the store"): services are namespaces. NULL: the file. */
    initra_store *store;
    kms_ns_cache *ns_cache;
};

static void cfg_destroy(kms_shared *s)
{
    aecs_cfg *c = (aecs_cfg *)s;
    initra_aecs_store_free(&c->store);
    free(c);
}

static aecs_cfg *cfg_load(const initra_kms_aecs *k, initra_err *err)
{
    aecs_cfg *c = calloc(1, sizeof *c);
    if (!c) return initra_fail(err, "out of memory"), NULL;
    c->base = (kms_shared){1, cfg_destroy};
    if (!k->store_path) return c; /* the sealed store: nothing to read */
    uint8_t *text;
    size_t n;
    if (kms_read_file(k->store_path, k->pinned ? k->store_sha256 : NULL, k->image_paths, INITRA_MAX_STORE, &text, &n,
                             err)) {
        initra_fail_prefix(err, "store");
        free(c);
        return NULL;
    }
    int rc = initra_aecs_store_from_json((const char *)text, n, k->store_path, &c->store, err);
    initra_free_secret(text, n);
    if (rc) {
        free(c);
        return NULL;
    }
    if (!k->accept_any && initra_aecs_store_check_pinned(&c->store, k->store_path, err)) {
        cfg_destroy(&c->base);
        return NULL;
    }
    return c;
}

/* accept_any_enclave: a release under a rule that pins nothing is logged as such. */
static void warn_unpinned(initra_kms_aecs *k, const initra_aecs_store *st, const char *what, const char *who)
{
    char svc[80];
    const char *slash = strchr(what, '/');
    if (!slash || (size_t)(slash - what) >= sizeof svc) return;
    snprintf(svc, sizeof svc, "%.*s", (int)(slash - what), what);
    const initra_aecs_secret *s = initra_aecs_store_find(st, svc, slash + 1);
    for (size_t i = 0; s && i < s->policy.n; i++)
        if (!initra_ua_entry_pinned(&s->policy.entries[i])) {
            logf_(k, "%s asked for %s: warning: its policy entry [%zu] pins neither hex_ta_measurement nor hex_signer "
                     "(accept_any_enclave is set): any genuine enclave is accepted", who, what, i);
            return;
        }
}

int initra_kms_aecs_reload(initra_kms_aecs *k, initra_err *err)
{
    aecs_cfg *c = cfg_load(k, err);
    if (!c) return -1;
    kms_shared_swap(&k->lock, &k->cfg, &c->base);
    return 0;
}

/* For the log: "SERVICE/NAME" when the request parses and the names are clean, and who asked (the
 * identity the client's quote claims; the handler has verified it when the secret is released). */
static void describe(const initra_rpc_request *rq, char *what, size_t wn, char *who, size_t hn)
{
    snprintf(what, wn, "(unparsable request)");
    snprintf(who, hn, "%s", rq->peer_addr ? rq->peer_addr : "?");
    Kubetee__GetEnclaveSecretRequest *q = kubetee__get_enclave_secret_request__unpack(NULL, rq->req_len, rq->req);
    if (!q) return;
    initra_err e;
    if (initra_aecs_check_name(q->service_name, "service", &e) || initra_aecs_check_name(q->secret_name, "secret", &e))
        snprintf(what, wn, "(invalid names)");
    else
        snprintf(what, wn, "%.64s/%.64s", q->service_name, q->secret_name);
    if (q->auth_ra_report && q->auth_ra_report->report) {
        initra_ua_report r = {q->auth_ra_report->report->str_report_version, q->auth_ra_report->report->str_report_type,
                              q->auth_ra_report->report->str_tee_platform, q->auth_ra_report->report->json_report,
                              q->auth_ra_report->report->json_nested_reports};
        uint8_t *quote;
        size_t qlen;
        char *coll;
        initra_quote pq;
        if (initra_ua_report_parse(&r, &quote, &qlen, &coll, &e) == 0) {
            if (initra_quote_parse(quote, qlen, &pq, &e) == 0) {
                char me[17], ms[17];
                initra_hex_upper(pq.enclave.mr_enclave, 8, me);
                initra_hex_upper(pq.enclave.mr_signer, 8, ms);
                snprintf(who, hn, "%s mr_enclave=%s.. mr_signer=%s..", rq->peer_addr ? rq->peer_addr : "?", me, ms);
            }
            free(quote);
            free(coll);
        }
    }
    kubetee__get_enclave_secret_request__free_unpacked(q, NULL);
}

/* One request on the sealed store: what the verified client proved (captured by verify_capture) and
 * what lookup decided, for the one audit record written before the answer. */
typedef struct {
    initra_kms_aecs *k;
    initra_ua_dcap_ctx vctx;
    char status[40];
    int verified;
    initra_sgx_report_body body;
    uint8_t quote_sha256[32];
    char ns[256], name[256];
    uint32_t version;
    const char *decision;
    char reason[512];
} aecs_call;

static int verify_capture(void *ctx, const uint8_t *quote, size_t len, const char *collateral, time_t at,
                          initra_sgx_report_body *body, initra_err *err)
{
    aecs_call *c = ctx;
    if (initra_ua_dcap_verify(&c->vctx, quote, len, collateral, at, body, err)) return -1;
    c->body = *body;
    SHA256(quote, len, c->quote_sha256);
    c->verified = 1;
    return 0;
}

/* The namespace's policy (service = namespace), then the newest version for this enclave. */
static int store_lookup(void *ctx, const char *service, const char *secret, uint8_t **value, size_t *len,
                        initra_err *err)
{
    aecs_call *c = ctx;
    initra_kms_aecs *k = c->k;
    snprintf(c->ns, sizeof c->ns, "%s", service);
    snprintf(c->name, sizeof c->name, "%s", secret);
    initra_evidence ev = {.report = &c->body, .tcb_status = c->status};
    initra_err why, e;
    int d = kms_ns_policy_check(k->ns_cache, k->store, service, secret, &ev, k->accept_any, &why, &e);
    if (d) {
        c->decision = d < 0 ? "error" : "denied";
        snprintf(c->reason, sizeof c->reason, "%s", d < 0 ? e.msg : why.msg);
        initra_fail(err, "%s", c->reason);
        return d < 0 ? INITRA_RPC_INTERNAL : INITRA_RPC_PERMISSION_DENIED;
    }
    initra_store_value v = {0};
    int rc = initra_store_fetch(k->store, service, secret, c->body.config_id, c->body.config_svn, &v, &why, &e);
    if (rc == INITRA_STORE_FOUND) {
        c->decision = "released";
        c->version = v.version;
        *value = v.data; /* handed over: the caller zeroizes it */
        *len = v.len;
        return INITRA_RPC_OK;
    }
    c->decision = rc == INITRA_STORE_NO_SUCH ? "not_found" : rc == INITRA_STORE_NO_VERSION ? "denied" : "error";
    snprintf(c->reason, sizeof c->reason, "%s",
             rc == INITRA_STORE_NO_SUCH ? "no such secret" : rc == INITRA_STORE_NO_VERSION ? why.msg : e.msg);
    initra_fail(err, "%s", c->reason);
    return rc == INITRA_STORE_NO_SUCH ? INITRA_RPC_NOT_FOUND
           : rc == INITRA_STORE_NO_VERSION  ? INITRA_RPC_PERMISSION_DENIED
           : rc == INITRA_STORE_UNAVAILABLE ? INITRA_RPC_UNAVAILABLE
                                            : INITRA_RPC_DATA_LOSS;
}

static void handle(void *ctx, const initra_rpc_request *rq, initra_rpc_reply *rp)
{
    initra_kms_aecs *k = ctx;
    if (strcmp(rq->method, INITRA_AECS_METHOD)) {
        rp->code = INITRA_RPC_UNIMPLEMENTED;
        snprintf(rp->msg, sizeof rp->msg, "this server implements %s", INITRA_AECS_METHOD);
        logf_(k, "%s called %.100s: unimplemented", rq->peer_addr ? rq->peer_addr : "?", rq->method);
        return;
    }
    char what[140], who[200], lwhy[200];
    describe(rq, what, sizeof what, who, sizeof who);
    if (k->store && initra_store_locked(k->store, lwhy, sizeof lwhy)) {
        rp->code = INITRA_RPC_UNAVAILABLE;
        snprintf(rp->msg, sizeof rp->msg, "store locked: run `initra kms admin recover`");
        logf_(k, "%s asked for %s: UNAVAILABLE, the store is locked (%s)", who, what, lwhy);
        return;
    }
    aecs_call call = {.k = k, .vctx = k->vctx};
    call.vctx.status_out = call.status;
    call.vctx.status_size = sizeof call.status;
    aecs_cfg *c = (aecs_cfg *)kms_shared_get(&k->lock, &k->cfg);
    initra_aecs_server s = {.store = &c->store, .key = k->key, .self = &k->self, .verify = initra_ua_dcap_verify,
                             .verify_ctx = &k->vctx};
    if (k->store) {
        s.verify = verify_capture;
        s.verify_ctx = &call;
        s.lookup = store_lookup;
        s.lookup_ctx = &call;
    }
    initra_err err, out;
    int code = initra_aecs_handle(&s, rq->req, rq->req_len, time(NULL), &rp->resp, &rp->resp_len, &out, &err);
    if (k->accept_any && !k->store) warn_unpinned(k, &c->store, what, who);
    kms_shared_put(&k->lock, &c->base);
    if (k->store) {
        /* One audit record per decision, before the answer; without it nothing is released. */
        initra_audit_rec r = {.protocol = "aecs", .peer_addr = rq->peer_addr, .op = "fetch",
                              .report = call.verified ? &call.body : NULL, .tcb_status = call.verified ? call.status : NULL,
                              .quote_sha256 = call.verified ? call.quote_sha256 : NULL,
                              .ns = call.ns[0] ? call.ns : NULL, .name = call.name[0] ? call.name : NULL,
                              .version = call.version,
                              .decision = code == INITRA_RPC_OK ? "released" : call.decision ? call.decision : "denied",
                              .reason = code == INITRA_RPC_OK ? NULL : call.decision ? call.reason : err.msg};
        initra_err ae;
        if (initra_store_audit(k->store, &r, &ae)) {
            logf_(k, "%s asked for %s: audit record not written (%s): answered UNAVAILABLE, nothing released", who,
                  what, ae.msg);
            if (rp->resp) initra_free_secret(rp->resp, rp->resp_len);
            rp->resp = NULL;
            rp->resp_len = 0;
            rp->code = INITRA_RPC_UNAVAILABLE;
            snprintf(rp->msg, sizeof rp->msg, "the KMS cannot write its audit log; try again later");
            return;
        }
    }
    rp->code = code;
    if (code == INITRA_RPC_OK) {
        if (k->store) logf_(k, "%s asked for %s: released version %u", who, what, call.version);
        else logf_(k, "%s asked for %s: released", who, what);
    } else {
        snprintf(rp->msg, sizeof rp->msg, "%s", out.msg);
        logf_(k, "%s asked for %s: %s: %s", who, what,
              code == INITRA_RPC_PERMISSION_DENIED ? "denied" : initra_rpc_code_name(code), err.msg);
    }
}

initra_kms_aecs *initra_kms_aecs_start(const initra_kms_aecs_opts *o, initra_err *err)
{
    if (!o->store_path && !o->store_sqlite && !o->store_postgres) return initra_fail(err, "kms: \"store\" (the AECS store made by `initra kms aecs-admin`) is required"), NULL;
    if (o->collateral && o->pccs_url) return initra_fail(err, "kms: give \"collateral\" or \"pccs_url\", not both"), NULL;
    initra_kms_aecs *k = calloc(1, sizeof *k);
    if (!k) return initra_fail(err, "out of memory"), NULL;
    pthread_mutex_init(&k->lock, NULL);
    k->log = o->log ? o->log : stderr;
    size_t ll = strlen(o->listen);
    int has_port = ll && o->listen[ll - 1] != ']' && strrchr(o->listen, ':');
    snprintf(k->listen, sizeof k->listen, has_port ? "%s" : "%s:%d", o->listen, INITRA_AECS_DEFAULT_PORT);
    char *pem = NULL;
    if (o->store_path && !(k->store_path = strdup(o->store_path))) goto oom;
    k->accept_any = o->accept_any_enclave;
    k->image_paths = o->image_paths;
    if ((k->pinned = o->store_sha256 != NULL)) memcpy(k->store_sha256, o->store_sha256, 32);
    aecs_cfg *cfg = cfg_load(k, err);
    if (!cfg) goto fail;
    k->cfg = &cfg->base;
    if (!(k->dcap = initra_dcap_new(err))) goto fail;
    for (size_t i = 0; i < o->n_trust_roots; i++)
        if (initra_dcap_add_root_file(k->dcap, o->trust_roots[i], err)) {
            initra_fail_prefix(err, "kms: trust_roots[%zu]", i);
            goto fail;
        }
    for (size_t i = 0; i < o->n_trust_root_data; i++)
        if (initra_dcap_add_root_bytes(k->dcap, o->trust_root_data[i], o->trust_root_lens[i], err)) {
            initra_fail_prefix(err, "kms: trust_roots[%zu]", i);
            goto fail;
        }
    k->vctx = (initra_ua_dcap_ctx){.dcap = k->dcap};
    initra_err aerr;
    k->attester = initra_attest_detect(&aerr);
    if (!k->attester && !o->insecure_no_attestation) {
        initra_fail(err, "kms: no quote provider, so clients could not verify this server (%s); run it inside an "
                         "enclave (`initra run`), or set insecure_no_attestation for a test setup",
                    aerr.msg);
        goto fail;
    }
    char slabel[400] = "";
    if (o->store_sqlite || o->store_postgres) kms_store_label(o->store_sqlite, o->store_postgres, slabel, sizeof slabel);
    if (o->store_sqlite || o->store_postgres) {
        if (kms_store_open(k->attester, o->store_sqlite, o->store_postgres, o->recovery_pub, o->recovery_pub_len, k->log,
                           &k->lock, &k->store, err))
            goto fail;
        if (!(k->ns_cache = kms_ns_cache_new())) goto oom;
    }
    if (!(k->key = initra_aecs_session_key(err)) || !(pem = initra_aecs_rsa_public_pem(k->key, err))) goto fail;
    if (k->attester) {
        initra_ua_collateral_src src = {k->dcap, o->collateral, o->pccs_url, o->collateral_data, o->collateral_len};
        if (initra_ua_report_create(initra_attest_quote_cb, k->attester, initra_ua_collateral_from_src, &src, "", pem, &k->self,
                                    err)) {
            initra_fail_prefix(err, "kms: the server's Passport report");
            goto fail;
        }
    } else if (!(k->self.report.str_report_version = strdup(INITRA_UA_REPORT_VERSION)) ||
               !(k->self.report.str_report_type = strdup(INITRA_UA_REPORT_PASSPORT)) ||
               !(k->self.report.str_tee_platform = strdup(INITRA_UA_PLATFORM_SGX_DCAP)) ||
               !(k->self.report.json_report = strdup("{}")) || !(k->self.report.json_nested_reports = strdup("")) ||
               !(k->self.pem_public_key = strdup(pem))) {
        goto oom;
    }
    unsigned maxc = o->max_connections ? o->max_connections : INITRA_KMS_DEFAULT_MAX_CONNECTIONS;
    initra_rpc_server_opts so = {
        .listen = k->listen,
        .tls = {.insecure = 1},
        .handler = handle,
        .handler_ctx = k,
        .threads = o->threads,
        .max_concurrent_streams = o->max_concurrent_streams ? o->max_concurrent_streams : INITRA_KMS_DEFAULT_MAX_STREAMS,
        .max_connections = maxc,
    };
    if (!(k->server = initra_rpc_server_start(&so, err))) goto fail;
    free(pem);
    if (k->store)
        logf_(k, "serving %s on port %d (%s; sealed store %s: services are its namespaces; plaintext HTTP/2)",
              INITRA_AECS_METHOD, initra_rpc_server_port(k->server),
              k->attester ? initra_attest_name(k->attester) : "NO ATTESTATION", slabel);
    else
        logf_(k, "serving %s on port %d (%s; %zu services, %zu secrets, plaintext HTTP/2)", INITRA_AECS_METHOD,
              initra_rpc_server_port(k->server),
              k->attester ? initra_attest_name(k->attester) : "NO ATTESTATION: insecure_no_attestation",
              cfg->store.n_services, cfg->store.n_secrets);
    if (initra_rpc_connections(initra_rpc_server_port(k->server), 0) < 0)
        logf_(k, "warning: max_connections (%u) cannot be enforced here (no /proc/self/fd)", maxc);
    return k;
oom:
    initra_fail(err, "out of memory");
fail:
    free(pem);
    initra_kms_aecs_stop(k);
    return NULL;
}

int kms_aecs_port(const initra_kms_aecs *k) { return initra_rpc_server_port(k->server); }

void initra_kms_aecs_stop(initra_kms_aecs *k)
{
    if (!k) return;
    initra_rpc_server_stop(k->server);
    initra_store_close(k->store);
    kms_ns_cache_free(k->ns_cache);
    initra_attest_free(k->attester);
    initra_ua_auth_report_free(&k->self);
    EVP_PKEY_free(k->key);
    initra_dcap_free(k->dcap);
    kms_shared_put(&k->lock, k->cfg);
    free(k->store_path);
    pthread_mutex_destroy(&k->lock);
    free(k);
}
