/* ratls: certificates made with real sim quotes in Occlum, TCG and combined Occlum+TCG formats carry
 * evidence bound to their key; a plain certificate, a copied quote, a grafted extension, and a combined
 * certificate whose two quotes come from different enclaves are refused. */
#include <openssl/pem.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "check.h"
#include "initra/attest.h"
#include "initra/ratls.h"
#include "initra/sim.h"
#include "ratls/internal.h"

static int sim_quote_fn(void *ctx, const uint8_t rd[64], uint8_t **q, size_t *len, initra_err *err)
{
    initra_sgx_report_body id;
    memset(&id, 0, sizeof id);
    memset(id.mr_enclave, 0xAB, 32);
    id.attributes.flags = INITRA_ATTR_INIT | INITRA_ATTR_MODE64BIT;
    return initra_sim_quote(ctx, &id, rd, q, len, err);
}

/* The data of the first extension with this OID (borrowed from x). */
static const ASN1_OCTET_STRING *ext_of(X509 *x, const char *oid)
{
    ASN1_OBJECT *obj = OBJ_txt2obj(oid, 1);
    const ASN1_OCTET_STRING *d = X509_EXTENSION_get_data(X509_get_ext(x, X509_get_ext_by_OBJ(x, obj, -1)));
    ASN1_OBJECT_free(obj);
    return d;
}

/* Certificate PEM with extension `oid` replaced by data (a graft: same key, foreign evidence). */
static X509 *regraft(const char *pem, const char *key_pem, const char *oid, const uint8_t *data, size_t n)
{
    initra_err err;
    X509 *x = ratls_pem_cert(pem, &err);
    BIO *b = BIO_new_mem_buf(key_pem, -1);
    EVP_PKEY *k = PEM_read_bio_PrivateKey(b, NULL, NULL, NULL);
    BIO_free(b);
    ASN1_OBJECT *obj = OBJ_txt2obj(oid, 1);
    int idx = X509_get_ext_by_OBJ(x, obj, -1);
    X509_EXTENSION_free(X509_delete_ext(x, idx));
    ratls_add_ext(x, oid, data, n);
    X509_sign(x, k, EVP_sha256());
    ASN1_OBJECT_free(obj);
    EVP_PKEY_free(k);
    return x;
}

int main(void)
{
    initra_err err;
    char dir[256];
    initra_sim *sim = initra_sim_dir(dir, sizeof dir, &err) == 0 ? initra_sim_open(dir, &err) : NULL;
    CHECK(sim != NULL, "sim platform opens: %s", sim ? dir : err.msg);
    if (!sim) CHECK_DONE();
    char *cert[3], *key[3];
    int formats[3] = {INITRA_RATLS_OCCLUM, INITRA_RATLS_TCG, INITRA_RATLS_OCCLUM_TCG};
    for (int f = 0; f < 3; f++) {
        int rc = initra_ratls_create(sim_quote_fn, sim, formats[f], 3600, &cert[f], &key[f], &err);
        CHECK(rc == 0, "create %s certificate: %s", ratls_format_name(formats[f]), rc ? err.msg : "");
        if (rc) CHECK_DONE();
        X509 *x = ratls_pem_cert(cert[f], &err);
        uint8_t *q = NULL;
        size_t qlen = 0;
        int fmt = 0;
        rc = ratls_evidence(x, &q, &qlen, &fmt, &err);
        CHECK(rc == 0 && fmt == formats[f], "evidence found and bound (%s): %s", ratls_format_name(formats[f]),
              rc ? err.msg : "");
        initra_quote pq;
        CHECK(rc == 0 && initra_quote_parse(q, qlen, &pq, &err) == 0 && pq.enclave.mr_enclave[0] == 0xAB,
              "the quote carries the enclave identity");
        int days = 0, secs = 0;
        ASN1_TIME_diff(&days, &secs, X509_get0_notBefore(x), X509_get0_notAfter(x));
        CHECK(days == 0 && secs == 3600 + 300, "validity is hours, not years (%d d %d s)", days, secs);
        free(q);
        X509_free(x);
    }
    /* A plain self-signed certificate: no evidence. */
    {
        EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
        X509 *x = X509_new();
        X509_set_pubkey(x, k);
        X509_gmtime_adj(X509_getm_notBefore(x), 0);
        X509_gmtime_adj(X509_getm_notAfter(x), 60);
        X509_sign(x, k, EVP_sha256());
        uint8_t *q;
        size_t ql;
        int fmt;
        CHECK(ratls_evidence(x, &q, &ql, &fmt, &err) != 0 && strstr(err.msg, "carries no attestation evidence"),
              "plain certificate refused: %s", err.msg);
        X509_free(x);
        EVP_PKEY_free(k);
    }
    /* Evidence of certificate 0 grafted into a certificate for key 1 (re-signed by key 1): not bound. */
    {
        X509 *x0 = ratls_pem_cert(cert[0], &err);
        const ASN1_OCTET_STRING *ev0 = ext_of(x0, INITRA_OID_RATLS_OCCLUM);
        char *c1;
        char *k1;
        initra_ratls_create(sim_quote_fn, sim, INITRA_RATLS_OCCLUM, 3600, &c1, &k1, &err);
        X509 *g = regraft(c1, k1, INITRA_OID_RATLS_OCCLUM, ASN1_STRING_get0_data(ev0), (size_t)ASN1_STRING_length(ev0));
        uint8_t *q;
        size_t ql;
        int fmt;
        CHECK(ratls_evidence(g, &q, &ql, &fmt, &err) != 0 && strstr(err.msg, "does not bind this certificate's key"),
              "evidence bound to another key refused: %s", err.msg);
        /* Same with a TCG certificate's evidence grafted into an Occlum one's key. */
        X509 *x1 = ratls_pem_cert(cert[1], &err);
        const ASN1_OCTET_STRING *ev1 = ext_of(x1, INITRA_OID_RATLS_TCG);
        char *c2, *k2;
        initra_ratls_create(sim_quote_fn, sim, INITRA_RATLS_TCG, 3600, &c2, &k2, &err);
        X509 *g3 = regraft(c2, k2, INITRA_OID_RATLS_TCG, ASN1_STRING_get0_data(ev1), (size_t)ASN1_STRING_length(ev1));
        CHECK(ratls_evidence(g3, &q, &ql, &fmt, &err) != 0 && strstr(err.msg, "pubkey-hash does not match"),
              "TCG evidence bound to another key refused: %s", err.msg);
        const uint8_t junk[] = {0xd9, 0xea, 0x60, 0x80};
        X509 *g4 = regraft(c2, k2, INITRA_OID_RATLS_TCG, junk, sizeof junk);
        CHECK(ratls_evidence(g4, &q, &ql, &fmt, &err) != 0 && strstr(err.msg, "not CBOR tag 60000"),
              "malformed TCG evidence refused: %s", err.msg);
        X509_free(g);
        X509_free(g3);
        X509_free(g4);
        X509_free(x0);
        X509_free(x1);
        free(c1);
        initra_free_secret(k1, strlen(k1));
        free(c2);
        initra_free_secret(k2, strlen(k2));
    }
    /* Combined Occlum+TCG: the Occlum quote replaced by one binding the same key from another enclave. */
    {
        X509 *x2 = ratls_pem_cert(cert[2], &err);
        const ASN1_OCTET_STRING *ev = ext_of(x2, INITRA_OID_RATLS_OCCLUM);
        initra_quote oq;
        uint8_t *q2 = NULL, *q = NULL;
        size_t q2len = 0, ql;
        int fmt;
        initra_sgx_report_body other;
        memset(&other, 0, sizeof other);
        memset(other.mr_enclave, 0xCD, 32);
        other.attributes.flags = INITRA_ATTR_INIT | INITRA_ATTR_MODE64BIT;
        CHECK(initra_quote_parse(ASN1_STRING_get0_data(ev), (size_t)ASN1_STRING_length(ev), &oq, &err) == 0 &&
                  initra_sim_quote(sim, &other, oq.enclave.report_data, &q2, &q2len, &err) == 0,
              "a quote for the same key from another enclave");
        X509 *g = regraft(cert[2], key[2], INITRA_OID_RATLS_OCCLUM, q2, q2len);
        CHECK(ratls_evidence(g, &q, &ql, &fmt, &err) != 0 && strstr(err.msg, "not from the same SGX enclave"),
              "combined certificate with quotes from two enclaves refused: %s", err.msg);
        /* The Occlum quote of another certificate: does not bind this key (TCG alone would). */
        X509 *x0 = ratls_pem_cert(cert[0], &err);
        const ASN1_OCTET_STRING *ev0 = ext_of(x0, INITRA_OID_RATLS_OCCLUM);
        X509 *g2 = regraft(cert[2], key[2], INITRA_OID_RATLS_OCCLUM, ASN1_STRING_get0_data(ev0),
                           (size_t)ASN1_STRING_length(ev0));
        CHECK(ratls_evidence(g2, &q, &ql, &fmt, &err) != 0 && strstr(err.msg, "does not bind this certificate's key"),
              "combined certificate with another key's Occlum quote refused: %s", err.msg);
        free(q2);
        X509_free(g);
        X509_free(g2);
        X509_free(x0);
        X509_free(x2);
    }
    /* Full peer verification: evidence, then DCAP against the sim root and sim collateral. */
    {
        uint8_t *der = NULL;
        size_t der_len = 0;
        char root_path[300], coll_path[300];
        snprintf(root_path, sizeof root_path, "%s/test-root.der", dir);
        snprintf(coll_path, sizeof coll_path, "%s/test-collateral.json", dir);
        char *coll_text = NULL;
        CHECK(initra_sim_root_der(sim, &der, &der_len, &err) == 0 && initra_sim_collateral(sim, &coll_text, &err) == 0 &&
                  initra_write_file_atomic(root_path, der, der_len, 0644, &err) == 0 &&
                  initra_write_file_atomic(coll_path, coll_text, strlen(coll_text), 0644, &err) == 0,
              "sim root and collateral exported");
        free(der);
        free(coll_text);
        const char *roots[] = {root_path};
        initra_ratls_verifier_opts o = {.trust_roots = roots, .n_trust_roots = 1, .collateral = coll_path};
        initra_ratls_verifier *v = initra_ratls_verifier_new(&o, &err);
        CHECK(v != NULL, "verifier with the sim root: %s", v ? "" : err.msg);
        time_t now = time(NULL);
        for (int f = 0; v && f < 3; f++) {
            initra_ratls_peer peer;
            int rc = initra_ratls_verify_peer(v, cert[f], now, &peer, &err);
            CHECK(rc == 0 && !strcmp(peer.status, "UpToDate") && !strcmp(peer.root, "sim") &&
                      peer.report.mr_enclave[5] == 0xAB && !peer.collateral_expired,
                  "%s certificate verifies: %s", ratls_format_name(formats[f]), rc ? err.msg : peer.status);
            rc = initra_ratls_verify_peer(v, cert[f], now, &peer, &err);
            CHECK(rc == 0 && peer.report.mr_enclave[0] == 0xAB, "second verification (cached) agrees");
        }
        /* 40 days on: the certificate itself has expired (hours of validity). */
        initra_ratls_peer peer;
        CHECK(v && initra_ratls_verify_peer(v, cert[0], now + 40 * 86400, &peer, &err) != 0 &&
                  strstr(err.msg, "outside its validity period"),
              "an expired RA-TLS certificate is refused: %s", err.msg);
        CHECK(v && initra_ratls_verify_peer(v, cert[2], now + 40 * 86400, &peer, &err) != 0 &&
                  strstr(err.msg, "outside its validity period"),
              "an expired combined (not Gramine-made) certificate is refused: %s", err.msg);
        /* Collateral outside its window: a certificate valid for 60 days, verified 35 days on. */
        char *lc, *lk;
        if (v && initra_ratls_create(sim_quote_fn, sim, INITRA_RATLS_OCCLUM, 60 * 86400L, &lc, &lk, &err) == 0) {
            int rc = initra_ratls_verify_peer(v, lc, now + 35 * 86400, &peer, &err);
            CHECK(rc == 0 && peer.collateral_expired, "expired collateral is flagged for the policy to decide: %s",
                  rc ? err.msg : "flagged");
            free(lc);
            initra_free_secret(lk, strlen(lk));
        }
        initra_ratls_verifier_free(v);
        /* Without the sim root the quote does not verify. */
        initra_ratls_verifier_opts o2 = {.collateral = coll_path};
        v = initra_ratls_verifier_new(&o2, &err);
        CHECK(v && initra_ratls_verify_peer(v, cert[0], now, &peer, &err) != 0 && strstr(err.msg, "does not verify"),
              "sim evidence refused without the sim root: %s", err.msg);
        initra_ratls_verifier_free(v);
    }
    for (int f = 0; f < 3; f++) {
        free(cert[f]);
        initra_free_secret(key[f], strlen(key[f]));
    }
    initra_sim_close(sim);
    CHECK_DONE();
}
