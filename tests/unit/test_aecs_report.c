/* aecs: UA Passport reports from real sim quotes: report_data layout, full DCAP verification from the
 * embedded collateral (sim root, expired collateral, unknown root), key binding, nonce freshness, the
 * attributes, and malformed reports. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/sha.h>

#include "aecs/internal.h"
#include "check.h"
#include "dcap/internal.h"
#include "initra/aecs.h"
#include "initra/attest.h"
#include "initra/sim.h"

static int debug_enclave;

static int quote_fn(void *ctx, const uint8_t rd[64], uint8_t **q, size_t *len, initra_err *err)
{
    initra_sgx_report_body id;
    memset(&id, 0, sizeof id);
    memset(id.mr_enclave, 0xAB, 32);
    memset(id.mr_signer, 0xCD, 32);
    id.isv_prod_id = 1234;
    id.isv_svn = 5;
    id.attributes.flags = INITRA_ATTR_INIT | INITRA_ATTR_MODE64BIT | (debug_enclave ? INITRA_ATTR_DEBUG : 0);
    return initra_sim_quote(ctx, &id, rd, q, len, err);
}

static int coll_fn(void *ctx, const uint8_t *q, size_t n, char **json, initra_err *err)
{
    return initra_sim_collateral(ctx, json, err);
}

static int failing_coll(void *ctx, const uint8_t *q, size_t n, char **json, initra_err *err)
{
    return initra_fail(err, "no PCCS");
}

/* r with json_report replaced by text (the rest shared; only json_report is freed by the caller). */
static initra_ua_auth_report with_json(const initra_ua_auth_report *r, const char *text)
{
    initra_ua_auth_report c = *r;
    c.report.json_report = (char *)text;
    return c;
}

int main(void)
{
    initra_err err;
    char dir[4096];
    initra_sim *sim = initra_sim_dir(dir, sizeof dir, &err) == 0 ? initra_sim_open(dir, &err) : NULL;
    CHECK(sim != NULL, "sim platform: %s", sim ? dir : err.msg);
    if (!sim) CHECK_DONE();
    EVP_PKEY *key = aecs_rsa_generate(2048, &err), *key2 = aecs_rsa_generate(2048, &err);
    char *pem = initra_aecs_rsa_public_pem(key, &err), *pem2 = initra_aecs_rsa_public_pem(key2, &err);

    /* report data */
    uint8_t rd[64], h[32];
    CHECK(initra_ua_report_data("0102ab", pem, rd, &err) == 0 && rd[0] == 1 && rd[1] == 2 && rd[2] == 0xab && rd[3] == 0 &&
              rd[31] == 0,
          "report_data[0..32] = hex-decoded nonce, zero padded");
    SHA256((const uint8_t *)pem, strlen(pem), h);
    CHECK(!memcmp(rd + 32, h, 32), "report_data[32..64] = SHA-256 of the PEM string");
    CHECK(initra_ua_report_data("123", pem, rd, &err) != 0 && strstr(err.msg, "not at most 64 hex digits"), "odd hex refused");
    CHECK(initra_ua_report_data("zz", pem, rd, &err) != 0, "non-hex nonce refused");
    char long_hex[70];
    memset(long_hex, 'a', 66);
    long_hex[66] = 0;
    CHECK(initra_ua_report_data(long_hex, pem, rd, &err) != 0, "nonce over 32 bytes refused");

    /* create */
    const char *nonce = "00112233445566778899AABBCCDDEEFF";
    initra_ua_auth_report r;
    CHECK(initra_ua_report_create(quote_fn, sim, coll_fn, sim, nonce, pem, &r, &err) == 0, "Passport report created: %s",
          err.msg);
    CHECK(!strcmp(r.report.str_report_version, "1.0") && !strcmp(r.report.str_report_type, "Passport") &&
              !strcmp(r.report.str_tee_platform, "SGX_DCAP") && !strcmp(r.pem_public_key, pem),
          "version 1.0, Passport, SGX_DCAP, the PEM");
    json_t *j = json_loads(r.report.json_report, 0, NULL);
    char *coll = NULL;
    initra_sim_collateral(sim, &coll, &err);
    CHECK(j && json_is_string(json_object_get(j, "b64_quote")) && json_is_string(json_object_get(j, "json_collateral")) &&
              json_object_size(j) == 2 && !strncmp(r.report.json_report, "{\"b64_quote\":", 13),
          "json_report = {b64_quote, json_collateral} in DcapReport's field order");
    /* json_collateral: UAL's SgxQlQveCollateral, as its PCCS client fills it */
    json_t *u = json_loads(json_string_value(json_object_get(j, "json_collateral")), JSON_REJECT_DUPLICATES, NULL);
    json_t *bj = json_loads(coll, 0, NULL);
    const char *ual_keys[] = {"version", "pck_crl_issuer_chain", "root_ca_crl", "pck_crl", "tcb_info_issuer_chain",
                              "tcb_info", "qe_identity_issuer_chain", "qe_identity"};
    int keys_ok = u && json_object_size(u) == 8;
    for (size_t i = 0; keys_ok && i < 8; i++) keys_ok = json_is_string(json_object_get(u, ual_keys[i]));
    CHECK(keys_ok && !strcmp(json_string_value(json_object_get(u, "version")), "3"),
          "json_collateral has exactly SgxQlQveCollateral's eight fields, version the string \"3\"");
    const char *ut = keys_ok ? json_string_value(json_object_get(u, "tcb_info")) : "";
    char want_tcb[16384];
    snprintf(want_tcb, sizeof want_tcb, "{\"tcbInfo\":%s,\"signature\":\"%s\"}",
             json_string_value(json_object_get(bj, "tcb_info")), json_string_value(json_object_get(bj, "tcb_info_signature")));
    CHECK(!strcmp(ut, want_tcb), "tcb_info is the PCCS body {\"tcbInfo\": <exact signed text>, \"signature\": ...}");
    const char *uq = keys_ok ? json_string_value(json_object_get(u, "qe_identity")) : "";
    CHECK(!strncmp(uq, "{\"enclaveIdentity\":{", 20) && strstr(uq, json_string_value(json_object_get(bj, "qe_identity_signature"))),
          "qe_identity is the PCCS body {\"enclaveIdentity\": ..., \"signature\": ...}");
    CHECK(keys_ok && !strncmp(json_string_value(json_object_get(u, "pck_crl")), "-----BEGIN X509 CRL-----", 24) &&
              !strcmp(json_string_value(json_object_get(u, "root_ca_crl")), json_string_value(json_object_get(bj, "root_ca_crl"))) &&
              !strcmp(json_string_value(json_object_get(u, "tcb_info_issuer_chain")),
                      json_string_value(json_object_get(bj, "tcb_info_issuer_chain"))),
          "pck_crl PEM, root_ca_crl hex of DER, chains PEM (as the PCCS serves them)");
    /* and back: the exact signed texts and signatures, CRLs as hex */
    char *back = NULL;
    const char *utext = json_string_value(json_object_get(j, "json_collateral"));
    CHECK(aecs_ua_collateral_to_bundle(utext, strlen(utext), &back, &err) == 0, "json_collateral reads back: %s", err.msg);
    json_t *bb = back ? json_loads(back, 0, NULL) : NULL;
    CHECK(bb && json_equal(bb, bj), "read back, it is the same bundle (signed texts, signatures, CRLs, chains)");
    json_decref(bb);
    free(back);
    /* a PCCS body with other spacing and member order: the signed text is still found exactly */
    json_t *ro = json_deep_copy(u);
    char reordered[16384];
    snprintf(reordered, sizeof reordered, "{ \"signature\" : \"%s\",\n  \"tcbInfo\" :\t%s }\n",
             json_string_value(json_object_get(bj, "tcb_info_signature")), json_string_value(json_object_get(bj, "tcb_info")));
    json_object_set_new(ro, "tcb_info", json_string(reordered));
    char *rot = json_dumps(ro, 0), *rob = NULL;
    json_t *robj = aecs_ua_collateral_to_bundle(rot, strlen(rot), &rob, &err) == 0 ? json_loads(rob, 0, NULL) : NULL;
    CHECK(robj && json_equal(robj, bj), "a reordered, respaced tcb_info body gives the same signed text: %s", robj ? "" : err.msg);
    json_decref(robj);
    free(rob);
    free(rot);
    json_decref(ro);
    /* version as a number, and the cases UAL's parser refuses */
    struct {
        const char *field;
        json_t *value;
        const char *want;
    } uc[] = {{"version", json_integer(3), NULL},
              {"version", json_integer(1), NULL},
              {"version", json_string("4"), "version 4 is not"},
              {"version", json_string("3x"), "version -1 is not"},
              {"version", json_true(), "neither a number nor a decimal string"},
              {"tcb_info_signature", json_string("ab"), "field \"tcb_info_signature\" is not one of"},
              {"tcb_info", json_string(""), "tcb_info is missing or empty"},
              {"tcb_info", json_string("{\"tcbInfo\":{},\"tcbInfo\":{},\"signature\":\"00\"}"), "tcb_info: not a PCCS body"},
              {"qe_identity", json_string("{\"qeIdentity\":{}}"), "qe_identity: not a PCCS body"},
              {"pck_crl", json_string("zz"), "pck_crl is neither a PEM CRL nor hex"},
              {"root_ca_crl", json_string("-----BEGIN X509 CRL-----\nAAAA\n-----END X509 CRL-----\n"), "root_ca_crl is not a PEM CRL"}};
    for (size_t i = 0; i < sizeof uc / sizeof uc[0]; i++) {
        json_t *m = json_deep_copy(u);
        json_object_set_new(m, uc[i].field, uc[i].value);
        char *mt = json_dumps(m, 0), *mb = NULL;
        int rc = aecs_ua_collateral_to_bundle(mt, strlen(mt), &mb, &err);
        if (uc[i].want)
            CHECK(rc != 0 && strstr(err.msg, uc[i].want), "json_collateral with %s changed refused: %s", uc[i].field, err.msg);
        else
            CHECK(rc == 0, "json_collateral with %s as a number accepted: %s", uc[i].field, rc ? err.msg : "");
        free(mb);
        free(mt);
        json_decref(m);
    }
    json_t *nov = json_deep_copy(u);
    json_object_del(nov, "version");
    char *novt = json_dumps(nov, 0), *novb = NULL;
    CHECK(aecs_ua_collateral_to_bundle(novt, strlen(novt), &novb, &err) != 0 && strstr(err.msg, "version 0 is not"),
          "json_collateral without version refused: %s", err.msg);
    free(novt);
    json_decref(nov);
    json_decref(u);
    json_decref(bj);
    initra_ua_auth_report bad;
    CHECK(initra_ua_report_create(quote_fn, sim, failing_coll, NULL, nonce, pem, &bad, &err) != 0 &&
              strstr(err.msg, "UA report: collateral: no PCCS"),
          "collateral failure reported: %s", err.msg);

    /* parse */
    uint8_t *q;
    size_t qlen;
    char *c;
    CHECK(initra_ua_report_parse(&r.report, &q, &qlen, &c, &err) == 0 &&
              !strcmp(c, json_string_value(json_object_get(j, "json_collateral"))),
          "report parses");
    initra_quote pq;
    CHECK(initra_quote_parse(q, qlen, &pq, &err) == 0 && !memcmp(pq.enclave.report_data + 32, h, 32) &&
              pq.enclave.report_data[0] == 0x00 && pq.enclave.report_data[1] == 0x11 && pq.enclave.report_data[15] == 0xff,
          "the quote carries nonce and key hash");
    free(q);
    free(c);

    /* verify with the DCAP verifier */
    initra_dcap *d = initra_dcap_new(&err);
    uint8_t *root;
    size_t root_len;
    initra_sim_root_der(sim, &root, &root_len, &err);
    CHECK(d && dcap_add_root(d, root, root_len, &err) == 0, "dcap context trusting the sim root");
    free(root);
    initra_ua_dcap_ctx vc = {.dcap = d};
    time_t now = time(NULL);
    initra_ua_attrs a;
    CHECK(aecs_ua_auth_report_verify(&r, initra_ua_dcap_verify, &vc, now, nonce, &a, &err) == 0,
          "report verifies with the nonce: %s", err.msg);
    if (a.v[0]) {
        CHECK(!strcmp(a.v[INITRA_UA_HEX_TA_MEASUREMENT], "ABABABABABABABABABABABABABABABABABABABABABABABABABABABABABABABAB") &&
                  !strcmp(a.v[INITRA_UA_HEX_PROD_ID], "1234") && !strcmp(a.v[INITRA_UA_STR_MIN_ISVSVN], "5") &&
                  !strcmp(a.v[INITRA_UA_BOOL_DEBUG_DISABLED], "true") &&
                  !strncmp(a.v[INITRA_UA_HEX_USER_DATA], "00112233445566778899AABBCCDDEEFF0000", 36),
              "attributes from the verified quote");
        json_t *pj = json_pack("[{s:s, s:s}]", "hex_signer",
                               "cdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcd", "hex_hash_or_pem_pubkey", pem);
        initra_ua_policy p;
        CHECK(aecs_ua_policy_from_json(pj, "t", &p, &err) == 0 && aecs_ua_policy_check(&p, &a, &err) == 0,
              "a policy pinning signer and PEM key accepts it: %s", err.msg);
        initra_ua_policy_free(&p);
        json_decref(pj);
    }
    aecs_ua_attrs_free(&a);
    CHECK(aecs_ua_auth_report_verify(&r, initra_ua_dcap_verify, &vc, now, "", &a, &err) == 0,
          "no nonce required: verifies");
    aecs_ua_attrs_free(&a);
    CHECK(aecs_ua_auth_report_verify(&r, initra_ua_dcap_verify, &vc, now, "00112233445566778899AABBCCDDEE00", &a, &err) != 0 &&
              strstr(err.msg, "not the request nonce"),
          "another nonce refused (replay): %s", err.msg);
    /* key binding */
    char *saved = r.pem_public_key;
    r.pem_public_key = pem2;
    CHECK(aecs_ua_auth_report_verify(&r, initra_ua_dcap_verify, &vc, now, nonce, &a, &err) != 0 &&
              strstr(err.msg, "not the SHA-256 of pem_public_key"),
          "a swapped pem_public_key refused: %s", err.msg);
    r.pem_public_key = saved;
    /* expired collateral: the sim's collateral is valid 30 days */
    CHECK(aecs_ua_auth_report_verify(&r, initra_ua_dcap_verify, &vc, now + 40 * 86400, nonce, &a, &err) != 0,
          "expired collateral refused: %s", err.msg);
    vc.allow_expired_collateral = 1;
    CHECK(aecs_ua_auth_report_verify(&r, initra_ua_dcap_verify, &vc, now + 40 * 86400, nonce, &a, &err) == 0,
          "expired collateral accepted only when explicitly allowed: %s", err.msg);
    aecs_ua_attrs_free(&a);
    vc.allow_expired_collateral = 0;
    const char *only_revoked[] = {"Revoked"};
    initra_ua_dcap_ctx vc2 = {.dcap = d, .tcb_statuses = only_revoked, .n_tcb_statuses = 1};
    CHECK(aecs_ua_auth_report_verify(&r, initra_ua_dcap_verify, &vc2, now, nonce, &a, &err) != 0 &&
              strstr(err.msg, "TCB status UpToDate is not accepted"),
          "TCB status list applied: %s", err.msg);
    /* unknown root */
    initra_dcap *d2 = initra_dcap_new(&err);
    initra_ua_dcap_ctx vc3 = {.dcap = d2};
    CHECK(aecs_ua_auth_report_verify(&r, initra_ua_dcap_verify, &vc3, now, nonce, &a, &err) != 0 &&
              strstr(err.msg, "quote verification failed"),
          "sim report refused without the sim root: %s", err.msg);
    initra_dcap_free(d2);

    /* names upstream never writes (its protos set json_name to the field names) are refused */
    json_t *cj = json_pack("{s:O, s:O}", "b64Quote", json_object_get(j, "b64_quote"), "json_collateral",
                           json_object_get(j, "json_collateral"));
    char *ctext = json_dumps(cj, 0);
    initra_ua_auth_report alt = with_json(&r, ctext);
    CHECK(aecs_ua_auth_report_verify(&alt, initra_ua_dcap_verify, &vc, now, nonce, &a, &err) != 0 &&
              strstr(err.msg, "json_report has the field \"b64Quote\""),
          "b64Quote (not a name UAL writes) refused: %s", err.msg);
    free(ctext);
    json_decref(cj);
    /* the quote's signatures are checked before the collateral is read */
    json_t *bq = json_deep_copy(j);
    uint8_t *rawq;
    size_t rawn;
    initra_b64_decode(json_string_value(json_object_get(j, "b64_quote")), &rawq, &rawn, &err);
    initra_quote pq2;
    initra_quote_parse(rawq, rawn, &pq2, &err);
    rawq[pq2.signed_len - 1] ^= 1; /* the last byte of the report body */
    char *bqb64 = initra_b64_encode(rawq, rawn);
    json_object_set_new(bq, "b64_quote", json_string(bqb64));
    json_object_set_new(bq, "json_collateral", json_string("not collateral at all"));
    char *bqtext = json_dumps(bq, 0);
    initra_ua_auth_report bqr = with_json(&r, bqtext);
    CHECK(aecs_ua_auth_report_verify(&bqr, initra_ua_dcap_verify, &vc, now, NULL, &a, &err) != 0 &&
              strstr(err.msg, "quote signature does not verify") && !strstr(err.msg, "collateral"),
          "a quote with a broken signature and garbage collateral is refused for the signature: %s", err.msg);
    free(bqtext);
    free(bqb64);
    free(rawq);
    json_decref(bq);

    /* malformed reports */
    struct {
        const char *json;
        const char *want;
    } cases[] = {
        {"", "json_report is not JSON"},
        {"[]", "not a JSON object"},
        {"{\"json_collateral\":\"x\"}", "no b64_quote"},
        {"{\"b64_quote\":\"AAAA\"}", "no json_collateral"},
        {"{\"b64_quote\":\"AA!A\",\"json_collateral\":\"{}\"}", "b64_quote"},
        {"{\"b64_quote\":\"AAAA\",\"json_collateral\":\"{}\"}", "UA report: b64_quote: quote"},
        {"{\"b64_quote\":\"AAAA\",\"jsonCollateral\":\"{}\"}", "has the field \"jsonCollateral\""},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        initra_ua_auth_report m = with_json(&r, cases[i].json);
        CHECK(aecs_ua_auth_report_verify(&m, initra_ua_dcap_verify, &vc, now, nonce, &a, &err) != 0 &&
                  strstr(err.msg, cases[i].want),
              "json_report %s refused: %s", cases[i].json, err.msg);
    }
    json_t *jc = json_deep_copy(j);
    json_object_set_new(jc, "json_collateral", json_string("{\"version\":3}"));
    char *jtext = json_dumps(jc, 0);
    initra_ua_auth_report m = with_json(&r, jtext);
    CHECK(aecs_ua_auth_report_verify(&m, initra_ua_dcap_verify, &vc, now, nonce, &a, &err) != 0 &&
              strstr(err.msg, "json_collateral"),
          "broken collateral refused: %s", err.msg);
    free(jtext);
    json_decref(jc);
    struct {
        int field;
        const char *value;
        const char *want;
    } hdr[] = {{0, "2.0", "str_report_version is \"2.0\""},
               {1, "BackgroundCheck", "a \"Passport\" report"},
               {2, "TDX", "only \"SGX_DCAP\""},
               {3, "[{}]", "nested reports are not supported"}};
    for (size_t i = 0; i < sizeof hdr / sizeof hdr[0]; i++) {
        initra_ua_auth_report x = r;
        char **f = hdr[i].field == 0   ? &x.report.str_report_version
                   : hdr[i].field == 1 ? &x.report.str_report_type
                   : hdr[i].field == 2 ? &x.report.str_tee_platform
                                       : &x.report.json_nested_reports;
        *f = (char *)hdr[i].value;
        CHECK(aecs_ua_auth_report_verify(&x, initra_ua_dcap_verify, &vc, now, nonce, &a, &err) != 0 &&
                  strstr(err.msg, hdr[i].want),
              "header %s refused: %s", hdr[i].value, err.msg);
    }
    /* an SPKI key bound correctly is still refused (SM2 mode) */
    char *spki = aecs_rsa_spki_pem(key, &err);
    initra_ua_auth_report s;
    if (initra_ua_report_create(quote_fn, sim, coll_fn, sim, nonce, spki, &s, &err) == 0) {
        CHECK(aecs_ua_auth_report_verify(&s, initra_ua_dcap_verify, &vc, now, nonce, &a, &err) != 0 &&
                  strstr(err.msg, "not a PKCS#1 RSA public key"),
              "a report binding an SPKI key is refused: %s", err.msg);
        initra_ua_auth_report_free(&s);
    }
    free(spki);
    /* debug enclave attribute */
    debug_enclave = 1;
    if (initra_ua_report_create(quote_fn, sim, coll_fn, sim, "", pem, &s, &err) == 0) {
        CHECK(aecs_ua_auth_report_verify(&s, initra_ua_dcap_verify, &vc, now, "", &a, &err) == 0 &&
                  !strcmp(a.v[INITRA_UA_BOOL_DEBUG_DISABLED], "false"),
              "debug enclave: bool_debug_disabled false");
        aecs_ua_attrs_free(&a);
        initra_ua_auth_report_free(&s);
    }

    json_decref(j);
    free(coll);
    initra_ua_auth_report_free(&r);
    initra_dcap_free(d);
    free(pem);
    free(pem2);
    EVP_PKEY_free(key);
    EVP_PKEY_free(key2);
    initra_sim_close(sim);
    CHECK_DONE();
}
