/* /kubetee.Aecs/GetEnclaveSecret (proto/aecs.proto, protobuf-c): request encoding, the server's handler
 * (verify the client's Passport, match the secret's UA policy, envelope the secret to the attested key)
 * and the client's side (verify the server's Passport and policy, open the envelope with the nonce). */
#include "aecs/internal.h"
#include "initra/aecs.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/rand.h>

#include "aecs.pb-c.h"

int aecs_nonce(char out[33], initra_err *err)
{
    uint8_t r[16];
    if (RAND_bytes(r, sizeof r) != 1) return initra_fail(err, "no randomness for the request nonce");
    initra_hex_upper(r, sizeof r, out);
    return 0;
}

/* ---- auth report <-> protobuf ---- */

static char *s_or_empty(char *s) { return s ? s : (char *)""; }

static void auth_to_pb(const initra_ua_auth_report *a, Kubetee__UnifiedAttestationReport *r,
                       Kubetee__UnifiedAttestationAuthReport *ar)
{
    kubetee__unified_attestation_report__init(r);
    kubetee__unified_attestation_auth_report__init(ar);
    r->str_report_version = s_or_empty(a->report.str_report_version);
    r->str_report_type = s_or_empty(a->report.str_report_type);
    r->str_tee_platform = s_or_empty(a->report.str_tee_platform);
    r->json_report = s_or_empty(a->report.json_report);
    r->json_nested_reports = s_or_empty(a->report.json_nested_reports);
    ar->report = r;
    ar->pem_public_key = s_or_empty(a->pem_public_key);
}

/* A borrowed view of a received auth report (strings point into the unpacked message). */
static int auth_from_pb(const Kubetee__UnifiedAttestationAuthReport *ar, const char *who, initra_ua_auth_report *a,
                        initra_err *err)
{
    memset(a, 0, sizeof *a);
    if (!ar || !ar->report) return initra_fail(err, "%s: auth_ra_report.report is missing", who);
    a->report.str_report_version = ar->report->str_report_version;
    a->report.str_report_type = ar->report->str_report_type;
    a->report.str_tee_platform = ar->report->str_tee_platform;
    a->report.json_report = ar->report->json_report;
    a->report.json_nested_reports = ar->report->json_nested_reports;
    a->pem_public_key = ar->pem_public_key;
    return 0;
}

static uint8_t *pack(const ProtobufCMessage *m, size_t *len)
{
    *len = protobuf_c_message_get_packed_size(m);
    uint8_t *b = malloc(*len ? *len : 1);
    if (b) protobuf_c_message_pack(m, b);
    return b;
}

int aecs_request_encode(const initra_ua_auth_report *mine, const char *service, const char *secret,
                        const char *nonce, uint8_t **out, size_t *len, initra_err *err)
{
    Kubetee__UnifiedAttestationReport r;
    Kubetee__UnifiedAttestationAuthReport ar;
    Kubetee__GetEnclaveSecretRequest q = KUBETEE__GET_ENCLAVE_SECRET_REQUEST__INIT;
    auth_to_pb(mine, &r, &ar);
    q.auth_ra_report = &ar;
    q.service_name = (char *)service;
    q.secret_name = (char *)secret;
    q.nonce = (char *)(nonce ? nonce : "");
    if (!(*out = pack(&q.base, len))) return initra_fail(err, "out of memory");
    return 0;
}

/* ---- server ---- */

static void bytes_pb(ProtobufCBinaryData *d, const initra_bytes *b)
{
    d->data = b->p;
    d->len = b->n;
}

#define AECS_DENIED (-2)
static int aecs_handle(const initra_aecs_server *s, const uint8_t *req, size_t len, time_t now, uint8_t **resp,
                       size_t *resp_len, initra_err *err);

int initra_aecs_handle(const initra_aecs_server *s, const uint8_t *req, size_t len, time_t now, uint8_t **resp,
                       size_t *resp_len, initra_err *reply, initra_err *err)
{
    int code = aecs_handle(s, req, len, now, resp, resp_len, err);
    if (reply) *reply = *err;
    if (code == AECS_DENIED) {
        code = INITRA_RPC_PERMISSION_DENIED;
        if (reply) initra_fail(reply, "%s", INITRA_AECS_DENIED_MSG);
    }
    return code;
}

/* initra_aecs_handle, with AECS_DENIED for a secret that does not exist or whose policy does not accept
 * the client (err has the detail, for the server's log only). */
static int aecs_handle(const initra_aecs_server *s, const uint8_t *req, size_t len, time_t now, uint8_t **resp,
                       size_t *resp_len, initra_err *err)
{
    *resp = NULL;
    *resp_len = 0;
    if (len > INITRA_AECS_MAX_MESSAGE) {
        initra_fail(err, "request larger than %u bytes", INITRA_AECS_MAX_MESSAGE);
        return INITRA_RPC_INVALID_ARGUMENT;
    }
    Kubetee__GetEnclaveSecretRequest *q = kubetee__get_enclave_secret_request__unpack(NULL, len, req);
    if (!q) {
        initra_fail(err, "the request is not a GetEnclaveSecretRequest message");
        return INITRA_RPC_INVALID_ARGUMENT;
    }
    int code = INITRA_RPC_INVALID_ARGUMENT;
    initra_ua_auth_report client;
    initra_ua_attrs attrs;
    memset(&attrs, 0, sizeof attrs);
    initra_aecs_envelope env;
    memset(&env, 0, sizeof env);
    if (initra_aecs_check_name(q->service_name, "service_name", err) ||
        initra_aecs_check_name(q->secret_name, "secret_name", err))
        goto done;
    if (strlen(q->nonce) > 1024) {
        initra_fail(err, "nonce is longer than 1024 characters");
        goto done;
    }
    if (auth_from_pb(q->auth_ra_report, "request", &client, err)) goto done;
    code = INITRA_RPC_PERMISSION_DENIED;
    if (aecs_ua_auth_report_verify(&client, s->verify, s->verify_ctx, now, NULL, &attrs, err)) {
        initra_fail_prefix(err, "%s/%s: the client's report", q->service_name, q->secret_name);
        goto done;
    }
    /* From here on, a missing secret and a policy that refuses the client get the same answer, so that
     * a client learns neither which secrets exist nor what their policies require. */
    code = AECS_DENIED;
    if (s->lookup) {
        uint8_t *val = NULL;
        size_t vlen = 0;
        int lc = s->lookup(s->lookup_ctx, q->service_name, q->secret_name, &val, &vlen, err);
        if (lc != INITRA_RPC_OK) {
            if (lc != INITRA_RPC_NOT_FOUND && lc != INITRA_RPC_PERMISSION_DENIED) code = lc;
            goto done;
        }
        code = INITRA_RPC_INTERNAL;
        int rc = aecs_envelope_seal(val, vlen, client.pem_public_key, s->key, aecs_aad(q->nonce), &env, err);
        initra_free_secret(val, vlen);
        if (rc) goto done;
        goto reply;
    }
    const initra_aecs_secret *sec = initra_aecs_store_find(s->store, q->service_name, q->secret_name);
    if (!sec) {
        initra_fail(err, "service \"%s\" has no secret \"%s\"", q->service_name, q->secret_name);
        goto done;
    }
    if (aecs_ua_policy_check(&sec->policy, &attrs, err)) {
        initra_fail_prefix(err, "%s/%s: the client does not match the secret's policy", q->service_name,
                           q->secret_name);
        goto done;
    }
    code = INITRA_RPC_INTERNAL;
    if (aecs_envelope_seal((const uint8_t *)sec->data, strlen(sec->data), client.pem_public_key, s->key,
                                  aecs_aad(q->nonce), &env, err))
        goto done;
reply:;
    Kubetee__UnifiedAttestationReport r;
    Kubetee__UnifiedAttestationAuthReport ar;
    Kubetee__SymmetricKeyEncrypted sym = KUBETEE__SYMMETRIC_KEY_ENCRYPTED__INIT;
    Kubetee__DigitalEnvelopeEncrypted de = KUBETEE__DIGITAL_ENVELOPE_ENCRYPTED__INIT;
    Kubetee__GetEnclaveSecretResponse rs = KUBETEE__GET_ENCLAVE_SECRET_RESPONSE__INIT;
    auth_to_pb(s->self, &r, &ar);
    bytes_pb(&sym.cipher, &env.cipher);
    bytes_pb(&sym.mac, &env.mac);
    bytes_pb(&sym.aad, &env.aad);
    bytes_pb(&sym.iv, &env.iv);
    de.aes_cipher = &sym;
    bytes_pb(&de.encrypted_key, &env.encrypted_key);
    bytes_pb(&de.plain_hash, &env.plain_hash);
    bytes_pb(&de.plain_hash_sig, &env.plain_hash_sig);
    rs.auth_ra_report = &ar;
    rs.secret_enc = &de;
    if (!(*resp = pack(&rs.base, resp_len))) {
        initra_fail(err, "out of memory");
        goto done;
    }
    code = INITRA_RPC_OK;
done:
    aecs_ua_attrs_free(&attrs);
    aecs_envelope_free(&env);
    kubetee__get_enclave_secret_request__free_unpacked(q, NULL);
    return code;
}

/* ---- client ---- */

int aecs_response_open(const initra_aecs_client *c, const uint8_t *resp, size_t len, const char *nonce,
                       time_t now, uint8_t **secret, size_t *n, initra_err *err)
{
    *secret = NULL;
    *n = 0;
    if (len > INITRA_AECS_MAX_MESSAGE) return initra_fail(err, "AECS response larger than %u bytes", INITRA_AECS_MAX_MESSAGE);
    Kubetee__GetEnclaveSecretResponse *rs = kubetee__get_enclave_secret_response__unpack(NULL, len, resp);
    if (!rs) return initra_fail(err, "AECS response is not a GetEnclaveSecretResponse message");
    int rc = -1;
    initra_ua_auth_report server;
    initra_ua_attrs attrs;
    memset(&attrs, 0, sizeof attrs);
    if (auth_from_pb(rs->auth_ra_report, "AECS response", &server, err)) goto done;
    if (aecs_ua_auth_report_verify(&server, c->verify, c->verify_ctx, now, NULL, &attrs, err)) {
        initra_fail_prefix(err, "the AECS server's report");
        goto done;
    }
    if (c->server_policy && aecs_ua_policy_check(c->server_policy, &attrs, err)) {
        initra_fail_prefix(err, "the AECS server does not match ra_config's ua_policy_*");
        goto done;
    }
    if (!rs->secret_enc || !rs->secret_enc->aes_cipher) {
        initra_fail(err, "AECS response: secret_enc.aes_cipher is missing");
        goto done;
    }
    const Kubetee__SymmetricKeyEncrypted *sym = rs->secret_enc->aes_cipher;
    initra_aecs_envelope env = {
        {sym->cipher.data, sym->cipher.len},
        {sym->mac.data, sym->mac.len},
        {sym->aad.data, sym->aad.len},
        {sym->iv.data, sym->iv.len},
        {rs->secret_enc->encrypted_key.data, rs->secret_enc->encrypted_key.len},
        {rs->secret_enc->plain_hash.data, rs->secret_enc->plain_hash.len},
        {rs->secret_enc->plain_hash_sig.data, rs->secret_enc->plain_hash_sig.len},
    };
    if (aecs_envelope_open(&env, c->key, server.pem_public_key, aecs_aad(nonce), secret, n, err)) {
        initra_fail_prefix(err, "AECS response");
        goto done;
    }
    rc = 0;
done:
    aecs_ua_attrs_free(&attrs);
    kubetee__get_enclave_secret_response__free_unpacked(rs, NULL);
    return rc;
}

int initra_aecs_get_secret(const initra_aecs_client *c, initra_rpc_client *rpc, const char *service,
                           const char *secret_name, unsigned deadline_ms, uint8_t **secret, size_t *n, int *code,
                           initra_err *err)
{
    char nonce[33];
    uint8_t *req, *resp = NULL;
    size_t req_len, resp_len = 0;
    int status = -1;
    if (code) *code = -1;
    if (aecs_nonce(nonce, err) ||
        aecs_request_encode(c->self, service, secret_name, nonce, &req, &req_len, err))
        return -1;
    int rc = initra_rpc_call(rpc, INITRA_AECS_METHOD, req, req_len, deadline_ms, &resp, &resp_len, &status, err);
    free(req);
    if (code) *code = rc ? status : 0;
    if (rc) return -1;
    rc = aecs_response_open(c, resp, resp_len, nonce, time(NULL), secret, n, err);
    initra_free_secret(resp, resp_len);
    return rc;
}
