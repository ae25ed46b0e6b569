/* Launcher side of the sim descriptor (protocol in include/initra/attest.h): each quote request
 * supplies only report_data, each seal request only its policy, SVNs and key_id; the identity is the one the launcher was given, so an enclave cannot obtain a
 * quote for any other identity. Kept apart from the client so code that only requests quotes does
 * not link the simulated platform. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "initra/attest.h"
#include "initra/sim.h"

/* Sends a status-1 reply of the exchange whose request magic is req_magic, carrying msg; the send's own
 * failure is ignored (the peer may be gone). */
static void reply_error_magic(int fd, const uint8_t req_magic[4], const char *msg)
{
    uint8_t *b;
    size_t n;
    initra_err e2;
    int seal = !memcmp(req_magic, INITRA_SIMFD_SEAL_MAGIC, 4);
    if ((seal ? initra_simfd_encode_seal_reply : initra_simfd_encode_reply)(1, (const uint8_t *)msg, strlen(msg), &b,
                                                                            &n, &e2) == 0) {
        initra_simfd_send_all(fd, b, n, &e2);
        free(b);
    }
}

static void reply_error(int fd, const char *msg) { reply_error_magic(fd, INITRA_SIMFD_REQUEST_MAGIC, msg); }

int initra_sim_serve_fd(initra_sim *sim, int fd, const initra_sgx_report_body *identity, initra_err *err)
{
    return initra_sim_serve_fd_mount(sim, fd, identity, NULL, NULL, err);
}

/* A mount request (72 bytes already read): 0 to continue serving, -1 to stop. */
static int serve_mount(int fd, const uint8_t req[INITRA_SIMFD_REQUEST_SIZE], initra_sim_mount_fn mount, void *ctx,
                       initra_err *err)
{
    uint8_t key[16], out[INITRA_SIMFD_MOUNT_REPLY_SIZE];
    int has_key = 0, bad = initra_simfd_decode_mount(req, &has_key, key, err) != 0;
    uint32_t e = bad ? EINVAL : mount ? (uint32_t)mount(ctx, has_key ? key : NULL) : ENOENT;
    initra_zero(key, sizeof key);
    initra_simfd_encode_mount_reply(e, out);
    int rc = initra_simfd_send_all(fd, out, sizeof out, err);
    return bad || rc ? -1 : 0;
}

/* A seal-key request (72 bytes already read): 0 to continue serving, -1 to stop. */
static int serve_seal(initra_sim *sim, int fd, const uint8_t req[INITRA_SIMFD_REQUEST_SIZE],
                      const initra_sgx_report_body *identity, initra_err *err)
{
    initra_seal_request r;
    if (initra_simfd_decode_seal(req, &r, err)) {
        reply_error_magic(fd, INITRA_SIMFD_SEAL_MAGIC, err->msg);
        return -1; /* framing is lost: stop serving */
    }
    uint8_t key[16], *out = NULL;
    size_t olen = 0;
    initra_err kerr;
    if (initra_sim_seal_key(sim, identity, &r, key, &kerr)) {
        reply_error_magic(fd, INITRA_SIMFD_SEAL_MAGIC, kerr.msg);
        return 0;
    }
    int rc = initra_simfd_encode_seal_reply(0, key, sizeof key, &out, &olen, err);
    initra_zero(key, sizeof key);
    if (rc) return -1;
    rc = initra_simfd_send_all(fd, out, olen, err);
    initra_free_secret(out, olen);
    return rc;
}

int initra_sim_serve_fd_mount(initra_sim *sim, int fd, const initra_sgx_report_body *identity,
                              initra_sim_mount_fn mount, void *ctx, initra_err *err)
{
    initra_err local;
    if (!err) err = &local; /* its message is sent to the peer */
    if (initra_simfd_check_socket(fd, err)) return -1;
    for (;;) {
        uint8_t req[INITRA_SIMFD_REQUEST_SIZE];
        size_t got;
        if (initra_simfd_recv_exact(fd, req, sizeof req, &got, err)) return -1;
        if (got == 0) return 0; /* orderly close between requests */
        if (got < sizeof req)
            return initra_fail(err, "sim descriptor %d: the enclave closed after %zu of %d request bytes", fd, got,
                               INITRA_SIMFD_REQUEST_SIZE);
        if (!memcmp(req, INITRA_SIMFD_MOUNT_MAGIC, 4)) {
            if (serve_mount(fd, req, mount, ctx, err)) return -1;
            continue;
        }
        if (!memcmp(req, INITRA_SIMFD_SEAL_MAGIC, 4)) {
            if (serve_seal(sim, fd, req, identity, err)) return -1;
            continue;
        }
        uint8_t report_data[64];
        if (initra_simfd_decode_request(req, report_data, err)) {
            reply_error(fd, err->msg);
            return -1; /* framing is lost: stop serving */
        }
        uint8_t *quote = NULL, *out = NULL;
        size_t qlen = 0, olen = 0;
        initra_err qerr;
        if (initra_sim_quote(sim, identity, report_data, &quote, &qlen, &qerr)) {
            reply_error(fd, qerr.msg);
            continue;
        }
        int rc = initra_simfd_encode_reply(0, quote, qlen, &out, &olen, err);
        free(quote);
        if (rc) {
            reply_error(fd, err->msg);
            continue;
        }
        rc = initra_simfd_send_all(fd, out, olen, err);
        free(out);
        if (rc) return -1;
    }
}
