/* RA-TLS peer verification: evidence and binding (ratls.c), then DCAP, with a per-certificate cache. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/pem.h>
#include <openssl/sha.h>

#include "initra/dcap.h"
#include "initra/ratls.h"
#include "ratls/internal.h"

#define CACHE_SLOTS 1024
#define CACHE_TTL 600

typedef struct {
    int used;
    time_t until;
    uint8_t pem_hash[32]; /* key: SHA-256 of the PEM text, so a hit needs no certificate decoding */
    initra_ratls_peer peer;
} cache_slot;

struct initra_ratls_verifier {
    initra_dcap *dcap;
    initra_collateral_src *coll; /* a bundle or a PCCS */
    pthread_mutex_t lock;
    cache_slot cache[CACHE_SLOTS];
};

void initra_ratls_verifier_free(initra_ratls_verifier *v)
{
    if (!v) return;
    initra_collateral_src_free(v->coll);
    initra_dcap_free(v->dcap);
    pthread_mutex_destroy(&v->lock);
    initra_zero(v->cache, sizeof v->cache);
    free(v);
}

initra_ratls_verifier *initra_ratls_verifier_new(const initra_ratls_verifier_opts *o, initra_err *err)
{
    initra_ratls_verifier *v = calloc(1, sizeof *v);
    if (!v) return initra_fail(err, "out of memory"), NULL;
    pthread_mutex_init(&v->lock, NULL);
    if (!(v->dcap = initra_dcap_new(err))) goto fail;
    for (size_t i = 0; i < o->n_trust_roots; i++) {
        if (initra_dcap_add_root_file(v->dcap, o->trust_roots[i], err)) goto fail;
    }
    for (size_t i = 0; i < o->n_trust_root_data; i++) {
        if (initra_dcap_add_root_bytes(v->dcap, o->trust_root_data[i], o->trust_root_lens[i], err)) goto fail;
    }
    initra_collateral_src_opts so = {.file = o->collateral, .data = o->collateral_data, .len = o->collateral_len,
                                     .pccs = {.url = o->pccs_url, .ca_file = o->pccs_ca, .cache_dir = o->cache_dir}};
    if (!(v->coll = initra_collateral_src_open(v->dcap, &so, err))) goto fail;
    return v;
fail:
    initra_ratls_verifier_free(v);
    return NULL;
}

static int cert_der_hash(X509 *x, uint8_t out[32])
{
    unsigned char *der = NULL;
    int n = i2d_X509(x, &der);
    if (n <= 0) return -1;
    SHA256(der, (size_t)n, out);
    OPENSSL_free(der);
    return 0;
}

int initra_ratls_verify_peer(initra_ratls_verifier *v, const char *pem, time_t now, initra_ratls_peer *peer,
                             initra_err *err)
{
    uint8_t ph[32];
    SHA256((const uint8_t *)pem, strlen(pem), ph);
    size_t slot = ((size_t)ph[0] | (size_t)ph[1] << 8) % CACHE_SLOTS;
    pthread_mutex_lock(&v->lock);
    cache_slot *c = &v->cache[slot];
    if (c->used && now < c->until && !memcmp(c->pem_hash, ph, 32)) {
        *peer = c->peer;
        pthread_mutex_unlock(&v->lock);
        for (size_t i = 0; i < peer->n_advisories; i++) peer->advisory_ptrs[i] = peer->advisories[i];
        return 0;
    }
    pthread_mutex_unlock(&v->lock);
    X509 *x = ratls_pem_cert(pem, err);
    if (!x) return -1;
    uint8_t h[32];
    if (cert_der_hash(x, h)) {
        X509_free(x);
        return initra_fail(err, "peer certificate: cannot encode");
    }

    int rc = -1;
    uint8_t *quote = NULL;
    size_t qlen = 0;
    int fmt = 0;
    initra_collateral *coll = NULL;
    memset(peer, 0, sizeof *peer);
    if (ratls_evidence(x, &quote, &qlen, &fmt, err)) goto done;
    /* Gramine's verifier ignores the dates of Gramine-made certificates (default 2001..2030, set by the
     * attester); what binds the key is the quote, so initra follows it for those. Occlum makes its
     * certificate with notBefore = the moment it was made, just before each handshake: a peer whose clock
     * runs ahead of ours by up to INITRA_RATLS_MAX_SKEW seconds is accepted. */
    time_t skewed = now + INITRA_RATLS_MAX_SKEW;
    int check_dates = !ratls_format_is_gramine(fmt);
    if (check_dates) {
        if (X509_cmp_time(X509_get0_notAfter(x), &now) <= 0) {
            initra_fail(err, "peer certificate is outside its validity period (its notAfter has passed)");
            goto done;
        }
        if (X509_cmp_time(X509_get0_notBefore(x), &skewed) > 0) {
            initra_fail(err, "peer certificate is outside its validity period (its notBefore is more than %d s ahead "
                             "of this machine's clock: check both clocks)",
                        INITRA_RATLS_MAX_SKEW);
            goto done;
        }
    }
    initra_quote q;
    if (initra_quote_parse(quote, qlen, &q, err)) goto done;
    if (q.body_type != INITRA_BODY_SGX) {
        initra_fail(err, "peer evidence is a TDX quote; initra policies cover SGX enclaves");
        goto done;
    }
    if (!(coll = initra_dcap_collateral_for(v->coll, quote, qlen, now, err))) {
        initra_fail_prefix(err, "peer quote: no collateral");
        goto done;
    }
    initra_dcap_result res;
    if (initra_dcap_verify(v->dcap, quote, qlen, coll, now, INITRA_DCAP_ALLOW_EXPIRED_COLLATERAL, &res)) {
        initra_fail(err, "peer quote does not verify: %s", res.error);
        goto done;
    }
    peer->report = q.enclave;
    peer->format = fmt;
    snprintf(peer->status, sizeof peer->status, "%s", initra_tcb_status_name(res.status));
    for (size_t i = 0; i < res.n_advisories && i < 64; i++) {
        snprintf(peer->advisories[i], sizeof peer->advisories[i], "%s", res.advisories[i]);
        peer->n_advisories = i + 1;
    }
    peer->collateral_expired = res.expired_collateral_allowed;
    peer->tcb_eval_data_number = res.tcb_eval_data_number;
    snprintf(peer->root, sizeof peer->root, "%s", res.root);
    memcpy(peer->cert_hash, h, 32);
    SHA256(quote, qlen, peer->quote_sha256);
    time_t until = now + CACHE_TTL;
    if (!peer->collateral_expired && res.collateral_expires > now && res.collateral_expires < until)
        until = res.collateral_expires;
    struct tm tm;
    if (check_dates && ASN1_TIME_to_tm(X509_get0_notAfter(x), &tm)) {
        time_t na = timegm(&tm);
        if (na < until) until = na;
    }
    pthread_mutex_lock(&v->lock);
    c->used = 1;
    c->until = until;
    memcpy(c->pem_hash, ph, 32);
    c->peer = *peer;
    pthread_mutex_unlock(&v->lock);
    for (size_t i = 0; i < peer->n_advisories; i++) peer->advisory_ptrs[i] = peer->advisories[i];
    rc = 0;
done:
    if (coll) initra_collateral_release(coll);
    free(quote);
    X509_free(x);
    return rc;
}
