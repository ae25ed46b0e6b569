/* The simulated SGX platform, checked with plain OpenSSL calls (not with our DCAP verifier): the quote
 * signature, the QE report signature, the attestation-key binding, the PCK chain against the sim root
 * (with both CRLs), TCB info / QE identity signatures by the TCB signing certificate, the QE report
 * against the QE identity, the TCB level matching; plus first use under concurrency and the refresh of
 * dated collateral. This is the contract with the DCAP verifier (docs/protocols.md#dcap). */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "check.h"
#include "initra/attest.h"
#include "initra/dcap.h"
#include "initra/sim.h"

/* ECDSA P-256 SHA-256 check of a raw r||s signature. */
static int verify_rs(EVP_PKEY *key, const uint8_t *msg, size_t n, const uint8_t rs[64])
{
    ECDSA_SIG *s = ECDSA_SIG_new();
    ECDSA_SIG_set0(s, BN_bin2bn(rs, 32, NULL), BN_bin2bn(rs + 32, 32, NULL));
    unsigned char *der = NULL;
    int dl = i2d_ECDSA_SIG(s, &der);
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    int ok = dl > 0 && EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, key) == 1 &&
             EVP_DigestVerify(md, der, (size_t)dl, msg, n) == 1;
    EVP_MD_CTX_free(md);
    OPENSSL_free(der);
    ECDSA_SIG_free(s);
    return ok;
}

static EVP_PKEY *key_from_xy(const uint8_t xy[64])
{
    uint8_t pt[65] = {0x04};
    memcpy(pt + 1, xy, 64);
    OSSL_PARAM_BLD *b = OSSL_PARAM_BLD_new();
    OSSL_PARAM_BLD_push_utf8_string(b, OSSL_PKEY_PARAM_GROUP_NAME, "prime256v1", 0);
    OSSL_PARAM_BLD_push_octet_string(b, OSSL_PKEY_PARAM_PUB_KEY, pt, sizeof pt);
    OSSL_PARAM *p = OSSL_PARAM_BLD_to_param(b);
    EVP_PKEY_CTX *c = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
    EVP_PKEY *k = NULL;
    if (EVP_PKEY_fromdata_init(c) != 1 || EVP_PKEY_fromdata(c, &k, EVP_PKEY_PUBLIC_KEY, p) != 1) k = NULL;
    EVP_PKEY_CTX_free(c);
    OSSL_PARAM_free(p);
    OSSL_PARAM_BLD_free(b);
    return k;
}

static STACK_OF(X509) *pem_certs(const void *pem, size_t n)
{
    BIO *b = BIO_new_mem_buf(pem, (int)n);
    STACK_OF(X509) *sk = sk_X509_new_null();
    X509 *c;
    while ((c = PEM_read_bio_X509(b, NULL, NULL, NULL))) sk_X509_push(sk, c);
    BIO_free(b);
    return sk;
}

static X509_CRL *crl_hex(json_t *coll, const char *key)
{
    uint8_t *der;
    size_t n;
    if (initra_unhex_alloc(json_string_value(json_object_get(coll, key)), &der, &n)) return NULL;
    const unsigned char *p = der;
    X509_CRL *crl = d2i_X509_CRL(NULL, &p, (long)n);
    free(der);
    return crl;
}

/* X509_verify_cert of leaf with untrusted intermediates against root, optionally with CRLs. */
static int chain_ok(X509 *root, X509 *leaf, STACK_OF(X509) *untrusted, X509_CRL *c1, X509_CRL *c2)
{
    X509_STORE *st = X509_STORE_new();
    X509_STORE_add_cert(st, root);
    if (c1) X509_STORE_add_crl(st, c1);
    if (c2) X509_STORE_add_crl(st, c2);
    if (c1) X509_STORE_set_flags(st, X509_V_FLAG_CRL_CHECK | X509_V_FLAG_CRL_CHECK_ALL);
    X509_STORE_CTX *ctx = X509_STORE_CTX_new();
    X509_STORE_CTX_init(ctx, st, leaf, untrusted);
    int ok = X509_verify_cert(ctx) == 1;
    if (!ok) printf("# X509_verify_cert: %s\n", X509_verify_cert_error_string(X509_STORE_CTX_get_error(ctx)));
    X509_STORE_CTX_free(ctx);
    X509_STORE_free(st);
    return ok;
}

/* Verifies a signed JSON text (tcb_info / qe_identity) of the bundle with the first cert of its chain,
 * and that chain against root. */
static void check_signed(json_t *coll, const char *what, const char *chain_key, X509 *root)
{
    char sigkey[64];
    snprintf(sigkey, sizeof sigkey, "%s_signature", what);
    const char *text = json_string_value(json_object_get(coll, what));
    const char *chain = json_string_value(json_object_get(coll, chain_key));
    uint8_t rs[64];
    CHECK(text && chain && initra_unhex(json_string_value(json_object_get(coll, sigkey)), rs, 64) == 0,
          "%s, its chain and a 64-byte signature are in the bundle", what);
    if (!text || !chain) return;
    STACK_OF(X509) *sk = pem_certs(chain, strlen(chain));
    CHECK(sk_X509_num(sk) == 2, "%s: chain is TCB signing + root", chain_key);
    X509 *signer = sk_X509_value(sk, 0);
    CHECK(signer && verify_rs(X509_get0_pubkey(signer), (const uint8_t *)text, strlen(text), rs),
          "%s signature verifies with the TCB signing certificate", what);
    CHECK(signer && chain_ok(root, signer, NULL, NULL, NULL), "%s: TCB signing certificate chains to the sim root", what);
    CHECK(sk_X509_num(sk) == 2 && X509_cmp(sk_X509_value(sk, 1), root) == 0, "%s: chain ends at the sim root", chain_key);
    sk_X509_pop_free(sk, X509_free);
}

/* Intel's TCB level matching (docs/protocols.md#dcap step 7): the first level the PCK TCB is >= on every component. */
static const char *match_level(json_t *tcb_info, const initra_pck_ext *e, json_t **advisories)
{
    size_t i;
    json_t *lvl;
    json_array_foreach(json_object_get(tcb_info, "tcbLevels"), i, lvl) {
        json_t *tcb = json_object_get(lvl, "tcb"), *comps = json_object_get(tcb, "sgxtcbcomponents");
        int ok = json_array_size(comps) == 16 && json_integer_value(json_object_get(tcb, "pcesvn")) <= e->pce_svn;
        for (size_t k = 0; ok && k < 16; k++)
            ok = json_integer_value(json_object_get(json_array_get(comps, k), "svn")) <= e->comp_svn[k];
        if (ok) {
            *advisories = json_object_get(lvl, "advisoryIDs");
            return json_string_value(json_object_get(lvl, "tcbStatus"));
        }
    }
    return NULL;
}

static json_t *load_json_text(const char *text)
{
    json_error_t je;
    return json_loads(text, 0, &je);
}

static void check_platform(const char *dir, const char *want_status, const char *want_adv)
{
    initra_err err = {{0}};
    initra_sim *sim = initra_sim_open(dir, &err);
    CHECK(sim != NULL, "open %s (%s)", dir, sim ? "" : err.msg);
    if (!sim) return;

    initra_sgx_report_body id;
    memset(&id, 0, sizeof id);
    id.attributes.flags = INITRA_ATTR_INIT | INITRA_ATTR_MODE64BIT | INITRA_ATTR_KSS;
    id.attributes.xfrm = 0xe7;
    memset(id.mr_enclave, 0xab, 32);
    memset(id.config_id, 0x5c, 64);
    id.config_svn = 0x1234;
    id.isv_family_id[0] = 0xfa;
    id.isv_ext_prod_id[15] = 0xe1;
    uint8_t rd[64];
    for (int i = 0; i < 64; i++) rd[i] = (uint8_t)(0x80 + i);
    uint8_t *qb = NULL, *root_der = NULL;
    size_t qn = 0, root_n = 0;
    char *coll_text = NULL;
    CHECK(initra_sim_quote(sim, &id, rd, &qb, &qn, &err) == 0, "sim quote (%s)", err.msg);
    CHECK(initra_sim_root_der(sim, &root_der, &root_n, &err) == 0, "sim root");
    CHECK(initra_sim_collateral(sim, &coll_text, &err) == 0, "sim collateral");
    initra_sim_close(sim);
    if (!qb || !root_der || !coll_text) return;

    initra_quote q;
    CHECK(initra_quote_parse(qb, qn, &q, &err) == 0, "sim quote parses (%s)", err.msg);
    CHECK(q.header.version == 3 && q.header.att_key_type == 2 && q.header.tee_type == 0, "header v3, ECDSA P-256, SGX");
    CHECK(!memcmp(q.header.qe_vendor_id, INITRA_QE_VENDOR_SIM, 16), "qe_vendor_id is the sim vendor id");
    CHECK(!memcmp(q.enclave.report_data, rd, 64) && !memcmp(q.enclave.mr_enclave, id.mr_enclave, 32) &&
              q.enclave.config_svn == 0x1234 && !memcmp(q.enclave.config_id, id.config_id, 64) &&
              q.enclave.isv_family_id[0] == 0xfa && q.enclave.isv_ext_prod_id[15] == 0xe1 &&
              q.enclave.attributes.flags == id.attributes.flags,
          "report body carries the identity and report_data");
    CHECK(q.cert_type == 5, "certification data type 5");

    /* quote signature over header || body by the attestation key */
    EVP_PKEY *ak = key_from_xy(q.attest_key);
    CHECK(ak && q.signed_len == 432 && verify_rs(ak, qb, 432, q.signature), "quote signature verifies with attest_key");
    uint8_t tampered[432];
    memcpy(tampered, qb, 432);
    tampered[120] ^= 1;
    CHECK(ak && !verify_rs(ak, tampered, 432, q.signature), "a flipped body bit fails the quote signature");
    EVP_PKEY_free(ak);

    /* attestation-key binding */
    uint8_t bind[64 + 256], h[32];
    memcpy(bind, q.attest_key, 64);
    memcpy(bind + 64, q.qe_auth_data, q.qe_auth_size);
    EVP_Digest(bind, 64 + (size_t)q.qe_auth_size, h, NULL, EVP_sha256(), NULL);
    static const uint8_t zero[32];
    CHECK(q.qe_auth_size == 32 && !memcmp(q.qe_report.report_data, h, 32) && !memcmp(q.qe_report.report_data + 32, zero, 32),
          "QE report_data = SHA-256(attest_key || qe_auth_data) || 32 zero bytes");

    /* PCK chain */
    STACK_OF(X509) *chain = pem_certs(q.cert_data, q.cert_size);
    const unsigned char *p = root_der;
    X509 *root = d2i_X509(NULL, &p, (long)root_n);
    CHECK(sk_X509_num(chain) == 3 && root, "certification data holds 3 PEM certificates; root DER parses");
    if (sk_X509_num(chain) != 3 || !root) return;
    X509 *leaf = sk_X509_value(chain, 0), *inter = sk_X509_value(chain, 1);
    CHECK(X509_cmp(sk_X509_value(chain, 2), root) == 0, "chain ends at the sim root");
    CHECK(verify_rs(X509_get0_pubkey(leaf), q.qe_report_raw, 384, q.qe_report_sig), "QE report signature verifies with the PCK leaf key");
    STACK_OF(X509) *untrusted = sk_X509_new_null();
    sk_X509_push(untrusted, inter);
    CHECK(chain_ok(root, leaf, untrusted, NULL, NULL), "PCK leaf + Processor CA verify against the sim root");

    json_t *coll = load_json_text(coll_text);
    CHECK(coll != NULL, "collateral bundle is JSON");
    const char *keys[] = {"pck_crl_issuer_chain", "root_ca_crl", "pck_crl", "tcb_info_issuer_chain", "tcb_info",
                          "tcb_info_signature", "qe_identity_issuer_chain", "qe_identity", "qe_identity_signature"};
    size_t nk = 0;
    for (size_t i = 0; i < 9; i++) nk += json_is_string(json_object_get(coll, keys[i]));
    CHECK(nk == 9 && json_object_size(coll) == 9, "bundle has exactly the vectors' 9 keys");
    X509_CRL *rcrl = crl_hex(coll, "root_ca_crl"), *pcrl = crl_hex(coll, "pck_crl");
    CHECK(rcrl && pcrl, "both CRLs are DER");
    CHECK(rcrl && pcrl && chain_ok(root, leaf, untrusted, rcrl, pcrl), "PCK chain verifies with CRL checks on both levels");
    CHECK(pcrl && X509_NAME_cmp(X509_CRL_get_issuer(pcrl), X509_get_issuer_name(leaf)) == 0, "PCK CRL issuer == PCK leaf issuer");
    CHECK(pcrl && X509_CRL_verify(pcrl, X509_get0_pubkey(inter)) == 1 && rcrl && X509_CRL_verify(rcrl, X509_get0_pubkey(root)) == 1,
          "CRL signatures verify");
    time_t now = time(NULL);
    CHECK(pcrl && X509_cmp_time(X509_CRL_get0_lastUpdate(pcrl), &now) <= 0 && X509_cmp_time(X509_CRL_get0_nextUpdate(pcrl), &now) > 0,
          "PCK CRL is current");
    const char *pcic = json_string_value(json_object_get(coll, "pck_crl_issuer_chain"));
    STACK_OF(X509) *pc = pcic ? pem_certs(pcic, strlen(pcic)) : NULL;
    CHECK(pc && sk_X509_num(pc) == 2 && X509_cmp(sk_X509_value(pc, 0), inter) == 0, "pck_crl_issuer_chain = Processor CA + root");
    sk_X509_pop_free(pc, X509_free);
    X509_CRL_free(rcrl);
    X509_CRL_free(pcrl);

    check_signed(coll, "tcb_info", "tcb_info_issuer_chain", root);
    check_signed(coll, "qe_identity", "qe_identity_issuer_chain", root);

    /* TCB info against the PCK certificate */
    initra_pck_ext e;
    CHECK(initra_pck_ext_from_cert(leaf, &e, &err) == 0, "PCK leaf SGX extension parses");
    json_t *ti = load_json_text(json_string_value(json_object_get(coll, "tcb_info")));
    char fm[13];
    CHECK(ti && !strcmp(json_string_value(json_object_get(ti, "fmspc")), initra_hex_upper(e.fmspc, 6, fm)) &&
              !strcmp(json_string_value(json_object_get(ti, "pceId")), "0000") && e.pce_id[0] == 0 && e.pce_id[1] == 0,
          "TCB info fmspc %s and pceId equal the PCK extension's", fm);
    CHECK(ti && json_integer_value(json_object_get(ti, "version")) == 3 && !strcmp(json_string_value(json_object_get(ti, "id")), "SGX"),
          "TCB info v3, id SGX");
    CHECK(!memcmp(q.enclave.cpu_svn, e.cpu_svn, 16) && q.header.pce_svn == e.pce_svn, "quote cpu_svn and pce_svn are the platform's");
    json_t *adv = NULL;
    const char *st = ti ? match_level(ti, &e, &adv) : NULL;
    CHECK(st && !strcmp(st, want_status), "TCB level matched: %s (want %s)", st ? st : "none", want_status);
    char advs[256] = "";
    size_t i;
    json_t *a;
    json_array_foreach(adv, i, a) snprintf(advs + strlen(advs), sizeof advs - strlen(advs), "%s%s", i ? "," : "", json_string_value(a));
    CHECK(!strcmp(advs, want_adv), "advisories '%s' (want '%s')", advs, want_adv);
    if (strcmp(want_status, "UpToDate"))
        CHECK(json_array_size(json_object_get(ti, "tcbLevels")) == 2 &&
                  !strcmp(json_string_value(json_object_get(json_array_get(json_object_get(ti, "tcbLevels"), 0), "tcbStatus")), "UpToDate"),
              "a higher UpToDate level comes first");

    /* QE identity against the QE report */
    json_t *qi = load_json_text(json_string_value(json_object_get(coll, "qe_identity")));
    uint8_t ms[4], msm[4], at[16], atm[16], mrs[32], qattr[16];
    int ok = qi && !initra_unhex(json_string_value(json_object_get(qi, "miscselect")), ms, 4) &&
             !initra_unhex(json_string_value(json_object_get(qi, "miscselectMask")), msm, 4) &&
             !initra_unhex(json_string_value(json_object_get(qi, "attributes")), at, 16) &&
             !initra_unhex(json_string_value(json_object_get(qi, "attributesMask")), atm, 16) &&
             !initra_unhex(json_string_value(json_object_get(qi, "mrsigner")), mrs, 32);
    CHECK(ok, "QE identity fields decode");
    if (ok) {
        uint32_t misc = (uint32_t)ms[0] | (uint32_t)ms[1] << 8 | (uint32_t)ms[2] << 16 | (uint32_t)ms[3] << 24;
        uint32_t mask = (uint32_t)msm[0] | (uint32_t)msm[1] << 8 | (uint32_t)msm[2] << 16 | (uint32_t)msm[3] << 24;
        memcpy(qattr, q.qe_report_raw + 48, 16);
        int attr_ok = 1;
        for (int k = 0; k < 16; k++) attr_ok &= (qattr[k] & atm[k]) == at[k];
        CHECK((q.qe_report.misc_select & mask) == misc && attr_ok, "QE report miscselect/attributes match under the masks");
        CHECK(!memcmp(q.qe_report.mr_signer, mrs, 32) &&
                  json_integer_value(json_object_get(qi, "isvprodid")) == q.qe_report.isv_prod_id,
              "QE report mrsigner and isvprodid equal the QE identity's");
        json_t *l0 = json_array_get(json_object_get(qi, "tcbLevels"), 0);
        CHECK(json_integer_value(json_object_get(json_object_get(l0, "tcb"), "isvsvn")) <= q.qe_report.isv_svn &&
                  !strcmp(json_string_value(json_object_get(l0, "tcbStatus")), "UpToDate") && q.qe_report.isv_svn == q.header.qe_svn,
              "QE isvsvn %u is UpToDate and equals the header's qe_svn", q.qe_report.isv_svn);
    }
    json_decref(qi);
    json_decref(ti);
    json_decref(coll);
    sk_X509_free(untrusted);
    sk_X509_pop_free(chain, X509_free);
    X509_free(root);
    free(qb);
    free(root_der);
    free(coll_text);
}

static int root_of(const char *dir, uint8_t **der, size_t *n)
{
    initra_err err;
    initra_sim *sim = initra_sim_open(dir, &err);
    int rc = sim ? initra_sim_root_der(sim, der, n, &err) : -1;
    if (!sim) printf("# %s\n", err.msg);
    initra_sim_close(sim);
    return rc;
}

static json_t *state_of(const char *dir)
{
    char path[600];
    json_error_t je;
    snprintf(path, sizeof path, "%s/platform.json", dir);
    return json_load_file(path, 0, &je);
}

int main(void)
{
    char base[] = "/tmp/initra-test-sim.XXXXXX", dir[512], path[600];
    if (!mkdtemp(base)) return 1;
    snprintf(dir, sizeof dir, "%s/a/b/sim", base);
    initra_err err = {{0}};
    struct stat st;

    /* first use creates the platform: directory 0700, keys 0600 */
    check_platform(dir, "UpToDate", "");
    CHECK(stat(dir, &st) == 0 && (st.st_mode & 0777) == 0700, "platform directory is mode 0700");
    const char *keys[] = {"root.key", "pck_ca.key", "pck.key", "tcb_signing.key", "attest.key"};
    int modes_ok = 1;
    for (int i = 0; i < 5; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, keys[i]);
        modes_ok &= stat(path, &st) == 0 && (st.st_mode & 0777) == 0600;
    }
    CHECK(modes_ok, "every private key file is mode 0600");

    /* reopening keeps the keys; a refresh keeps them and re-issues the dated collateral */
    uint8_t *r1 = NULL, *r2 = NULL;
    size_t n1 = 0, n2 = 0;
    CHECK(root_of(dir, &r1, &n1) == 0 && root_of(dir, &r2, &n2) == 0 && n1 == n2 && !memcmp(r1, r2, n1), "reopen: same root");
    free(r2);
    json_t *s = state_of(dir);
    long crl0 = (long)json_integer_value(json_object_get(s, "crl_number"));
    time_t now = time(NULL);
    json_object_set_new(s, "issued", json_integer((json_int_t)(now - 27 * 86400L)));
    json_object_set_new(s, "next_update", json_integer((json_int_t)(now + 3 * 86400L)));
    snprintf(path, sizeof path, "%s/platform.json", dir);
    json_dump_file(s, path, 0);
    json_decref(s);
    CHECK(root_of(dir, &r2, &n2) == 0 && n1 == n2 && !memcmp(r1, r2, n1), "refresh: same root");
    free(r2);
    s = state_of(dir);
    CHECK(json_integer_value(json_object_get(s, "crl_number")) == crl0 + 1 &&
              json_integer_value(json_object_get(s, "next_update")) >= (json_int_t)(now + 29 * 86400L),
          "collateral 3 days from expiry is re-issued for 30 days (CRL number %ld -> %ld)", crl0,
          (long)json_integer_value(json_object_get(s, "crl_number")));
    json_decref(s);
    check_platform(dir, "UpToDate", "");

    /* rebuild with a chosen TCB status */
    initra_sim_init_opts o = {.tcb_status = "OutOfDate", .advisories = "INTEL-SA-00615,INTEL-SA-00828"};
    CHECK(initra_sim_init(dir, &o, &err) == 0, "sim init OutOfDate (%s)", err.msg);
    CHECK(root_of(dir, &r2, &n2) == 0 && (n1 != n2 || memcmp(r1, r2, n1)), "sim init rebuilds with a new root");
    free(r2);
    check_platform(dir, "OutOfDate", "INTEL-SA-00615,INTEL-SA-00828");
    initra_sim_init_opts o2 = {.tcb_status = "SWHardeningNeeded", .advisories = "INTEL-SA-00615"};
    CHECK(initra_sim_init(dir, &o2, &err) == 0, "sim init SWHardeningNeeded");
    check_platform(dir, "SWHardeningNeeded", "INTEL-SA-00615");
    free(r1);

    initra_sim_init_opts bad = {.tcb_status = "Bogus"};
    CHECK(initra_sim_init(dir, &bad, &err) == -1 && strstr(err.msg, "'Bogus'") && strstr(err.msg, "OutOfDateConfigurationNeeded"),
          "unknown status: %s", err.msg);
    initra_sim_init_opts bad2 = {.advisories = "INTEL-SA-1,,X"};
    CHECK(initra_sim_check_opts(&bad2, &err) == -1 && strstr(err.msg, "advisory"), "empty advisory ID: %s", err.msg);
    initra_sim_init_opts bad3 = {.advisories = "A\"B"};
    CHECK(initra_sim_check_opts(&bad3, &err) == -1, "advisory with a quote: %s", err.msg);

    /* concurrent first use: one platform, every process sees the same root */
    snprintf(dir, sizeof dir, "%s/concurrent", base);
    enum { N = 6 };
    for (int i = 0; i < N; i++) {
        if (fork() == 0) {
            uint8_t *d;
            size_t n;
            char out[600];
            snprintf(out, sizeof out, "%s/root.%d", base, i);
            _exit(root_of(dir, &d, &n) == 0 && initra_write_file_atomic(out, d, n, 0600, NULL) == 0 ? 0 : 1);
        }
    }
    int all_ok = 1, status;
    while (wait(&status) > 0) all_ok &= WIFEXITED(status) && WEXITSTATUS(status) == 0;
    CHECK(all_ok, "%d processes opened a fresh platform at once", N);
    uint8_t *first = NULL;
    size_t fn = 0;
    int same = 1;
    for (int i = 0; i < N; i++) {
        uint8_t *d;
        size_t n;
        snprintf(path, sizeof path, "%s/root.%d", base, i);
        if (initra_read_file(path, 1 << 16, &d, &n, &err)) {
            same = 0;
            continue;
        }
        if (!first) first = d, fn = n;
        else same &= n == fn && !memcmp(d, first, n), free(d);
    }
    free(first);
    CHECK(same, "they all got the same root");

    char cmd[700];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", base);
    if (system(cmd) != 0) printf("# could not remove %s\n", base);
    CHECK_DONE();
}
