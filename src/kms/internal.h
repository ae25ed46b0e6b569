/* Internal to kms (its files, unit tests and fuzz targets): what the GRPC-RATLS and AECS servers share,
 * the secrets file and the configuration's file checks. */
#ifndef INITRA_KMS_INTERNAL_H
#define INITRA_KMS_INTERNAL_H

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>

#include "initra/kms.h"
#include "initra/rpc.h"
#include "initra/store.h"

/* One log line "<UTC time> kms: <text>", written and flushed under lock. */
void kms_log(FILE *f, pthread_mutex_t *lock, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* kms_log for a server struct k with `log` and `lock` members. */
#define logf_(k, ...) kms_log((k)->log, &(k)->lock, __VA_ARGS__)

/* A configuration that request threads borrow while a reload replaces it as a whole. Each server's
 * configuration struct starts with a kms_shared; whoever drops the last reference destroys it. */
typedef struct kms_shared {
    int refs;
    void (*destroy)(struct kms_shared *);
} kms_shared;

/* The current configuration in *slot, with a reference for the caller. */
kms_shared *kms_shared_get(pthread_mutex_t *lock, kms_shared *const *slot);
/* Drops a reference taken by kms_shared_get (or the slot's own, at shutdown). */
void kms_shared_put(pthread_mutex_t *lock, kms_shared *s);
/* Installs fresh (created with refs = 1: the slot's) and drops the slot's reference to the old one. */
void kms_shared_swap(pthread_mutex_t *lock, kms_shared **slot, kms_shared *fresh);

/* Loads secret_config.json; each error names the file, the key and what is wrong (never the value). */
int kms_secrets_load(const char *path, initra_kms_secrets *s, initra_err *err);
/* The same from text; `path` names it in errors. */
int kms_secrets_parse(const char *text, size_t len, const char *path, initra_kms_secrets *s, initra_err *err);
/* Zeroizes and frees. */
void kms_secrets_free(initra_kms_secrets *s);
const initra_kms_secret *kms_secrets_find(const initra_kms_secrets *s, const char *name);
int kms_aecs_port(const initra_kms_aecs *k);
/* "Inside the image": an absolute, normalised path (no "." or ".." components, no "//") outside /proc,
 * /dev, /sys and /host (host-provided: inherited descriptors, devices, Occlum's host file system).
 * 0, or -1 with err. */
int kms_path_in_image(const char *path, initra_err *err);
/* The sealed store's path: absolute, normalised, outside /proc, /dev and /sys (host storage such as
 * /host is fine: the store's integrity comes from encryption). 0, or -1 with err. */
int kms_path_for_store(const char *path, initra_err *err);
/* A recovery key (PEM): an RSA-3072 or X25519 public key; the error names path and what it is instead. */
int kms_check_recovery_key(const char *path, const uint8_t *pem, size_t len, initra_err *err);
/* Reads a file the configuration names: when sha256 is set its bytes must hash to it; otherwise, with
 * image_paths, the path and its resolved target must be inside the image. The bytes returned are the
 * bytes checked. */
int kms_read_file(const char *path, const uint8_t *sha256, int image_paths, size_t max, uint8_t **buf,
                         size_t *n, initra_err *err);

/* Makes a fresh certificate and restarts the listener with it (certificates live hours);
 * initra_kms_rotate_if_due calls it on schedule. */
int kms_rotate(initra_kms *k, initra_err *err);
/* Seconds since the current certificate was made. */
long kms_cert_age(const initra_kms *k);

/* ---- the sealed store (src/kms/sealed.c) ---- */

/* Opens the store at path with this enclave's identity (a quote of itself: MRSIGNER, ISVPRODID, SVNs)
 * and seal key; no attester: refused (the store needs an enclave's seal key). With a recovery key a store
 * this enclave cannot unseal opens locked (logged). 0 or -1 with one line. */
int kms_store_open(initra_attester *a, const char *path, const char *conninfo, const uint8_t *recovery_pub,
                   size_t recovery_len, FILE *log, pthread_mutex_t *lock, initra_store **out, initra_err *err);
/* The same for a replica on PostgreSQL: records advertise (HOST:PORT) in the database; a store whose data
 * key no sealed copy opens opens locked, waiting for kms_replica_ask; *self: this enclave's report. */
int kms_store_open_replica(initra_attester *a, const char *conninfo, const char *advertise, const uint8_t *recovery_pub,
                           size_t recovery_len, FILE *log, pthread_mutex_t *lock, initra_sgx_report_body *self,
                           initra_store **out, initra_err *err);

/* ---- replicas share the data key by attestation (src/kms/replica.c) ---- */
#define KMS_REPLICA_PREFIX "/initra.kms.v1.Replica/"
#define KMS_REPLICA_GET_DATA_KEY "/initra.kms.v1.Replica/GetDataKey"
typedef struct {
    initra_store *store;
    initra_ratls_verifier *verifier;
    const initra_sgx_report_body *self; /* this KMS's report: the replica rule compares with it */
    const initra_policy *policy;        /* "replica": {"policy"}: replaces the default rule; NULL */
    FILE *log;
    pthread_mutex_t *lock;
} kms_replica;
/* The replica rule: same MRSIGNER, ISVPRODID and config_id as self. 0, or -1 with why naming the field. */
int kms_replica_rule(const initra_sgx_report_body *self, const initra_sgx_report_body *peer, initra_err *why);
/* The data key encrypted to the P-256 key of peer_pem (ECDH with an ephemeral key, HKDF-SHA256, AES-256-GCM;
 * proto/kms_admin.proto): eph_pub (65), nonce (12), ct (32 + 16 tag). */
int kms_replica_seal(const char *peer_pem, const uint8_t dek[32], uint8_t eph_pub[65], uint8_t nonce[12],
                     uint8_t ct[48], initra_err *err);
/* Untrusted reply fields (exact sizes checked), opened with this replica's RA-TLS private key (PEM). */
int kms_replica_open(const char *key_pem, const uint8_t *eph_pub, size_t eph_len, const uint8_t *nonce,
                     size_t nonce_len, const uint8_t *ct, size_t ct_len, uint8_t dek[32], initra_err *err);
/* Replica/GetDataKey: the asker's quote against the rule; the key encrypted to it, or PERMISSION_DENIED;
 * audited (protocol "replica") before the answer. */
void kms_replica_serve(const kms_replica *r, const initra_rpc_request *rq, initra_rpc_reply *rp);
/* A waiting replica asks the recorded ones (not own_addr) in turn until one gives the key; installs it.
 * 0 when the store is unlocked, -1 (logged) when none gave it. */
int kms_replica_ask(const kms_replica *r, initra_attester *a, const char *own_addr);
/* How logs name the store: its PATH, or postgres://USER@HOST:PORT/DB (never the CONNINFO's password). */
void kms_store_label(const char *path, const char *conninfo, char *out, size_t n);
/* "NAME" is namespace "default", "NS/NAME" namespace NS (up to the first '/'). -1: an empty part. */
int kms_split_name(const char *full, char ns[256], const char **name);

/* Parsed namespace policies, reused while a namespace's policy text stays the same. */
#define KMS_NS_CACHE 64
typedef struct kms_ns_cache kms_ns_cache;
kms_ns_cache *kms_ns_cache_new(void);
void kms_ns_cache_free(kms_ns_cache *c);
/* A namespace policy: initra's per-secret format ({"identities", "secrets"}) or a client policy (Occlum
 * object, initra list) for every secret. Exactly one of the two is set on 0; -1 with err (line, column,
 * or what pins nothing). */
int kms_ns_policy_parse(const char *json, size_t len, const char *where, int accept_any, initra_policy **clients,
                        initra_secret_policy **per_secret, initra_err *err);
/* 0: the namespace's policy lets ev read ns/name; 1: denied, why names the rule (no policy, no rule, the
 * failing field); -1: the policy cannot be read (err). */
int kms_ns_policy_check(kms_ns_cache *c, initra_store *s, const char *ns, const char *name,
                        const initra_evidence *ev, int accept_any, initra_err *why, initra_err *err);
/* 1 when the certificate's SPKI SHA-256 is one of admins; hex receives it ("" without a certificate). */
int kms_admin_listed(const uint8_t (*admins)[32], size_t n, const char *pem, char hex[65]);

/* ---- the Admin service, initra.kms.v1.Admin (src/kms/admin.c) ---- */
#define KMS_ADMIN_PREFIX "/initra.kms.v1.Admin/"
typedef struct {
    initra_store *store;
    const uint8_t (*admins)[32];
    size_t n_admins;
    int accept_any_enclave;
    FILE *log;
    pthread_mutex_t *lock;
} kms_admin;
/* One Admin call (rq->method starts with KMS_ADMIN_PREFIX): the peer's SPKI must be listed; every call,
 * refused ones too, is audited with admin = the SPKI hex. */
void kms_admin_call(const kms_admin *a, const initra_rpc_request *rq, initra_rpc_reply *rp);

/* The admin client's reply handling (src/kms/admin_client.c; the fuzz target admin_reply). The KMS is
 * attested, but its replies are still parsed as untrusted bytes: a listed rule must be well formed. */
#include "initra/aecs.h"
#include "kms_admin.pb-c.h"
int kms_admin_list_walk(const Initra__Kms__V1__ListSecretsReply *r, const char *kms,
                        int (*fn)(void *ctx, const initra_store_entry *e), void (*pfn)(void *ctx, const char *ns),
                        void *ctx, int *stopped, initra_err *err);  /* *stopped: fn asked to stop */
/* import aecs: the namespace policy for AECS service svc (initra per-secret format, checked; fresh text),
 * or *text NULL when no secret of the service has a policy entry. */
int kms_admin_aecs_policy(const initra_aecs_store *st, const char *svc, const char *path, char **text,
                          initra_err *err);
int kms_admin_audit_take(const Initra__Kms__V1__GetAuditReply *r, initra_kms_admin_audit_result *res,
                         initra_err *err);

#endif
