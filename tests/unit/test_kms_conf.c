/* The KMS configuration file: strict parsing (every bad input names the key or line), the "inside the
 * image" path rule, pinned files read once and checked, FIFOs refused. Real files in a temp directory. */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/sha.h>

#include "check.h"
#include "initra/kms.h"
#include "kms/internal.h"

static initra_err err;
static initra_kms_conf conf;

static int parse(const char *text)
{
    int rc = initra_kms_conf_parse(text, strlen(text), "kms.json", &conf, &err);
    if (rc == 0) initra_kms_conf_free(&conf);
    return rc;
}

/* The text must be refused with an error containing want. */
static void refused(const char *text, const char *want)
{
    int rc = parse(text);
    CHECK(rc == -1 && strstr(err.msg, want) != NULL, "refused: %.70s -> %s", text, rc ? err.msg : "(accepted)");
}

static void put(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    fputs(text, f);
    fclose(f);
}

int main(void)
{
    /* A full configuration. */
    const char *full = "{\"protocol\": \"grpc_ratls\", \"secrets\": \"/etc/kms/secret_config.json\","
                       " \"clients\": {\"path\": \"/host/dynamic_config.json\", \"sha256\": "
                       "\"00112233445566778899aabbccddeeff00112233445566778899AABBCCDDEEFF\"},"
                       " \"policy\": \"/etc/kms/policy.json\", \"collateral\": \"/etc/kms/collateral.json\","
                       " \"trust_roots\": [\"/etc/kms/root.der\", {\"path\": \"/opt/r2.pem\", \"sha256\": "
                       "\"ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff\"}],"
                       " \"accept_any_enclave\": false, \"max_connections\": 10, \"max_concurrent_streams\": 4,"
                       " \"ratls_format\": \"tcg\"}";
    int rc = initra_kms_conf_parse(full, strlen(full), "kms.json", &conf, &err);
    CHECK(rc == 0, "full configuration parses%s%s", rc ? ": " : "", rc ? err.msg : "");
    if (rc == 0) {
        CHECK(!strcmp(conf.protocol, "grpc_ratls") && !strcmp(conf.secrets.path, "/etc/kms/secret_config.json") &&
                  !conf.secrets.pinned,
              "secrets: a path inside the image, not pinned");
        CHECK(conf.clients.pinned && conf.clients.sha256[0] == 0x00 && conf.clients.sha256[31] == 0xff &&
                  !strcmp(conf.clients.path, "/host/dynamic_config.json"),
              "clients: pinned by sha256 (either case), may be outside the image");
        CHECK(conf.n_trust_roots == 2 && conf.trust_roots[1].pinned, "two trust roots, the second pinned");
        CHECK(conf.max_connections == 10 && conf.max_concurrent_streams == 4 && !conf.accept_any_enclave, "caps");
        CHECK(conf.ratls_format == INITRA_RATLS_TCG, "ratls_format \"tcg\"");
        initra_kms_conf_free(&conf);
    }
    rc = initra_kms_conf_parse("{\"clients\": \"/etc/c.json\"}", 26, "kms.json", &conf, &err);
    CHECK(rc == 0 && !strcmp(conf.protocol, "grpc_ratls") &&
              conf.max_connections == INITRA_KMS_DEFAULT_MAX_CONNECTIONS &&
              conf.max_concurrent_streams == INITRA_KMS_DEFAULT_MAX_STREAMS,
          "defaults: grpc_ratls, %u connections, %u streams", conf.max_connections, conf.max_concurrent_streams);
    if (rc == 0) initra_kms_conf_free(&conf);
    rc = parse("{\"protocol\": \"aecs\", \"store\": \"/etc/kms/store.json\", \"accept_any_enclave\": true}");
    CHECK(rc == 0, "AECS configuration parses");

    /* The sealed store, admins, recovery key. */
    const char *adm = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";
    char text[1024];
    snprintf(text, sizeof text,
             "{\"store\": {\"sqlite\": \"/host/kms.db\"}, \"admins\": [\"%s\", \"%.63s0\"], \"recovery_key\": "
             "\"/etc/kms/recovery.pem\"}", adm, adm);
    rc = initra_kms_conf_parse(text, strlen(text), "kms.json", &conf, &err);
    CHECK(rc == 0, "grpc_ratls with a sqlite store needs no clients or policy%s%s", rc ? ": " : "", rc ? err.msg : "");
    if (rc == 0) {
        CHECK(!strcmp(conf.store_sqlite, "/host/kms.db") && !conf.store.path && conf.n_admins == 2 &&
                  conf.admins[0][0] == 0x00 && conf.admins[0][31] == 0xff && conf.admins[1][31] == 0xf0 &&
                  !strcmp(conf.recovery_key.path, "/etc/kms/recovery.pem"),
              "store.sqlite on /host, two admins, a recovery key");
        initra_kms_conf_free(&conf);
    }
    rc = parse("{\"protocol\": \"aecs\", \"store\": {\"sqlite\": \"/var/kms/kms.db\"}}");
    CHECK(rc == 0, "aecs with a sqlite store%s%s", rc ? ": " : "", rc ? err.msg : "");
    rc = parse("{\"store\": {\"sqlite\": \"/host/kms.db\"}, \"policy\": \"/etc/kms/policy.json\"}");
    CHECK(rc == 0, "a sqlite store beside the files");
    refused("{\"store\": {\"sqlite\": \"kms.db\"}}", "store.sqlite: \"kms.db\" is not an absolute path for the store");
    refused("{\"store\": {\"sqlite\": \"/proc/self/fd/3\"}}", "store.sqlite: \"/proc/self/fd/3\" is under /proc");
    refused("{\"store\": {\"sqlite\": \"/dev/shm/kms.db\"}}", "is under /dev");
    refused("{\"store\": {\"sqlite\": \"/sys/x\"}}", "is under /sys");
    refused("{\"store\": {\"sqlite\": \"/host/../proc/x\"}}", "is not a normalised path");
    refused("{\"store\": {\"sqlite\": \"\"}}", "store.sqlite: \"\" is not an absolute path of 1 to 1024");
    refused("{\"store\": {\"sqlite\": 5}}", "store.sqlite: 5 is not an absolute path");
    refused("{\"store\": {\"sqlite\": \"/host/kms.db\", \"wal\": true}}", "store.wal: true is not a known key (sqlite)");
    refused("{\"store\": {\"sqlite\": \"/host/kms.db\"}, \"admins\": \"ab\"}", "admins: \"ab\" is not an array");
    refused("{\"store\": {\"sqlite\": \"/host/kms.db\"}, \"admins\": [\"xyz\"]}", "admins[0]: \"xyz\" is not 64 hex digits");
    snprintf(text, sizeof text, "{\"store\": {\"sqlite\": \"/host/kms.db\"}, \"admins\": [\"%s\", \"%s\"]}", adm, adm);
    refused(text, "admins[1]: \"00112233");
    refused(text, "is listed twice");
    snprintf(text, sizeof text, "{\"clients\": \"/etc/c.json\", \"admins\": [\"%s\"]}", adm);
    refused(text, "\"admins\" is for the sealed store: add \"store\": {\"sqlite\": PATH}");
    refused("{\"clients\": \"/etc/c.json\", \"recovery_key\": \"/etc/r.pem\"}", "\"recovery_key\" is for the sealed store");
    refused("{\"store\": {\"sqlite\": \"/host/kms.db\"}, \"recovery_key\": \"/host/r.pem\"}", "recovery_key: \"/host/r.pem\" is under /host");
    refused("{\"store\": {\"sqlite\": \"/host/kms.db\"}, \"recovery_key\": 1}", "recovery_key: 1 is not a path string");

    /* Recovery keys: RSA-3072 or X25519 public keys in PEM. */
    const char *types[3][2] = {{"RSA", "3072"}, {"X25519", NULL}, {"RSA", "2048"}};
    for (int i = 0; i < 3; i++) {
        EVP_PKEY *k = types[i][1] ? EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)atoi(types[i][1]))
                                  : EVP_PKEY_Q_keygen(NULL, NULL, "X25519");
        BIO *b = BIO_new(BIO_s_mem());
        PEM_write_bio_PUBKEY(b, k);
        char *pem;
        long len = BIO_get_mem_data(b, &pem);
        rc = kms_check_recovery_key("/etc/kms/recovery.pem", (const uint8_t *)pem, (size_t)len, &err);
        if (i < 2) CHECK(rc == 0, "a %s recovery key is accepted", types[i][0]);
        else CHECK(rc == -1 && strstr(err.msg, "/etc/kms/recovery.pem: a RSA key of 2048 bits, not RSA-3072 or X25519"),
                   "an RSA-2048 recovery key: %s", err.msg);
        BIO_free(b);
        EVP_PKEY_free(k);
    }
    rc = kms_check_recovery_key("/etc/kms/recovery.pem", (const uint8_t *)"hello", 5, &err);
    CHECK(rc == -1 && strstr(err.msg, "/etc/kms/recovery.pem: not a PEM public key"), "not PEM: %s", err.msg);

    /* Sealed-store names and namespace policies. */
    char ns[256];
    const char *nm;
    CHECK(kms_split_name("demo_key", ns, &nm) == 0 && !strcmp(ns, "default") && !strcmp(nm, "demo_key"),
          "NAME is namespace default");
    CHECK(kms_split_name("t1/db/key", ns, &nm) == 0 && !strcmp(ns, "t1") && !strcmp(nm, "db/key"),
          "NS/NAME: the namespace ends at the first '/'");
    CHECK(kms_split_name("/x", ns, &nm) == -1 && kms_split_name("t1/", ns, &nm) == -1, "an empty namespace or name");
    initra_policy *cp;
    initra_secret_policy *sp;
    const char *pin = "[{\"mr_signer\": \"00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\"}]";
    rc = kms_ns_policy_parse(pin, strlen(pin), "ns p", 0, &cp, &sp, &err);
    CHECK(rc == 0 && cp && !sp, "a client policy (initra list) for the whole namespace");
    initra_policy_free(cp);
    const char *per = "{\"identities\": {\"a\": {\"mr_signer\": \"00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\"}}, "
                      "\"secrets\": {\"k\": [\"a\"]}}";
    rc = kms_ns_policy_parse(per, strlen(per), "ns p", 0, &cp, &sp, &err);
    CHECK(rc == 0 && !cp && sp, "initra's per-secret format");
    initra_secret_policy_free(sp);
    rc = kms_ns_policy_parse("[{\"isv_prod_id\": 1}]", 20, "ns p", 0, &cp, &sp, &err);
    CHECK(rc == -1 && strstr(err.msg, "mr_enclave or mr_signer"), "a policy that pins nothing: %s", err.msg);
    rc = kms_ns_policy_parse("[{\"isv_prod_id\": 1}]", 20, "ns p", 1, &cp, &sp, &err);
    CHECK(rc == 0 && cp, "... accepted with accept_any_enclave");
    initra_policy_free(cp);
    rc = kms_ns_policy_parse("{\"identities\": ", 15, "ns p", 0, &cp, &sp, &err);
    CHECK(rc == -1 && strstr(err.msg, "ns p:1:"), "bad JSON names line and column: %s", err.msg);

    /* Strictness. */
    refused("{\"clients\": \"/etc/c.json\", \"secret\": \"/etc/s.json\"}", "kms.json: secret: \"/etc/s.json\" is not a known key");
    refused("{\"clients\": \"/etc/c.json\", \"clients\": \"/etc/d.json\"}", "kms.json:1:36: not valid JSON (duplicate");
    refused("{\"clients\": \"/etc/c.json\"", "kms.json:1:");
    refused("[]", "kms.json: (top level): [] is not a JSON object");
    refused("{\"clients\": 5}", "kms.json: clients: 5 is not a path string");
    refused("{\"clients\": \"/etc/c.json\", \"protocol\": \"tls\"}", "protocol: \"tls\" is not \"grpc_ratls\" or \"aecs\"");
    refused("{\"clients\": \"/etc/c.json\", \"pccs_url\": \"ftp://x\"}", "pccs_url: \"ftp://x\" is not an http");
    refused("{\"clients\": \"/etc/c.json\", \"accept_any_enclave\": \"yes\"}", "accept_any_enclave: \"yes\" is not true or false");
    refused("{\"clients\": \"/etc/c.json\", \"pccs_ca\": \"ca.pem\"}", "pccs_ca: \"ca.pem\" is not an absolute path");
    refused("{\"clients\": \"/etc/c.json\", \"ratls_format\": \"gramine\"}", "ratls_format: \"gramine\" is not \"occlum\", \"tcg\" or \"occlum+tcg\"");
    refused("{\"clients\": \"/etc/c.json\", \"max_connections\": 0}", "max_connections: 0 is not an integer from 1 to 65535");
    refused("{\"clients\": \"/etc/c.json\", \"max_concurrent_streams\": 5000}", "max_concurrent_streams: 5000 is not an integer from 1 to 1024");
    refused("{\"clients\": \"/etc/c.json\", \"trust_roots\": \"/etc/r.der\"}", "trust_roots: \"/etc/r.der\" is not an array");
    refused("{\"clients\": \"/etc/c.json\", \"trust_roots\": [1,2,3,4,5,6,7,8,9]}", "is not an array of at most 8");
    refused("{\"clients\": {\"path\": \"/x\"}}", "clients.sha256: (missing) is not 64 hex digits");
    refused("{\"clients\": {\"path\": \"/x\", \"sha256\": \"abc\"}}", "clients.sha256: \"abc\" is not 64 hex digits");
    refused("{\"clients\": {\"path\": \"/x\", \"sha256\": \"00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\", \"size\": 1}}",
            "clients.size: 1 is not a known key");
    refused("{\"clients\": {\"sha256\": \"00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\"}}",
            "clients.path: (missing) is not a string");
    refused("{\"clients\": \"/etc/c.json\", \"collateral\": \"/etc/c\", \"pccs_url\": \"https://p\"}", "give \"collateral\" or \"pccs_url\", not both");
    refused("{\"protocol\": \"aecs\"}", "protocol \"aecs\" needs \"store\"");
    refused("{\"protocol\": \"aecs\", \"store\": \"/s\", \"secrets\": \"/x\"}", "are for protocol grpc_ratls");
    refused("{\"clients\": \"/etc/c.json\", \"store\": \"/s\"}", "\"store\" is for protocol \"aecs\"");
    refused("{\"secrets\": \"/etc/s.json\"}", "give \"clients\" (Occlum's dynamic_config.json) or \"policy\"");
    refused("{}", "give \"clients\"");
    refused("{\"clients\": \"c.json\"}", "is not an absolute path");
    refused("{\"clients\": \"/etc/a\\u0000b\"}", "kms.json:1:27: not valid JSON");

    /* "Inside the image": host-provided places are refused unless pinned. */
    refused("{\"clients\": \"/proc/self/fd/7\"}", "clients: \"/proc/self/fd/7\" is under /proc, which the host provides");
    refused("{\"clients\": \"/dev/stdin\"}", "under /dev");
    refused("{\"clients\": \"/host/dynamic_config.json\"}", "under /host");
    refused("{\"clients\": \"/sys/x\"}", "under /sys");
    refused("{\"clients\": \"/etc/../proc/self/fd/7\"}", "is not a normalised path");
    refused("{\"clients\": \"/etc//c.json\"}", "is not a normalised path");
    refused("{\"clients\": \"/etc/./c.json\"}", "is not a normalised path");
    refused("{\"clients\": \"/etc/c.json\", \"trust_roots\": [\"/proc/self/fd/7\"]}", "trust_roots[0]: \"/proc/self/fd/7\" is under /proc");
    CHECK(kms_path_in_image("/processes/x", &err) == 0 && kms_path_in_image("/etc/kms/a.json", &err) == 0 &&
              kms_path_in_image("/hostname", &err) == 0,
          "/processes and /hostname are not /proc or /host");

    /* Reading: once, regular files only, pins checked. */
    char dir[] = "/tmp/initra-kms-conf.XXXXXX";
    if (!mkdtemp(dir)) return 1;
    char f[256], fifo[256], link[256];
    snprintf(f, sizeof f, "%s/c.json", dir);
    snprintf(fifo, sizeof fifo, "%s/fifo", dir);
    snprintf(link, sizeof link, "%s/link", dir);
    put(f, "[{\"mr_signer\": \"00\"}]");
    uint8_t sha[32], *buf = NULL;
    size_t n;
    SHA256((const uint8_t *)"[{\"mr_signer\": \"00\"}]", 21, sha);
    rc = kms_read_file(f, sha, 1, 1024, &buf, &n, &err);
    CHECK(rc == 0 && n == 21 && !memcmp(buf, "[{", 2), "a pinned file whose SHA-256 matches is read");
    free(buf);
    sha[0] ^= 1;
    rc = kms_read_file(f, sha, 1, 1024, &buf, &n, &err);
    CHECK(rc == -1 && strstr(err.msg, "its SHA-256 is") && strstr(err.msg, "not the"), "a changed pinned file: %s", err.msg);
    rc = kms_read_file(f, NULL, 1, 21, &buf, &n, &err);
    CHECK(rc == 0 && n == 21 && buf[21] == 0, "a file of exactly the limit is read whole, NUL-terminated");
    free(buf);
    rc = initra_kms_read_regular("/proc/self/status", 1 << 20, &buf, &n, &err);
    CHECK(rc == 0 && n > 0 && strstr((char *)buf, "Name:"), "a file whose fstat size is 0 is read to its end");
    free(buf);
    rc = initra_kms_read_regular("/proc/self/status", 8, &buf, &n, &err);
    CHECK(rc == -1 && strstr(err.msg, "more than the limit of 8 bytes"), "growing past the limit: %s", err.msg);
    rc = kms_read_file(f, NULL, 1, 10, &buf, &n, &err);
    CHECK(rc == -1 && strstr(err.msg, "more than the limit of 10"), "size limit: %s", err.msg);
    mkfifo(fifo, 0600);
    rc = initra_kms_read_regular(fifo, 1024, &buf, &n, &err);
    CHECK(rc == -1 && strstr(err.msg, "is not a regular file"), "a FIFO is refused without blocking: %s", err.msg);
    if (symlink("/proc/self/status", link) == 0) {
        rc = kms_read_file(link, NULL, 1, 1 << 20, &buf, &n, &err);
        CHECK(rc == -1 && strstr(err.msg, "resolves to /proc/"), "a symlink out of the image: %s", err.msg);
    }
    rc = kms_read_file("/proc/self/fd/0", NULL, 1, 1 << 20, &buf, &n, &err);
    CHECK(rc == -1 && strstr(err.msg, "under /proc"), "an inherited descriptor is not in the image: %s", err.msg);
    unlink(f);
    unlink(fifo);
    unlink(link);
    rmdir(dir);
    CHECK_DONE();
}
