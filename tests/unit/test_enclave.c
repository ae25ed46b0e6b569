/* enclave module: Occlum.json validation, KSS id byte order, CONFIGID / CONFIGSVN parsing, SIGSTRUCT
 * signing and verification (tampering refused), ELF dependency parsing, the image measurement. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/rsa.h>

#include "check.h"
#include "enclave/internal.h"
#include "initra/enclave.h"
#include "sgx/internal.h"

static int parse(const char *json, initra_enclave_meta *m, initra_err *err)
{
    return enclave_occlum_json_parse(json, strlen(json), "Occlum.json", m, err);
}

static void test_config(void)
{
    initra_enclave_meta m;
    initra_err err = {{0}};
    CHECK(parse(INITRA_OCCLUM_JSON_TEMPLATE, &m, &err) == 0 && m.debuggable && !m.enable_kss && m.product_id == 0,
          "the template parses");
    const char *kss = "{\"metadata\":{\"product_id\":3,\"version_number\":65535,\"debuggable\":false,\"enable_kss\":true,"
                      "\"family_id\":{\"high\":\"0x12345678aabbccdd\",\"low\":\"0x87654321ffeeccbb\"},"
                      "\"ext_prod_id\":{\"high\":\"0x2244668811335577\",\"low\":\"0x1234567801020304\"}},"
                      "\"config_binding\":\"config_id\",\"resource_limits\":{\"anything\":[1,2]}}";
    CHECK(parse(kss, &m, &err) == 0 && m.product_id == 3 && m.version_number == 65535 && !m.debuggable &&
              m.enable_kss && m.family_id_high == 0x12345678aabbccddull && m.family_id_low == 0x87654321ffeeccbbull &&
              m.ext_prod_id_low == 0x1234567801020304ull && m.config_binding == INITRA_BIND_CONFIG_ID,
          "RFC 589 example IDs parse; unknown sections accepted");
    uint8_t id[16];
    enclave_kss_id_bytes(0x12345678aabbccddull, 0x87654321ffeeccbbull, id);
    static const uint8_t want[16] = {0xbb, 0xcc, 0xee, 0xff, 0x21, 0x43, 0x65, 0x87,
                                     0xdd, 0xcc, 0xbb, 0xaa, 0x78, 0x56, 0x34, 0x12};
    CHECK(memcmp(id, want, 16) == 0, "ISVFAMILYID bytes: low LE then high LE");
    char *xml = enclave_xml(&m);
    CHECK(xml && strstr(xml, "<ISVFAMILYID_H>1311768467732155613</ISVFAMILYID_H>") &&
              strstr(xml, "<ISVFAMILYID_L>9756277981074869435</ISVFAMILYID_L>") &&
              strstr(xml, "<EnableKSS>1</EnableKSS>") && strstr(xml, "<DisableDebug>1</DisableDebug>") &&
              strstr(xml, "<ProdID>3</ProdID>") && strstr(xml, "<ISVSVN>65535</ISVSVN>"),
          "Enclave.xml decimal values");
    free(xml);
    m.enable_kss = 0;
    xml = enclave_xml(&m);
    CHECK(xml && strstr(xml, "<ISVFAMILYID_H>0</ISVFAMILYID_H>") && strstr(xml, "<ISVEXTPRODID_L>0</ISVEXTPRODID_L>") &&
              strstr(xml, "<EnableKSS>0</EnableKSS>"),
          "Enclave.xml zeros with enable_kss false");
    free(xml);

    struct {
        const char *json, *want;
    } bad[] = {
        {"{\"metadata\":{\"product_id\":0,\"version_number\":0,\"debuggable\":true,\"family_id\":{\"high\":\"0xZZ\",\"low\":\"0x0\"}}}",
         "Occlum.json: metadata.family_id.high: \"0xZZ\" is not a 64-bit hex number such as 0x1234567812345678"},
        {"{\"metadata\":{\"product_id\":0,\"version_number\":0,\"debuggable\":true,\"ext_prod_id\":{\"high\":\"0x0\",\"low\":\"0x11112222333344445\"}}}",
         "Occlum.json: metadata.ext_prod_id.low: \"0x11112222333344445\" is not a 64-bit hex number"},
        {"{\"metadata\":{\"product_id\":70000,\"version_number\":0,\"debuggable\":true}}",
         "Occlum.json: metadata.product_id: 70000 is not an integer from 0 to 65535"},
        {"{\"metadata\":{\"product_id\":0,\"debuggable\":true}}", "Occlum.json: metadata.version_number: missing"},
        {"{\"metadata\":{\"product_id\":0,\"version_number\":0,\"debuggable\":\"yes\"}}",
         "Occlum.json: metadata.debuggable: \"yes\" is not true or false"},
        {"{\"metadata\":{\"product_id\":0,\"version_number\":0,\"debuggable\":true,\"enable_ksss\":true}}",
         "Occlum.json: metadata.enable_ksss: unknown key"},
        {"{\"metadata\":{\"product_id\":0,\"version_number\":0,\"debuggable\":true},\"config_binding\":\"config_id\"}",
         "needs metadata.enable_kss: true"},
        {"{\n  \"metadata\": {\n    \"product_id\": 0,,\n", "Occlum.json:3:21: not valid JSON"},
        {"{}", "Occlum.json: metadata: missing"},
        {"[1]", "Occlum.json: the top level is not a JSON object"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        err.msg[0] = 0;
        int rc = parse(bad[i].json, &m, &err);
        CHECK(rc == -1 && strstr(err.msg, bad[i].want), "bad Occlum.json %zu refused: %s", i, err.msg);
    }
}

static void test_kss_options(void)
{
    initra_err err = {{0}};
    uint8_t id[64], raw[65];
    for (int i = 0; i < 65; i++) raw[i] = (uint8_t)(i * 7 + 1);
    char *b64 = initra_b64_encode(raw, 64);
    CHECK(initra_config_id_parse(b64, id, &err) == 0 && memcmp(id, raw, 64) == 0, "64-byte config id");
    free(b64);
    b64 = initra_b64_encode(raw, 65);
    CHECK(initra_config_id_parse(b64, id, &err) == -1 && strstr(err.msg, "65 bytes"), "65 bytes refused: %s", err.msg);
    free(b64);
    CHECK(initra_config_id_parse("aGVsbG8", id, &err) == 0 && memcmp(id, "hello", 5) == 0 && id[5] == 0 && id[63] == 0,
          "padding optional, zero padded");
    CHECK(initra_config_id_parse("aGV*bG8=", id, &err) == -1 && strstr(err.msg, "config_id: character '*' at position 3"),
          "bad character refused: %s", err.msg);
    uint16_t svn;
    CHECK(initra_config_svn_parse("0x12ab", &svn, &err) == 0 && svn == 4779, "0x12ab = 4779");
    /* issue 14: Occlum's launcher reads 0123 with strtoul(.., 0) as octal 83; refused, not read as 123 */
    CHECK(initra_config_svn_parse("0123", &svn, &err) == -1 && strstr(err.msg, "octal 83, initra would read decimal 123"),
          "0123 refused (octal under Occlum): %s", err.msg);
    CHECK(initra_config_svn_parse("0", &svn, &err) == 0 && svn == 0, "0 accepted");
    CHECK(initra_config_svn_parse("0x0123", &svn, &err) == 0 && svn == 0x123, "0x0123 is hex 291");
    CHECK(initra_config_svn_parse("123", &svn, &err) == 0 && svn == 123, "123 is decimal 123");
    CHECK(initra_config_svn_parse("65535", &svn, &err) == 0 && svn == 65535, "65535 accepted");
    CHECK(initra_config_svn_parse("65536", &svn, &err) == -1, "65536 refused: %s", err.msg);
    CHECK(initra_config_svn_parse("12a", &svn, &err) == -1, "12a refused");
    CHECK(initra_config_svn_parse("", &svn, &err) == -1 && initra_config_svn_parse("-1", &svn, &err) == -1,
          "empty and negative refused");
}

static EVP_PKEY *gen_key(int bits, unsigned e)
{
    EVP_PKEY *key = NULL;
    BIGNUM *be = BN_new();
    BN_set_word(be, e);
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL);
    EVP_PKEY_keygen_init(ctx);
    EVP_PKEY_CTX_set_rsa_keygen_bits(ctx, bits);
    EVP_PKEY_CTX_set1_rsa_keygen_pubexp(ctx, be);
    EVP_PKEY_generate(ctx, &key);
    EVP_PKEY_CTX_free(ctx);
    BN_free(be);
    return key;
}

static void test_sigstruct(void)
{
    initra_err err = {{0}};
    EVP_PKEY *key = gen_key(3072, 3);
    initra_sigstruct s, v;
    memset(&s, 0, sizeof s);
    s.date = 0x20250101;
    s.misc_mask = 0xffffffff;
    s.attributes.flags = INITRA_ATTR_MODE64BIT | INITRA_ATTR_KSS;
    s.attributes.xfrm = 3;
    memset(s.enclave_hash, 0xab, 32);
    enclave_kss_id_bytes(1, 2, s.isv_family_id);
    s.isv_prod_id = 7;
    s.isv_svn = 9;
    uint8_t buf[INITRA_SIGSTRUCT_SIZE];
    CHECK(enclave_sigstruct_sign(&s, key, buf, &err) == 0, "sign: %s", err.msg);
    CHECK(initra_sigstruct_verify(buf, sizeof buf, &v, &err) == 0, "verify: %s", err.msg);
    CHECK(v.isv_prod_id == 7 && v.isv_svn == 9 && v.attributes.flags == s.attributes.flags && v.isv_family_id[8] == 1 &&
              v.isv_family_id[0] == 2 && buf[1024] == 7 && buf[1026] == 9 && buf[960] == 0xab,
          "fields at their offsets");
    uint8_t re[INITRA_SIGSTRUCT_SIZE];
    enclave_sigstruct_encode(&v, re);
    CHECK(memcmp(re, buf, sizeof buf) == 0, "parse/encode round trip");
    BIGNUM *n = NULL;
    EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_RSA_N, &n);
    uint8_t mod[384], mrs[32], mrs2[32];
    BN_bn2lebinpad(n, mod, 384);
    BN_free(n);
    CHECK(memcmp(mod, buf + 128, 384) == 0 && initra_le32(buf + 512) == 3, "modulus little-endian at 128, exponent 3");
    initra_mrsigner_of_modulus(buf + 128, mrs);
    initra_sgx_report_body id;
    enclave_identity_from_sigstruct(&v, NULL, 4779, &id);
    memcpy(mrs2, id.mr_signer, 32);
    CHECK(memcmp(mrs, mrs2, 32) == 0 && id.config_svn == 4779 && (id.attributes.flags & INITRA_ATTR_INIT) &&
              memcmp(id.mr_enclave, s.enclave_hash, 32) == 0,
          "identity from SIGSTRUCT");
    static const struct { int off; const char *want; } tamper[] = {
        {1024, "does not verify"}, {960, "does not verify"}, {20, "does not verify"}, {600, "does not verify"},
        {1100, "Q1"}, {1500, "Q2"}, {0, "HEADER"}, {30, "HEADER2"}, {512, "EXPONENT"}, {60, "reserved"},
    };
    for (size_t i = 0; i < sizeof tamper / sizeof tamper[0]; i++) {
        uint8_t t[INITRA_SIGSTRUCT_SIZE];
        memcpy(t, buf, sizeof t);
        t[tamper[i].off] ^= 1;
        err.msg[0] = 0;
        CHECK(initra_sigstruct_verify(t, sizeof t, &v, &err) == -1 && strstr(err.msg, tamper[i].want),
              "byte %d flipped: refused (%s)", tamper[i].off, err.msg);
    }
    CHECK(initra_sigstruct_verify(buf, 1807, &v, &err) == -1, "1807 bytes refused");
    EVP_PKEY *k2 = gen_key(2048, 3);
    CHECK(enclave_sigstruct_sign(&s, k2, buf, &err) == -1, "RSA-2048 cannot sign");
    EVP_PKEY_free(k2);
    EVP_PKEY_free(key);
}

static void test_elf(void)
{
    initra_err err = {{0}};
    uint8_t *buf;
    size_t n;
    initra_elf_deps d;
    if (initra_read_file("/proc/self/exe", (size_t)1 << 30, &buf, &n, &err) == 0) {
        CHECK(enclave_elf_parse_deps(buf, n, &d, &err) == 0, "parse own ELF: %s", err.msg);
        int libc = 0;
        for (size_t i = 0; i < d.n_needed; i++) libc |= strncmp(d.needed[i], "libc.so", 7) == 0;
        CHECK(d.interp && d.interp[0] == '/' && libc, "own ELF: interpreter %s, needs libc", d.interp ? d.interp : "-");
        enclave_elf_deps_free(&d);
        /* Every truncation is refused or parsed without reading past the end (ASan watches). */
        int ok = 1;
        for (size_t k = 0; k < 8192 && k < n; k += 7) {
            uint8_t *p = malloc(k ? k : 1);
            memcpy(p, buf, k);
            if (enclave_elf_parse_deps(p, k, &d, &err) == 0) enclave_elf_deps_free(&d);
            free(p);
        }
        CHECK(ok, "truncated ELF prefixes handled");
        free(buf);
    }
    CHECK(enclave_elf_parse_deps((const uint8_t *)"#!/bin/sh\n", 10, &d, &err) == -1, "a script is not ELF");
    if (initra_read_file("fuzz/corpus/elf_deps/mini.elf", 4096, &buf, &n, &err) == 0) {
        CHECK(enclave_elf_parse_deps(buf, n, &d, &err) == 0 && d.interp && !strcmp(d.interp, "/lib64/ld-linux-x86-64.so.2") &&
                  d.n_needed == 2 && !strcmp(d.needed[0], "libc.so.6") && !strcmp(d.needed[1], "libm.so.6") &&
                  d.n_runpath == 2 && !strcmp(d.runpath[0], "/opt/lib") && !strcmp(d.runpath[1], "$ORIGIN/../lib"),
              "hand-made ELF: interpreter, two DT_NEEDED, DT_RUNPATH split");
        if (d.interp) enclave_elf_deps_free(&d);
        /* DT_NEEDED offset past the string table */
        buf[n - 96 + 8] = 0xff;
        CHECK(enclave_elf_parse_deps(buf, n, &d, &err) == -1 && strstr(err.msg, "past the string table"),
              "string offset out of range refused: %s", err.msg);
        free(buf);
    } else {
        CHECK(0, "fuzz/corpus/elf_deps/mini.elf: %s", err.msg);
    }
}

static void test_measure(void)
{
    initra_err err = {{0}};
    char dir[] = "/tmp/initra-measure-XXXXXX";
    if (!mkdtemp(dir)) {
        CHECK(0, "mkdtemp %s failed: the image measurement checks did not run", dir);
        return;
    }
    char p[512];
    snprintf(p, sizeof p, "%s/bin", dir);
    mkdir(p, 0755);
    snprintf(p, sizeof p, "%s/bin/a", dir);
    initra_write_file_atomic(p, "hello", 5, 0755, &err);
    snprintf(p, sizeof p, "%s/bin/sh", dir);
    symlink("a", p);
    uint8_t m1[32], m2[32], m3[32], m4[32];
    CHECK(enclave_measure_image(dir, m1, &err) == 0 && enclave_measure_image(dir, m2, &err) == 0 && !memcmp(m1, m2, 32),
          "measurement is deterministic");
    snprintf(p, sizeof p, "%s/bin/a", dir);
    chmod(p, 0700);
    CHECK(enclave_measure_image(dir, m3, &err) == 0 && memcmp(m1, m3, 32), "a mode change changes it");
    chmod(p, 0755);
    snprintf(p, sizeof p, "%s/bin/sh", dir);
    unlink(p);
    symlink("b", p);
    CHECK(enclave_measure_image(dir, m4, &err) == 0 && memcmp(m1, m4, 32), "a symlink target change changes it");
    unlink(p);
    symlink("a", p);
    CHECK(enclave_measure_image(dir, m4, &err) == 0 && !memcmp(m1, m4, 32), "restored: same again");
    /* config_id binding check */
    snprintf(p, sizeof p, "%s/conf.json", dir);
    initra_write_file_atomic(p, "{}", 2, 0644, &err);
    uint8_t cid[64];
    const char *paths[1] = {p};
    CHECK(initra_config_id_of_files(paths, 1, cid, &err) == 0 && sgx_config_id_check(p, cid, &err) == 0,
          "config_id check accepts the bound file");
    cid[0] ^= 1;
    CHECK(sgx_config_id_check(p, cid, &err) == -1 && strstr(err.msg, "is not this enclave's CONFIGID"),
          "config_id check refuses another: %s", err.msg);
    /* Read once, from a regular file only: a FIFO (which could serve other bytes to each open) is refused
     * without waiting for a writer. */
    cid[0] ^= 1;
    snprintf(p, sizeof p, "%s/conf.fifo", dir);
    CHECK(mkfifo(p, 0600) == 0, "mkfifo");
    CHECK(sgx_config_id_check(p, cid, &err) == -1 && strstr(err.msg, "is a FIFO, not a regular file"),
          "config_id check refuses a FIFO at once: %s", err.msg);
    uint8_t *buf = NULL;
    size_t blen;
    CHECK(initra_read_regular_file(dir, 100, &buf, &blen, &err) == -1 && strstr(err.msg, "is a directory"),
          "a directory is not a regular file: %s", err.msg);
    snprintf(p, sizeof p, "%s/conf.json", dir);
    CHECK(initra_read_regular_file(p, 100, &buf, &blen, &err) == 0 && blen == 2 && !memcmp(buf, "{}", 2),
          "a regular file is read whole");
    free(buf);
    CHECK(initra_read_regular_file(p, 1, &buf, &blen, &err) == -1 && strstr(err.msg, "1-byte limit"),
          "the size limit holds: %s", err.msg);
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    CHECK(system(cmd) == 0, "cleanup");
}

int main(void)
{
    test_config();
    test_kss_options();
    test_sigstruct();
    test_elf();
    test_measure();
    CHECK_DONE();
}
