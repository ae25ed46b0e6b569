/* initra ratls: RA-TLS certificates. A self-signed certificate for a fresh EC P-256 key carries a quote
 * whose report_data binds that key (PROTOCOLS.md section 4). Three evidence formats are read:
 *   Occlum grpc_ratls   OID 1.2.840.113741.1        raw quote  report_data[0..32] = SHA-256(DER SPKI), [32..64] zero
 *   Gramine / Intel     OID 1.2.840.113741.1337.6   raw quote  report_data[0..32] = SHA-256(DER SPKI)
 *   TCG DICE (interop)  OID 2.23.133.5.4.9          CBOR tag 60000 [bstr quote, bstr claims],
 *                       report_data[0..32] = SHA-256(claims), claims {"pubkey-hash": hash-entry of DER SPKI}
 * Occlum's format is emitted by default (Occlum peers accept it), TCG's on request. */
#ifndef INITRA_RATLS_H
#define INITRA_RATLS_H

#include <stddef.h>
#include <stdint.h>

#include <time.h>

#include <openssl/x509.h>

#include "initra/sgx.h"

#include "initra/util.h"

#define INITRA_OID_RATLS_OCCLUM "1.2.840.113741.1"
#define INITRA_OID_RATLS_GRAMINE "1.2.840.113741.1337.6"
#define INITRA_OID_RATLS_TCG "2.23.133.5.4.9"
#define INITRA_CBOR_TAG_INTEL_QUOTE 60000

enum initra_ratls_format { INITRA_RATLS_OCCLUM = 1, INITRA_RATLS_GRAMINE = 2, INITRA_RATLS_TCG = 3 };

/* Produces a quote over 64 bytes of report data (an attester, the sim platform, ...). */
typedef int (*initra_quote_fn)(void *ctx, const uint8_t report_data[64], uint8_t **quote, size_t *len,
                               initra_err *err);

/* A fresh EC P-256 key and a self-signed certificate valid from now-5min to now+valid_seconds, carrying
 * a quote from quote_fn in `format` (OCCLUM or TCG); quote_fn NULL makes a plain certificate without
 * evidence (for --insecure-no-attestation and baselines). PEM outputs, freshly allocated; free key_pem with
 * initra_free_secret(key_pem, strlen(key_pem)). */
int initra_ratls_create(initra_quote_fn quote_fn, void *ctx, int format, long valid_seconds, char **cert_pem,
                        char **key_pem, initra_err *err);

/* Finds the evidence in a peer certificate (any of the three formats, by a real DER/CBOR parser),
 * checks the certificate's self-signature and that the quote's report_data binds the certificate's key.
 * On success *quote is a fresh copy of the quote bytes and *format the format found. */
int initra_ratls_evidence(X509 *cert, uint8_t **quote, size_t *quote_len, int *format, initra_err *err);

/* Parses one PEM certificate. NULL with err on failure. */
X509 *initra_ratls_pem_cert(const char *pem, initra_err *err);

const char *initra_ratls_format_name(int format);

/* ---- Verifying a peer: evidence, then full DCAP verification of its quote ---- */

typedef struct {
    const char *const *trust_roots; /* extra trusted roots (DER or PEM files), e.g. the sim root */
    size_t n_trust_roots;
    const char *collateral;         /* a collateral bundle file, or */
    const char *pccs_url;           /* a PCCS / Intel PCS base URL (NULL with no collateral: $PCCS_URL / qcnl) */
    const char *cache_dir;          /* on-disk collateral cache for the PCCS (NULL: none) */
    const uint8_t *const *trust_root_data; /* roots already read (DER or PEM bytes), besides trust_roots */
    const size_t *trust_root_lens;
    size_t n_trust_root_data;
    const uint8_t *collateral_data; /* a bundle already read (instead of the collateral file) */
    size_t collateral_len;
} initra_ratls_verifier_opts;

typedef struct initra_ratls_verifier initra_ratls_verifier;

/* What a verified peer proved. The caller applies its policy to it. */
typedef struct {
    initra_sgx_report_body report;  /* the peer enclave's report body */
    int format;                     /* enum initra_ratls_format */
    char status[40];                /* TCB status name */
    char advisories[64][32];
    const char *advisory_ptrs[64];  /* pointers into advisories, for policy evidence */
    size_t n_advisories;
    int collateral_expired;         /* verification passed only with collateral outside its window */
    char root[16];                  /* "intel", "sim", "custom" */
    uint8_t cert_hash[32];          /* SHA-256 of the peer certificate (DER) */
} initra_ratls_peer;

initra_ratls_verifier *initra_ratls_verifier_new(const initra_ratls_verifier_opts *o, initra_err *err);
void initra_ratls_verifier_free(initra_ratls_verifier *v);
/* Verifies the peer certificate (PEM) at time `now`: evidence and key binding, then the quote with
 * DCAP (chains, CRLs, TCB, QE, signatures). Collateral outside its validity window is let through
 * with peer->collateral_expired set, so that the policy decides (and by default refuses). Results are
 * cached per certificate until the earliest of its notAfter, the collateral's expiry and 10 minutes.
 * SGX quotes only. 0, or -1 with err naming the check that failed. */
int initra_ratls_verify_peer(initra_ratls_verifier *v, const char *pem, time_t now, initra_ratls_peer *peer,
                             initra_err *err);

#endif
