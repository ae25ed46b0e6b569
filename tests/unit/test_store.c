/* The sealed store (include/initra/store.h) on real SQLite files in a temporary directory, or with
 * INITRA_TEST_PG=CONNINFO on a real PostgreSQL server (tests/t_store_pg.sh starts one with
 * scripts/pg.sh; each store of the suite is a schema there), tampered with through SQLite or libpq as
 * the host would. The seal key is this test's own EGETKEY: HMAC-SHA256 over the request and the identity
 * fields its policy names, under a platform secret ("another platform" is another secret).
 * `test_store CASE` runs one case (t_store_pg.sh: procs, puts, restart, schema); none: the suite. */
#include "check.h"

#include <pthread.h>
#include <libpq-fe.h>
#include <sqlite3.h>
#include <string.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "initra/store.h"
#include "store/internal.h"

typedef struct {
    uint8_t secret[32];
    initra_sgx_report_body self;
} platform;

static int test_seal_key(void *ctx, const initra_seal_request *r, uint8_t key[16], initra_err *err)
{
    platform *p = ctx;
    if (r->isv_svn > p->self.isv_svn)
        return initra_fail(err, "EGETKEY: isv_svn %u is above the enclave's %u", r->isv_svn, p->self.isv_svn);
    uint8_t buf[256], mac[32];
    size_t n = 0;
    initra_put_le16(buf + n, r->key_policy), n += 2;
    initra_put_le16(buf + n, r->isv_svn), n += 2;
    initra_put_le16(buf + n, r->config_svn), n += 2;
    memcpy(buf + n, r->cpu_svn, 16), n += 16;
    memcpy(buf + n, r->key_id, 32), n += 32;
    if (r->key_policy & INITRA_KEYPOLICY_MRSIGNER) memcpy(buf + n, p->self.mr_signer, 32), n += 32;
    if (r->key_policy & INITRA_KEYPOLICY_MRENCLAVE) memcpy(buf + n, p->self.mr_enclave, 32), n += 32;
    if (!(r->key_policy & INITRA_KEYPOLICY_NOISVPRODID)) initra_put_le16(buf + n, p->self.isv_prod_id), n += 2;
    unsigned ml = 0;
    HMAC(EVP_sha256(), p->secret, 32, buf, n, mac, &ml);
    memcpy(key, mac, 16);
    return 0;
}

static char dir[256];
static platform plat_a, plat_b;
static const char *pg; /* INITRA_TEST_PG: the PostgreSQL CONNINFO, or NULL (SQLite) */

static void path_of(const char *name, char *out, size_t n) { snprintf(out, n, "%s/%s", dir, name); }

/* PostgreSQL: the store "name" is schema s_name ('.' and '-' as '_') of the test database. */
static void pg_conninfo(const char *name, char *out, size_t n)
{
    char schema[64];
    snprintf(schema, sizeof schema, "s_%s", name);
    for (char *p = schema; *p; p++)
        if (*p == '.' || *p == '-') *p = '_';
    snprintf(out, n, "%s options='-csearch_path=%s'", pg, schema);
    PGconn *c = PQconnectdb(pg);
    char sql[128];
    snprintf(sql, sizeof sql, "SET client_min_messages = warning; CREATE SCHEMA IF NOT EXISTS %s", schema);
    PGresult *r = PQexec(c, sql);
    PQclear(r);
    PQfinish(c);
}

static initra_store *open_as(const char *name, platform *p, const char *rec_pub, int allow_locked, initra_err *err)
{
    char path[512], ci[1024];
    path_of(name, path, sizeof path);
    if (pg) pg_conninfo(name, ci, sizeof ci);
    initra_store_opts o = {.path = pg ? NULL : path, .postgres_conninfo = pg ? ci : NULL, .seal_key = test_seal_key,
                           .seal_ctx = p, .self = &p->self, .recovery_pub = (const uint8_t *)rec_pub,
                           .recovery_pub_len = rec_pub ? strlen(rec_pub) : 0, .allow_locked = allow_locked};
    return initra_store_open(&o, err);
}

/* Runs SQL on the store as the host would. */
static int host_sql(const char *name, const char *sql)
{
    char path[512];
    int rc = -1;
    if (pg) {
        char ci[1024];
        pg_conninfo(name, ci, sizeof ci);
        PGconn *c = PQconnectdb(ci);
        PGresult *r = PQexec(c, sql);
        rc = PQresultStatus(r) == PGRES_COMMAND_OK ? 0 : -1;
        if (rc) fprintf(stderr, "host_sql: %s: %s\n", sql, PQerrorMessage(c));
        PQclear(r);
        PQfinish(c);
        return rc;
    }
    path_of(name, path, sizeof path);
    sqlite3 *db = NULL;
    rc = sqlite3_open(path, &db) == SQLITE_OK && sqlite3_exec(db, sql, NULL, NULL, NULL) == SQLITE_OK ? 0 : -1;
    if (rc) fprintf(stderr, "host_sql: %s: %s\n", sql, sqlite3_errmsg(db));
    sqlite3_close(db);
    return rc;
}

/* Flips byte i of the ciphertext of default/name version v, as the host would. */
static int host_flip(const char *file, const char *name, int v, int i)
{
    if (pg) {
        char sql[300];
        snprintf(sql, sizeof sql, "UPDATE secrets SET ct = set_byte(ct, %d, get_byte(ct, %d) # 1) WHERE ns = 'default' "
                                  "AND name = '%s' AND version = %d", i, i, name, v);
        return host_sql(file, sql);
    }
    char path[512];
    path_of(file, path, sizeof path);
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL, *up = NULL;
    int rc = -1;
    if (sqlite3_open(path, &db) == SQLITE_OK &&
        sqlite3_prepare_v2(db, "SELECT ct FROM secrets WHERE ns = 'default' AND name = ?1 AND version = ?2", -1, &st,
                           NULL) == SQLITE_OK &&
        sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC) == SQLITE_OK && sqlite3_bind_int(st, 2, v) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW && sqlite3_column_bytes(st, 0) > i) {
        int n = sqlite3_column_bytes(st, 0);
        uint8_t *b = malloc((size_t)n);
        memcpy(b, sqlite3_column_blob(st, 0), (size_t)n);
        b[i] ^= 0x01;
        if (sqlite3_prepare_v2(db, "UPDATE secrets SET ct = ?1 WHERE ns = 'default' AND name = ?2 AND version = ?3",
                               -1, &up, NULL) == SQLITE_OK &&
            sqlite3_bind_blob(up, 1, b, n, SQLITE_TRANSIENT) == SQLITE_OK &&
            sqlite3_bind_text(up, 2, name, -1, SQLITE_STATIC) == SQLITE_OK && sqlite3_bind_int(up, 3, v) == SQLITE_OK &&
            sqlite3_step(up) == SQLITE_DONE)
            rc = 0;
        free(b);
    }
    sqlite3_finalize(st);
    sqlite3_finalize(up);
    sqlite3_close(db);
    return rc;
}

static const initra_audit_rec ADMIN_PUT = {.protocol = "admin", .admin = "ab12", .op = "put", .decision = "ok"};

static int put(initra_store *s, const char *name, const void *v, size_t n, const initra_store_rule *r, uint32_t *ver)
{
    initra_err err;
    int rc = initra_store_put(s, "default", name, "bytes", v, n, r, &ADMIN_PUT, ver, &err);
    if (rc) printf("# put %s: %s\n", name, err.msg);
    return rc;
}

/* 0 with the value's version, or the fetch's return. */
static int fetch(initra_store *s, const char *name, uint16_t svn, const uint8_t *cid, initra_store_value *v,
                 initra_err *why, initra_err *err)
{
    memset(why, 0, sizeof *why);
    memset(err, 0, sizeof *err);
    return initra_store_fetch(s, "default", name, cid, svn, v, why, err);
}

static void test_put_fetch(void)
{
    initra_err err, why;
    initra_store *s = open_as("basic.db", &plat_a, NULL, 0, &err);
    CHECK(s != NULL, "a new store is created (%s)", s ? "ok" : err.msg);
    if (!s) return;
    char path[512];
    struct stat st;
    path_of("basic.db", path, sizeof path);
    if (!pg)
        CHECK(stat(path, &st) == 0 && (st.st_mode & 0777) == 0600, "the database file is 0600 (%o)",
              st.st_mode & 0777);
    uint8_t zeros[5] = {0, 1, 0, 0, 2};
    uint32_t v = 0;
    CHECK(put(s, "z", zeros, sizeof zeros, NULL, &v) == 0 && v == 1, "put of a value with 0x00 bytes: version 1");
    size_t big = 1u << 20;
    uint8_t *m = malloc(big);
    for (size_t i = 0; i < big; i++) m[i] = (uint8_t)(i * 7 + 3);
    CHECK(put(s, "big", m, big, NULL, &v) == 0 && v == 1, "put of 1 MiB");
    initra_store_close(s);
    s = open_as("basic.db", &plat_a, NULL, 0, &err);
    CHECK(s != NULL, "reopened (%s)", s ? "ok" : err.msg);
    if (!s) {
        free(m);
        return;
    }
    initra_store_value val;
    int rc = fetch(s, "z", 0, NULL, &val, &why, &err);
    CHECK(rc == INITRA_STORE_FOUND && val.len == 5 && memcmp(val.data, zeros, 5) == 0 && val.version == 1 &&
              strcmp(val.type, "bytes") == 0,
          "after reopening, the 0x00 value comes back byte-exact");
    initra_store_value_free(&val);
    rc = fetch(s, "big", 0, NULL, &val, &why, &err);
    CHECK(rc == INITRA_STORE_FOUND && val.len == big && memcmp(val.data, m, big) == 0, "1 MiB byte-exact");
    initra_store_value_free(&val);
    rc = fetch(s, "nothing", 0, NULL, &val, &why, &err);
    CHECK(rc == INITRA_STORE_NO_SUCH && strstr(why.msg, "no such secret"), "an unknown name: NO_SUCH (%s)", why.msg);
    CHECK(initra_store_put(s, "default", "t", "plaintext", zeros, 1, NULL, NULL, &v, &err) == -1 &&
              strstr(err.msg, "type \"plaintext\""),
          "an unknown type is refused: %s", err.msg);
    CHECK(initra_store_put(s, "a/b", "t", "bytes", zeros, 1, NULL, NULL, &v, &err) == -1 && strstr(err.msg, "'/'"),
          "a namespace with '/' is refused: %s", err.msg);
    CHECK(initra_store_put(s, "default", "bad\nname", "bytes", zeros, 1, NULL, NULL, &v, &err) == -1 &&
              strstr(err.msg, "non-printable"),
          "a non-printable name is refused: %s", err.msg);

    /* policies */
    const char *pol = "{\"secrets\": []}";
    CHECK(initra_store_policy_set(s, "tenant1", pol, strlen(pol), &ADMIN_PUT, &err) == 0, "policy set");
    char *got = NULL;
    size_t gl = 0;
    CHECK(initra_store_policy_get(s, "tenant1", &got, &gl, &err) == 0 && gl == strlen(pol) && strcmp(got, pol) == 0,
          "policy get gives it back");
    free(got);
    CHECK(initra_store_policy_get(s, "tenant2", &got, &gl, &err) == 1, "a namespace without policy: 1");
    CHECK(host_sql("basic.db", "UPDATE policies SET ns = 'tenant2'") == 0, "host moves the policy to tenant2");
    CHECK(initra_store_policy_get(s, "tenant2", &got, &gl, &err) == -1 && strstr(err.msg, "tenant2") &&
              strstr(err.msg, "does not decrypt"),
          "a moved policy is refused: %s", err.msg);

    /* timing, for information (make bench measures it) */
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    int ok = 1;
    for (int i = 0; i < 2000; i++) {
        ok &= fetch(s, "z", 0, NULL, &val, &why, &err) == INITRA_STORE_FOUND;
        initra_store_value_free(&val);
    }
    clock_gettime(CLOCK_MONOTONIC, &b);
    double us = ((double)(b.tv_sec - a.tv_sec) * 1e9 + (double)(b.tv_nsec - a.tv_nsec)) / 2000 / 1e3;
    CHECK(ok, "2000 fetches (%.1f us each)", us);
    initra_store_close(s);
    free(m);
}

static int list_count(void *ctx, const initra_store_entry *e)
{
    (void)e;
    ++*(size_t *)ctx;
    return 0;
}

static void test_versions(void)
{
    initra_err err, why;
    initra_store *s = open_as("versions.db", &plat_a, NULL, 0, &err);
    if (!s) {
        CHECK(0, "open: %s", err.msg);
        return;
    }
    uint32_t v;
    for (uint16_t svn = 1; svn <= 3; svn++) {
        initra_store_rule r = {.has_min_config_svn = 1, .min_config_svn = svn};
        char val[8];
        snprintf(val, sizeof val, "for%u", svn);
        CHECK(put(s, "k", val, strlen(val), &r, &v) == 0 && v == svn, "version %u for CONFIGSVN >= %u", v, svn);
    }
    initra_store_value val;
    for (uint16_t svn = 1; svn <= 4; svn++) {
        int rc = fetch(s, "k", svn, NULL, &val, &why, &err);
        char want[8];
        snprintf(want, sizeof want, "for%u", svn > 3 ? 3 : svn);
        CHECK(rc == INITRA_STORE_FOUND && val.len == strlen(want) && memcmp(val.data, want, val.len) == 0,
              "CONFIGSVN %u reads the version made for %u", svn, svn > 3 ? 3 : svn);
        initra_store_value_free(&val);
    }
    int rc = fetch(s, "k", 0, NULL, &val, &why, &err);
    CHECK(rc == INITRA_STORE_NO_VERSION && strstr(why.msg, "version 1 needs config_svn >= 1 (this enclave has 0)"),
          "CONFIGSVN 0 reads none: NO_VERSION (%s)", why.msg);

    initra_store_rule rc_id = {.has_config_id = 1};
    memset(rc_id.config_id, 0xaa, 64);
    uint8_t other[64];
    memset(other, 0xbb, 64);
    CHECK(put(s, "c", "bound", 5, &rc_id, &v) == 0, "a version bound to a config_id");
    rc = fetch(s, "c", 9, rc_id.config_id, &val, &why, &err);
    CHECK(rc == INITRA_STORE_FOUND && val.len == 5, "that config_id reads it");
    initra_store_value_free(&val);
    rc = fetch(s, "c", 9, other, &val, &why, &err);
    CHECK(rc == INITRA_STORE_NO_VERSION && strstr(why.msg, "needs config_id aaaa"), "another config_id: NO_VERSION (%s)",
          why.msg);
    CHECK(fetch(s, "c", 9, NULL, &val, &why, &err) == INITRA_STORE_NO_VERSION, "no config_id: NO_VERSION");

    /* deletes: versions are never reused */
    CHECK(put(s, "d", "1", 1, NULL, &v) == 0 && put(s, "d", "2", 1, NULL, &v) == 0 && v == 2, "d: versions 1, 2");
    size_t n = 0;
    CHECK(initra_store_delete(s, "default", "d", 2, &ADMIN_PUT, &n, &err) == 0 && n == 1, "delete version 2");
    CHECK(put(s, "d", "3", 1, NULL, &v) == 0 && v == 3, "the next put is version 3, not 2 again (got %u)", v);
    CHECK(initra_store_delete(s, "default", "d", 0, &ADMIN_PUT, &n, &err) == 0 && n == 2, "delete all: 2 deleted");
    CHECK(fetch(s, "d", 0, NULL, &val, &why, &err) == INITRA_STORE_NO_SUCH, "d is gone: NO_SUCH");
    CHECK(put(s, "d", "4", 1, NULL, &v) == 0 && v == 4, "after deleting all, the next is version 4 (got %u)", v);
    CHECK(initra_store_delete(s, "default", "d", 9, NULL, &n, &err) == 0 && n == 0, "deleting a missing version: 0");

    /* list */
    size_t count = 0;
    CHECK(initra_store_list(s, "default", list_count, &count, &err) == 0 && count == 5, "list: 5 versions (%zu)",
          count);

    /* tampering */
    CHECK(put(s, "other", "fine", 4, NULL, &v) == 0, "another secret");
    CHECK(host_flip("versions.db", "k", 1, 2) == 0, "host flips a ciphertext byte of k version 1");
    rc = fetch(s, "k", 1, NULL, &val, &why, &err);
    CHECK(rc == -1 && strstr(err.msg, "default/k version 1 does not decrypt"), "that version is refused: %s", err.msg);
    rc = fetch(s, "other", 0, NULL, &val, &why, &err);
    CHECK(rc == INITRA_STORE_FOUND && val.len == 4 && memcmp(val.data, "fine", 4) == 0, "other secrets are served");
    initra_store_value_free(&val);
    rc = fetch(s, "k", 3, NULL, &val, &why, &err);
    CHECK(rc == INITRA_STORE_FOUND && val.version == 3, "k version 3 is still served");
    initra_store_value_free(&val);
    CHECK(host_sql("versions.db", "UPDATE secrets SET min_config_svn = 2 WHERE name = 'k' AND version = 3") == 0,
          "host loosens k version 3 to min_config_svn 2");
    rc = fetch(s, "k", 2, NULL, &val, &why, &err);
    CHECK(rc == -1 && strstr(err.msg, "default/k version 3 does not decrypt"),
          "CONFIGSVN 2 gets an error for version 3, never version 2: %s", err.msg);
    CHECK(host_sql("versions.db", "UPDATE secrets SET name = 'moved' WHERE name = 'c'") == 0, "host renames c");
    rc = fetch(s, "moved", 9, rc_id.config_id, &val, &why, &err);
    CHECK(rc == -1 && strstr(err.msg, "default/moved version 1"), "a renamed row is refused: %s", err.msg);
    CHECK(host_sql("versions.db", "UPDATE secrets SET config_id = NULL WHERE name = 'moved'") == 0,
          "host drops the config_id rule");
    rc = fetch(s, "moved", 9, other, &val, &why, &err);
    CHECK(rc == -1 && strstr(err.msg, "does not decrypt"), "a dropped rule is refused: %s", err.msg);
    initra_store_close(s);
}

static void test_audit(void)
{
    initra_err err;
    initra_store *s = open_as("audit.db", &plat_a, NULL, 0, &err);
    if (!s) {
        CHECK(0, "open: %s", err.msg);
        return;
    }
    initra_sgx_report_body peer = {0};
    memset(peer.mr_enclave, 0x11, 32);
    peer.config_svn = 7;
    uint8_t qh[32];
    memset(qh, 0x22, 32);
    const char *adv[] = {"INTEL-SA-00615"};
    initra_audit_rec r = {.protocol = "grpc_ratls", .peer_addr = "ipv4:127.0.0.1:4000", .report = &peer,
                          .tcb_status = "SWHardeningNeeded", .advisories = adv, .n_advisories = 1,
                          .quote_sha256 = qh, .op = "fetch", .ns = "default", .name = "k", .version = 3,
                          .decision = "released"};
    int ok = 1;
    for (int i = 0; i < 10; i++) ok &= initra_store_audit(s, &r, &err) == 0;
    uint32_t v;
    ok &= put(s, "secretname", "SECRETVALUE", 11, NULL, &v) == 0;
    CHECK(ok, "10 audit records and a put");
    uint64_t n = 0;
    CHECK(initra_store_audit_verify(s, &n, &err) == 0 && n == 11, "verify: 11 records (%llu)", (unsigned long long)n);
    char *lines = NULL;
    CHECK(initra_store_audit_read(s, 0, 0, &lines, &err) == 0 && lines, "audit read");
    CHECK(lines && strstr(lines, "\"seq\":1,") && strstr(lines, "\"peer_addr\":\"ipv4:127.0.0.1:4000\"") &&
              strstr(lines, "\"mr_enclave\":\"1111") &&
              strstr(lines, "\"config_svn\":7") && strstr(lines, "\"advisories\":[\"INTEL-SA-00615\"]") &&
              strstr(lines, "\"quote_sha256\":\"2222") && strstr(lines, "\"tcb_status\":\"SWHardeningNeeded\"") &&
              strstr(lines, "\"name\":\"secretname\",\"version\":1"),
          "records carry the report fields, the quote hash, the put's version");
    CHECK(lines && !strstr(lines, "SECRETVALUE"), "no value in the audit log");
    free(lines);
    CHECK(initra_store_audit_read(s, 0, 3, &lines, &err) == 0 && lines && strstr(lines, "\"seq\":3,") &&
              !strstr(lines, "\"seq\":4,"),
          "audit read, at most 3");
    free(lines);

    CHECK(host_sql("audit.db", "UPDATE audit SET rec = replace(rec, 'released', 'denied') WHERE seq = 5") == 0,
          "host edits record 5");
    CHECK(initra_store_audit_verify(s, &n, &err) == -1 && strstr(err.msg, "audit record 5: its HMAC does not match"),
          "verify names record 5: %s", err.msg);
    CHECK(host_sql("audit.db", "UPDATE audit SET rec = replace(rec, 'denied', 'released') WHERE seq = 5") == 0,
          "host restores it");
    CHECK(initra_store_audit_verify(s, &n, &err) == 0 && n == 11, "verify passes again");
    CHECK(host_sql("audit.db", "DELETE FROM audit WHERE seq = 7") == 0, "host removes record 7");
    CHECK(initra_store_audit_verify(s, &n, &err) == -1 && strstr(err.msg, "audit record 7 is missing"),
          "verify names record 7: %s", err.msg);
    CHECK(host_sql("audit.db", pg ? "UPDATE audit SET seq = 1 - seq WHERE seq > 7; UPDATE audit SET seq = -seq WHERE seq < 0"
                                  : "UPDATE audit SET seq = seq - 1 WHERE seq > 7") == 0,
          "host renumbers what follows");
    CHECK(initra_store_audit_verify(s, &n, &err) == -1 && strstr(err.msg, "audit record 7:"),
          "verify names record 7 again: %s", err.msg);
    initra_store_close(s);

    /* reorder: swap records 2 and 3 of a fresh log */
    s = open_as("audit2.db", &plat_a, NULL, 0, &err);
    for (int i = 0; i < 4; i++) initra_store_audit(s, &r, &err);
    CHECK(host_sql("audit2.db", "UPDATE audit SET seq = -seq WHERE seq IN (2, 3); "
                                "UPDATE audit SET seq = 3 WHERE seq = -2; UPDATE audit SET seq = 2 WHERE seq = -3") == 0,
          "host swaps records 2 and 3");
    CHECK(initra_store_audit_verify(s, &n, &err) == -1 && strstr(err.msg, "audit record 2"),
          "verify names record 2: %s", err.msg);
    initra_store_close(s);
}

typedef struct {
    initra_store *s;
    int fails;
} worker;

static void *audit_worker(void *arg)
{
    worker *w = arg;
    initra_audit_rec r = {.protocol = "aecs", .op = "fetch", .decision = "released"};
    initra_err err;
    for (int i = 0; i < 200; i++) w->fails += initra_store_audit(w->s, &r, &err) != 0;
    return NULL;
}

static void test_group_commit(void)
{
    initra_err err;
    initra_store *s = open_as("group.db", &plat_a, NULL, 0, &err);
    if (!s) {
        CHECK(0, "open: %s", err.msg);
        return;
    }
    initra_store_stats a, b;
    initra_store_get_stats(s, &a);
    pthread_t t[8];
    worker w[8];
    for (int i = 0; i < 8; i++) {
        w[i] = (worker){s, 0};
        pthread_create(&t[i], NULL, audit_worker, &w[i]);
    }
    int fails = 0;
    for (int i = 0; i < 8; i++) {
        pthread_join(t[i], NULL);
        fails += w[i].fails;
    }
    initra_store_get_stats(s, &b);
    uint64_t commits = b.commits - a.commits, recs = b.audit_records - a.audit_records, syncs = b.syncs - a.syncs;
    CHECK(fails == 0 && recs == 1600, "8 threads x 200 audit records: %llu appended", (unsigned long long)recs);
    CHECK(commits < 800, "group commit: %llu commits, %llu fsyncs for 1600 records", (unsigned long long)commits,
          (unsigned long long)syncs);
    CHECK(syncs > 0 && syncs <= 4 * commits, "fsyncs are counted (%llu)", (unsigned long long)syncs);
    uint64_t n = 0;
    CHECK(initra_store_audit_verify(s, &n, &err) == 0 && n == 1600, "the chain verifies (%llu)", (unsigned long long)n);
    initra_store_close(s);
}

typedef struct {
    const char *name;
    int fails;
} proc_worker;

static void *second_handle(void *arg)
{
    proc_worker *w = arg;
    initra_err err;
    initra_store *s = open_as(w->name, &plat_a, NULL, 0, &err);
    if (!s) {
        printf("# %s: open: %s\n", w->name, err.msg);
        w->fails = 1000;
        return NULL;
    }
    initra_audit_rec r = {.protocol = "replica", .op = "fetch", .decision = "released"};
    for (int i = 0; i < 100; i++)
        if (initra_store_audit(s, &r, &err) != 0 && w->fails++ == 0) printf("# %s: append: %s\n", w->name, err.msg);
    initra_store_close(s);
    return NULL;
}

static void test_two_handles(void)
{
    initra_err err;
    initra_store *s = open_as("two.db", &plat_a, NULL, 0, &err);
    if (!s) {
        CHECK(0, "open: %s", err.msg);
        return;
    }
    proc_worker pw[2] = {{"two.db", 0}, {"two.db", 0}};
    pthread_t t[2];
    for (int i = 0; i < 2; i++) pthread_create(&t[i], NULL, second_handle, &pw[i]);
    initra_audit_rec r = {.protocol = "grpc_ratls", .op = "fetch", .decision = "released"};
    int fails = 0;
    for (int i = 0; i < 100; i++) fails += initra_store_audit(s, &r, &err) != 0;
    for (int i = 0; i < 2; i++) pthread_join(t[i], NULL);
    CHECK(fails + pw[0].fails + pw[1].fails == 0, "three handles on one file each append 100 records");
    uint64_t n = 0;
    CHECK(initra_store_audit_verify(s, &n, &err) == 0 && n == 300, "one chain of 300 verifies (%s)",
          n == 300 ? "ok" : err.msg);
    initra_store_close(s);
}

/* Two processes append to one chain at the same time. */
static void test_two_processes(void)
{
    initra_err err;
    initra_store *s = open_as("procs.db", &plat_a, NULL, 0, &err);
    if (!s) {
        CHECK(0, "open: %s", err.msg);
        return;
    }
    initra_store_close(s);
    pid_t pid = fork();
    if (pid == 0) {
        proc_worker w = {"procs.db", 0};
        second_handle(&w);
        _exit(w.fails ? 1 : 0);
    }
    proc_worker w = {"procs.db", 0};
    second_handle(&w);
    int st = 0;
    waitpid(pid, &st, 0);
    CHECK(pid > 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0 && w.fails == 0, "two processes append 100 records each");
    s = open_as("procs.db", &plat_a, NULL, 0, &err);
    uint64_t n = 0;
    CHECK(s && initra_store_audit_verify(s, &n, &err) == 0 && n == 200, "one chain of 200 verifies (%llu)",
          (unsigned long long)n);
    initra_store_close(s);
}

/* Two processes create one store at the same moment: one creates it, the other opens what it made. */
static void test_create_race(void)
{
    char ci[1024];
    if (pg) pg_conninfo("race.db", ci, sizeof ci); /* the schema; the store in it is made by the race */
    int go[2];
    if (pipe(go)) return;
    pid_t pid = fork();
    char c;
    if (pid == 0) {
        close(go[1]);
        if (read(go[0], &c, 1) != 1) _exit(3);
        initra_err e;
        initra_store *cs = open_as("race.db", &plat_a, NULL, 0, &e);
        uint32_t cv;
        if (!cs) printf("# child: %s\n", e.msg);
        _exit(cs && put(cs, "child", "c", 1, NULL, &cv) == 0 ? (initra_store_close(cs), 0) : 1);
    }
    close(go[0]);
    if (write(go[1], "x", 1) != 1) return;
    close(go[1]);
    initra_err err, why;
    initra_store *s = open_as("race.db", &plat_a, NULL, 0, &err);
    uint32_t v;
    int ok = s && put(s, "parent", "p", 1, NULL, &v) == 0;
    int st = 0;
    waitpid(pid, &st, 0);
    CHECK(ok && WIFEXITED(st) && WEXITSTATUS(st) == 0, "two processes create one store at once and both put (%s)",
          ok ? "ok" : err.msg);
    initra_store_value val;
    CHECK(s && fetch(s, "child", 0, NULL, &val, &why, &err) == 0 && val.len == 1 && val.data[0] == 'c',
          "the parent reads the child's secret: one data key");
    initra_store_value_free(&val);
    initra_store_close(s);
}

/* A commit that cannot be written (the file size limit stands in for a full disk): the put fails with
 * one line, the store stays readable and holds what it held. Runs in a child (the limit is per process). */
static void test_disk_full(void)
{
    initra_err err, why;
    initra_store *s = open_as("full.db", &plat_a, NULL, 0, &err);
    uint32_t v;
    CHECK(s && put(s, "before", "kept", 4, NULL, &v) == 0, "a store with one secret");
    initra_store_close(s);
    int fd[2];
    if (pipe(fd)) return;
    pid_t pid = fork();
    if (pid == 0) {
        close(fd[0]);
        signal(SIGXFSZ, SIG_IGN);
        initra_store *c = open_as("full.db", &plat_a, NULL, 0, &err);
        char path[600];
        struct stat a = {0}, b = {0};
        path_of("full.db", path, 512);
        stat(path, &a);
        strcat(path, "-wal");
        stat(path, &b);
        struct rlimit rl = {(rlim_t)(a.st_size > b.st_size ? a.st_size : b.st_size) + 8192, RLIM_INFINITY};
        setrlimit(RLIMIT_FSIZE, &rl);
        size_t big = 4u << 20;
        uint8_t *m = calloc(1, big);
        int rc = c ? put(c, "huge", m, 256u << 10, NULL, &v) : 0; /* fits the page cache: fails at COMMIT */
        initra_err e2;
        initra_err e1 = {""};
        int rc1 = c ? initra_store_put(c, "default", "huge", "bytes", m, 256u << 10, NULL, &ADMIN_PUT, &v, &e1) : 0;
        int prc = c ? initra_store_put(c, "default", "huge", "bytes", m, big, NULL, &ADMIN_PUT, &v, &e2) : 0;
        initra_store_value val = {0};
        int frc = c ? fetch(c, "before", 0, NULL, &val, &why, &err) : -1;
        dprintf(fd[1], "%d %d %d|%s|%s\n", rc == -1 && rc1 == -1 ? -1 : 0, prc,
                frc == 0 && val.len == 4 && !memcmp(val.data, "kept", 4), e1.msg, e2.msg);
        _exit(0);
    }
    close(fd[1]);
    char buf[1024] = "";
    ssize_t n = read(fd[0], buf, sizeof buf - 1);
    close(fd[0]);
    waitpid(pid, NULL, 0);
    if (n > 0) buf[n] = 0;
    buf[strcspn(buf, "\n")] = 0;
    int rc = 0, prc = 0, ok = 0;
    sscanf(buf, "%d %d %d", &rc, &prc, &ok);
    char *e1 = strchr(buf, '|'), *e2 = e1 ? strchr(e1 + 1, '|') : NULL;
    if (e2) *e2++ = 0;
    CHECK(rc == -1 && e1 && strstr(e1, "committing a batch of writes: disk I/O error; nothing of it was written"),
          "a put whose COMMIT cannot be written fails with one line: %s", e1 ? e1 + 1 : buf);
    CHECK(prc == -1 && e2 && strstr(e2, "nothing of it was written"),
          "a put that cannot be written while adding fails with one line: %s", e2 ? e2 : buf);
    CHECK(ok == 1, "the same handle still serves the older secret");
    s = open_as("full.db", &plat_a, NULL, 0, &err);
    initra_store_value val;
    CHECK(s && fetch(s, "huge", 0, NULL, &val, &why, &err) == INITRA_STORE_NO_SUCH, "nothing of the failed put is there");
    CHECK(s && fetch(s, "before", 0, NULL, &val, &why, &err) == 0 && val.len == 4, "the store reopens with its secret");
    initra_store_value_free(&val);
    uint64_t na = 0;
    CHECK(s && initra_store_audit_verify(s, &na, &err) == 0 && na == 1, "its audit chain verifies (%llu)",
          (unsigned long long)na);
    initra_store_close(s);
}

/* Bad PostgreSQL settings (no server needed): one line each, never the password. */
static void test_pg_conninfo_errors(void)
{
    initra_err err;
    initra_store_opts o = {.postgres_conninfo = "host='127.0.0.1", .seal_key = test_seal_key, .seal_ctx = &plat_a,
                           .self = &plat_a.self};
    initra_store *s = initra_store_open(&o, &err);
    CHECK(!s && strstr(err.msg, "the PostgreSQL CONNINFO is not valid") && !strchr(err.msg, '\n'), "%s", err.msg);
    o.postgres_conninfo = "host=127.0.0.1 port=1 dbname=initra user=kms password=hunter2 connect_timeout=5";
    s = initra_store_open(&o, &err);
    CHECK(!s && strstr(err.msg, "store postgres://kms@127.0.0.1:1/initra: cannot connect") &&
              !strstr(err.msg, "hunter2") && !strchr(err.msg, '\n'),
          "nothing listens: %s", err.msg);
    o.path = "/tmp/x.db";
    s = initra_store_open(&o, &err);
    CHECK(!s && strstr(err.msg, "one of them"), "a path and a CONNINFO: %s", err.msg);
}

static void test_open_errors(void)
{
    initra_err err;
    initra_store *s = open_as("owned.db", &plat_a, NULL, 0, &err);
    uint32_t v;
    CHECK(s && put(s, "x", "y", 1, NULL, &v) == 0, "a store of platform A");
    initra_store_close(s);

    platform p = plat_a;
    memset(p.self.mr_signer, 0x77, 32);
    s = open_as("owned.db", &p, NULL, 0, &err);
    CHECK(!s && strstr(err.msg, "sealed by another signer") && strstr(err.msg, "MRSIGNER is 5555") &&
              strstr(err.msg, "this KMS's is 7777"),
          "another MRSIGNER, both named: %s", err.msg);
    p = plat_a;
    p.self.isv_prod_id = 9;
    s = open_as("owned.db", &p, NULL, 0, &err);
    CHECK(!s && strstr(err.msg, "ISVPRODID is 4, this KMS's is 9"), "another ISVPRODID: %s", err.msg);
    p = plat_a;
    p.self.isv_svn = 1;
    s = open_as("owned.db", &p, NULL, 0, &err);
    CHECK(!s && strstr(err.msg, "sealed by a newer KMS (ISVSVN 2; this KMS's is 1)"), "a newer ISVSVN: %s", err.msg);
    s = open_as("owned.db", &plat_b, NULL, 0, &err);
    CHECK(!s && strstr(err.msg, "sealed on another platform"), "another platform: %s", err.msg);
    s = open_as("owned.db", &plat_b, NULL, 1, &err);
    CHECK(!s && strstr(err.msg, "no recovery copy"), "locked open without a recovery copy fails: %s", err.msg);

    char path[512];
    if (pg) goto pg_foreign;
    path_of("text.db", path, sizeof path);
    FILE *f = fopen(path, "w");
    fputs("this is not a database, just text that is long enough to be a header of one............\n", f);
    fclose(f);
    s = open_as("text.db", &plat_a, NULL, 0, &err);
    CHECK(!s && strstr(err.msg, "not an initra store"), "a text file: %s", err.msg);
pg_foreign:
    CHECK(host_sql("foreign.db", "CREATE TABLE t(x INTEGER)") == 0, "a database of another program");
    s = open_as("foreign.db", &plat_a, NULL, 0, &err);
    CHECK(!s && strstr(err.msg, pg ? "not an initra store (a PostgreSQL schema with tables but without a meta table)"
                                   : "not an initra store (an SQLite database without a meta table)"),
          "%s", err.msg);
    p = plat_a;
    p.self.isv_svn = 3;
    s = open_as("owned.db", &p, NULL, 0, &err);
    initra_store_value val;
    initra_err why;
    CHECK(s && fetch(s, "x", 0, NULL, &val, &why, &err) == 0 && val.len == 1,
          "a newer KMS (ISVSVN 3) of the same signer reads it (%s)", s ? "ok" : err.msg);
    initra_store_value_free(&val);
    initra_store_close(s);
    s = open_as("owned.db", &plat_a, NULL, 0, &err);
    CHECK(!s && strstr(err.msg, "sealed by a newer KMS (ISVSVN 3; this KMS's is 2)"),
          "it re-sealed at ISVSVN 3: the older KMS (2) no longer opens it: %s", s ? "opened" : err.msg);
    initra_store_close(s);
    p.self.isv_svn = 4;
    s = open_as("owned.db", &p, NULL, 0, &err);
    CHECK(s != NULL, "ISVSVN 4 opens it (%s)", s ? "ok" : err.msg);
    initra_store_close(s);

    /* damaged pages: a copy with page 2 (meta's root) overwritten, and one truncated to its first page */
    if (pg) goto pg_meta;
    char cmd[1200];
    snprintf(cmd, sizeof cmd,
             "cp %s/owned.db %s/page.db && cp %s/owned.db %s/short.db && "
             "dd if=/dev/urandom of=%s/page.db bs=4096 seek=1 count=1 conv=notrunc 2>/dev/null && "
             "truncate -s 4096 %s/short.db", dir, dir, dir, dir, dir, dir);
    CHECK(system(cmd) == 0, "host damages two copies of the store");
    s = open_as("page.db", &plat_a, NULL, 0, &err);
    CHECK(!s && strstr(err.msg, "damaged database"), "a damaged page: %s", s ? "opened" : err.msg);
    initra_store_close(s);
    s = open_as("short.db", &plat_a, NULL, 0, &err);
    CHECK(!s && strstr(err.msg, "damaged database"), "a truncated file: %s", s ? "opened" : err.msg);
    initra_store_close(s);
pg_meta:
    CHECK(host_sql("owned.db", "UPDATE meta SET v = substr(v, 1, 100) WHERE k = 'sealed_dek'") == 0,
          "host truncates the sealed key");
    s = open_as("owned.db", &p, NULL, 0, &err);
    CHECK(!s && strstr(err.msg, "damaged database") && strstr(err.msg, "expected 156"), "%s", err.msg);
}

static void test_recovery(const char *type)
{
    initra_err err, why;
    char *priv = NULL, *pub = NULL, *priv2 = NULL, *pub2 = NULL, name[64];
    CHECK(initra_store_recovery_keygen(type, &priv, &pub, &err) == 0 &&
              initra_store_recovery_keygen(type, &priv2, &pub2, &err) == 0,
          "%s: two recovery key pairs", type);
    snprintf(name, sizeof name, "rec-%s.db", type);
    initra_store *s = open_as(name, &plat_a, pub, 0, &err);
    uint32_t v;
    CHECK(s && put(s, "kept", "secret!", 7, NULL, &v) == 0, "%s: a store with a recovery copy", type);
    initra_store_close(s);

    s = open_as(name, &plat_b, pub, 1, &err);
    char w[512];
    CHECK(s && initra_store_locked(s, w, sizeof w) && strstr(w, "another platform"), "platform B opens it locked: %s",
          s ? w : err.msg);
    if (!s) goto out;
    initra_store_value val;
    CHECK(fetch(s, "kept", 0, NULL, &val, &why, &err) == -1 && strstr(err.msg, "open locked"),
          "locked: fetch refused: %s", err.msg);
    uint8_t *blob = NULL, dek[32];
    size_t bl = 0;
    CHECK(initra_store_recovery_blob(s, &blob, &bl, &err) == 0, "the recovery blob");
    CHECK(initra_store_recovery_open(blob, bl, (uint8_t *)priv2, strlen(priv2), dek, &err) == -1 &&
              strstr(err.msg, "this private key's is"),
          "another recovery key is named: %s", err.msg);
    CHECK(initra_store_recovery_open(blob, bl, (uint8_t *)priv, strlen(priv), dek, &err) == 0, "the admin opens it");
    uint8_t wrong[32];
    memset(wrong, 1, 32);
    CHECK(initra_store_recover(s, wrong, &ADMIN_PUT, &err) == -1 && strstr(err.msg, "key check"),
          "a wrong key is refused: %s", err.msg);
    CHECK(initra_store_locked(s, NULL, 0), "still locked");
    initra_audit_rec rr = {.protocol = "admin", .op = "recover", .decision = "ok"};
    CHECK(initra_store_recover(s, dek, &rr, &err) == 0 && !initra_store_locked(s, NULL, 0), "recovered: unlocked");
    CHECK(fetch(s, "kept", 0, NULL, &val, &why, &err) == 0 && val.len == 7 && memcmp(val.data, "secret!", 7) == 0,
          "the secret is served on platform B");
    initra_store_value_free(&val);
    initra_store_close(s);
    s = open_as(name, &plat_b, pub, 0, &err);
    CHECK(s && !initra_store_locked(s, NULL, 0), "platform B reopens it unlocked (%s)", s ? "ok" : err.msg);
    uint64_t n = 0;
    CHECK(s && initra_store_audit_verify(s, &n, &err) == 0 && n == 2, "its audit chain verifies (%llu)",
          (unsigned long long)n);
    initra_store_close(s);
    s = open_as(name, &plat_a, pub, 0, &err);
    CHECK(!s && strstr(err.msg, "another platform"), "platform A no longer opens it: %s", s ? "" : err.msg);
    initra_store_close(s);
    free(blob);
out:
    free(priv);
    free(pub);
    free(priv2);
    free(pub2);
}

static void test_bulk(void)
{
    initra_err err;
    initra_store *s = open_as("bulk.db", &plat_a, NULL, 0, &err);
    if (!s) return;
    enum { N = 20000 };
    initra_store_put_item *it = calloc(N, sizeof *it);
    char(*names)[16] = calloc(N, 16);
    uint8_t val[32] = {1};
    for (size_t i = 0; i < N; i++) {
        snprintf(names[i], 16, "s%zu", i);
        it[i] = (initra_store_put_item){.ns = "bulk", .name = names[i], .type = "aes256", .value = val, .len = 32};
    }
    struct timespec a, b, c;
    clock_gettime(CLOCK_MONOTONIC, &a);
    int rc = initra_store_put_batch(s, it, N, &err);
    clock_gettime(CLOCK_MONOTONIC, &b);
    size_t n = 0;
    int lrc = initra_store_list(s, "bulk", list_count, &n, &err);
    clock_gettime(CLOCK_MONOTONIC, &c);
    CHECK(rc == 0 && it[N - 1].version == 1, "a batch of %d puts in one transaction (%.2f s)", N,
          (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) / 1e9);
    CHECK(lrc == 0 && n == N, "list walks %zu (%.3f s)", n,
          (double)(c.tv_sec - b.tv_sec) + (double)(c.tv_nsec - b.tv_nsec) / 1e9);
    it[5].type = "nope";
    CHECK(initra_store_put_batch(s, it, N, &err) == -1 && strstr(err.msg, "bulk/s5"), "a bad item fails the batch: %s",
          err.msg);
    n = 0;
    initra_store_list(s, "bulk", list_count, &n, &err);
    CHECK(n == N, "and nothing of it was written");
    free(it);
    free(names);
    initra_store_close(s);
}

/* The blob codecs: round trips and refusals. */
static void test_blobs(void)
{
    store_sealed sb = {.req.key_policy = INITRA_KEYPOLICY_MRSIGNER, .req.isv_svn = 3, .isv_prod_id = 4};
    uint8_t key[16] = {9}, dek[32] = {1, 2, 3}, out[STORE_SEALED_SIZE], back[32];
    initra_err err;
    CHECK(store_sealed_seal(&sb, key, dek, out, &err) == 0, "seal");
    store_sealed p;
    CHECK(store_sealed_parse(out, sizeof out, &p, &err) == 0 && p.req.isv_svn == 3 && p.isv_prod_id == 4 &&
              store_sealed_open(&p, key, back, &err) == 0 && memcmp(back, dek, 32) == 0,
          "parse and open");
    out[10] ^= 1;
    CHECK(store_sealed_parse(out, sizeof out, &p, &err) == 0 && store_sealed_open(&p, key, back, &err) == -1,
          "a changed header (ISVSVN) fails the tag");
    CHECK(store_sealed_parse(out, sizeof out - 1, &p, &err) == -1 && strstr(err.msg, "155 bytes"), "%s", err.msg);
    out[8] = 0x40;
    CHECK(store_sealed_parse(out, sizeof out, &p, &err) == -1 && strstr(err.msg, "key policy 0x40"), "%s", err.msg);
    out[0] = 'X';
    CHECK(store_sealed_parse(out, sizeof out, &p, &err) == -1 && strstr(err.msg, "magic"), "%s", err.msg);
}

/* The schema version row: a store written by a newer initra (the row bumped, as a newer initra would) is
 * refused with one line; a row that is not a number is damage. */
static void test_schema(void)
{
    initra_err err;
    initra_store *s = open_as("schema.db", &plat_a, NULL, 0, &err);
    uint32_t v;
    CHECK(s && put(s, "x", "y", 1, NULL, &v) == 0, "a store of schema version 1");
    initra_store_close(s);
    CHECK(host_sql("schema.db", pg ? "UPDATE meta SET v = '2'::bytea WHERE k = 'schema'"
                                   : "UPDATE meta SET v = CAST('2' AS BLOB) WHERE k = 'schema'") == 0,
          "the schema row says 2");
    s = open_as("schema.db", &plat_a, NULL, 0, &err);
    CHECK(!s && strstr(err.msg, "schema version 2 is newer than this initra's (1)") && !strchr(err.msg, '\n'),
          "a newer schema is refused: %s", s ? "opened" : err.msg);
    initra_store_close(s);
    CHECK(host_sql("schema.db", pg ? "UPDATE meta SET v = 'x1'::bytea WHERE k = 'schema'"
                                   : "UPDATE meta SET v = CAST('x1' AS BLOB) WHERE k = 'schema'") == 0,
          "the schema row says x1");
    s = open_as("schema.db", &plat_a, NULL, 0, &err);
    CHECK(!s && strstr(err.msg, "damaged database (schema version \"x1\""), "%s", s ? "opened" : err.msg);
    initra_store_close(s);
    CHECK(host_sql("schema.db", pg ? "UPDATE meta SET v = '1'::bytea WHERE k = 'schema'"
                                   : "UPDATE meta SET v = CAST('1' AS BLOB) WHERE k = 'schema'") == 0,
          "the schema row says 1 again");
    s = open_as("schema.db", &plat_a, NULL, 0, &err);
    CHECK(s != NULL, "it opens again (%s)", s ? "ok" : err.msg);
    initra_store_close(s);
}

/* Two processes put the same name at the same time: every put gets its own version, every version is
 * there with its value, and the audit chain holds a record per put. */
static void test_concurrent_puts(void)
{
    enum { PER = 150 };
    initra_err err;
    initra_store *s = open_as("puts.db", &plat_a, NULL, 0, &err);
    initra_store_close(s);
    int fd[2];
    if (!s || pipe(fd)) {
        CHECK(0, "open: %s", err.msg);
        return;
    }
    pid_t kids[2];
    for (int k = 0; k < 2; k++)
        if ((kids[k] = fork()) == 0) {
            close(fd[0]);
            initra_store *c = open_as("puts.db", &plat_a, NULL, 0, &err);
            for (int i = 0; c && i < PER; i++) {
                char val[16];
                uint32_t ver = 0;
                snprintf(val, sizeof val, "%d-%d", k, i);
                int rc = put(c, "shared", val, strlen(val), NULL, &ver);
                dprintf(fd[1], "%u %s\n", rc ? 0 : ver, val);
            }
            initra_store_close(c);
            _exit(c ? 0 : 1);
        }
    close(fd[1]);
    FILE *f = fdopen(fd[0], "r");
    static char got[2 * PER + 1][16];
    memset(got, 0, sizeof got);
    unsigned ver;
    char val[16];
    int lines = 0, dup = 0, bad = 0;
    while (f && fscanf(f, "%u %15s", &ver, val) == 2) {
        lines++;
        if (ver == 0 || ver > 2 * PER) bad++;
        else if (got[ver][0]) dup++;
        else snprintf(got[ver], sizeof got[ver], "%s", val);
    }
    if (f) fclose(f);
    int st0 = 0, st1 = 0;
    waitpid(kids[0], &st0, 0);
    waitpid(kids[1], &st1, 0);
    CHECK(lines == 2 * PER && dup == 0 && bad == 0 && WIFEXITED(st0) && !WEXITSTATUS(st0) && WIFEXITED(st1) &&
              !WEXITSTATUS(st1),
          "two processes put one name %d times each: %d versions, none twice (%d twice, %d failed)", PER, lines, dup,
          bad);
    s = open_as("puts.db", &plat_a, NULL, 0, &err);
    size_t count = 0;
    CHECK(s && initra_store_list(s, "default", list_count, &count, &err) == 0 && count == 2 * PER,
          "the store lists %zu versions", count);
    /* every version holds the value its put reported: fetch them newest first by deleting as we go */
    int wrong = 0;
    for (unsigned v2 = 2 * PER; s && v2 >= 1; v2--) {
        initra_store_value value;
        initra_err why;
        size_t n = 0;
        if (fetch(s, "shared", 0, NULL, &value, &why, &err) != 0 || value.version != v2 ||
            value.len != strlen(got[v2]) || memcmp(value.data, got[v2], value.len) != 0)
            wrong++;
        initra_store_value_free(&value);
        initra_store_delete(s, "default", "shared", v2, NULL, &n, &err);
    }
    CHECK(s && wrong == 0, "each version holds the value of the put it was reported to (%d wrong)", wrong);
    uint64_t n = 0;
    CHECK(s && initra_store_audit_verify(s, &n, &err) == 0 && n == 2 * PER, "the audit chain verifies: %llu records",
          (unsigned long long)n);
    initra_store_close(s);
}

/* PostgreSQL stopped under an open store (INITRA_TEST_PG_DIR: its scripts/pg.sh directory): operations
 * fail with one line each; once it is back, the same handle works again. */
static int pg_ctl(const char *verb)
{
    char cmd[600];
    snprintf(cmd, sizeof cmd, "sh scripts/pg.sh %s %s >/dev/null", verb, getenv("INITRA_TEST_PG_DIR"));
    return system(cmd);
}
static void test_restart(void)
{
    initra_err err, why;
    initra_store *s = open_as("restart.db", &plat_a, NULL, 0, &err);
    uint32_t v;
    initra_store_value val;
    CHECK(s && put(s, "before", "b", 1, NULL, &v) == 0, "a put (%s)", s ? "ok" : err.msg);
    if (!s) return;
    CHECK(pg_ctl("stop") == 0, "PostgreSQL stopped");
    int prc = initra_store_put(s, "default", "during", "bytes", (const uint8_t *)"d", 1, NULL, &ADMIN_PUT, &v, &err);
    CHECK(prc == -1 && strstr(err.msg, "PostgreSQL") && !strchr(err.msg, '\n'), "a put fails with one line: %s",
          err.msg);
    int frc = fetch(s, "before", 0, NULL, &val, &why, &err);
    CHECK(frc == INITRA_STORE_UNAVAILABLE && strstr(err.msg, "PostgreSQL") && !strchr(err.msg, '\n'),
          "a fetch fails with one line, UNAVAILABLE (the database, not the secret): %s", err.msg);
    initra_audit_rec r = {.protocol = "grpc_ratls", .op = "fetch", .decision = "released"};
    CHECK(initra_store_audit(s, &r, &err) == -1 && !strchr(err.msg, '\n'), "an audit record fails: %s", err.msg);
    CHECK(pg_ctl("start") == 0, "PostgreSQL started again");
    CHECK(fetch(s, "before", 0, NULL, &val, &why, &err) == 0 && val.len == 1, "the same handle fetches again (%s)",
          err.msg);
    initra_store_value_free(&val);
    CHECK(put(s, "after", "a", 1, NULL, &v) == 0 && v == 1, "and puts again");
    CHECK(fetch(s, "during", 0, NULL, &val, &why, &err) == INITRA_STORE_NO_SUCH, "the failed put left nothing");
    uint64_t n = 0;
    CHECK(initra_store_audit_verify(s, &n, &err) == 0 && n == 2, "the audit chain verifies: %llu records (the failed "
          "ones are not there)", (unsigned long long)n);
    initra_store_close(s);
}

int main(int argc, char **argv)

{
    snprintf(dir, sizeof dir, "/tmp/initra-store-XXXXXX");
    if (!mkdtemp(dir)) return 2;
    memset(plat_a.secret, 0xa1, 32);
    memset(plat_b.secret, 0xb2, 32);
    for (platform *p = &plat_a; p; p = p == &plat_a ? &plat_b : NULL) {
        memset(p->self.mr_signer, 0x55, 32);
        memset(p->self.mr_enclave, 0x66, 32);
        p->self.isv_prod_id = 4;
        p->self.isv_svn = 2;
    }
    pg = getenv("INITRA_TEST_PG");
    const char *only = argc > 1 ? argv[1] : NULL;
    if (only && strcmp(only, "procs") == 0) {
        test_two_processes();
    } else if (only && strcmp(only, "puts") == 0) {
        test_concurrent_puts();
    } else if (only && strcmp(only, "schema") == 0) {
        test_schema();
    } else if (only && strcmp(only, "restart") == 0 && pg && getenv("INITRA_TEST_PG_DIR")) {
        test_restart();
    } else if (only) {
        fprintf(stderr, "test_store: unknown case %s (procs, puts, schema, restart: needs INITRA_TEST_PG and "
                        "INITRA_TEST_PG_DIR)\n", only);
        return 2;
    } else {
        test_blobs();
        test_put_fetch();
        test_versions();
        test_audit();
        test_group_commit();
        test_two_handles();
        test_two_processes();
        test_create_race();
        if (!pg) test_disk_full(); /* a full disk is PostgreSQL's server's: its error is passed on */
        test_open_errors();
        test_pg_conninfo_errors();
        test_recovery("rsa-3072");
        test_recovery("x25519");
        test_bulk();
        test_schema();
        test_concurrent_puts();
    }
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd) != 0) return 2;
    CHECK_DONE();
}
