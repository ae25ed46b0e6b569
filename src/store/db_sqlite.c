/* store: the SQLite driver of the SQL layer (internal.h): one database file, WAL, synchronous=FULL, opened
 * through the counting VFS (vfs.c), created 0600. */
#include "store/internal.h"

#include <errno.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

struct db_stmt {
    sqlite3_stmt *st;
};
struct db_conn {
    sqlite3 *db;
    db_stmt st[DB_MAX_STMT];
};

static void lite_close(db_conn *c)
{
    if (!c) return;
    for (int i = 0; i < DB_MAX_STMT; i++) sqlite3_finalize(c->st[i].st);
    sqlite3_close_v2(c->db);
    free(c);
}

static int lite_exec(db_conn *c, const char *sql)
{
    return sqlite3_exec(c->db, sql, NULL, NULL, NULL) == SQLITE_OK ? 0 : -1;
}

static int lite_open(const char *path, db_conn **out, initra_err *err)
{
    *out = NULL;
    /* a new database is created 0600 (SQLite gives its -wal and -shm files the same mode) */
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0)
        return initra_fail(err, "store %s: cannot open: %s; check the path and its directory's permissions", path,
                           strerror(errno));
    close(fd);
    db_conn *c = calloc(1, sizeof *c);
    if (!c) return initra_fail(err, "store %s: out of memory", path);
    if (sqlite3_open_v2(path, &c->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, store_vfs_name()) != SQLITE_OK) {
        initra_fail(err, "store %s: cannot open: %s; check the path and its directory's permissions", path,
                    c->db ? sqlite3_errmsg(c->db) : "out of memory");
        lite_close(c);
        return -1;
    }
    sqlite3_busy_timeout(c->db, 30000);
    /* Switching a new file to WAL needs its exclusive lock, and SQLite does not call the busy handler for
     * that: while another process creates the same store, retry (up to the busy timeout). */
    int ok = 0;
    for (int tries = 0; tries < 3000; tries++) {
        sqlite3_stmt *st = NULL;
        int rc = sqlite3_prepare_v2(c->db, "PRAGMA journal_mode=WAL", -1, &st, NULL);
        if (rc == SQLITE_OK) rc = sqlite3_step(st);
        ok = rc == SQLITE_ROW && strcmp((const char *)sqlite3_column_text(st, 0), "wal") == 0;
        sqlite3_finalize(st);
        if (ok || ((rc & 0xff) != SQLITE_BUSY && (rc & 0xff) != SQLITE_LOCKED)) break;
        struct timespec pause = {0, 10 * 1000 * 1000};
        nanosleep(&pause, NULL);
    }
    if (!ok || lite_exec(c, "PRAGMA synchronous=FULL")) {
        int rc = sqlite3_extended_errcode(c->db) & 0xff;
        if (rc == SQLITE_NOTADB)
            initra_fail(err, "store %s: not an initra store (setting WAL mode: not an SQLite database)", path);
        else if (rc == SQLITE_CORRUPT)
            initra_fail(err, "store %s: damaged database (setting WAL mode: %s); restore it from a backup", path,
                        sqlite3_errmsg(c->db));
        else
            initra_fail(err, "store %s: setting WAL mode: %s", path, sqlite3_errmsg(c->db));
        lite_close(c);
        return -1;
    }
    *out = c;
    return 0;
}

static db_stmt *lite_prep(db_conn *c, int id, const char *sql)
{
    db_stmt *s = &c->st[id];
    if (!s->st && sqlite3_prepare_v3(c->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &s->st, NULL) != SQLITE_OK)
        return NULL;
    sqlite3_reset(s->st);
    sqlite3_clear_bindings(s->st);
    return s;
}

static void lite_bind_text(db_stmt *s, int i, const char *v) { sqlite3_bind_text(s->st, i, v, -1, SQLITE_STATIC); }
static void lite_bind_blob(db_stmt *s, int i, const void *v, size_t n)
{
    sqlite3_bind_blob64(s->st, i, v, n, SQLITE_STATIC);
}
static void lite_bind_int(db_stmt *s, int i, int64_t v) { sqlite3_bind_int64(s->st, i, v); }
static int lite_step(db_stmt *s)
{
    int rc = sqlite3_step(s->st);
    return rc == SQLITE_ROW ? DB_ROW : rc == SQLITE_DONE ? DB_DONE : DB_ERROR;
}
static int lite_col_null(db_stmt *s, int i) { return sqlite3_column_type(s->st, i) == SQLITE_NULL; }
static int64_t lite_col_int(db_stmt *s, int i) { return sqlite3_column_int64(s->st, i); }
static const void *lite_col_blob(db_stmt *s, int i) { return sqlite3_column_blob(s->st, i); }
static const char *lite_col_text(db_stmt *s, int i) { return (const char *)sqlite3_column_text(s->st, i); }
static size_t lite_col_bytes(db_stmt *s, int i) { return (size_t)sqlite3_column_bytes(s->st, i); }
static void lite_reset(db_stmt *s) { sqlite3_reset(s->st); }
static int64_t lite_changes(db_conn *c) { return sqlite3_changes64(c->db); }
/* BEGIN IMMEDIATE: the write lock at once, so two processes never both read a chain head or counter */
static int lite_begin(db_conn *c) { return lite_exec(c, "BEGIN IMMEDIATE"); }

static int lite_tables(db_conn *c, int *n, int *has_meta)
{
    *n = *has_meta = 0;
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(c->db, "SELECT name FROM sqlite_master WHERE type = 'table'", -1, &st, NULL);
    while (st && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        (*n)++;
        *has_meta |= strcmp((const char *)sqlite3_column_text(st, 0), "meta") == 0;
    }
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? 0 : -1;
}

static int lite_errkind(db_conn *c)
{
    switch (sqlite3_extended_errcode(c->db) & 0xff) {
    case SQLITE_NOTADB: return DB_E_NOTADB;
    case SQLITE_CORRUPT: return DB_E_CORRUPT;
    case SQLITE_FULL:
    case SQLITE_IOERR: return DB_E_DISK;
    default: return DB_E_OTHER;
    }
}
static const char *lite_errmsg(db_conn *c) { return sqlite3_errmsg(c->db); }

const db_ops store_db_sqlite = {
    .name = "sqlite", .open = lite_open, .close = lite_close, .prep = lite_prep, .bind_text = lite_bind_text,
    .bind_blob = lite_bind_blob, .bind_int = lite_bind_int, .step = lite_step, .col_null = lite_col_null,
    .col_int = lite_col_int, .col_blob = lite_col_blob, .col_text = lite_col_text, .col_bytes = lite_col_bytes,
    .reset = lite_reset, .changes = lite_changes, .exec = lite_exec, .begin = lite_begin, .tables = lite_tables,
    .errkind = lite_errkind, .errmsg = lite_errmsg, .syncs = store_vfs_syncs,
};
