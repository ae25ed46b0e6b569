/* store: the PostgreSQL driver of the SQL layer (internal.h), over libpq.
 *
 * libpq is loaded on first use by the absolute path the build found (INITRA_LIBPQ_PATH), like libcurl
 * (src/dcap/pccs.c): linking it would make every initra process, /bin/init included, resolve its
 * Kerberos, LDAP and TLS dependencies at start.
 *
 * Statements are prepared per connection (PQprepare) and run with their parameters sent apart from the
 * SQL: text and integers as text, blobs in binary; results come back in binary. A write transaction
 * takes a transaction-scoped advisory lock first, so writers of every process and machine on one
 * database take turns, as SQLite's BEGIN IMMEDIATE makes them on one file: a version counter or the
 * audit chain head is read and advanced by one writer at a time. A lost connection fails what is in
 * flight; the next statement reconnects (PQreset) and prepares again. */
#include "store/internal.h"

#include <dlfcn.h>
#include <libpq-fe.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef INITRA_LIBPQ_PATH
#error "INITRA_LIBPQ_PATH (libpq.so.5 by absolute path) is set by the Makefile from pkg-config's libdir"
#endif

/* the advisory lock every store writer takes: "initra" as a number */
#define WRITER_LOCK "SELECT pg_advisory_xact_lock(115956617704033)"
#define MAX_PARAMS 12

static struct {
    PGconn *(*connectdb)(const char *);
    ConnStatusType (*status)(const PGconn *);
    char *(*error_message)(const PGconn *);
    void (*finish)(PGconn *);
    void (*reset)(PGconn *);
    PGresult *(*exec)(PGconn *, const char *);
    PGresult *(*prepare)(PGconn *, const char *, const char *, int, const Oid *);
    PGresult *(*exec_prepared)(PGconn *, const char *, int, const char *const *, const int *, const int *, int);
    ExecStatusType (*result_status)(const PGresult *);
    char *(*result_error_field)(const PGresult *, int);
    char *(*result_error_message)(const PGresult *);
    void (*clear)(PGresult *);
    int (*ntuples)(const PGresult *);
    char *(*getvalue)(const PGresult *, int, int);
    int (*getlength)(const PGresult *, int, int);
    int (*getisnull)(const PGresult *, int, int);
    char *(*cmd_tuples)(PGresult *);
    PQconninfoOption *(*conninfo_parse)(const char *, char **);
    void (*conninfo_free)(PQconninfoOption *);
    void (*freemem)(void *);
    PQnoticeProcessor (*set_notice_processor)(PGconn *, PQnoticeProcessor, void *);
    PGTransactionStatusType (*transaction_status)(const PGconn *);
} pq;
static pthread_once_t pq_once = PTHREAD_ONCE_INIT;
static int pq_loaded;

static void pq_load(void)
{
    void *h = dlopen(INITRA_LIBPQ_PATH, RTLD_NOW | RTLD_LOCAL);
    if (!h) return;
#define SYM(field, name) (*(void **)&pq.field = dlsym(h, name))
    pq_loaded = SYM(connectdb, "PQconnectdb") && SYM(status, "PQstatus") &&
                SYM(error_message, "PQerrorMessage") && SYM(finish, "PQfinish") && SYM(reset, "PQreset") &&
                SYM(exec, "PQexec") && SYM(prepare, "PQprepare") && SYM(exec_prepared, "PQexecPrepared") &&
                SYM(result_status, "PQresultStatus") && SYM(result_error_field, "PQresultErrorField") &&
                SYM(result_error_message, "PQresultErrorMessage") && SYM(clear, "PQclear") &&
                SYM(ntuples, "PQntuples") && SYM(getvalue, "PQgetvalue") && SYM(getlength, "PQgetlength") &&
                SYM(getisnull, "PQgetisnull") && SYM(cmd_tuples, "PQcmdTuples") &&
                SYM(conninfo_parse, "PQconninfoParse") && SYM(conninfo_free, "PQconninfoFree") &&
                SYM(freemem, "PQfreemem") && SYM(set_notice_processor, "PQsetNoticeProcessor") &&
                SYM(transaction_status, "PQtransactionStatus");
#undef SYM
}

static int pq_ready(initra_err *err)
{
    pthread_once(&pq_once, pq_load);
    if (!pq_loaded)
        return initra_fail(err, "store: cannot load %s (%s); install Debian's libpq5", INITRA_LIBPQ_PATH,
                           dlerror() ? "not found" : "incomplete");
    return 0;
}

struct db_stmt {
    db_conn *c;
    int id, prepared, nparams, row;
    char *sql;                         /* translated to PostgreSQL's dialect */
    const char *val[MAX_PARAMS];
    int len[MAX_PARAMS], fmt[MAX_PARAMS];
    char num[MAX_PARAMS][24];          /* integers as text */
    PGresult *res;
};
struct db_conn {
    PGconn *pg;
    db_stmt st[DB_MAX_STMT];
    int64_t changes;
    int kind;                          /* DB_E_* of the last error */
    char msg[512];
};

/* ?N -> $N, BLOB -> BYTEA, INTEGER -> BIGINT (store.c's SQL holds no string literal with these). */
static char *translate(const char *sql)
{
    size_t n = strlen(sql);
    char *out = malloc(n * 2 + 1), *o = out;
    if (!out) return NULL;
    for (const char *p = sql; *p;) {
        if (*p == '?') {
            *o++ = '$';
            p++;
        } else if (strncmp(p, "BLOB", 4) == 0) {
            memcpy(o, "BYTEA", 5), o += 5, p += 4;
        } else if (strncmp(p, "INTEGER", 7) == 0) {
            memcpy(o, "BIGINT", 6), o += 6, p += 7;
        } else {
            *o++ = *p++;
        }
    }
    *o = 0;
    return out;
}

/* libpq's messages span lines ("FATAL: ...\nDETAIL: ..."): one line, without the trailing newline. */
static void set_msg(db_conn *c, const char *m)
{
    snprintf(c->msg, sizeof c->msg, "%s", m && *m ? m : "unknown error");
    size_t n = strlen(c->msg);
    while (n && (c->msg[n - 1] == '\n' || c->msg[n - 1] == ' ')) c->msg[--n] = 0;
    char *o = c->msg;
    for (const char *p = c->msg; *p; p++) { /* whitespace runs as one space */
        int sp = *p == '\n' || *p == '\t' || *p == ' ';
        if (!sp || (o > c->msg && o[-1] != ' ')) *o++ = sp ? ' ' : *p;
    }
    *o = 0;
}

/* Records a failed result (or a NULL one) as the connection's error. */
static void fail_res(db_conn *c, PGresult *r)
{
    const char *state = r ? pq.result_error_field(r, PG_DIAG_SQLSTATE) : NULL;
    if (pq.status(c->pg) == CONNECTION_BAD || (state && strncmp(state, "08", 2) == 0) ||
        (state && strcmp(state, "57P01") == 0)) {
        c->kind = DB_E_CONN;
        char m[400];
        snprintf(m, sizeof m, "%s", r && *pq.result_error_message(r) ? pq.result_error_message(r)
                                                                      : pq.error_message(c->pg));
        set_msg(c, m);
        snprintf(m, sizeof m, "%s", c->msg);
        snprintf(c->msg, sizeof c->msg, "the connection to PostgreSQL was lost (%s); the next operation reconnects", m);
        return;
    }
    c->kind = state && strcmp(state, "53100") == 0 ? DB_E_DISK : DB_E_OTHER;
    set_msg(c, r ? pq.result_error_message(r) : pq.error_message(c->pg));
}

static void quiet(void *arg, const char *m) { (void)arg, (void)m; } /* NOTICEs ("relation exists") */

/* A lost connection is reset before the next statement; its prepared statements are gone with it. */
static int ensure(db_conn *c)
{
    if (pq.status(c->pg) == CONNECTION_OK) return 0;
    pq.reset(c->pg);
    for (int i = 0; i < DB_MAX_STMT; i++) c->st[i].prepared = 0;
    if (pq.status(c->pg) == CONNECTION_OK) return 0;
    c->kind = DB_E_CONN;
    char m[400];
    set_msg(c, pq.error_message(c->pg));
    snprintf(m, sizeof m, "%s", c->msg);
    snprintf(c->msg, sizeof c->msg, "cannot reconnect to PostgreSQL (%s); the next operation tries again", m);
    return -1;
}

static void pg_close(db_conn *c)
{
    if (!c) return;
    for (int i = 0; i < DB_MAX_STMT; i++) {
        if (c->st[i].res) pq.clear(c->st[i].res);
        free(c->st[i].sql);
    }
    if (c->pg) pq.finish(c->pg);
    free(c);
}

void store_pg_label(const char *conninfo, char *out, size_t n)
{
    const char *user = "", *host = "", *port = "", *db = "";
    PQconninfoOption *o = NULL;
    if (pq_ready(NULL) == 0) o = pq.conninfo_parse(conninfo, NULL);
    for (PQconninfoOption *p = o; p && p->keyword; p++) {
        if (!p->val) continue;
        if (!strcmp(p->keyword, "user")) user = p->val;
        else if (!strcmp(p->keyword, "host") || (!*host && !strcmp(p->keyword, "hostaddr"))) host = p->val;
        else if (!strcmp(p->keyword, "port")) port = p->val;
        else if (!strcmp(p->keyword, "dbname")) db = p->val;
    }
    if (o) snprintf(out, n, "postgres://%s%s%s%s%s/%s", user, *user ? "@" : "", host, *port ? ":" : "", port, db);
    else snprintf(out, n, "postgres");
    if (o) pq.conninfo_free(o);
}

static int pg_open(const char *conninfo, db_conn **out, initra_err *err)
{
    *out = NULL;
    if (pq_ready(err)) return -1;
    char label[300];
    store_pg_label(conninfo, label, sizeof label);
    char *perr = NULL;
    PQconninfoOption *o = pq.conninfo_parse(conninfo, &perr);
    if (!o) {
        db_conn tmp = {0};
        set_msg(&tmp, perr);
        if (perr) pq.freemem(perr);
        return initra_fail(err, "store: the PostgreSQL CONNINFO is not valid: %s; see libpq's connection strings",
                           tmp.msg);
    }
    pq.conninfo_free(o);
    db_conn *c = calloc(1, sizeof *c);
    if (!c) return initra_fail(err, "store %s: out of memory", label);
    c->pg = pq.connectdb(conninfo);
    if (!c->pg || pq.status(c->pg) != CONNECTION_OK) {
        set_msg(c, c->pg ? pq.error_message(c->pg) : "out of memory");
        initra_fail(err, "store %s: cannot connect: %s; check that PostgreSQL runs there and the CONNINFO", label,
                    c->msg);
        pg_close(c);
        return -1;
    }
    pq.set_notice_processor(c->pg, quiet, NULL);
    PGresult *r = pq.exec(c->pg, "SET client_min_messages = warning");
    if (r) pq.clear(r);
    *out = c;
    return 0;
}

static int prepare(db_stmt *s)
{
    if (s->prepared) return 0;
    char name[16];
    snprintf(name, sizeof name, "q%d", s->id);
    PGresult *r = pq.prepare(s->c->pg, name, s->sql, 0, NULL);
    if (!r || pq.result_status(r) != PGRES_COMMAND_OK) {
        fail_res(s->c, r);
        if (r) pq.clear(r);
        return -1;
    }
    pq.clear(r);
    s->prepared = 1;
    return 0;
}

static db_stmt *pg_prep(db_conn *c, int id, const char *sql)
{
    db_stmt *s = &c->st[id];
    if (s->res) pq.clear(s->res);
    s->res = NULL;
    s->row = -1;
    s->nparams = 0;
    memset(s->val, 0, sizeof s->val);
    memset(s->len, 0, sizeof s->len);
    memset(s->fmt, 0, sizeof s->fmt);
    if (ensure(c)) return NULL;
    if (!s->sql && !(s->sql = translate(sql))) {
        c->kind = DB_E_OTHER;
        set_msg(c, "out of memory");
        return NULL;
    }
    s->c = c;
    s->id = id;
    /* Preparing outside a transaction on a connection the server dropped while it was idle (libpq learns
     * it only now): like pg_step, once more on a new connection. */
    int idle = pq.transaction_status(c->pg) == PQTRANS_IDLE;
    if (prepare(s) == 0) return s;
    if (!idle || c->kind != DB_E_CONN || ensure(c) || prepare(s)) return NULL;
    return s;
}

static void param(db_stmt *s, int i, const char *v, int len, int fmt)
{
    if (i < 1 || i > MAX_PARAMS) return;
    s->val[i - 1] = v;
    s->len[i - 1] = len;
    s->fmt[i - 1] = fmt;
    if (i > s->nparams) s->nparams = i;
}
static void pg_bind_text(db_stmt *s, int i, const char *v) { param(s, i, v, 0, 0); }
static void pg_bind_blob(db_stmt *s, int i, const void *v, size_t n)
{
    static const char empty[1];
    param(s, i, v ? v : empty, (int)n, 1);
}
static void pg_bind_int(db_stmt *s, int i, int64_t v)
{
    if (i < 1 || i > MAX_PARAMS) return;
    snprintf(s->num[i - 1], sizeof s->num[i - 1], "%lld", (long long)v);
    param(s, i, s->num[i - 1], 0, 0);
}

/* A statement outside a transaction that finds the connection dead (the server restarted since the last
 * one) runs once more on a new connection: nothing of it can have happened. */
static int pg_step(db_stmt *s)
{
    db_conn *c = s->c;
    if (!s->res) {
        char name[16];
        snprintf(name, sizeof name, "q%d", s->id);
        for (int again = pq.transaction_status(c->pg) == PQTRANS_IDLE;; again = 0) {
            s->res = pq.exec_prepared(c->pg, name, s->nparams, s->val, s->len, s->fmt, 1);
            ExecStatusType st = s->res ? pq.result_status(s->res) : PGRES_FATAL_ERROR;
            if (st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK) break;
            fail_res(c, s->res);
            if (s->res) pq.clear(s->res);
            s->res = NULL;
            if (!again || c->kind != DB_E_CONN || ensure(c) || prepare(s)) return DB_ERROR;
        }
        const char *t = pq.cmd_tuples(s->res);
        c->changes = t && *t ? strtoll(t, NULL, 10) : 0;
        s->row = -1;
    }
    if (++s->row < pq.ntuples(s->res)) return DB_ROW;
    return DB_DONE;
}

static int pg_col_null(db_stmt *s, int i) { return pq.getisnull(s->res, s->row, i); }
/* binary integers are big-endian, int2, int4 or int8 by their length */
static int64_t pg_col_int(db_stmt *s, int i)
{
    if (pq.getisnull(s->res, s->row, i)) return 0;
    const uint8_t *p = (const uint8_t *)pq.getvalue(s->res, s->row, i);
    int n = pq.getlength(s->res, s->row, i);
    if (n != 2 && n != 4 && n != 8) return 0;
    uint64_t v = 0;
    for (int k = 0; k < n; k++) v = v << 8 | p[k];
    if (n < 8 && (p[0] & 0x80)) v |= ~(uint64_t)0 << (8 * n); /* sign */
    return (int64_t)v;
}
static const void *pg_col_blob(db_stmt *s, int i)
{
    return pq.getisnull(s->res, s->row, i) ? NULL : pq.getvalue(s->res, s->row, i);
}
static const char *pg_col_text(db_stmt *s, int i) { return pg_col_blob(s, i); } /* libpq ends every value with NUL */
static size_t pg_col_bytes(db_stmt *s, int i) { return (size_t)pq.getlength(s->res, s->row, i); }
static void pg_reset(db_stmt *s)
{
    if (s->res) pq.clear(s->res);
    s->res = NULL;
}
static int64_t pg_changes(db_conn *c) { return c->changes; }

static int pg_exec(db_conn *c, const char *sql)
{
    if (ensure(c)) return -1;
    char *t = translate(sql);
    int ok = 0;
    for (int again = pq.transaction_status(c->pg) == PQTRANS_IDLE; t; again = 0) { /* see pg_step */
        PGresult *r = pq.exec(c->pg, t);
        ExecStatusType st = r ? pq.result_status(r) : PGRES_FATAL_ERROR;
        ok = st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK;
        if (!ok) fail_res(c, r);
        if (r) pq.clear(r);
        if (ok || !again || c->kind != DB_E_CONN || ensure(c)) break;
    }
    free(t);
    return ok ? 0 : -1;
}

static int pg_begin(db_conn *c)
{
    if (pg_exec(c, "BEGIN")) return -1;
    if (pg_exec(c, WRITER_LOCK) == 0) return 0;
    PGresult *r = pq.exec(c->pg, "ROLLBACK");
    if (r) pq.clear(r);
    return -1;
}

static int pg_tables(db_conn *c, int *n, int *has_meta)
{
    *n = *has_meta = 0;
    db_stmt *s = pg_prep(c, DB_MAX_STMT - 1,
                         "SELECT table_name::text FROM information_schema.tables WHERE table_schema = current_schema()");
    int rc = s ? pg_step(s) : DB_ERROR;
    for (; rc == DB_ROW; rc = pg_step(s)) {
        (*n)++;
        *has_meta |= strcmp(pg_col_text(s, 0), "meta") == 0;
    }
    if (s) pg_reset(s);
    return rc == DB_DONE ? 0 : -1;
}

static int pg_errkind(db_conn *c) { return c->kind; }
static const char *pg_errmsg(db_conn *c) { return c->msg; }

const db_ops store_db_pg = {
    .name = "postgres", .open = pg_open, .close = pg_close, .prep = pg_prep, .bind_text = pg_bind_text,
    .bind_blob = pg_bind_blob, .bind_int = pg_bind_int, .step = pg_step, .col_null = pg_col_null,
    .col_int = pg_col_int, .col_blob = pg_col_blob, .col_text = pg_col_text, .col_bytes = pg_col_bytes,
    .reset = pg_reset, .changes = pg_changes, .exec = pg_exec, .begin = pg_begin, .tables = pg_tables,
    .errkind = pg_errkind, .errmsg = pg_errmsg,
};
