/* libFuzzer target: Occlum's image_config.json (measured, but parsed strictly) and the image_key
 * secret from the KMS (untrusted). Every refusal is one non-empty line; an accepted key round-trips. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "attest/internal.h"
#include "initra/attest.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    initra_err err;
    int type = -5;
    if (attest_image_config_parse((const char *)data, size, "image_config.json", &type, &err) == 0) {
        if (type != INITRA_IMAGE_ENCRYPTED && type != INITRA_IMAGE_INTEGRITY_ONLY) abort();
    } else if (!err.msg[0] || strchr(err.msg, '\n')) {
        abort();
    }
    uint8_t key[16];
    if (initra_image_key_parse(data, size, key, &err) == 0) {
        char text[16 * 3 + 1];
        for (int i = 0; i < 16; i++) snprintf(text + 3 * i, 4, "%02x-", key[i]);
        size_t n = size;
        while (n > 0 && (data[n - 1] == '\r' || data[n - 1] == '\n')) n--;
        if (n != 47 || strncasecmp(text, (const char *)data, 47) != 0) abort();
    } else if (!err.msg[0] || strchr(err.msg, '\n')) {
        abort();
    }
    return 0;
}
