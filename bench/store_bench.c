/* The store's numbers for make bench (scripts/bench_store.sh): DIR is a fresh directory.
 *   store_put_s_100k_secrets    100,000 versions of 32 bytes in one initra_store_put_batch
 *   store_mb_100k_secrets       the database's size after them
 *   store_list_ms_100k          initra_store_list over them
 *   store_fetch_us              one initra_store_fetch (mean of 20,000)
 *   store_audit_fsyncs_per_record_8_threads   fsyncs per audit record, 8 threads appending 200 each
 * The seal key is a constant: this measures the store, not EGETKEY. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "initra/store.h"

static int seal_key(void *c, const initra_seal_request *r, uint8_t k[16], initra_err *e)
{
    memset(k, 7, 16);
    return 0;
}
static int count(void *c, const initra_store_entry *e)
{
    ++*(size_t *)c;
    return 0;
}
static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}
static void *auditor(void *arg)
{
    initra_audit_rec r = {.protocol = "grpc_ratls", .op = "fetch", .decision = "released"};
    initra_err err;
    for (int i = 0; i < 200; i++)
        if (initra_store_audit(arg, &r, &err)) {
            fprintf(stderr, "store_bench: %s\n", err.msg);
            exit(1);
        }
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc != 2) return fprintf(stderr, "usage: store_bench DIR\n"), 2;
    char path[4096];
    snprintf(path, sizeof path, "%s/bench.db", argv[1]);
    initra_sgx_report_body self = {0};
    initra_store_opts o = {.path = path, .seal_key = seal_key, .self = &self};
    initra_err err, why;
    initra_store *s = initra_store_open(&o, &err);
    if (!s) return fprintf(stderr, "store_bench: %s\n", err.msg), 1;
    enum { N = 100000 };
    initra_store_put_item *it = calloc(N, sizeof *it);
    char(*names)[16] = calloc(N, 16);
    uint8_t v[32] = {1};
    for (int i = 0; i < N; i++) {
        snprintf(names[i], 16, "s%d", i);
        it[i] = (initra_store_put_item){.ns = "default", .name = names[i], .type = "aes256", .value = v, .len = 32};
    }
    double a = now();
    if (initra_store_put_batch(s, it, N, &err)) return fprintf(stderr, "store_bench: %s\n", err.msg), 1;
    double b = now();
    size_t n = 0;
    if (initra_store_list(s, NULL, count, &n, &err) || n != N) return fprintf(stderr, "store_bench: list\n"), 1;
    double c = now();
    for (int i = 0; i < 20000; i++) {
        initra_store_value val;
        if (initra_store_fetch(s, "default", names[(i * 5) % N], NULL, 0, &val, &why, &err) != INITRA_STORE_FOUND)
            return fprintf(stderr, "store_bench: fetch: %s\n", err.msg), 1;
        initra_store_value_free(&val);
    }
    double d = now();
    initra_store_stats s0, s1;
    initra_store_get_stats(s, &s0);
    pthread_t t[8];
    for (int i = 0; i < 8; i++) pthread_create(&t[i], NULL, auditor, s);
    for (int i = 0; i < 8; i++) pthread_join(t[i], NULL);
    initra_store_get_stats(s, &s1);
    initra_store_close(s);
    struct stat st;
    if (stat(path, &st)) return 1;
    printf("store_put_s_100k_secrets %.2f\n", b - a);
    printf("store_mb_100k_secrets %.1f\n", (double)st.st_size / 1e6);
    printf("store_list_ms_100k %.1f\n", (c - b) * 1e3);
    printf("store_fetch_us %.1f\n", (d - c) / 20000 * 1e6);
    printf("store_audit_fsyncs_per_record_8_threads %.2f\n",
           (double)(s1.syncs - s0.syncs) / (double)(s1.audit_records - s0.audit_records));
    free(it);
    free(names);
    return 0;
}
