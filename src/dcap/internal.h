/* Internal to dcap (its files, unit tests and fuzz targets; not a public API): what collateral.c, x509.c,
 * verify.c and pccs.c share, and the parsers of untrusted collateral pieces. */
#ifndef INITRA_DCAP_INTERNAL_H
#define INITRA_DCAP_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "initra/dcap.h"

/* Parsed collateral pieces (parsers at the end of this file). */
typedef struct initra_tcb_info initra_tcb_info;
typedef struct initra_qe_identity initra_qe_identity;
typedef struct initra_crl initra_crl;

#define DCAP_MAX_ROOTS 8
#define DCAP_CACHE_SLOTS 128

/* A validity window of one item ("TCB info", "PCK certificate", ...). */
typedef struct {
    time_t from, until;
    char what[64];
} dcap_window;

#define DCAP_MAX_WINDOWS 16

/* Advisory ID list (short strings). */
typedef struct {
    char (*ids)[32];
    size_t n;
} dcap_adv;

typedef struct {
    uint8_t sgx[16];
    uint16_t pcesvn;
    uint8_t tdx[16];
    int has_tdx;
    int status;
    time_t date;
    dcap_adv adv;
} dcap_tcb_level;

typedef struct {
    uint16_t isvsvn;
    int status;
    time_t date;
    dcap_adv adv;
} dcap_isv_level;

typedef struct {
    char id[32];
    uint8_t mrsigner[48], attributes[8], mask[8];
    dcap_isv_level *levels;
    size_t n_levels;
} dcap_tdx_module;

struct initra_tcb_info {
    char id[8]; /* "SGX" or "TDX" (v2 has no id: "SGX") */
    int version;
    time_t issue, next;
    uint8_t fmspc[6], pce_id[2];
    uint32_t eval;
    dcap_tcb_level *levels;
    size_t n_levels;
    int has_module;
    dcap_tdx_module module;     /* tdxModule (no levels) */
    dcap_tdx_module *identities; /* tdxModuleIdentities */
    size_t n_identities;
};

struct initra_qe_identity {
    char id[8]; /* "QE", "TD_QE", "QVE" */
    int version;
    time_t issue, next;
    uint32_t eval;
    uint32_t miscselect, miscselect_mask;
    uint8_t attributes[16], attributes_mask[16];
    uint8_t mrsigner[32];
    uint16_t isvprodid;
    dcap_isv_level *levels;
    size_t n_levels;
};

/* Revoked serial numbers: sorted big-endian magnitudes, length-prefixed. */
typedef struct {
    uint8_t len;
    uint8_t v[32];
} dcap_serial;

struct initra_crl {
    X509_CRL *crl;
    X509_NAME *issuer; /* borrowed from crl */
    char issuer_cn[96];
    time_t this_update, next_update;
    dcap_serial *revoked;
    size_t n_revoked;
};

struct initra_collateral {
    atomic_int refs;
    uint8_t key[32]; /* SHA-256 of the bundle text */
    initra_tcb_info *tcb;
    initra_qe_identity *qe;
    initra_crl *root_crl, *pck_crl;
    /* raw signed texts and signatures */
    char *tcb_text, *qe_text;
    size_t tcb_text_len, qe_text_len;
    uint8_t tcb_sig[64], qe_sig[64];
    STACK_OF(X509) *tcb_chain, *qe_chain, *pck_crl_chain;
    /* outcome of the signature and chain checks against a context's roots (verify_collateral) */
    int checked;         /* 1 once checked */
    const initra_dcap *checked_by; /* the context whose roots the outcome refers to */
    int root;            /* index of the anchoring root in the context, -1 if none */
    char error[512];     /* "" when every signature and chain verified */
    dcap_window windows[DCAP_MAX_WINDOWS];
    size_t n_windows;
    time_t expires;
};

/* A trusted root */
typedef struct {
    X509 *cert;
    EVP_PKEY *key;
    uint8_t *der;
    size_t der_len;
    char name[16]; /* "intel", "sim", "custom" */
    char cn[96];
    time_t from, until;
} dcap_root;

/* A verified PCK chain from a quote (keyed by SHA-256 of the certification data). */
typedef struct {
    atomic_int refs;
    uint8_t key[32];
    X509 *leaf;
    EVP_PKEY *leaf_key;
    initra_pck_ext ext;
    char ca[16];          /* processor / platform */
    char issuer_cn[96];   /* the PCK leaf's issuer CN */
    X509_NAME *issuer;    /* borrowed from leaf */
    dcap_serial leaf_serial, inter_serial;
    int inter_by_root;    /* the intermediate is signed by the root: check it against the root CA CRL */
    int root;
    dcap_window windows[4];
    size_t n_windows;
    uint8_t ak_xy[64];   /* the last attestation key seen with this PCK chain (under the context lock) */
    EVP_PKEY *ak;
} dcap_pck;

struct initra_dcap {
    dcap_root roots[DCAP_MAX_ROOTS];
    size_t n_roots;
    pthread_mutex_t lock;
    initra_collateral *coll[DCAP_CACHE_SLOTS];
    size_t coll_next;
    dcap_pck *pck[DCAP_CACHE_SLOTS];
    size_t pck_next;
};

/* time helpers */
int dcap_parse_date(const char *s, time_t *out);
void dcap_fmt_time(time_t t, char buf[32]);
int dcap_asn1_time(const ASN1_TIME *a, time_t *out);

/* x509 / crypto helpers (x509.c) */
/* ECDSA P-256 SHA-256 verification of a raw r||s signature: 1 valid, 0 not. */
int dcap_ecdsa_verify(EVP_PKEY *key, const uint8_t *msg, size_t n, const uint8_t sig[64]);
/* EVP_PKEY from a raw P-256 point x||y, NULL if not on the curve. */
EVP_PKEY *dcap_p256_key(const uint8_t xy[64]);
/* PEM certificates in text order. NULL if none parse. */
STACK_OF(X509) *dcap_pem_chain(const char *pem, size_t len);
void dcap_cn(const X509_NAME *n, char *buf, size_t len);
void dcap_serial_of(const ASN1_INTEGER *i, dcap_serial *out);
int dcap_crl_revoked(const initra_crl *c, const dcap_serial *s);
/* Verifies chain[0..] up to one of d's roots: signatures, issuer names, CA flags; adds every
 * certificate's validity window (named what + position) to w; root index in *root.
 * what names the chain in errors ("PCK certificate chain"). 0 or -1 with err. */
int dcap_verify_chain(const initra_dcap *d, STACK_OF(X509) *chain, const char *what, dcap_window *w,
                      size_t *nw, size_t maxw, int *root, initra_err *err);
void dcap_add_window(dcap_window *w, size_t *nw, size_t maxw, time_t from, time_t until, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));

/* collateral checks against roots (collateral.c) */
void dcap_check_collateral(const initra_dcap *d, initra_collateral *c);
int dcap_status_converge(int platform, int other);
void dcap_adv_free(dcap_adv *a);
void dcap_cache_flush(initra_dcap *d);

/* Parses the extension's value (the DER inside the X.509 extension's OCTET STRING). */
int dcap_pck_ext_parse(const uint8_t *der, size_t len, initra_pck_ext *out, initra_err *err);
/* Trusts another root CA (DER, self-signed). It is reported as "sim" when its subject CN contains
 * "initra sim", else "custom". 0 or -1. */
int dcap_add_root(initra_dcap *d, const uint8_t *der, size_t len, initra_err *err);
/* Earliest nextUpdate / notAfter of the collateral's own items (TCB info, QE identity, CRLs, signing
 * chains): after this time a cache must refetch. */
time_t dcap_collateral_expires(const initra_collateral *c);
/* The TCB info's FMSPC and TEE ("SGX" or "TDX"). */
void dcap_collateral_fmspc(const initra_collateral *c, uint8_t fmspc[6]);
initra_tcb_info *dcap_tcb_info_parse(const char *text, size_t len, initra_err *err);
void dcap_tcb_info_free(initra_tcb_info *t);
initra_qe_identity *dcap_qe_identity_parse(const char *text, size_t len, initra_err *err);
void dcap_qe_identity_free(initra_qe_identity *q);
initra_crl *dcap_crl_parse(const uint8_t *der, size_t len, const char *what, initra_err *err);
void dcap_crl_free(initra_crl *c);

/* ---- PCCS client (pccs.c), reached from outside only through the collateral source ---- */
typedef struct initra_pccs initra_pccs;
/* The disk cache keeps one bundle per (TEE, FMSPC, CA) and serves it until its earliest nextUpdate.
 * Transfers: 5 s to connect, 30 s for the whole transfer. */
initra_pccs *dcap_pccs_open(const initra_pccs_opts *o, initra_err *err);
void dcap_pccs_free(initra_pccs *p);
/* The URL collateral is fetched from (collateral_url when set, else url), for messages. */
const char *dcap_pccs_url(const initra_pccs *p);
/* Collateral for (fmspc, ca, tee) valid at `at`: memory, then disk cache, then the PCCS (API v4; v3 only
 * where the v4 route does not exist, never mixed in one bundle). A fresh reference. */
initra_collateral *dcap_pccs_collateral(initra_pccs *p, initra_dcap *d, const uint8_t fmspc[6], const char *ca,
                                        int tdx, time_t at, initra_err *err);
/* Fetches from the PCCS without caching: the bundle JSON text (fresh, free()). */
int dcap_pccs_fetch_bundle(initra_pccs *p, const uint8_t fmspc[6], const char *ca, int tdx, char **bundle,
                           initra_err *err);

/* Parses QCNL text (untrusted bytes; a fuzz target). A file without pccs_url is an error. */
int dcap_qcnl_parse(const char *text, size_t len, const char *file, initra_qcnl *q, initra_err *err);

/* ---- collateral references and lookups (collateral.c, verify.c) ---- */
initra_collateral *dcap_collateral_ref(initra_collateral *c);
/* The PCK certificate facts a collateral lookup needs: FMSPC, CA ("processor"/"platform"), TEE.
 * Uses the context's cache of verified PCK chains. 0 or -1. */
int dcap_quote_pck(initra_dcap *d, const uint8_t *quote, size_t len, uint8_t fmspc[6], char ca[16],
                   int *tdx, initra_err *err);
/* Parses a bundle without verifying anything (no context). Its first initra_dcap_verify checks it against
 * that context's roots and binds it to that context (another context refuses it). */
initra_collateral *dcap_collateral_parse(const char *bundle, size_t len, initra_err *err);

#endif
