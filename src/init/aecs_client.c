/* The AECS Init-RA client (docs/aecs.md): one RSA-2048 key and one Passport report of this enclave for
 * every request (the key is generated on a thread while the verifier and the channel are set up); each request carries a fresh nonce that the envelope must echo; the server's Passport is
 * always verified (full DCAP from its embedded collateral, its key signs the envelope) and matched against
 * ra_config's ua_policy_*. Unreachable servers are left for the next one in kms_server's list and retried
 * with backoff (failover.c); every key is written or none. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "initra/aecs.h"
#include "initra/dcap.h"
#include "initra/rpc.h"
#include "init/internal.h"

typedef struct {
    EVP_PKEY *key;
    initra_err err;
} keygen;

static void *keygen_run(void *arg)
{
    keygen *g = arg;
    g->key = initra_aecs_session_key(&g->err);
    return NULL;
}

/* One key: a fresh nonce, the call (on failover's current server, moving on while servers are
 * unreachable, see failover.c), the response opened. *rpc is the channel to f->cur (made here when NULL). */
static int fetch_one(const initra_aecs_client *ac, initra_rpc_client **rpc, const char *conf_path,
                     const initra_init_conf *c, size_t i, init_failover *f, uint8_t **data, size_t *len,
                     initra_err *err)
{
    const initra_init_key *k = &c->keys[i];
    for (;;) {
        int code;
        initra_err e;
        char ref[128], before[320];
        const char *at = c->servers[f->cur];
        if (!*rpc) {
            initra_rpc_tls plain = {.insecure = 1};
            if (!(*rpc = initra_rpc_client_new(at, &plain, err))) return -1;
        }
        if (initra_aecs_get_secret(ac, *rpc, k->service, k->key, init_call_ms(c, f->deadline), data, len, &code, &e) == 0)
            return 0;
        if (code < 0) return *err = e, -1;
        init_failover_before(f, before, sizeof before);
        if (code == 0)
            return initra_fail(err, "init: AECS server %s refused for key \"%s\": %s%s", at, k->key, e.msg, before);
        if (code == INITRA_RPC_PERMISSION_DENIED)
            return initra_fail(err, "init: this enclave was refused by the AECS server for key \"%s\" of service \"%s\" "
                                    "(%s in %s): %s%s",
                               k->key, k->service, init_key_ref(c, i, ref, sizeof ref), conf_path, e.msg, before);
        if (code == INITRA_RPC_NOT_FOUND)
            return initra_fail(err, "init: the AECS server has no key \"%s\" in service \"%s\" (%s in %s)%s", k->key,
                               k->service, init_key_ref(c, i, ref, sizeof ref), conf_path, before);
        if (!init_failover_moves_on(code)) return initra_fail(err, "init: key \"%s\": %s%s", k->key, e.msg, before);
        size_t was = f->cur;
        if (init_failover_next(f, code, e.msg, err)) return -1;
        if (f->cur != was) {
            initra_rpc_client_free(*rpc);
            *rpc = NULL;
        }
    }
}

/* encode: "base64": the secret string is base64 text of the bytes to write. */
static int decode_key(const initra_init_key *k, uint8_t **data, size_t *len, initra_err *err)
{
    uint8_t *raw;
    size_t n;
    initra_err e;
    int rc = initra_b64_decode((const char *)*data, &raw, &n, &e);
    initra_free_secret(*data, *len);
    *data = NULL;
    *len = 0;
    if (rc) return initra_fail(err, "init: key \"%s\" has \"encode\": \"base64\" but the secret is not base64", k->key);
    *data = raw;
    *len = n;
    return 0;
}

int init_fetch_aecs(initra_attester *a, const char *conf_path, const initra_init_conf *c, unsigned flags,
                    int *n_written, const char **server, initra_err *err)
{
    int rc = -1;
    initra_dcap *dcap = NULL;
    EVP_PKEY *key = NULL;
    char *pem = NULL;
    initra_ua_auth_report self;
    memset(&self, 0, sizeof self);
    initra_rpc_client *rpc = NULL;
    keygen kg = {NULL, {{0}}};
    pthread_t kt;
    int kt_running = 0;
    uint8_t **data = calloc(c->n_keys, sizeof *data);
    size_t *lens = calloc(c->n_keys, sizeof *lens);
    if (!data || !lens) {
        initra_fail(err, "out of memory");
        goto done;
    }
    kt_running = pthread_create(&kt, NULL, keygen_run, &kg) == 0;
    if (!kt_running) keygen_run(&kg);
    if (!(dcap = initra_dcap_new(err))) goto done;
    for (size_t i = 0; i < c->n_trust_roots; i++)
        if (initra_dcap_add_root_file(dcap, c->trust_roots[i], err)) {
            initra_fail_prefix(err, "init: %s: initra.trust_roots", conf_path);
            goto done;
        }
    init_trace("verifier");
    if (kt_running) pthread_join(kt, NULL);
    kt_running = 0;
    if (!(key = kg.key)) {
        initra_fail(err, "init: %s", kg.err.msg);
        goto done;
    }
    kg.key = NULL;
    if (!(pem = initra_aecs_rsa_public_pem(key, err))) goto done;
    init_trace("RSA-2048 key");
    /* Collateral for our own report: ua_env_pccs_url, else initra.collateral, else a PCCS named in the file
     * (never the environment: UA_ENV_PCCS_URL is the host's inside an enclave). */
    initra_ua_collateral_src src = {dcap, c->ua_pccs_url ? NULL : c->collateral,
                                    c->ua_pccs_url     ? c->ua_pccs_url
                                    : c->pccs_url      ? c->pccs_url
                                                       : c->ua_dcap_pccs_url,
                                    NULL, 0};
    if (initra_ua_report_create(initra_attest_quote_cb, a, initra_ua_collateral_from_src, &src, "", pem, &self, err)) {
        initra_fail_prefix(err, "init: this enclave's Passport report (set ua_env_pccs_url or \"initra\": "
                                "{\"collateral\"} in %s)",
                           conf_path);
        goto done;
    }
    init_trace("Passport report (quote, collateral)");
    initra_ua_dcap_ctx vctx = {.dcap = dcap};
    initra_aecs_client ac = {key, &self, initra_ua_dcap_verify, &vctx, c->ua_policy_set ? &c->ua_policy : NULL};
    init_failover f;
    init_failover_start(&f, c, 1, stderr);
    for (size_t i = 0; i < c->n_keys; i++) {
        if (fetch_one(&ac, &rpc, conf_path, c, i, &f, &data[i], &lens[i], err)) goto done;
        if (c->keys[i].base64 && decode_key(&c->keys[i], &data[i], &lens[i], err)) goto done;
        init_trace(i == 0 ? "connected, first key" : "key");
    }
    rc = init_finish(a, c, data, lens, n_written, err);
    if (rc == 0) init_trace("files written");
    if (rc == 0 && server) *server = c->servers[f.cur];
done:
    if (kt_running) pthread_join(kt, NULL);
    EVP_PKEY_free(kg.key);
    for (size_t i = 0; data && i < c->n_keys; i++) initra_free_secret(data[i], lens[i]);
    free(data);
    free(lens);
    EVP_PKEY_free(key);
    free(pem);
    if (rc == 0 && (flags & INITRA_INIT_EXITING)) return rc; /* the process exits next: skip gRPC's teardown */
    initra_rpc_client_free(rpc);
    initra_ua_auth_report_free(&self);
    initra_dcap_free(dcap);
    initra_attest_free(a);
    return rc;
}
