/* The AECS digital envelope (docs/protocols.md#aecs) and the RSA key forms it uses. All OpenSSL 3 EVP:
 * AES-256-GCM (12-byte IV, 16-byte tag), RSA-OAEP with SHA-1 / MGF1-SHA-1 for the AES key, uppercase hex
 * SHA-256 of the plaintext signed with RSA PKCS#1 v1.5 SHA-256. Keys travel as PKCS#1 PEM. */
#include "aecs/internal.h"
#include "initra/aecs.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/core_names.h>
#include <openssl/decoder.h>
#include <openssl/encoder.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>
#include <openssl/sha.h>

#define AES_KEY_LEN 32
#define GCM_IV_LEN 12
#define GCM_TAG_LEN 16

/* ---------------- RSA keys ---------------- */

EVP_PKEY *aecs_rsa_generate(int bits, initra_err *err)
{
    if (bits < 2048 || bits > 8192) {
        initra_fail(err, "RSA key size %d is not supported (2048 to 8192 bits)", bits);
        return NULL;
    }
    EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)bits);
    if (!k) initra_fail(err, "RSA-%d key generation failed", bits);
    return k;
}

EVP_PKEY *initra_aecs_session_key(initra_err *err)
{
    EVP_PKEY *k = NULL;
    EVP_PKEY_CTX *c = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL);
    if (!c || EVP_PKEY_keygen_init(c) != 1 || EVP_PKEY_CTX_set_rsa_keygen_bits(c, 2048) != 1 ||
        EVP_PKEY_CTX_set_rsa_keygen_primes(c, 3) != 1 || EVP_PKEY_generate(c, &k) != 1) {
        ERR_clear_error();
        EVP_PKEY_free(k);
        k = NULL;
        initra_fail(err, "RSA-2048 (3 primes) session key generation failed");
    }
    EVP_PKEY_CTX_free(c);
    return k;
}

static char *bio_string(BIO *b)
{
    char *data;
    long n = BIO_get_mem_data(b, &data);
    char *s = n >= 0 ? malloc((size_t)n + 1) : NULL;
    if (s) {
        memcpy(s, data, (size_t)n);
        s[n] = 0;
    }
    return s;
}

/* Encodes k as PEM with an OSSL_ENCODER of the given selection and structure. */
static char *encode_pem(EVP_PKEY *k, int selection, const char *structure, const char *what, initra_err *err)
{
    BIO *b = BIO_new(BIO_s_mem());
    OSSL_ENCODER_CTX *ctx = OSSL_ENCODER_CTX_new_for_pkey(k, selection, "PEM", structure, NULL);
    char *s = NULL;
    if (b && ctx && OSSL_ENCODER_CTX_get_num_encoders(ctx) > 0 && OSSL_ENCODER_to_bio(ctx, b) == 1) s = bio_string(b);
    if (!s) initra_fail(err, "cannot encode the RSA key as %s", what);
    OSSL_ENCODER_CTX_free(ctx);
    /* the BIO may hold a private key */
    char *data;
    long n = b ? BIO_get_mem_data(b, &data) : 0;
    if (n > 0) OPENSSL_cleanse(data, (size_t)n);
    BIO_free(b);
    return s;
}

static int is_rsa(EVP_PKEY *k) { return k && EVP_PKEY_is_a(k, "RSA"); }

char *initra_aecs_rsa_public_pem(EVP_PKEY *k, initra_err *err)
{
    if (!is_rsa(k)) return initra_fail(err, "not an RSA key"), NULL;
    return encode_pem(k, EVP_PKEY_PUBLIC_KEY, "type-specific", "a PKCS#1 public key", err);
}

char *aecs_rsa_private_pem(EVP_PKEY *k, int pkcs8, initra_err *err)
{
    if (!is_rsa(k)) return initra_fail(err, "not an RSA key"), NULL;
    return encode_pem(k, EVP_PKEY_KEYPAIR, pkcs8 ? "PrivateKeyInfo" : "type-specific",
                      pkcs8 ? "a PKCS#8 private key" : "a PKCS#1 private key", err);
}

char *aecs_rsa_spki_pem(EVP_PKEY *k, initra_err *err)
{
    if (!is_rsa(k)) return initra_fail(err, "not an RSA key"), NULL;
    return encode_pem(k, EVP_PKEY_PUBLIC_KEY, "SubjectPublicKeyInfo", "an SPKI public key", err);
}

#define PKCS1_PUB_BEGIN "-----BEGIN RSA PUBLIC KEY-----"

EVP_PKEY *aecs_rsa_public_from_pem(const char *pem, initra_err *err)
{
    const char *p = pem ? pem : "";
    while (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t') p++;
    if (strncmp(p, PKCS1_PUB_BEGIN, strlen(PKCS1_PUB_BEGIN))) {
        initra_fail(err, "not a PKCS#1 RSA public key (\"%s\"); AECS switches to SM2 mode for other forms, which "
                         "initra does not speak",
                    PKCS1_PUB_BEGIN);
        return NULL;
    }
    EVP_PKEY *k = NULL;
    OSSL_DECODER_CTX *ctx =
        OSSL_DECODER_CTX_new_for_pkey(&k, "PEM", "type-specific", "RSA", EVP_PKEY_PUBLIC_KEY, NULL, NULL);
    const unsigned char *data = (const unsigned char *)p;
    size_t len = strlen(p);
    if (!ctx || OSSL_DECODER_from_data(ctx, &data, &len) != 1 || !k) {
        OSSL_DECODER_CTX_free(ctx);
        EVP_PKEY_free(k);
        initra_fail(err, "PKCS#1 RSA public key PEM does not decode");
        return NULL;
    }
    OSSL_DECODER_CTX_free(ctx);
    if (!is_rsa(k) || EVP_PKEY_get_bits(k) < 2048) {
        initra_fail(err, "the RSA public key has %d bits; at least 2048 are required", EVP_PKEY_get_bits(k));
        EVP_PKEY_free(k);
        return NULL;
    }
    return k;
}

EVP_PKEY *aecs_rsa_private_from_pem(const char *pem, initra_err *err)
{
    BIO *b = BIO_new_mem_buf(pem, -1);
    EVP_PKEY *k = b ? PEM_read_bio_PrivateKey(b, NULL, NULL, (void *)"") : NULL;
    BIO_free(b);
    if (!k) {
        initra_fail(err, "RSA private key PEM does not decode (PKCS#1 or unencrypted PKCS#8 expected)");
        return NULL;
    }
    if (!is_rsa(k) || EVP_PKEY_get_bits(k) < 2048) {
        initra_fail(err, "the private key is not RSA of at least 2048 bits");
        EVP_PKEY_free(k);
        return NULL;
    }
    return k;
}

/* ---------------- envelope ---------------- */

const char *aecs_aad(const char *nonce) { return nonce && *nonce ? nonce : "Enclave"; }

static void bytes_free(initra_bytes *b)
{
    free(b->p);
    b->p = NULL;
    b->n = 0;
}

void aecs_envelope_free(initra_aecs_envelope *e)
{
    if (!e) return;
    bytes_free(&e->cipher);
    bytes_free(&e->mac);
    bytes_free(&e->aad);
    bytes_free(&e->iv);
    bytes_free(&e->encrypted_key);
    bytes_free(&e->plain_hash);
    bytes_free(&e->plain_hash_sig);
}

static int bytes_set(initra_bytes *b, const void *p, size_t n)
{
    b->p = malloc(n ? n : 1);
    if (!b->p) return -1;
    if (n) memcpy(b->p, p, n);
    b->n = n;
    return 0;
}

/* Uppercase hex SHA-256 of data, 64 characters + NUL. */
static void plain_hash_hex(const uint8_t *data, size_t n, char out[65])
{
    uint8_t h[32];
    SHA256(data, n, h);
    initra_hex_upper(h, 32, out);
}


int aecs_envelope_seal(const uint8_t *plain, size_t n, const char *recipient_pem, EVP_PKEY *signer,
                              const char *aad, initra_aecs_envelope *out, initra_err *err)
{
    memset(out, 0, sizeof *out);
    if (n > INT32_MAX / 2) return initra_fail(err, "envelope: plaintext too large");
    if (!is_rsa(signer)) return initra_fail(err, "envelope: the signing key is not RSA");
    EVP_PKEY *rcpt = aecs_rsa_public_from_pem(recipient_pem, err);
    if (!rcpt) return initra_fail_prefix(err, "envelope: recipient key");
    uint8_t key[AES_KEY_LEN], iv[GCM_IV_LEN], tag[GCM_TAG_LEN];
    uint8_t *cipher = malloc(n ? n : 1);
    EVP_PKEY_CTX *c = NULL;
    EVP_MD_CTX *md = NULL;
    int rc = -1;
    if (!cipher || RAND_priv_bytes(key, sizeof key) != 1 || RAND_bytes(iv, sizeof iv) != 1) {
        initra_fail(err, "envelope: out of memory or randomness");
        goto done;
    }
    if (initra_aes256gcm(1, key, iv, (const uint8_t *)aad, strlen(aad), plain, n, cipher, tag)) {
        initra_fail(err, "envelope: AES-256-GCM encryption failed");
        goto done;
    }
    size_t ek_len = 0;
    if (!(c = initra_rsa_oaep_ctx(rcpt, 1, EVP_sha1())) || EVP_PKEY_encrypt(c, NULL, &ek_len, key, sizeof key) != 1 ||
        !(out->encrypted_key.p = malloc(ek_len)) ||
        EVP_PKEY_encrypt(c, out->encrypted_key.p, &ek_len, key, sizeof key) != 1) {
        initra_fail(err, "envelope: RSA-OAEP encryption of the AES key failed");
        goto done;
    }
    out->encrypted_key.n = ek_len;
    char hash[65];
    plain_hash_hex(plain, n, hash);
    size_t sig_len = 0;
    if (!(md = EVP_MD_CTX_new()) || EVP_DigestSignInit_ex(md, NULL, "SHA256", NULL, NULL, signer, NULL) != 1 ||
        EVP_DigestSign(md, NULL, &sig_len, (const uint8_t *)hash, 64) != 1 ||
        !(out->plain_hash_sig.p = malloc(sig_len)) ||
        EVP_DigestSign(md, out->plain_hash_sig.p, &sig_len, (const uint8_t *)hash, 64) != 1) {
        initra_fail(err, "envelope: RSA PKCS#1 v1.5 SHA-256 signing failed");
        goto done;
    }
    out->plain_hash_sig.n = sig_len;
    if (bytes_set(&out->plain_hash, hash, 64) || bytes_set(&out->mac, tag, sizeof tag) ||
        bytes_set(&out->iv, iv, sizeof iv) || bytes_set(&out->aad, aad, strlen(aad))) {
        initra_fail(err, "envelope: out of memory");
        goto done;
    }
    out->cipher.p = cipher;
    out->cipher.n = n;
    cipher = NULL;
    rc = 0;
done:
    OPENSSL_cleanse(key, sizeof key);
    free(cipher);
    EVP_PKEY_CTX_free(c);
    EVP_MD_CTX_free(md);
    EVP_PKEY_free(rcpt);
    if (rc) aecs_envelope_free(out);
    return rc;
}

int aecs_envelope_open(const initra_aecs_envelope *env, EVP_PKEY *recipient, const char *signer_pem,
                              const char *expected_aad, uint8_t **plain, size_t *n, initra_err *err)
{
    *plain = NULL;
    *n = 0;
    size_t want_len = strlen(expected_aad);
    if (env->aad.n != want_len || memcmp(env->aad.p, expected_aad, want_len))
        return initra_fail(err,
                           "envelope: aes_cipher.aad is \"%.*s\", expected \"%.80s\" (the request nonce, or \"Enclave\" "
                           "without one): a replayed or foreign reply",
                           (int)(env->aad.n > 80 ? 80 : env->aad.n), env->aad.p ? (const char *)env->aad.p : "",
                           expected_aad);
    if (env->iv.n != GCM_IV_LEN)
        return initra_fail(err, "envelope: aes_cipher.iv is %zu bytes, AES-GCM here uses %d", env->iv.n, GCM_IV_LEN);
    if (env->mac.n != GCM_TAG_LEN)
        return initra_fail(err, "envelope: aes_cipher.mac is %zu bytes, the GCM tag is %d", env->mac.n, GCM_TAG_LEN);
    if (env->plain_hash.n != 64)
        return initra_fail(err, "envelope: plain_hash is %zu bytes, expected 64 uppercase hex digits", env->plain_hash.n);
    if (env->cipher.n > INT32_MAX / 2) return initra_fail(err, "envelope: aes_cipher.cipher too large");
    EVP_PKEY *signer = aecs_rsa_public_from_pem(signer_pem, err);
    if (!signer) return initra_fail_prefix(err, "envelope: the signer's pem_public_key");

    uint8_t key[AES_KEY_LEN + 512];
    size_t key_len = sizeof key;
    uint8_t *out = malloc(env->cipher.n + 1);
    EVP_PKEY_CTX *c = NULL;
    EVP_MD_CTX *md = NULL;
    int rc = -1;
    if (!out) {
        initra_fail(err, "envelope: out of memory");
        goto done;
    }
    ERR_set_mark();
    if (!(c = initra_rsa_oaep_ctx(recipient, 0, EVP_sha1())) ||
        EVP_PKEY_decrypt(c, key, &key_len, env->encrypted_key.p, env->encrypted_key.n) != 1 || key_len != AES_KEY_LEN) {
        ERR_pop_to_mark();
        initra_fail(err, "envelope: encrypted_key (%zu bytes) does not decrypt to an AES-256 key with our RSA key "
                         "(RSA-OAEP SHA-1)",
                    env->encrypted_key.n);
        goto done;
    }
    uint8_t tag[GCM_TAG_LEN];
    memcpy(tag, env->mac.p, GCM_TAG_LEN);
    if (initra_aes256gcm(0, key, env->iv.p, env->aad.p, env->aad.n, env->cipher.p, env->cipher.n, out, tag)) {
        ERR_pop_to_mark();
        initra_fail(err, "envelope: AES-256-GCM authentication failed: aes_cipher.cipher, mac or iv was altered");
        goto done;
    }
    char hash[65];
    plain_hash_hex(out, env->cipher.n, hash);
    if (memcmp(hash, env->plain_hash.p, 64)) {
        initra_fail(err, "envelope: plain_hash \"%.64s\" is not the uppercase hex SHA-256 of the secret (%s)",
                    (const char *)env->plain_hash.p, hash);
        goto done;
    }
    if (!(md = EVP_MD_CTX_new()) || EVP_DigestVerifyInit_ex(md, NULL, "SHA256", NULL, NULL, signer, NULL) != 1 ||
        EVP_DigestVerify(md, env->plain_hash_sig.p, env->plain_hash_sig.n, env->plain_hash.p, 64) != 1) {
        ERR_pop_to_mark();
        initra_fail(err, "envelope: plain_hash_sig does not verify with the server's key (RSA PKCS#1 v1.5 SHA-256)");
        goto done;
    }
    ERR_pop_to_mark();
    out[env->cipher.n] = 0;
    *plain = out;
    *n = env->cipher.n;
    out = NULL;
    rc = 0;
done:
    OPENSSL_cleanse(key, sizeof key);
    if (out) initra_free_secret(out, env->cipher.n + 1);
    EVP_PKEY_CTX_free(c);
    EVP_MD_CTX_free(md);
    EVP_PKEY_free(signer);
    return rc;
}
