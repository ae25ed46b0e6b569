/* Occlum's image_config.json and image key (docs/occlum.md), the inputs of MountRootFS
 * (initra_attest_mount_rootfs): read by init inside the enclave, and by `initra build --image-key`,
 * `initra run` and `initra sim mount-rootfs` for the sim platform's stand-in of an encrypted image. */
#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "attest/internal.h"
#include "initra/attest.h"

/* At most 40 bytes of s for a message, anything but printable ASCII as '?' (one line, always). */
static const char *shown(const char *s, char out[41])
{
    size_t i = 0;
    for (; s[i] && i < 40; i++) out[i] = (s[i] >= 0x20 && s[i] < 0x7f) ? s[i] : '?';
    out[i] = 0;
    return out;
}

/* init_grpc_ratls/src/main.rs:207-211: struct ImageConfig { image_type: String } with
 * #[serde(deny_unknown_fields)]; main.rs:141-175: "encrypted" or "integrity-only", nothing else. */
int attest_image_config_parse(const char *text, size_t len, const char *file, int *type, initra_err *err)
{
    json_t *j;
    if (initra_json_parse(text, len, file, 0,
                          "Occlum's build writes {\"image_type\": \"encrypted\"} or {\"image_type\": \"integrity-only\"}",
                          &j, err))
        return -1;
    int rc = -1;
    const char *k;
    json_t *v;
    if (!json_is_object(j)) {
        initra_fail(err, "%s: the top level is not a JSON object", file);
        goto out;
    }
    json_object_foreach(j, k, v) {
        if (strcmp(k, "image_type")) {
            char buf[41];
            initra_fail(err, "%s: unknown key \"%s\" (only \"image_type\" is allowed)", file, shown(k, buf));
            goto out;
        }
    }
    v = json_object_get(j, "image_type");
    const char *s = json_string_value(v);
    if (!v || !s) {
        initra_fail(err, "%s: image_type is %s; it must be the string \"encrypted\" or \"integrity-only\"", file,
                    v ? "not a string" : "missing");
        goto out;
    }
    if (!strcmp(s, "encrypted")) *type = INITRA_IMAGE_ENCRYPTED;
    else if (!strcmp(s, "integrity-only")) *type = INITRA_IMAGE_INTEGRITY_ONLY;
    else {
        char buf[41];
        initra_fail(err, "%s: image_type \"%s\" is unknown; Occlum knows \"encrypted\" and \"integrity-only\"", file,
                    shown(s, buf));
        goto out;
    }
    rc = 0;
out:
    json_decref(j);
    return rc;
}

int initra_image_config_load(const char *path, int *type, initra_err *err)
{
    if (access(path, F_OK) != 0) {
        if (errno != ENOENT) return initra_fail(err, "%s: %s", path, strerror(errno));
        *type = INITRA_IMAGE_NONE;
        return 0;
    }
    uint8_t *text;
    size_t n;
    if (initra_read_file(path, 4096, &text, &n, err)) return -1;
    int rc = attest_image_config_parse((const char *)text, n, path, type, err);
    free(text);
    return rc;
}

/* main.rs:165-170 trims trailing '\r'/'\n' and parse_str_to_bytes (main.rs:224-240) splits at '-' into
 * exactly 16 parts, each u8::from_str_radix(_, 16). We take exactly two hex digits per part (what
 * `occlum gen-image-key`, tools/occlum:790, writes); the secret's bytes are never echoed. */
int initra_image_key_parse(const uint8_t *s, size_t n, uint8_t key[16], initra_err *err)
{
    while (n > 0 && (s[n - 1] == '\r' || s[n - 1] == '\n')) n--;
    size_t groups = 1;
    for (size_t i = 0; i < n; i++) groups += s[i] == '-';
    const char *form = "Occlum's form is 16 hex bytes separated by '-' (xx-xx-...-xx, as `occlum gen-image-key` "
                       "writes)";
    if (n == 0) return initra_fail(err, "empty; %s", form);
    if (groups != 16)
        return initra_fail(err, "%zu '-'-separated part%s, not 16; %s", groups,
                           groups == 1 ? "" : "s", form);
    if (n != 16 * 3 - 1) return initra_fail(err, "a part is not two hex digits; %s", form);
    uint8_t out[16];
    for (size_t g = 0; g < 16; g++) {
        const uint8_t *p = s + g * 3;
        char two[3] = {(char)p[0], (char)p[1], 0};
        int bad = initra_unhex(two, &out[g], 1) || (g < 15 && p[2] != '-');
        initra_zero(two, sizeof two);
        if (bad) {
            initra_zero(out, sizeof out);
            return initra_fail(err, "part %zu is not two hex digits; %s", g + 1, form);
        }
    }
    memcpy(key, out, 16);
    initra_zero(out, sizeof out);
    return 0;
}
