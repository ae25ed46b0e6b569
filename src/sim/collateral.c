/* The simulated platform's dated collateral: TCB info v3 and QE identity v2 JSON texts in Intel's exact
 * form, signed as Intel signs them (ECDSA P-256 SHA-256 over the exact text, r||s hex), the two CRLs,
 * and the bundle in the vectors' format (docs/protocols.md#collateral). */
#include "sim/internal.h"

#include <stdlib.h>
#include <string.h>

#include <jansson.h>

/* The simulated PCS publishes any status Intel's TCB info can carry (dcap's table), except
 * TcbNotSupported, which Intel reports only for platforms it has no TCB level for. */
int sim_check_status(const char *status, initra_err *err)
{
    int s = initra_tcb_status_from_name(status);
    if (s >= 0 && s != INITRA_TCB_NOT_SUPPORTED) return 0;
    return initra_fail(err, "TCB status '%s' is not one of UpToDate, SWHardeningNeeded, ConfigurationNeeded, "
                            "ConfigurationAndSWHardeningNeeded, OutOfDate, OutOfDateConfigurationNeeded, Revoked",
                       status);
}

json_t *sim_parse_advisories(const char *list, initra_err *err)
{
    json_t *a = json_array();
    const char *p = list ? list : "";
    while (*p) {
        size_t n = strcspn(p, ",");
        int ok = n > 0 && n < 64;
        for (size_t i = 0; ok && i < n; i++) {
            char c = p[i];
            ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
                 c == '.';
        }
        if (!ok) {
            json_decref(a);
            initra_fail(err, "advisory ID '%.*s' in '%s' is not valid: want IDs like INTEL-SA-00615 "
                             "(letters, digits, '-', '_', '.'), separated by commas",
                        (int)(n > 64 ? 64 : n), p, list);
            return NULL;
        }
        json_array_append_new(a, json_stringn(p, n));
        p += n;
        if (*p == ',' && !*++p) {
            json_decref(a);
            initra_fail(err, "advisory list '%s' ends with a comma", list);
            return NULL;
        }
    }
    return a;
}

static json_t *iso(time_t t)
{
    char buf[21];
    sim_iso_time(t, buf);
    return json_string(buf);
}

static char *compact(json_t *o)
{
    char *s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(o);
    return s;
}

static json_t *tcb_level(const initra_pck_ext *pck, int raise, time_t date, const char *status, json_t *advisories)
{
    json_t *comps = json_array();
    for (int i = 0; i < 16; i++) {
        json_t *c = json_object();
        json_object_set_new(c, "svn", json_integer(pck->comp_svn[i] + (raise && i < 2 ? 1 : 0)));
        json_array_append_new(comps, c);
    }
    json_t *tcb = json_object(), *lvl = json_object();
    json_object_set_new(tcb, "sgxtcbcomponents", comps);
    json_object_set_new(tcb, "pcesvn", json_integer(pck->pce_svn + (raise ? 1 : 0)));
    json_object_set_new(lvl, "tcb", tcb);
    json_object_set_new(lvl, "tcbDate", iso(date));
    json_object_set_new(lvl, "tcbStatus", json_string(status));
    if (advisories && json_array_size(advisories) > 0) json_object_set(lvl, "advisoryIDs", advisories);
    return lvl;
}

/* TCB info v3. A platform whose status is not UpToDate gets a higher UpToDate level first, so a verifier
 * has to skip it (its components exceed the PCK certificate's) and match the platform's own level. */
static char *tcb_info_text(const sim_dated *d, const initra_pck_ext *pck)
{
    char fmspc[13];
    time_t today = d->now - d->now % 86400;
    json_t *o = json_object(), *levels = json_array();
    json_object_set_new(o, "id", json_string("SGX"));
    json_object_set_new(o, "version", json_integer(3));
    json_object_set_new(o, "issueDate", iso(d->now));
    json_object_set_new(o, "nextUpdate", iso(d->now + SIM_COLLATERAL_DAYS * 86400L));
    json_object_set_new(o, "fmspc", json_string(initra_hex_upper(pck->fmspc, 6, fmspc)));
    json_object_set_new(o, "pceId", json_string("0000"));
    json_object_set_new(o, "tcbType", json_integer(0));
    json_object_set_new(o, "tcbEvaluationDataNumber", json_integer(d->tcb_eval));
    if (strcmp(d->status, "UpToDate") != 0) {
        json_array_append_new(levels, tcb_level(pck, 1, today, "UpToDate", NULL));
        json_array_append_new(levels, tcb_level(pck, 0, today - 180 * 86400L, d->status, d->advisories));
    } else {
        json_array_append_new(levels, tcb_level(pck, 0, today, d->status, d->advisories));
    }
    json_object_set_new(o, "tcbLevels", levels);
    return compact(o);
}

static char *qe_identity_text(const sim_dated *d)
{
    json_t *o = json_object(), *levels = json_array(), *lvl = json_object(), *tcb = json_object();
    json_object_set_new(o, "id", json_string("QE"));
    json_object_set_new(o, "version", json_integer(2));
    json_object_set_new(o, "issueDate", iso(d->now));
    json_object_set_new(o, "nextUpdate", iso(d->now + SIM_COLLATERAL_DAYS * 86400L));
    json_object_set_new(o, "tcbEvaluationDataNumber", json_integer(d->tcb_eval));
    json_object_set_new(o, "miscselect", json_string(SIM_QE_MISCSELECT));
    json_object_set_new(o, "miscselectMask", json_string(SIM_QE_MISCSELECT_MASK));
    json_object_set_new(o, "attributes", json_string(SIM_QE_ATTRIBUTES));
    json_object_set_new(o, "attributesMask", json_string(SIM_QE_ATTRIBUTES_MASK));
    json_object_set_new(o, "mrsigner", json_string(SIM_QE_MRSIGNER_HEX));
    json_object_set_new(o, "isvprodid", json_integer(SIM_QE_PROD_ID));
    json_object_set_new(tcb, "isvsvn", json_integer(d->qe_svn));
    json_object_set_new(lvl, "tcb", tcb);
    json_object_set_new(lvl, "tcbDate", iso(d->now - d->now % 86400));
    json_object_set_new(lvl, "tcbStatus", json_string("UpToDate"));
    json_array_append_new(levels, lvl);
    json_object_set_new(o, "tcbLevels", levels);
    return compact(o);
}

static json_t *sig_hex(EVP_PKEY *key, const char *text, initra_err *err)
{
    uint8_t rs[64];
    char hex[129];
    if (sim_sign_rs(key, (const uint8_t *)text, strlen(text), rs, err)) return NULL;
    return json_string(initra_hex(rs, 64, hex));
}

static json_t *der_hex(const uint8_t *der, size_t n)
{
    char *hex = malloc(2 * n + 1);
    json_t *s = hex ? json_string(initra_hex(der, n, hex)) : NULL;
    free(hex);
    return s;
}

static json_t *pem_chain(X509 *first, X509 *root, initra_err *err)
{
    char *a = NULL, *b = NULL;
    size_t na, nb;
    json_t *s = NULL;
    if (sim_cert_pem(first, &a, &na, err) == 0 && sim_cert_pem(root, &b, &nb, err) == 0) {
        char *both = malloc(na + nb + 1);
        if (both) {
            memcpy(both, a, na);
            memcpy(both + na, b, nb + 1);
            s = json_string(both);
            free(both);
        }
    }
    free(a);
    free(b);
    return s;
}

void sim_collateral_free(sim_collateral *c)
{
    free(c->root_crl);
    free(c->pck_crl);
    free(c->tcb_info);
    free(c->qe_identity);
    free(c->bundle);
    memset(c, 0, sizeof *c);
}

int sim_collateral_make(const sim_dated *d, const sim_pki *k, sim_collateral *c, initra_err *err)
{
    memset(c, 0, sizeof *c);
    initra_pck_ext pck;
    if (initra_pck_ext_from_cert(k->pck, &pck, err)) return initra_fail_prefix(err, "sim: PCK certificate");
    if (sim_crl_der(k->root, k->root_key, d->crl_number, d->now, SIM_COLLATERAL_DAYS, &c->root_crl, &c->root_crl_len, err) ||
        sim_crl_der(k->pck_ca, k->pck_ca_key, d->crl_number, d->now, SIM_COLLATERAL_DAYS, &c->pck_crl, &c->pck_crl_len, err))
        goto fail;
    c->tcb_info = tcb_info_text(d, &pck);
    c->qe_identity = qe_identity_text(d);
    if (!c->tcb_info || !c->qe_identity) {
        initra_fail(err, "out of memory");
        goto fail;
    }
    /* The bundle, keys in the vectors' order. */
    json_t *b = json_object(), *v;
#define PUT(key, expr)                                                            \
    do {                                                                          \
        if (!(v = (expr))) {                                                      \
            json_decref(b);                                                       \
            if (!err || !err->msg[0]) initra_fail(err, "sim: cannot build " key); \
            goto fail;                                                            \
        }                                                                         \
        json_object_set_new(b, key, v);                                           \
    } while (0)
    if (err) err->msg[0] = 0;
    PUT("pck_crl_issuer_chain", pem_chain(k->pck_ca, k->root, err));
    PUT("root_ca_crl", der_hex(c->root_crl, c->root_crl_len));
    PUT("pck_crl", der_hex(c->pck_crl, c->pck_crl_len));
    PUT("tcb_info_issuer_chain", pem_chain(k->tcb, k->root, err));
    PUT("tcb_info", json_string(c->tcb_info));
    PUT("tcb_info_signature", sig_hex(k->tcb_key, c->tcb_info, err));
    PUT("qe_identity_issuer_chain", pem_chain(k->tcb, k->root, err));
    PUT("qe_identity", json_string(c->qe_identity));
    PUT("qe_identity_signature", sig_hex(k->tcb_key, c->qe_identity, err));
#undef PUT
    c->bundle = json_dumps(b, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    json_decref(b);
    if (!c->bundle) {
        initra_fail(err, "out of memory");
        goto fail;
    }
    return 0;
fail:
    sim_collateral_free(c);
    return -1;
}
