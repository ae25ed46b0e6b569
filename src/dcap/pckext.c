/* The PCK certificate's SGX extension: a SEQUENCE OF { OID, value } whose TCB entry is itself a
 * SEQUENCE OF { OID, INTEGER | OCTET STRING }. Encoded and decoded with OpenSSL's ASN.1 templates. */
#include "initra/dcap.h"

#include <inttypes.h>
#include <string.h>

#include <openssl/pem.h>

#include <openssl/asn1t.h>
#include <openssl/objects.h>
#include <openssl/x509v3.h>

#include "dcap/internal.h"

typedef struct {
    ASN1_OBJECT *oid;
    ASN1_TYPE *value;
} INITRA_SGX_EXT_ITEM;

ASN1_SEQUENCE(INITRA_SGX_EXT_ITEM) = {
    ASN1_SIMPLE(INITRA_SGX_EXT_ITEM, oid, ASN1_OBJECT),
    ASN1_SIMPLE(INITRA_SGX_EXT_ITEM, value, ASN1_ANY),
} ASN1_SEQUENCE_END(INITRA_SGX_EXT_ITEM)

DEFINE_STACK_OF(INITRA_SGX_EXT_ITEM)
typedef STACK_OF(INITRA_SGX_EXT_ITEM) INITRA_SGX_EXT_LIST;

ASN1_ITEM_TEMPLATE(INITRA_SGX_EXT_LIST) =
    ASN1_EX_TEMPLATE_TYPE(ASN1_TFLG_SEQUENCE_OF, 0, InitraSgxExtList, INITRA_SGX_EXT_ITEM)
ASN1_ITEM_TEMPLATE_END(INITRA_SGX_EXT_LIST)

#define SGX_OID INITRA_OID_SGX_EXT

static INITRA_SGX_EXT_LIST *list_d2i(const uint8_t *der, size_t len)
{
    const unsigned char *p = der;
    if (len > 65536) return NULL;
    INITRA_SGX_EXT_LIST *l = (INITRA_SGX_EXT_LIST *)ASN1_item_d2i(NULL, &p, (long)len, ASN1_ITEM_rptr(INITRA_SGX_EXT_LIST));
    if (l && p != der + len) { /* trailing bytes */
        ASN1_item_free((ASN1_VALUE *)l, ASN1_ITEM_rptr(INITRA_SGX_EXT_LIST));
        return NULL;
    }
    return l;
}

static void list_free(INITRA_SGX_EXT_LIST *l)
{
    if (l) ASN1_item_free((ASN1_VALUE *)l, ASN1_ITEM_rptr(INITRA_SGX_EXT_LIST));
}

/* Dotted text of an OID; "" on failure. */
static void oid_text(const ASN1_OBJECT *o, char *buf, size_t n)
{
    if (OBJ_obj2txt(buf, (int)n, o, 1) <= 0) buf[0] = 0;
}

/* The last arc of `o` when it is directly under `prefix` (dotted, with the trailing dot): for
 * prefix "1.2.840.113741.1.13.1.2." and OID "...13.1.2.17" it is 17; -1 otherwise. The OID text is
 * also left in `text` for messages. */
static long arc_under(const ASN1_OBJECT *o, const char *prefix, char *text, size_t n)
{
    oid_text(o, text, n);
    size_t pl = strlen(prefix);
    if (strncmp(text, prefix, pl) != 0 || !text[pl]) return -1;
    char *end;
    long k = strtol(text + pl, &end, 10);
    return *end || k < 0 ? -1 : k;
}

static int get_octets(const ASN1_TYPE *v, uint8_t *out, size_t n, const char *what, initra_err *err)
{
    if (v->type != V_ASN1_OCTET_STRING || ASN1_STRING_length(v->value.octet_string) != (int)n)
        return initra_fail(err, "PCK certificate SGX extension: %s is not a %zu-byte OCTET STRING", what, n);
    memcpy(out, ASN1_STRING_get0_data(v->value.octet_string), n);
    return 0;
}

static int get_uint(const ASN1_TYPE *v, int type, long max, long *out, const char *what, initra_err *err)
{
    long x = -1;
    if (v->type == type && type == V_ASN1_INTEGER) x = ASN1_INTEGER_get(v->value.integer);
    else if (v->type == type && type == V_ASN1_ENUMERATED) x = ASN1_ENUMERATED_get(v->value.enumerated);
    if (v->type != type || x < 0 || x > max)
        return initra_fail(err, "PCK certificate SGX extension: %s is not an %s from 0 to %ld", what,
                           type == V_ASN1_INTEGER ? "INTEGER" : "ENUMERATED", max);
    *out = x;
    return 0;
}

static int parse_tcb(const ASN1_TYPE *v, initra_pck_ext *out, initra_err *err)
{
    if (v->type != V_ASN1_SEQUENCE)
        return initra_fail(err, "PCK certificate SGX extension: TCB (%s.2) is not a SEQUENCE", SGX_OID);
    INITRA_SGX_EXT_LIST *tcb = list_d2i(v->value.sequence->data, (size_t)v->value.sequence->length);
    if (!tcb) return initra_fail(err, "PCK certificate SGX extension: TCB (%s.2) does not parse as DER", SGX_OID);
    unsigned seen = 0; /* bit i-1 for component i; bit 16 pcesvn; bit 17 cpusvn */
    int rc = 0;
    for (int i = 0; rc == 0 && i < sk_INITRA_SGX_EXT_ITEM_num(tcb); i++) {
        INITRA_SGX_EXT_ITEM *it = sk_INITRA_SGX_EXT_ITEM_value(tcb, i);
        char oid[80];
        long k = arc_under(it->oid, SGX_OID ".2.", oid, sizeof oid);
        if (k < 1 || k > 18) continue;
        long x;
        char what[128];
        snprintf(what, sizeof what, "TCB component %s", oid);
        if (k <= 16) {
            rc = get_uint(it->value, V_ASN1_INTEGER, 255, &x, what, err);
            if (!rc) out->comp_svn[k - 1] = (uint8_t)x;
        } else if (k == 17) {
            rc = get_uint(it->value, V_ASN1_INTEGER, 65535, &x, "PCESVN", err);
            if (!rc) out->pce_svn = (uint16_t)x;
        } else {
            rc = get_octets(it->value, out->cpu_svn, 16, "CPUSVN", err);
        }
        if (!rc && (seen & (1u << (k - 1))))
            rc = initra_fail(err, "PCK certificate SGX extension: %s appears twice", oid);
        seen |= 1u << (k - 1);
    }
    list_free(tcb);
    if (rc == 0 && seen != 0x3ffffu)
        return initra_fail(err, "PCK certificate SGX extension: TCB lacks components (found mask 0x%05x of 0x3ffff)", seen);
    return rc;
}

int dcap_pck_ext_parse(const uint8_t *der, size_t len, initra_pck_ext *out, initra_err *err)
{
    memset(out, 0, sizeof *out);
    INITRA_SGX_EXT_LIST *l = list_d2i(der, len);
    if (!l) return initra_fail(err, "PCK certificate SGX extension (%s) does not parse as DER", SGX_OID);
    unsigned seen = 0;
    int rc = 0;
    for (int i = 0; rc == 0 && i < sk_INITRA_SGX_EXT_ITEM_num(l); i++) {
        INITRA_SGX_EXT_ITEM *it = sk_INITRA_SGX_EXT_ITEM_value(l, i);
        char oid[80];
        long k = arc_under(it->oid, SGX_OID ".", oid, sizeof oid);
        if (k < 0) continue;
        long x;
        switch (k) {
        case 1: rc = get_octets(it->value, out->ppid, 16, "PPID", err); break;
        case 2: rc = parse_tcb(it->value, out, err); break;
        case 3: rc = get_octets(it->value, out->pce_id, 2, "PCE-ID", err); break;
        case 4: rc = get_octets(it->value, out->fmspc, 6, "FMSPC", err); break;
        case 5:
            rc = get_uint(it->value, V_ASN1_ENUMERATED, 2, &x, "SGX type", err);
            if (!rc) out->sgx_type = (int)x;
            break;
        case 6:
            rc = get_octets(it->value, out->platform_instance_id, 16, "PlatformInstanceID", err);
            out->has_platform_instance_id = rc == 0;
            break;
        default: continue;
        }
        if (!rc && k <= 6 && (seen & (1u << k)))
            rc = initra_fail(err, "PCK certificate SGX extension: %s appears twice", oid);
        if (k <= 6) seen |= 1u << k;
    }
    list_free(l);
    if (rc) return rc;
    const unsigned required = (1u << 1) | (1u << 2) | (1u << 3) | (1u << 4) | (1u << 5);
    if ((seen & required) != required)
        return initra_fail(err, "PCK certificate SGX extension lacks %s",
                           !(seen & 2) ? "PPID" : !(seen & 4) ? "TCB" : !(seen & 8) ? "PCE-ID"
                           : !(seen & 16) ? "FMSPC" : "SGX type");
    return 0;
}

int initra_pck_ext_from_cert(X509 *cert, initra_pck_ext *out, initra_err *err)
{
    ASN1_OBJECT *obj = OBJ_txt2obj(SGX_OID, 1);
    int idx = obj ? X509_get_ext_by_OBJ(cert, obj, -1) : -1;
    int again = (obj && idx >= 0) ? X509_get_ext_by_OBJ(cert, obj, idx) : -1;
    ASN1_OBJECT_free(obj);
    if (idx < 0) return initra_fail(err, "PCK certificate has no SGX extension (%s)", SGX_OID);
    if (again >= 0) return initra_fail(err, "PCK certificate has the SGX extension (%s) twice", SGX_OID);
    ASN1_OCTET_STRING *v = X509_EXTENSION_get_data(X509_get_ext(cert, idx));
    return dcap_pck_ext_parse(ASN1_STRING_get0_data(v), (size_t)ASN1_STRING_length(v), out, err);
}

/* ---- encoding ---- */

static int push(INITRA_SGX_EXT_LIST *l, const char *oid, int type, void *value)
{
    INITRA_SGX_EXT_ITEM *it = (INITRA_SGX_EXT_ITEM *)ASN1_item_new(ASN1_ITEM_rptr(INITRA_SGX_EXT_ITEM));
    if (!it) return -1;
    ASN1_OBJECT_free(it->oid);
    it->oid = OBJ_txt2obj(oid, 1);
    if (!it->oid || !ASN1_TYPE_set1(it->value, type, value) || !sk_INITRA_SGX_EXT_ITEM_push(l, it)) {
        ASN1_item_free((ASN1_VALUE *)it, ASN1_ITEM_rptr(INITRA_SGX_EXT_ITEM));
        return -1;
    }
    return 0;
}

static int push_octets(INITRA_SGX_EXT_LIST *l, const char *oid, const uint8_t *p, int n)
{
    ASN1_OCTET_STRING *s = ASN1_OCTET_STRING_new();
    int rc = (s && ASN1_OCTET_STRING_set(s, p, n)) ? push(l, oid, V_ASN1_OCTET_STRING, s) : -1;
    ASN1_OCTET_STRING_free(s);
    return rc;
}

static int push_int(INITRA_SGX_EXT_LIST *l, const char *oid, int type, long v)
{
    ASN1_INTEGER *i = ASN1_INTEGER_new();
    int ok = i && (type == V_ASN1_ENUMERATED ? ASN1_ENUMERATED_set((ASN1_ENUMERATED *)i, v) : ASN1_INTEGER_set(i, v));
    if (ok && type == V_ASN1_ENUMERATED) i->type = V_ASN1_ENUMERATED;
    int rc = ok ? push(l, oid, type, i) : -1;
    ASN1_INTEGER_free(i);
    return rc;
}

/* DER of a list, wrapped as the value of a SEQUENCE-typed ANY. */
static int push_list(INITRA_SGX_EXT_LIST *l, const char *oid, INITRA_SGX_EXT_LIST *inner)
{
    unsigned char *der = NULL;
    int n = ASN1_item_i2d((ASN1_VALUE *)inner, &der, ASN1_ITEM_rptr(INITRA_SGX_EXT_LIST));
    if (n <= 0) return -1;
    ASN1_STRING *s = ASN1_STRING_new();
    int rc = (s && ASN1_STRING_set(s, der, n)) ? push(l, oid, V_ASN1_SEQUENCE, s) : -1;
    ASN1_STRING_free(s);
    OPENSSL_free(der);
    return rc;
}

int initra_pck_ext_encode(const initra_pck_ext *in, uint8_t **der, size_t *len, initra_err *err)
{
    INITRA_SGX_EXT_LIST *l = sk_INITRA_SGX_EXT_ITEM_new_null(), *tcb = sk_INITRA_SGX_EXT_ITEM_new_null();
    int rc = (l && tcb) ? 0 : -1;
    char oid[80];
    for (int k = 1; rc == 0 && k <= 16; k++) {
        snprintf(oid, sizeof oid, SGX_OID ".2.%d", k);
        rc = push_int(tcb, oid, V_ASN1_INTEGER, in->comp_svn[k - 1]);
    }
    if (rc == 0) rc = push_int(tcb, SGX_OID ".2.17", V_ASN1_INTEGER, in->pce_svn);
    if (rc == 0) rc = push_octets(tcb, SGX_OID ".2.18", in->cpu_svn, 16);
    if (rc == 0) rc = push_octets(l, SGX_OID ".1", in->ppid, 16);
    if (rc == 0) rc = push_list(l, SGX_OID ".2", tcb);
    if (rc == 0) rc = push_octets(l, SGX_OID ".3", in->pce_id, 2);
    if (rc == 0) rc = push_octets(l, SGX_OID ".4", in->fmspc, 6);
    if (rc == 0) rc = push_int(l, SGX_OID ".5", V_ASN1_ENUMERATED, in->sgx_type);
    if (rc == 0 && in->has_platform_instance_id) rc = push_octets(l, SGX_OID ".6", in->platform_instance_id, 16);
    unsigned char *out = NULL;
    int n = rc == 0 ? ASN1_item_i2d((ASN1_VALUE *)l, &out, ASN1_ITEM_rptr(INITRA_SGX_EXT_LIST)) : -1;
    list_free(l);
    list_free(tcb);
    if (n <= 0) return initra_fail(err, "cannot encode the PCK certificate SGX extension");
    *der = out;
    *len = (size_t)n;
    return 0;
}

/* ---- reading it from a quote, printing it ---- */

int initra_quote_pck_ext(const initra_quote *q, initra_pck_ext *out, char subject[128], char issuer[128],
                         initra_err *err)
{
    if (q->cert_type != INITRA_CERT_TYPE_PCK_CHAIN)
        return initra_fail(err, "quote: certification data is %s, not a PCK certificate chain (5)",
                           initra_cert_type_name(q->cert_type));
    STACK_OF(X509) *chain = dcap_pem_chain((const char *)q->cert_data, q->cert_size);
    if (!chain) return initra_fail(err, "quote: certification data (%u bytes) holds no readable PEM certificate", q->cert_size);
    X509 *leaf = sk_X509_value(chain, 0);
    dcap_cn(X509_get_subject_name(leaf), subject, 128);
    dcap_cn(X509_get_issuer_name(leaf), issuer, 128);
    int rc = initra_pck_ext_from_cert(leaf, out, err);
    sk_X509_pop_free(chain, X509_free);
    return rc;
}

static const char *sgx_type_name(int t)
{
    return t == INITRA_SGX_TYPE_STANDARD ? "Standard" : t == INITRA_SGX_TYPE_SCALABLE ? "Scalable"
           : t == INITRA_SGX_TYPE_SCALABLE_INTEGRITY ? "ScalableWithIntegrity" : "unknown";
}

void initra_pck_ext_print(FILE *f, const initra_pck_ext *e)
{
    char h[33];
    fprintf(f, "  %-18s %s\n", "fmspc", initra_hex_upper(e->fmspc, 6, h));
    fprintf(f, "  %-18s %s\n", "pce_id", initra_hex_upper(e->pce_id, 2, h));
    fprintf(f, "  %-18s %u (0x%x)\n", "pce_svn", e->pce_svn, e->pce_svn);
    fprintf(f, "  %-18s %s\n", "cpu_svn", initra_hex(e->cpu_svn, 16, h));
    fprintf(f, "  %-18s %s\n", "tcb_comp_svn", initra_hex(e->comp_svn, 16, h));
    fprintf(f, "  %-18s %s (%d)\n", "sgx_type", sgx_type_name(e->sgx_type), e->sgx_type);
    fprintf(f, "  %-18s %s\n", "ppid", initra_hex(e->ppid, 16, h));
    if (e->has_platform_instance_id)
        fprintf(f, "  %-18s %s\n", "platform_inst_id", initra_hex(e->platform_instance_id, 16, h));
}

json_t *initra_pck_ext_to_json(const initra_pck_ext *e)
{
    char h[33];
    json_t *o = json_object();
    json_object_set_new(o, "fmspc", json_string(initra_hex_upper(e->fmspc, 6, h)));
    json_object_set_new(o, "pce_id", json_string(initra_hex_upper(e->pce_id, 2, h)));
    json_object_set_new(o, "pce_svn", json_integer(e->pce_svn));
    json_object_set_new(o, "cpu_svn", json_string(initra_hex(e->cpu_svn, 16, h)));
    json_object_set_new(o, "tcb_comp_svn", json_string(initra_hex(e->comp_svn, 16, h)));
    json_object_set_new(o, "sgx_type", json_string(sgx_type_name(e->sgx_type)));
    json_object_set_new(o, "ppid", json_string(initra_hex(e->ppid, 16, h)));
    if (e->has_platform_instance_id)
        json_object_set_new(o, "platform_instance_id", json_string(initra_hex(e->platform_instance_id, 16, h)));
    return o;
}
