/* KMS log lines, shared by the GRPC-RATLS and AECS servers. Whatever a line echoes (names a client
 * sent, error text) is escaped, so one request makes one line and no client can forge another. */
#include <stdio.h>
#include <time.h>

#include "initra/util.h"
#include "kms/internal.h"

void kms_log(FILE *f, pthread_mutex_t *lock, const char *fmt, ...)
{
    char line[768];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    char esc[4 * sizeof line];
    initra_escape(line, esc, sizeof esc);
    time_t now = time(NULL);
    struct tm tm;
    char ts[32];
    gmtime_r(&now, &tm);
    strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%SZ", &tm);
    pthread_mutex_lock(lock);
    fprintf(f, "%s kms: %s\n", ts, esc);
    fflush(f);
    pthread_mutex_unlock(lock);
}
