/* DCAP quote verification (docs/protocols.md#dcap) on collateral that was parsed and signature-checked
 * once, and PCK chains that were checked once: the hot path parses the quote, looks both up by
 * SHA-256, compares times and SVN arrays, and verifies the QE report and quote signatures. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <openssl/sha.h>

#include "dcap/internal.h"

/* ---- caches (slots with round-robin replacement; entries are reference counted) ---- */

static void pck_release(dcap_pck *p)
{
    if (!p || atomic_fetch_sub(&p->refs, 1) != 1) return;
    X509_free(p->leaf);
    EVP_PKEY_free(p->ak);
    free(p);
}

static void cache_flush(initra_dcap *d)
{
    for (size_t i = 0; i < DCAP_CACHE_SLOTS; i++) {
        initra_collateral_release(d->coll[i]);
        d->coll[i] = NULL;
        pck_release(d->pck[i]);
        d->pck[i] = NULL;
    }
}

void initra_dcap_free(initra_dcap *d)
{
    if (!d) return;
    cache_flush(d);
    for (size_t i = 0; i < d->n_roots; i++) X509_free(d->roots[i].cert);
    pthread_mutex_destroy(&d->lock);
    free(d);
}

void dcap_cache_flush(initra_dcap *d)
{
    pthread_mutex_lock(&d->lock);
    cache_flush(d);
    pthread_mutex_unlock(&d->lock);
}

initra_collateral *initra_dcap_collateral(initra_dcap *d, const char *bundle, size_t len, initra_err *err)
{
    uint8_t key[32];
    SHA256((const unsigned char *)bundle, len, key);
    pthread_mutex_lock(&d->lock);
    for (size_t i = 0; i < DCAP_CACHE_SLOTS; i++)
        if (d->coll[i] && !memcmp(d->coll[i]->key, key, 32)) {
            initra_collateral *c = dcap_collateral_ref(d->coll[i]);
            pthread_mutex_unlock(&d->lock);
            return c;
        }
    pthread_mutex_unlock(&d->lock);
    initra_collateral *c = dcap_collateral_parse(bundle, len, err);
    if (!c) return NULL;
    dcap_check_collateral(d, c);
    pthread_mutex_lock(&d->lock);
    size_t slot = d->coll_next++ % DCAP_CACHE_SLOTS;
    initra_collateral_release(d->coll[slot]);
    d->coll[slot] = dcap_collateral_ref(c);
    pthread_mutex_unlock(&d->lock);
    return c;
}

/* The checked outcome of c against d (a collateral parsed elsewhere is checked on first use). */
static void ensure_checked(initra_dcap *d, initra_collateral *c)
{
    pthread_mutex_lock(&d->lock);
    if (!c->checked) dcap_check_collateral(d, c);
    pthread_mutex_unlock(&d->lock);
}

static dcap_pck *pck_build(initra_dcap *d, const initra_quote *q, const uint8_t key[32], initra_err *err)
{
    if (q->cert_type != INITRA_CERT_TYPE_PCK_CHAIN) {
        initra_fail(err, "quote: certification data is %s, not a PCK certificate chain (5)", initra_cert_type_name(q->cert_type));
        return NULL;
    }
    STACK_OF(X509) *chain = dcap_pem_chain((const char *)q->cert_data, q->cert_size);
    if (!chain) {
        initra_fail(err, "quote: the certification data holds no PEM certificate");
        return NULL;
    }
    dcap_pck *p = calloc(1, sizeof *p);
    if (!p) {
        sk_X509_pop_free(chain, X509_free);
        initra_fail(err, "out of memory");
        return NULL;
    }
    atomic_init(&p->refs, 1);
    memcpy(p->key, key, 32);
    int rc = dcap_verify_chain(d, chain, "PCK certificate chain", p->windows, &p->n_windows, 4, &p->root, err);
    if (rc == 0 && sk_X509_num(chain) < 2) rc = initra_fail(err, "PCK certificate chain: a PCK certificate alone is not a chain");
    if (rc == 0) {
        p->leaf = sk_X509_value(chain, 0);
        X509_up_ref(p->leaf);
        p->leaf_key = X509_get0_pubkey(p->leaf);
        p->issuer = X509_get_issuer_name(p->leaf);
        dcap_cn(p->issuer, p->issuer_cn, sizeof p->issuer_cn);
        dcap_serial_of(X509_get0_serialNumber(p->leaf), &p->leaf_serial);
        X509 *inter = sk_X509_value(chain, 1);
        p->inter_by_root = X509_cmp(inter, d->roots[p->root].cert) != 0;
        dcap_serial_of(X509_get0_serialNumber(inter), &p->inter_serial);
        snprintf(p->ca, sizeof p->ca, "%s", strcasestr(p->issuer_cn, "Processor") ? "processor"
                                            : strcasestr(p->issuer_cn, "Platform") ? "platform" : "unknown");
        if (!p->leaf_key) rc = initra_fail(err, "PCK certificate: no usable public key");
        else if (initra_pck_ext_from_cert(p->leaf, &p->ext, err)) rc = -1;
    }
    sk_X509_pop_free(chain, X509_free);
    if (rc) {
        pck_release(p);
        return NULL;
    }
    return p;
}

static dcap_pck *pck_get(initra_dcap *d, const initra_quote *q, initra_err *err)
{
    uint8_t key[32];
    SHA256(q->cert_data, q->cert_size, key);
    pthread_mutex_lock(&d->lock);
    for (size_t i = 0; i < DCAP_CACHE_SLOTS; i++)
        if (d->pck[i] && !memcmp(d->pck[i]->key, key, 32)) {
            dcap_pck *p = d->pck[i];
            atomic_fetch_add(&p->refs, 1);
            pthread_mutex_unlock(&d->lock);
            return p;
        }
    pthread_mutex_unlock(&d->lock);
    dcap_pck *p = pck_build(d, q, key, err);
    if (!p) return NULL;
    pthread_mutex_lock(&d->lock);
    size_t slot = d->pck_next++ % DCAP_CACHE_SLOTS;
    pck_release(d->pck[slot]);
    atomic_fetch_add(&p->refs, 1);
    d->pck[slot] = p;
    pthread_mutex_unlock(&d->lock);
    return p;
}

int dcap_quote_pck(initra_dcap *d, const uint8_t *quote, size_t len, uint8_t fmspc[6], char ca[16], int *tdx,
                   initra_err *err)
{
    initra_quote q;
    if (initra_quote_parse(quote, len, &q, err)) return -1;
    dcap_pck *p = pck_get(d, &q, err);
    if (!p) return -1;
    memcpy(fmspc, p->ext.fmspc, 6);
    snprintf(ca, 16, "%s", p->ca);
    *tdx = q.header.tee_type == INITRA_TEE_TDX;
    pck_release(p);
    return 0;
}

/* ---- verification ---- */

static int fail(initra_dcap_result *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(initra_dcap_result *r, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->error, sizeof r->error, fmt, ap);
    va_end(ap);
    r->verified = 0;
    return -1;
}

/* Merges a level's advisories into the result; more distinct IDs than the result holds fail (a truncated
 * list could hide the one advisory a policy refuses). */
static int adv_add(initra_dcap_result *r, const dcap_adv *a)
{
    for (size_t i = 0; i < a->n; i++) {
        size_t k = 0;
        while (k < r->n_advisories && strcmp(r->advisories[k], a->ids[i]) < 0) k++;
        if (k < r->n_advisories && !strcmp(r->advisories[k], a->ids[i])) continue;
        if (r->n_advisories >= INITRA_DCAP_MAX_ADVISORIES)
            return fail(r, "the matching TCB levels name more than %d distinct advisory IDs (at %s); initra refuses "
                           "rather than drop some: check the collateral",
                        INITRA_DCAP_MAX_ADVISORIES, a->ids[i]);
        memmove(r->advisories[k + 1], r->advisories[k], (r->n_advisories - k) * sizeof r->advisories[0]);
        snprintf(r->advisories[k], sizeof r->advisories[k], "%s", a->ids[i]);
        r->n_advisories++;
    }
    return 0;
}

/* Checks every window at `at`; outside one: fail unless allowed (then noted). */
static int check_windows(initra_dcap_result *r, const dcap_window *w, size_t n, time_t at, unsigned flags)
{
    for (size_t i = 0; i < n; i++) {
        if (w[i].until < r->collateral_expires) r->collateral_expires = w[i].until;
        if (at >= w[i].from && at <= w[i].until) continue;
        if (flags & INITRA_DCAP_ALLOW_EXPIRED_COLLATERAL) {
            r->expired_collateral_allowed = 1;
            continue;
        }
        char t[32], a[32], b[32];
        dcap_fmt_time(at, t);
        dcap_fmt_time(w[i].from, a);
        dcap_fmt_time(w[i].until, b);
        return fail(r, "%s is %s at %s (valid from %s to %s); expired collateral is refused unless explicitly allowed",
                    w[i].what, at < w[i].from ? "not yet valid" : "expired", t, a, b);
    }
    return 0;
}

static const dcap_isv_level *isv_match(const dcap_isv_level *l, size_t n, uint16_t svn)
{
    for (size_t i = 0; i < n; i++)
        if (svn >= l[i].isvsvn) return &l[i];
    return NULL;
}

static int check_qe(initra_dcap_result *r, const initra_qe_identity *qe, const initra_sgx_report_body *rep,
                    const dcap_isv_level **level)
{
    char a[65], b[65];
    if ((rep->misc_select & qe->miscselect_mask) != (qe->miscselect & qe->miscselect_mask))
        return fail(r, "QE report MISCSELECT 0x%08x does not match the QE identity (0x%08x under mask 0x%08x)", rep->misc_select,
                    qe->miscselect, qe->miscselect_mask);
    uint8_t attr[16];
    initra_put_le64(attr, rep->attributes.flags);
    initra_put_le64(attr + 8, rep->attributes.xfrm);
    for (int i = 0; i < 16; i++)
        if ((attr[i] & qe->attributes_mask[i]) != (qe->attributes[i] & qe->attributes_mask[i]))
            return fail(r, "QE report ATTRIBUTES %s do not match the QE identity (%s under mask)", initra_hex(attr, 16, a),
                        initra_hex(qe->attributes, 16, b));
    if (memcmp(rep->mr_signer, qe->mrsigner, 32))
        return fail(r, "QE report MRSIGNER %s is not the QE identity's %s", initra_hex(rep->mr_signer, 32, a),
                    initra_hex(qe->mrsigner, 32, b));
    if (rep->isv_prod_id != qe->isvprodid)
        return fail(r, "QE report ISVPRODID %u is not the QE identity's %u", rep->isv_prod_id, qe->isvprodid);
    *level = isv_match(qe->levels, qe->n_levels, rep->isv_svn);
    if (!*level) {
        r->status = INITRA_TCB_NOT_SUPPORTED;
        return fail(r, "QE ISVSVN %u is below every TCB level of the QE identity", rep->isv_svn);
    }
    return 0;
}

/* tee_tcb_svn against tdxtcbcomponents; bytes 0-1 belong to the TDX module when tee_tcb_svn[1] > 0 */
static int tdx_match(const dcap_tcb_level *l, const uint8_t svn[16])
{
    for (int i = svn[1] > 0 ? 2 : 0; i < 16; i++)
        if (svn[i] < l->tdx[i]) return 0;
    return 1;
}

static int check_tdx_module(initra_dcap_result *r, const initra_tcb_info *t, const initra_td_report *td,
                            const dcap_isv_level **level)
{
    *level = NULL;
    const dcap_tdx_module *m = t->has_module ? &t->module : NULL;
    if (td->tee_tcb_svn[1] > 0 && t->n_identities) {
        char want[16];
        snprintf(want, sizeof want, "TDX_%02X", td->tee_tcb_svn[1]);
        m = NULL;
        for (size_t i = 0; i < t->n_identities && !m; i++)
            if (!strcasecmp(t->identities[i].id, want)) m = &t->identities[i];
        if (!m) return fail(r, "TCB info has no TDX module identity %s for the quote's TDX module", want);
    }
    if (!m) return 0;
    char a[97], b[97];
    if (memcmp(td->mr_signer_seam, m->mrsigner, 48))
        return fail(r, "TD report MRSIGNERSEAM %s is not the TDX module's %s", initra_hex(td->mr_signer_seam, 48, a),
                    initra_hex(m->mrsigner, 48, b));
    for (int i = 0; i < 8; i++)
        if ((td->seam_attributes[i] & m->mask[i]) != (m->attributes[i] & m->mask[i]))
            return fail(r, "TD report SEAMATTRIBUTES %s do not match the TDX module's %s", initra_hex(td->seam_attributes, 8, a),
                        initra_hex(m->attributes, 8, b));
    if (m->n_levels) {
        *level = isv_match(m->levels, m->n_levels, td->tee_tcb_svn[0]);
        if (!*level) {
            r->status = INITRA_TCB_NOT_SUPPORTED;
            return fail(r, "TDX module %s ISVSVN %u is below every TCB level of its identity", m->id, td->tee_tcb_svn[0]);
        }
    }
    return 0;
}

/* The attestation key as an EVP_PKEY; a QE keeps its key across quotes, so the last one is kept with
 * the PCK chain entry. A fresh reference. */
static EVP_PKEY *attest_key(initra_dcap *d, dcap_pck *p, const uint8_t xy[64])
{
    EVP_PKEY *k = NULL;
    pthread_mutex_lock(&d->lock);
    if (p->ak && !memcmp(p->ak_xy, xy, 64) && EVP_PKEY_up_ref(p->ak)) k = p->ak;
    pthread_mutex_unlock(&d->lock);
    if (k) return k;
    if (!(k = dcap_p256_key(xy))) return NULL;
    pthread_mutex_lock(&d->lock);
    if (EVP_PKEY_up_ref(k)) {
        EVP_PKEY_free(p->ak);
        p->ak = k;
        memcpy(p->ak_xy, xy, 64);
    }
    pthread_mutex_unlock(&d->lock);
    return k;
}

/* The signatures a quote carries, needing no collateral: the QE report by the PCK key, binding the
 * attestation key (QE report data = SHA-256(attestation key || QE auth data), zero padded), and the
 * quote by the attestation key. NULL when all hold, else what failed. */
static const char *signatures(initra_dcap *d, const initra_quote *q, dcap_pck *p)
{
    if (!dcap_ecdsa_verify(p->leaf_key, q->qe_report_raw, INITRA_SGX_REPORT_BODY_SIZE, q->qe_report_sig))
        return "QE report signature does not verify with the PCK certificate key";
    uint8_t h[32 + 32];
    EVP_MD_CTX *mc = EVP_MD_CTX_new();
    int hok = mc && EVP_DigestInit_ex(mc, EVP_sha256(), NULL) == 1 && EVP_DigestUpdate(mc, q->attest_key, 64) == 1 &&
              EVP_DigestUpdate(mc, q->qe_auth_data, q->qe_auth_size) == 1 && EVP_DigestFinal_ex(mc, h, NULL) == 1;
    EVP_MD_CTX_free(mc);
    if (!hok) return "SHA-256 failed";
    memset(h + 32, 0, 32);
    if (memcmp(h, q->qe_report.report_data, 64))
        return "QE report data is not SHA-256(attestation key || QE auth data) followed by 32 zero bytes";
    EVP_PKEY *ak = attest_key(d, p, q->attest_key);
    if (!ak) return "quote: the attestation key is not a P-256 point";
    int ok = dcap_ecdsa_verify(ak, q->raw, q->signed_len, q->signature);
    EVP_PKEY_free(ak);
    return ok ? NULL : "quote signature does not verify with the attestation key";
}

int initra_dcap_quote_signed(initra_dcap *d, const uint8_t *quote, size_t len, initra_err *err)
{
    initra_quote q;
    if (initra_quote_parse(quote, len, &q, err)) return -1;
    dcap_pck *p = pck_get(d, &q, err);
    if (!p) return -1;
    const char *why = signatures(d, &q, p);
    pck_release(p);
    return why ? initra_fail(err, "%s", why) : 0;
}

static int verify_inner(initra_dcap *d, const initra_quote *q, initra_collateral *c, dcap_pck *p, time_t at,
                        unsigned flags, initra_dcap_result *r)
{
    int tdx = q->header.tee_type == INITRA_TEE_TDX;
    const dcap_root *root = &d->roots[p->root];
    snprintf(r->root, sizeof r->root, "%s", root->name);
    r->pck = p->ext;
    snprintf(r->pck_ca, sizeof r->pck_ca, "%s", p->ca);
    /* quote format */
    if (tdx && q->header.version < 4) return fail(r, "quote: TDX needs quote version 4 or 5");
    if (!memcmp(q->header.qe_vendor_id, INITRA_QE_VENDOR_SIM, 16)) {
        if (p->root == 0) return fail(r, "quote: QE vendor id is the initra simulator's, which an Intel-anchored chain cannot have");
    } else if (memcmp(q->header.qe_vendor_id, INITRA_QE_VENDOR_INTEL, 16)) {
        char h[33];
        return fail(r, "quote: QE vendor id %s is not Intel's (939a7233f79c4ca9940a0db3957f0607)", initra_hex(q->header.qe_vendor_id, 16, h));
    }
    /* collateral signatures and chains (checked once), same root as the PCK chain */
    ensure_checked(d, c);
    if (c->checked_by != d) return fail(r, "collateral was checked by another verification context; load it with this one");
    if (c->error[0]) return fail(r, "%s", c->error);
    if (c->root != p->root)
        return fail(r, "collateral is signed under '%s' but the PCK certificate chain ends at '%s'", d->roots[c->root].cn, root->cn);
    /* validity at the verification time */
    r->collateral_expires = c->expires;
    if (check_windows(r, p->windows, p->n_windows, at, flags) || check_windows(r, c->windows, c->n_windows, at, flags)) return -1;
    /* revocation */
    if (X509_NAME_cmp(c->pck_crl->issuer, p->issuer) != 0)
        return fail(r, "PCK CRL is issued by '%s' but the PCK certificate by '%s'", c->pck_crl->issuer_cn, p->issuer_cn);
    if (dcap_crl_revoked(c->pck_crl, &p->leaf_serial)) return fail(r, "PCK certificate is revoked by the PCK CRL (%s)", c->pck_crl->issuer_cn);
    if (p->inter_by_root && dcap_crl_revoked(c->root_crl, &p->inter_serial))
        return fail(r, "PCK certificate chain: '%s' is revoked by the root CA CRL", p->issuer_cn);
    /* TCB info and QE identity belong to this platform and TEE */
    const initra_tcb_info *t = c->tcb;
    const initra_qe_identity *qe = c->qe;
    char a[16], b[16];
    if (memcmp(t->fmspc, p->ext.fmspc, 6))
        return fail(r, "TCB info is for FMSPC %s but the PCK certificate's FMSPC is %s", initra_hex_upper(t->fmspc, 6, a),
                    initra_hex_upper(p->ext.fmspc, 6, b));
    if (memcmp(t->pce_id, p->ext.pce_id, 2))
        return fail(r, "TCB info is for PCE-ID %s but the PCK certificate's PCE-ID is %s", initra_hex_upper(t->pce_id, 2, a),
                    initra_hex_upper(p->ext.pce_id, 2, b));
    if (strcmp(t->id, tdx ? "TDX" : "SGX") || (tdx && t->version < 3))
        return fail(r, "TCB info is for %s (version %d) but the quote is %s", t->id, t->version, tdx ? "TDX" : "SGX");
    if (strcmp(qe->id, tdx ? "TD_QE" : "QE"))
        return fail(r, "QE identity is for %s but a %s quote needs %s", qe->id, tdx ? "TDX" : "SGX", tdx ? "TD_QE" : "QE");
    /* QE report signed by the PCK key binding the attestation key, the quote signed by that key */
    const char *why = signatures(d, q, p);
    if (why) return fail(r, "%s", why);
    const dcap_isv_level *qe_level;
    if (check_qe(r, qe, &q->qe_report, &qe_level)) return -1;
    /* platform TCB level */
    const dcap_tcb_level *lv = NULL;
    for (size_t i = 0; i < t->n_levels && !lv; i++) {
        const dcap_tcb_level *l = &t->levels[i];
        int match = p->ext.pce_svn >= l->pcesvn;
        for (int k = 0; match && k < 16; k++) match = p->ext.comp_svn[k] >= l->sgx[k];
        if (match && tdx) match = tdx_match(l, q->td.tee_tcb_svn);
        if (match) lv = l;
    }
    r->tcb_eval_data_number = t->eval < qe->eval ? t->eval : qe->eval;
    if (!lv) {
        r->status = INITRA_TCB_NOT_SUPPORTED;
        char cs[33];
        return fail(r, "TCB status TcbNotSupported: no TCB level of the TCB info matches the platform (component SVNs %s, PCESVN %u%s)",
                    initra_hex(p->ext.comp_svn, 16, cs), p->ext.pce_svn, tdx ? ", with the TD report's TEE_TCB_SVN" : "");
    }
    const dcap_isv_level *mod_level = NULL;
    if (tdx && check_tdx_module(r, t, &q->td, &mod_level)) return -1;
    r->status = lv->status;
    r->tcb_date = lv->date;
    if (adv_add(r, &lv->adv)) return -1;
    r->status = dcap_status_converge(r->status, qe_level->status);
    if (adv_add(r, &qe_level->adv)) return -1;
    if (qe_level->date < r->tcb_date) r->tcb_date = qe_level->date;
    if (mod_level) {
        r->status = dcap_status_converge(r->status, mod_level->status);
        if (adv_add(r, &mod_level->adv)) return -1;
        if (mod_level->date < r->tcb_date) r->tcb_date = mod_level->date;
    }
    if (r->status == INITRA_TCB_REVOKED) return fail(r, "TCB status Revoked: the platform's TCB level is revoked");
    r->verified = 1;
    return 0;
}

int initra_dcap_verify(initra_dcap *d, const uint8_t *quote, size_t len, initra_collateral *c, time_t at, unsigned flags,
                       initra_dcap_result *r)
{
    memset(r, 0, sizeof *r);
    r->status = INITRA_TCB_NONE;
    r->collateral_expires = (time_t)INT64_MAX;
    initra_quote q;
    initra_err err;
    dcap_pck *p = NULL;
    int rc;
    if (initra_quote_parse(quote, len, &q, &err)) {
        rc = fail(r, "%s", err.msg);
    } else {
        snprintf(r->tee, sizeof r->tee, "%s", q.header.tee_type == INITRA_TEE_TDX ? "TDX" : "SGX");
        if (!c) rc = fail(r, "no collateral");
        else if (!(p = pck_get(d, &q, &err))) rc = fail(r, "%s", err.msg);
        else rc = verify_inner(d, &q, c, p, at, flags, r);
    }
    pck_release(p);
    if (r->collateral_expires == (time_t)INT64_MAX) r->collateral_expires = 0;
    return rc;
}
