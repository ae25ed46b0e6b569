/* Instances: initra new (Occlum.json, image/, init_ra_conf.json) and initra build (copy, measure,
 * Enclave.xml, SIGSTRUCT). */
#include "enclave/internal.h"
#include "initra/attest.h"

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

int initra_instance_path(const char *dir, const char *rel, char *out, size_t n, initra_err *err)
{
    if ((size_t)snprintf(out, n, "%s/%s", dir, rel) >= n) return initra_fail(err, "%s/%s: path too long", dir, rel);
    return 0;
}

static int is_empty_dir(const char *path)
{
    DIR *d = opendir(path);
    if (!d) return 0;
    struct dirent *e;
    int empty = 1;
    while ((e = readdir(d)))
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) empty = 0;
    closedir(d);
    return empty;
}

int initra_instance_new(const char *dir, const char *init_ra, initra_err *err)
{
    const char *tmpl = NULL;
    if (init_ra && !(tmpl = enclave_init_ra_template(init_ra)))
        return initra_fail(err, "new: init_ra '%.40s' is not a known flavour (grpc_ratls or aecs)", init_ra);
    struct stat st;
    if (stat(dir, &st) == 0 && !(S_ISDIR(st.st_mode) && is_empty_dir(dir)))
        return initra_fail(err, "new: %s already exists and is not an empty directory; choose a new path", dir);
    if (initra_mkdir_p(dir, 0755, err)) return -1;
    char p[PATH_MAX];
    if (initra_instance_path(dir, "Occlum.json", p, sizeof p, err) ||
        initra_write_file_atomic(p, INITRA_OCCLUM_JSON_TEMPLATE, strlen(INITRA_OCCLUM_JSON_TEMPLATE), 0644, err))
        return -1;
    static const char *const dirs[] = {"image/bin", "image/lib", "image/etc", "image/tmp", "image/root", "build"};
    for (size_t i = 0; i < sizeof dirs / sizeof dirs[0]; i++)
        if (initra_instance_path(dir, dirs[i], p, sizeof p, err) || initra_mkdir_p(p, 0755, err)) return -1;
    if (tmpl && (initra_instance_path(dir, "init_ra_conf.json", p, sizeof p, err) ||
                 initra_write_file_atomic(p, tmpl, strlen(tmpl), 0644, err)))
        return -1;
    return 0;
}

int initra_instance_load(const char *dir, initra_enclave_meta *m, initra_err *err)
{
    char p[PATH_MAX];
    struct stat st;
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))
        return initra_fail(err, "%s: not a directory (create an instance with `initra new %s`)", dir, dir);
    if (initra_instance_path(dir, "Occlum.json", p, sizeof p, err)) return -1;
    if (stat(p, &st) != 0)
        return initra_fail(err, "%s is not an enclave instance: %s is missing (create one with `initra new DIR`)", dir, p);
    uint8_t *text;
    size_t n;
    if (initra_read_file(p, INITRA_MAX_CONFIG, &text, &n, err)) return -1;
    int rc = enclave_occlum_json_parse((const char *)text, n, p, m, err);
    free(text);
    if (rc) return -1;
    if (initra_instance_path(dir, "image", p, sizeof p, err)) return -1;
    if (stat(p, &st) != 0 || !S_ISDIR(st.st_mode))
        return initra_fail(err, "%s is not an enclave instance: %s is not a directory (create one with `initra new DIR`)",
                           dir, p);
    return 0;
}

char *enclave_xml(const initra_enclave_meta *m)
{
    uint64_t fh = 0, fl = 0, eh = 0, el = 0;
    if (m->enable_kss) {
        fh = m->family_id_high;
        fl = m->family_id_low;
        eh = m->ext_prod_id_high;
        el = m->ext_prod_id_low;
    }
    char *out = NULL;
    if (asprintf(&out,
                 "<EnclaveConfiguration>\n"
                 "    <ProdID>%u</ProdID>\n"
                 "    <ISVSVN>%u</ISVSVN>\n"
                 "    <DisableDebug>%d</DisableDebug>\n"
                 "    <EnableKSS>%d</EnableKSS>\n"
                 "    <ISVFAMILYID_H>%" PRIu64 "</ISVFAMILYID_H>\n"
                 "    <ISVFAMILYID_L>%" PRIu64 "</ISVFAMILYID_L>\n"
                 "    <ISVEXTPRODID_H>%" PRIu64 "</ISVEXTPRODID_H>\n"
                 "    <ISVEXTPRODID_L>%" PRIu64 "</ISVEXTPRODID_L>\n"
                 "    <MiscSelect>0</MiscSelect>\n"
                 "    <MiscMask>0xFFFFFFFF</MiscMask>\n"
                 "</EnclaveConfiguration>\n",
                 m->product_id, m->version_number, m->debuggable ? 0 : 1, m->enable_kss ? 1 : 0, fh, fl, eh, el) < 0)
        return NULL;
    return out;
}

/* SIGSTRUCT DATE: BCD yyyymmdd of now (UTC), or of $SOURCE_DATE_EPOCH for reproducible builds. */
static uint32_t bcd_date(void)
{
    time_t t = time(NULL);
    const char *sde = getenv("SOURCE_DATE_EPOCH");
    uint64_t v;
    if (sde && initra_parse_uint(sde, INT32_MAX, &v) == 0) t = (time_t)v;
    struct tm tm;
    gmtime_r(&t, &tm);
    unsigned y = (unsigned)tm.tm_year + 1900, mo = (unsigned)tm.tm_mon + 1, d = (unsigned)tm.tm_mday;
    unsigned digits[8] = {y / 1000 % 10, y / 100 % 10, y / 10 % 10, y % 10, mo / 10, mo % 10, d / 10, d % 10};
    uint32_t r = 0;
    for (int i = 0; i < 8; i++) r = (r << 4) | digits[i];
    return r;
}

static void note(const initra_build_opts *o, const char *fmt, const char *a, const char *b)
{
    if (!o->note) return;
    char msg[PATH_MAX * 2 + 128];
    snprintf(msg, sizeof msg, fmt, a, b);
    o->note(msg);
}

static int write_text(const char *dir, const char *rel, const char *text, unsigned mode, initra_err *err)
{
    char p[PATH_MAX];
    return initra_instance_path(dir, rel, p, sizeof p, err) ? -1 : initra_write_file_atomic(p, text, strlen(text), mode, err);
}

/* Puts initra, /bin/init, init_ra_conf.json and the binding marker into the image. */
/* initra loads libcurl with dlopen (only a PCCS fetch needs it) by the absolute path the build found
 * (INITRA_LIBCURL_PATH), so no DT_NEEDED names it: copy it to that path in the image; the dependency
 * walk then brings its own. */
#ifndef INITRA_LIBCURL_PATH
#error "INITRA_LIBCURL_PATH is set by the Makefile"
#endif
static int stage_dlopened(const char *image, initra_err *err)
{
    char real[PATH_MAX], dst[PATH_MAX], parent[PATH_MAX];
    if (!realpath(INITRA_LIBCURL_PATH, real)) return 0; /* not installed: a PCCS fetch inside will say so */
    if (enc_join(image, INITRA_LIBCURL_PATH, dst, sizeof dst, err)) return -1;
    snprintf(parent, sizeof parent, "%s", dst);
    *strrchr(parent, '/') = 0;
    if (initra_mkdir_p(parent, 0755, err)) return -1;
    return enc_copy_file(real, dst, 0644, NULL, err);
}

static int stage_image(const char *dir, const char *image, const initra_enclave_meta *m, const initra_build_opts *o,
                       int always_init, initra_err *err)
{
    char p[PATH_MAX], conf[PATH_MAX];
    const char *self = o->self_exe ? o->self_exe : "/proc/self/exe";
    if (enc_join(image, "/bin", p, sizeof p, err) || initra_mkdir_p(p, 0755, err)) return -1;
    if (enc_join(image, "/bin/initra", p, sizeof p, err) || enc_copy_file(self, p, 0755, NULL, err)) return -1;
    if (stage_dlopened(image, err)) return -1;
    struct stat st;
    if (initra_instance_path(dir, "init_ra_conf.json", conf, sizeof conf, err)) return -1;
    int have_conf = stat(conf, &st) == 0;
    if (have_conf || always_init) {
        json_t *j;
        if (!have_conf) goto link_init;
        if (initra_json_load(conf, INITRA_MAX_CONFIG, &j, err)) return -1;
        int obj = json_is_object(j);
        json_decref(j);
        if (!obj) return initra_fail(err, "%s: the top level is not a JSON object", conf);
    link_init:
        if (enc_join(image, "/bin/init", p, sizeof p, err)) return -1;
        if (lstat(p, &st) != 0) {
            if (symlink("initra", p) != 0) return initra_fail(err, "%s: cannot create symlink: %s", p, strerror(errno));
        } else {
            char target[16] = "";
            ssize_t n = readlink(p, target, sizeof target - 1);
            if (n < 0 || strncmp(target, "initra", (size_t)n) != 0 || n != 6)
                note(o, "keeping your own image/bin/init%s%s", "", "");
        }
    }
    char etc_conf[PATH_MAX];
    if (enc_join(image, "/etc/init_ra_conf.json", etc_conf, sizeof etc_conf, err)) return -1;
    if (have_conf && m->config_binding == INITRA_BIND_MEASURED) {
        if (enc_join(image, "/etc", p, sizeof p, err) || initra_mkdir_p(p, 0755, err) ||
            enc_copy_file(conf, etc_conf, 0644, NULL, err))
            return -1;
    } else if (m->config_binding == INITRA_BIND_CONFIG_ID && lstat(etc_conf, &st) == 0) {
        if (unlink(etc_conf) != 0) return initra_fail(err, "%s: cannot remove: %s", etc_conf, strerror(errno));
        note(o, "removed image/etc/init_ra_conf.json: with config_binding \"config_id\" it is attached at launch%s%s", "", "");
    }
    if (enc_join(image, "/etc/initra", p, sizeof p, err) || initra_mkdir_p(p, 0755, err)) return -1;
    const char *binding = m->config_binding == INITRA_BIND_CONFIG_ID ? "config_id\n" : "measured\n";
    if (enc_join(image, INITRA_BINDING_FILE, p, sizeof p, err)) return -1;
    return initra_write_file_atomic(p, binding, strlen(binding), 0644, err);
}

/* --image-key FILE: Occlum's key form (what `occlum gen-image-key` writes). */
static int load_image_key(const char *path, uint8_t key[16], initra_err *err)
{
    uint8_t *buf;
    size_t n;
    if (initra_read_file(path, 4096, &buf, &n, err)) return initra_fail_prefix(err, "build: image_key");
    int rc = initra_image_key_parse(buf, n, key, err);
    initra_free_secret(buf, n);
    return rc ? initra_fail_prefix(err, "build: image_key %s", path) : 0;
}

/* Occlum's two stages (tools/occlum:432-434 copies init_ra_conf.json into initfs/etc/;
 * tools/occlum_build.mk:100,108-112 writes build/image_config.json, "encrypted" with --image-key, and
 * copies it into initfs/etc/): initra as initfs/bin/init with its libraries and both files; the image
 * keeps only the application (and its libraries); with a key, build/image_key_check. */
static int stage_two(const char *dir, const char *image, const initra_enclave_meta *m, const initra_build_opts *o,
                     initra_err *err)
{
    char initfs[PATH_MAX], p[PATH_MAX], check_path[PATH_MAX];
    uint8_t key[16], mi[32], check[32];
    if (initra_instance_path(dir, "initfs", initfs, sizeof initfs, err) ||
        initra_instance_path(dir, "build/image_key_check", check_path, sizeof check_path, err))
        return -1;
    if (o->image_key && load_image_key(o->image_key, key, err)) return -1;
    const char *conf = o->image_key ? "{\"image_type\": \"encrypted\"}\n" : "{\"image_type\": \"integrity-only\"}\n";
    int rc = -1;
    if (stage_image(dir, initfs, m, o, 1, err) || enc_copy_elf_deps(initfs, o->note, err) ||
        enc_copy_elf_deps(image, o->note, err) || initra_instance_path(dir, "build", p, sizeof p, err) ||
        initra_mkdir_p(p, 0755, err) || write_text(dir, "build/image_config.json", conf, 0644, err) ||
        write_text(dir, "initfs/etc/" INITRA_IMAGE_CONFIG_FILE, conf, 0644, err))
        goto out;
    if (!o->image_key) {
        if (unlink(check_path) != 0 && errno != ENOENT) {
            initra_fail(err, "%s: cannot remove: %s", check_path, strerror(errno));
            goto out;
        }
        rc = 0;
        goto out;
    }
    if (enclave_measure_image(image, mi, err)) goto out;
    enclave_image_key_check(key, mi, check);
    char hex[66];
    initra_hex(check, 32, hex);
    hex[64] = '\n';
    hex[65] = 0;
    rc = initra_write_file_atomic(check_path, hex, 65, 0644, err);
    note(o, "encrypted image: build/image_key_check records HMAC-SHA256 of the image under the key (not the key)%s%s",
         "", "");
out:
    initra_zero(key, sizeof key);
    return rc;
}

int initra_instance_build(const char *dir, const initra_build_opts *o, initra_err *err)
{
    initra_enclave_meta m;
    if (initra_instance_load(dir, &m, err)) return -1;
    char image[PATH_MAX], p[PATH_MAX], keypath[PATH_MAX];
    if (initra_instance_path(dir, "image", image, sizeof image, err)) return -1;
    /* Load the key first: a bad --sign-key changes nothing. */
    EVP_PKEY *key;
    if (o->sign_key) {
        key = enclave_sign_key_load(o->sign_key, err);
    } else {
        int created;
        key = enclave_dev_key_load_or_create(keypath, sizeof keypath, &created, err);
        if (key && created)
            note(o, "generated a development signing key at %s (keep it private; use --sign-key PEM for "
                    "production)%s", keypath, "");
    }
    if (!key) return -1;
    int rc = -1;
    uint8_t sig[INITRA_SIGSTRUCT_SIZE], mrsigner[32];
    initra_sigstruct s;
    char *xml = NULL;
    memset(&s, 0, sizeof s);
    if (enclave_instance_two_stage(dir)) {
        if (stage_two(dir, image, &m, o, err) || enclave_measure_two_stage(dir, s.enclave_hash, err)) goto out;
    } else {
        if (o->image_key) {
            initra_fail(err, "build: image_key needs Occlum's initfs stage: create the instance with `initra new %s "
                             "--init-ra FLAVOUR --initfs`", dir);
            goto out;
        }
        if (stage_image(dir, image, &m, o, 0, err) || enc_copy_elf_deps(image, o->note, err) ||
            enclave_measure_image(image, s.enclave_hash, err))
            goto out;
    }
    s.date = bcd_date();
    s.misc_select = 0;
    s.misc_mask = 0xFFFFFFFFu;
    s.attributes.flags = INITRA_ATTR_MODE64BIT | (m.debuggable ? INITRA_ATTR_DEBUG : 0) |
                         (m.enable_kss ? INITRA_ATTR_KSS : 0);
    s.attributes.xfrm = 0x3;
    s.attribute_mask.flags = ~0ull;
    s.attribute_mask.xfrm = ~0ull;
    s.isv_prod_id = m.product_id;
    s.isv_svn = m.version_number;
    if (m.enable_kss) {
        enclave_kss_id_bytes(m.family_id_high, m.family_id_low, s.isv_family_id);
        enclave_kss_id_bytes(m.ext_prod_id_high, m.ext_prod_id_low, s.isv_ext_prod_id);
    }
    if (enclave_sigstruct_sign(&s, key, sig, err)) goto out;
    initra_mrsigner_of_modulus(s.modulus, mrsigner);
    char hex[65];
    initra_hex(mrsigner, 32, hex);
    hex[64] = '\n';
    xml = enclave_xml(&m);
    if (!xml) {
        initra_fail(err, "out of memory");
        goto out;
    }
    if (initra_instance_path(dir, "build", p, sizeof p, err) || initra_mkdir_p(p, 0755, err) ||
        write_text(dir, "build/Enclave.xml", xml, 0644, err) ||
        initra_instance_path(dir, "build/enclave.sig", p, sizeof p, err) ||
        initra_write_file_atomic(p, sig, sizeof sig, 0644, err) ||
        initra_instance_path(dir, "build/mrsigner", p, sizeof p, err) ||
        initra_write_file_atomic(p, hex, 65, 0644, err))
        goto out;
    rc = 0;
out:
    free(xml);
    EVP_PKEY_free(key);
    return rc;
}
