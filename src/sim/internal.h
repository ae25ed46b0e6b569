/* Internals of the simulated SGX platform (the files of src/sim). Not a public API. */
#ifndef INITRA_SIM_INTERNAL_H
#define INITRA_SIM_INTERNAL_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "initra/attest.h"
#include "initra/dcap.h"
#include "initra/util.h"

/* ---- the platform's fixed parameters (documented in docs/architecture.md, "The simulated platform") ---- */
#define SIM_FMSPC_HEX "F0515A000000"
#define SIM_PCE_SVN 13
#define SIM_QE_SVN 8
#define SIM_QE_PROD_ID 1
#define SIM_QE_ATTR_FLAGS 0x11ull /* INIT | PROVISIONKEY, as Intel's QE */
#define SIM_QE_ATTR_XFRM 0xe7ull
#define SIM_QE_MRSIGNER_HEX "32759258531A032710BA3BA3FE74B4F1AAF058FB973AC54F75402872959BBCB5"
#define SIM_QE_MRENCLAVE_HEX "9B05DDD796BCF285539DD9B241EFCA262936876B16463E0B6462F8EAED6D8F62"
#define SIM_QE_MISCSELECT "00000000"
#define SIM_QE_MISCSELECT_MASK "FFFFFFFF"
#define SIM_QE_ATTRIBUTES "11000000000000000000000000000000"
#define SIM_QE_ATTRIBUTES_MASK "FBFFFFFFFFFFFFFF0000000000000000"
#define SIM_CERT_DAYS_ROOT (20 * 365)
#define SIM_CERT_DAYS_CA (15 * 365)
#define SIM_CERT_DAYS_LEAF (10 * 365)
#define SIM_COLLATERAL_DAYS 30
#define SIM_REFRESH_DAYS 7 /* regenerate the dated collateral when fewer days remain */

/* The platform's 16 TCB component SVNs; CPUSVN is the same 16 bytes (TCB type 0). */
extern const uint8_t SIM_COMP_SVN[16];

/* ---- the platform's seal secret (seal.c): the root of its EGETKEY ---- */
#define SIM_SEAL_SECRET_FILE "seal_secret"
#define SIM_SEAL_SECRET_SIZE 32
/* Writes 32 fresh random bytes to dir/seal_secret (0600, atomically). */
int sim_seal_secret_make(const char *dir, initra_err *err);
/* Reads dir/seal_secret, making it first when missing (the caller holds the platform lock). */
int sim_seal_secret_load(const char *dir, uint8_t out[SIM_SEAL_SECRET_SIZE], initra_err *err);
/* The derivation behind initra_sim_seal_key, given the secret and the platform's CPUSVN. */
int sim_seal_derive(const uint8_t secret[SIM_SEAL_SECRET_SIZE], const uint8_t platform_cpu_svn[16],
                    const initra_sgx_report_body *id, const initra_seal_request *r, uint8_t key[16], initra_err *err);

/* ---- PKI helpers (sim_pki.c) ---- */
enum sim_cert_kind { SIM_CERT_ROOT, SIM_CERT_CA, SIM_CERT_LEAF };

EVP_PKEY *sim_keygen(initra_err *err);
/* A certificate for subject_key named cn, issued by issuer/issuer_key (both NULL: self-signed root).
 * ext_der: the SGX extension's value to add (PCK leaf), or NULL. */
X509 *sim_cert_issue(EVP_PKEY *subject_key, const char *cn, enum sim_cert_kind kind, X509 *issuer,
                     EVP_PKEY *issuer_key, const uint8_t *ext_der, size_t ext_len, time_t now, long days,
                     initra_err *err);
/* An empty CRL issued by issuer, DER in a fresh buffer (free()). */
int sim_crl_der(X509 *issuer, EVP_PKEY *key, long number, time_t now, long days, uint8_t **der, size_t *len,
                initra_err *err);
/* ECDSA P-256 / SHA-256 over msg, as 64-byte big-endian r||s. */
int sim_sign_rs(EVP_PKEY *key, const uint8_t *msg, size_t n, uint8_t out[64], initra_err *err);
/* The uncompressed public point x||y of a P-256 key. */
int sim_pubkey_xy(EVP_PKEY *key, uint8_t out[64], initra_err *err);

/* PEM text of a key (PKCS#8) or certificate; DER of a certificate. Fresh buffers (free()). */
int sim_key_pem(EVP_PKEY *key, char **pem, size_t *len, initra_err *err);
int sim_cert_pem(X509 *cert, char **pem, size_t *len, initra_err *err);
int sim_cert_der(X509 *cert, uint8_t **der, size_t *len, initra_err *err);
/* Loading from files of the platform directory; errors name the file. */
EVP_PKEY *sim_load_key(const char *dir, const char *name, initra_err *err);
X509 *sim_load_cert(const char *dir, const char *name, initra_err *err);

/* "YYYY-MM-DDTHH:MM:SSZ" */
void sim_iso_time(time_t t, char out[21]);

/* ---- keys and certificates of a platform ---- */
typedef struct {
    X509 *root, *pck_ca, *pck, *tcb;
    EVP_PKEY *root_key, *pck_ca_key, *pck_key, *tcb_key, *attest_key;
} sim_pki;
void sim_pki_free(sim_pki *k);

/* ---- dated collateral (sim_collateral.c) ---- */
typedef struct {
    time_t now;          /* issue time */
    const char *status;  /* the platform's TCB status */
    json_t *advisories;  /* array of advisory ID strings */
    long tcb_eval;       /* tcbEvaluationDataNumber */
    long crl_number;
    int qe_svn;
} sim_dated;

typedef struct {
    uint8_t *root_crl, *pck_crl;
    size_t root_crl_len, pck_crl_len;
    char *tcb_info, *qe_identity; /* exact signed texts */
    char *bundle;                 /* the collateral bundle JSON */
} sim_collateral;

/* 0, or -1 with an error listing the valid statuses. */
int sim_check_status(const char *status, initra_err *err);
/* "ID,ID,..." (NULL or "" = none) as a JSON array; NULL with err on a malformed list. */
json_t *sim_parse_advisories(const char *list, initra_err *err);
int sim_collateral_make(const sim_dated *d, const sim_pki *k, sim_collateral *c, initra_err *err);
void sim_collateral_free(sim_collateral *c);

#endif
