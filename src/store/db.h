/* store: the SQL layer under store.c, one interface over two drivers (docs/kms.md, "The store"):
 * SQLite (db_sqlite.c: a file, WAL, synchronous=FULL) and PostgreSQL (db_pg.c: libpq, loaded on first
 * use). store.c writes its SQL once, in SQLite's dialect with ?N parameters; the PostgreSQL driver
 * turns ?N into $N, BLOB into BYTEA and INTEGER into BIGINT. Internal to store. */
#ifndef INITRA_STORE_DB_H
#define INITRA_STORE_DB_H

#include <stddef.h>
#include <stdint.h>

#include "initra/util.h"

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
