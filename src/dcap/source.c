/* The one place that decides where a quote's collateral comes from: a bundle (a file, or bytes already
 * read) or a PCCS (docs/protocols.md#collateral). The RA-TLS verifier, `initra quote verify` and the
 * AECS Passport report all go through it. Not thread-safe by itself beyond what initra_pccs is. */
#include <stdlib.h>
#include <string.h>

#include "dcap/internal.h"
#include "initra/dcap.h"

struct initra_collateral_src {
    initra_dcap *dcap;
    char *text;                /* the bundle's text (NUL-terminated), or NULL for a PCCS */
    size_t len;
    initra_collateral *bundle; /* text parsed and bound to dcap */
    initra_pccs *pccs;
};

void initra_collateral_src_free(initra_collateral_src *s)
{
    if (!s) return;
    if (s->bundle) initra_collateral_release(s->bundle);
    dcap_pccs_free(s->pccs);
    free(s->text);
    free(s);
}

initra_collateral_src *initra_collateral_src_open(initra_dcap *d, const initra_collateral_src_opts *o, initra_err *err)
{
    initra_collateral_src *s = calloc(1, sizeof *s);
    if (!s) return initra_fail(err, "out of memory"), NULL;
    s->dcap = d;
    if (o->data) {
        if (!(s->text = malloc(o->len + 1))) goto oom;
        memcpy(s->text, o->data, o->len);
        s->text[o->len] = 0;
        s->len = o->len;
    } else if (o->file) {
        uint8_t *t;
        if (initra_read_file(o->file, INITRA_MAX_COLLATERAL, &t, &s->len, err)) goto fail;
        s->text = (char *)t; /* initra_read_file NUL-terminates */
    }
    if (s->text) {
        if (!(s->bundle = initra_dcap_collateral(d, s->text, s->len, err))) {
            if (!o->data) initra_fail_prefix(err, "%s", o->file);
            goto fail;
        }
        return s;
    }
    if (!(s->pccs = dcap_pccs_open(&o->pccs, err))) {
        initra_fail_prefix(err, "no collateral bundle given, and no PCCS");
        goto fail;
    }
    return s;
oom:
    initra_fail(err, "out of memory");
fail:
    initra_collateral_src_free(s);
    return NULL;
}

initra_collateral *initra_dcap_collateral_for(initra_collateral_src *s, const uint8_t *quote, size_t len, time_t at,
                                              initra_err *err)
{
    if (s->bundle) return dcap_collateral_ref(s->bundle);
    uint8_t fmspc[6];
    char ca[16];
    int tdx;
    if (dcap_quote_pck(s->dcap, quote, len, fmspc, ca, &tdx, err)) return NULL;
    return dcap_pccs_collateral(s->pccs, s->dcap, fmspc, ca, tdx, at, err);
}

int initra_dcap_collateral_text_for(initra_collateral_src *s, const uint8_t *quote, size_t len, char **json,
                                    initra_err *err)
{
    if (s->bundle) {
        if (!(*json = malloc(s->len + 1))) return initra_fail(err, "out of memory");
        memcpy(*json, s->text, s->len + 1);
        return 0;
    }
    uint8_t fmspc[6];
    char ca[16];
    int tdx;
    if (dcap_quote_pck(s->dcap, quote, len, fmspc, ca, &tdx, err)) return -1;
    return dcap_pccs_fetch_bundle(s->pccs, fmspc, ca, tdx, json, err);
}
