/* rpc server: gRPC core server on one completion queue polled by a few worker threads. Each call runs
 * through three completions: accepted (request_call) -> request received (RECV_MESSAGE) -> reply sent
 * (initial metadata, message, status, close). The handler runs on the worker that saw the request. */
#include <grpc/byte_buffer_reader.h>
#include <grpc/support/alloc.h>
#include <grpc/support/time.h>
#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "rpc/internal.h"

#define MAX_THREADS 256
#define MAX_MESSAGE INITRA_MAX_RPC_MESSAGE

enum { PHASE_ACCEPT, PHASE_RECV, PHASE_SENT };

typedef struct {
    int phase;
    grpc_call *call;
    grpc_call_details details;
    grpc_metadata_array request_md;
    grpc_byte_buffer *request;
    int cancelled;       /* from RECV_CLOSE_ON_SERVER */
    grpc_slice status_msg;
} call_state;

struct initra_rpc_server {
    grpc_server *server;
    grpc_completion_queue *cq;
    rpc_verifier *verifier;
    initra_rpc_handler_fn handler;
    void *handler_ctx;
    int port;
    unsigned max_connections;
    int nthreads;
    pthread_t threads[MAX_THREADS];
    pthread_mutex_t mu;
    pthread_cond_t cond;
    int stopping;      /* no new request_call once set */
    int shutdown_done; /* the shutdown tag came back */
    int active;        /* call_state objects alive (requested or in progress) */
    char shutdown_tag; /* its address is the tag of grpc_server_shutdown_and_notify */
};

static void call_free(initra_rpc_server *s, call_state *cs)
{
    if (cs->call) grpc_call_unref(cs->call);
    grpc_call_details_destroy(&cs->details);
    grpc_metadata_array_destroy(&cs->request_md);
    if (cs->request) grpc_byte_buffer_destroy(cs->request);
    grpc_slice_unref(cs->status_msg);
    free(cs);
    pthread_mutex_lock(&s->mu);
    if (--s->active == 0) pthread_cond_broadcast(&s->cond);
    pthread_mutex_unlock(&s->mu);
}

/* Posts one request_call so the next incoming call has somewhere to land. */
static void request_next(initra_rpc_server *s)
{
    call_state *cs = calloc(1, sizeof *cs);
    if (!cs) return; /* out of memory: the workers' later completions post again */
    pthread_mutex_lock(&s->mu);
    int stopping = s->stopping;
    if (!stopping) s->active++;
    pthread_mutex_unlock(&s->mu);
    if (stopping) {
        free(cs);
        return;
    }
    cs->phase = PHASE_ACCEPT;
    cs->status_msg = grpc_empty_slice();
    grpc_call_details_init(&cs->details);
    grpc_metadata_array_init(&cs->request_md);
    if (grpc_server_request_call(s->server, &cs->call, &cs->details, &cs->request_md, s->cq, s->cq, cs) !=
        GRPC_CALL_OK)
        call_free(s, cs);
}

static char *slice_strdup(grpc_slice sl)
{
    size_t n = GRPC_SLICE_LENGTH(sl);
    char *p = malloc(n + 1);
    if (!p) return NULL;
    memcpy(p, GRPC_SLICE_START_PTR(sl), n);
    p[n] = 0;
    return p;
}

/* The client's leaf certificate from the call's auth context (NULL for plaintext). */
static char *peer_cert(grpc_call *call)
{
    grpc_auth_context *ac = grpc_call_auth_context(call);
    if (!ac) return NULL;
    char *pem = NULL;
    grpc_auth_property_iterator it = grpc_auth_context_find_properties_by_name(ac, GRPC_X509_PEM_CERT_PROPERTY_NAME);
    const grpc_auth_property *p = grpc_auth_property_iterator_next(&it);
    if (p && (pem = malloc(p->value_length + 1))) {
        memcpy(pem, p->value, p->value_length);
        pem[p->value_length] = 0;
    }
    grpc_auth_context_release(ac);
    return pem;
}

/* Frees a response buffer handed to gRPC, zeroized (it may hold a secret). */
static void free_response(void *p, size_t n) { initra_free_secret(p, n); }

/* Request received (or the call failed): run the handler and send the reply in one batch. */
static void reply(initra_rpc_server *s, call_state *cs, int received)
{
    initra_rpc_reply r = {.code = INITRA_RPC_OK};
    if (!received) {
        r.code = INITRA_RPC_CANCELLED; /* the call died before its request arrived; nobody listens */
    } else if (!cs->request) {
        r.code = INITRA_RPC_INVALID_ARGUMENT;
        snprintf(r.msg, sizeof r.msg, "no request message");
    } else {
        grpc_byte_buffer_reader rd;
        grpc_slice body = grpc_empty_slice();
        if (grpc_byte_buffer_reader_init(&rd, cs->request)) {
            body = grpc_byte_buffer_reader_readall(&rd);
            grpc_byte_buffer_reader_destroy(&rd);
        }
        char *method = slice_strdup(cs->details.method);
        int over = initra_rpc_server_over_cap(s);
        char *peer = grpc_call_get_peer(cs->call);
        char *pem = peer_cert(cs->call);
        if (!method) {
            r.code = INITRA_RPC_RESOURCE_EXHAUSTED;
            snprintf(r.msg, sizeof r.msg, "server out of memory");
        } else if (over) {
            r.code = INITRA_RPC_RESOURCE_EXHAUSTED;
            snprintf(r.msg, sizeof r.msg, "more than %u connections are open to this server (its max_connections); "
                     "try again later", s->max_connections);
        } else {
            initra_rpc_request q = {
                .method = method,
                .req = GRPC_SLICE_START_PTR(body),
                .req_len = GRPC_SLICE_LENGTH(body),
                .peer_pem = pem,
                .peer_addr = peer ? peer : "unknown",
            };
            s->handler(s->handler_ctx, &q, &r);
        }
        free(method);
        free(pem);
        gpr_free(peer);
        grpc_slice_unref(body);
    }
    if (r.code != INITRA_RPC_OK) {
        if (r.resp) initra_free_secret(r.resp, r.resp_len);
        r.resp = NULL;
        r.resp_len = 0;
    }
    r.msg[sizeof r.msg - 1] = 0;
    cs->status_msg = grpc_slice_from_copied_string(r.msg);

    grpc_byte_buffer *out = NULL;
    if (r.code == INITRA_RPC_OK) {
        grpc_slice sl = r.resp ? grpc_slice_new_with_len(r.resp, r.resp_len, free_response) : grpc_empty_slice();
        out = grpc_raw_byte_buffer_create(&sl, 1);
        grpc_slice_unref(sl);
    }
    grpc_op ops[4];
    memset(ops, 0, sizeof ops);
    size_t n = 0;
    ops[n++].op = GRPC_OP_SEND_INITIAL_METADATA;
    if (out) {
        ops[n].op = GRPC_OP_SEND_MESSAGE;
        ops[n++].data.send_message.send_message = out;
    }
    ops[n].op = GRPC_OP_SEND_STATUS_FROM_SERVER;
    ops[n].data.send_status_from_server.status = (grpc_status_code)r.code;
    ops[n++].data.send_status_from_server.status_details = r.code == INITRA_RPC_OK ? NULL : &cs->status_msg;
    ops[n].op = GRPC_OP_RECV_CLOSE_ON_SERVER;
    ops[n++].data.recv_close_on_server.cancelled = &cs->cancelled;
    cs->phase = PHASE_SENT;
    grpc_call_error e = grpc_call_start_batch(cs->call, ops, n, cs, NULL);
    if (out) grpc_byte_buffer_destroy(out); /* the batch holds its own reference */
    if (e != GRPC_CALL_OK) call_free(s, cs);
}

static void on_event(initra_rpc_server *s, call_state *cs, int ok)
{
    switch (cs->phase) {
    case PHASE_ACCEPT: {
        if (!ok) { /* server shutting down */
            call_free(s, cs);
            return;
        }
        request_next(s);
        grpc_op op;
        memset(&op, 0, sizeof op);
        op.op = GRPC_OP_RECV_MESSAGE;
        op.data.recv_message.recv_message = &cs->request;
        cs->phase = PHASE_RECV;
        if (grpc_call_start_batch(cs->call, &op, 1, cs, NULL) != GRPC_CALL_OK) reply(s, cs, 0);
        return;
    }
    case PHASE_RECV:
        reply(s, cs, ok);
        return;
    default:
        call_free(s, cs);
        return;
    }
}

static void *worker(void *arg)
{
    initra_rpc_server *s = arg;
    for (;;) {
        grpc_event ev = grpc_completion_queue_next(s->cq, gpr_inf_future(GPR_CLOCK_REALTIME), NULL);
        if (ev.type == GRPC_QUEUE_SHUTDOWN) break;
        if (ev.type != GRPC_OP_COMPLETE) continue;
        if (ev.tag == &s->shutdown_tag) {
            pthread_mutex_lock(&s->mu);
            s->shutdown_done = 1;
            pthread_cond_broadcast(&s->cond);
            pthread_mutex_unlock(&s->mu);
            if (s->nthreads == 0) break; /* draining inline from initra_rpc_server_stop */
            continue;
        }
        on_event(s, ev.tag, ev.success);
    }
    return NULL;
}

/* Frees a server whose queue is drained and whose workers are gone. */
static void server_free(initra_rpc_server *s)
{
    if (s->server) grpc_server_destroy(s->server);
    if (s->cq) grpc_completion_queue_destroy(s->cq);
    rpc_verifier_close(s->verifier);
    pthread_mutex_destroy(&s->mu);
    pthread_cond_destroy(&s->cond);
    free(s);
    rpc_lib_unref();
}

initra_rpc_server *initra_rpc_server_start(const initra_rpc_server_opts *o, initra_err *err)
{
    if (!o->listen || !*o->listen || !o->handler) {
        initra_fail(err, "rpc server: no listen address or no handler");
        return NULL;
    }
    int nthreads = o->threads > 0 ? o->threads : 8;
    if (nthreads > MAX_THREADS) nthreads = MAX_THREADS;
    initra_rpc_server *s = calloc(1, sizeof *s);
    if (!s) {
        initra_fail(err, "rpc server: out of memory");
        return NULL;
    }
    rpc_lib_ref();
    s->handler = o->handler;
    s->handler_ctx = o->handler_ctx;
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->cond, NULL);
    grpc_server_credentials *creds = rpc_server_creds(&o->tls, &s->verifier, err);
    if (!creds) goto fail;

    /* A peer that connects and stalls the handshake is dropped after 10 s (gRPC's default: 120 s). */
    grpc_arg args[3];
    args[0].type = args[1].type = args[2].type = GRPC_ARG_INTEGER;
    args[0].key = (char *)GRPC_ARG_MAX_RECEIVE_MESSAGE_LENGTH;
    args[0].value.integer = MAX_MESSAGE;
    args[1].key = (char *)GRPC_ARG_SERVER_HANDSHAKE_TIMEOUT_MS;
    args[1].value.integer = 10000;
    args[2].key = (char *)GRPC_ARG_MAX_CONCURRENT_STREAMS;
    args[2].value.integer = o->max_concurrent_streams > 0 && o->max_concurrent_streams < 1u << 30
                                ? (int)o->max_concurrent_streams : 100;
    grpc_channel_args cargs = {.num_args = 3, .args = args};
    s->max_connections = o->max_connections;
    s->server = grpc_server_create(&cargs, NULL);
    s->cq = grpc_completion_queue_create_for_next(NULL);
    grpc_server_register_completion_queue(s->server, s->cq, NULL);
    s->port = grpc_server_add_http2_port(s->server, o->listen, creds);
    grpc_server_credentials_release(creds);
    if (s->port == 0) {
        initra_fail(err, "rpc server: cannot listen on %s (address in use, bad host:port, or not a local "
                         "address)", o->listen);
        goto fail;
    }
    grpc_server_start(s->server);
    for (int i = 0; i < nthreads; i++) request_next(s);
    for (int i = 0; i < nthreads; i++) {
        if (pthread_create(&s->threads[i], NULL, worker, s) != 0) {
            initra_fail(err, "rpc server: cannot start worker thread %d", i);
            initra_rpc_server_stop(s);
            return NULL;
        }
        s->nthreads = i + 1;
    }
    return s;

fail:
    if (s->cq) {
        grpc_completion_queue_shutdown(s->cq);
        while (grpc_completion_queue_next(s->cq, gpr_inf_future(GPR_CLOCK_REALTIME), NULL).type !=
               GRPC_QUEUE_SHUTDOWN) {
        }
    }
    server_free(s); /* never started, no listener: no shutdown needed */
    return NULL;
}

int initra_rpc_server_port(const initra_rpc_server *s) { return s->port; }

int initra_rpc_connections(int port, int at_most)
{
    /* This process's connected sockets whose local port is `port`: the connections the server accepted
     * (the listener has no peer; our own client sockets have ephemeral local ports). */
    DIR *d = opendir("/proc/self/fd");
    if (!d) return -1;
    int fds = 0, n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        if (e->d_name[0] != '.') fds++;
    if (at_most > 0 && fds <= at_most) { /* cannot be more: no per-descriptor look-ups */
        closedir(d);
        return fds;
    }
    rewinddir(d);
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.') continue;
        int fd = atoi(e->d_name);
        if (fd == dirfd(d)) continue;
        struct sockaddr_storage a;
        socklen_t l = sizeof a;
        if (getsockname(fd, (struct sockaddr *)&a, &l) != 0) continue; /* not a socket */
        int p = a.ss_family == AF_INET    ? ntohs(((struct sockaddr_in *)&a)->sin_port)
                : a.ss_family == AF_INET6 ? ntohs(((struct sockaddr_in6 *)&a)->sin6_port)
                                          : -1;
        l = sizeof a;
        if (p == port && getpeername(fd, (struct sockaddr *)&a, &l) == 0) n++;
    }
    closedir(d);
    return n;
}

int initra_rpc_server_over_cap(const initra_rpc_server *s)
{
    if (!s || !s->max_connections) return 0;
    int n = initra_rpc_connections(s->port, (int)s->max_connections);
    return n >= 0 && (unsigned)n > s->max_connections;
}

void initra_rpc_server_stop(initra_rpc_server *s)
{
    if (!s) return;
    pthread_mutex_lock(&s->mu);
    s->stopping = 1;
    pthread_mutex_unlock(&s->mu);
    grpc_server_shutdown_and_notify(s->server, s->cq, &s->shutdown_tag);
    grpc_server_cancel_all_calls(s->server);
    if (s->nthreads == 0) {
        worker(s); /* no worker thread could start: drain here until the shutdown tag... */
    } else {
        /* The shutdown tag may come back while handlers still run; their reply batches need the
         * queue, so it is shut down only when every call is finished. */
        pthread_mutex_lock(&s->mu);
        while (!s->shutdown_done || s->active > 0) pthread_cond_wait(&s->cond, &s->mu);
        pthread_mutex_unlock(&s->mu);
    }
    grpc_completion_queue_shutdown(s->cq);
    if (s->nthreads == 0) worker(s); /* ...and to the end of the queue */
    for (int i = 0; i < s->nthreads; i++) pthread_join(s->threads[i], NULL);
    server_free(s);
}
