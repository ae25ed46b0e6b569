/* initra dcap: DCAP quote verification and collateral (PROTOCOLS.md section 3). */
#ifndef INITRA_DCAP_H
#define INITRA_DCAP_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/x509.h>

#include "initra/sgx.h"
#include "initra/util.h"

/* ---- PCK certificate SGX extension (OID 1.2.840.113741.1.13.1) ---- */
#define INITRA_OID_SGX_EXT "1.2.840.113741.1.13.1"

enum initra_sgx_type { INITRA_SGX_TYPE_STANDARD = 0, INITRA_SGX_TYPE_SCALABLE = 1, INITRA_SGX_TYPE_SCALABLE_INTEGRITY = 2 };

typedef struct {
    uint8_t ppid[16];          /* .1 */
    uint8_t comp_svn[16];      /* .2.1 - .2.16 */
    uint16_t pce_svn;          /* .2.17 */
    uint8_t cpu_svn[16];       /* .2.18 */
    uint8_t pce_id[2];         /* .3 */
    uint8_t fmspc[6];          /* .4 */
    int sgx_type;              /* .5, enum initra_sgx_type */
    int has_platform_instance_id;
    uint8_t platform_instance_id[16]; /* .6, Platform CA certificates only */
} initra_pck_ext;

/* Parses the extension's value (the DER inside the X.509 extension's OCTET STRING). */
int initra_pck_ext_parse(const uint8_t *der, size_t len, initra_pck_ext *out, initra_err *err);
/* Finds the extension in cert and parses it. */
int initra_pck_ext_from_cert(X509 *cert, initra_pck_ext *out, initra_err *err);
/* DER of the extension value (fresh buffer, OPENSSL_free it). */
int initra_pck_ext_encode(const initra_pck_ext *in, uint8_t **der, size_t *len, initra_err *err);

#endif
