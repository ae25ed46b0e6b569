/* Rendering a parsed quote for `initra quote dump`: aligned human form and JSON (jansson). Kept out of
 * the byte-exact sgx layer, which has no I/O. */
#include "initra/dcap.h"

#include <inttypes.h>
#include <string.h>

static json_t *hexj(const uint8_t *p, size_t n)
{
    char buf[2 * 648 + 1];
    return json_string(initra_hex(p, n, buf));
}

static void sgx_body_json(json_t *o, const initra_sgx_report_body *b)
{
    json_object_set_new(o, "cpu_svn", hexj(b->cpu_svn, 16));
    json_object_set_new(o, "misc_select", json_integer(b->misc_select));
    json_t *attr = json_object();
    json_object_set_new(attr, "flags", json_integer((json_int_t)b->attributes.flags));
    json_object_set_new(attr, "xfrm", json_integer((json_int_t)b->attributes.xfrm));
    json_object_set_new(o, "attributes", attr);
    json_object_set_new(o, "debug", json_boolean(b->attributes.flags & INITRA_ATTR_DEBUG));
    json_object_set_new(o, "kss", json_boolean(b->attributes.flags & INITRA_ATTR_KSS));
    json_object_set_new(o, "mr_enclave", hexj(b->mr_enclave, 32));
    json_object_set_new(o, "mr_signer", hexj(b->mr_signer, 32));
    json_object_set_new(o, "isv_prod_id", json_integer(b->isv_prod_id));
    json_object_set_new(o, "isv_svn", json_integer(b->isv_svn));
    json_object_set_new(o, "config_id", hexj(b->config_id, 64));
    json_object_set_new(o, "config_svn", json_integer(b->config_svn));
    json_object_set_new(o, "isv_family_id", hexj(b->isv_family_id, 16));
    json_object_set_new(o, "isv_ext_prod_id", hexj(b->isv_ext_prod_id, 16));
    json_object_set_new(o, "report_data", hexj(b->report_data, 64));
}

static void td_body_json(json_t *o, const initra_td_report *t, int v15)
{
    json_object_set_new(o, "tee_tcb_svn", hexj(t->tee_tcb_svn, 16));
    json_object_set_new(o, "mr_seam", hexj(t->mr_seam, 48));
    json_object_set_new(o, "mr_signer_seam", hexj(t->mr_signer_seam, 48));
    json_object_set_new(o, "seam_attributes", hexj(t->seam_attributes, 8));
    json_object_set_new(o, "td_attributes", hexj(t->td_attributes, 8));
    json_object_set_new(o, "xfam", hexj(t->xfam, 8));
    json_object_set_new(o, "mr_td", hexj(t->mr_td, 48));
    json_object_set_new(o, "mr_config_id", hexj(t->mr_config_id, 48));
    json_object_set_new(o, "mr_owner", hexj(t->mr_owner, 48));
    json_object_set_new(o, "mr_owner_config", hexj(t->mr_owner_config, 48));
    for (int i = 0; i < 4; i++) {
        char key[16];
        snprintf(key, sizeof key, "rtmr%d", i);
        json_object_set_new(o, key, hexj(t->rtmr[i], 48));
    }
    json_object_set_new(o, "report_data", hexj(t->report_data, 64));
    if (v15) {
        json_object_set_new(o, "tee_tcb_svn2", hexj(t->tee_tcb_svn2, 16));
        json_object_set_new(o, "mr_servicetd", hexj(t->mr_servicetd, 48));
    }
    json_object_set_new(o, "debug", json_boolean(t->td_attributes[0] & 1));
}

json_t *initra_quote_to_json(const initra_quote *q)
{
    json_t *o = json_object();
    const initra_quote_header *h = &q->header;
    json_object_set_new(o, "version", json_integer(h->version));
    json_object_set_new(o, "att_key_type", json_integer(h->att_key_type));
    json_object_set_new(o, "tee_type", json_integer(h->tee_type));
    json_object_set_new(o, "qe_svn", json_integer(h->qe_svn));
    json_object_set_new(o, "pce_svn", json_integer(h->pce_svn));
    json_object_set_new(o, "qe_vendor_id", hexj(h->qe_vendor_id, 16));
    json_object_set_new(o, "user_data", hexj(h->user_data, 20));
    json_object_set_new(o, "body", json_string(q->body_type == INITRA_BODY_SGX ? "sgx_enclave_report"
                                               : q->body_type == INITRA_BODY_TD10 ? "td_report_1.0"
                                                                                  : "td_report_1.5"));
    if (q->body_type == INITRA_BODY_SGX)
        sgx_body_json(o, &q->enclave);
    else
        td_body_json(o, &q->td, q->body_type == INITRA_BODY_TD15);
    json_object_set_new(o, "cert_type", json_integer(q->cert_type));
    return o;
}

static void line_hex(FILE *f, const char *label, const uint8_t *p, size_t n)
{
    char buf[2 * 648 + 1];
    initra_hex(p, n, buf);
    /* Long fields wrap at 64 hex digits, continuation lines aligned under the value. */
    size_t len = strlen(buf);
    for (size_t off = 0; off < len || off == 0; off += 64) {
        fprintf(f, "  %-18s %.*s\n", off == 0 ? label : "", (int)(len - off < 64 ? len - off : 64), buf + off);
        if (len == 0) break;
    }
}

static void line_num(FILE *f, const char *label, uint64_t v, const char *note)
{
    fprintf(f, "  %-18s %" PRIu64 " (0x%" PRIx64 ")%s%s\n", label, v, v, note ? "  " : "", note ? note : "");
}

void initra_quote_print(FILE *f, const initra_quote *q)
{
    const initra_quote_header *h = &q->header;
    int sim = memcmp(h->qe_vendor_id, INITRA_QE_VENDOR_SIM, 16) == 0;
    int intel = memcmp(h->qe_vendor_id, INITRA_QE_VENDOR_INTEL, 16) == 0;
    fprintf(f, "Quote header\n");
    line_num(f, "version", h->version, NULL);
    line_num(f, "att_key_type", h->att_key_type, h->att_key_type == 2 ? "ECDSA P-256" : NULL);
    line_num(f, "tee_type", h->tee_type, h->tee_type == INITRA_TEE_TDX ? "TDX" : "SGX");
    line_num(f, "qe_svn", h->qe_svn, NULL);
    line_num(f, "pce_svn", h->pce_svn, NULL);
    line_hex(f, "qe_vendor_id", h->qe_vendor_id, 16);
    if (sim || intel) fprintf(f, "  %-18s %s\n", "", sim ? "(initra simulated QE)" : "(Intel QE)");
    line_hex(f, "user_data", h->user_data, 20);
    if (q->body_type == INITRA_BODY_SGX) {
        const initra_sgx_report_body *b = &q->enclave;
        char flags[128];
        snprintf(flags, sizeof flags, "%s%s%s%s%s%s", b->attributes.flags & INITRA_ATTR_INIT ? " INIT" : "",
                 b->attributes.flags & INITRA_ATTR_DEBUG ? " DEBUG" : "",
                 b->attributes.flags & INITRA_ATTR_MODE64BIT ? " MODE64BIT" : "",
                 b->attributes.flags & INITRA_ATTR_PROVISIONKEY ? " PROVISIONKEY" : "",
                 b->attributes.flags & INITRA_ATTR_EINITTOKEN_KEY ? " EINITTOKEN_KEY" : "",
                 b->attributes.flags & INITRA_ATTR_KSS ? " KSS" : "");
        fprintf(f, "SGX enclave report body\n");
        line_hex(f, "cpu_svn", b->cpu_svn, 16);
        line_num(f, "misc_select", b->misc_select, NULL);
        line_num(f, "attributes.flags", b->attributes.flags, flags[0] ? flags + 1 : NULL);
        line_num(f, "attributes.xfrm", b->attributes.xfrm, NULL);
        fprintf(f, "  %-18s %s\n", "debug", b->attributes.flags & INITRA_ATTR_DEBUG ? "yes" : "no");
        fprintf(f, "  %-18s %s\n", "kss", b->attributes.flags & INITRA_ATTR_KSS ? "yes" : "no");
        line_hex(f, "mr_enclave", b->mr_enclave, 32);
        line_hex(f, "mr_signer", b->mr_signer, 32);
        line_num(f, "isv_prod_id", b->isv_prod_id, NULL);
        line_num(f, "isv_svn", b->isv_svn, NULL);
        line_hex(f, "config_id", b->config_id, 64);
        line_num(f, "config_svn", b->config_svn, NULL);
        line_hex(f, "isv_family_id", b->isv_family_id, 16);
        line_hex(f, "isv_ext_prod_id", b->isv_ext_prod_id, 16);
        line_hex(f, "report_data", b->report_data, 64);
    } else {
        const initra_td_report *t = &q->td;
        fprintf(f, "TD report body %s\n", q->body_type == INITRA_BODY_TD15 ? "1.5" : "1.0");
        line_hex(f, "tee_tcb_svn", t->tee_tcb_svn, 16);
        line_hex(f, "mr_seam", t->mr_seam, 48);
        line_hex(f, "mr_signer_seam", t->mr_signer_seam, 48);
        line_hex(f, "seam_attributes", t->seam_attributes, 8);
        line_hex(f, "td_attributes", t->td_attributes, 8);
        fprintf(f, "  %-18s %s\n", "debug", t->td_attributes[0] & 1 ? "yes" : "no");
        line_hex(f, "xfam", t->xfam, 8);
        line_hex(f, "mr_td", t->mr_td, 48);
        line_hex(f, "mr_config_id", t->mr_config_id, 48);
        line_hex(f, "mr_owner", t->mr_owner, 48);
        line_hex(f, "mr_owner_config", t->mr_owner_config, 48);
        for (int i = 0; i < 4; i++) {
            char label[16];
            snprintf(label, sizeof label, "rtmr%d", i);
            line_hex(f, label, t->rtmr[i], 48);
        }
        line_hex(f, "report_data", t->report_data, 64);
        if (q->body_type == INITRA_BODY_TD15) {
            line_hex(f, "tee_tcb_svn2", t->tee_tcb_svn2, 16);
            line_hex(f, "mr_servicetd", t->mr_servicetd, 48);
        }
    }
    fprintf(f, "Signature data\n");
    line_hex(f, "signature", q->signature, 64);
    line_hex(f, "attest_key", q->attest_key, 64);
    line_hex(f, "qe_mr_enclave", q->qe_report.mr_enclave, 32);
    line_hex(f, "qe_mr_signer", q->qe_report.mr_signer, 32);
    line_num(f, "qe_isv_prod_id", q->qe_report.isv_prod_id, NULL);
    line_num(f, "qe_isv_svn", q->qe_report.isv_svn, NULL);
    line_num(f, "qe_auth_data", q->qe_auth_size, "bytes");
    fprintf(f, "  %-18s %s, %u bytes\n", "certification", initra_cert_type_name(q->cert_type), q->cert_size);
}
