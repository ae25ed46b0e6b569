/* sgx module: codecs round-trip, every prefix of every vector quote is refused cleanly, trailing bytes
 * are ignored, size fields past the end are refused. */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "initra/sgx.h"
#include "sgx/internal.h"

static const char *names[] = {"sgx-phala-2025", "sgx-automata-v3", "sgx-fortanix-parse-only", "tdx-phala-v4",
                              "tdx-go-v5", "tdx-cos-parse-only"};

int main(void)
{
    char path[512];
    initra_err err;
    for (size_t v = 0; vectors_dir() && v < sizeof names / sizeof names[0]; v++) { /* when present */
        snprintf(path, sizeof path, "%s/%s/quote.bin", vectors_dir(), names[v]);
        uint8_t *buf;
        size_t n;
        if (initra_read_file(path, INITRA_QUOTE_MAX_SIZE, &buf, &n, &err)) {
            CHECK(0, "read %s: %s", path, err.msg);
            continue;
        }
        initra_quote q;
        CHECK(initra_quote_parse(buf, n, &q, &err) == 0, "%s parses", names[v]);
        CHECK(q.len <= n && q.cert_type == 5 && q.cert_size > 0, "%s: PCK chain found (type %u, %u bytes)",
              names[v], q.cert_type, q.cert_size);
        size_t full = q.len;
        /* Every strict prefix of the signed structure fails with a message, never a crash. */
        int all_refused = 1;
        for (size_t k = 0; k < full; k++) {
            uint8_t *p = malloc(k ? k : 1); /* exact-size copy so ASan sees any overread */
            memcpy(p, buf, k);
            initra_quote q2;
            err.msg[0] = 0;
            if (initra_quote_parse(p, k, &q2, &err) == 0 || strncmp(err.msg, "quote: ", 7) != 0) all_refused = 0;
            free(p);
        }
        CHECK(all_refused, "%s: all %zu prefixes refused with a 'quote:' error", names[v], full);
        /* Trailing bytes are ignored. */
        uint8_t *longer = malloc(n + 100);
        memcpy(longer, buf, n);
        memset(longer + n, 0xAB, 100);
        initra_quote q3;
        CHECK(initra_quote_parse(longer, n + 100, &q3, &err) == 0 && q3.len == q.len, "%s: trailing bytes ignored",
              names[v]);
        free(longer);
        if (q.header.version == 3) {
            uint8_t *re;
            size_t rl;
            CHECK(initra_quote_v3_encode(&q, &re, &rl, &err) == 0 && rl == q.len && !memcmp(re, buf, rl),
                  "%s: v3 re-encodes byte-exact", names[v]);
            if (rl == q.len) free(re);
            /* certification data size past the end */
            uint8_t *bad = malloc(n);
            memcpy(bad, buf, n);
            size_t cert_size_off = (size_t)(q.cert_data - buf) - 4;
            initra_put_le32(bad + cert_size_off, (uint32_t)n);
            CHECK(initra_quote_parse(bad, n, &q3, &err) != 0 && strstr(err.msg, "certification data size"),
                  "%s: certification data size past the end refused: %s", names[v], err.msg);
            free(bad);
        }
        free(buf);
    }
    /* Report body codec round trip with every field distinct. */
    uint8_t raw[384], back[384];
    for (int i = 0; i < 384; i++) raw[i] = (uint8_t)(i * 7 + 1);
    initra_sgx_report_body b;
    sgx_report_body_decode(raw, &b);
    initra_sgx_report_body_encode(&b, back);
    CHECK(!memcmp(raw, back, 384), "report body decode/encode is byte-exact");
    CHECK(b.config_svn == (uint16_t)(raw[260] | raw[261] << 8) && b.isv_family_id[0] == raw[304] &&
              b.isv_ext_prod_id[15] == raw[47] && b.config_id[63] == raw[255],
          "KSS fields at the report body offsets (docs/protocols.md)");
    CHECK_DONE();
}
