/* initra dcap: DCAP quote verification and collateral (docs/protocols.md#dcap). */
#ifndef INITRA_DCAP_H
#define INITRA_DCAP_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

#include <jansson.h>
#include <openssl/x509.h>

#include "initra/sgx.h"
#include "initra/util.h"

/* ---- rendering a parsed quote (`initra quote dump`) ---- */
/* Human-readable dump, aligned and labelled. */
void initra_quote_print(FILE *out, const initra_quote *q);
/* The quote's fields as a JSON object (keys as `initra quote dump --json`); new reference. */
json_t *initra_quote_to_json(const initra_quote *q);

/* ---- PCK certificate SGX extension (OID 1.2.840.113741.1.13.1) ---- */
#define INITRA_OID_SGX_EXT "1.2.840.113741.1.13.1"

enum initra_sgx_type { INITRA_SGX_TYPE_STANDARD = 0, INITRA_SGX_TYPE_SCALABLE = 1, INITRA_SGX_TYPE_SCALABLE_INTEGRITY = 2 };

typedef struct {
    uint8_t ppid[16];          /* .1 */
    uint8_t comp_svn[16];      /* .2.1 - .2.16 */
    uint16_t pce_svn;          /* .2.17 */
    uint8_t cpu_svn[16];       /* .2.18 */
    uint8_t pce_id[2];         /* .3 */
    uint8_t fmspc[6];          /* .4 */
    int sgx_type;              /* .5, enum initra_sgx_type */
    int has_platform_instance_id;
    uint8_t platform_instance_id[16]; /* .6, Platform CA certificates only */
} initra_pck_ext;

/* Finds the extension in cert and parses it. */
int initra_pck_ext_from_cert(X509 *cert, initra_pck_ext *out, initra_err *err);
/* DER of the extension value (fresh buffer, OPENSSL_free it). */
int initra_pck_ext_encode(const initra_pck_ext *in, uint8_t **der, size_t *len, initra_err *err);
/* The PCK certificate of a quote (the first certificate of its PEM chain, certification data type 5,
 * also inside type 6) and its SGX extension, read without verifying the chain (that is
 * initra_dcap_verify's job). subject and issuer receive the certificates' CNs. 0 or -1. */
int initra_quote_pck_ext(const initra_quote *q, initra_pck_ext *out, char subject[128], char issuer[128],
                         initra_err *err);
/* The extension's fields, labelled as `quote dump` labels a quote's; JSON with the same names. */
void initra_pck_ext_print(FILE *f, const initra_pck_ext *e);
json_t *initra_pck_ext_to_json(const initra_pck_ext *e);

/* ---- Trust: the built-in Intel SGX Root CA ---- */
extern const uint8_t INITRA_INTEL_SGX_ROOT_CA_DER[];
extern const size_t INITRA_INTEL_SGX_ROOT_CA_DER_LEN;

/* ---- TCB status ---- */
enum initra_tcb_status {
    INITRA_TCB_NONE = -1, /* no status determined (verification failed before TCB matching) */
    INITRA_TCB_UP_TO_DATE = 0,
    INITRA_TCB_SW_HARDENING_NEEDED,
    INITRA_TCB_CONFIGURATION_NEEDED,
    INITRA_TCB_CONFIGURATION_AND_SW_HARDENING_NEEDED,
    INITRA_TCB_OUT_OF_DATE,
    INITRA_TCB_OUT_OF_DATE_CONFIGURATION_NEEDED,
    INITRA_TCB_REVOKED,
    INITRA_TCB_NOT_SUPPORTED,
};
/* "UpToDate", ..., "TcbNotSupported"; "" for INITRA_TCB_NONE. */
const char *initra_tcb_status_name(int status);
/* The enum value of an Intel status name, or -1. */
int initra_tcb_status_from_name(const char *name);

/* ---- Verification context: trust roots and the in-memory caches ---- */
typedef struct initra_dcap initra_dcap;

/* A context trusting the built-in Intel SGX Root CA. Thread-safe after setup (add_root). */
initra_dcap *initra_dcap_new(initra_err *err);
void initra_dcap_free(initra_dcap *d);
/* Trusts another root CA from a certificate in memory, DER or PEM (self-signed). It is reported as
 * "sim" when its subject CN contains "initra sim", else "custom". 0 or -1. */
int initra_dcap_add_root_bytes(initra_dcap *d, const uint8_t *buf, size_t n, initra_err *err);
/* The same from a certificate file, DER or PEM; errors name the file. */
int initra_dcap_add_root_file(initra_dcap *d, const char *path, initra_err *err);

/* ---- Collateral ---- */
/* Parsed collateral whose signatures and chains were checked against the context's roots once
 * (the outcome is remembered and reported by initra_dcap_verify). Reference counted, immutable. */
typedef struct initra_collateral initra_collateral;

/* Collateral from a bundle (JSON object in the vectors' format, docs/protocols.md#collateral). Served from
 * the context's in-memory cache when the same text was loaded before (keyed by its SHA-256).
 * -1 only when the bundle does not parse; signature problems surface in initra_dcap_verify. */
initra_collateral *initra_dcap_collateral(initra_dcap *d, const char *bundle, size_t len, initra_err *err);
void initra_collateral_release(initra_collateral *c);

/* ---- Verification ---- */
#define INITRA_DCAP_ALLOW_EXPIRED_COLLATERAL 0x1u /* accept items outside their validity window */
#define INITRA_DCAP_MAX_ADVISORIES 64

typedef struct {
    int verified;                /* 1: every check passed and the status is not terminal */
    int status;                  /* enum initra_tcb_status (converged platform/QE/TDX module status) */
    char advisories[INITRA_DCAP_MAX_ADVISORIES][32]; /* sorted, unique */
    size_t n_advisories;
    time_t tcb_date;             /* earliest tcbDate of the matched platform, QE and TDX module levels */
    uint32_t tcb_eval_data_number; /* lower of the TCB info's and QE identity's */
    time_t collateral_expires;   /* earliest nextUpdate / notAfter of everything used */
    char root[16];               /* "intel", "sim", "custom"; "" when no chain was anchored */
    int expired_collateral_allowed; /* something was outside its window and the flag accepted it */
    char tee[4];                 /* "SGX" or "TDX" */
    initra_pck_ext pck;          /* the PCK certificate's SGX extension (valid once the chain parsed) */
    char pck_ca[16];             /* "processor" or "platform" */
    char error[512];             /* one line naming the check that failed; "" when verified */
} initra_dcap_result;

/* Verifies a quote (v3 SGX, v4/v5 SGX or TDX) with collateral at time `at` (the library never reads
 * the clock). Fills res in every case; returns 0 when res->verified, else -1 (res->error says why). */
int initra_dcap_verify(initra_dcap *d, const uint8_t *quote, size_t len, initra_collateral *c, time_t at,
                       unsigned flags, initra_dcap_result *res);

/* The checks that need no collateral, cheap enough to run before a peer's collateral is parsed: the
 * PCK chain ends at a trusted root (not yet checked against CRLs or at a time), the QE report is signed
 * by the PCK key and binds the attestation key, the quote is signed by the attestation key. 0 or -1. */
int initra_dcap_quote_signed(initra_dcap *d, const uint8_t *quote, size_t len, initra_err *err);

/* ---- Collateral sources: PCCS / Intel PCS, on-disk cache, in-memory cache ---- */
/* How to reach a PCCS. url is required: the library never takes a PCCS from the environment (inside an
 * enclave the host sets it); a front-end outside an enclave may fill this from initra_pccs_default. */
typedef struct {
    const char *url;            /* pccs_url: scheme://host[:port][/prefix][/sgx/certification/v3|v4/] */
    const char *collateral_url; /* QCNL collateral_service: verification collateral comes from here when set */
    const char *ca_file;        /* "pccs_ca": PEM file of CAs that verify the PCCS's TLS certificate
                                   (NULL: the system's CA store) */
    int insecure;               /* QCNL use_secure_cert false: no TLS peer verification (one warning line on
                                   stderr when the PCCS object is made; collateral is still verified by
                                   Intel's signatures, so this costs availability, never integrity) */
    int serve_expired;          /* --allow-expired-collateral: when the PCCS fails, hand out an expired cache
                                   entry (verification then flags it as for an expired bundle) */
    const char *cache_dir;      /* NULL: no disk cache */
} initra_pccs_opts;


/* ---- The collateral source: one place deciding "collateral for this quote" ---- */
/* A bundle (data/len, else file; parsed once against the context's roots; errors name the file) or,
 * when neither is given, the PCCS in pccs (pccs.url required). */
typedef struct {
    const char *file;
    const uint8_t *data;
    size_t len;
    initra_pccs_opts pccs;
} initra_collateral_src_opts;
typedef struct initra_collateral_src initra_collateral_src;
/* Reads and parses the bundle, or opens the PCCS. d must outlive the source. */
initra_collateral_src *initra_collateral_src_open(initra_dcap *d, const initra_collateral_src_opts *o, initra_err *err);
void initra_collateral_src_free(initra_collateral_src *s);
/* Collateral for this quote valid at `at`: the bundle, or the PCCS's (caches first) for the quote's FMSPC,
 * PCK CA and TEE. A fresh reference. */
initra_collateral *initra_dcap_collateral_for(initra_collateral_src *s, const uint8_t *quote, size_t len, time_t at,
                                              initra_err *err);
/* The bundle text for this quote (fresh, free()), to carry it in a report: the bundle's own text, or
 * fetched from the PCCS without caching. 0 or -1. */
int initra_dcap_collateral_text_for(initra_collateral_src *s, const uint8_t *quote, size_t len, char **json,
                                    initra_err *err);

/* Intel's QCNL configuration (sgx_default_qcnl.conf) as Intel's QCNL reads it: JSON with // and / * * /
 * comments, or, when the text is not JSON and does not start with '{', the older KEY=value lines
 * (PCCS_URL, USE_SECURE_CERT, COLLATERAL_SERVICE, PCCS_API_VERSION; whitespace removed, '#' comments). */
typedef struct {
    char pccs_url[1024];
    char collateral_service[1024]; /* "" when not set */
    int use_secure_cert;           /* 1 unless set to false */
    char pccs_api_version[16];     /* "3.0", "3.1" or "" (initra accepts both CRL encodings either way) */
    int legacy;                    /* 1: read in the KEY=value format */
    char ca_file[1024];            /* initra_pccs_default only: $CURL_CA_BUNDLE, else $SSL_CERT_FILE */
    char source[1100];             /* where pccs_url came from, for messages */
} initra_qcnl;
/* Front-ends outside enclaves only: $PCCS_URL, else the QCNL file ($INITRA_QCNL_CONF, $QCNL_CONF_PATH as
 * Intel's QCNL, else /etc/sgx_default_qcnl.conf); the TLS CA file as curl's tool takes it
 * ($CURL_CA_BUNDLE, then $SSL_CERT_FILE). Never used inside an enclave. */
int initra_pccs_default(initra_qcnl *q, initra_err *err);
/* initra_pccs_default's pccs_url; -1 when none is configured. */
int initra_pccs_default_url(char *buf, size_t n, initra_err *err);

/* ---- Parsers of untrusted collateral pieces (also the fuzz targets' entry points) ---- */
/* A PCCS TCB info or QE identity response body {"KEY": {...}, "signature": "..."} (KEY "tcbInfo" or
 * "enclaveIdentity"): the exact text of the KEY object (what the signature covers; fresh, *text_len
 * bytes, NUL-terminated) and the signature string (fresh). Duplicate keys are refused. 0 or -1. */
int initra_dcap_signed_body(const char *body, size_t len, const char *key, char **text, size_t *text_len, char **sig,
                            initra_err *err);

#endif
