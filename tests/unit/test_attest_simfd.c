/* attest sim descriptor end to end: a forked launcher-side server (initra_sim_serve_fd on a real
 * simulated platform in a temp INITRA_SIM_DIR) and the client found through INITRA_SIM_FD. The quote
 * carries the requested report_data and the server's fixed identity, never the client's choice. */
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "attest/internal.h"
#include "check.h"
#include "initra/attest.h"
#include "initra/sim.h"

static char simdir[256];

static void identity(initra_sgx_report_body *id)
{
    memset(id, 0, sizeof *id);
    memset(id->mr_enclave, 0x11, 32);
    memset(id->mr_signer, 0x22, 32);
    memset(id->config_id, 0x33, 64);
    memset(id->isv_family_id, 0x44, 16);
    memset(id->report_data, 0xee, 64); /* replaced by each request's */
    id->isv_prod_id = 7;
    id->isv_svn = 3;
    id->config_svn = 0x12ab;
    id->attributes.flags = INITRA_ATTR_INIT | INITRA_ATTR_MODE64BIT | INITRA_ATTR_KSS;
    id->attributes.xfrm = 3;
}

/* Forks the launcher side on sv[0]; returns its pid. Its exit status: 0 orderly close, 1 error. */
static pid_t serve(int sv[2])
{
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv)) exit(2);
    pid_t pid = fork();
    if (pid < 0) exit(2);
    if (pid == 0) {
        close(sv[1]);
        initra_err err;
        initra_sim *sim = initra_sim_open(simdir, &err);
        if (!sim) {
            fprintf(stderr, "server: %s\n", err.msg);
            _exit(3);
        }
        initra_sgx_report_body id;
        identity(&id);
        int rc = initra_sim_serve_fd(sim, sv[0], &id, &err);
        if (rc) {
            char p[300];
            snprintf(p, sizeof p, "%s/server.err", simdir);
            initra_write_file_atomic(p, err.msg, strlen(err.msg), 0600, &err);
        }
        initra_sim_close(sim);
        _exit(rc ? 1 : 0);
    }
    close(sv[0]);
    return pid;
}

static int server_exit(pid_t pid)
{
    int st;
    if (waitpid(pid, &st, 0) != pid) return -1;
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* The message the last failing server wrote. */
static const char *server_error(void)
{
    static char msg[600];
    char p[300];
    uint8_t *b;
    size_t n;
    initra_err err;
    snprintf(p, sizeof p, "%s/server.err", simdir);
    msg[0] = 0;
    if (initra_read_file(p, sizeof msg - 1, &b, &n, &err) == 0) {
        memcpy(msg, b, n);
        msg[n] = 0;
        free(b);
        unlink(p);
    }
    return msg;
}

static void check_quote(const uint8_t *q, size_t n, const uint8_t rd[64], const char *what)
{
    initra_sgx_report_body id;
    identity(&id);
    initra_quote pq;
    initra_err err;
    int rc = initra_quote_parse(q, n, &pq, &err);
    CHECK(rc == 0 && pq.body_type == INITRA_BODY_SGX, "%s: quote parses (%s)", what, rc ? err.msg : "");
    if (rc) return;
    CHECK(!memcmp(pq.enclave.report_data, rd, 64), "%s: carries the requested report_data", what);
    CHECK(!memcmp(pq.enclave.mr_enclave, id.mr_enclave, 32) && !memcmp(pq.enclave.mr_signer, id.mr_signer, 32) &&
              pq.enclave.isv_prod_id == 7 && pq.enclave.isv_svn == 3 && pq.enclave.config_svn == 0x12ab &&
              !memcmp(pq.enclave.config_id, id.config_id, 64) &&
              !memcmp(pq.enclave.isv_family_id, id.isv_family_id, 16) &&
              pq.enclave.attributes.flags == id.attributes.flags,
          "%s: carries the server's fixed identity", what);
}

int main(void)
{
    const char *base = getenv("TMPDIR");
    snprintf(simdir, sizeof simdir, "%s/initra-simfd.XXXXXX", base && *base ? base : "/tmp");
    if (!mkdtemp(simdir)) return 2;
    setenv("INITRA_SIM_DIR", simdir, 1);
    initra_err err;

    /* 1. Two quotes over one descriptor found through INITRA_SIM_FD, then an orderly close. */
    int sv[2];
    pid_t pid = serve(sv);
    char num[16];
    snprintf(num, sizeof num, "%d", sv[1]);
    setenv(INITRA_SIM_FD_ENV, num, 1);
    initra_attester *a = initra_attest_detect(&err);
    CHECK(a && !strcmp(initra_attest_name(a), "sim"), "INITRA_SIM_FD detected as sim (%s)", a ? "" : err.msg);
    if (a) {
        for (int i = 0; i < 2; i++) {
            uint8_t rd[64], *q = NULL;
            size_t n = 0;
            for (int k = 0; k < 64; k++) rd[k] = (uint8_t)(k * 7 + i);
            int rc = initra_attest_quote(a, rd, &q, &n, &err);
            CHECK(rc == 0, "quote %d over the descriptor (%s)", i + 1, rc ? err.msg : "");
            if (rc == 0) check_quote(q, n, rd, i ? "second quote" : "first quote");
            free(q);
        }
        initra_attest_free(a);
    }
    close(sv[1]);
    CHECK(server_exit(pid) == 0, "server returns 0 when the enclave closes between requests");
    unsetenv(INITRA_SIM_FD_ENV);

    /* 2. A request written in pieces (the server reassembles short reads). */
    pid = serve(sv);
    uint8_t rd[64], req[INITRA_SIMFD_REQUEST_SIZE];
    memset(rd, 0xa5, sizeof rd);
    attest_simfd_encode_request(rd, req);
    int ok = initra_simfd_send_all(sv[1], req, 5, &err) == 0 && initra_simfd_send_all(sv[1], req + 5, 30, &err) == 0 &&
             initra_simfd_send_all(sv[1], req + 35, sizeof req - 35, &err) == 0;
    uint8_t hdr[INITRA_SIMFD_REPLY_HEADER_SIZE];
    size_t got = 0;
    uint16_t status = 9;
    uint32_t plen = 0;
    ok = ok && initra_simfd_recv_exact(sv[1], hdr, sizeof hdr, &got, &err) == 0 && got == sizeof hdr &&
         attest_simfd_decode_reply_header(hdr, &status, &plen, &err) == 0;
    CHECK(ok && status == 0, "request in three pieces answered with a quote (%s)", ok ? "" : err.msg);
    if (ok && status == 0) {
        uint8_t *buf = malloc(sizeof hdr + plen), *q = NULL;
        size_t n = 0;
        memcpy(buf, hdr, sizeof hdr);
        int rc = initra_simfd_recv_exact(sv[1], buf + sizeof hdr, plen, &got, &err) || got != plen ||
                 attest_simfd_decode_reply(buf, sizeof hdr + plen, rd, &q, &n, &err);
        CHECK(rc == 0, "reply decodes (%s)", rc ? err.msg : "");
        if (rc == 0) check_quote(q, n, rd, "pieced request");
        free(q);
        free(buf);
    }
    /* then half a request and a close: the server reports it. */
    initra_simfd_send_all(sv[1], req, 10, &err);
    close(sv[1]);
    CHECK(server_exit(pid) == 1 && strstr(server_error(), "closed after 10 of 72 request bytes"),
          "a request cut short ends serving with an error");

    /* 3. A request that is not the protocol: an error reply, then the server stops. */
    pid = serve(sv);
    memcpy(req, "GET / HTTP/1.0\r\n", 16);
    ok = initra_simfd_send_all(sv[1], req, sizeof req, &err) == 0 &&
         initra_simfd_recv_exact(sv[1], hdr, sizeof hdr, &got, &err) == 0 && got == sizeof hdr &&
         attest_simfd_decode_reply_header(hdr, &status, &plen, &err) == 0;
    char msg[INITRA_SIMFD_MAX_ERROR + 1] = "";
    ok = ok && status == 1 && initra_simfd_recv_exact(sv[1], msg, plen, &got, &err) == 0 && got == plen;
    CHECK(ok && strstr(msg, "request magic"), "a foreign request gets an error reply: %s", msg);
    close(sv[1]);
    CHECK(server_exit(pid) == 1 && strstr(server_error(), "request magic"), "and the server stops serving");

    /* 4. Seal keys over the descriptor: the same request twice gives the same key, another key_id another
     * key; a refused derivation (an SVN above the identity's 3) gets an error and serving continues; a
     * bad seal request (version 2) gets an ISK! error reply and serving stops. */
    pid = serve(sv);
    snprintf(num, sizeof num, "%d", sv[1]);
    setenv(INITRA_SIM_FD_ENV, num, 1);
    a = initra_attest_detect(&err);
    if (a) {
        initra_seal_request r;
        memset(&r, 0, sizeof r);
        r.key_policy = INITRA_KEYPOLICY_MRSIGNER;
        r.isv_svn = 3;
        uint8_t k1[16], k2[16], k3[16];
        int rc = initra_attest_seal_key(a, &r, k1, &err) || initra_attest_seal_key(a, &r, k2, &err);
        CHECK(rc == 0 && !memcmp(k1, k2, 16), "seal key twice: the same key (%s)", rc ? err.msg : "");
        r.key_id[0] = 1;
        rc = initra_attest_seal_key(a, &r, k3, &err);
        CHECK(rc == 0 && memcmp(k1, k3, 16), "another key_id: another key (%s)", rc ? err.msg : "");
        r.isv_svn = 4;
        rc = initra_attest_seal_key(a, &r, k3, &err);
        CHECK(rc == -1 && strstr(err.msg, "isv_svn 4 is above the enclave's ISVSVN 3") && !strchr(err.msg, '\n'),
              "isv_svn above the identity's refused on one line: %s", err.msg);
        r.isv_svn = 3;
        rc = initra_attest_seal_key(a, &r, k3, &err);
        CHECK(rc == 0, "serving continues after a refused derivation (%s)", rc ? err.msg : "");
        initra_attest_free(a);
    }
    unsetenv(INITRA_SIM_FD_ENV);
    {
        initra_seal_request r;
        memset(&r, 0, sizeof r);
        attest_simfd_encode_seal(&r, req);
        req[4] = 2;
        uint8_t key[16];
        uint8_t buf[INITRA_SIMFD_REPLY_HEADER_SIZE + INITRA_SIMFD_MAX_ERROR];
        ok = initra_simfd_send_all(sv[1], req, sizeof req, &err) == 0 &&
             initra_simfd_recv_exact(sv[1], buf, INITRA_SIMFD_REPLY_HEADER_SIZE, &got, &err) == 0 &&
             got == INITRA_SIMFD_REPLY_HEADER_SIZE &&
             attest_simfd_decode_seal_reply_header(buf, &status, &plen, &err) == 0 && status == 1 &&
             initra_simfd_recv_exact(sv[1], buf + INITRA_SIMFD_REPLY_HEADER_SIZE, plen, &got, &err) == 0;
        int rc = ok ? attest_simfd_decode_seal_reply(buf, INITRA_SIMFD_REPLY_HEADER_SIZE + plen, key, &err) : 0;
        CHECK(ok && rc == -1 && strstr(err.msg, "seal request version 2"), "a bad seal request gets an ISK! error: %s",
              err.msg);
    }
    close(sv[1]);
    CHECK(server_exit(pid) == 1 && strstr(server_error(), "seal request version 2"), "and the server stops serving");

    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", simdir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", simdir);
    CHECK_DONE();
}
