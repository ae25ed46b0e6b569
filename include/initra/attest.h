/* initra attest: quote providers behind one function: on hardware Gramine (/dev/attestation), Occlum
 * (/dev/sgx ioctls) and Linux configfs-tsm; on the simulated platform (initra/sim.h) the client side of
 * the sim descriptor, whose protocol is defined here. */
#ifndef INITRA_ATTEST_H
#define INITRA_ATTEST_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "initra/sgx.h"
#include "initra/util.h"

/* ---------------- quote providers ---------------- */

/* Hardware providers sit at fixed places: Gramine's /dev/attestation, Occlum's /dev/sgx, configfs-tsm's
 * /sys/kernel/config/tsm/report. Only where none of them exists may the environment choose one:
 * INITRA_SIM_FD (a socket inherited from `initra run`, served by initra_sim_serve_fd in initra/sim.h), INITRA_GRAMINE_DIR,
 * INITRA_OCCLUM_DEV, INITRA_TSM_DIR (fake trees for tests). */
#define INITRA_SIM_FD_ENV "INITRA_SIM_FD"

/* Produces a quote over 64 bytes of report data: what RA-TLS, AECS reports and the servers take, made
 * from an attester, the sim platform or a test's own source. */
typedef int (*initra_quote_fn)(void *ctx, const uint8_t report_data[64], uint8_t **quote, size_t *len,
                               initra_err *err);

typedef struct initra_attester initra_attester;

/* Finds the provider: a hardware one at its fixed place (Gramine, Occlum, configfs-tsm, in that order),
 * and then any of the variables above set is an error naming it (the host sets the environment: it must
 * not swap the provider whose report carries this enclave's CONFIGID). Without hardware, in order: sim
 * descriptor, Gramine, Occlum, configfs-tsm at their variables' paths. None: NULL with an error saying
 * this is not inside an enclave and what was looked for. */
initra_attester *initra_attest_detect(initra_err *err);
/* Provider name: "sim", "gramine", "occlum", "tsm". */
const char *initra_attest_name(const initra_attester *a);
/* A quote over report_data (64 bytes). Fresh buffer. */
int initra_attest_quote(initra_attester *a, const uint8_t report_data[64], uint8_t **quote, size_t *len,
                        initra_err *err);
/* The same with the attester as a void * context: the quote callback (initra_quote_fn) that RA-TLS,
 * the UA report and the KMS and init clients take. */
int initra_attest_quote_cb(void *attester, const uint8_t report_data[64], uint8_t **quote, size_t *len,
                           initra_err *err);
void initra_attest_free(initra_attester *a);

/* ---------------- seal keys (EGETKEY) ----------------
 * A key only this enclave identity on this platform can derive, as SGX's EGETKEY gives it (Intel SDM,
 * EGETKEY; SGX SDK sgx_key.h): the key policy chooses which identity fields enter the derivation, and the
 * SVNs named in the request must not exceed the enclave's own (a newer enclave derives the keys of older
 * SVNs, never the reverse). Providers: the sim descriptor (the launcher derives from the platform's
 * secret in the sim directory), Occlum (/dev/sgx ioctl SGXIOC_GET_KEY), Gramine
 * (/dev/attestation/keys/_sgx_mrsigner: MRSIGNER policy at the enclave's own SVNs only; key_id enters
 * by HMAC-SHA256 over Gramine's key, which itself has KEYID 0). configfs-tsm has none. */
enum {
    INITRA_KEYPOLICY_MRENCLAVE = 0x1,
    INITRA_KEYPOLICY_MRSIGNER = 0x2,
    INITRA_KEYPOLICY_NOISVPRODID = 0x4,
    INITRA_KEYPOLICY_CONFIGID = 0x8,
    INITRA_KEYPOLICY_ISVFAMILYID = 0x10,
    INITRA_KEYPOLICY_ISVEXTPRODID = 0x20,
};
typedef struct {
    uint16_t key_policy;  /* INITRA_KEYPOLICY_* bits; at least MRENCLAVE or MRSIGNER */
    uint16_t isv_svn;     /* <= the enclave's ISVSVN */
    uint16_t config_svn;  /* <= the enclave's CONFIGSVN */
    uint8_t cpu_svn[16];  /* <= the platform's CPUSVN (all zero: the lowest) */
    uint8_t key_id[32];   /* chosen by the caller, stored beside what the key protects */
} initra_seal_request;

/* Derives the 16-byte seal key for r. Errors name the refused field (an SVN above the enclave's own, a
 * policy the provider cannot give). */
typedef int (*initra_seal_key_fn)(void *ctx, const initra_seal_request *r, uint8_t key[16], initra_err *err);
int initra_attest_seal_key(initra_attester *a, const initra_seal_request *r, uint8_t key[16], initra_err *err);
/* The same with the attester as a void * context (initra_seal_key_fn). */
int initra_attest_seal_key_cb(void *attester, const initra_seal_request *r, uint8_t key[16], initra_err *err);

/* Environment for tests: INITRA_TSM_ENTRY names the configfs-tsm entry to use (see attest_tsm). */
#define INITRA_TSM_ENTRY_ENV "INITRA_TSM_ENTRY"

/* ---------------- sim descriptor protocol, version 1 ----------------
 * The launcher (`initra run`) creates socketpair(AF_UNIX, SOCK_STREAM), keeps one end, serving it with
 * initra_sim_serve_fd for the enclave's fixed identity, and leaves the other open across exec in the
 * enclave with INITRA_SIM_FD=<decimal fd number>. All integers little-endian. One exchange at a time
 * per descriptor (processes sharing it must take turns; a crossed reply is detected by report_data).
 *
 *   request, 72 bytes:  magic "ISQ?" (49 53 51 3f) | version u16 = 1 | reserved u16 = 0 |
 *                       report_data[64]
 *   reply, 12 + len:    magic "ISQ!" (49 53 51 21) | version u16 = 1 | status u16 | len u32 | payload
 *       status 0: payload is the quote, 1 <= len <= INITRA_QUOTE_MAX_SIZE;
 *       status 1: payload is a one-line error message, 1 <= len <= INITRA_SIMFD_MAX_ERROR (no NUL).
 *
 * The client reads exactly 12 bytes, checks magic, version, status and len before reading exactly
 * len more, then requires the quote to parse and to carry the requested report_data. The server
 * answers a bad request with a status-1 reply and stops serving (fail closed); a failed quote gets a
 * status-1 reply and serving continues. Either side's EOF in mid-message is an error; the client's
 * EOF between requests ends serving (0). */
#define INITRA_SIMFD_VERSION 1
#define INITRA_SIMFD_REQUEST_SIZE 72
#define INITRA_SIMFD_REPLY_HEADER_SIZE 12
#define INITRA_SIMFD_MAX_ERROR 480
extern const uint8_t INITRA_SIMFD_REQUEST_MAGIC[4];
extern const uint8_t INITRA_SIMFD_REPLY_MAGIC[4];

/* Request decoder (server side): checks magic, version and reserved. 0 or -1. */
int initra_simfd_decode_request(const uint8_t in[INITRA_SIMFD_REQUEST_SIZE], uint8_t report_data[64],
                                initra_err *err);
/* Reply encoders (server side); fresh buffers. */
int initra_simfd_encode_reply(uint16_t status, const uint8_t *payload, size_t len, uint8_t **out, size_t *out_len,
                              initra_err *err);

/* Socket I/O of both sides. recv_exact reads up to n bytes, retrying on EINTR and short reads,
 * stopping early only at EOF: 0 with *got (== n unless the peer closed), or -1 on a socket error.
 * send_all writes all n bytes (MSG_NOSIGNAL: a closed peer is an error, never SIGPIPE): 0 or -1. */
int initra_simfd_recv_exact(int fd, void *buf, size_t n, size_t *got, initra_err *err);
int initra_simfd_send_all(int fd, const void *buf, size_t n, initra_err *err);
/* Checks fd is an open, connected AF_UNIX SOCK_STREAM socket. 0 or -1 naming what it is instead. */
int initra_simfd_check_socket(int fd, initra_err *err);

/* ---------------- sim descriptor: the MountRootFS exchange (its own version 1) ----------------
 * Stands in for Occlum's MountRootFS syscall (number 363, arguments: a pointer to a 16-byte key or
 * NULL, and a pointer to a user_rootfs_config or NULL; see docs/occlum.md). Same descriptor, same
 * one-exchange-at-a-time rule; the launcher tells the two requests apart by their magic, both are 72
 * bytes.
 *
 *   request, 72 bytes:  magic "ISM?" (49 53 4d 3f) | version u16 = 1 | flags u16 (bit 0: a key follows;
 *                       other bits 0) | key[16] (all 0 without bit 0) | rootfs_config u64 = 0 (Occlum's
 *                       NULL rootfs config: mount the instance's own image) | zero[40]
 *   reply, 12 bytes:    magic "ISM!" (49 53 4d 21) | version u16 = 1 | reserved u16 = 0 | errno u32
 *       errno 0: mounted; else the errno Occlum's syscall would return: EPERM (already mounted), EACCES
 *       (the key does not open the image), EINVAL (key given for an integrity-only image or missing for
 *       an encrypted one, bad request), ENOENT (this instance has no initfs stage), EIO (the launcher
 *       could not switch the root). Nothing else.
 * A bad mount request gets the EINVAL reply and serving stops (framing is lost). */
#define INITRA_SIMFD_MOUNT_VERSION 1
#define INITRA_SIMFD_MOUNT_REPLY_SIZE 12
extern const uint8_t INITRA_SIMFD_MOUNT_MAGIC[4];
extern const uint8_t INITRA_SIMFD_MOUNT_REPLY_MAGIC[4];
/* Checks magic, version, flags and the zero fields; *has_key and key (16 bytes) set. */
int initra_simfd_decode_mount(const uint8_t in[INITRA_SIMFD_REQUEST_SIZE], int *has_key, uint8_t key[16],
                              initra_err *err);
void initra_simfd_encode_mount_reply(uint32_t errnum, uint8_t out[INITRA_SIMFD_MOUNT_REPLY_SIZE]);

/* ---------------- sim descriptor: the seal-key exchange (its own version 1) ----------------
 * Stands in for EGETKEY (KEYNAME = SEAL). Same descriptor, same one-exchange-at-a-time rule; the
 * launcher tells the requests apart by their magic, all are 72 bytes. The identity fields that enter
 * the derivation are the launcher's fixed identity of the enclave, never the request's.
 *
 *   request, 72 bytes:  magic "ISK?" (49 53 4b 3f) | version u16 = 1 | key_policy u16 | isv_svn u16 |
 *                       config_svn u16 | cpu_svn[16] | key_id[32] | zero[12]
 *   reply, 12 + len:    magic "ISK!" (49 53 4b 21) | version u16 = 1 | status u16 | len u32 | payload
 *       status 0: payload is the 16-byte key, len = 16;
 *       status 1: payload is a one-line error message, 1 <= len <= INITRA_SIMFD_MAX_ERROR (no NUL).
 * A bad request (magic, version, non-zero tail) gets a status-1 reply and serving stops (framing is
 * lost); a refused derivation (policy bits, an SVN above the enclave's or the platform's) gets a
 * status-1 reply naming the field and serving continues. The derivation: docs/kss.md, "Seal keys". */
#define INITRA_SIMFD_SEAL_VERSION 1
extern const uint8_t INITRA_SIMFD_SEAL_MAGIC[4];
extern const uint8_t INITRA_SIMFD_SEAL_REPLY_MAGIC[4];
/* Server side: checks magic, version and the zero tail; fills r. 0 or -1. */
int initra_simfd_decode_seal(const uint8_t in[INITRA_SIMFD_REQUEST_SIZE], initra_seal_request *r, initra_err *err);
/* Server side: status 0 with the 16-byte key, or 1 with a message (cut to INITRA_SIMFD_MAX_ERROR).
 * Fresh buffer (the caller zeroizes a key reply before freeing it). */
int initra_simfd_encode_seal_reply(uint16_t status, const uint8_t *payload, size_t len, uint8_t **out,
                                   size_t *out_len, initra_err *err);

/* MountRootFS from inside the enclave: on Occlum the syscall 363 (key or NULL, NULL rootfs config), on
 * the sim platform the exchange above. Other providers: -1 (there is no such call). On refusal -1 with
 * the errno's name and what it means. */
#define INITRA_OCCLUM_SYS_MOUNT_ROOTFS 363
int initra_attest_mount_rootfs(initra_attester *a, const uint8_t *key, initra_err *err);

/* ---------------- Occlum's image_config.json and image key (docs/occlum.md) ----------------
 * What MountRootFS takes: the image's type, recorded by Occlum's build in initfs/etc/image_config.json,
 * and for an encrypted image the key, which init fetches from the KMS as the secret "image_key". */
#define INITRA_IMAGE_CONFIG_FILE "image_config.json"
enum { INITRA_IMAGE_NONE = -1, INITRA_IMAGE_INTEGRITY_ONLY = 0, INITRA_IMAGE_ENCRYPTED = 1 };
/* image_config.json from a file, strict: exactly {"image_type": "encrypted" | "integrity-only"}; *type
 * INITRA_IMAGE_ENCRYPTED or INITRA_IMAGE_INTEGRITY_ONLY, or INITRA_IMAGE_NONE for a missing file.
 * Errors name file and field. */
int initra_image_config_load(const char *path, int *type, initra_err *err);
/* An image key (Occlum's image_key secret, or the file of `--image-key`): trailing '\r'/'\n' trimmed,
 * then exactly 16 two-digit hex bytes separated by '-'. Errors never show the bytes. */
int initra_image_key_parse(const uint8_t *s, size_t n, uint8_t key[16], initra_err *err);

#endif
