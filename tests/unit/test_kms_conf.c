/* The KMS configuration file: strict parsing (every bad input names the key or line), the "inside the
 * image" path rule, pinned files read once and checked, FIFOs refused. Real files in a temp directory. */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

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
