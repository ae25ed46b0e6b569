/* attest providers: Gramine and configfs-tsm against fake directory trees, Occlum against a regular
 * file, detection order and the "not inside an enclave" error, the sim descriptor codec. */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "attest/internal.h"
#include "check.h"
#include "initra/attest.h"
#include "initra/sim.h"

static char tmp[256];

static void put(const char *dir, const char *name, const void *data, size_t n)
{
    char p[512];
    initra_err err;
    snprintf(p, sizeof p, "%s/%s", dir, name);
    if (initra_write_file_atomic(p, data, n, 0644, &err)) {
        fprintf(stderr, "%s\n", err.msg);
        exit(2);
    }
}

static int get(const char *dir, const char *name, uint8_t **b, size_t *n)
{
    char p[512];
    initra_err err;
    snprintf(p, sizeof p, "%s/%s", dir, name);
    return initra_read_file(p, INITRA_QUOTE_MAX_SIZE, b, n, &err);
}

static uint8_t *vector(const char *name, size_t *n, uint8_t rd[64])
{
    char p[512];
    initra_err err;
    uint8_t *b;
    snprintf(p, sizeof p, "%s/%s/quote.bin", vectors_dir(), name);
    if (initra_read_file(p, INITRA_QUOTE_MAX_SIZE, &b, n, &err)) {
        fprintf(stderr, "%s\n", err.msg);
        exit(2);
    }
    initra_quote q;
    if (initra_quote_parse(b, *n, &q, &err)) exit(2);
    memcpy(rd, q.body_type == INITRA_BODY_SGX ? q.enclave.report_data : q.td.report_data, 64);
    return b;
}

/* Points every provider path at nothing, then the caller sets the one under test. */
static void env_none(void)
{
    char p[512];
    unsetenv(INITRA_SIM_FD_ENV);
    unsetenv(INITRA_TSM_ENTRY_ENV);
    snprintf(p, sizeof p, "%s/no-gramine", tmp);
    setenv("INITRA_GRAMINE_DIR", p, 1);
    snprintf(p, sizeof p, "%s/no-sgx", tmp);
    setenv("INITRA_OCCLUM_DEV", p, 1);
    snprintf(p, sizeof p, "%s/no-tsm", tmp);
    setenv("INITRA_TSM_DIR", p, 1);
}

static void test_gramine(void)
{
    initra_err err;
    size_t vn;
    uint8_t rd[64];
    uint8_t *vq = vector("sgx-phala-2025", &vn, rd);
    char g[512];
    snprintf(g, sizeof g, "%s/gramine", tmp);
    mkdir(g, 0700);
    put(g, "attestation_type", "dcap\n", 5);
    put(g, "user_report_data", "", 0);
    put(g, "quote", vq, vn);
    env_none();
    setenv("INITRA_GRAMINE_DIR", g, 1);

    initra_attester *a = initra_attest_detect(&err);
    CHECK(a && !strcmp(initra_attest_name(a), "gramine"), "gramine tree detected as gramine (%s)", a ? "" : err.msg);
    if (a) {
        uint8_t *q = NULL, *urd = NULL;
        size_t n = 0, un = 0;
        int rc = initra_attest_quote(a, rd, &q, &n, &err);
        CHECK(rc == 0 && n == vn && !memcmp(q, vq, vn), "gramine quote equals the quote file (%s)", rc ? err.msg : "");
        CHECK(get(g, "user_report_data", &urd, &un) == 0 && un == 64 && !memcmp(urd, rd, 64),
              "the 64 bytes written arrive in user_report_data (%zu bytes)", un);
        free(q);
        free(urd);

        uint8_t other[64];
        memset(other, 0x5a, sizeof other);
        q = NULL;
        rc = initra_attest_quote(a, other, &q, &n, &err);
        CHECK(rc == -1 && strstr(err.msg, "report_data") && strstr(err.msg, "stale"),
              "a quote not carrying the requested report_data is refused: %s", err.msg);
        CHECK(q == NULL, "no quote returned on error");

        char p[600];
        snprintf(p, sizeof p, "%s/quote", g);
        unlink(p);
        rc = initra_attest_quote(a, rd, &q, &n, &err);
        CHECK(rc == -1 && strstr(err.msg, "Gramine") && strstr(err.msg, "/quote"), "missing quote: %s", err.msg);
        initra_attest_free(a);
    }

    put(g, "attestation_type", "epid", 4);
    a = initra_attest_detect(&err);
    CHECK(!a && strstr(err.msg, "\"epid\"") && strstr(err.msg, "dcap") && strstr(err.msg, "attestation_type"),
          "attestation_type epid refused: %s", err.msg);
    initra_attest_free(a);
    put(g, "attestation_type", "none\n", 5);
    a = attest_gramine(g, &err);
    CHECK(!a && strstr(err.msg, "\"none\""), "attestation_type none refused: %s", err.msg);
    free(vq);
}

static void test_tsm(void)
{
    initra_err err;
    size_t vn;
    uint8_t rd[64];
    uint8_t *vq = vector("tdx-phala-v4", &vn, rd);
    char dir[512], e[600];
    snprintf(dir, sizeof dir, "%s/tsm", tmp);
    snprintf(e, sizeof e, "%s/e1", dir);
    mkdir(dir, 0700);
    mkdir(e, 0700);
    put(e, "inblob", "", 0);
    put(e, "outblob", vq, vn);
    put(e, "provider", "tdx_guest\n", 10);
    put(e, "generation", "7\n", 2);
    env_none();
    setenv("INITRA_TSM_DIR", dir, 1);
    setenv(INITRA_TSM_ENTRY_ENV, "e1", 1);

    initra_attester *a = initra_attest_detect(&err);
    CHECK(a && !strcmp(initra_attest_name(a), "tsm"), "tsm tree detected as tsm (%s)", a ? "" : err.msg);
    if (a) {
        uint8_t *q = NULL, *in = NULL;
        size_t n = 0, inn = 0;
        int rc = initra_attest_quote(a, rd, &q, &n, &err);
        CHECK(rc == 0 && n == vn && !memcmp(q, vq, vn), "tsm quote equals outblob (%s)", rc ? err.msg : "");
        CHECK(get(e, "inblob", &in, &inn) == 0 && inn == 64 && !memcmp(in, rd, 64), "inblob receives our 64 bytes");
        CHECK(!strcmp(attest_detail(a), "tdx_guest"), "provider reported: '%s'", attest_detail(a));
        struct stat st;
        CHECK(stat(e, &st) == 0, "a pre-existing entry is kept");
        free(q);
        free(in);

        put(e, "generation", "x\n", 2);
        rc = initra_attest_quote(a, rd, &q, &n, &err);
        CHECK(rc == -1 && strstr(err.msg, "generation") && strstr(err.msg, "\"x\""), "bad generation: %s", err.msg);
        initra_attest_free(a);
    }

    /* The conflict check itself (a static fake file cannot change between our two reads). */
    CHECK(attest_tsm_generation_check("E", 0, 7, 7, &err) == 0, "unchanged generation accepted");
    CHECK(attest_tsm_generation_check("E", 0, 7, 8, &err) == -1 && strstr(err.msg, "changed from 7 to 8"),
          "changed generation refused: %s", err.msg);
    CHECK(attest_tsm_generation_check("E", 1, 1, 1, &err) == 0, "fresh entry at generation 1 accepted");
    CHECK(attest_tsm_generation_check("E", 1, 2, 2, &err) == -1 && strstr(err.msg, "expected 1"),
          "fresh entry written by someone else refused: %s", err.msg);

    /* A unique entry per quote: created, and removed again even when the steps fail (no inblob in a
     * plain directory). */
    unsetenv(INITRA_TSM_ENTRY_ENV);
    char d2[512];
    snprintf(d2, sizeof d2, "%s/tsm2", tmp);
    mkdir(d2, 0700);
    a = attest_tsm(d2, NULL, &err);
    uint8_t *q = NULL;
    size_t n;
    int rc = a ? initra_attest_quote(a, rd, &q, &n, &err) : -1;
    CHECK(rc == -1 && strstr(err.msg, "/inblob") && strstr(err.msg, "initra-"), "fresh entry without inblob: %s",
          err.msg);
    CHECK(rmdir(d2) == 0, "the entry it created was removed");
    initra_attest_free(a);

    a = attest_tsm(dir, "../x", &err);
    CHECK(!a && strstr(err.msg, "one path component"), "entry with a slash refused: %s", err.msg);
    free(vq);
}

static void test_occlum_and_none(void)
{
    initra_err err;
    char dev[512];
    env_none();
    initra_attester *a = initra_attest_detect(&err);
    CHECK(!a && !strncmp(err.msg, "not inside an enclave", 21) && strstr(err.msg, "no-gramine/attestation_type") &&
              strstr(err.msg, "no-sgx") && strstr(err.msg, "no-tsm") && strstr(err.msg, INITRA_SIM_FD_ENV),
          "no provider: %s", err.msg);

    snprintf(dev, sizeof dev, "%s/sgx-file", tmp);
    put(tmp, "sgx-file", "x", 1);
    setenv("INITRA_OCCLUM_DEV", dev, 1);
    a = initra_attest_detect(&err);
    CHECK(a && !strcmp(initra_attest_name(a), "occlum"), "a node at INITRA_OCCLUM_DEV is taken as occlum");
    if (a) {
        uint8_t rd[64] = {1}, *q = NULL;
        size_t n;
        int rc = initra_attest_quote(a, rd, &q, &n, &err);
        CHECK(rc == -1 && strstr(err.msg, "not Occlum's SGX device") && strstr(err.msg, "SGXIOC_GET_DCAP_QUOTE_SIZE"),
              "a regular file is not an SGX device: %s", err.msg);
        initra_attest_free(a);
    }
    setenv("INITRA_OCCLUM_DEV", tmp, 1); /* a directory: the host driver's /dev/sgx/ layout */
    a = initra_attest_detect(&err);
    CHECK(!a && !strncmp(err.msg, "not inside an enclave", 21), "a directory at INITRA_OCCLUM_DEV is not Occlum");
}

static void test_simfd_detect(void)
{
    initra_err err;
    char g[512], num[16];
    env_none();
    snprintf(g, sizeof g, "%s/gramine", tmp);
    mkdir(g, 0700); /* test_gramine made it too, when the vectors are present */
    put(g, "attestation_type", "dcap", 4);
    setenv("INITRA_GRAMINE_DIR", g, 1);

    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv)) exit(2);
    snprintf(num, sizeof num, "%d", sv[1]);
    setenv(INITRA_SIM_FD_ENV, num, 1);
    initra_attester *a = initra_attest_detect(&err);
    CHECK(a && !strcmp(initra_attest_name(a), "sim"), "the sim descriptor comes before Gramine (%s)", a ? "" : err.msg);
    initra_attest_free(a);
    CHECK(fcntl(sv[1], F_GETFD) == 0, "freeing the attester leaves the inherited descriptor open");

    /* The launcher went away: a clear error, no SIGPIPE. */
    close(sv[0]);
    a = initra_attest_detect(&err);
    {
        uint8_t rd[64] = {0}, *q = NULL;
        size_t n;
        int rc = a ? initra_attest_quote(a, rd, &q, &n, &err) : -1;
        CHECK(rc == -1 && strstr(err.msg, "sim descriptor"), "launcher gone: %s", err.msg);
        initra_attest_free(a);
    }
    close(sv[1]);

    setenv(INITRA_SIM_FD_ENV, "12x", 1);
    a = initra_attest_detect(&err);
    CHECK(!a && strstr(err.msg, "\"12x\"") && strstr(err.msg, "not a descriptor number"), "bad number: %s", err.msg);
    snprintf(num, sizeof num, "%d", sv[1]); /* closed now */
    setenv(INITRA_SIM_FD_ENV, num, 1);
    a = initra_attest_detect(&err);
    CHECK(!a && strstr(err.msg, "not an open descriptor"), "closed descriptor: %s", err.msg);
    int f = open(g, O_RDONLY);
    snprintf(num, sizeof num, "%d", f);
    setenv(INITRA_SIM_FD_ENV, num, 1);
    a = initra_attest_detect(&err);
    CHECK(!a && strstr(err.msg, "not a socket"), "a directory descriptor: %s", err.msg);
    close(f);
    if (socketpair(AF_UNIX, SOCK_DGRAM, 0, sv)) exit(2);
    snprintf(num, sizeof num, "%d", sv[1]);
    setenv(INITRA_SIM_FD_ENV, num, 1);
    a = initra_attest_detect(&err);
    CHECK(!a && strstr(err.msg, "SOCK_STREAM"), "a datagram socket: %s", err.msg);
    close(sv[0]);
    close(sv[1]);
    unsetenv(INITRA_SIM_FD_ENV);
}

/* A hardware provider at its fixed place (here fake trees passed as the fixed places): it is used, and
 * every variable that would choose another provider is refused, naming the variable (issue 9, attack 5:
 * the host's environment must not swap the provider whose report carries the CONFIGID). */
static void test_hardware_wins(void)
{
    initra_err err;
    char g[512], other[512], none[512], dev[512], tsmdir[512], num[16];
    snprintf(g, sizeof g, "%s/hw-gramine", tmp);
    snprintf(other, sizeof other, "%s/host-gramine", tmp);
    snprintf(none, sizeof none, "%s/absent", tmp);
    snprintf(dev, sizeof dev, "%s/hw-sgx", tmp);
    snprintf(tsmdir, sizeof tsmdir, "%s/hw-tsm", tmp);
    mkdir(g, 0700);
    mkdir(other, 0700);
    mkdir(tsmdir, 0700);
    put(g, "attestation_type", "dcap", 4);
    put(other, "attestation_type", "dcap", 4);
    put(tmp, "hw-sgx", "x", 1);
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv)) exit(2);
    snprintf(num, sizeof num, "%d", sv[1]);

    attest_fixed_paths gramine_hw = {g, none, none}, occlum_hw = {none, dev, none}, tsm_hw = {none, none, tsmdir},
                       no_hw = {none, none, none};
    env_none();
    unsetenv("INITRA_GRAMINE_DIR");
    unsetenv("INITRA_OCCLUM_DEV");
    unsetenv("INITRA_TSM_DIR");
    initra_attester *a = attest_detect_at(&gramine_hw, &err);
    CHECK(a && !strcmp(initra_attest_name(a), "gramine"), "hardware Gramine found with a clean environment");
    initra_attest_free(a);

    static const char *const vars[] = {INITRA_SIM_FD_ENV, "INITRA_GRAMINE_DIR", "INITRA_OCCLUM_DEV", "INITRA_TSM_DIR"};
    const char *values[] = {num, other, dev, tsmdir};
    const attest_fixed_paths *hw[] = {&gramine_hw, &occlum_hw, &tsm_hw};
    const char *hw_name[] = {"Gramine", "Occlum", "configfs-tsm"};
    for (size_t h = 0; h < 3; h++)
        for (size_t v = 0; v < 4; v++) {
            setenv(vars[v], values[v], 1);
            a = attest_detect_at(hw[h], &err);
            CHECK(!a && strstr(err.msg, vars[v]) && strstr(err.msg, "cannot choose another") &&
                      strstr(err.msg, hw_name[h]),
                  "%s hardware: $%s refused: %s", hw_name[h], vars[v], a ? "(accepted)" : err.msg);
            initra_attest_free(a);
            unsetenv(vars[v]);
        }

    /* No hardware: the variables choose, as the sim platform and the tests need. */
    setenv(INITRA_SIM_FD_ENV, num, 1);
    a = attest_detect_at(&no_hw, &err);
    CHECK(a && !strcmp(initra_attest_name(a), "sim"), "no hardware: $INITRA_SIM_FD chooses the sim descriptor");
    initra_attest_free(a);
    unsetenv(INITRA_SIM_FD_ENV);
    setenv("INITRA_GRAMINE_DIR", other, 1);
    a = attest_detect_at(&no_hw, &err);
    CHECK(a && !strcmp(initra_attest_name(a), "gramine"), "no hardware: $INITRA_GRAMINE_DIR chooses a fake tree");
    initra_attest_free(a);
    unsetenv("INITRA_GRAMINE_DIR");
    close(sv[0]);
    close(sv[1]);
}

static void test_simfd_codec(void)
{
    initra_err err;
    size_t vn, on, qn;
    uint8_t rd[64], rd2[64], req[INITRA_SIMFD_REQUEST_SIZE], *out, *q;
    uint8_t *vq = vector("sgx-phala-2025", &vn, rd);

    attest_simfd_encode_request(rd, req);
    CHECK(initra_simfd_decode_request(req, rd2, &err) == 0 && !memcmp(rd, rd2, 64), "request round trip");
    req[4] = 2;
    CHECK(initra_simfd_decode_request(req, rd2, &err) == -1 && strstr(err.msg, "version 2"), "request version: %s",
          err.msg);
    req[0] = 'X';
    CHECK(initra_simfd_decode_request(req, rd2, &err) == -1 && strstr(err.msg, "magic"), "request magic: %s", err.msg);

    CHECK(initra_simfd_encode_reply(0, vq, vn, &out, &on, &err) == 0, "encode quote reply");
    CHECK(attest_simfd_decode_reply(out, on, rd, &q, &qn, &err) == 0 && qn == vn && !memcmp(q, vq, vn),
          "quote reply round trip");
    free(q);
    CHECK(attest_simfd_decode_reply(out, on - 1, rd, &q, &qn, &err) == -1 && strstr(err.msg, "payload bytes"),
          "short reply refused: %s", err.msg);
    memset(rd2, 0, 64);
    CHECK(attest_simfd_decode_reply(out, on, rd2, &q, &qn, &err) == -1 && strstr(err.msg, "report_data"),
          "reply for other report_data refused: %s", err.msg);
    initra_put_le32(out + 8, INITRA_QUOTE_MAX_SIZE + 1);
    CHECK(attest_simfd_decode_reply(out, on, rd, &q, &qn, &err) == -1 && strstr(err.msg, "outside"),
          "oversized length refused before reading: %s", err.msg);
    initra_put_le16(out + 6, 7);
    CHECK(attest_simfd_decode_reply(out, on, rd, &q, &qn, &err) == -1 && strstr(err.msg, "status 7"),
          "unknown status refused: %s", err.msg);
    free(out);

    const char msg[] = "no\nway\x01";
    CHECK(initra_simfd_encode_reply(1, (const uint8_t *)msg, sizeof msg - 1, &out, &on, &err) == 0, "encode error");
    CHECK(attest_simfd_decode_reply(out, on, rd, &q, &qn, &err) == -1 && strstr(err.msg, "refused: no?way?") &&
              !strchr(err.msg, '\n'),
          "peer's error shown on one line: %s", err.msg);
    free(out);
    free(vq);
}

/* The seal-key exchange's codecs, Occlum's key request and ioctl, Gramine's key over a fake tree, and
 * configfs-tsm's refusal. */
static void test_seal(void)
{
    initra_err err;
    initra_seal_request r, r2;
    uint8_t req[INITRA_SIMFD_REQUEST_SIZE], key[16], *out;
    size_t on;
    memset(&r, 0, sizeof r);
    r.key_policy = 0x2b;
    r.isv_svn = 0x1234;
    r.config_svn = 0x5678;
    for (int i = 0; i < 16; i++) r.cpu_svn[i] = (uint8_t)(0x80 + i);
    for (int i = 0; i < 32; i++) r.key_id[i] = (uint8_t)(0x40 + i);
    attest_simfd_encode_seal(&r, req);
    CHECK(!memcmp(req, "ISK?", 4) && initra_le16(req + 4) == 1 && initra_le16(req + 6) == 0x2b &&
              initra_le16(req + 8) == 0x1234 && initra_le16(req + 10) == 0x5678 && req[12] == 0x80 && req[28] == 0x40 &&
              req[59] == 0x40 + 31 && req[60] == 0 && req[71] == 0,
          "seal request layout: magic, version, policy, isv_svn, config_svn, cpu_svn at 12, key_id at 28, zero tail");
    CHECK(initra_simfd_decode_seal(req, &r2, &err) == 0 && !memcmp(&r, &r2, sizeof r), "seal request round trip");
    req[71] = 1;
    CHECK(initra_simfd_decode_seal(req, &r2, &err) == -1 && strstr(err.msg, "reserved bytes 60..71"),
          "non-zero tail refused: %s", err.msg);
    req[71] = 0;
    req[4] = 2;
    CHECK(initra_simfd_decode_seal(req, &r2, &err) == -1 && strstr(err.msg, "seal request version 2"),
          "seal request version: %s", err.msg);
    req[2] = 'M';
    CHECK(initra_simfd_decode_seal(req, &r2, &err) == -1 && strstr(err.msg, "is not \"ISK?\""),
          "seal request magic: %s", err.msg);

    uint8_t k[16];
    memset(k, 0x77, 16);
    CHECK(initra_simfd_encode_seal_reply(0, k, 16, &out, &on, &err) == 0 && on == 28, "encode a key reply");
    CHECK(attest_simfd_decode_seal_reply(out, on, key, &err) == 0 && !memcmp(key, k, 16), "key reply round trip");
    CHECK(attest_simfd_decode_seal_reply(out, on - 1, key, &err) == -1 && strstr(err.msg, "payload bytes"),
          "short key reply refused: %s", err.msg);
    initra_put_le32(out + 8, 17);
    CHECK(attest_simfd_decode_seal_reply(out, on, key, &err) == -1 && strstr(err.msg, "outside 16..16"),
          "a key of 17 bytes refused: %s", err.msg);
    memcpy(out, "ISQ!", 4);
    CHECK(attest_simfd_decode_seal_reply(out, on, key, &err) == -1 && strstr(err.msg, "magic"),
          "a quote reply is no seal reply: %s", err.msg);
    free(out);
    CHECK(initra_simfd_encode_seal_reply(0, k, 15, &out, &on, &err) == -1, "a 15-byte key is not encoded");
    CHECK(initra_simfd_encode_seal_reply(1, (const uint8_t *)"no\nway", 6, &out, &on, &err) == 0 &&
              attest_simfd_decode_seal_reply(out, on, key, &err) == -1 && strstr(err.msg, "refused: no?way"),
          "error reply on one line: %s", err.msg);
    free(out);

    /* Occlum: SGXIOC_GET_KEY = _IOWR('s', 11, two pointers), and the SDK's 512-byte sgx_key_request_t. */
    CHECK(sizeof(void *) != 8 || attest_occlum_get_key_ioctl() == 0xc010730bul, "SGXIOC_GET_KEY is 0x%lx, Occlum's "
          "0xc010730b", attest_occlum_get_key_ioctl());
    uint8_t kr[ATTEST_KEY_REQUEST_SIZE], zero[434] = {0};
    attest_occlum_key_request(&r, kr);
    CHECK(initra_le16(kr) == 4 && initra_le16(kr + 2) == 0x2b && initra_le16(kr + 4) == 0x1234 &&
              initra_le16(kr + 6) == 0 && kr[8] == 0x80 && kr[23] == 0x8f &&
              initra_le64(kr + 24) == 0xff0000000000000bull && initra_le64(kr + 32) == 0 && kr[40] == 0x40 &&
              kr[71] == 0x40 + 31 && initra_le32(kr + 72) == 0xf0000000u && initra_le16(kr + 76) == 0x5678 &&
              !memcmp(kr + 78, zero, sizeof zero),
          "key request: KEYNAME SEAL, policy, isv_svn, cpu_svn, the SDK's seal masks, key_id, config_svn, zeros");
    char dev[512];
    env_none();
    snprintf(dev, sizeof dev, "%s/sgx-file", tmp);
    put(tmp, "sgx-file", "x", 1);
    initra_attester *a = attest_occlum(dev, &err);
    CHECK(a && initra_attest_seal_key(a, &r, key, &err) == -1 && strstr(err.msg, "not Occlum's SGX device") &&
              strstr(err.msg, "SGXIOC_GET_KEY"),
          "a regular file is not Occlum's device: %s", err.msg);
    initra_attest_free(a);

    /* Gramine: a fake /dev/attestation with a report (ISVSVN 5, CONFIGSVN 7, CPUSVN 01..) and a key. */
    char g[512], kd[600];
    snprintf(g, sizeof g, "%s/gramine-seal", tmp);
    snprintf(kd, sizeof kd, "%s/keys", g);
    mkdir(g, 0700);
    mkdir(kd, 0700);
    put(g, "attestation_type", "dcap", 4);
    uint8_t rep[432] = {0}, gk[16];
    for (int i = 0; i < 16; i++) rep[i] = (uint8_t)(i + 1);
    initra_put_le16(rep + 258, 5);
    initra_put_le16(rep + 260, 7);
    put(g, "report", rep, sizeof rep);
    memset(gk, 0x3c, sizeof gk);
    put(kd, "_sgx_mrsigner", gk, sizeof gk);
    a = attest_gramine(g, &err);
    initra_seal_request gr;
    memset(&gr, 0, sizeof gr);
    gr.key_policy = INITRA_KEYPOLICY_MRSIGNER;
    gr.isv_svn = 5;
    gr.config_svn = 7;
    memcpy(gr.cpu_svn, rep, 16);
    uint8_t g1[16], g2[16], want[32];
    int rc = a ? initra_attest_seal_key(a, &gr, g1, &err) : -1;
    static const char label[] = "initra gramine seal key_id v1";
    uint8_t msg[sizeof label + 32] = {0};
    memcpy(msg, label, sizeof label);
    unsigned int wl = 0;
    HMAC(EVP_sha256(), gk, 16, msg, sizeof msg, want, &wl);
    CHECK(rc == 0 && !memcmp(g1, want, 16), "Gramine: MRSIGNER at its own SVNs gives HMAC(_sgx_mrsigner, label | "
          "key_id) (%s)", rc ? err.msg : "");
    gr.key_id[0] = 9;
    rc = a ? initra_attest_seal_key(a, &gr, g2, &err) : -1;
    CHECK(rc == 0 && memcmp(g1, g2, 16), "Gramine: another key_id, another key");
    gr.isv_svn = 4;
    rc = a ? initra_attest_seal_key(a, &gr, g2, &err) : 0;
    CHECK(rc == -1 && strstr(err.msg, "Gramine: isv_svn asked") && strstr(err.msg, "offers only") &&
              strstr(err.msg, "own isv_svn 5 config_svn 7"),
          "Gramine: a lower isv_svn refused, naming what it offers: %s", err.msg);
    gr.isv_svn = 5;
    gr.key_policy = INITRA_KEYPOLICY_MRENCLAVE;
    rc = a ? initra_attest_seal_key(a, &gr, g2, &err) : 0;
    CHECK(rc == -1 && strstr(err.msg, "Gramine: key_policy asked"), "Gramine: MRENCLAVE policy refused: %s", err.msg);
    initra_attest_free(a);

    /* configfs-tsm has no seal keys. */
    char td[512];
    snprintf(td, sizeof td, "%s/tsm-seal", tmp);
    mkdir(td, 0700);
    a = attest_tsm(td, NULL, &err);
    rc = a ? initra_attest_seal_key(a, &r, key, &err) : 0;
    CHECK(rc == -1 && strstr(err.msg, "configfs-tsm provides no seal keys"), "configfs-tsm: %s", err.msg);
    initra_attest_free(a);
}

int main(void)
{
    const char *base = getenv("TMPDIR");
    snprintf(tmp, sizeof tmp, "%s/initra-attest.XXXXXX", base && *base ? base : "/tmp");
    if (!mkdtemp(tmp)) return 2;
    if (vectors_dir()) { /* these serve real quotes from the vectors, when present */
        test_gramine();
        test_tsm();
    }
    test_occlum_and_none();
    test_simfd_detect();
    test_hardware_wins();
    test_seal();
    if (vectors_dir()) test_simfd_codec();
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", tmp);
    CHECK_DONE();
}
