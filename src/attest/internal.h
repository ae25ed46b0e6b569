/* Internal to attest (and its tests): socket I/O for the sim descriptor protocol (documented in
 * include/initra/attest.h), shared by the client (provider.c) and the server (simfd_serve.c), and
 * checks shared by every provider. */
#ifndef INITRA_ATTEST_INTERNAL_H
#define INITRA_ATTEST_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "initra/attest.h"
#include "initra/util.h"

/* Reads up to n bytes, retrying on EINTR and short reads, stopping early only at EOF. 0 with *got
 * (== n unless the peer closed), or -1 on a socket error. */
int initra_simfd_recv_exact(int fd, void *buf, size_t n, size_t *got, initra_err *err);
/* Writes all n bytes (MSG_NOSIGNAL: a closed peer is an error, never SIGPIPE). 0 or -1. */
int initra_simfd_send_all(int fd, const void *buf, size_t n, initra_err *err);
/* Checks fd is an open, connected AF_UNIX SOCK_STREAM socket. 0 or -1 naming what it is instead. */
int initra_simfd_check_socket(int fd, initra_err *err);

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
