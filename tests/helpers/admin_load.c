/* Concurrent admin puts against a KMS, through the attested admin client (initra kms admin's library):
 *   admin_load put HOST:PORT EXPECT.json KEY CERT ROOT.der COLLATERAL N THREADS OUT
 *     N puts of names load-0 .. load-(N-1), 32 random bytes each, from THREADS clients at once (each its own
 *     connection and handshake). Every put the KMS confirmed is written to OUT as it returns, one line
 *     "NAME VERSION SHA256-of-value" (flushed: a test may kill the KMS mid-way and compare). Prints
 *     "done D failed F" at the end; exit 0 even when some failed (the KMS may have been killed).
 *   admin_load list HOST:PORT EXPECT.json KEY CERT ROOT.der COLLATERAL
 *     prints "listed N ms M" (every version, all namespaces).
 * Never prints a value. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/rand.h>
#include <openssl/sha.h>

#include "initra/kms.h"
#include "initra/policy.h"

static initra_kms_admin_opts opts;
static int total, next_i, done, failed;
static FILE *out;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;

static void die(const char *what, const initra_err *e)
{
    fprintf(stderr, "admin_load: %s: %s\n", what, e ? e->msg : "");
    exit(2);
}

static void *worker(void *arg)
{
    (void)arg;
    initra_err e;
    initra_kms_admin *a = initra_kms_admin_connect(&opts, &e);
    if (!a) die("connect", &e);
    for (;;) {
        pthread_mutex_lock(&mu);
        int i = next_i < total ? next_i++ : -1;
        pthread_mutex_unlock(&mu);
        if (i < 0) break;
        char name[32];
        snprintf(name, sizeof name, "load-%d", i);
        uint8_t v[32], h[32];
        RAND_bytes(v, sizeof v);
        SHA256(v, sizeof v, h);
        uint32_t version = 0;
        uint64_t size = 0;
        initra_store_rule rule = {0};
        int rc = initra_kms_admin_put(a, NULL, name, v, sizeof v, &rule, &version, &size, &e);
        pthread_mutex_lock(&mu);
        if (rc == 0) {
            char hex[65];
            for (int k = 0; k < 32; k++) sprintf(hex + 2 * k, "%02x", h[k]);
            fprintf(out, "%s %u %s\n", name, version, hex);
            fflush(out);
            done++;
        } else {
            failed++;
        }
        pthread_mutex_unlock(&mu);
    }
    initra_kms_admin_close(a);
    return NULL;
}

static int count_entry(void *ctx, const initra_store_entry *e)
{
    (void)e;
    ++*(long *)ctx;
    return 0;
}

static char *read_text(const char *path)
{
    initra_err e;
    uint8_t *b;
    size_t n;
    if (initra_read_file(path, 1u << 20, &b, &n, &e)) die(path, &e);
    char *s = realloc(b, n + 1);
    s[n] = 0;
    return s;
}

int main(int argc, char **argv)
{
    int put = argc == 11 && !strcmp(argv[1], "put"), list = argc == 8 && !strcmp(argv[1], "list");
    if (!put && !list) {
        fprintf(stderr, "usage: admin_load put HOST:PORT EXPECT KEY CERT ROOT COLLATERAL N THREADS OUT | "
                        "list HOST:PORT EXPECT KEY CERT ROOT COLLATERAL\n");
        return 2;
    }
    initra_err e;
    json_t *j;
    if (initra_json_load(argv[3], 1u << 20, &j, &e)) die("expect", &e);
    initra_policy *expect = initra_policy_from_json(j, argv[3], &e);
    json_decref(j);
    if (!expect) die("expect", &e);
    static const char *roots[1];
    roots[0] = argv[6];
    opts = (initra_kms_admin_opts){.kms = argv[2],
                                   .cert_pem = read_text(argv[5]),
                                   .key_pem = read_text(argv[4]),
                                   .expect = expect,
                                   .verifier = {.trust_roots = roots, .n_trust_roots = 1, .collateral = argv[7]}};
    if (list) {
        struct timespec t0, t1;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        initra_kms_admin *a = initra_kms_admin_connect(&opts, &e);
        long n = 0;
        if (!a || initra_kms_admin_list(a, NULL, count_entry, NULL, &n, &e)) die("list", &e);
        clock_gettime(CLOCK_MONOTONIC, &t1);
        printf("listed %ld ms %.0f\n", n, (t1.tv_sec - t0.tv_sec) * 1e3 + (t1.tv_nsec - t0.tv_nsec) / 1e6);
        initra_kms_admin_close(a);
        return 0;
    }
    total = atoi(argv[8]);
    int threads = atoi(argv[9]);
    if (total <= 0 || threads <= 0 || threads > 512) return 2;
    if (!(out = fopen(argv[10], "w"))) die(argv[10], NULL);
    pthread_t *ts = calloc((size_t)threads, sizeof *ts);
    for (int i = 0; i < threads; i++) pthread_create(&ts[i], NULL, worker, NULL);
    for (int i = 0; i < threads; i++) pthread_join(ts[i], NULL);
    fclose(out);
    printf("done %d failed %d\n", done, failed);
    return 0;
}
