/* libFuzzer target: a UA report's json_report text (a peer's untrusted JSON: UAL's DcapReport, b64_quote and
 * json_collateral), and the json_collateral it carries read as UAL's SgxQlQveCollateral. */
#include <stdlib.h>
#include <string.h>

#include "aecs/internal.h"
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
        char *bundle;
        if (aecs_ua_collateral_to_bundle(coll, strlen(coll), &bundle, &err) == 0) free(bundle);
        free(quote);
        free(coll);
    }
    /* the collateral reader alone, on the same bytes (a corpus of json_collateral texts reaches it too) */
    char *bundle;
    if (aecs_ua_collateral_to_bundle(text, size, &bundle, &err) == 0) free(bundle);
    free(text);
    return 0;
}
