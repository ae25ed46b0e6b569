/* Test helper run inside an enclave (tests/t_seal.sh copies it into an instance's image): asks the
 * enclave's provider for a seal key and prints the SHA-256 of the key in hex, never the key itself.
 *   seal_key [--policy N] [--isv-svn N] [--config-svn N] [--cpu-svn HEX32] [--key-id HEX64]
 * Defaults: policy MRSIGNER (0x2), the enclave's own ISVSVN, CONFIGSVN and CPUSVN (from its own quote),
 * key_id all zero. Numbers are decimal or 0x hex. An error is one line on stderr, exit 1. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "initra/attest.h"

static int fail(const char *msg)
{
    fprintf(stderr, "seal_key: %s\n", msg);
    return 1;
}

static int hex_arg(const char *s, uint8_t *out, size_t n)
{
    return strlen(s) == 2 * n && initra_unhex(s, out, n) == 0 ? 0 : -1;
}

int main(int argc, char **argv)
{
    initra_err err;
    initra_seal_request r;
    memset(&r, 0, sizeof r);
    r.key_policy = INITRA_KEYPOLICY_MRSIGNER;
    int isv = -1, cfg = -1, cpu = 0;
    for (int i = 1; i < argc; i++) {
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        char *end;
        if (!v) return fail("an option needs a value");
        if (!strcmp(argv[i], "--cpu-svn")) {
            if (hex_arg(v, r.cpu_svn, 16)) return fail("--cpu-svn needs 32 hex digits");
            cpu = 1;
        } else if (!strcmp(argv[i], "--key-id")) {
            if (hex_arg(v, r.key_id, 32)) return fail("--key-id needs 64 hex digits");
        } else {
            unsigned long n = strtoul(v, &end, 0);
            if (!*v || *end || n > 0xffff) return fail("a number 0..65535 expected");
            if (!strcmp(argv[i], "--policy")) r.key_policy = (uint16_t)n;
            else if (!strcmp(argv[i], "--isv-svn")) isv = (int)n;
            else if (!strcmp(argv[i], "--config-svn")) cfg = (int)n;
            else return fail("unknown option");
        }
        i++;
    }
    initra_attester *a = initra_attest_detect(&err);
    if (!a) return fail(err.msg);
    if (isv < 0 || cfg < 0 || !cpu) { /* the enclave's own values, from its own quote */
        uint8_t rd[64] = {0}, *q;
        size_t n;
        initra_quote pq;
        if (initra_attest_quote(a, rd, &q, &n, &err) || initra_quote_parse(q, n, &pq, &err)) return fail(err.msg);
        if (isv < 0) isv = pq.enclave.isv_svn;
        if (cfg < 0) cfg = pq.enclave.config_svn;
        if (!cpu) memcpy(r.cpu_svn, pq.enclave.cpu_svn, 16);
        free(q);
    }
    r.isv_svn = (uint16_t)isv;
    r.config_svn = (uint16_t)cfg;
    uint8_t key[16], h[32];
    unsigned int hl = 0;
    int rc = initra_attest_seal_key(a, &r, key, &err);
    initra_attest_free(a);
    if (rc) return fail(err.msg);
    EVP_Digest(key, sizeof key, h, &hl, EVP_sha256(), NULL);
    initra_zero(key, sizeof key);
    char hex[65];
    printf("%s\n", initra_hex(h, 32, hex));
    return 0;
}
