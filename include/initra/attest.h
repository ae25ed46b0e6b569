/* initra attest: quote providers. The simulated SGX platform (sim), and on hardware Gramine
 * (/dev/attestation), Occlum (/dev/sgx ioctls) and Linux configfs-tsm, behind one function. */
#ifndef INITRA_ATTEST_H
#define INITRA_ATTEST_H

#include <stddef.h>
#include <stdint.h>

#include "initra/sgx.h"
#include "initra/util.h"

/* ---------------- simulated SGX platform ---------------- */

/* The platform's directory: $INITRA_SIM_DIR, else ~/.local/share/initra/sim. */
int initra_sim_dir(char *buf, size_t n, initra_err *err);

typedef struct {
    const char *tcb_status; /* NULL = "UpToDate"; any Intel TCB status name */
    const char *advisories; /* NULL or comma-separated advisory IDs, e.g. "INTEL-SA-00615" */
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

/* ---------------- quote providers ---------------- */

/* Environment: INITRA_SIM_FD (a socket inherited from `initra run`, served by initra_sim_serve_fd);
 * INITRA_GRAMINE_DIR (default /dev/attestation), INITRA_OCCLUM_DEV (default /dev/sgx),
 * INITRA_TSM_DIR (default /sys/kernel/config/tsm/report). */
#define INITRA_SIM_FD_ENV "INITRA_SIM_FD"

typedef struct initra_attester initra_attester;

/* Finds the provider of this environment, in order: sim descriptor, Gramine, Occlum, configfs-tsm.
 * None: -1 with an error saying this is not inside an enclave and what was looked for. */
initra_attester *initra_attest_detect(initra_err *err);
/* Provider name: "sim", "gramine", "occlum", "tsm". */
const char *initra_attest_name(const initra_attester *a);
/* A quote over report_data (64 bytes). Fresh buffer. */
int initra_attest_quote(initra_attester *a, const uint8_t report_data[64], uint8_t **quote, size_t *len,
                        initra_err *err);
void initra_attest_free(initra_attester *a);

/* Launcher side of the sim descriptor: answers quote requests on fd for a fixed identity (the enclave
 * chooses only report_data) until the peer closes. 0 on orderly close. */
int initra_sim_serve_fd(initra_sim *sim, int fd, const initra_sgx_report_body *identity, initra_err *err);

#endif
