/* initra sgx: byte-exact SGX / TDX structures (docs/protocols.md#quote, #sigstruct) with parse and serialise
 * functions built on explicit little-endian reads and full bounds checks. */
#ifndef INITRA_SGX_H
#define INITRA_SGX_H

#include <stddef.h>
#include <stdint.h>

#include "initra/util.h"

#define INITRA_SGX_REPORT_BODY_SIZE 384
#define INITRA_QUOTE_HEADER_SIZE 48
#define INITRA_TD10_REPORT_SIZE 584
#define INITRA_TD15_REPORT_SIZE 648
#define INITRA_QUOTE_V3_SIG_OFFSET 436 /* signature data of a v3 quote */
#define INITRA_QUOTE_MAX_SIZE (1u << 20)

/* Attribute flags */
#define INITRA_ATTR_INIT 0x01ull
#define INITRA_ATTR_DEBUG 0x02ull
#define INITRA_ATTR_MODE64BIT 0x04ull
#define INITRA_ATTR_PROVISIONKEY 0x10ull
#define INITRA_ATTR_EINITTOKEN_KEY 0x20ull
#define INITRA_ATTR_KSS 0x80ull

#define INITRA_ATT_KEY_ECDSA_P256 2
#define INITRA_TEE_SGX 0x00u
#define INITRA_TEE_TDX 0x81u

#define INITRA_CERT_TYPE_PCK_CHAIN 5 /* PEM: PCK leaf, intermediate CA, root */
#define INITRA_CERT_TYPE_QE_REPORT 6 /* QE report certification data wrapping type 5 */

/* Intel's QE vendor id, and the simulated platform's (ASCII "initra.sim.qe.v1"). */
extern const uint8_t INITRA_QE_VENDOR_INTEL[16];
extern const uint8_t INITRA_QE_VENDOR_SIM[16];

typedef struct {
    uint64_t flags;
    uint64_t xfrm;
} initra_sgx_attributes;

/* SGX enclave report body, 384 bytes; byte arrays exactly as in the report. */
typedef struct {
    uint8_t cpu_svn[16];
    uint32_t misc_select;
    uint8_t reserved1[12];
    uint8_t isv_ext_prod_id[16];
    initra_sgx_attributes attributes;
    uint8_t mr_enclave[32];
    uint8_t reserved2[32];
    uint8_t mr_signer[32];
    uint8_t reserved3[32];
    uint8_t config_id[64];
    uint16_t isv_prod_id;
    uint16_t isv_svn;
    uint16_t config_svn;
    uint8_t reserved4[42];
    uint8_t isv_family_id[16];
    uint8_t report_data[64];
} initra_sgx_report_body;

/* TD report body: 1.0 (584 bytes) and 1.5 (648 bytes: tee_tcb_svn2, mr_servicetd). */
typedef struct {
    uint8_t tee_tcb_svn[16];
    uint8_t mr_seam[48];
    uint8_t mr_signer_seam[48];
    uint8_t seam_attributes[8];
    uint8_t td_attributes[8];
    uint8_t xfam[8];
    uint8_t mr_td[48];
    uint8_t mr_config_id[48];
    uint8_t mr_owner[48];
    uint8_t mr_owner_config[48];
    uint8_t rtmr[4][48];
    uint8_t report_data[64];
    uint8_t tee_tcb_svn2[16]; /* 1.5 only */
    uint8_t mr_servicetd[48]; /* 1.5 only */
} initra_td_report;

typedef struct {
    uint16_t version;
    uint16_t att_key_type;
    uint32_t tee_type; /* reserved in v3 */
    uint16_t qe_svn;
    uint16_t pce_svn;
    uint8_t qe_vendor_id[16];
    uint8_t user_data[20];
} initra_quote_header;

enum initra_body_type {
    INITRA_BODY_SGX = 1,  /* 384-byte enclave report */
    INITRA_BODY_TD10 = 2, /* TD report 1.0 */
    INITRA_BODY_TD15 = 3, /* TD report 1.5 */
};

/* A parsed quote. Pointers borrow the buffer given to initra_quote_parse; keep it alive. */
typedef struct {
    const uint8_t *raw;     /* the quote bytes */
    size_t len;             /* quote length without trailing bytes after the signature data */
    initra_quote_header header;
    int body_type;          /* enum initra_body_type */
    size_t body_offset;     /* where the report body starts in raw */
    size_t body_size;
    initra_sgx_report_body enclave; /* body_type SGX */
    initra_td_report td;            /* body_type TD10 / TD15 */
    size_t signed_len;      /* raw[0..signed_len) is what the attestation key signed */
    uint8_t signature[64];  /* ECDSA r||s, big-endian */
    uint8_t attest_key[64]; /* P-256 x||y */
    initra_sgx_report_body qe_report;
    const uint8_t *qe_report_raw; /* 384 bytes, what the PCK key signed */
    uint8_t qe_report_sig[64];
    const uint8_t *qe_auth_data;
    uint16_t qe_auth_size;
    uint16_t cert_type;     /* innermost certification data type (5 = PEM chain) */
    const uint8_t *cert_data;
    uint32_t cert_size;
} initra_quote;

void initra_sgx_report_body_encode(const initra_sgx_report_body *in, uint8_t out[INITRA_SGX_REPORT_BODY_SIZE]);
void initra_quote_header_encode(const initra_quote_header *in, uint8_t out[INITRA_QUOTE_HEADER_SIZE]);

/* Parses quote v3 (SGX), v4 (SGX or TDX, TD report 1.0) or v5 (body descriptor: SGX, TD 1.0, TD 1.5).
 * Checks every length against the buffer; ignores trailing bytes after the signature data.
 * 0, or -1 with err saying which field is wrong ("quote: ..."). */
int initra_quote_parse(const uint8_t *buf, size_t len, initra_quote *q, initra_err *err);

/* Serialises a v3 SGX quote from q's header, enclave body, signature, attestation key, QE report,
 * QE report signature, QE auth data and certification data (type and bytes). Fresh buffer. */
int initra_quote_v3_encode(const initra_quote *q, uint8_t **out, size_t *out_len, initra_err *err);

/* The report data of any body type (64 bytes). */
const uint8_t *initra_quote_report_data(const initra_quote *q);

/* Name of a certification data type, e.g. "PCK certificate chain (5)". */
const char *initra_cert_type_name(uint16_t type);

/* ---------------- KSS configuration binding (CONFIGID / CONFIGSVN) ---------------- */

/* --config-id: standard base64 (padding optional) of at most 64 bytes, zero padded to 64. */
int initra_config_id_parse(const char *b64, uint8_t out[64], initra_err *err);
/* --config-svn: decimal without leading zeros, or 0x hex; 0..65535 (see initra_refuse_leading_zero). */
int initra_config_svn_parse(const char *s, uint16_t *out, initra_err *err);

/* CONFIGID of files: one file = SHA-512 of its bytes (so `sha512sum` agrees); several = SHA-512 over
 * each file's u64le length followed by its bytes, in order. */
int initra_config_id_of_files(const char *const *paths, size_t n, uint8_t out[64], initra_err *err);
/* SHA-512 of one configuration's bytes: its CONFIGID as above. 0 or -1. */
int initra_config_id_of_bytes(const uint8_t *bytes, size_t n, uint8_t out[64], initra_err *err);
/* The enclave-side check of the config_id binding, on the SHA-512 of the very bytes that were parsed
 * (never a second read of a path: a FIFO or a file swapped in between would serve other bytes). name
 * says where they came from. 0 if sha512 == config_id; -1 with an error naming both values. */
int initra_config_id_compare(const char *name, const uint8_t sha512[64], const uint8_t config_id[64],
                             initra_err *err);

/* The measured file telling the enclave's /bin/init (and the KMS) how its configuration is bound. */
#define INITRA_BINDING_FILE "/etc/initra/config_binding"

#endif
