/* initra rpc: synchronous unary gRPC calls over gRPC core, carrying opaque (already serialized)
 * protobuf messages. Transport only: callers pack/unpack with the protobuf-c code generated from
 * proto/NAME.proto and decide on peers through a verify callback (attestation lives in the callers).
 *
 * Security modes (initra_rpc_tls):
 *  - TLS: both sides present cert_chain_pem/key_pem; each side hands the peer's leaf certificate
 *    (PEM) to `verify`, and ONLY that callback decides (no CA chain, no host name check): self-signed
 *    RA-TLS peers are the normal case. The server requires a client certificate. A client may omit
 *    its certificate (cert_chain_pem NULL); our servers then refuse the handshake. (Such a client
 *    needs gRPC's default CA bundle to exist although nothing is checked against it; a client with a
 *    certificate never reads the system CA store, so it works in a bare enclave root file system.)
 *    Mutual TLS without attestation = verify is initra_rpc_accept_any.
 *  - insecure: plaintext HTTP/2 (the AECS protocol carries its security in the messages).
 *
 * gRPC's own log lines are suppressed (errors come back through initra_err) unless GRPC_VERBOSITY is
 * set in the environment. */
#ifndef INITRA_RPC_H
#define INITRA_RPC_H

#include <stddef.h>
#include <stdint.h>

#include "initra/util.h"

/* gRPC status codes (the same numbers as grpc_status_code). */
enum {
    INITRA_RPC_OK = 0,
    INITRA_RPC_CANCELLED = 1,
    INITRA_RPC_UNKNOWN = 2,
    INITRA_RPC_INVALID_ARGUMENT = 3,
    INITRA_RPC_DEADLINE_EXCEEDED = 4,
    INITRA_RPC_NOT_FOUND = 5,
    INITRA_RPC_ALREADY_EXISTS = 6,
    INITRA_RPC_PERMISSION_DENIED = 7,
    INITRA_RPC_RESOURCE_EXHAUSTED = 8,
    INITRA_RPC_FAILED_PRECONDITION = 9,
    INITRA_RPC_ABORTED = 10,
    INITRA_RPC_OUT_OF_RANGE = 11,
    INITRA_RPC_UNIMPLEMENTED = 12,
    INITRA_RPC_INTERNAL = 13,
    INITRA_RPC_UNAVAILABLE = 14,
    INITRA_RPC_DATA_LOSS = 15,
    INITRA_RPC_UNAUTHENTICATED = 16,
};
/* "NOT_FOUND" etc.; "UNKNOWN_STATUS" for numbers outside 0..16. */
const char *initra_rpc_code_name(int code);

/* Decides on the peer's leaf certificate (PEM) during the handshake: 0 accepts, -1 refuses (the
 * handshake fails) with err saying why. Runs on a gRPC thread, possibly on several at once. The message
 * is passed on to gRPC and to the caller's error text, so it must hold nothing secret. */
typedef int (*initra_rpc_verify_fn)(void *ctx, const char *peer_leaf_pem, initra_err *err);
/* A verify callback that accepts every certificate (mutual TLS without attestation). */
int initra_rpc_accept_any(void *ctx, const char *peer_leaf_pem, initra_err *err);

typedef struct {
    int insecure;               /* 1: plaintext HTTP/2; the other fields are ignored */
    const char *cert_chain_pem; /* our chain, leaf first; NULL on a client = present no certificate */
    const char *key_pem;        /* its private key; gRPC keeps its own copy, zeroize yours after use */
    initra_rpc_verify_fn verify;/* required with TLS */
    void *verify_ctx;           /* must stay valid until the client is freed / the server stopped */
} initra_rpc_tls;

/* ---- server ---- */

typedef struct {
    const char *method;         /* ":path", e.g. "/ratls.GrSecret/GetSecret" */
    const uint8_t *req;         /* the request message bytes (untrusted) */
    size_t req_len;
    const char *peer_pem;       /* the client's leaf certificate (PEM, auth property "x509_pem_cert");
                                   NULL in insecure mode */
    const char *peer_addr;      /* e.g. "ipv4:127.0.0.1:40312", for logs */
} initra_rpc_request;

typedef struct {
    int code;                   /* INITRA_RPC_OK (preset) or an error status to send */
    char msg[256];              /* one line sent with a non-OK code (nothing secret) */
    uint8_t *resp;              /* with OK: malloc'd response bytes (NULL = empty message); the
                                   server zeroizes and frees them after sending */
    size_t resp_len;
} initra_rpc_reply;

/* Called once per call on a worker thread (several may run at once): fill reply. */
typedef void (*initra_rpc_handler_fn)(void *ctx, const initra_rpc_request *req, initra_rpc_reply *reply);

typedef struct {
    const char *listen;         /* "host:port"; port 0 picks a free port (initra_rpc_server_port) */
    initra_rpc_tls tls;
    initra_rpc_handler_fn handler;
    void *handler_ctx;
    int threads;                /* worker threads (handshakes, verify and handler calls); 0 = 8 */
    unsigned max_concurrent_streams; /* per connection (HTTP/2 SETTINGS); 0 = 100 */
    unsigned max_connections;   /* a call arriving while the server holds more TCP connections than
                                   this is answered RESOURCE_EXHAUSTED; 0 = no cap */
} initra_rpc_server_opts;

typedef struct initra_rpc_server initra_rpc_server;

/* Binds, starts the workers and returns the running server, or NULL with err. */
initra_rpc_server *initra_rpc_server_start(const initra_rpc_server_opts *opts, initra_err *err);
/* The bound TCP port. */
int initra_rpc_server_port(const initra_rpc_server *s);
/* TCP connections this process holds open with local port `port` (the ones a server on that port
 * accepted), from /proc/self/fd; -1 when they cannot be counted here. With at_most > 0, a process with
 * no more descriptors than at_most returns its descriptor count (a bound) without looking further. */
int initra_rpc_connections(int port, int at_most);
/* 1 when the server has a connection cap and more connections than it are open now. */
int initra_rpc_server_over_cap(const initra_rpc_server *s);
/* Stops accepting, cancels calls in flight, joins the workers and frees s. NULL is fine. */
void initra_rpc_server_stop(initra_rpc_server *s);

/* ---- client ---- */

typedef struct initra_rpc_client initra_rpc_client;

/* A channel to target "host:port". Connects lazily (on the first call) and reuses the connection for
 * every later call; thread-safe. Each client owns its own connection (never shared with another
 * client), so client_new + call + client_free measures a fresh connection and handshake. */
initra_rpc_client *initra_rpc_client_new(const char *target, const initra_rpc_tls *tls, initra_err *err);

/* What an UNAVAILABLE error from initra_rpc_call says when no connection could be made (as opposed to a
 * server that answered UNAVAILABLE itself). */
#define INITRA_RPC_NO_CONNECTION "server unreachable or TLS handshake failed (UNAVAILABLE)"

/* One unary call with a deadline of deadline_ms (> 0) from now. On OK returns 0 with a fresh malloc'd
 * response (*resp may be NULL when *resp_len is 0; the caller frees it, with initra_free_secret when
 * it holds secrets). Otherwise returns -1, sets *code (if code is non-NULL) to the gRPC status and err
 * to one line: "<target> <method>: <CODE>: <server's message>" for a status the server sent, or
 * "<target> <method>: " INITRA_RPC_NO_CONNECTION ": <reason>" when no
 * connection could be made (including "server certificate refused: <verify's message>"), or
 * "... DEADLINE_EXCEEDED: no reply within N ms". */
int initra_rpc_call(initra_rpc_client *c, const char *method, const uint8_t *req, size_t req_len,
                    unsigned deadline_ms, uint8_t **resp, size_t *resp_len, int *code, initra_err *err);

/* Closes the connection and frees c. NULL is fine. */
void initra_rpc_client_free(initra_rpc_client *c);

#endif
