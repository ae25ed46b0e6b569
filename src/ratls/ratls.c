/* RA-TLS certificates: creation (Occlum, TCG or both) and evidence extraction with key binding. */
#include "initra/ratls.h"

#include <string.h>

#include <cbor.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include <openssl/x509v3.h>

#include "initra/sgx.h"
#include "ratls/internal.h"

const char *ratls_format_name(int format)
{
    switch (format) {
    case INITRA_RATLS_OCCLUM: return "Occlum grpc_ratls (" INITRA_OID_RATLS_OCCLUM ")";
    case INITRA_RATLS_GRAMINE: return "Gramine legacy RA-TLS (" INITRA_OID_RATLS_GRAMINE ")";
    case INITRA_RATLS_TCG: return "TCG DICE interoperable RA-TLS (" INITRA_OID_RATLS_TCG ")";
    case INITRA_RATLS_OCCLUM_TCG:
        return "Occlum grpc_ratls + TCG DICE (" INITRA_OID_RATLS_OCCLUM " + " INITRA_OID_RATLS_TCG ")";
    case INITRA_RATLS_GRAMINE_TCG:
        return "Gramine RA-TLS, legacy + TCG DICE (" INITRA_OID_RATLS_GRAMINE " + " INITRA_OID_RATLS_TCG ")";
    default: return "unknown";
    }
}

static const char *const short_names[] = {"unknown", "occlum", "gramine", "tcg", "occlum+tcg", "gramine+tcg"};

const char *initra_ratls_format_short(int format)
{
    return format > 0 && format <= INITRA_RATLS_GRAMINE_TCG ? short_names[format] : short_names[0];
}

int initra_ratls_format_parse(const char *name)
{
    if (!name) return 0;
    if (!strcmp(name, "occlum")) return INITRA_RATLS_OCCLUM;
    if (!strcmp(name, "tcg")) return INITRA_RATLS_TCG;
    if (!strcmp(name, "occlum+tcg")) return INITRA_RATLS_OCCLUM_TCG;
    return 0;
}

int ratls_format_is_gramine(int format)
{
    return format == INITRA_RATLS_GRAMINE || format == INITRA_RATLS_GRAMINE_TCG;
}

/* DER SubjectPublicKeyInfo of a key. */
static int spki_der(EVP_PKEY *key, uint8_t **der, size_t *len)
{
    unsigned char *p = NULL;
    int n = i2d_PUBKEY(key, &p);
    if (n <= 0) return -1;
    *der = p;
    *len = (size_t)n;
    return 0;
}

/* claims = {"pubkey-hash": bstr(encoded [1, bstr SHA-256(spki)])} */
static int tcg_claims(const uint8_t spki_hash[32], uint8_t **out, size_t *len)
{
    int rc = -1;
    uint8_t *entry_buf = NULL;
    size_t entry_size = 0;
    cbor_item_t *entry = cbor_new_definite_array(2), *map = cbor_new_definite_map(1);
    if (!entry || !map) goto done;
    if (!cbor_array_push(entry, cbor_move(cbor_build_uint8(1))) ||
        !cbor_array_push(entry, cbor_move(cbor_build_bytestring(spki_hash, 32))))
        goto done;
    size_t entry_len = cbor_serialize_alloc(entry, &entry_buf, &entry_size);
    if (!entry_len) goto done;
    if (!cbor_map_add(map, (struct cbor_pair){.key = cbor_move(cbor_build_string("pubkey-hash")),
                                               .value = cbor_move(cbor_build_bytestring(entry_buf, entry_len))}))
        goto done;
    size_t size = 0;
    *len = cbor_serialize_alloc(map, out, &size);
    rc = *len ? 0 : -1;
done:
    free(entry_buf);
    if (entry) cbor_decref(&entry);
    if (map) cbor_decref(&map);
    return rc;
}

/* tag 60000 [bstr quote, bstr claims] */
static int tcg_evidence(const uint8_t *quote, size_t qlen, const uint8_t *claims, size_t clen, uint8_t **out,
                        size_t *len)
{
    cbor_item_t *arr = cbor_new_definite_array(2);
    if (!arr) return -1;
    int ok = cbor_array_push(arr, cbor_move(cbor_build_bytestring(quote, qlen))) &&
             cbor_array_push(arr, cbor_move(cbor_build_bytestring(claims, clen)));
    cbor_item_t *tag = ok ? cbor_build_tag(INITRA_CBOR_TAG_INTEL_QUOTE, arr) : NULL;
    cbor_decref(&arr);
    if (!tag) return -1;
    size_t size = 0;
    *len = cbor_serialize_alloc(tag, out, &size);
    cbor_decref(&tag);
    return *len ? 0 : -1;
}

int ratls_add_ext(X509 *x, const char *oid, const uint8_t *data, size_t len)
{
    ASN1_OBJECT *obj = OBJ_txt2obj(oid, 1);
    ASN1_OCTET_STRING *os = ASN1_OCTET_STRING_new();
    X509_EXTENSION *ext = NULL;
    int ok = obj && os && ASN1_OCTET_STRING_set(os, data, (int)len) &&
             (ext = X509_EXTENSION_create_by_OBJ(NULL, obj, 0, os)) && X509_add_ext(x, ext, -1);
    X509_EXTENSION_free(ext);
    ASN1_OCTET_STRING_free(os);
    ASN1_OBJECT_free(obj);
    return ok ? 0 : -1;
}

static char *pem_of(int (*write)(BIO *, void *), void *obj)
{
    BIO *b = BIO_new(BIO_s_mem());
    char *out = NULL;
    if (b && write(b, obj)) {
        char *p;
        long n = BIO_get_mem_data(b, &p);
        out = malloc((size_t)n + 1);
        if (out) {
            memcpy(out, p, (size_t)n);
            out[n] = 0;
        }
    }
    BIO_free(b);
    return out;
}
static int write_cert(BIO *b, void *x) { return PEM_write_bio_X509(b, x); }
static int write_key(BIO *b, void *k) { return PEM_write_bio_PrivateKey(b, k, NULL, NULL, 0, NULL, NULL); }

int initra_ratls_create(initra_quote_fn quote_fn, void *ctx, int format, long valid_seconds, char **cert_pem,
                        char **key_pem, initra_err *err)
{
    if (format != INITRA_RATLS_OCCLUM && format != INITRA_RATLS_TCG && format != INITRA_RATLS_OCCLUM_TCG)
        return initra_fail(err, "RA-TLS: can create occlum, tcg or occlum+tcg certificates, not format %d", format);
    int rc = -1;
    int want_occlum = format != INITRA_RATLS_TCG, want_tcg = format != INITRA_RATLS_OCCLUM;
    EVP_PKEY *key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    X509 *x = X509_new();
    uint8_t *spki = NULL, *quote = NULL, *tquote = NULL, *claims = NULL, *evidence = NULL;
    size_t spki_len = 0, quote_len = 0, tquote_len = 0, claims_len = 0, evidence_len = 0;
    uint8_t rd[64] = {0}, spki_hash[32], serial[16];
    if (!key || !x || spki_der(key, &spki, &spki_len)) {
        initra_fail(err, "RA-TLS: cannot create an EC P-256 key");
        goto done;
    }
    SHA256(spki, spki_len, spki_hash);
    if (want_tcg && tcg_claims(spki_hash, &claims, &claims_len)) {
        initra_fail(err, "RA-TLS: cannot encode the CBOR claims");
        goto done;
    }
    /* Occlum: report_data = SHA-256(SPKI) || 32 zero bytes. */
    memcpy(rd, spki_hash, 32);
    if (quote_fn && want_occlum && quote_fn(ctx, rd, &quote, &quote_len, err)) {
        initra_fail_prefix(err, "RA-TLS: no quote for the certificate key");
        goto done;
    }
    /* TCG: report_data = SHA-256(claims) || 32 zero bytes; a quote of its own. */
    if (want_tcg) SHA256(claims, claims_len, rd);
    if (quote_fn && want_tcg && quote_fn(ctx, rd, &tquote, &tquote_len, err)) {
        initra_fail_prefix(err, "RA-TLS: no quote for the certificate key");
        goto done;
    }
    if (quote_fn && want_tcg && tcg_evidence(tquote, tquote_len, claims, claims_len, &evidence, &evidence_len)) {
        initra_fail(err, "RA-TLS: cannot encode the CBOR evidence");
        goto done;
    }
    RAND_bytes(serial, sizeof serial);
    serial[0] &= 0x7f;
    BIGNUM *sn = BN_bin2bn(serial, sizeof serial, NULL);
    X509_NAME *name = X509_NAME_new();
    int ok = sn && name && X509_set_version(x, 2) && BN_to_ASN1_INTEGER(sn, X509_get_serialNumber(x)) &&
             X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)"initra RA-TLS", -1, -1, 0) &&
             X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC, (const unsigned char *)"initra", -1, -1, 0) &&
             X509_set_subject_name(x, name) && X509_set_issuer_name(x, name) &&
             X509_gmtime_adj(X509_getm_notBefore(x), -300) && X509_gmtime_adj(X509_getm_notAfter(x), valid_seconds) &&
             X509_set_pubkey(x, key);
    BN_free(sn);
    X509_NAME_free(name);
    if (ok && quote_fn && want_occlum) ok = ratls_add_ext(x, INITRA_OID_RATLS_OCCLUM, quote, quote_len) == 0;
    if (ok && quote_fn && want_tcg) ok = ratls_add_ext(x, INITRA_OID_RATLS_TCG, evidence, evidence_len) == 0;
    if (!ok || !X509_sign(x, key, EVP_sha256())) {
        initra_fail(err, "RA-TLS: cannot build the certificate");
        goto done;
    }
    *cert_pem = pem_of(write_cert, x);
    *key_pem = pem_of(write_key, key);
    if (!*cert_pem || !*key_pem) {
        free(*cert_pem);
        if (*key_pem) initra_free_secret(*key_pem, strlen(*key_pem));
        initra_fail(err, "RA-TLS: cannot encode PEM");
        goto done;
    }
    rc = 0;
done:
    OPENSSL_free(spki);
    free(quote);
    free(tquote);
    free(claims);
    free(evidence);
    X509_free(x);
    EVP_PKEY_free(key);
    return rc;
}

X509 *ratls_pem_cert(const char *pem, initra_err *err)
{
    BIO *b = BIO_new_mem_buf(pem, -1);
    X509 *x = b ? PEM_read_bio_X509(b, NULL, NULL, NULL) : NULL;
    BIO_free(b);
    if (!x) initra_fail(err, "peer certificate: not a PEM X.509 certificate");
    return x;
}

/* The evidence extensions of a certificate, one slot per kind; two of one kind set dup to that kind. */
enum { EXT_OCCLUM, EXT_GRAMINE, EXT_TCG, EXT_KINDS };
typedef struct {
    const ASN1_OCTET_STRING *data[EXT_KINDS];
    int dup; /* 0, or 1 + the kind found twice */
} evidence_exts;

static void scan_exts(X509 *cert, evidence_exts *e)
{
    static const struct {
        const char *oid;
        int kind;
    } known[] = {{INITRA_OID_RATLS_OCCLUM, EXT_OCCLUM},
                 {INITRA_OID_RATLS_GRAMINE, EXT_GRAMINE},
                 {INITRA_OID_RATLS_GRAMINE_INTENDED, EXT_GRAMINE},
                 {INITRA_OID_RATLS_TCG, EXT_TCG}};
    memset(e, 0, sizeof *e);
    for (size_t k = 0; k < sizeof known / sizeof known[0]; k++) {
        ASN1_OBJECT *obj = OBJ_txt2obj(known[k].oid, 1);
        for (int idx = obj ? X509_get_ext_by_OBJ(cert, obj, -1) : -1; idx >= 0; idx = X509_get_ext_by_OBJ(cert, obj, idx)) {
            if (e->data[known[k].kind] && !e->dup) e->dup = 1 + known[k].kind;
            e->data[known[k].kind] = X509_EXTENSION_get_data(X509_get_ext(cert, idx));
        }
        ASN1_OBJECT_free(obj);
    }
}

/* libcbor's cbor_load allocates what a container header declares before reading its elements, so a
 * few hostile bytes could ask for gigabytes. Walk the input first with libcbor's streaming decoder:
 * every declared element needs at least one byte of input, and indefinite-length items (which our
 * formats never use) are refused. */
typedef struct {
    size_t declared, limit;
    int bad;
} cbor_budget;

static void budget_add(cbor_budget *b, size_t n)
{
    if (n > b->limit || b->declared > b->limit - n) b->bad = 1;
    else b->declared += n;
}
static void on_array(void *c, size_t n) { budget_add(c, n); }
static void on_map(void *c, size_t n)
{
    budget_add(c, n);
    budget_add(c, n);
}
static void on_indefinite(void *c) { ((cbor_budget *)c)->bad = 1; }

static int cbor_bounded(const uint8_t *data, size_t len)
{
    struct cbor_callbacks cb = cbor_empty_callbacks;
    cb.array_start = on_array;
    cb.map_start = on_map;
    cb.indef_array_start = on_indefinite;
    cb.indef_map_start = on_indefinite;
    cb.byte_string_start = on_indefinite;
    cb.string_start = on_indefinite;
    cbor_budget b = {0, len, 0};
    size_t off = 0;
    while (off < len && !b.bad) {
        struct cbor_decoder_result r = cbor_stream_decode(data + off, len - off, &cb, &b);
        if (r.status != CBOR_DECODER_FINISHED || r.read == 0) return 0;
        off += r.read;
    }
    return !b.bad;
}

/* cbor_load of the whole buffer, after the bound check; NULL unless it is one complete item. */
static cbor_item_t *cbor_load_exact(const uint8_t *data, size_t len)
{
    if (!cbor_bounded(data, len)) return NULL;
    struct cbor_load_result res;
    cbor_item_t *it = cbor_load(data, len, &res);
    if (it && res.read != len) cbor_decref(&it);
    return it;
}

/* SHA-256 / 384 / 512 (IANA named-information ids 1, 7, 8) */
static const EVP_MD *hash_alg(uint64_t id)
{
    return id == 1 ? EVP_sha256() : id == 7 ? EVP_sha384() : id == 8 ? EVP_sha512() : NULL;
}

/* claims -> checks "pubkey-hash" against the DER SPKI. Accepts the hash-entry as a byte string holding
 * the encoded array (interoperable RA-TLS) or as the array itself. */
static int check_tcg_claims(const uint8_t *claims, size_t clen, const uint8_t *spki, size_t spki_len,
                            initra_err *err)
{
    cbor_item_t *map = cbor_load_exact(claims, clen), *entry = NULL;
    int rc = initra_fail(err, "RA-TLS evidence (TCG): claims have no valid \"pubkey-hash\" [alg, hash] entry");
    if (!map || !cbor_isa_map(map)) goto done;
    struct cbor_pair *pairs = cbor_map_handle(map);
    for (size_t i = 0; i < cbor_map_size(map); i++) {
        cbor_item_t *k = pairs[i].key;
        if (!cbor_isa_string(k) || !cbor_string_is_definite(k) || cbor_string_length(k) != 11 ||
            memcmp(cbor_string_handle(k), "pubkey-hash", 11))
            continue;
        cbor_item_t *v = pairs[i].value;
        if (cbor_isa_bytestring(v) && cbor_bytestring_is_definite(v)) {
            entry = cbor_load_exact(cbor_bytestring_handle(v), cbor_bytestring_length(v));
        } else if (cbor_isa_array(v)) {
            entry = cbor_incref(v);
        }
        break;
    }
    if (!entry || !cbor_isa_array(entry) || cbor_array_size(entry) != 2) goto done;
    cbor_item_t *alg = cbor_array_get(entry, 0), *hash = cbor_array_get(entry, 1);
    const EVP_MD *md = (alg && cbor_isa_uint(alg)) ? hash_alg(cbor_get_int(alg)) : NULL;
    uint8_t want[EVP_MAX_MD_SIZE];
    unsigned wlen = 0;
    int good = md && hash && cbor_isa_bytestring(hash) && cbor_bytestring_is_definite(hash) &&
               EVP_Digest(spki, spki_len, want, &wlen, md, NULL) && cbor_bytestring_length(hash) == wlen &&
               !memcmp(cbor_bytestring_handle(hash), want, wlen);
    if (alg) cbor_decref(&alg);
    if (hash) cbor_decref(&hash);
    rc = good ? 0
              : initra_fail(err, "RA-TLS evidence (TCG): the claims' pubkey-hash does not match the certificate's key");
done:
    if (entry) cbor_decref(&entry);
    if (map) cbor_decref(&map);
    return rc;
}

/* tag 60000 [bstr quote, bstr claims] -> fresh copies */
static int parse_tcg(const uint8_t *data, size_t len, uint8_t **quote, size_t *qlen, uint8_t **claims, size_t *clen,
                     initra_err *err)
{
    cbor_item_t *tag = cbor_load_exact(data, len);
    int rc = initra_fail(err, "RA-TLS evidence (TCG): not CBOR tag %d holding [bstr quote, bstr claims]",
                         INITRA_CBOR_TAG_INTEL_QUOTE);
    if (!tag || !cbor_isa_tag(tag) || cbor_tag_value(tag) != INITRA_CBOR_TAG_INTEL_QUOTE) goto done;
    cbor_item_t *arr = cbor_tag_item(tag);
    if (cbor_isa_array(arr) && cbor_array_size(arr) == 2) {
        cbor_item_t *q = cbor_array_get(arr, 0), *c = cbor_array_get(arr, 1);
        if (q && c && cbor_isa_bytestring(q) && cbor_bytestring_is_definite(q) && cbor_isa_bytestring(c) &&
            cbor_bytestring_is_definite(c)) {
            *qlen = cbor_bytestring_length(q);
            *clen = cbor_bytestring_length(c);
            *quote = malloc(*qlen ? *qlen : 1);
            *claims = malloc(*clen ? *clen : 1);
            if (*quote && *claims) {
                memcpy(*quote, cbor_bytestring_handle(q), *qlen);
                memcpy(*claims, cbor_bytestring_handle(c), *clen);
                rc = 0;
            } else {
                free(*quote);
                free(*claims);
            }
        }
        if (q) cbor_decref(&q);
        if (c) cbor_decref(&c);
    }
    cbor_decref(&arr);
done:
    if (tag) cbor_decref(&tag);
    return rc;
}

/* An Occlum-format certificate signed with SHA-1: Occlum signs its certificates sha1WithRSA, and some
 * systems' crypto policy refuses SHA-1 signatures, so verifying them would make the outcome depend on
 * the machine. Their self-signature is not checked: it proves nothing that the quote binding (the quote
 * names this key) and the TLS handshake (the peer signed with the key's private half) do not. */
static int occlum_sha1(X509 *cert, const ASN1_OCTET_STRING *occ)
{
    int md = NID_undef, pk = NID_undef;
    return occ && OBJ_find_sigid_algs(X509_get_signature_nid(cert), &md, &pk) && md == NID_sha1;
}

static const char *const kind_name[EXT_KINDS] = {"Occlum " INITRA_OID_RATLS_OCCLUM,
                                                 "Gramine legacy " INITRA_OID_RATLS_GRAMINE " or "
                                                 INITRA_OID_RATLS_GRAMINE_INTENDED,
                                                 "TCG " INITRA_OID_RATLS_TCG};

/* A raw-quote extension (Occlum or Gramine legacy): a fresh copy of the quote, parsed, whose report_data
 * binds the key: [0..32] = SHA-256(SPKI). Occlum's generator zeroes [32..64] (its verifier compares [0..32]
 * only); initra requires those zeros too, so that nothing unbound rides in an Occlum-format quote. */
static int raw_quote(const ASN1_OCTET_STRING *s, int kind, const uint8_t spki_hash[32], uint8_t **quote, size_t *qlen,
                     initra_quote *q, initra_err *err)
{
    const char *what = ratls_format_name(kind == EXT_OCCLUM ? INITRA_RATLS_OCCLUM : INITRA_RATLS_GRAMINE);
    *qlen = (size_t)ASN1_STRING_length(s);
    if (!(*quote = malloc(*qlen ? *qlen : 1))) return initra_fail(err, "out of memory");
    memcpy(*quote, ASN1_STRING_get0_data(s), *qlen);
    uint8_t want[64] = {0};
    memcpy(want, spki_hash, 32);
    if (initra_quote_parse(*quote, *qlen, q, err)) return initra_fail_prefix(err, "RA-TLS evidence (%s)", what);
    if (memcmp(initra_quote_report_data(q), want, kind == EXT_OCCLUM ? 64 : 32) != 0)
        return initra_fail(err, "RA-TLS evidence (%s): the quote's report_data does not bind this certificate's key "
                                "(evidence copied from another certificate?)",
                           what);
    return 0;
}

int ratls_evidence(X509 *cert, uint8_t **quote_out, size_t *quote_len, int *format, initra_err *err)
{
    evidence_exts e;
    scan_exts(cert, &e);
    const ASN1_OCTET_STRING *occ = e.data[EXT_OCCLUM], *gra = e.data[EXT_GRAMINE], *tcg = e.data[EXT_TCG];
    if (!occ && !gra && !tcg)
        return initra_fail(err, "peer certificate carries no attestation evidence (none of the RA-TLS extensions "
                                INITRA_OID_RATLS_OCCLUM ", " INITRA_OID_RATLS_GRAMINE " (Gramine legacy, also as "
                                INITRA_OID_RATLS_GRAMINE_INTENDED "), " INITRA_OID_RATLS_TCG ")");
    if (e.dup)
        return initra_fail(err, "peer certificate carries more than one RA-TLS evidence extension of one kind (%s)",
                           kind_name[e.dup - 1]);
    if (occ && gra)
        return initra_fail(err, "peer certificate carries more than one RA-TLS evidence extension (Occlum and Gramine "
                                "legacy; no known RA-TLS implementation makes that combination)");
    EVP_PKEY *pub = X509_get0_pubkey(cert);
    if (!pub || (!occlum_sha1(cert, occ) && X509_verify(cert, pub) != 1))
        return initra_fail(err, "peer certificate: its self-signature does not verify with its own key");
    uint8_t *spki = NULL, *quote = NULL, *claims = NULL, *other = NULL;
    size_t spki_len = 0, qlen = 0, clen = 0, olen = 0;
    if (spki_der(pub, &spki, &spki_len)) return initra_fail(err, "peer certificate: cannot encode its public key");
    uint8_t spki_hash[32];
    SHA256(spki, spki_len, spki_hash);
    int rc = -1, fmt;
    initra_quote q, oq;
    if (tcg) {
        /* TCG decides (Gramine's rule: TCG first; present but failing is a failure, no fallback). */
        fmt = occ ? INITRA_RATLS_OCCLUM_TCG : gra ? INITRA_RATLS_GRAMINE_TCG : INITRA_RATLS_TCG;
        uint8_t want[32];
        if (parse_tcg(ASN1_STRING_get0_data(tcg), (size_t)ASN1_STRING_length(tcg), &quote, &qlen, &claims, &clen, err) ||
            check_tcg_claims(claims, clen, spki, spki_len, err))
            goto done;
        SHA256(claims, clen, want);
        if (initra_quote_parse(quote, qlen, &q, err)) {
            initra_fail_prefix(err, "RA-TLS evidence (%s)", ratls_format_name(INITRA_RATLS_TCG));
            goto done;
        }
        if (memcmp(initra_quote_report_data(&q), want, 32) != 0) {
            initra_fail(err, "RA-TLS evidence (%s): the quote's report_data does not bind this certificate's key "
                             "(evidence copied from another certificate?)",
                        ratls_format_name(INITRA_RATLS_TCG));
            goto done;
        }
        /* The other quote must bind the same key and come from the same enclave: the report bodies agree
         * apart from report_data (the first 320 of 384 bytes). */
        if (occ || gra) {
            if (raw_quote(occ ? occ : gra, occ ? EXT_OCCLUM : EXT_GRAMINE, spki_hash, &other, &olen, &oq, err))
                goto done;
            if (q.body_type != INITRA_BODY_SGX || oq.body_type != INITRA_BODY_SGX ||
                memcmp(q.raw + q.body_offset, oq.raw + oq.body_offset, INITRA_SGX_REPORT_BODY_SIZE - 64) != 0) {
                initra_fail(err, "RA-TLS evidence (%s): its two quotes are not from the same SGX enclave (report bodies "
                                 "differ apart from report_data)",
                            ratls_format_name(fmt));
                goto done;
            }
        }
    } else {
        fmt = occ ? INITRA_RATLS_OCCLUM : INITRA_RATLS_GRAMINE;
        if (raw_quote(occ ? occ : gra, occ ? EXT_OCCLUM : EXT_GRAMINE, spki_hash, &quote, &qlen, &q, err)) goto done;
    }
    *quote_out = quote;
    *quote_len = qlen;
    *format = fmt;
    quote = NULL;
    rc = 0;
done:
    OPENSSL_free(spki);
    free(quote);
    free(other);
    free(claims);
    return rc;
}

int initra_spki_sha256_pem(const char *cert_pem, uint8_t out[32], initra_err *err)
{
    BIO *b = BIO_new_mem_buf(cert_pem, -1);
    X509 *x = b ? PEM_read_bio_X509(b, NULL, NULL, NULL) : NULL;
    BIO_free(b);
    if (!x) return initra_fail(err, "certificate: not a PEM X.509 certificate");
    unsigned char *der = NULL;
    int n = i2d_PUBKEY(X509_get0_pubkey(x), &der);
    X509_free(x);
    if (n <= 0) return initra_fail(err, "certificate: its public key cannot be encoded");
    SHA256(der, (size_t)n, out);
    OPENSSL_free(der);
    return 0;
}
