/* kms admin client: keygen's files; the namespace policy file check; the KMS verified in the handshake
 * before anything is sent (a real gRPC server with a sim RA-TLS certificate, real sockets). */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "check.h"
#include "initra/kms.h"
#include "initra/rpc.h"
#include "initra/sim.h"
#include "kms/internal.h"

static int calls;
static char last_method[128];
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

/* Counts what arrives; answers NOT_FOUND (the Admin service itself is the KMS's, tested end to end). */
static void count_calls(void *ctx, const initra_rpc_request *req, initra_rpc_reply *reply)
{
    pthread_mutex_lock(&lock);
    calls++;
    snprintf(last_method, sizeof last_method, "%s", req->method);
    pthread_mutex_unlock(&lock);
    reply->code = INITRA_RPC_NOT_FOUND;
    snprintf(reply->msg, sizeof reply->msg, "counted");
}

static void put(const char *path, const char *text)
{
    initra_err e;
    initra_write_file_atomic(path, text, strlen(text), 0600, &e);
}

static int mode_of(const char *path)
{
    struct stat st;
    return stat(path, &st) ? -1 : (int)(st.st_mode & 0777);
}

static void keygen_checks(const char *tmp)
{
    initra_err err;
    char prefix[300], kp[310], cp[310], hex[65];
    snprintf(prefix, sizeof prefix, "%s/admin", tmp);
    snprintf(kp, sizeof kp, "%s.key", prefix);
    snprintf(cp, sizeof cp, "%s.crt", prefix);
    CHECK(initra_kms_admin_keygen(prefix, hex, &err) == 0, "keygen: %s", err.msg);
    CHECK(mode_of(kp) == 0600 && mode_of(cp) == 0644, "keygen: key 0600, certificate 0644 (%o, %o)", mode_of(kp),
          mode_of(cp));
    uint8_t *cert = NULL, h[32];
    size_t n;
    char want[65] = "";
    if (initra_read_file(cp, 1 << 16, &cert, &n, &err) == 0 && initra_spki_sha256_pem((char *)cert, h, &err) == 0)
        initra_hex(h, 32, want);
    CHECK(strlen(hex) == 64 && !strcmp(hex, want), "keygen prints the certificate's SPKI SHA-256: %s", hex);
    FILE *f = fopen(cp, "r");
    X509 *x = f ? PEM_read_X509(f, NULL, NULL, NULL) : NULL;
    if (f) fclose(f);
    char cn[64] = "";
    int days = 0, secs = 0;
    if (x) {
        X509_NAME_get_text_by_NID(X509_get_subject_name(x), NID_commonName, cn, sizeof cn);
        ASN1_TIME_diff(&days, &secs, X509_get0_notBefore(x), X509_get0_notAfter(x));
    }
    CHECK(x && !strcmp(cn, "initra admin") && days >= 3652 && days <= 3654 &&
              X509_check_issued(x, x) == X509_V_OK,
          "certificate: self-signed, CN \"%s\", valid %d days", cn, days);
    EVP_PKEY *pk = x ? X509_get0_pubkey(x) : NULL;
    CHECK(pk && EVP_PKEY_is_a(pk, "EC") && EVP_PKEY_get_bits(pk) == 256, "the key is EC P-256");
    X509_free(x);
    free(cert);
    char hex2[65] = "";
    CHECK(initra_kms_admin_keygen(prefix, hex2, &err) != 0 && strstr(err.msg, "admin.key exists") && !hex2[0],
          "keygen never overwrites a key: %s", err.msg);
    char bad[320];
    snprintf(bad, sizeof bad, "%s/no/such/dir/admin", tmp);
    CHECK(initra_kms_admin_keygen(bad, hex2, &err) != 0 && strstr(err.msg, "no/such/dir/admin.crt"),
          "keygen into a missing directory: %s", err.msg);
    unlink(kp);
    unlink(cp);
}

static EVP_PKEY *read_key(const char *path, int public)
{
    FILE *f = fopen(path, "r");
    EVP_PKEY *k = !f ? NULL : public ? PEM_read_PUBKEY(f, NULL, NULL, NULL) : PEM_read_PrivateKey(f, NULL, NULL, NULL);
    if (f) fclose(f);
    return k;
}

static void recovery_keygen_checks(const char *tmp)
{
    static const struct {
        const char *type, *alg;
        int bits;
    } types[] = {{"rsa-3072", "RSA", 3072}, {"x25519", "X25519", 253}};
    initra_err err;
    for (size_t i = 0; i < 2; i++) {
        char prefix[300], kp[310], pp[310];
        snprintf(prefix, sizeof prefix, "%s/rec-%zu", tmp, i);
        snprintf(kp, sizeof kp, "%s.key", prefix);
        snprintf(pp, sizeof pp, "%s.pub", prefix);
        CHECK(initra_kms_admin_recovery_keygen(types[i].type, prefix, &err) == 0, "recovery-keygen %s: %s", types[i].type,
              err.msg);
        EVP_PKEY *k = read_key(kp, 0), *pub = read_key(pp, 1);
        CHECK(k && pub && EVP_PKEY_is_a(k, types[i].alg) && EVP_PKEY_get_bits(k) == types[i].bits &&
                  EVP_PKEY_eq(k, pub) == 1 && mode_of(kp) == 0600 && mode_of(pp) == 0644,
              "%s: PREFIX.key (0600) and PREFIX.pub (0644) are one %s key pair", types[i].type, types[i].alg);
        EVP_PKEY_free(k);
        EVP_PKEY_free(pub);
        CHECK(initra_kms_admin_recovery_keygen(types[i].type, prefix, &err) != 0 && strstr(err.msg, ".key exists"),
              "%s: never overwritten: %s", types[i].type, err.msg);
        unlink(kp);
        unlink(pp);
    }
    CHECK(initra_kms_admin_recovery_keygen("rsa-2048", "/nonexistent/x", &err) != 0 &&
              strstr(err.msg, "type 'rsa-2048' is not rsa-3072 or x25519"),
          "recovery-keygen: another type is refused: %s", err.msg);
}

static void policy_file_checks(const char *tmp)
{
    initra_err err;
    char p[300], *json = NULL;
    snprintf(p, sizeof p, "%s/ns-policy.json", tmp);
    put(p, "[{\"mr_signer\": \"4242424242424242424242424242424242424242424242424242424242424242\"}]");
    CHECK(initra_kms_admin_policy_file(p, &json, &err) == 0 && json && json[0] == '[',
          "a client policy for every secret is read as it is: %s", json ? "" : err.msg);
    free(json);
    put(p, "{\"identities\": {\"app\": {\"mr_signer\": "
           "\"4242424242424242424242424242424242424242424242424242424242424242\"}}, \"secrets\": {\"k\": [\"app\"]}}");
    CHECK(initra_kms_admin_policy_file(p, &json, &err) == 0, "a per-secret policy: %s", json ? "" : err.msg);
    free(json);
    json = NULL;
    put(p, "[{\"isv_prod_id\": 0}]");
    CHECK(initra_kms_admin_policy_file(p, &json, &err) != 0 && !json && strstr(err.msg, "ns-policy.json") &&
              strstr(err.msg, "mr_enclave or mr_signer"),
          "a policy that pins nothing is refused here: %s", err.msg);
    put(p, "{\"secrets\": ");
    CHECK(initra_kms_admin_policy_file(p, &json, &err) != 0 && strstr(err.msg, "ns-policy.json:1:"),
          "not JSON: %s", err.msg);
    unlink(p);
}

/* import aecs: an AECS store's rules become the namespace's per-secret policy. */
static void aecs_policy_checks(const char *tmp)
{
    initra_err err;
    char p[300], *text = NULL;
    initra_aecs_store st;
    snprintf(p, sizeof p, "%s/aecs.json", tmp);
    put(p, "{\"version\": 1, \"services\": [\"svc1\", \"svc2\"], \"secrets\": ["
           "{\"service\": \"svc1\", \"name\": \"k1\", \"type\": \"IMPORT_DATA\", \"data\": \"pw\", \"policy\": ["
           "{\"hex_signer\": \"CDCDCDCDCDCDCDCDCDCDCDCDCDCDCDCDCDCDCDCDCDCDCDCDCDCDCDCDCDCDCDCD\", \"hex_prod_id\": \"1234\", "
           "\"str_min_isvsvn\": \"2\", \"bool_debug_disabled\": \"false\", \"str_tee_platform\": \"SGX_DCAP\"},"
           "{\"hex_ta_measurement\": \"ABABABABABABABABABABABABABABABABABABABABABABABABABABABABABABABAB\"}]},"
           "{\"service\": \"svc2\", \"name\": \"k2\", \"type\": \"IMPORT_DATA\", \"data\": \"x\", \"policy\": []}]}");
    int loaded = initra_aecs_store_load(p, 0, &st, &err) == 0;
    CHECK(loaded, "an AECS store: %s", loaded ? "" : err.msg);
    if (!loaded) return;
    CHECK(kms_admin_aecs_policy(&st, "svc1", p, &text, &err) == 0 && text &&
              !strcmp(text, "{\"identities\":{\"aecs0.0\":{\"allow_debug\":true,\"isv_prod_id\":1234,\"min_isv_svn\":2,"
                            "\"mr_signer\":\"CDCDCDCDCDCDCDCDCDCDCDCDCDCDCDCDCDCDCDCDCDCDCDCDCDCDCDCDCDCDCDCD\"},"
                            "\"aecs0.1\":{\"mr_enclave\":\"ABABABABABABABABABABABABABABABABABABABABABABABABABABABABABABABAB\"}},"
                            "\"secrets\":{\"k1\":[\"aecs0.0\",\"aecs0.1\"]}}"),
          "import aecs: each rule an identity, the secret readable by its rules: %s", text ? text : err.msg);
    free(text);
    CHECK(kms_admin_aecs_policy(&st, "svc2", p, &text, &err) == 0 && !text,
          "a service whose secrets have no rules gets no policy (nobody reads them)");
    initra_aecs_store_free(&st);
    unlink(p);
}

int main(void)
{
    initra_err err;
    char dir[256], tmp[] = "/tmp/initra-kms-admin-test.XXXXXX", root[300], coll[300], prefix[300];
    initra_sim *sim;
    if (initra_sim_dir(dir, sizeof dir, &err) || !(sim = initra_sim_open(dir, &err)) || !mkdtemp(tmp)) {
        CHECK(0, "setup: %s", err.msg);
        CHECK_DONE();
    }
    keygen_checks(tmp);
    recovery_keygen_checks(tmp);
    policy_file_checks(tmp);
    aecs_policy_checks(tmp);

    /* A server presenting a sim RA-TLS certificate of an enclave with MRENCLAVE 4b..4b. */
    initra_sgx_report_body kms_id;
    memset(&kms_id, 0, sizeof kms_id);
    memset(kms_id.mr_enclave, 0x4b, 32);
    kms_id.attributes.flags = INITRA_ATTR_INIT | INITRA_ATTR_MODE64BIT;
    uint8_t *der;
    size_t dl;
    char *cj, *scert, *skey, *pcert, *pkey, hex[65];
    initra_sim_root_der(sim, &der, &dl, &err);
    initra_sim_collateral(sim, &cj, &err);
    snprintf(root, sizeof root, "%s/root.der", tmp);
    snprintf(coll, sizeof coll, "%s/coll.json", tmp);
    initra_write_file_atomic(root, der, dl, 0600, &err);
    put(coll, cj);
    free(der);
    free(cj);
    initra_sim_quoter q = {.sim = sim, .identity = &kms_id};
    CHECK(initra_ratls_create(initra_sim_quoter_quote, &q, INITRA_RATLS_OCCLUM_TCG, 3600, &scert, &skey, &err) == 0,
          "KMS RA-TLS certificate: %s", err.msg);
    CHECK(initra_ratls_create(NULL, NULL, INITRA_RATLS_OCCLUM_TCG, 3600, &pcert, &pkey, &err) == 0,
          "a plain certificate (no evidence)");
    initra_rpc_server_opts so = {.listen = "127.0.0.1:0",
                                 .tls = {.cert_chain_pem = scert, .key_pem = skey, .verify = initra_rpc_accept_any},
                                 .handler = count_calls};
    initra_rpc_server *srv = initra_rpc_server_start(&so, &err);
    so.tls.cert_chain_pem = pcert;
    so.tls.key_pem = pkey;
    initra_rpc_server *plain = initra_rpc_server_start(&so, &err);
    CHECK(srv && plain, "servers start: %s", err.msg);
    if (!srv || !plain) CHECK_DONE();
    char target[32], ptarget[32];
    snprintf(target, sizeof target, "127.0.0.1:%d", initra_rpc_server_port(srv));
    snprintf(ptarget, sizeof ptarget, "127.0.0.1:%d", initra_rpc_server_port(plain));

    snprintf(prefix, sizeof prefix, "%s/adm", tmp);
    initra_kms_admin_keygen(prefix, hex, &err);
    uint8_t *acert = NULL, *akey = NULL;
    size_t acl, akl;
    char ap[320];
    snprintf(ap, sizeof ap, "%s.crt", prefix);
    initra_read_file(ap, 1 << 16, &acert, &acl, &err);
    snprintf(ap, sizeof ap, "%s.key", prefix);
    initra_read_file(ap, 1 << 16, &akey, &akl, &err);

    const char *roots[] = {root};
    json_t *jw = json_loads("[{\"mr_enclave\": \"5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a\"}]", 0, NULL);
    json_t *jr = json_loads("[{\"mr_enclave\": \"4b4b4b4b4b4b4b4b4b4b4b4b4b4b4b4b4b4b4b4b4b4b4b4b4b4b4b4b4b4b4b4b\"}]", 0, NULL);
    initra_policy_opts po = {.peer = "the KMS"};
    initra_policy *wrong = initra_policy_from_json_opts(jw, "expect.json", &po, &err);
    initra_policy *right = initra_policy_from_json_opts(jr, "expect.json", &po, &err);
    json_decref(jw);
    json_decref(jr);
    initra_kms_admin_opts o = {.kms = target,
                               .cert_pem = (char *)acert,
                               .key_pem = (char *)akey,
                               .expect = wrong,
                               .verifier = {.trust_roots = roots, .n_trust_roots = 1, .collateral = coll},
                               .deadline_ms = 10000};
    const uint8_t value[] = "hunter2";
    uint32_t version = 0;

    initra_kms_admin *a = initra_kms_admin_connect(&o, &err);
    CHECK(a != NULL, "connect (lazy): %s", a ? "" : err.msg);
    int rc = a ? initra_kms_admin_put(a, NULL, "k", value, 7, NULL, &version, NULL, &err) : 0;
    CHECK(rc != 0 && initra_kms_admin_refused(a) && strstr(err.msg, "refused before anything was sent") &&
              strstr(err.msg, "mr_enclave") && strstr(err.msg, "4b4b4b4b") && !strstr(err.msg, "hunter2"),
          "a KMS that fails --expect is refused in the handshake, naming the field: %s", err.msg);
    CHECK(calls == 0, "nothing reached that KMS (%d calls)", calls);
    initra_kms_admin_close(a);

    o.kms = ptarget;
    o.expect = right;
    a = initra_kms_admin_connect(&o, &err);
    rc = a ? initra_kms_admin_put(a, NULL, "k", value, 7, NULL, &version, NULL, &err) : 0;
    CHECK(rc != 0 && initra_kms_admin_refused(a) && strstr(err.msg, "refused before anything was sent"),
          "a KMS without RA-TLS evidence is refused: %s", err.msg);
    CHECK(calls == 0, "nothing reached it (%d calls)", calls);
    initra_kms_admin_close(a);

    o.kms = target;
    a = initra_kms_admin_connect(&o, &err);
    rc = a ? initra_kms_admin_put(a, "ns1", "k", value, 7, NULL, &version, NULL, &err) : 0;
    CHECK(rc != 0 && !initra_kms_admin_refused(a) && strstr(err.msg, "kms admin PutSecret: ") &&
              strstr(err.msg, "NOT_FOUND: counted"),
          "a KMS that satisfies --expect gets the call; its status comes back in one line: %s", err.msg);
    CHECK(calls == 1 && !strcmp(last_method, "/initra.kms.v1.Admin/PutSecret"), "one call, %s", last_method);
    rc = a ? initra_kms_admin_set_policy(a, "ns1", "[]", &err) : 0;
    CHECK(rc != 0 && calls == 2 && !strcmp(last_method, "/initra.kms.v1.Admin/SetPolicy"),
          "the same connection carries the next rpc: %s", last_method);
    initra_kms_admin_close(a);

    o.expect = NULL;
    a = initra_kms_admin_connect(&o, &err);
    CHECK(!a && strstr(err.msg, "(expect)"), "no expected policy: refused to connect: %s", err.msg);

    initra_policy_free(wrong);
    initra_policy_free(right);
    initra_free_secret(akey, akl);
    free(acert);
    initra_rpc_server_stop(srv);
    initra_rpc_server_stop(plain);
    free(scert);
    free(pcert);
    initra_free_secret(skey, strlen(skey));
    initra_free_secret(pkey, strlen(pkey));
    initra_sim_close(sim);
    unlink(root);
    unlink(coll);
    snprintf(ap, sizeof ap, "%s.crt", prefix);
    unlink(ap);
    snprintf(ap, sizeof ap, "%s.key", prefix);
    unlink(ap);
    rmdir(tmp);
    CHECK_DONE();
}
