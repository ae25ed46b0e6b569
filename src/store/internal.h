/* Internal to store (its files, unit tests and fuzz targets): the blob codecs and the crypto helpers.
 * Not a public API. */
#ifndef INITRA_STORE_INTERNAL_H
#define INITRA_STORE_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "initra/store.h"

#define STORE_KEY_LEN 32
#define STORE_NONCE_LEN 12
#define STORE_TAG_LEN 16

/* ---- the sealed DEK (meta "sealed_dek"), all integers little-endian, 156 bytes ----
 *   0 magic "ISDK" | 4 format version u16 = 1 | 6 reserved u16 = 0 |
 *   8 the seal request: key_policy u16 | isv_svn u16 | config_svn u16 | cpu_svn[16] | key_id[32] |
 *  62 mr_signer[32] | 94 isv_prod_id u16   (the sealing KMS's, in the clear, for error messages only) |
 *  96 nonce[12] | 108 AES-256-GCM(HKDF-SHA256(seal key), DEK)[32] | 140 tag[16]
 * The associated data is bytes 0..96, so no header field can be changed without the tag failing. */
#define STORE_SEALED_SIZE 156
#define STORE_SEALED_AAD 96
typedef struct {
    initra_seal_request req;
    uint8_t mr_signer[32];
    uint16_t isv_prod_id;
    uint8_t nonce[STORE_NONCE_LEN];
    uint8_t ct[STORE_KEY_LEN];
    uint8_t tag[STORE_TAG_LEN];
    uint8_t aad[STORE_SEALED_AAD];
} store_sealed;
/* Untrusted bytes: exact size, magic, version, reserved zero, a known key policy. 0 or -1. */
int store_sealed_parse(const uint8_t *b, size_t n, store_sealed *out, initra_err *err);
/* Seals dek under seal_key (16 bytes from EGETKEY for s->req): fills nonce, ct, tag and encodes. */
int store_sealed_seal(store_sealed *s, const uint8_t seal_key[16], const uint8_t dek[STORE_KEY_LEN],
                      uint8_t out[STORE_SEALED_SIZE], initra_err *err);
/* Opens a parsed blob with seal_key. -1 when the tag fails (another platform or key). */
int store_sealed_open(const store_sealed *s, const uint8_t seal_key[16], uint8_t dek[STORE_KEY_LEN],
                      initra_err *err);

/* ---- the recovery copy (meta "recovery"), little-endian ----
 *   0 magic "ISRC" | 4 format version u16 = 1 | 6 type u16 (1 RSA-3072 OAEP SHA-256, 2 X25519) |
 *   8 SHA-256 of the recovery key's SubjectPublicKeyInfo [32] |
 *  40 type 1: RSA-OAEP ciphertext [384]
 *     type 2: ephemeral X25519 public key [32] | nonce [12] | AES-256-GCM(DEK) [32] | tag [16]
 *     (key: HKDF-SHA256, salt ephemeral || recipient public key, info "initra store v1 recovery";
 *      associated data: bytes 0..40) */
#define STORE_RECOVERY_RSA 1
#define STORE_RECOVERY_X25519 2
#define STORE_RECOVERY_HEAD 40
#define STORE_RECOVERY_RSA_SIZE (STORE_RECOVERY_HEAD + 384)
#define STORE_RECOVERY_X25519_SIZE (STORE_RECOVERY_HEAD + 32 + 12 + 32 + 16)
typedef struct {
    uint16_t type;
    uint8_t spki_sha256[32];
    const uint8_t *body; /* borrows the parsed buffer */
    size_t body_len;
    const uint8_t *head; /* the first STORE_RECOVERY_HEAD bytes */
} store_recovery;
int store_recovery_parse(const uint8_t *b, size_t n, store_recovery *out, initra_err *err);
/* Encrypts dek to a PEM public key (RSA-3072 or X25519): fresh blob. */
int store_recovery_seal(const uint8_t *pub_pem, size_t pub_len, const uint8_t dek[STORE_KEY_LEN], uint8_t **out,
                        size_t *out_len, initra_err *err);
/* SHA-256 of a PEM public key's SubjectPublicKeyInfo. */
int store_pub_spki_sha256(const uint8_t *pub_pem, size_t pub_len, uint8_t out[32], initra_err *err);

/* ---- crypto ---- */
/* AES-256-GCM with a 12-byte nonce and 16-byte tag. seal: out gets n bytes + the tag; open: in is n
 * bytes of ciphertext followed by the tag, out gets n bytes. 0 or -1 (the tag did not verify). */
int store_gcm_seal(const uint8_t key[STORE_KEY_LEN], const uint8_t nonce[STORE_NONCE_LEN], const uint8_t *aad,
                   size_t aad_len, const uint8_t *in, size_t n, uint8_t *out);
int store_gcm_open(const uint8_t key[STORE_KEY_LEN], const uint8_t nonce[STORE_NONCE_LEN], const uint8_t *aad,
                   size_t aad_len, const uint8_t *in, size_t n, uint8_t *out);

/* ---- the counting VFS (vfs.c) ---- */
/* The VFS name to open databases with, or NULL when it could not be registered (then the default). */
const char *store_vfs_name(void);
/* xSync calls in this process so far. */
uint64_t store_vfs_syncs(void);

/* ---- the SQL layer under store.c (db_sqlite.c, db_pg.c; docs/kms.md "The store") ----
 * One interface over two drivers: SQLite (a file, WAL, synchronous=FULL) and PostgreSQL (libpq, loaded
 * on first use). store.c writes its SQL once, in SQLite's dialect with ?N parameters; the PostgreSQL
 * driver turns ?N into $N, BLOB into BYTEA and INTEGER into BIGINT. */
typedef struct db_conn db_conn;
typedef struct db_stmt db_stmt;

enum { DB_ROW = 1, DB_DONE = 0, DB_ERROR = -1 };
/* What went wrong, for the one-line errors store.c writes. */
enum { DB_E_OTHER, DB_E_NOTADB, DB_E_CORRUPT, DB_E_DISK, DB_E_CONN };

typedef struct {
    const char *name;                                       /* "sqlite", "postgres" */
    int (*open)(const char *target, db_conn **out, initra_err *err);
    void (*close)(db_conn *c);
    /* the statement for id (at most DB_MAX_STMT), prepared once per connection, reset and unbound */
    db_stmt *(*prep)(db_conn *c, int id, const char *sql);
    void (*bind_text)(db_stmt *st, int i, const char *v);   /* i from 1; v borrowed until the next step */
    void (*bind_blob)(db_stmt *st, int i, const void *v, size_t n);
    void (*bind_int)(db_stmt *st, int i, int64_t v);
    int (*step)(db_stmt *st);                               /* DB_ROW, DB_DONE, DB_ERROR */
    int (*col_null)(db_stmt *st, int i);                    /* columns from 0 */
    int64_t (*col_int)(db_stmt *st, int i);
    const void *(*col_blob)(db_stmt *st, int i);
    const char *(*col_text)(db_stmt *st, int i);
    size_t (*col_bytes)(db_stmt *st, int i);
    void (*reset)(db_stmt *st);
    int64_t (*changes)(db_conn *c);                         /* rows the last statement changed */
    int (*exec)(db_conn *c, const char *sql);               /* 0 or -1 */
    int (*begin)(db_conn *c);                               /* a write transaction: one writer at a time */
    int (*tables)(db_conn *c, int *n, int *has_meta);      /* the store's tables: how many, meta among them */
    int (*errkind)(db_conn *c);
    const char *(*errmsg)(db_conn *c);                      /* one line */
    uint64_t (*syncs)(void);                                /* fsyncs this process made; NULL: the server's */
} db_ops;
#define DB_MAX_STMT 32

extern const db_ops store_db_sqlite, store_db_pg;

/* A printable name of a libpq CONNINFO without its password, for errors: "postgres://USER@HOST:PORT/DB". */
void store_pg_label(const char *conninfo, char *out, size_t n);


#endif
