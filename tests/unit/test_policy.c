/* policy: Occlum schema with Occlum semantics under initra's TCB defaults, initra's identity list with
 * every field, per-secret rules, strict loading errors. */
#include <string.h>

#include "check.h"
#include "initra/policy.h"
#include "policy/internal.h"

static initra_policy *pol(const char *text, initra_err *err)
{
    json_error_t je;
    json_t *j = json_loads(text, 0, &je);
    if (!j) {
        snprintf(err->msg, sizeof err->msg, "test JSON: %s", je.text);
        return NULL;
    }
    initra_policy *p = initra_policy_from_json(j, "test.json", err);
    json_decref(j);
    return p;
}

#define MRE "1111111111111111111111111111111111111111111111111111111111111111"
#define MRS "2222222222222222222222222222222222222222222222222222222222222222"

static initra_sgx_report_body body(void)
{
    initra_sgx_report_body b;
    memset(&b, 0, sizeof b);
    memset(b.mr_enclave, 0x11, 32);
    memset(b.mr_signer, 0x22, 32);
    b.isv_prod_id = 7;
    b.isv_svn = 3;
    b.attributes.flags = INITRA_ATTR_INIT | INITRA_ATTR_MODE64BIT;
    return b;
}

static int accepts(const initra_policy *p, const initra_sgx_report_body *b, const char *status, initra_err *why)
{
    initra_evidence ev = {b, status, NULL, 0, 0, 0};
    return initra_policy_check(p, &ev, why) == 0;
}

static void occlum(void)
{
    initra_err err, why;
    const char *tmpl = "{\"verify_mr_enclave\":\"on\",\"verify_mr_signer\":\"on\",\"verify_isv_prod_id\":\"on\","
                       "\"verify_isv_svn\":\"on\",\"verify_config_svn\":\"off\",\"verify_enclave_debuggable\":\"on\","
                       "\"sgx_mrs\":[{\"mr_enclave\":\"\",\"mr_signer\":\"\",\"isv_prod_id\":0,\"isv_svn\":0,"
                       "\"config_svn\":0,\"debuggable\":true},"
                       "{\"mr_enclave\":\"" MRE "\",\"mr_signer\":\"" MRS "\",\"isv_prod_id\":7,\"isv_svn\":3,"
                       "\"config_svn\":0,\"debuggable\":false}]}";
    CHECK(pol(tmpl, &err) == NULL && strstr(err.msg, "sgx_mrs[0].mr_enclave: \"\" is not 64 hex digits"),
          "occlum: empty mr_enclave with verify on refused: %s", err.msg);
    const char *good = "{\"verify_mr_enclave\":\"on\",\"verify_mr_signer\":\"on\",\"verify_isv_prod_id\":\"on\","
                       "\"verify_isv_svn\":\"on\",\"verify_config_svn\":\"off\",\"verify_enclave_debuggable\":\"on\","
                       "\"sgx_mrs\":[{\"mr_enclave\":\"" MRE "\",\"mr_signer\":\"" MRS "\",\"isv_prod_id\":7,"
                       "\"isv_svn\":3,\"config_svn\":9,\"debuggable\":false}]}";
    initra_policy *p = pol(good, &err);
    CHECK(p != NULL, "occlum policy loads: %s", p ? "" : err.msg);
    if (!p) return;
    CHECK(policy_is_occlum(p), "detected as Occlum format");
    initra_sgx_report_body b = body();
    CHECK(accepts(p, &b, "UpToDate", &why), "matching enclave accepted");
    CHECK(accepts(p, &b, "SWHardeningNeeded", &why), "SWHardeningNeeded accepted by Occlum-format default");
    CHECK(!accepts(p, &b, "OutOfDate", &why) && strstr(why.msg, "TCB status OutOfDate is not accepted"),
          "OutOfDate refused: %s", why.msg);
    CHECK(!accepts(p, &b, "Revoked", &why), "Revoked refused");
    b.isv_svn = 4;
    CHECK(!accepts(p, &b, "UpToDate", &why) && strstr(why.msg, "isv_svn is 4, the entry requires exactly 3") &&
              strstr(why.msg, "sgx_mrs[0]"),
          "isv_svn compared with == (Occlum semantics): %s", why.msg);
    b = body();
    b.attributes.flags |= INITRA_ATTR_DEBUG;
    CHECK(!accepts(p, &b, "UpToDate", &why) && strstr(why.msg, "debug"), "debug enclave refused: %s", why.msg);
    b = body();
    b.config_svn = 1;
    CHECK(accepts(p, &b, "UpToDate", &why), "config_svn ignored when verify_config_svn is off");
    b = body();
    initra_evidence ev = {&b, "UpToDate", NULL, 0, 1, 0};
    CHECK(initra_policy_check(p, &ev, &why) != 0 && strstr(why.msg, "expired"),
          "expired collateral never accepted in Occlum format: %s", why.msg);
    initra_policy_free(p);

    /* strict loading */
    struct { const char *json, *want; } bads[] = {
        {"{\"verify_mr_enclave\":\"ON\",\"verify_mr_signer\":\"off\",\"verify_isv_prod_id\":\"off\",\"verify_isv_svn\":\"off\",\"verify_config_svn\":\"off\",\"verify_enclave_debuggable\":\"off\",\"sgx_mrs\":[{}]}",
         "verify_mr_enclave: \"ON\" must be \"on\" or \"off\""},
        {"{\"verify_mr_enclave\":\"on\",\"verify_isv_prod_id\":\"off\",\"verify_isv_svn\":\"off\",\"verify_config_svn\":\"off\",\"verify_enclave_debuggable\":\"off\",\"sgx_mrs\":[{}]}",
         "verify_mr_signer: (missing) must be \"on\" or \"off\""},
        {"{\"verify_mr_enclave\":\"off\",\"verify_mr_signer\":\"off\",\"verify_isv_prod_id\":\"off\",\"verify_isv_svn\":\"off\",\"verify_config_svn\":\"off\",\"verify_enclave_debuggable\":\"off\",\"sgx_mrs\":[]}",
         "sgx_mrs: [] must be a non-empty list"},
        {"{\"verify_mr_enclave\":\"off\",\"verify_mr_signer\":\"off\",\"verify_isv_prod_id\":\"off\",\"verify_isv_svn\":\"off\",\"verify_config_svn\":\"off\",\"verify_enclave_debuggable\":\"off\",\"sgx_mrs\":[{\"mr_enclave\":\"\",\"mr_signer\":\"\",\"isv_prod_id\":\"7\",\"isv_svn\":0,\"config_svn\":0,\"debuggable\":true}]}",
         "sgx_mrs[0].isv_prod_id: \"7\" is not an integer from 0 to 65535"},
        {"{\"verify_mr_enclave\":\"off\",\"verify_mr_signer\":\"off\",\"verify_isv_prod_id\":\"off\",\"verify_isv_svn\":\"off\",\"verify_config_svn\":\"off\",\"verify_enclave_debuggable\":\"off\",\"sgx_mrs\":[{\"mr_enclave\":\"abc\",\"mr_signer\":\"\",\"isv_prod_id\":0,\"isv_svn\":0,\"config_svn\":0,\"debuggable\":true}]}",
         "sgx_mrs[0].mr_enclave: \"abc\" is not 64 hex digits"},
        {"{\"verify_mr_enclave\":\"off\",\"verify_mr_signer\":\"off\",\"verify_isv_prod_id\":\"off\",\"verify_isv_svn\":\"off\",\"verify_config_svn\":\"off\",\"verify_enclave_debuggable\":\"off\",\"sgx_mrs\":[{\"mr_enclave\":\"\",\"mr_signer\":\"\",\"isv_prod_id\":0,\"isv_svn\":0,\"config_svn\":0}]}",
         "sgx_mrs[0].debuggable: (missing) is required"},
        {"{\"verify_mr_enclave\":\"off\",\"verify_mr_signer\":\"off\",\"verify_isv_prod_id\":\"off\",\"verify_isv_svn\":\"off\",\"verify_config_svn\":\"off\",\"verify_enclave_debuggable\":\"off\",\"tcb_statuses\":[\"Revoked\"],\"sgx_mrs\":[{\"mr_enclave\":\"\",\"mr_signer\":\"\",\"isv_prod_id\":0,\"isv_svn\":0,\"config_svn\":0,\"debuggable\":true}]}",
         "tcb_statuses: \"Revoked\" can never be accepted"},
    };
    for (size_t i = 0; i < sizeof bads / sizeof bads[0]; i++) {
        p = pol(bads[i].json, &err);
        CHECK(p == NULL && strstr(err.msg, bads[i].want) && !strncmp(err.msg, "test.json: ", 11),
              "bad occlum policy %zu refused: %s", i, p ? "(accepted)" : err.msg);
        initra_policy_free(p);
    }
}

static void initra_format(void)
{
    initra_err err, why;
    initra_policy *p = pol("[{\"name\":\"app\",\"mr_signer\":\"" MRS "\",\"isv_prod_id\":7,\"min_isv_svn\":2,"
                           "\"min_config_svn\":5,\"isv_family_id\":\"00112233445566778899aabbccddeeff\","
                           "\"tcb_statuses\":[\"UpToDate\",\"SWHardeningNeeded\"],\"advisories\":[\"INTEL-SA-00615\"]}]",
                           &err);
    CHECK(p != NULL, "initra policy loads: %s", p ? "" : err.msg);
    if (!p) return;
    initra_sgx_report_body b = body();
    CHECK(!accepts(p, &b, "UpToDate", &why) && strstr(why.msg, "not launched with KSS"),
          "KSS field refuses a quote without KSS: %s", why.msg);
    b.attributes.flags |= INITRA_ATTR_KSS;
    b.config_svn = 5;
    const uint8_t fam[16] = {0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff};
    memcpy(b.isv_family_id, fam, 16);
    CHECK(accepts(p, &b, "UpToDate", &why), "matching KSS enclave accepted: %s", why.msg);
    b.config_svn = 4;
    CHECK(!accepts(p, &b, "UpToDate", &why) && strstr(why.msg, "config_svn is 4, below the entry's min_config_svn 5") &&
              strstr(why.msg, "closest entry [0] (\"app\")"),
          "config_svn minimum: %s", why.msg);
    b.config_svn = 6;
    b.isv_svn = 1;
    CHECK(!accepts(p, &b, "UpToDate", &why) && strstr(why.msg, "isv_svn is 1, below the entry's min_isv_svn 2"),
          "isv_svn minimum: %s", why.msg);
    b.isv_svn = 9;
    b.isv_family_id[0] = 1;
    CHECK(!accepts(p, &b, "UpToDate", &why) && strstr(why.msg, "isv_family_id is 01112233"), "family id: %s", why.msg);
    memcpy(b.isv_family_id, fam, 16);
    const char *adv_ok[] = {"INTEL-SA-00615"}, *adv_bad[] = {"INTEL-SA-00615", "INTEL-SA-00289"};
    initra_evidence ev = {&b, "SWHardeningNeeded", adv_ok, 1, 0, 0};
    CHECK(initra_policy_check(p, &ev, &why) == 0, "accepted advisory passes");
    ev.advisories = adv_bad;
    ev.n_advisories = 2;
    CHECK(initra_policy_check(p, &ev, &why) != 0 && strstr(why.msg, "advisory INTEL-SA-00289"),
          "unaccepted advisory refused: %s", why.msg);
    ev.n_advisories = 0;
    ev.tcb_status = "ConfigurationNeeded";
    CHECK(initra_policy_check(p, &ev, &why) != 0 && strstr(why.msg, "TCB status ConfigurationNeeded"), "status list");
    ev.tcb_status = "UpToDate";
    ev.collateral_expired = 1;
    CHECK(initra_policy_check(p, &ev, &why) != 0 && strstr(why.msg, "allow_expired_collateral"),
          "expired collateral refused by default: %s", why.msg);
    b.attributes.flags |= INITRA_ATTR_DEBUG;
    ev.collateral_expired = 0;
    CHECK(initra_policy_check(p, &ev, &why) != 0 && strstr(why.msg, "debug enclave"),
          "debug refused by default: %s", why.msg);
    initra_policy_free(p);

    const char *bads[][2] = {
        {"[]", "empty"},
        {"[{\"mr_signer\":\"" MRS "\",\"min_isvsvn\":1}]", "[0].min_isvsvn is not a known key"},
        {"[{\"isv_prod_id\":1}]", "must name mr_enclave or mr_signer"},
        {"[{\"mr_signer\":\"" MRS "\",\"config_id\":\"12\"}]", "[0].config_id: \"12\" is not 128 hex digits"},
        {"[{\"mr_signer\":\"" MRS "\",\"tcb_statuses\":[\"Fine\"]}]", "[0].tcb_statuses: \"Fine\" is not a TCB status"},
        {"{\"foo\":1}", "neither a list of allowed identities"},
    };
    for (size_t i = 0; i < sizeof bads / sizeof bads[0]; i++) {
        p = pol(bads[i][0], &err);
        CHECK(p == NULL && strstr(err.msg, bads[i][1]), "bad initra policy %zu refused: %s", i, p ? "(accepted)" : err.msg);
        initra_policy_free(p);
    }
}

static void secrets(void)
{
    initra_err err, why;
    json_t *j = json_loads("{\"identities\":{\"app\":{\"mr_enclave\":\"" MRE "\"},\"other\":{\"mr_signer\":\"" MRE "\"}},"
                           "\"secrets\":{\"db_key\":[\"app\"],\"admin_key\":[\"other\"]}}", 0, NULL);
    initra_secret_policy *sp = policy_secret_from_json(j, "policy.json", &err);
    json_decref(j);
    CHECK(sp != NULL, "secret policy loads: %s", sp ? "" : err.msg);
    if (!sp) return;
    initra_sgx_report_body b = body();
    initra_evidence ev = {&b, "UpToDate", NULL, 0, 0, 0};
    CHECK(initra_secret_policy_check(sp, "db_key", &ev, &why) == 0, "app may read db_key");
    CHECK(initra_secret_policy_check(sp, "admin_key", &ev, &why) != 0 && strstr(why.msg, "closest entry \"other\""),
          "app may not read admin_key: %s", why.msg);
    CHECK(initra_secret_policy_check(sp, "nope", &ev, &why) != 0 && strstr(why.msg, "has no rule"),
          "secret without a rule readable by no one: %s", why.msg);
    initra_secret_policy_free(sp);
    j = json_loads("{\"identities\":{\"app\":{\"mr_enclave\":\"" MRE "\"}},\"secrets\":{\"k\":[\"ghost\"]}}", 0, NULL);
    sp = policy_secret_from_json(j, "policy.json", &err);
    json_decref(j);
    CHECK(sp == NULL && strstr(err.msg, "secrets.k[0]: \"ghost\" is not the name of an identity"),
          "unknown identity in a rule refused: %s", sp ? "(accepted)" : err.msg);
    initra_secret_policy_free(sp);
}

/* min_tcb_evaluation_data_number: collateral older than the entry's TCB recovery is refused, whatever
 * its dates say (a host replaying old collateral with the clock set back). */
static void min_tcb_eval(void)
{
    initra_err err, why;
    json_t *j = json_loads("[{\"mr_enclave\":\"" MRE "\",\"min_tcb_evaluation_data_number\":17}]", 0, NULL);
    initra_policy *p = initra_policy_from_json(j, "policy.json", &err);
    json_decref(j);
    CHECK(p != NULL, "min_tcb_evaluation_data_number loads: %s", p ? "" : err.msg);
    if (!p) return;
    initra_sgx_report_body b = body();
    initra_evidence ev = {&b, "UpToDate", NULL, 0, 0, 17};
    CHECK(initra_policy_check(p, &ev, &why) == 0, "collateral of evaluation 17 accepted: %s", why.msg);
    ev.tcb_eval_data_number = 18;
    CHECK(initra_policy_check(p, &ev, &why) == 0, "newer collateral (18) accepted: %s", why.msg);
    ev.tcb_eval_data_number = 16;
    CHECK(initra_policy_check(p, &ev, &why) != 0 &&
              strstr(why.msg, "tcbEvaluationDataNumber is 16, below the entry's min_tcb_evaluation_data_number 17"),
          "old collateral (16) refused: %s", why.msg);
    initra_policy_free(p);
    const char *bad[] = {"-1", "\"17\"", "4294967296", "1.5"};
    for (size_t i = 0; i < 4; i++) {
        char text[300];
        snprintf(text, sizeof text, "[{\"mr_enclave\":\"" MRE "\",\"min_tcb_evaluation_data_number\":%s}]", bad[i]);
        j = json_loads(text, JSON_DECODE_ANY, NULL);
        p = initra_policy_from_json(j, "policy.json", &err);
        json_decref(j);
        CHECK(p == NULL && strstr(err.msg, "min_tcb_evaluation_data_number") && strstr(err.msg, "is not an integer"),
              "min_tcb_evaluation_data_number %s refused: %s", bad[i], p ? "(accepted)" : err.msg);
        initra_policy_free(p);
    }
}

static initra_policy *pol_opts(const char *text, int accept_any, const char *peer, initra_err *err)
{
    json_t *j = json_loads(text, 0, NULL);
    initra_policy_opts o = {.accept_any_enclave = accept_any, .peer = peer};
    initra_policy *p = initra_policy_from_json_opts(j, "init_ra_conf.json: ra_config", &o, err);
    json_decref(j);
    return p;
}

#define OCC(enc, sig, dbg, mre, mrs, debuggable)                                                                  \
    "{\"verify_mr_enclave\":\"" enc "\",\"verify_mr_signer\":\"" sig "\",\"verify_isv_prod_id\":\"off\","     \
    "\"verify_isv_svn\":\"off\",\"verify_config_svn\":\"off\",\"verify_enclave_debuggable\":\"" dbg "\","    \
    "\"sgx_mrs\":[{\"mr_enclave\":\"" mre "\",\"mr_signer\":\"" mrs "\",\"isv_prod_id\":0,\"isv_svn\":0,"  \
    "\"config_svn\":0,\"debuggable\":" debuggable "}]}"

/* Policies that pin nothing are refused unless the measured configuration opts out; debug enclaves only
 * by explicit choice. */
static void pinning(void)
{
    initra_err err, why;
    /* The seed's GRPC-RATLS template: every verify_* "off". */
    const char *tmpl = OCC("off", "off", "off", "", "", "true");
    initra_policy *p = pol_opts(tmpl, 0, "the KMS", &err);
    CHECK(p == NULL && strstr(err.msg, "init_ra_conf.json: ra_config: pins nothing: verify_mr_enclave and "
                                       "verify_mr_signer are both \"off\"") &&
              strstr(err.msg, "set verify_mr_enclave \"on\" and sgx_mrs[].mr_enclave to the KMS's MRENCLAVE "
                              "(`initra print mrenclave DIR`)") &&
              strstr(err.msg, "accept_any_enclave"),
          "all-off Occlum policy refused, naming what to set: %s", p ? "(accepted)" : err.msg);
    initra_policy_free(p);
    p = pol(tmpl, &err);
    CHECK(p == NULL && strstr(err.msg, "pins nothing") && strstr(err.msg, "the enclave's MRENCLAVE"),
          "refused by the plain loader too: %s", p ? "(accepted)" : err.msg);
    initra_policy_free(p);
    p = pol(OCC("off", "off", "off", MRE, MRS, "false"), &err);
    CHECK(p == NULL && strstr(err.msg, "pins nothing"), "values without their switch pin nothing: %s",
          p ? "(accepted)" : err.msg);
    initra_policy_free(p);
    /* verify_isv_prod_id alone does not pin either */
    const char *prod = "{\"verify_mr_enclave\":\"off\",\"verify_mr_signer\":\"off\",\"verify_isv_prod_id\":\"on\","
                       "\"verify_isv_svn\":\"on\",\"verify_config_svn\":\"on\",\"verify_enclave_debuggable\":\"on\","
                       "\"sgx_mrs\":[{\"mr_enclave\":\"\",\"mr_signer\":\"\",\"isv_prod_id\":7,\"isv_svn\":3,"
                       "\"config_svn\":0,\"debuggable\":false}]}";
    p = pol(prod, &err);
    CHECK(p == NULL && strstr(err.msg, "pins nothing"), "prod id, svn and debug switches do not pin: %s",
          p ? "(accepted)" : err.msg);
    initra_policy_free(p);
    /* the opt-out: loads, says so, accepts any non-debug enclave */
    p = pol_opts(tmpl, 1, "the KMS", &err);
    CHECK(p != NULL && initra_policy_warning(p) &&
              strstr(initra_policy_warning(p), "warning: init_ra_conf.json: ra_config pins neither mr_enclave nor "
                                               "mr_signer (accept_any_enclave is set)"),
          "accept_any_enclave: the template loads with a warning: %s", p ? initra_policy_warning(p) : err.msg);
    initra_sgx_report_body b = body();
    if (p) {
        CHECK(accepts(p, &b, "UpToDate", &why), "accept_any_enclave: any genuine enclave accepted: %s", why.msg);
        b.attributes.flags |= INITRA_ATTR_DEBUG;
        CHECK(!accepts(p, &b, "UpToDate", &why) && strstr(why.msg, "is a debug enclave") &&
                  strstr(why.msg, "verify_enclave_debuggable \"on\" with debuggable true"),
              "accept_any_enclave still refuses debug enclaves: %s", why.msg);
        b = body();
    }
    initra_policy_free(p);
    p = pol_opts(OCC("on", "off", "off", MRE, "", "true"), 0, "the KMS", &err);
    CHECK(p != NULL && initra_policy_warning(p) == NULL, "a pinned policy has no warning");
    initra_policy_free(p);

    /* Occlum format and debug enclaves */
    b.attributes.flags |= INITRA_ATTR_DEBUG;
    p = pol(OCC("on", "off", "off", MRE, "", "true"), &err);
    CHECK(p && !accepts(p, &b, "UpToDate", &why) &&
              strstr(why.msg, "the enclave is a debug enclave (its memory is readable by the host)"),
          "verify_enclave_debuggable \"off\": a debug enclave is refused although debuggable is true: %s", why.msg);
    initra_policy_free(p);
    p = pol(OCC("on", "off", "on", MRE, "", "true"), &err);
    CHECK(p && accepts(p, &b, "UpToDate", &why), "verify_enclave_debuggable \"on\" with debuggable true accepts a "
                                                  "debug enclave: %s", why.msg);
    initra_policy_free(p);
    p = pol(OCC("on", "off", "on", MRE, "", "false"), &err);
    CHECK(p && !accepts(p, &b, "UpToDate", &why) && strstr(why.msg, "the entry requires debuggable false"),
          "verify_enclave_debuggable \"on\" with debuggable false refuses it: %s", why.msg);
    initra_policy_free(p);
    b = body();
    p = pol(OCC("on", "off", "off", MRE, "", "true"), &err);
    CHECK(p && accepts(p, &b, "UpToDate", &why), "a production enclave passes with debug checks off: %s", why.msg);
    initra_policy_free(p);

    /* initra format: an entry without mr_enclave / mr_signer; the opt-out */
    p = pol_opts("[{\"isv_prod_id\":7}]", 0, "the client", &err);
    CHECK(p == NULL && strstr(err.msg, "[0]: an allowed identity must name mr_enclave or mr_signer (or both): set "
                                       "mr_enclave to the client's MRENCLAVE"),
          "initra entry without a pin refused: %s", p ? "(accepted)" : err.msg);
    initra_policy_free(p);
    p = pol_opts("[{\"mr_signer\":\"" MRS "\"},{\"isv_prod_id\":7}]", 1, "the client", &err);
    CHECK(p && initra_policy_warning(p) && accepts(p, &b, "UpToDate", &why),
          "accept_any_enclave: an unpinned initra entry loads, warned: %s", p ? why.msg : err.msg);
    b.mr_signer[0] ^= 1;
    CHECK(p && accepts(p, &b, "UpToDate", &why), "accept_any_enclave: the unpinned entry accepts another signer");
    b.attributes.flags |= INITRA_ATTR_DEBUG;
    CHECK(p && !accepts(p, &b, "UpToDate", &why) && strstr(why.msg, "does not set allow_debug"),
          "initra format: debug refused without allow_debug: %s", why.msg);
    initra_policy_free(p);
    p = pol("[{\"mr_signer\":\"" MRS "\",\"allow_debug\":true}]", &err);
    b = body();
    b.attributes.flags |= INITRA_ATTR_DEBUG;
    CHECK(p && accepts(p, &b, "UpToDate", &why), "allow_debug accepts a debug enclave: %s", why.msg);
    initra_policy_free(p);

    /* the KMS's per-secret policy */
    json_t *j = json_loads("{\"identities\":{\"any\":{\"min_isv_svn\":1}},\"secrets\":{\"k\":[\"any\"]}}", 0, NULL);
    initra_secret_policy *sp = policy_secret_from_json(j, "policy.json", &err);
    CHECK(sp == NULL && strstr(err.msg, "policy.json: identities.any: an allowed identity must name mr_enclave or "
                                        "mr_signer"),
          "per-secret identity without a pin refused: %s", sp ? "(accepted)" : err.msg);
    initra_secret_policy_free(sp);
    initra_policy_opts o = {.accept_any_enclave = 1, .peer = "the client"};
    sp = initra_secret_policy_from_json_opts(j, "policy.json", &o, &err);
    b = body();
    initra_evidence ev = {&b, "UpToDate", NULL, 0, 0, 0};
    CHECK(sp && initra_secret_policy_warning(sp) && strstr(initra_secret_policy_warning(sp), "policy.json pins neither") &&
              initra_secret_policy_check(sp, "k", &ev, &why) == 0,
          "accept_any_enclave: per-secret identity without a pin loads, warned, accepts: %s", sp ? why.msg : err.msg);
    initra_secret_policy_free(sp);
    json_decref(j);
}

int main(void)
{
    min_tcb_eval();
    occlum();
    initra_format();
    secrets();
    pinning();
    CHECK_DONE();
}
