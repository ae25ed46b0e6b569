/* The AECS KMS: /kubetee.Aecs/GetEnclaveSecret over plaintext HTTP/2 (docs/aecs.md). The server proves
 * itself with a Passport report made once at start (its RSA-2048 key bound in report_data); each request
 * carries the client's Passport, which is verified and matched against the secret's UA policy before the
 * secret is sealed to the key it binds. The store is reloaded on request (SIGHUP), all or nothing. */
#include <pthread.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

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

static void handle(void *ctx, const initra_rpc_request *rq, initra_rpc_reply *rp)
{
    initra_kms_aecs *k = ctx;
    if (strcmp(rq->method, INITRA_AECS_METHOD)) {
        rp->code = INITRA_RPC_UNIMPLEMENTED;
        snprintf(rp->msg, sizeof rp->msg, "this server implements %s", INITRA_AECS_METHOD);
        logf_(k, "%s called %.100s: unimplemented", rq->peer_addr ? rq->peer_addr : "?", rq->method);
        return;
    }
    aecs_cfg *c = (aecs_cfg *)kms_shared_get(&k->lock, &k->cfg);
    initra_aecs_server s = {&c->store, k->key, &k->self, initra_ua_dcap_verify, &k->vctx};
    initra_err err, out;
    int code = initra_aecs_handle(&s, rq->req, rq->req_len, time(NULL), &rp->resp, &rp->resp_len, &out, &err);
    char what[140], who[200];
    describe(rq, what, sizeof what, who, sizeof who);
    if (k->accept_any) warn_unpinned(k, &c->store, what, who);
    kms_shared_put(&k->lock, &c->base);
    rp->code = code;
    if (code == INITRA_RPC_OK) {
        logf_(k, "%s asked for %s: released", who, what);
    } else {
        snprintf(rp->msg, sizeof rp->msg, "%s", out.msg);
        logf_(k, "%s asked for %s: %s: %s", who, what,
              code == INITRA_RPC_PERMISSION_DENIED ? "denied" : initra_rpc_code_name(code), err.msg);
    }
}

initra_kms_aecs *initra_kms_aecs_start(const initra_kms_aecs_opts *o, initra_err *err)
{
    if (o->store_sqlite)
        return initra_fail(err, "kms: store.sqlite %s: the AECS server does not serve the sealed store yet; serve it with "
                                "protocol grpc_ratls, or give the AECS server a store file (`initra kms aecs-admin`)",
                           o->store_sqlite),
               NULL;
    if (!o->store_path) return initra_fail(err, "kms: \"store\" (the AECS store made by `initra kms aecs-admin`) is required"), NULL;
    if (o->collateral && o->pccs_url) return initra_fail(err, "kms: give \"collateral\" or \"pccs_url\", not both"), NULL;
    initra_kms_aecs *k = calloc(1, sizeof *k);
    if (!k) return initra_fail(err, "out of memory"), NULL;
    pthread_mutex_init(&k->lock, NULL);
    k->log = o->log ? o->log : stderr;
    size_t ll = strlen(o->listen);
    int has_port = ll && o->listen[ll - 1] != ']' && strrchr(o->listen, ':');
    snprintf(k->listen, sizeof k->listen, has_port ? "%s" : "%s:%d", o->listen, INITRA_AECS_DEFAULT_PORT);
    char *pem = NULL;
    if (!(k->store_path = strdup(o->store_path))) goto oom;
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
    k->vctx = (initra_ua_dcap_ctx){k->dcap, 0, NULL, 0};
    initra_err aerr;
    k->attester = initra_attest_detect(&aerr);
    if (!k->attester && !o->insecure_no_attestation) {
        initra_fail(err, "kms: no quote provider, so clients could not verify this server (%s); run it inside an "
                         "enclave (`initra run`), or set insecure_no_attestation for a test setup",
                    aerr.msg);
        goto fail;
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
    initra_attest_free(k->attester);
    initra_ua_auth_report_free(&k->self);
    EVP_PKEY_free(k->key);
    initra_dcap_free(k->dcap);
    kms_shared_put(&k->lock, k->cfg);
    free(k->store_path);
    pthread_mutex_destroy(&k->lock);
    free(k);
}
