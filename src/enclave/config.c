/* Occlum.json: the metadata section (docs/protocols.md#kss), validated with errors that name the file, the
 * JSON path and the value; the templates written by `initra new`. */
#include "enclave/internal.h"
#include "initra/enclave.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char INITRA_OCCLUM_JSON_TEMPLATE[] =
    "{\n"
    "    \"resource_limits\": {\n"
    "        \"user_space_size\": \"300MB\",\n"
    "        \"kernel_space_heap_size\": \"32MB\",\n"
    "        \"max_num_of_threads\": 32\n"
    "    },\n"
    "    \"process\": {\n"
    "        \"default_stack_size\": \"4MB\",\n"
    "        \"default_heap_size\": \"32MB\"\n"
    "    },\n"
    "    \"entry_points\": [\n"
    "        \"/bin\"\n"
    "    ],\n"
    "    \"env\": {\n"
    "        \"default\": [\n"
    "            \"OCCLUM=yes\"\n"
    "        ],\n"
    "        \"untrusted\": [\n"
    "            \"EXAMPLE\"\n"
    "        ]\n"
    "    },\n"
    "    \"metadata\": {\n"
    "        \"product_id\": 0,\n"
    "        \"version_number\": 0,\n"
    "        \"debuggable\": true,\n"
    "        \"enable_kss\": false,\n"
    "        \"family_id\": {\n"
    "            \"high\": \"0x0\",\n"
    "            \"low\": \"0x0\"\n"
    "        },\n"
    "        \"ext_prod_id\": {\n"
    "            \"high\": \"0x0\",\n"
    "            \"low\": \"0x0\"\n"
    "        }\n"
    "    },\n"
    "    \"config_binding\": \"measured\"\n"
    "}\n";

/* Exactly as in seed-occlum-init-ra.txt. */
static const char TEMPLATE_AECS[] =
    "{\n"
    "    \"kms_server\": \"localhost:19527\",\n"
    "    \"kms_keys\": [\n"
    "        {\n"
    "            \"key\": \"demo_key\",\n"
    "            \"path\": \"/etc/demo_key\",\n"
    "            \"service\": \"service\"\n"
    "        }\n"
    "    ],\n"
    "    \"ua_env_pccs_url\": \"\",\n"
    "    \"ra_config\": {\n"
    "        \"ua_ias_url\": \"https://api.trustedservices.intel.com/sgx/dev/attestation/v4\",\n"
    "        \"ua_ias_spid\": \"\",\n"
    "        \"ua_ias_apk_key\": \"\",\n"
    "        \"ua_dcap_lib_path\": \"\",\n"
    "        \"ua_dcap_pccs_url\": \"\",\n"
    "        \"ua_uas_url\": \"\",\n"
    "        \"ua_uas_app_key\": \"\",\n"
    "        \"ua_uas_app_secret\": \"\",\n"
    "        \"ua_policy_str_tee_platform\": \"\",\n"
    "        \"ua_policy_hex_platform_hw_version\": \"\",\n"
    "        \"ua_policy_hex_platform_sw_version\": \"\",\n"
    "        \"ua_policy_hex_secure_flags\": \"\",\n"
    "        \"ua_policy_hex_platform_measurement\": \"\",\n"
    "        \"ua_policy_hex_boot_measurement\": \"\",\n"
    "        \"ua_policy_str_tee_identity\": \"\",\n"
    "        \"ua_policy_hex_ta_measurement\": \"\",\n"
    "        \"ua_policy_hex_ta_dyn_measurement\": \"\",\n"
    "        \"ua_policy_hex_signer\": \"\",\n"
    "        \"ua_policy_hex_prod_id\": \"\",\n"
    "        \"ua_policy_str_min_isvsvn\": \"\",\n"
    "        \"ua_policy_hex_user_data\": \"\",\n"
    "        \"ua_policy_bool_debug_disabled\": \"\",\n"
    "        \"ua_policy_hex_hash_or_pem_pubkey\": \"\",\n"
    "        \"ua_policy_hex_nonce\": \"\",\n"
    "        \"ua_policy_hex_spid\": \"\"\n"
    "    }\n"
    "}\n";

static const char TEMPLATE_GRPC_RATLS[] =
    "{\n"
    "    \"kms_server\": \"localhost:50051\",\n"
    "    \"kms_keys\": [\n"
    "        {\n"
    "            \"key\": \"demo_key\",\n"
    "            \"path\": \"/etc/demo_key\"\n"
    "        }\n"
    "    ],\n"
    "    \"ra_config\": {\n"
    "        \"verify_mr_enclave\" : \"off\",\n"
    "        \"verify_mr_signer\" : \"off\",\n"
    "        \"verify_isv_prod_id\" : \"off\",\n"
    "        \"verify_isv_svn\" : \"off\",\n"
    "        \"verify_config_svn\" : \"off\",\n"
    "        \"verify_enclave_debuggable\" : \"off\",\n"
    "        \"sgx_mrs\": [\n"
    "            {\n"
    "                \"mr_enclave\" : \"\",\n"
    "                \"mr_signer\" : \"\",\n"
    "                \"isv_prod_id\" : 0,\n"
    "                \"isv_svn\" : 0,\n"
    "                \"config_svn\" : 0,\n"
    "                \"debuggable\" : true\n"
    "            }\n"
    "        ]\n"
    "    }\n"
    "}\n";

const char *enclave_init_ra_template(const char *flavour)
{
    if (!flavour) return NULL;
    if (!strcmp(flavour, "grpc_ratls")) return TEMPLATE_GRPC_RATLS;
    if (!strcmp(flavour, "aecs")) return TEMPLATE_AECS;
    return NULL;
}

void enclave_kss_id_bytes(uint64_t high, uint64_t low, uint8_t out[16])
{
    initra_put_le64(out, low);
    initra_put_le64(out + 8, high);
}

/* The value as compact JSON text for an error message. */
static const char *show(const json_t *v, char *buf, size_t n)
{
    char *s = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
    snprintf(buf, n, "%s", s ? s : "?");
    free(s);
    if (strlen(buf) == n - 1 && n > 4) memcpy(buf + n - 4, "...", 4);
    return buf;
}

static int bad(initra_err *err, const char *name, const char *path, const json_t *v, const char *what)
{
    char b[96];
    if (!v) return initra_fail(err, "%s: %s: missing; %s", name, path, what);
    return initra_fail(err, "%s: %s: %s %s", name, path, show(v, b, sizeof b), what);
}

static int get_u16(const json_t *o, const char *key, const char *name, const char *path, uint16_t *out,
                   initra_err *err)
{
    const json_t *v = json_object_get(o, key);
    uint64_t x;
    if (initra_json_uint(v, 0, 65535, &x))
        return bad(err, name, path, v, v ? "is not an integer from 0 to 65535" : "it must be an integer from 0 to 65535");
    *out = (uint16_t)x;
    return 0;
}

static int get_bool(const json_t *o, const char *key, const char *name, const char *path, int dflt, int *out,
                    initra_err *err)
{
    const json_t *v = json_object_get(o, key);
    if (!v && dflt >= 0) {
        *out = dflt;
        return 0;
    }
    if (!json_is_boolean(v)) return bad(err, name, path, v, v ? "is not true or false" : "it must be true or false");
    *out = json_is_true(v);
    return 0;
}

/* "0x" followed by 1 to 16 hex digits. */
static int parse_hex64(const char *s, uint64_t *out)
{
    if (s[0] != '0' || (s[1] != 'x' && s[1] != 'X')) return -1;
    size_t len = strlen(s + 2);
    if (len < 1 || len > 16) return -1;
    uint64_t v;
    if (initra_parse_uint(s, UINT64_MAX, &v)) return -1;
    *out = v;
    return 0;
}

static int get_id(const json_t *meta, const char *key, const char *name, uint64_t *high, uint64_t *low,
                  initra_err *err)
{
    *high = *low = 0;
    const json_t *o = json_object_get(meta, key);
    char path[64];
    snprintf(path, sizeof path, "metadata.%s", key);
    if (!o) return 0;
    if (!json_is_object(o)) return bad(err, name, path, o, "is not an object with \"high\" and \"low\"");
    static const char *const parts[] = {"high", "low", NULL};
    const char *k = initra_json_unknown_key(o, parts);
    if (k) {
        snprintf(path, sizeof path, "metadata.%s.%.16s", key, k);
        return initra_fail(err, "%s: %s: unknown key (known: high, low)", name, path);
    }
    const json_t *v;
    uint64_t *dst[2] = {high, low};
    for (int i = 0; i < 2; i++) {
        snprintf(path, sizeof path, "metadata.%s.%s", key, parts[i]);
        v = json_object_get(o, parts[i]);
        if (!json_is_string(v) || parse_hex64(json_string_value(v), dst[i]))
            return bad(err, name, path, v, "is not a 64-bit hex number such as 0x1234567812345678");
    }
    return 0;
}

static const char *const META_KEYS[] = {"product_id", "version_number", "debuggable", "enable_kss",
                                        "family_id",  "ext_prod_id",    "pkru",       NULL};

int enclave_occlum_json_parse(const char *text, size_t len, const char *name, initra_enclave_meta *m,
                             initra_err *err)
{
    memset(m, 0, sizeof *m);
    json_t *root;
    if (initra_json_parse(text, len, name, 0, NULL, &root, err)) return -1;
    int rc = -1;
    const json_t *meta = json_object_get(root, "metadata");
    if (!json_is_object(root)) {
        initra_fail(err, "%s: the top level is not a JSON object", name);
        goto out;
    }
    if (!json_is_object(meta)) {
        bad(err, name, "metadata", meta, meta ? "is not an object" : "an object with product_id, version_number, "
                                                                     "debuggable (see `initra new`)");
        goto out;
    }
    const char *k = initra_json_unknown_key(meta, META_KEYS);
    if (k) {
        char list[160];
        initra_fail(err, "%s: metadata.%.64s: unknown key (known: %s)", name, k,
                    initra_json_key_list(META_KEYS, list, sizeof list));
        goto out;
    }
    if (get_u16(meta, "product_id", name, "metadata.product_id", &m->product_id, err) ||
        get_u16(meta, "version_number", name, "metadata.version_number", &m->version_number, err) ||
        get_bool(meta, "debuggable", name, "metadata.debuggable", -1, &m->debuggable, err) ||
        get_bool(meta, "enable_kss", name, "metadata.enable_kss", 0, &m->enable_kss, err) ||
        get_id(meta, "family_id", name, &m->family_id_high, &m->family_id_low, err) ||
        get_id(meta, "ext_prod_id", name, &m->ext_prod_id_high, &m->ext_prod_id_low, err))
        goto out;
    const json_t *cb = json_object_get(root, "config_binding");
    m->config_binding = INITRA_BIND_MEASURED;
    if (cb) {
        const char *s = json_is_string(cb) ? json_string_value(cb) : "";
        if (!strcmp(s, "config_id")) m->config_binding = INITRA_BIND_CONFIG_ID;
        else if (strcmp(s, "measured")) {
            bad(err, name, "config_binding", cb, "is not \"measured\" or \"config_id\"");
            goto out;
        }
    }
    if (m->config_binding == INITRA_BIND_CONFIG_ID && !m->enable_kss) {
        initra_fail(err, "%s: config_binding: \"config_id\" needs metadata.enable_kss: true (CONFIGID exists only "
                         "with KSS); set it and rebuild", name);
        goto out;
    }
    rc = 0;
out:
    json_decref(root);
    return rc;
}
