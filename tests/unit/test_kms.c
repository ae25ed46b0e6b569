/* kms: certificate rotation keeps the port and serves a fresh RA-TLS certificate; reload swaps files
 * and a bad file keeps the old configuration. Real sockets, real sim quotes over a descriptor. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "check.h"
#include "initra/attest.h"
#include "initra/kms.h"
#include "initra/rpc.h"
#include "initra/sim.h"
#include "kms/internal.h"
#include "ratls.pb-c.h"
#include "sim_serve.h"

static initra_sim *sim;
static initra_sgx_report_body kms_id, client_id;
static char *seen_server_cert;

static int remember_server(void *ctx, const char *pem, initra_err *err)
{
    free(seen_server_cert);
    seen_server_cert = strdup(pem);
    return 0;
}

/* One fetch over a new connection; returns the secret text (fresh) or NULL with err. */
static char *fetch(int port, const char *cert, const char *key, initra_err *err)
{
    char target[32];
    snprintf(target, sizeof target, "127.0.0.1:%d", port);
    initra_rpc_tls tls = {.cert_chain_pem = cert, .key_pem = key, .verify = remember_server};
    initra_rpc_client *c = initra_rpc_client_new(target, &tls, err);
    Ratls__SecretRequest rq = RATLS__SECRET_REQUEST__INIT;
    rq.name = "k";
    uint8_t buf[16], *resp = NULL;
    size_t n = ratls__secret_request__pack(&rq, buf), rlen = 0;
    char *out = NULL;
    if (c && initra_rpc_call(c, "/ratls.GrSecret/GetSecret", buf, n, 5000, &resp, &rlen, NULL, err) == 0) {
        Ratls__SecretReply *r = ratls__secret_reply__unpack(NULL, rlen, resp);
        if (r && r->secret) out = strdup(r->secret);
        if (r) ratls__secret_reply__free_unpacked(r, NULL);
    }
    free(resp);
    initra_rpc_client_free(c);
    return out;
}

static void put(const char *path, const char *text)
{
    initra_err e;
    initra_write_file_atomic(path, text, strlen(text), 0600, &e);
}

int main(void)
{
    initra_err err;
    char dir[256], tmp[] = "/tmp/initra-kms-test.XXXXXX", p[300], root[300], coll[300], sec[300], cl[300];
    if (initra_sim_dir(dir, sizeof dir, &err) || !(sim = initra_sim_open(dir, &err)) || !mkdtemp(tmp)) {
        CHECK(0, "setup: %s", err.msg);
        CHECK_DONE();
    }
    memset(kms_id.mr_enclave, 0x4b, 32);
    memset(client_id.mr_signer, 0x42, 32);
    kms_id.attributes.flags = client_id.attributes.flags = INITRA_ATTR_INIT | INITRA_ATTR_MODE64BIT;
    uint8_t *der;
    size_t dl;
    char *cj;
    initra_sim_root_der(sim, &der, &dl, &err);
    initra_sim_collateral(sim, &cj, &err);
    snprintf(root, sizeof root, "%s/root.der", tmp);
    snprintf(coll, sizeof coll, "%s/coll.json", tmp);
    snprintf(sec, sizeof sec, "%s/secrets.json", tmp);
    snprintf(cl, sizeof cl, "%s/clients.json", tmp);
    initra_write_file_atomic(root, der, dl, 0600, &err);
    put(coll, cj);
    free(der);
    free(cj);
    put(sec, "{\"k\": \"b25l\"}"); /* "one" */
    put(cl, "[{\"mr_signer\": \"4242424242424242424242424242424242424242424242424242424242424242\"}]");
    sim_served ss;
    memset(&ss, 0, sizeof ss);
    ss.sim = sim;
    ss.id = kms_id;
    CHECK(sim_serve_start(&ss) == 0, "sim quotes served on a descriptor");
    const char *roots[] = {root};
    initra_kms_opts o = {0};
    o.listen = "127.0.0.1:0";
    o.secrets_path = sec;
    o.clients_path = cl;
    o.verifier = (initra_ratls_verifier_opts){.trust_roots = roots, .n_trust_roots = 1, .collateral = coll};
    snprintf(p, sizeof p, "%s/kms.log", tmp);
    o.log = fopen(p, "w");
    initra_kms *k = initra_kms_start(&o, &err);
    CHECK(k != NULL, "KMS starts with the sim quote provider: %s", k ? "" : err.msg);
    if (!k) CHECK_DONE();
    char *cert, *key;
    initra_sim_quoter client = {.sim = sim, .identity = &client_id};
    CHECK(initra_ratls_create(initra_sim_quoter_quote, &client, INITRA_RATLS_OCCLUM, 3600, &cert, &key, &err) == 0, "client cert");
    int port = initra_kms_port(k);
    char *s1 = fetch(port, cert, key, &err);
    CHECK(s1 && !strcmp(s1, "\"b25l\""), "fetch before rotation: %s", s1 ? s1 : err.msg);
    char *cert_before = seen_server_cert ? strdup(seen_server_cert) : NULL;
    CHECK(kms_rotate(k, &err) == 0 && initra_kms_port(k) == port, "rotation keeps port %d: %s", port,
          err.msg);
    CHECK(kms_cert_age(k) <= 1, "certificate age restarts at 0");
    CHECK(initra_kms_rotate_if_due(k, &err) == 0 && initra_kms_port(k) == port && kms_cert_age(k) <= 1,
          "a fresh certificate is not due for rotation: %s", err.msg);
    char *s2 = fetch(port, cert, key, &err);
    CHECK(s2 && !strcmp(s2, "\"b25l\""), "fetch after rotation: %s", s2 ? s2 : err.msg);
    CHECK(cert_before && seen_server_cert && strcmp(cert_before, seen_server_cert) != 0,
          "the server presents a new certificate after rotation");
    put(sec, "{\"k\": \"dHdv\"}"); /* "two" */
    CHECK(initra_kms_reload(k, &err) == 0, "reload: %s", err.msg);
    char *s3 = fetch(port, cert, key, &err);
    CHECK(s3 && !strcmp(s3, "\"dHdv\""), "reloaded secret served");
    put(sec, "{\"k\": 5}");
    CHECK(initra_kms_reload(k, &err) != 0 && strstr(err.msg, "k: the value is not a string"), "bad reload refused: %s",
          err.msg);
    char *s4 = fetch(port, cert, key, &err);
    CHECK(s4 && !strcmp(s4, "\"dHdv\""), "old configuration kept after a bad reload");
        /* Pinning (issue 9): a clients file that pins nothing (Occlum's template, every verify_* "off") is refused
     * at reload and at start, naming what to set; only accept_any_enclave lets it through, and then every
     * request logs the warning. */
    put(sec, "{\"k\": \"dHdv\"}");
    char cl2[300], log2[300];
    snprintf(cl2, sizeof cl2, "%s/all-off.json", tmp);
    snprintf(log2, sizeof log2, "%s/kms2.log", tmp);
    put(cl2, "{\"verify_mr_enclave\": \"off\", \"verify_mr_signer\": \"off\", \"verify_isv_prod_id\": \"off\", "
             "\"verify_isv_svn\": \"off\", \"verify_config_svn\": \"off\", \"verify_enclave_debuggable\": \"off\", "
             "\"sgx_mrs\": [{\"mr_enclave\": \"\", \"mr_signer\": \"\", \"isv_prod_id\": 0, \"isv_svn\": 0, "
             "\"config_svn\": 0, \"debuggable\": true}]}");
    initra_kms *k2;
    initra_kms_opts o2 = o;
    o2.clients_path = NULL;
    o2.policy_path = NULL;
    k2 = initra_kms_start(&o2, &err);
    CHECK(k2 == NULL && strstr(err.msg, "kms: give \"clients\" (Occlum's dynamic_config.json) or \"policy\"") &&
              !strstr(err.msg, "--"),
          "no clients and no policy: the library names the settings, not flags: %s", k2 ? "(started)" : err.msg);
    initra_kms_stop(k2);
    o2.clients_path = cl2;
    o2.log = fopen(log2, "w");
    k2 = initra_kms_start(&o2, &err);
    CHECK(k2 == NULL && strstr(err.msg, "all-off.json: pins nothing: verify_mr_enclave and verify_mr_signer are both") &&
              strstr(err.msg, "set verify_mr_enclave \"on\" and sgx_mrs[].mr_enclave to the client's MRENCLAVE"),
          "KMS with an all-off clients file refuses to start: %s", k2 ? "(started)" : err.msg);
    initra_kms_stop(k2);
    put(cl, "{\"verify_mr_enclave\": \"off\", \"verify_mr_signer\": \"off\", \"verify_isv_prod_id\": \"off\", "
            "\"verify_isv_svn\": \"off\", \"verify_config_svn\": \"off\", \"verify_enclave_debuggable\": \"off\", "
            "\"sgx_mrs\": [{\"mr_enclave\": \"\", \"mr_signer\": \"\", \"isv_prod_id\": 0, \"isv_svn\": 0, "
            "\"config_svn\": 0, \"debuggable\": true}]}");
    CHECK(initra_kms_reload(k, &err) != 0 && strstr(err.msg, "clients.json: pins nothing"),
          "reload with an all-off clients file refused: %s", err.msg);
    put(cl, "[{\"isv_prod_id\": 0}]");
    CHECK(initra_kms_reload(k, &err) != 0 && strstr(err.msg, "must name mr_enclave or mr_signer"),
          "reload with an unpinned initra entry refused: %s", err.msg);
    char *s5 = fetch(port, cert, key, &err);
    CHECK(s5 && !strcmp(s5, "\"dHdv\""), "the pinned configuration is still served");
    free(s5);
    o2.accept_any_enclave = 1;
    k2 = initra_kms_start(&o2, &err);
    CHECK(k2 != NULL, "accept_any_enclave: the all-off clients file is accepted: %s", k2 ? "" : err.msg);
    if (k2) {
        char *s6 = fetch(initra_kms_port(k2), cert, key, &err);
        CHECK(s6 && !strcmp(s6, "\"dHdv\""), "accept_any_enclave: any genuine enclave gets the secret");
        free(s6);
        initra_kms_stop(k2);
    }
    fclose(o2.log);
    uint8_t *logtext = NULL;
    size_t loglen = 0;
    CHECK(initra_read_file(log2, 1 << 20, &logtext, &loglen, &err) == 0 && logtext &&
              strstr((char *)logtext, "asked for \"k\": warning: ") &&
              strstr((char *)logtext, "all-off.json pins neither mr_enclave nor mr_signer (accept_any_enclave is set)"),
          "accept_any_enclave: the request is logged with the warning%s%s", logtext ? "" : ": ", logtext ? "" : err.msg);
    free(logtext);
    unlink(cl2);
    unlink(log2);
    free(s1), free(s2), free(s3), free(s4), free(cert_before), free(seen_server_cert), free(cert);
    initra_free_secret(key, strlen(key));
    initra_kms_stop(k);
    fclose(o.log);
    sim_serve_stop(&ss);
    initra_sim_close(sim);
    const char *files[] = {root, coll, sec, cl, p};
    for (size_t i = 0; i < 5; i++) unlink(files[i]);
    rmdir(tmp);
    CHECK_DONE();
}
