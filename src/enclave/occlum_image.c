/* Occlum's image types and image key (docs/occlum.md): parsed by init inside the enclave, and by
 * `initra build --image-key` and `initra run` for the sim platform's stand-in of an encrypted image. */
#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <openssl/evp.h>
#include <sys/stat.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "initra/enclave.h"
#include "enclave/internal.h"

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
int enclave_image_config_parse(const char *text, size_t len, const char *file, int *type, initra_err *err)
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
    int rc = enclave_image_config_parse((const char *)text, n, path, type, err);
    free(text);
    return rc;
}

static int hexval(uint8_t c)
{
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
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
        int hi = hexval(p[0]), lo = hexval(p[1]);
        if (hi < 0 || lo < 0 || (g < 15 && p[2] != '-')) {
            initra_zero(out, sizeof out);
            return initra_fail(err, "part %zu is not two hex digits; %s", g + 1, form);
        }
        out[g] = (uint8_t)(hi << 4 | lo);
    }
    memcpy(key, out, 16);
    initra_zero(out, sizeof out);
    return 0;
}

void enclave_image_key_check(const uint8_t key[16], const uint8_t image_mrenclave[32], uint8_t out[32])
{
    static const char label[] = "initra-sim-image-key-v1"; /* with its NUL */
    uint8_t msg[sizeof label + 32];
    memcpy(msg, label, sizeof label);
    memcpy(msg + sizeof label, image_mrenclave, 32);
    size_t n = 0;
    if (!EVP_Q_mac(NULL, "HMAC", NULL, "SHA256", NULL, key, 16, msg, sizeof msg, out, 32, &n) || n != 32)
        memset(out, 0xff, 32); /* never matches a real HMAC by chance: the mount is refused */
}

int enclave_instance_two_stage(const char *dir)
{
    char p[PATH_MAX];
    struct stat st;
    return snprintf(p, sizeof p, "%s/initfs", dir) < (int)sizeof p && stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

int initra_instance_add_initfs(const char *dir, initra_err *err)
{
    static const char *const dirs[] = {"initfs/bin", "initfs/lib", "initfs/etc", "initfs/dev", "initfs/proc"};
    char p[PATH_MAX];
    for (size_t i = 0; i < sizeof dirs / sizeof dirs[0]; i++)
        if (initra_instance_path(dir, dirs[i], p, sizeof p, err) || initra_mkdir_p(p, 0755, err)) return -1;
    return 0;
}

/* build/image_key_check: 64 hex digits and a newline; absent for an integrity-only image. */
int enclave_image_key_check_load(const char *dir, int type, uint8_t out[32], initra_err *err)
{
    char p[PATH_MAX];
    memset(out, 0, 32);
    if (initra_instance_path(dir, "build/image_key_check", p, sizeof p, err)) return -1;
    if (type != INITRA_IMAGE_ENCRYPTED) {
        if (access(p, F_OK) == 0)
            return initra_fail(err, "%s exists but image_config.json says integrity-only: run `initra build %s` again",
                               p, dir);
        return 0;
    }
    uint8_t *buf;
    size_t n;
    if (initra_read_file(p, 256, &buf, &n, err)) return initra_fail_prefix(err, "encrypted image");
    int ok = n == 65 && buf[64] == '\n' && (buf[64] = 0, initra_unhex((const char *)buf, out, 32) == 0);
    free(buf);
    if (!ok) return initra_fail(err, "%s: not 64 hex digits and a newline; run `initra build %s --image-key FILE`", p, dir);
    return 0;
}

int enclave_measure_two_stage(const char *dir, uint8_t out[32], initra_err *err)
{
    char image[PATH_MAX], initfs[PATH_MAX], conf[PATH_MAX];
    uint8_t mi[32], mf[32], check[32];
    int type;
    if (initra_instance_path(dir, "image", image, sizeof image, err) ||
        initra_instance_path(dir, "initfs", initfs, sizeof initfs, err) ||
        initra_instance_path(dir, "initfs/etc/" INITRA_IMAGE_CONFIG_FILE, conf, sizeof conf, err))
        return -1;
    if (initra_image_config_load(conf, &type, err)) return -1;
    if (type == INITRA_IMAGE_NONE)
        return initra_fail(err, "%s is missing: run `initra build %s`", conf, dir);
    if (enclave_measure_image(image, mi, err) || enclave_measure_image(initfs, mf, err) ||
        enclave_image_key_check_load(dir, type, check, err))
        return -1;
    static const char label[] = "initra-sim-mrenclave-v2";
    uint8_t t = (uint8_t)type;
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    unsigned n = 32;
    int ok = md && EVP_DigestInit_ex(md, EVP_sha256(), NULL) && EVP_DigestUpdate(md, label, sizeof label) &&
             EVP_DigestUpdate(md, mi, 32) && EVP_DigestUpdate(md, mf, 32) && EVP_DigestUpdate(md, &t, 1) &&
             EVP_DigestUpdate(md, check, 32) && EVP_DigestFinal_ex(md, out, &n);
    EVP_MD_CTX_free(md);
    return ok ? 0 : initra_fail(err, "SHA-256 failed");
}
