/* The image walk and the sim MRENCLAVE (definition in include/initra/enclave.h and docs/kss.md). */
#include "enclave/internal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>

int enc_join(const char *root, const char *rel, char *out, size_t n, initra_err *err)
{
    if ((size_t)snprintf(out, n, "%s%s", root, rel) >= n) return initra_fail(err, "%s%s: path too long", root, rel);
    return 0;
}

static int push(enc_tree *t, const char *path, const struct stat *st)
{
    if (t->n == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 64;
        enc_entry *v = realloc(t->v, cap * sizeof *v);
        if (!v) return -1;
        t->v = v;
        t->cap = cap;
    }
    t->v[t->n].path = strdup(path);
    if (!t->v[t->n].path) return -1;
    t->v[t->n].st = *st;
    t->n++;
    return 0;
}

static int walk_dir(const char *root, const char *rel, enc_tree *t, int depth, initra_err *err)
{
    char full[PATH_MAX];
    if (enc_join(root, rel, full, sizeof full, err)) return -1;
    if (depth > 64) return initra_fail(err, "%s: directories nested too deep", full);
    DIR *d = opendir(full);
    if (!d) return initra_fail(err, "%s: cannot read directory: %s", full, strerror(errno));
    struct dirent *e;
    int rc = 0;
    while ((e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
        char sub[PATH_MAX], subfull[PATH_MAX];
        if ((size_t)snprintf(sub, sizeof sub, "%s/%s", rel, e->d_name) >= sizeof sub ||
            enc_join(root, sub, subfull, sizeof subfull, err)) {
            rc = initra_fail(err, "%s%s/%s: path too long", root, rel, e->d_name);
            break;
        }
        struct stat st;
        if (lstat(subfull, &st) != 0) {
            rc = initra_fail(err, "%s: cannot stat: %s", subfull, strerror(errno));
            break;
        }
        if (!S_ISDIR(st.st_mode) && !S_ISREG(st.st_mode) && !S_ISLNK(st.st_mode)) {
            rc = initra_fail(err, "%s: device, FIFO or socket files cannot be in an image (remove it; "
                                  "/dev is provided at run time)", subfull);
            break;
        }
        if (push(t, sub, &st)) {
            rc = initra_fail(err, "out of memory");
            break;
        }
        if (S_ISDIR(st.st_mode) && walk_dir(root, sub, t, depth + 1, err)) {
            rc = -1;
            break;
        }
    }
    closedir(d);
    return rc;
}

static int cmp_entry(const void *a, const void *b)
{
    return strcmp(((const enc_entry *)a)->path, ((const enc_entry *)b)->path);
}

int enc_walk(const char *root, enc_tree *t, initra_err *err)
{
    memset(t, 0, sizeof *t);
    if (walk_dir(root, "", t, 0, err)) {
        enc_tree_free(t);
        return -1;
    }
    if (t->n) qsort(t->v, t->n, sizeof *t->v, cmp_entry);
    return 0;
}

void enc_tree_free(enc_tree *t)
{
    for (size_t i = 0; i < t->n; i++) free(t->v[i].path);
    free(t->v);
    memset(t, 0, sizeof *t);
}

static void put32(EVP_MD_CTX *c, uint32_t v)
{
    uint8_t b[4];
    initra_put_le32(b, v);
    EVP_DigestUpdate(c, b, 4);
}

static void put64(EVP_MD_CTX *c, uint64_t v)
{
    uint8_t b[8];
    initra_put_le64(b, v);
    EVP_DigestUpdate(c, b, 8);
}

static int hash_file(EVP_MD_CTX *c, const char *full, const struct stat *st, initra_err *err)
{
    int fd = open(full, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) return initra_fail(err, "%s: cannot open: %s", full, strerror(errno));
    put64(c, (uint64_t)st->st_size);
    uint8_t buf[65536];
    uint64_t total = 0;
    for (;;) {
        ssize_t r = read(fd, buf, sizeof buf);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) {
            int e = errno;
            close(fd);
            return initra_fail(err, "%s: read error: %s", full, strerror(e));
        }
        if (r == 0) break;
        total += (uint64_t)r;
        if (total > (uint64_t)st->st_size) break;
        EVP_DigestUpdate(c, buf, (size_t)r);
    }
    close(fd);
    if (total != (uint64_t)st->st_size) return initra_fail(err, "%s: changed while being measured; try again", full);
    return 0;
}

int enclave_measure_image(const char *image_dir, uint8_t out[32], initra_err *err)
{
    enc_tree t;
    if (enc_walk(image_dir, &t, err)) return -1;
    EVP_MD_CTX *c = EVP_MD_CTX_new();
    if (!c || !EVP_DigestInit_ex(c, EVP_sha256(), NULL)) {
        EVP_MD_CTX_free(c);
        enc_tree_free(&t);
        return initra_fail(err, "SHA-256 unavailable");
    }
    static const char domain[] = "initra-sim-mrenclave-v1";
    EVP_DigestUpdate(c, domain, sizeof domain); /* includes the NUL */
    int rc = 0;
    for (size_t i = 0; i < t.n && rc == 0; i++) {
        const enc_entry *e = &t.v[i];
        char full[PATH_MAX];
        if (enc_join(image_dir, e->path, full, sizeof full, err)) {
            rc = -1;
            break;
        }
        uint8_t type = S_ISDIR(e->st.st_mode) ? 'd' : S_ISREG(e->st.st_mode) ? 'f' : 'l';
        EVP_DigestUpdate(c, &type, 1);
        size_t plen = strlen(e->path);
        put32(c, (uint32_t)plen);
        EVP_DigestUpdate(c, e->path, plen);
        put32(c, (uint32_t)(e->st.st_mode & 07777));
        if (type == 'd') {
            put64(c, 0);
        } else if (type == 'f') {
            rc = hash_file(c, full, &e->st, err);
        } else {
            char target[PATH_MAX];
            ssize_t n = readlink(full, target, sizeof target);
            if (n < 0 || (size_t)n >= sizeof target) {
                rc = initra_fail(err, "%s: cannot read symlink: %s", full, n < 0 ? strerror(errno) : "too long");
                break;
            }
            put64(c, (uint64_t)n);
            EVP_DigestUpdate(c, target, (size_t)n);
        }
    }
    unsigned len = 32;
    if (rc == 0 && !EVP_DigestFinal_ex(c, out, &len)) rc = initra_fail(err, "SHA-256 failed");
    EVP_MD_CTX_free(c);
    enc_tree_free(&t);
    return rc;
}

int enc_copy_file(const char *src, const char *dst, unsigned mode, int *changed, initra_err *err)
{
    if (changed) *changed = 0;
    uint8_t *a, *b;
    size_t na, nb;
    if (initra_read_file(src, (size_t)1 << 31, &a, &na, err)) return -1;
    struct stat st;
    if (lstat(dst, &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & 07777) == mode &&
        (size_t)st.st_size == na) {
        initra_err e2;
        if (initra_read_file(dst, (size_t)1 << 31, &b, &nb, &e2) == 0) {
            int same = nb == na && memcmp(a, b, na) == 0;
            free(b);
            if (same) {
                free(a);
                return 0;
            }
        }
    }
    if (lstat(dst, &st) == 0 && S_ISDIR(st.st_mode)) {
        free(a);
        return initra_fail(err, "%s: is a directory; cannot copy %s there", dst, src);
    }
    int rc = initra_write_file_atomic(dst, a, na, mode, err);
    free(a);
    if (rc == 0 && changed) *changed = 1;
    return rc;
}

int enc_copy_tree(const char *src, const char *dst, initra_err *err)
{
    enc_tree t;
    if (enc_walk(src, &t, err)) return -1;
    int rc = 0;
    for (size_t i = 0; i < t.n && rc == 0; i++) {
        const enc_entry *e = &t.v[i];
        char s[PATH_MAX], d[PATH_MAX];
        if (enc_join(src, e->path, s, sizeof s, err) || enc_join(dst, e->path, d, sizeof d, err)) {
            rc = -1;
            break;
        }
        unsigned mode = e->st.st_mode & 07777;
        if (S_ISDIR(e->st.st_mode)) {
            if (mkdir(d, 0700) != 0 && errno != EEXIST) rc = initra_fail(err, "%s: cannot create: %s", d, strerror(errno));
        } else if (S_ISREG(e->st.st_mode)) {
            rc = enc_copy_file(s, d, mode, NULL, err);
        } else {
            char target[PATH_MAX];
            ssize_t n = readlink(s, target, sizeof target - 1);
            if (n < 0) rc = initra_fail(err, "%s: cannot read symlink: %s", s, strerror(errno));
            else {
                target[n] = 0;
                if (symlink(target, d) != 0) rc = initra_fail(err, "%s: cannot create symlink: %s", d, strerror(errno));
            }
        }
    }
    /* Directory modes last (children first), so read-only directories do not block their own filling. */
    for (size_t i = t.n; i-- > 0 && rc == 0;) {
        const enc_entry *e = &t.v[i];
        char d[PATH_MAX];
        if (!S_ISDIR(e->st.st_mode) || enc_join(dst, e->path, d, sizeof d, err)) continue;
        if (chmod(d, e->st.st_mode & 07777) != 0) rc = initra_fail(err, "%s: cannot chmod: %s", d, strerror(errno));
    }
    enc_tree_free(&t);
    return rc;
}
