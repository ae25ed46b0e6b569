/* initra kms: the key-management server (docs/grpc-ratls.md). Releases a secret only to an enclave whose
 * RA-TLS evidence verifies and whose identity the policy allows for that secret. */
#ifndef INITRA_KMS_H
#define INITRA_KMS_H

#include <stddef.h>
#include <stdint.h>

#include "initra/policy.h"
#include "initra/util.h"

/* Occlum's secret_config.json: a flat object { "name": "<base64 of the secret bytes>", ... }. */
typedef struct {
    char *name;
    uint8_t *data;
    size_t len;
} initra_kms_secret;

typedef struct {
    initra_kms_secret *items;
    size_t n;
} initra_kms_secrets;

/* Loads secret_config.json; each error names the file, the key and what is wrong (never the value). */
int initra_kms_secrets_load(const char *path, initra_kms_secrets *s, initra_err *err);
/* Zeroizes and frees. */
void initra_kms_secrets_free(initra_kms_secrets *s);
const initra_kms_secret *initra_kms_secrets_find(const initra_kms_secrets *s, const char *name);

#endif
