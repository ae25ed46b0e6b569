/* Test peer for the rpc transport, driven by tests/t_rpc_interop.sh against Python grpcio.
 *   rpc_peer serve --listen ADDR --cert PEM --key PEM --secret TEXT --port-file FILE [--pin-client PEM]
 *       serves /ratls.GrSecret/GetSecret: name "demo_key" -> SecretReply{secret = TEXT}, other names
 *       NOT_FOUND; accepts any client certificate unless --pin-client names the only one accepted.
 *       Runs until SIGTERM or SIGINT.
 *   rpc_peer get --target HOST:PORT --cert PEM --key PEM --pin-server PEM --name NAME
 *       prints the SecretReply's secret; errors: one line on stderr, exit 1. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "initra/rpc.h"
#include "ratls.pb-c.h"

static const char *opt(int argc, char **argv, const char *name)
{
    for (int i = 2; i + 1 < argc; i++)
        if (!strcmp(argv[i], name)) return argv[i + 1];
    return NULL;
}

static char *slurp(const char *path)
{
    uint8_t *data;
    size_t n;
    initra_err err;
    if (!path) return NULL;
    if (initra_read_file(path, 1 << 20, &data, &n, &err) != 0) {
        fprintf(stderr, "rpc_peer: %s\n", err.msg);
        exit(2);
    }
    char *s = realloc(data, n + 1);
    s[n] = 0;
    return s;
}

static int verify_pinned(void *ctx, const char *pem, initra_err *err)
{
    if (ctx && strcmp(pem, ctx) != 0) return initra_fail(err, "not the pinned peer certificate");
    return 0;
}

static const char *secret_text;

static void get_secret(void *ctx, const initra_rpc_request *q, initra_rpc_reply *r)
{
    (void)ctx;
    if (strcmp(q->method, "/ratls.GrSecret/GetSecret") != 0) {
        r->code = INITRA_RPC_UNIMPLEMENTED;
        snprintf(r->msg, sizeof r->msg, "unknown method %s", q->method);
        return;
    }
    Ratls__SecretRequest *req = ratls__secret_request__unpack(NULL, q->req_len, q->req);
    if (!req) {
        r->code = INITRA_RPC_INVALID_ARGUMENT;
        snprintf(r->msg, sizeof r->msg, "request is not a SecretRequest");
        return;
    }
    if (strcmp(req->name, "demo_key") != 0) {
        r->code = INITRA_RPC_NOT_FOUND;
        snprintf(r->msg, sizeof r->msg, "no secret named '%.64s'", req->name);
    } else {
        Ratls__SecretReply rep = RATLS__SECRET_REPLY__INIT;
        rep.secret = (char *)secret_text;
        r->resp_len = ratls__secret_reply__get_packed_size(&rep);
        r->resp = malloc(r->resp_len);
        ratls__secret_reply__pack(&rep, r->resp);
    }
    ratls__secret_request__free_unpacked(req, NULL);
}

static int serve(int argc, char **argv)
{
    const char *listen = opt(argc, argv, "--listen"), *port_file = opt(argc, argv, "--port-file");
    secret_text = opt(argc, argv, "--secret");
    char *cert = slurp(opt(argc, argv, "--cert")), *key = slurp(opt(argc, argv, "--key"));
    char *pin = slurp(opt(argc, argv, "--pin-client"));
    if (!listen || !port_file || !secret_text || !cert || !key) {
        fprintf(stderr, "rpc_peer serve: need --listen --cert --key --secret --port-file\n");
        return 2;
    }
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    pthread_sigmask(SIG_BLOCK, &set, NULL); /* before any thread starts */
    initra_err err;
    initra_rpc_server_opts o = {
        .listen = listen,
        .tls = {.cert_chain_pem = cert, .key_pem = key, .verify = verify_pinned, .verify_ctx = pin},
        .handler = get_secret,
    };
    initra_rpc_server *s = initra_rpc_server_start(&o, &err);
    if (!s) {
        fprintf(stderr, "rpc_peer: %s\n", err.msg);
        return 1;
    }
    char port[16];
    snprintf(port, sizeof port, "%d\n", initra_rpc_server_port(s));
    if (initra_write_file_atomic(port_file, port, strlen(port), 0644, &err) != 0) {
        fprintf(stderr, "rpc_peer: %s\n", err.msg);
        initra_rpc_server_stop(s);
        return 1;
    }
    int sig;
    sigwait(&set, &sig);
    initra_rpc_server_stop(s);
    free(cert);
    free(key);
    free(pin);
    return 0;
}

static int get(int argc, char **argv)
{
    const char *target = opt(argc, argv, "--target"), *name = opt(argc, argv, "--name");
    char *cert = slurp(opt(argc, argv, "--cert")), *key = slurp(opt(argc, argv, "--key"));
    char *pin = slurp(opt(argc, argv, "--pin-server"));
    if (!target || !name || !pin) {
        fprintf(stderr, "rpc_peer get: need --target --pin-server --name [--cert --key]\n");
        return 2;
    }
    initra_err err;
    initra_rpc_tls t = {.cert_chain_pem = cert, .key_pem = key, .verify = verify_pinned, .verify_ctx = pin};
    initra_rpc_client *c = initra_rpc_client_new(target, &t, &err);
    if (!c) {
        fprintf(stderr, "rpc_peer: %s\n", err.msg);
        return 1;
    }
    Ratls__SecretRequest req = RATLS__SECRET_REQUEST__INIT;
    req.name = (char *)name;
    size_t qn = ratls__secret_request__get_packed_size(&req);
    uint8_t *q = malloc(qn ? qn : 1), *resp;
    ratls__secret_request__pack(&req, q);
    size_t n;
    int rc = initra_rpc_call(c, "/ratls.GrSecret/GetSecret", q, qn, 5000, &resp, &n, NULL, &err);
    free(q);
    initra_rpc_client_free(c);
    if (rc == 0) {
        Ratls__SecretReply *rep = ratls__secret_reply__unpack(NULL, n, resp);
        if (rep) {
            printf("%s\n", rep->secret);
            ratls__secret_reply__free_unpacked(rep, NULL);
        } else {
            rc = initra_fail(&err, "the reply is not a SecretReply");
        }
        free(resp);
    }
    if (rc != 0) fprintf(stderr, "rpc_peer: %s\n", err.msg);
    free(cert);
    free(key);
    free(pin);
    return rc == 0 ? 0 : 1;
}

int main(int argc, char **argv)
{
    if (argc >= 2 && !strcmp(argv[1], "serve")) return serve(argc, argv);
    if (argc >= 2 && !strcmp(argv[1], "get")) return get(argc, argv);
    fprintf(stderr, "usage: rpc_peer serve|get ...\n");
    return 2;
}
