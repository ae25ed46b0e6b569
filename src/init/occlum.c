/* Occlum's two-stage boot, as its own inits do it (occlum/occlum 690d5db, tools/init_grpc_ratls/src/main.rs
 * and tools/init_aecs/src/main.rs): /etc/image_config.json in the initfs says whether the application's
 * image is encrypted; if so the secret image_key is fetched with the other keys, then MountRootFS (syscall
 * 363) mounts the image, and only then are the key files written, into the application's root. */
#include <stdio.h>
#include <string.h>

#include "initra/attest.h"
#include "initra/init.h"
#include "init/internal.h"

/* Where kms_keys entry i of the (possibly image_key-prefixed) list came from, for messages. */
const char *init_key_ref(const initra_init_conf *c, size_t i, char *buf, size_t n)
{
    if (c->occlum_image == INITRA_IMAGE_ENCRYPTED) {
        if (i == 0) {
            snprintf(buf, n, "image_key, which /etc/image_config.json (\"encrypted\") requires");
            return buf;
        }
        i--;
    }
    snprintf(buf, n, "kms_keys[%zu].key", i);
    return buf;
}

int init_finish(initra_attester *a, const initra_init_conf *c, uint8_t *const *data, const size_t *lens,
                int *n_written, initra_err *err)
{
    if (c->occlum_image == INITRA_IMAGE_NONE) return init_write_keys(c, data, lens, n_written, err);
    size_t off = 0;
    uint8_t key[16];
    const uint8_t *kp = NULL;
    init_trace("fetched every key");
    if (c->occlum_image == INITRA_IMAGE_ENCRYPTED) {
        if (initra_image_key_parse(data[0], lens[0], key, err)) return initra_fail_prefix(err, "init: image_key from the KMS");
        kp = key;
        off = 1;
    }
    int rc = initra_attest_mount_rootfs(a, kp, err);
    initra_zero(key, sizeof key);
    if (rc) return initra_fail_prefix(err, "init");
    init_trace(kp ? "mounted the encrypted rootfs (MountRootFS)" : "mounted the integrity-only rootfs (MountRootFS)");
    initra_init_conf rest = *c;
    rest.keys += off;
    rest.n_keys -= off;
    return init_write_keys(&rest, data + off, lens + off, n_written, err);
}
