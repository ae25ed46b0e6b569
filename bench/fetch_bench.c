/* Secrets fetched per second over NEW connections (full mutual handshake + GetSecret) from concurrent
 * clients, against the KMS with RA-TLS (sim quotes, full client and server verification) or with
 * attestation off (plain mutual TLS). Also "hold": N clients that connect, fetch once and keep their
 * connections open until stdin closes (for the KMS memory figure).
 *   fetch_bench ratls|mtls SECONDS THREADS          -> "fetch_per_s_ratls N"
 *   fetch_bench store SECONDS THREADS               -> RA-TLS with the secret in the sealed store (namespace
 *       policy, audit on): "fetch_per_s_store N" and "audit_fsyncs_per_release_new_conn X"
 *   fetch_bench store-keep SECONDS THREADS          -> the same with each client keeping its connection, so
 *       THREADS releases are in flight at once: "fetch_per_s_store_kept_conn N", "audit_fsyncs_per_release X"
 *   fetch_bench store_pg|store_pg2 SECONDS THREADS  -> the store on PostgreSQL (INITRA_BENCH_PG=CONNINFO), new
 *       connections: "fetch_per_s_store_pg N"; store_pg2: two KMS replicas in this process on that database,
 *       the clients spread over both: "fetch_per_s_store_pg_2_replicas N"
 *   fetch_bench hold HOST:PORT N KMS_MRENCLAVE [SECRET] -> prints "held N" when all are connected (keeps them
 *   until stdin closes)
 *   fetch_bench failover A,B KMS_MRENCLAVE SECRET PID_OF_A -> "failover_ms N": one trial of a client fetching
 *   from A, A killed (SIGKILL) by it, the time to its next successful fetch through B; it moves on as init
 *   does (src/init/failover.c: the same walker and codes) and verifies each server as init does.
 *   fetch_bench load A,B,... KMS_MRENCLAVE SECRET CLIENTS TOTAL MAX_SECONDS -> "load fetched N failed M
 *   moves K seconds S": CLIENTS threads doing TOTAL fetches in all, each over a new connection, each client
 *   starting at its own server of the list and failing over across it as init does (a retry on another
 *   server is not a failure; a final error or the deadline is); exits 1 when a fetch failed or MAX_SECONDS
 *   passed (tests/t_replicas.sh).
 * The client identity is MRSIGNER 42..42 on the sim platform. */
#include <pthread.h>
#include <stdatomic.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "init/internal.h"
#include "initra/attest.h"
#include "initra/kms.h"
#include "initra/policy.h"
#include "initra/ratls.h"
#include "initra/rpc.h"
#include "initra/store.h"
#include "initra/sim.h"
#include "ratls.pb-c.h"

static initra_sim *sim;
static initra_sgx_report_body client_id, kms_id;
static initra_ratls_verifier *verifier; /* clients' view of the server */
static initra_policy *server_policy;
static const char *target;
static int attested;
static int keep; /* store-keep: each client keeps its connection (calls, not handshakes, in flight) */
static volatile int stop;
static uint8_t req_buf[64];
static size_t req_len;

static void die(const char *what, const initra_err *e)
{
    fprintf(stderr, "fetch_bench: %s: %s\n", what, e ? e->msg : "");
    exit(1);
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int client_quote(void *ctx, const uint8_t rd[64], uint8_t **q, size_t *len, initra_err *err)
{
    return initra_sim_quote(sim, &client_id, rd, q, len, err);
}

static int verify_server(void *ctx, const char *pem, initra_err *err)
{
    initra_ratls_peer p;
    if (initra_ratls_verify_peer(verifier, pem, time(NULL), &p, err)) return -1;
    initra_evidence ev = {&p.report, p.status, p.advisory_ptrs, p.n_advisories, p.collateral_expired};
    return initra_policy_check(server_policy, &ev, err);
}

static initra_rpc_client *connect_one(const char *cert, const char *key, initra_err *err)
{
    initra_rpc_tls tls = {.cert_chain_pem = cert, .key_pem = key, .verify = attested ? verify_server : initra_rpc_accept_any};
    return initra_rpc_client_new(target, &tls, err);
}

static int fetch(initra_rpc_client *c, initra_err *err)
{
    uint8_t *resp;
    size_t n;
    int code;
    if (initra_rpc_call(c, "/ratls.GrSecret/GetSecret", req_buf, req_len, 5000, &resp, &n, &code, err)) return -1;
    initra_free_secret(resp, n);
    return 0;
}

static void make_cert(char **cert, char **key)
{
    initra_err e;
    if (initra_ratls_create(attested ? client_quote : NULL, NULL, INITRA_RATLS_DEFAULT_FORMAT, 3600, cert, key, &e))
        die("client certificate", &e);
}

typedef struct {
    long count;
    const char *target; /* the KMS this client fetches from */
} worker_arg;
static void *worker(void *arg)
{
    worker_arg *w = arg;
    long *count = &w->count;
    char *cert, *key;
    make_cert(&cert, &key); /* one identity per client, as an init client has */
    initra_rpc_tls tls = {.cert_chain_pem = cert, .key_pem = key, .verify = attested ? verify_server : initra_rpc_accept_any};
    initra_rpc_client *kept = NULL;
    while (!stop) {
        initra_err e;
        initra_rpc_client *c = kept ? kept : initra_rpc_client_new(w->target, &tls, &e);
        if (!c || fetch(c, &e)) die("fetch", &e);
        if (keep) kept = c;
        else initra_rpc_client_free(c);
        (*count)++;
    }
    initra_rpc_client_free(kept);
    free(cert);
    initra_free_secret(key, strlen(key));
    return NULL;
}

typedef struct {
    int fd;
} serve_arg;
static void *serve_quotes(void *arg)
{
    initra_err e;
    initra_sim_serve_fd(sim, ((serve_arg *)arg)->fd, &kms_id, &e);
    return NULL;
}

static void write_text(const char *path, const void *data, size_t n)
{
    initra_err e;
    if (initra_write_file_atomic(path, data, n, 0600, &e)) die("write", &e);
}

/* A client's failover settings, as init's configuration gives them, for the server list. */
static void client_conf(initra_init_conf *c, const char *list, unsigned deadline_ms, unsigned max_backoff_ms, unsigned call_ms)
{
    initra_err e;
    memset(c, 0, sizeof *c);
    c->deadline_ms = deadline_ms;
    c->initial_backoff_ms = 10;
    c->max_backoff_ms = max_backoff_ms;
    c->call_timeout_ms = call_ms;
    if (init_parse_servers(list, c, &e)) die("servers", &e);
}

/* failover: the client fetches from servers[0] (warm: 3 fetches), kills it, and fails over as init does. */
static int failover_trial(const char *list, const char *secret, long pid)
{
    initra_err e;
    initra_init_conf c;
    client_conf(&c, list, 30000, 100, 2000);
    if (c.n_servers < 2) die("failover needs two servers (A,B)", NULL);
    Ratls__SecretRequest rq = RATLS__SECRET_REQUEST__INIT;
    rq.name = (char *)secret;
    if (ratls__secret_request__get_packed_size(&rq) > sizeof req_buf) die("secret name too long", NULL);
    req_len = ratls__secret_request__pack(&rq, req_buf);
    char *cert, *key;
    make_cert(&cert, &key);
    FILE *devnull = fopen("/dev/null", "w");
    init_failover f;
    init_failover_start(&f, &c, 0, devnull);
    target = c.servers[0];
    initra_rpc_client *cl = connect_one(cert, key, &e);
    if (!cl) die("channel", &e);
    int fetched = 0, killed = 0;
    double t0 = 0;
    for (;;) {
        uint8_t *resp;
        size_t n;
        int code;
        if (initra_rpc_call(cl, "/ratls.GrSecret/GetSecret", req_buf, req_len, init_call_ms(&c, f.deadline), &resp, &n,
                            &code, &e) == 0) {
            initra_free_secret(resp, n);
            if (killed && f.cur != 0) break;
            if (killed || ++fetched < 3) continue; /* warming up, or a reply A sent before it died */
            if (f.cur != 0) die("the first KMS failed while warming up", &e);
            t0 = now_s();
            if (kill((pid_t)pid, SIGKILL)) die("kill -9 of the first KMS", NULL);
            killed = 1;
            continue;
        }
        if (!init_failover_moves_on(code)) die("a final error", &e);
        size_t was = f.cur;
        if (init_failover_next(&f, code, e.msg, &e)) die("no server", &e);
        if (f.cur != was) {
            initra_rpc_client_free(cl);
            target = c.servers[f.cur];
            if (!(cl = connect_one(cert, key, &e))) die("channel", &e);
        }
    }
    printf("failover_ms %.1f\n", (now_s() - t0) * 1e3);
    initra_rpc_client_free(cl);
    free(cert);
    initra_free_secret(key, strlen(key));
    initra_init_conf_free(&c);
    return 0;
}

/* load: bounded in count (load_total) and time (load_end). */
static const char *load_list;
static long load_total;
static double load_end;
static atomic_long load_next, load_ok, load_failed, load_moves;
static atomic_int load_said;

static void *load_worker(void *arg)
{
    long id = (long)arg;
    initra_err e;
    initra_init_conf c;
    client_conf(&c, load_list, 20000, 200, 5000);
    char *cert, *key;
    make_cert(&cert, &key);
    FILE *devnull = fopen("/dev/null", "w");
    size_t start = (size_t)id % c.n_servers;
    while (atomic_fetch_add(&load_next, 1) < load_total && now_s() < load_end) {
        init_failover f;
        init_failover_start(&f, &c, 0, devnull);
        f.cur = start;
        for (;;) {
            initra_rpc_tls tls = {.cert_chain_pem = cert, .key_pem = key, .verify = verify_server};
            initra_rpc_client *cl = initra_rpc_client_new(c.servers[f.cur], &tls, &e);
            uint8_t *resp;
            size_t n;
            int code = INITRA_RPC_UNAVAILABLE;
            int rc = cl ? initra_rpc_call(cl, "/ratls.GrSecret/GetSecret", req_buf, req_len, init_call_ms(&c, f.deadline),
                                          &resp, &n, &code, &e)
                        : -1;
            initra_rpc_client_free(cl);
            if (rc == 0) {
                initra_free_secret(resp, n);
                atomic_fetch_add(&load_ok, 1);
                break;
            }
            if (!init_failover_moves_on(code) || init_failover_next(&f, code, e.msg, &e)) {
                atomic_fetch_add(&load_failed, 1);
                if (atomic_fetch_add(&load_said, 1) < 3) fprintf(stderr, "load: a fetch failed: %s\n", e.msg);
                break;
            }
            atomic_fetch_add(&load_moves, 1);
        }
    }
    fclose(devnull);
    free(cert);
    initra_free_secret(key, strlen(key));
    initra_init_conf_free(&c);
    return NULL;
}

static int load_run(const char *secret, int clients, long total, double max_s)
{
    Ratls__SecretRequest rq = RATLS__SECRET_REQUEST__INIT;
    rq.name = (char *)secret;
    if (ratls__secret_request__get_packed_size(&rq) > sizeof req_buf) die("secret name too long", NULL);
    req_len = ratls__secret_request__pack(&rq, req_buf);
    if (clients < 1 || clients > 1024 || total < 1) die("load: CLIENTS 1..1024, TOTAL >= 1", NULL);
    load_total = total;
    double t0 = now_s();
    load_end = t0 + max_s;
    pthread_t *th = calloc((size_t)clients, sizeof *th);
    if (!th) die("out of memory", NULL);
    for (long i = 0; i < clients; i++)
        if (pthread_create(&th[i], NULL, load_worker, (void *)i)) die("pthread_create", NULL);
    for (int i = 0; i < clients; i++) pthread_join(th[i], NULL);
    free(th);
    double secs = now_s() - t0;
    printf("load fetched %ld failed %ld moves %ld seconds %.1f\n", (long)load_ok, (long)load_failed, (long)load_moves,
           secs);
    return load_failed == 0 && load_ok == total ? 0 : 1;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: fetch_bench ratls|mtls SECONDS THREADS | hold HOST:PORT N KMS_MRENCLAVE | failover A,B "
                        "KMS_MRENCLAVE SECRET PID_OF_A\n");
        return 2;
    }
    initra_err e;
    char dir[4096], tmp[] = "/tmp/initra-bench.XXXXXX", path[4200], root[4200], coll[4200];
    if (initra_sim_dir(dir, sizeof dir, &e) || !(sim = initra_sim_open(dir, &e))) die("sim", &e);
    memset(client_id.mr_signer, 0x42, 32);
    client_id.attributes.flags = INITRA_ATTR_INIT | INITRA_ATTR_MODE64BIT;
    memset(kms_id.mr_enclave, 0x4b, 32);
    kms_id.attributes.flags = INITRA_ATTR_INIT | INITRA_ATTR_MODE64BIT;
    Ratls__SecretRequest rq = RATLS__SECRET_REQUEST__INIT;
    rq.name = "bench_key";
    req_len = ratls__secret_request__pack(&rq, req_buf);
    if (!mkdtemp(tmp)) die("mkdtemp", NULL);
    uint8_t *der;
    size_t der_len;
    char *cj;
    if (initra_sim_root_der(sim, &der, &der_len, &e) || initra_sim_collateral(sim, &cj, &e)) die("sim export", &e);
    snprintf(root, sizeof root, "%s/root.der", tmp);
    snprintf(coll, sizeof coll, "%s/coll.json", tmp);
    write_text(root, der, der_len);
    write_text(coll, cj, strlen(cj));
    const char *roots[] = {root};
    initra_ratls_verifier_opts vo = {.trust_roots = roots, .n_trust_roots = 1, .collateral = coll};
    int hold = !strcmp(argv[1], "hold"), failover = !strcmp(argv[1], "failover") && argc == 6;
    int load = !strcmp(argv[1], "load") && argc == 8;
    const char *pin = hold && argc > 4 ? argv[4]
                      : failover || load ? argv[3]
                                   : "4b4b4b4b4b4b4b4b4b4b4b4b4b4b4b4b4b4b4b4b4b4b4b4b4b4b4b4b4b4b4b4b";
    json_t *pj = json_pack("[{s:b,s:s}]", "allow_debug", 1, "mr_enclave", pin);
    server_policy = initra_policy_from_json(pj, "bench", &e);
    json_decref(pj);
    if (load) {
        attested = 1;
        load_list = argv[2];
        if (!server_policy || !(verifier = initra_ratls_verifier_new(&vo, &e))) die("verifier", &e);
        return load_run(argv[4], atoi(argv[5]), atol(argv[6]), atof(argv[7]));
    }
    if (failover) {
        attested = 1;
        if (!server_policy || !(verifier = initra_ratls_verifier_new(&vo, &e))) die("verifier", &e);
        return failover_trial(argv[2], argv[4], atol(argv[5]));
    }

    if (hold) {
        rq.name = argc > 5 ? argv[5] : "bench_key";
        req_len = ratls__secret_request__pack(&rq, req_buf);
        attested = 1;
        target = argv[2];
        if (argc < 5 || !server_policy || !(verifier = initra_ratls_verifier_new(&vo, &e))) die("verifier", &e);
        int n = atoi(argv[3]);
        initra_rpc_client **cs = calloc((size_t)n, sizeof *cs);
        char *cert, *key;
        make_cert(&cert, &key);
        for (int i = 0; i < n; i++)
            if (!(cs[i] = connect_one(cert, key, &e)) || fetch(cs[i], &e)) die("hold", &e);
        printf("held %d\n", n);
        fflush(stdout);
        char c;
        while (read(0, &c, 1) > 0) {
        }
        for (int i = 0; i < n; i++) initra_rpc_client_free(cs[i]);
        return 0;
    }

    keep = !strcmp(argv[1], "store-keep");
    /* store_pg: the store on PostgreSQL (INITRA_BENCH_PG: its CONNINFO); store_pg2: two KMS replicas on it,
     * the clients spread over both */
    int use_pg = !strcmp(argv[1], "store_pg") || !strcmp(argv[1], "store_pg2"), two = !strcmp(argv[1], "store_pg2");
    int use_store = keep || use_pg || !strcmp(argv[1], "store");
    const char *pg = getenv("INITRA_BENCH_PG");
    if (use_pg && !pg) die("store_pg needs INITRA_BENCH_PG (a CONNINFO; scripts/pg.sh start prints one)", NULL);
    attested = use_store || !strcmp(argv[1], "ratls");
    double secs = atof(argv[2]);
    int threads = argc > 3 ? atoi(argv[3]) : 8;
    /* The KMS: secrets, a client policy, and (RA-TLS) the sim quote provider on a real descriptor. */
    snprintf(path, sizeof path, "%s/secrets.json", tmp);
    const char *sj = "{\"bench_key\": \"c2VjcmV0IGtleSBmb3IgdGhlIGJlbmNobWFyayAzMg==\"}";
    write_text(path, sj, strlen(sj));
    char clients[4200];
    snprintf(clients, sizeof clients, "%s/clients.json", tmp);
    const char *cl = "[{\"mr_signer\": \"4242424242424242424242424242424242424242424242424242424242424242\"}]";
    write_text(clients, cl, strlen(cl));
    initra_kms_opts ko = {0};
    ko.listen = "127.0.0.1:0";
    ko.secrets_path = path;
    ko.clients_path = clients;
    ko.verifier = vo;
    ko.threads = 8;
    ko.log = fopen("/dev/null", "w");
    if (attested) {
        int sp[2];
        static serve_arg sa;
        pthread_t st;
        if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp)) die("socketpair", NULL);
        sa.fd = sp[0];
        pthread_create(&st, NULL, serve_quotes, &sa);
        char num[16];
        snprintf(num, sizeof num, "%d", sp[1]);
        setenv(INITRA_SIM_FD_ENV, num, 1);
        if (!(verifier = initra_ratls_verifier_new(&vo, &e))) die("verifier", &e);
        if (use_store) { /* the secret and its namespace policy put into a fresh store */
            snprintf(path, sizeof path, "%s/kms.db", tmp);
            initra_attester *a = initra_attest_detect(&e);
            uint8_t rd[64] = {0}, *q = NULL;
            size_t ql;
            initra_quote pq;
            if (!a || initra_attest_quote(a, rd, &q, &ql, &e) || initra_quote_parse(q, ql, &pq, &e)) die("self quote", &e);
            free(q);
            initra_store_opts so = {.path = use_pg ? NULL : path, .postgres_conninfo = use_pg ? pg : NULL, .seal_key = initra_attest_seal_key_cb, .seal_ctx = a, .self = &pq.enclave};
            initra_store *st = initra_store_open(&so, &e);
            initra_store_rule rule = {0};
            initra_audit_rec ar = {.protocol = "admin", .op = "put", .decision = "ok"};
            uint32_t ver;
            const char *v = "secret key for the benchmark 32";
            if (!st || initra_store_put(st, "default", "bench_key", "bytes", (const uint8_t *)v, strlen(v), &rule, &ar, &ver, &e) ||
                initra_store_policy_set(st, "default", cl, strlen(cl), &ar, &e))
                die("store", &e);
            initra_store_close(st);
            initra_attest_free(a);
            ko.secrets_path = ko.clients_path = NULL;
            if (use_pg) ko.store_postgres = pg;
            else ko.store_sqlite = path;
        }
    } else {
        unsetenv(INITRA_SIM_FD_ENV);
        ko.insecure_no_attestation = 1;
        ko.no_client_attestation = 1;
    }
    initra_kms *k = initra_kms_start(&ko, &e);
    if (!k) die("kms", &e);
    initra_kms *k2 = NULL;
    if (two && !(k2 = initra_kms_start(&ko, &e))) die("kms (second replica)", &e);
    static char tgt[2][64];
    snprintf(tgt[0], sizeof tgt[0], "127.0.0.1:%d", initra_kms_port(k));
    if (k2) snprintf(tgt[1], sizeof tgt[1], "127.0.0.1:%d", initra_kms_port(k2));
    pthread_t *ts = calloc((size_t)threads, sizeof *ts);
    worker_arg *counts = calloc((size_t)threads, sizeof *counts);
    double t0 = now_s();
    for (int i = 0; i < threads; i++) {
        counts[i].target = tgt[k2 ? i % 2 : 0];
        pthread_create(&ts[i], NULL, worker, &counts[i]);
    }
    struct timespec d = {(time_t)secs, (long)((secs - (time_t)secs) * 1e9)};
    nanosleep(&d, NULL);
    stop = 1;
    long total = 0;
    for (int i = 0; i < threads; i++) {
        pthread_join(ts[i], NULL);
        total += counts[i].count;
    }
    double dt = now_s() - t0;
    printf("fetch_per_s_%s %.0f\n",
           two      ? "store_pg_2_replicas"
           : use_pg ? "store_pg"
           : keep   ? "store_kept_conn"
           : use_store ? "store"
           : attested  ? "ratls"
                       : "mtls",
           total / dt);
    initra_store_stats ss;
    if (use_store && !two && initra_kms_store_stats(k, &ss) == 0)
        printf("audit_fsyncs_per_release%s %.3f\n", keep ? "" : "_new_conn",
               ss.audit_records ? (double)ss.syncs / (double)ss.audit_records : 0.0);
    initra_kms_stop(k2);
    initra_kms_stop(k);
    return 0;
}
