/* ELF dependencies (PT_INTERP, DT_NEEDED, DT_RUNPATH/DT_RPATH) of the executables in an image, read
 * with bounds-checked little-endian reads, and copied from the host as Occlum's copy_bom does. */
#include "enclave/internal.h"

#include <errno.h>
#include <glob.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define PT_LOAD_ 1
#define PT_DYNAMIC_ 2
#define PT_INTERP_ 3
#define DT_NEEDED_ 1
#define DT_STRTAB_ 5
#define DT_STRSZ_ 10
#define DT_RPATH_ 15
#define DT_RUNPATH_ 29
#define MAX_LOADS 64
#define MAX_NEEDED 1024

int enclave_is_elf(const uint8_t *buf, size_t len)
{
    return len >= 4 && buf[0] == 0x7f && buf[1] == 'E' && buf[2] == 'L' && buf[3] == 'F';
}

/* off + n within len, without overflow */
static int in_bounds(uint64_t off, uint64_t n, size_t len) { return off <= len && n <= len - off; }

static char *str_at(const uint8_t *buf, size_t len, uint64_t off, uint64_t max)
{
    if (off >= len) return NULL;
    uint64_t lim = len - off < max ? len - off : max;
    const uint8_t *z = memchr(buf + off, 0, (size_t)lim);
    if (!z) return NULL;
    return strndup((const char *)buf + off, (size_t)(z - (buf + off)));
}

static int add_str(char ***v, size_t *n, char *s)
{
    char **nv = realloc(*v, (*n + 1) * sizeof *nv);
    if (!nv) {
        free(s);
        return -1;
    }
    *v = nv;
    nv[(*n)++] = s;
    return 0;
}

void enclave_elf_deps_free(initra_elf_deps *d)
{
    free(d->interp);
    for (size_t i = 0; i < d->n_needed; i++) free(d->needed[i]);
    free(d->needed);
    for (size_t i = 0; i < d->n_runpath; i++) free(d->runpath[i]);
    free(d->runpath);
    memset(d, 0, sizeof *d);
}

int enclave_elf_parse_deps(const uint8_t *buf, size_t len, initra_elf_deps *d, initra_err *err)
{
    memset(d, 0, sizeof *d);
    if (len < 64 || !enclave_is_elf(buf, len)) return initra_fail(err, "not an ELF file");
    if (buf[4] != 2 || buf[5] != 1) return initra_fail(err, "only 64-bit little-endian ELF is supported (class %u, data %u)", buf[4], buf[5]);
    d->machine = initra_le16(buf + 18);
    uint64_t phoff = initra_le64(buf + 32);
    uint16_t phentsize = initra_le16(buf + 54), phnum = initra_le16(buf + 56);
    if (phnum == 0) return 0;
    if (phentsize < 56) return initra_fail(err, "ELF program header size %u is below 56", phentsize);
    if (!in_bounds(phoff, (uint64_t)phentsize * phnum, len))
        return initra_fail(err, "ELF program headers (offset %llu, %u x %u bytes) run past the end",
                           (unsigned long long)phoff, phnum, phentsize);
    struct { uint64_t vaddr, off, filesz; } loads[MAX_LOADS];
    int nloads = 0;
    uint64_t dyn_off = 0, dyn_size = 0;
    int have_dyn = 0;
    for (unsigned i = 0; i < phnum; i++) {
        const uint8_t *p = buf + phoff + (uint64_t)i * phentsize;
        uint32_t type = initra_le32(p);
        uint64_t off = initra_le64(p + 8), vaddr = initra_le64(p + 16), filesz = initra_le64(p + 32);
        if (type == PT_LOAD_ && nloads < MAX_LOADS) {
            loads[nloads].vaddr = vaddr;
            loads[nloads].off = off;
            loads[nloads].filesz = filesz;
            nloads++;
        } else if (type == PT_INTERP_ && !d->interp) {
            if (!in_bounds(off, filesz, len)) goto bad_seg;
            d->interp = str_at(buf, len, off, filesz);
            if (!d->interp || !d->interp[0]) {
                enclave_elf_deps_free(d);
                return initra_fail(err, "ELF PT_INTERP is not a NUL-terminated path");
            }
        } else if (type == PT_DYNAMIC_ && !have_dyn) {
            if (!in_bounds(off, filesz, len)) goto bad_seg;
            dyn_off = off;
            dyn_size = filesz;
            have_dyn = 1;
        }
    }
    if (!have_dyn) return 0;
    uint64_t strtab = 0, strsz = 0;
    int have_strtab = 0;
    for (uint64_t o = 0; o + 16 <= dyn_size; o += 16) {
        int64_t tag = (int64_t)initra_le64(buf + dyn_off + o);
        uint64_t val = initra_le64(buf + dyn_off + o + 8);
        if (tag == 0) break;
        if (tag == DT_STRTAB_) {
            strtab = val;
            have_strtab = 1;
        } else if (tag == DT_STRSZ_) {
            strsz = val;
        }
    }
    if (!have_strtab) return 0;
    uint64_t str_off = 0;
    int mapped = 0;
    for (int i = 0; i < nloads; i++)
        if (strtab >= loads[i].vaddr && strtab - loads[i].vaddr < loads[i].filesz) {
            str_off = loads[i].off + (strtab - loads[i].vaddr);
            mapped = 1;
            break;
        }
    if (!mapped || str_off >= len) {
        enclave_elf_deps_free(d);
        return initra_fail(err, "ELF DT_STRTAB 0x%llx is not inside a loaded segment of the file", (unsigned long long)strtab);
    }
    if (strsz == 0 || strsz > len - str_off) strsz = len - str_off;
    for (uint64_t o = 0; o + 16 <= dyn_size; o += 16) {
        int64_t tag = (int64_t)initra_le64(buf + dyn_off + o);
        uint64_t val = initra_le64(buf + dyn_off + o + 8);
        if (tag == 0) break;
        if (tag != DT_NEEDED_ && tag != DT_RPATH_ && tag != DT_RUNPATH_) continue;
        if (val >= strsz) {
            enclave_elf_deps_free(d);
            return initra_fail(err, "ELF dynamic string offset %llu is past the string table (%llu bytes)",
                               (unsigned long long)val, (unsigned long long)strsz);
        }
        char *s = str_at(buf, len, str_off + val, strsz - val);
        if (!s) {
            enclave_elf_deps_free(d);
            return initra_fail(err, "ELF dynamic string at %llu is not NUL-terminated", (unsigned long long)val);
        }
        if (tag == DT_NEEDED_) {
            if (d->n_needed >= MAX_NEEDED || !s[0]) {
                free(s);
                enclave_elf_deps_free(d);
                return initra_fail(err, "ELF DT_NEEDED entry empty or too many");
            }
            if (add_str(&d->needed, &d->n_needed, s)) {
                enclave_elf_deps_free(d);
                return initra_fail(err, "out of memory");
            }
        } else {
            char *save = NULL;
            for (char *tok = strtok_r(s, ":", &save); tok; tok = strtok_r(NULL, ":", &save)) {
                char *c = strdup(tok);
                if (!c || d->n_runpath >= MAX_NEEDED || add_str(&d->runpath, &d->n_runpath, c)) {
                    free(s);
                    enclave_elf_deps_free(d);
                    return initra_fail(err, "ELF run path: too many entries or out of memory");
                }
            }
            free(s);
        }
    }
    return 0;
bad_seg:
    enclave_elf_deps_free(d);
    return initra_fail(err, "ELF segment runs past the end of the file");
}

/* ---------------- copying dependencies into an image ---------------- */

typedef struct {
    char **v;
    size_t n;
} strset;

static int strset_has(const strset *s, const char *x)
{
    for (size_t i = 0; i < s->n; i++)
        if (!strcmp(s->v[i], x)) return 1;
    return 0;
}

static int strset_add(strset *s, const char *x)
{
    char *c = strdup(x);
    return c ? add_str(&s->v, &s->n, c) : -1;
}

static void strset_free(strset *s)
{
    for (size_t i = 0; i < s->n; i++) free(s->v[i]);
    free(s->v);
}

static const char *triplet(uint16_t machine)
{
    switch (machine) {
    case 62: return "x86_64-linux-gnu";
    case 183: return "aarch64-linux-gnu";
    case 243: return "riscv64-linux-gnu";
    default: return NULL;
    }
}

/* The loader's default directories for a machine (searched in the image and on the host). */
static size_t default_dirs(uint16_t machine, char out[][64], size_t max)
{
    size_t n = 0;
    const char *t = triplet(machine);
    if (t && n + 2 <= max) {
        snprintf(out[n++], 64, "/lib/%s", t);
        snprintf(out[n++], 64, "/usr/lib/%s", t);
    }
    const char *rest[] = {"/lib64", "/usr/lib64", "/lib", "/usr/lib"};
    for (size_t i = 0; i < 4 && n < max; i++) snprintf(out[n++], 64, "%s", rest[i]);
    return n;
}

/* Host library directories from /etc/ld.so.conf.d/ (plain directory lines). */
static void host_conf_dirs(strset *s)
{
    glob_t g;
    if (glob("/etc/ld.so.conf.d/*.conf", 0, NULL, &g) != 0) return;
    for (size_t i = 0; i < g.gl_pathc; i++) {
        FILE *f = fopen(g.gl_pathv[i], "r");
        if (!f) continue;
        char line[PATH_MAX];
        while (fgets(line, sizeof line, f)) {
            line[strcspn(line, " \t\r\n#")] = 0;
            if (line[0] == '/' && !strset_has(s, line)) strset_add(s, line);
        }
        fclose(f);
    }
    globfree(&g);
}

/* 1 if the file at path is an ELF of the given machine and 64-bit class. */
static int elf_matches(const char *path, uint16_t machine)
{
    FILE *f = fopen(path, "rb");
    if (!f) return 0;
    uint8_t h[20];
    size_t n = fread(h, 1, sizeof h, f);
    fclose(f);
    return n == sizeof h && enclave_is_elf(h, n) && h[4] == 2 && h[5] == 1 && initra_le16(h + 18) == machine;
}

static int exists_in(const char *image, const char *rel)
{
    char p[PATH_MAX];
    struct stat st;
    if ((size_t)snprintf(p, sizeof p, "%s%s", image, rel) >= sizeof p) return 0;
    return lstat(p, &st) == 0;
}

typedef struct {
    const char *image;
    void (*note)(const char *);
    strset queue;   /* image paths still to scan (relative, "/...") */
    strset scanned;
    strset host_dirs;
} deps_ctx;

/* Copies host file `host` into the image at `rel`, creating parents; queues it for scanning. */
static int copy_in(deps_ctx *c, const char *host, const char *rel, initra_err *err)
{
    char dst[PATH_MAX], parent[PATH_MAX];
    if (enc_join(c->image, rel, dst, sizeof dst, err)) return -1;
    snprintf(parent, sizeof parent, "%s", dst);
    char *slash = strrchr(parent, '/');
    if (slash) *slash = 0;
    if (initra_mkdir_p(parent, 0755, err)) return -1;
    struct stat st;
    if (stat(host, &st) != 0) return initra_fail(err, "%s: cannot stat: %s", host, strerror(errno));
    int changed;
    if (enc_copy_file(host, dst, (st.st_mode & 0111) ? 0755 : 0644, &changed, err)) return -1;
    if (c->note && changed) {
        char msg[PATH_MAX * 2 + 32];
        const char *base = strrchr(c->image, '/');
        snprintf(msg, sizeof msg, "copied %s -> %s%s", host, base ? base + 1 : c->image, rel);
        c->note(msg);
    }
    if (!strset_has(&c->scanned, rel) && !strset_has(&c->queue, rel)) return strset_add(&c->queue, rel);
    return 0;
}

static int resolve_needed(deps_ctx *c, const char *who, const initra_elf_deps *d, const char *name, initra_err *err)
{
    char dirs[8][64];
    size_t nd = default_dirs(d->machine, dirs, 8);
    char rel[PATH_MAX];
    /* Already in the image: its run path (absolute entries), then the default directories. */
    for (size_t i = 0; i < d->n_runpath + nd; i++) {
        const char *dir = i < d->n_runpath ? d->runpath[i] : dirs[i - d->n_runpath];
        if (dir[0] != '/') continue;
        if ((size_t)snprintf(rel, sizeof rel, "%s/%s", dir, name) >= sizeof rel) continue;
        if (exists_in(c->image, rel)) {
            if (!strset_has(&c->scanned, rel) && !strset_has(&c->queue, rel) && strset_add(&c->queue, rel))
                return initra_fail(err, "out of memory");
            return 0;
        }
    }
    /* On the host: run path, default directories (copied to the same place), ld.so.conf directories
     * (copied into the first default directory, where the enclave's loader looks). */
    size_t total = d->n_runpath + nd + c->host_dirs.n;
    for (size_t i = 0; i < total; i++) {
        const char *dir = i < d->n_runpath ? d->runpath[i]
                          : i < d->n_runpath + nd ? dirs[i - d->n_runpath]
                                                  : c->host_dirs.v[i - d->n_runpath - nd];
        if (dir[0] != '/') continue;
        char host[PATH_MAX];
        if ((size_t)snprintf(host, sizeof host, "%s/%s", dir, name) >= sizeof host) continue;
        if (!elf_matches(host, d->machine)) continue;
        const char *dest_dir = i < d->n_runpath + nd ? dir : dirs[0];
        snprintf(rel, sizeof rel, "%s/%s", dest_dir, name);
        return copy_in(c, host, rel, err);
    }
    return initra_fail(err, "image%s needs %s, found neither in the image nor on the host (%s, %s, ...); "
                            "install it on the host or copy it into image%s/",
                       who, name, dirs[0], dirs[1], dirs[0]);
}

static int scan(deps_ctx *c, const char *rel, initra_err *err)
{
    char full[PATH_MAX];
    if (enc_join(c->image, rel, full, sizeof full, err)) return -1;
    struct stat st;
    if (lstat(full, &st) != 0 || !S_ISREG(st.st_mode)) return 0;
    uint8_t *buf;
    size_t n;
    if (initra_read_file(full, (size_t)1 << 31, &buf, &n, err)) return -1;
    if (!enclave_is_elf(buf, n)) {
        free(buf);
        return 0;
    }
    initra_elf_deps d;
    int rc = enclave_elf_parse_deps(buf, n, &d, err);
    free(buf);
    if (rc) return initra_fail_prefix(err, "%s", full);
    if (d.interp && d.interp[0] == '/' && !exists_in(c->image, d.interp)) {
        if (!elf_matches(d.interp, d.machine))
            rc = initra_fail(err, "image%s needs the dynamic loader %s, which this host does not have; "
                                  "copy it into the image", rel, d.interp);
        else
            rc = copy_in(c, d.interp, d.interp, err);
    }
    for (size_t i = 0; i < d.n_needed && rc == 0; i++) {
        if (strchr(d.needed[i], '/')) continue; /* a path: the user placed it */
        rc = resolve_needed(c, rel, &d, d.needed[i], err);
    }
    enclave_elf_deps_free(&d);
    return rc;
}

int enc_copy_elf_deps(const char *image, void (*note)(const char *), initra_err *err)
{
    deps_ctx c = {.image = image, .note = note};
    enc_tree t;
    if (enc_walk(image, &t, err)) return -1;
    int rc = 0;
    for (size_t i = 0; i < t.n && rc == 0; i++) {
        const enc_entry *e = &t.v[i];
        if (S_ISREG(e->st.st_mode) && ((e->st.st_mode & 0111) || strstr(e->path, ".so")))
            rc = strset_add(&c.queue, e->path) ? initra_fail(err, "out of memory") : 0;
    }
    enc_tree_free(&t);
    host_conf_dirs(&c.host_dirs);
    while (rc == 0 && c.queue.n > 0) {
        char *rel = c.queue.v[--c.queue.n];
        if (!strset_has(&c.scanned, rel)) {
            rc = strset_add(&c.scanned, rel) ? initra_fail(err, "out of memory") : scan(&c, rel, err);
        }
        free(rel);
    }
    strset_free(&c.queue);
    strset_free(&c.scanned);
    strset_free(&c.host_dirs);
    return rc;
}
