/* initra kms: the key-management server (docs/grpc-ratls.md). Releases a secret only to an enclave whose
 * RA-TLS evidence verifies and whose identity the policy allows for that secret. */
#ifndef INITRA_KMS_H
#define INITRA_KMS_H

#include <stddef.h>
#include <stdint.h>

#include "initra/policy.h"
#include "initra/store.h"
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

/* ---- the GRPC-RATLS server (ratls.GrSecret/GetSecret) ---- */

#include <stdio.h>

#include "initra/ratls.h"

typedef struct {
    const char *listen;         /* "host:port" (port 0: any free port) */
    const char *secrets_path;   /* secret_config.json */
    const char *clients_path;   /* dynamic_config.json (Occlum or initra format): every secret */
    const char *policy_path;    /* per-secret policy: who may read which secret */
    initra_ratls_verifier_opts verifier; /* trust roots and collateral for verifying clients */
    const uint8_t *secrets_sha256, *clients_sha256, *policy_sha256; /* pinned by the KMS config (NULL: not) */
    int image_paths;                     /* named by a KMS config: an unpinned file must be inside the image */
    unsigned max_connections;            /* 0 = INITRA_KMS_DEFAULT_MAX_CONNECTIONS */
    unsigned max_concurrent_streams;     /* per connection; 0 = INITRA_KMS_DEFAULT_MAX_STREAMS */
    int insecure_no_attestation;         /* serve with a plain certificate when there is no quote provider */
    int no_client_attestation;           /* benchmarks only: plain mutual TLS, no evidence, no policy */
    int accept_any_enclave;              /* policies may pin neither mr_enclave nor mr_signer (a warning is
                                          * logged with every decision); set only from the measured
                                          * KMS configuration */
    long cert_seconds;                   /* our RA-TLS certificate's validity; 0 = 24 h */
    int ratls_format;                    /* our certificate: enum initra_ratls_format, 0 = INITRA_RATLS_DEFAULT_FORMAT */
    int threads;                         /* 0 = 8 */
    FILE *log;                           /* one line per request and decision; NULL = stderr */
    /* The sealed store (docs/kms.md, "The store"): secrets and namespace policies administered through
     * initra.kms.v1.Admin, every decision audited. NULL: none (the files above only). */
    const char *store_sqlite;
    const char *store_postgres;          /* or a PostgreSQL CONNINFO (replicas share it); never logged */
    const char *replica_advertise;       /* with store_postgres: the HOST:PORT other replicas reach this one on
                                          * (recorded in the database); NULL = listen */
    const char *replica_policy;          /* JSON policy the replicas asking for the data key must satisfy instead
                                          * of the default rule (same MRSIGNER, ISVPRODID, config_id, ...); NULL */
    const uint8_t (*admins)[32];         /* SPKI SHA-256 of the admins' certificates */
    size_t n_admins;
    const uint8_t *recovery_pub;         /* PEM public key (RSA-3072 or X25519), or NULL */
    size_t recovery_pub_len;
} initra_kms_opts;

typedef struct initra_kms initra_kms;

/* Loads the files, makes our RA-TLS certificate (through the enclave's quote provider), and serves.
 * Refuses to start without a policy (clients or per-secret), with a policy that pins nothing (unless
 * accept_any_enclave), and without a quote provider unless insecure_no_attestation. */
initra_kms *initra_kms_start(const initra_kms_opts *o, initra_err *err);
int initra_kms_port(const initra_kms *k);
/* Re-reads secrets and policies; on any error keeps the old configuration (all or nothing). */
int initra_kms_reload(initra_kms *k, initra_err *err);
/* The rotation schedule: a fresh certificate once the current one is past half its validity (12 h of the
 * default 24 h). Call it every minute or so. 0 (rotated or not due), or -1 when the rotation failed and
 * the listener is down: stop the KMS. */
int initra_kms_rotate_if_due(initra_kms *k, initra_err *err);
/* The KMS's housekeeping; call it every few seconds: initra_kms_rotate_if_due, and a replica still waiting
 * for the data key (docs/kms.md, "Running replicas") asks the running replicas again every
 * INITRA_KMS_ASK_SECONDS. Returns what initra_kms_rotate_if_due returns. */
#define INITRA_KMS_ASK_SECONDS 10
int initra_kms_tick(initra_kms *k, initra_err *err);
void initra_kms_stop(initra_kms *k);
/* The sealed store's counters (fsyncs, commits, audit records; `make bench`). -1 without a store. */
int initra_kms_store_stats(initra_kms *k, initra_store_stats *st);

/* ---- the AECS server (kubetee.Aecs/GetEnclaveSecret, docs/aecs.md) ---- */

typedef struct {
    const char *listen;          /* "host:port", or "host" for the AECS default port 19527 */
    const char *store_path;      /* the AECS store (initra kms aecs-admin) */
    const char *collateral;      /* collateral bundle for our own Passport report, or */
    const char *pccs_url;        /* a PCCS to fetch it from (one of the two is required) */
    const char *const *trust_roots; /* extra roots (DER/PEM files) for clients' quotes, e.g. the sim root */
    size_t n_trust_roots;
    int insecure_no_attestation; /* serve without a quote provider (clients will refuse this server) */
    int threads;                 /* 0 = 8 */
    const uint8_t *store_sha256; /* pinned by the KMS config (NULL: not) */
    int image_paths;             /* named by a KMS config: an unpinned store must be inside the image */
    const uint8_t *collateral_data; /* the collateral bundle already read (instead of `collateral`) */
    size_t collateral_len;
    const uint8_t *const *trust_root_data; /* roots already read, DER or PEM (besides trust_roots) */
    const size_t *trust_root_lens;
    size_t n_trust_root_data;
    unsigned max_connections;    /* 0 = INITRA_KMS_DEFAULT_MAX_CONNECTIONS */
    unsigned max_concurrent_streams; /* per connection; 0 = INITRA_KMS_DEFAULT_MAX_STREAMS */
    FILE *log;                   /* one line per request and decision; NULL = stderr */
    int accept_any_enclave;      /* store rules may pin neither mrenclave nor mrsigner (a warning is logged
                                  * at every use); set only from the measured KMS configuration */
    const char *store_sqlite;    /* the sealed store instead of store_path (AECS services are namespaces) */
    const char *store_postgres;  /* or on PostgreSQL (a libpq CONNINFO; never logged) */
    const uint8_t *recovery_pub; /* PEM public key (RSA-3072 or X25519), or NULL */
    size_t recovery_pub_len;
} initra_kms_aecs_opts;

typedef struct initra_kms_aecs initra_kms_aecs;

/* Loads the store (every rule must pin mrenclave or mrsigner unless accept_any_enclave), makes the
 * server's RSA-2048 key and its Passport report through the enclave's quote provider, and serves
 * plaintext HTTP/2 (the security is in the messages). */
initra_kms_aecs *initra_kms_aecs_start(const initra_kms_aecs_opts *o, initra_err *err);
/* Re-reads the store; on any error keeps the old one. */
int initra_kms_aecs_reload(initra_kms_aecs *k, initra_err *err);
void initra_kms_aecs_stop(initra_kms_aecs *k);

/* ---- the KMS configuration file (docs/kms.md) ---- */

#include "initra/attest.h"

#define INITRA_KMS_CONF_PATH "/etc/initra/kms.json"       /* in the image: measured */
#define INITRA_KMS_ATTACHED_CONF "/etc/init_ra_conf.json" /* attached by `initra run --config`: CONFIGID-bound */
#define INITRA_KMS_MAX_ROOTS 8
#define INITRA_KMS_DEFAULT_MAX_CONNECTIONS 256
#define INITRA_KMS_DEFAULT_MAX_STREAMS 16
#define INITRA_KMS_MAX_ADMINS 64

/* A file the configuration names: "PATH" (must be inside the image) or {"path": PATH, "sha256": HEX}
 * (anywhere; its bytes must hash to HEX). */
typedef struct {
    char *path; /* NULL: not set */
    int pinned;
    uint8_t sha256[32];
} initra_kms_file_ref;

typedef struct {
    char *protocol; /* "grpc_ratls" (default) or "aecs" */
    initra_kms_file_ref secrets, clients, policy, store, collateral;
    char *store_sqlite;                 /* "store": {"sqlite": PATH} (store.path stays NULL) */
    char *store_postgres;               /* or "store": {"postgres": CONNINFO} */
    char *replica_advertise;            /* "replica": {"advertise": "HOST:PORT"} */
    char *replica_policy;               /* "replica": {"policy": POLICY}, as compact JSON text */
    int has_replica;                    /* "replica" is given */
    uint8_t admins[INITRA_KMS_MAX_ADMINS][32]; /* "admins": SPKI SHA-256 values */
    size_t n_admins;
    initra_kms_file_ref recovery_key;   /* PEM public key, RSA-3072 or X25519 */
    char *pccs_url;
    char *pccs_ca; /* PEM CA file for TLS to the PCCS (grpc_ratls; NULL: the system's store) */
    initra_kms_file_ref trust_roots[INITRA_KMS_MAX_ROOTS];
    size_t n_trust_roots;
    int accept_any_enclave;
    int ratls_format; /* the GRPC-RATLS server's certificate (enum initra_ratls_format); 0 = default */
    unsigned max_connections, max_concurrent_streams;
} initra_kms_conf;

/* Strict: unknown keys, wrong types, duplicate keys and contradictions are errors naming `where`, the key
 * (or line and column) and what to do. */
int initra_kms_conf_parse(const char *text, size_t len, const char *where, initra_kms_conf *c, initra_err *err);
void initra_kms_conf_free(initra_kms_conf *c);
/* Reads a regular file once (open, fstat on that descriptor, read): a FIFO, device or socket is refused.
 * *buf is NUL-terminated. */
int initra_kms_read_regular(const char *path, size_t max, uint8_t **buf, size_t *n, initra_err *err);
/* Inside an enclave: the configuration from /etc/initra/kms.json in the image, or, when the measured
 * /etc/initra/config_binding says config_id, the attached one, whose SHA-512 must equal the CONFIGID in
 * this enclave's own report (a quote from `a`). Read once; the bytes hashed are the bytes parsed.
 * `where` receives the file used. */
int initra_kms_conf_load_enclave(initra_attester *a, initra_kms_conf *c, char *where, size_t where_size,
                                 initra_err *err);

/* The configuration turned into server options: trust roots and collateral read once through their pins
 * (held here until the server has started), the other files' pins copied for every (re)load. */
typedef struct {
    uint8_t *root_data[INITRA_KMS_MAX_ROOTS];
    size_t root_lens[INITRA_KMS_MAX_ROOTS];
    uint8_t *collateral;
    size_t collateral_len;
    uint8_t *recovery_pub; /* checked: an RSA-3072 or X25519 public key */
    size_t recovery_pub_len;
} initra_kms_held;
int initra_kms_conf_apply(const initra_kms_conf *c, int image_paths, initra_kms_held *h, initra_kms_opts *o,
                          initra_kms_aecs_opts *ao, initra_err *err);
void initra_kms_held_free(initra_kms_held *h);

/* ---- the admin client (initra kms admin, docs/kms.md "Administration"; service initra.kms.v1.Admin) ---- */

#include "initra/store.h"

#define INITRA_KMS_ADMIN_DEADLINE_MS 30000

typedef struct {
    const char *kms;                     /* "host:port": the KMS's GRPC-RATLS listen address */
    const char *cert_pem, *key_pem;      /* the admin's certificate and key (PEM; initra_kms_admin_keygen) */
    const initra_policy *expect;         /* the KMS's quote must satisfy it (loaded with pinning required) */
    initra_ratls_verifier_opts verifier; /* trust roots and collateral (or PCCS) for the KMS's quote */
    unsigned deadline_ms;                /* per call; 0 = INITRA_KMS_ADMIN_DEADLINE_MS */
} initra_kms_admin_opts;

typedef struct initra_kms_admin initra_kms_admin;

/* Prepares the connection (made on the first call). Every call's TLS handshake hands the KMS's RA-TLS
 * certificate to a verify callback: DCAP verification, then `expect`; a KMS that fails either is refused
 * in the handshake, before any request is sent, and the error names the failing check or field
 * (initra_kms_admin_refused says so). */
initra_kms_admin *initra_kms_admin_connect(const initra_kms_admin_opts *o, initra_err *err);
/* 1 when the last call failed because the KMS's evidence was refused (nothing was sent). */
int initra_kms_admin_refused(const initra_kms_admin *a);
void initra_kms_admin_close(initra_kms_admin *a);

/* One function per rpc; 0, or -1 with err: one line, the rpc and the KMS's status and message.
 * ns NULL or "": the KMS's default namespace; rule NULL: no version rule. */
int initra_kms_admin_put(initra_kms_admin *a, const char *ns, const char *name, const uint8_t *value, size_t len,
                         const initra_store_rule *rule, uint32_t *version, uint64_t *size, initra_err *err);
/* type: "aes256", "random:N" (1..65536), "ec-p256", "rsa-3072"; the KMS makes the value. */
int initra_kms_admin_generate(initra_kms_admin *a, const char *ns, const char *name, const char *type,
                              const initra_store_rule *rule, uint32_t *version, uint64_t *size, initra_err *err);
/* Calls fn for every version the KMS lists (ns NULL: every namespace; never values), then pfn (may be
 * NULL) for every namespace that has a policy. */
int initra_kms_admin_list(initra_kms_admin *a, const char *ns, int (*fn)(void *ctx, const initra_store_entry *e),
                          void (*pfn)(void *ctx, const char *ns), void *ctx, initra_err *err);
/* version 0: every version. *deleted: how many the KMS deleted. */
int initra_kms_admin_delete(initra_kms_admin *a, const char *ns, const char *name, uint32_t version,
                            uint32_t *deleted, initra_err *err);
/* policy_json: initra's per-secret policy or a client policy (Occlum dynamic_config.json or initra format)
 * for every secret of the namespace. */
int initra_kms_admin_set_policy(initra_kms_admin *a, const char *ns, const char *policy_json, initra_err *err);

typedef struct {
    char *jsonl;         /* one JSON object per line (fresh; free()) */
    int verified;        /* with verify: the KMS checked the chain end to end */
    uint64_t records;    /* with verify: records in the chain */
    char *verify_error;  /* with verify: the first broken record, or NULL (fresh; free()) */
} initra_kms_admin_audit_result;
int initra_kms_admin_audit(initra_kms_admin *a, int64_t since, uint32_t max, int verify,
                           initra_kms_admin_audit_result *r, initra_err *err);
void initra_kms_admin_audit_free(initra_kms_admin_audit_result *r);
/* The DEK encrypted to the KMS configuration's recovery key (fresh *blob) and whether the KMS is locked. */
int initra_kms_admin_recovery_blob(initra_kms_admin *a, uint8_t **blob, size_t *len, int *locked, initra_err *err);
int initra_kms_admin_recover(initra_kms_admin *a, const uint8_t dek[32], initra_err *err);
/* `initra kms admin recover`: GetRecoveryBlob; when the KMS is locked, opens the blob here with the
 * recovery private key (PEM; initra_store_recovery_open) and sends the data key back (Recover). A KMS
 * that is not locked, or a key that does not open the blob: an error, nothing sent. */
int initra_kms_admin_recover_with_key(initra_kms_admin *a, const uint8_t *priv_pem, size_t priv_len, initra_err *err);

/* Occlum's secret_config.json: one PutSecret per entry, in the file's order; stops at the first
 * failure. *done: how many were put (the KMS keeps those). fn (may be NULL) hears each one. With a NULL:
 * only reads and checks the file (*done: how many entries it holds). */
int initra_kms_admin_import_secrets(initra_kms_admin *a, const char *path, const char *ns,
                                    void (*fn)(void *ctx, const char *name, uint32_t version, uint64_t size),
                                    void *ctx, size_t *done, initra_err *err);
/* An AECS store (initra kms aecs-admin): each service becomes a namespace. Its secrets are put (the data
 * string as the value), then its policy set: an identity per AECS policy entry (MRENCLAVE, MRSIGNER,
 * ISVPRODID, minimum ISVSVN, debug; any other attribute is an error naming it), each secret readable by
 * its own entries. Everything is checked before the first rpc; stops at the first failure. With a NULL:
 * only checks (*done: the secrets it holds). */
int initra_kms_admin_import_aecs(initra_kms_admin *a, const char *path,
                                 void (*fn)(void *ctx, const char *ns, const char *name, uint32_t version, uint64_t size),
                                 void *ctx, size_t *done, initra_err *err);
/* Reads a namespace policy file and checks it here (per-secret policy, Occlum dynamic_config.json or
 * initra's format; pinning required): a fresh NUL-terminated text for initra_kms_admin_set_policy. */
int initra_kms_admin_policy_file(const char *path, char **json, initra_err *err);

/* `initra kms admin keygen`: PREFIX.key (EC P-256, PKCS#8 PEM, 0600, written atomically) and PREFIX.crt
 * (self-signed, CN "initra admin", valid 10 years, 0644); spki_hex receives the SHA-256 of its public
 * key (what the KMS configuration lists under "admins"). Refuses to overwrite an existing PREFIX.key. */
int initra_kms_admin_keygen(const char *prefix, char spki_hex[65], initra_err *err);
/* `initra kms admin recovery-keygen`: PREFIX.key (the private key, PEM, 0600, never overwritten) and
 * PREFIX.pub (PEM, 0644) for the KMS configuration's "recovery_key"; type "rsa-3072" or "x25519". */
int initra_kms_admin_recovery_keygen(const char *type, const char *prefix, initra_err *err);

#endif
