/* libFuzzer target: the store's sealed data key and recovery copy (src/store/internal.h), bytes read
 * from a database file the host controls. */
#include "store/internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    initra_err err;
    store_sealed s;
    if (store_sealed_parse(data, size, &s, &err) == 0) {
        uint8_t key[16] = {0}, dek[STORE_KEY_LEN];
        store_sealed_open(&s, key, dek, &err);
    }
    store_recovery r;
    if (store_recovery_parse(data, size, &r, &err) == 0 && (r.head != data || r.body_len + STORE_RECOVERY_HEAD != size))
        __builtin_trap();
    return 0;
}
