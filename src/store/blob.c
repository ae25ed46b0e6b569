/* store: the sealed DEK and the recovery copy (their codecs, untrusted bytes), HKDF and AES-256-GCM,
 * recovery key pairs. */
#include "store/internal.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>

static const uint8_t SEALED_MAGIC[4] = {'I', 'S', 'D', 'K'};
static const uint8_t RECOVERY_MAGIC[4] = {'I', 'S', 'R', 'C'};
#define KNOWN_POLICY_BITS 0x3fu

int store_gcm_seal(const uint8_t key[STORE_KEY_LEN], const uint8_t nonce[STORE_NONCE_LEN], const uint8_t *aad,
                   size_t aad_len, const uint8_t *in, size_t n, uint8_t *out)
{
    return initra_aes256gcm(1, key, nonce, aad, aad_len, in, n, out, out + n);
}

int store_gcm_open(const uint8_t key[STORE_KEY_LEN], const uint8_t nonce[STORE_NONCE_LEN], const uint8_t *aad,
                   size_t aad_len, const uint8_t *in, size_t n, uint8_t *out)
{
    uint8_t tag[STORE_TAG_LEN];
    memcpy(tag, in + n, sizeof tag);
    return initra_aes256gcm(0, key, nonce, aad, aad_len, in, n, out, tag);
}

/* ---- the sealed DEK ---- */

static void sealed_head(const store_sealed *s, uint8_t h[STORE_SEALED_AAD])
{
    memcpy(h, SEALED_MAGIC, 4);
    initra_put_le16(h + 4, 1);
    initra_put_le16(h + 6, 0);
    initra_put_le16(h + 8, s->req.key_policy);
    initra_put_le16(h + 10, s->req.isv_svn);
    initra_put_le16(h + 12, s->req.config_svn);
    memcpy(h + 14, s->req.cpu_svn, 16);
    memcpy(h + 30, s->req.key_id, 32);
    memcpy(h + 62, s->mr_signer, 32);
    initra_put_le16(h + 94, s->isv_prod_id);
}

int store_sealed_parse(const uint8_t *b, size_t n, store_sealed *out, initra_err *err)
{
    memset(out, 0, sizeof *out);
    if (n != STORE_SEALED_SIZE)
        return initra_fail(err, "sealed data key: %zu bytes, expected %d", n, STORE_SEALED_SIZE);
    if (memcmp(b, SEALED_MAGIC, 4) != 0) return initra_fail(err, "sealed data key: bad magic (not \"ISDK\")");
    if (initra_le16(b + 4) != 1)
        return initra_fail(err, "sealed data key: format version %u, this initra reads version 1", initra_le16(b + 4));
    if (initra_le16(b + 6) != 0) return initra_fail(err, "sealed data key: reserved field is %u, expected 0",
                                                    initra_le16(b + 6));
    out->req.key_policy = initra_le16(b + 8);
    if (out->req.key_policy & ~KNOWN_POLICY_BITS || !(out->req.key_policy & 3))
        return initra_fail(err, "sealed data key: key policy 0x%x is not a valid EGETKEY policy",
                           out->req.key_policy);
    out->req.isv_svn = initra_le16(b + 10);
    out->req.config_svn = initra_le16(b + 12);
    memcpy(out->req.cpu_svn, b + 14, 16);
    memcpy(out->req.key_id, b + 30, 32);
    memcpy(out->mr_signer, b + 62, 32);
    out->isv_prod_id = initra_le16(b + 94);
    memcpy(out->nonce, b + 96, STORE_NONCE_LEN);
    memcpy(out->ct, b + 108, STORE_KEY_LEN);
    memcpy(out->tag, b + 140, STORE_TAG_LEN);
    memcpy(out->aad, b, STORE_SEALED_AAD);
    return 0;
}

static int seal_wrap_key(const uint8_t seal_key[16], uint8_t k[STORE_KEY_LEN])
{
    return initra_hkdf_sha256(seal_key, 16, NULL, 0, "initra store v1 seal", k, STORE_KEY_LEN);
}

int store_sealed_seal(store_sealed *s, const uint8_t seal_key[16], const uint8_t dek[STORE_KEY_LEN],
                      uint8_t out[STORE_SEALED_SIZE], initra_err *err)
{
    uint8_t k[STORE_KEY_LEN], ct[STORE_KEY_LEN + STORE_TAG_LEN];
    sealed_head(s, s->aad);
    int rc = -1;
    if (RAND_bytes(s->nonce, STORE_NONCE_LEN) != 1 || seal_wrap_key(seal_key, k) ||
        store_gcm_seal(k, s->nonce, s->aad, STORE_SEALED_AAD, dek, STORE_KEY_LEN, ct)) {
        initra_fail(err, "sealing the data key failed (OpenSSL)");
    } else {
        memcpy(s->ct, ct, STORE_KEY_LEN);
        memcpy(s->tag, ct + STORE_KEY_LEN, STORE_TAG_LEN);
        memcpy(out, s->aad, STORE_SEALED_AAD);
        memcpy(out + 96, s->nonce, STORE_NONCE_LEN);
        memcpy(out + 108, ct, sizeof ct);
        rc = 0;
    }
    initra_zero(k, sizeof k);
    return rc;
}

int store_sealed_open(const store_sealed *s, const uint8_t seal_key[16], uint8_t dek[STORE_KEY_LEN],
                      initra_err *err)
{
    uint8_t k[STORE_KEY_LEN], ct[STORE_KEY_LEN + STORE_TAG_LEN];
    memcpy(ct, s->ct, STORE_KEY_LEN);
    memcpy(ct + STORE_KEY_LEN, s->tag, STORE_TAG_LEN);
    int rc = seal_wrap_key(seal_key, k) ? -1 : store_gcm_open(k, s->nonce, s->aad, STORE_SEALED_AAD, ct,
                                                              STORE_KEY_LEN, dek);
    initra_zero(k, sizeof k);
    return rc ? initra_fail(err, "this enclave's seal key does not open the sealed data key") : 0;
}

/* ---- recovery ---- */

int store_recovery_parse(const uint8_t *b, size_t n, store_recovery *out, initra_err *err)
{
    memset(out, 0, sizeof *out);
    if (n < STORE_RECOVERY_HEAD) return initra_fail(err, "recovery blob: %zu bytes, shorter than its header", n);
    if (memcmp(b, RECOVERY_MAGIC, 4) != 0) return initra_fail(err, "recovery blob: bad magic (not \"ISRC\")");
    if (initra_le16(b + 4) != 1)
        return initra_fail(err, "recovery blob: format version %u, this initra reads version 1", initra_le16(b + 4));
    out->type = initra_le16(b + 6);
    size_t want = out->type == STORE_RECOVERY_RSA      ? STORE_RECOVERY_RSA_SIZE
                  : out->type == STORE_RECOVERY_X25519 ? STORE_RECOVERY_X25519_SIZE
                                                       : 0;
    if (!want) return initra_fail(err, "recovery blob: key type %u (1 RSA-3072, 2 X25519)", out->type);
    if (n != want) return initra_fail(err, "recovery blob: %zu bytes, a type %u blob has %zu", n, out->type, want);
    memcpy(out->spki_sha256, b + 8, 32);
    out->head = b;
    out->body = b + STORE_RECOVERY_HEAD;
    out->body_len = n - STORE_RECOVERY_HEAD;
    return 0;
}

static int spki_sha256(EVP_PKEY *k, uint8_t out[32])
{
    uint8_t *der = NULL;
    int n = i2d_PUBKEY(k, &der);
    unsigned len = 0;
    int ok = n > 0 && EVP_Digest(der, (size_t)n, out, &len, EVP_sha256(), NULL) == 1;
    OPENSSL_free(der);
    return ok ? 0 : -1;
}

static EVP_PKEY *load_pem(const uint8_t *pem, size_t len, int priv)
{
    if (len > INITRA_MAX_CONFIG) return NULL;
    BIO *b = BIO_new_mem_buf(pem, (int)len);
    EVP_PKEY *k = !b     ? NULL
                  : priv ? PEM_read_bio_PrivateKey(b, NULL, NULL, NULL)
                         : PEM_read_bio_PUBKEY(b, NULL, NULL, NULL);
    BIO_free(b);
    return k;
}

/* STORE_RECOVERY_RSA, STORE_RECOVERY_X25519 or -1 (with err) for any other key. */
static int key_kind(EVP_PKEY *k, const char *what, initra_err *err)
{
    if (EVP_PKEY_is_a(k, "X25519")) return STORE_RECOVERY_X25519;
    if (EVP_PKEY_is_a(k, "RSA")) {
        if (EVP_PKEY_get_bits(k) == 3072) return STORE_RECOVERY_RSA;
        return initra_fail(err, "%s: an RSA key of %d bits; recovery keys are RSA-3072 or X25519", what,
                           EVP_PKEY_get_bits(k));
    }
    return initra_fail(err, "%s: a %s key; recovery keys are RSA-3072 or X25519", what, EVP_PKEY_get0_type_name(k));
}

/* X25519 shared secret of mine and peer -> the AES key (salt: eph_pub || rcpt_pub). */
static int x25519_key(EVP_PKEY *mine, EVP_PKEY *peer, const uint8_t eph_pub[32], const uint8_t rcpt_pub[32],
                      uint8_t key[STORE_KEY_LEN])
{
    uint8_t shared[32], salt[64];
    size_t sl = sizeof shared;
    EVP_PKEY_CTX *c = EVP_PKEY_CTX_new_from_pkey(NULL, mine, NULL);
    int ok = c && EVP_PKEY_derive_init(c) == 1 && EVP_PKEY_derive_set_peer(c, peer) == 1 &&
             EVP_PKEY_derive(c, shared, &sl) == 1 && sl == 32;
    EVP_PKEY_CTX_free(c);
    memcpy(salt, eph_pub, 32);
    memcpy(salt + 32, rcpt_pub, 32);
    ok = ok && initra_hkdf_sha256(shared, 32, salt, 64, "initra store v1 recovery", key, STORE_KEY_LEN) == 0;
    initra_zero(shared, sizeof shared);
    return ok ? 0 : -1;
}

int store_pub_spki_sha256(const uint8_t *pub_pem, size_t pub_len, uint8_t out[32], initra_err *err)
{
    EVP_PKEY *k = load_pem(pub_pem, pub_len, 0);
    if (!k) return initra_fail(err, "recovery public key: not a PEM public key (BEGIN PUBLIC KEY)");
    int rc = key_kind(k, "recovery public key", err) < 0 ? -1 : spki_sha256(k, out);
    EVP_PKEY_free(k);
    return rc;
}

int store_recovery_seal(const uint8_t *pub_pem, size_t pub_len, const uint8_t dek[STORE_KEY_LEN], uint8_t **out,
                        size_t *out_len, initra_err *err)
{
    EVP_PKEY *k = load_pem(pub_pem, pub_len, 0), *eph = NULL;
    if (!k) return initra_fail(err, "recovery public key: not a PEM public key (BEGIN PUBLIC KEY)");
    int kind = key_kind(k, "recovery public key", err), rc = -1;
    size_t n = kind == STORE_RECOVERY_RSA ? STORE_RECOVERY_RSA_SIZE : STORE_RECOVERY_X25519_SIZE;
    uint8_t *b = kind < 0 ? NULL : calloc(1, n), key[STORE_KEY_LEN];
    EVP_PKEY_CTX *c = NULL;
    if (kind < 0) goto done;
    if (!b || spki_sha256(k, b + 8)) {
        initra_fail(err, "recovery: out of memory");
        goto done;
    }
    memcpy(b, RECOVERY_MAGIC, 4);
    initra_put_le16(b + 4, 1);
    initra_put_le16(b + 6, (uint16_t)kind);
    uint8_t *body = b + STORE_RECOVERY_HEAD;
    if (kind == STORE_RECOVERY_RSA) {
        size_t cl = 384;
        if (!(c = initra_rsa_oaep_ctx(k, 1, EVP_sha256())) || EVP_PKEY_encrypt(c, body, &cl, dek, STORE_KEY_LEN) != 1 ||
            cl != 384) {
            initra_fail(err, "recovery: RSA-OAEP encryption of the data key failed");
            goto done;
        }
    } else {
        uint8_t rcpt[32];
        size_t l1 = 32, l2 = 32;
        if (!(eph = EVP_PKEY_Q_keygen(NULL, NULL, "X25519")) || EVP_PKEY_get_raw_public_key(eph, body, &l1) != 1 ||
            EVP_PKEY_get_raw_public_key(k, rcpt, &l2) != 1 || x25519_key(eph, k, body, rcpt, key) ||
            RAND_bytes(body + 32, STORE_NONCE_LEN) != 1 ||
            store_gcm_seal(key, body + 32, b, STORE_RECOVERY_HEAD, dek, STORE_KEY_LEN, body + 44)) {
            initra_fail(err, "recovery: X25519 encryption of the data key failed");
            goto done;
        }
    }
    *out = b;
    *out_len = n;
    b = NULL;
    rc = 0;
done:
    initra_zero(key, sizeof key);
    EVP_PKEY_CTX_free(c);
    EVP_PKEY_free(eph);
    EVP_PKEY_free(k);
    free(b);
    return rc;
}

int initra_store_recovery_open(const uint8_t *blob, size_t len, const uint8_t *priv_pem, size_t priv_len,
                               uint8_t dek[32], initra_err *err)
{
    store_recovery r;
    if (store_recovery_parse(blob, len, &r, err)) return -1;
    EVP_PKEY *k = load_pem(priv_pem, priv_len, 1), *peer = NULL;
    if (!k) return initra_fail(err, "recovery private key: not a PEM private key (BEGIN PRIVATE KEY)");
    int kind = key_kind(k, "recovery private key", err), rc = -1;
    uint8_t h[32], key[STORE_KEY_LEN];
    char want[65], have[65];
    EVP_PKEY_CTX *c = NULL;
    if (kind < 0) goto done;
    if (spki_sha256(k, h) || memcmp(h, r.spki_sha256, 32) != 0) {
        initra_fail(err, "recovery: the blob is encrypted to the key with SPKI SHA-256 %s, this private key's is %s: "
                         "use the recovery key named in the KMS configuration",
                    initra_hex(r.spki_sha256, 32, want), initra_hex(h, 32, have));
        goto done;
    }
    if (kind != r.type) {
        initra_fail(err, "recovery: blob type %u does not match the key", r.type);
        goto done;
    }
    if (kind == STORE_RECOVERY_RSA) {
        uint8_t out[512];
        size_t ol = sizeof out;
        int ok = (c = initra_rsa_oaep_ctx(k, 0, EVP_sha256())) &&
                 EVP_PKEY_decrypt(c, out, &ol, r.body, r.body_len) == 1 && ol == STORE_KEY_LEN;
        if (ok) memcpy(dek, out, STORE_KEY_LEN);
        initra_zero(out, sizeof out);
        if (!ok) {
            initra_fail(err, "recovery: RSA-OAEP decryption failed (the blob is damaged)");
            goto done;
        }
    } else {
        uint8_t rcpt[32];
        size_t l = 32;
        if (!(peer = EVP_PKEY_new_raw_public_key(EVP_PKEY_X25519, NULL, r.body, 32)) ||
            EVP_PKEY_get_raw_public_key(k, rcpt, &l) != 1 || x25519_key(k, peer, r.body, rcpt, key) ||
            store_gcm_open(key, r.body + 32, r.head, STORE_RECOVERY_HEAD, r.body + 44, STORE_KEY_LEN, dek)) {
            initra_fail(err, "recovery: X25519 decryption failed (the blob is damaged)");
            goto done;
        }
    }
    rc = 0;
done:
    initra_zero(key, sizeof key);
    EVP_PKEY_CTX_free(c);
    EVP_PKEY_free(peer);
    EVP_PKEY_free(k);
    return rc;
}

static char *bio_text(BIO *b)
{
    char *p = NULL;
    long n = BIO_get_mem_data(b, &p);
    char *s = n > 0 ? malloc((size_t)n + 1) : NULL;
    if (s) {
        memcpy(s, p, (size_t)n);
        s[n] = 0;
    }
    return s;
}

int initra_store_recovery_keygen(const char *type, char **priv_pem, char **pub_pem, initra_err *err)
{
    *priv_pem = *pub_pem = NULL;
    EVP_PKEY *k = NULL;
    if (strcmp(type, "rsa-3072") == 0)
        k = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)3072);
    else if (strcmp(type, "x25519") == 0)
        k = EVP_PKEY_Q_keygen(NULL, NULL, "X25519");
    else
        return initra_fail(err, "recovery keygen: type \"%s\"; use rsa-3072 or x25519", type);
    BIO *a = BIO_new(BIO_s_secmem()), *b = BIO_new(BIO_s_mem());
    int ok = k && a && b && PEM_write_bio_PrivateKey(a, k, NULL, NULL, 0, NULL, NULL) == 1 &&
             PEM_write_bio_PUBKEY(b, k) == 1 && (*priv_pem = bio_text(a)) && (*pub_pem = bio_text(b));
    BIO_free(a);
    BIO_free(b);
    EVP_PKEY_free(k);
    if (ok) return 0;
    if (*priv_pem) initra_free_secret(*priv_pem, strlen(*priv_pem));
    free(*pub_pem);
    *priv_pem = *pub_pem = NULL;
    return initra_fail(err, "recovery keygen: %s key generation failed (OpenSSL)", type);
}
