/* aecs: GetEnclaveSecret end to end on the sim platform, both directions verified: in process (request
 * -> handler -> response) for every refusal, then over real gRPC (plaintext HTTP/2, as AECS defaults). */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "check.h"
#include "initra/aecs.h"
#include "initra/attest.h"

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

/* One in-process exchange; returns the handler's code, and on OK the opened secret in *out (or -1 when
 * opening failed, err set). */
static int exchange(const initra_aecs_server *srv, const initra_aecs_client *cli, const char *service,
                    const char *name, const char *nonce, const char *open_nonce, char **out, initra_err *err)
{
    uint8_t *req, *resp, *sec;
    size_t rl, sl, n;
    *out = NULL;
    initra_aecs_request_encode(cli->self, service, name, nonce, &req, &rl, err);
    int code = initra_aecs_handle(srv, req, rl, time(NULL), &resp, &sl, err);
    free(req);
    if (code != INITRA_RPC_OK) return code;
    if (initra_aecs_response_open(cli, resp, sl, open_nonce, time(NULL), &sec, &n, err) == 0) {
        *out = strdup((char *)sec);
        initra_free_secret(sec, n);
    } else {
        code = -1;
    }
    free(resp);
    return code;
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
    initra_dcap_add_root(d, root, root_len, &err);
    free(root);
    initra_ua_dcap_ctx vc = {d, 0, NULL, 0};

    EVP_PKEY *skey = initra_aecs_rsa_generate(2048, &err), *ckey = initra_aecs_rsa_generate(2048, &err);
    char *spem = initra_aecs_rsa_public_pem(skey, &err), *cpem = initra_aecs_rsa_public_pem(ckey, &err);
    initra_ua_auth_report sreport, creport;
    CHECK(initra_ua_report_create(kms_quote, NULL, coll, NULL, "", spem, &sreport, &err) == 0 &&
              initra_ua_report_create(app_quote, NULL, coll, NULL, "", cpem, &creport, &err) == 0,
          "KMS and application Passports: %s", err.msg);
    initra_aecs_store st;
    CHECK(initra_aecs_store_from_json(STORE, strlen(STORE), "store.json", &st, &err) == 0, "store: %s", err.msg);
    initra_aecs_server srv = {&st, skey, &sreport, initra_ua_dcap_verify, &vc};
    json_t *pj = json_pack("[{s:s}]", "hex_ta_measurement", "5A5A5A5A5A5A5A5A5A5A5A5A5A5A5A5A5A5A5A5A5A5A5A5A5A5A5A5A5A5A5A5A");
    initra_ua_policy server_policy;
    initra_ua_policy_from_json(pj, "ua_policy", &server_policy, &err);
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
    code = exchange(&srv, &cli, "service1", "nobody", "n", "n", &out, &err);
    CHECK(code == INITRA_RPC_PERMISSION_DENIED && strstr(err.msg, "no entries"), "empty policy refuses: %s", err.msg);
    code = exchange(&srv, &cli, "service1", "nosuch", "n", "n", &out, &err);
    CHECK(code == INITRA_RPC_NOT_FOUND && strstr(err.msg, "has no secret \"nosuch\""), "unknown secret NOT_FOUND");
    code = exchange(&srv, &cli, "service1", "bad/name", "n", "n", &out, &err);
    CHECK(code == INITRA_RPC_INVALID_ARGUMENT && strstr(err.msg, "forbidden character '/'"), "bad name refused: %s", err.msg);
    uint8_t junk[] = {0x0a, 0x05, 0xff, 0xff};
    uint8_t *resp;
    size_t rl;
    CHECK(initra_aecs_handle(&srv, junk, sizeof junk, time(NULL), &resp, &rl, &err) == INITRA_RPC_INVALID_ARGUMENT,
          "garbage request refused: %s", err.msg);

    /* a client whose report does not verify (no sim root on the server) */
    initra_dcap *bare = initra_dcap_new(&err);
    initra_ua_dcap_ctx vbare = {bare, 0, NULL, 0};
    initra_aecs_server srv2 = {&st, skey, &sreport, initra_ua_dcap_verify, &vbare};
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
    initra_ua_policy_from_json(pj, "ua_policy", &other, &err);
    json_decref(pj);
    initra_aecs_client cli3 = {ckey, &creport, initra_ua_dcap_verify, &vc, &other};
    code = exchange(&srv, &cli3, "service1", "demo_key", "n", "n", &out, &err);
    CHECK(code == -1 && strstr(err.msg, "does not match ra_config's ua_policy_*") && strstr(err.msg, "hex_ta_measurement"),
          "server not matching ua_policy_* refused: %s", err.msg);
    initra_ua_policy_free(&other);
    /* a server signing with a key other than the one its report binds */
    EVP_PKEY *rogue = initra_aecs_rsa_generate(2048, &err);
    initra_aecs_server srv3 = {&st, rogue, &sreport, initra_ua_dcap_verify, &vc};
    code = exchange(&srv3, &cli, "service1", "demo_key", "n", "n", &out, &err);
    CHECK(code == -1 && strstr(err.msg, "plain_hash_sig does not verify"), "envelope signed by a foreign key refused: %s",
          err.msg);
    EVP_PKEY_free(rogue);

    /* over gRPC */
    initra_rpc_server_opts so = {"127.0.0.1:0", {1, NULL, NULL, NULL, NULL}, initra_aecs_rpc_handler, &srv, 2, 0, 0};
    initra_rpc_server *rs = initra_rpc_server_start(&so, &err);
    CHECK(rs != NULL, "AECS server on plaintext HTTP/2: %s", rs ? "" : err.msg);
    if (rs) {
        char target[64];
        snprintf(target, sizeof target, "127.0.0.1:%d", initra_rpc_server_port(rs));
        initra_rpc_tls ct = {1, NULL, NULL, NULL, NULL};
        initra_rpc_client *rc = initra_rpc_client_new(target, &ct, &err);
        uint8_t *sec;
        size_t n;
        CHECK(rc && initra_aecs_get_secret(&cli, rc, "service1", "demo_key", 10000, &sec, &n, &err) == 0 &&
                  n == 16 && !memcmp(sec, "c2VjcmV0IGJ5dGVz", 16),
              "gRPC GetEnclaveSecret: secret delivered: %s", err.msg);
        if (n == 16) initra_free_secret(sec, n);
        CHECK(rc && initra_aecs_get_secret(&cli, rc, "service1", "newer", 10000, &sec, &n, &err) != 0 &&
                  strstr(err.msg, "PERMISSION_DENIED") && strstr(err.msg, "str_min_isvsvn"),
              "gRPC policy refusal carries PERMISSION_DENIED and the attribute: %s", err.msg);
        initra_rpc_client_free(rc);
        initra_rpc_server_stop(rs);
    }

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
