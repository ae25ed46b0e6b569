/* libFuzzer target: SecretReply.secret as initra's init decodes it (Occlum's quoted form or plain padded
 * base64). Whatever decodes re-encodes to the same base64 text, inside quotes when it came quoted. */
#include <stdlib.h>
#include <string.h>

#include "init/internal.h"
#include "initra/init.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    if (!text) return 0;
    memcpy(text, data, size);
    text[size] = 0;
    uint8_t *out;
    size_t n;
    initra_err err;
    if (init_grsecret_decode(text, &out, &n, &err) == 0) {
        char *b64 = initra_b64_encode(out, n);
        size_t len = strlen(text);
        int quoted = text[0] == '"';
        /* A quoted text may spell characters with JSON escapes; only plain quoting re-encodes exactly. */
        if (!b64 || (!quoted && strcmp(b64, text) != 0) ||
            (quoted && !memchr(text, '\\', len) &&
             (len != strlen(b64) + 2 || memcmp(text + 1, b64, len - 2) != 0)))
            abort();
        free(b64);
        free(out);
    }
    free(text);
    return 0;
}
