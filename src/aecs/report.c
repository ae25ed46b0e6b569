/* Unified Attestation "Passport" reports for SGX_DCAP (docs/protocols.md#aecs): the quote binds the auth
 * report's pem_public_key (SHA-256 of its string bytes in report_data[32..64]) and the nonce or user
 * data (report_data[0..32]); json_report is UAL's DcapReport: the base64 quote and the collateral as
 * UAL's SgxQlQveCollateral JSON (collateral.c). */
#include "aecs/internal.h"
#include "initra/aecs.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/sha.h>

#include "initra/dcap.h"

void initra_ua_auth_report_free(initra_ua_auth_report *r)
{
    if (!r) return;
    free(r->report.str_report_version);
    free(r->report.str_report_type);
    free(r->report.str_tee_platform);
    free(r->report.json_report);
    free(r->report.json_nested_reports);
    free(r->pem_public_key);
    memset(r, 0, sizeof *r);
}

int initra_ua_report_data(const char *hex_data, const char *pem_public_key, uint8_t out[64], initra_err *err)
{
    memset(out, 0, 64);
    size_t hl = hex_data ? strlen(hex_data) : 0;
    if (hl) {
        uint8_t *d;
        size_t n;
        if (hl > 64 || initra_unhex_alloc(hex_data, &d, &n))
            return initra_fail(err, "UA report data: nonce/user data \"%.80s\" is not at most 64 hex digits (an even "
                                    "number)",
                               hex_data);
        memcpy(out, d, n);
        free(d);
    }
    if (!pem_public_key || !*pem_public_key) return initra_fail(err, "UA report data: empty pem_public_key");
    SHA256((const unsigned char *)pem_public_key, strlen(pem_public_key), out + 32);
    return 0;
}

int initra_ua_report_create(initra_quote_fn quote_fn, void *quote_ctx, initra_collateral_fn coll_fn, void *coll_ctx,
                            const char *hex_data, const char *pem_public_key, initra_ua_auth_report *out,
                            initra_err *err)
{
    memset(out, 0, sizeof *out);
    uint8_t rd[64];
    if (initra_ua_report_data(hex_data, pem_public_key, rd, err)) return -1;
    uint8_t *quote = NULL;
    size_t qlen = 0;
    char *coll = NULL, *ual = NULL, *b64 = NULL;
    json_t *j = NULL;
    int rc = -1;
    if (quote_fn(quote_ctx, rd, &quote, &qlen, err)) {
        initra_fail_prefix(err, "UA report: quote");
        goto done;
    }
    if (coll_fn(coll_ctx, quote, qlen, &coll, err) || aecs_ua_collateral_from_bundle(coll, strlen(coll), &ual, err)) {
        initra_fail_prefix(err, "UA report: collateral");
        goto done;
    }
    if (!(b64 = initra_b64_encode(quote, qlen)) ||
        !(j = json_pack("{s:s, s:s}", "b64_quote", b64, "json_collateral", ual)) ||
        !(out->report.json_report = json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER)) ||
        !(out->report.str_report_version = strdup(INITRA_UA_REPORT_VERSION)) ||
        !(out->report.str_report_type = strdup(INITRA_UA_REPORT_PASSPORT)) ||
        !(out->report.str_tee_platform = strdup(INITRA_UA_PLATFORM_SGX_DCAP)) ||
        !(out->report.json_nested_reports = strdup("")) || !(out->pem_public_key = strdup(pem_public_key))) {
        initra_fail(err, "UA report: out of memory (or the collateral is not UTF-8 text)");
        goto done;
    }
    rc = 0;
done:
    if (rc) initra_ua_auth_report_free(out);
    free(quote);
    free(coll);
    free(ual);
    free(b64);
    json_decref(j);
    return rc;
}

static const char *member(const json_t *o, const char *name)
{
    const json_t *v = json_object_get(o, name);
    return json_is_string(v) ? json_string_value(v) : NULL;
}

static int field_is(const char *v, const char *want) { return v && !strcmp(v, want); }

int initra_ua_report_parse(const initra_ua_report *r, uint8_t **quote, size_t *quote_len, char **collateral,
                           initra_err *err)
{
    *quote = NULL;
    *collateral = NULL;
    if (!field_is(r->str_report_version, INITRA_UA_REPORT_VERSION))
        return initra_fail(err, "UA report: str_report_version is \"%.40s\", expected \"1.0\"",
                           r->str_report_version ? r->str_report_version : "");
    if (!field_is(r->str_tee_platform, INITRA_UA_PLATFORM_SGX_DCAP))
        return initra_fail(err, "UA report: str_tee_platform is \"%.40s\"; only \"SGX_DCAP\" is supported",
                           r->str_tee_platform ? r->str_tee_platform : "");
    if (!field_is(r->str_report_type, INITRA_UA_REPORT_PASSPORT))
        return initra_fail(err, "UA report: str_report_type is \"%.40s\"; a \"Passport\" report (quote with its "
                                "collateral) is required",
                           r->str_report_type ? r->str_report_type : "");
    if (r->json_nested_reports && *r->json_nested_reports)
        return initra_fail(err, "UA report: json_nested_reports is set; nested reports are not supported");
    json_error_t je;
    json_t *j = r->json_report ? json_loads(r->json_report, JSON_REJECT_DUPLICATES, &je) : NULL;
    if (!j) return initra_fail(err, "UA report: json_report is not JSON (%s)", r->json_report ? je.text : "empty");
    int rc = -1;
    const char *b64 = member(j, "b64_quote"), *coll = member(j, "json_collateral"), *key, *unknown = NULL;
    json_t *val;
    json_object_foreach(j, key, val) if (strcmp(key, "b64_quote") && strcmp(key, "json_collateral")) unknown = key;
    if (!json_is_object(j)) {
        initra_fail(err, "UA report: json_report is not a JSON object");
    } else if (unknown) {
        initra_fail(err, "UA report: json_report has the field \"%.40s\"; a DcapReport has only b64_quote and "
                         "json_collateral",
                    unknown);
    } else if (!b64 || !*b64) {
        initra_fail(err, "UA report: json_report has no b64_quote string");
    } else if (!coll || !*coll) {
        initra_fail(err, "UA report: json_report has no json_collateral string (a Passport report carries it)");
    } else if (strlen(b64) > 4 * (INITRA_QUOTE_MAX_SIZE / 3) + 4) {
        initra_fail(err, "UA report: b64_quote is larger than %u bytes", INITRA_QUOTE_MAX_SIZE);
    } else if (initra_b64_decode(b64, quote, quote_len, err)) {
        initra_fail_prefix(err, "UA report: b64_quote");
    } else {
        initra_quote q;
        if (initra_quote_parse(*quote, *quote_len, &q, err)) {
            initra_fail_prefix(err, "UA report: b64_quote");
        } else if (q.body_type != INITRA_BODY_SGX) {
            initra_fail(err, "UA report: the quote is not an SGX enclave quote, but str_tee_platform is SGX_DCAP");
        } else if (!(*collateral = strdup(coll))) {
            initra_fail(err, "out of memory");
        } else {
            rc = 0;
        }
    }
    if (rc) {
        free(*quote);
        *quote = NULL;
    }
    json_decref(j);
    return rc;
}

int aecs_ua_auth_report_verify(const initra_ua_auth_report *r, initra_ua_verify_fn verify_fn, void *verify_ctx,
                                 time_t at, const char *hex_data, initra_ua_attrs *attrs, initra_err *err)
{
    memset(attrs, 0, sizeof *attrs);
    uint8_t *quote;
    size_t qlen;
    char *coll;
    if (initra_ua_report_parse(&r->report, &quote, &qlen, &coll, err)) return -1;
    initra_sgx_report_body body;
    int rc = -1;
    uint8_t want[64];
    if (verify_fn(verify_ctx, quote, qlen, coll, at, &body, err)) {
        initra_fail_prefix(err, "UA report: quote verification failed");
        goto done;
    }
    if (!r->pem_public_key || !*r->pem_public_key) {
        initra_fail(err, "UA auth report: pem_public_key is empty");
        goto done;
    }
    uint8_t h[32];
    SHA256((const unsigned char *)r->pem_public_key, strlen(r->pem_public_key), h);
    if (memcmp(h, body.report_data + 32, 32)) {
        char a[65], b[65];
        initra_fail(err, "UA auth report: report_data[32..64] is %s, not the SHA-256 of pem_public_key (%s): the key is "
                         "not the one the enclave attested",
                    initra_hex_upper(body.report_data + 32, 32, a), initra_hex_upper(h, 32, b));
        goto done;
    }
    EVP_PKEY *k = aecs_rsa_public_from_pem(r->pem_public_key, err);
    if (!k) {
        initra_fail_prefix(err, "UA auth report: pem_public_key");
        goto done;
    }
    EVP_PKEY_free(k);
    if (hex_data && *hex_data) {
        if (initra_ua_report_data(hex_data, r->pem_public_key, want, err)) goto done;
        if (memcmp(want, body.report_data, 32)) {
            char a[65];
            initra_fail(err, "UA report: report_data[0..32] is %s, not the request nonce %.64s zero padded: a stale "
                             "or replayed report",
                        initra_hex_upper(body.report_data, 32, a), hex_data);
            goto done;
        }
    }
    if (aecs_ua_attrs_from_sgx(&body, attrs, err)) goto done;
    rc = 0;
done:
    free(quote);
    free(coll);
    return rc;
}

/* ---------------- DCAP verification ---------------- */

int initra_ua_dcap_verify(void *ctx, const uint8_t *quote, size_t len, const char *collateral, time_t at,
                          initra_sgx_report_body *body, initra_err *err)
{
    const initra_ua_dcap_ctx *c = ctx;
    char *bundle;
    /* the quote's own signatures before anything reads the (large, peer-chosen) collateral */
    if (initra_dcap_quote_signed(c->dcap, quote, len, err)) return -1;
    if (aecs_ua_collateral_to_bundle(collateral, strlen(collateral), &bundle, err)) return -1;
    initra_collateral *coll = initra_dcap_collateral(c->dcap, bundle, strlen(bundle), err);
    free(bundle);
    if (!coll) return initra_fail_prefix(err, "json_collateral");
    initra_dcap_result res;
    unsigned flags = c->allow_expired_collateral ? INITRA_DCAP_ALLOW_EXPIRED_COLLATERAL : 0;
    int rc = initra_dcap_verify(c->dcap, quote, len, coll, at, flags, &res);
    initra_collateral_release(coll);
    if (rc) return initra_fail(err, "%s", res.error);
    const char *status = initra_tcb_status_name(res.status);
    if (c->status_out && c->status_size) snprintf(c->status_out, c->status_size, "%s", status);
    int ok = 0;
    if (c->n_tcb_statuses == 0) {
        ok = res.status == INITRA_TCB_UP_TO_DATE || res.status == INITRA_TCB_SW_HARDENING_NEEDED;
    } else {
        for (size_t i = 0; i < c->n_tcb_statuses; i++) ok |= !strcmp(c->tcb_statuses[i], status);
    }
    if (!ok)
        return initra_fail(err, "TCB status %s is not accepted (accepted: %s)", status,
                           c->n_tcb_statuses ? "the configured list" : "UpToDate, SWHardeningNeeded");
    initra_quote q;
    if (initra_quote_parse(quote, len, &q, err)) return -1;
    if (q.body_type != INITRA_BODY_SGX) return initra_fail(err, "not an SGX enclave quote");
    *body = q.enclave;
    return 0;
}

/* ---------------- collateral for our own Passport ---------------- */

int initra_ua_collateral_from_src(void *ctx, const uint8_t *quote, size_t len, char **json, initra_err *err)
{
    const initra_ua_collateral_src *s = ctx;
    initra_collateral_src *src = initra_collateral_src_open(
        s->dcap, &(initra_collateral_src_opts){.file = s->file, .data = s->data, .len = s->len, .pccs = {.url = s->pccs_url}},
        err);
    if (!src) return -1;
    int rc = initra_dcap_collateral_text_for(src, quote, len, json, err);
    initra_collateral_src_free(src);
    return rc;
}
