/* libFuzzer target: the sim descriptor protocol's decoders (untrusted bytes from the peer). Input:
 * 64 bytes of requested report_data, then a whole reply (given to the quote and the seal-key reply
 * decoders); the first 72 bytes also go to the request decoders (quote, mount and seal key: the
 * launcher's side), the first 12 to the mount reply decoder. */
#include <stdlib.h>
#include <string.h>

#include "attest/internal.h"
#include "initra/attest.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    initra_err err;
    uint8_t rd[64];
    if (size >= INITRA_SIMFD_REQUEST_SIZE) {
        initra_simfd_decode_request(data, rd, &err);
        int has_key = 0;
        uint8_t key[16];
        if (initra_simfd_decode_mount(data, &has_key, key, &err) == 0 && (has_key & ~1)) abort();
        initra_seal_request r;
        if (initra_simfd_decode_seal(data, &r, &err) == 0 && memcmp(r.key_id, data + 28, 32) != 0) abort();
    }
    if (size >= INITRA_SIMFD_MOUNT_REPLY_SIZE) {
        uint32_t e = 0;
        if (attest_simfd_decode_mount_reply(data, &e, &err) == 0 && e > 255) abort();
    }
    if (size < 64) return 0;
    uint8_t skey[16];
    if (attest_simfd_decode_seal_reply(data + 64, size - 64, skey, &err) == 0) {
        /* Accepted: exactly a 12-byte header and the 16-byte key. */
        if (size - 64 != INITRA_SIMFD_REPLY_HEADER_SIZE + 16 || memcmp(skey, data + 64 + 12, 16) != 0) abort();
    } else if (!err.msg[0] || strchr(err.msg, '\n')) {
        abort();
    }
    uint8_t *quote = NULL;
    size_t len = 0;
    if (attest_simfd_decode_reply(data + 64, size - 64, data, &quote, &len, &err) == 0) {
        /* Accepted: a quote of the announced length carrying the requested report_data. */
        if (len != size - 64 - INITRA_SIMFD_REPLY_HEADER_SIZE) abort();
        if (memcmp(quote, data + 64 + INITRA_SIMFD_REPLY_HEADER_SIZE, len) != 0) abort();
        free(quote);
    } else if (!err.msg[0] || strchr(err.msg, '\n')) {
        abort(); /* every refusal is one non-empty line */
    }
    return 0;
}
