/* Internal to enclave (its files, unit tests and fuzz targets): declarations no other module needs. */
#ifndef INITRA_ENCLAVE_INTERNAL_H
#define INITRA_ENCLAVE_INTERNAL_H

#include <stddef.h>
#include <sys/stat.h>

#include "initra/enclave.h"

/* ---- ELF dependencies ---- */

typedef struct {
    char *interp;       /* PT_INTERP path or NULL */
    char **needed;      /* DT_NEEDED names */
    size_t n_needed;
    char **runpath;     /* DT_RUNPATH / DT_RPATH entries (split at ':') */
    size_t n_runpath;
    uint16_t machine;   /* e_machine */
} initra_elf_deps;

/* One entry of an image walk: path relative to the image root, starting with '/'. */
typedef struct {
    char *path;
    struct stat st;
} enc_entry;

typedef struct {
    enc_entry *v;
    size_t n, cap;
} enc_tree;

/* Every entry under root (not root itself), sorted bytewise by path. */
int enc_walk(const char *root, enc_tree *t, initra_err *err);
void enc_tree_free(enc_tree *t);

/* root + rel ("/bin/sh") into out. */
int enc_join(const char *root, const char *rel, char *out, size_t n, initra_err *err);

/* Copies a regular file's bytes to dst (mode), atomically; skips the write when dst has the same bytes
 * and mode already. *changed (may be NULL) set to 1 when written. */
int enc_copy_file(const char *src, const char *dst, unsigned mode, int *changed, initra_err *err);

/* Copies the tree under src into dst (which exists): directories, regular files, symlinks. */
int enc_copy_tree(const char *src, const char *dst, initra_err *err);

/* Copies the ELF dependencies of every executable in the image into it. note() gets one line per
 * copied library. */
int enc_copy_elf_deps(const char *image, void (*note)(const char *), initra_err *err);

/* Parses and validates Occlum.json text. `name` is used in errors, which name the file, the JSON path
 * and the bad value ("Occlum.json: metadata.family_id.high: \"0xZZ\" is not a 64-bit hex number ...");
 * text that is not JSON gives line and column. Sections initra does not use are accepted untouched. */
int enclave_occlum_json_parse(const char *text, size_t len, const char *name, initra_enclave_meta *m,
                             initra_err *err);
/* The 16-byte ISVFAMILYID / ISVEXTPRODID of high:low: bytes 0..7 = low LE, 8..15 = high LE. */
void enclave_kss_id_bytes(uint64_t high, uint64_t low, uint8_t out[16]);
/* init_ra_conf.json templates, exactly as in the seed document; flavour "grpc_ratls" or "aecs".
 * NULL for an unknown flavour. */
const char *enclave_init_ra_template(const char *flavour);
/* 1 if the instance has an initfs/ stage. */
int enclave_instance_two_stage(const char *dir);
/* Enclave.xml text for the metadata (decimal values, KSS zeros when enable_kss is false). Fresh. */
char *enclave_xml(const initra_enclave_meta *m);
/* The sim MRENCLAVE of an image directory (docs/kss.md "Measurement"):
 * SHA-256( "initra-sim-mrenclave-v1" 0x00 || for each entry of the image except the root, sorted
 * bytewise by path: type (1 byte: 'd' directory, 'f' regular file, 'l' symlink) || u32le path length
 * || path ("/bin/sh") || u32le (mode & 07777) || u64le content length || content ) where content is
 * the file's bytes, a symlink's target text, empty for a directory. Other file types are an error. */
int enclave_measure_image(const char *image_dir, uint8_t out[32], initra_err *err);
/* The sim platform's stand-in for SEFS decryption: what `initra build --image-key` records (in
 * build/image_key_check, measured) so that `initra run` can check a key without keeping it:
 * HMAC-SHA256(key, "initra-sim-image-key-v1" 0x00 || image_mrenclave). */
void enclave_image_key_check(const uint8_t key[16], const uint8_t image_mrenclave[32], uint8_t out[32]);
/* build/image_key_check of instance dir (zeros for an integrity-only image, where it must be absent). */
int enclave_image_key_check_load(const char *dir, int type, uint8_t out[32], initra_err *err);
/* The sim MRENCLAVE of a two-stage instance (one with initfs/): SHA-256("initra-sim-mrenclave-v2" 0x00 ||
 * image measurement || initfs measurement || image type byte (0 integrity-only, 1 encrypted) ||
 * key check (32 bytes, zeros when integrity-only)). */
int enclave_measure_two_stage(const char *dir, uint8_t out[32], initra_err *err);
/* 1 if buf starts with the ELF magic. */
int enclave_is_elf(const uint8_t *buf, size_t len);
/* Parses an ELF64 little-endian file image (untrusted: every offset bounds-checked). */
int enclave_elf_parse_deps(const uint8_t *buf, size_t len, initra_elf_deps *d, initra_err *err);
void enclave_elf_deps_free(initra_elf_deps *d);
/* Serialises all fields. */
void enclave_sigstruct_encode(const initra_sigstruct *s, uint8_t out[INITRA_SIGSTRUCT_SIZE]);
/* Fills modulus, exponent, signature, Q1, Q2 of s (its other fields already set) with key (RSA-3072,
 * e = 3) and serialises into out. */
int enclave_sigstruct_sign(initra_sigstruct *s, EVP_PKEY *key, uint8_t out[INITRA_SIGSTRUCT_SIZE], initra_err *err);
/* Signing keys. RSA-3072 with e = 3; anything else is an error naming the file. */
EVP_PKEY *enclave_sign_key_load(const char *path, initra_err *err);
/* The development key: $INITRA_SIGN_KEY_DIR/dev-sign-key.pem, else ~/.local/share/initra/dev-sign-key.pem;
 * generated (0600) on first use, *created set to 1 then. */
int enclave_dev_key_path(char *buf, size_t n, initra_err *err);
EVP_PKEY *enclave_dev_key_load_or_create(char *path_out, size_t n, int *created, initra_err *err);
/* The identity an instance launches with: SIGSTRUCT fields plus CONFIGID / CONFIGSVN. */
int enclave_identity_from_sigstruct(const initra_sigstruct *s, const uint8_t config_id[64], uint16_t config_svn,
                                   initra_sgx_report_body *id);

#endif
