/* Verifications per second of one quote with its collateral cached (parsed and signature-checked once),
 * single thread: usage verify_bench QUOTE COLLATERAL AT [SECONDS]. Prints "verify_per_s initra N". */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "initra/dcap.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr, "usage: verify_bench QUOTE COLLATERAL AT [SECONDS]\n");
        return 2;
    }
    initra_err err;
    uint8_t *q, *cb;
    size_t qn, cn;
    if (initra_read_file(argv[1], INITRA_QUOTE_MAX_SIZE, &q, &qn, &err) || initra_read_file(argv[2], 16u << 20, &cb, &cn, &err)) {
        fprintf(stderr, "verify_bench: %s\n", err.msg);
        return 2;
    }
    time_t at = (time_t)strtoll(argv[3], NULL, 10);
    double secs = argc > 4 ? atof(argv[4]) : 3.0;
    initra_dcap *d = initra_dcap_new(&err);
    initra_collateral *c = d ? initra_dcap_collateral(d, (const char *)cb, cn, &err) : NULL;
    if (!c) {
        fprintf(stderr, "verify_bench: %s\n", err.msg);
        return 1;
    }
    initra_dcap_result r;
    if (initra_dcap_verify(d, q, qn, c, at, 0, &r)) { /* warms the PCK chain cache */
        fprintf(stderr, "verify_bench: %s\n", r.error);
        return 1;
    }
    long n = 0;
    double t0 = now(), t;
    do {
        for (int i = 0; i < 100; i++, n++)
            if (initra_dcap_verify(d, q, qn, c, at, 0, &r)) {
                fprintf(stderr, "verify_bench: %s\n", r.error);
                return 1;
            }
        t = now();
    } while (t - t0 < secs);
    printf("verify_per_s initra %.0f\n", (double)n / (t - t0));
    initra_collateral_release(c);
    initra_dcap_free(d);
    free(q);
    free(cb);
    return 0;
}
