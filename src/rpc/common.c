/* rpc common: gRPC library lifetime and logging, status names, TLS credentials with an external
 * certificate verifier that hands the peer's leaf certificate to the caller's callback. */
#include <grpc/support/alloc.h>
#include <grpc/support/log.h>
#include <grpc/support/string_util.h>
#include <grpc/support/time.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "rpc/internal.h"

static const char *const code_names[] = {
    "OK", "CANCELLED", "UNKNOWN", "INVALID_ARGUMENT", "DEADLINE_EXCEEDED", "NOT_FOUND",
    "ALREADY_EXISTS", "PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION", "ABORTED",
    "OUT_OF_RANGE", "UNIMPLEMENTED", "INTERNAL", "UNAVAILABLE", "DATA_LOSS", "UNAUTHENTICATED",
};

const char *initra_rpc_code_name(int code)
{
    if (code < 0 || code >= (int)(sizeof code_names / sizeof code_names[0])) return "UNKNOWN_STATUS";
    return code_names[code];
}

int initra_rpc_accept_any(void *ctx, const char *peer_leaf_pem, initra_err *err)
{
    (void)ctx, (void)peer_leaf_pem, (void)err;
    return 0;
}

/* gRPC's own logging and tracers are off whatever the environment: GRPC_VERBOSITY=debug with
 * GRPC_TRACE=secure_endpoint (or tcp, http, api ...) would print decrypted frames, secrets included, to
 * stderr, and the host sets the environment. Our errors come back through initra_err instead. gRPC reads
 * GRPC_VERBOSITY once, before its first init, and only if no verbosity was set: we set one first, and we
 * replace the log function so nothing gRPC logs reaches stderr. It reads GRPC_TRACE at every first
 * grpc_init (again after a full shutdown): every tracer is switched off after each init. */
static void quiet_log(gpr_log_func_args *args) { (void)args; }

static pthread_once_t log_once = PTHREAD_ONCE_INIT;
static void quiet_logging(void)
{
    gpr_set_log_verbosity(GPR_LOG_SEVERITY_ERROR);
    gpr_set_log_function(quiet_log);
}

void rpc_lib_ref(void)
{
    pthread_once(&log_once, quiet_logging);
    grpc_init();
    grpc_tracer_set_enabled("all", 0);
}

void rpc_lib_unref(void) { grpc_shutdown(); }

gpr_timespec rpc_deadline_ms(unsigned ms)
{
    return gpr_time_add(gpr_now(GPR_CLOCK_MONOTONIC), gpr_time_from_millis((int64_t)ms, GPR_TIMESPAN));
}

/* ---- the verifier ---- */

struct rpc_verifier {
    grpc_tls_certificate_verifier_external ext; /* user_data points back here */
    initra_rpc_verify_fn fn;
    void *ctx;
    pthread_rwlock_t lock; /* readers: verifications in progress; writer: close */
    int closed;
    atomic_int refs;       /* the owner and gRPC */
    pthread_mutex_t mu;    /* guards last */
    char last[sizeof(((initra_err *)0)->msg)];
};

static void verifier_unref(rpc_verifier *v)
{
    if (atomic_fetch_sub(&v->refs, 1) != 1) return;
    pthread_rwlock_destroy(&v->lock);
    pthread_mutex_destroy(&v->mu);
    free(v);
}

static int verifier_verify(void *user_data, grpc_tls_custom_verification_check_request *request,
                           grpc_tls_on_custom_verification_check_done_cb callback, void *callback_arg,
                           grpc_status_code *sync_status, char **sync_error_details)
{
    (void)callback, (void)callback_arg;
    rpc_verifier *v = user_data;
    const char *pem = request->peer_info.peer_cert;
    initra_err e = {{0}};
    int rc = -1;
    pthread_rwlock_rdlock(&v->lock);
    if (v->closed)
        initra_fail(&e, "the connection's owner has closed it");
    else if (!pem || !*pem)
        initra_fail(&e, "the peer presented no certificate");
    else if ((rc = v->fn(v->ctx, pem, &e)) != 0 && !e.msg[0])
        initra_fail(&e, "peer certificate refused by the verify callback (no reason given)");
    pthread_rwlock_unlock(&v->lock);
    if (rc == 0) {
        *sync_status = GRPC_STATUS_OK;
        return 1;
    }
    pthread_mutex_lock(&v->mu);
    snprintf(v->last, sizeof v->last, "%s", e.msg);
    pthread_mutex_unlock(&v->mu);
    *sync_status = GRPC_STATUS_UNAUTHENTICATED;
    *sync_error_details = gpr_strdup(e.msg);
    return 1; /* decided synchronously */
}

static void verifier_cancel(void *user_data, grpc_tls_custom_verification_check_request *request)
{
    (void)user_data, (void)request; /* verification is synchronous: nothing in flight to cancel */
}

static void verifier_destruct(void *user_data) { verifier_unref(user_data); }

static rpc_verifier *verifier_new(const initra_rpc_tls *t, initra_err *err)
{
    if (!t->verify) {
        initra_fail(err, "rpc TLS configuration: no verify callback (use initra_rpc_accept_any for plain "
                         "mutual TLS)");
        return NULL;
    }
    rpc_verifier *v = calloc(1, sizeof *v);
    if (!v) {
        initra_fail(err, "rpc: out of memory");
        return NULL;
    }
    v->fn = t->verify;
    v->ctx = t->verify_ctx;
    pthread_rwlock_init(&v->lock, NULL);
    pthread_mutex_init(&v->mu, NULL);
    atomic_init(&v->refs, 1);
    v->ext.user_data = v;
    v->ext.verify = verifier_verify;
    v->ext.cancel = verifier_cancel;
    v->ext.destruct = verifier_destruct;
    return v;
}

void rpc_verifier_close(rpc_verifier *v)
{
    if (!v) return;
    pthread_rwlock_wrlock(&v->lock); /* waits for verifications in progress */
    v->closed = 1;
    pthread_rwlock_unlock(&v->lock);
    verifier_unref(v);
}

void rpc_verifier_last_refusal(rpc_verifier *v, char *out, size_t n)
{
    if (!n) return;
    out[0] = 0;
    if (!v) return;
    pthread_mutex_lock(&v->mu);
    snprintf(out, n, "%s", v->last);
    pthread_mutex_unlock(&v->mu);
}

/* The identity last found good, by digest: a client made per connection (benchmarks, retries) skips
 * the key parse, which costs about as much as the gRPC handshake setup itself under OpenSSL 3. */
static pthread_mutex_t checked_mu = PTHREAD_MUTEX_INITIALIZER;
static unsigned char checked_digest[EVP_MAX_MD_SIZE];
static unsigned checked_len;

static int identity_digest(const initra_rpc_tls *t, unsigned char *md, unsigned *len)
{
    EVP_MD_CTX *c = EVP_MD_CTX_new();
    int ok = c && EVP_DigestInit_ex(c, EVP_sha256(), NULL) &&
             EVP_DigestUpdate(c, t->cert_chain_pem, strlen(t->cert_chain_pem) + 1) &&
             EVP_DigestUpdate(c, t->key_pem, strlen(t->key_pem)) && EVP_DigestFinal_ex(c, md, len);
    EVP_MD_CTX_free(c);
    return ok ? 0 : -1;
}

/* gRPC reads the PEM only at the first handshake; check it now so a bad file is named at startup. */
static int check_identity(const initra_rpc_tls *t, initra_err *err)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned mdlen = 0;
    if (identity_digest(t, md, &mdlen) == 0) {
        pthread_mutex_lock(&checked_mu);
        int known = checked_len == mdlen && memcmp(checked_digest, md, mdlen) == 0;
        pthread_mutex_unlock(&checked_mu);
        if (known) return 0;
    }
    int rc = -1;
    X509 *leaf = NULL;
    EVP_PKEY *key = NULL;
    BIO *b = BIO_new_mem_buf(t->cert_chain_pem, -1);
    if (b) leaf = PEM_read_bio_X509(b, NULL, NULL, NULL);
    BIO_free(b);
    b = BIO_new_mem_buf(t->key_pem, -1);
    if (b) key = PEM_read_bio_PrivateKey(b, NULL, NULL, NULL);
    BIO_free(b);
    if (!leaf)
        initra_fail(err, "rpc TLS configuration: the certificate chain is not PEM (no certificate found)");
    else if (!key)
        initra_fail(err, "rpc TLS configuration: the private key is not an unencrypted PEM key");
    else if (X509_check_private_key(leaf, key) != 1)
        initra_fail(err, "rpc TLS configuration: the private key does not belong to the first certificate "
                         "of the chain");
    else
        rc = 0;
    if (rc == 0 && mdlen) {
        pthread_mutex_lock(&checked_mu);
        memcpy(checked_digest, md, mdlen);
        checked_len = mdlen;
        pthread_mutex_unlock(&checked_mu);
    }
    ERR_clear_error();
    X509_free(leaf);
    EVP_PKEY_free(key);
    return rc;
}

/* Options shared by both sides: our identity (if any) and the external verifier. The client
 * also gets the identity certificate as its "root" so gRPC never looks for a system CA bundle (which
 * an enclave's root file system lacks); no chain verification happens on either side. */
static grpc_tls_credentials_options *tls_options(const initra_rpc_tls *t, int client, rpc_verifier **vout,
                                                 initra_err *err)
{
    *vout = NULL;
    if (t->cert_chain_pem && !t->key_pem) {
        initra_fail(err, "rpc TLS configuration: a certificate chain without its private key");
        return NULL;
    }
    if (!client && !t->cert_chain_pem) {
        initra_fail(err, "rpc TLS configuration: a TLS server needs a certificate chain and key");
        return NULL;
    }
    if (t->cert_chain_pem && check_identity(t, err) != 0) return NULL;
    rpc_verifier *v = verifier_new(t, err);
    if (!v) return NULL;
    grpc_tls_credentials_options *o = grpc_tls_credentials_options_create();
    if (t->cert_chain_pem) {
        grpc_tls_identity_pairs *pairs = grpc_tls_identity_pairs_create();
        grpc_tls_identity_pairs_add_pair(pairs, t->key_pem, t->cert_chain_pem);
        grpc_tls_certificate_provider *p =
            grpc_tls_certificate_provider_static_data_create(client ? t->cert_chain_pem : NULL, pairs);
        grpc_tls_credentials_options_set_certificate_provider(o, p);
        grpc_tls_certificate_provider_release(p);
        grpc_tls_credentials_options_watch_identity_key_cert_pairs(o);
        if (client) grpc_tls_credentials_options_watch_root_certs(o);
    }
    atomic_fetch_add(&v->refs, 1); /* gRPC's reference, dropped in verifier_destruct */
    grpc_tls_certificate_verifier *gv = grpc_tls_certificate_verifier_external_create(&v->ext);
    grpc_tls_credentials_options_set_certificate_verifier(o, gv);
    grpc_tls_certificate_verifier_release(gv);
    if (client) {
        grpc_tls_credentials_options_set_verify_server_cert(o, 0); /* the callback decides */
        grpc_tls_credentials_options_set_check_call_host(o, 0);
    } else {
        grpc_tls_credentials_options_set_cert_request_type(o, GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_BUT_DONT_VERIFY);
    }
    *vout = v;
    return o;
}

/* gRPC returns NULL for options it finds inconsistent; then the verifier goes too. */
static void *creds_made(void *creds, rpc_verifier **v, const char *side, initra_err *err)
{
    if (!creds) {
        rpc_verifier_close(*v);
        *v = NULL;
        initra_fail(err, "rpc: gRPC refused the TLS %s configuration (check the certificate and key PEM)", side);
    }
    return creds;
}

grpc_channel_credentials *rpc_channel_creds(const initra_rpc_tls *t, rpc_verifier **v, initra_err *err)
{
    *v = NULL;
    if (t->insecure) return grpc_insecure_credentials_create();
    grpc_tls_credentials_options *o = tls_options(t, 1, v, err);
    return o ? creds_made(grpc_tls_credentials_create(o), v, "client", err) : NULL; /* takes o */
}

grpc_server_credentials *rpc_server_creds(const initra_rpc_tls *t, rpc_verifier **v, initra_err *err)
{
    *v = NULL;
    if (t->insecure) return grpc_insecure_server_credentials_create();
    grpc_tls_credentials_options *o = tls_options(t, 0, v, err);
    return o ? creds_made(grpc_tls_server_credentials_create(o), v, "server", err) : NULL; /* takes o */
}
