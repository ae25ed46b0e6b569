/* The Init-RA client: one RA-TLS connection to the KMS for every key, the server verified against
 * ra_config, retries with exponential backoff up to a deadline, then every key written or none. */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "initra/attest.h"
#include "initra/init.h"
#include "initra/ratls.h"
#include "initra/rpc.h"
#include "init/internal.h"
#include "ratls.pb-c.h"

#define GETSECRET "/ratls.GrSecret/GetSecret"

typedef struct {
    initra_ratls_verifier *verifier;
    const initra_policy *policy;
    int refused;      /* our side refused the server's evidence: do not retry */
    char why[512];
} server_check;

/* Handshake: the KMS must prove a genuine enclave that ra_config accepts. */
static int verify_server(void *ctx, const char *pem, initra_err *err)
{
    server_check *sc = ctx;
    initra_ratls_peer peer;
    init_trace("server certificate received (in the handshake)");
    if (initra_ratls_verify_peer(sc->verifier, pem, time(NULL), &peer, err) == 0) {
        initra_evidence ev = {&peer.report, peer.status, peer.advisory_ptrs, peer.n_advisories,
                              peer.collateral_expired, peer.tcb_eval_data_number};
        if (initra_policy_check(sc->policy, &ev, err) == 0) {
            init_trace("server evidence verified (in the handshake)");
            return 0;
        }
    }
    sc->refused = 1;
    snprintf(sc->why, sizeof sc->why, "%s", err->msg);
    return -1;
}

long init_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

int init_backoff(const initra_init_conf *c, long deadline, long *backoff)
{
    if (init_now_ms() + *backoff >= deadline) return -1;
    struct timespec ts = {*backoff / 1000, (*backoff % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
    *backoff = *backoff * 2 > (long)c->max_backoff_ms ? (long)c->max_backoff_ms : *backoff * 2;
    return 0;
}

unsigned init_call_ms(const initra_init_conf *c, long deadline)
{
    long left = deadline - init_now_ms();
    return left < (long)c->call_timeout_ms ? (unsigned)(left > 1 ? left : 1) : c->call_timeout_ms;
}

int init_write_keys(const initra_init_conf *c, uint8_t *const *data, const size_t *lens, int *n_written,
                    initra_err *err)
{
    initra_secret_file *files = calloc(c->n_keys, sizeof *files);
    if (!files) return initra_fail(err, "out of memory");
    for (size_t i = 0; i < c->n_keys; i++) files[i] = (initra_secret_file){c->keys[i].path, data[i], lens[i]};
    int rc = init_write_secret_files(files, c->n_keys, err);
    free(files);
    if (rc == 0) *n_written = (int)c->n_keys;
    return rc;
}

/* With "config_binding": "config_id" the attached /etc/init_ra_conf.json is not measured: the bytes
 * parsed must hash to this enclave's own CONFIGID, read from a quote of itself (its provider is the
 * hardware one wherever that exists, initra_attest_detect). */
static int check_config_binding(initra_attester *a, const char *conf, const initra_init_conf *c, initra_err *err)
{
    uint8_t *text;
    size_t n;
    if (initra_read_file(INITRA_BINDING_FILE, 64, &text, &n, err)) return 0; /* measured (no file) */
    int bound = n >= 9 && !memcmp(text, "config_id", 9);
    free(text);
    if (!bound) return 0;
    uint8_t rd[64] = {0}, *q = NULL;
    size_t qlen;
    initra_quote pq;
    if (initra_attest_quote(a, rd, &q, &qlen, err) || initra_quote_parse(q, qlen, &pq, err) ||
        (pq.body_type != INITRA_BODY_SGX && initra_fail(err, "the provider's quote is not an SGX enclave's"))) {
        free(q);
        initra_fail_prefix(err, "config binding: cannot read this enclave's CONFIGID");
        return -1;
    }
    int rc = initra_config_id_compare(conf, c->sha512, pq.enclave.config_id, err);
    free(q);
    return rc;
}

void init_trace(const char *what)
{
    static long t0 = -1;
    static int on = -1;
    if (on < 0) on = getenv("INITRA_INIT_TRACE") != NULL;
    if (!on) return;
    if (t0 < 0) t0 = init_now_ms();
    fprintf(stderr, "init-trace %4ld ms %s\n", init_now_ms() - t0, what);
}

/* Occlum's two-stage boot: image_config.json beside the conf. With an encrypted image the key list gets
 * image_key first (Occlum's inits fetch it first too), through the same verified connection. */
static int occlum_keys(const char *conf_path, const initra_init_conf *c, initra_init_conf *out,
                       initra_init_key **keys, initra_err *err)
{
    char path[PATH_MAX];
    const char *slash = strrchr(conf_path, '/');
    int dl = slash ? (int)(slash - conf_path) : 1;
    if ((size_t)snprintf(path, sizeof path, "%.*s/%s", dl, slash ? conf_path : ".", INITRA_IMAGE_CONFIG_FILE) >=
        sizeof path)
        return initra_fail(err, "init: %s: path too long", conf_path);
    *out = *c;
    *keys = NULL;
    if (initra_image_config_load(path, &out->occlum_image, err)) return initra_fail_prefix(err, "init");
    if (out->occlum_image != INITRA_IMAGE_ENCRYPTED) return 0;
    if (!(*keys = calloc(c->n_keys + 1, sizeof **keys))) return initra_fail(err, "out of memory");
    (*keys)[0] = (initra_init_key){INITRA_IMAGE_KEY_NAME, NULL, INITRA_IMAGE_KEY_SERVICE, 0};
    if (c->n_keys) memcpy(*keys + 1, c->keys, c->n_keys * sizeof **keys);
    out->keys = *keys;
    out->n_keys = c->n_keys + 1;
    return 0;
}

static int fetch_grpc(initra_attester *a, const char *conf_path, const initra_init_conf *c, unsigned flags,
                      int *n_written, initra_err *err);

int initra_init_fetch(const char *conf_path, const initra_init_conf *user, unsigned flags, int *n_written,
                      initra_err *err)
{
    init_trace("start");
    initra_err e;
    initra_init_conf occ;
    initra_init_key *keys = NULL;
    if (occlum_keys(conf_path, user, &occ, &keys, err)) return -1;
    initra_attester *a = initra_attest_detect(&e);
    if (!a) {
        free(keys);
        return initra_fail(err, "init: %s", e.msg);
    }
    int rc = 0;
    if (occ.occlum_image == INITRA_IMAGE_NONE && !strcmp(initra_attest_name(a), "occlum"))
        rc = initra_fail(err, "init: this is Occlum (its /dev/sgx quotes), but %.*s/" INITRA_IMAGE_CONFIG_FILE " is "
                              "missing: Occlum's build writes it into initfs/etc/, and without MountRootFS the "
                              "application cannot start; rebuild the instance with `occlum build`",
                         (int)(strrchr(conf_path, '/') ? strrchr(conf_path, '/') - conf_path : 1),
                         strrchr(conf_path, '/') ? conf_path : ".");
    if (!rc) rc = check_config_binding(a, conf_path, &occ, err);
    if (rc) initra_attest_free(a);
    else if (occ.flavour == INITRA_INIT_AECS) rc = init_fetch_aecs(a, conf_path, &occ, flags, n_written, err);
    else rc = fetch_grpc(a, conf_path, &occ, flags, n_written, err);
    free(keys);
    return rc;
}

static int fetch_grpc(initra_attester *a, const char *conf_path, const initra_init_conf *c, unsigned flags,
                      int *n_written, initra_err *err)
{
    int rc = -1;
    initra_err e;
    char ref[128];
    initra_ratls_verifier_opts vo = {.trust_roots = (const char *const *)c->trust_roots,
                                     .n_trust_roots = c->n_trust_roots,
                                     .collateral = c->collateral,
                                     .pccs_url = c->pccs_url,
                                     .pccs_ca = c->pccs_ca};
    server_check sc = {NULL, c->server_policy, 0, ""};
    char *cert = NULL, *key = NULL;
    initra_rpc_client *cl = NULL;
    uint8_t **data = calloc(c->n_keys, sizeof *data);
    size_t *lens = calloc(c->n_keys, sizeof *lens);
    if (!data || !lens) {
        initra_fail(err, "out of memory");
        goto done;
    }
    init_trace("attester and config binding");
    if (!c->collateral && !c->pccs_url) {
        initra_fail(err, "init: %s names no collateral source for verifying the KMS server: set \"initra\": "
                         "{\"collateral\": FILE} or {\"pccs_url\": URL} ($PCCS_URL and the qcnl file are not used inside "
                         "an enclave)", conf_path);
        goto done;
    }
    if (!(sc.verifier = initra_ratls_verifier_new(&vo, err))) {
        initra_fail_prefix(err, "init: cannot verify the KMS server (set \"initra\": {\"collateral\" or \"pccs_url\", "
                                "\"trust_roots\"} in %s)", conf_path);
        goto done;
    }
    init_trace("verifier (roots, collateral)");
    if (initra_ratls_create(initra_attest_quote_cb, a, c->ratls_format ? c->ratls_format : INITRA_RATLS_DEFAULT_FORMAT, 3600,
                            &cert, &key, err)) goto done;
    init_trace("RA-TLS key, quote and certificate");
    initra_rpc_tls tls = {.cert_chain_pem = cert, .key_pem = key, .verify = verify_server, .verify_ctx = &sc};
    if (!(cl = initra_rpc_client_new(c->kms_server, &tls, err))) goto done;
    init_trace("channel created");
    long deadline = init_now_ms() + c->deadline_ms, backoff = c->initial_backoff_ms;
    for (size_t i = 0; i < c->n_keys; i++) {
        Ratls__SecretRequest req = RATLS__SECRET_REQUEST__INIT;
        req.name = c->keys[i].key;
        uint8_t buf[512];
        size_t blen = ratls__secret_request__get_packed_size(&req);
        if (blen > sizeof buf) {
            initra_fail(err, "init: key name \"%.64s...\" is too long", c->keys[i].key);
            goto done;
        }
        ratls__secret_request__pack(&req, buf);
        for (;;) {
            uint8_t *resp = NULL;
            size_t rlen = 0;
            int code = 0;
            unsigned call_ms = init_call_ms(c, deadline);
            if (initra_rpc_call(cl, GETSECRET, buf, blen, call_ms, &resp, &rlen, &code, &e) == 0) {
                Ratls__SecretReply *r = ratls__secret_reply__unpack(NULL, rlen, resp);
                initra_err derr;
                snprintf(derr.msg, sizeof derr.msg, "it is not a SecretReply message");
                int ok = r && r->secret && init_grsecret_decode(r->secret, &data[i], &lens[i], &derr) == 0;
                if (r && r->secret) initra_zero(r->secret, strlen(r->secret));
                if (r) ratls__secret_reply__free_unpacked(r, NULL);
                initra_free_secret(resp, rlen);
                if (!ok) {
                    initra_fail(err, "init: key \"%s\": the KMS reply's secret is not (quoted) padded base64: %s",
                                c->keys[i].key, derr.msg);
                    goto done;
                }
                init_trace(i == 0 ? "connected, first key" : "key");
                break;
            }
            if (sc.refused) {
                initra_fail(err, "init: KMS server %s refused: its evidence does not satisfy ra_config: %s",
                            c->kms_server, sc.why);
                goto done;
            }
            if (code == INITRA_RPC_PERMISSION_DENIED || code == INITRA_RPC_UNAUTHENTICATED) {
                initra_fail(err, "init: this enclave was refused by the KMS for key \"%s\" (%s); the KMS log says "
                                 "which policy field failed",
                            c->keys[i].key, e.msg);
                goto done;
            }
            if (code == INITRA_RPC_NOT_FOUND) {
                initra_fail(err, "init: the KMS has no key named \"%s\" (%s in %s)", c->keys[i].key,
                            init_key_ref(c, i, ref, sizeof ref), conf_path);
                goto done;
            }
            if (code == INITRA_RPC_CANCELLED) {
                initra_fail(err, "init: the KMS cancelled the call for key \"%s\" (Occlum's server does so for a name "
                                 "it does not have: check %s in %s)",
                            c->keys[i].key, init_key_ref(c, i, ref, sizeof ref), conf_path);
                goto done;
            }
            if (code != INITRA_RPC_UNAVAILABLE && code != INITRA_RPC_DEADLINE_EXCEEDED) {
                initra_fail(err, "init: key \"%s\": %s", c->keys[i].key, e.msg);
                goto done;
            }
            if (init_backoff(c, deadline, &backoff)) {
                initra_fail(err, "init: KMS server %s unreachable for %u ms (last error: %s); check kms_server or %s",
                            c->kms_server, c->deadline_ms, e.msg, INITRA_KMS_SERVER_ENV);
                goto done;
            }
        }
    }
    rc = init_finish(a, c, data, lens, n_written, err);
    if (rc == 0) init_trace("files written");
done:
    init_trace("cleanup begins");
    for (size_t i = 0; data && i < c->n_keys; i++) initra_free_secret(data[i], lens[i]);
    free(data);
    free(lens);
    if (key) initra_free_secret(key, strlen(key));
    free(cert);
    if (rc == 0 && (flags & INITRA_INIT_EXITING)) {
        /* The process exits next: every secret and the private key are wiped; skip gRPC's teardown. */
        init_trace("cleanup skipped (exiting)");
        return rc;
    }
    initra_rpc_client_free(cl);
    initra_ratls_verifier_free(sc.verifier);
    initra_attest_free(a);
    init_trace("cleanup done");
    return rc;
}
