/* Test peer for the KMS's Admin service (proto/kms_admin.proto), driven by tests/t_kms_store.sh over plain
 * mutual TLS with initra's rpc client (the test's KMS is attested by the tests themselves; the real
 * `initra kms admin` verifies the KMS first).
 *   kms_admin_peer keygen OUT            OUT.key (0600) and OUT.crt (self-signed EC P-256); prints the
 *                                        certificate's SPKI SHA-256 (hex)
 *   kms_admin_peer TARGET KEY CRT VERB [ARGS...]
 *     put NS NAME FILE [MIN_CONFIG_SVN|- [CONFIG_ID_HEX]]   prints "version N"
 *     generate NS NAME TYPE                                prints "version N size S"
 *     list [NS]                                            one line per version: ns name vN type size
 *     delete NS NAME VERSION                               prints "deleted N"
 *     policy NS FILE
 *     audit [verify]                                       the JSON lines; with verify first "verified N" or
 *                                                          "broken: ..."
 *     blob                                                 prints "locked L bytes N"
 *     recover PRIV_PEM                                     the recovery blob opened with the recovery
 *                                                          private key, sent back with Recover
 * Errors: "CODE message" on stderr, exit 1. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "initra/ratls.h"
#include "initra/rpc.h"
#include "initra/store.h"
#include "initra/util.h"
#include "kms_admin.pb-c.h"

static int die(const char *fmt, const char *a)
{
    fprintf(stderr, fmt, a);
    fputc('\n', stderr);
    exit(1);
}

static char *slurp(const char *path, size_t *len)
{
    uint8_t *d;
    size_t n;
    initra_err e;
    if (initra_read_file(path, 2u << 20, &d, &n, &e)) die("%s", e.msg);
    char *s = realloc(d, n + 1);
    s[n] = 0;
    if (len) *len = n;
    return s;
}

static int keygen(const char *out)
{
    EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    X509 *x = X509_new();
    X509_set_version(x, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
    X509_gmtime_adj(X509_getm_notBefore(x), -60);
    X509_gmtime_adj(X509_getm_notAfter(x), 86400);
    X509_set_pubkey(x, k);
    X509_NAME *nm = X509_get_subject_name(x);
    X509_NAME_add_entry_by_txt(nm, "CN", MBSTRING_ASC, (const unsigned char *)"initra admin", -1, -1, 0);
    X509_set_issuer_name(x, nm);
    X509_sign(x, k, EVP_sha256());
    char path[1024];
    snprintf(path, sizeof path, "%s.key", out);
    FILE *f = fopen(path, "w");
    if (!f) die("cannot write %s", path);
    PEM_write_PrivateKey(f, k, NULL, NULL, 0, NULL, NULL);
    fclose(f);
    snprintf(path, sizeof path, "%s.crt", out);
    f = fopen(path, "w");
    if (!f) die("cannot write %s", path);
    PEM_write_X509(f, x);
    fclose(f);
    char *pem = slurp(path, NULL);
    uint8_t h[32];
    char hex[65];
    initra_err e;
    if (initra_spki_sha256_pem(pem, h, &e)) die("%s", e.msg);
    printf("%s\n", initra_hex(h, 32, hex));
    free(pem);
    X509_free(x);
    EVP_PKEY_free(k);
    return 0;
}

static ProtobufCMessage *call(initra_rpc_client *c, const char *method, const ProtobufCMessage *req,
                              const ProtobufCMessageDescriptor *rd)
{
    size_t n = protobuf_c_message_get_packed_size(req);
    uint8_t *b = malloc(n + 1), *resp = NULL;
    protobuf_c_message_pack(req, b);
    char full[128];
    snprintf(full, sizeof full, "/initra.kms.v1.Admin/%s", method);
    size_t rl = 0;
    int code = 0;
    initra_err e;
    if (initra_rpc_call(c, full, b, n, 20000, &resp, &rl, &code, &e)) {
        fprintf(stderr, "%s %s\n", initra_rpc_code_name(code), e.msg);
        exit(1);
    }
    free(b);
    ProtobufCMessage *m = protobuf_c_message_unpack(rd, NULL, rl, resp);
    free(resp);
    if (!m) die("%s: reply does not parse", method);
    return m;
}

int main(int argc, char **argv)
{
    if (argc == 3 && !strcmp(argv[1], "keygen")) return keygen(argv[2]);
    if (argc < 5) die("%s", "usage: kms_admin_peer keygen OUT | TARGET KEY CRT VERB [ARGS...]");
    char *key = slurp(argv[2], NULL), *crt = slurp(argv[3], NULL);
    initra_rpc_tls tls = {.cert_chain_pem = crt, .key_pem = key, .verify = initra_rpc_accept_any};
    initra_err e;
    initra_rpc_client *c = initra_rpc_client_new(argv[1], &tls, &e);
    if (!c) die("%s", e.msg);
    const char *v = argv[4];
    char **a = argv + 5;
    int na = argc - 5;
    if (!strcmp(v, "put") && na >= 3) {
        Initra__Kms__V1__PutSecretRequest q = INITRA__KMS__V1__PUT_SECRET_REQUEST__INIT;
        Initra__Kms__V1__Rule r = INITRA__KMS__V1__RULE__INIT;
        uint8_t cid[64];
        q.namespace_ = a[0];
        q.name = a[1];
        size_t n;
        q.value.data = (uint8_t *)slurp(a[2], &n);
        q.value.len = n;
        if (na >= 4 && strcmp(a[3], "-")) {
            r.has_min_config_svn = 1;
            r.min_config_svn = (uint32_t)atoi(a[3]);
        }
        if (na >= 5) {
            if (initra_unhex(a[4], cid, 64)) die("%s: not 128 hex digits", a[4]);
            r.config_id.data = cid;
            r.config_id.len = 64;
        }
        q.rule = &r;
        Initra__Kms__V1__PutSecretReply *p =
            (void *)call(c, "PutSecret", &q.base, &initra__kms__v1__put_secret_reply__descriptor);
        printf("version %u\n", p->version);
        protobuf_c_message_free_unpacked(&p->base, NULL);
        free(q.value.data);
    } else if (!strcmp(v, "generate") && na == 3) {
        Initra__Kms__V1__GenerateSecretRequest q = INITRA__KMS__V1__GENERATE_SECRET_REQUEST__INIT;
        q.namespace_ = a[0];
        q.name = a[1];
        q.type = a[2];
        Initra__Kms__V1__PutSecretReply *p =
            (void *)call(c, "GenerateSecret", &q.base, &initra__kms__v1__put_secret_reply__descriptor);
        printf("version %u size %llu\n", p->version, (unsigned long long)p->size);
        protobuf_c_message_free_unpacked(&p->base, NULL);
    } else if (!strcmp(v, "list")) {
        Initra__Kms__V1__ListSecretsRequest q = INITRA__KMS__V1__LIST_SECRETS_REQUEST__INIT;
        if (na) q.namespace_ = a[0];
        Initra__Kms__V1__ListSecretsReply *p =
            (void *)call(c, "ListSecrets", &q.base, &initra__kms__v1__list_secrets_reply__descriptor);
        for (size_t i = 0; i < p->n_entries; i++)
            printf("%s %s v%u %s %llu\n", p->entries[i]->namespace_, p->entries[i]->name, p->entries[i]->version,
                   p->entries[i]->type, (unsigned long long)p->entries[i]->size);
        for (size_t i = 0; i < p->n_policy_namespaces; i++) printf("policy %s\n", p->policy_namespaces[i]);
        protobuf_c_message_free_unpacked(&p->base, NULL);
    } else if (!strcmp(v, "delete") && na == 3) {
        Initra__Kms__V1__DeleteSecretRequest q = INITRA__KMS__V1__DELETE_SECRET_REQUEST__INIT;
        q.namespace_ = a[0];
        q.name = a[1];
        q.version = (uint32_t)atoi(a[2]);
        Initra__Kms__V1__DeleteSecretReply *p =
            (void *)call(c, "DeleteSecret", &q.base, &initra__kms__v1__delete_secret_reply__descriptor);
        printf("deleted %u\n", p->deleted);
        protobuf_c_message_free_unpacked(&p->base, NULL);
    } else if (!strcmp(v, "policy") && na == 2) {
        Initra__Kms__V1__SetPolicyRequest q = INITRA__KMS__V1__SET_POLICY_REQUEST__INIT;
        q.namespace_ = a[0];
        q.policy_json = slurp(a[1], NULL);
        protobuf_c_message_free_unpacked(call(c, "SetPolicy", &q.base, &initra__kms__v1__set_policy_reply__descriptor), NULL);
        free(q.policy_json);
    } else if (!strcmp(v, "audit")) {
        Initra__Kms__V1__GetAuditRequest q = INITRA__KMS__V1__GET_AUDIT_REQUEST__INIT;
        q.verify = na && !strcmp(a[0], "verify");
        Initra__Kms__V1__GetAuditReply *p =
            (void *)call(c, "GetAudit", &q.base, &initra__kms__v1__get_audit_reply__descriptor);
        if (q.verify && p->verified) printf("verified %llu\n", (unsigned long long)p->records);
        else if (q.verify) printf("broken: %s\n", p->verify_error);
        fputs(p->jsonl, stdout);
        protobuf_c_message_free_unpacked(&p->base, NULL);
    } else if (!strcmp(v, "blob")) {
        Initra__Kms__V1__GetRecoveryBlobRequest q = INITRA__KMS__V1__GET_RECOVERY_BLOB_REQUEST__INIT;
        Initra__Kms__V1__GetRecoveryBlobReply *p =
            (void *)call(c, "GetRecoveryBlob", &q.base, &initra__kms__v1__get_recovery_blob_reply__descriptor);
        printf("locked %d bytes %zu\n", p->locked, p->blob.len);
        protobuf_c_message_free_unpacked(&p->base, NULL);
    } else if (!strcmp(v, "recover") && na == 1) {
        Initra__Kms__V1__GetRecoveryBlobRequest q = INITRA__KMS__V1__GET_RECOVERY_BLOB_REQUEST__INIT;
        Initra__Kms__V1__GetRecoveryBlobReply *p =
            (void *)call(c, "GetRecoveryBlob", &q.base, &initra__kms__v1__get_recovery_blob_reply__descriptor);
        size_t pl;
        char *priv = slurp(a[0], &pl);
        uint8_t dek[32];
        if (initra_store_recovery_open(p->blob.data, p->blob.len, (const uint8_t *)priv, pl, dek, &e))
            die("%s", e.msg);
        Initra__Kms__V1__RecoverRequest r = INITRA__KMS__V1__RECOVER_REQUEST__INIT;
        r.dek.data = dek;
        r.dek.len = 32;
        protobuf_c_message_free_unpacked(call(c, "Recover", &r.base, &initra__kms__v1__recover_reply__descriptor), NULL);
        initra_zero(dek, 32);
        free(priv);
        printf("recovered (the store was %slocked)\n", p->locked ? "" : "not ");
        protobuf_c_message_free_unpacked(&p->base, NULL);
    } else {
        die("unknown verb or arguments: %s", v);
    }
    initra_rpc_client_free(c);
    free(key);
    free(crt);
    return 0;
}
