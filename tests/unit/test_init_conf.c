/* init_ra_conf.json (src/init/conf.c): both of Occlum's schemas (GRPC-RATLS and AECS), the optional
 * "initra" section, the OCCLUM_INIT_RA_KMS_SERVER override, the hash of the exact bytes, and one error per
 * bad field naming the file, the JSON path and the value. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <openssl/sha.h>

#include "check.h"
#include "initra/init.h"
#include "init/internal.h"
#include "initra/rpc.h"

#define MRE "9b05ddd7a1e4bd1f2b4c3f1ad1c1e2c5e8c2b39a2a23d8d6c5e3b1f0a1b2c3d4"
#define PIN_ON                                                                                                 \
    "{\"verify_mr_enclave\":\"on\",\"verify_mr_signer\":\"off\",\"verify_isv_prod_id\":\"off\","             \
    "\"verify_isv_svn\":\"off\",\"verify_config_svn\":\"off\",\"verify_enclave_debuggable\":\"on\","          \
    "\"sgx_mrs\":[{\"mr_enclave\":\"" MRE "\",\"mr_signer\":\"\",\"isv_prod_id\":0,\"isv_svn\":0,"         \
    "\"config_svn\":0,\"debuggable\":false}]}"
#define PIN_OFF                                                                                                \
    "{\"verify_mr_enclave\":\"off\",\"verify_mr_signer\":\"off\",\"verify_isv_prod_id\":\"off\","            \
    "\"verify_isv_svn\":\"off\",\"verify_config_svn\":\"off\",\"verify_enclave_debuggable\":\"on\","          \
    "\"sgx_mrs\":[{\"mr_enclave\":\"\",\"mr_signer\":\"\",\"isv_prod_id\":0,\"isv_svn\":0,"                 \
    "\"config_svn\":0,\"debuggable\":false}]}"
#define KEYS "\"kms_keys\":[{\"key\":\"demo_key\",\"path\":\"/etc/demo_key\"},{\"key\":\"k2\",\"path\":\"/keys/k2\"}]"

static initra_init_conf C;
static initra_err E;

static int parse(const char *text)
{
    memset(&E, 0, sizeof E);
    return init_conf_parse(text, strlen(text), "c.json", &C, &E);
}

/* BODY is refused with an error containing WANT. */
static void refused(const char *what, const char *body, const char *want)
{
    int rc = parse(body);
    CHECK(rc == -1 && strstr(E.msg, want) && !strchr(E.msg, '\n'), "%s: %s", what, rc ? E.msg : "accepted");
    if (!rc) initra_init_conf_free(&C);
}

static void grpc(void)
{
    const char *good = "{\"kms_server\":\"localhost:50051\"," KEYS ",\"ra_config\":" PIN_ON "}";
    int rc = parse(good);
    CHECK(rc == 0, "GRPC-RATLS configuration loads: %s", rc ? E.msg : "");
    if (rc) return;
    uint8_t h[64];
    SHA512((const uint8_t *)good, strlen(good), h);
    CHECK(C.flavour == INITRA_INIT_GRPC_RATLS && !strcmp(C.host, "localhost") && C.port == 50051 &&
              !strcmp(C.kms_server, "localhost:50051"),
          "flavour GRPC-RATLS, host and port");
    CHECK(C.n_keys == 2 && !strcmp(C.keys[1].key, "k2") && !strcmp(C.keys[1].path, "/keys/k2") && !C.keys[0].service,
          "both keys with their paths");
    CHECK(C.deadline_ms == 30000 && C.initial_backoff_ms == 100 && C.max_backoff_ms == 2000 && C.call_timeout_ms == 5000,
          "timing defaults 30000/100/2000/5000 ms");
    CHECK(!memcmp(C.sha512, h, 64), "sha512 is SHA-512 of the exact bytes parsed");
    CHECK(C.server_policy != NULL && initra_init_conf_warning(&C) == NULL, "pinned ra_config: policy, no warning");
    initra_init_conf_free(&C);

    rc = parse("{\"kms_server\":\"[::1]:9\"," KEYS ",\"ra_config\":" PIN_ON ",\"initra\":{\"deadline_ms\":100,"
               "\"initial_backoff_ms\":5000,\"max_backoff_ms\":10,\"call_timeout_ms\":10,\"collateral\":\"/c.json\","
               "\"pccs_url\":\"https://p\",\"trust_roots\":[\"/r1.der\",\"/r2.der\"],\"ratls_format\":\"tcg\"}}");
    CHECK(rc == 0 && !strcmp(C.host, "::1") && C.port == 9 && C.deadline_ms == 100 && C.call_timeout_ms == 10 &&
              !strcmp(C.collateral, "/c.json") && !strcmp(C.pccs_url, "https://p") && C.n_trust_roots == 2 &&
              !strcmp(C.trust_roots[1], "/r2.der") && C.ratls_format != 0,
          "initra section: timings, collateral, pccs_url, trust_roots, ratls_format, [::1]:9: %s", rc ? E.msg : "");
    CHECK(rc == 0 && C.max_backoff_ms == 5000, "max_backoff_ms below initial_backoff_ms is raised to it");
    if (!rc) initra_init_conf_free(&C);

    setenv(INITRA_KMS_SERVER_ENV, "10.0.0.1:7", 1);
    rc = parse(good);
    CHECK(rc == 0 && !strcmp(C.host, "10.0.0.1") && C.port == 7 && !strcmp(C.kms_server, "10.0.0.1:7"),
          "OCCLUM_INIT_RA_KMS_SERVER overrides kms_server");
    if (!rc) initra_init_conf_free(&C);
    setenv(INITRA_KMS_SERVER_ENV, "nocolon", 1);
    refused("a bad OCCLUM_INIT_RA_KMS_SERVER", good, "environment OCCLUM_INIT_RA_KMS_SERVER: \"nocolon\" is not HOST:PORT");
    unsetenv(INITRA_KMS_SERVER_ENV);

    refused("not JSON", "{\"kms_server\":", "c.json");
    refused("duplicate key", "{\"kms_server\":\"a:1\",\"kms_server\":\"b:2\"," KEYS ",\"ra_config\":" PIN_ON "}",
            "c.json");
    refused("top level a list", "[]", "c.json");
    refused("kms_server missing", "{" KEYS ",\"ra_config\":" PIN_ON "}", "c.json: kms_server: (missing) is not a string");
    refused("kms_server without a port", "{\"kms_server\":\"localhost\"," KEYS ",\"ra_config\":" PIN_ON "}",
            "c.json: kms_server: \"localhost\" is not HOST:PORT");
    refused("port 0", "{\"kms_server\":\"h:0\"," KEYS ",\"ra_config\":" PIN_ON "}", "\"h:0\" is not HOST:PORT");
    refused("port 65536", "{\"kms_server\":\"h:65536\"," KEYS ",\"ra_config\":" PIN_ON "}", "is not HOST:PORT");
    refused("kms_keys empty", "{\"kms_server\":\"h:1\",\"kms_keys\":[],\"ra_config\":" PIN_ON "}",
            "c.json: kms_keys: [] is not a non-empty list");
    refused("a key without a name", "{\"kms_server\":\"h:1\",\"kms_keys\":[{\"path\":\"/a\"}],\"ra_config\":" PIN_ON "}",
            "c.json: kms_keys[0].key: (missing) is not a non-empty string");
    refused("a key name with a newline",
            "{\"kms_server\":\"h:1\",\"kms_keys\":[{\"key\":\"a\\nb\",\"path\":\"/a\"}],\"ra_config\":" PIN_ON "}",
            "kms_keys[0].key \"a\\x0ab\" has a non-printable character");
    refused("a relative key path", "{\"kms_server\":\"h:1\",\"kms_keys\":[{\"key\":\"a\",\"path\":\"rel\"}],\"ra_config\":" PIN_ON "}",
            "c.json: kms_keys[0].path: \"rel\" is not an absolute file path");
    refused("a key path ending in /",
            "{\"kms_server\":\"h:1\",\"kms_keys\":[{\"key\":\"a\",\"path\":\"/etc/\"}],\"ra_config\":" PIN_ON "}",
            "kms_keys[0].path: \"/etc/\" is not an absolute file path");
    refused("a key path that is a directory",
            "{\"kms_server\":\"h:1\",\"kms_keys\":[{\"key\":\"a\",\"path\":\"/tmp\"}],\"ra_config\":" PIN_ON "}",
            "kms_keys[0].path: \"/tmp\" is a directory");
    refused("two keys, one path",
            "{\"kms_server\":\"h:1\",\"kms_keys\":[{\"key\":\"a\",\"path\":\"/x\"},{\"key\":\"b\",\"path\":\"/x\"}],"
            "\"ra_config\":" PIN_ON "}",
            "kms_keys[1].path: \"/x\" is also the path of an earlier key");
    refused("ra_config missing", "{\"kms_server\":\"h:1\"," KEYS "}", "c.json: ra_config: (missing) is required");
    refused("ra_config pins nothing", "{\"kms_server\":\"h:1\"," KEYS ",\"ra_config\":" PIN_OFF "}",
            "c.json: ra_config: pins nothing");
    refused("initra: unknown key", "{\"kms_server\":\"h:1\"," KEYS ",\"ra_config\":" PIN_ON ",\"initra\":{\"dedline_ms\":1}}",
            "c.json: initra.dedline_ms: 1 is not a known key");
    refused("initra.deadline_ms too small",
            "{\"kms_server\":\"h:1\"," KEYS ",\"ra_config\":" PIN_ON ",\"initra\":{\"deadline_ms\":99}}",
            "c.json: initra.deadline_ms: 99 is not an integer from 100 to 3600000");
    refused("initra.collateral empty", "{\"kms_server\":\"h:1\"," KEYS ",\"ra_config\":" PIN_ON ",\"initra\":{\"collateral\":\"\"}}",
            "initra.collateral: \"\" is not a non-empty string");
    refused("initra.trust_roots relative",
            "{\"kms_server\":\"h:1\"," KEYS ",\"ra_config\":" PIN_ON ",\"initra\":{\"trust_roots\":[\"r.der\"]}}",
            "initra.trust_roots[0]: \"r.der\" is not an absolute path");
    refused("initra.ratls_format unknown",
            "{\"kms_server\":\"h:1\"," KEYS ",\"ra_config\":" PIN_ON ",\"initra\":{\"ratls_format\":\"x509\"}}",
            "initra.ratls_format: \"x509\" is not \"occlum\", \"tcg\" or \"occlum+tcg\"");
    refused("initra.accept_any_enclave not a boolean",
            "{\"kms_server\":\"h:1\"," KEYS ",\"ra_config\":" PIN_OFF ",\"initra\":{\"accept_any_enclave\":\"yes\"}}",
            "initra.accept_any_enclave: \"yes\" is not true or false");

    rc = parse("{\"kms_server\":\"h:1\"," KEYS ",\"ra_config\":" PIN_OFF ",\"initra\":{\"accept_any_enclave\":true}}");
    const char *w = rc ? NULL : initra_init_conf_warning(&C);
    CHECK(rc == 0 && C.accept_any_enclave && w && strstr(w, "accept_any_enclave"),
          "accept_any_enclave: an unpinned ra_config loads, with a warning: %s", rc ? E.msg : w ? w : "(none)");
    if (!rc) initra_init_conf_free(&C);
}

/* kms_server lists: parsing, and the failover walker both clients use (src/init/failover.c). */
static void servers(void)
{
    int rc = parse("{\"kms_server\":\" a:1 ,\\tb:2,[::1]:3\"," KEYS ",\"ra_config\":" PIN_ON "}");
    CHECK(rc == 0 && C.n_servers == 3 && !strcmp(C.servers[0], "a:1") && !strcmp(C.servers[1], "b:2") &&
              !strcmp(C.servers[2], "[::1]:3") && !strcmp(C.host, "a") && C.port == 1 &&
              !strcmp(C.kms_server, " a:1 ,\tb:2,[::1]:3"),
          "a list of three, spaces and tabs around entries trimmed, the first's host and port: %s", rc ? E.msg : "");
    if (!rc) initra_init_conf_free(&C);
    rc = parse("{\"kms_server\":\"h:1\"," KEYS ",\"ra_config\":" PIN_ON "}");
    CHECK(rc == 0 && C.n_servers == 1 && !strcmp(C.servers[0], "h:1"), "one server: a list of one");
    if (!rc) initra_init_conf_free(&C);
    char many[400] = "", body[800];
    for (int i = 1; i <= 17; i++) snprintf(many + strlen(many), sizeof many - strlen(many), "%sh%d:1", i > 1 ? "," : "", i);
    snprintf(body, sizeof body, "{\"kms_server\":\"%s\"," KEYS ",\"ra_config\":" PIN_ON "}", many);
    refused("17 servers", body, "c.json: kms_server: \"h1:1,h2:1,");
    CHECK(strstr(E.msg, "lists more than 16 servers") != NULL, "17 servers: %s", E.msg);
    *strrchr(many, ',') = 0;
    snprintf(body, sizeof body, "{\"kms_server\":\"%s\"," KEYS ",\"ra_config\":" PIN_ON "}", many);
    rc = parse(body);
    CHECK(rc == 0 && C.n_servers == 16 && !strcmp(C.servers[15], "h16:1"), "16 servers load: %s", rc ? E.msg : "");
    if (!rc) initra_init_conf_free(&C);
    refused("an empty entry", "{\"kms_server\":\"a:1,,b:2\"," KEYS ",\"ra_config\":" PIN_ON "}",
            "c.json: kms_server: \"a:1,,b:2\": entry 2 is empty; list HOST:PORT entries separated by commas");
    refused("a trailing comma", "{\"kms_server\":\"a:1, \"," KEYS ",\"ra_config\":" PIN_ON "}",
            "\"a:1, \": entry 2 is empty");
    refused("a leading comma", "{\"kms_server\":\",a:1\"," KEYS ",\"ra_config\":" PIN_ON "}", "entry 1 is empty");
    refused("an entry that is not HOST:PORT", "{\"kms_server\":\"a:1,nocolon\"," KEYS ",\"ra_config\":" PIN_ON "}",
            "c.json: kms_server: entry 2: \"nocolon\" is not HOST:PORT");
    refused("a space inside an entry", "{\"kms_server\":\"a:1,b c:2\"," KEYS ",\"ra_config\":" PIN_ON "}",
            "entry 2: \"b c:2\" is not HOST:PORT");
    refused("a repeated entry", "{\"kms_server\":\"a:1,b:2, a:1\"," KEYS ",\"ra_config\":" PIN_ON "}",
            "c.json: kms_server: entry 3 \"a:1\" repeats entry 1");
    setenv(INITRA_KMS_SERVER_ENV, "10.0.0.1:7, 10.0.0.2:7", 1);
    rc = parse("{\"kms_server\":\"h:1\"," KEYS ",\"ra_config\":" PIN_ON "}");
    CHECK(rc == 0 && C.n_servers == 2 && !strcmp(C.servers[1], "10.0.0.2:7") && !strcmp(C.host, "10.0.0.1"),
          "OCCLUM_INIT_RA_KMS_SERVER with two servers overrides kms_server: %s", rc ? E.msg : "");
    if (!rc) initra_init_conf_free(&C);
    setenv(INITRA_KMS_SERVER_ENV, "10.0.0.1:7,", 1);
    refused("OCCLUM_INIT_RA_KMS_SERVER with an empty entry", "{\"kms_server\":\"h:1\"," KEYS ",\"ra_config\":" PIN_ON "}",
            "environment OCCLUM_INIT_RA_KMS_SERVER: \"10.0.0.1:7,\": entry 2 is empty");
    unsetenv(INITRA_KMS_SERVER_ENV);

    int moves = init_failover_moves_on(INITRA_RPC_UNAVAILABLE) && init_failover_moves_on(INITRA_RPC_DEADLINE_EXCEEDED) &&
                init_failover_moves_on(INITRA_RPC_RESOURCE_EXHAUSTED);
    int final = 1;
    const int finals[] = {INITRA_RPC_PERMISSION_DENIED, INITRA_RPC_UNAUTHENTICATED, INITRA_RPC_NOT_FOUND,
                          INITRA_RPC_INVALID_ARGUMENT, INITRA_RPC_CANCELLED, INITRA_RPC_INTERNAL, INITRA_RPC_UNKNOWN,
                          INITRA_RPC_FAILED_PRECONDITION, INITRA_RPC_UNIMPLEMENTED, INITRA_RPC_DATA_LOSS};
    for (size_t i = 0; i < sizeof finals / sizeof *finals; i++) final &= !init_failover_moves_on(finals[i]);
    CHECK(moves && final, "UNAVAILABLE, DEADLINE_EXCEEDED and RESOURCE_EXHAUSTED move on; refusals and the rest are final");

    rc = parse("{\"kms_server\":\"a:1,b:2,c:3\"," KEYS ",\"ra_config\":" PIN_ON ",\"initra\":{\"deadline_ms\":60000,"
               "\"initial_backoff_ms\":1,\"max_backoff_ms\":1}}");
    CHECK(rc == 0, "three servers: %s", rc ? E.msg : "");
    if (rc) return;
    FILE *log = tmpfile();
    init_failover f;
    char buf[4096] = "", before[320];
    init_failover_start(&f, &C, 0, log);
    CHECK(f.cur == 0 && !strcmp(init_failover_before(&f, before, sizeof before), ""), "the first server is called first");
    int r1 = init_failover_next(&f, INITRA_RPC_UNAVAILABLE,
                                "rpc a:1 /ratls.GrSecret/GetSecret: " INITRA_RPC_NO_CONNECTION ": Connection refused", &E);
    size_t c1 = f.cur;
    int r2 = init_failover_next(&f, INITRA_RPC_UNAVAILABLE, "rpc b:2 /ratls.GrSecret/GetSecret: UNAVAILABLE: store locked",
                                &E);
    size_t c2 = f.cur;
    int r3 = init_failover_next(&f, INITRA_RPC_DEADLINE_EXCEEDED,
                                "rpc c:3 /ratls.GrSecret/GetSecret: DEADLINE_EXCEEDED: no reply within 5000 ms ()", &E);
    CHECK(r1 == 0 && c1 == 1 && r2 == 0 && c2 == 2 && r3 == 0 && f.cur == 0, "a -> b -> c -> a again (%zu %zu %zu)", c1,
          c2, f.cur);
    rewind(log);
    size_t got = fread(buf, 1, sizeof buf - 1, log);
    buf[got] = 0;
    fclose(log);
    int lines_ok = !strcmp(buf, "init: kms a:1 unreachable (Connection refused), trying b:2\n"
                       "init: kms b:2 answered UNAVAILABLE (UNAVAILABLE: store locked), trying c:3\n"
                       "init: kms c:3 did not reply in time (DEADLINE_EXCEEDED: no reply within 5000 ms ()), trying a:1 "
                       "again in 1 ms\n");
    CHECK(lines_ok, "one line per server left, naming it, why, and the next%s%s", lines_ok ? "" : ": ", lines_ok ? "" : buf);
    CHECK(!strcmp(init_failover_before(&f, before, sizeof before),
                  "; tried before it: b:2 answered UNAVAILABLE, c:3 did not reply in time"),
          "a final error at a:1 names the others tried: %s", before);
    f.deadline = init_now_ms() - 1;
    rc = init_failover_next(&f, INITRA_RPC_RESOURCE_EXHAUSTED,
                            "rpc a:1 /kubetee.Aecs/GetEnclaveSecret: RESOURCE_EXHAUSTED: more than 1 connections", &E);
    CHECK(rc == -1 && !strcmp(E.msg, "init: no KMS server served within 60000 ms: a:1 answered RESOURCE_EXHAUSTED, b:2 "
                                     "answered UNAVAILABLE, c:3 did not reply in time (last error, from a:1: "
                                     "RESOURCE_EXHAUSTED: more than 1 connections); check kms_server or "
                                     "OCCLUM_INIT_RA_KMS_SERVER"),
          "past the deadline: one line naming every server and why: %s", E.msg);
    initra_init_conf_free(&C);

    rc = parse("{\"kms_server\":\"h:1\"," KEYS ",\"ra_config\":" PIN_ON ",\"initra\":{\"deadline_ms\":100,"
               "\"initial_backoff_ms\":1000}}");
    log = tmpfile();
    init_failover_start(&f, &C, 1, log);
    rc = rc ? rc : init_failover_next(&f, INITRA_RPC_UNAVAILABLE, "rpc h:1 m: " INITRA_RPC_NO_CONNECTION ": x", &E);
    CHECK(rc == -1 && ftell(log) == 0 &&
              !strcmp(E.msg, "init: AECS server h:1 unreachable for 100 ms (last error: rpc h:1 m: " INITRA_RPC_NO_CONNECTION
                             ": x); check kms_server or OCCLUM_INIT_RA_KMS_SERVER"),
          "one server: no failover line; its backoff would pass the deadline: %s", E.msg);
    f.deadline = init_now_ms() - 1;
    rc = init_failover_next(&f, INITRA_RPC_RESOURCE_EXHAUSTED, "rpc h:1 m: RESOURCE_EXHAUSTED: full", &E);
    CHECK(rc == -1 && !strcmp(E.msg, "init: AECS server h:1 did not serve within 100 ms: it answered RESOURCE_EXHAUSTED "
                                     "(last error: rpc h:1 m: RESOURCE_EXHAUSTED: full)"),
          "one server that answered but did not serve: said so: %s", E.msg);
    fclose(log);
    initra_init_conf_free(&C);
}

#define UA_EMPTY "\"ua_ias_url\":\"\",\"ua_dcap_pccs_url\":\"\",\"ua_policy_str_tee_platform\":\"\""

static void aecs(void)
{
    int rc = parse("{\"kms_server\":\"h:19527\",\"kms_keys\":[{\"key\":\"demo_key\",\"path\":\"/etc/demo_key\","
                   "\"service\":\"service1\",\"encode\":\"base64\"}],\"ua_env_pccs_url\":\"https://pccs\","
                   "\"ra_config\":{\"ua_ias_url\":\"https://ias\",\"ua_uas_url\":\"\",\"ua_dcap_pccs_url\":\"https://p2\","
                   "\"ua_policy_hex_ta_measurement\":\"" MRE "\"}}");
    CHECK(rc == 0, "AECS configuration loads: %s", rc ? E.msg : "");
    if (rc) return;
    CHECK(C.flavour == INITRA_INIT_AECS && !strcmp(C.keys[0].service, "service1") && C.keys[0].base64,
          "flavour AECS, service and encode base64");
    CHECK(!strcmp(C.ua_pccs_url, "https://pccs") && !strcmp(C.ua_dcap_pccs_url, "https://p2"),
          "ua_env_pccs_url and ua_dcap_pccs_url kept");
    CHECK(!strcmp(C.unused, "ua_ias_url") && C.ua_policy_set && !C.ua_policy_unpinned && !initra_init_conf_warning(&C),
          "set but unused fields listed (%s), policy pinned, no warning", C.unused);
    initra_init_conf_free(&C);

    refused("AECS: unknown ra_config field",
            "{\"kms_server\":\"h:1\",\"kms_keys\":[{\"key\":\"k\",\"path\":\"/k\",\"service\":\"s\"}],"
            "\"ra_config\":{\"ua_bogus\":\"\",\"ua_policy_hex_signer\":\"" MRE "\"}}",
            "c.json: ra_config.ua_bogus: \"\" is not a known field");
    refused("AECS: a number where a string belongs",
            "{\"kms_server\":\"h:1\",\"kms_keys\":[{\"key\":\"k\",\"path\":\"/k\",\"service\":\"s\"}],"
            "\"ra_config\":{\"ua_ias_url\":1,\"ua_policy_hex_signer\":\"" MRE "\"}}",
            "c.json: ra_config.ua_ias_url: 1 is not a string");
    refused("AECS: service name with a slash",
            "{\"kms_server\":\"h:1\",\"kms_keys\":[{\"key\":\"k\",\"path\":\"/k\",\"service\":\"a/b\"}],"
            "\"ra_config\":{\"ua_policy_hex_signer\":\"" MRE "\"}}",
            "c.json: kms_keys[0].service:");
    refused("AECS: encode other than base64",
            "{\"kms_server\":\"h:1\",\"kms_keys\":[{\"key\":\"k\",\"path\":\"/k\",\"service\":\"s\",\"encode\":\"hex\"}],"
            "\"ra_config\":{\"ua_policy_hex_signer\":\"" MRE "\"}}",
            "c.json: kms_keys[0].encode: \"hex\" is not \"base64\"");
    refused("AECS: pins nothing",
            "{\"kms_server\":\"h:1\",\"kms_keys\":[{\"key\":\"k\",\"path\":\"/k\",\"service\":\"s\"}],"
            "\"ra_config\":{" UA_EMPTY "}}",
            "c.json: ra_config: pins nothing: neither ua_policy_hex_ta_measurement nor ua_policy_hex_signer");
    rc = parse("{\"kms_server\":\"h:1\",\"kms_keys\":[{\"key\":\"k\",\"path\":\"/k\",\"service\":\"s\"}],"
               "\"ra_config\":{" UA_EMPTY "},\"initra\":{\"accept_any_enclave\":true}}");
    const char *w = rc ? NULL : initra_init_conf_warning(&C);
    CHECK(rc == 0 && w && strstr(w, "not pinned"), "AECS accept_any_enclave: loads with a warning: %s",
          rc ? E.msg : w ? w : "(none)");
    if (!rc) initra_init_conf_free(&C);
}

static void load(void)
{
    char dir[] = "/tmp/initra-initconf-XXXXXX", p[128];
    int made = mkdtemp(dir) != NULL;
    CHECK(made, "temp dir: %s", made ? dir : strerror(errno));
    if (!made) return;
    const char *good = "{\"kms_server\":\"h:1\"," KEYS ",\"ra_config\":" PIN_ON "}";
    snprintf(p, sizeof p, "%s/init_ra_conf.json", dir);
    FILE *f = fopen(p, "w");
    if (f) fputs(good, f), fclose(f);
    uint8_t h[64];
    SHA512((const uint8_t *)good, strlen(good), h);
    int rc = initra_init_conf_load(p, &C, &E);
    CHECK(rc == 0 && !memcmp(C.sha512, h, 64), "load from a file: the hash of its bytes: %s", rc ? E.msg : "");
    if (!rc) initra_init_conf_free(&C);
    snprintf(p, sizeof p, "%s/fifo.json", dir);
    mkfifo(p, 0600);
    rc = initra_init_conf_load(p, &C, &E);
    CHECK(rc == -1 && strstr(E.msg, "fifo.json: is a") && strstr(E.msg, "not a regular file"),
          "a FIFO is refused (not read twice): %s", rc ? E.msg : "accepted");
    snprintf(p, sizeof p, "%s/missing.json", dir);
    rc = initra_init_conf_load(p, &C, &E);
    CHECK(rc == -1 && strstr(E.msg, "missing.json: cannot open"), "a missing file: %s", rc ? E.msg : "accepted");
    char cmd[160];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    CHECK(system(cmd) == 0, "temp dir removed");
}

int main(void)
{
    unsetenv(INITRA_KMS_SERVER_ENV);
    grpc();
    servers();
    aecs();
    load();
    CHECK_DONE();
}
