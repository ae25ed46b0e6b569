/* SIGSTRUCT (docs/protocols.md#sigstruct; Intel SDM Vol. 3D, linux-sgx sgx_sigstruct_t): codec, RSA-3072 e=3
 * PKCS#1 v1.5 SHA-256 signing and verification with Q1 / Q2, signing keys. */
#include "enclave/internal.h"
#include "initra/enclave.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/decoder.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

static const uint8_t HEADER1[16] = {0x06, 0, 0, 0, 0xE1, 0, 0, 0, 0, 0, 0x01, 0, 0, 0, 0, 0};
static const uint8_t HEADER2[16] = {0x01, 0x01, 0, 0, 0x60, 0, 0, 0, 0x60, 0, 0, 0, 0x01, 0, 0, 0};

enum {
    OFF_VENDOR = 16, OFF_DATE = 20, OFF_HEADER2 = 24, OFF_SWDEFINED = 40, OFF_RES1 = 44,
    OFF_MODULUS = 128, OFF_EXPONENT = 512, OFF_SIGNATURE = 516, OFF_MISCSELECT = 900, OFF_MISCMASK = 904,
    OFF_CET = 908, OFF_CETMASK = 909, OFF_RES2 = 910, OFF_FAMILY = 912, OFF_ATTR = 928, OFF_ATTRMASK = 944,
    OFF_HASH = 960, OFF_RES3 = 992, OFF_EXTPROD = 1008, OFF_PRODID = 1024, OFF_ISVSVN = 1026, OFF_RES4 = 1028,
    OFF_Q1 = 1040, OFF_Q2 = 1424,
};

static int all_zero(const uint8_t *p, size_t n)
{
    uint8_t acc = 0;
    for (size_t i = 0; i < n; i++) acc |= p[i];
    return acc == 0;
}

void enclave_sigstruct_encode(const initra_sigstruct *s, uint8_t out[INITRA_SIGSTRUCT_SIZE])
{
    memset(out, 0, INITRA_SIGSTRUCT_SIZE);
    memcpy(out, HEADER1, 16);
    initra_put_le32(out + OFF_VENDOR, s->vendor);
    initra_put_le32(out + OFF_DATE, s->date);
    memcpy(out + OFF_HEADER2, HEADER2, 16);
    initra_put_le32(out + OFF_SWDEFINED, s->swdefined);
    memcpy(out + OFF_MODULUS, s->modulus, 384);
    initra_put_le32(out + OFF_EXPONENT, s->exponent);
    memcpy(out + OFF_SIGNATURE, s->signature, 384);
    initra_put_le32(out + OFF_MISCSELECT, s->misc_select);
    initra_put_le32(out + OFF_MISCMASK, s->misc_mask);
    out[OFF_CET] = s->cet_attributes;
    out[OFF_CETMASK] = s->cet_attributes_mask;
    memcpy(out + OFF_FAMILY, s->isv_family_id, 16);
    initra_put_le64(out + OFF_ATTR, s->attributes.flags);
    initra_put_le64(out + OFF_ATTR + 8, s->attributes.xfrm);
    initra_put_le64(out + OFF_ATTRMASK, s->attribute_mask.flags);
    initra_put_le64(out + OFF_ATTRMASK + 8, s->attribute_mask.xfrm);
    memcpy(out + OFF_HASH, s->enclave_hash, 32);
    memcpy(out + OFF_EXTPROD, s->isv_ext_prod_id, 16);
    initra_put_le16(out + OFF_PRODID, s->isv_prod_id);
    initra_put_le16(out + OFF_ISVSVN, s->isv_svn);
    memcpy(out + OFF_Q1, s->q1, 384);
    memcpy(out + OFF_Q2, s->q2, 384);
}

int initra_sigstruct_parse(const uint8_t *b, size_t len, initra_sigstruct *s, initra_err *err)
{
    memset(s, 0, sizeof *s);
    if (len != INITRA_SIGSTRUCT_SIZE)
        return initra_fail(err, "SIGSTRUCT: %zu bytes, want exactly %d", len, INITRA_SIGSTRUCT_SIZE);
    if (memcmp(b, HEADER1, 16)) return initra_fail(err, "SIGSTRUCT: HEADER at offset 0 is not 06000000E10000000000010000000000");
    if (memcmp(b + OFF_HEADER2, HEADER2, 16))
        return initra_fail(err, "SIGSTRUCT: HEADER2 at offset 24 is not 01010000600000006000000001000000");
    s->vendor = initra_le32(b + OFF_VENDOR);
    if (s->vendor != 0 && s->vendor != 0x8086) return initra_fail(err, "SIGSTRUCT: VENDOR 0x%x is not 0 or 0x8086", s->vendor);
    s->date = initra_le32(b + OFF_DATE);
    s->swdefined = initra_le32(b + OFF_SWDEFINED);
    memcpy(s->modulus, b + OFF_MODULUS, 384);
    s->exponent = initra_le32(b + OFF_EXPONENT);
    if (s->exponent != 3) return initra_fail(err, "SIGSTRUCT: EXPONENT %u at offset 512 is not 3", s->exponent);
    memcpy(s->signature, b + OFF_SIGNATURE, 384);
    s->misc_select = initra_le32(b + OFF_MISCSELECT);
    s->misc_mask = initra_le32(b + OFF_MISCMASK);
    s->cet_attributes = b[OFF_CET];
    s->cet_attributes_mask = b[OFF_CETMASK];
    memcpy(s->isv_family_id, b + OFF_FAMILY, 16);
    s->attributes.flags = initra_le64(b + OFF_ATTR);
    s->attributes.xfrm = initra_le64(b + OFF_ATTR + 8);
    s->attribute_mask.flags = initra_le64(b + OFF_ATTRMASK);
    s->attribute_mask.xfrm = initra_le64(b + OFF_ATTRMASK + 8);
    memcpy(s->enclave_hash, b + OFF_HASH, 32);
    memcpy(s->isv_ext_prod_id, b + OFF_EXTPROD, 16);
    s->isv_prod_id = initra_le16(b + OFF_PRODID);
    s->isv_svn = initra_le16(b + OFF_ISVSVN);
    memcpy(s->q1, b + OFF_Q1, 384);
    memcpy(s->q2, b + OFF_Q2, 384);
    static const struct { int off, n; } res[] = {{OFF_RES1, 84}, {OFF_RES2, 2}, {OFF_RES3, 16}, {OFF_RES4, 12}};
    for (size_t i = 0; i < sizeof res / sizeof res[0]; i++)
        if (!all_zero(b + res[i].off, (size_t)res[i].n))
            return initra_fail(err, "SIGSTRUCT: reserved bytes at offset %d are not zero", res[i].off);
    return 0;
}

void initra_mrsigner_of_modulus(const uint8_t modulus_le[384], uint8_t out[32])
{
    unsigned len = 32;
    EVP_Digest(modulus_le, 384, out, &len, EVP_sha256(), NULL);
}

/* SHA-256 over the signed parts: bytes 0..127 and 900..1027. */
static int signed_digest(const uint8_t buf[INITRA_SIGSTRUCT_SIZE], uint8_t md[32])
{
    EVP_MD_CTX *c = EVP_MD_CTX_new();
    unsigned len = 32;
    int ok = c && EVP_DigestInit_ex(c, EVP_sha256(), NULL) && EVP_DigestUpdate(c, buf, 128) &&
             EVP_DigestUpdate(c, buf + OFF_MISCSELECT, 128) && EVP_DigestFinal_ex(c, md, &len);
    EVP_MD_CTX_free(c);
    return ok ? 0 : -1;
}

static void reverse(uint8_t *dst, const uint8_t *src, size_t n)
{
    for (size_t i = 0; i < n; i++) dst[i] = src[n - 1 - i];
}

/* Q1 = floor(S^2 / N), Q2 = floor((S^3 - Q1*S*N) / N), little-endian 384 bytes each. */
static int compute_q(const uint8_t sig_le[384], const uint8_t mod_le[384], uint8_t q1[384], uint8_t q2[384])
{
    BN_CTX *ctx = BN_CTX_new();
    BIGNUM *s = BN_lebin2bn(sig_le, 384, NULL), *n = BN_lebin2bn(mod_le, 384, NULL);
    BIGNUM *s2 = BN_new(), *s3 = BN_new(), *a = BN_new(), *b = BN_new(), *t = BN_new();
    int ok = ctx && s && n && s2 && s3 && a && b && t && !BN_is_zero(n) &&
             BN_mul(s2, s, s, ctx) && BN_div(a, NULL, s2, n, ctx) &&        /* a = Q1 */
             BN_mul(s3, s2, s, ctx) && BN_mul(t, a, s, ctx) && BN_mul(t, t, n, ctx) &&
             BN_sub(t, s3, t) && BN_div(b, NULL, t, n, ctx) &&              /* b = Q2 */
             !BN_is_negative(b) && BN_num_bytes(a) <= 384 && BN_num_bytes(b) <= 384 &&
             BN_bn2lebinpad(a, q1, 384) == 384 && BN_bn2lebinpad(b, q2, 384) == 384;
    BN_free(s);
    BN_free(n);
    BN_free(s2);
    BN_free(s3);
    BN_free(a);
    BN_free(b);
    BN_free(t);
    BN_CTX_free(ctx);
    return ok ? 0 : -1;
}

/* RSA key facts: modulus (little-endian 384 bytes) and exponent; -1 when not RSA-3072. */
static int rsa_facts(EVP_PKEY *key, uint8_t mod_le[384], unsigned long *e, int *bits)
{
    BIGNUM *n = NULL, *be = NULL;
    *bits = EVP_PKEY_get_bits(key);
    *e = 0;
    if (!EVP_PKEY_is_a(key, "RSA") || !EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_RSA_N, &n) ||
        !EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_RSA_E, &be)) {
        BN_free(n);
        BN_free(be);
        return -1;
    }
    *e = BN_get_word(be);
    int ok = *bits == 3072 && BN_bn2lebinpad(n, mod_le, 384) == 384;
    BN_free(n);
    BN_free(be);
    return ok ? 0 : -1;
}

int enclave_sigstruct_sign(initra_sigstruct *s, EVP_PKEY *key, uint8_t out[INITRA_SIGSTRUCT_SIZE], initra_err *err)
{
    unsigned long e;
    int bits;
    if (rsa_facts(key, s->modulus, &e, &bits) || e != 3)
        return initra_fail(err, "SIGSTRUCT signing needs an RSA-3072 key with exponent 3");
    s->exponent = 3;
    memset(s->signature, 0, 384);
    enclave_sigstruct_encode(s, out);
    uint8_t md[32], sig_be[384];
    size_t siglen = sizeof sig_be;
    if (signed_digest(out, md)) return initra_fail(err, "SHA-256 failed");
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_pkey(NULL, key, NULL);
    int ok = ctx && EVP_PKEY_sign_init(ctx) > 0 && EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING) > 0 &&
             EVP_PKEY_CTX_set_signature_md(ctx, EVP_sha256()) > 0 &&
             EVP_PKEY_sign(ctx, sig_be, &siglen, md, sizeof md) > 0 && siglen == 384;
    EVP_PKEY_CTX_free(ctx);
    if (!ok) return initra_fail(err, "SIGSTRUCT: RSA signing failed");
    reverse(s->signature, sig_be, 384);
    if (compute_q(s->signature, s->modulus, s->q1, s->q2)) return initra_fail(err, "SIGSTRUCT: computing Q1/Q2 failed");
    enclave_sigstruct_encode(s, out);
    return 0;
}

static EVP_PKEY *pubkey_from_modulus(const uint8_t mod_le[384], uint32_t exponent)
{
    OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
    BIGNUM *n = BN_lebin2bn(mod_le, 384, NULL), *e = BN_new();
    OSSL_PARAM *params = NULL;
    EVP_PKEY *pkey = NULL;
    EVP_PKEY_CTX *ctx = NULL;
    if (bld && n && e && BN_set_word(e, exponent) && OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, n) &&
        OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, e) && (params = OSSL_PARAM_BLD_to_param(bld)) &&
        (ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL)) && EVP_PKEY_fromdata_init(ctx) > 0)
        EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params);
    EVP_PKEY_CTX_free(ctx);
    OSSL_PARAM_free(params);
    OSSL_PARAM_BLD_free(bld);
    BN_free(n);
    BN_free(e);
    return pkey;
}

int initra_sigstruct_verify(const uint8_t *buf, size_t len, initra_sigstruct *s, initra_err *err)
{
    if (initra_sigstruct_parse(buf, len, s, err)) return -1;
    if (!(s->modulus[383] & 0x80)) return initra_fail(err, "SIGSTRUCT: MODULUS is not a 3072-bit number");
    uint8_t md[32], sig_be[384];
    if (signed_digest(buf, md)) return initra_fail(err, "SHA-256 failed");
    EVP_PKEY *pub = pubkey_from_modulus(s->modulus, s->exponent);
    if (!pub) return initra_fail(err, "SIGSTRUCT: MODULUS is not a usable RSA key");
    reverse(sig_be, s->signature, 384);
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_pkey(NULL, pub, NULL);
    int ok = ctx && EVP_PKEY_verify_init(ctx) > 0 && EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING) > 0 &&
             EVP_PKEY_CTX_set_signature_md(ctx, EVP_sha256()) > 0 &&
             EVP_PKEY_verify(ctx, sig_be, sizeof sig_be, md, sizeof md) == 1;
    EVP_PKEY_CTX_free(ctx);
    EVP_PKEY_free(pub);
    if (!ok) return initra_fail(err, "SIGSTRUCT: the RSA signature over bytes 0..127 and 900..1027 does not verify");
    uint8_t q1[384], q2[384];
    if (compute_q(s->signature, s->modulus, q1, q2)) return initra_fail(err, "SIGSTRUCT: computing Q1/Q2 failed");
    if (memcmp(q1, s->q1, 384)) return initra_fail(err, "SIGSTRUCT: Q1 at offset 1040 is not floor(SIGNATURE^2 / MODULUS)");
    if (memcmp(q2, s->q2, 384))
        return initra_fail(err, "SIGSTRUCT: Q2 at offset 1424 is not floor((SIGNATURE^3 - Q1*SIGNATURE*MODULUS) / MODULUS)");
    return 0;
}

/* ---------------- keys ---------------- */

static int no_passphrase(char *buf, int size, int rwflag, void *u)
{
    (void)buf;
    (void)size;
    (void)rwflag;
    (void)u;
    return -1;
}

/* Any PEM key (private, SubjectPublicKeyInfo or PKCS#1 public). */
static EVP_PKEY *load_pem_key(const char *path, int want_private, initra_err *err)
{
    uint8_t *buf;
    size_t n;
    if (initra_read_file(path, INITRA_MAX_CONFIG, &buf, &n, err)) return NULL;
    EVP_PKEY *key = NULL;
    OSSL_DECODER_CTX *dctx = OSSL_DECODER_CTX_new_for_pkey(&key, "PEM", NULL, NULL,
                                                           want_private ? EVP_PKEY_KEYPAIR : 0, NULL, NULL);
    if (dctx) {
        OSSL_DECODER_CTX_set_pem_password_cb(dctx, no_passphrase, NULL);
        const unsigned char *p = buf;
        size_t left = n;
        OSSL_DECODER_from_data(dctx, &p, &left);
        OSSL_DECODER_CTX_free(dctx);
    }
    initra_free_secret(buf, n);
    if (!key)
        initra_fail(err, "%s: not a PEM %s key (or it is passphrase-protected, which is not supported)", path,
                    want_private ? "private" : "public or private");
    return key;
}

static int check_sgx_key(EVP_PKEY *key, const char *path, uint8_t mod_le[384], initra_err *err)
{
    unsigned long e;
    int bits;
    int rc = rsa_facts(key, mod_le, &e, &bits);
    if (!EVP_PKEY_is_a(key, "RSA"))
        return initra_fail(err, "%s: is a %s key; SGX signing needs RSA-3072 with exponent 3 (make one: openssl genpkey "
                                "-algorithm RSA -pkeyopt rsa_keygen_bits:3072 -pkeyopt rsa_keygen_pubexp:3 -out KEY.pem)",
                           path, EVP_PKEY_get0_type_name(key) ? EVP_PKEY_get0_type_name(key) : "non-RSA");
    if (rc || e != 3)
        return initra_fail(err, "%s: is a %d-bit RSA key with exponent %lu; SGX signing needs RSA-3072 with exponent 3 "
                                "(make one: openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:3072 -pkeyopt "
                                "rsa_keygen_pubexp:3 -out KEY.pem)", path, bits, e);
    return 0;
}

EVP_PKEY *enclave_sign_key_load(const char *path, initra_err *err)
{
    EVP_PKEY *key = load_pem_key(path, 1, err);
    uint8_t mod[384];
    if (key && check_sgx_key(key, path, mod, err)) {
        EVP_PKEY_free(key);
        return NULL;
    }
    return key;
}

int initra_mrsigner_of_key_file(const char *path, uint8_t out[32], initra_err *err)
{
    EVP_PKEY *key = load_pem_key(path, 0, err);
    if (!key) return -1;
    uint8_t mod[384];
    unsigned long e;
    int bits;
    int rc = rsa_facts(key, mod, &e, &bits);
    if (rc)
        initra_fail(err, "%s: MRSIGNER is defined for RSA-3072 keys; this is a %d-bit %s key", path, bits,
                    EVP_PKEY_is_a(key, "RSA") ? "RSA" : "non-RSA");
    else
        initra_mrsigner_of_modulus(mod, out);
    EVP_PKEY_free(key);
    return rc;
}

int enclave_dev_key_path(char *buf, size_t n, initra_err *err)
{
    const char *dir = getenv("INITRA_SIGN_KEY_DIR");
    int w;
    if (dir && *dir) w = snprintf(buf, n, "%s/dev-sign-key.pem", dir);
    else {
        const char *home = getenv("HOME");
        if (!home || !*home) return initra_fail(err, "HOME is not set; set INITRA_SIGN_KEY_DIR or pass --sign-key PEM");
        w = snprintf(buf, n, "%s/.local/share/initra/dev-sign-key.pem", home);
    }
    if (w < 0 || (size_t)w >= n) return initra_fail(err, "development key path too long");
    return 0;
}

static EVP_PKEY *generate_key(void)
{
    EVP_PKEY *key = NULL;
    BIGNUM *e = BN_new();
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL);
    if (e && ctx && BN_set_word(e, 3) && EVP_PKEY_keygen_init(ctx) > 0 &&
        EVP_PKEY_CTX_set_rsa_keygen_bits(ctx, 3072) > 0 && EVP_PKEY_CTX_set1_rsa_keygen_pubexp(ctx, e) > 0)
        EVP_PKEY_generate(ctx, &key);
    EVP_PKEY_CTX_free(ctx);
    BN_free(e);
    return key;
}

EVP_PKEY *enclave_dev_key_load_or_create(char *path, size_t n, int *created, initra_err *err)
{
    *created = 0;
    if (enclave_dev_key_path(path, n, err)) return NULL;
    if (access(path, F_OK) == 0) return enclave_sign_key_load(path, err);
    char dir[PATH_MAX];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (slash) *slash = 0;
    if (slash && initra_mkdir_p(dir, 0700, err)) return NULL;
    EVP_PKEY *key = generate_key();
    if (!key) {
        initra_fail(err, "generating an RSA-3072 development key failed");
        return NULL;
    }
    BIO *mem = BIO_new(BIO_s_mem());
    char *pem = NULL;
    long len = 0;
    if (!mem || !PEM_write_bio_PrivateKey(mem, key, NULL, NULL, 0, NULL, NULL) ||
        (len = BIO_get_mem_data(mem, &pem)) <= 0) {
        BIO_free(mem);
        EVP_PKEY_free(key);
        initra_fail(err, "encoding the development key failed");
        return NULL;
    }
    /* Write beside, then link(): a concurrent first use keeps whichever key landed first. */
    char tmp[PATH_MAX + 32];
    snprintf(tmp, sizeof tmp, "%s.new.%ld", path, (long)getpid());
    int rc = initra_write_file_atomic(tmp, pem, (size_t)len, 0600, err);
    initra_zero(pem, (size_t)len);
    BIO_free(mem);
    if (rc) {
        EVP_PKEY_free(key);
        return NULL;
    }
    if (link(tmp, path) != 0) {
        int e = errno;
        unlink(tmp);
        EVP_PKEY_free(key);
        if (e == EEXIST) return enclave_sign_key_load(path, err);
        initra_fail(err, "%s: cannot create: %s", path, strerror(e));
        return NULL;
    }
    unlink(tmp);
    *created = 1;
    return key;
}

int enclave_identity_from_sigstruct(const initra_sigstruct *s, const uint8_t config_id[64], uint16_t config_svn,
                                   initra_sgx_report_body *id)
{
    memset(id, 0, sizeof *id);
    id->misc_select = s->misc_select;
    id->attributes.flags = s->attributes.flags | INITRA_ATTR_INIT;
    id->attributes.xfrm = s->attributes.xfrm;
    memcpy(id->mr_enclave, s->enclave_hash, 32);
    initra_mrsigner_of_modulus(s->modulus, id->mr_signer);
    memcpy(id->isv_ext_prod_id, s->isv_ext_prod_id, 16);
    memcpy(id->isv_family_id, s->isv_family_id, 16);
    id->isv_prod_id = s->isv_prod_id;
    id->isv_svn = s->isv_svn;
    if (config_id) memcpy(id->config_id, config_id, 64);
    id->config_svn = config_svn;
    return 0;
}
