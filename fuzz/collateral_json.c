/* libFuzzer target: a collateral bundle (JSON from a file or a PCCS), parsed and checked against the
 * built-in root (signatures over whatever the bundle holds, chains, CRLs). */
#include <stdlib.h>

#include "dcap/internal.h"
#include "initra/dcap.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static initra_dcap *d;
    initra_err err;
    if (!d && !(d = initra_dcap_new(&err))) abort();
    initra_collateral *c = initra_dcap_collateral(d, (const char *)data, size, &err);
    if (c) {
        uint8_t fmspc[6];
        dcap_collateral_fmspc(c, fmspc);
        (void)dcap_collateral_expires(c);
    }
    initra_collateral_release(c);
    return 0;
}
