/* initra util: errors, hex and base64, little-endian access, files. Every module uses it. */
#ifndef INITRA_UTIL_H
#define INITRA_UTIL_H

#include <stddef.h>
#include <stdint.h>

/* One error: a single line naming what was wrong, where, and what to do. */
typedef struct {
    char msg[512];
} initra_err;

/* Sets err->msg (printf format); returns -1 so callers can `return initra_fail(...)`. err may be NULL. */
int initra_fail(initra_err *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Prefixes an existing message: "prefix: old message". Returns -1. */
int initra_fail_prefix(initra_err *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* ---- Size limits: the most bytes read from each kind of input (files and messages) ---- */
#define INITRA_MAX_CONFIG (1u << 20)      /* a configuration, policy or Occlum.json; a PEM key or cert file */
#define INITRA_MAX_COLLATERAL (16u << 20) /* a collateral bundle; a KMS secrets or clients file */
#define INITRA_MAX_STORE (64u << 20)      /* the AECS store */
#define INITRA_MAX_RPC_MESSAGE (4u << 20) /* one gRPC message */
#define INITRA_MAX_CRL (8u << 20)         /* one CRL, DER */

/* Little-endian reads and writes at an offset the caller has bounds-checked. */
static inline uint16_t initra_le16(const uint8_t *p) { return (uint16_t)(p[0] | (p[1] << 8)); }
static inline uint32_t initra_le32(const uint8_t *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}
static inline uint64_t initra_le64(const uint8_t *p)
{
    return (uint64_t)initra_le32(p) | ((uint64_t)initra_le32(p + 4) << 32);
}
static inline void initra_put_le16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); }
static inline void initra_put_le32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i));
}
static inline void initra_put_le64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++) p[i] = (uint8_t)(v >> (8 * i));
}

/* Lowercase hex of n bytes into out (2n+1 bytes). Returns out. */
char *initra_hex(const uint8_t *in, size_t n, char *out);
/* Uppercase variant. */
char *initra_hex_upper(const uint8_t *in, size_t n, char *out);
/* Decodes exactly n bytes from a hex string of exactly 2n digits (either case). 0 or -1. */
int initra_unhex(const char *hex, uint8_t *out, size_t n);
/* Decodes a hex string of any even length into a fresh buffer. 0 or -1. */
int initra_unhex_alloc(const char *hex, uint8_t **out, size_t *n);

/* Standard base64 (RFC 4648 alphabet). Encode: fresh NUL-terminated string. */
char *initra_b64_encode(const uint8_t *in, size_t n);
/* Decode: padding optional, no whitespace, any character outside the alphabet is an error.
 * Returns 0 and a fresh buffer (*out, *n), or -1 with err naming the bad character's position. */
int initra_b64_decode(const char *in, uint8_t **out, size_t *n, initra_err *err);

/* Unsigned integer parsing: decimal (leading zeros stay decimal) or 0x hex; the whole string must be
 * consumed and the value must be <= max. 0 or -1. */
int initra_parse_uint(const char *s, uint64_t max, uint64_t *out);
/* Identity numbers typed on a command line (CONFIGSVN, ISVSVN...): "0123" is refused, as C's
 * strtoul(s, NULL, 0) (Occlum's launcher) reads it as octal 83 where initra reads 123; "0" and "0x..."
 * are fine. 0, or -1 with err naming opt, both readings and what to write instead. */
int initra_refuse_leading_zero(const char *opt, const char *s, initra_err *err);

/* Reads a whole file (at most max bytes). 0 or -1 with err naming the path. */
int initra_read_file(const char *path, size_t max, uint8_t **out, size_t *n, initra_err *err);
/* Reads a whole file that must be a regular file, through one descriptor: opened without following a
 * FIFO's writer (O_NONBLOCK), checked with fstat, then read. What is returned is exactly what was
 * read, so a caller that hashes and parses this buffer checks the bytes it uses (a FIFO or device
 * could serve different bytes to a second open). 0 or -1 with err naming the path and its type. */
int initra_read_regular_file(const char *path, size_t max, uint8_t **out, size_t *n, initra_err *err);
/* Writes data to path with the given mode through a temp file in the same directory, fsync and
 * rename: readers see the old file or the new one, never a part. 0 or -1. */
int initra_write_file_atomic(const char *path, const void *data, size_t n, unsigned mode, initra_err *err);
/* mkdir -p with the given mode for every directory it creates. 0 or -1. */
int initra_mkdir_p(const char *path, unsigned mode, initra_err *err);

/* For processes that hold secrets (init, kms): no core dumps (PR_SET_DUMPABLE 0, which also keeps
 * other processes of the same user from reading its memory through /proc or ptrace, and RLIMIT_CORE 0).
 * 0 or -1. */
int initra_no_core_dumps(initra_err *err);
/* A secret name (KMS secrets files, requests, init configs): 1 to 255 printable ASCII characters
 * (0x20-0x7e), so that it can be echoed in a message or a log line. `what` and `where` name it in the
 * error; a bad name is shown escaped. 0 or -1. */
int initra_check_secret_name(const char *name, const char *where, const char *what, initra_err *err);
/* Copies s into out (size n, always terminated), with bytes outside printable ASCII and backslashes
 * escaped as \xNN and \\, so that untrusted text cannot forge a log line. Returns out. */
char *initra_escape(const char *s, char *out, size_t n);

/* ---- Strict JSON: the one reader every configuration, policy and store loader uses ----
 * Duplicate keys are refused; errors name the file, the JSON path and the value. Declared on jansson's
 * struct json_t so that this header does not pull jansson in. */
struct json_t;
/* Parses text as one JSON value. Error: "where:line:column: not valid JSON (reason)", then "; hint"
 * when hint is not NULL. With INITRA_JSON_SECRET the reason names only the kind of error, never the
 * text near it (which may be part of a secret). 0 or -1. */
#define INITRA_JSON_SECRET 1u
int initra_json_parse(const void *text, size_t len, const char *where, unsigned flags, const char *hint,
                      struct json_t **out, initra_err *err);
/* Reads path (at most max bytes) and parses it as above. 0 or -1. */
int initra_json_load(const char *path, size_t max, struct json_t **out, initra_err *err);
/* "where: path: VALUE what", VALUE as compact JSON (cut at 100 characters) or "(missing)" when v is
 * NULL: the error form of every JSON reader. Returns -1. */
int initra_json_bad(initra_err *err, const char *where, const char *path, const struct json_t *v, const char *what);
/* The first key of object o that is not in known (NULL-terminated), or NULL when all are known. */
const char *initra_json_unknown_key(const struct json_t *o, const char *const *known);
/* The known keys as "a, b, c" into buf. Returns buf. */
char *initra_json_key_list(const char *const *known, char *buf, size_t n);
/* v is an integer from min to max: 0 and *out, or -1 (missing, not an integer, out of range). */
int initra_json_uint(const struct json_t *v, uint64_t min, uint64_t max, uint64_t *out);

/* An RSA-OAEP context over OpenSSL's EVP for key k (encrypt 1, or decrypt), with md for both OAEP and
 * MGF1 (AECS: SHA-1; the store's recovery copy: SHA-256). NULL on failure. Declared on OpenSSL's
 * struct names so that this header does not pull OpenSSL in. */
struct evp_pkey_st;
struct evp_pkey_ctx_st;
struct evp_md_st;
struct evp_pkey_ctx_st *initra_rsa_oaep_ctx(struct evp_pkey_st *k, int encrypt, const struct evp_md_st *md);

/* AES-256-GCM with a 12-byte nonce and a 16-byte tag (OpenSSL EVP). enc 1: in -> out and writes tag; enc 0:
 * in -> out when tag verifies (out is zeroized when it does not). n and aad_len may be 0. 0 or -1. */
int initra_aes256gcm(int enc, const uint8_t key[32], const uint8_t nonce[12], const uint8_t *aad, size_t aad_len,
                     const uint8_t *in, size_t n, uint8_t *out, uint8_t tag[16]);
/* HKDF-SHA256 (RFC 5869, OpenSSL's KDF): out_len bytes from ikm, an optional salt (NULL: none) and info.
 * 0 or -1. */
int initra_hkdf_sha256(const uint8_t *ikm, size_t ikm_len, const uint8_t *salt, size_t salt_len, const char *info,
                       uint8_t *out, size_t out_len);

/* Zeroizes memory in a way the compiler keeps; frees after zeroizing. */
void initra_zero(void *p, size_t n);
void initra_free_secret(void *p, size_t n);

#endif
