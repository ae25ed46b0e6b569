/* Quote providers behind one function: the sim descriptor (INITRA_SIM_FD), Gramine (/dev/attestation),
 * Occlum (/dev/sgx ioctls) and Linux configfs-tsm (/sys/kernel/config/tsm/report). Every quote a
 * provider returns must parse and carry the report_data asked for (a stale quote is refused). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "attest/internal.h"
#include "initra/attest.h"

enum kind { K_SIM, K_GRAMINE, K_OCCLUM, K_TSM };
static const char *const kind_names[] = {"sim", "gramine", "occlum", "tsm"};

struct initra_attester {
    enum kind kind;
    int fd;                /* K_SIM: the inherited socket (not owned) */
    char path[PATH_MAX];   /* Gramine dir, Occlum device, tsm report dir */
    char entry[NAME_MAX + 1]; /* K_TSM: fixed entry name, or "" for a unique one per quote */
    char detail[128];
};

/* ---------------- Occlum's /dev/sgx ioctls ----------------
 * Our own definitions, equivalent to Occlum's: occlum/occlum test/ioctl/main.c (the C definitions,
 * next to the occlum_dcap.h library API of tools/toolchains/dcap_lib) and
 * tools/toolchains/dcap_lib/src/occlum_dcap.rs (the numeric values):
 *   SGXIOC_GET_DCAP_QUOTE_SIZE  _IOR('s', 7, uint32_t)                      = 0x80047307
 *   SGXIOC_GEN_DCAP_QUOTE       _IOWR('s', 8, sgxioc_gen_dcap_quote_arg_t)  = 0xc0187308 (64-bit)
 * where the argument is three pointers: report_data (64 bytes, in), quote_len (u32, in: buffer size,
 * out: quote size), quote_buf (out). The numeric values are the ones Occlum's Rust bindings use. */
typedef struct {
    const uint8_t *report_data;
    uint32_t *quote_len;
    uint8_t *quote_buf;
} occlum_gen_dcap_quote_arg;
#define OCCLUM_IOC_GET_DCAP_QUOTE_SIZE _IOR('s', 7, uint32_t)
#define OCCLUM_IOC_GEN_DCAP_QUOTE _IOWR('s', 8, occlum_gen_dcap_quote_arg)
_Static_assert(OCCLUM_IOC_GET_DCAP_QUOTE_SIZE == 0x80047307u, "Occlum SGXIOC_GET_DCAP_QUOTE_SIZE");
_Static_assert(sizeof(void *) != 8 || OCCLUM_IOC_GEN_DCAP_QUOTE == 0xc0187308u, "Occlum SGXIOC_GEN_DCAP_QUOTE");

/* SGXIOC_GET_KEY (occlum/occlum 690d5db: test/ioctl/main.c:147-150,183 and
 * src/libos/src/fs/dev_fs/dev_sgx/consts.rs SGX_CMD_NUM_KEY, mod.rs IoctlGetKeyArg):
 *   _IOWR('s', 11, sgxioc_get_key_arg_t) = 0xc010730b (64-bit)
 * where the argument is two pointers: the SDK's sgx_key_request_t (512 bytes, in) and the 16-byte key
 * (out); Occlum passes the request to sgx_get_key (src/libos/src/util/sgx/sgx_key.rs). */
typedef struct {
    const uint8_t *key_request;
    uint8_t *key;
} occlum_get_key_arg;
#define OCCLUM_IOC_GET_KEY _IOWR('s', 11, occlum_get_key_arg)

unsigned long attest_occlum_get_key_ioctl(void) { return OCCLUM_IOC_GET_KEY; }

/* sgx_key_request_t (SGX SDK common/inc/sgx_key.h, as Occlum's Rust sgx_types declares it):
 *   0 key_name u16 | 2 key_policy u16 | 4 isv_svn u16 | 6 reserved1 u16 | 8 cpu_svn[16] |
 *   24 attribute_mask {flags u64, xfrm u64} | 40 key_id[32] | 72 misc_mask u32 | 76 config_svn u16 |
 *   78 reserved2[434]  = 512 bytes.
 * The masks are the SDK's sealing defaults (sgx_tseal: TSEAL_DEFAULT_FLAGSMASK = ~FLAGS_NON_SECURITY_BITS
 * = 0xff0000000000000b, i.e. INIT, DEBUG and the reserved high bits; xfrm 0; TSEAL_DEFAULT_MISCMASK =
 * 0xf0000000), which Occlum's own autokey (sgx_key.rs get_autokey) uses too. */
#define SGX_KEYSELECT_SEAL 4
#define TSEAL_DEFAULT_FLAGSMASK 0xff0000000000000bull
#define TSEAL_DEFAULT_MISCMASK 0xf0000000u

void attest_occlum_key_request(const initra_seal_request *r, uint8_t out[ATTEST_KEY_REQUEST_SIZE])
{
    memset(out, 0, ATTEST_KEY_REQUEST_SIZE);
    initra_put_le16(out + 0, SGX_KEYSELECT_SEAL);
    initra_put_le16(out + 2, r->key_policy);
    initra_put_le16(out + 4, r->isv_svn);
    memcpy(out + 8, r->cpu_svn, 16);
    initra_put_le64(out + 24, TSEAL_DEFAULT_FLAGSMASK);
    initra_put_le64(out + 32, 0);
    memcpy(out + 40, r->key_id, 32);
    initra_put_le32(out + 72, TSEAL_DEFAULT_MISCMASK);
    initra_put_le16(out + 76, r->config_svn);
}

/* ---------------- shared helpers ---------------- */

static initra_attester *new_attester(enum kind k, const char *path, initra_err *err)
{
    initra_attester *a = calloc(1, sizeof *a);
    if (!a) {
        initra_fail(err, "out of memory");
        return NULL;
    }
    a->kind = k;
    a->fd = -1;
    if (path) {
        if (strlen(path) >= sizeof a->path) {
            initra_fail(err, "%s: path longer than %zu bytes", kind_names[k], sizeof a->path - 1);
            free(a);
            return NULL;
        }
        strcpy(a->path, path);
    }
    return a;
}

/* Writes exactly n bytes to an existing file (pseudo-files: no create, no truncate); the close is
 * checked because configfs binary attributes commit on close. */
static int write_attr(const char *path, const uint8_t *data, size_t n, initra_err *err)
{
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0) return initra_fail(err, "%s: cannot open for writing: %s", path, strerror(errno));
    size_t off = 0;
    while (off < n) {
        ssize_t w = write(fd, data + off, n - off);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) {
            int e = w < 0 ? errno : EIO;
            close(fd);
            return initra_fail(err, "%s: write failed after %zu of %zu bytes: %s", path, off, n, strerror(e));
        }
        off += (size_t)w;
    }
    if (close(fd) != 0) return initra_fail(err, "%s: write of %zu bytes refused: %s", path, n, strerror(errno));
    return 0;
}

/* Reads a short text attribute, trailing whitespace and NULs removed, non-printable bytes as '?'. */
static int read_text(const char *path, char *out, size_t cap, initra_err *err)
{
    uint8_t *b;
    size_t n;
    if (initra_read_file(path, cap - 1, &b, &n, err)) return -1;
    while (n > 0 && (b[n - 1] == '\n' || b[n - 1] == ' ' || b[n - 1] == '\r' || b[n - 1] == '\t' || b[n - 1] == 0)) n--;
    for (size_t i = 0; i < n; i++) out[i] = (b[i] >= 0x20 && b[i] < 0x7f) ? (char)b[i] : '?';
    out[n] = 0;
    free(b);
    return 0;
}

static int join(char *out, size_t cap, const char *dir, const char *name, initra_err *err)
{
    if ((size_t)snprintf(out, cap, "%s/%s", dir, name) >= cap)
        return initra_fail(err, "%s/%s: path too long", dir, name);
    return 0;
}

int attest_check_quote(const uint8_t *quote, size_t len, const uint8_t report_data[64], const char *who,
                              initra_err *err)
{
    initra_quote q;
    if (initra_quote_parse(quote, len, &q, err)) return initra_fail_prefix(err, "%s returned no valid quote", who);
    const uint8_t *rd = q.body_type == INITRA_BODY_SGX ? q.enclave.report_data : q.td.report_data;
    if (memcmp(rd, report_data, 64) != 0) {
        char got[129], want[129];
        initra_hex(rd, 64, got);
        initra_hex(report_data, 64, want);
        return initra_fail(err, "%s returned a quote with report_data %.16s..., not the requested %.16s... (a stale "
                                "quote, or another process used the provider at the same time); retry",
                           who, got, want);
    }
    return 0;
}

/* ---------------- sim descriptor (client) ---------------- */

initra_attester *attest_sim_fd(int fd, initra_err *err)
{
    if (initra_simfd_check_socket(fd, err)) return NULL;
    initra_attester *a = new_attester(K_SIM, NULL, err);
    if (a) a->fd = fd;
    return a;
}

static int sim_quote(initra_attester *a, const uint8_t rd[64], uint8_t **quote, size_t *len, initra_err *err)
{
    uint8_t req[INITRA_SIMFD_REQUEST_SIZE];
    attest_simfd_encode_request(rd, req);
    if (initra_simfd_send_all(a->fd, req, sizeof req, err)) return -1;
    uint8_t hdr[INITRA_SIMFD_REPLY_HEADER_SIZE];
    size_t got;
    if (initra_simfd_recv_exact(a->fd, hdr, sizeof hdr, &got, err)) return -1;
    if (got < sizeof hdr)
        return initra_fail(err, "sim descriptor %d: the launcher closed the connection after %zu of %d reply header "
                                "bytes", a->fd, got, INITRA_SIMFD_REPLY_HEADER_SIZE);
    uint16_t status;
    uint32_t plen;
    if (attest_simfd_decode_reply_header(hdr, &status, &plen, err)) return -1;
    uint8_t *buf = malloc(sizeof hdr + plen);
    if (!buf) return initra_fail(err, "sim descriptor: out of memory for a %u-byte reply", plen);
    memcpy(buf, hdr, sizeof hdr);
    if (initra_simfd_recv_exact(a->fd, buf + sizeof hdr, plen, &got, err)) {
        free(buf);
        return -1;
    }
    if (got < plen) {
        free(buf);
        return initra_fail(err, "sim descriptor %d: the launcher closed the connection after %zu of %u reply bytes",
                           a->fd, got, plen);
    }
    int rc = attest_simfd_decode_reply(buf, sizeof hdr + plen, rd, quote, len, err);
    free(buf);
    return rc;
}

/* MountRootFS through the sim descriptor (protocol in include/initra/attest.h). */
static int sim_mount(initra_attester *a, const uint8_t *key, uint32_t *errnum, initra_err *err)
{
    uint8_t req[INITRA_SIMFD_REQUEST_SIZE], rep[INITRA_SIMFD_MOUNT_REPLY_SIZE];
    size_t got;
    attest_simfd_encode_mount(key, req);
    int rc = initra_simfd_send_all(a->fd, req, sizeof req, err);
    initra_zero(req, sizeof req);
    if (rc || initra_simfd_recv_exact(a->fd, rep, sizeof rep, &got, err)) return -1;
    if (got < sizeof rep)
        return initra_fail(err, "sim descriptor %d: the launcher closed the connection after %zu of %d mount reply bytes",
                           a->fd, got, INITRA_SIMFD_MOUNT_REPLY_SIZE);
    return attest_simfd_decode_mount_reply(rep, errnum, err);
}

/* Occlum's MountRootFS (occlum/occlum 690d5db): src/libos/src/syscall/mod.rs:440
 *   (MountRootFS = 363) => do_mount_rootfs(key_ptr: *const sgx_key_128bit_t,
 *                                          rootfs_config_ptr: *const user_rootfs_config)
 * key_ptr NULL = no key (integrity-only image); rootfs_config_ptr NULL = mount the "app" entry of
 * .Occlum_sys.json (src/libos/src/fs/syscalls.rs:682-703); a second successful call fails with EPERM
 * (src/libos/src/fs/fs_ops/mount.rs:22-24). Occlum's inits call it exactly so:
 * tools/init_grpc_ratls/src/main.rs:186-194, tools/init_aecs/src/main.rs:235-243. */
int initra_attest_mount_rootfs(initra_attester *a, const uint8_t *key, initra_err *err)
{
    uint32_t e = 0;
    if (a->kind == K_SIM) {
        if (sim_mount(a, key, &e, err)) return initra_fail_prefix(err, "MountRootFS");
    } else if (a->kind == K_OCCLUM) {
        const void *rootfs_config = NULL;
        if (syscall(INITRA_OCCLUM_SYS_MOUNT_ROOTFS, key, rootfs_config) < 0) e = (uint32_t)errno;
    } else {
        return initra_fail(err, "MountRootFS: /etc/image_config.json asks for Occlum's two-stage boot, but this "
                                "enclave's quote provider is %s, not Occlum (or the sim platform); remove "
                                "image_config.json outside Occlum", kind_names[a->kind]);
    }
    if (e == 0) return 0;
    const char *why = e == EPERM   ? "the root file system is already mounted (MountRootFS may succeed once)"
                      : e == EACCES ? "image_key does not open the encrypted image; the KMS's image_key is not the "
                                      "key the image was built with (`--image-key`)"
                      : e == EINVAL ? "the image type and the key disagree (a key for an integrity-only image, or "
                                      "none for an encrypted one)"
                      : e == ENOENT ? "this instance has no initfs stage to leave"
                                    : "the platform could not mount it";
    return initra_fail(err, "MountRootFS refused (%s): %s", strerrorname_np((int)e) ? strerrorname_np((int)e) : "?",
                       why);
}

/* ---------------- Gramine ---------------- */

initra_attester *attest_gramine(const char *dir, initra_err *err)
{
    char path[PATH_MAX], type[64];
    if (join(path, sizeof path, dir, "attestation_type", err)) return NULL;
    if (read_text(path, type, sizeof type, err)) {
        initra_fail_prefix(err, "Gramine");
        return NULL;
    }
    if (strcmp(type, "dcap") != 0) {
        initra_fail(err, "Gramine: %s is \"%s\", initra needs \"dcap\": set sgx.remote_attestation = \"dcap\" in the "
                         "manifest", path, type);
        return NULL;
    }
    return new_attester(K_GRAMINE, dir, err);
}

static int gramine_quote(initra_attester *a, const uint8_t rd[64], uint8_t **quote, size_t *len, initra_err *err)
{
    char path[PATH_MAX];
    if (join(path, sizeof path, a->path, "user_report_data", err)) return -1;
    if (write_attr(path, rd, 64, err)) return initra_fail_prefix(err, "Gramine");
    if (join(path, sizeof path, a->path, "quote", err)) return -1;
    if (initra_read_file(path, INITRA_QUOTE_MAX_SIZE, quote, len, err))
        return initra_fail_prefix(err, "Gramine (is sgx.remote_attestation = \"dcap\" in the manifest?)");
    return 0;
}

/* ---------------- Occlum ---------------- */

initra_attester *attest_occlum(const char *dev, initra_err *err)
{
    struct stat st;
    if (stat(dev, &st) != 0) {
        initra_fail(err, "Occlum: %s: %s", dev, strerror(errno));
        return NULL;
    }
    if (S_ISDIR(st.st_mode)) {
        initra_fail(err, "Occlum: %s is a directory (the host's SGX driver layout), not Occlum's SGX device", dev);
        return NULL;
    }
    return new_attester(K_OCCLUM, dev, err);
}

/* ioctl, retried on EINTR and, a few times, on EBUSY (Occlum reports a busy quoting enclave so). */
static int occlum_ioctl(int fd, unsigned long req, void *arg)
{
    for (int busy = 0;;) {
        if (ioctl(fd, req, arg) == 0) return 0;
        if (errno == EINTR) continue;
        if (errno != EBUSY || ++busy > 5) return -1;
        struct timespec ts = {0, 200 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
}

static int occlum_fail(const char *dev, const char *what, initra_err *err)
{
    int e = errno;
    if (e == ENOTTY || e == EINVAL || e == ENOSYS)
        return initra_fail(err, "Occlum: %s is not Occlum's SGX device (ioctl %s: %s); INITRA_OCCLUM_DEV must name "
                                "/dev/sgx inside an Occlum enclave", dev, what, strerror(e));
    return initra_fail(err, "Occlum: %s: ioctl %s failed: %s", dev, what, strerror(e));
}

static int occlum_quote(initra_attester *a, const uint8_t rd[64], uint8_t **quote, size_t *len, initra_err *err)
{
    int fd = open(a->path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return initra_fail(err, "Occlum: %s: cannot open: %s", a->path, strerror(errno));
    uint32_t size = 0;
    if (occlum_ioctl(fd, OCCLUM_IOC_GET_DCAP_QUOTE_SIZE, &size)) {
        occlum_fail(a->path, "SGXIOC_GET_DCAP_QUOTE_SIZE", err);
        close(fd);
        return -1;
    }
    if (size == 0 || size > INITRA_QUOTE_MAX_SIZE) {
        close(fd);
        return initra_fail(err, "Occlum: %s: quote size %u outside 1..%u", a->path, size, INITRA_QUOTE_MAX_SIZE);
    }
    uint8_t *buf = calloc(1, size);
    if (!buf) {
        close(fd);
        return initra_fail(err, "Occlum: out of memory for a %u-byte quote", size);
    }
    uint8_t data[64];
    memcpy(data, rd, 64);
    uint32_t qlen = size;
    occlum_gen_dcap_quote_arg arg = {data, &qlen, buf};
    if (occlum_ioctl(fd, OCCLUM_IOC_GEN_DCAP_QUOTE, &arg)) {
        occlum_fail(a->path, "SGXIOC_GEN_DCAP_QUOTE", err);
        close(fd);
        free(buf);
        return -1;
    }
    close(fd);
    if (qlen == 0 || qlen > size) {
        free(buf);
        return initra_fail(err, "Occlum: %s: returned quote length %u outside 1..%u", a->path, qlen, size);
    }
    *quote = buf;
    *len = qlen;
    return 0;
}

/* ---------------- configfs-tsm ---------------- */

initra_attester *attest_tsm(const char *dir, const char *entry, initra_err *err)
{
    struct stat st;
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
        initra_fail(err, "configfs-tsm: %s is not a directory (is configfs mounted at /sys/kernel/config?)", dir);
        return NULL;
    }
    if (entry && (!*entry || strchr(entry, '/') || !strcmp(entry, ".") || !strcmp(entry, "..") ||
                  strlen(entry) > NAME_MAX)) {
        initra_fail(err, "configfs-tsm: entry name \"%.64s\" ($%s) must be one path component", entry,
                    INITRA_TSM_ENTRY_ENV);
        return NULL;
    }
    initra_attester *a = new_attester(K_TSM, dir, err);
    if (a && entry) strcpy(a->entry, entry);
    return a;
}

int attest_tsm_generation_check(const char *entry, int fresh, uint64_t before, uint64_t after, initra_err *err)
{
    if (before != after)
        return initra_fail(err, "configfs-tsm: %s/generation changed from %llu to %llu while outblob was read: another "
                                "writer used this entry, the report may not be ours; retry", entry,
                           (unsigned long long)before, (unsigned long long)after);
    if (fresh && before != 1)
        return initra_fail(err, "configfs-tsm: %s/generation is %llu after our single inblob write to a new entry, "
                                "expected 1: another writer used this entry; retry", entry,
                           (unsigned long long)before);
    return 0;
}

static int read_generation(const char *entry, uint64_t *g, initra_err *err)
{
    char path[PATH_MAX], text[32];
    if (join(path, sizeof path, entry, "generation", err) || read_text(path, text, sizeof text, err)) return -1;
    if (initra_parse_uint(text, UINT64_MAX, g))
        return initra_fail(err, "configfs-tsm: %s is \"%s\", not a decimal number", path, text);
    return 0;
}

/* The steps on an existing entry directory: inblob, generation, outblob, generation, provider. */
static int tsm_steps(initra_attester *a, const char *entry, int fresh, const uint8_t rd[64], uint8_t **quote,
                     size_t *len, initra_err *err)
{
    char path[PATH_MAX];
    uint64_t g1, g2;
    if (join(path, sizeof path, entry, "inblob", err) || write_attr(path, rd, 64, err)) return -1;
    if (read_generation(entry, &g1, err)) return -1;
    if (join(path, sizeof path, entry, "outblob", err)) return -1;
    uint8_t *q;
    size_t n;
    if (initra_read_file(path, INITRA_QUOTE_MAX_SIZE, &q, &n, err)) return -1;
    if (n == 0) {
        free(q);
        return initra_fail(err, "configfs-tsm: %s is empty: the TSM produced no report", path);
    }
    if (read_generation(entry, &g2, err) || attest_tsm_generation_check(entry, fresh, g1, g2, err)) {
        free(q);
        return -1;
    }
    char provider[64];
    if (join(path, sizeof path, entry, "provider", err) || read_text(path, provider, sizeof provider, err)) {
        free(q);
        return -1;
    }
    snprintf(a->detail, sizeof a->detail, "%s", provider);
    *quote = q;
    *len = n;
    return 0;
}

static int tsm_quote(initra_attester *a, const uint8_t rd[64], uint8_t **quote, size_t *len, initra_err *err)
{
    char name[NAME_MAX + 1], entry[PATH_MAX];
    if (a->entry[0]) {
        snprintf(name, sizeof name, "%s", a->entry);
    } else {
        uint8_t rnd[8];
        char hex[17];
        if (getrandom(rnd, sizeof rnd, 0) != (ssize_t)sizeof rnd)
            return initra_fail(err, "configfs-tsm: getrandom failed: %s", strerror(errno));
        snprintf(name, sizeof name, "initra-%ld-%s", (long)getpid(), initra_hex(rnd, sizeof rnd, hex));
    }
    if (join(entry, sizeof entry, a->path, name, err)) return -1;
    int created = 1;
    if (mkdir(entry, 0700) != 0) {
        if (errno == EEXIST && a->entry[0]) {
            created = 0;
        } else {
            return initra_fail(err, "configfs-tsm: cannot create report entry %s: %s (needs root and a TSM provider "
                                    "such as tdx_guest in the kernel)", entry, strerror(errno));
        }
    }
    int rc = tsm_steps(a, entry, created && !a->entry[0], rd, quote, len, err);
    if (rc && strncmp(err->msg, "configfs-tsm", 12) != 0) initra_fail_prefix(err, "configfs-tsm");
    if (created && rmdir(entry) != 0 && rc == 0) {
        free(*quote);
        *quote = NULL;
        rc = initra_fail(err, "configfs-tsm: cannot remove report entry %s: %s", entry, strerror(errno));
    }
    return rc;
}

/* ---------------- one function ---------------- */

static const char *env_or(const char *name, const char *def)
{
    const char *v = getenv(name);
    return v && *v ? v : def;
}

static const attest_fixed_paths hardware_paths = {"/dev/attestation", "/dev/sgx", "/sys/kernel/config/tsm/report"};

/* The environment variables that choose a provider where no hardware one exists (tests, fake trees). */
static const char *const override_env[] = {INITRA_SIM_FD_ENV, "INITRA_GRAMINE_DIR", "INITRA_OCCLUM_DEV",
                                           "INITRA_TSM_DIR", NULL};

static int gramine_at(const char *dir)
{
    char path[PATH_MAX];
    struct stat st;
    initra_err ignored;
    return join(path, sizeof path, dir, "attestation_type", &ignored) == 0 && stat(path, &st) == 0;
}

static int occlum_at(const char *dev)
{
    struct stat st;
    return stat(dev, &st) == 0 && !S_ISDIR(st.st_mode);
}

static int tsm_at(const char *dir)
{
    struct stat st;
    return stat(dir, &st) == 0 && S_ISDIR(st.st_mode);
}

/* A hardware provider at its fixed place is the only one: the host sets the environment, so a variable
 * that would choose another provider (a socket or tree of the host's making, whose quotes would carry
 * whatever CONFIGID the host likes) is refused rather than followed. */
static initra_attester *hardware_provider(const attest_fixed_paths *fx, initra_err *err)
{
    const char *name = gramine_at(fx->gramine) ? "Gramine" : occlum_at(fx->occlum) ? "Occlum" : "configfs-tsm";
    const char *where = gramine_at(fx->gramine) ? fx->gramine : occlum_at(fx->occlum) ? fx->occlum : fx->tsm;
    for (const char *const *e = override_env; *e; e++) {
        const char *v = getenv(*e);
        if (v && *v) {
            initra_fail(err, "$%s is set (\"%.40s\"), but this enclave has a hardware quote provider (%s %s): the "
                             "environment cannot choose another one; unset %s",
                        *e, v, name, where, *e);
            return NULL;
        }
    }
    if (gramine_at(fx->gramine)) return attest_gramine(fx->gramine, err);
    if (occlum_at(fx->occlum)) return attest_occlum(fx->occlum, err);
    return attest_tsm(fx->tsm, getenv(INITRA_TSM_ENTRY_ENV), err);
}

initra_attester *attest_detect_at(const attest_fixed_paths *fx, initra_err *err)
{
    if (gramine_at(fx->gramine) || occlum_at(fx->occlum) || tsm_at(fx->tsm)) return hardware_provider(fx, err);
    const char *fd_s = getenv(INITRA_SIM_FD_ENV);
    if (fd_s && *fd_s) {
        uint64_t fd;
        if (initra_parse_uint(fd_s, INT_MAX, &fd)) {
            initra_fail(err, "$%s is \"%.32s\", not a descriptor number", INITRA_SIM_FD_ENV, fd_s);
            return NULL;
        }
        return attest_sim_fd((int)fd, err);
    }
    const char *gramine = env_or("INITRA_GRAMINE_DIR", fx->gramine);
    const char *occlum = env_or("INITRA_OCCLUM_DEV", fx->occlum);
    const char *tsm = env_or("INITRA_TSM_DIR", fx->tsm);
    if (gramine_at(gramine)) return attest_gramine(gramine, err);
    if (occlum_at(occlum)) return attest_occlum(occlum, err);
    if (tsm_at(tsm)) return attest_tsm(tsm, getenv(INITRA_TSM_ENTRY_ENV), err);
    initra_fail(err, "not inside an enclave: no quote provider found (looked for $%s: unset; Gramine: %s/attestation_type; "
                     "Occlum: %s; configfs-tsm: %s); run the program inside one, e.g. `initra run DIR -- PROG`",
                INITRA_SIM_FD_ENV, gramine, occlum, tsm);
    return NULL;
}

initra_attester *initra_attest_detect(initra_err *err) { return attest_detect_at(&hardware_paths, err); }

const char *initra_attest_name(const initra_attester *a) { return kind_names[a->kind]; }

const char *attest_detail(const initra_attester *a) { return a->detail; }

int initra_attest_quote(initra_attester *a, const uint8_t report_data[64], uint8_t **quote, size_t *len,
                        initra_err *err)
{
    initra_err local;
    if (!err) err = &local; /* tsm_quote reads the message back */
    uint8_t *q = NULL;
    size_t n = 0;
    int rc;
    char who[PATH_MAX + 32];
    switch (a->kind) {
    case K_SIM:
        rc = sim_quote(a, report_data, &q, &n, err);
        snprintf(who, sizeof who, "the launcher on sim descriptor %d", a->fd);
        break;
    case K_GRAMINE:
        rc = gramine_quote(a, report_data, &q, &n, err);
        snprintf(who, sizeof who, "Gramine %s/quote", a->path);
        break;
    case K_OCCLUM:
        rc = occlum_quote(a, report_data, &q, &n, err);
        snprintf(who, sizeof who, "Occlum %s", a->path);
        break;
    default:
        rc = tsm_quote(a, report_data, &q, &n, err);
        snprintf(who, sizeof who, "configfs-tsm %s (provider %s)", a->path, a->detail);
        break;
    }
    if (rc) return -1;
    if (attest_check_quote(q, n, report_data, who, err)) {
        free(q);
        return -1;
    }
    *quote = q;
    *len = n;
    return 0;
}

int initra_attest_quote_cb(void *attester, const uint8_t report_data[64], uint8_t **quote, size_t *len,
                           initra_err *err)
{
    return initra_attest_quote(attester, report_data, quote, len, err);
}

/* ---------------- seal keys ---------------- */

static int sim_seal(initra_attester *a, const initra_seal_request *r, uint8_t key[16], initra_err *err)
{
    uint8_t req[INITRA_SIMFD_REQUEST_SIZE], buf[INITRA_SIMFD_REPLY_HEADER_SIZE + INITRA_SIMFD_MAX_ERROR];
    size_t got;
    attest_simfd_encode_seal(r, req);
    if (initra_simfd_send_all(a->fd, req, sizeof req, err)) return -1;
    if (initra_simfd_recv_exact(a->fd, buf, INITRA_SIMFD_REPLY_HEADER_SIZE, &got, err)) return -1;
    if (got < INITRA_SIMFD_REPLY_HEADER_SIZE)
        return initra_fail(err, "sim descriptor %d: the launcher closed the connection after %zu of %d seal reply "
                                "header bytes", a->fd, got, INITRA_SIMFD_REPLY_HEADER_SIZE);
    uint16_t status;
    uint32_t plen;
    if (attest_simfd_decode_seal_reply_header(buf, &status, &plen, err)) return -1;
    int rc = initra_simfd_recv_exact(a->fd, buf + INITRA_SIMFD_REPLY_HEADER_SIZE, plen, &got, err);
    if (rc == 0 && got < plen)
        rc = initra_fail(err, "sim descriptor %d: the launcher closed the connection after %zu of %u seal reply bytes",
                         a->fd, got, plen);
    if (rc == 0) rc = attest_simfd_decode_seal_reply(buf, INITRA_SIMFD_REPLY_HEADER_SIZE + plen, key, err);
    initra_zero(buf, sizeof buf);
    return rc;
}

static int occlum_seal(initra_attester *a, const initra_seal_request *r, uint8_t key[16], initra_err *err)
{
    uint8_t req[ATTEST_KEY_REQUEST_SIZE];
    attest_occlum_key_request(r, req);
    int fd = open(a->path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return initra_fail(err, "Occlum: %s: cannot open: %s", a->path, strerror(errno));
    occlum_get_key_arg arg = {req, key};
    int rc = 0;
    if (occlum_ioctl(fd, OCCLUM_IOC_GET_KEY, &arg)) {
        if (errno == EINVAL) /* Occlum's answer to an EGETKEY refusal (sgx_key.rs get_key) */
            rc = initra_fail(err, "Occlum: %s: SGXIOC_GET_KEY refused key_policy 0x%04x isv_svn %u config_svn %u "
                                  "(EINVAL: an SVN above the enclave's own, or a policy bit the CPU lacks)",
                             a->path, r->key_policy, r->isv_svn, r->config_svn);
        else
            rc = occlum_fail(a->path, "SGXIOC_GET_KEY", err);
    }
    close(fd);
    return rc;
}

/* Gramine's report (432 bytes, the SGX report; body first): the enclave's own ISVSVN, CONFIGSVN and
 * CPUSVN at their report-body offsets 258, 260 and 0. */
static int gramine_own_svns(initra_attester *a, uint16_t *isv_svn, uint16_t *config_svn, uint8_t cpu_svn[16],
                            initra_err *err)
{
    char path[PATH_MAX];
    uint8_t *b;
    size_t n;
    if (join(path, sizeof path, a->path, "report", err) || initra_read_file(path, 4096, &b, &n, err)) return -1;
    if (n < INITRA_SGX_REPORT_BODY_SIZE) {
        free(b);
        return initra_fail(err, "Gramine: %s is %zu bytes, shorter than an SGX report body (%d)", path, n,
                           INITRA_SGX_REPORT_BODY_SIZE);
    }
    memcpy(cpu_svn, b, 16);
    *isv_svn = initra_le16(b + 258);
    *config_svn = initra_le16(b + 260);
    free(b);
    return 0;
}

/* Gramine's _sgx_mrsigner key is EGETKEY's with MRSIGNER policy at the enclave's own SVNs and KEYID 0
 * (gramineproject/gramine ff71d7a: pal/src/host/linux-sgx/enclave_framework.c sgx_get_seal_key). Only
 * that request is honoured; key_id then enters by HMAC-SHA256 over Gramine's key (Gramine's manifest
 * documentation asks for a KDF when its sealing key serves more than one use). */
static int gramine_seal(initra_attester *a, const initra_seal_request *r, uint8_t key[16], initra_err *err)
{
    uint16_t isv = 0, cfg = 0;
    uint8_t cpu[16];
    if (gramine_own_svns(a, &isv, &cfg, cpu, err)) return -1;
    char own[33], want[33];
    initra_hex(cpu, 16, own);
    initra_hex(r->cpu_svn, 16, want);
    const char *field = r->key_policy != INITRA_KEYPOLICY_MRSIGNER ? "key_policy"
                        : r->isv_svn != isv                        ? "isv_svn"
                        : r->config_svn != cfg                     ? "config_svn"
                        : memcmp(r->cpu_svn, cpu, 16)              ? "cpu_svn"
                                                                   : NULL;
    if (field)
        return initra_fail(err, "Gramine: %s asked for key_policy 0x%04x isv_svn %u config_svn %u cpu_svn %s; Gramine "
                                "offers only /dev/attestation/keys/_sgx_mrsigner: key_policy MRSIGNER (0x0002) at the "
                                "enclave's own isv_svn %u config_svn %u cpu_svn %s", field, r->key_policy, r->isv_svn,
                           r->config_svn, want, isv, cfg, own);
    char path[PATH_MAX];
    uint8_t *b = NULL, mac[32];
    size_t n = 0;
    if (join(path, sizeof path, a->path, "keys/_sgx_mrsigner", err) || initra_read_file(path, 64, &b, &n, err))
        return initra_fail_prefix(err, "Gramine");
    int rc = 0;
    unsigned int ml = 0;
    static const char label[] = "initra gramine seal key_id v1";
    uint8_t msg[sizeof label + 32];
    memcpy(msg, label, sizeof label);
    memcpy(msg + sizeof label, r->key_id, 32);
    if (n != 16)
        rc = initra_fail(err, "Gramine: %s is %zu bytes, a sealing key is 16", path, n);
    else if (!HMAC(EVP_sha256(), b, 16, msg, sizeof msg, mac, &ml) || ml != 32)
        rc = initra_fail(err, "Gramine: HMAC-SHA256 over the sealing key failed");
    else
        memcpy(key, mac, 16);
    initra_free_secret(b, n);
    initra_zero(mac, sizeof mac);
    return rc;
}

int initra_attest_seal_key(initra_attester *a, const initra_seal_request *r, uint8_t key[16], initra_err *err)
{
    initra_err local;
    if (!err) err = &local; /* its message is read back below */
    int rc;
    switch (a->kind) {
    case K_SIM: rc = sim_seal(a, r, key, err); break;
    case K_OCCLUM: rc = occlum_seal(a, r, key, err); break;
    case K_GRAMINE: rc = gramine_seal(a, r, key, err); break;
    default: rc = initra_fail(err, "seal key: configfs-tsm provides no seal keys (%s is a TDX/SEV report interface)",
                              a->path);
    }
    if (rc) {
        initra_zero(key, 16);
        if (!strstr(err->msg, "seal key")) initra_fail_prefix(err, "seal key");
    }
    return rc;
}

int initra_attest_seal_key_cb(void *attester, const initra_seal_request *r, uint8_t key[16], initra_err *err)
{
    return initra_attest_seal_key(attester, r, key, err);
}

void initra_attest_free(initra_attester *a) { free(a); }
