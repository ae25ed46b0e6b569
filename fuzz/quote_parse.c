/* libFuzzer target: quote parsing and rendering, and the PCK extension of its certification data
 * (`quote dump --pck`) (untrusted bytes from peers and files). */
#include <stdlib.h>
#include <string.h>

#include "initra/dcap.h"
#include "initra/sgx.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    initra_quote q;
    initra_err err;
    if (initra_quote_parse(data, size, &q, &err) == 0) {
        json_t *o = initra_quote_to_json(&q);
        json_decref(o);
        static FILE *devnull;
        if (!devnull) devnull = fopen("/dev/null", "w");
        if (devnull) initra_quote_print(devnull, &q);
        initra_pck_ext e;
        char subject[128], issuer[128];
        if (initra_quote_pck_ext(&q, &e, subject, issuer, &err) == 0) {
            json_decref(initra_pck_ext_to_json(&e));
            if (devnull) initra_pck_ext_print(devnull, &e);
        }
        /* v3 quotes re-encode to the same bytes (without trailing data). */
        uint8_t *re;
        size_t re_len;
        if (q.header.version == 3 && initra_quote_v3_encode(&q, &re, &re_len, &err) == 0) {
            if (re_len != q.len || memcmp(re, data, re_len) != 0) abort();
            free(re);
        }
    }
    return 0;
}
