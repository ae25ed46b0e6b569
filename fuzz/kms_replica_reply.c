/* libFuzzer target: a GetDataKeyReply as a new KMS replica receives it from a running one
 * (src/kms/replica.c, kms_replica_open: exact field sizes, the ephemeral point, AES-256-GCM). Opened with a
 * fixed P-256 key standing in for the replica's RA-TLS key (a throwaway test key): what opens is 32 bytes
 * and opens again to the same bytes. */
#include <stdlib.h>
#include <string.h>

#include "kms/internal.h"
#include "kms_admin.pb-c.h"

static const char KEY[] = "-----BEGIN PRIVATE KEY-----\n"
                          "MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgj/HLQjjZZWLwkdby\n"
                          "HrO12L7nj2mxfbiiVuA3bK8JOv6hRANCAARL9mNPz7dMULFDHimd4DJKBaDiwsUO\n"
                          "CSnHhUV4hUgjGI+/ZcGMnCBvyVwfYjFpEhA+qqKDQ6Xrx6otIrjlbX+V\n"
                          "-----END PRIVATE KEY-----\n";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    Initra__Kms__V1__GetDataKeyReply *m = initra__kms__v1__get_data_key_reply__unpack(NULL, size, data);
    if (!m) return 0;
    uint8_t a[32], b[32];
    initra_err e;
    int r1 = kms_replica_open(KEY, m->ephemeral_public.data, m->ephemeral_public.len, m->nonce.data, m->nonce.len,
                              m->ciphertext.data, m->ciphertext.len, a, &e);
    int r2 = kms_replica_open(KEY, m->ephemeral_public.data, m->ephemeral_public.len, m->nonce.data, m->nonce.len,
                              m->ciphertext.data, m->ciphertext.len, b, &e);
    if (r1 != r2 || (r1 == 0 && memcmp(a, b, 32) != 0)) abort();
    initra__kms__v1__get_data_key_reply__free_unpacked(m, NULL);
    return 0;
}
