/* libFuzzer target: the admin client's handling of a KMS's ListSecrets and GetAudit replies (protobuf-c
 * unpacks, then initra checks every listed rule: config_id empty or 64 bytes, min_config_svn <= 65535).
 * The first byte picks the reply; a rule that passes is handed on exactly as listed. */
#include <stdlib.h>
#include <string.h>

#include "kms/internal.h"

static int seen(void *ctx, const initra_store_entry *e)
{
    if (!e->rule) abort();
    ++*(size_t *)ctx;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) return 0;
    initra_err err;
    if (data[0] & 1) {
        Initra__Kms__V1__GetAuditReply *r = initra__kms__v1__get_audit_reply__unpack(NULL, size - 1, data + 1);
        initra_kms_admin_audit_result res;
        if (r && kms_admin_audit_take(r, &res, &err) == 0) {
            if (strcmp(res.jsonl, r->jsonl ? r->jsonl : "")) abort();
            initra_kms_admin_audit_free(&res);
        }
        if (r) initra__kms__v1__get_audit_reply__free_unpacked(r, NULL);
        return 0;
    }
    Initra__Kms__V1__ListSecretsReply *r = initra__kms__v1__list_secrets_reply__unpack(NULL, size - 1, data + 1);
    if (!r) return 0;
    size_t n = 0;
    int rc = kms_admin_list_walk(r, "fuzz", seen, NULL, &n, NULL, &err);
    if (rc == 0 && n != r->n_entries) abort();
    if (rc != 0 && !strstr(err.msg, "entries[")) abort();
    initra__kms__v1__list_secrets_reply__free_unpacked(r, NULL);
    return 0;
}
