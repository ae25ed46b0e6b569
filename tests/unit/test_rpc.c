/* rpc transport over real sockets on 127.0.0.1: mutual TLS with callback-only peer verification,
 * refusals on both sides, deadlines, statuses, plaintext mode, concurrency over new connections. */
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <time.h>

#include "check.h"
#include "initra/rpc.h"

typedef struct {
    char *cert;
    char *key;
} ident;

static char *bio_string(BIO *b)
{
    char *data;
    long n = BIO_get_mem_data(b, &data);
    char *s = malloc((size_t)n + 1);
    memcpy(s, data, (size_t)n);
    s[n] = 0;
    return s;
}

/* A fresh self-signed EC P-256 certificate, valid for an hour. */
static ident make_ident(const char *cn)
{
    ident id = {0};
    EVP_PKEY *k = EVP_EC_gen("P-256");
    X509 *x = X509_new();
    X509_set_version(x, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x), (long)(time(NULL) & 0x7fffffff));
    X509_gmtime_adj(X509_getm_notBefore(x), -60);
    X509_gmtime_adj(X509_getm_notAfter(x), 3600);
    X509_NAME *name = X509_get_subject_name(x);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0);
    X509_set_issuer_name(x, name);
    X509_set_pubkey(x, k);
    X509_sign(x, k, EVP_sha256());
    BIO *b = BIO_new(BIO_s_mem());
    PEM_write_bio_X509(b, x);
    id.cert = bio_string(b);
    BIO_free(b);
    b = BIO_new(BIO_s_mem());
    PEM_write_bio_PrivateKey(b, k, NULL, NULL, 0, NULL, NULL);
    id.key = bio_string(b);
    BIO_free(b);
    X509_free(x);
    EVP_PKEY_free(k);
    return id;
}

/* verify callback: accepts exactly the pinned certificate; counts its calls (= handshakes). */
typedef struct {
    const char *pinned;
    atomic_int calls;
} pin;

static int verify_pin(void *ctx, const char *pem, initra_err *err)
{
    pin *p = ctx;
    atomic_fetch_add(&p->calls, 1);
    if (strcmp(pem, p->pinned) != 0) return initra_fail(err, "peer certificate is not the pinned one");
    return 0;
}

/* The test server's handler: Echo returns "echo:" + request and remembers the client's certificate. */
static pthread_mutex_t seen_mu = PTHREAD_MUTEX_INITIALIZER;
static char *seen_pem;
static int seen_null_pem;

static void handler(void *ctx, const initra_rpc_request *q, initra_rpc_reply *r)
{
    (void)ctx;
    if (!strcmp(q->method, "/test.T/Echo")) {
        pthread_mutex_lock(&seen_mu);
        free(seen_pem);
        seen_pem = q->peer_pem ? strdup(q->peer_pem) : NULL;
        seen_null_pem = q->peer_pem == NULL;
        pthread_mutex_unlock(&seen_mu);
        r->resp_len = 5 + q->req_len;
        r->resp = malloc(r->resp_len);
        memcpy(r->resp, "echo:", 5);
        if (q->req_len) memcpy(r->resp + 5, q->req, q->req_len);
    } else if (!strcmp(q->method, "/test.T/Empty")) {
        /* OK with no response bytes */
    } else if (!strcmp(q->method, "/test.T/Sleep")) {
        struct timespec ts = {1, 500000000};
        nanosleep(&ts, NULL);
    } else if (!strcmp(q->method, "/test.T/NotFound")) {
        r->code = INITRA_RPC_NOT_FOUND;
        snprintf(r->msg, sizeof r->msg, "no secret named 'x'");
    } else if (!strcmp(q->method, "/test.T/Denied")) {
        r->code = INITRA_RPC_PERMISSION_DENIED;
        snprintf(r->msg, sizeof r->msg, "caller not allowed");
        r->resp = malloc(4); /* must be dropped, not sent */
        r->resp_len = 4;
        memcpy(r->resp, "leak", 4);
    } else if (!strcmp(q->method, "/test.T/Busy")) {
        r->code = INITRA_RPC_UNAVAILABLE;
        snprintf(r->msg, sizeof r->msg, "try later");
    } else {
        r->code = INITRA_RPC_UNIMPLEMENTED;
        snprintf(r->msg, sizeof r->msg, "no method %s", q->method);
    }
}

static ident S, C, X;
static char target[64];

/* One call on a fresh client; returns the status code, response in *resp (caller frees). */
static int call_once(const initra_rpc_tls *tls, const char *method, const char *req, unsigned ms, uint8_t **resp,
                     size_t *n, initra_err *err)
{
    initra_rpc_client *c = initra_rpc_client_new(target, tls, err);
    if (!c) return -100;
    int code = -1;
    initra_rpc_call(c, method, (const uint8_t *)req, strlen(req), ms, resp, n, &code, err);
    initra_rpc_client_free(c);
    return code;
}

typedef struct {
    int ok;
    pin *server_pin;
} worker_arg;

static void *worker(void *arg)
{
    worker_arg *w = arg;
    pin sp = {.pinned = S.cert};
    initra_rpc_tls t = {.cert_chain_pem = C.cert, .key_pem = C.key, .verify = verify_pin, .verify_ctx = &sp};
    for (int i = 0; i < 5; i++) {
        uint8_t *resp;
        size_t n;
        initra_err err = {{0}};
        int code = call_once(&t, "/test.T/Echo", "concurrent", 5000, &resp, &n, &err);
        if (code == INITRA_RPC_OK && n == 15 && !memcmp(resp, "echo:concurrent", 15)) w->ok++;
        else fprintf(stderr, "worker call failed: %s\n", err.msg);
        free(resp);
    }
    return NULL;
}

typedef struct {
    const initra_rpc_tls *tls;
    int code;
    initra_err err;
} sleep_arg;

static void *sleep_call(void *arg)
{
    sleep_arg *a = arg;
    uint8_t *resp = NULL;
    size_t n;
    a->code = call_once(a->tls, "/test.T/Sleep", "", 10000, &resp, &n, &a->err);
    free(resp);
    return NULL;
}

int main(void)
{
    S = make_ident("initra-test-server");
    C = make_ident("initra-test-client");
    X = make_ident("initra-test-stranger");
    initra_err err = {{0}};
    uint8_t *resp = NULL;
    size_t n = 0;
    int code;

    /* Server: accepts client C only. */
    pin server_pin = {.pinned = C.cert};
    initra_rpc_server_opts so = {
        .listen = "127.0.0.1:0",
        .tls = {.cert_chain_pem = S.cert, .key_pem = S.key, .verify = verify_pin, .verify_ctx = &server_pin},
        .handler = handler,
    };
    initra_rpc_server *srv = initra_rpc_server_start(&so, &err);
    CHECK(srv != NULL, "TLS server starts on port 0 (%s)", err.msg);
    if (!srv) CHECK_DONE();
    int port = initra_rpc_server_port(srv);
    CHECK(port > 0, "server reports its bound port %d", port);
    snprintf(target, sizeof target, "127.0.0.1:%d", port);

    /* Mutual TLS, client pins the server. */
    pin client_pin = {.pinned = S.cert};
    initra_rpc_tls ct = {.cert_chain_pem = C.cert, .key_pem = C.key, .verify = verify_pin, .verify_ctx = &client_pin};
    initra_rpc_client *cli = initra_rpc_client_new(target, &ct, &err);
    CHECK(cli != NULL, "client created (%s)", err.msg);
    int hs_before = atomic_load(&server_pin.calls);
    const uint8_t bin[] = {'a', 0, 'b', 0xff};
    code = -1;
    int rc = initra_rpc_call(cli, "/test.T/Echo", bin, sizeof bin, 5000, &resp, &n, &code, &err);
    CHECK(rc == 0 && code == INITRA_RPC_OK, "mutual TLS unary call works (%s)", err.msg);
    CHECK(n == 9 && resp && !memcmp(resp, "echo:", 5) && !memcmp(resp + 5, bin, 4),
          "binary request bytes arrive and the reply comes back byte-exact (%zu bytes)", n);
    free(resp);
    pthread_mutex_lock(&seen_mu);
    CHECK(seen_pem && !strcmp(seen_pem, C.cert), "the handler sees the client's certificate PEM");
    pthread_mutex_unlock(&seen_mu);
    int ok3 = 1;
    for (int i = 0; i < 3; i++) {
        rc = initra_rpc_call(cli, "/test.T/Echo", (const uint8_t *)"x", 1, 5000, &resp, &n, &code, &err);
        ok3 &= rc == 0 && n == 6;
        free(resp);
    }
    CHECK(ok3, "three more calls on the same client work");
    CHECK(atomic_load(&server_pin.calls) - hs_before == 1,
          "four calls on one client made one handshake (server verified %d times)",
          atomic_load(&server_pin.calls) - hs_before);
    CHECK(atomic_load(&client_pin.calls) == 1, "the client verified the server once (%d)", atomic_load(&client_pin.calls));

    rc = initra_rpc_call(cli, "/test.T/Empty", NULL, 0, 5000, &resp, &n, &code, &err);
    CHECK(rc == 0 && n == 0 && resp == NULL, "an empty reply arrives as 0 bytes");

    /* Statuses from the handler reach the client with their message. */
    rc = initra_rpc_call(cli, "/test.T/NotFound", NULL, 0, 5000, &resp, &n, &code, &err);
    CHECK(rc == -1 && code == INITRA_RPC_NOT_FOUND && strstr(err.msg, "NOT_FOUND: no secret named 'x'") &&
              strstr(err.msg, "/test.T/NotFound"),
          "NOT_FOUND and its message reach the client: %s", err.msg);
    rc = initra_rpc_call(cli, "/test.T/Denied", NULL, 0, 5000, &resp, &n, &code, &err);
    CHECK(rc == -1 && code == INITRA_RPC_PERMISSION_DENIED && strstr(err.msg, "PERMISSION_DENIED: caller not allowed") &&
              resp == NULL && n == 0,
          "PERMISSION_DENIED reaches the client without a body: %s", err.msg);
    rc = initra_rpc_call(cli, "/test.T/Busy", NULL, 0, 5000, &resp, &n, &code, &err);
    CHECK(rc == -1 && code == INITRA_RPC_UNAVAILABLE && strstr(err.msg, "UNAVAILABLE: try later") &&
              !strstr(err.msg, "unreachable"),
          "an UNAVAILABLE sent by the handler is not reported as unreachable: %s", err.msg);
    rc = initra_rpc_call(cli, "/test.T/Nope", NULL, 0, 5000, &resp, &n, &code, &err);
    CHECK(code == INITRA_RPC_UNIMPLEMENTED, "unknown method: UNIMPLEMENTED from the handler: %s", err.msg);

    /* Deadlines. */
    rc = initra_rpc_call(cli, "/test.T/Sleep", NULL, 0, 300, &resp, &n, &code, &err);
    CHECK(rc == -1 && code == INITRA_RPC_DEADLINE_EXCEEDED && strstr(err.msg, "no reply within 300 ms"),
          "a handler sleeping past the deadline: DEADLINE_EXCEEDED: %s", err.msg);
    rc = initra_rpc_call(cli, "/test.T/Echo", NULL, 0, 0, &resp, &n, &code, &err);
    CHECK(rc == -1 && strstr(err.msg, "deadline"), "a call without a deadline is refused: %s", err.msg);
    err.msg[0] = 0;
    rc = initra_rpc_call(cli, "/test.T/Echo", (const uint8_t *)"y", 1, 5000, &resp, &n, &code, &err);
    CHECK(rc == 0, "the channel still works after a deadline (%s)", err.msg);
    free(resp);
    initra_rpc_client_free(cli);

    /* The client's callback refuses the server. */
    pin wrong = {.pinned = X.cert};
    initra_rpc_tls refuse_server = {.cert_chain_pem = C.cert, .key_pem = C.key, .verify = verify_pin, .verify_ctx = &wrong};
    code = call_once(&refuse_server, "/test.T/Echo", "z", 5000, &resp, &n, &err);
    CHECK(code == INITRA_RPC_UNAVAILABLE && strstr(err.msg, "server certificate refused: peer certificate is not the pinned one"),
          "client refusing the server certificate: UNAVAILABLE with the reason: %s", err.msg);

    /* The server's callback refuses the client. */
    pin ok_server = {.pinned = S.cert};
    initra_rpc_tls stranger = {.cert_chain_pem = X.cert, .key_pem = X.key, .verify = verify_pin, .verify_ctx = &ok_server};
    code = call_once(&stranger, "/test.T/Echo", "z", 5000, &resp, &n, &err);
    CHECK(code == INITRA_RPC_UNAVAILABLE && strstr(err.msg, "unreachable or TLS handshake failed"),
          "server refusing the client certificate: the call fails: %s", err.msg);

    /* A client without a certificate. */
    initra_rpc_tls nocert = {.verify = verify_pin, .verify_ctx = &ok_server};
    code = call_once(&nocert, "/test.T/Echo", "z", 5000, &resp, &n, &err);
    CHECK(code == INITRA_RPC_UNAVAILABLE && strstr(err.msg, "unreachable or TLS handshake failed"),
          "a client without a certificate is refused: %s", err.msg);

    /* Plaintext client to the TLS server. */
    initra_rpc_tls plain = {.insecure = 1};
    code = call_once(&plain, "/test.T/Echo", "z", 5000, &resp, &n, &err);
    CHECK(code == INITRA_RPC_UNAVAILABLE, "a plaintext client cannot talk to the TLS server: %s", err.msg);

    /* 8 concurrent clients, each call on a new connection. */
    pthread_t th[8];
    worker_arg wa[8];
    for (int i = 0; i < 8; i++) {
        wa[i] = (worker_arg){0};
        pthread_create(&th[i], NULL, worker, &wa[i]);
    }
    int total = 0;
    for (int i = 0; i < 8; i++) {
        pthread_join(th[i], NULL);
        total += wa[i].ok;
    }
    CHECK(total == 40, "8 concurrent threads x 5 calls over new connections: %d/40 succeeded", total);

    /* Stopping while a handler runs: stop returns once it finished, the client gets an error. */
    pthread_t sleeper;
    sleep_arg sa = {.tls = &ct};
    pthread_create(&sleeper, NULL, sleep_call, &sa);
    struct timespec ts = {0, 300000000};
    nanosleep(&ts, NULL); /* let the call reach the handler (if not, it fails anyway: same check) */
    initra_rpc_server_stop(srv);
    pthread_join(sleeper, NULL);
    CHECK(sa.code != INITRA_RPC_OK, "a call in flight when the server stops fails: %s", sa.err.msg);

    code = call_once(&ct, "/test.T/Echo", "z", 3000, &resp, &n, &err);
    CHECK(code == INITRA_RPC_UNAVAILABLE && strstr(err.msg, "unreachable"), "stopped server: unreachable: %s", err.msg);

    /* Plaintext mode. */
    initra_rpc_server_opts po = {.listen = "127.0.0.1:0", .tls = {.insecure = 1}, .handler = handler, .threads = 2};
    srv = initra_rpc_server_start(&po, &err);
    CHECK(srv != NULL, "plaintext server starts (%s)", err.msg);
    if (srv) {
        snprintf(target, sizeof target, "127.0.0.1:%d", initra_rpc_server_port(srv));
        code = call_once(&plain, "/test.T/Echo", "p", 5000, &resp, &n, &err);
        CHECK(code == INITRA_RPC_OK && n == 6 && !memcmp(resp, "echo:p", 6), "plaintext call works (%s)", err.msg);
        free(resp);
        pthread_mutex_lock(&seen_mu);
        CHECK(seen_null_pem, "plaintext: the handler gets no peer certificate");
        pthread_mutex_unlock(&seen_mu);
        code = call_once(&ct, "/test.T/Echo", "p", 3000, &resp, &n, &err);
        CHECK(code == INITRA_RPC_UNAVAILABLE, "a TLS client cannot talk to the plaintext server: %s", err.msg);
        initra_rpc_server_stop(srv);
    }

    /* Configuration errors. */
    initra_rpc_tls noverify = {.cert_chain_pem = C.cert, .key_pem = C.key};
    CHECK(initra_rpc_client_new("127.0.0.1:1", &noverify, &err) == NULL && strstr(err.msg, "no verify callback"),
          "TLS without a verify callback is refused: %s", err.msg);
    initra_rpc_tls mismatch = {.cert_chain_pem = C.cert, .key_pem = S.key, .verify = initra_rpc_accept_any};
    CHECK(initra_rpc_client_new("127.0.0.1:1", &mismatch, &err) == NULL && strstr(err.msg, "does not belong"),
          "a key that does not match the certificate is refused: %s", err.msg);
    initra_rpc_tls garbage = {.cert_chain_pem = "not pem", .key_pem = S.key, .verify = initra_rpc_accept_any};
    CHECK(initra_rpc_client_new("127.0.0.1:1", &garbage, &err) == NULL && strstr(err.msg, "not PEM"),
          "a certificate that is not PEM is refused: %s", err.msg);
    initra_rpc_server_opts bad = so;
    bad.listen = "256.1.1.1:99999";
    CHECK(initra_rpc_server_start(&bad, &err) == NULL && strstr(err.msg, "cannot listen on 256.1.1.1:99999"),
          "a bad listen address is refused: %s", err.msg);
    initra_rpc_server_opts nocert_srv = so;
    nocert_srv.tls.cert_chain_pem = NULL;
    CHECK(initra_rpc_server_start(&nocert_srv, &err) == NULL && strstr(err.msg, "needs a certificate"),
          "a TLS server without a certificate is refused: %s", err.msg);

    free(seen_pem);
    ident all[3] = {S, C, X};
    for (int i = 0; i < 3; i++) {
        free(all[i].cert);
        free(all[i].key);
    }
    CHECK_DONE();
}
