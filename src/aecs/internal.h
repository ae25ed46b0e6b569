/* Internal to aecs (its files, unit tests and fuzz targets): declarations no other module needs.
 * Not a public API. */
#ifndef INITRA_AECS_INTERNAL_H
#define INITRA_AECS_INTERNAL_H

#include "initra/aecs.h"

/* The attribute index of a name, or -1. */
int aecs_ua_attr_index(const char *name);
void aecs_ua_attrs_free(initra_ua_attrs *a);
/* Replaces one value with a copy of value (NULL clears). 0 or -1 (out of memory). */
int aecs_ua_attrs_set(initra_ua_attrs *a, int attr, const char *value);
/* What an SGX_DCAP report yields (docs/protocols.md#aecs): str_tee_platform "SGX_DCAP", hex_ta_measurement
 * MRENCLAVE and hex_signer MRSIGNER (uppercase hex), hex_prod_id ISVPRODID and str_min_isvsvn ISVSVN
 * (decimal), bool_debug_disabled "true"/"false", hex_user_data report_data[0..32] and
 * hex_hash_or_pem_pubkey report_data[32..64] (uppercase hex), hex_spid ""; the rest NULL. */
int aecs_ua_attrs_from_sgx(const initra_sgx_report_body *b, initra_ua_attrs *out, initra_err *err);
/* From a JSON array of objects keyed by attribute names (string values; integers accepted for the
 * decimal fields, booleans for bool_debug_disabled). Unknown keys, malformed hex, non-decimal numbers
 * and an entry whose fields are all empty (it would match any enclave) are errors naming `where`, the
 * entry and the field. */
int aecs_ua_policy_from_json(const json_t *j, const char *where, initra_ua_policy *out, initra_err *err);
/* The policy as that JSON array (only non-empty fields); new reference. */
json_t *aecs_ua_policy_to_json(const initra_ua_policy *p);
/* Normalises and checks one value for attribute attr into a fresh string (""/NULL -> ""). */
int aecs_ua_value_normalise(int attr, const char *value, char **out, initra_err *err);
/* 0 when every entry is pinned; else -1 naming `where`, the entry, what to set and the opt-out
 * (accept_any_enclave). */
int aecs_ua_policy_check_pinned(const initra_ua_policy *p, const char *where, initra_err *err);
/* 0 when some entry accepts the attributes; -1 with `why` naming the entry (the closest one when there
 * are several), the attribute that failed and both values. */
int aecs_ua_policy_check(const initra_ua_policy *p, const initra_ua_attrs *actual, initra_err *why);
/* A fresh RSA key (bits >= 2048). */
EVP_PKEY *aecs_rsa_generate(int bits, initra_err *err);
/* Private key PEM: PKCS#1 ("BEGIN RSA PRIVATE KEY") or, with pkcs8, PKCS#8 ("BEGIN PRIVATE KEY").
 * Fresh string; free with initra_free_secret(s, strlen(s)). */
char *aecs_rsa_private_pem(EVP_PKEY *k, int pkcs8, initra_err *err);
/* The SPKI public key PEM ("BEGIN PUBLIC KEY"), fresh string. */
char *aecs_rsa_spki_pem(EVP_PKEY *k, initra_err *err);
/* Parses a PKCS#1 RSA public key PEM of at least 2048 bits; any other form is refused
 * ("not a PKCS#1 RSA public key; AECS switches to SM2 mode for other forms"). */
EVP_PKEY *aecs_rsa_public_from_pem(const char *pem, initra_err *err);
/* Parses an RSA private key PEM (PKCS#1 or PKCS#8, unencrypted). */
EVP_PKEY *aecs_rsa_private_from_pem(const char *pem, initra_err *err);
/* The envelope AAD for a request nonce: the nonce if non-empty, else "Enclave". */
const char *aecs_aad(const char *nonce);
/* Seals plaintext to the recipient's PKCS#1 public key PEM, signed by signer (an RSA private key). */
int aecs_envelope_seal(const uint8_t *plain, size_t n, const char *recipient_pem, EVP_PKEY *signer,
                              const char *aad, initra_aecs_envelope *out, initra_err *err);
/* Opens an envelope: aad must equal expected_aad, the AES key must decrypt with recipient, AES-GCM must
 * authenticate, plain_hash must be the uppercase hex SHA-256 of the plaintext, plain_hash_sig must verify
 * with signer_pem (PKCS#1). Every failure is a distinct one-line error; nothing is released before all
 * checks pass. *plain is fresh (NUL-terminated beyond *n); free with initra_free_secret(*plain, *n). */
int aecs_envelope_open(const initra_aecs_envelope *env, EVP_PKEY *recipient, const char *signer_pem,
                              const char *expected_aad, uint8_t **plain, size_t *n, initra_err *err);
void aecs_envelope_free(initra_aecs_envelope *e);
/* DcapReport.json_collateral is the protobuf JSON of UAL's SgxQlQveCollateral: {"version": "3",
 * "pck_crl_issuer_chain", "root_ca_crl", "pck_crl", "tcb_info_issuer_chain", "tcb_info",
 * "qe_identity_issuer_chain", "qe_identity"}, filled as UAL's PCCS client fills it: tcb_info and
 * qe_identity the whole PCCS bodies {"tcbInfo": {...}, "signature": "..."} and {"enclaveIdentity": ...},
 * pck_crl PEM, root_ca_crl hex of DER, the chains PEM.
 * From initra's bundle (ours, from a file or a PCCS): fresh compact text. */
int aecs_ua_collateral_from_bundle(const char *bundle, size_t len, char **ual, initra_err *err);
/* From a peer's json_collateral (untrusted), read as UAL reads it: fields other than those eight refused
 * (protobuf's JSON parser rejects unknown fields), version 1 or 3 as a number or a decimal string, every
 * string non-empty, CRLs PEM or hex of DER, the signatures taken from inside the bodies with the exact
 * signed text kept: initra's bundle (fresh, deterministic: the same input gives the same text). */
int aecs_ua_collateral_to_bundle(const char *ual, size_t len, char **bundle, initra_err *err);
/* The 64 report data bytes of a UA report: [0..32] = hex_data hex-decoded (at most 64 hex digits, zero
 * padded; NULL or "" = zeros), [32..64] = SHA-256 of the pem_public_key string bytes. */
int initra_ua_report_data(const char *hex_data, const char *pem_public_key, uint8_t out[64], initra_err *err);
/* Everything a peer's auth report must satisfy, in order: parse, the quote verifies (verify_fn at `at`),
 * report_data[32..64] == SHA-256(pem_public_key), pem_public_key is PKCS#1, and, when hex_data is
 * non-empty, report_data[0..32] equals it hex-decoded and zero padded (the freshness nonce).
 * Fills attrs (aecs_ua_attrs_from_sgx) on success. */
int aecs_ua_auth_report_verify(const initra_ua_auth_report *r, initra_ua_verify_fn verify_fn, void *verify_ctx,
                                 time_t at, const char *hex_data, initra_ua_attrs *attrs, initra_err *err);
/* Accepts "RSA_KEY_PAIR" and AECS's "SECRET_TYPE_RSA_KEY_PAIR" forms; -1 when unknown. */
int aecs_type_from_name(const char *name);
/* Parses YAML text into a JSON tree (mappings -> objects, sequences -> arrays, scalars -> strings;
 * anchors/aliases, tags and duplicate keys refused). New reference, or NULL with err. */
json_t *aecs_yaml_to_json(const char *text, size_t len, const char *where, initra_err *err);

/* The client side of GetEnclaveSecret, in initra_aecs_get_secret's steps (wire.c). A fresh request
 * nonce: 32 uppercase hex digits (16 random bytes). */
int aecs_nonce(char out[33], initra_err *err);
/* GetEnclaveSecretRequest bytes. Fresh *out. */
int aecs_request_encode(const initra_ua_auth_report *mine, const char *service, const char *secret,
                        const char *nonce, uint8_t **out, size_t *len, initra_err *err);
/* Opens GetEnclaveSecretResponse bytes (untrusted; a fuzz target) for the request made with nonce, as
 * initra_aecs_get_secret describes, at `now`. */
int aecs_response_open(const initra_aecs_client *c, const uint8_t *resp, size_t len, const char *nonce, time_t now,
                       uint8_t **secret, size_t *n, initra_err *err);

#endif
