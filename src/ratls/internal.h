/* Internal to ratls (its files, unit tests and fuzz targets): declarations no other module needs.
 * Not a public API. */
#ifndef INITRA_RATLS_INTERNAL_H
#define INITRA_RATLS_INTERNAL_H

#include "initra/ratls.h"

/* Gramine-made certificates (any with the legacy extension): Gramine's verifier ignores their validity
 * dates (its defaults are 2001-01-01..2030-12-31, settable by the attester), so initra does too. */
int ratls_format_is_gramine(int format);
/* Finds the evidence in a peer certificate (the combinations above, by a real DER/CBOR parser), checks
 * the certificate's self-signature (not for an Occlum-format certificate signed with SHA-1, as Occlum's
 * are: see ratls.c) and that the quotes' report_data bind the certificate's key. On success *quote is a
 * fresh copy of the deciding quote (the TCG one where present) and *format the combination found. */
int ratls_evidence(X509 *cert, uint8_t **quote, size_t *quote_len, int *format, initra_err *err);
/* Adds a non-critical extension whose OCTET STRING holds data (certificate builders, tests, fuzz
 * targets). 0, or -1. */
int ratls_add_ext(X509 *x, const char *oid, const uint8_t *data, size_t len);
/* Parses one PEM certificate. NULL with err on failure. */
X509 *ratls_pem_cert(const char *pem, initra_err *err);
const char *ratls_format_name(int format);

#endif
