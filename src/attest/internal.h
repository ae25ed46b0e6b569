/* Internal to attest (and its tests): checks shared by every provider. */
#ifndef INITRA_ATTEST_INTERNAL_H
#define INITRA_ATTEST_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "initra/attest.h"
#include "initra/util.h"

/* A provider's quote must parse (SGX or TDX) and carry the report_data that was asked for: a stale or
 * crossed quote is refused. who names the provider and path for the message. 0 or -1. */
int attest_check_quote(const uint8_t *quote, size_t len, const uint8_t report_data[64], const char *who,
                              initra_err *err);

/* configfs-tsm conflict check (Documentation/ABI/testing/configfs-tsm-report: `generation` counts
 * writes to the entry). before/after: generation read just before and just after outblob. fresh: the
 * entry was created by us and written once, so the kernel's count must be exactly 1. 0 or -1. */
int attest_tsm_generation_check(const char *entry, int fresh, uint64_t before, uint64_t after, initra_err *err);

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

/* Explicit constructors (detection uses them; tests call them with their own paths):
 *   sim_fd: fd must be a connected AF_UNIX SOCK_STREAM socket served by initra_sim_serve_fd. The fd is
 *           inherited and stays open after initra_attest_free (other programs of the enclave use it).
 *   gramine: dir is Gramine's /dev/attestation; its attestation_type must be "dcap".
 *   occlum: dev is Occlum's /dev/sgx (opened per quote).
 *   tsm: dir is configfs-tsm's report directory; entry NULL makes a unique entry per quote and removes
 *        it afterwards, a name uses that entry (created if missing, then removed; kept if it existed). */
initra_attester *attest_sim_fd(int fd, initra_err *err);
initra_attester *attest_gramine(const char *dir, initra_err *err);
initra_attester *attest_occlum(const char *dev, initra_err *err);
initra_attester *attest_tsm(const char *dir, const char *entry, initra_err *err);
/* What the provider reported about itself, for display: configfs-tsm's `provider` attribute (e.g.
 * "tdx_guest") after the first quote; "" otherwise. */
const char *attest_detail(const initra_attester *a);

/* ---- the sim descriptor's client side (protocol in initra/attest.h) ---- */
/* Fills the 72-byte request. */
void attest_simfd_encode_request(const uint8_t report_data[64], uint8_t out[INITRA_SIMFD_REQUEST_SIZE]);
/* Reply header (untrusted bytes from the peer): status and payload length, all bounds checked. */
int attest_simfd_decode_reply_header(const uint8_t in[INITRA_SIMFD_REPLY_HEADER_SIZE], uint16_t *status,
                                     uint32_t *len, initra_err *err);
/* A whole reply (header and payload, exactly n bytes) to the request for report_data: status 0 gives a
 * fresh copy of the quote, which must parse and carry report_data; status 1 gives -1 with the peer's
 * message (non-printable bytes replaced by '?'). */
int attest_simfd_decode_reply(const uint8_t *in, size_t n, const uint8_t report_data[64], uint8_t **quote,
                              size_t *len, initra_err *err);
/* key NULL: integrity-only (no key). */
void attest_simfd_encode_mount(const uint8_t *key, uint8_t out[INITRA_SIMFD_REQUEST_SIZE]);
/* Untrusted reply bytes: magic, version, reserved and errno (one of the values above) checked. */
int attest_simfd_decode_mount_reply(const uint8_t in[INITRA_SIMFD_MOUNT_REPLY_SIZE], uint32_t *errnum,
                                    initra_err *err);
/* Seal-key exchange, client side: the 72-byte request; the reply header (status 0 must carry exactly
 * 16 bytes); a whole reply of exactly n bytes: status 0 copies the key, status 1 gives -1 with the
 * peer's message on one line. */
void attest_simfd_encode_seal(const initra_seal_request *r, uint8_t out[INITRA_SIMFD_REQUEST_SIZE]);
int attest_simfd_decode_seal_reply_header(const uint8_t in[INITRA_SIMFD_REPLY_HEADER_SIZE], uint16_t *status,
                                          uint32_t *len, initra_err *err);
int attest_simfd_decode_seal_reply(const uint8_t *in, size_t n, uint8_t key[16], initra_err *err);

/* Occlum's SGXIOC_GET_KEY: the ioctl number and the SGX SDK's 512-byte sgx_key_request_t for r
 * (KEYNAME = SEAL), little-endian at the SDK's offsets (attest/provider.c). */
#define ATTEST_KEY_REQUEST_SIZE 512
unsigned long attest_occlum_get_key_ioctl(void);
void attest_occlum_key_request(const initra_seal_request *r, uint8_t out[ATTEST_KEY_REQUEST_SIZE]);

/* image_config.json text, strict: exactly {"image_type": "encrypted" | "integrity-only"}. *type
 * INITRA_IMAGE_ENCRYPTED or INITRA_IMAGE_INTEGRITY_ONLY. Errors name file and field. */
int attest_image_config_parse(const char *text, size_t len, const char *file, int *type, initra_err *err);

#endif
