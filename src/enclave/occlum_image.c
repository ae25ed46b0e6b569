/* Occlum's two-stage boot on the sim platform (docs/occlum.md): the initfs stage, the stand-in for an
 * encrypted image's key check, the two-stage MRENCLAVE. The image_config.json and image key parsers are
 * attest's (src/attest/occlum_image.c), next to the MountRootFS call they serve. */
#include <limits.h>
#include <openssl/evp.h>
#include <sys/stat.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "initra/attest.h"
#include "initra/enclave.h"
#include "enclave/internal.h"

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
