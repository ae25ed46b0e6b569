/* Minimal unit-test helpers: each CHECK prints "ok - ..." or "not ok - ..." (counted by tests/run.sh). */
#ifndef INITRA_CHECK_H
#define INITRA_CHECK_H

#include <unistd.h>
#include <stdio.h>
#include <stdlib.h>

static int check_failures;
#define CHECK(cond, ...)                                                                \
    do {                                                                                \
        if (cond) {                                                                     \
            printf("ok - ");                                                            \
        } else {                                                                        \
            printf("not ok - %s:%d: (%s) ", __FILE__, __LINE__, #cond);                \
            check_failures++;                                                           \
        }                                                                               \
        printf(__VA_ARGS__);                                                            \
        printf("\n");                                                                   \
    } while (0)
#define CHECK_DONE() return check_failures ? 1 : 0

/* The real-quote vectors: $INITRA_VECTORS, or ../shared/vectors/dcap beside the repo; NULL when absent
 * (tests/run.sh exports INITRA_VECTORS="" then, and has said once that their checks are skipped). */
static inline const char *vectors_dir(void)
{
    const char *v = getenv("INITRA_VECTORS");
    if (v) return *v ? v : NULL;
    return access("../shared/vectors/dcap/manifest.json", F_OK) == 0 ? "../shared/vectors/dcap" : NULL;
}
#endif
