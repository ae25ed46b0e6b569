/* The sim platform's EGETKEY (KEYNAME = SEAL): the launcher acts as the CPU. The root is the platform's
 * seal secret (dir/seal_secret, 32 random bytes, 0600), so another sim platform derives other keys.
 * Like EGETKEY (Intel SDM Vol. 3D, EGETKEY; SGX SDK sgx_key.h) the key policy picks the identity fields
 * that enter the derivation and the request's SVNs may not exceed the enclave's or the CPU's:
 *   key = first 16 bytes of HMAC-SHA256(secret, "initra sim EGETKEY v1" NUL | KEYNAME u16 = 4 |
 *         key_policy u16 | MRENCLAVE[32] if 0x1 | MRSIGNER[32] if 0x2 | ISVPRODID u16 unless 0x4 |
 *         CONFIGID[64] if 0x8 | ISVFAMILYID[16] if 0x10 | ISVEXTPRODID[16] if 0x20 |
 *         ATTRIBUTES.flags & (INIT | DEBUG) u64 | isv_svn u16 | config_svn u16 | cpu_svn[16] | key_id[32])
 * all integers little-endian (docs/kss.md, "Seal keys"). */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include "initra/sim.h"
#include "sim/internal.h"

#define KEYSELECT_SEAL 4
#define POLICY_KNOWN 0x3fu
static const char LABEL[] = "initra sim EGETKEY v1"; /* with its NUL */

static int secret_path(const char *dir, char *out, size_t n, initra_err *err)
{
    if ((size_t)snprintf(out, n, "%s/" SIM_SEAL_SECRET_FILE, dir) >= n)
        return initra_fail(err, "%s: path too long", dir);
    return 0;
}

int sim_seal_secret_make(const char *dir, initra_err *err)
{
    char p[PATH_MAX];
    uint8_t s[SIM_SEAL_SECRET_SIZE];
    if (secret_path(dir, p, sizeof p, err)) return -1;
    if (RAND_bytes(s, sizeof s) != 1) return initra_fail(err, "sim: no randomness for the seal secret");
    int rc = initra_write_file_atomic(p, s, sizeof s, 0600, err);
    initra_zero(s, sizeof s);
    return rc;
}

int sim_seal_secret_load(const char *dir, uint8_t out[SIM_SEAL_SECRET_SIZE], initra_err *err)
{
    char p[PATH_MAX];
    uint8_t *b;
    size_t n;
    if (secret_path(dir, p, sizeof p, err)) return -1;
    if (access(p, F_OK) != 0 && errno == ENOENT && sim_seal_secret_make(dir, err)) return -1;
    if (initra_read_file(p, 64, &b, &n, err)) return -1;
    if (n != SIM_SEAL_SECRET_SIZE) {
        initra_free_secret(b, n);
        return initra_fail(err, "%s: %zu bytes, a seal secret is %d; run `initra sim init` to rebuild the platform "
                                "(its seal keys change)", p, n, SIM_SEAL_SECRET_SIZE);
    }
    memcpy(out, b, SIM_SEAL_SECRET_SIZE);
    initra_free_secret(b, n);
    return 0;
}

/* Appends n bytes to the derivation input (fixed capacity, checked). */
typedef struct {
    uint8_t b[512];
    size_t n;
} input;

static void add(input *in, const void *p, size_t n)
{
    memcpy(in->b + in->n, p, n);
    in->n += n;
}

static void add16(input *in, uint16_t v)
{
    uint8_t b[2];
    initra_put_le16(b, v);
    add(in, b, 2);
}

int sim_seal_derive(const uint8_t secret[SIM_SEAL_SECRET_SIZE], const uint8_t platform_cpu_svn[16],
                    const initra_sgx_report_body *id, const initra_seal_request *r, uint8_t key[16], initra_err *err)
{
    uint16_t pol = r->key_policy;
    if (pol & ~POLICY_KNOWN)
        return initra_fail(err, "seal key: key_policy 0x%04x has unknown bits 0x%04x (defined: MRENCLAVE 0x1, "
                                "MRSIGNER 0x2, NOISVPRODID 0x4, CONFIGID 0x8, ISVFAMILYID 0x10, ISVEXTPRODID 0x20)",
                           pol, pol & ~POLICY_KNOWN);
    if (!(pol & (INITRA_KEYPOLICY_MRENCLAVE | INITRA_KEYPOLICY_MRSIGNER)))
        return initra_fail(err, "seal key: key_policy 0x%04x names neither MRENCLAVE (0x1) nor MRSIGNER (0x2); a seal "
                                "key is bound to one of them", pol);
    if (r->isv_svn > id->isv_svn)
        return initra_fail(err, "seal key: isv_svn %u is above the enclave's ISVSVN %u (keys of newer versions are "
                                "not derivable)", r->isv_svn, id->isv_svn);
    if (r->config_svn > id->config_svn)
        return initra_fail(err, "seal key: config_svn %u is above the enclave's CONFIGSVN %u (keys of newer "
                                "configurations are not derivable)", r->config_svn, id->config_svn);
    for (int i = 0; i < 16; i++)
        if (r->cpu_svn[i] > platform_cpu_svn[i]) {
            char want[33], have[33];
            return initra_fail(err, "seal key: cpu_svn %s is above the platform's CPUSVN %s (component %d: %u > %u)",
                               initra_hex(r->cpu_svn, 16, want), initra_hex(platform_cpu_svn, 16, have), i,
                               r->cpu_svn[i], platform_cpu_svn[i]);
        }
    input in = {.n = 0};
    uint8_t attr[8];
    add(&in, LABEL, sizeof LABEL);
    add16(&in, KEYSELECT_SEAL);
    add16(&in, pol);
    if (pol & INITRA_KEYPOLICY_MRENCLAVE) add(&in, id->mr_enclave, 32);
    if (pol & INITRA_KEYPOLICY_MRSIGNER) add(&in, id->mr_signer, 32);
    if (!(pol & INITRA_KEYPOLICY_NOISVPRODID)) add16(&in, id->isv_prod_id);
    if (pol & INITRA_KEYPOLICY_CONFIGID) add(&in, id->config_id, 64);
    if (pol & INITRA_KEYPOLICY_ISVFAMILYID) add(&in, id->isv_family_id, 16);
    if (pol & INITRA_KEYPOLICY_ISVEXTPRODID) add(&in, id->isv_ext_prod_id, 16);
    /* A debug enclave never derives a production enclave's key: DEBUG always enters. */
    initra_put_le64(attr, id->attributes.flags & (INITRA_ATTR_INIT | INITRA_ATTR_DEBUG));
    add(&in, attr, 8);
    add16(&in, r->isv_svn);
    add16(&in, r->config_svn);
    add(&in, r->cpu_svn, 16);
    add(&in, r->key_id, 32);
    uint8_t mac[32];
    unsigned int ml = 0;
    int ok = HMAC(EVP_sha256(), secret, SIM_SEAL_SECRET_SIZE, in.b, in.n, mac, &ml) != NULL && ml == 32;
    if (ok) memcpy(key, mac, 16);
    initra_zero(mac, sizeof mac);
    initra_zero(&in, sizeof in);
    return ok ? 0 : initra_fail(err, "seal key: HMAC-SHA256 failed");
}
