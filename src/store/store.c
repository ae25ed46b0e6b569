/* store: the KMS's sealed state in SQLite or PostgreSQL (include/initra/store.h, docs/kms.md "The
 * store"), through the SQL layer of internal.h. One writer thread commits every write in groups; reads use
 * their own connection. */
#include "store/internal.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

/* ---------------- the SQL, all of it (schema version 1) ---------------- */
#define SCHEMA_VERSION "1"
#define SCHEMA_VERSION_N 1
static const char *const SCHEMA[] = {
    "CREATE TABLE meta(k TEXT PRIMARY KEY, v BLOB NOT NULL)",
    "CREATE TABLE secrets(ns TEXT NOT NULL, name TEXT NOT NULL, version INTEGER NOT NULL, type TEXT NOT NULL, "
    "size INTEGER NOT NULL, created INTEGER NOT NULL, config_id BLOB, min_config_svn INTEGER, nonce BLOB NOT NULL, "
    "ct BLOB NOT NULL, PRIMARY KEY(ns, name, version))",
    "CREATE TABLE counters(ns TEXT NOT NULL, name TEXT NOT NULL, last INTEGER NOT NULL, PRIMARY KEY(ns, name))",
    "CREATE TABLE policies(ns TEXT PRIMARY KEY, nonce BLOB NOT NULL, ct BLOB NOT NULL)",
    "CREATE TABLE audit(seq INTEGER PRIMARY KEY, time INTEGER NOT NULL, rec TEXT NOT NULL, prev BLOB NOT NULL, "
    "mac BLOB NOT NULL)",
    "CREATE INDEX audit_time ON audit(time)",
};
enum {
    Q_META_GET, Q_META_PUT, Q_COUNTER_GET, Q_MAXVER, Q_COUNTER_PUT, Q_SECRET_PUT, Q_SECRET_GET,
    Q_DEL_ONE, Q_DEL_ALL, Q_LIST_NS, Q_LIST_ALL, Q_POLICY_PUT, Q_POLICY_GET, Q_AUDIT_HEAD, Q_AUDIT_PUT,
    Q_AUDIT_ALL, Q_AUDIT_SINCE, Q_META_RANGE, Q_N
};
#define SECRET_COLS "version, type, size, created, config_id, min_config_svn"
static const char *const SQL[Q_N] = {
    [Q_META_GET] = "SELECT v FROM meta WHERE k = ?1",
    [Q_META_PUT] = "INSERT INTO meta(k, v) VALUES(?1, ?2) ON CONFLICT(k) DO UPDATE SET v = excluded.v",
    [Q_COUNTER_GET] = "SELECT last FROM counters WHERE ns = ?1 AND name = ?2",
    [Q_MAXVER] = "SELECT MAX(version) FROM secrets WHERE ns = ?1 AND name = ?2",
    [Q_COUNTER_PUT] = "INSERT INTO counters(ns, name, last) VALUES(?1, ?2, ?3) "
                      "ON CONFLICT(ns, name) DO UPDATE SET last = excluded.last",
    [Q_SECRET_PUT] = "INSERT INTO secrets(ns, name, " SECRET_COLS ", nonce, ct) "
                     "VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
    [Q_SECRET_GET] = "SELECT " SECRET_COLS ", nonce, ct FROM secrets WHERE ns = ?1 AND name = ?2 "
                     "ORDER BY version DESC",
    [Q_DEL_ONE] = "DELETE FROM secrets WHERE ns = ?1 AND name = ?2 AND version = ?3",
    [Q_DEL_ALL] = "DELETE FROM secrets WHERE ns = ?1 AND name = ?2",
    [Q_LIST_NS] = "SELECT ns, name, " SECRET_COLS " FROM secrets WHERE ns = ?1 ORDER BY ns, name, version",
    [Q_LIST_ALL] = "SELECT ns, name, " SECRET_COLS " FROM secrets ORDER BY ns, name, version",
    [Q_POLICY_PUT] = "INSERT INTO policies(ns, nonce, ct) VALUES(?1, ?2, ?3) "
                     "ON CONFLICT(ns) DO UPDATE SET nonce = excluded.nonce, ct = excluded.ct",
    [Q_POLICY_GET] = "SELECT nonce, ct FROM policies WHERE ns = ?1",
    [Q_AUDIT_HEAD] = "SELECT seq, time, rec, prev, mac FROM audit ORDER BY seq DESC LIMIT 1",
    [Q_AUDIT_PUT] = "INSERT INTO audit(seq, time, rec, prev, mac) VALUES(?1, ?2, ?3, ?4, ?5)",
    [Q_AUDIT_ALL] = "SELECT seq, time, rec, prev, mac FROM audit ORDER BY seq",
    [Q_AUDIT_SINCE] = "SELECT rec, seq FROM audit WHERE time >= ?1 AND seq > ?3 ORDER BY seq LIMIT ?2",
    [Q_META_RANGE] = "SELECT k, v FROM meta WHERE k > ?1 AND k < ?2 ORDER BY k",
};
/* Replicas (docs/kms.md, "Running replicas"): each keeps its own sealed copy of the DEK in meta
 * "sealed_dek.<id>" (its seal key differs per platform) and records the address it serves on in meta
 * "replica.<HOST:PORT>". */
#define COPY_PREFIX "sealed_dek."
#define REPLICA_PREFIX "replica."
#define FORMAT_NAME "initra-store"

/* ---------------- the handle ---------------- */
enum { J_PUT, J_DELETE, J_POLICY, J_RECOVER, J_AUDIT };
typedef struct job {
    int kind;
    initra_store_put_item *items; /* J_PUT */
    size_t n;
    const char *ns, *name;        /* J_DELETE, J_POLICY */
    uint32_t version;
    size_t *deleted;
    const char *text;             /* J_POLICY */
    size_t len;
    const uint8_t *blob;          /* J_RECOVER: the new sealed DEK */
    const char *row;              /* J_RECOVER: its meta row ("sealed_dek", or a replica's copy) */
    json_t **recs;                /* audit records without seq and time; n_recs of them (NULL entries skipped) */
    size_t n_recs;
    int rc, done;
    initra_err err;
    struct job *next;
} job;

struct initra_store {
    char *path;                /* what errors name: the file, or postgres://USER@HOST:PORT/DB */
    const db_ops *ops;         /* the driver: SQLite or PostgreSQL (internal.h) */
    db_conn *w, *r;            /* the writer thread's connection, the readers' */
    pthread_mutex_t rmu, qmu;
    pthread_cond_t qcond, dcond;
    job *head, *tail;
    int stop, thread;
    pthread_t thr;
    atomic_int locked;
    char why[512];
    uint8_t dek[STORE_KEY_LEN], k_secret[STORE_KEY_LEN], k_policy[STORE_KEY_LEN], k_audit[STORE_KEY_LEN];
    initra_seal_key_fn seal_key;
    void *seal_ctx;
    initra_sgx_report_body self;
    atomic_uint_fast64_t commits, audit_records;
    /* the writer's view of the audit chain head inside its transaction */
    int have_head;
    uint64_t head_seq;
    uint8_t head_hash[32];
    /* the highest audit record this store handle has seen committed (rollback detection, docs/kms.md) */
    uint64_t seen_seq;
    char sealed_row[64];       /* the meta row of the sealed copy this enclave opened (reseal rewrites it) */
};

static const uint8_t ZERO32[32];

#define DB (s->ops)

static int db_fail(initra_store *s, db_conn *c, initra_err *err, const char *what)
{
    const char *m = DB->errmsg(c);
    switch (DB->errkind(c)) {
    case DB_E_NOTADB:
        return initra_fail(err, "store %s: not an initra store (%s: not an SQLite database)", s->path, what);
    case DB_E_CORRUPT:
        return initra_fail(err, "store %s: damaged database (%s: %s); restore it from a backup", s->path, what, m);
    case DB_E_DISK:
        return initra_fail(err, "store %s: %s: %s; nothing of it was written: check the free space and the disk of "
                                "the store's filesystem", s->path, what, m);
    default:
        return initra_fail(err, "store %s: %s: %s", s->path, what, m);
    }
}

/* The statement id on c, reset and unbound; NULL when it does not prepare. */
static db_stmt *stmt(initra_store *s, db_conn *c, int id) { return DB->prep(c, id, SQL[id]); }

static int exec(initra_store *s, db_conn *c, const char *sql, initra_err *err)
{
    return DB->exec(c, sql) == 0 ? 0 : db_fail(s, c, err, sql);
}

/* A write transaction: one writer at a time, across processes (and machines, on PostgreSQL). */
static int begin(initra_store *s, initra_err *err)
{
    return DB->begin(s->w) == 0 ? 0 : db_fail(s, s->w, err, "beginning a write transaction");
}

/* ---------------- keys ---------------- */

static int derive_keys(initra_store *s)
{
    return initra_hkdf_sha256(s->dek, STORE_KEY_LEN, NULL, 0, "initra store v1 secrets", s->k_secret, STORE_KEY_LEN) ||
                   initra_hkdf_sha256(s->dek, STORE_KEY_LEN, NULL, 0, "initra store v1 policies", s->k_policy,
                              STORE_KEY_LEN) ||
                   initra_hkdf_sha256(s->dek, STORE_KEY_LEN, NULL, 0, "initra store v1 audit", s->k_audit, STORE_KEY_LEN)
               ? -1
               : 0;
}

static void forget_keys(initra_store *s)
{
    initra_zero(s->dek, sizeof s->dek);
    initra_zero(s->k_secret, sizeof s->k_secret);
    initra_zero(s->k_policy, sizeof s->k_policy);
    initra_zero(s->k_audit, sizeof s->k_audit);
}

/* The key check value: nonce[12] || AES-256-GCM(HKDF(dek, "check"), 16 zero bytes) with its tag. */
#define KCV_LEN (STORE_NONCE_LEN + 16 + STORE_TAG_LEN)
static const char KCV_AAD[] = "initra store v1 key check";
static int kcv_make(const uint8_t dek[STORE_KEY_LEN], uint8_t out[KCV_LEN])
{
    uint8_t k[STORE_KEY_LEN];
    int rc = RAND_bytes(out, STORE_NONCE_LEN) != 1 ||
             initra_hkdf_sha256(dek, STORE_KEY_LEN, NULL, 0, "initra store v1 check", k, sizeof k) ||
             store_gcm_seal(k, out, (const uint8_t *)KCV_AAD, sizeof KCV_AAD, ZERO32, 16, out + STORE_NONCE_LEN);
    initra_zero(k, sizeof k);
    return rc ? -1 : 0;
}
static int kcv_check(const uint8_t dek[STORE_KEY_LEN], const uint8_t *kcv, size_t n)
{
    uint8_t k[STORE_KEY_LEN], plain[16];
    int rc = n != KCV_LEN || initra_hkdf_sha256(dek, STORE_KEY_LEN, NULL, 0, "initra store v1 check", k, sizeof k) ||
             store_gcm_open(k, kcv, (const uint8_t *)KCV_AAD, sizeof KCV_AAD, kcv + STORE_NONCE_LEN, 16, plain) ||
             memcmp(plain, ZERO32, 16) != 0;
    initra_zero(k, sizeof k);
    return rc ? -1 : 0;
}

/* The seal request this enclave seals a new DEK with: MRSIGNER (ISVPRODID included), its own ISVSVN and
 * CPUSVN, CONFIGSVN 0 (any configuration of this KMS reads the store), a fresh key id. */
static int seal_new(initra_store *s, uint8_t out[STORE_SEALED_SIZE], initra_err *err)
{
    store_sealed b;
    memset(&b, 0, sizeof b);
    b.req.key_policy = INITRA_KEYPOLICY_MRSIGNER;
    b.req.isv_svn = s->self.isv_svn;
    memcpy(b.req.cpu_svn, s->self.cpu_svn, 16);
    memcpy(b.mr_signer, s->self.mr_signer, 32);
    b.isv_prod_id = s->self.isv_prod_id;
    uint8_t key[16];
    if (RAND_bytes(b.req.key_id, sizeof b.req.key_id) != 1)
        return initra_fail(err, "store %s: no randomness for the seal key id", s->path);
    if (s->seal_key(s->seal_ctx, &b.req, key, err))
        return initra_fail_prefix(err, "store %s: sealing the data key: EGETKEY", s->path);
    int rc = store_sealed_seal(&b, key, s->dek, out, err);
    initra_zero(key, sizeof key);
    return rc;
}

/* A meta value into a fresh buffer; 1 when absent. */
static int meta_get(initra_store *s, db_conn *c, const char *k, uint8_t **v, size_t *n, initra_err *err)
{
    db_stmt *st = stmt(s, c, Q_META_GET);
    if (!st) return db_fail(s, c, err, "reading meta");
    DB->bind_text(st, 1, k);
    int rc = DB->step(st);
    if (rc == DB_DONE) {
        DB->reset(st);
        return 1;
    }
    if (rc != DB_ROW) {
        db_fail(s, c, err, "reading meta");
        DB->reset(st);
        return -1;
    }
    *n = (size_t)DB->col_bytes(st, 0);
    *v = malloc(*n + 1);
    if (*v) {
        if (*n) memcpy(*v, DB->col_blob(st, 0), *n);
        (*v)[*n] = 0;
    }
    DB->reset(st);
    return *v ? 0 : initra_fail(err, "store: out of memory");
}

/* Calls fn for every meta row whose key starts with prefix (in key order); fn returning non-zero stops. */
static int meta_each(initra_store *s, db_conn *c, const char *prefix,
                     int (*fn)(void *ctx, const char *k, const uint8_t *v, size_t n), void *ctx, initra_err *err)
{
    char lo[64], hi[64];
    snprintf(lo, sizeof lo, "%s", prefix);
    snprintf(hi, sizeof hi, "%s", prefix);
    hi[strlen(hi) - 1]++; /* the prefixes end in '.': '/' sorts right after it */
    db_stmt *st = stmt(s, c, Q_META_RANGE);
    if (!st) return db_fail(s, c, err, "reading meta");
    DB->bind_text(st, 1, lo);
    DB->bind_text(st, 2, hi);
    int rc;
    while ((rc = DB->step(st)) == DB_ROW) {
        const char *k = DB->col_text(st, 0);
        if (k && fn(ctx, k, DB->col_blob(st, 1), (size_t)DB->col_bytes(st, 1))) {
            rc = DB_DONE;
            break;
        }
    }
    if (rc != DB_DONE) db_fail(s, c, err, "reading meta");
    DB->reset(st);
    return rc == DB_DONE ? 0 : -1;
}

static int meta_put(initra_store *s, db_conn *c, const char *k, const void *v, size_t n, initra_err *err)
{
    db_stmt *st = stmt(s, c, Q_META_PUT);
    if (!st) return db_fail(s, c, err, "writing meta");
    DB->bind_text(st, 1, k);
    DB->bind_blob(st, 2, v, n);
    int rc = DB->step(st);
    DB->reset(st);
    return rc == DB_DONE ? 0 : db_fail(s, c, err, "writing meta");
}

/* ---------------- open ---------------- */

/* Creates the schema and a fresh DEK when the database has no table (inside a write transaction, so two
 * processes creating one store agree). */
static int create_if_empty(initra_store *s, const initra_store_opts *o, initra_err *err)
{
    if (begin(s, err)) return -1;
    int tables = 0, meta = 0, rc;
    if (DB->tables(s->w, &tables, &meta)) {
        db_fail(s, s->w, err, "reading the schema");
        goto fail;
    }
    if (tables && !meta) {
        initra_fail(err, "store %s: not an initra store (%s without a meta table)", s->path,
                    DB == &store_db_sqlite ? "an SQLite database" : "a PostgreSQL schema with tables but");
        goto fail;
    }
    if (!tables) {
        uint8_t sealed[STORE_SEALED_SIZE], kcv[KCV_LEN], *rec = NULL;
        size_t rec_len = 0;
        for (size_t i = 0; i < sizeof SCHEMA / sizeof *SCHEMA; i++)
            if (exec(s, s->w, SCHEMA[i], err)) goto fail;
        if (RAND_priv_bytes(s->dek, STORE_KEY_LEN) != 1 || kcv_make(s->dek, kcv)) {
            initra_fail(err, "store %s: no randomness for the data key", s->path);
            goto fail;
        }
        if (seal_new(s, sealed, err)) goto fail;
        if (o->recovery_pub && store_recovery_seal(o->recovery_pub, o->recovery_pub_len, s->dek, &rec, &rec_len, err))
            goto fail;
        rc = meta_put(s, s->w, "format", FORMAT_NAME, strlen(FORMAT_NAME), err) ||
             meta_put(s, s->w, "schema", SCHEMA_VERSION, strlen(SCHEMA_VERSION), err) ||
             meta_put(s, s->w, "sealed_dek", sealed, sizeof sealed, err) ||
             meta_put(s, s->w, "key_check", kcv, sizeof kcv, err) ||
             (rec && meta_put(s, s->w, "recovery", rec, rec_len, err));
        free(rec);
        initra_zero(s->dek, sizeof s->dek);
        if (rc) goto fail;
    }
    if (exec(s, s->w, "COMMIT", err)) goto fail;
    return 0;
fail:
    DB->exec(s->w, "ROLLBACK");
    return -1;
}

/* Opens one sealed copy of the DEK into s->dek (*svn: the ISVSVN it was sealed at): 0, or -1 with err
 * saying why this enclave cannot. */
static int unseal_blob(initra_store *s, const uint8_t *b, size_t n, uint16_t *svn, initra_err *err)
{
    uint8_t *kcv = NULL, key[16];
    size_t kn = 0;
    store_sealed sb;
    char a[65], h[65];
    int rc = -1;
    if (store_sealed_parse(b, n, &sb, err)) {
        initra_fail_prefix(err, "store %s: damaged database", s->path);
    } else if (memcmp(sb.mr_signer, s->self.mr_signer, 32) != 0) {
        initra_fail(err, "store %s: sealed by another signer: the store's MRSIGNER is %s, this KMS's is %s; open it "
                         "with a KMS of that signer, or recover it with the recovery key (docs/kms.md)",
                    s->path, initra_hex(sb.mr_signer, 32, a), initra_hex(s->self.mr_signer, 32, h));
    } else if (sb.isv_prod_id != s->self.isv_prod_id) {
        initra_fail(err, "store %s: sealed by another product: the store's ISVPRODID is %u, this KMS's is %u; open it "
                         "with that KMS, or recover it with the recovery key (docs/kms.md)",
                    s->path, sb.isv_prod_id, s->self.isv_prod_id);
    } else if (sb.req.isv_svn > s->self.isv_svn) {
        initra_fail(err, "store %s: sealed by a newer KMS (ISVSVN %u; this KMS's is %u): run that version or a newer "
                         "one", s->path, sb.req.isv_svn, s->self.isv_svn);
    } else if (s->seal_key(s->seal_ctx, &sb.req, key, err)) {
        initra_fail_prefix(err, "store %s: EGETKEY for the store's seal request", s->path);
    } else if (store_sealed_open(&sb, key, s->dek, err)) {
        initra_fail(err, "store %s: sealed on another platform: this enclave's seal key does not open its data key "
                         "(a store moved to another machine is opened with the recovery key, docs/kms.md)", s->path);
    } else if ((rc = meta_get(s, s->w, "key_check", &kcv, &kn, err)) != 0 || kcv_check(s->dek, kcv, kn)) {
        if (rc != -1)
            initra_fail(err, "store %s: damaged database: the key check value does not match the unsealed data key",
                        s->path);
        rc = -1;
    } else {
        *svn = sb.req.isv_svn;
        rc = 0;
    }
    initra_zero(key, sizeof key);
    free(kcv);
    if (rc) initra_zero(s->dek, sizeof s->dek);
    return rc;
}

typedef struct {
    initra_store *s;
    uint16_t *svn;
    int opened;
    size_t tried;
} copy_try;
static int try_copy(void *ctx, const char *k, const uint8_t *v, size_t n)
{
    copy_try *t = ctx;
    initra_err e;
    t->tried++;
    if (unseal_blob(t->s, v, n, t->svn, &e)) return 0;
    snprintf(t->s->sealed_row, sizeof t->s->sealed_row, "%s", k);
    t->opened = 1;
    return 1;
}

/* Unseals the DEK: the store's own sealed copy, else a replica's copy this enclave's seal key opens. 0, or
 * -1 with err saying why the first copy does not open (and how many replica copies did not either). */
static int unseal(initra_store *s, uint16_t *svn, initra_err *err)
{
    uint8_t *b = NULL;
    size_t n = 0;
    int rc = meta_get(s, s->w, "sealed_dek", &b, &n, err);
    if (rc == 1) initra_fail(err, "store %s: damaged database (no sealed data key in meta)", s->path);
    if (rc) return -1;
    snprintf(s->sealed_row, sizeof s->sealed_row, "sealed_dek");
    rc = unseal_blob(s, b, n, svn, err);
    free(b);
    if (rc == 0) return 0;
    copy_try t = {.s = s, .svn = svn};
    initra_err e;
    if (meta_each(s, s->w, COPY_PREFIX, try_copy, &t, &e)) return initra_fail(err, "%s", e.msg);
    if (t.opened) return 0;
    if (t.tried) {
        char m[sizeof err->msg];
        snprintf(m, sizeof m, "%s", err->msg);
        initra_fail(err, "%s; nor does any of the %zu replica copies", m, t.tried);
    }
    return -1;
}

/* A KMS with a higher ISVSVN than the one the DEK is sealed at re-seals it at its own: after a security
 * fix (an ISVSVN bump) the older, vulnerable versions can no longer open the store. */
static int reseal(initra_store *s, initra_err *err)
{
    uint8_t sealed[STORE_SEALED_SIZE];
    if (seal_new(s, sealed, err)) return -1;
    int rc = begin(s, err) || meta_put(s, s->w, s->sealed_row, sealed, sizeof sealed, err) ||
             exec(s, s->w, "COMMIT", err);
    if (rc) DB->exec(s->w, "ROLLBACK");
    return rc ? -1 : 0;
}

/* Records this replica's address (meta "replica.<advertise>" = the time, decimal). */
static int advertise(initra_store *s, const char *addr, initra_err *err)
{
    char k[300], t[32];
    if (strlen(addr) > 255) return initra_fail(err, "store %s: replica address longer than 255 characters", s->path);
    snprintf(k, sizeof k, REPLICA_PREFIX "%s", addr);
    snprintf(t, sizeof t, "%lld", (long long)time(NULL));
    int rc = begin(s, err) || meta_put(s, s->w, k, t, strlen(t), err) || exec(s, s->w, "COMMIT", err);
    if (rc) DB->exec(s->w, "ROLLBACK");
    return rc ? -1 : 0;
}

/* Writes a recovery copy for the configured key when the store has none for it. */
static int recovery_refresh(initra_store *s, const initra_store_opts *o, initra_err *err)
{
    uint8_t want[32], *old = NULL, *rec = NULL;
    size_t n = 0, rn = 0;
    store_recovery r;
    if (store_pub_spki_sha256(o->recovery_pub, o->recovery_pub_len, want, err)) return -1;
    int rc = meta_get(s, s->w, "recovery", &old, &n, err);
    if (rc < 0) return -1;
    int same = rc == 0 && store_recovery_parse(old, n, &r, NULL) == 0 && memcmp(r.spki_sha256, want, 32) == 0;
    free(old);
    if (same) return 0;
    if (store_recovery_seal(o->recovery_pub, o->recovery_pub_len, s->dek, &rec, &rn, err)) return -1;
    rc = begin(s, err) || meta_put(s, s->w, "recovery", rec, rn, err) ||
         exec(s, s->w, "COMMIT", err);
    if (rc) DB->exec(s->w, "ROLLBACK");
    free(rec);
    return rc ? -1 : 0;
}

/* The schema version row: this initra's reads as is; an older one is migrated in one write transaction
 * (MIGRATE[v] takes version v to v + 1); a newer one is refused, since this initra would not know what
 * the newer tables mean. */
static const char *const *const MIGRATE[SCHEMA_VERSION_N] = {NULL};
static int check_schema(initra_store *s, initra_err *err)
{
    uint8_t *v = NULL;
    size_t n = 0;
    int rc = meta_get(s, s->w, "schema", &v, &n, err);
    if (rc < 0) return -1;
    char *end = NULL;
    long ver = rc == 0 ? strtol((char *)v, &end, 10) : 0;
    int ok = rc == 0 && n && end == (char *)v + n && ver >= 1;
    if (!ok) {
        initra_fail(err, "store %s: damaged database (schema version \"%s\" in meta is not a number)", s->path,
                    rc == 0 ? (char *)v : "(missing)");
    } else if (ver > SCHEMA_VERSION_N) {
        initra_fail(err, "store %s: schema version %ld is newer than this initra's (%d): a newer initra wrote it; run "
                         "that version or a newer one", s->path, ver, SCHEMA_VERSION_N);
        ok = 0;
    }
    free(v);
    if (!ok) return -1;
    if (ver == SCHEMA_VERSION_N) return 0;
    if (begin(s, err)) return -1;
    for (long k = ver; k < SCHEMA_VERSION_N; k++)
        for (const char *const *q = MIGRATE[k]; q && *q; q++)
            if (exec(s, s->w, *q, err)) goto fail;
    if (meta_put(s, s->w, "schema", SCHEMA_VERSION, strlen(SCHEMA_VERSION), err) || exec(s, s->w, "COMMIT", err))
        goto fail;
    return 0;
fail:
    DB->exec(s->w, "ROLLBACK");
    return initra_fail_prefix(err, "store %s: migrating schema version %ld to %d", s->path, ver, SCHEMA_VERSION_N);
}

static void *writer(void *arg);

void initra_store_pg_label(const char *conninfo, char *out, size_t n) { store_pg_label(conninfo, out, n); }

initra_store *initra_store_open(const initra_store_opts *o, initra_err *err)
{
    initra_err local;
    if (!err) err = &local;
    int pg = o && o->postgres_conninfo;
    if (!o || (pg ? !*o->postgres_conninfo || o->path : !o->path || !*o->path) || !o->seal_key || !o->self) {
        initra_fail(err, "store: open needs a path or a PostgreSQL CONNINFO (one of them), a seal-key function and "
                         "this KMS's identity");
        return NULL;
    }
    char label[320];
    if (pg) store_pg_label(o->postgres_conninfo, label, sizeof label);
    initra_store *s = calloc(1, sizeof *s);
    if (!s || !(s->path = strdup(pg ? label : o->path))) {
        free(s);
        initra_fail(err, "store: out of memory");
        return NULL;
    }
    s->ops = pg ? &store_db_pg : &store_db_sqlite;
    const char *target = pg ? o->postgres_conninfo : o->path;
    pthread_mutex_init(&s->rmu, NULL);
    pthread_mutex_init(&s->qmu, NULL);
    pthread_cond_init(&s->qcond, NULL);
    pthread_cond_init(&s->dcond, NULL);
    s->seal_key = o->seal_key;
    s->seal_ctx = o->seal_ctx;
    s->self = *o->self;
    uint8_t *v = NULL;
    size_t n = 0;
    if (DB->open(target, &s->w, err) || create_if_empty(s, o, err)) goto fail;
    int rc = meta_get(s, s->w, "format", &v, &n, err);
    if (rc == 0 && (n != strlen(FORMAT_NAME) || memcmp(v, FORMAT_NAME, n) != 0)) rc = 1;
    free(v);
    v = NULL;
    if (rc) {
        if (rc == 1) initra_fail(err, "store %s: not an initra store (meta has no format \"%s\")", s->path, FORMAT_NAME);
        goto fail;
    }
    if (check_schema(s, err)) goto fail;
    uint16_t sealed_svn = 0;
    if (unseal(s, &sealed_svn, err)) {
        uint8_t *rec = NULL;
        size_t rn = 0;
        initra_err e2;
        int has = meta_get(s, s->w, "recovery", &rec, &rn, &e2) == 0;
        free(rec);
        if (!o->allow_locked && !o->allow_waiting) goto fail;
        if (!has && !o->allow_waiting) {
            initra_fail_prefix(err, "store %s has no recovery copy, so it cannot open locked", s->path);
            goto fail;
        }
        snprintf(s->why, sizeof s->why, "%s", err->msg);
        atomic_store(&s->locked, 1);
    } else if (derive_keys(s)) {
        initra_fail(err, "store %s: key derivation failed", s->path);
        goto fail;
    } else if ((sealed_svn < s->self.isv_svn && reseal(s, err)) ||
               (o->recovery_pub && recovery_refresh(s, o, err))) {
        goto fail;
    }
    if (o->advertise && advertise(s, o->advertise, err)) goto fail;
    if (DB->open(target, &s->r, err)) goto fail;
    if (pthread_create(&s->thr, NULL, writer, s) != 0) {
        initra_fail(err, "store %s: cannot start the writer thread", s->path);
        goto fail;
    }
    s->thread = 1;
    return s;
fail:
    free(v);
    initra_store_close(s);
    return NULL;
}

void initra_store_close(initra_store *s)
{
    if (!s) return;
    if (s->thread) {
        pthread_mutex_lock(&s->qmu);
        s->stop = 1;
        pthread_cond_signal(&s->qcond);
        pthread_mutex_unlock(&s->qmu);
        pthread_join(s->thr, NULL);
    }
    if (s->ops) {
        s->ops->close(s->r);
        s->ops->close(s->w);
    }
    forget_keys(s);
    pthread_mutex_destroy(&s->rmu);
    pthread_mutex_destroy(&s->qmu);
    pthread_cond_destroy(&s->qcond);
    pthread_cond_destroy(&s->dcond);
    free(s->path);
    free(s);
}

int initra_store_locked(const initra_store *s, char *why, size_t why_size)
{
    int l = atomic_load(&((initra_store *)s)->locked);
    if (why && why_size) snprintf(why, why_size, "%s", l ? s->why : "");
    return l;
}

static int refuse_locked(initra_store *s, initra_err *err)
{
    if (!atomic_load(&s->locked)) return 0;
    return initra_fail(err, "%s (the store is open locked: only recovery works until `initra kms admin recover`)",
                       s->why);
}

void initra_store_get_stats(initra_store *s, initra_store_stats *st)
{
    st->commits = atomic_load(&s->commits);
    st->syncs = DB->syncs ? DB->syncs() : st->commits;
    st->audit_records = atomic_load(&s->audit_records);
}

/* ---------------- audit records ---------------- */

static void set_hex(json_t *o, const char *k, const uint8_t *b, size_t n)
{
    char h[129];
    json_object_set_new(o, k, json_string(initra_hex(b, n, h)));
}
static void set_str(json_t *o, const char *k, const char *v)
{
    if (v) json_object_set_new(o, k, json_string(v));
}

/* The record as JSON (without seq and time); never a value. NULL: out of memory. */
static json_t *audit_json(const initra_audit_rec *r)
{
    json_t *o = json_object();
    if (!o) return NULL;
    set_str(o, "protocol", r->protocol);
    set_str(o, "peer_addr", r->peer_addr);
    if (r->report) {
        const initra_sgx_report_body *b = r->report;
        set_hex(o, "mr_enclave", b->mr_enclave, 32);
        set_hex(o, "mr_signer", b->mr_signer, 32);
        json_object_set_new(o, "isv_prod_id", json_integer(b->isv_prod_id));
        json_object_set_new(o, "isv_svn", json_integer(b->isv_svn));
        set_hex(o, "config_id", b->config_id, 64);
        json_object_set_new(o, "config_svn", json_integer(b->config_svn));
        set_hex(o, "isv_family_id", b->isv_family_id, 16);
        set_hex(o, "isv_ext_prod_id", b->isv_ext_prod_id, 16);
    }
    set_str(o, "tcb_status", r->tcb_status);
    if (r->n_advisories) {
        json_t *a = json_array();
        for (size_t i = 0; i < r->n_advisories; i++) json_array_append_new(a, json_string(r->advisories[i]));
        json_object_set_new(o, "advisories", a);
    }
    if (r->quote_sha256) set_hex(o, "quote_sha256", r->quote_sha256, 32);
    set_str(o, "admin", r->admin);
    set_str(o, "op", r->op);
    set_str(o, "ns", r->ns);
    set_str(o, "name", r->name);
    if (r->version) json_object_set_new(o, "version", json_integer(r->version));
    set_str(o, "decision", r->decision);
    set_str(o, "reason", r->reason);
    return o;
}

/* A record's bytes are seq u64le || time u64le || rec || prev[32]; its mac is HMAC-SHA256(audit key,
 * bytes) and its chain hash (the next record's prev) SHA-256(bytes || mac). */
static int audit_mac(const uint8_t key[STORE_KEY_LEN], uint64_t seq, int64_t t, const char *rec, size_t len,
                     const uint8_t prev[32], uint8_t mac[32])
{
    uint8_t head[16];
    initra_put_le64(head, seq);
    initra_put_le64(head + 8, (uint64_t)t);
    EVP_MAC *m = EVP_MAC_fetch(NULL, "HMAC", NULL);
    EVP_MAC_CTX *c = m ? EVP_MAC_CTX_new(m) : NULL;
    OSSL_PARAM p[] = {OSSL_PARAM_construct_utf8_string("digest", (char *)"SHA256", 0), OSSL_PARAM_construct_end()};
    size_t ml = 0;
    int ok = c && EVP_MAC_init(c, key, STORE_KEY_LEN, p) == 1 && EVP_MAC_update(c, head, 16) == 1 &&
             EVP_MAC_update(c, (const uint8_t *)rec, len) == 1 && EVP_MAC_update(c, prev, 32) == 1 &&
             EVP_MAC_final(c, mac, &ml, 32) == 1 && ml == 32;
    EVP_MAC_CTX_free(c);
    EVP_MAC_free(m);
    return ok ? 0 : -1;
}

static int chain_hash(uint64_t seq, int64_t t, const char *rec, size_t len, const uint8_t prev[32],
                      const uint8_t mac[32], uint8_t out[32])
{
    uint8_t head[16];
    initra_put_le64(head, seq);
    initra_put_le64(head + 8, (uint64_t)t);
    EVP_MD_CTX *d = EVP_MD_CTX_new();
    int ok = d && EVP_DigestInit_ex(d, EVP_sha256(), NULL) == 1 && EVP_DigestUpdate(d, head, 16) == 1 &&
             EVP_DigestUpdate(d, rec, len) == 1 && EVP_DigestUpdate(d, prev, 32) == 1 &&
             EVP_DigestUpdate(d, mac, 32) == 1 && EVP_DigestFinal_ex(d, out, NULL) == 1;
    EVP_MD_CTX_free(d);
    return ok ? 0 : -1;
}

/* Writer, inside its transaction: appends rec as the next record of the chain. */
static int audit_append(initra_store *s, json_t *rec, initra_err *err)
{
    db_conn *c = s->w;
    if (!s->have_head) {
        db_stmt *st = stmt(s, c, Q_AUDIT_HEAD);
        int rc = st ? DB->step(st) : DB_ERROR;
        if (rc == DB_ROW) {
            s->head_seq = (uint64_t)DB->col_int(st, 0);
            const char *text = DB->col_text(st, 2);
            if (!text || DB->col_bytes(st, 3) != 32 || DB->col_bytes(st, 4) != 32 ||
                chain_hash(s->head_seq, DB->col_int(st, 1), text, (size_t)DB->col_bytes(st, 2),
                           DB->col_blob(st, 3), DB->col_blob(st, 4), s->head_hash)) {
                DB->reset(st);
                return initra_fail(err, "store %s: audit record %" PRIu64 " (the last) is damaged; run audit verify",
                                   s->path, s->head_seq);
            }
        } else if (rc == DB_DONE) {
            s->head_seq = 0;
            memset(s->head_hash, 0, 32);
        }
        if (st) DB->reset(st);
        if (rc != DB_ROW && rc != DB_DONE) return db_fail(s, c, err, "reading the audit chain head");
        /* The chain only grows: a head below one this process saw committed means the database was put
         * back to an older copy (a restore by the host). Refuse to write, so nothing is released from it. */
        if (s->head_seq < s->seen_seq)
            return initra_fail(err, "store %s: rollback: the database's audit chain ends at record %" PRIu64
                                    " but this KMS saw record %" PRIu64 " committed: it was restored from an older "
                                    "copy; nothing is served from it (restore the newest copy; docs/kms.md, Rollback)",
                               s->path, s->head_seq, s->seen_seq);
        s->have_head = 1;
    }
    uint64_t seq = s->head_seq + 1;
    int64_t t = (int64_t)time(NULL);
    json_t *o = json_object();
    json_object_set_new(o, "seq", json_integer((json_int_t)seq));
    json_object_set_new(o, "time", json_integer(t));
    json_object_update(o, rec);
    char *text = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    uint8_t mac[32], hash[32];
    if (!text || audit_mac(s->k_audit, seq, t, text, strlen(text), s->head_hash, mac) ||
        chain_hash(seq, t, text, strlen(text), s->head_hash, mac, hash)) {
        free(text);
        return initra_fail(err, "store %s: building an audit record failed (out of memory)", s->path);
    }
    db_stmt *st = stmt(s, c, Q_AUDIT_PUT);
    int rc = DB_ERROR;
    if (st) {
        DB->bind_int(st, 1, (int64_t)seq);
        DB->bind_int(st, 2, t);
        DB->bind_text(st, 3, text);
        DB->bind_blob(st, 4, s->head_hash, 32);
        DB->bind_blob(st, 5, mac, 32);
        rc = DB->step(st);
        DB->reset(st);
    }
    free(text);
    if (rc != DB_DONE) return db_fail(s, c, err, "appending an audit record");
    s->head_seq = seq;
    memcpy(s->head_hash, hash, 32);
    return 0;
}

/* ---------------- secrets: the associated data ---------------- */

static size_t put_str(uint8_t *p, const char *v)
{
    size_t n = strlen(v);
    initra_put_le16(p, (uint16_t)n);
    memcpy(p + 2, v, n);
    return n + 2;
}

/* "initra store v1 secret" || ns || name || version || type || rule || created (strings u16le-length
 * prefixed, at most 255 bytes each): the associated data of a secret value. out: 1024 bytes. */
static size_t secret_aad(uint8_t *out, const char *ns, const char *name, uint32_t version, const char *type,
                         const initra_store_rule *r, int64_t created)
{
    static const char label[] = "initra store v1 secret";
    size_t o = 0;
    memcpy(out, label, sizeof label);
    o += sizeof label;
    o += put_str(out + o, ns);
    o += put_str(out + o, name);
    initra_put_le32(out + o, version);
    o += 4;
    o += put_str(out + o, type);
    out[o++] = r && r->has_config_id;
    if (r && r->has_config_id) memcpy(out + o, r->config_id, 64);
    else memset(out + o, 0, 64);
    o += 64;
    out[o++] = r && r->has_min_config_svn;
    initra_put_le16(out + o, r && r->has_min_config_svn ? r->min_config_svn : 0);
    o += 2;
    initra_put_le64(out + o, (uint64_t)created);
    return o + 8;
}

static size_t policy_aad(uint8_t *out, const char *ns)
{
    static const char label[] = "initra store v1 policy";
    memcpy(out, label, sizeof label);
    return sizeof label + put_str(out + sizeof label, ns);
}

static const char *const TYPES[] = {"bytes", "aes256", "random", "ec-p256", "rsa-3072", NULL};

static int check_ns_name(const char *ns, const char *name, initra_err *err)
{
    if (!ns) return initra_fail(err, "store: no namespace");
    if (initra_check_secret_name(ns, "store", "namespace", err)) return -1;
    if (strchr(ns, '/'))
        return initra_fail(err, "store: namespace \"%s\" has a '/'; namespaces are names without '/'", ns);
    if (name && initra_check_secret_name(name, "store", "secret name", err)) return -1;
    return 0;
}

/* Writer: one put. */
static int do_put(initra_store *s, initra_store_put_item *it, initra_err *err)
{
    db_conn *c = s->w;
    db_stmt *st;
    uint32_t last = 0;
    for (int q = Q_COUNTER_GET; q <= Q_MAXVER; q++) {
        if (!(st = stmt(s, c, q))) return db_fail(s, c, err, "reading the version counter");
        DB->bind_text(st, 1, it->ns);
        DB->bind_text(st, 2, it->name);
        int rc = DB->step(st);
        int64_t x = rc == DB_ROW ? DB->col_int(st, 0) : 0;
        if (x >= UINT32_MAX) x = UINT32_MAX - 1;
        if (x > last) last = (uint32_t)x;
        DB->reset(st);
        if (rc != DB_ROW && rc != DB_DONE) return db_fail(s, c, err, "reading the version counter");
    }
    uint32_t v = last + 1;
    if (!(st = stmt(s, c, Q_COUNTER_PUT))) return db_fail(s, c, err, "writing the version counter");
    DB->bind_text(st, 1, it->ns);
    DB->bind_text(st, 2, it->name);
    DB->bind_int(st, 3, v);
    int rc = DB->step(st);
    DB->reset(st);
    if (rc != DB_DONE) return db_fail(s, c, err, "writing the version counter");

    int64_t created = (int64_t)time(NULL);
    uint8_t aad[1024], nonce[STORE_NONCE_LEN];
    size_t al = secret_aad(aad, it->ns, it->name, v, it->type, it->rule, created);
    uint8_t *ct = malloc(it->len + STORE_TAG_LEN);
    if (!ct || RAND_bytes(nonce, sizeof nonce) != 1 ||
        store_gcm_seal(s->k_secret, nonce, aad, al, it->value, it->len, ct)) {
        free(ct);
        return initra_fail(err, "store: encrypting %s/%s failed (out of memory)", it->ns, it->name);
    }
    if (!(st = stmt(s, c, Q_SECRET_PUT))) {
        free(ct);
        return db_fail(s, c, err, "adding a secret");
    }
    const initra_store_rule *r = it->rule;
    DB->bind_text(st, 1, it->ns);
    DB->bind_text(st, 2, it->name);
    DB->bind_int(st, 3, v);
    DB->bind_text(st, 4, it->type);
    DB->bind_int(st, 5, (int64_t)it->len);
    DB->bind_int(st, 6, created);
    if (r && r->has_config_id) DB->bind_blob(st, 7, r->config_id, 64);
    if (r && r->has_min_config_svn) DB->bind_int(st, 8, r->min_config_svn);
    DB->bind_blob(st, 9, nonce, sizeof nonce);
    DB->bind_blob(st, 10, ct, it->len + STORE_TAG_LEN);
    rc = DB->step(st);
    DB->reset(st);
    free(ct);
    if (rc != DB_DONE) return db_fail(s, c, err, "adding a secret");
    it->version = v;
    return 0;
}

static int do_delete(initra_store *s, job *j, initra_err *err)
{
    db_stmt *st = stmt(s, s->w, j->version ? Q_DEL_ONE : Q_DEL_ALL);
    if (!st) return db_fail(s, s->w, err, "deleting");
    DB->bind_text(st, 1, j->ns);
    DB->bind_text(st, 2, j->name);
    if (j->version) DB->bind_int(st, 3, j->version);
    int rc = DB->step(st);
    DB->reset(st);
    if (rc != DB_DONE) return db_fail(s, s->w, err, "deleting");
    *j->deleted = (size_t)DB->changes(s->w);
    return 0;
}

static int do_policy(initra_store *s, job *j, initra_err *err)
{
    uint8_t aad[300], nonce[STORE_NONCE_LEN];
    size_t al = policy_aad(aad, j->ns);
    uint8_t *ct = malloc(j->len + STORE_TAG_LEN);
    if (!ct || RAND_bytes(nonce, sizeof nonce) != 1 ||
        store_gcm_seal(s->k_policy, nonce, aad, al, (const uint8_t *)j->text, j->len, ct)) {
        free(ct);
        return initra_fail(err, "store: encrypting the policy of %s failed (out of memory)", j->ns);
    }
    db_stmt *st = stmt(s, s->w, Q_POLICY_PUT);
    int rc = DB_ERROR;
    if (st) {
        DB->bind_text(st, 1, j->ns);
        DB->bind_blob(st, 2, nonce, sizeof nonce);
        DB->bind_blob(st, 3, ct, j->len + STORE_TAG_LEN);
        rc = DB->step(st);
        DB->reset(st);
    }
    free(ct);
    return rc == DB_DONE ? 0 : db_fail(s, s->w, err, "setting a policy");
}

static int run_job(initra_store *s, job *j)
{
    initra_err *err = &j->err;
    switch (j->kind) {
    case J_PUT:
        for (size_t i = 0; i < j->n; i++) {
            if (do_put(s, &j->items[i], err)) return -1;
            if (j->recs[i]) {
                json_object_set_new(j->recs[i], "ns", json_string(j->items[i].ns));
                json_object_set_new(j->recs[i], "name", json_string(j->items[i].name));
                json_object_set_new(j->recs[i], "version", json_integer(j->items[i].version));
            }
        }
        break;
    case J_DELETE:
        if (do_delete(s, j, err)) return -1;
        break;
    case J_POLICY:
        if (do_policy(s, j, err)) return -1;
        break;
    case J_RECOVER:
        if (meta_put(s, s->w, j->row, j->blob, STORE_SEALED_SIZE, err)) return -1;
        break;
    }
    for (size_t i = 0; i < j->n_recs; i++)
        if (j->recs[i] && audit_append(s, j->recs[i], err)) return -1;
    return 0;
}

static size_t count_recs(const job *j)
{
    size_t n = 0;
    for (size_t i = 0; i < j->n_recs; i++) n += j->recs[i] != NULL;
    return n;
}

/* One batch: a write transaction (the driver's begin), a savepoint per job, COMMIT. */
static void run_batch(initra_store *s, job *list)
{
    initra_err e;
    int begun = begin(s, &e) == 0;
    s->have_head = 0;
    for (job *j = list; j; j = j->next) {
        if (!begun) {
            j->rc = -1;
            j->err = e;
            continue;
        }
        int had = s->have_head;
        uint64_t seq = s->head_seq;
        uint8_t hash[32];
        memcpy(hash, s->head_hash, 32);
        if (exec(s, s->w, "SAVEPOINT job", &j->err)) {
            j->rc = -1;
            continue;
        }
        j->rc = run_job(s, j);
        if (j->rc) {
            DB->exec(s->w, "ROLLBACK TO job");
            s->have_head = had;
            s->head_seq = seq;
            memcpy(s->head_hash, hash, 32);
        }
        DB->exec(s->w, "RELEASE job");
    }
    if (!begun) return;
    if (DB->exec(s->w, "COMMIT") != 0) {
        db_fail(s, s->w, &e, "committing a batch of writes");
        DB->exec(s->w, "ROLLBACK");
        for (job *j = list; j; j = j->next)
            if (j->rc == 0) {
                j->rc = -1;
                j->err = e;
            }
        return;
    }
    atomic_fetch_add(&s->commits, 1);
    if (s->have_head && s->head_seq > s->seen_seq) s->seen_seq = s->head_seq;
    for (job *j = list; j; j = j->next)
        if (j->rc == 0) atomic_fetch_add(&s->audit_records, count_recs(j));
}

static void *writer(void *arg)
{
    initra_store *s = arg;
    pthread_mutex_lock(&s->qmu);
    for (;;) {
        while (!s->head && !s->stop) pthread_cond_wait(&s->qcond, &s->qmu);
        if (!s->head) break;
        job *list = s->head;
        s->head = s->tail = NULL;
        pthread_mutex_unlock(&s->qmu);
        run_batch(s, list);
        pthread_mutex_lock(&s->qmu);
        for (job *j = list, *next; j; j = next) {
            next = j->next;
            j->done = 1;
        }
        pthread_cond_broadcast(&s->dcond);
    }
    pthread_mutex_unlock(&s->qmu);
    return NULL;
}

/* Queues j and waits until its transaction is durable (or failed). Frees j->recs' objects. */
static int submit(initra_store *s, job *j, initra_err *err)
{
    for (size_t i = 0; i < j->n_recs; i++)
        if (!j->recs[i] && j->kind == J_AUDIT) return initra_fail(err, "store: out of memory");
    pthread_mutex_lock(&s->qmu);
    if (s->tail) s->tail->next = j;
    else s->head = j;
    s->tail = j;
    pthread_cond_signal(&s->qcond);
    while (!j->done) pthread_cond_wait(&s->dcond, &s->qmu);
    pthread_mutex_unlock(&s->qmu);
    for (size_t i = 0; i < j->n_recs; i++) json_decref(j->recs[i]);
    if (j->rc && err) *err = j->err;
    return j->rc ? -1 : 0;
}

/* ---------------- the public writes ---------------- */

int initra_store_put_batch(initra_store *s, initra_store_put_item *items, size_t n, initra_err *err)
{
    if (refuse_locked(s, err)) return -1;
    for (size_t i = 0; i < n; i++) {
        initra_store_put_item *it = &items[i];
        int known = 0;
        if (check_ns_name(it->ns, it->name, err)) return -1;
        for (int t = 0; it->type && TYPES[t]; t++) known |= strcmp(it->type, TYPES[t]) == 0;
        if (!known)
            return initra_fail(err, "store: %s/%s: type \"%s\"; types are bytes, aes256, random, ec-p256, rsa-3072",
                               it->ns, it->name, it->type ? it->type : "(none)");
        if (it->len > INITRA_STORE_MAX_VALUE || (it->len && !it->value))
            return initra_fail(err, "store: %s/%s: a value of %zu bytes (at most %u)", it->ns, it->name, it->len,
                               INITRA_STORE_MAX_VALUE);
    }
    json_t **recs = calloc(n ? n : 1, sizeof *recs);
    if (!recs) return initra_fail(err, "store: out of memory");
    for (size_t i = 0; i < n; i++)
        if (items[i].audit && !(recs[i] = audit_json(items[i].audit))) {
            for (size_t k = 0; k < i; k++) json_decref(recs[k]);
            free(recs);
            return initra_fail(err, "store: out of memory");
        }
    job j = {.kind = J_PUT, .items = items, .n = n, .recs = recs, .n_recs = n};
    int rc = submit(s, &j, err);
    free(recs);
    return rc;
}

int initra_store_put(initra_store *s, const char *ns, const char *name, const char *type, const uint8_t *value,
                     size_t len, const initra_store_rule *rule, const initra_audit_rec *audit, uint32_t *version,
                     initra_err *err)
{
    initra_store_put_item it = {.ns = ns, .name = name, .type = type, .value = value, .len = len, .rule = rule,
                                .audit = audit};
    if (initra_store_put_batch(s, &it, 1, err)) return -1;
    if (version) *version = it.version;
    return 0;
}

int initra_store_delete(initra_store *s, const char *ns, const char *name, uint32_t version,
                        const initra_audit_rec *audit, size_t *n, initra_err *err)
{
    size_t dummy = 0;
    if (refuse_locked(s, err) || check_ns_name(ns, name, err)) return -1;
    json_t *rec = audit ? audit_json(audit) : NULL;
    job j = {.kind = J_DELETE, .ns = ns, .name = name, .version = version, .deleted = n ? n : &dummy,
             .recs = &rec, .n_recs = 1};
    return submit(s, &j, err);
}

int initra_store_policy_set(initra_store *s, const char *ns, const char *json, size_t len,
                            const initra_audit_rec *audit, initra_err *err)
{
    if (refuse_locked(s, err) || check_ns_name(ns, NULL, err)) return -1;
    if (len > INITRA_MAX_CONFIG) return initra_fail(err, "store: the policy of %s is %zu bytes (at most %u)", ns, len,
                                                    INITRA_MAX_CONFIG);
    json_t *rec = audit ? audit_json(audit) : NULL;
    job j = {.kind = J_POLICY, .ns = ns, .text = json, .len = len, .recs = &rec, .n_recs = 1};
    return submit(s, &j, err);
}

int initra_store_audit(initra_store *s, const initra_audit_rec *r, initra_err *err)
{
    if (refuse_locked(s, err)) return -1;
    json_t *rec = audit_json(r);
    job j = {.kind = J_AUDIT, .recs = &rec, .n_recs = 1};
    return submit(s, &j, err);
}

/* ---------------- reads ---------------- */

void initra_store_value_free(initra_store_value *v)
{
    if (!v) return;
    initra_free_secret(v->data, v->len);
    memset(v, 0, sizeof *v);
}

/* A row's rule from columns cid and cid + 1. -1 when they are malformed. */
static int row_rule(initra_store *s, db_stmt *st, int cid, initra_store_rule *r)
{
    memset(r, 0, sizeof *r);
    if (!DB->col_null(st, cid)) {
        if (DB->col_bytes(st, cid) != 64) return -1;
        r->has_config_id = 1;
        memcpy(r->config_id, DB->col_blob(st, cid), 64);
    }
    if (!DB->col_null(st, cid + 1)) {
        int64_t m = DB->col_int(st, cid + 1);
        if (m < 0 || m > UINT16_MAX) return -1;
        r->has_min_config_svn = 1;
        r->min_config_svn = (uint16_t)m;
    }
    return 0;
}

static void why_add(char *why, size_t size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void why_add(char *why, size_t size, const char *fmt, ...)
{
    size_t n = strlen(why);
    if (n + 1 >= size) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why + n, size - n, fmt, ap);
    va_end(ap);
}

/* Decrypts the current row of Q_SECRET_GET into out. */
static int decrypt_row(initra_store *s, db_stmt *st, const char *ns, const char *name, uint32_t v,
                       const initra_store_rule *r, initra_store_value *out, initra_err *err)
{
    const char *type = DB->col_text(st, 1);
    int64_t size = DB->col_int(st, 2);
    int64_t created = DB->col_int(st, 3);
    int ctn = DB->col_bytes(st, 7);
    const uint8_t *nonce = DB->col_blob(st, 6), *ct = DB->col_blob(st, 7);
    if (!type || strlen(type) >= sizeof out->type || DB->col_bytes(st, 6) != STORE_NONCE_LEN ||
        ctn < STORE_TAG_LEN || size != ctn - STORE_TAG_LEN)
        return initra_fail(err, "store %s: secret %s/%s version %u: damaged row (type, nonce or size); this version "
                                "is refused", s->path, ns, name, v);
    uint8_t aad[1024];
    size_t al = secret_aad(aad, ns, name, v, type, r, created);
    size_t n = (size_t)size;
    uint8_t *data = malloc(n ? n : 1);
    if (!data) return initra_fail(err, "store: out of memory");
    if (store_gcm_open(s->k_secret, nonce, aad, al, ct, n, data)) {
        free(data);
        return initra_fail(err, "store %s: secret %s/%s version %u does not decrypt (its value, rule or name was "
                                "changed on the host); this version is refused, no older one is served", s->path, ns,
                           name, v);
    }
    out->version = v;
    snprintf(out->type, sizeof out->type, "%s", type);
    out->data = data;
    out->len = n;
    return 0;
}

int initra_store_fetch(initra_store *s, const char *ns, const char *name, const uint8_t config_id[64],
                       uint16_t config_svn, initra_store_value *out, initra_err *why, initra_err *err)
{
    memset(out, 0, sizeof *out);
    if (refuse_locked(s, err) || check_ns_name(ns, name, err)) return -1;
    uint8_t cid[64] = {0};
    if (config_id) memcpy(cid, config_id, 64);
    char w[sizeof why->msg] = "";
    pthread_mutex_lock(&s->rmu);
    db_stmt *st = stmt(s, s->r, Q_SECRET_GET);
    int rc = -1, rows = 0, step = DB_ERROR;
    if (!st) {
        db_fail(s, s->r, err, "fetching");
        /* a damaged file is lost data; anything else (a lost connection, a lock) may pass */
        if (DB->errkind(s->r) != DB_E_CORRUPT && DB->errkind(s->r) != DB_E_NOTADB) rc = INITRA_STORE_UNAVAILABLE;
        goto done;
    }
    DB->bind_text(st, 1, ns);
    DB->bind_text(st, 2, name);
    while ((step = DB->step(st)) == DB_ROW) {
        rows++;
        int64_t v64 = DB->col_int(st, 0);
        uint32_t v = v64 > 0 && v64 <= UINT32_MAX ? (uint32_t)v64 : 0;
        initra_store_rule r;
        if (!v || row_rule(s, st, 4, &r)) {
            initra_fail(err, "store %s: secret %s/%s version %lld: damaged row (version or rule); this version is "
                             "refused", s->path, ns, name, (long long)v64);
            goto done;
        }
        char h[129];
        if (r.has_config_id && memcmp(r.config_id, cid, 64) != 0) {
            why_add(w, sizeof w, "%sversion %u needs config_id %.16s...", rows > 1 ? "; " : "", v,
                    initra_hex(r.config_id, 64, h));
            continue;
        }
        if (r.has_min_config_svn && config_svn < r.min_config_svn) {
            why_add(w, sizeof w, "%sversion %u needs config_svn >= %u (this enclave has %u)", rows > 1 ? "; " : "", v,
                    r.min_config_svn, config_svn);
            continue;
        }
        rc = decrypt_row(s, st, ns, name, v, &r, out, err) ? -1 : INITRA_STORE_FOUND;
        goto done;
    }
    if (step != DB_DONE) {
        db_fail(s, s->r, err, "fetching");
        /* a damaged file is lost data; anything else (a lost connection, a lock) may pass */
        if (DB->errkind(s->r) != DB_E_CORRUPT && DB->errkind(s->r) != DB_E_NOTADB) rc = INITRA_STORE_UNAVAILABLE;
        goto done;
    }
    if (!rows) {
        rc = INITRA_STORE_NO_SUCH;
        if (why) initra_fail(why, "%s/%s: no such secret", ns, name);
    } else {
        rc = INITRA_STORE_NO_VERSION;
        if (why) initra_fail(why, "%s/%s: no version for this enclave: %s", ns, name, w);
    }
done:
    if (st) DB->reset(st);
    pthread_mutex_unlock(&s->rmu);
    return rc;
}

int initra_store_list(initra_store *s, const char *ns, int (*fn)(void *ctx, const initra_store_entry *e), void *ctx,
                      initra_err *err)
{
    if (refuse_locked(s, err) || (ns && check_ns_name(ns, NULL, err))) return -1;
    pthread_mutex_lock(&s->rmu);
    db_stmt *st = stmt(s, s->r, ns ? Q_LIST_NS : Q_LIST_ALL);
    int rc = 0, step = DB_ERROR;
    if (st && ns) DB->bind_text(st, 1, ns);
    while (st && (step = DB->step(st)) == DB_ROW) {
        initra_store_rule r;
        initra_store_entry e = {.ns = DB->col_text(st, 0),
                                .name = DB->col_text(st, 1),
                                .version = (uint32_t)DB->col_int(st, 2),
                                .type = DB->col_text(st, 3),
                                .size = (size_t)DB->col_int(st, 4),
                                .created = (time_t)DB->col_int(st, 5),
                                .rule = &r};
        if (!e.ns || !e.name || !e.type || row_rule(s, st, 6, &r)) {
            rc = initra_fail(err, "store %s: secret %s/%s version %u: damaged row", s->path, e.ns ? e.ns : "?",
                             e.name ? e.name : "?", e.version);
            break;
        }
        if (fn(ctx, &e)) {
            step = DB_DONE;
            break;
        }
    }
    if (!rc && step != DB_DONE) rc = db_fail(s, s->r, err, "listing");
    if (st) DB->reset(st);
    pthread_mutex_unlock(&s->rmu);
    return rc;
}

int initra_store_policy_get(initra_store *s, const char *ns, char **json, size_t *len, initra_err *err)
{
    *json = NULL;
    *len = 0;
    if (refuse_locked(s, err) || check_ns_name(ns, NULL, err)) return -1;
    pthread_mutex_lock(&s->rmu);
    db_stmt *st = stmt(s, s->r, Q_POLICY_GET);
    int rc = -1, step = st ? DB_ROW : DB_ERROR;
    if (st) DB->bind_text(st, 1, ns);
    if (st && (step = DB->step(st)) == DB_ROW) {
        int ctn = DB->col_bytes(st, 1);
        const uint8_t *nonce = DB->col_blob(st, 0), *ct = DB->col_blob(st, 1);
        uint8_t aad[300];
        size_t al = policy_aad(aad, ns);
        char *p = ctn >= STORE_TAG_LEN ? malloc((size_t)ctn - STORE_TAG_LEN + 1) : NULL;
        if (!p || DB->col_bytes(st, 0) != STORE_NONCE_LEN ||
            store_gcm_open(s->k_policy, nonce, aad, al, ct, (size_t)ctn - STORE_TAG_LEN, (uint8_t *)p)) {
            free(p);
            initra_fail(err, "store %s: the policy of namespace %s does not decrypt (changed on the host); it is "
                             "refused", s->path, ns);
        } else {
            p[ctn - STORE_TAG_LEN] = 0;
            *json = p;
            *len = (size_t)ctn - STORE_TAG_LEN;
            rc = 0;
        }
    } else if (step == DB_DONE) {
        rc = 1;
    } else {
        db_fail(s, s->r, err, "reading a policy");
    }
    if (st) DB->reset(st);
    pthread_mutex_unlock(&s->rmu);
    return rc;
}

int initra_store_audit_verify(initra_store *s, uint64_t *n, initra_err *err)
{
    *n = 0;
    if (refuse_locked(s, err)) return -1;
    pthread_mutex_lock(&s->rmu);
    db_stmt *st = stmt(s, s->r, Q_AUDIT_ALL);
    uint8_t prev[32] = {0}, mac[32];
    uint64_t want = 1;
    int rc = 0, step = DB_ERROR;
    while (st && (step = DB->step(st)) == DB_ROW) {
        uint64_t seq = (uint64_t)DB->col_int(st, 0);
        int64_t t = DB->col_int(st, 1);
        const char *text = DB->col_text(st, 2);
        size_t tl = (size_t)DB->col_bytes(st, 2);
        if (seq != want) {
            rc = initra_fail(err, "audit record %" PRIu64 " is missing (the chain goes from %" PRIu64 " to %" PRIu64
                                  "): records were removed",
                             want, want - 1, seq);
            break;
        }
        if (DB->col_bytes(st, 3) != 32 || memcmp(DB->col_blob(st, 3), prev, 32) != 0) {
            rc = initra_fail(err, "audit record %" PRIu64 ": its previous-record hash is not that of record %" PRIu64
                                  " (a record was removed, reordered or replaced)",
                             seq, seq - 1);
            break;
        }
        if (!text || DB->col_bytes(st, 4) != 32 || audit_mac(s->k_audit, seq, t, text, tl, prev, mac) ||
            CRYPTO_memcmp(mac, DB->col_blob(st, 4), 32) != 0 || chain_hash(seq, t, text, tl, prev, mac, prev)) {
            rc = initra_fail(err, "audit record %" PRIu64 ": its HMAC does not match (the record was edited, moved "
                                  "or forged)",
                             seq);
            break;
        }
        want++;
    }
    if (!rc && step != DB_DONE) rc = db_fail(s, s->r, err, "reading the audit log");
    if (st) DB->reset(st);
    pthread_mutex_unlock(&s->rmu);
    if (!rc) *n = want - 1;
    return rc;
}

int initra_store_audit_read(initra_store *s, time_t since, size_t max, char **jsonl, initra_err *err)
{
    uint64_t last;
    int more;
    return initra_store_audit_page(s, since, 0, max, 0, jsonl, &last, &more, err);
}

int initra_store_audit_page(initra_store *s, time_t since, uint64_t after_seq, size_t max, size_t max_bytes,
                            char **jsonl, uint64_t *last_seq, int *more, initra_err *err)
{
    *jsonl = NULL;
    *last_seq = after_seq;
    *more = 0;
    if (refuse_locked(s, err)) return -1;
    size_t cap = 4096, len = 0;
    char *buf = malloc(cap);
    if (!buf) return initra_fail(err, "store: out of memory");
    pthread_mutex_lock(&s->rmu);
    db_stmt *st = stmt(s, s->r, Q_AUDIT_SINCE);
    int rc = 0, step = DB_ERROR;
    if (st) {
        DB->bind_int(st, 1, (int64_t)since);
        DB->bind_int(st, 2, max ? (int64_t)max : INT64_MAX);
        DB->bind_int(st, 3, (int64_t)after_seq);
    }
    while (st && (step = DB->step(st)) == DB_ROW) {
        size_t tl = (size_t)DB->col_bytes(st, 0);
        if (max_bytes && len > 0 && len + tl + 1 > max_bytes) {
            *more = 1;
            step = DB_DONE;
            break;
        }
        if (len + tl + 2 > cap) {
            while (len + tl + 2 > cap) cap *= 2;
            char *nb = realloc(buf, cap);
            if (!nb) {
                rc = initra_fail(err, "store: out of memory");
                break;
            }
            buf = nb;
        }
        memcpy(buf + len, DB->col_text(st, 0), tl);
        len += tl;
        buf[len++] = '\n';
        *last_seq = (uint64_t)DB->col_int(st, 1);
    }
    if (!rc && step != DB_DONE) rc = db_fail(s, s->r, err, "reading the audit log");
    if (st) DB->reset(st);
    pthread_mutex_unlock(&s->rmu);
    if (rc) {
        free(buf);
        return -1;
    }
    buf[len] = 0;
    *jsonl = buf;
    return 0;
}

/* ---------------- recovery ---------------- */

int initra_store_recovery_blob(initra_store *s, uint8_t **blob, size_t *len, initra_err *err)
{
    pthread_mutex_lock(&s->rmu);
    int rc = meta_get(s, s->r, "recovery", blob, len, err);
    pthread_mutex_unlock(&s->rmu);
    if (rc == 1) return initra_fail(err, "store %s has no recovery copy (the KMS configuration names no recovery key)",
                                    s->path);
    return rc;
}

static int set_dek(initra_store *s, const uint8_t dek[32], const initra_audit_rec *audit, const char *row,
                   const char *what, initra_err *err);

int initra_store_recover(initra_store *s, const uint8_t dek[32], const initra_audit_rec *audit, initra_err *err)
{
    return set_dek(s, dek, audit, "sealed_dek", "recovery", err);
}

int initra_store_install_dek(initra_store *s, const uint8_t dek[32], const initra_audit_rec *audit, initra_err *err)
{
    uint8_t id[8];
    char row[64], h[17];
    if (RAND_bytes(id, sizeof id) != 1) return initra_fail(err, "store %s: no randomness", s->path);
    snprintf(row, sizeof row, COPY_PREFIX "%s", initra_hex(id, sizeof id, h));
    return set_dek(s, dek, audit, row, "a replica's data key", err);
}

int initra_store_data_key(initra_store *s, uint8_t dek[32], initra_err *err)
{
    if (refuse_locked(s, err)) return -1;
    memcpy(dek, s->dek, STORE_KEY_LEN);
    return 0;
}

typedef struct {
    char **a;
    size_t n;
} addr_list;
static int add_addr(void *ctx, const char *k, const uint8_t *v, size_t n)
{
    addr_list *l = ctx;
    char **na = realloc(l->a, (l->n + 1) * sizeof *na);
    if (!na) return 1;
    l->a = na;
    char *d = strdup(k + strlen(REPLICA_PREFIX));
    if (!d) return 1;
    l->a[l->n++] = d;
    return 0;
}

int initra_store_replicas(initra_store *s, char ***addrs, size_t *n, initra_err *err)
{
    addr_list l = {0};
    pthread_mutex_lock(&s->rmu);
    int rc = meta_each(s, s->r, REPLICA_PREFIX, add_addr, &l, err);
    pthread_mutex_unlock(&s->rmu);
    *addrs = l.a;
    *n = l.n;
    return rc;
}

static int set_dek(initra_store *s, const uint8_t dek[32], const initra_audit_rec *audit, const char *row,
                   const char *what, initra_err *err)
{
    uint8_t *kcv = NULL, sealed[STORE_SEALED_SIZE];
    size_t kn = 0;
    pthread_mutex_lock(&s->rmu);
    int rc = meta_get(s, s->r, "key_check", &kcv, &kn, err);
    pthread_mutex_unlock(&s->rmu);
    if (rc == 1) initra_fail(err, "store %s: damaged database (no key check value)", s->path);
    if (rc) return -1;
    rc = kcv_check(dek, kcv, kn);
    free(kcv);
    if (rc)
        return initra_fail(err, "store %s: %s: this data key does not match the store's key check (%s)", s->path, what,
                           row[10] ? "a replica of another store?" : "a recovery blob of another store?");
    /* the key check passed: dek is the store's DEK (when unlocked, the very key s holds already) */
    int was_locked = atomic_load(&s->locked);
    memcpy(s->dek, dek, STORE_KEY_LEN);
    if (derive_keys(s)) {
        rc = initra_fail(err, "store %s: %s: key derivation failed", s->path, what);
    } else if (seal_new(s, sealed, err)) {
        rc = -1;
    } else {
        json_t *rec = audit ? audit_json(audit) : NULL;
        job j = {.kind = J_RECOVER, .blob = sealed, .row = row, .recs = &rec, .n_recs = 1};
        rc = submit(s, &j, err);
    }
    if (rc && was_locked) {
        forget_keys(s);
    } else if (!rc) {
        atomic_store(&s->locked, 0);
    }
    return rc;
}
