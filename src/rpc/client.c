/* rpc client: one gRPC channel (one connection, its own subchannel pool) and synchronous unary calls,
 * each on its own pluck completion queue so several threads can call at once. */
#include <grpc/byte_buffer_reader.h>
#include <grpc/support/alloc.h>
#include <grpc/support/time.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rpc/internal.h"

#define MAX_MESSAGE INITRA_MAX_RPC_MESSAGE

struct initra_rpc_client {
    grpc_channel *channel;
    rpc_verifier *verifier;
    int insecure;
    char target[256];
};

initra_rpc_client *initra_rpc_client_new(const char *target, const initra_rpc_tls *tls, initra_err *err)
{
    if (!target || !*target || strlen(target) >= sizeof(((initra_rpc_client *)0)->target)) {
        initra_fail(err, "rpc client: bad server address '%s' (want host:port)", target ? target : "");
        return NULL;
    }
    initra_rpc_client *c = calloc(1, sizeof *c);
    if (!c) {
        initra_fail(err, "rpc client: out of memory");
        return NULL;
    }
    snprintf(c->target, sizeof c->target, "%s", target);
    c->insecure = tls->insecure;
    rpc_lib_ref();
    grpc_channel_credentials *creds = rpc_channel_creds(tls, &c->verifier, err);
    if (!creds) {
        free(c);
        rpc_lib_unref();
        return NULL;
    }
    /* Own connection per client; quick reconnects (callers run their own retry loop and backoff).
     * GRPC_ARG_MIN_RECONNECT_BACKOFF_MS stays at its default: gRPC also uses it as the connection
     * attempt timeout, and a handshake that verifies a quote may take a while. */
    enum { NARGS = 4 };
    grpc_arg args[NARGS];
    memset(args, 0, sizeof args);
    const char *keys[NARGS] = {GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, GRPC_ARG_MAX_RECEIVE_MESSAGE_LENGTH,
                               GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, GRPC_ARG_MAX_RECONNECT_BACKOFF_MS};
    const int vals[NARGS] = {1, MAX_MESSAGE, 100, 1000};
    for (int i = 0; i < NARGS; i++) {
        args[i].type = GRPC_ARG_INTEGER;
        args[i].key = (char *)keys[i];
        args[i].value.integer = vals[i];
    }
    grpc_channel_args cargs = {.num_args = NARGS, .args = args};
    c->channel = grpc_channel_create(target, creds, &cargs);
    grpc_channel_credentials_release(creds);
    return c;
}

void initra_rpc_client_free(initra_rpc_client *c)
{
    if (!c) return;
    grpc_channel_destroy(c->channel);
    rpc_verifier_close(c->verifier);
    free(c);
    rpc_lib_unref();
}

/* Copies a received message into a fresh buffer and zeroizes gRPC's copy (it may hold a secret). */
static int take_message(grpc_byte_buffer *bb, uint8_t **out, size_t *n)
{
    *out = NULL;
    *n = 0;
    if (!bb) return 0;
    grpc_byte_buffer_reader rd;
    if (!grpc_byte_buffer_reader_init(&rd, bb)) return -1;
    grpc_slice sl = grpc_byte_buffer_reader_readall(&rd);
    grpc_byte_buffer_reader_destroy(&rd);
    size_t len = GRPC_SLICE_LENGTH(sl);
    int rc = 0;
    if (len) {
        *out = malloc(len);
        if (*out) {
            memcpy(*out, GRPC_SLICE_START_PTR(sl), len);
            *n = len;
        } else {
            rc = -1;
        }
        initra_zero(GRPC_SLICE_START_PTR(sl), len);
    }
    grpc_slice_unref(sl);
    return rc;
}

int initra_rpc_call(initra_rpc_client *c, const char *method, const uint8_t *req, size_t req_len,
                    unsigned deadline_ms, uint8_t **resp, size_t *resp_len, int *code, initra_err *err)
{
    int dummy;
    if (!code) code = &dummy;
    *code = INITRA_RPC_INTERNAL;
    *resp = NULL;
    *resp_len = 0;
    if (!method || method[0] != '/') return initra_fail(err, "rpc: bad method path '%s'", method ? method : "");
    if (deadline_ms == 0) return initra_fail(err, "rpc %s %s: a call needs a deadline > 0 ms", c->target, method);

    grpc_completion_queue *cq = grpc_completion_queue_create_for_pluck(NULL);
    grpc_slice path = grpc_slice_from_copied_string(method);
    grpc_call *call = grpc_channel_create_call(c->channel, NULL, GRPC_PROPAGATE_DEFAULTS, cq, path, NULL,
                                               rpc_deadline_ms(deadline_ms), NULL);
    grpc_slice_unref(path);

    grpc_slice body = grpc_slice_from_copied_buffer((const char *)req, req_len);
    grpc_byte_buffer *out = grpc_raw_byte_buffer_create(&body, 1);
    grpc_slice_unref(body);
    grpc_metadata_array initial_md, trailing_md;
    grpc_metadata_array_init(&initial_md);
    grpc_metadata_array_init(&trailing_md);
    grpc_byte_buffer *in = NULL;
    grpc_status_code status = GRPC_STATUS_UNKNOWN;
    grpc_slice details = grpc_empty_slice();
    const char *error_string = NULL;

    grpc_op ops[6];
    memset(ops, 0, sizeof ops);
    ops[0].op = GRPC_OP_SEND_INITIAL_METADATA;
    ops[1].op = GRPC_OP_SEND_MESSAGE;
    ops[1].data.send_message.send_message = out;
    ops[2].op = GRPC_OP_SEND_CLOSE_FROM_CLIENT;
    ops[3].op = GRPC_OP_RECV_INITIAL_METADATA;
    ops[3].data.recv_initial_metadata.recv_initial_metadata = &initial_md;
    ops[4].op = GRPC_OP_RECV_MESSAGE;
    ops[4].data.recv_message.recv_message = &in;
    ops[5].op = GRPC_OP_RECV_STATUS_ON_CLIENT;
    ops[5].data.recv_status_on_client.status = &status;
    ops[5].data.recv_status_on_client.status_details = &details;
    ops[5].data.recv_status_on_client.trailing_metadata = &trailing_md;
    ops[5].data.recv_status_on_client.error_string = &error_string;

    int rc = -1;
    grpc_call_error ce = grpc_call_start_batch(call, ops, 6, ops, NULL);
    if (ce != GRPC_CALL_OK) {
        initra_fail(err, "rpc %s %s: gRPC refused to start the call (call error %d)", c->target, method, (int)ce);
        goto out;
    }
    /* The call's deadline ends the batch; the extra second only guards against a stuck library. */
    grpc_event ev = grpc_completion_queue_pluck(cq, ops, rpc_deadline_ms(deadline_ms + 1000), NULL);
    if (ev.type != GRPC_OP_COMPLETE) {
        grpc_call_cancel(call, NULL);
        ev = grpc_completion_queue_pluck(cq, ops, gpr_inf_future(GPR_CLOCK_MONOTONIC), NULL);
    }
    *code = (int)status;
    char msg[256];
    size_t mlen = GRPC_SLICE_LENGTH(details);
    if (mlen >= sizeof msg) mlen = sizeof msg - 1;
    memcpy(msg, GRPC_SLICE_START_PTR(details), mlen);
    msg[mlen] = 0;
    for (char *p = msg; *p; p++)
        if (*p == '\n' || *p == '\r') *p = ' '; /* one line */

    if (status == GRPC_STATUS_OK) {
        if (take_message(in, resp, resp_len) != 0) {
            *code = INITRA_RPC_RESOURCE_EXHAUSTED;
            initra_fail(err, "rpc %s %s: out of memory for the %zu-byte reply", c->target, method,
                        in ? grpc_byte_buffer_length(in) : (size_t)0);
        } else {
            rc = 0;
        }
    } else if (status == GRPC_STATUS_DEADLINE_EXCEEDED) {
        initra_fail(err, "rpc %s %s: DEADLINE_EXCEEDED: no reply within %u ms (%s)", c->target, method,
                    deadline_ms, msg);
    } else if (status == GRPC_STATUS_UNAVAILABLE &&
               grpc_channel_check_connectivity_state(c->channel, 0) != GRPC_CHANNEL_READY) {
        /* No usable connection (vs. a server that answered UNAVAILABLE itself). */
        char refusal[sizeof err->msg];
        rpc_verifier_last_refusal(c->verifier, refusal, sizeof refusal);
        if (refusal[0])
            initra_fail(err, "rpc %s %s: " INITRA_RPC_NO_CONNECTION ": server "
                             "certificate refused: %s", c->target, method, refusal);
        else
            initra_fail(err, "rpc %s %s: " INITRA_RPC_NO_CONNECTION ": %s%s",
                        c->target, method, msg,
                        strstr(msg, "Socket closed") && !c->insecure
                            ? " (the server closed the connection during the handshake: it may have refused "
                              "our certificate)"
                            : "");
    } else {
        initra_fail(err, "rpc %s %s: %s: %s", c->target, method, initra_rpc_code_name((int)status), msg);
    }

out:
    if (in) grpc_byte_buffer_destroy(in);
    grpc_byte_buffer_destroy(out);
    grpc_metadata_array_destroy(&initial_md);
    grpc_metadata_array_destroy(&trailing_md);
    grpc_slice_unref(details);
    gpr_free((void *)error_string);
    grpc_call_unref(call);
    grpc_completion_queue_shutdown(cq);
    while (grpc_completion_queue_pluck(cq, NULL, gpr_inf_future(GPR_CLOCK_REALTIME), NULL).type != GRPC_QUEUE_SHUTDOWN) {
    }
    grpc_completion_queue_destroy(cq);
    return rc;
}
