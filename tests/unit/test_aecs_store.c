/* aecs: YAML to JSON, spec files, secret creation and the store file round trip. */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "aecs/internal.h"
#include "check.h"
#include "initra/aecs.h"

#define PIN "CDCDCDCDCDCDCDCDCDCDCDCDCDCDCDCDCDCDCDCDCDCDCDCDCDCDCDCDCDCDCDCD"

static const char SPEC[] = "kind: SecretPolicy\n"
                           "secrets:\n"
                           "- spec:\n"
                           "    name: k1\n"
                           "    type: SECRET_TYPE_IMPORT_DATA\n"
                           "    service: s1\n"
                           "    policy:\n"
                           "      enclaveMatchAnyRules:\n"
                           "      - mrsigner: \"\"\n"
                           "        prodID: 7\n"
                           "        hex_hash_or_pem_pubkey: \"\"\n"
                           "  data: \"line1\\nline2\"\n"
                           "- spec:\n"
                           "    name: k2\n"
                           "    type: AES256_KEY\n"
                           "    service: s1\n"
                           "    policy: {enclaveMatchAnyRules: []}\n";

static void yaml(void)
{
    initra_err err;
    json_t *j = aecs_yaml_to_json("a: [1, {b: c}]\nd: \"\"\n", 20, "t.yaml", &err);
    char *s = j ? json_dumps(j, JSON_SORT_KEYS | JSON_COMPACT) : NULL;
    CHECK(s && !strcmp(s, "{\"a\":[\"1\",{\"b\":\"c\"}],\"d\":\"\"}"), "YAML tree as JSON strings: %s", s ? s : err.msg);
    free(s);
    json_decref(j);
    struct {
        const char *text, *want;
    } bad[] = {
        {"a: 1\na: 2\n", "t.yaml: line 2: duplicate key \"a\""},
        {"a: &x 1\nb: *x\n", "anchors are not supported"},
        {"a: 1\n---\nb: 2\n", "more than one YAML document"},
        {"a: [\n", "t.yaml: line 2: YAML: "},
        {"", "the YAML document is empty"},
        {"? [a]\n: b\n", "a mapping key must be a plain scalar"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        j = aecs_yaml_to_json(bad[i].text, strlen(bad[i].text), "t.yaml", &err);
        CHECK(!j && strstr(err.msg, bad[i].want), "YAML refused: %s", err.msg);
        json_decref(j);
    }
    char deep[400];
    memset(deep, '[', 100);
    deep[100] = 0;
    j = aecs_yaml_to_json(deep, 100, "t.yaml", &err);
    CHECK(!j && strstr(err.msg, "nested deeper than"), "deep nesting refused: %s", err.msg);
}

static void specs_and_store(const char *dir)
{
    initra_err err;
    initra_aecs_specs sp;
    CHECK(initra_aecs_specs_parse(SPEC, strlen(SPEC), "spec.yaml", &sp, &err) == 0 && sp.n == 2, "spec parses: %s", err.msg);
    if (sp.n != 2) return;
    CHECK(!strcmp(sp.items[0].data, "line1\nline2") && sp.items[0].type == INITRA_AECS_IMPORT_DATA &&
              sp.items[0].policy.n == 1 && !strcmp(sp.items[0].policy.entries[0].v[INITRA_UA_HEX_PROD_ID], "7"),
          "import data and policy (prodID -> hex_prod_id)");
    CHECK(sp.items[1].type == INITRA_AECS_AES256_KEY && !sp.items[1].data && sp.items[1].policy.n == 0,
          "AES key to generate, empty rule list");
    initra_aecs_store st;
    memset(&st, 0, sizeof st);
    CHECK(initra_aecs_store_create_secret(&st, &sp.items[0], &err) != 0 && strstr(err.msg, "not registered"),
          "unknown service refused: %s", err.msg);
    CHECK(initra_aecs_store_register_service(&st, "s1", &err) == 0, "service registered");
    CHECK(initra_aecs_store_create_secret(&st, &sp.items[0], &err) == 0 &&
              initra_aecs_store_create_secret(&st, &sp.items[1], &err) == 0,
          "secrets created: %s", err.msg);
    const initra_aecs_secret *k2 = initra_aecs_store_find(&st, "s1", "k2");
    CHECK(k2 && strlen(k2->data) == 64 && strspn(k2->data, "0123456789ABCDEF") == 64, "AES256_KEY: 64 uppercase hex");
    char path[4200];
    snprintf(path, sizeof path, "%s/store.json", dir);
    CHECK(initra_aecs_store_save(&st, path, &err) == 0, "store saved");
    struct stat sb;
    CHECK(stat(path, &sb) == 0 && (sb.st_mode & 0777) == 0600, "store file 0600");
    initra_aecs_store back;
    CHECK(initra_aecs_store_load(path, 0, &back, &err) == 0 && back.n_secrets == 2 && back.n_services == 1,
          "store loads back: %s", err.msg);
    const initra_aecs_secret *b1 = initra_aecs_store_find(&back, "s1", "k1");
    CHECK(b1 && !strcmp(b1->data, "line1\nline2") && b1->policy.n == 1 &&
              !strcmp(initra_aecs_store_find(&back, "s1", "k2")->data, k2->data),
          "secrets identical after the round trip");
    CHECK(initra_aecs_store_destroy_secret(&back, "s1", "k1", &err) == 0 && !initra_aecs_store_find(&back, "s1", "k1") &&
              back.n_secrets == 1,
          "destroy-secret");
    initra_aecs_store_free(&back);
    snprintf(path, sizeof path, "%s/missing.json", dir);
    CHECK(initra_aecs_store_load(path, 1, &back, &err) == 0 && back.n_services == 0, "missing store allowed: empty");
    CHECK(initra_aecs_store_load(path, 0, &back, &err) != 0, "missing store refused otherwise");
    /* RSA key pair generation in AECS's JSON form */
    initra_aecs_spec rsa = {"s1", "r", INITRA_AECS_RSA_KEY_PAIR, NULL, 0, 2048, {NULL, 0}};
    CHECK(initra_aecs_store_create_secret(&st, &rsa, &err) == 0, "RSA_KEY_PAIR generated");
    const initra_aecs_secret *r = initra_aecs_store_find(&st, "s1", "r");
    json_t *kp = r ? json_loads(r->data, 0, NULL) : NULL;
    const char *priv = json_string_value(json_object_get(kp, "privateKey"));
    const char *pub = json_string_value(json_object_get(kp, "publicKey"));
    CHECK(priv && pub && strstr(priv, "BEGIN RSA PRIVATE KEY") && strstr(pub, "BEGIN RSA PUBLIC KEY") &&
              !strncmp(r->data, "{\"privateKey\":", 14),
          "RSA_KEY_PAIR data: {\"privateKey\", \"publicKey\"} PKCS#1 PEMs in field order");
    EVP_PKEY *pk = priv ? aecs_rsa_private_from_pem(priv, &err) : NULL;
    EVP_PKEY *pu = pub ? aecs_rsa_public_from_pem(pub, &err) : NULL;
    CHECK(pk && pu && EVP_PKEY_eq(pk, pu) == 1, "the pair matches");
    EVP_PKEY_free(pk);
    EVP_PKEY_free(pu);
    json_decref(kp);
    initra_aecs_spec ghost = {"s1", "x", INITRA_AECS_CERTIFICATE, NULL, 0, 0, {NULL, 0}};
    CHECK(initra_aecs_store_create_secret(&st, &ghost, &err) != 0 && strstr(err.msg, "CERTIFICATE is not supported"),
          "CERTIFICATE refused: %s", err.msg);
    initra_aecs_store_free(&st);
    initra_aecs_specs_free(&sp);
}

static void bad_specs(void)
{
    initra_err err;
    initra_aecs_specs sp;
    struct {
        const char *text, *want;
    } bad[] = {
        {"{\"kind\":\"Other\",\"secrets\":[]}", "kind: must be SecretPolicy"},
        {"{\"kind\":\"SecretPolicy\",\"secrets\":[]}", "secrets: must be a non-empty list"},
        {"{\"kind\":\"SecretPolicy\",\"extra\":1,\"secrets\":[]}", "unknown key \"extra\""},
        {"kind: SecretPolicy\nsecrets:\n- spec: {name: a, service: s, type: SECRET_TYPE_IMPORT_DATA, policy: "
         "{enclaveMatchAnyRules: [{mrsigner: " PIN "}]}}\n",
         "SECRET_TYPE_IMPORT_DATA needs data"},
        {"kind: SecretPolicy\nsecrets:\n- spec: {name: a, service: s, type: SECRET_TYPE_AES256_KEY, policy: "
         "{enclaveMatchAnyRules: [{mrsigner: " PIN "}]}}\n  data: abc\n",
         "an AES256_KEY is 64 uppercase hex digits"},
        {"kind: SecretPolicy\nsecrets:\n- spec: {name: a, service: s, type: SECRET_TYPE_RSA_KEY_PAIR, policy: "
         "{enclaveMatchAnyRules: [{mrsigner: " PIN "}]}, params: [{key: bit_length, value: 1024}]}\n",
         "bit_length \"1024\" is not 2048, 3072 or 4096"},
        {"kind: SecretPolicy\nsecrets:\n- spec: {name: a, service: s, type: SECRET_TYPE_IMPORT_DATA}\n  data: x\n",
         "secrets[0].spec.policy: is missing"},
        {"kind: SecretPolicy\nsecrets:\n- spec: {name: a, service: s, type: IMPORT_DATA, policy: "
         "{enclaveMatchAnyRules: [{mrsigner: x, hex_signer: y}]}}\n  data: x\n",
         "enclaveMatchAnyRules[0]: \"hex_signer\" is given twice"},
        {"kind: SecretPolicy\nsecrets:\n- spec: {name: a, service: s, type: IMPORT_DATA, policy: "
         "{enclaveMatchAnyRules: [{mrsigner: " PIN "}]}}\n  data: x\n- spec: {name: a, service: s, type: IMPORT_DATA, policy: "
         "{enclaveMatchAnyRules: [{mrsigner: " PIN "}]}}\n  data: y\n",
         "secrets[1]: secret \"a\" of service \"s\" is also secrets[0]"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int rc = initra_aecs_specs_parse(bad[i].text, strlen(bad[i].text), "s.yaml", &sp, &err);
        CHECK(rc != 0 && strstr(err.msg, bad[i].want) && !strncmp(err.msg, "s.yaml: ", 8), "spec refused: %s", err.msg);
        if (rc == 0) initra_aecs_specs_free(&sp);
    }
}

/* A rule whose fields are all empty is refused when a store holding one is loaded and when a spec creates
 * one; a rule pinning neither mrenclave nor mrsigner loads, and the KMS's check names it. */
static void pinning(void)
{
    initra_err err;
    initra_aecs_store st;
    const char *empty = "{\"version\": 1, \"services\": [\"s\"], \"secrets\": [{\"service\": \"s\", \"name\": \"k\", "
                        "\"type\": \"IMPORT_DATA\", \"data\": \"x\", \"policy\": [{}]}]}";
    CHECK(initra_aecs_store_from_json(empty, strlen(empty), "store.json", &st, &err) != 0 &&
              strstr(err.msg, "store.json: secrets[0].policy: [0]: every field of the entry is empty"),
          "a store holding an all-empty rule is refused: %s", err.msg);
    const char *unpinned = "{\"version\": 1, \"services\": [\"s\"], \"secrets\": [{\"service\": \"s\", \"name\": "
                           "\"k\", \"type\": \"IMPORT_DATA\", \"data\": \"x\", \"policy\": [{\"hex_signer\": \"" PIN "\"}, "
                           "{\"str_min_isvsvn\": \"9\"}]}]}";
    CHECK(initra_aecs_store_from_json(unpinned, strlen(unpinned), "store.json", &st, &err) == 0, "loads: %s", err.msg);
    CHECK(initra_aecs_store_check_pinned(&st, "store.json", &err) != 0 &&
              strstr(err.msg, "store.json: secrets[0] (s/k).policy: [1]: the entry pins neither"),
          "the KMS's check names the secret and the unpinned entry: %s", err.msg);
    initra_aecs_store_free(&st);
    initra_aecs_specs sp;
    const char *spec = "kind: SecretPolicy\nsecrets:\n- spec: {name: a, service: s, type: SECRET_TYPE_IMPORT_DATA, "
                       "policy: {enclaveMatchAnyRules: [{mrsigner: \"\", mrenclave: \"\"}]}}\n  data: x\n";
    CHECK(initra_aecs_specs_parse(spec, strlen(spec), "s.yaml", &sp, &err) != 0 &&
              strstr(err.msg, "s.yaml: secrets[0].spec.policy.enclaveMatchAnyRules: [0]: every field of the entry is "
                              "empty, so it would match any enclave; set hex_ta_measurement (mrenclave) or hex_signer"),
          "a spec with an all-empty rule is refused: %s", err.msg);
}

int main(void)
{
    char dir[] = "/tmp/initra-aecs-store.XXXXXX";
    CHECK(mkdtemp(dir) != NULL, "temp dir");
    yaml();
    specs_and_store(dir);
    bad_specs();
    pinning();
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    CHECK(system(cmd) == 0, "cleanup");
    CHECK_DONE();
}
