/* The Admin service, initra.kms.v1.Admin (proto/kms_admin.proto, docs/kms.md "Administration"), on the
 * GRPC-RATLS KMS's port. The caller's certificate must carry a public key whose SHA-256 is listed under
 * "admins" in the KMS configuration; every call, refused ones too, is audited with admin = that hex
 * before the answer. Values never appear in replies other than the recovery blob (encrypted), in log
 * lines or in audit records. */
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>

#include "initra/policy.h"
#include "kms/internal.h"
#include "kms_admin.pb-c.h"

#define MAX_PUT (1u << 20)
#define MAX_RANDOM 65536

typedef struct {
    const kms_admin *a;
    const initra_rpc_request *rq;
    initra_rpc_reply *rp;
    const char *op;
    char admin[65];
} call;

static void fail(call *c, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void fail(call *c, int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->rp->msg, sizeof c->rp->msg, fmt, ap);
    va_end(ap);
    c->rp->code = code;
    kms_log(c->a->log, c->a->lock, "admin %.16s.. %s %s: %s: %s", c->admin, c->rq->peer_addr, c->op,
            initra_rpc_code_name(code), c->rp->msg);
}

/* The audit record of this call (protocol "admin", the peer, the admin's SPKI). */
static initra_audit_rec rec(const call *c, const char *ns, const char *name, uint32_t version, const char *decision,
                            const char *reason)
{
    return (initra_audit_rec){.protocol = "admin", .peer_addr = c->rq->peer_addr, .admin = c->admin, .op = c->op,
                              .ns = ns, .name = name, .version = version, .decision = decision, .reason = reason};
}

/* Appends r; a failure turns the answer into UNAVAILABLE (nothing is answered unaudited). 0 or -1. */
static int audit(call *c, const initra_audit_rec *r)
{
    initra_err e;
    if (initra_store_audit(c->a->store, r, &e) == 0) return 0;
    fail(c, INITRA_RPC_UNAVAILABLE, "the audit record cannot be written (%.180s): nothing done", e.msg);
    return -1;
}

static void reply(call *c, const ProtobufCMessage *m)
{
    size_t n = protobuf_c_message_get_packed_size(m);
    if (!n) return; /* empty message */
    if (!(c->rp->resp = malloc(n))) {
        fail(c, INITRA_RPC_INTERNAL, "out of memory");
        return;
    }
    c->rp->resp_len = protobuf_c_message_pack(m, c->rp->resp);
}

/* A store error: logged and audited (decision "error"), answered INTERNAL. */
static void store_failed(call *c, const char *ns, const char *name, const initra_err *e)
{
    initra_audit_rec r = rec(c, ns, name, 0, "error", e->msg);
    if (audit(c, &r)) return;
    fail(c, INITRA_RPC_INTERNAL, "%.200s", e->msg);
}

/* Namespace (empty: "default") and name checks. */
static int check_ns(call *c, const char *in, const char **ns)
{
    initra_err e;
    *ns = in && *in ? in : INITRA_STORE_DEFAULT_NS;
    if (initra_check_secret_name(*ns, "request", "namespace", &e) || strchr(*ns, '/')) {
        fail(c, INITRA_RPC_INVALID_ARGUMENT, "%s", strchr(*ns, '/') ? "namespace: contains '/'" : e.msg);
        return -1;
    }
    return 0;
}

static int check_name(call *c, const char *name)
{
    initra_err e;
    if (!name || initra_check_secret_name(name, "request", "name", &e)) {
        fail(c, INITRA_RPC_INVALID_ARGUMENT, "%s", name ? e.msg : "name: missing");
        return -1;
    }
    return 0;
}

static int to_rule(call *c, const Initra__Kms__V1__Rule *in, initra_store_rule *r)
{
    memset(r, 0, sizeof *r);
    if (!in) return 0;
    if (in->config_id.len && in->config_id.len != 64) {
        fail(c, INITRA_RPC_INVALID_ARGUMENT, "rule.config_id: %zu bytes, not 64 (empty for none)", in->config_id.len);
        return -1;
    }
    if (in->has_min_config_svn && in->min_config_svn > 65535) {
        fail(c, INITRA_RPC_INVALID_ARGUMENT, "rule.min_config_svn: %u is not 0..65535", in->min_config_svn);
        return -1;
    }
    if ((r->has_config_id = in->config_id.len == 64)) memcpy(r->config_id, in->config_id.data, 64);
    r->has_min_config_svn = in->has_min_config_svn;
    r->min_config_svn = (uint16_t)in->min_config_svn;
    return 0;
}

static void put_version(call *c, const char *ns, const char *name, const char *type, const uint8_t *v, size_t len,
                        const Initra__Kms__V1__Rule *rule_in)
{
    initra_store_rule rule;
    if (to_rule(c, rule_in, &rule)) return;
    initra_audit_rec r = rec(c, ns, name, 0, "ok", type);
    uint32_t version = 0;
    initra_err e;
    if (initra_store_put(c->a->store, ns, name, type, v, len, &rule, &r, &version, &e)) {
        /* The record went with the failed transaction: the failure is recorded on its own. */
        initra_audit_rec f = rec(c, ns, name, 0, "error", e.msg);
        if (audit(c, &f)) return;
        fail(c, INITRA_RPC_UNAVAILABLE, "%.200s (nothing stored)", e.msg);
        return;
    }
    kms_log(c->a->log, c->a->lock, "admin %.16s.. %s %s %s/%s: version %u (%s, %zu bytes)", c->admin,
            c->rq->peer_addr, c->op, ns, name, version, type, len);
    Initra__Kms__V1__PutSecretReply out = INITRA__KMS__V1__PUT_SECRET_REPLY__INIT;
    out.version = version;
    out.size = len;
    reply(c, &out.base);
}

static void put_secret(call *c, const ProtobufCMessage *m)
{
    const Initra__Kms__V1__PutSecretRequest *q = (const void *)m;
    const char *ns;
    if (check_ns(c, q->namespace_, &ns) || check_name(c, q->name)) return;
    if (q->value.len < 1 || q->value.len > MAX_PUT) {
        fail(c, INITRA_RPC_INVALID_ARGUMENT, "value: %zu bytes, not 1 byte to 1 MiB", q->value.len);
        return;
    }
    put_version(c, ns, q->name, "bytes", q->value.data, q->value.len, q->rule);
}

/* A fresh private key of `alg` ("EC" P-256 or "RSA" 3072) as PKCS#8 PEM. */
static int keygen_pem(const char *alg, uint8_t **pem, size_t *len)
{
    EVP_PKEY *k = !strcmp(alg, "EC") ? EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256")
                                     : EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)3072);
    BIO *b = k ? BIO_new(BIO_s_secmem()) : NULL;
    int rc = -1;
    if (b && PEM_write_bio_PrivateKey(b, k, NULL, NULL, 0, NULL, NULL)) {
        char *p;
        long n = BIO_get_mem_data(b, &p);
        if (n > 0 && (*pem = malloc((size_t)n))) {
            memcpy(*pem, p, (size_t)n);
            *len = (size_t)n;
            rc = 0;
        }
    }
    BIO_free(b);
    EVP_PKEY_free(k);
    return rc;
}

static void generate_secret(call *c, const ProtobufCMessage *m)
{
    const Initra__Kms__V1__GenerateSecretRequest *q = (const void *)m;
    const char *ns, *t = q->type ? q->type : "";
    if (check_ns(c, q->namespace_, &ns) || check_name(c, q->name)) return;
    uint8_t *v = NULL;
    size_t len = 0;
    const char *type = t;
    if (!strcmp(t, "aes256") || !strncmp(t, "random:", 7)) {
        char *end = NULL;
        unsigned long n = 32;
        if (t[0] == 'r') {
            n = strtoul(t + 7, &end, 10);
            if (t[7] < '1' || t[7] > '9' || *end || n > MAX_RANDOM) {
                fail(c, INITRA_RPC_INVALID_ARGUMENT, "type: \"%.40s\" is not random:N with N from 1 to %u", t, MAX_RANDOM);
                return;
            }
            type = "random";
        }
        len = n;
        if (!(v = malloc(len)) || RAND_bytes(v, (int)len) != 1) {
            free(v);
            fail(c, INITRA_RPC_INTERNAL, "no random bytes");
            return;
        }
    } else if (!strcmp(t, "ec-p256") || !strcmp(t, "rsa-3072")) {
        if (keygen_pem(t[0] == 'e' ? "EC" : "RSA", &v, &len)) {
            fail(c, INITRA_RPC_INTERNAL, "cannot make a %s key", t);
            return;
        }
    } else {
        fail(c, INITRA_RPC_INVALID_ARGUMENT, "type: \"%.40s\" is not aes256, random:N, ec-p256 or rsa-3072", t);
        return;
    }
    put_version(c, ns, q->name, type, v, len, q->rule);
    initra_free_secret(v, len);
}

/* ---- ListSecrets ---- */

/* A reply carries at most this many entries (a gRPC message is at most INITRA_MAX_RPC_MESSAGE); the client
 * asks for the next page with skip. */
#define LIST_PAGE 10000

typedef struct {
    Initra__Kms__V1__SecretEntry **e;
    Initra__Kms__V1__Rule *rules;
    size_t n, cap;
    int oom;
    size_t skip, walked; /* entries to pass over; entries seen so far */
    int more;            /* entries beyond this page exist */
    char **ns;           /* the distinct namespaces of every entry (not only this page's) */
    size_t n_ns;
} list_acc;

static int list_one(void *ctx, const initra_store_entry *s)
{
    list_acc *l = ctx;
    int seen = 0;
    for (size_t i = l->n_ns; i-- > 0 && !seen;) seen = !strcmp(l->ns[i], s->ns);
    if (!seen) {
        char **nn = realloc(l->ns, (l->n_ns + 1) * sizeof *nn);
        if (!nn || !(nn[l->n_ns] = strdup(s->ns))) {
            if (nn) l->ns = nn;
            return l->oom = 1;
        }
        l->ns = nn;
        l->n_ns++;
    }
    if (l->walked++ < l->skip) return 0;
    if (l->n == LIST_PAGE) {
        l->more = 1;
        return 0;
    }
    if (l->n == l->cap) {
        size_t cap = l->cap ? 2 * l->cap : 64;
        void *ne = realloc(l->e, cap * sizeof *l->e);
        if (!ne) return l->oom = 1;
        l->e = ne;
        l->cap = cap;
    }
    Initra__Kms__V1__SecretEntry *e = malloc(sizeof *e);
    Initra__Kms__V1__Rule *r = malloc(sizeof *r);
    char *ns = strdup(s->ns), *name = strdup(s->name), *type = strdup(s->type);
    if (!e || !r || !ns || !name || !type) {
        free(e), free(r), free(ns), free(name), free(type);
        return l->oom = 1;
    }
    *e = (Initra__Kms__V1__SecretEntry)INITRA__KMS__V1__SECRET_ENTRY__INIT;
    *r = (Initra__Kms__V1__Rule)INITRA__KMS__V1__RULE__INIT;
    if (s->rule && s->rule->has_config_id && (r->config_id.data = malloc(64))) {
        memcpy(r->config_id.data, s->rule->config_id, 64);
        r->config_id.len = 64;
    }
    if (s->rule && s->rule->has_min_config_svn) {
        r->has_min_config_svn = 1;
        r->min_config_svn = s->rule->min_config_svn;
    }
    e->namespace_ = ns;
    e->name = name;
    e->type = type;
    e->version = s->version;
    e->size = s->size;
    e->created = (int64_t)s->created;
    e->rule = r;
    l->e[l->n++] = e;
    return 0;
}

static void list_free(list_acc *l)
{
    for (size_t i = 0; i < l->n_ns; i++) free(l->ns[i]);
    free(l->ns);
    for (size_t i = 0; i < l->n; i++) {
        free(l->e[i]->namespace_);
        free(l->e[i]->name);
        free(l->e[i]->type);
        free(l->e[i]->rule->config_id.data);
        free(l->e[i]->rule);
        free(l->e[i]);
    }
    free(l->e);
}

static void list_secrets(call *c, const ProtobufCMessage *m)
{
    const Initra__Kms__V1__ListSecretsRequest *q = (const void *)m;
    const char *ns = NULL;
    if (q->namespace_ && *q->namespace_ && check_ns(c, q->namespace_, &ns)) return;
    initra_audit_rec r = rec(c, ns, NULL, 0, "ok", NULL);
    if (audit(c, &r)) return;
    list_acc l = {.skip = q->skip};
    initra_err e;
    if (initra_store_list(c->a->store, ns, list_one, &l, &e) || l.oom) {
        if (l.oom) initra_fail(&e, "out of memory");
        list_free(&l);
        fail(c, INITRA_RPC_INTERNAL, "%.200s", e.msg);
        return;
    }
    /* Namespaces with a policy, on the last page: those of every secret (and the one asked for). */
    char **pn = calloc(l.n_ns + 2, sizeof *pn);
    size_t npn = 0;
    for (size_t i = 0; pn && !l.more && i <= l.n_ns; i++) {
        const char *x = i < l.n_ns ? l.ns[i] : ns ? ns : INITRA_STORE_DEFAULT_NS;
        int seen = 0;
        for (size_t j = 0; j < npn && !seen; j++) seen = !strcmp(pn[j], x);
        char *json;
        size_t jl;
        if (seen || initra_store_policy_get(c->a->store, x, &json, &jl, &e) != 0) continue;
        free(json);
        pn[npn++] = (char *)x;
    }
    Initra__Kms__V1__ListSecretsReply out = INITRA__KMS__V1__LIST_SECRETS_REPLY__INIT;
    out.entries = l.e;
    out.n_entries = l.n;
    out.policy_namespaces = pn;
    out.n_policy_namespaces = npn;
    out.more = l.more;
    reply(c, &out.base);
    kms_log(c->a->log, c->a->lock, "admin %.16s.. %s list %s: %zu versions", c->admin, c->rq->peer_addr,
            ns ? ns : "(all namespaces)", l.n);
    free(pn);
    list_free(&l);
}

static void delete_secret(call *c, const ProtobufCMessage *m)
{
    const Initra__Kms__V1__DeleteSecretRequest *q = (const void *)m;
    const char *ns;
    if (check_ns(c, q->namespace_, &ns) || check_name(c, q->name)) return;
    initra_audit_rec r = rec(c, ns, q->name, q->version, "ok", NULL);
    size_t n = 0;
    initra_err e;
    if (initra_store_delete(c->a->store, ns, q->name, q->version, &r, &n, &e)) {
        store_failed(c, ns, q->name, &e);
        return;
    }
    kms_log(c->a->log, c->a->lock, "admin %.16s.. %s delete %s/%s version %u: %zu deleted", c->admin,
            c->rq->peer_addr, ns, q->name, q->version, n);
    Initra__Kms__V1__DeleteSecretReply out = INITRA__KMS__V1__DELETE_SECRET_REPLY__INIT;
    out.deleted = (uint32_t)n;
    reply(c, &out.base);
}

static void set_policy(call *c, const ProtobufCMessage *m)
{
    const Initra__Kms__V1__SetPolicyRequest *q = (const void *)m;
    const char *ns, *json = q->policy_json ? q->policy_json : "";
    if (check_ns(c, q->namespace_, &ns)) return;
    initra_policy *cp;
    initra_secret_policy *sp;
    initra_err e;
    char where[300];
    snprintf(where, sizeof where, "namespace %s policy", ns);
    /* Parsed with the policy module first: bad JSON (line, column) or a policy that pins nothing (unless
     * accept_any_enclave) never reaches the store. */
    if (kms_ns_policy_parse(json, strlen(json), where, c->a->accept_any_enclave, &cp, &sp, &e)) {
        initra_audit_rec r = rec(c, ns, NULL, 0, "denied", e.msg);
        if (audit(c, &r)) return;
        fail(c, INITRA_RPC_INVALID_ARGUMENT, "%.240s", e.msg);
        return;
    }
    int per_secret = sp != NULL;
    initra_policy_free(cp);
    initra_secret_policy_free(sp);
    initra_audit_rec r = rec(c, ns, NULL, 0, "ok", per_secret ? "per-secret policy" : "client policy");
    if (initra_store_policy_set(c->a->store, ns, json, strlen(json), &r, &e)) {
        store_failed(c, ns, NULL, &e);
        return;
    }
    kms_log(c->a->log, c->a->lock, "admin %.16s.. %s policy set %s (%s, %zu bytes)", c->admin, c->rq->peer_addr, ns,
            per_secret ? "per-secret" : "client policy", strlen(json));
    Initra__Kms__V1__SetPolicyReply out = INITRA__KMS__V1__SET_POLICY_REPLY__INIT;
    reply(c, &out.base);
}

static void get_audit(call *c, const ProtobufCMessage *m)
{
    const Initra__Kms__V1__GetAuditRequest *q = (const void *)m;
    initra_audit_rec r = rec(c, NULL, NULL, 0, "ok", q->verify ? "verify" : NULL);
    if (audit(c, &r)) return;
    Initra__Kms__V1__GetAuditReply out = INITRA__KMS__V1__GET_AUDIT_REPLY__INIT;
    initra_err e, ve;
    uint64_t n = 0;
    if (q->verify && !q->after_seq) {
        int bad = initra_store_audit_verify(c->a->store, &n, &ve) != 0;
        out.verified = !bad;
        out.records = n;
        if (bad) out.verify_error = ve.msg;
    }
    char *jsonl = NULL;
    uint64_t last = 0;
    int more = 0;
    /* A page stays well under one gRPC message (INITRA_MAX_RPC_MESSAGE); the client asks for the next. */
    if (initra_store_audit_page(c->a->store, (time_t)(q->since > 0 ? q->since : 0), q->after_seq, q->max,
                                INITRA_MAX_RPC_MESSAGE - (512u << 10), &jsonl, &last, &more, &e)) {
        fail(c, INITRA_RPC_INTERNAL, "%.200s", e.msg);
        return;
    }
    out.jsonl = jsonl;
    out.more = more;
    out.last_seq = last;
    reply(c, &out.base);
    free(jsonl);
}

static void get_recovery_blob(call *c, const ProtobufCMessage *m)
{
    (void)m;
    Initra__Kms__V1__GetRecoveryBlobReply out = INITRA__KMS__V1__GET_RECOVERY_BLOB_REPLY__INIT;
    out.locked = initra_store_locked(c->a->store, NULL, 0);
    /* A locked store cannot append to its chain (its key is what recovery brings back): the blob is
     * encrypted to the recovery key, so it is answered all the same, and the call logged. */
    initra_audit_rec r = rec(c, NULL, NULL, 0, "ok", NULL);
    initra_err e;
    if (!out.locked && audit(c, &r)) return;
    uint8_t *blob = NULL;
    size_t len = 0;
    if (initra_store_recovery_blob(c->a->store, &blob, &len, &e)) {
        fail(c, INITRA_RPC_FAILED_PRECONDITION, "%.200s (the configuration names no recovery_key?)", e.msg);
        return;
    }
    out.blob.data = blob;
    out.blob.len = len;
    reply(c, &out.base);
    kms_log(c->a->log, c->a->lock, "admin %.16s.. %s recovery blob (%zu bytes%s)", c->admin, c->rq->peer_addr, len,
            out.locked ? ", store locked" : "");
    free(blob);
}

static void recover(call *c, const ProtobufCMessage *m)
{
    const Initra__Kms__V1__RecoverRequest *q = (const void *)m;
    if (q->dek.len != 32) {
        fail(c, INITRA_RPC_INVALID_ARGUMENT, "dek: %zu bytes, not 32", q->dek.len);
        return;
    }
    initra_audit_rec r = rec(c, NULL, NULL, 0, "ok", NULL);
    initra_err e;
    if (initra_store_recover(c->a->store, q->dek.data, &r, &e)) {
        fail(c, INITRA_RPC_FAILED_PRECONDITION, "%.220s", e.msg);
        return;
    }
    kms_log(c->a->log, c->a->lock, "admin %.16s.. %s recover: the store is unlocked and sealed to this enclave",
            c->admin, c->rq->peer_addr);
    Initra__Kms__V1__RecoverReply out = INITRA__KMS__V1__RECOVER_REPLY__INIT;
    reply(c, &out.base);
}

static const struct {
    const char *method, *op;
    const ProtobufCMessageDescriptor *req;
    void (*fn)(call *c, const ProtobufCMessage *m);
    int when_locked;
} methods[] = {
    {"PutSecret", "put", &initra__kms__v1__put_secret_request__descriptor, put_secret, 0},
    {"GenerateSecret", "generate", &initra__kms__v1__generate_secret_request__descriptor, generate_secret, 0},
    {"ListSecrets", "list", &initra__kms__v1__list_secrets_request__descriptor, list_secrets, 0},
    {"DeleteSecret", "delete", &initra__kms__v1__delete_secret_request__descriptor, delete_secret, 0},
    {"SetPolicy", "policy_set", &initra__kms__v1__set_policy_request__descriptor, set_policy, 0},
    {"GetAudit", "audit", &initra__kms__v1__get_audit_request__descriptor, get_audit, 0},
    {"GetRecoveryBlob", "recovery_blob", &initra__kms__v1__get_recovery_blob_request__descriptor, get_recovery_blob, 1},
    {"Recover", "recover", &initra__kms__v1__recover_request__descriptor, recover, 1},
};

void kms_admin_call(const kms_admin *a, const initra_rpc_request *rq, initra_rpc_reply *rp)
{
    call c = {.a = a, .rq = rq, .rp = rp, .op = "admin"};
    const char *m = rq->method + strlen(KMS_ADMIN_PREFIX);
    size_t i = 0, n = sizeof methods / sizeof *methods;
    while (i < n && strcmp(methods[i].method, m)) i++;
    int listed = kms_admin_listed(a->admins, a->n_admins, rq->peer_pem, c.admin);
    if (i == n) {
        fail(&c, INITRA_RPC_UNIMPLEMENTED, "initra.kms.v1.Admin has no method \"%.60s\"", m);
        return;
    }
    c.op = methods[i].op;
    if (!listed) {
        char why[200];
        if (!a->n_admins)
            snprintf(why, sizeof why, "no admins are configured: this KMS takes no Admin call (add \"admins\" to its "
                                      "configuration)");
        else
            snprintf(why, sizeof why, "admin key %.64s is not listed under admins in the KMS configuration",
                     c.admin[0] ? c.admin : "(none)");
        initra_audit_rec r = rec(&c, NULL, NULL, 0, "denied", why);
        if (!a->store || audit(&c, &r)) {
            if (!a->store) fail(&c, INITRA_RPC_PERMISSION_DENIED, "%s", why);
            return;
        }
        fail(&c, INITRA_RPC_PERMISSION_DENIED, "%s", why);
        return;
    }
    char lwhy[200] = "";
    if (!methods[i].when_locked && initra_store_locked(a->store, lwhy, sizeof lwhy)) {
        fail(&c, INITRA_RPC_UNAVAILABLE, "store locked (%.120s): run `initra kms admin recover`", lwhy);
        return;
    }
    ProtobufCMessage *msg = protobuf_c_message_unpack(methods[i].req, NULL, rq->req_len, rq->req);
    if (!msg) {
        fail(&c, INITRA_RPC_INVALID_ARGUMENT, "the request is not an initra.kms.v1.%s request", methods[i].method);
        return;
    }
    methods[i].fn(&c, msg);
    /* PutSecret values: zeroized before the message is freed. */
    if (methods[i].fn == put_secret) {
        Initra__Kms__V1__PutSecretRequest *q = (void *)msg;
        initra_zero(q->value.data, q->value.len);
    } else if (methods[i].fn == recover) {
        Initra__Kms__V1__RecoverRequest *q = (void *)msg;
        initra_zero(q->dek.data, q->dek.len);
    }
    protobuf_c_message_free_unpacked(msg, NULL);
}
