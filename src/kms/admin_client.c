/* The admin client (initra kms admin): initra.kms.v1.Admin over mutual TLS. The KMS's RA-TLS certificate
 * is verified in the handshake (DCAP, then the expected policy), so nothing reaches a KMS that fails. */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>

#include "initra/aecs.h"
#include "initra/kms.h"
#include "initra/rpc.h"
#include "kms/internal.h"
#include "kms_admin.pb-c.h"

#define ADMIN "/initra.kms.v1.Admin/"

struct initra_kms_admin {
    initra_ratls_verifier *verifier;
    const initra_policy *expect;
    initra_rpc_client *rpc;
    char kms[256];
    unsigned deadline_ms;
    int refused;     /* the handshake refused the KMS's evidence (set on a gRPC thread) */
    char why[512];
};

/* Handshake: the KMS must prove a genuine enclave that --expect accepts. */
static int verify_kms(void *ctx, const char *pem, initra_err *err)
{
    initra_kms_admin *a = ctx;
    initra_ratls_peer peer;
    if (initra_ratls_verify_peer(a->verifier, pem, time(NULL), &peer, err) == 0) {
        initra_evidence ev = {&peer.report, peer.status, peer.advisory_ptrs, peer.n_advisories,
                              peer.collateral_expired, peer.tcb_eval_data_number};
        if (initra_policy_check(a->expect, &ev, err) == 0) return 0;
    }
    a->refused = 1;
    snprintf(a->why, sizeof a->why, "%s", err->msg);
    return -1;
}

initra_kms_admin *initra_kms_admin_connect(const initra_kms_admin_opts *o, initra_err *err)
{
    if (!o->kms || !o->cert_pem || !o->key_pem || !o->expect) {
        initra_fail(err, "kms admin: the KMS address (kms), the admin certificate and key (cert, key) and the "
                         "expected KMS policy (expect) are all required");
        return NULL;
    }
    initra_kms_admin *a = calloc(1, sizeof *a);
    if (!a) {
        initra_fail(err, "out of memory");
        return NULL;
    }
    snprintf(a->kms, sizeof a->kms, "%s", o->kms);
    a->expect = o->expect;
    a->deadline_ms = o->deadline_ms ? o->deadline_ms : INITRA_KMS_ADMIN_DEADLINE_MS;
    /* The channel connects on the first call, after the verifier below exists. */
    initra_rpc_tls tls = {.cert_chain_pem = o->cert_pem, .key_pem = o->key_pem, .verify = verify_kms, .verify_ctx = a};
    if (!(a->rpc = initra_rpc_client_new(o->kms, &tls, err))) {
        initra_fail_prefix(err, "kms admin: the admin certificate and key (cert, key)");
        goto fail;
    }
    if (!(a->verifier = initra_ratls_verifier_new(&o->verifier, err))) {
        initra_fail_prefix(err, "kms admin: cannot verify the KMS (collateral or pccs, trust_roots)");
        goto fail;
    }
    return a;
fail:
    initra_kms_admin_close(a);
    return NULL;
}

int initra_kms_admin_refused(const initra_kms_admin *a) { return a->refused; }

void initra_kms_admin_close(initra_kms_admin *a)
{
    if (!a) return;
    initra_rpc_client_free(a->rpc);
    initra_ratls_verifier_free(a->verifier);
    free(a);
}

/* One unary call: packs req, unpacks the reply as reply_desc (*out; NULL for an empty reply message is
 * replaced by the message's defaults). Request bytes that carry a secret are zeroized after the call. */
static int call(initra_kms_admin *a, const char *rpc, const ProtobufCMessage *req,
                const ProtobufCMessageDescriptor *reply_desc, ProtobufCMessage **out, initra_err *err)
{
    size_t n = protobuf_c_message_get_packed_size(req);
    uint8_t *buf = malloc(n ? n : 1), *resp = NULL;
    size_t rlen = 0;
    if (!buf) return initra_fail(err, "out of memory");
    protobuf_c_message_pack(req, buf);
    char method[96];
    snprintf(method, sizeof method, ADMIN "%s", rpc);
    a->refused = 0;
    initra_err e;
    int rc = initra_rpc_call(a->rpc, method, buf, n, a->deadline_ms, &resp, &rlen, NULL, &e);
    initra_free_secret(buf, n);
    if (rc) {
        if (a->refused)
            return initra_fail(err, "kms admin: KMS %s refused before anything was sent: its RA-TLS evidence does "
                                    "not verify or does not satisfy the expected policy (expect): %s", a->kms, a->why);
        /* A KMS with the Admin service refuses an admin key it does not list in the handshake. */
        if (strstr(e.msg, "refused our certificate"))
            return initra_fail(err, "kms admin %s: KMS %s closed the connection in the handshake: is this admin "
                                    "certificate's SPKI SHA-256 (`initra kms admin keygen` printed it) listed under "
                                    "\"admins\" in its configuration? (%s)", rpc, a->kms, e.msg);
        return initra_fail(err, "kms admin %s: %s", rpc, e.msg);
    }
    *out = protobuf_c_message_unpack(reply_desc, NULL, rlen, resp);
    initra_free_secret(resp, rlen);
    if (!*out) return initra_fail(err, "kms admin %s: KMS %s: the reply is not a %s message", rpc, a->kms, reply_desc->name);
    return 0;
}

static Initra__Kms__V1__Rule *rule_msg(const initra_store_rule *r, Initra__Kms__V1__Rule *m)
{
    if (!r) return NULL;
    initra__kms__v1__rule__init(m);
    if (r->has_config_id) m->config_id = (ProtobufCBinaryData){64, (uint8_t *)r->config_id};
    m->has_min_config_svn = r->has_min_config_svn != 0;
    m->min_config_svn = r->min_config_svn;
    return m;
}

static char *ns_or_empty(const char *ns) { return (char *)(ns ? ns : ""); }

static int put_reply(ProtobufCMessage *m, uint32_t *version, uint64_t *size)
{
    Initra__Kms__V1__PutSecretReply *r = (Initra__Kms__V1__PutSecretReply *)m;
    if (version) *version = r->version;
    if (size) *size = r->size;
    protobuf_c_message_free_unpacked(m, NULL);
    return 0;
}

int initra_kms_admin_put(initra_kms_admin *a, const char *ns, const char *name, const uint8_t *value, size_t len,
                         const initra_store_rule *rule, uint32_t *version, uint64_t *size, initra_err *err)
{
    Initra__Kms__V1__PutSecretRequest req = INITRA__KMS__V1__PUT_SECRET_REQUEST__INIT;
    Initra__Kms__V1__Rule rm;
    req.namespace_ = ns_or_empty(ns);
    req.name = (char *)name;
    req.value = (ProtobufCBinaryData){len, (uint8_t *)value};
    req.rule = rule_msg(rule, &rm);
    ProtobufCMessage *m;
    if (call(a, "PutSecret", &req.base, &initra__kms__v1__put_secret_reply__descriptor, &m, err)) return -1;
    return put_reply(m, version, size);
}

int initra_kms_admin_generate(initra_kms_admin *a, const char *ns, const char *name, const char *type,
                              const initra_store_rule *rule, uint32_t *version, uint64_t *size, initra_err *err)
{
    Initra__Kms__V1__GenerateSecretRequest req = INITRA__KMS__V1__GENERATE_SECRET_REQUEST__INIT;
    Initra__Kms__V1__Rule rm;
    req.namespace_ = ns_or_empty(ns);
    req.name = (char *)name;
    req.type = (char *)type;
    req.rule = rule_msg(rule, &rm);
    ProtobufCMessage *m;
    if (call(a, "GenerateSecret", &req.base, &initra__kms__v1__put_secret_reply__descriptor, &m, err)) return -1;
    return put_reply(m, version, size);
}

/* A listed rule from the KMS: config_id empty or exactly 64 bytes, min_config_svn within 16 bits. */
static int rule_from_msg(const Initra__Kms__V1__Rule *m, initra_store_rule *r, initra_err *err)
{
    memset(r, 0, sizeof *r);
    if (!m) return 0;
    if (m->config_id.len && m->config_id.len != 64)
        return initra_fail(err, "rule.config_id has %zu bytes, not 64", m->config_id.len);
    if (m->config_id.len) {
        r->has_config_id = 1;
        memcpy(r->config_id, m->config_id.data, 64);
    }
    if (m->has_min_config_svn && m->min_config_svn > 0xffff)
        return initra_fail(err, "rule.min_config_svn %u is above 65535", m->min_config_svn);
    r->has_min_config_svn = m->has_min_config_svn;
    r->min_config_svn = (uint16_t)m->min_config_svn;
    return 0;
}

int kms_admin_list_walk(const Initra__Kms__V1__ListSecretsReply *r, const char *kms,
                        int (*fn)(void *ctx, const initra_store_entry *e), void (*pfn)(void *ctx, const char *ns),
                        void *ctx, int *stopped, initra_err *err)
{
    if (stopped) *stopped = 0;
    for (size_t i = 0; i < r->n_entries; i++) {
        const Initra__Kms__V1__SecretEntry *s = r->entries[i];
        initra_store_rule rule;
        if (rule_from_msg(s->rule, &rule, err))
            return initra_fail_prefix(err, "kms admin ListSecrets: KMS %s: entries[%zu]", kms, i);
        initra_store_entry e = {s->namespace_, s->name, s->type, s->version, (size_t)s->size, (time_t)s->created,
                                &rule};
        if (fn && fn(ctx, &e)) {
            if (stopped) *stopped = 1;
            return 0;
        }
    }
    for (size_t i = 0; i < r->n_policy_namespaces && pfn; i++) pfn(ctx, r->policy_namespaces[i]);
    return 0;
}

int initra_kms_admin_list(initra_kms_admin *a, const char *ns, int (*fn)(void *ctx, const initra_store_entry *e),
                          void (*pfn)(void *ctx, const char *ns), void *ctx, initra_err *err)
{
    Initra__Kms__V1__ListSecretsRequest req = INITRA__KMS__V1__LIST_SECRETS_REQUEST__INIT;
    req.namespace_ = ns_or_empty(ns);
    for (;;) { /* page after page (a reply holds at most 10,000 entries) */
        ProtobufCMessage *m;
        if (call(a, "ListSecrets", &req.base, &initra__kms__v1__list_secrets_reply__descriptor, &m, err)) return -1;
        Initra__Kms__V1__ListSecretsReply *r = (Initra__Kms__V1__ListSecretsReply *)m;
        int more = r->more && r->n_entries > 0, stopped = 0;
        int rc = kms_admin_list_walk(r, a->kms, fn, pfn, ctx, &stopped, err);
        req.skip += (uint32_t)r->n_entries;
        protobuf_c_message_free_unpacked(m, NULL);
        if (rc || stopped || !more) return rc;
    }
}

int initra_kms_admin_delete(initra_kms_admin *a, const char *ns, const char *name, uint32_t version,
                            uint32_t *deleted, initra_err *err)
{
    Initra__Kms__V1__DeleteSecretRequest req = INITRA__KMS__V1__DELETE_SECRET_REQUEST__INIT;
    req.namespace_ = ns_or_empty(ns);
    req.name = (char *)name;
    req.version = version;
    ProtobufCMessage *m;
    if (call(a, "DeleteSecret", &req.base, &initra__kms__v1__delete_secret_reply__descriptor, &m, err)) return -1;
    if (deleted) *deleted = ((Initra__Kms__V1__DeleteSecretReply *)m)->deleted;
    protobuf_c_message_free_unpacked(m, NULL);
    return 0;
}

int initra_kms_admin_set_policy(initra_kms_admin *a, const char *ns, const char *policy_json, initra_err *err)
{
    Initra__Kms__V1__SetPolicyRequest req = INITRA__KMS__V1__SET_POLICY_REQUEST__INIT;
    req.namespace_ = ns_or_empty(ns);
    req.policy_json = (char *)policy_json;
    ProtobufCMessage *m;
    if (call(a, "SetPolicy", &req.base, &initra__kms__v1__set_policy_reply__descriptor, &m, err)) return -1;
    protobuf_c_message_free_unpacked(m, NULL);
    return 0;
}

int kms_admin_audit_take(const Initra__Kms__V1__GetAuditReply *r, initra_kms_admin_audit_result *res, initra_err *err)
{
    memset(res, 0, sizeof *res);
    res->jsonl = strdup(r->jsonl ? r->jsonl : "");
    res->verify_error = r->verify_error && r->verify_error[0] ? strdup(r->verify_error) : NULL;
    res->verified = r->verified;
    res->records = r->records;
    if (!res->jsonl || (r->verify_error && r->verify_error[0] && !res->verify_error)) {
        initra_kms_admin_audit_free(res);
        return initra_fail(err, "out of memory");
    }
    return 0;
}

int initra_kms_admin_audit(initra_kms_admin *a, int64_t since, uint32_t max, int verify,
                           initra_kms_admin_audit_result *res, initra_err *err)
{
    Initra__Kms__V1__GetAuditRequest req = INITRA__KMS__V1__GET_AUDIT_REQUEST__INIT;
    req.since = since;
    req.max = max;
    req.verify = verify != 0;
    memset(res, 0, sizeof *res);
    uint32_t got = 0;
    for (;;) { /* page after page (each ~3 MB of records at most) */
        ProtobufCMessage *m;
        if (call(a, "GetAudit", &req.base, &initra__kms__v1__get_audit_reply__descriptor, &m, err)) {
            initra_kms_admin_audit_free(res);
            return -1;
        }
        Initra__Kms__V1__GetAuditReply *r = (Initra__Kms__V1__GetAuditReply *)m;
        int more = r->more && r->last_seq > req.after_seq;
        initra_kms_admin_audit_result page;
        int rc = kms_admin_audit_take(r, &page, err);
        uint64_t last = r->last_seq;
        protobuf_c_message_free_unpacked(m, NULL);
        if (rc) {
            initra_kms_admin_audit_free(res);
            return -1;
        }
        if (!req.after_seq) { /* the first page carries the verification */
            *res = page;
        } else {
            size_t a_len = strlen(res->jsonl), b_len = strlen(page.jsonl);
            char *j = realloc(res->jsonl, a_len + b_len + 1);
            if (!j) {
                initra_kms_admin_audit_free(&page);
                initra_kms_admin_audit_free(res);
                return initra_fail(err, "out of memory");
            }
            memcpy(j + a_len, page.jsonl, b_len + 1);
            res->jsonl = j;
            initra_kms_admin_audit_free(&page);
        }
        got = 0; /* records so far */
        for (const char *p = res->jsonl; max && (p = strchr(p, '\n')); p++) got++;
        if (!more || (max && got >= max)) return 0;
        req.after_seq = last;
        if (max) req.max = max - got;
    }
}

void initra_kms_admin_audit_free(initra_kms_admin_audit_result *r)
{
    free(r->jsonl);
    free(r->verify_error);
    memset(r, 0, sizeof *r);
}

int initra_kms_admin_recovery_blob(initra_kms_admin *a, uint8_t **blob, size_t *len, int *locked, initra_err *err)
{
    Initra__Kms__V1__GetRecoveryBlobRequest req = INITRA__KMS__V1__GET_RECOVERY_BLOB_REQUEST__INIT;
    ProtobufCMessage *m;
    if (call(a, "GetRecoveryBlob", &req.base, &initra__kms__v1__get_recovery_blob_reply__descriptor, &m, err))
        return -1;
    Initra__Kms__V1__GetRecoveryBlobReply *r = (Initra__Kms__V1__GetRecoveryBlobReply *)m;
    int rc = 0;
    *locked = r->locked;
    *len = r->blob.len;
    if (!r->blob.len) rc = initra_fail(err, "kms admin GetRecoveryBlob: KMS %s holds no recovery copy of its data key "
                                            "(its configuration names no recovery_key)", a->kms);
    else if (!(*blob = malloc(r->blob.len))) rc = initra_fail(err, "out of memory");
    else memcpy(*blob, r->blob.data, r->blob.len);
    protobuf_c_message_free_unpacked(m, NULL);
    return rc;
}

int initra_kms_admin_recover(initra_kms_admin *a, const uint8_t dek[32], initra_err *err)
{
    Initra__Kms__V1__RecoverRequest req = INITRA__KMS__V1__RECOVER_REQUEST__INIT;
    req.dek = (ProtobufCBinaryData){32, (uint8_t *)dek};
    ProtobufCMessage *m;
    if (call(a, "Recover", &req.base, &initra__kms__v1__recover_reply__descriptor, &m, err)) return -1;
    protobuf_c_message_free_unpacked(m, NULL);
    return 0;
}

int initra_kms_admin_import_secrets(initra_kms_admin *a, const char *path, const char *ns,
                                    void (*fn)(void *ctx, const char *name, uint32_t version, uint64_t size),
                                    void *ctx, size_t *done, initra_err *err)
{
    initra_kms_secrets s;
    *done = 0;
    if (kms_secrets_load(path, &s, err)) return -1;
    if (!s.n) {
        kms_secrets_free(&s);
        return initra_fail(err, "%s: holds no secret; nothing to import", path);
    }
    int rc = 0;
    for (size_t i = 0; a && i < s.n; i++) {
        uint32_t v;
        uint64_t size;
        if (initra_kms_admin_put(a, ns, s.items[i].name, s.items[i].data, s.items[i].len, NULL, &v, &size, err)) {
            rc = initra_fail_prefix(err, "%s: \"%s\" (%zu of %zu imported before it)", path, s.items[i].name, i, s.n);
            break;
        }
        ++*done;
        if (fn) fn(ctx, s.items[i].name, v, size);
    }
    if (!a) *done = s.n;
    kms_secrets_free(&s);
    return rc;
}

int initra_kms_admin_policy_file(const char *path, char **json, initra_err *err)
{
    uint8_t *text;
    size_t n;
    json_t *j;
    *json = NULL;
    if (initra_read_regular_file(path, INITRA_MAX_CONFIG, &text, &n, err)) return -1;
    if (initra_json_parse(text, n, path, 0, NULL, &j, err)) {
        free(text);
        return -1;
    }
    initra_policy_opts po = {.peer = "the client"};
    int rc = -1;
    if (json_is_object(j) && (json_object_get(j, "identities") || json_object_get(j, "secrets"))) {
        initra_secret_policy *sp = initra_secret_policy_from_json_opts(j, path, &po, err);
        rc = sp ? 0 : -1;
        initra_secret_policy_free(sp);
    } else {
        initra_policy *p = initra_policy_from_json_opts(j, path, &po, err);
        rc = p ? 0 : -1;
        initra_policy_free(p);
    }
    json_decref(j);
    if (rc) {
        free(text);
        return -1;
    }
    *json = (char *)text;
    return 0;
}

/* ---- import aecs ---- */

/* One UA policy entry as an initra policy entry: the attributes an SGX_DCAP report carries that initra's
 * format expresses (MRENCLAVE, MRSIGNER, ISVPRODID, minimum ISVSVN, debug); any other set attribute is
 * an error naming it (that secret's policy cannot be carried over). */
static json_t *ua_entry_json(const initra_ua_attrs *e, const char *where, initra_err *err)
{
    json_t *o = json_object();
    if (!o) return initra_fail(err, "out of memory"), NULL;
    for (int k = 0; k < INITRA_UA_N_ATTRS; k++) {
        const char *v = e->v[k];
        uint64_t u;
        int bad = 0;
        if (!v || !*v) continue;
        switch (k) {
        case INITRA_UA_STR_TEE_PLATFORM: bad = strcmp(v, INITRA_UA_PLATFORM_SGX_DCAP) != 0; break;
        case INITRA_UA_HEX_TA_MEASUREMENT: json_object_set_new(o, "mr_enclave", json_string(v)); break;
        case INITRA_UA_HEX_SIGNER: json_object_set_new(o, "mr_signer", json_string(v)); break;
        case INITRA_UA_HEX_PROD_ID:
            if (!(bad = initra_parse_uint(v, 65535, &u) != 0)) json_object_set_new(o, "isv_prod_id", json_integer((json_int_t)u));
            break;
        case INITRA_UA_STR_MIN_ISVSVN:
            if (!(bad = initra_parse_uint(v, 65535, &u) != 0)) json_object_set_new(o, "min_isv_svn", json_integer((json_int_t)u));
            break;
        /* "false" admits debug enclaves (initra's allow_debug also admits production ones of that identity). */
        case INITRA_UA_BOOL_DEBUG_DISABLED:
            if (!strcmp(v, "false")) json_object_set_new(o, "allow_debug", json_true());
            break;
        default: bad = 1;
        }
        if (bad) {
            json_decref(o);
            return initra_fail(err, "%s: %s \"%.80s\" has no equivalent in an initra policy; not imported (change "
                                    "the AECS policy or set the namespace's policy with `policy set`)",
                               where, INITRA_UA_ATTR_NAMES[k], v), NULL;
        }
    }
    return o;
}

/* The namespace policy of one service: an identity per UA entry, each secret readable by its own. NULL
 * with *none set when no secret of the service has an entry. */
static json_t *aecs_service_policy(const initra_aecs_store *st, const char *svc, const char *path, int *none,
                                   initra_err *err)
{
    json_t *ids = json_object(), *secrets = json_object(), *pol = json_object();
    *none = 1;
    if (!ids || !secrets || !pol) goto oom;
    for (size_t i = 0; i < st->n_secrets; i++) {
        const initra_aecs_secret *s = &st->secrets[i];
        if (strcmp(s->service, svc) || !s->policy.n) continue;
        *none = 0;
        json_t *names = json_array();
        if (!names || json_object_set_new(secrets, s->name, names)) goto oom;
        for (size_t k = 0; k < s->policy.n; k++) {
            char id[48], where[PATH_MAX + 300];
            snprintf(id, sizeof id, "aecs%zu.%zu", i, k);
            snprintf(where, sizeof where, "%s: %s/%s: policy[%zu]", path, svc, s->name, k);
            json_t *e = ua_entry_json(&s->policy.entries[k], where, err);
            if (!e) goto fail;
            json_object_set_new(ids, id, e);
            json_array_append_new(names, json_string(id));
        }
    }
    if (*none) goto fail;
    json_object_set_new(pol, "identities", ids);
    json_object_set_new(pol, "secrets", secrets);
    return pol;
oom:
    initra_fail(err, "out of memory");
fail:
    json_decref(ids);
    json_decref(secrets);
    json_decref(pol);
    return NULL;
}

int kms_admin_aecs_policy(const initra_aecs_store *st, const char *svc, const char *path, char **text, initra_err *err)
{
    int none;
    *text = NULL;
    json_t *pol = aecs_service_policy(st, svc, path, &none, err);
    if (!pol) return none ? 0 : -1;
    initra_policy_opts po = {.peer = "the client"};
    initra_secret_policy *sp = initra_secret_policy_from_json_opts(pol, path, &po, err);
    int valid = sp != NULL;
    *text = valid ? json_dumps(pol, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    initra_secret_policy_free(sp);
    json_decref(pol);
    if (!valid) return initra_fail_prefix(err, "service %s", svc);
    return *text ? 0 : initra_fail(err, "out of memory");
}

/* Each service: its policy (when any secret has one) checked here, then its secrets put, then the policy
 * set. With a NULL: the whole file checked, nothing sent. */
int initra_kms_admin_import_aecs(initra_kms_admin *a, const char *path,
                                 void (*fn)(void *ctx, const char *ns, const char *name, uint32_t version, uint64_t size),
                                 void *ctx, size_t *done, initra_err *err)
{
    initra_aecs_store st;
    if (a && initra_kms_admin_import_aecs(NULL, path, NULL, NULL, done, err)) return -1;
    *done = 0;
    if (initra_aecs_store_load(path, 0, &st, err)) return -1;
    int rc = st.n_secrets ? 0 : initra_fail(err, "%s: holds no secret; nothing to import", path);
    for (size_t si = 0; si < st.n_services && rc == 0; si++) {
        const char *svc = st.services[si];
        char *text;
        if (kms_admin_aecs_policy(&st, svc, path, &text, err)) {
            rc = -1;
            break;
        }
        for (size_t i = 0; a && i < st.n_secrets && rc == 0; i++) {
            const initra_aecs_secret *s = &st.secrets[i];
            uint32_t v;
            uint64_t size;
            if (strcmp(s->service, svc)) continue;
            if (initra_kms_admin_put(a, svc, s->name, (const uint8_t *)s->data, strlen(s->data), NULL, &v, &size, err))
                rc = initra_fail_prefix(err, "%s: %s/%s (%zu of %zu imported before it)", path, svc, s->name, *done,
                                        st.n_secrets);
            else {
                ++*done;
                if (fn) fn(ctx, svc, s->name, v, size);
            }
        }
        if (a && rc == 0 && text && initra_kms_admin_set_policy(a, svc, text, err))
            rc = initra_fail_prefix(err, "%s: the policy of service %s (its %zu secrets are imported)", path, svc, *done);
        free(text);
    }
    if (!a && rc == 0) *done = st.n_secrets;
    initra_aecs_store_free(&st);
    return rc;
}

/* ---- keygen ---- */

static char *pem_text(BIO *b)
{
    char *p, *out;
    long n = BIO_get_mem_data(b, &p);
    if (n <= 0 || !(out = malloc((size_t)n + 1))) return NULL;
    memcpy(out, p, (size_t)n);
    out[n] = 0;
    return out;
}

/* A self-signed certificate for key: CN "initra admin", serial random, valid from now-5min to the same
 * time of day 10 calendar years later. */
static X509 *admin_cert(EVP_PKEY *key)
{
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    tm.tm_year += 10;
    time_t until = timegm(&tm);
    X509 *x = X509_new();
    X509_NAME *name = X509_NAME_new();
    uint8_t serial[16];
    RAND_bytes(serial, sizeof serial);
    serial[0] &= 0x7f;
    BIGNUM *sn = BN_bin2bn(serial, sizeof serial, NULL);
    int ok = x && name && sn && X509_set_version(x, 2) && BN_to_ASN1_INTEGER(sn, X509_get_serialNumber(x)) &&
             X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)"initra admin", -1, -1, 0) &&
             X509_set_subject_name(x, name) && X509_set_issuer_name(x, name) &&
             X509_gmtime_adj(X509_getm_notBefore(x), -300) &&
             ASN1_TIME_set(X509_getm_notAfter(x), until) && X509_set_pubkey(x, key) &&
             X509_sign(x, key, EVP_sha256());
    BN_free(sn);
    X509_NAME_free(name);
    if (!ok) {
        X509_free(x);
        return NULL;
    }
    return x;
}

/* PREFIX.key and PREFIX.EXT; an existing PREFIX.key is refused (a key is never overwritten). */
static int pair_paths(const char *what, const char *prefix, const char *ext, char kpath[PATH_MAX], char ppath[PATH_MAX],
                      initra_err *err)
{
    struct stat st;
    if ((size_t)snprintf(kpath, PATH_MAX, "%s.key", prefix) >= PATH_MAX ||
        (size_t)snprintf(ppath, PATH_MAX, "%s.%s", prefix, ext) >= PATH_MAX)
        return initra_fail(err, "kms admin %s: --out %s: path too long", what, prefix);
    if (lstat(kpath, &st) == 0)
        return initra_fail(err, "kms admin %s: %s exists; remove it first or choose another --out (a key is never "
                                "overwritten)", what, kpath);
    return 0;
}

/* The public half first (0644), then the key (0600): a key without its public half would be refused at
 * the next try. */
static int write_pair(const char *kpath, const char *kpem, const char *ppath, const char *ppem, initra_err *err)
{
    return initra_write_file_atomic(ppath, ppem, strlen(ppem), 0644, err) ||
                   initra_write_file_atomic(kpath, kpem, strlen(kpem), 0600, err)
               ? -1
               : 0;
}

int initra_kms_admin_keygen(const char *prefix, char spki_hex[65], initra_err *err)
{
    char kpath[PATH_MAX], cpath[PATH_MAX];
    if (pair_paths("keygen", prefix, "crt", kpath, cpath, err)) return -1;
    int rc = -1;
    EVP_PKEY *key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    X509 *x = key ? admin_cert(key) : NULL;
    BIO *kb = BIO_new(BIO_s_secmem()), *cb = BIO_new(BIO_s_mem());
    char *kpem = NULL, *cpem = NULL;
    uint8_t h[32];
    if (!x || !kb || !cb || !PEM_write_bio_PrivateKey(kb, key, NULL, NULL, 0, NULL, NULL) ||
        !PEM_write_bio_X509(cb, x) || !(kpem = pem_text(kb)) || !(cpem = pem_text(cb))) {
        initra_fail(err, "kms admin keygen: cannot make an EC P-256 key and its certificate");
        goto done;
    }
    if (initra_spki_sha256_pem(cpem, h, err) || write_pair(kpath, kpem, cpath, cpem, err)) goto done;
    initra_hex(h, 32, spki_hex);
    rc = 0;
done:
    if (kpem) initra_free_secret(kpem, strlen(kpem));
    free(cpem);
    BIO_free(kb); /* secure memory: wiped when freed */
    BIO_free(cb);
    X509_free(x);
    EVP_PKEY_free(key);
    return rc;
}

/* ---- recovery ---- */

int initra_kms_admin_recovery_keygen(const char *type, const char *prefix, initra_err *err)
{
    char kpath[PATH_MAX], ppath[PATH_MAX], *priv, *pub;
    if (strcmp(type, "rsa-3072") && strcmp(type, "x25519"))
        return initra_fail(err, "kms admin recovery-keygen: type '%.40s' is not rsa-3072 or x25519", type);
    if (pair_paths("recovery-keygen", prefix, "pub", kpath, ppath, err) ||
        initra_store_recovery_keygen(type, &priv, &pub, err))
        return -1;
    int rc = write_pair(kpath, priv, ppath, pub, err);
    initra_free_secret(priv, strlen(priv));
    free(pub);
    return rc;
}

int initra_kms_admin_recover_with_key(initra_kms_admin *a, const uint8_t *priv_pem, size_t priv_len, initra_err *err)
{
    uint8_t *blob = NULL, dek[32];
    size_t blen = 0;
    int locked = 0, rc;
    if (initra_kms_admin_recovery_blob(a, &blob, &blen, &locked, err)) return -1;
    if (!locked)
        rc = initra_fail(err, "kms admin recover: KMS %s is not locked (it opens its store itself): nothing to "
                              "recover, no key was sent", a->kms);
    else if (initra_store_recovery_open(blob, blen, priv_pem, priv_len, dek, err))
        rc = initra_fail_prefix(err, "kms admin recover: the recovery key (recovery_key) does not open the recovery "
                                     "copy of KMS %s; nothing was sent", a->kms);
    else rc = initra_kms_admin_recover(a, dek, err);
    initra_zero(dek, sizeof dek);
    free(blob);
    return rc;
}
