/* aecs: GetEnclaveSecret end to end on the sim platform, both directions verified: in process (request
 * -> handler -> response) for every refusal, then over real gRPC (plaintext HTTP/2, as AECS defaults). */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "aecs/internal.h"
#include "check.h"
#include "dcap/internal.h"
#include "initra/aecs.h"
#include "initra/attest.h"
#include "initra/kms.h"
#include "initra/sim.h"
#include "kms/internal.h"
#include "sim_serve.h"

static initra_sim *sim;

/* Identities: the KMS enclave (mrenclave 0x5A...) and the application (0xAB..., signer 0xCD...). */
static int kms_quote(void *ctx, const uint8_t rd[64], uint8_t **q, size_t *len, initra_err *err)
{
    initra_sgx_report_body id;
    memset(&id, 0, sizeof id);
    memset(id.mr_enclave, 0x5A, 32);
    memset(id.mr_signer, 0x11, 32);
    id.attributes.flags = INITRA_ATTR_INIT | INITRA_ATTR_MODE64BIT;
    return initra_sim_quote(sim, &id, rd, q, len, err);
}

/* The transport only: initra_aecs_handle behind the rpc server, the refusal's client-side text sent. */
static void grpc_handler(void *ctx, const initra_rpc_request *req, initra_rpc_reply *reply)
{
    initra_err out = {"unknown method"}, detail;
    reply->code = strcmp(req->method, INITRA_AECS_METHOD)
                      ? INITRA_RPC_UNIMPLEMENTED
                      : initra_aecs_handle(ctx, req->req, req->req_len, time(NULL), &reply->resp, &reply->resp_len,
                                           &out, &detail);
    if (reply->code != INITRA_RPC_OK) snprintf(reply->msg, sizeof reply->msg, "%s", out.msg);
}

static int app_quote(void *ctx, const uint8_t rd[64], uint8_t **q, size_t *len, initra_err *err)
{
    initra_sgx_report_body id;
    memset(&id, 0, sizeof id);
    memset(id.mr_enclave, 0xAB, 32);
    memset(id.mr_signer, 0xCD, 32);
    id.isv_prod_id = 3;
    id.isv_svn = 2;
    id.attributes.flags = INITRA_ATTR_INIT | INITRA_ATTR_MODE64BIT;
    return initra_sim_quote(sim, &id, rd, q, len, err);
}

static int coll(void *ctx, const uint8_t *q, size_t n, char **json, initra_err *err)
{
    return initra_sim_collateral(sim, json, err);
}

#define CD "CDCDCDCDCDCDCDCDCDCDCDCDCDCDCDCDCDCDCDCDCDCDCDCDCDCDCDCDCDCDCDCD"

static const char STORE[] =
    "{\"version\":1,\"services\":[\"service1\"],\"secrets\":["
    "{\"service\":\"service1\",\"name\":\"demo_key\",\"type\":\"IMPORT_DATA\",\"data\":\"c2VjcmV0IGJ5dGVz\","
    "\"policy\":[{\"hex_signer\":\"" CD "\",\"str_min_isvsvn\":\"2\"}]},"
    "{\"service\":\"service1\",\"name\":\"newer\",\"type\":\"IMPORT_DATA\",\"data\":\"x\","
    "\"policy\":[{\"hex_signer\":\"" CD "\",\"str_min_isvsvn\":\"3\"}]},"
    "{\"service\":\"service1\",\"name\":\"nobody\",\"type\":\"IMPORT_DATA\",\"data\":\"x\",\"policy\":[]}]}";

static initra_err last_reply; /* what the client was told in the last exchange */

/* One in-process exchange; returns the handler's code, and on OK the opened secret in *out (or -1 when
 * opening failed, err set). */
static int exchange(const initra_aecs_server *srv, const initra_aecs_client *cli, const char *service,
                    const char *name, const char *nonce, const char *open_nonce, char **out, initra_err *err)
{
    uint8_t *req, *resp, *sec;
    size_t rl, sl, n;
    *out = NULL;
    aecs_request_encode(cli->self, service, name, nonce, &req, &rl, err);
    int code = initra_aecs_handle(srv, req, rl, time(NULL), &resp, &sl, &last_reply, err);
    free(req);
    if (code != INITRA_RPC_OK) return code;
    if (aecs_response_open(cli, resp, sl, open_nonce, time(NULL), &sec, &n, err) == 0) {
        *out = strdup((char *)sec);
        initra_free_secret(sec, n);
    } else {
        code = -1;
    }
    free(resp);
    return code;
}

/* A plaintext HTTP/2 client of 127.0.0.1:port. */
static initra_rpc_client *plain_client(int port, initra_err *err)
{
    char target[64];
    snprintf(target, sizeof target, "127.0.0.1:%d", port);
    initra_rpc_tls ct = {.insecure = 1};
    return initra_rpc_client_new(target, &ct, err);
}

/* The AECS KMS (initra_kms_aecs_start) refuses a store with a rule that pins neither mrenclave nor mrsigner
 * unless accept_any_enclave; then each request for such a secret is logged with a warning. */
static void kms_pinning(const initra_aecs_client *cli)
{
    initra_err err;
    char tmp[] = "/tmp/initra-aecs-kms.XXXXXX", store[300], rootp[300], collp[300], logp[300];
    CHECK(mkdtemp(tmp) != NULL, "temp dir");
    snprintf(store, sizeof store, "%s/store.json", tmp);
    snprintf(rootp, sizeof rootp, "%s/root.der", tmp);
    snprintf(collp, sizeof collp, "%s/coll.json", tmp);
    snprintf(logp, sizeof logp, "%s/kms.log", tmp);
    uint8_t *der;
    size_t dl;
    char *cj;
    initra_sim_root_der(sim, &der, &dl, &err);
    initra_write_file_atomic(rootp, der, dl, 0600, &err);
    free(der);
    initra_sim_collateral(sim, &cj, &err);
    initra_write_file_atomic(collp, cj, strlen(cj), 0600, &err);
    free(cj);
    const char *sj = "{\"version\":1,\"services\":[\"service1\"],\"secrets\":[{\"service\":\"service1\",\"name\":\"any\","
                     "\"type\":\"IMPORT_DATA\",\"data\":\"open\",\"policy\":[{\"hex_prod_id\":\"3\"}]}]}";
    initra_write_file_atomic(store, sj, strlen(sj), 0600, &err);
    sim_served ss;
    memset(&ss, 0, sizeof ss);
    ss.sim = sim;
    memset(ss.id.mr_enclave, 0x5A, 32); /* the KMS identity kms_quote gives */
    memset(ss.id.mr_signer, 0x11, 32);
    ss.id.attributes.flags = INITRA_ATTR_INIT | INITRA_ATTR_MODE64BIT;
    CHECK(sim_serve_start(&ss) == 0, "sim quotes served on a descriptor");
    const char *roots[] = {rootp};
    FILE *log = fopen(logp, "w");
    initra_kms_aecs_opts o = {.listen = "127.0.0.1:0", .store_path = store, .collateral = collp, .trust_roots = roots,
                              .n_trust_roots = 1, .threads = 2, .log = log};
    initra_kms_aecs_opts bad = o;
    bad.store_path = NULL;
    initra_kms_aecs *k = initra_kms_aecs_start(&bad, &err);
    CHECK(k == NULL && strstr(err.msg, "kms: \"store\" (the AECS store made by `initra kms aecs-admin`) is required"),
          "no store: the library names the setting: %s", k ? "(started)" : err.msg);
    initra_kms_aecs_stop(k);
    bad = o;
    bad.pccs_url = "https://127.0.0.1:1";
    k = initra_kms_aecs_start(&bad, &err);
    CHECK(k == NULL && strstr(err.msg, "kms: give \"collateral\" or \"pccs_url\", not both"),
          "collateral and a PCCS: the library names the settings: %s", k ? "(started)" : err.msg);
    initra_kms_aecs_stop(k);
    k = initra_kms_aecs_start(&o, &err);
    CHECK(k == NULL && strstr(err.msg, "store.json: secrets[0] (service1/any).policy: [0]: the entry pins neither "
                                       "hex_ta_measurement (mrenclave) nor hex_signer (mrsigner)"),
          "AECS KMS refuses a store whose rule pins nothing: %s", k ? "(started)" : err.msg);
    initra_kms_aecs_stop(k);
    o.accept_any_enclave = 1;
    k = initra_kms_aecs_start(&o, &err);
    CHECK(k != NULL, "accept_any_enclave: the AECS KMS starts with that store: %s", k ? "" : err.msg);
    if (k) {
        initra_rpc_client *rc = plain_client(kms_aecs_port(k), &err);
        for (int i = 0; i < 2; i++) {
            uint8_t *sec = NULL;
            size_t n = 0;
            err.msg[0] = 0;
            CHECK(rc && initra_aecs_get_secret(cli, rc, "service1", "any", 10000, &sec, &n, NULL, &err) == 0 && n == 4 &&
                      !memcmp(sec, "open", 4),
                  "accept_any_enclave: the unpinned rule releases (request %d): %s", i + 1, err.msg);
            if (sec) initra_free_secret(sec, n);
        }
        initra_rpc_client_free(rc);
        initra_kms_aecs_stop(k);
    }
    fclose(log);
    uint8_t *text = NULL;
    size_t len = 0;
    int warnings = 0;
    if (initra_read_file(logp, 1 << 20, &text, &len, &err) == 0)
        for (const char *p = (char *)text; (p = strstr(p, "asked for service1/any: warning: its policy entry [0] pins "
                                                         "neither hex_ta_measurement nor hex_signer (accept_any_enclave "
                                                         "is set)"));
             p++)
            warnings++;
    CHECK(warnings == 2, "accept_any_enclave: one warning line in the KMS log per request (%d)", warnings);
    free(text);
    sim_serve_stop(&ss);
    const char *files[] = {store, rootp, collp, logp};
    for (size_t i = 0; i < 4; i++) unlink(files[i]);
    rmdir(tmp);
}

int main(void)
{
    initra_err err;
    char dir[4096];
    sim = initra_sim_dir(dir, sizeof dir, &err) == 0 ? initra_sim_open(dir, &err) : NULL;
    CHECK(sim != NULL, "sim platform");
    if (!sim) CHECK_DONE();
    initra_dcap *d = initra_dcap_new(&err);
    uint8_t *root;
    size_t root_len;
    initra_sim_root_der(sim, &root, &root_len, &err);
    dcap_add_root(d, root, root_len, &err);
    free(root);
    initra_ua_dcap_ctx vc = {.dcap = d};

    EVP_PKEY *skey = aecs_rsa_generate(2048, &err), *ckey = aecs_rsa_generate(2048, &err);
    char *spem = initra_aecs_rsa_public_pem(skey, &err), *cpem = initra_aecs_rsa_public_pem(ckey, &err);
    initra_ua_auth_report sreport, creport;
    CHECK(initra_ua_report_create(kms_quote, NULL, coll, NULL, "", spem, &sreport, &err) == 0 &&
              initra_ua_report_create(app_quote, NULL, coll, NULL, "", cpem, &creport, &err) == 0,
          "KMS and application Passports: %s", err.msg);
    initra_aecs_store st;
    CHECK(initra_aecs_store_from_json(STORE, strlen(STORE), "store.json", &st, &err) == 0, "store: %s", err.msg);
    initra_aecs_server srv = {.store = &st, .key = skey, .self = &sreport, .verify = initra_ua_dcap_verify, .verify_ctx = &vc};
    json_t *pj = json_pack("[{s:s}]", "hex_ta_measurement", "5A5A5A5A5A5A5A5A5A5A5A5A5A5A5A5A5A5A5A5A5A5A5A5A5A5A5A5A5A5A5A5A");
    initra_ua_policy server_policy;
    aecs_ua_policy_from_json(pj, "ua_policy", &server_policy, &err);
    json_decref(pj);
    initra_aecs_client cli = {ckey, &creport, initra_ua_dcap_verify, &vc, &server_policy};

    char *out;
    int code = exchange(&srv, &cli, "service1", "demo_key", "N0NCE1", "N0NCE1", &out, &err);
    CHECK(code == INITRA_RPC_OK && out && !strcmp(out, "c2VjcmV0IGJ5dGVz"), "secret delivered byte-exact: %s",
          code == INITRA_RPC_OK ? (out ? out : err.msg) : err.msg);
    free(out);
    code = exchange(&srv, &cli, "service1", "demo_key", "", "", &out, &err);
    CHECK(code == INITRA_RPC_OK && out, "empty nonce (AAD \"Enclave\") works: %s", out ? "" : err.msg);
    free(out);
    code = exchange(&srv, &cli, "service1", "demo_key", "N0NCE1", "N0NCE2", &out, &err);
    CHECK(code == -1 && strstr(err.msg, "aes_cipher.aad is \"N0NCE1\""), "a reply to another nonce refused: %s", err.msg);
    code = exchange(&srv, &cli, "service1", "newer", "n", "n", &out, &err);
    CHECK(code == INITRA_RPC_PERMISSION_DENIED && strstr(err.msg, "service1/newer: the client does not match") &&
              strstr(err.msg, "str_min_isvsvn") && strstr(err.msg, "ISVSVN 2, the entry requires at least 3"),
          "policy mismatch: PERMISSION_DENIED naming the attribute: %s", err.msg);
    CHECK(!strcmp(last_reply.msg, INITRA_AECS_DENIED_MSG), "policy mismatch: the client gets only the generic denial: %s",
          last_reply.msg);
    code = exchange(&srv, &cli, "service1", "nobody", "n", "n", &out, &err);
    CHECK(code == INITRA_RPC_PERMISSION_DENIED && strstr(err.msg, "no entries"), "empty policy refuses: %s", err.msg);
    code = exchange(&srv, &cli, "service1", "nosuch", "n", "n", &out, &err);
    CHECK(code == INITRA_RPC_PERMISSION_DENIED && strstr(err.msg, "has no secret \"nosuch\"") &&
              !strcmp(last_reply.msg, INITRA_AECS_DENIED_MSG),
          "unknown secret: the same PERMISSION_DENIED and generic answer as a policy refusal (log detail: %s)", err.msg);
    code = exchange(&srv, &cli, "service1", "bad/name", "n", "n", &out, &err);
    CHECK(code == INITRA_RPC_INVALID_ARGUMENT && strstr(err.msg, "forbidden character '/'"), "bad name refused: %s", err.msg);
    uint8_t junk[] = {0x0a, 0x05, 0xff, 0xff};
    uint8_t *resp;
    size_t rl;
    CHECK(initra_aecs_handle(&srv, junk, sizeof junk, time(NULL), &resp, &rl, NULL, &err) == INITRA_RPC_INVALID_ARGUMENT,
          "garbage request refused: %s", err.msg);

    /* a client whose report does not verify (no sim root on the server) */
    initra_dcap *bare = initra_dcap_new(&err);
    initra_ua_dcap_ctx vbare = {.dcap = bare};
    initra_aecs_server srv2 = {.store = &st, .key = skey, .self = &sreport, .verify = initra_ua_dcap_verify, .verify_ctx = &vbare};
    code = exchange(&srv2, &cli, "service1", "demo_key", "n", "n", &out, &err);
    CHECK(code == INITRA_RPC_PERMISSION_DENIED && strstr(err.msg, "the client's report"),
          "unverifiable client report: PERMISSION_DENIED: %s", err.msg);
    /* a server whose report does not verify, with and without a policy */
    initra_aecs_client cli2 = {ckey, &creport, initra_ua_dcap_verify, &vbare, NULL};
    code = exchange(&srv, &cli2, "service1", "demo_key", "n", "n", &out, &err);
    CHECK(code == -1 && strstr(err.msg, "the AECS server's report"), "unverifiable server refused (no policy): %s", err.msg);
    /* a server not matching ua_policy_* */
    pj = json_pack("[{s:s}]", "hex_ta_measurement", CD);
    initra_ua_policy other;
    aecs_ua_policy_from_json(pj, "ua_policy", &other, &err);
    json_decref(pj);
    initra_aecs_client cli3 = {ckey, &creport, initra_ua_dcap_verify, &vc, &other};
    code = exchange(&srv, &cli3, "service1", "demo_key", "n", "n", &out, &err);
    CHECK(code == -1 && strstr(err.msg, "does not match ra_config's ua_policy_*") && strstr(err.msg, "hex_ta_measurement"),
          "server not matching ua_policy_* refused: %s", err.msg);
    initra_ua_policy_free(&other);
    /* a server signing with a key other than the one its report binds */
    EVP_PKEY *rogue = aecs_rsa_generate(2048, &err);
    initra_aecs_server srv3 = {.store = &st, .key = rogue, .self = &sreport, .verify = initra_ua_dcap_verify, .verify_ctx = &vc};
    code = exchange(&srv3, &cli, "service1", "demo_key", "n", "n", &out, &err);
    CHECK(code == -1 && strstr(err.msg, "plain_hash_sig does not verify"), "envelope signed by a foreign key refused: %s",
          err.msg);
    EVP_PKEY_free(rogue);

    /* over gRPC (the KMS's own handler, with its log, is exercised by t_aecs.sh) */
    initra_rpc_server_opts so = {
        .listen = "127.0.0.1:0", .tls = {.insecure = 1}, .handler = grpc_handler, .handler_ctx = &srv, .threads = 2};
    initra_rpc_server *rs = initra_rpc_server_start(&so, &err);
    CHECK(rs != NULL, "AECS server on plaintext HTTP/2: %s", rs ? "" : err.msg);
    if (rs) {
        initra_rpc_client *rc = plain_client(initra_rpc_server_port(rs), &err);
        uint8_t *sec;
        size_t n;
        int status = -5;
        CHECK(rc && initra_aecs_get_secret(&cli, rc, "service1", "demo_key", 10000, &sec, &n, NULL, &err) == 0 &&
                  n == 16 && !memcmp(sec, "c2VjcmV0IGJ5dGVz", 16),
              "gRPC GetEnclaveSecret: secret delivered: %s", err.msg);
        if (n == 16) initra_free_secret(sec, n);
        CHECK(rc && initra_aecs_get_secret(&cli, rc, "service1", "newer", 10000, &sec, &n, &status, &err) != 0 &&
                  strstr(err.msg, "PERMISSION_DENIED") && strstr(err.msg, INITRA_AECS_DENIED_MSG) &&
                  !strstr(err.msg, "str_min_isvsvn"),
              "gRPC policy refusal: PERMISSION_DENIED with the generic answer, no policy value: %s", err.msg);
        CHECK(status == INITRA_RPC_PERMISSION_DENIED, "the refusal's gRPC status comes back in *code: %d", status);
        initra_rpc_client_free(rc);
        initra_rpc_server_stop(rs);
    }

    kms_pinning(&cli);
    initra_dcap_free(bare);
    initra_ua_policy_free(&server_policy);
    initra_aecs_store_free(&st);
    initra_ua_auth_report_free(&sreport);
    initra_ua_auth_report_free(&creport);
    free(spem);
    free(cpem);
    EVP_PKEY_free(skey);
    EVP_PKEY_free(ckey);
    initra_dcap_free(d);
    initra_sim_close(sim);
    CHECK_DONE();
}
