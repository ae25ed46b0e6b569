/* SecretReply.secret decoding in init: Occlum's quoted form and plain padded base64 give the exact bytes
 * for every length; every malformed text is refused with a line saying what is wrong. */
#include <string.h>

#include "check.h"
#include "init/internal.h"
#include "initra/init.h"

int main(void)
{
    initra_err err;
    uint8_t *out;
    size_t n;
    /* Every length 0..100 of bytes 0x00, 0xff and a pattern, both forms. */
    int bad = 0;
    for (size_t len = 0; len <= 100; len++) {
        for (int kind = 0; kind < 3; kind++) {
            uint8_t data[100];
            for (size_t i = 0; i < len; i++) data[i] = kind == 0 ? 0 : kind == 1 ? 0xff : (uint8_t)(i * 37 + 1);
            char *b64 = initra_b64_encode(data, len), quoted[200];
            snprintf(quoted, sizeof quoted, "\"%s\"", b64);
            for (int q = 0; q < 2; q++) {
                if (init_grsecret_decode(q ? quoted : b64, &out, &n, &err) != 0 || n != len ||
                    memcmp(out, data, len) != 0)
                    bad++;
                else
                    free(out);
            }
            free(b64);
        }
    }
    CHECK(bad == 0, "lengths 0-100 of 0x00, 0xff and a pattern, quoted and plain: byte-exact (%d wrong)", bad);
    CHECK(init_grsecret_decode("\"\\u0051Q==\"", &out, &n, &err) == 0 && n == 1 && out[0] == 'A',
          "the quoted form is read as a JSON string (escapes decoded)");
    free(out);
    static const struct {
        const char *text, *want;
    } refused[] = {
        {"\"QQ==", "starts with '\"' but is not one JSON string"},
        {"\"QQ==\" ", "starts with '\"' but is not one JSON string"},
        {"\"", "starts with '\"' but is not one JSON string"},
        {"\"QQ\\u0000==\"", "starts with '\"' but is not one JSON string"},
        {"\"QQ\"", "2 base64 characters without the '=' padding of standard base64"},
        {"QUI", "3 base64 characters without the '=' padding"},
        {"QQ==\"", "is not in the base64 alphabet"},
        {"\"Q Q=\"", "character ' ' at position 1 is not in the base64 alphabet"},
        {"\"QR==\"", "not canonical base64: the bits after the last byte are not zero"},
        {"QUJ=", "not canonical base64"},
        {"Q===", "base64"},
        {"=QQ=", "base64"},
    };
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
        out = NULL;
        int rc = init_grsecret_decode(refused[i].text, &out, &n, &err);
        CHECK(rc != 0 && out == NULL && strstr(err.msg, refused[i].want) && !strchr(err.msg, '\n'),
              "refused: %s -> %s", refused[i].text, rc ? err.msg : "(accepted)");
        if (rc == 0) free(out);
    }
    CHECK_DONE();
}
