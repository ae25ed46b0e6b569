/* KMS replicas share the data key by attestation (docs/kms.md, "Running replicas"; proto/kms_admin.proto,
 * service initra.kms.v1.Replica). A replica whose seal key opens no sealed copy of the DEK asks a running
 * one over mutual RA-TLS; the giver checks the asker's quote against the replica rule (same MRSIGNER,
 * ISVPRODID and config_id as its own, not a debug enclave unless the giver is one, ISVSVN not below its own)
 * and sends the DEK encrypted to the asker's RA-TLS public key:
 * ECDH (P-256) with an ephemeral key, HKDF-SHA256, AES-256-GCM. Never in the clear; every answer audited. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>

#include "initra/attest.h"
#include "initra/ratls.h"
#include "initra/rpc.h"
#include "kms/internal.h"
#include "kms_admin.pb-c.h"

#define PT_LEN 65 /* an uncompressed P-256 point */
#define INFO "initra kms replica data key v1"

int kms_replica_rule(const initra_sgx_report_body *self, const initra_sgx_report_body *peer, initra_err *why)
{
    char a[129], b[129];
    if (memcmp(self->mr_signer, peer->mr_signer, 32))
        return initra_fail(why, "replica rule: mr_signer %s is not this KMS's %s", initra_hex(peer->mr_signer, 32, a),
                           initra_hex(self->mr_signer, 32, b));
    if (self->isv_prod_id != peer->isv_prod_id)
        return initra_fail(why, "replica rule: isv_prod_id %u is not this KMS's %u", peer->isv_prod_id,
                           self->isv_prod_id);
    if (memcmp(self->config_id, peer->config_id, 64))
        return initra_fail(why, "replica rule: config_id %.16s... is not this KMS's %.16s...",
                           initra_hex(peer->config_id, 64, a), initra_hex(self->config_id, 64, b));
    /* The host reads a debug enclave's memory: a debug build of this very image must not get the key. */
    if ((peer->attributes.flags & INITRA_ATTR_DEBUG) && !(self->attributes.flags & INITRA_ATTR_DEBUG))
        return initra_fail(why, "replica rule: the asker is a debug enclave (its memory is open to the host)");
    /* An older version (a lower ISVSVN, perhaps one with a known flaw) gets nothing from a newer one. */
    if (peer->isv_svn < self->isv_svn)
        return initra_fail(why, "replica rule: isv_svn %u is below this KMS's %u", peer->isv_svn, self->isv_svn);
    return 0;
}

static int point(EVP_PKEY *k, uint8_t out[PT_LEN])
{
    size_t n = 0;
    return EVP_PKEY_get_octet_string_param(k, OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY, out, PT_LEN, &n) == 1 &&
                   n == PT_LEN
               ? 0
               : -1;
}

/* The AES key from ECDH of priv with peer: HKDF-SHA256, salt eph || recipient (both points). */
static int derive(EVP_PKEY *priv, EVP_PKEY *peer, const uint8_t eph[PT_LEN], const uint8_t rcpt[PT_LEN],
                  uint8_t key[32])
{
    uint8_t z[66], salt[2 * PT_LEN];
    size_t zn = sizeof z;
    EVP_PKEY_CTX *c = EVP_PKEY_CTX_new(priv, NULL);
    int ok = c && EVP_PKEY_derive_init(c) == 1 && EVP_PKEY_derive_set_peer(c, peer) == 1 &&
             EVP_PKEY_derive(c, z, &zn) == 1;
    EVP_PKEY_CTX_free(c);
    memcpy(salt, eph, PT_LEN);
    memcpy(salt + PT_LEN, rcpt, PT_LEN);
    ok = ok && initra_hkdf_sha256(z, zn, salt, sizeof salt, INFO, key, 32) == 0;
    OPENSSL_cleanse(z, sizeof z);
    return ok ? 0 : -1;
}

int kms_replica_seal(const char *peer_pem, const uint8_t dek[32], uint8_t eph_pub[65], uint8_t nonce[12],
                     uint8_t ct[48], initra_err *err)
{
    BIO *b = BIO_new_mem_buf(peer_pem, -1);
    X509 *x = b ? PEM_read_bio_X509(b, NULL, NULL, NULL) : NULL;
    BIO_free(b);
    EVP_PKEY *peer = x ? X509_get0_pubkey(x) : NULL, *eph = NULL;
    uint8_t rcpt[PT_LEN], key[32];
    int rc = -1;
    if (!peer || !EVP_PKEY_is_a(peer, "EC") || point(peer, rcpt))
        initra_fail(err, "the asker's certificate has no P-256 public key");
    else if (!(eph = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256")) || point(eph, eph_pub) ||
             derive(eph, peer, eph_pub, rcpt, key) || RAND_bytes(nonce, 12) != 1 ||
             initra_aes256gcm(1, key, nonce, eph_pub, PT_LEN, dek, 32, ct, ct + 32))
        initra_fail(err, "encrypting the data key to the asker's key failed (OpenSSL)");
    else
        rc = 0;
    OPENSSL_cleanse(key, sizeof key);
    EVP_PKEY_free(eph);
    X509_free(x);
    return rc;
}

int kms_replica_open(const char *key_pem, const uint8_t *eph_pub, size_t eph_len, const uint8_t *nonce,
                     size_t nonce_len, const uint8_t *ct, size_t ct_len, uint8_t dek[32], initra_err *err)
{
    if (eph_len != PT_LEN || nonce_len != 12 || ct_len != 48)
        return initra_fail(err, "GetDataKeyReply: ephemeral_public %zu bytes (want 65), nonce %zu (12), ciphertext "
                                "%zu (48)", eph_len, nonce_len, ct_len);
    BIO *b = BIO_new_mem_buf(key_pem, -1);
    EVP_PKEY *own = b ? PEM_read_bio_PrivateKey(b, NULL, NULL, NULL) : NULL, *peer = NULL;
    BIO_free(b);
    uint8_t rcpt[PT_LEN], key[32], tag[16];
    memcpy(tag, ct + 32, 16);
    OSSL_PARAM ps[] = {OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, "P-256", 0),
                       OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, (void *)eph_pub, PT_LEN),
                       OSSL_PARAM_construct_end()};
    EVP_PKEY_CTX *pc = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
    int rc = -1;
    if (!own || point(own, rcpt))
        initra_fail(err, "this replica's RA-TLS key is not a P-256 key");
    else if (!pc || EVP_PKEY_fromdata_init(pc) != 1 || EVP_PKEY_fromdata(pc, &peer, EVP_PKEY_PUBLIC_KEY, ps) != 1)
        initra_fail(err, "GetDataKeyReply: ephemeral_public is not a P-256 point");
    else if (derive(own, peer, eph_pub, rcpt, key) ||
             initra_aes256gcm(0, key, nonce, eph_pub, PT_LEN, ct, 32, dek, tag))
        initra_fail(err, "GetDataKeyReply: the data key does not decrypt with this replica's key");
    else
        rc = 0;
    OPENSSL_cleanse(key, sizeof key);
    EVP_PKEY_CTX_free(pc);
    EVP_PKEY_free(peer);
    EVP_PKEY_free(own);
    if (rc) OPENSSL_cleanse(dek, 32);
    return rc;
}

/* ---- the giver ---- */

void kms_replica_serve(const kms_replica *r, const initra_rpc_request *rq, initra_rpc_reply *rp)
{
    initra_ratls_peer peer;
    initra_err why, e;
    int verified = rq->peer_pem && initra_ratls_verify_peer(r->verifier, rq->peer_pem, time(NULL), &peer, &why) == 0;
    if (!verified && rq->peer_pem == NULL) initra_fail(&why, "no client certificate");
    initra_evidence ev = {&peer.report, peer.status, peer.advisory_ptrs, peer.n_advisories, peer.collateral_expired,
                          peer.tcb_eval_data_number};
    int allowed = verified && (r->policy ? initra_policy_check(r->policy, &ev, &why)
                                         : kms_replica_rule(r->self, &peer.report, &why)) == 0;
    uint8_t dek[32], eph[PT_LEN], nonce[12], ct[48];
    if (allowed && (initra_store_data_key(r->store, dek, &why) || kms_replica_seal(rq->peer_pem, dek, eph, nonce, ct, &why)))
        allowed = 0;
    OPENSSL_cleanse(dek, sizeof dek);
    initra_audit_rec a = {.protocol = "replica", .peer_addr = rq->peer_addr, .report = verified ? &peer.report : NULL,
                          .tcb_status = verified ? peer.status : NULL,
                          .advisories = verified ? peer.advisory_ptrs : NULL,
                          .n_advisories = verified ? peer.n_advisories : 0,
                          .quote_sha256 = verified ? peer.quote_sha256 : NULL, .op = "get_data_key",
                          .decision = allowed ? "released" : "denied", .reason = allowed ? NULL : why.msg};
    if (initra_store_audit(r->store, &a, &e)) {
        kms_log(r->log, r->lock, "%s asked for the data key: audit record not written (%s): answered UNAVAILABLE",
                rq->peer_addr, e.msg);
        rp->code = INITRA_RPC_UNAVAILABLE;
        snprintf(rp->msg, sizeof rp->msg, "the KMS cannot write its audit log; try again later");
        return;
    }
    if (!allowed) {
        kms_log(r->log, r->lock, "%s asked for the data key: refused, %s", rq->peer_addr, why.msg);
        rp->code = INITRA_RPC_PERMISSION_DENIED;
        snprintf(rp->msg, sizeof rp->msg, "this KMS does not share its data key with this enclave (the replica rule)");
        return;
    }
    Initra__Kms__V1__GetDataKeyReply m = INITRA__KMS__V1__GET_DATA_KEY_REPLY__INIT;
    m.ephemeral_public = (ProtobufCBinaryData){PT_LEN, eph};
    m.nonce = (ProtobufCBinaryData){12, nonce};
    m.ciphertext = (ProtobufCBinaryData){48, ct};
    size_t n = initra__kms__v1__get_data_key_reply__get_packed_size(&m);
    if (!(rp->resp = malloc(n))) {
        rp->code = INITRA_RPC_INTERNAL;
        snprintf(rp->msg, sizeof rp->msg, "out of memory");
        return;
    }
    rp->resp_len = initra__kms__v1__get_data_key_reply__pack(&m, rp->resp);
    kms_log(r->log, r->lock, "%s asked for the data key: sent, encrypted to its attested key", rq->peer_addr);
}

/* ---- the asker ---- */

/* The giver must present verifiable enclave evidence. Its identity is not held to the rule here: the asker
 * sends nothing secret, and what it receives is checked against the store's key check before use, so only
 * a holder of the store's data key can unlock it; the giver, which holds the key, applies the rule and
 * audits its refusal. */
static int verify_giver(void *ctx, const char *pem, initra_err *err)
{
    const kms_replica *r = ctx;
    initra_ratls_peer p;
    return initra_ratls_verify_peer(r->verifier, pem, time(NULL), &p, err);
}

int kms_replica_ask(const kms_replica *r, initra_attester *a, const char *own_addr)
{
    char **addrs = NULL, *cert = NULL, *key = NULL;
    size_t n = 0;
    initra_err e;
    int got = 0;
    if (initra_store_replicas(r->store, &addrs, &n, &e)) {
        kms_log(r->log, r->lock, "replicas: cannot list the running replicas: %s", e.msg);
    } else if (initra_ratls_create(initra_attest_quote_cb, a, INITRA_RATLS_DEFAULT_FORMAT, 600, &cert, &key, &e)) {
        kms_log(r->log, r->lock, "replicas: cannot make this replica's RA-TLS certificate: %s", e.msg);
    }
    for (size_t i = 0; cert && i < n && !got; i++) {
        if (own_addr && !strcmp(addrs[i], own_addr)) continue;
        initra_rpc_tls tls = {.cert_chain_pem = cert, .key_pem = key, .verify = verify_giver, .verify_ctx = (void *)r};
        initra_rpc_client *c = initra_rpc_client_new(addrs[i], &tls, &e);
        uint8_t *resp = NULL, dek[32];
        size_t rn = 0;
        int code = 0;
        Initra__Kms__V1__GetDataKeyRequest q = INITRA__KMS__V1__GET_DATA_KEY_REQUEST__INIT;
        uint8_t qb[8];
        size_t ql = initra__kms__v1__get_data_key_request__pack(&q, qb);
        if (!c || initra_rpc_call(c, KMS_REPLICA_GET_DATA_KEY, qb, ql, 5000, &resp, &rn, &code, &e)) {
            kms_log(r->log, r->lock, "replicas: %s did not give the data key: %s", addrs[i], c ? e.msg : "no channel");
            initra_rpc_client_free(c);
            continue;
        }
        initra_rpc_client_free(c);
        Initra__Kms__V1__GetDataKeyReply *m = initra__kms__v1__get_data_key_reply__unpack(NULL, rn, resp);
        free(resp);
        initra_audit_rec ar = {.protocol = "replica", .peer_addr = addrs[i], .op = "install_data_key", .decision = "ok"};
        if (!m) {
            kms_log(r->log, r->lock, "replicas: %s: the reply is not a GetDataKeyReply", addrs[i]);
        } else if (kms_replica_open(key, m->ephemeral_public.data, m->ephemeral_public.len, m->nonce.data, m->nonce.len,
                                    m->ciphertext.data, m->ciphertext.len, dek, &e) ||
                   initra_store_install_dek(r->store, dek, &ar, &e)) {
            kms_log(r->log, r->lock, "replicas: the data key from %s: %s", addrs[i], e.msg);
        } else {
            kms_log(r->log, r->lock, "replicas: got the data key from %s (attested, encrypted to this replica's key) and "
                                     "sealed a copy of this replica's own", addrs[i]);
            got = 1;
        }
        OPENSSL_cleanse(dek, sizeof dek);
        if (m) initra__kms__v1__get_data_key_reply__free_unpacked(m, NULL);
    }
    if (!got) kms_log(r->log, r->lock, "replicas: no running replica gave the data key (%zu recorded): fetches get "
                                       "UNAVAILABLE", n);
    for (size_t i = 0; i < n; i++) free(addrs[i]);
    free(addrs);
    free(cert);
    if (key) initra_free_secret(key, strlen(key));
    return got ? 0 : -1;
}
