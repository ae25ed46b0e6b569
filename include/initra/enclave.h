/* initra enclave: Occlum-style enclave instances on the simulated SGX platform.
 * An instance is a directory: Occlum.json (metadata section, docs/protocols.md#kss), image/ (the enclave's
 * root file system), optionally init_ra_conf.json and Occlum's initfs/ stage (docs/occlum.md), and build/
 * (Enclave.xml, enclave.sig, mrsigner; image_config.json and image_key_check with an initfs).
 * See docs/kss.md for the measurement definition, SIGSTRUCT and the CONFIGID binding flow. */
#ifndef INITRA_ENCLAVE_H
#define INITRA_ENCLAVE_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>
#include <openssl/evp.h>

#include "initra/sgx.h"
#include "initra/util.h"

/* ---------------- Occlum.json ---------------- */

enum initra_config_binding {
    INITRA_BIND_MEASURED = 0,  /* init_ra_conf.json copied into image/etc/, covered by MRENCLAVE */
    INITRA_BIND_CONFIG_ID = 1, /* init_ra_conf.json attached at launch, bound by CONFIGID */
};

typedef struct {
    uint16_t product_id;     /* metadata.product_id -> ISVPRODID */
    uint16_t version_number; /* metadata.version_number -> ISVSVN */
    int debuggable;          /* metadata.debuggable -> ATTRIBUTES.DEBUG */
    int enable_kss;          /* metadata.enable_kss -> ATTRIBUTES.KSS */
    uint64_t family_id_high, family_id_low;     /* metadata.family_id.{high,low} */
    uint64_t ext_prod_id_high, ext_prod_id_low; /* metadata.ext_prod_id.{high,low} */
    int config_binding;      /* top-level "config_binding": "measured" (default) | "config_id" */
} initra_enclave_meta;

/* The Occlum.json template written by `initra new` (metadata: docs/protocols.md#kss). */
extern const char INITRA_OCCLUM_JSON_TEMPLATE[];

/* ---------------- instances ---------------- */

/* Creates DIR (must not exist or be empty): Occlum.json, image/ with the usual directories, and with
 * init_ra (NULL or "grpc_ratls" / "aecs") the init_ra_conf.json template. */
int initra_instance_new(const char *dir, const char *init_ra, initra_err *err);
/* Adds Occlum's initfs stage to a new instance: initfs/{bin,lib,etc,dev,proc}. `initra build` then puts
 * init (initra), its libraries, init_ra_conf.json and image_config.json there, and `initra run` boots in
 * two stages (docs/occlum.md). */
int initra_instance_add_initfs(const char *dir, initra_err *err);

/* Paths inside an instance (buffers of PATH_MAX). */
int initra_instance_path(const char *dir, const char *rel, char *out, size_t n, initra_err *err);
/* Checks that dir is an instance (Occlum.json and image/) and loads its metadata. */
int initra_instance_load(const char *dir, initra_enclave_meta *m, initra_err *err);

typedef struct {
    const char *sign_key; /* PEM path, or NULL for the development key */
    const char *self_exe; /* the initra binary to copy in (NULL = /proc/self/exe) */
    void (*note)(const char *msg); /* progress lines (NULL = silent) */
    const char *image_key;  /* --image-key FILE (Occlum's key form) or NULL: the image's type */
} initra_build_opts;

/* initra build: validates the config, copies initra (+ /bin/init), ELF dependencies and
 * init_ra_conf.json into the image, measures it, writes build/Enclave.xml, build/enclave.sig and
 * build/mrsigner. */
int initra_instance_build(const char *dir, const initra_build_opts *o, initra_err *err);

/* ---------------- Occlum's two-stage boot (docs/occlum.md) ---------------- */

/* image_config.json and the image key form: initra/attest.h. */

/* ---------------- SIGSTRUCT ---------------- */

#define INITRA_SIGSTRUCT_SIZE 1808

typedef struct {
    uint32_t vendor, date, swdefined;
    uint8_t modulus[384];  /* little-endian */
    uint32_t exponent;
    uint8_t signature[384]; /* little-endian */
    uint32_t misc_select, misc_mask;
    uint8_t cet_attributes, cet_attributes_mask;
    uint8_t isv_family_id[16];
    initra_sgx_attributes attributes, attribute_mask;
    uint8_t enclave_hash[32];
    uint8_t isv_ext_prod_id[16];
    uint16_t isv_prod_id, isv_svn;
    uint8_t q1[384], q2[384];
} initra_sigstruct;

/* Parses 1808 bytes: size, both header constants, exponent 3 and zero reserved bytes are checked;
 * not the signature. */
int initra_sigstruct_parse(const uint8_t *buf, size_t len, initra_sigstruct *s, initra_err *err);
/* Verifies a SIGSTRUCT: PKCS#1 v1.5 SHA-256 signature over bytes 0..127 || 900..1027 with its own
 * modulus, and Q1 / Q2. Fills s. */
int initra_sigstruct_verify(const uint8_t *buf, size_t len, initra_sigstruct *s, initra_err *err);
/* MRSIGNER: SHA-256 of the 384-byte little-endian modulus. */
void initra_mrsigner_of_modulus(const uint8_t modulus_le[384], uint8_t out[32]);

/* Public or private PEM; must be RSA-3072. MRSIGNER of its modulus. */
int initra_mrsigner_of_key_file(const char *path, uint8_t out[32], initra_err *err);

/* ---------------- launch ---------------- */

typedef struct {
    const char *dir;
    const uint8_t *config_id; /* NULL = none given (zeros) */
    int config_svn;           /* -1 = none given (0) */
    const char *config_file;  /* --config FILE or NULL */
    const char *host_dir;     /* --host-dir HOSTPATH: an existing directory mounted read-write at /host in
                                 the enclave (the application's root in a two-stage boot), or NULL */
    char *const *argv;        /* PROG and its arguments */
    int argc;
} initra_run_opts;

/* initra run: verifies the instance and launches it on the simulated platform. Returns the exit
 * status to use (PROG's, or /bin/init's when init fails), or -1 with err when nothing was started or
 * the launch failed. */
int initra_instance_run(const initra_run_opts *o, initra_err *err);

#endif
