/* Sim descriptor protocol, version 1: codecs and socket I/O (the protocol is documented in
 * include/initra/attest.h). Every byte from the peer is untrusted: fixed-size reads, explicit
 * little-endian fields, bounds checked before anything is allocated. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <fcntl.h>

#include "attest/internal.h"
#include "initra/attest.h"

const uint8_t INITRA_SIMFD_REQUEST_MAGIC[4] = {'I', 'S', 'Q', '?'};
const uint8_t INITRA_SIMFD_REPLY_MAGIC[4] = {'I', 'S', 'Q', '!'};

enum { STATUS_OK = 0, STATUS_ERROR = 1 };

void attest_simfd_encode_request(const uint8_t report_data[64], uint8_t out[INITRA_SIMFD_REQUEST_SIZE])
{
    memcpy(out, INITRA_SIMFD_REQUEST_MAGIC, 4);
    initra_put_le16(out + 4, INITRA_SIMFD_VERSION);
    initra_put_le16(out + 6, 0);
    memcpy(out + 8, report_data, 64);
}

int initra_simfd_decode_request(const uint8_t in[INITRA_SIMFD_REQUEST_SIZE], uint8_t report_data[64],
                                initra_err *err)
{
    if (memcmp(in, INITRA_SIMFD_REQUEST_MAGIC, 4) != 0)
        return initra_fail(err, "sim descriptor: request magic %02x%02x%02x%02x is not \"ISQ?\"; the peer does not "
                                "speak the initra sim protocol", in[0], in[1], in[2], in[3]);
    uint16_t version = initra_le16(in + 4);
    if (version != INITRA_SIMFD_VERSION)
        return initra_fail(err, "sim descriptor: request version %u, this launcher speaks version %d; use the same "
                                "initra build inside and outside the enclave", version, INITRA_SIMFD_VERSION);
    if (initra_le16(in + 6) != 0)
        return initra_fail(err, "sim descriptor: request reserved field is %u, must be 0", initra_le16(in + 6));
    memcpy(report_data, in + 8, 64);
    return 0;
}

/* A reply header of either exchange: magic, version, status and a payload length in ok_min..ok_max
 * (status 0) or 1..INITRA_SIMFD_MAX_ERROR (status 1). what names the exchange's payload. */
static int decode_header(const uint8_t in[INITRA_SIMFD_REPLY_HEADER_SIZE], const uint8_t magic[4], const char *what,
                         uint32_t ok_min, uint32_t ok_max, uint16_t *status, uint32_t *len, initra_err *err)
{
    if (memcmp(in, magic, 4) != 0)
        return initra_fail(err, "sim descriptor: %s reply magic %02x%02x%02x%02x is not \"%.4s\"; $%s does not name a "
                                "descriptor served by `initra run`", what, in[0], in[1], in[2], in[3],
                           (const char *)magic, INITRA_SIM_FD_ENV);
    uint16_t version = initra_le16(in + 4);
    if (version != INITRA_SIMFD_VERSION)
        return initra_fail(err, "sim descriptor: %s reply version %u, this client speaks version %d; use the same "
                                "initra build inside and outside the enclave", what, version, INITRA_SIMFD_VERSION);
    uint16_t st = initra_le16(in + 6);
    uint32_t n = initra_le32(in + 8);
    if (st == STATUS_OK) {
        if (n < ok_min || n > ok_max)
            return initra_fail(err, "sim descriptor: reply %s length %u outside %u..%u", what, n, ok_min, ok_max);
    } else if (st == STATUS_ERROR) {
        if (n == 0 || n > INITRA_SIMFD_MAX_ERROR)
            return initra_fail(err, "sim descriptor: reply error length %u outside 1..%d", n, INITRA_SIMFD_MAX_ERROR);
    } else {
        return initra_fail(err, "sim descriptor: reply status %u is neither 0 (%s) nor 1 (error)", st, what);
    }
    *status = st;
    *len = n;
    return 0;
}

int attest_simfd_decode_reply_header(const uint8_t in[INITRA_SIMFD_REPLY_HEADER_SIZE], uint16_t *status,
                                     uint32_t *len, initra_err *err)
{
    return decode_header(in, INITRA_SIMFD_REPLY_MAGIC, "quote", 1, INITRA_QUOTE_MAX_SIZE, status, len, err);
}

/* The peer's one-line error message (non-printable bytes as '?') as err. */
static int peer_refused(const uint8_t *p, uint32_t plen, initra_err *err)
{
    char msg[INITRA_SIMFD_MAX_ERROR + 1];
    for (uint32_t i = 0; i < plen; i++) msg[i] = (p[i] >= 0x20 && p[i] < 0x7f) ? (char)p[i] : '?';
    msg[plen] = 0;
    return initra_fail(err, "sim descriptor: the launcher refused: %s", msg);
}

int attest_simfd_decode_reply(const uint8_t *in, size_t n, const uint8_t report_data[64], uint8_t **quote,
                              size_t *len, initra_err *err)
{
    if (n < INITRA_SIMFD_REPLY_HEADER_SIZE)
        return initra_fail(err, "sim descriptor: reply of %zu bytes is shorter than its %d-byte header", n,
                           INITRA_SIMFD_REPLY_HEADER_SIZE);
    uint16_t status;
    uint32_t plen;
    if (attest_simfd_decode_reply_header(in, &status, &plen, err)) return -1;
    if (n - INITRA_SIMFD_REPLY_HEADER_SIZE != plen)
        return initra_fail(err, "sim descriptor: reply header says %u payload bytes, %zu present", plen,
                           n - INITRA_SIMFD_REPLY_HEADER_SIZE);
    const uint8_t *p = in + INITRA_SIMFD_REPLY_HEADER_SIZE;
    if (status == STATUS_ERROR) return peer_refused(p, plen, err);
    if (attest_check_quote(p, plen, report_data, "sim descriptor: the launcher", err)) return -1;
    uint8_t *copy = malloc(plen);
    if (!copy) return initra_fail(err, "sim descriptor: out of memory for a %u-byte quote", plen);
    memcpy(copy, p, plen);
    *quote = copy;
    *len = plen;
    return 0;
}

/* A reply of either exchange: status 0 with a payload of ok_min..ok_max bytes, or 1 with a message. */
static int encode_reply(const uint8_t magic[4], uint16_t status, const uint8_t *payload, size_t len, size_t ok_min,
                        size_t ok_max, uint8_t **out, size_t *out_len, initra_err *err)
{
    size_t min = status == STATUS_OK ? ok_min : 1, max = status == STATUS_OK ? ok_max : INITRA_SIMFD_MAX_ERROR;
    if (status > STATUS_ERROR) return initra_fail(err, "sim descriptor: reply status %u is not 0 or 1", status);
    if (status == STATUS_ERROR && len > max) len = max; /* an error message is cut, never refused */
    if (len < min || len > max)
        return initra_fail(err, "sim descriptor: reply payload of %zu bytes outside %zu..%zu", len, min, max);
    uint8_t *b = malloc(INITRA_SIMFD_REPLY_HEADER_SIZE + len);
    if (!b) return initra_fail(err, "sim descriptor: out of memory");
    memcpy(b, magic, 4);
    initra_put_le16(b + 4, INITRA_SIMFD_VERSION);
    initra_put_le16(b + 6, status);
    initra_put_le32(b + 8, (uint32_t)len);
    memcpy(b + INITRA_SIMFD_REPLY_HEADER_SIZE, payload, len);
    *out = b;
    *out_len = INITRA_SIMFD_REPLY_HEADER_SIZE + len;
    return 0;
}

int initra_simfd_encode_reply(uint16_t status, const uint8_t *payload, size_t len, uint8_t **out, size_t *out_len,
                              initra_err *err)
{
    return encode_reply(INITRA_SIMFD_REPLY_MAGIC, status, payload, len, 1, INITRA_QUOTE_MAX_SIZE, out, out_len, err);
}

int initra_simfd_recv_exact(int fd, void *buf, size_t n, size_t *got, initra_err *err)
{
    size_t off = 0;
    while (off < n) {
        ssize_t r = recv(fd, (uint8_t *)buf + off, n - off, 0);
        if (r < 0) {
            if (errno == EINTR) continue;
            return initra_fail(err, "sim descriptor %d: receive failed: %s", fd, strerror(errno));
        }
        if (r == 0) break;
        off += (size_t)r;
    }
    *got = off;
    return 0;
}

int initra_simfd_send_all(int fd, const void *buf, size_t n, initra_err *err)
{
    size_t off = 0;
    while (off < n) {
        ssize_t w = send(fd, (const uint8_t *)buf + off, n - off, MSG_NOSIGNAL);
        if (w < 0) {
            if (errno == EINTR) continue;
            if (errno == EPIPE || errno == ECONNRESET)
                return initra_fail(err, "sim descriptor %d: the peer closed the connection", fd);
            return initra_fail(err, "sim descriptor %d: send failed: %s", fd, strerror(errno));
        }
        off += (size_t)w;
    }
    return 0;
}

int initra_simfd_check_socket(int fd, initra_err *err)
{
    struct stat st;
    if (fstat(fd, &st) != 0)
        return initra_fail(err, "sim descriptor %d: not an open descriptor (%s); $%s must name a descriptor "
                                "inherited from `initra run`", fd, strerror(errno), INITRA_SIM_FD_ENV);
    if (!S_ISSOCK(st.st_mode))
        return initra_fail(err, "sim descriptor %d: not a socket (file mode 0%o); $%s must name the socket "
                                "inherited from `initra run`", fd, (unsigned)st.st_mode & 0170000u, INITRA_SIM_FD_ENV);
    int v = 0;
    socklen_t sl = sizeof v;
    if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &v, &sl) != 0 || v != AF_UNIX)
        return initra_fail(err, "sim descriptor %d: not an AF_UNIX socket (domain %d)", fd, v);
    sl = sizeof v;
    if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &v, &sl) != 0 || v != SOCK_STREAM)
        return initra_fail(err, "sim descriptor %d: socket type %d, the protocol needs SOCK_STREAM (%d)", fd, v,
                           SOCK_STREAM);
    struct sockaddr_storage peer;
    sl = sizeof peer;
    if (getpeername(fd, (struct sockaddr *)&peer, &sl) != 0)
        return initra_fail(err, "sim descriptor %d: socket not connected (%s)", fd, strerror(errno));
    return 0;
}

/* ---------------- the MountRootFS exchange ---------------- */

const uint8_t INITRA_SIMFD_MOUNT_MAGIC[4] = {'I', 'S', 'M', '?'};
const uint8_t INITRA_SIMFD_MOUNT_REPLY_MAGIC[4] = {'I', 'S', 'M', '!'};

/* A zeroed 72-byte request of an exchange: its magic and version. */
static void start_request(uint8_t out[INITRA_SIMFD_REQUEST_SIZE], const uint8_t magic[4], uint16_t version)
{
    memset(out, 0, INITRA_SIMFD_REQUEST_SIZE);
    memcpy(out, magic, 4);
    initra_put_le16(out + 4, version);
}

void attest_simfd_encode_mount(const uint8_t *key, uint8_t out[INITRA_SIMFD_REQUEST_SIZE])
{
    start_request(out, INITRA_SIMFD_MOUNT_MAGIC, INITRA_SIMFD_MOUNT_VERSION);
    initra_put_le16(out + 6, key ? 1 : 0);
    if (key) memcpy(out + 8, key, 16);
}

static int all_zero(const uint8_t *p, size_t n)
{
    uint8_t acc = 0;
    for (size_t i = 0; i < n; i++) acc |= p[i];
    return acc == 0;
}

int initra_simfd_decode_mount(const uint8_t in[INITRA_SIMFD_REQUEST_SIZE], int *has_key, uint8_t key[16],
                              initra_err *err)
{
    if (memcmp(in, INITRA_SIMFD_MOUNT_MAGIC, 4) != 0)
        return initra_fail(err, "sim descriptor: mount request magic %02x%02x%02x%02x is not \"ISM?\"", in[0], in[1],
                           in[2], in[3]);
    uint16_t version = initra_le16(in + 4), flags = initra_le16(in + 6);
    if (version != INITRA_SIMFD_MOUNT_VERSION)
        return initra_fail(err, "sim descriptor: mount request version %u, this launcher speaks version %d; use the "
                                "same initra build inside and outside the enclave", version, INITRA_SIMFD_MOUNT_VERSION);
    if (flags > 1) return initra_fail(err, "sim descriptor: mount request flags 0x%04x, only bit 0 (key) is defined", flags);
    if (!flags && !all_zero(in + 8, 16))
        return initra_fail(err, "sim descriptor: mount request carries key bytes without its key flag");
    if (!all_zero(in + 24, 8))
        return initra_fail(err, "sim descriptor: mount request rootfs_config is not 0 (only Occlum's NULL config, the "
                                "instance's own image, is offered)");
    if (!all_zero(in + 32, INITRA_SIMFD_REQUEST_SIZE - 32))
        return initra_fail(err, "sim descriptor: mount request reserved bytes 32..71 are not 0");
    *has_key = flags & 1;
    memcpy(key, in + 8, 16);
    return 0;
}

void initra_simfd_encode_mount_reply(uint32_t errnum, uint8_t out[INITRA_SIMFD_MOUNT_REPLY_SIZE])
{
    memcpy(out, INITRA_SIMFD_MOUNT_REPLY_MAGIC, 4);
    initra_put_le16(out + 4, INITRA_SIMFD_MOUNT_VERSION);
    initra_put_le16(out + 6, 0);
    initra_put_le32(out + 8, errnum);
}

int attest_simfd_decode_mount_reply(const uint8_t in[INITRA_SIMFD_MOUNT_REPLY_SIZE], uint32_t *errnum,
                                    initra_err *err)
{
    if (memcmp(in, INITRA_SIMFD_MOUNT_REPLY_MAGIC, 4) != 0)
        return initra_fail(err, "sim descriptor: mount reply magic %02x%02x%02x%02x is not \"ISM!\"; $%s does not name "
                                "a descriptor served by a launcher that offers MountRootFS", in[0], in[1], in[2], in[3],
                           INITRA_SIM_FD_ENV);
    uint16_t version = initra_le16(in + 4);
    if (version != INITRA_SIMFD_MOUNT_VERSION)
        return initra_fail(err, "sim descriptor: mount reply version %u, this client speaks version %d", version,
                           INITRA_SIMFD_MOUNT_VERSION);
    if (initra_le16(in + 6) != 0)
        return initra_fail(err, "sim descriptor: mount reply reserved field is %u, must be 0", initra_le16(in + 6));
    uint32_t e = initra_le32(in + 8);
    if (e != 0 && e != EPERM && e != EACCES && e != EINVAL && e != ENOENT && e != EIO)
        return initra_fail(err, "sim descriptor: mount reply errno %u is not 0, EPERM, EACCES, EINVAL, ENOENT or EIO", e);
    *errnum = e;
    return 0;
}

/* ---------------- the seal-key exchange ---------------- */

const uint8_t INITRA_SIMFD_SEAL_MAGIC[4] = {'I', 'S', 'K', '?'};
const uint8_t INITRA_SIMFD_SEAL_REPLY_MAGIC[4] = {'I', 'S', 'K', '!'};

void attest_simfd_encode_seal(const initra_seal_request *r, uint8_t out[INITRA_SIMFD_REQUEST_SIZE])
{
    start_request(out, INITRA_SIMFD_SEAL_MAGIC, INITRA_SIMFD_SEAL_VERSION);
    initra_put_le16(out + 6, r->key_policy);
    initra_put_le16(out + 8, r->isv_svn);
    initra_put_le16(out + 10, r->config_svn);
    memcpy(out + 12, r->cpu_svn, 16);
    memcpy(out + 28, r->key_id, 32);
}

int initra_simfd_decode_seal(const uint8_t in[INITRA_SIMFD_REQUEST_SIZE], initra_seal_request *r, initra_err *err)
{
    if (memcmp(in, INITRA_SIMFD_SEAL_MAGIC, 4) != 0)
        return initra_fail(err, "sim descriptor: seal request magic %02x%02x%02x%02x is not \"ISK?\"", in[0], in[1],
                           in[2], in[3]);
    uint16_t version = initra_le16(in + 4);
    if (version != INITRA_SIMFD_SEAL_VERSION)
        return initra_fail(err, "sim descriptor: seal request version %u, this launcher speaks version %d; use the "
                                "same initra build inside and outside the enclave", version, INITRA_SIMFD_SEAL_VERSION);
    if (!all_zero(in + 60, INITRA_SIMFD_REQUEST_SIZE - 60))
        return initra_fail(err, "sim descriptor: seal request reserved bytes 60..71 are not 0");
    memset(r, 0, sizeof *r);
    r->key_policy = initra_le16(in + 6);
    r->isv_svn = initra_le16(in + 8);
    r->config_svn = initra_le16(in + 10);
    memcpy(r->cpu_svn, in + 12, 16);
    memcpy(r->key_id, in + 28, 32);
    return 0;
}

int initra_simfd_encode_seal_reply(uint16_t status, const uint8_t *payload, size_t len, uint8_t **out,
                                   size_t *out_len, initra_err *err)
{
    return encode_reply(INITRA_SIMFD_SEAL_REPLY_MAGIC, status, payload, len, 16, 16, out, out_len, err);
}

int attest_simfd_decode_seal_reply_header(const uint8_t in[INITRA_SIMFD_REPLY_HEADER_SIZE], uint16_t *status,
                                          uint32_t *len, initra_err *err)
{
    return decode_header(in, INITRA_SIMFD_SEAL_REPLY_MAGIC, "seal key", 16, 16, status, len, err);
}

int attest_simfd_decode_seal_reply(const uint8_t *in, size_t n, uint8_t key[16], initra_err *err)
{
    uint16_t status;
    uint32_t plen;
    if (n < INITRA_SIMFD_REPLY_HEADER_SIZE)
        return initra_fail(err, "sim descriptor: seal reply of %zu bytes is shorter than its %d-byte header", n,
                           INITRA_SIMFD_REPLY_HEADER_SIZE);
    if (attest_simfd_decode_seal_reply_header(in, &status, &plen, err)) return -1;
    if (n - INITRA_SIMFD_REPLY_HEADER_SIZE != plen)
        return initra_fail(err, "sim descriptor: seal reply header says %u payload bytes, %zu present", plen,
                           n - INITRA_SIMFD_REPLY_HEADER_SIZE);
    if (status == STATUS_ERROR) return peer_refused(in + INITRA_SIMFD_REPLY_HEADER_SIZE, plen, err);
    memcpy(key, in + INITRA_SIMFD_REPLY_HEADER_SIZE, 16);
    return 0;
}
