/* KSS configuration binding: CONFIGID / CONFIGSVN parsing, CONFIGID of configuration files and its
 * enclave-side check. Here, below attest, so that the launcher (enclave), init and the KMS share it. */
#include "initra/sgx.h"
#include "sgx/internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

int initra_config_id_parse(const char *b64, uint8_t out[64], initra_err *err)
{
    uint8_t *raw;
    size_t n;
    if (initra_b64_decode(b64, &raw, &n, err)) return initra_fail_prefix(err, "config_id");
    if (n > 64) {
        free(raw);
        return initra_fail(err, "config_id: decodes to %zu bytes; CONFIGID holds at most 64 "
                                "(use `initra config-id FILE` for a 64-byte hash)", n);
    }
    memset(out, 0, 64);
    memcpy(out, raw, n);
    free(raw);
    return 0;
}

int initra_config_svn_parse(const char *s, uint16_t *out, initra_err *err)
{
    uint64_t v;
    if (initra_refuse_leading_zero("config_svn", s, err)) return -1;
    if (initra_parse_uint(s, 65535, &v))
        return initra_fail(err, "config_svn: '%.40s' is not a number from 0 to 65535 (decimal, or hex with 0x)", s);
    *out = (uint16_t)v;
    return 0;
}

static int hash_file_into(EVP_MD_CTX *c, const char *path, int framed, initra_err *err)
{
    uint8_t *buf;
    size_t n;
    if (initra_read_file(path, (size_t)1 << 30, &buf, &n, err)) return -1;
    if (framed) {
        uint8_t len[8];
        initra_put_le64(len, n);
        EVP_DigestUpdate(c, len, 8);
    }
    EVP_DigestUpdate(c, buf, n);
    free(buf);
    return 0;
}

int initra_config_id_of_files(const char *const *paths, size_t n, uint8_t out[64], initra_err *err)
{
    if (n == 0) return initra_fail(err, "config-id: no files given");
    EVP_MD_CTX *c = EVP_MD_CTX_new();
    if (!c || !EVP_DigestInit_ex(c, EVP_sha512(), NULL)) {
        EVP_MD_CTX_free(c);
        return initra_fail(err, "SHA-512 unavailable");
    }
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) rc = hash_file_into(c, paths[i], n > 1, err);
    unsigned len = 64;
    if (rc == 0 && !EVP_DigestFinal_ex(c, out, &len)) rc = initra_fail(err, "SHA-512 failed");
    EVP_MD_CTX_free(c);
    return rc;
}

int initra_config_id_of_bytes(const uint8_t *bytes, size_t n, uint8_t out[64], initra_err *err)
{
    unsigned len = 64;
    if (!EVP_Digest(bytes, n, out, &len, EVP_sha512(), NULL)) return initra_fail(err, "SHA-512 failed");
    return 0;
}

int initra_config_id_compare(const char *name, const uint8_t sha512[64], const uint8_t config_id[64],
                             initra_err *err)
{
    if (memcmp(sha512, config_id, 64) == 0) return 0;
    char *g = initra_b64_encode(sha512, 64), *w = initra_b64_encode(config_id, 64);
    initra_fail(err, "%s: its SHA-512 (base64 %s) is not this enclave's CONFIGID (%s); the attached configuration "
                     "is not the one the launcher was told to bind: launch with --config-id $(initra config-id %s)",
                name, g ? g : "?", w ? w : "?", name);
    free(g);
    free(w);
    return -1;
}

int sgx_config_id_check(const char *path, const uint8_t config_id[64], initra_err *err)
{
    uint8_t *buf, got[64];
    size_t n;
    if (initra_read_regular_file(path, (size_t)1 << 30, &buf, &n, err)) return -1;
    int rc = initra_config_id_of_bytes(buf, n, got, err);
    free(buf);
    return rc ? -1 : initra_config_id_compare(path, got, config_id, err);
}
