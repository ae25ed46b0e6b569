/* initra sim: the simulated SGX platform, a stand-in for the CPU, the quoting enclave and Intel's PCS
 * (docs/architecture.md, "The simulated platform"). It issues DCAP v3 quotes under its own root and the
 * collateral for them; `initra run` serves its quotes to an enclave over the sim descriptor (protocol in
 * initra/attest.h). A test stand-in, no security boundary. */
#ifndef INITRA_SIM_H
#define INITRA_SIM_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "initra/attest.h"
#include "initra/sgx.h"
#include "initra/util.h"

/* ---------------- the platform ---------------- */

/* The platform's directory: $INITRA_SIM_DIR, else ~/.local/share/initra/sim. */
int initra_sim_dir(char *buf, size_t n, initra_err *err);

typedef struct {
    const char *tcb_status; /* NULL = "UpToDate"; any Intel TCB status name */
    const char *advisories; /* NULL or comma-separated advisory IDs, e.g. "INTEL-SA-00615" */
    time_t issued_at;       /* 0 = now; earlier times make certificates and collateral issued then
                               (tests of expired collateral) */
} initra_sim_init_opts;

/* (Re)builds the platform in dir (mode 0700): sim root CA, PCK Processor CA, PCK leaf with the SGX
 * extension, TCB signing certificate, root and PCK CRLs, QE attestation key, signed TCB info (v3) and
 * QE identity, and the collateral bundle. */
int initra_sim_init(const char *dir, const initra_sim_init_opts *opts, initra_err *err);
/* Checks opts as initra_sim_init does (status name, advisory list) without touching anything. */
int initra_sim_check_opts(const initra_sim_init_opts *opts, initra_err *err);

typedef struct initra_sim initra_sim;
/* Opens the platform, creating it with defaults on first use. Loads keys once. */
initra_sim *initra_sim_open(const char *dir, initra_err *err);
void initra_sim_close(initra_sim *sim);
/* A DCAP v3 quote for `identity` (every report body field as given) with report_data replaced by
 * report_data. Fresh buffer. */
int initra_sim_quote(initra_sim *sim, const initra_sgx_report_body *identity, const uint8_t report_data[64],
                     uint8_t **quote, size_t *len, initra_err *err);
/* The collateral bundle (vectors' JSON format), fresh NUL-terminated text. */
int initra_sim_collateral(initra_sim *sim, char **json, initra_err *err);
/* The sim root CA certificate, DER. Fresh buffer. */
int initra_sim_root_der(initra_sim *sim, uint8_t **der, size_t *len, initra_err *err);
/* A simulated enclave with a fixed identity, for callers that take a quote callback (initra_quote_fn):
 * pass initra_sim_quoter_quote with a pointer to this struct as its context. */
typedef struct {
    initra_sim *sim;
    const initra_sgx_report_body *identity;
} initra_sim_quoter;
int initra_sim_quoter_quote(void *quoter, const uint8_t report_data[64], uint8_t **quote, size_t *len,
                            initra_err *err);

/* EGETKEY (KEYNAME = SEAL) on the sim platform: the 16-byte seal key of the enclave `identity` (the
 * launcher's fixed report body) for request r, derived from the platform's seal secret (file
 * seal_secret, 32 random bytes, 0600, made with the platform; docs/kss.md "Seal keys"). Refuses unknown
 * policy bits, a policy without MRENCLAVE or MRSIGNER, and an isv_svn, config_svn or cpu_svn above the
 * enclave's or the platform's, with one line naming the field and both values. */
int initra_sim_seal_key(initra_sim *sim, const initra_sgx_report_body *identity, const initra_seal_request *r,
                        uint8_t key[16], initra_err *err);

/* ---------------- the launcher's side of the sim descriptor ---------------- */

/* Launcher side of the sim descriptor: answers quote and seal-key requests on fd for a fixed identity
 * (the enclave chooses only report_data, or the seal request's policy, SVNs and key_id) until the peer
 * closes. 0 on orderly close. */
int initra_sim_serve_fd(initra_sim *sim, int fd, const initra_sgx_report_body *identity, initra_err *err);

/* The launcher's side of a mount: key NULL for integrity-only. Returns 0 when the root was switched,
 * else an errno of the MountRootFS exchange's list (initra/attest.h). */
typedef int (*initra_sim_mount_fn)(void *ctx, const uint8_t *key);
/* initra_sim_serve_fd that also answers mount requests with mount(ctx, key); mount NULL answers them
 * ENOENT (no initfs stage). */
int initra_sim_serve_fd_mount(initra_sim *sim, int fd, const initra_sgx_report_body *identity,
                              initra_sim_mount_fn mount, void *ctx, initra_err *err);

#endif
