/* Failover across the servers kms_server lists (docs/grpc-ratls.md#several-kms-servers): both Init-RA
 * clients call f->cur and, when it is unreachable or answers UNAVAILABLE, DEADLINE_EXCEEDED or
 * RESOURCE_EXHAUSTED, move on to the next one; after the last they wait (backoff) and start again from the
 * first, up to the deadline. Refusals never reach this file: they end the client. */
#include <string.h>

#include "initra/rpc.h"
#include "init/internal.h"

enum { LEFT_NONE, LEFT_UNREACHABLE, LEFT_UNAVAILABLE, LEFT_NO_REPLY, LEFT_BUSY };

static const char *const left_what[] = {"", "unreachable", "answered UNAVAILABLE", "did not reply in time",
                                        "answered RESOURCE_EXHAUSTED"};

void init_failover_start(init_failover *f, const initra_init_conf *c, int aecs, FILE *log)
{
    memset(f, 0, sizeof *f);
    f->c = c;
    f->aecs = aecs;
    f->log = log;
    f->deadline = init_now_ms() + c->deadline_ms;
    f->backoff = c->initial_backoff_ms;
}

int init_failover_moves_on(int code)
{
    return code == INITRA_RPC_UNAVAILABLE || code == INITRA_RPC_DEADLINE_EXCEEDED || code == INITRA_RPC_RESOURCE_EXHAUSTED;
}

/* initra_rpc_call's line without its "rpc TARGET METHOD: " head (the caller names the server). */
static const char *detail(const char *msg)
{
    const char *p = strstr(msg, INITRA_RPC_NO_CONNECTION ": ");
    if (p) return p + strlen(INITRA_RPC_NO_CONNECTION ": ");
    if (!strncmp(msg, "rpc ", 4) && (p = strstr(msg, ": "))) return p + 2;
    return msg;
}

static int classify(int code, const char *msg)
{
    if (code == INITRA_RPC_DEADLINE_EXCEEDED) return LEFT_NO_REPLY;
    if (code == INITRA_RPC_RESOURCE_EXHAUSTED) return LEFT_BUSY;
    return strstr(msg, INITRA_RPC_NO_CONNECTION) ? LEFT_UNREACHABLE : LEFT_UNAVAILABLE;
}

/* "A unreachable, B answered UNAVAILABLE" for every server left so far except `skip` (-1: none). */
static void list_left(const init_failover *f, long skip, char *buf, size_t n)
{
    size_t used = 0;
    buf[0] = 0;
    for (size_t i = 0; i < f->c->n_servers && used < n; i++) {
        if (!f->left[i] || (long)i == skip) continue;
        int w = snprintf(buf + used, n - used, "%s%s %s", used ? ", " : "", f->c->servers[i], left_what[f->left[i]]);
        if (w < 0) break;
        used += (size_t)w;
    }
}

int init_failover_next(init_failover *f, int code, const char *msg, initra_err *err)
{
    const initra_init_conf *c = f->c;
    const char *kind = f->aecs ? "AECS" : "KMS", *lkind = f->aecs ? "aecs" : "kms";
    size_t from = f->cur;
    f->left[from] = (signed char)classify(code, msg);
    snprintf(f->last, sizeof f->last, "%s", detail(msg));
    int wrap = from + 1 == c->n_servers;
    if (init_now_ms() >= f->deadline || (wrap && init_now_ms() + f->backoff >= f->deadline)) {
        if (c->n_servers == 1 && f->left[0] == LEFT_UNREACHABLE)
            return initra_fail(err, "init: %s server %s unreachable for %u ms (last error: %s); check kms_server or %s",
                               kind, c->servers[0], c->deadline_ms, msg, INITRA_KMS_SERVER_ENV);
        if (c->n_servers == 1)
            return initra_fail(err, "init: %s server %s did not serve within %u ms: it %s (last error: %s)", kind,
                               c->servers[0], c->deadline_ms, left_what[f->left[0]], msg);
        char tried[400];
        list_left(f, -1, tried, sizeof tried);
        return initra_fail(err, "init: no %s server served within %u ms: %s (last error, from %s: %s); check kms_server "
                                "or %s",
                           kind, c->deadline_ms, tried, c->servers[from], f->last, INITRA_KMS_SERVER_ENV);
    }
    f->cur = wrap ? 0 : from + 1;
    if (c->n_servers > 1) {
        if (wrap)
            fprintf(f->log, "init: %s %s %s (%.200s), trying %s again in %ld ms\n", lkind, c->servers[from],
                    left_what[f->left[from]], f->last, c->servers[0], f->backoff);
        else
            fprintf(f->log, "init: %s %s %s (%.200s), trying %s\n", lkind, c->servers[from], left_what[f->left[from]],
                    f->last, c->servers[f->cur]);
        fflush(f->log);
    }
    if (wrap) init_backoff(c, f->deadline, &f->backoff);
    return 0;
}

const char *init_failover_before(const init_failover *f, char *buf, size_t n)
{
    char list[300];
    list_left(f, (long)f->cur, list, sizeof list);
    snprintf(buf, n, "%s%s", list[0] ? "; tried before it: " : "", list);
    return buf;
}
