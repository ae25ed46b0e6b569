/* gramine_peer: RA-TLS certificates shaped as Gramine makes them, and models of the Gramine and Occlum
 * verifiers' extraction, for interop tests. Written from upstream facts, not from src/ratls:
 *
 * Gramine (gramineproject/gramine, tools/sgx/ra-tls/ra_tls_attest.c, ra_tls_verify_common.c, ra_tls.h):
 *  - key: EC P-384 since v1.4 (RSA-3072 in v1.0-v1.3); report_data of the legacy quote = SHA-256 of
 *    mbedtls_pk_write_pubkey_der (the DER SubjectPublicKeyInfo), rest zero;
 *  - certificate (mbedTLS x509write): v3, serial 1, ecdsa-with-SHA256, issuer = subject =
 *    "CN=RATLS,O=GramineDevelopers,C=US", validity 20010101000000..20301231235959 unless
 *    RA_TLS_CERT_TIMESTAMP_NOT_BEFORE/AFTER; extensions in this order, none critical: basicConstraints
 *    (CA false), subjectKeyIdentifier, authorityKeyIdentifier, the legacy quote under the "OID" whose
 *    content bytes are 06 09 2A 86 48 86 F8 4D 8A 39 06 (NON_STANDARD_INTEL_SGX_QUOTE_OID, i.e. on the
 *    wire 0.6.9.42.840.113741.1337.6), and since v1.8 the TCG DICE tagged evidence 2.23.133.5.4.9:
 *    CBOR tag 60000 [bstr quote, bstr claims], claims = {"pubkey-hash": bstr(CBOR [1, bstr SHA-256(SPKI)])},
 *    its quote's report_data = SHA-256(claims), rest zero;
 *  - verifier: memmem over the extensions for the TCG OID's DER (06 06 67 81 05 05 04 09); if found it
 *    decides (failure is failure); else memmem for the 11 legacy bytes. After the OID an optional
 *    BOOLEAN 01 01 00, then 04 82 LL LL, 128 <= LL <= 8192 (SGX_QUOTE_MAX_SIZE) and within the buffer;
 *    the quote at least 436 bytes (sizeof(sgx_quote_t)). Keys P-256 or P-384.
 *    Dates are not checked (the verify callback clears mbedTLS's flags).
 * Occlum (occlum/occlum, tools/toolchains/grpc_ratls/ra_tls/0001-Add-Occlum-SGX-tls-function.patch):
 *  - occlum_get_quote: OBJ_create("1.2.840.113741.1", "RA-TLS", "RA-TLS Extension"); walks every
 *    extension, takes one whose OBJ_obj2nid is known and whose long name starts with the 8 bytes
 *    memcmp(RA_TLS_LONG_NAME, ln, sizeof(RA_TLS_LONG_NAME)) compares (a pointer's size); the quote is
 *    i2d_ASN1_OCTET_STRING of its value minus the first 4 bytes; occlum_verify_pubkey_hash compares
 *    report_data[0..32] with SHA-256(i2d_X509_PUBKEY).
 *
 * usage: gramine_peer key OUT.pem [--rsa3072]
 *        gramine_peer report-data KEY.pem legacy|tcg             (prints 128 hex digits)
 *        gramine_peer cert KEY.pem --legacy-quote Q [--tcg-quote Q] [--intended-oid]
 *                     [--not-before YYYYMMDDhhmmss] [--not-after YYYYMMDDhhmmss] -o CERT.pem
 *        gramine_peer gramine-verify CERT.pem -o QUOTE             (prints which extension decided)
 *        gramine_peer occlum-verify CERT.pem -o QUOTE */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cbor.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/sha.h>
#include <openssl/x509v3.h>

static int die(const char *fmt, const char *arg)
{
    fprintf(stderr, "gramine_peer: ");
    fprintf(stderr, fmt, arg);
    fputc('\n', stderr);
    return 1;
}

static EVP_PKEY *read_key(const char *path)
{
    FILE *f = fopen(path, "r");
    EVP_PKEY *k = f ? PEM_read_PrivateKey(f, NULL, NULL, NULL) : NULL;
    if (f) fclose(f);
    return k;
}

static X509 *read_cert(const char *path)
{
    FILE *f = fopen(path, "r");
    X509 *x = f ? PEM_read_X509(f, NULL, NULL, NULL) : NULL;
    if (f) fclose(f);
    return x;
}

static unsigned char *read_all(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    unsigned char *buf = malloc(1 << 20);
    *n = buf ? fread(buf, 1, 1 << 20, f) : 0;
    fclose(f);
    return buf;
}

static int write_all(const char *path, const unsigned char *p, size_t n)
{
    FILE *f = fopen(path, "wb");
    int ok = f && fwrite(p, 1, n, f) == n;
    if (f) ok = fclose(f) == 0 && ok;
    return ok ? 0 : -1;
}

/* SHA-256 of the DER SubjectPublicKeyInfo (what mbedtls_pk_write_pubkey_der writes). */
static void spki_sha256(EVP_PKEY *k, unsigned char out[32])
{
    unsigned char *der = NULL;
    int n = i2d_PUBKEY(k, &der);
    SHA256(der, (size_t)n, out);
    OPENSSL_free(der);
}

/* claims = {"pubkey-hash": bstr(serialized [uint 1, bstr SHA-256(SPKI)])}, as generate_serialized_claims. */
static unsigned char *claims_of(EVP_PKEY *k, size_t *len)
{
    unsigned char h[32], *entry_buf = NULL, *out = NULL;
    size_t entry_size = 0, size = 0;
    spki_sha256(k, h);
    cbor_item_t *entry = cbor_new_definite_array(2);
    cbor_array_push(entry, cbor_move(cbor_build_uint8(1)));
    cbor_array_push(entry, cbor_move(cbor_build_bytestring(h, 32)));
    size_t elen = cbor_serialize_alloc(entry, &entry_buf, &entry_size);
    cbor_item_t *map = cbor_new_definite_map(1);
    cbor_map_add(map, (struct cbor_pair){.key = cbor_move(cbor_build_string("pubkey-hash")),
                                         .value = cbor_move(cbor_build_bytestring(entry_buf, elen))});
    *len = cbor_serialize_alloc(map, &out, &size);
    cbor_decref(&entry);
    cbor_decref(&map);
    free(entry_buf);
    return out;
}

static int cmd_key(int argc, char **argv)
{
    if (argc < 3) return die("%s", "key OUT.pem [--rsa3072]");
    int rsa = argc > 3 && !strcmp(argv[3], "--rsa3072");
    EVP_PKEY *k = rsa ? EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)3072) : EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
    FILE *f = fopen(argv[2], "w");
    int ok = k && f && PEM_write_PrivateKey(f, k, NULL, NULL, 0, NULL, NULL);
    if (f) fclose(f);
    EVP_PKEY_free(k);
    return ok ? 0 : die("cannot write %s", argv[2]);
}

static int cmd_report_data(int argc, char **argv)
{
    if (argc < 4) return die("%s", "report-data KEY.pem legacy|tcg");
    EVP_PKEY *k = read_key(argv[2]);
    if (!k) return die("cannot read key %s", argv[2]);
    unsigned char rd[64] = {0};
    if (!strcmp(argv[3], "legacy")) {
        spki_sha256(k, rd);
    } else {
        size_t n;
        unsigned char *c = claims_of(k, &n);
        SHA256(c, n, rd);
        free(c);
    }
    for (int i = 0; i < 64; i++) printf("%02x", rd[i]);
    printf("\n");
    EVP_PKEY_free(k);
    return 0;
}

static int add_ext_raw(X509 *x, const char *oid, const unsigned char *data, size_t n)
{
    ASN1_OBJECT *obj = OBJ_txt2obj(oid, 1);
    ASN1_OCTET_STRING *os = ASN1_OCTET_STRING_new();
    X509_EXTENSION *e = NULL;
    int ok = obj && os && ASN1_OCTET_STRING_set(os, data, (int)n) && (e = X509_EXTENSION_create_by_OBJ(NULL, obj, 0, os)) &&
             X509_add_ext(x, e, -1);
    X509_EXTENSION_free(e);
    ASN1_OCTET_STRING_free(os);
    ASN1_OBJECT_free(obj);
    return ok ? 0 : -1;
}

static int add_ext_conf(X509 *x, int nid, const char *value)
{
    X509V3_CTX ctx;
    X509V3_set_ctx(&ctx, x, x, NULL, NULL, 0);
    X509_EXTENSION *e = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
    int ok = e && X509_add_ext(x, e, -1);
    X509_EXTENSION_free(e);
    return ok ? 0 : -1;
}

static int cmd_cert(int argc, char **argv)
{
    const char *legacy = NULL, *tcg = NULL, *out = NULL, *nb = "20010101000000", *na = "20301231235959";
    int intended = 0;
    for (int i = 3; i < argc; i++) {
        if (!strcmp(argv[i], "--intended-oid")) intended = 1;
        else if (i + 1 >= argc) return die("%s needs a value", argv[i]);
        else if (!strcmp(argv[i], "--legacy-quote")) legacy = argv[++i];
        else if (!strcmp(argv[i], "--tcg-quote")) tcg = argv[++i];
        else if (!strcmp(argv[i], "--not-before")) nb = argv[++i];
        else if (!strcmp(argv[i], "--not-after")) na = argv[++i];
        else if (!strcmp(argv[i], "-o")) out = argv[++i];
        else return die("unknown argument %s", argv[i]);
    }
    EVP_PKEY *k = read_key(argv[2]);
    if (!k || !legacy || !out) return die("%s", "cert KEY.pem --legacy-quote Q [--tcg-quote Q] -o CERT.pem");
    X509 *x = X509_new();
    X509_NAME *name = X509_NAME_new();
    /* mbedTLS writes "CN=RATLS,O=GramineDevelopers,C=US" in that order. */
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)"RATLS", -1, -1, 0);
    X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC, (const unsigned char *)"GramineDevelopers", -1, -1, 0);
    X509_NAME_add_entry_by_txt(name, "C", MBSTRING_ASC, (const unsigned char *)"US", -1, -1, 0);
    char nbz[20], naz[20];
    snprintf(nbz, sizeof nbz, "%sZ", nb);
    snprintf(naz, sizeof naz, "%sZ", na);
    ASN1_TIME *t0 = ASN1_TIME_new(), *t1 = ASN1_TIME_new();
    int ok = x && name && t0 && t1 && X509_set_version(x, 2) && ASN1_INTEGER_set(X509_get_serialNumber(x), 1) &&
             X509_set_subject_name(x, name) && X509_set_issuer_name(x, name) && ASN1_TIME_set_string_X509(t0, nbz) &&
             ASN1_TIME_set_string_X509(t1, naz) && X509_set1_notBefore(x, t0) && X509_set1_notAfter(x, t1) &&
             X509_set_pubkey(x, k) && add_ext_conf(x, NID_basic_constraints, "CA:FALSE") == 0 &&
             add_ext_conf(x, NID_subject_key_identifier, "hash") == 0 &&
             add_ext_conf(x, NID_authority_key_identifier, "keyid:always") == 0;
    size_t ql = 0, tl = 0;
    unsigned char *q = ok ? read_all(legacy, &ql) : NULL, *tq = tcg ? read_all(tcg, &tl) : NULL;
    ok = ok && q && (!tcg || tq) &&
         add_ext_raw(x, intended ? "1.2.840.113741.1337.6" : "0.6.9.42.840.113741.1337.6", q, ql) == 0;
    if (ok && tq) {
        size_t cl, el, size = 0;
        unsigned char *claims = claims_of(k, &cl), *ev = NULL;
        cbor_item_t *arr = cbor_new_definite_array(2);
        cbor_array_push(arr, cbor_move(cbor_build_bytestring(tq, tl)));
        cbor_array_push(arr, cbor_move(cbor_build_bytestring(claims, cl)));
        cbor_item_t *tag = cbor_build_tag(60000, arr);
        el = cbor_serialize_alloc(tag, &ev, &size);
        ok = el && add_ext_raw(x, "2.23.133.5.4.9", ev, el) == 0;
        cbor_decref(&arr);
        cbor_decref(&tag);
        free(ev);
        free(claims);
    }
    ok = ok && X509_sign(x, k, EVP_sha256());
    FILE *f = ok ? fopen(out, "w") : NULL;
    ok = f && PEM_write_X509(f, x);
    if (f) fclose(f);
    free(q);
    free(tq);
    ASN1_TIME_free(t0);
    ASN1_TIME_free(t1);
    X509_NAME_free(name);
    X509_free(x);
    EVP_PKEY_free(k);
    return ok ? 0 : die("cannot make the certificate %s", out);
}

/* Gramine's find_oid_in_cert_extensions over the DER of the extensions. */
static int gramine_find(const unsigned char *exts, size_t n, const unsigned char *oid, size_t oid_len,
                        const unsigned char **val, size_t *val_len)
{
    const unsigned char *p = memmem(exts, n, oid, oid_len), *end = exts + n;
    if (!p) return -1;
    p += oid_len;
    if (p >= end) return -2;
    if (*p == 0x01) {
        p++;
        if (p >= end || *p++ != 0x01) return -2;
        if (p >= end || *p++ != 0x00) return -2;
    }
    if (p >= end || *p++ != 0x04) return -2;
    if (p >= end || *p++ != 0x82) return -2;
    if (p + 2 > end) return -2;
    size_t len = (size_t)p[0] << 8 | p[1];
    p += 2;
    if (len < 128 || len > 8192 /* SGX_QUOTE_MAX_SIZE */ || len > (size_t)(end - p)) return -2;
    *val = p;
    *val_len = len;
    return 0;
}

static int cmd_gramine_verify(int argc, char **argv)
{
    if (argc < 5 || strcmp(argv[3], "-o")) return die("%s", "gramine-verify CERT.pem -o QUOTE");
    X509 *x = read_cert(argv[2]);
    if (!x) return die("cannot read %s", argv[2]);
    EVP_PKEY *pub = X509_get0_pubkey(x);
    const char *grp = NULL;
    char gname[64];
    if (pub && EVP_PKEY_get_base_id(pub) == EVP_PKEY_EC && EVP_PKEY_get_group_name(pub, gname, sizeof gname, NULL))
        grp = gname;
    if (!grp || (strcmp(grp, "secp384r1") && strcmp(grp, "prime256v1")))
        return die("%s: key is not EC P-384 or P-256 (Gramine's fill_crt_pk_der refuses it)", argv[2]);
    unsigned char *exts = NULL;
    int n = i2d_X509_EXTENSIONS((X509_EXTENSIONS *)X509_get0_extensions(x), &exts);
    if (n <= 0) return die("%s: no extensions", argv[2]);
    static const unsigned char tcg_oid[] = {0x06, 0x06, 0x67, 0x81, 0x05, 0x05, 0x04, 0x09};
    static const unsigned char legacy_oid[] = {0x06, 0x09, 0x2A, 0x86, 0x48, 0x86, 0xF8, 0x4D, 0x8A, 0x39, 0x06};
    const unsigned char *val;
    size_t vlen;
    unsigned char spki_hash[32], want[32];
    spki_sha256(pub, spki_hash);
    int rc = gramine_find(exts, (size_t)n, tcg_oid, sizeof tcg_oid, &val, &vlen);
    const unsigned char *quote = NULL;
    size_t qlen = 0;
    const char *used;
    if (rc == 0) {
        /* TCG found (extract_standard_quote_and_verify_claims: a malformed octet string after the OID
         * counts as not found): it decides. */
        used = "tcg";
        struct cbor_load_result r;
        cbor_item_t *tag = cbor_load(val, vlen, &r), *arr = NULL, *q = NULL, *c = NULL, *map = NULL, *entry = NULL;
        int good = tag && cbor_isa_tag(tag) && cbor_tag_value(tag) == 60000 && (arr = cbor_tag_item(tag)) &&
                   cbor_isa_array(arr) && cbor_array_size(arr) == 2 && (q = cbor_array_get(arr, 0)) &&
                   cbor_isa_bytestring(q) && (c = cbor_array_get(arr, 1)) && cbor_isa_bytestring(c) &&
                   cbor_bytestring_length(q) >= 436 && cbor_bytestring_length(c) > 0;
        if (good) {
            SHA256(cbor_bytestring_handle(c), cbor_bytestring_length(c), want);
            quote = cbor_bytestring_handle(q);
            qlen = cbor_bytestring_length(q);
            good = !memcmp(quote + 48 + 320, want, 32) &&
                   (map = cbor_load(cbor_bytestring_handle(c), cbor_bytestring_length(c), &r)) && cbor_isa_map(map);
        }
        int key_ok = 0;
        for (size_t i = 0; good && i < cbor_map_size(map); i++) {
            struct cbor_pair pr = cbor_map_handle(map)[i];
            if (!cbor_isa_string(pr.key) || cbor_string_length(pr.key) != 11 ||
                memcmp(cbor_string_handle(pr.key), "pubkey-hash", 11))
                continue;
            good = cbor_isa_bytestring(pr.value) &&
                   (entry = cbor_load(cbor_bytestring_handle(pr.value), cbor_bytestring_length(pr.value), &r)) &&
                   cbor_isa_array(entry) && cbor_array_size(entry) == 2;
            if (good) {
                cbor_item_t *alg = cbor_array_get(entry, 0), *h = cbor_array_get(entry, 1);
                key_ok = alg && h && cbor_isa_uint(alg) && cbor_get_int(alg) == 1 && cbor_isa_bytestring(h) &&
                         cbor_bytestring_length(h) == 32 && !memcmp(cbor_bytestring_handle(h), spki_hash, 32);
                if (alg) cbor_decref(&alg);
                if (h) cbor_decref(&h);
            }
        }
        if (good && key_ok && write_all(argv[4], quote, qlen)) good = 0;
        if (entry) cbor_decref(&entry);
        if (map) cbor_decref(&map);
        if (q) cbor_decref(&q);
        if (c) cbor_decref(&c);
        if (arr) cbor_decref(&arr);
        if (tag) cbor_decref(&tag);
        if (!good || !key_ok) return die("%s: TCG evidence found but does not verify (no fallback to the legacy OID)", argv[2]);
    } else {
        used = "legacy";
        if (gramine_find(exts, (size_t)n, legacy_oid, sizeof legacy_oid, &val, &vlen))
            return die("%s: neither the TCG nor the legacy Gramine OID", argv[2]);
        if (vlen < 436 || memcmp(val + 48 + 320, spki_hash, 32))
            return die("%s: legacy quote's report_data is not SHA-256 of the public key", argv[2]);
        if (write_all(argv[4], val, vlen)) return die("cannot write %s", argv[4]);
    }
    printf("%s\n", used);
    OPENSSL_free(exts);
    X509_free(x);
    return 0;
}

static int cmd_occlum_verify(int argc, char **argv)
{
    if (argc < 5 || strcmp(argv[3], "-o")) return die("%s", "occlum-verify CERT.pem -o QUOTE");
    X509 *x = read_cert(argv[2]);
    if (!x) return die("cannot read %s", argv[2]);
    static const char *const RA_TLS_LONG_NAME = "RA-TLS Extension";
    OBJ_create("1.2.840.113741.1", "RA-TLS", RA_TLS_LONG_NAME);
    unsigned char *quote = NULL, *der = NULL;
    size_t len = 0;
    for (int i = 0; i < X509_get_ext_count(x); i++) {
        X509_EXTENSION *e = X509_get_ext(x, i);
        int nid = OBJ_obj2nid(X509_EXTENSION_get_object(e));
        if (nid == NID_undef) continue;
        const char *ln = OBJ_nid2ln(nid);
        if (memcmp(RA_TLS_LONG_NAME, ln, sizeof(RA_TLS_LONG_NAME)) == 0) {
            OPENSSL_free(der);
            der = NULL;
            int n = i2d_ASN1_OCTET_STRING(X509_EXTENSION_get_data(e), &der);
            quote = der + 4;
            len = (size_t)n - 4;
        }
    }
    if (!quote) return die("%s: no extension named \"RA-TLS Extension\" (Occlum's occlum_get_quote fails)", argv[2]);
    unsigned char *pk = NULL, h[32];
    int pn = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(x), &pk);
    SHA256(pk, (size_t)pn, h);
    OPENSSL_free(pk);
    if (len < 436 || memcmp(h, quote + 48 + 320, 32))
        return die("%s: report_data is not SHA-256 of the public key (occlum_verify_pubkey_hash)", argv[2]);
    if (write_all(argv[4], quote, len)) return die("cannot write %s", argv[4]);
    printf("occlum\n");
    OPENSSL_free(der);
    X509_free(x);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 2) return die("%s", "usage: key | report-data | cert | gramine-verify | occlum-verify");
    if (!strcmp(argv[1], "key")) return cmd_key(argc, argv);
    if (!strcmp(argv[1], "report-data")) return cmd_report_data(argc, argv);
    if (!strcmp(argv[1], "cert")) return cmd_cert(argc, argv);
    if (!strcmp(argv[1], "gramine-verify")) return cmd_gramine_verify(argc, argv);
    if (!strcmp(argv[1], "occlum-verify")) return cmd_occlum_verify(argc, argv);
    return die("unknown command %s", argv[1]);
}
