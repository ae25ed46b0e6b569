/* initra policy: which attested enclaves are accepted (docs/policy.md).
 * Two formats:
 *  - Occlum's `ra_config` / `dynamic_config.json` (verify_* switches "on"/"off", any-of sgx_mrs,
 *    `==` on isv_svn and config_svn), run under initra's defaults for TCB status and collateral;
 *  - initra's own: a JSON list of allowed identities (mr_enclave, mr_signer, isv_prod_id, min_isv_svn,
 *    config_id, min_config_svn, isv_family_id, isv_ext_prod_id, allow_debug, tcb_statuses, advisories,
 *    allow_expired_collateral).
 * And the KMS's per-secret policy: named identities and, per secret name, which of them may read it. */
#ifndef INITRA_POLICY_H
#define INITRA_POLICY_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "initra/sgx.h"
#include "initra/util.h"

/* What a verified quote says: the enclave report, the DCAP verdict's TCB status and advisory IDs, and
 * whether the collateral was outside its validity window at the verification time (the quote verified
 * only because the caller let expired collateral through, so the policy decides). */
typedef struct {
    const initra_sgx_report_body *report;
    const char *tcb_status;
    const char *const *advisories;
    size_t n_advisories;
    int collateral_expired;
    uint32_t tcb_eval_data_number; /* the collateral's (lower of TCB info's and QE identity's) */
} initra_evidence;

typedef struct initra_policy initra_policy;

/* How a policy is loaded (docs/policy.md, "What pins an enclave"). A policy must pin every enclave it
 * accepts by mr_enclave or mr_signer: Occlum format verify_mr_enclave or verify_mr_signer "on", initra
 * format an mr_enclave or mr_signer in every entry. Only the measured configuration can opt out
 * (init_ra_conf.json's "initra": {"accept_any_enclave": true}, the KMS's accept_any_enclave); then
 * initra_policy_warning says so and callers log it at every use. */
typedef struct {
    int accept_any_enclave; /* the measured configuration's explicit opt-out */
    const char *peer;       /* whom the policy admits, for messages: "the KMS", "the client"; NULL: "the enclave" */
} initra_policy_opts;

/* Parses a policy from JSON: an array = initra format; an object with "sgx_mrs" = Occlum format.
 * `where` names the source for errors (e.g. "dynamic_config.json" or "init_ra_conf.json: ra_config").
 * o NULL = the defaults (pinning required). A policy that pins nothing is an error naming what to set. */
initra_policy *initra_policy_from_json_opts(const json_t *j, const char *where, const initra_policy_opts *o,
                                            initra_err *err);
initra_policy *initra_policy_from_json(const json_t *j, const char *where, initra_err *err);
/* NULL, or (only with accept_any_enclave) one line saying that some entry pins neither mr_enclave nor
 * mr_signer, so any genuine enclave it names is accepted: log it at every use of the policy. */
const char *initra_policy_warning(const initra_policy *p);
void initra_policy_free(initra_policy *p);
/* 0 when some entry accepts the evidence; -1 with `why` naming the closest entry, the field that
 * failed and both values. */
int initra_policy_check(const initra_policy *p, const initra_evidence *ev, initra_err *why);

/* Per-secret policy for the KMS:
 *   { "identities": { "NAME": { ...an initra policy entry... }, ... },
 *     "secrets":    { "SECRET": ["NAME", ...], ... } }
 * A secret without a rule is readable by no one. */
typedef struct initra_secret_policy initra_secret_policy;
initra_secret_policy *initra_secret_policy_from_json_opts(const json_t *j, const char *where,
                                                          const initra_policy_opts *o, initra_err *err);
/* As initra_policy_warning. */
const char *initra_secret_policy_warning(const initra_secret_policy *sp);
void initra_secret_policy_free(initra_secret_policy *sp);
/* 0 when one of the identities named for `secret` accepts ev; -1 with why (no rule, or the closest
 * identity and the failing field). */
int initra_secret_policy_check(const initra_secret_policy *sp, const char *secret, const initra_evidence *ev,
                               initra_err *why);

#endif
