/* Internal to policy (its files, unit tests and fuzz targets): declarations no other module needs.
 * Not a public API. */
#ifndef INITRA_POLICY_INTERNAL_H
#define INITRA_POLICY_INTERNAL_H

#include "initra/policy.h"

/* Reads and parses a policy file (either format). */
initra_policy *policy_load_opts(const char *path, const initra_policy_opts *o, initra_err *err);
initra_policy *policy_load(const char *path, initra_err *err);
/* 1 for the Occlum schema. */
int policy_is_occlum(const initra_policy *p);
initra_secret_policy *policy_secret_load(const char *path, initra_err *err);
initra_secret_policy *policy_secret_from_json(const json_t *j, const char *where, initra_err *err);
initra_secret_policy *policy_secret_load_opts(const char *path, const initra_policy_opts *o, initra_err *err);

#endif
