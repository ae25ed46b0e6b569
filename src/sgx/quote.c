/* Quote and report codecs. Every read is bounds-checked against the buffer and done byte by byte
 * in little-endian order; no struct is ever cast over input. */
#include "initra/sgx.h"
#include "sgx/internal.h"

#include <stdlib.h>
#include <string.h>

const uint8_t INITRA_QE_VENDOR_INTEL[16] = {0x93, 0x9a, 0x72, 0x33, 0xf7, 0x9c, 0x4c, 0xa9,
                                            0x94, 0x0a, 0x0d, 0xb3, 0x95, 0x7f, 0x06, 0x07};
const uint8_t INITRA_QE_VENDOR_SIM[16] = {'i', 'n', 'i', 't', 'r', 'a', '.', 's',
                                          'i', 'm', '.', 'q', 'e', '.', 'v', '1'};

/* Report body offsets (docs/protocols.md#quote) */
enum {
    RB_CPU_SVN = 0, RB_MISC_SELECT = 16, RB_RESERVED1 = 20, RB_EXT_PROD_ID = 32, RB_ATTR_FLAGS = 48,
    RB_ATTR_XFRM = 56, RB_MR_ENCLAVE = 64, RB_RESERVED2 = 96, RB_MR_SIGNER = 128, RB_RESERVED3 = 160,
    RB_CONFIG_ID = 192, RB_ISV_PROD_ID = 256, RB_ISV_SVN = 258, RB_CONFIG_SVN = 260, RB_RESERVED4 = 262,
    RB_FAMILY_ID = 304, RB_REPORT_DATA = 320,
};

void sgx_report_body_decode(const uint8_t in[INITRA_SGX_REPORT_BODY_SIZE], initra_sgx_report_body *b)
{
    memcpy(b->cpu_svn, in + RB_CPU_SVN, 16);
    b->misc_select = initra_le32(in + RB_MISC_SELECT);
    memcpy(b->reserved1, in + RB_RESERVED1, 12);
    memcpy(b->isv_ext_prod_id, in + RB_EXT_PROD_ID, 16);
    b->attributes.flags = initra_le64(in + RB_ATTR_FLAGS);
    b->attributes.xfrm = initra_le64(in + RB_ATTR_XFRM);
    memcpy(b->mr_enclave, in + RB_MR_ENCLAVE, 32);
    memcpy(b->reserved2, in + RB_RESERVED2, 32);
    memcpy(b->mr_signer, in + RB_MR_SIGNER, 32);
    memcpy(b->reserved3, in + RB_RESERVED3, 32);
    memcpy(b->config_id, in + RB_CONFIG_ID, 64);
    b->isv_prod_id = initra_le16(in + RB_ISV_PROD_ID);
    b->isv_svn = initra_le16(in + RB_ISV_SVN);
    b->config_svn = initra_le16(in + RB_CONFIG_SVN);
    memcpy(b->reserved4, in + RB_RESERVED4, 42);
    memcpy(b->isv_family_id, in + RB_FAMILY_ID, 16);
    memcpy(b->report_data, in + RB_REPORT_DATA, 64);
}

void initra_sgx_report_body_encode(const initra_sgx_report_body *b, uint8_t out[INITRA_SGX_REPORT_BODY_SIZE])
{
    memcpy(out + RB_CPU_SVN, b->cpu_svn, 16);
    initra_put_le32(out + RB_MISC_SELECT, b->misc_select);
    memcpy(out + RB_RESERVED1, b->reserved1, 12);
    memcpy(out + RB_EXT_PROD_ID, b->isv_ext_prod_id, 16);
    initra_put_le64(out + RB_ATTR_FLAGS, b->attributes.flags);
    initra_put_le64(out + RB_ATTR_XFRM, b->attributes.xfrm);
    memcpy(out + RB_MR_ENCLAVE, b->mr_enclave, 32);
    memcpy(out + RB_RESERVED2, b->reserved2, 32);
    memcpy(out + RB_MR_SIGNER, b->mr_signer, 32);
    memcpy(out + RB_RESERVED3, b->reserved3, 32);
    memcpy(out + RB_CONFIG_ID, b->config_id, 64);
    initra_put_le16(out + RB_ISV_PROD_ID, b->isv_prod_id);
    initra_put_le16(out + RB_ISV_SVN, b->isv_svn);
    initra_put_le16(out + RB_CONFIG_SVN, b->config_svn);
    memcpy(out + RB_RESERVED4, b->reserved4, 42);
    memcpy(out + RB_FAMILY_ID, b->isv_family_id, 16);
    memcpy(out + RB_REPORT_DATA, b->report_data, 64);
}

void sgx_quote_header_decode(const uint8_t in[INITRA_QUOTE_HEADER_SIZE], initra_quote_header *h)
{
    h->version = initra_le16(in);
    h->att_key_type = initra_le16(in + 2);
    h->tee_type = initra_le32(in + 4);
    h->qe_svn = initra_le16(in + 8);
    h->pce_svn = initra_le16(in + 10);
    memcpy(h->qe_vendor_id, in + 12, 16);
    memcpy(h->user_data, in + 28, 20);
}

void initra_quote_header_encode(const initra_quote_header *h, uint8_t out[INITRA_QUOTE_HEADER_SIZE])
{
    initra_put_le16(out, h->version);
    initra_put_le16(out + 2, h->att_key_type);
    initra_put_le32(out + 4, h->tee_type);
    initra_put_le16(out + 8, h->qe_svn);
    initra_put_le16(out + 10, h->pce_svn);
    memcpy(out + 12, h->qe_vendor_id, 16);
    memcpy(out + 28, h->user_data, 20);
}

void sgx_td_report_decode(const uint8_t *in, size_t size, initra_td_report *t)
{
    size_t o = 0;
#define TAKE(field, n) (memcpy((field), in + o, (n)), o += (n))
    TAKE(t->tee_tcb_svn, 16);
    TAKE(t->mr_seam, 48);
    TAKE(t->mr_signer_seam, 48);
    TAKE(t->seam_attributes, 8);
    TAKE(t->td_attributes, 8);
    TAKE(t->xfam, 8);
    TAKE(t->mr_td, 48);
    TAKE(t->mr_config_id, 48);
    TAKE(t->mr_owner, 48);
    TAKE(t->mr_owner_config, 48);
    for (int i = 0; i < 4; i++) TAKE(t->rtmr[i], 48);
    TAKE(t->report_data, 64);
    if (size >= INITRA_TD15_REPORT_SIZE) {
        TAKE(t->tee_tcb_svn2, 16);
        TAKE(t->mr_servicetd, 48);
    } else {
        memset(t->tee_tcb_svn2, 0, 16);
        memset(t->mr_servicetd, 0, 48);
    }
#undef TAKE
}

/* A cursor over the quote: every take checks that n bytes remain. */
typedef struct {
    const uint8_t *buf;
    size_t len, off;
    initra_err *err;
} cursor;

static int need(cursor *c, size_t n, const char *what)
{
    if (n > c->len || c->off > c->len - n)
        return initra_fail(c->err, "quote: truncated: %s needs %zu bytes at offset %zu, but the quote has %zu bytes",
                           what, n, c->off, c->len);
    return 0;
}

static int take(cursor *c, void *out, size_t n, const char *what)
{
    if (need(c, n, what)) return -1;
    if (out) memcpy(out, c->buf + c->off, n);
    c->off += n;
    return 0;
}

static int take16(cursor *c, uint16_t *v, const char *what)
{
    if (need(c, 2, what)) return -1;
    *v = initra_le16(c->buf + c->off);
    c->off += 2;
    return 0;
}

static int take32(cursor *c, uint32_t *v, const char *what)
{
    if (need(c, 4, what)) return -1;
    *v = initra_le32(c->buf + c->off);
    c->off += 4;
    return 0;
}

/* Certification data: type u16, size u32, bytes; type 6 wraps QE report data and type 5. */
static int parse_cert_data(cursor *c, initra_quote *q, int depth)
{
    uint16_t type;
    uint32_t size;
    if (take16(c, &type, "certification data type") || take32(c, &size, "certification data size")) return -1;
    if (size > c->len - c->off)
        return initra_fail(c->err, "quote: certification data size %u at offset %zu runs past the end of the signature data (%zu bytes left)",
                           size, c->off - 4, c->len - c->off);
    if (type == INITRA_CERT_TYPE_QE_REPORT && depth == 0) {
        cursor inner = {c->buf, c->off + size, c->off, c->err};
        q->qe_report_raw = inner.buf + inner.off;
        uint8_t rep[INITRA_SGX_REPORT_BODY_SIZE];
        if (take(&inner, rep, sizeof rep, "QE report")) return -1;
        sgx_report_body_decode(rep, &q->qe_report);
        if (take(&inner, q->qe_report_sig, 64, "QE report signature")) return -1;
        if (take16(&inner, &q->qe_auth_size, "QE auth data size")) return -1;
        q->qe_auth_data = inner.buf + inner.off;
        if (take(&inner, NULL, q->qe_auth_size, "QE auth data")) return -1;
        if (parse_cert_data(&inner, q, depth + 1)) return -1;
        if (inner.off != inner.len)
            return initra_fail(c->err, "quote: QE report certification data has %zu bytes after the PCK certificate chain",
                               inner.len - inner.off);
    } else {
        q->cert_type = type;
        q->cert_data = c->buf + c->off;
        q->cert_size = size;
    }
    c->off += size;
    return 0;
}

int initra_quote_parse(const uint8_t *buf, size_t len, initra_quote *q, initra_err *err)
{
    memset(q, 0, sizeof *q);
    cursor c = {buf, len, 0, err};
    uint8_t hdr[INITRA_QUOTE_HEADER_SIZE];
    if (take(&c, hdr, sizeof hdr, "header")) return -1;
    sgx_quote_header_decode(hdr, &q->header);
    const initra_quote_header *h = &q->header;
    if (h->version != 3 && h->version != 4 && h->version != 5)
        return initra_fail(err, "quote: version %u is not supported (3 for SGX, 4 or 5 for SGX or TDX)", h->version);
    if (h->att_key_type != INITRA_ATT_KEY_ECDSA_P256)
        return initra_fail(err, "quote: att_key_type %u is not supported (2: ECDSA P-256)", h->att_key_type);
    if (h->version >= 4 && h->tee_type != INITRA_TEE_SGX && h->tee_type != INITRA_TEE_TDX)
        return initra_fail(err, "quote: tee_type 0x%x is neither SGX (0x0) nor TDX (0x81)", h->tee_type);

    if (h->version == 5) {
        uint16_t type;
        uint32_t size;
        if (take16(&c, &type, "body type") || take32(&c, &size, "body size")) return -1;
        size_t want = type == INITRA_BODY_SGX ? INITRA_SGX_REPORT_BODY_SIZE
                    : type == INITRA_BODY_TD10 ? INITRA_TD10_REPORT_SIZE
                    : type == INITRA_BODY_TD15 ? INITRA_TD15_REPORT_SIZE : 0;
        if (!want) return initra_fail(err, "quote: v5 body type %u is unknown (1 SGX, 2 TD 1.0, 3 TD 1.5)", type);
        if (size != want)
            return initra_fail(err, "quote: v5 body type %u has size %u, expected %zu", type, size, want);
        if ((type == INITRA_BODY_SGX) != (h->tee_type == INITRA_TEE_SGX))
            return initra_fail(err, "quote: v5 body type %u does not match tee_type 0x%x", type, h->tee_type);
        q->body_type = type;
        q->body_size = size;
    } else if (h->version == 4 && h->tee_type == INITRA_TEE_TDX) {
        q->body_type = INITRA_BODY_TD10;
        q->body_size = INITRA_TD10_REPORT_SIZE;
    } else {
        q->body_type = INITRA_BODY_SGX;
        q->body_size = INITRA_SGX_REPORT_BODY_SIZE;
    }
    q->body_offset = c.off;
    if (need(&c, q->body_size, "report body")) return -1;
    if (q->body_type == INITRA_BODY_SGX)
        sgx_report_body_decode(buf + c.off, &q->enclave);
    else
        sgx_td_report_decode(buf + c.off, q->body_size, &q->td);
    c.off += q->body_size;
    q->signed_len = c.off;

    uint32_t sig_len;
    if (take32(&c, &sig_len, "signature_data_len")) return -1;
    if (sig_len > len - c.off)
        return initra_fail(err, "quote: signature_data_len %u at offset %zu runs past the end of the %zu-byte quote",
                           sig_len, c.off - 4, len);
    cursor s = {buf, c.off + sig_len, c.off, err};
    if (take(&s, q->signature, 64, "quote signature") || take(&s, q->attest_key, 64, "attestation key")) return -1;
    if (h->version == 3) {
        q->qe_report_raw = buf + s.off;
        uint8_t rep[INITRA_SGX_REPORT_BODY_SIZE];
        if (take(&s, rep, sizeof rep, "QE report")) return -1;
        sgx_report_body_decode(rep, &q->qe_report);
        if (take(&s, q->qe_report_sig, 64, "QE report signature")) return -1;
        if (take16(&s, &q->qe_auth_size, "QE auth data size")) return -1;
        q->qe_auth_data = buf + s.off;
        if (take(&s, NULL, q->qe_auth_size, "QE auth data")) return -1;
        if (parse_cert_data(&s, q, 1)) return -1;
    } else {
        if (parse_cert_data(&s, q, 0)) return -1;
        if (!q->qe_report_raw)
            return initra_fail(err, "quote: v%u certification data type %u is not QE report data (6)",
                               h->version, q->cert_type);
    }
    if (s.off != s.len)
        return initra_fail(err, "quote: signature_data_len %u leaves %zu bytes after the certification data",
                           sig_len, s.len - s.off);
    q->raw = buf;
    q->len = c.off + sig_len;
    return 0;
}

int initra_quote_v3_encode(const initra_quote *q, uint8_t **out, size_t *out_len, initra_err *err)
{
    size_t total = INITRA_QUOTE_V3_SIG_OFFSET + 64 + 64 + 384 + 64 + 2 + q->qe_auth_size + 2 + 4 + q->cert_size;
    if (total > INITRA_QUOTE_MAX_SIZE) return initra_fail(err, "quote: %zu bytes is too large", total);
    uint8_t *b = calloc(1, total), *p;
    if (!b) return initra_fail(err, "out of memory");
    initra_quote_header_encode(&q->header, b);
    initra_sgx_report_body_encode(&q->enclave, b + INITRA_QUOTE_HEADER_SIZE);
    initra_put_le32(b + 432, (uint32_t)(total - INITRA_QUOTE_V3_SIG_OFFSET));
    p = b + INITRA_QUOTE_V3_SIG_OFFSET;
    memcpy(p, q->signature, 64), p += 64;
    memcpy(p, q->attest_key, 64), p += 64;
    initra_sgx_report_body_encode(&q->qe_report, p), p += 384;
    memcpy(p, q->qe_report_sig, 64), p += 64;
    initra_put_le16(p, q->qe_auth_size), p += 2;
    if (q->qe_auth_size) memcpy(p, q->qe_auth_data, q->qe_auth_size), p += q->qe_auth_size;
    initra_put_le16(p, q->cert_type), p += 2;
    initra_put_le32(p, q->cert_size), p += 4;
    if (q->cert_size) memcpy(p, q->cert_data, q->cert_size);
    *out = b;
    *out_len = total;
    return 0;
}

const uint8_t *initra_quote_report_data(const initra_quote *q)
{
    return q->body_type == INITRA_BODY_SGX ? q->enclave.report_data : q->td.report_data;
}

int sgx_quote_is_debug(const initra_quote *q)
{
    if (q->body_type == INITRA_BODY_SGX) return (q->enclave.attributes.flags & INITRA_ATTR_DEBUG) != 0;
    return (q->td.td_attributes[0] & 1) != 0;
}

const char *initra_cert_type_name(uint16_t type)
{
    switch (type) {
    case 1: return "PPID cleartext (1)";
    case 2: return "PPID RSA-2048 encrypted (2)";
    case 3: return "PPID RSA-3072 encrypted (3)";
    case 4: return "PCK certificate (4)";
    case 5: return "PCK certificate chain (5)";
    case 6: return "QE report certification data (6)";
    case 7: return "PLATFORM_MANIFEST (7)";
    default: return "unknown";
    }
}
