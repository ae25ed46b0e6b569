/* libFuzzer target: a UA report's json_report text (a peer's untrusted JSON: b64_quote, json_collateral). */
#include <stdlib.h>
#include <string.h>

#include "initra/aecs.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    if (!text) return 0;
    memcpy(text, data, size);
    text[size] = 0;
    initra_ua_report r = {"1.0", "Passport", "SGX_DCAP", text, ""};
    uint8_t *quote;
    size_t qlen;
    char *coll;
    initra_err err;
    if (initra_ua_report_parse(&r, &quote, &qlen, &coll, &err) == 0) {
        free(quote);
        free(coll);
    }
    free(text);
    return 0;
}
