/* Internal to attest (and its tests): checks shared by every provider. */
#ifndef INITRA_ATTEST_INTERNAL_H
#define INITRA_ATTEST_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "initra/attest.h"
#include "initra/util.h"

/* A provider's quote must parse (SGX or TDX) and carry the report_data that was asked for: a stale or
 * crossed quote is refused. who names the provider and path for the message. 0 or -1. */
int initra_attest_check_quote(const uint8_t *quote, size_t len, const uint8_t report_data[64], const char *who,
                              initra_err *err);

/* configfs-tsm conflict check (Documentation/ABI/testing/configfs-tsm-report: `generation` counts
 * writes to the entry). before/after: generation read just before and just after outblob. fresh: the
 * entry was created by us and written once, so the kernel's count must be exactly 1. 0 or -1. */
int initra_tsm_generation_check(const char *entry, int fresh, uint64_t before, uint64_t after, initra_err *err);

/* Detection with the places where hardware providers appear given explicitly (initra_attest_detect
 * passes /dev/attestation, /dev/sgx and /sys/kernel/config/tsm/report; tests pass fake trees). A
 * provider found there is used and any variable that would choose another ($INITRA_SIM_FD,
 * $INITRA_GRAMINE_DIR, $INITRA_OCCLUM_DEV, $INITRA_TSM_DIR) is refused; only where none exists do
 * those variables choose. */
typedef struct {
    const char *gramine; /* Gramine's /dev/attestation directory */
    const char *occlum;  /* Occlum's /dev/sgx device */
    const char *tsm;     /* configfs-tsm's report directory */
} attest_fixed_paths;
initra_attester *attest_detect_at(const attest_fixed_paths *fx, initra_err *err);

#endif
