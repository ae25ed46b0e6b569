/* aecs: the digital envelope (round trip, every field tampered, wrong nonce, non-PKCS#1 keys) and the
 * RSA key forms. */
#include <string.h>

#include <openssl/sha.h>

#include "aecs/internal.h"
#include "check.h"
#include "initra/aecs.h"

static EVP_PKEY *client, *server, *other;
static char *client_pem, *server_pem, *other_pem;

static const char SECRET[] = "the secret \x01\x02 data";

static int seal(const char *aad, initra_aecs_envelope *e, initra_err *err)
{
    return aecs_envelope_seal((const uint8_t *)SECRET, sizeof SECRET - 1, client_pem, server, aad, e, err);
}

/* Opens e as the client expecting aad from the server; 0 on success (and checks the bytes). */
static int open_env(const initra_aecs_envelope *e, const char *aad, initra_err *err)
{
    uint8_t *p;
    size_t n;
    if (aecs_envelope_open(e, client, server_pem, aad, &p, &n, err)) return -1;
    int same = n == sizeof SECRET - 1 && !memcmp(p, SECRET, n) && p[n] == 0;
    initra_free_secret(p, n);
    if (!same) snprintf(err->msg, sizeof err->msg, "opened but the bytes differ");
    return same ? 0 : -1;
}

static void keys(void)
{
    initra_err err;
    CHECK(strncmp(client_pem, "-----BEGIN RSA PUBLIC KEY-----\n", 31) == 0, "public key is PKCS#1 PEM");
    EVP_PKEY *k = aecs_rsa_public_from_pem(client_pem, &err);
    CHECK(k && EVP_PKEY_get_bits(k) == 2048 && EVP_PKEY_eq(k, client) == 1, "PKCS#1 PEM parses back to the same key");
    EVP_PKEY_free(k);
    char *spki = aecs_rsa_spki_pem(client, &err);
    CHECK(spki && strstr(spki, "-----BEGIN PUBLIC KEY-----"), "SPKI PEM produced");
    CHECK(!aecs_rsa_public_from_pem(spki, &err) && strstr(err.msg, "not a PKCS#1 RSA public key") &&
              strstr(err.msg, "AECS switches to SM2 mode for other forms"),
          "SPKI public key refused: %s", err.msg);
    free(spki);
    char *priv = aecs_rsa_private_pem(client, 0, &err);
    CHECK(priv && strstr(priv, "-----BEGIN RSA PRIVATE KEY-----"), "PKCS#1 private key PEM");
    k = aecs_rsa_private_from_pem(priv, &err);
    CHECK(k && EVP_PKEY_eq(k, client) == 1, "PKCS#1 private key parses back");
    EVP_PKEY_free(k);
    CHECK(!aecs_rsa_public_from_pem(priv, &err), "a private key PEM is not a public key");
    initra_free_secret(priv, strlen(priv));
    priv = aecs_rsa_private_pem(client, 1, &err);
    CHECK(priv && strstr(priv, "-----BEGIN PRIVATE KEY-----"), "PKCS#8 private key PEM");
    k = aecs_rsa_private_from_pem(priv, &err);
    CHECK(k && EVP_PKEY_eq(k, client) == 1, "PKCS#8 private key parses back");
    EVP_PKEY_free(k);
    initra_free_secret(priv, strlen(priv));
    CHECK(!aecs_rsa_public_from_pem("-----BEGIN RSA PUBLIC KEY-----\nAAAA\n-----END RSA PUBLIC KEY-----\n", &err) &&
              strstr(err.msg, "does not decode"),
          "garbage PKCS#1 PEM refused: %s", err.msg);
    EVP_PKEY *small = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)1024);
    char *spem = initra_aecs_rsa_public_pem(small, &err);
    CHECK(!aecs_rsa_public_from_pem(spem, &err) && strstr(err.msg, "1024 bits"), "RSA-1024 refused: %s", err.msg);
    free(spem);
    EVP_PKEY_free(small);
    CHECK(!aecs_rsa_generate(1024, &err), "generating RSA-1024 refused");
}

static void round_trip(void)
{
    initra_err err;
    initra_aecs_envelope e;
    CHECK(!strcmp(aecs_aad(""), "Enclave") && !strcmp(aecs_aad(NULL), "Enclave") &&
              !strcmp(aecs_aad("N1"), "N1"),
          "AAD: nonce, else \"Enclave\"");
    CHECK(seal("0123456789ABCDEF", &e, &err) == 0, "seal: %s", err.msg);
    CHECK(e.iv.n == 12 && e.mac.n == 16 && e.encrypted_key.n == 256 && e.plain_hash.n == 64 && e.plain_hash_sig.n == 256 &&
              e.cipher.n == sizeof SECRET - 1 && e.aad.n == 16 && !memcmp(e.aad.p, "0123456789ABCDEF", 16),
          "field sizes: iv 12, mac 16, encrypted_key 256, plain_hash 64, sig 256, aad = nonce");
    uint8_t h[32];
    char hex[65];
    SHA256((const uint8_t *)SECRET, sizeof SECRET - 1, h);
    initra_hex_upper(h, 32, hex);
    CHECK(!memcmp(e.plain_hash.p, hex, 64), "plain_hash is the uppercase hex SHA-256 of the plaintext");
    CHECK(open_env(&e, "0123456789ABCDEF", &err) == 0, "round trip: %s", err.msg);
    /* the signature is over the hex string with RSA PKCS#1 v1.5 SHA-256, checked independently */
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    CHECK(EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, server) == 1 &&
              EVP_DigestVerify(md, e.plain_hash_sig.p, e.plain_hash_sig.n, (const uint8_t *)hex, 64) == 1,
          "plain_hash_sig verifies over the hex string with EVP (PKCS#1 v1.5 SHA-256)");
    EVP_MD_CTX_free(md);
    CHECK(open_env(&e, "0123456789ABCDEG", &err) != 0 && strstr(err.msg, "aes_cipher.aad is \"0123456789ABCDEF\"") &&
              strstr(err.msg, "expected \"0123456789ABCDEG\""),
          "wrong nonce refused: %s", err.msg);
    uint8_t *p;
    size_t n;
    CHECK(aecs_envelope_open(&e, other, server_pem, "0123456789ABCDEF", &p, &n, &err) != 0 &&
              strstr(err.msg, "encrypted_key"),
          "another recipient key cannot open it: %s", err.msg);
    CHECK(aecs_envelope_open(&e, client, other_pem, "0123456789ABCDEF", &p, &n, &err) != 0 &&
              strstr(err.msg, "plain_hash_sig does not verify"),
          "another signer's key refuses the signature: %s", err.msg);
    aecs_envelope_free(&e);

    CHECK(seal("Enclave", &e, &err) == 0 && open_env(&e, aecs_aad(""), &err) == 0,
          "empty nonce: AAD \"Enclave\" round trip");
    aecs_envelope_free(&e);
    CHECK(aecs_envelope_seal((const uint8_t *)"", 0, client_pem, server, "x", &e, &err) == 0, "empty secret sealed");
    CHECK(aecs_envelope_open(&e, client, server_pem, "x", &p, &n, &err) == 0 && n == 0, "empty secret opened");
    if (n == 0 && p) initra_free_secret(p, 1);
    aecs_envelope_free(&e);
}

static void flip(initra_bytes *b, size_t i) { b->p[i % b->n] ^= 0x01; }

static void tamper(void)
{
    initra_err err;
    struct {
        const char *field;
        size_t off;
        const char *want;
    } cases[] = {
        {"cipher", 3, "AES-256-GCM authentication failed"},
        {"mac", 0, "AES-256-GCM authentication failed"},
        {"iv", 5, "AES-256-GCM authentication failed"},
        {"aad", 1, "aes_cipher.aad is"},
        {"encrypted_key", 100, "encrypted_key (256 bytes) does not decrypt"},
        {"plain_hash", 10, "plain_hash \""},
        {"plain_hash_sig", 200, "plain_hash_sig does not verify"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        initra_aecs_envelope e;
        seal("NONCE", &e, &err);
        initra_bytes *b = !strcmp(cases[i].field, "cipher")          ? &e.cipher
                          : !strcmp(cases[i].field, "mac")           ? &e.mac
                          : !strcmp(cases[i].field, "iv")            ? &e.iv
                          : !strcmp(cases[i].field, "aad")           ? &e.aad
                          : !strcmp(cases[i].field, "encrypted_key") ? &e.encrypted_key
                          : !strcmp(cases[i].field, "plain_hash")    ? &e.plain_hash
                                                                     : &e.plain_hash_sig;
        flip(b, cases[i].off);
        CHECK(open_env(&e, "NONCE", &err) != 0 && strstr(err.msg, cases[i].want), "%s tampered: %s", cases[i].field,
              err.msg);
        aecs_envelope_free(&e);
    }
    /* lengths */
    initra_aecs_envelope e;
    seal("NONCE", &e, &err);
    e.iv.n = 11;
    CHECK(open_env(&e, "NONCE", &err) != 0 && strstr(err.msg, "aes_cipher.iv is 11 bytes"), "short iv: %s", err.msg);
    e.iv.n = 12;
    e.mac.n = 15;
    CHECK(open_env(&e, "NONCE", &err) != 0 && strstr(err.msg, "aes_cipher.mac is 15 bytes"), "short mac: %s", err.msg);
    e.mac.n = 16;
    e.plain_hash.n = 63;
    CHECK(open_env(&e, "NONCE", &err) != 0 && strstr(err.msg, "plain_hash is 63 bytes"), "short plain_hash: %s", err.msg);
    e.plain_hash.n = 64;
    e.cipher.n--;
    CHECK(open_env(&e, "NONCE", &err) != 0 && strstr(err.msg, "AES-256-GCM authentication failed"), "truncated cipher");
    e.cipher.n++;
    /* a lowercase plain_hash is not the uppercase form, even with a valid signature over it */
    for (size_t i = 0; i < 64; i++)
        if (e.plain_hash.p[i] >= 'A' && e.plain_hash.p[i] <= 'F') e.plain_hash.p[i] = (uint8_t)(e.plain_hash.p[i] + 32);
    CHECK(open_env(&e, "NONCE", &err) != 0 && strstr(err.msg, "is not the uppercase hex SHA-256"),
          "lowercase plain_hash refused: %s", err.msg);
    aecs_envelope_free(&e);
    /* non-PKCS#1 recipient key */
    char *spki = aecs_rsa_spki_pem(client, &err);
    CHECK(aecs_envelope_seal((const uint8_t *)"x", 1, spki, server, "a", &e, &err) != 0 &&
              strstr(err.msg, "recipient key: not a PKCS#1 RSA public key"),
          "sealing to an SPKI key refused: %s", err.msg);
    seal("NONCE", &e, &err);
    uint8_t *p;
    size_t n;
    CHECK(aecs_envelope_open(&e, client, spki, "NONCE", &p, &n, &err) != 0 &&
              strstr(err.msg, "the signer's pem_public_key: not a PKCS#1 RSA public key"),
          "an SPKI signer key refused: %s", err.msg);
    aecs_envelope_free(&e);
    free(spki);
}

int main(void)
{
    initra_err err;
    client = aecs_rsa_generate(2048, &err);
    server = aecs_rsa_generate(2048, &err);
    other = aecs_rsa_generate(2048, &err);
    client_pem = initra_aecs_rsa_public_pem(client, &err);
    server_pem = initra_aecs_rsa_public_pem(server, &err);
    other_pem = initra_aecs_rsa_public_pem(other, &err);
    CHECK(client && server && other && client_pem && server_pem && other_pem, "keys generated");
    keys();
    round_trip();
    tamper();
    free(client_pem);
    free(server_pem);
    free(other_pem);
    EVP_PKEY_free(client);
    EVP_PKEY_free(server);
    EVP_PKEY_free(other);
    CHECK_DONE();
}
