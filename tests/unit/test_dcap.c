/* dcap library: the built-in root equals Intel's file, vectors through the API (twice: the second time
 * from the in-memory caches), status convergence, TCB info v2 parsing, collateral parse errors. */
#include <string.h>

#include "check.h"
#include "dcap/internal.h"

static char *slurp(const char *name, const char *file, size_t *n)
{
    char path[512];
    uint8_t *buf;
    initra_err err;
    snprintf(path, sizeof path, "%s/%s/%s", vectors_dir(), name, file);
    if (initra_read_file(path, 16u << 20, &buf, n, &err)) {
        CHECK(0, "%s", err.msg);
        return NULL;
    }
    return (char *)buf;
}

static void vector(initra_dcap *d, const char *name, time_t at, int verified, const char *status, const char *adv)
{
    size_t qn, cn;
    char *q = slurp(name, "quote.bin", &qn), *cb = slurp(name, "collateral.json", &cn);
    initra_err err;
    if (!q || !cb) goto out;
    initra_collateral *c = initra_dcap_collateral(d, cb, cn, &err);
    CHECK(c != NULL, "%s: collateral parses", name);
    if (!c) goto out;
    for (int round = 0; round < 2; round++) {
        initra_dcap_result r;
        int rc = initra_dcap_verify(d, (const uint8_t *)q, qn, c, at, 0, &r);
        char advs[1024] = "";
        for (size_t i = 0; i < r.n_advisories; i++) {
            strcat(advs, i ? "," : "");
            strcat(advs, r.advisories[i]);
        }
        CHECK(rc == (verified ? 0 : -1) && r.verified == verified && !strcmp(initra_tcb_status_name(r.status), status) &&
                  !strcmp(advs, adv) && !strcmp(r.root, "intel"),
              "%s round %d: %s %s [%s] %s", name, round, r.verified ? "verified" : "not verified",
              initra_tcb_status_name(r.status), advs, r.error);
    }
    initra_collateral *again = initra_dcap_collateral(d, cb, cn, &err);
    CHECK(again == c, "%s: the same bundle text is served from the in-memory cache", name);
    initra_collateral_release(again);
    /* the collateral source over the same bundle file: the cached collateral, the text unchanged */
    char path[512];
    snprintf(path, sizeof path, "%s/%s/collateral.json", vectors_dir(), name);
    initra_collateral_src *src = initra_collateral_src_open(d, &(initra_collateral_src_opts){.file = path}, &err);
    initra_collateral *viasrc = src ? initra_dcap_collateral_for(src, (const uint8_t *)q, qn, at, &err) : NULL;
    char *text = NULL;
    CHECK(viasrc == c && initra_dcap_collateral_text_for(src, (const uint8_t *)q, qn, &text, &err) == 0 &&
              strlen(text) == cn && !memcmp(text, cb, cn),
          "%s: the collateral source (bundle file) gives the same collateral and text", name);
    free(text);
    if (viasrc) initra_collateral_release(viasrc);
    initra_collateral_src_free(src);
    initra_collateral_release(c);
out:
    free(q);
    free(cb);
}

/* Intel's QCNL configuration in both formats, as Intel's QCNL reads it. */
static void qcnl(void)
{
    initra_qcnl q;
    initra_err err;
    const char *js = "{\n  // comment\n  \"pccs_url\": \"https://p:8081/sgx/certification/v4/\" /* c */\n"
                     "  ,\"use_secure_cert\": false\n  ,\"collateral_service\": \"https://c/sgx/certification/v4/\"\n"
                     "  ,\"pccs_api_version\": \"3.1\"\n}\n";
    CHECK(dcap_qcnl_parse(js, strlen(js), "a.conf", &q, &err) == 0 && !q.legacy &&
              !strcmp(q.pccs_url, "https://p:8081/sgx/certification/v4/") && !q.use_secure_cert &&
              !strcmp(q.collateral_service, "https://c/sgx/certification/v4/") && !strcmp(q.pccs_api_version, "3.1"),
          "QCNL JSON with comments: all four keys");
    const char *wrong = "{\"pccs_url\": \"https://p/\", \"use_secure_cert\": \"false\", \"collateral_service\": 1}";
    CHECK(dcap_qcnl_parse(wrong, strlen(wrong), "a.conf", &q, &err) == 0 && q.use_secure_cert && !q.collateral_service[0],
          "QCNL JSON: values of the wrong type are ignored as by Intel's QCNL (TLS verification stays on)");
    const char *old = "# PCCS server address\nPCCS_URL = https://p:8081/sgx/certification/v3/ \r\n"
                      "USE_SECURE_CERT=false\n#COLLATERAL_SERVICE=https://x/\nPCCS_API_VERSION=3.0\n";
    CHECK(dcap_qcnl_parse(old, strlen(old), "b.conf", &q, &err) == 0 && q.legacy &&
              !strcmp(q.pccs_url, "https://p:8081/sgx/certification/v3/") && !q.use_secure_cert &&
              !q.collateral_service[0] && !strcmp(q.pccs_api_version, "3.0"),
          "QCNL KEY=value: whitespace removed, '#' lines skipped, the // of https:// kept");
    const char *lower = "pccs_url=https://p/\nUSE_SECURE_CERT=False\n";
    CHECK(dcap_qcnl_parse(lower, strlen(lower), "c.conf", &q, &err) != 0 && strstr(err.msg, "c.conf: no PCCS_URL"),
          "QCNL KEY=value names are case-sensitive: %s", err.msg);
    const char *broken = "{ \"pccs_url\": \"https://p/\",";
    CHECK(dcap_qcnl_parse(broken, strlen(broken), "d.conf", &q, &err) != 0 && strstr(err.msg, "d.conf: not valid JSON"),
          "QCNL text starting with '{' that is not JSON: %s", err.msg);
    CHECK(dcap_qcnl_parse("a\0b", 3, "e.conf", &q, &err) != 0 && strstr(err.msg, "NUL"), "QCNL with a NUL byte: %s", err.msg);
}

int main(void)
{
    initra_err err;
    initra_dcap *d = initra_dcap_new(&err);
    CHECK(d != NULL, "context");
    if (vectors_dir()) { /* the real-quote vectors, when present */
        size_t n = 0;
        char *root = slurp(".", "IntelSGXRootCA.der", &n);
        CHECK(root && n == INITRA_INTEL_SGX_ROOT_CA_DER_LEN && !memcmp(root, INITRA_INTEL_SGX_ROOT_CA_DER, n),
              "built-in Intel SGX Root CA equals IntelSGXRootCA.der (%zu bytes)", n);
        free(root);
        vector(d, "sgx-phala-2025", 1751624924, 1, "ConfigurationAndSWHardeningNeeded", "INTEL-SA-00289,INTEL-SA-00615");
        vector(d, "sgx-automata-v3", 1755236700, 1, "SWHardeningNeeded", "INTEL-SA-00615");
        vector(d, "tdx-automata-v4", 1753175614, 1, "OutOfDate", "INTEL-SA-00960,INTEL-SA-00982,INTEL-SA-00986");
        vector(d, "tdx-go-spr-e4", 1688173200, 0, "TcbNotSupported", "");
    }

    /* status convergence, docs/protocols.md#dcap step 8 */
    CHECK(dcap_status_converge(INITRA_TCB_UP_TO_DATE, INITRA_TCB_OUT_OF_DATE) == INITRA_TCB_OUT_OF_DATE, "UpToDate + QE OutOfDate");
    CHECK(dcap_status_converge(INITRA_TCB_SW_HARDENING_NEEDED, INITRA_TCB_OUT_OF_DATE) == INITRA_TCB_OUT_OF_DATE, "SWHardening + QE OutOfDate");
    CHECK(dcap_status_converge(INITRA_TCB_CONFIGURATION_NEEDED, INITRA_TCB_OUT_OF_DATE) == INITRA_TCB_OUT_OF_DATE_CONFIGURATION_NEEDED,
          "ConfigurationNeeded + QE OutOfDate");
    CHECK(dcap_status_converge(INITRA_TCB_CONFIGURATION_AND_SW_HARDENING_NEEDED, INITRA_TCB_OUT_OF_DATE) ==
              INITRA_TCB_OUT_OF_DATE_CONFIGURATION_NEEDED, "ConfigurationAndSWHardeningNeeded + QE OutOfDate");
    CHECK(dcap_status_converge(INITRA_TCB_UP_TO_DATE, INITRA_TCB_REVOKED) == INITRA_TCB_REVOKED, "QE Revoked");
    CHECK(dcap_status_converge(INITRA_TCB_CONFIGURATION_NEEDED, INITRA_TCB_UP_TO_DATE) == INITRA_TCB_CONFIGURATION_NEEDED, "QE UpToDate");
    CHECK(dcap_status_converge(INITRA_TCB_OUT_OF_DATE, INITRA_TCB_OUT_OF_DATE) == INITRA_TCB_OUT_OF_DATE, "both OutOfDate");

    /* TCB info v2: flat component keys */
    char v2[2048] = "{\"version\":2,\"issueDate\":\"2019-05-01T00:00:00Z\",\"nextUpdate\":\"2019-06-01T00:00:00Z\","
                    "\"fmspc\":\"00906EA10000\",\"pceId\":\"0000\",\"tcbType\":0,\"tcbEvaluationDataNumber\":5,"
                    "\"tcbLevels\":[{\"tcb\":{";
    for (int i = 1; i <= 16; i++) sprintf(v2 + strlen(v2), "\"sgxtcbcomp%02dsvn\":%d,", i, i);
    strcat(v2, "\"pcesvn\":7},\"tcbDate\":\"2019-01-01T00:00:00Z\",\"tcbStatus\":\"OutOfDate\",\"advisoryIDs\":[\"INTEL-SA-00001\"]}]}");
    initra_tcb_info *t = dcap_tcb_info_parse(v2, strlen(v2), &err);
    CHECK(t && !strcmp(t->id, "SGX") && t->version == 2 && t->n_levels == 1 && t->levels[0].sgx[15] == 16 &&
              t->levels[0].pcesvn == 7 && t->levels[0].status == INITRA_TCB_OUT_OF_DATE && t->levels[0].adv.n == 1,
          "TCB info v2 with flat sgxtcbcompNNsvn keys parses (%s)", t ? "" : err.msg);
    dcap_tcb_info_free(t);
    char *bad = strstr(v2, "\"sgxtcbcomp07svn\"");
    bad[11] = 'X';
    t = dcap_tcb_info_parse(v2, strlen(v2), &err);
    CHECK(!t && strstr(err.msg, "sgxtcbcomp07svn"), "missing v2 component named: %s", err.msg);
    dcap_tcb_info_free(t);
    const char *qe = "{\"id\":\"QE\",\"version\":2,\"issueDate\":\"2025-06-19T10:01:18Z\",\"nextUpdate\":\"bad\"}";
    initra_qe_identity *qi = dcap_qe_identity_parse(qe, strlen(qe), &err);
    CHECK(!qi && strstr(err.msg, "nextUpdate"), "QE identity bad date named: %s", err.msg);
    time_t tt;
    CHECK(dcap_parse_date("2025-06-19T10:01:18Z", &tt) == 0 && tt == 1750327278, "date parse");
    CHECK(dcap_parse_date("2025-06-19 10:01:18Z", &tt) != 0 && dcap_parse_date("2025-06-19T10:01:18", &tt) != 0, "bad dates refused");
    /* PCCS bodies: the exact text of the top-level member, whatever else holds the same key */
    const char *body = "{\"x\": {\"tcbInfo\": {\"a\": 1}}, \"n\": 12.5e1,\n \"tcbInfo\" :  {\"b\": [2, \"}\"]} ,\"signature\":\"00ff\"}";
    char *text, *sig;
    size_t tl;
    CHECK(initra_dcap_signed_body(body, strlen(body), "tcbInfo", &text, &tl, &sig, &err) == 0 &&
              !strcmp(text, "{\"b\": [2, \"}\"]}") && tl == strlen(text) && !strcmp(sig, "00ff"),
          "signed body: the top-level member's exact text and the signature (%s)", text ? text : err.msg);
    free(text);
    free(sig);
    const char *dup = "{\"tcbInfo\":{},\"tcbInfo\":{\"a\":1},\"signature\":\"00\"}";
    CHECK(initra_dcap_signed_body(dup, strlen(dup), "tcbInfo", &text, &tl, &sig, &err) != 0 && strstr(err.msg, "duplicate"),
          "signed body with tcbInfo twice refused: %s", err.msg);
    const char *nosig = "{\"tcbInfo\":{}}";
    CHECK(initra_dcap_signed_body(nosig, strlen(nosig), "tcbInfo", &text, &tl, &sig, &err) != 0 && strstr(err.msg, "not a PCCS body"),
          "signed body without a signature refused: %s", err.msg);
    /* collateral source errors: one line naming what is missing */
    initra_collateral_src *src = initra_collateral_src_open(d, &(initra_collateral_src_opts){.file = "/nonexistent/c.json"}, &err);
    CHECK(!src && strstr(err.msg, "/nonexistent/c.json"), "collateral source: a missing bundle file is named: %s", err.msg);
    src = initra_collateral_src_open(d, &(initra_collateral_src_opts){.data = (const uint8_t *)"[1]", .len = 3}, &err);
    CHECK(!src && strstr(err.msg, "collateral: not a JSON object"), "collateral source: bundle bytes not an object: %s", err.msg);
    src = initra_collateral_src_open(d, &(initra_collateral_src_opts){0}, &err);
    CHECK(!src && strstr(err.msg, "no collateral bundle given, and no PCCS"), "collateral source: neither a bundle nor a PCCS: %s",
          err.msg);
    initra_dcap_free(d);
    qcnl();
    CHECK_DONE();
}
