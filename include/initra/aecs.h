/* initra aecs: the AECS (Alibaba Enclave Configuration Service) flavour of Init-RA, docs/protocols.md#aecs.
 *   - Unified Attestation (UA) attributes of an SGX_DCAP report and UA policy matching;
 *   - the AECS digital envelope (AES-256-GCM + RSA-OAEP + RSA PKCS#1 v1.5 SHA-256 signature);
 *   - UA "Passport" reports (quote + collateral) binding an RSA-2048 PKCS#1 public key;
 *   - the AECS secret store (services, secrets, per-secret UA policies) and its spec files. */
#ifndef INITRA_AECS_H
#define INITRA_AECS_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <jansson.h>
#include <openssl/evp.h>

#include "initra/attest.h"
#include "initra/dcap.h"
#include "initra/rpc.h"
#include "initra/sgx.h"
#include "initra/util.h"

/* ================= UA attributes and policies ================= */

/* The attributes, in the order of init_ra_conf.json's ua_policy_* fields. */
enum initra_ua_attr {
    INITRA_UA_STR_TEE_PLATFORM,
    INITRA_UA_HEX_PLATFORM_HW_VERSION,
    INITRA_UA_HEX_PLATFORM_SW_VERSION,
    INITRA_UA_HEX_SECURE_FLAGS,
    INITRA_UA_HEX_PLATFORM_MEASUREMENT,
    INITRA_UA_HEX_BOOT_MEASUREMENT,
    INITRA_UA_STR_TEE_IDENTITY,
    INITRA_UA_HEX_TA_MEASUREMENT,
    INITRA_UA_HEX_TA_DYN_MEASUREMENT,
    INITRA_UA_HEX_SIGNER,
    INITRA_UA_HEX_PROD_ID,
    INITRA_UA_STR_MIN_ISVSVN,
    INITRA_UA_HEX_USER_DATA,
    INITRA_UA_BOOL_DEBUG_DISABLED,
    INITRA_UA_HEX_HASH_OR_PEM_PUBKEY,
    INITRA_UA_HEX_NONCE,
    INITRA_UA_HEX_SPID,
    INITRA_UA_N_ATTRS
};
/* "str_tee_platform", ... (the JSON/proto field names). */
extern const char *const INITRA_UA_ATTR_NAMES[INITRA_UA_N_ATTRS];

#define INITRA_UA_PLATFORM_SGX_DCAP "SGX_DCAP"

/* A set of attribute values (fresh strings). As a report's attributes: NULL = the platform never fills
 * that attribute. As a policy entry: NULL or "" = not checked. */
typedef struct {
    char *v[INITRA_UA_N_ATTRS];
} initra_ua_attrs;

/* A policy: any entry may match (OR); within an entry every non-empty field must match (AND); an empty
 * list matches nothing. Values are normalised when loaded (hex uppercase, decimals canonical, booleans
 * "true"/"false"). */
typedef struct {
    initra_ua_attrs *entries;
    size_t n;
} initra_ua_policy;

/* One entry from init_ra_conf.json's ra_config ua_policy_* fields (strings; missing = empty).
 * *all_empty tells whether no field was set. */
int initra_ua_policy_from_ra_config(const json_t *ra_config, const char *where, initra_ua_policy *out,
                                    int *all_empty, initra_err *err);
void initra_ua_policy_free(initra_ua_policy *p);
/* 1 when the entry pins the enclave: hex_ta_measurement (MRENCLAVE) or hex_signer (MRSIGNER) is set. */
int initra_ua_entry_pinned(const initra_ua_attrs *e);

/* ================= RSA keys (PKCS#1 PEM) ================= */

/* A fresh RSA-2048 key for one boot or one server run (the key a Passport binds): three primes of ~683
 * bits (RFC 8017 multi-prime), about three times faster to generate than two; its public key (n, e) is
 * an ordinary RSA-2048 key to the peer. Never exported (store secrets use aecs_rsa_generate). */
EVP_PKEY *initra_aecs_session_key(initra_err *err);
/* PKCS#1 public key PEM ("-----BEGIN RSA PUBLIC KEY-----"), fresh string. */
char *initra_aecs_rsa_public_pem(EVP_PKEY *k, initra_err *err);

/* ================= Digital envelope ================= */

typedef struct {
    uint8_t *p;
    size_t n;
} initra_bytes;

/* DigitalEnvelopeEncrypted with its SymmetricKeyEncrypted aes_cipher, field for field. */
typedef struct {
    initra_bytes cipher, mac, aad, iv; /* aes_cipher: ciphertext, 16-byte GCM tag, AAD, 12-byte IV */
    initra_bytes encrypted_key;        /* RSA-OAEP (SHA-1, MGF1-SHA-1) of the 32-byte AES key */
    initra_bytes plain_hash;           /* uppercase hex SHA-256 of the plaintext (64 ASCII bytes) */
    initra_bytes plain_hash_sig;       /* RSA PKCS#1 v1.5 SHA-256 signature over plain_hash */
} initra_aecs_envelope;

/* ================= UA reports ================= */

#define INITRA_UA_REPORT_VERSION "1.0"
#define INITRA_UA_REPORT_PASSPORT "Passport"
#define INITRA_UA_REPORT_BGCHECK "BackgroundCheck"

/* UnifiedAttestationReport and UnifiedAttestationAuthReport, field for field (fresh strings). */
typedef struct {
    char *str_report_version;
    char *str_report_type;
    char *str_tee_platform;
    char *json_report;
    char *json_nested_reports;
} initra_ua_report;

typedef struct {
    initra_ua_report report;
    char *pem_public_key;
} initra_ua_auth_report;

void initra_ua_auth_report_free(initra_ua_auth_report *r);

/* Collateral for a quote: initra's bundle JSON text (docs/protocols.md#collateral), converted for json_collateral. */
typedef int (*initra_collateral_fn)(void *ctx, const uint8_t *quote, size_t len, char **json, initra_err *err);

/* A Passport report for SGX_DCAP: a quote over initra_ua_report_data(hex_data, pem) from quote_fn,
 * the collateral from coll_fn, json_report = {"b64_quote": ..., "json_collateral": "<SgxQlQveCollateral
 * JSON>"} (DcapReport, as protobuf's JSON printer writes it). */
int initra_ua_report_create(initra_quote_fn quote_fn, void *quote_ctx, initra_collateral_fn coll_fn, void *coll_ctx,
                            const char *hex_data, const char *pem_public_key, initra_ua_auth_report *out,
                            initra_err *err);

/* Untrusted parse of a report: version "1.0", type Passport, platform SGX_DCAP, json_report a DcapReport
 * object (no other fields: UAL refuses unknown ones) with b64_quote decoding to a quote that parses, and
 * json_collateral a non-empty string (not parsed here). Fresh *quote and *collateral (NUL-terminated). */
int initra_ua_report_parse(const initra_ua_report *r, uint8_t **quote, size_t *quote_len, char **collateral,
                           initra_err *err);

/* Quote verification by the DCAP verifier: 0 when genuine at `at`; fills *body with the enclave report. */
typedef int (*initra_ua_verify_fn)(void *ctx, const uint8_t *quote, size_t len, const char *collateral,
                                   time_t at, initra_sgx_report_body *body, initra_err *err);

/* The DCAP verifier as an initra_ua_verify_fn (ctx = initra_ua_dcap_ctx *): first the quote's own
 * signatures (initra_dcap_quote_signed: cheap, no collateral), then json_collateral is read
 * (aecs_ua_collateral_to_bundle; parsed and checked once per distinct text in dcap's cache) and the
 * quote verified at `at` under dcap's roots; expired collateral fails unless allow_expired_collateral;
 * the TCB status must be in tcb_statuses (n = 0: UpToDate or SWHardeningNeeded). */
typedef struct {
    initra_dcap *dcap;
    int allow_expired_collateral;
    const char *const *tcb_statuses;
    size_t n_tcb_statuses;
    char *status_out;           /* optional: receives the verified quote's TCB status name */
    size_t status_size;
} initra_ua_dcap_ctx;
int initra_ua_dcap_verify(void *ctx, const uint8_t *quote, size_t len, const char *collateral, time_t at,
                          initra_sgx_report_body *body, initra_err *err);

/* Collateral for our own Passport (an initra_collateral_fn, ctx = initra_ua_collateral_src *): the bundle
 * file when `file` is set, else fetched from the PCCS at pccs_url (required then) for the quote's
 * FMSPC and CA (dcap must trust the quote's root). */
typedef struct {
    initra_dcap *dcap;
    const char *file;
    const char *pccs_url;
    const uint8_t *data; /* the bundle already read (instead of file) */
    size_t len;
} initra_ua_collateral_src;
int initra_ua_collateral_from_src(void *ctx, const uint8_t *quote, size_t len, char **json, initra_err *err);

/* ================= Secret store ================= */

enum initra_aecs_secret_type {
    INITRA_AECS_RSA_KEY_PAIR = 0,
    INITRA_AECS_AES256_KEY = 1,
    INITRA_AECS_IMPORT_DATA = 2,
    INITRA_AECS_CERTIFICATE = 3,
    INITRA_AECS_SM2_KEY_PAIR = 4,
    INITRA_AECS_CONFIGURATIONS = 5,
};
#define INITRA_AECS_MAX_IMPORT 10240
#define INITRA_AECS_MAX_NAME 255

/* "RSA_KEY_PAIR", ...; NULL for an unknown value. */
const char *initra_aecs_type_name(int type);

/* Names: [A-Za-z0-9_.-], 1..255 characters. what = "service name" / "secret name". */
int initra_aecs_check_name(const char *name, const char *what, initra_err *err);

typedef struct {
    char *service;
    char *name;
    int type;
    char *data; /* the secret's data string (what the envelope carries); a secret */
    initra_ua_policy policy;
} initra_aecs_secret;

typedef struct {
    char **services;
    size_t n_services;
    initra_aecs_secret *secrets;
    size_t n_secrets;
} initra_aecs_store;

/* The store file:
 *   {"version": 1, "services": ["NAME", ...],
 *    "secrets": [{"service": S, "name": N, "type": "IMPORT_DATA", "data": "...", "policy": [UA entries]}]}
 * A missing file with allow_missing is an empty store. Errors name the file and the JSON path. */
int initra_aecs_store_load(const char *path, int allow_missing, initra_aecs_store *st, initra_err *err);
int initra_aecs_store_from_json(const char *text, size_t len, const char *where, initra_aecs_store *st,
                                initra_err *err);
/* Writes atomically, mode 0600. */
int initra_aecs_store_save(const initra_aecs_store *st, const char *path, initra_err *err);
void initra_aecs_store_free(initra_aecs_store *st);
/* 0 when every secret's policy entries pin mrenclave or mrsigner (aecs_ua_policy_check_pinned); else -1
 * naming `where`, the secret and the entry. The KMS requires it unless accept_any_enclave. */
int initra_aecs_store_check_pinned(const initra_aecs_store *st, const char *where, initra_err *err);

int initra_aecs_store_register_service(initra_aecs_store *st, const char *name, initra_err *err);
/* The secret (service, name) or NULL. */
const initra_aecs_secret *initra_aecs_store_find(const initra_aecs_store *st, const char *service,
                                                 const char *name);
int initra_aecs_store_destroy_secret(initra_aecs_store *st, const char *service, const char *name, initra_err *err);

/* One secret to create, as a spec file describes it. */
typedef struct {
    char *service;
    char *name;
    int type;
    char *data;      /* IMPORT_DATA: required; AES256_KEY / RSA_KEY_PAIR: NULL = generate */
    int pkcs8;       /* RSA_KEY_PAIR: params pkcs_type = pkcs8 */
    int bits;        /* RSA_KEY_PAIR: params bit_length (default 2048) */
    initra_ua_policy policy;
} initra_aecs_spec;

typedef struct {
    initra_aecs_spec *items;
    size_t n;
} initra_aecs_specs;

/* A spec file modelled on AECS's service_secret_policy.yaml, in YAML or JSON (the same tree):
 *   kind: SecretPolicy
 *   secrets:
 *   - spec: {name, type: SECRET_TYPE_IMPORT_DATA|SECRET_TYPE_AES256_KEY|SECRET_TYPE_RSA_KEY_PAIR,
 *            service, readonly, share,
 *            policy: {enclaveMatchAnyRules: [{mrenclave, mrsigner, prodID, minIsvSvn, user_data, spid,
 *                                              debug_disabled, ...or any UA attribute name}]},
 *            params: [{key: pkcs_type, value: pkcs8}, {key: bit_length, value: 2048}]}
 *     data: ...
 * Every unknown key, unsupported type and malformed value is an error naming the file and the path. */
int initra_aecs_specs_parse(const char *text, size_t len, const char *where, initra_aecs_specs *out,
                            initra_err *err);
void initra_aecs_specs_free(initra_aecs_specs *s);

/* Creates the secret described by spec in st (the service must be registered, the name unused):
 * IMPORT_DATA as given (1..10240 bytes), AES256_KEY 64 uppercase hex chars (generated unless given),
 * RSA_KEY_PAIR AECS's JSON form {"privateKey": PEM, "publicKey": PEM} (PKCS#1 PEMs, PKCS#8/SPKI with
 * pkcs8; generated unless given). Other types are refused. */
int initra_aecs_store_create_secret(initra_aecs_store *st, const initra_aecs_spec *spec, initra_err *err);

/* ================= Wire: /kubetee.Aecs/GetEnclaveSecret (proto/aecs.proto) ================= */

#define INITRA_AECS_METHOD "/kubetee.Aecs/GetEnclaveSecret"
#define INITRA_AECS_DEFAULT_PORT 19527
#define INITRA_AECS_MAX_MESSAGE (8u << 20)

/* The server side. The store is read-only while serving; self is the server's Passport (made once, with no
 * nonce) binding the PKCS#1 PEM of key. The client's report is verified with verify at the call time and
 * matched against the secret's policy; its freshness is not needed (the secret goes to the key it binds). */
typedef struct {
    const initra_aecs_store *store;
    EVP_PKEY *key;
    const initra_ua_auth_report *self;
    initra_ua_verify_fn verify;
    void *verify_ctx;
    /* Optional: the secret from elsewhere (the KMS's sealed store) instead of `store`, asked once the
     * client's report verified. INITRA_RPC_OK with a fresh *value (initra_free_secret); NOT_FOUND or
     * PERMISSION_DENIED are answered as a missing secret or a refusing policy (the same denial); any other
     * status as it is; err for the log. */
    int (*lookup)(void *ctx, const char *service, const char *secret, uint8_t **value, size_t *len,
                  initra_err *err);
    void *lookup_ctx;
} initra_aecs_server;

/* The one answer to a client whose report verifies but which may not have the secret it asked for,
 * whether the secret does not exist or its policy does not accept the client. */
#define INITRA_AECS_DENIED_MSG                                                                                 \
    "the AECS server does not release this secret to this enclave (no such secret, or the enclave does not " \
    "satisfy its policy); the server's log says which"
/* One request -> response bytes. Returns the gRPC status (INITRA_RPC_OK with a fresh *resp; otherwise
 * INVALID_ARGUMENT for malformed requests or names, PERMISSION_DENIED when the client's report does not
 * verify, or when the secret does not exist or its policy refuses the client, INTERNAL). err gets the
 * detail, for the server's log (for a policy refusal: the entry, attribute and required value); reply
 * (may be NULL) what the client may be told: the same, except INITRA_AECS_DENIED_MSG for a missing secret
 * or a policy refusal. The policy is decided before existence, so both look alike to the client. */
int initra_aecs_handle(const initra_aecs_server *s, const uint8_t *req, size_t len, time_t now, uint8_t **resp,
                       size_t *resp_len, initra_err *reply, initra_err *err);

/* The client side: its key and Passport, how to verify the server's report, and which server to trust
 * (server_policy NULL = any genuine enclave; the caller warns that the server is not pinned). */
typedef struct {
    EVP_PKEY *key;
    const initra_ua_auth_report *self;
    initra_ua_verify_fn verify;
    void *verify_ctx;
    const initra_ua_policy *server_policy;
} initra_aecs_client;

/* One GetEnclaveSecret call: a fresh nonce (16 random bytes as 32 uppercase hex digits), the request,
 * the call over rpc, and the response opened: the server's report verifies now, matches server_policy,
 * binds its pem_public_key; the envelope opens with our key, is signed by that key and carries the nonce
 * as AAD. *secret is fresh (NUL-terminated beyond *n); free with initra_free_secret(*secret, *n). On failure *code (if
 * non-NULL) tells where: -1 the request could not be made, the gRPC status when the call failed
 * (initra_rpc_call's), 0 when the server answered and its response was refused. */
int initra_aecs_get_secret(const initra_aecs_client *c, initra_rpc_client *rpc, const char *service,
                           const char *secret_name, unsigned deadline_ms, uint8_t **secret, size_t *n, int *code,
                           initra_err *err);

#endif
