/* Internal to init (its files, unit tests and fuzz targets): what the GRPC-RATLS and AECS clients share,
 * and the configuration and reply parsers. */
#ifndef INITRA_INIT_INTERNAL_H
#define INITRA_INIT_INTERNAL_H

#include <stdio.h>

#include "initra/attest.h"
#include "initra/init.h"

long init_now_ms(void);
/* INITRA_INIT_TRACE=1: each phase's end, in ms since the client started, on stderr. */
void init_trace(const char *what);
/* Before a retry: -1 when waiting backoff would pass the deadline; else sleeps and doubles *backoff up
 * to max_backoff_ms. */
int init_backoff(const initra_init_conf *c, long deadline, long *backoff);
/* The per-call deadline: call_timeout_ms, or what is left until deadline. */
unsigned init_call_ms(const initra_init_conf *c, long deadline);

/* Writes every key (data[i], lens[i]) to its path, all or none; *n_written on success. */
int init_write_keys(const initra_init_conf *c, uint8_t *const *data, const size_t *lens, int *n_written,
                    initra_err *err);

/* The end of both clients: without an Occlum image config, init_write_keys; with one, the image_key
 * (data[0] when encrypted) parsed, MountRootFS, the key zeroized, then the other keys written. */
int init_finish(initra_attester *a, const initra_init_conf *c, uint8_t *const *data, const size_t *lens,
                int *n_written, initra_err *err);
/* "kms_keys[i]" (index in the user's file) or the image key, for messages. */
const char *init_key_ref(const initra_init_conf *c, size_t i, char *buf, size_t n);
/* INITRA_INIT_TRACE=1: each phase's end, in ms since the client started, on stderr. */
void init_trace(const char *what);

/* ---- failover across c->servers (src/init/failover.c), shared by both clients ----
 * The client calls server f->cur; after a failed call it asks init_failover_next what to do. */
typedef struct {
    const initra_init_conf *c;
    int aecs;              /* the AECS client: "aecs"/"AECS" in messages, else "kms"/"KMS" */
    FILE *log;             /* stderr; the per-server lines */
    size_t cur;            /* the server to call */
    long deadline, backoff;
    signed char left[INITRA_INIT_MAX_SERVERS]; /* why each server was last left (0: not tried) */
    char last[512];        /* the last error, for the final message */
} init_failover;

void init_failover_start(init_failover *f, const initra_init_conf *c, int aecs, FILE *log);
/* 1 when a failed call with gRPC status `code` moves on to the next server (UNAVAILABLE: unreachable, no
 * handshake, or the server said so; DEADLINE_EXCEEDED; RESOURCE_EXHAUSTED: at its connection cap), 0 when
 * the failure is final (the server refused this enclave, has no such key, or answered otherwise). */
int init_failover_moves_on(int code);
/* After a call to f->cur failed with a code that moves on (msg: initra_rpc_call's line): 0 with f->cur
 * the server to call next (on a new channel when it changed; one line on f->log when there are several
 * servers), after waiting the backoff when every server failed in turn; -1 when that wait would pass the
 * deadline, with err naming every server tried and why (one server: "<Kind> server A unreachable for N ms
 * (last error: ...)"). */
int init_failover_next(init_failover *f, int code, const char *msg, initra_err *err);
/* For a final error at f->cur: "" when no other server was tried before, else "; tried before it: A
 * unreachable, B answered UNAVAILABLE" (buf). */
const char *init_failover_before(const init_failover *f, char *buf, size_t n);

/* The AECS client: the rest of initra_init_fetch once the attester is found and the binding checked. */
int init_fetch_aecs(initra_attester *a, const char *conf_path, const initra_init_conf *c, unsigned flags,
                    int *n_written, const char **server, initra_err *err);

/* The same from text; `file` names it in errors. */
int init_conf_parse(const char *text, size_t len, const char *file, initra_init_conf *c, initra_err *err);
/* kms_server: HOST:PORT entries separated by commas (spaces and tabs around each trimmed; none empty,
 * none repeated, at most INITRA_INIT_MAX_SERVERS) -> c->servers, c->n_servers, c->kms_server (a copy of
 * list), c->host and c->port (the first entry's). -1 with err (no prefix) otherwise. */
int init_parse_servers(const char *list, initra_init_conf *c, initra_err *err);
/* "host:port", "[v6]:port": host and port 1-65535. */
int init_parse_host_port(const char *s, char *host, size_t host_size, uint16_t *port, initra_err *err);
/* Writes every file or none: parent directories opened from "/" one component at a time without
 * following symbolic links (created 0700 and their parents synced), each file through a 0600 temp file in
 * its directory, synced, and only when all temp files exist are they renamed into place; a failure while
 * renaming puts back the files already replaced (their previous versions are kept aside until the end). */
int init_write_secret_files(const initra_secret_file *files, size_t n, initra_err *err);
/* SecretReply.secret -> the secret's exact bytes. A text that starts and ends with '"' is read as a
 * JSON string (Occlum's server, and initra's KMS, reply cJSON_Print of the base64 string, quotes
 * included); the text, or that string, must then be standard base64 with its padding ('=' to a
 * multiple of 4 characters), which fixes the exact length. 0 with a fresh buffer, or -1 with err. */
int init_grsecret_decode(const char *secret, uint8_t **out, size_t *n, initra_err *err);

#endif
