/* initra store: the KMS's state in one SQLite database on untrusted storage, or in a PostgreSQL database
 * that several KMS replicas share (docs/kms.md, "The store").
 *
 * The host holds the file: it can read, replace, truncate or roll it back, never read a secret or forge a
 * rule. Every secret value is encrypted with AES-256-GCM under the data key (DEK); the associated data
 * binds namespace, name, version, type and the version's rule (config_id, min_config_svn), so a value or
 * a rule cannot be moved or loosened. Namespace policies are stored the same way. The DEK is random,
 * made when the store is created, and kept wrapped by the enclave's seal key (EGETKEY, MRSIGNER policy
 * with ISVPRODID: a newer KMS of the same signer reads the store, and re-seals it at its own ISVSVN so
 * that the older versions no longer can) and, when the configuration names a recovery public key
 * (RSA-3072 or X25519), also encrypted to it.
 *
 * Every write (secret put/generate/delete, policy set, recovery) and every audit record goes through one
 * writer thread that commits what is queued in one transaction (WAL, synchronous=FULL): concurrent
 * callers share one fsync (group commit), and a call returns only once its transaction is durable.
 * Audit records are chained: each holds the SHA-256 of the previous record and an HMAC under a key
 * derived from the DEK, so the host can neither edit nor forge one without `audit verify` naming it.
 * Several processes may open one store (SQLite's locking, or on PostgreSQL an advisory lock every write
 * transaction takes first; each append reads the chain head inside its write transaction). On
 * PostgreSQL a lost connection fails the operations in flight with one line (the database is
 * unavailable) and the next operation reconnects. */
#ifndef INITRA_STORE_H
#define INITRA_STORE_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "initra/attest.h"
#include "initra/sgx.h"
#include "initra/util.h"

typedef struct initra_store initra_store;

typedef struct {
    const char *path;                    /* SQLite: the database file, e.g. /host/kms.db */
    const char *postgres_conninfo;       /* or PostgreSQL: a libpq CONNINFO ("host=... dbname=..."; its
                                          * tables in the connection's current schema); one of the two */
    initra_seal_key_fn seal_key;         /* this enclave's EGETKEY (initra_attest_seal_key_cb) */
    void *seal_ctx;
    const initra_sgx_report_body *self;  /* this KMS's identity: MRSIGNER, ISVPRODID, ISVSVN, CONFIGSVN,
                                          * CPUSVN (from a quote of its own) */
    const uint8_t *recovery_pub;         /* PEM public key, RSA-3072 or X25519; NULL: no recovery copy */
    size_t recovery_pub_len;
    int allow_locked;                    /* a store whose DEK this enclave cannot unseal but that has a
                                          * recovery copy opens locked (initra_store_locked) instead of
                                          * failing: only recovery works until initra_store_recover */
    int allow_waiting;                   /* KMS replicas: such a store opens locked also without a recovery
                                          * copy, waiting for the DEK from a running replica
                                          * (initra_store_install_dek) */
    const char *advertise;               /* KMS replicas: the HOST:PORT this one serves on, recorded in the
                                          * database for new replicas to find (initra_store_replicas); NULL */
} initra_store_opts;

/* Opens (creating it with a fresh DEK when the file is missing or empty) and unseals the DEK. Errors say
 * why a store cannot be read: sealed by another MRSIGNER or ISVPRODID (naming both), by a newer ISVSVN
 * than this enclave's, on another platform (the seal key does not open it), or not an initra store / a
 * damaged database. */
initra_store *initra_store_open(const initra_store_opts *o, initra_err *err);
/* How logs and errors name a PostgreSQL store: postgres://USER@HOST:PORT/DBNAME from the CONNINFO, never
 * its password or other options. */
void initra_store_pg_label(const char *conninfo, char *out, size_t n);
/* Stops the writer (after committing what is queued) and frees s; keys zeroized. NULL is fine. */
void initra_store_close(initra_store *s);
/* 1 when opened locked (see allow_locked); err-style text of why in `why` when non-NULL. */
int initra_store_locked(const initra_store *s, char *why, size_t why_size);

/* ---- secrets ---- */

/* A version's rule (KSS semantics, docs/kss.md): config_id exact (64 bytes) and/or
 * config_svn >= min_config_svn. Neither set: any enclave the namespace policy admits. */
typedef struct {
    int has_config_id;
    uint8_t config_id[64];
    int has_min_config_svn;
    uint16_t min_config_svn;
} initra_store_rule;

/* Names: 1 to 255 printable ASCII characters (initra_check_secret_name); namespaces the same without
 * '/'. Types: "bytes" (put), "aes256", "random", "ec-p256", "rsa-3072" (generate; the value is the key,
 * PEM for the asymmetric ones). */
#define INITRA_STORE_DEFAULT_NS "default"

/* One audit record: every release, denial and admin operation. Never a value. */
typedef struct {
    const char *protocol;                 /* "grpc_ratls", "aecs", "admin", "replica" */
    const char *peer_addr;                /* e.g. "ipv4:127.0.0.1:40312" */
    const initra_sgx_report_body *report; /* the peer enclave's report, or NULL (an admin) */
    const char *tcb_status;               /* the DCAP verdict's, or NULL */
    const char *const *advisories;
    size_t n_advisories;
    const uint8_t *quote_sha256;          /* 32 bytes, or NULL */
    const char *admin;                    /* the admin's SPKI SHA-256 (hex), or NULL */
    const char *op;                       /* "fetch", "put", "generate", "delete", "policy_set", "import",
                                           * "recover", ... */
    const char *ns, *name;                /* NULL when not about one secret */
    uint32_t version;                     /* 0: none */
    const char *decision;                 /* "released", "denied", "not_found", "error", "ok" */
    const char *reason;                   /* the policy entry and field behind a denial, or the error;
                                           * NULL */
} initra_audit_rec;

/* Adds a version (the highest so far + 1, never reused, also after deletes) with the audit record in the
 * same transaction; durable when it returns. *version receives it. */
int initra_store_put(initra_store *s, const char *ns, const char *name, const char *type, const uint8_t *value,
                     size_t len, const initra_store_rule *rule, const initra_audit_rec *audit, uint32_t *version,
                     initra_err *err);

/* The same for many versions in one transaction, all or none (imports, bulk loads): items[i].version
 * receives each version. At most INITRA_STORE_MAX_VALUE bytes per value. */
#define INITRA_STORE_MAX_VALUE (16u << 20)
typedef struct {
    const char *ns, *name, *type;
    const uint8_t *value;
    size_t len;
    const initra_store_rule *rule;  /* NULL: no rule */
    const initra_audit_rec *audit;  /* its record (the version is filled in); NULL: none */
    uint32_t version;               /* out */
} initra_store_put_item;
int initra_store_put_batch(initra_store *s, initra_store_put_item *items, size_t n, initra_err *err);

typedef struct {
    uint32_t version;
    char type[16];
    uint8_t *data; /* initra_store_value_free zeroizes it */
    size_t len;
} initra_store_value;
void initra_store_value_free(initra_store_value *v);

enum { INITRA_STORE_FOUND = 0, INITRA_STORE_NO_SUCH = 1, INITRA_STORE_NO_VERSION = 2, INITRA_STORE_UNAVAILABLE = -2 };
/* The newest version of ns/name whose rule an enclave with this CONFIGID and CONFIGSVN meets.
 * INITRA_STORE_FOUND with *out; INITRA_STORE_NO_SUCH (no version of that name); INITRA_STORE_NO_VERSION
 * (versions exist, none for this enclave: `why` says which rules it missed); -1 with err when the newest
 * eligible version does not decrypt (naming ns, name, version: never falls back to an older one);
 * INITRA_STORE_UNAVAILABLE with err when the database cannot be read (try again later). */
int initra_store_fetch(initra_store *s, const char *ns, const char *name, const uint8_t config_id[64],
                       uint16_t config_svn, initra_store_value *out, initra_err *why, initra_err *err);

/* Deletes one version (version > 0) or all of them; *n deleted (0: nothing by that name/version). */
int initra_store_delete(initra_store *s, const char *ns, const char *name, uint32_t version,
                        const initra_audit_rec *audit, size_t *n, initra_err *err);

typedef struct {
    const char *ns, *name, *type;
    uint32_t version;
    size_t size;
    time_t created;
    const initra_store_rule *rule;
} initra_store_entry;
/* Calls fn for every version (ns NULL: all namespaces), ordered by namespace, name, version. Never
 * decrypts. fn returning non-zero stops the walk; fn must not call the store (reads hold its lock). */
int initra_store_list(initra_store *s, const char *ns, int (*fn)(void *ctx, const initra_store_entry *e), void *ctx,
                      initra_err *err);

/* ---- namespace policies: initra's per-secret policy or a client policy for every secret of the
 * namespace (docs/policy.md); stored encrypted and authenticated as text ---- */
int initra_store_policy_set(initra_store *s, const char *ns, const char *json, size_t len,
                            const initra_audit_rec *audit, initra_err *err);
/* 0 with a fresh NUL-terminated *json; 1 when the namespace has none; -1 with err (tampered, db). */
int initra_store_policy_get(initra_store *s, const char *ns, char **json, size_t *len, initra_err *err);

/* ---- audit ---- */

/* Appends and commits (group commit) before it returns: a release whose record fails must not happen.
 * Every append fails ("rollback: ...") when the chain ends below a record this handle saw committed (the
 * database was restored from an older copy; docs/kms.md, "Rollback"). */
int initra_store_audit(initra_store *s, const initra_audit_rec *r, initra_err *err);
/* Checks the chain from the first record to the last: sequence, previous hash, HMAC. 0 with *n records,
 * or -1 with err naming the first broken record (its sequence number and what is wrong). */
int initra_store_audit_verify(initra_store *s, uint64_t *n, initra_err *err);
/* Records with time >= since (0: all) as JSON lines (one object per line: seq, time, and the fields of
 * initra_audit_rec), at most max (0: all). Fresh NUL-terminated text. */
int initra_store_audit_read(initra_store *s, time_t since, size_t max, char **jsonl, initra_err *err);
/* One page of that: records after sequence number after_seq (0: from the first), at most max (0: no count
 * limit) and about max_bytes of text (at least one record; 0: no limit). *last_seq: the last record's
 * number (after_seq when none); *more: 1 when the byte limit stopped the page early. */
int initra_store_audit_page(initra_store *s, time_t since, uint64_t after_seq, size_t max, size_t max_bytes,
                            char **jsonl, uint64_t *last_seq, int *more, initra_err *err);

/* ---- recovery (docs/kms.md, "Recovery") ---- */

/* The DEK encrypted to the recovery public key, as stored. Fresh buffer; -1 when there is none. */
int initra_store_recovery_blob(initra_store *s, uint8_t **blob, size_t *len, initra_err *err);
/* Admin side: opens a recovery blob with the recovery private key (PEM). */
int initra_store_recovery_open(const uint8_t *blob, size_t len, const uint8_t *priv_pem, size_t priv_len,
                               uint8_t dek[32], initra_err *err);
/* KMS side: checks dek against the store's key check, seals it under this enclave's seal key (replacing
 * the old sealed copy) and unlocks s. */
int initra_store_recover(initra_store *s, const uint8_t dek[32], const initra_audit_rec *audit, initra_err *err);
/* ---- replicas (docs/kms.md, "Running replicas") ---- */

/* The addresses replicas recorded (opts.advertise), fresh strings in a fresh array (free each and it). */
int initra_store_replicas(initra_store *s, char ***addrs, size_t *n, initra_err *err);
/* The DEK, for a running replica to send to a new one it verified (never in the clear: the KMS encrypts
 * it to the asker's attested key). -1 when s is locked. */
int initra_store_data_key(initra_store *s, uint8_t dek[32], initra_err *err);
/* A new replica: checks dek against the store's key check, adds a sealed copy of its own (a row of its
 * own; the others' copies stay) and unlocks s. The audit record goes in the same transaction. */
int initra_store_install_dek(initra_store *s, const uint8_t dek[32], const initra_audit_rec *audit, initra_err *err);

/* Makes a recovery key pair: RSA-3072 ("rsa-3072") or X25519 ("x25519"); PEM texts, fresh. */
int initra_store_recovery_keygen(const char *type, char **priv_pem, char **pub_pem, initra_err *err);

/* ---- numbers for `make bench` ---- */
typedef struct {
    uint64_t syncs;          /* SQLite: xSync calls on the database and its WAL (fsyncs), by every store of
                              * this process; PostgreSQL: commits (each one WAL flush on the server) */
    uint64_t commits;        /* write transactions */
    uint64_t audit_records;  /* appended by this process */
} initra_store_stats;
void initra_store_get_stats(initra_store *s, initra_store_stats *st);

#endif
