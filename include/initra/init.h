/* initra init: the Init-RA client that runs first inside the enclave (docs/grpc-ratls.md, docs/aecs.md).
 * Reads /etc/init_ra_conf.json (Occlum's GRPC-RATLS or AECS schema), fetches every key from the KMS it
 * has verified, and writes them all or none. */
#ifndef INITRA_INIT_H
#define INITRA_INIT_H

#include <stddef.h>
#include <stdint.h>

#include "initra/aecs.h"
#include "initra/policy.h"
#include "initra/util.h"

#define INITRA_INIT_CONF_DEFAULT "/etc/init_ra_conf.json"
#define INITRA_KMS_SERVER_ENV "OCCLUM_INIT_RA_KMS_SERVER"
#define INITRA_UA_PCCS_ENV "UA_ENV_PCCS_URL"

enum { INITRA_INIT_GRPC_RATLS = 0, INITRA_INIT_AECS = 1 };

typedef struct {
    char *key;  /* secret name at the KMS */
    char *path; /* absolute path to write it to */
    char *service; /* AECS: the service (namespace) holding the key */
    int base64;    /* AECS: "encode": "base64", decode before writing */
} initra_init_key;

typedef struct {
    int flavour;      /* INITRA_INIT_GRPC_RATLS or INITRA_INIT_AECS (detected from the schema) */
    char *kms_server; /* host:port, after the OCCLUM_INIT_RA_KMS_SERVER override */
    char host[256];
    uint16_t port;
    initra_init_key *keys;
    size_t n_keys;
    initra_policy *server_policy; /* GRPC-RATLS ra_config: Occlum or initra format */
    /* AECS: */
    initra_ua_policy ua_policy;  /* ra_config ua_policy_* as one entry */
    int ua_policy_set;           /* some ua_policy_* field is set (else any genuine enclave is accepted) */
    int ua_policy_unpinned;      /* neither ua_policy_hex_ta_measurement nor _hex_signer (accept_any_enclave) */
    char *ua_pccs_url;           /* ua_env_pccs_url: collateral for our own report (UA_ENV_PCCS_URL is not
                                    read: the environment is the host's) */
    char *ua_dcap_pccs_url;      /* ra_config ua_dcap_pccs_url (a fallback PCCS) */
    char unused[400];            /* set but unused ra_config fields (ua_ias_*, ua_uas_*, ua_dcap_lib_path) */
    /* Optional "initra" section (Occlum ignores unknown keys): */
    unsigned deadline_ms;        /* total time for connecting and fetching, default 30000 */
    unsigned initial_backoff_ms; /* first retry delay, doubling, default 100 */
    unsigned max_backoff_ms;     /* default 2000 */
    unsigned call_timeout_ms;    /* per GetSecret call, default 5000 */
    char *collateral;            /* collateral bundle file for verifying the KMS's quote (optional) */
    char *pccs_url;              /* or a PCCS (optional) */
    char *pccs_ca;               /* PEM CA file for TLS to that PCCS (optional; default the system's store) */
    char **trust_roots;          /* extra trusted roots (DER files), e.g. the sim root */
    size_t n_trust_roots;
    uint8_t sha512[64];          /* SHA-512 of the exact bytes parsed (the config_id binding checks it) */
    int ratls_format;            /* our certificate: enum initra_ratls_format, 0 = INITRA_RATLS_DEFAULT_FORMAT */
    int accept_any_enclave;      /* explicit opt-out: ra_config may pin neither MRENCLAVE nor MRSIGNER (warned) */
    int occlum_image;            /* INITRA_IMAGE_*: set by initra_init_fetch from image_config.json */
} initra_init_conf;

/* Loads and validates init_ra_conf.json, read once from a regular file (a FIFO or device is refused). The AECS schema is recognised by ua_env_pccs_url, a "service" in
 * kms_keys or ua_* keys in ra_config; otherwise it is GRPC-RATLS. Every error names the file, the JSON
 * path and the value. ra_config must pin the KMS by MRENCLAVE or MRSIGNER unless the initra section sets
 * "accept_any_enclave": true (then initra_init_conf_warning says so). */
int initra_init_conf_load(const char *path, initra_init_conf *c, initra_err *err);
void initra_init_conf_free(initra_init_conf *c);
/* NULL, or (accept_any_enclave with a ra_config that pins nothing) the warning line to log at every use. */
const char *initra_init_conf_warning(const initra_init_conf *c);

/* ---------------- Occlum's two-stage boot (docs/occlum.md) ----------------
 * init runs inside Occlum's two-stage boot when image_config.json lies beside init_ra_conf.json (Occlum's
 * build puts both in initfs/etc/). Then: image_key is fetched with the other keys (encrypted images),
 * MountRootFS mounts the application's image, and only then are the key files written. */
/* The key name both Occlum inits fetch (tools/init_grpc_ratls/src/main.rs:144,
 * tools/init_aecs/src/main.rs:191-192: service "service1"). */
#define INITRA_IMAGE_KEY_NAME "image_key"
#define INITRA_IMAGE_KEY_SERVICE "service1"
/* The parsers of image_config.json and of the key are in initra/attest.h. */

/* One secret to write. */
typedef struct {
    const char *path;
    const uint8_t *data;
    size_t len;
} initra_secret_file;

/* The whole client: attests this enclave (its quote provider), connects to the KMS once over mutual
 * RA-TLS, verifies the server against ra_config, fetches every key (retrying unreachable servers with
 * exponential backoff up to the deadline), then writes all of them. With "config_binding": "config_id"
 * it first checks that c->sha512 (the bytes parsed) is this enclave's CONFIGID, read from a quote of
 * itself. Inside the enclave the PCCS and trust roots come only from c (never $PCCS_URL,
 * $UA_ENV_PCCS_URL or a qcnl file). 0 with *n_written, or -1 with one
 * line naming the cause (server unreachable, server evidence refused and why, this enclave refused by
 * the server, unknown key). Nothing is written unless every key arrived. */
#define INITRA_INIT_EXITING 0x1u /* the caller exits right after success: skip gRPC's teardown */
int initra_init_fetch(const char *conf_path, const initra_init_conf *c, unsigned flags, int *n_written,
                      initra_err *err);

#endif
