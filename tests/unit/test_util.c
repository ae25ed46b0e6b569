/* util: little-endian access, hex, base64, number parsing, files (size limit, regular files only,
 * atomic 0600 writes, mkdir -p), secret names and log escaping. */
#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <dirent.h>

#include "check.h"
#include "initra/util.h"

static void test_le(void)
{
    uint8_t b[8];
    initra_put_le16(b, 0x1234);
    CHECK(b[0] == 0x34 && b[1] == 0x12 && initra_le16(b) == 0x1234, "le16 round trip, low byte first");
    initra_put_le32(b, 0xA1B2C3D4u);
    CHECK(b[0] == 0xD4 && b[3] == 0xA1 && initra_le32(b) == 0xA1B2C3D4u, "le32 round trip, low byte first");
    initra_put_le64(b, 0x0102030405060708ull);
    CHECK(b[0] == 0x08 && b[7] == 0x01 && initra_le64(b) == 0x0102030405060708ull, "le64 round trip");
}

static void test_hex(void)
{
    const uint8_t in[] = {0x00, 0xab, 0xCD, 0x9f};
    char out[9];
    CHECK(!strcmp(initra_hex(in, 4, out), "00abcd9f"), "hex is lowercase: %s", out);
    CHECK(!strcmp(initra_hex_upper(in, 4, out), "00ABCD9F"), "hex_upper is uppercase: %s", out);
    uint8_t back[4];
    CHECK(initra_unhex("00AbcD9f", back, 4) == 0 && !memcmp(back, in, 4), "unhex reads either case");
    CHECK(initra_unhex("00abcd9", back, 4) == -1, "unhex: 7 digits for 4 bytes refused");
    CHECK(initra_unhex("00abcd9f00", back, 4) == -1, "unhex: 10 digits for 4 bytes refused");
    CHECK(initra_unhex("00abcdzz", back, 4) == -1, "unhex: non-hex digit refused");
    uint8_t *a = NULL;
    size_t n = 0;
    CHECK(initra_unhex_alloc("0a0b0c", &a, &n) == 0 && n == 3 && a[2] == 0x0c, "unhex_alloc: 3 bytes");
    free(a);
    a = NULL;
    CHECK(initra_unhex_alloc("0a0", &a, &n) == -1 && !a, "unhex_alloc: odd length refused");
}

static void test_b64(void)
{
    initra_err err = {{0}};
    const uint8_t in[] = "\x00\xffhello";
    for (size_t len = 0; len <= 7; len++) {
        char *e = initra_b64_encode(in, len);
        uint8_t *d = NULL;
        size_t n = 99;
        int rc = e ? initra_b64_decode(e, &d, &n, &err) : -1;
        CHECK(rc == 0 && n == len && (len == 0 || !memcmp(d, in, len)), "base64 round trip of %zu bytes (%s)", len,
              e ? e : "NULL");
        free(e);
        free(d);
    }
    uint8_t *d = NULL;
    size_t n = 0;
    CHECK(initra_b64_decode("aGk", &d, &n, &err) == 0 && n == 2 && !memcmp(d, "hi", 2), "unpadded base64 accepted");
    free(d);
    d = NULL;
    CHECK(initra_b64_decode("aG k", &d, &n, &err) == -1 && strstr(err.msg, "position 2") && !d,
          "space inside base64 refused, naming the position: %s", err.msg);
    CHECK(initra_b64_decode("aGk-", &d, &n, &err) == -1 && strstr(err.msg, "'-'"), "url-safe '-' refused: %s", err.msg);
    CHECK(initra_b64_decode("aGlxa", &d, &n, &err) == -1 && strstr(err.msg, "truncated"), "5 characters: truncated: %s",
          err.msg);
    CHECK(initra_b64_decode("aG=k", &d, &n, &err) == -1, "padding in the middle refused: %s", err.msg);
    CHECK(initra_b64_decode("aGk==", &d, &n, &err) == -1 && strstr(err.msg, "padding"), "padding past a multiple of 4: %s",
          err.msg);
}

static void test_numbers(void)
{
    uint64_t v = 7;
    CHECK(initra_parse_uint("65535", 0xFFFF, &v) == 0 && v == 65535, "parse_uint: max accepted");
    CHECK(initra_parse_uint("65536", 0xFFFF, &v) == -1, "parse_uint: max + 1 refused");
    CHECK(initra_parse_uint("0x1F", 0xFFFF, &v) == 0 && v == 31, "parse_uint: 0x hex");
    CHECK(initra_parse_uint("0123", 0xFFFF, &v) == 0 && v == 123, "parse_uint: leading zero stays decimal");
    CHECK(initra_parse_uint("12a", 0xFFFF, &v) == -1, "parse_uint: trailing garbage refused");
    CHECK(initra_parse_uint("", 10, &v) == -1 && initra_parse_uint("0x", 10, &v) == -1 &&
              initra_parse_uint("-1", 10, &v) == -1,
          "parse_uint: empty, bare 0x and negative refused");
    CHECK(initra_parse_uint("18446744073709551616", UINT64_MAX, &v) == -1, "parse_uint: 2^64 overflows, refused");
    initra_err err = {{0}};
    CHECK(initra_refuse_leading_zero("config_svn", "0", &err) == 0 && initra_refuse_leading_zero("x", "0x10", &err) == 0 &&
              initra_refuse_leading_zero("x", "10", &err) == 0,
          "leading zero: 0, 0x10 and 10 are fine");
    CHECK(initra_refuse_leading_zero("config_svn", "0123", &err) == -1 && strstr(err.msg, "config_svn") &&
              strstr(err.msg, "octal 83") && strstr(err.msg, "write 123"),
          "0123 refused naming both readings: %s", err.msg);
    CHECK(initra_refuse_leading_zero("config_svn", "019", &err) == -1 && strstr(err.msg, "stops at the first 8 or 9"),
          "019 refused (not octal at all): %s", err.msg);
}

static int count_entries(const char *dir)
{
    DIR *d = opendir(dir);
    int n = 0;
    if (!d) return -1;
    for (struct dirent *e; (e = readdir(d));)
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) n++;
    closedir(d);
    return n;
}

static void test_files(const char *dir)
{
    initra_err err = {{0}};
    char p[512], q[512];
    struct stat st;
    uint8_t *buf = NULL;
    size_t n = 0;

    snprintf(p, sizeof p, "%s/a/b/c", dir);
    CHECK(initra_mkdir_p(p, 0700, &err) == 0 && stat(p, &st) == 0 && S_ISDIR(st.st_mode) && (st.st_mode & 0777) == 0700,
          "mkdir_p creates every level with the mode: %s", err.msg);
    CHECK(initra_mkdir_p(p, 0700, &err) == 0, "mkdir_p on an existing directory succeeds");

    snprintf(p, sizeof p, "%s/a/secret", dir);
    CHECK(initra_write_file_atomic(p, "s3cret", 6, 0600, &err) == 0 && stat(p, &st) == 0 && (st.st_mode & 0777) == 0600,
          "write_file_atomic: mode 0600: %s", err.msg);
    CHECK(initra_write_file_atomic(p, "new", 3, 0600, &err) == 0, "write_file_atomic replaces an existing file");
    CHECK(initra_read_file(p, 100, &buf, &n, &err) == 0 && n == 3 && !memcmp(buf, "new", 3), "read back the new bytes");
    free(buf);
    buf = NULL;
    snprintf(q, sizeof q, "%s/a", dir);
    CHECK(count_entries(q) == 2, "no temporary file left beside it (b/ and secret only: %d entries)", count_entries(q));

    CHECK(initra_mkdir_p(p, 0700, &err) == -1 && strstr(err.msg, "not a directory"),
          "mkdir_p over a file refused: %s", err.msg);
    snprintf(q, sizeof q, "%s/nodir/x", dir);
    CHECK(initra_write_file_atomic(q, "x", 1, 0600, &err) == -1 && strstr(err.msg, q),
          "write into a missing directory fails naming the path: %s", err.msg);

    CHECK(initra_read_file(p, 2, &buf, &n, &err) == -1 && strstr(err.msg, "2-byte limit") && !buf,
          "read_file over the limit refused: %s", err.msg);
    CHECK(initra_read_file(p, 3, &buf, &n, &err) == 0 && n == 3, "read_file exactly at the limit accepted");
    free(buf);
    buf = NULL;
    snprintf(q, sizeof q, "%s/missing", dir);
    CHECK(initra_read_file(q, 10, &buf, &n, &err) == -1 && strstr(err.msg, "missing: cannot open"),
          "missing file: %s", err.msg);

    CHECK(initra_read_regular_file(p, 100, &buf, &n, &err) == 0 && n == 3, "read_regular_file reads a regular file");
    free(buf);
    buf = NULL;
    snprintf(q, sizeof q, "%s/fifo", dir);
    CHECK(mkfifo(q, 0600) == 0, "mkfifo");
    CHECK(initra_read_regular_file(q, 100, &buf, &n, &err) == -1 && strstr(err.msg, "not a regular file") && !buf,
          "a FIFO is refused without blocking: %s", err.msg);
    snprintf(q, sizeof q, "%s/a", dir);
    CHECK(initra_read_regular_file(q, 100, &buf, &n, &err) == -1 && strstr(err.msg, "not a regular file"),
          "a directory is refused: %s", err.msg);
}

static void test_names(void)
{
    initra_err err = {{0}};
    char esc[64], big[300];
    CHECK(!strcmp(initra_escape("a\nb\\c\x7f", esc, sizeof esc), "a\\x0ab\\\\c\\x7f"), "escape: %s", esc);
    CHECK(!strcmp(initra_escape("abcdef", esc, 4), "abc"), "escape truncates to the buffer: %s", esc);
    CHECK(!strcmp(initra_escape("ab\n", esc, 5), "ab"), "escape never cuts an escape sequence: %s", esc);
    CHECK(initra_check_secret_name("demo_key v2", "f.json", "key", &err) == 0, "printable name with a space accepted");
    CHECK(initra_check_secret_name("", "f.json", "key", &err) == -1 && strstr(err.msg, "f.json: key \"\""),
          "empty name refused: %s", err.msg);
    memset(big, 'a', 256);
    big[256] = 0;
    CHECK(initra_check_secret_name(big, "f.json", "key", &err) == -1 && strstr(err.msg, "1 to 255"),
          "256 characters refused");
    big[255] = 0;
    CHECK(initra_check_secret_name(big, "f.json", "key", &err) == 0, "255 characters accepted");
    CHECK(initra_check_secret_name("a\nb", "f.json", "key", &err) == -1 && strstr(err.msg, "\"a\\x0ab\"") &&
              strstr(err.msg, "0x0a at position 1") && !strchr(err.msg, '\n'),
          "newline refused, shown escaped on one line: %s", err.msg);
}

static void test_errors(void)
{
    initra_err err = {{0}};
    CHECK(initra_fail(&err, "x=%d", 5) == -1 && !strcmp(err.msg, "x=5"), "fail formats and returns -1");
    CHECK(initra_fail_prefix(&err, "file %s", "f") == -1 && !strcmp(err.msg, "file f: x=5"), "fail_prefix: %s", err.msg);
    CHECK(initra_fail(NULL, "ignored") == -1, "fail with no err returns -1");
    uint8_t s[4] = {1, 2, 3, 4};
    initra_zero(s, sizeof s);
    CHECK(!s[0] && !s[1] && !s[2] && !s[3], "zero clears the buffer");
}

int main(void)
{
    char dir[] = "/tmp/initra-util-XXXXXX";
    test_le();
    test_hex();
    test_b64();
    test_numbers();
    test_names();
    test_errors();
    int made = mkdtemp(dir) != NULL;
    CHECK(made, "temp dir %s: %s", dir, made ? "created" : strerror(errno));
    if (made) {
        test_files(dir);
        char cmd[128];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
        CHECK(system(cmd) == 0, "temp dir removed");
    }
    CHECK_DONE();
}
