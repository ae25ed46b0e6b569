/* initra ratls: RA-TLS certificates. A self-signed certificate carries one or two quotes whose
 * report_data binds the certificate's key (docs/protocols.md#ra-tls). The evidence extensions, as on the wire:
 *   Occlum grpc_ratls   OID 1.2.840.113741.1          raw quote  report_data[0..32] = SHA-256(DER SPKI), [32..64] zero
 *                       (Occlum's generator zeroes [32..64]; its verifier compares [0..32] only)
 *   Gramine legacy      OID 0.6.9.42.840.113741.1337.6 raw quote  report_data[0..32] = SHA-256(DER SPKI)
 *                       (Gramine's ra_tls.h gives mbedTLS the OID's content bytes *with* their DER type and
 *                       length, 06 09 2A 86 48 86 F8 4D 8A 39 06, and mbedTLS wraps them again: the extension's
 *                       OID is DER 06 0B 06 09 2A ... 06, i.e. 0.6.9.42.840.113741.1337.6. The intended
 *                       1.2.840.113741.1337.6 is read too: Gramine finds either by a byte search.)
 *   TCG DICE (interop)  OID 2.23.133.5.4.9            CBOR tag 60000 [bstr quote, bstr claims],
 *                       report_data[0..32] = SHA-256(claims), claims {"pubkey-hash": bstr(hash-entry of DER SPKI)}
 * Certificates carry these combinations (anything else is refused, as are two extensions of one kind):
 *   Occlum alone; Gramine v1.0-1.7 (legacy alone); TCG alone; Gramine v1.8+ (legacy + TCG, each with its own
 *   quote); initra's combined form (Occlum + TCG, each with its own quote). Where TCG is present it decides
 *   (as in Gramine's verifier) and the other quote must bind the same key and carry the same report body
 *   apart from report_data. */
#ifndef INITRA_RATLS_H
#define INITRA_RATLS_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <openssl/x509.h>

#include "initra/attest.h"
#include "initra/sgx.h"
#include "initra/util.h"

#define INITRA_OID_RATLS_OCCLUM "1.2.840.113741.1"
#define INITRA_OID_RATLS_GRAMINE "0.6.9.42.840.113741.1337.6"       /* Gramine's legacy OID as on the wire */
#define INITRA_OID_RATLS_GRAMINE_INTENDED "1.2.840.113741.1337.6" /* the same, as Gramine meant it */
#define INITRA_OID_RATLS_TCG "2.23.133.5.4.9"
#define INITRA_CBOR_TAG_INTEL_QUOTE 60000

/* What a certificate carries (ratls_evidence) or is to carry (initra_ratls_create: OCCLUM, TCG,
 * OCCLUM_TCG). */
enum initra_ratls_format {
    INITRA_RATLS_OCCLUM = 1,      /* Occlum alone */
    INITRA_RATLS_GRAMINE = 2,     /* Gramine legacy alone (Gramine v1.0-1.7) */
    INITRA_RATLS_TCG = 3,         /* TCG alone */
    INITRA_RATLS_OCCLUM_TCG = 4,  /* Occlum + TCG: accepted by Occlum's and by Gramine's verifiers */
    INITRA_RATLS_GRAMINE_TCG = 5, /* Gramine legacy + TCG (Gramine v1.8+) */
};
/* What initra's KMS and init present unless configured otherwise. Occlum's verifier walks the extension
 * list for its own OID and ignores the TCG one; Gramine's searches for TCG first. */
#define INITRA_RATLS_DEFAULT_FORMAT INITRA_RATLS_OCCLUM_TCG

/* "occlum", "tcg", "occlum+tcg" -> format to create; 0 for anything else. */
int initra_ratls_format_parse(const char *name);
/* The short name: "occlum", "gramine", "tcg", "occlum+tcg", "gramine+tcg" ("unknown" otherwise). */
const char *initra_ratls_format_short(int format);

/* A fresh EC P-256 key and a self-signed certificate valid from now-5min to now+valid_seconds, carrying
 * quotes from quote_fn in `format` (OCCLUM, TCG, or OCCLUM_TCG: two quotes, each binding the key);
 * quote_fn NULL makes a plain certificate without evidence (for --insecure-no-attestation and
 * baselines). PEM outputs, freshly allocated; free key_pem with initra_free_secret(key_pem, strlen(key_pem)). */
int initra_ratls_create(initra_quote_fn quote_fn, void *ctx, int format, long valid_seconds, char **cert_pem,
                        char **key_pem, initra_err *err);

/* ---- Verifying a peer: evidence, then full DCAP verification of its quote ---- */

typedef struct {
    const char *const *trust_roots; /* extra trusted roots (DER or PEM files), e.g. the sim root */
    size_t n_trust_roots;
    const char *collateral;         /* a collateral bundle file, or */
    const char *pccs_url;           /* a PCCS / Intel PCS base URL (one of the two is required; the
                                       environment is never read) */
    const char *cache_dir;          /* on-disk collateral cache for the PCCS (NULL: none) */
    const uint8_t *const *trust_root_data; /* roots already read (DER or PEM bytes), besides trust_roots */
    const size_t *trust_root_lens;
    size_t n_trust_root_data;
    const uint8_t *collateral_data; /* a bundle already read (instead of the collateral file) */
    size_t collateral_len;
    const char *pccs_ca;            /* PEM CA file for TLS to the PCCS (NULL: the system's CA store) */
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
    uint32_t tcb_eval_data_number;  /* of the collateral that verified the quote */
    int collateral_expired;         /* verification passed only with collateral outside its window */
    char root[16];                  /* "intel", "sim", "custom" */
    uint8_t cert_hash[32];          /* SHA-256 of the peer certificate (DER) */
    uint8_t quote_sha256[32];       /* SHA-256 of the peer's quote (the KMS's audit records) */
} initra_ratls_peer;

initra_ratls_verifier *initra_ratls_verifier_new(const initra_ratls_verifier_opts *o, initra_err *err);
void initra_ratls_verifier_free(initra_ratls_verifier *v);
/* How far a peer certificate's notBefore may be ahead of `now` (clock skew between machines). */
#define INITRA_RATLS_MAX_SKEW 300
/* Verifies the peer certificate (PEM) at time `now`: validity dates (notBefore up to INITRA_RATLS_MAX_SKEW
 * seconds ahead is accepted; no dates for Gramine-made certificates, see ratls_format_is_gramine),
 * evidence and key binding, then the quote with DCAP (chains, CRLs, TCB, QE, signatures). Collateral
 * outside its validity window is let through
 * with peer->collateral_expired set, so that the policy decides (and by default refuses). Results are
 * cached per certificate until the earliest of its notAfter (where checked), the collateral's expiry
 * and 10 minutes.
 * SGX quotes only. 0, or -1 with err naming the check that failed. */
int initra_ratls_verify_peer(initra_ratls_verifier *v, const char *pem, time_t now, initra_ratls_peer *peer,
                             initra_err *err);

/* SHA-256 of a certificate's SubjectPublicKeyInfo (DER), the certificate given as PEM: how the KMS
 * configuration's "admins" name an administrator's key. */
int initra_spki_sha256_pem(const char *cert_pem, uint8_t out[32], initra_err *err);

#endif
