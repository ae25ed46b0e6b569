/* Internal to sgx (its files, unit tests and fuzz targets): declarations no other module needs.
 * Not a public API. */
#ifndef INITRA_SGX_INTERNAL_H
#define INITRA_SGX_INTERNAL_H

#include "initra/sgx.h"

/* Report body and header codecs over exactly-sized buffers (the caller has checked the length). */
void sgx_report_body_decode(const uint8_t in[INITRA_SGX_REPORT_BODY_SIZE], initra_sgx_report_body *out);
void sgx_quote_header_decode(const uint8_t in[INITRA_QUOTE_HEADER_SIZE], initra_quote_header *out);
/* size is INITRA_TD10_REPORT_SIZE or INITRA_TD15_REPORT_SIZE */
void sgx_td_report_decode(const uint8_t *in, size_t size, initra_td_report *out);
/* Debug: SGX ATTRIBUTES.DEBUG, or TDX TD_ATTRIBUTES.TUD bit 0. */
int sgx_quote_is_debug(const initra_quote *q);

/* The same for a file that is not parsed from the same buffer: read once (a regular file only, see
 * initra_read_regular_file), hashed, compared. A caller that also parses the file reads it with
 * initra_read_regular_file, parses and hashes that buffer, and uses initra_config_id_compare. */
int sgx_config_id_check(const char *path, const uint8_t config_id[64], initra_err *err);

#endif
