/* aecs: UA attributes of an SGX_DCAP report and UA policy matching, every attribute and every rule. */
#include <string.h>

#include <openssl/sha.h>

#include "aecs/internal.h"
#include "check.h"
#include "initra/aecs.h"

#define MRE "11111111111111111111111111111111111111111111111111111111111111AB"
#define MRS "2222222222222222222222222222222222222222222222222222222222222222"

static initra_sgx_report_body body(void)
{
    initra_sgx_report_body b;
    memset(&b, 0, sizeof b);
    memset(b.mr_enclave, 0x11, 32);
    b.mr_enclave[31] = 0xab;
    memset(b.mr_signer, 0x22, 32);
    b.isv_prod_id = 12;
    b.isv_svn = 3;
    b.attributes.flags = INITRA_ATTR_INIT | INITRA_ATTR_MODE64BIT;
    for (int i = 0; i < 64; i++) b.report_data[i] = (uint8_t)(0xa0 + (i & 15));
    return b;
}

/* 1 when the policy (JSON text) accepts b; why gets the refusal. */
static int accepts(const char *policy, const initra_sgx_report_body *b, initra_err *why)
{
    json_error_t je;
    json_t *j = json_loads(policy, 0, &je);
    if (!j) {
        snprintf(why->msg, sizeof why->msg, "test JSON: %s", je.text);
        return -1;
    }
    initra_ua_policy p;
    initra_err err;
    int r;
    if (aecs_ua_policy_from_json(j, "policy.json", &p, &err)) {
        snprintf(why->msg, sizeof why->msg, "load: %s", err.msg);
        r = -1;
    } else {
        initra_ua_attrs a;
        aecs_ua_attrs_from_sgx(b, &a, &err);
        r = aecs_ua_policy_check(&p, &a, why) == 0;
        aecs_ua_attrs_free(&a);
        initra_ua_policy_free(&p);
    }
    json_decref(j);
    return r;
}

static int refuses_load(const char *policy, const char *want, initra_err *err)
{
    json_t *j = json_loads(policy, 0, NULL);
    initra_ua_policy p;
    int r = aecs_ua_policy_from_json(j, "policy.json", &p, err);
    json_decref(j);
    if (r == 0) initra_ua_policy_free(&p);
    return r != 0 && strstr(err->msg, want) != NULL;
}

static void attributes(void)
{
    initra_sgx_report_body b = body();
    initra_ua_attrs a;
    initra_err err;
    CHECK(aecs_ua_attrs_from_sgx(&b, &a, &err) == 0, "attributes extracted");
    CHECK(!strcmp(a.v[INITRA_UA_STR_TEE_PLATFORM], "SGX_DCAP"), "str_tee_platform SGX_DCAP");
    CHECK(!strcmp(a.v[INITRA_UA_HEX_TA_MEASUREMENT], MRE), "hex_ta_measurement uppercase MRENCLAVE: %s",
          a.v[INITRA_UA_HEX_TA_MEASUREMENT]);
    CHECK(!strcmp(a.v[INITRA_UA_HEX_SIGNER], MRS), "hex_signer MRSIGNER");
    CHECK(!strcmp(a.v[INITRA_UA_HEX_PROD_ID], "12"), "hex_prod_id decimal: %s", a.v[INITRA_UA_HEX_PROD_ID]);
    CHECK(!strcmp(a.v[INITRA_UA_STR_MIN_ISVSVN], "3"), "str_min_isvsvn decimal");
    CHECK(!strcmp(a.v[INITRA_UA_BOOL_DEBUG_DISABLED], "true"), "production enclave: bool_debug_disabled true");
    CHECK(!strcmp(a.v[INITRA_UA_HEX_USER_DATA], "A0A1A2A3A4A5A6A7A8A9AAABACADAEAFA0A1A2A3A4A5A6A7A8A9AAABACADAEAF"),
          "hex_user_data = uppercase report_data[0..32]");
    CHECK(!strcmp(a.v[INITRA_UA_HEX_HASH_OR_PEM_PUBKEY], a.v[INITRA_UA_HEX_USER_DATA]),
          "hex_hash_or_pem_pubkey = report_data[32..64]");
    CHECK(!strcmp(a.v[INITRA_UA_HEX_SPID], ""), "hex_spid empty for DCAP");
    CHECK(!a.v[INITRA_UA_HEX_NONCE] && !a.v[INITRA_UA_STR_TEE_IDENTITY] && !a.v[INITRA_UA_HEX_PLATFORM_HW_VERSION],
          "nonce, tee identity, platform fields never filled");
    aecs_ua_attrs_free(&a);
    b.attributes.flags |= INITRA_ATTR_DEBUG;
    aecs_ua_attrs_from_sgx(&b, &a, &err);
    CHECK(!strcmp(a.v[INITRA_UA_BOOL_DEBUG_DISABLED], "false"), "debug enclave: bool_debug_disabled false");
    aecs_ua_attrs_free(&a);
    CHECK(aecs_ua_attr_index("hex_spid") == INITRA_UA_HEX_SPID && aecs_ua_attr_index("mrenclave") == -1,
          "attribute names");
}

static void rules(void)
{
    initra_sgx_report_body b = body();
    initra_err why;
    CHECK(!accepts("[]", &b, &why) && strstr(why.msg, "no entries"), "empty list fails: %s", why.msg);
    CHECK(accepts("[{}]", &b, &why) == -1 && strstr(why.msg, "policy.json: [0]: every field of the entry is empty, so "
                                                         "it would match any enclave; set hex_ta_measurement"),
          "an entry with no fields is refused when loaded (it would match anything): %s", why.msg);
    CHECK(accepts("[{\"hex_signer\":\"\",\"hex_ta_measurement\":\"\"}]", &b, &why) == -1 &&
              strstr(why.msg, "every field of the entry is empty"),
          "an entry whose fields are all \"\" is refused too: %s", why.msg);
    CHECK(accepts("[{\"hex_signer\":\"\",\"hex_ta_measurement\":\"" MRE "\"}]", &b, &why) == 1,
          "empty fields unchecked");
    CHECK(accepts("[{\"hex_ta_measurement\":\"" MRE "\",\"hex_signer\":\"" MRS "\",\"hex_prod_id\":\"12\","
                  "\"str_min_isvsvn\":\"3\",\"bool_debug_disabled\":\"true\",\"str_tee_platform\":\"SGX_DCAP\","
                  "\"hex_spid\":\"\"}]",
                  &b, &why) == 1,
          "every field matching accepts: %s", why.msg);
    CHECK(!accepts("[{\"hex_ta_measurement\":\"" MRE "\",\"hex_signer\":\"" MRE "\"}]", &b, &why) &&
              strstr(why.msg, "entry [0]: hex_signer is \"" MRS "\", the entry requires \"" MRE "\""),
          "AND within an entry: one failing field refuses, named with both values: %s", why.msg);
    CHECK(accepts("[{\"hex_signer\":\"" MRE "\"},{\"hex_signer\":\"" MRS "\"}]", &b, &why) == 1,
          "OR across entries: the second entry accepts");
    CHECK(!accepts("[{\"hex_signer\":\"" MRE "\",\"hex_prod_id\":\"1\"},{\"hex_signer\":\"" MRE "\"}]", &b, &why) &&
              strstr(why.msg, "no UA policy entry matches (2 entries); closest entry [1]: hex_signer"),
          "several entries: the closest one is named: %s", why.msg);
}

static void each_attribute(void)
{
    initra_sgx_report_body b = body();
    initra_err why;
    /* str_tee_platform exact */
    CHECK(!accepts("[{\"str_tee_platform\":\"TDX\"}]", &b, &why) && strstr(why.msg, "str_tee_platform is \"SGX_DCAP\""),
          "str_tee_platform exact: %s", why.msg);
    /* hex_ta_measurement: lowercase policy normalised to uppercase, exact */
    CHECK(accepts("[{\"hex_ta_measurement\":\"11111111111111111111111111111111111111111111111111111111111111ab\"}]",
                  &b, &why) == 1,
          "hex_ta_measurement given in lowercase matches the uppercase attribute");
    CHECK(!accepts("[{\"hex_ta_measurement\":\"" MRS "\"}]", &b, &why) && strstr(why.msg, "hex_ta_measurement is"),
          "hex_ta_measurement mismatch: %s", why.msg);
    CHECK(!accepts("[{\"hex_signer\":\"" MRE "\"}]", &b, &why) && strstr(why.msg, "hex_signer"), "hex_signer mismatch");
    /* hex_prod_id decimal exact */
    CHECK(accepts("[{\"hex_prod_id\":\"12\"}]", &b, &why) == 1, "hex_prod_id 12 matches ISVPRODID 12 (decimal)");
    CHECK(accepts("[{\"hex_prod_id\":12}]", &b, &why) == 1, "hex_prod_id as a JSON integer");
    CHECK(!accepts("[{\"hex_prod_id\":\"13\"}]", &b, &why) && strstr(why.msg, "hex_prod_id is \"12\", the entry requires \"13\""),
          "hex_prod_id mismatch: %s", why.msg);
    CHECK(refuses_load("[{\"hex_prod_id\":\"0C\"}]", "hex_prod_id: \"0C\" is not a decimal number", &why),
          "hex_prod_id in hex refused at load: %s", why.msg);
    /* str_min_isvsvn >= */
    CHECK(accepts("[{\"str_min_isvsvn\":\"2\"}]", &b, &why) == 1, "min isvsvn 2 <= 3 accepted");
    CHECK(accepts("[{\"str_min_isvsvn\":\"3\"}]", &b, &why) == 1, "min isvsvn 3 <= 3 accepted");
    CHECK(!accepts("[{\"str_min_isvsvn\":\"4\"}]", &b, &why) && strstr(why.msg, "ISVSVN 3, the entry requires at least 4"),
          "min isvsvn 4 > 3 refused: %s", why.msg);
    CHECK(refuses_load("[{\"str_min_isvsvn\":\"70000\"}]", "above 65535", &why), "min isvsvn above 65535 refused");
    /* bool_debug_disabled */
    CHECK(accepts("[{\"bool_debug_disabled\":\"1\"}]", &b, &why) == 1, "\"1\" is true");
    CHECK(accepts("[{\"bool_debug_disabled\":true}]", &b, &why) == 1, "JSON true");
    CHECK(!accepts("[{\"bool_debug_disabled\":\"false\"}]", &b, &why) && strstr(why.msg, "bool_debug_disabled is \"true\""),
          "production enclave refused by a debug-only entry: %s", why.msg);
    initra_sgx_report_body d = b;
    d.attributes.flags |= INITRA_ATTR_DEBUG;
    CHECK(!accepts("[{\"bool_debug_disabled\":\"true\"}]", &d, &why) && strstr(why.msg, "a debug enclave"),
          "debug enclave refused by bool_debug_disabled true: %s", why.msg);
    CHECK(accepts("[{\"bool_debug_disabled\":\"0\"}]", &d, &why) == 1, "\"0\" is false: debug enclave accepted");
    CHECK(!accepts("[{\"hex_signer\":\"" MRS "\"}]", &d, &why) &&
              strstr(why.msg, "bool_debug_disabled is \"false\": a debug enclave (its memory is readable by the host), "
                              "which the entry does not allow; set bool_debug_disabled \"false\""),
          "debug enclave refused by an entry that leaves bool_debug_disabled empty: %s", why.msg);
    CHECK(accepts("[{\"hex_signer\":\"" MRS "\",\"bool_debug_disabled\":\"false\"}]", &d, &why) == 1,
          "an entry asking for a debug enclave accepts it");
    CHECK(refuses_load("[{\"bool_debug_disabled\":\"yes\"}]", "not true, false, 1 or 0", &why), "bool typo refused");
    /* hex_user_data prefix */
    CHECK(accepts("[{\"hex_user_data\":\"a0a1a2\"}]", &b, &why) == 1, "hex_user_data prefix (case normalised)");
    CHECK(!accepts("[{\"hex_user_data\":\"A0A2\"}]", &b, &why) && strstr(why.msg, "requires the prefix \"A0A2\""),
          "hex_user_data non-prefix refused: %s", why.msg);
    CHECK(refuses_load("[{\"hex_user_data\":\"xyz\"}]", "hex_user_data: \"xyz\" is not hex digits", &why),
          "hex_user_data not hex refused");
    /* hex_hash_or_pem_pubkey: equal, or SHA-256 of a PEM */
    const char *pem = "-----BEGIN RSA PUBLIC KEY-----\nAAAA\n-----END RSA PUBLIC KEY-----\n";
    uint8_t h[32];
    SHA256((const unsigned char *)pem, strlen(pem), h);
    initra_sgx_report_body k = b;
    memcpy(k.report_data + 32, h, 32);
    char hex[65], pol[512];
    initra_hex(h, 32, hex);
    snprintf(pol, sizeof pol, "[{\"hex_hash_or_pem_pubkey\":\"%s\"}]", hex);
    CHECK(accepts(pol, &k, &why) == 1, "hex_hash_or_pem_pubkey equal to the hash");
    json_t *pj = json_pack("[{s:s}]", "hex_hash_or_pem_pubkey", pem);
    char *ptext = json_dumps(pj, 0);
    CHECK(accepts(ptext, &k, &why) == 1, "hex_hash_or_pem_pubkey given as a PEM: its SHA-256 matches");
    CHECK(!accepts(ptext, &b, &why) && strstr(why.msg, "SHA-256 of its PEM key"), "another key refused: %s", why.msg);
    free(ptext);
    json_decref(pj);
    CHECK(refuses_load("[{\"hex_hash_or_pem_pubkey\":\"abc\"}]", "neither 64 hex digits", &why), "bad key value refused");
    /* hex_nonce: never in an SGX report */
    CHECK(!accepts("[{\"hex_nonce\":\"00\"}]", &b, &why) && strstr(why.msg, "never has hex_nonce"),
          "hex_nonce set fails for SGX: %s", why.msg);
    /* hex_spid: "" for DCAP */
    CHECK(!accepts("[{\"hex_spid\":\"ABCD\"}]", &b, &why) && strstr(why.msg, "hex_spid is \"\""), "hex_spid set fails: %s",
          why.msg);
    /* never-filled fields */
    const char *never[] = {"hex_platform_hw_version", "hex_platform_sw_version", "hex_secure_flags",
                           "hex_platform_measurement", "hex_boot_measurement", "hex_ta_dyn_measurement"};
    for (size_t i = 0; i < sizeof never / sizeof never[0]; i++) {
        snprintf(pol, sizeof pol, "[{\"%s\":\"01\"}]", never[i]);
        CHECK(!accepts(pol, &b, &why) && strstr(why.msg, "never has"), "%s set fails: %s", never[i], why.msg);
    }
    CHECK(!accepts("[{\"str_tee_identity\":\"1\"}]", &b, &why) && strstr(why.msg, "never has str_tee_identity"),
          "str_tee_identity set fails");
}

/* What pins an enclave: hex_ta_measurement or hex_signer; the KMS refuses other entries unless
 * accept_any_enclave (aecs_ua_policy_check_pinned). */
static void pinning(void)
{
    initra_err err;
    json_t *j = json_loads("[{\"hex_signer\":\"" MRS "\"},{\"hex_ta_measurement\":\"" MRE "\"},"
                           "{\"hex_prod_id\":\"12\",\"bool_debug_disabled\":\"true\"}]",
                           0, NULL);
    initra_ua_policy p;
    CHECK(aecs_ua_policy_from_json(j, "store.json: secrets[0].policy", &p, &err) == 0 && p.n == 3,
          "entries with some field load: %s", err.msg);
    CHECK(initra_ua_entry_pinned(&p.entries[0]) && initra_ua_entry_pinned(&p.entries[1]) &&
              !initra_ua_entry_pinned(&p.entries[2]),
          "hex_signer or hex_ta_measurement pins an entry; prod id and debug flag do not");
    CHECK(aecs_ua_policy_check_pinned(&p, "store.json: secrets[0].policy", &err) != 0 &&
              strstr(err.msg, "store.json: secrets[0].policy: [2]: the entry pins neither hex_ta_measurement "
                              "(mrenclave) nor hex_signer (mrsigner)") &&
              strstr(err.msg, "accept_any_enclave"),
          "an unpinned entry named, with what to set and the opt-out: %s", err.msg);
    initra_ua_policy_free(&p);
    json_decref(j);
    j = json_loads("[{\"hex_signer\":\"" MRS "\",\"hex_prod_id\":\"12\"}]", 0, NULL);
    CHECK(aecs_ua_policy_from_json(j, "p", &p, &err) == 0 && aecs_ua_policy_check_pinned(&p, "p", &err) == 0,
          "a pinned policy passes the check");
    initra_ua_policy_free(&p);
    json_decref(j);
}

static void loading(void)
{
    initra_err err;
    CHECK(refuses_load("{}", "must be a JSON array", &err), "object refused: %s", err.msg);
    CHECK(refuses_load("[1]", "[0]: a UA policy entry must be an object", &err), "non-object entry refused");
    CHECK(refuses_load("[{\"hex_signer\":\"" MRS "\"},{\"mrenclave\":\"\"}]",
                       "policy.json: [1]: unknown UA attribute \"mrenclave\"", &err),
          "unknown key refused with entry and key: %s", err.msg);
    CHECK(refuses_load("[{\"hex_signer\":\"12\"}]", "policy.json: [0]: hex_signer: \"12\" is not 64 hex digits", &err),
          "short signer refused: %s", err.msg);
    CHECK(refuses_load("[{\"hex_signer\":5}]", "[0].hex_signer: must be a string", &err), "number for hex refused");

    json_t *j = json_loads("[{\"hex_signer\":\"" MRS "\",\"hex_prod_id\":\"007\",\"hex_spid\":\"\"}]", 0, NULL);
    initra_ua_policy p;
    CHECK(aecs_ua_policy_from_json(j, "p", &p, &err) == 0, "policy loads");
    json_t *back = aecs_ua_policy_to_json(&p);
    char *s = json_dumps(back, JSON_SORT_KEYS | JSON_COMPACT);
    CHECK(!strcmp(s, "[{\"hex_prod_id\":\"7\",\"hex_signer\":\"" MRS "\"}]"), "round trip, normalised, empty dropped: %s", s);
    free(s);
    json_decref(back);
    json_decref(j);
    initra_ua_policy_free(&p);

    /* init_ra_conf.json's ra_config */
    j = json_loads("{\"ua_ias_url\":\"\",\"ua_policy_str_tee_platform\":\"\",\"ua_policy_hex_signer\":\"" MRS "\","
                   "\"ua_policy_hex_prod_id\":\"\"}",
                   0, NULL);
    int empty = -1;
    CHECK(initra_ua_policy_from_ra_config(j, "init_ra_conf.json", &p, &empty, &err) == 0 && p.n == 1 && empty == 0,
          "ra_config ua_policy_* read as one entry");
    initra_sgx_report_body b = body();
    initra_ua_attrs a;
    aecs_ua_attrs_from_sgx(&b, &a, &err);
    CHECK(aecs_ua_policy_check(&p, &a, &err) == 0, "ra_config entry accepts the signer");
    initra_ua_policy_free(&p);
    json_decref(j);
    j = json_loads("{\"ua_policy_hex_signer\":\"\",\"ua_policy_hex_nonce\":\"\"}", 0, NULL);
    CHECK(initra_ua_policy_from_ra_config(j, "c", &p, &empty, &err) == 0 && empty == 1, "all-empty ra_config detected");
    CHECK(aecs_ua_policy_check(&p, &a, &err) == 0, "all-empty entry accepts any report");
    initra_ua_policy_free(&p);
    json_decref(j);
    j = json_loads("{\"ua_policy_hex_mrenclave\":\"\"}", 0, NULL);
    CHECK(initra_ua_policy_from_ra_config(j, "init_ra_conf.json", &p, &empty, &err) != 0 &&
              strstr(err.msg, "unknown UA attribute \"ua_policy_hex_mrenclave\""),
          "unknown ua_policy_ field refused: %s", err.msg);
    json_decref(j);
    aecs_ua_attrs_free(&a);
}

int main(void)
{
    attributes();
    rules();
    each_attribute();
    loading();
    pinning();
    CHECK_DONE();
}
