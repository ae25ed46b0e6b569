/* initra init: the Init-RA client that runs first inside the enclave (docs/grpc-ratls.md).
 * Reads /etc/init_ra_conf.json (Occlum's GRPC-RATLS schema), fetches every key over one attested
 * connection, and writes them all or none. */
#ifndef INITRA_INIT_H
#define INITRA_INIT_H

#include <stddef.h>
#include <stdint.h>

#include "initra/policy.h"
#include "initra/util.h"

#define INITRA_INIT_CONF_DEFAULT "/etc/init_ra_conf.json"
#define INITRA_KMS_SERVER_ENV "OCCLUM_INIT_RA_KMS_SERVER"

typedef struct {
    char *key;  /* secret name at the KMS */
    char *path; /* absolute path to write it to */
} initra_init_key;

typedef struct {
    char *kms_server; /* host:port, after the OCCLUM_INIT_RA_KMS_SERVER override */
    char host[256];
    uint16_t port;
    initra_init_key *keys;
    size_t n_keys;
    initra_policy *server_policy; /* ra_config: Occlum or initra format */
    /* Optional "initra" section (Occlum ignores unknown keys): */
    unsigned deadline_ms;        /* total time for connecting and fetching, default 30000 */
    unsigned initial_backoff_ms; /* first retry delay, doubling, default 100 */
    unsigned max_backoff_ms;     /* default 2000 */
    unsigned call_timeout_ms;    /* per GetSecret call, default 5000 */
    char *collateral;            /* collateral bundle file for verifying the KMS's quote (optional) */
    char *pccs_url;              /* or a PCCS (optional) */
    char **trust_roots;          /* extra trusted roots (DER files), e.g. the sim root */
    size_t n_trust_roots;
} initra_init_conf;

/* Loads and validates the GRPC-RATLS init_ra_conf.json; every error names the file, the JSON path and
 * the value. */
int initra_init_conf_load(const char *path, initra_init_conf *c, initra_err *err);
void initra_init_conf_free(initra_init_conf *c);

/* "host:port", "[v6]:port": host and port 1-65535. */
int initra_parse_host_port(const char *s, char *host, size_t host_size, uint16_t *port, initra_err *err);

/* One secret to write. */
typedef struct {
    const char *path;
    const uint8_t *data;
    size_t len;
} initra_secret_file;

/* Writes every file or none: parent directories created 0700, each file through a 0600 temp file in
 * its directory, synced, and only when all temp files exist are they renamed into place. */
int initra_write_secret_files(const initra_secret_file *files, size_t n, initra_err *err);

/* The whole client: attests this enclave (its quote provider), connects to the KMS once over mutual
 * RA-TLS, verifies the server against ra_config, fetches every key (retrying unreachable servers with
 * exponential backoff up to the deadline), then writes all of them. With "config_binding": "config_id"
 * it first checks that conf_path hashes to this enclave's CONFIGID. 0 with *n_written, or -1 with one
 * line naming the cause (server unreachable, server evidence refused and why, this enclave refused by
 * the server, unknown key). Nothing is written unless every key arrived. */
int initra_init_fetch(const char *conf_path, const initra_init_conf *c, int *n_written, initra_err *err);

#endif
