#include "initra/util.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/rsa.h>

int initra_fail(initra_err *err, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->msg, sizeof err->msg, fmt, ap);
        va_end(ap);
    }
    return -1;
}

int initra_fail_prefix(initra_err *err, const char *fmt, ...)
{
    if (err) {
        char old[sizeof err->msg];
        va_list ap;
        memcpy(old, err->msg, sizeof old);
        va_start(ap, fmt);
        int n = vsnprintf(err->msg, sizeof err->msg, fmt, ap);
        va_end(ap);
        if (n >= 0 && (size_t)n + 2 < sizeof err->msg) {
            memcpy(err->msg + n, ": ", 2);
            size_t room = sizeof err->msg - (size_t)n - 2;
            size_t ol = strnlen(old, room - 1);
            memcpy(err->msg + n + 2, old, ol);
            err->msg[n + 2 + ol] = 0;
        }
    }
    return -1;
}

static char *hex_with(const uint8_t *in, size_t n, char *out, const char *digits)
{
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[in[i] >> 4];
        out[2 * i + 1] = digits[in[i] & 15];
    }
    out[2 * n] = 0;
    return out;
}

char *initra_hex(const uint8_t *in, size_t n, char *out) { return hex_with(in, n, out, "0123456789abcdef"); }
char *initra_hex_upper(const uint8_t *in, size_t n, char *out) { return hex_with(in, n, out, "0123456789ABCDEF"); }

static int hexval(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

static int unhex_n(const char *hex, uint8_t *out, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        int hi = hexval(hex[2 * i]), lo = hexval(hex[2 * i + 1]);
        if (hi < 0 || lo < 0) return -1;
        out[i] = (uint8_t)(hi << 4 | lo);
    }
    return 0;
}

int initra_unhex(const char *hex, uint8_t *out, size_t n)
{
    if (!hex || strlen(hex) != 2 * n) return -1;
    return unhex_n(hex, out, n);
}

int initra_unhex_alloc(const char *hex, uint8_t **out, size_t *n)
{
    size_t len = hex ? strlen(hex) : 0;
    if (!hex || len % 2) return -1;
    uint8_t *buf = malloc(len / 2 + 1);
    if (!buf) return -1;
    if (unhex_n(hex, buf, len / 2) != 0) {
        free(buf);
        return -1;
    }
    *out = buf;
    *n = len / 2;
    return 0;
}

char *initra_b64_encode(const uint8_t *in, size_t n)
{
    if (n > INT_MAX / 2) return NULL;
    char *out = malloc(4 * ((n + 2) / 3) + 1);
    if (!out) return NULL;
    EVP_EncodeBlock((unsigned char *)out, in, (int)n);
    return out;
}

static int b64_char(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' || c == '/';
}

int initra_b64_decode(const char *in, uint8_t **out, size_t *n, initra_err *err)
{
    size_t len = strlen(in), data = len;
    while (data > 0 && in[data - 1] == '=' && len - data < 2) data--;
    for (size_t i = 0; i < data; i++)
        if (!b64_char(in[i]))
            return initra_fail(err, "character '%c' at position %zu is not in the base64 alphabet "
                                    "(A-Z a-z 0-9 + /, '=' padding at the end)",
                               (in[i] >= 0x20 && in[i] < 0x7f) ? in[i] : '?', i);
    if (data % 4 == 1) return initra_fail(err, "base64 text of %zu characters is truncated", data);
    if (data != len && len % 4 != 0) return initra_fail(err, "base64 padding is misplaced");
    if (data > (size_t)INT_MAX - 4) return initra_fail(err, "base64 text too long");
    /* Re-pad to a multiple of 4 for OpenSSL's block decoder, then drop the pad bytes it yields. */
    size_t padded = (data + 3) / 4 * 4;
    char *tmp = malloc(padded + 1);
    uint8_t *buf = malloc(padded / 4 * 3 + 1);
    if (!tmp || !buf) {
        free(tmp);
        free(buf);
        return initra_fail(err, "out of memory");
    }
    memcpy(tmp, in, data);
    memset(tmp + data, '=', padded - data);
    tmp[padded] = 0;
    int got = EVP_DecodeBlock(buf, (unsigned char *)tmp, (int)padded);
    free(tmp);
    if (got < 0) {
        free(buf);
        return initra_fail(err, "base64 text does not decode");
    }
    *n = data / 4 * 3 + (data % 4 == 2 ? 1 : data % 4 == 3 ? 2 : 0);
    *out = buf;
    return 0;
}

int initra_parse_uint(const char *s, uint64_t max, uint64_t *out)
{
    if (!s || !*s) return -1;
    int base = 10;
    if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
        base = 16;
        s += 2;
        if (!*s) return -1;
    }
    uint64_t v = 0;
    for (; *s; s++) {
        int d = hexval(*s);
        if (d < 0 || d >= base) return -1;
        if (v > (UINT64_MAX - (uint64_t)d) / (uint64_t)base) return -1;
        v = v * (uint64_t)base + (uint64_t)d;
    }
    if (v > max) return -1;
    *out = v;
    return 0;
}

int initra_refuse_leading_zero(const char *opt, const char *s, initra_err *err)
{
    if (!s || s[0] != '0' || s[1] < '0' || s[1] > '9') return 0;
    const char *digits = s + strspn(s, "0");
    uint64_t dec = 0, oct = 0;
    if (!*digits) digits = "0";
    if (strspn(s, "0123456789") != strlen(s) || initra_parse_uint(digits, UINT64_MAX, &dec)) return 0;
    if (strspn(s, "01234567") != strlen(s))
        return initra_fail(err, "%s: '%.40s' has a leading zero: Occlum's launcher (strtoul base 0) reads it as "
                                "octal and stops at the first 8 or 9, initra would read decimal %llu; write %llu",
                           opt, s, (unsigned long long)dec, (unsigned long long)dec);
    for (const char *p = s; *p; p++) oct = oct > UINT64_MAX / 8 ? UINT64_MAX : oct * 8 + (uint64_t)(*p - '0');
    return initra_fail(err, "%s: '%.40s' has a leading zero: Occlum's launcher (strtoul base 0) reads it as octal "
                            "%llu, initra would read decimal %llu; write %llu for decimal, or 0x%llx if you meant octal",
                       opt, s, (unsigned long long)oct, (unsigned long long)dec, (unsigned long long)dec,
                       (unsigned long long)oct);
}

/* Reads fd to EOF (at most max bytes) and closes it. */
static int read_fd(int fd, const char *path, size_t max, uint8_t **out, size_t *n, initra_err *err)
{
    size_t cap = max < 4096 ? max : 4096, len = 0;
    uint8_t *buf = malloc(cap + 1);
    int e = 0, too_big = 0;
    while (buf) {
        if (len == cap && cap >= max) { /* full: one more byte means too large */
            uint8_t extra;
            ssize_t got;
            do got = read(fd, &extra, 1);
            while (got < 0 && errno == EINTR);
            if (got < 0) e = errno;
            too_big = got > 0;
            break;
        }
        if (len == cap) {
            cap = cap * 2 > max ? max : cap * 2;
            uint8_t *nb = realloc(buf, cap + 1);
            if (!nb) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = nb;
        }
        ssize_t got = read(fd, buf + len, cap - len);
        if (got < 0 && errno == EINTR) continue;
        if (got < 0) e = errno;
        if (got <= 0) break;
        len += (size_t)got;
    }
    close(fd);
    if (!buf) return initra_fail(err, "%s: out of memory", path);
    if (e || too_big) {
        free(buf);
        return e ? initra_fail(err, "%s: read error: %s", path, strerror(e))
                 : initra_fail(err, "%s: larger than the %zu-byte limit", path, max);
    }
    buf[len] = 0; /* convenient for text; not counted */
    *out = buf;
    *n = len;
    return 0;
}

int initra_read_file(const char *path, size_t max, uint8_t **out, size_t *n, initra_err *err)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return initra_fail(err, "%s: cannot open: %s", path, strerror(errno));
    return read_fd(fd, path, max, out, n, err);
}

static const char *file_type(mode_t m)
{
    return S_ISFIFO(m) ? "FIFO" : S_ISSOCK(m) ? "socket" : S_ISCHR(m) || S_ISBLK(m) ? "device"
         : S_ISDIR(m) ? "directory" : "special file";
}

int initra_read_regular_file(const char *path, size_t max, uint8_t **out, size_t *n, initra_err *err)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
    if (fd < 0) return initra_fail(err, "%s: cannot open: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0 || (S_ISREG(st.st_mode) && fcntl(fd, F_SETFL, 0) != 0)) {
        int e = errno;
        close(fd);
        return initra_fail(err, "%s: cannot stat or read: %s", path, strerror(e));
    }
    if (!S_ISREG(st.st_mode)) {
        close(fd);
        return initra_fail(err, "%s: is a %s, not a regular file (it is read once, and only from a regular file)",
                           path, file_type(st.st_mode));
    }
    return read_fd(fd, path, max, out, n, err);
}

int initra_no_core_dumps(initra_err *err)
{
    struct rlimit none = {0, 0};
    if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0)
        return initra_fail(err, "cannot turn core dumps off (prctl PR_SET_DUMPABLE: %s)", strerror(errno));
    if (setrlimit(RLIMIT_CORE, &none) != 0)
        return initra_fail(err, "cannot turn core dumps off (setrlimit RLIMIT_CORE: %s)", strerror(errno));
    return 0;
}

int initra_write_file_atomic(const char *path, const void *data, size_t n, unsigned mode, initra_err *err)
{
    char tmp[PATH_MAX];
    if (snprintf(tmp, sizeof tmp, "%s.tmp.XXXXXX", path) >= (int)sizeof tmp)
        return initra_fail(err, "%s: path too long", path);
    int fd = mkstemp(tmp);
    if (fd < 0) return initra_fail(err, "%s: cannot create a temporary file beside it: %s", path, strerror(errno));
    const uint8_t *p = data;
    size_t left = n;
    while (left > 0) {
        ssize_t w = write(fd, p, left);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) {
            int e = errno;
            close(fd);
            unlink(tmp);
            return initra_fail(err, "%s: write failed: %s", path, strerror(e));
        }
        p += w;
        left -= (size_t)w;
    }
    if (fchmod(fd, mode) != 0 || fsync(fd) != 0) {
        int e = errno;
        close(fd);
        unlink(tmp);
        return initra_fail(err, "%s: cannot set mode or sync: %s", path, strerror(e));
    }
    close(fd);
    if (rename(tmp, path) != 0) {
        int e = errno;
        unlink(tmp);
        return initra_fail(err, "%s: cannot rename the temporary file into place: %s", path, strerror(e));
    }
    return 0;
}

int initra_mkdir_p(const char *path, unsigned mode, initra_err *err)
{
    char buf[PATH_MAX];
    size_t len = strlen(path);
    if (len == 0 || len >= sizeof buf) return initra_fail(err, "%s: bad directory path", path);
    memcpy(buf, path, len + 1);
    for (size_t i = 1; i <= len; i++) {
        if (buf[i] != '/' && buf[i] != 0) continue;
        char c = buf[i];
        buf[i] = 0;
        if (mkdir(buf, mode) != 0 && errno != EEXIST)
            return initra_fail(err, "%s: cannot create directory: %s", buf, strerror(errno));
        struct stat st;
        if (stat(buf, &st) != 0 || !S_ISDIR(st.st_mode))
            return initra_fail(err, "%s: exists and is not a directory", buf);
        buf[i] = c;
    }
    return 0;
}

char *initra_escape(const char *s, char *out, size_t n)
{
    size_t o = 0;
    if (!n) return out;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        char e[5];
        int len;
        if (*p == '\\') len = snprintf(e, sizeof e, "\\\\");
        else if (*p < 0x20 || *p > 0x7e) len = snprintf(e, sizeof e, "\\x%02x", *p);
        else e[0] = (char)*p, e[1] = 0, len = 1;
        if (o + (size_t)len >= n) break;
        memcpy(out + o, e, (size_t)len);
        o += (size_t)len;
    }
    out[o] = 0;
    return out;
}

int initra_check_secret_name(const char *name, const char *where, const char *what, initra_err *err)
{
    size_t n = strlen(name);
    char esc[80];
    if (n == 0 || n > 255)
        return initra_fail(err, "%s: %s \"%s\" must be 1 to 255 characters", where, what,
                           initra_escape(name, esc, sizeof esc));
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)name[i] < 0x20 || (unsigned char)name[i] > 0x7e)
            return initra_fail(err, "%s: %s \"%s\" has a non-printable character (byte 0x%02x at position %zu); "
                                    "names are printable ASCII",
                               where, what, initra_escape(name, esc, sizeof esc), (unsigned char)name[i], i);
    return 0;
}

EVP_PKEY_CTX *initra_rsa_oaep_ctx(EVP_PKEY *k, int encrypt, const EVP_MD *md)
{
    EVP_PKEY_CTX *c = EVP_PKEY_CTX_new_from_pkey(NULL, k, NULL);
    if (!c || (encrypt ? EVP_PKEY_encrypt_init(c) : EVP_PKEY_decrypt_init(c)) != 1 ||
        EVP_PKEY_CTX_set_rsa_padding(c, RSA_PKCS1_OAEP_PADDING) != 1 || EVP_PKEY_CTX_set_rsa_oaep_md(c, md) != 1 ||
        EVP_PKEY_CTX_set_rsa_mgf1_md(c, md) != 1) {
        EVP_PKEY_CTX_free(c);
        return NULL;
    }
    return c;
}

int initra_aes256gcm(int enc, const uint8_t key[32], const uint8_t nonce[12], const uint8_t *aad, size_t aad_len,
                     const uint8_t *in, size_t n, uint8_t *out, uint8_t tag[16])
{
    if (n > INT32_MAX || aad_len > INT32_MAX) return -1;
    EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
    int l = 0;
    int ok = c && EVP_CipherInit_ex(c, EVP_aes_256_gcm(), NULL, key, nonce, enc) == 1;
    if (ok && aad_len) ok = EVP_CipherUpdate(c, NULL, &l, aad, (int)aad_len) == 1;
    if (ok && n) ok = EVP_CipherUpdate(c, out, &l, in, (int)n) == 1;
    if (ok && !enc) ok = EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_TAG, 16, tag) == 1;
    if (ok) ok = EVP_CipherFinal_ex(c, out + (n ? (size_t)l : 0), &l) == 1;
    if (ok && enc) ok = EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, 16, tag) == 1;
    EVP_CIPHER_CTX_free(c);
    if (!ok && !enc && n) OPENSSL_cleanse(out, n);
    return ok ? 0 : -1;
}

int initra_hkdf_sha256(const uint8_t *ikm, size_t ikm_len, const uint8_t *salt, size_t salt_len, const char *info,
                       uint8_t *out, size_t out_len)
{
    EVP_KDF *kdf = EVP_KDF_fetch(NULL, "HKDF", NULL);
    EVP_KDF_CTX *c = kdf ? EVP_KDF_CTX_new(kdf) : NULL;
    OSSL_PARAM p[5], *q = p;
    *q++ = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, (char *)"SHA256", 0);
    *q++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, (void *)ikm, ikm_len);
    if (salt) *q++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, (void *)salt, salt_len);
    *q++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, (void *)info, strlen(info));
    *q = OSSL_PARAM_construct_end();
    int ok = c && EVP_KDF_derive(c, out, out_len, p) == 1;
    EVP_KDF_CTX_free(c);
    EVP_KDF_free(kdf);
    return ok ? 0 : -1;
}

void initra_zero(void *p, size_t n)
{
    if (p) OPENSSL_cleanse(p, n);
}

void initra_free_secret(void *p, size_t n)
{
    if (!p) return;
    OPENSSL_cleanse(p, n);
    free(p);
}
