/* GrSecret replies: Occlum's quoted form or plain padded base64, decoded to the exact bytes. */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "init/internal.h"
#include "initra/init.h"

int init_grsecret_decode(const char *secret, uint8_t **out, size_t *n, initra_err *err)
{
    size_t len = strlen(secret);
    json_t *j = NULL;
    const char *b64 = secret;
    if (len >= 1 && secret[0] == '"') {
        json_error_t je;
        j = len >= 2 && secret[len - 1] == '"' ? json_loadb(secret, len, JSON_DECODE_ANY, &je) : NULL;
        if (!j || !json_is_string(j) || strlen(json_string_value(j)) != json_string_length(j)) {
            if (j) json_decref(j);
            return initra_fail(err, "it starts with '\"' but is not one JSON string (Occlum's quoted base64)");
        }
        b64 = json_string_value(j);
        len = json_string_length(j);
    }
    int rc = initra_b64_decode(b64, out, n, err);
    if (rc == 0) {
        /* Padded, and one text per byte string (the unused low bits of the last character zero). */
        char *again = len % 4 == 0 ? initra_b64_encode(*out, *n) : NULL;
        if (len % 4 != 0)
            rc = initra_fail(err, "%zu base64 characters without the '=' padding of standard base64", len);
        else if (!again || strcmp(again, b64) != 0)
            rc = initra_fail(err, "not canonical base64: the bits after the last byte are not zero");
        if (again) initra_free_secret(again, strlen(again));
        if (rc) {
            initra_free_secret(*out, *n);
            *out = NULL;
        }
    }
    if (j) {
        initra_zero((void *)json_string_value(j), len);
        json_decref(j);
    }
    return rc;
}
