/* PCK certificate SGX extension: parsed from real Intel PCK certificates, and encode/parse round trip. */
#include <openssl/pem.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "dcap/internal.h"
#include "initra/dcap.h"

static void vector(const char *name, const char *fmspc_hex)
{
    char path[512], fm[13];
    initra_err err;
    uint8_t *buf;
    size_t n;
    snprintf(path, sizeof path, "%s/%s/quote.bin", vectors_dir(), name);
    if (initra_read_file(path, INITRA_QUOTE_MAX_SIZE, &buf, &n, &err)) {
        CHECK(0, "%s", err.msg);
        return;
    }
    initra_quote q;
    CHECK(initra_quote_parse(buf, n, &q, &err) == 0, "%s parses", name);
    BIO *bio = BIO_new_mem_buf(q.cert_data, (int)q.cert_size);
    X509 *leaf = PEM_read_bio_X509(bio, NULL, NULL, NULL);
    initra_pck_ext e;
    int rc = leaf ? initra_pck_ext_from_cert(leaf, &e, &err) : -1;
    CHECK(rc == 0, "%s: PCK leaf SGX extension parses (%s)", name, rc ? err.msg : "");
    if (rc == 0) {
        CHECK(!strcmp(initra_hex_upper(e.fmspc, 6, fm), fmspc_hex), "%s: FMSPC %s", name, fm);
        CHECK(e.pce_id[0] == 0 && e.pce_id[1] == 0, "%s: PCE-ID 0000", name);
        CHECK(e.sgx_type >= 0 && e.comp_svn[0] > 0, "%s: SGX type %d, comp01 %u, PCESVN %u", name, e.sgx_type, e.comp_svn[0], e.pce_svn);
        uint8_t *der;
        size_t len;
        initra_pck_ext back;
        CHECK(initra_pck_ext_encode(&e, &der, &len, &err) == 0 && dcap_pck_ext_parse(der, len, &back, &err) == 0 &&
                  !memcmp(&e, &back, sizeof e),
              "%s: encode/parse round trip", name);
        OPENSSL_free(der);
    }
    X509_free(leaf);
    BIO_free(bio);
    free(buf);
}

int main(void)
{
    if (vectors_dir()) { /* the real-quote vectors, when present */
        vector("sgx-phala-2025", "00A067110000");
        vector("tdx-phala-v4", "B0C06F000000");
    }
    initra_pck_ext e;
    initra_err err;
    const uint8_t junk[] = {0x30, 0x03, 0x02, 0x01, 0x05};
    CHECK(dcap_pck_ext_parse(junk, sizeof junk, &e, &err) != 0 && strstr(err.msg, "SGX extension"),
          "junk DER refused: %s", err.msg);
    CHECK_DONE();
}
