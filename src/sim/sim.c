/* The simulated SGX platform: its directory, creation under a lock, the dated collateral's refresh, and
 * DCAP v3 quotes signed through the sim PCK chain. Layout of the directory (mode 0700):
 *   root.key root.pem root.der          sim SGX Root CA (self-signed)
 *   pck_ca.key pck_ca.pem               sim SGX PCK Processor CA (issued by the root)
 *   pck.key pck.pem                     sim SGX PCK Certificate with the SGX extension (issued by the CA)
 *   tcb_signing.key tcb_signing.pem     sim SGX TCB Signing (issued by the root)
 *   attest.key                          the QE attestation key
 *   root_ca_crl.der pck_crl.der tcb_info.json qe_identity.json collateral.json   dated collateral
 *   seal_secret                         32 random bytes, the root of the platform's seal keys (seal.c)
 *   platform.json                       settings and dates; written last, so its presence = complete
 *   .lock                               flock for creation, rebuild and refresh
 * Keys are 0600, everything else 0644 inside the 0700 directory. */
#include "initra/sim.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/rand.h>

#include "sim/internal.h"

#define STATE_FILE "platform.json"
#define QE_AUTH_SIZE 32

struct initra_sim {
    EVP_PKEY *attest_key, *pck_key;
    uint8_t attest_xy[64];
    initra_pck_ext pck;      /* the platform's PPID, TCB, FMSPC */
    uint16_t qe_svn;
    initra_sgx_report_body qe_report;
    uint8_t qe_report_sig[64];
    uint8_t qe_auth[QE_AUTH_SIZE];
    char *chain;             /* PEM: PCK leaf, Processor CA, root */
    size_t chain_len;
    uint8_t *root_der;
    size_t root_der_len;
    char *collateral;
    uint8_t seal_secret[SIM_SEAL_SECRET_SIZE];
};

int initra_sim_dir(char *buf, size_t n, initra_err *err)
{
    const char *env = getenv("INITRA_SIM_DIR");
    int w;
    if (env && *env) {
        w = snprintf(buf, n, "%s", env);
    } else {
        const char *home = getenv("HOME");
        if (!home || !*home) {
            struct passwd *pw = getpwuid(getuid());
            home = pw ? pw->pw_dir : NULL;
        }
        if (!home) return initra_fail(err, "sim: neither INITRA_SIM_DIR nor HOME is set; set INITRA_SIM_DIR");
        w = snprintf(buf, n, "%s/.local/share/initra/sim", home);
    }
    if (w < 0 || (size_t)w >= n) return initra_fail(err, "sim: platform directory path is too long");
    return 0;
}

/* Creates dir (0700; missing parents 0755) or tightens an existing one to 0700. */
static int ensure_dir(const char *dir, initra_err *err)
{
    struct stat st;
    if (stat(dir, &st) == 0) {
        if (!S_ISDIR(st.st_mode)) return initra_fail(err, "%s: exists and is not a directory (the sim platform's)", dir);
        if ((st.st_mode & 077) && chmod(dir, 0700) != 0)
            return initra_fail(err, "%s: cannot restrict the sim platform directory to mode 0700: %s", dir, strerror(errno));
        return 0;
    }
    char parent[PATH_MAX];
    snprintf(parent, sizeof parent, "%s", dir);
    char *slash = strrchr(parent, '/');
    while (slash && slash > parent && slash[1] == 0) { /* trailing slashes */
        *slash = 0;
        slash = strrchr(parent, '/');
    }
    if (slash && slash > parent) {
        *slash = 0;
        if (initra_mkdir_p(parent, 0755, err)) return -1;
    }
    if (mkdir(dir, 0700) != 0 && errno != EEXIST)
        return initra_fail(err, "%s: cannot create the sim platform directory: %s", dir, strerror(errno));
    return 0;
}

static int lock_dir(const char *dir, initra_err *err)
{
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/.lock", dir);
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) return initra_fail(err, "%s: cannot open the sim platform lock: %s", path, strerror(errno));
    while (flock(fd, LOCK_EX) != 0) {
        if (errno != EINTR) {
            int e = errno;
            close(fd);
            return initra_fail(err, "%s: cannot lock: %s", path, strerror(e));
        }
    }
    return fd;
}

static void unlock_dir(int fd)
{
    if (fd >= 0) close(fd); /* releases the flock */
}

static int write_in(const char *dir, const char *name, const void *data, size_t n, unsigned mode, initra_err *err)
{
    char path[PATH_MAX];
    if (snprintf(path, sizeof path, "%s/%s", dir, name) >= (int)sizeof path)
        return initra_fail(err, "%s: path too long", dir);
    return initra_write_file_atomic(path, data, n, mode, err);
}

static int read_in(const char *dir, const char *name, uint8_t **out, size_t *n, initra_err *err)
{
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    if (initra_read_file(path, INITRA_MAX_CONFIG, out, n, err))
        return initra_fail_prefix(err, "sim platform incomplete (run `initra sim init` to rebuild it)");
    return 0;
}

static int write_key(const char *dir, const char *name, EVP_PKEY *key, initra_err *err)
{
    char *pem;
    size_t n;
    if (sim_key_pem(key, &pem, &n, err)) return -1;
    int rc = write_in(dir, name, pem, n, 0600, err);
    initra_free_secret(pem, n);
    return rc;
}

static int write_cert(const char *dir, const char *name, X509 *c, initra_err *err)
{
    char *pem;
    size_t n;
    if (sim_cert_pem(c, &pem, &n, err)) return -1;
    int rc = write_in(dir, name, pem, n, 0644, err);
    free(pem);
    return rc;
}

void sim_pki_free(sim_pki *k)
{
    X509_free(k->root);
    X509_free(k->pck_ca);
    X509_free(k->pck);
    X509_free(k->tcb);
    EVP_PKEY_free(k->root_key);
    EVP_PKEY_free(k->pck_ca_key);
    EVP_PKEY_free(k->pck_key);
    EVP_PKEY_free(k->tcb_key);
    EVP_PKEY_free(k->attest_key);
    memset(k, 0, sizeof *k);
}

/* ---- state (platform.json) ---- */

static json_t *state_load(const char *dir, int *missing, initra_err *err)
{
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/" STATE_FILE, dir);
    *missing = 0;
    if (access(path, F_OK) != 0 && errno == ENOENT) {
        *missing = 1;
        return NULL;
    }
    json_error_t je;
    json_t *s = json_load_file(path, 0, &je);
    if (!s || !json_is_object(s) || !json_is_string(json_object_get(s, "tcb_status")) ||
        !json_is_array(json_object_get(s, "advisories")) || !json_is_integer(json_object_get(s, "next_update")) ||
        !json_is_integer(json_object_get(s, "issued")) || !json_is_integer(json_object_get(s, "qe_svn")) ||
        !json_is_integer(json_object_get(s, "crl_number")) ||
        !json_is_integer(json_object_get(s, "tcb_evaluation_data_number"))) {
        json_decref(s);
        initra_fail(err, "%s: not a sim platform state file (%s); run `initra sim init` to rebuild the platform", path,
                    s ? "missing fields" : je.text);
        return NULL;
    }
    return s;
}

static sim_dated state_dated(json_t *s, time_t now)
{
    sim_dated d = {
        .now = now,
        .status = json_string_value(json_object_get(s, "tcb_status")),
        .advisories = json_object_get(s, "advisories"),
        .tcb_eval = (long)json_integer_value(json_object_get(s, "tcb_evaluation_data_number")),
        .crl_number = (long)json_integer_value(json_object_get(s, "crl_number")),
        .qe_svn = (int)json_integer_value(json_object_get(s, "qe_svn")),
    };
    return d;
}

/* Issues and writes the dated collateral for state s at `now`, then the updated state file. */
static int write_dated(const char *dir, json_t *s, const sim_pki *k, time_t now, initra_err *err)
{
    sim_collateral c;
    sim_dated d = state_dated(s, now);
    if (sim_check_status(d.status, err)) return initra_fail_prefix(err, "%s/" STATE_FILE, dir);
    if (sim_collateral_make(&d, k, &c, err)) return -1;
    int rc = write_in(dir, "root_ca_crl.der", c.root_crl, c.root_crl_len, 0644, err);
    if (rc == 0) rc = write_in(dir, "pck_crl.der", c.pck_crl, c.pck_crl_len, 0644, err);
    if (rc == 0) rc = write_in(dir, "tcb_info.json", c.tcb_info, strlen(c.tcb_info), 0644, err);
    if (rc == 0) rc = write_in(dir, "qe_identity.json", c.qe_identity, strlen(c.qe_identity), 0644, err);
    if (rc == 0) rc = write_in(dir, "collateral.json", c.bundle, strlen(c.bundle), 0644, err);
    sim_collateral_free(&c);
    if (rc) return -1;
    json_object_set_new(s, "issued", json_integer((json_int_t)now));
    json_object_set_new(s, "next_update", json_integer((json_int_t)(now + SIM_COLLATERAL_DAYS * 86400L)));
    char *text = json_dumps(s, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    if (!text) return initra_fail(err, "out of memory");
    rc = write_in(dir, STATE_FILE, text, strlen(text), 0644, err);
    free(text);
    return rc;
}

/* Builds a complete platform in dir (the caller holds the lock). */
static int build(const char *dir, const char *status, json_t *advisories, time_t now, initra_err *err)
{
    sim_pki k = {0};
    initra_pck_ext ext = {0};
    uint8_t *ext_der = NULL, *root_der = NULL;
    size_t ext_len = 0, root_len = 0;
    int rc = -1;
    if (RAND_bytes(ext.ppid, sizeof ext.ppid) != 1) {
        initra_fail(err, "sim: no randomness for the PPID");
        goto out;
    }
    memcpy(ext.comp_svn, SIM_COMP_SVN, 16);
    memcpy(ext.cpu_svn, SIM_COMP_SVN, 16);
    ext.pce_svn = SIM_PCE_SVN;
    ext.sgx_type = INITRA_SGX_TYPE_STANDARD;
    initra_unhex(SIM_FMSPC_HEX, ext.fmspc, 6);
    if (!(k.root_key = sim_keygen(err)) || !(k.pck_ca_key = sim_keygen(err)) || !(k.pck_key = sim_keygen(err)) ||
        !(k.tcb_key = sim_keygen(err)) || !(k.attest_key = sim_keygen(err)))
        goto out;
    if (initra_pck_ext_encode(&ext, &ext_der, &ext_len, err)) goto out;
    k.root = sim_cert_issue(k.root_key, "initra sim SGX Root CA", SIM_CERT_ROOT, NULL, NULL, NULL, 0, now,
                            SIM_CERT_DAYS_ROOT, err);
    if (k.root)
        k.pck_ca = sim_cert_issue(k.pck_ca_key, "initra sim SGX PCK Processor CA", SIM_CERT_CA, k.root, k.root_key,
                                  NULL, 0, now, SIM_CERT_DAYS_CA, err);
    if (k.pck_ca)
        k.pck = sim_cert_issue(k.pck_key, "initra sim SGX PCK Certificate", SIM_CERT_LEAF, k.pck_ca, k.pck_ca_key,
                               ext_der, ext_len, now, SIM_CERT_DAYS_LEAF, err);
    if (k.pck)
        k.tcb = sim_cert_issue(k.tcb_key, "initra sim SGX TCB Signing", SIM_CERT_LEAF, k.root, k.root_key, NULL, 0,
                               now, SIM_CERT_DAYS_LEAF, err);
    if (!k.tcb || sim_cert_der(k.root, &root_der, &root_len, err)) goto out;
    /* An old state file must not survive a partial rebuild: remove it first. */
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/" STATE_FILE, dir);
    if (unlink(path) != 0 && errno != ENOENT) {
        initra_fail(err, "%s: cannot remove: %s", path, strerror(errno));
        goto out;
    }
    if (write_key(dir, "root.key", k.root_key, err) || write_key(dir, "pck_ca.key", k.pck_ca_key, err) ||
        write_key(dir, "pck.key", k.pck_key, err) || write_key(dir, "tcb_signing.key", k.tcb_key, err) ||
        write_key(dir, "attest.key", k.attest_key, err) || write_cert(dir, "root.pem", k.root, err) ||
        write_in(dir, "root.der", root_der, root_len, 0644, err) || write_cert(dir, "pck_ca.pem", k.pck_ca, err) ||
        write_cert(dir, "pck.pem", k.pck, err) || write_cert(dir, "tcb_signing.pem", k.tcb, err) ||
        sim_seal_secret_make(dir, err))
        goto out;
    json_t *s = json_object();
    json_object_set_new(s, "format", json_integer(1));
    json_object_set_new(s, "tcb_status", json_string(status));
    json_object_set(s, "advisories", advisories);
    json_object_set_new(s, "qe_svn", json_integer(SIM_QE_SVN));
    json_object_set_new(s, "tcb_evaluation_data_number", json_integer(1));
    json_object_set_new(s, "crl_number", json_integer(1));
    json_object_set_new(s, "issued", json_integer(0));
    json_object_set_new(s, "next_update", json_integer(0));
    rc = write_dated(dir, s, &k, now, err);
    json_decref(s);
out:
    OPENSSL_free(ext_der);
    free(root_der);
    sim_pki_free(&k);
    return rc;
}

/* Re-issues CRLs, TCB info and QE identity with the same keys and settings. */
static int refresh(const char *dir, json_t *s, time_t now, initra_err *err)
{
    sim_pki k = {0};
    int rc = -1;
    if ((k.root_key = sim_load_key(dir, "root.key", err)) && (k.root = sim_load_cert(dir, "root.pem", err)) &&
        (k.pck_ca_key = sim_load_key(dir, "pck_ca.key", err)) && (k.pck_ca = sim_load_cert(dir, "pck_ca.pem", err)) &&
        (k.pck = sim_load_cert(dir, "pck.pem", err)) && (k.tcb_key = sim_load_key(dir, "tcb_signing.key", err)) &&
        (k.tcb = sim_load_cert(dir, "tcb_signing.pem", err))) {
        json_object_set_new(s, "crl_number", json_integer(json_integer_value(json_object_get(s, "crl_number")) + 1));
        rc = write_dated(dir, s, &k, now, err);
    }
    sim_pki_free(&k);
    return rc;
}

int initra_sim_check_opts(const initra_sim_init_opts *opts, initra_err *err)
{
    if (sim_check_status(opts && opts->tcb_status ? opts->tcb_status : "UpToDate", err)) return -1;
    json_t *adv = sim_parse_advisories(opts ? opts->advisories : NULL, err);
    json_decref(adv);
    return adv ? 0 : -1;
}

int initra_sim_init(const char *dir, const initra_sim_init_opts *opts, initra_err *err)
{
    const char *status = opts && opts->tcb_status ? opts->tcb_status : "UpToDate";
    if (sim_check_status(status, err)) return initra_fail_prefix(err, "sim init");
    json_t *adv = sim_parse_advisories(opts ? opts->advisories : NULL, err);
    if (!adv) return initra_fail_prefix(err, "sim init");
    int rc = ensure_dir(dir, err), fd = -1;
    if (rc == 0) rc = fd = lock_dir(dir, err);
    if (rc >= 0) rc = build(dir, status, adv, opts && opts->issued_at ? opts->issued_at : time(NULL), err);
    unlock_dir(fd);
    json_decref(adv);
    return rc < 0 ? -1 : 0;
}

/* ---- opening and quoting ---- */

void initra_sim_close(initra_sim *sim)
{
    if (!sim) return;
    EVP_PKEY_free(sim->attest_key);
    EVP_PKEY_free(sim->pck_key);
    free(sim->chain);
    free(sim->root_der);
    free(sim->collateral);
    initra_zero(sim, sizeof *sim);
    free(sim);
}

static int cat_files(const char *dir, const char *const *names, size_t count, char **out, size_t *len, initra_err *err)
{
    char *acc = NULL;
    size_t n = 0;
    for (size_t i = 0; i < count; i++) {
        uint8_t *buf;
        size_t m;
        if (read_in(dir, names[i], &buf, &m, err)) {
            free(acc);
            return -1;
        }
        char *na = realloc(acc, n + m + 1);
        if (!na) {
            free(buf);
            free(acc);
            return initra_fail(err, "out of memory");
        }
        acc = na;
        memcpy(acc + n, buf, m);
        n += m;
        acc[n] = 0;
        free(buf);
    }
    *out = acc;
    *len = n;
    return 0;
}

/* Loads what quoting needs (the caller holds the lock). */
static int load(initra_sim *sim, const char *dir, json_t *s, initra_err *err)
{
    static const char *const chain[] = {"pck.pem", "pck_ca.pem", "root.pem"};
    size_t n;
    uint8_t *coll;
    X509 *pck = sim_load_cert(dir, "pck.pem", err);
    int rc = pck ? initra_pck_ext_from_cert(pck, &sim->pck, err) : -1;
    X509_free(pck);
    if (rc) return initra_fail_prefix(err, "%s/pck.pem", dir);
    if (!(sim->attest_key = sim_load_key(dir, "attest.key", err)) || !(sim->pck_key = sim_load_key(dir, "pck.key", err)) ||
        cat_files(dir, chain, 3, &sim->chain, &sim->chain_len, err) ||
        read_in(dir, "root.der", &sim->root_der, &sim->root_der_len, err) || read_in(dir, "collateral.json", &coll, &n, err))
        return -1;
    sim->collateral = (char *)coll;
    if (sim_seal_secret_load(dir, sim->seal_secret, err)) return -1;
    sim->qe_svn = (uint16_t)json_integer_value(json_object_get(s, "qe_svn"));
    return 0;
}

/* The QE's report: a sim QE identity matching qe_identity.json, report_data binding the attestation key
 * and QE auth data, signed by the PCK key. Fixed for the life of the handle. */
static int make_qe_report(initra_sim *sim, initra_err *err)
{
    initra_sgx_report_body *r = &sim->qe_report;
    uint8_t raw[INITRA_SGX_REPORT_BODY_SIZE], bind[64 + QE_AUTH_SIZE];
    memset(r, 0, sizeof *r);
    for (int i = 0; i < QE_AUTH_SIZE; i++) sim->qe_auth[i] = (uint8_t)i; /* as Intel's QE fills it */
    if (sim_pubkey_xy(sim->attest_key, sim->attest_xy, err)) return -1;
    memcpy(r->cpu_svn, sim->pck.cpu_svn, 16);
    r->misc_select = 0;
    r->attributes.flags = SIM_QE_ATTR_FLAGS;
    r->attributes.xfrm = SIM_QE_ATTR_XFRM;
    initra_unhex(SIM_QE_MRENCLAVE_HEX, r->mr_enclave, 32);
    initra_unhex(SIM_QE_MRSIGNER_HEX, r->mr_signer, 32);
    r->isv_prod_id = SIM_QE_PROD_ID;
    r->isv_svn = sim->qe_svn;
    memcpy(bind, sim->attest_xy, 64);
    memcpy(bind + 64, sim->qe_auth, QE_AUTH_SIZE);
    unsigned int dl = 0;
    if (EVP_Digest(bind, sizeof bind, r->report_data, &dl, EVP_sha256(), NULL) != 1 || dl != 32)
        return initra_fail(err, "sim: SHA-256 failed");
    initra_sgx_report_body_encode(r, raw);
    return sim_sign_rs(sim->pck_key, raw, sizeof raw, sim->qe_report_sig, err);
}

initra_sim *initra_sim_open(const char *dir, initra_err *err)
{
    initra_sim *sim = calloc(1, sizeof *sim);
    if (!sim) {
        initra_fail(err, "out of memory");
        return NULL;
    }
    int fd = -1, missing = 0, rc = ensure_dir(dir, err);
    json_t *s = NULL;
    time_t now = time(NULL);
    if (rc == 0) rc = fd = lock_dir(dir, err);
    if (rc >= 0) {
        s = state_load(dir, &missing, err);
        if (missing) {
            json_t *none = json_array();
            rc = build(dir, "UpToDate", none, now, err);
            json_decref(none);
            if (rc == 0) s = state_load(dir, &missing, err);
        }
        if (!s) rc = -1;
    }
    if (rc >= 0) {
        json_int_t issued = json_integer_value(json_object_get(s, "issued"));
        json_int_t next = json_integer_value(json_object_get(s, "next_update"));
        if ((json_int_t)now < issued || next - (json_int_t)now < SIM_REFRESH_DAYS * 86400L) rc = refresh(dir, s, now, err);
    }
    if (rc >= 0) rc = load(sim, dir, s, err);
    unlock_dir(fd);
    json_decref(s);
    if (rc >= 0) rc = make_qe_report(sim, err);
    if (rc < 0) {
        initra_sim_close(sim);
        return NULL;
    }
    return sim;
}

int initra_sim_quote(initra_sim *sim, const initra_sgx_report_body *identity, const uint8_t report_data[64],
                     uint8_t **quote, size_t *len, initra_err *err)
{
    initra_quote q;
    uint8_t hb[INITRA_QUOTE_HEADER_SIZE + INITRA_SGX_REPORT_BODY_SIZE];
    memset(&q, 0, sizeof q);
    q.header.version = 3;
    q.header.att_key_type = INITRA_ATT_KEY_ECDSA_P256;
    q.header.tee_type = INITRA_TEE_SGX;
    q.header.qe_svn = sim->qe_svn;
    q.header.pce_svn = sim->pck.pce_svn;
    memcpy(q.header.qe_vendor_id, INITRA_QE_VENDOR_SIM, 16);
    memcpy(q.header.user_data, sim->pck.ppid, 16); /* the platform id; bytes 16..19 zero */
    q.enclave = *identity;
    memcpy(q.enclave.cpu_svn, sim->pck.cpu_svn, 16);
    memcpy(q.enclave.report_data, report_data, 64);
    initra_quote_header_encode(&q.header, hb);
    initra_sgx_report_body_encode(&q.enclave, hb + INITRA_QUOTE_HEADER_SIZE);
    if (sim_sign_rs(sim->attest_key, hb, sizeof hb, q.signature, err)) return -1;
    memcpy(q.attest_key, sim->attest_xy, 64);
    q.qe_report = sim->qe_report;
    memcpy(q.qe_report_sig, sim->qe_report_sig, 64);
    q.qe_auth_data = sim->qe_auth;
    q.qe_auth_size = QE_AUTH_SIZE;
    q.cert_type = INITRA_CERT_TYPE_PCK_CHAIN;
    q.cert_data = (const uint8_t *)sim->chain;
    q.cert_size = (uint32_t)sim->chain_len;
    return initra_quote_v3_encode(&q, quote, len, err);
}

int initra_sim_quoter_quote(void *quoter, const uint8_t report_data[64], uint8_t **quote, size_t *len,
                            initra_err *err)
{
    const initra_sim_quoter *q = quoter;
    return initra_sim_quote(q->sim, q->identity, report_data, quote, len, err);
}

int initra_sim_collateral(initra_sim *sim, char **json, initra_err *err)
{
    *json = strdup(sim->collateral);
    return *json ? 0 : initra_fail(err, "out of memory");
}

int initra_sim_root_der(initra_sim *sim, uint8_t **der, size_t *len, initra_err *err)
{
    *der = malloc(sim->root_der_len);
    if (!*der) return initra_fail(err, "out of memory");
    memcpy(*der, sim->root_der, sim->root_der_len);
    *len = sim->root_der_len;
    return 0;
}

int initra_sim_seal_key(initra_sim *sim, const initra_sgx_report_body *identity, const initra_seal_request *r,
                        uint8_t key[16], initra_err *err)
{
    return sim_seal_derive(sim->seal_secret, sim->pck.cpu_svn, identity, r, key, err);
}
