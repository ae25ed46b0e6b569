/* libFuzzer target: opening a digital envelope whose seven fields come from the input (each a 2-byte
 * little-endian length and the bytes: cipher, mac, aad, iv, encrypted_key, plain_hash, plain_hash_sig),
 * with fixed keys and the expected AAD "NONCE". */
#include <string.h>

#include "aecs/internal.h"
#include "initra/aecs.h"

static EVP_PKEY *key;
static char *signer_pem;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    initra_err err;
    if (!key) {
        key = aecs_rsa_generate(2048, &err);
        signer_pem = initra_aecs_rsa_public_pem(key, &err);
        if (!key || !signer_pem) return 0;
    }
    initra_aecs_envelope e;
    initra_bytes *f[7] = {&e.cipher, &e.mac, &e.aad, &e.iv, &e.encrypted_key, &e.plain_hash, &e.plain_hash_sig};
    size_t off = 0;
    for (int i = 0; i < 7; i++) {
        size_t n = 0;
        if (off + 2 <= size) {
            n = initra_le16(data + off);
            off += 2;
        }
        if (n > size - off) n = size - off;
        f[i]->p = (uint8_t *)data + off;
        f[i]->n = n;
        off += n;
    }
    uint8_t *plain;
    size_t n;
    if (aecs_envelope_open(&e, key, signer_pem, "NONCE", &plain, &n, &err) == 0) initra_free_secret(plain, n + 1);
    return 0;
}
