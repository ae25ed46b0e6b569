/* Collateral from a PCCS or Intel PCS (API v4, v3 accepted) through libcurl, with an on-disk cache
 * keyed by (TEE, FMSPC, CA) and an in-memory map to the context's parsed and verified collateral.
 * Entries are served until their earliest nextUpdate and refetched after it. */
#include <ctype.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>

#include <curl/curl.h>
#include <dlfcn.h>
#include <pthread.h>
#include <jansson.h>
#include <openssl/pem.h>

#include "dcap/internal.h"

/* libcurl is loaded on first use: every process that links it pays ~3 ms at start (its TLS, LDAP,
 * Kerberos and SSH dependencies), and only a PCCS fetch needs it. It is loaded by the absolute path the
 * build found (pkg-config's libdir), so $LD_LIBRARY_PATH cannot substitute another libcurl.so.4. */
#ifndef INITRA_LIBCURL_PATH
#error "INITRA_LIBCURL_PATH (libcurl.so.4 by absolute path) is set by the Makefile from pkg-config's libdir"
#endif
static struct {
    CURLcode (*global_init)(long);
    CURL *(*easy_init)(void);
    CURLcode (*easy_setopt)(CURL *, CURLoption, ...);
    CURLcode (*easy_perform)(CURL *);
    CURLcode (*easy_getinfo)(CURL *, CURLINFO, ...);
    void (*easy_cleanup)(CURL *);
    const char *(*easy_strerror)(CURLcode);
    char *(*easy_unescape)(CURL *, const char *, int, int *);
    void (*free)(void *);
} curl;
static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static int curl_loaded;

static void curl_load(void)
{
    void *h = dlopen(INITRA_LIBCURL_PATH, RTLD_NOW | RTLD_LOCAL);
    if (!h) return;
#define SYM(field, name) (*(void **)&curl.field = dlsym(h, name))
    int ok = SYM(global_init, "curl_global_init") && SYM(easy_init, "curl_easy_init") &&
             SYM(easy_setopt, "curl_easy_setopt") && SYM(easy_perform, "curl_easy_perform") &&
             SYM(easy_getinfo, "curl_easy_getinfo") && SYM(easy_cleanup, "curl_easy_cleanup") &&
             SYM(easy_strerror, "curl_easy_strerror") && SYM(easy_unescape, "curl_easy_unescape") &&
             SYM(free, "curl_free");
#undef SYM
    curl_loaded = ok && curl.global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK;
}

static int curl_ready(initra_err *err)
{
    pthread_once(&curl_once, curl_load);
    if (!curl_loaded)
        return initra_fail(err, "PCCS: cannot load %s (%s); install Debian's libcurl4", INITRA_LIBCURL_PATH,
                           dlerror() ? "not found" : "incomplete");
    return 0;
}

#define PCCS_MEM_SLOTS 64
#define PCCS_MAX_BODY (16u << 20)

typedef struct {
    uint8_t fmspc[6];
    char ca[16];
    int tdx;
    initra_collateral *c;
} mem_entry;

/* A failed fetch, remembered briefly so that a flood of clients does not hammer a PCCS that is down. */
#define PCCS_FAIL_SLOTS 16
#define PCCS_FAIL_SECONDS 15
typedef struct {
    uint8_t fmspc[6];
    char ca[16];
    int tdx;
    struct timespec at; /* CLOCK_MONOTONIC; tv_sec 0 = unused */
    char msg[sizeof(((initra_err *)0)->msg)];
} fail_entry;

struct initra_pccs {
    char root[1024];   /* scheme://host[:port][/prefix] without /sgx/certification/vN */
    char version[4];   /* "v4" or "v3" */
    char url[1200];    /* the collateral URL as configured, for messages */
    char dir[4096];    /* "" = no disk cache */
    char ca_file[1024]; /* "" = the system's CA store */
    int insecure;      /* no TLS peer verification (QCNL use_secure_cert false) */
    int serve_expired; /* an expired cache entry when the PCCS fails */
    pthread_mutex_t lock;
    mem_entry mem[PCCS_MEM_SLOTS];
    size_t mem_next;
    fail_entry fails[PCCS_FAIL_SLOTS];
    size_t fail_next;
};

/* ---- QCNL configuration ---- */

/* Strips // and / * * / comments outside JSON strings, in place (RapidJSON's kParseCommentsFlag, which
 * Intel's QCNL parses its JSON with). */
static void strip_comments(char *s)
{
    char *w = s;
    int in_str = 0;
    for (char *p = s; *p;) {
        if (in_str) {
            if (*p == '\\' && p[1]) *w++ = *p++;
            else if (*p == '"') in_str = 0;
            *w++ = *p++;
        } else if (p[0] == '/' && p[1] == '/') {
            while (*p && *p != '\n') p++;
        } else if (p[0] == '/' && p[1] == '*') {
            char *e = strstr(p + 2, "*/");
            p = e ? e + 2 : p + strlen(p);
        } else {
            if (*p == '"') in_str = 1;
            *w++ = *p++;
        }
    }
    *w = 0;
}

static int qcnl_str(char *dst, size_t n, const char *src, const char *file, const char *key, initra_err *err)
{
    if (strlen(src) >= n) return initra_fail(err, "%s: %s is longer than %zu bytes", file, key, n - 1);
    snprintf(dst, n, "%s", src);
    return 0;
}

/* The older format, as QcnlConfigLegacy::load_config: every whitespace character removed, '#' lines
 * skipped, NAME=VALUE split at the first '='. Names are case-sensitive. */
static int qcnl_legacy(char *text, const char *file, initra_qcnl *q, initra_err *err)
{
    for (char *line = text; line;) {
        char *nl = strchr(line, '\n');
        if (nl) *nl = 0;
        char *w = line;
        for (char *r = line; *r; r++)
            if (!isspace((unsigned char)*r)) *w++ = *r;
        *w = 0;
        char *eq = strchr(line, '=');
        if (line[0] && line[0] != '#' && eq) {
            *eq = 0;
            const char *v = eq + 1;
            int rc = 0;
            if (!strcmp(line, "PCCS_URL")) rc = qcnl_str(q->pccs_url, sizeof q->pccs_url, v, file, "PCCS_URL", err);
            else if (!strcmp(line, "USE_SECURE_CERT") && (!strcmp(v, "FALSE") || !strcmp(v, "false")))
                q->use_secure_cert = 0;
            else if (!strcmp(line, "COLLATERAL_SERVICE"))
                rc = qcnl_str(q->collateral_service, sizeof q->collateral_service, v, file, "COLLATERAL_SERVICE", err);
            else if (!strcmp(line, "PCCS_API_VERSION"))
                rc = qcnl_str(q->pccs_api_version, sizeof q->pccs_api_version, v, file, "PCCS_API_VERSION", err);
            if (rc) return -1;
        }
        line = nl ? nl + 1 : NULL;
    }
    q->legacy = 1;
    return 0;
}

static int qcnl_json(json_t *o, const char *file, initra_qcnl *q, initra_err *err)
{
    static const struct {
        const char *key;
        size_t off, n;
    } strs[] = {
        {"pccs_url", offsetof(initra_qcnl, pccs_url), sizeof q->pccs_url},
        {"collateral_service", offsetof(initra_qcnl, collateral_service), sizeof q->collateral_service},
        {"pccs_api_version", offsetof(initra_qcnl, pccs_api_version), sizeof q->pccs_api_version},
    };
    /* As Intel's QCNL: a key of another type is ignored (use_secure_cert then stays true). */
    for (size_t i = 0; i < sizeof strs / sizeof strs[0]; i++) {
        json_t *v = json_object_get(o, strs[i].key);
        if (json_is_string(v) && qcnl_str((char *)q + strs[i].off, strs[i].n, json_string_value(v), file, strs[i].key, err))
            return -1;
    }
    json_t *sec = json_object_get(o, "use_secure_cert");
    if (json_is_boolean(sec)) q->use_secure_cert = json_is_true(sec);
    return 0;
}

int dcap_qcnl_parse(const char *data, size_t len, const char *file, initra_qcnl *q, initra_err *err)
{
    memset(q, 0, sizeof *q);
    q->use_secure_cert = 1;
    if (len && !data) return initra_fail(err, "%s: no text", file);
    if (len && memchr(data, 0, len)) return initra_fail(err, "%s: holds a NUL byte; it is not a QCNL configuration", file);
    char *text = strndup(data ? data : "", len);
    if (!text) return initra_fail(err, "out of memory");
    int rc;
    strip_comments(text);
    json_error_t je;
    json_t *o = json_loads(text, 0, &je);
    if (json_is_object(o)) {
        rc = qcnl_json(o, file, q, err);
    } else if (len && data[0] == '{') {
        /* as Intel's QCNL: text starting with '{' is JSON, and broken JSON is an error */
        rc = initra_fail(err, "%s: not valid JSON (line %d: %s); fix the file or use the KEY=value format", file,
                         je.line, je.text);
    } else {
        free(text);
        if (!(text = strndup(data ? data : "", len))) return initra_fail(err, "out of memory");
        rc = qcnl_legacy(text, file, q, err);
    }
    json_decref(o);
    free(text);
    if (rc) return -1;
    if (!q->pccs_url[0])
        return initra_fail(err, "%s: no %s set; add the PCCS URL", file, q->legacy ? "PCCS_URL=https://..." : "\"pccs_url\"");
    snprintf(q->source, sizeof q->source, "%s", file);
    return 0;
}

int initra_pccs_default(initra_qcnl *q, initra_err *err)
{
    char ca_file[sizeof q->ca_file] = "";
    const char *ca = getenv("CURL_CA_BUNDLE");
    if (!ca || !*ca) ca = getenv("SSL_CERT_FILE");
    if (ca && *ca && qcnl_str(ca_file, sizeof ca_file, ca, "$CURL_CA_BUNDLE/$SSL_CERT_FILE", "the path", err)) return -1;
    int rc = 0;
    const char *e = getenv("PCCS_URL");
    if (e && *e) {
        memset(q, 0, sizeof *q);
        q->use_secure_cert = 1;
        rc = qcnl_str(q->pccs_url, sizeof q->pccs_url, e, "$PCCS_URL", "the URL", err);
        snprintf(q->source, sizeof q->source, "$PCCS_URL");
    } else {
        const char *conf = getenv("INITRA_QCNL_CONF");
        if (!conf || !*conf) conf = getenv("QCNL_CONF_PATH");
        if (!conf || !*conf) conf = "/etc/sgx_default_qcnl.conf";
        uint8_t *data;
        size_t len;
        if (initra_read_regular_file(conf, 1 << 20, &data, &len, err)) {
            memset(q, 0, sizeof *q);
            char why[sizeof err->msg];
            snprintf(why, sizeof why, "%s", err->msg);
            rc = initra_fail(err, "no PCCS configured: set PCCS_URL, or pccs_url in %s (%s)", conf, why);
        } else {
            rc = dcap_qcnl_parse((const char *)data, len, conf, q, err);
            free(data);
        }
    }
    snprintf(q->ca_file, sizeof q->ca_file, "%s", ca_file); /* kept on failure: it applies to --pccs too */
    return rc ? -1 : 0;
}

int initra_pccs_default_url(char *buf, size_t n, initra_err *err)
{
    initra_qcnl q;
    if (initra_pccs_default(&q, err)) return -1;
    snprintf(buf, n, "%s", q.pccs_url);
    return 0;
}

initra_pccs *dcap_pccs_open(const initra_pccs_opts *o, initra_err *err)
{
    const char *base = o->collateral_url && *o->collateral_url ? o->collateral_url : o->url;
    char url[1024];
    if (!base || !*base) {
        initra_fail(err, "no PCCS URL given");
        return NULL;
    }
    if (strlen(base) >= sizeof url) {
        initra_fail(err, "PCCS URL '%.64s...' is longer than %zu bytes", base, sizeof url - 1);
        return NULL;
    }
    snprintf(url, sizeof url, "%s", base);
    if (strncmp(url, "http://", 7) && strncmp(url, "https://", 8)) {
        initra_fail(err, "PCCS URL '%s' is not http:// or https://", url);
        return NULL;
    }
    if (o->ca_file && *o->ca_file) {
        struct stat st;
        if (stat(o->ca_file, &st) || !S_ISREG(st.st_mode) || strlen(o->ca_file) >= sizeof ((initra_pccs *)0)->ca_file) {
            initra_fail(err, "PCCS CA file '%s' is not a readable regular file; give a PEM file of the CAs that "
                             "issued the PCCS's TLS certificate", o->ca_file);
            return NULL;
        }
    }
    initra_pccs *p = calloc(1, sizeof *p);
    if (!p) {
        initra_fail(err, "out of memory");
        return NULL;
    }
    snprintf(p->url, sizeof p->url, "%s", url);
    snprintf(p->version, sizeof p->version, "v4");
    /* a URL ending in /sgx/certification/vN[/] (as in sgx_default_qcnl.conf) names the API version */
    char *cert = strstr(url, "/sgx/certification/");
    if (!cert) cert = strstr(url, "/tdx/certification/");
    if (cert) {
        if (!strncmp(cert + 19, "v3", 2)) snprintf(p->version, sizeof p->version, "v3");
        *cert = 0;
    }
    size_t l = strlen(url);
    while (l && url[l - 1] == '/') url[--l] = 0;
    snprintf(p->root, sizeof p->root, "%s", url);
    if (o->cache_dir) snprintf(p->dir, sizeof p->dir, "%s", o->cache_dir);
    if (o->ca_file) snprintf(p->ca_file, sizeof p->ca_file, "%s", o->ca_file);
    p->insecure = o->insecure;
    p->serve_expired = o->serve_expired;
    if (p->insecure && !strncmp(p->url, "https://", 8))
        fprintf(stderr, "initra: warning: PCCS %s: TLS peer verification is off (use_secure_cert false); collateral "
                        "is still verified by Intel's signatures\n", p->url);
    pthread_mutex_init(&p->lock, NULL);
    return p;
}

void dcap_pccs_free(initra_pccs *p)
{
    if (!p) return;
    for (size_t i = 0; i < PCCS_MEM_SLOTS; i++) initra_collateral_release(p->mem[i].c);
    pthread_mutex_destroy(&p->lock);
    free(p);
}

const char *dcap_pccs_url(const initra_pccs *p) { return p->url; }

/* ---- HTTP ---- */

typedef struct {
    char *body;
    size_t len;
    const char *want_header[2]; /* header names holding the issuer chain (v4, v3) */
    char *chain;                /* URL-decoded header value */
    int too_big;
} http_resp;

static size_t on_body(char *ptr, size_t size, size_t nmemb, void *ud)
{
    http_resp *r = ud;
    size_t n = size * nmemb;
    if (r->len + n > PCCS_MAX_BODY) {
        r->too_big = 1;
        return 0;
    }
    char *b = realloc(r->body, r->len + n + 1);
    if (!b) return 0;
    memcpy(b + r->len, ptr, n);
    r->body = b;
    r->len += n;
    r->body[r->len] = 0;
    return n;
}

static size_t on_header(char *ptr, size_t size, size_t nmemb, void *ud)
{
    http_resp *r = ud;
    size_t n = size * nmemb;
    for (int i = 0; i < 2 && r->want_header[i]; i++) {
        size_t hl = strlen(r->want_header[i]);
        if (n > hl + 1 && !strncasecmp(ptr, r->want_header[i], hl) && ptr[hl] == ':' && !r->chain) {
            const char *v = ptr + hl + 1;
            size_t vl = n - hl - 1;
            while (vl && (*v == ' ' || *v == '\t')) v++, vl--;
            while (vl && (v[vl - 1] == '\r' || v[vl - 1] == '\n' || v[vl - 1] == ' ')) vl--;
            int outlen = 0;
            char *dec = curl.easy_unescape(NULL, v, (int)vl, &outlen);
            if (dec) {
                r->chain = strndup(dec, (size_t)outlen);
                curl.free(dec);
            }
        }
    }
    return n;
}

static int http_get(initra_pccs *p, const char *url, const char *path, http_resp *r, long *status, initra_err *err)
{
    if (curl_ready(err)) return -1;
    CURL *c = curl.easy_init();
    if (!c) return initra_fail(err, "libcurl initialisation failed");
    char cerr[CURL_ERROR_SIZE] = "";
    curl.easy_setopt(c, CURLOPT_URL, url);
    curl.easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl.easy_setopt(c, CURLOPT_WRITEDATA, r);
    curl.easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl.easy_setopt(c, CURLOPT_HEADERDATA, r);
    curl.easy_setopt(c, CURLOPT_ERRORBUFFER, cerr);
    curl.easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 5L);
    curl.easy_setopt(c, CURLOPT_TIMEOUT, 30L);
    curl.easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl.easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    if (p->ca_file[0]) curl.easy_setopt(c, CURLOPT_CAINFO, p->ca_file);
    if (p->insecure) {
        curl.easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 0L);
        curl.easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 0L);
    }
    CURLcode rc = curl.easy_perform(c);
    curl.easy_getinfo(c, CURLINFO_RESPONSE_CODE, status);
    curl.easy_cleanup(c);
    if (rc != CURLE_OK)
        return initra_fail(err, "PCCS %s: GET %s failed: %s%s", p->url, path,
                           r->too_big ? "response too large" : cerr[0] ? cerr : curl.easy_strerror(rc),
                           rc == CURLE_PEER_FAILED_VERIFICATION || rc == CURLE_SSL_CACERT_BADFILE
                               ? " (name the PCCS's CA with --pccs-ca FILE / \"pccs_ca\", or set use_secure_cert "
                                 "false in the QCNL file)"
                               : "");
    return 0;
}

static void resp_free(http_resp *r)
{
    free(r->body);
    free(r->chain);
    memset(r, 0, sizeof *r);
}

/* One bundle fetch: its API version (never mixed) and every URL asked, for the error. */
typedef struct {
    const char *ver;
    char tried[2048];
} fetch_ctx;

#define ROUTE_MISSING 1

/* A 404 from Intel's PCCS for data it lacks says "No cache data for this platform."; a route that does
 * not exist gets Express's "Cannot GET ..." page (other servers: their own page). Only the latter
 * means "this API version is not served". */
static int no_cache_data(const http_resp *r)
{
    return r->body && !strncmp(r->body, "No cache data", 13);
}

/* GET {root}/{tee}/certification/{ver}/{rest}. 0, -1 with err set, or ROUTE_MISSING (err set) when the
 * route does not exist. The chain header is required when hdr is given. */
static int fetch(initra_pccs *p, fetch_ctx *x, const char *tee, const char *rest, const char *hdr, http_resp *r,
                 initra_err *err)
{
    char path[512], url[1600];
    long status = 0;
    snprintf(path, sizeof path, "/%s/certification/%s/%s", tee, x->ver, rest);
    snprintf(url, sizeof url, "%s%s", p->root, path);
    size_t tl = strlen(x->tried);
    snprintf(x->tried + tl, sizeof x->tried - tl, "%s%s", tl ? " " : "", path);
    memset(r, 0, sizeof *r);
    r->want_header[0] = hdr;
    if (http_get(p, url, path, r, &status, err)) {
        resp_free(r);
        return -1;
    }
    if (status == 404 && !no_cache_data(r)) {
        initra_fail(err, "PCCS %s: GET %s answered HTTP 404: the route does not exist", p->url, path);
        resp_free(r);
        return ROUTE_MISSING;
    }
    if (status != 200) {
        char what[64] = "";
        if (r->body && r->len) {
            size_t k = 0;
            while (k < r->len && k < sizeof what - 1 && isprint((unsigned char)r->body[k])) k++;
            snprintf(what, sizeof what, " (%.*s)", (int)k, r->body);
        }
        initra_fail(err, "PCCS %s: GET %s answered HTTP %ld%s", p->url, path, status, what);
        resp_free(r);
        return -1;
    }
    if (hdr && !r->chain) {
        initra_fail(err, "PCCS %s: GET %s: response lacks the %s header", p->url, path, hdr);
        resp_free(r);
        return -1;
    }
    if (!r->body) r->body = strdup("");
    return r->body ? 0 : initra_fail(err, "out of memory");
}

/* A CRL body as hex of DER, accepting DER, PEM or hex text. */
static char *crl_hex(const http_resp *r)
{
    const char *b = r->body;
    size_t n = r->len;
    uint8_t *der = NULL;
    size_t dl = 0;
    if (n > 10 && !memcmp(b, "-----BEGIN", 10)) {
        BIO *bio = BIO_new_mem_buf(b, (int)n);
        X509_CRL *crl = bio ? PEM_read_bio_X509_CRL(bio, NULL, NULL, NULL) : NULL;
        unsigned char *d = NULL;
        int l = crl ? i2d_X509_CRL(crl, &d) : -1;
        X509_CRL_free(crl);
        BIO_free(bio);
        if (l <= 0) return NULL;
        char *h = malloc(2 * (size_t)l + 1);
        if (h) initra_hex(d, (size_t)l, h);
        OPENSSL_free(d);
        return h;
    }
    size_t k = 0;
    while (k < n && isxdigit((unsigned char)b[k])) k++;
    size_t t = k;
    while (t < n && isspace((unsigned char)b[t])) t++;
    if (k > 0 && t == n && k % 2 == 0) { /* hex text */
        char *h = strndup(b, k);
        return h;
    }
    der = (uint8_t *)b;
    dl = n;
    char *h = malloc(2 * dl + 1);
    if (h) initra_hex(der, dl, h);
    return h;
}

/* The four items of one bundle, all under API version x->ver. */
static int fetch_bundle_ver(initra_pccs *p, fetch_ctx *x, const uint8_t fmspc[6], const char *ca, int tdx,
                            char **bundle, initra_err *err)
{
    const char *tee = tdx ? "tdx" : "sgx";
    int v3 = !strcmp(x->ver, "v3");
    char rest[128], fm[13];
    size_t n;
    http_resp tcb = {0}, qe = {0}, pck = {0}, root = {0};
    char *tcb_text = NULL, *tcb_sig = NULL, *qe_text = NULL, *qe_sig = NULL, *pck_hex = NULL, *root_hex = NULL;
    int rc;
    snprintf(rest, sizeof rest, "tcb?fmspc=%s", initra_hex_upper(fmspc, 6, fm));
    /* Intel's PCCS names the TCB info chain SGX-TCB-Info-Issuer-Chain in v3, TCB-Info-Issuer-Chain in v4 */
    if ((rc = fetch(p, x, tee, rest, v3 ? "SGX-TCB-Info-Issuer-Chain" : "TCB-Info-Issuer-Chain", &tcb, err))) goto out;
    rc = -1;
    if (initra_dcap_signed_body(tcb.body, tcb.len, "tcbInfo", &tcb_text, &n, &tcb_sig, err)) {
        initra_fail_prefix(err, "PCCS %s: TCB info", p->url);
        goto out;
    }
    if ((rc = fetch(p, x, tee, "qe/identity", "SGX-Enclave-Identity-Issuer-Chain", &qe, err))) goto out;
    rc = -1;
    if (initra_dcap_signed_body(qe.body, qe.len, "enclaveIdentity", &qe_text, &n, &qe_sig, err)) {
        initra_fail_prefix(err, "PCCS %s: QE identity", p->url);
        goto out;
    }
    snprintf(rest, sizeof rest, "pckcrl?ca=%s&encoding=der", ca);
    if ((rc = fetch(p, x, "sgx", rest, "SGX-PCK-CRL-Issuer-Chain", &pck, err))) goto out;
    if ((rc = fetch(p, x, "sgx", "rootcacrl", NULL, &root, err))) goto out;
    rc = -1;
    pck_hex = crl_hex(&pck);
    root_hex = crl_hex(&root);
    if (!pck_hex || !root_hex) {
        initra_fail(err, "PCCS %s: a CRL response is neither DER, PEM nor hex", p->url);
        goto out;
    }
    json_t *o = json_object();
    json_object_set_new(o, "pck_crl_issuer_chain", json_string(pck.chain));
    json_object_set_new(o, "root_ca_crl", json_string(root_hex));
    json_object_set_new(o, "pck_crl", json_string(pck_hex));
    json_object_set_new(o, "tcb_info_issuer_chain", json_string(tcb.chain));
    json_object_set_new(o, "tcb_info", json_string(tcb_text));
    json_object_set_new(o, "tcb_info_signature", json_string(tcb_sig));
    json_object_set_new(o, "qe_identity_issuer_chain", json_string(qe.chain));
    json_object_set_new(o, "qe_identity", json_string(qe_text));
    json_object_set_new(o, "qe_identity_signature", json_string(qe_sig));
    *bundle = json_dumps(o, JSON_INDENT(1) | JSON_PRESERVE_ORDER);
    json_decref(o);
    rc = *bundle ? 0 : initra_fail(err, "PCCS %s: a response holds text that is not UTF-8", p->url);
out:
    resp_free(&tcb);
    resp_free(&qe);
    resp_free(&pck);
    resp_free(&root);
    free(tcb_text);
    free(tcb_sig);
    free(qe_text);
    free(qe_sig);
    free(pck_hex);
    free(root_hex);
    return rc;
}

int dcap_pccs_fetch_bundle(initra_pccs *p, const uint8_t fmspc[6], const char *ca, int tdx, char **bundle,
                           initra_err *err)
{
    if (strcmp(ca, "processor") && strcmp(ca, "platform"))
        return initra_fail(err, "PCK CA '%s' is neither processor nor platform", ca);
    if (tdx && !strcmp(p->version, "v3"))
        return initra_fail(err, "PCCS %s: TDX collateral has no API v3 routes in Intel's PCCS (/tdx/certification/v4 "
                                "only); configure the PCCS URL with /sgx/certification/v4/ or without a version",
                           p->url);
    fetch_ctx x = {p->version, ""};
    int rc = fetch_bundle_ver(p, &x, fmspc, ca, tdx, bundle, err);
    if (rc != ROUTE_MISSING) return rc ? -1 : 0;
    char first[sizeof err->msg];
    snprintf(first, sizeof first, "%s", err->msg);
    if (strcmp(x.ver, "v4")) return initra_fail(err, "%s (URLs tried under %s: %s)", first, p->root, x.tried);
    if (tdx)
        return initra_fail(err, "%s; TDX has no API v3 routes in Intel's PCCS, so v3 is not tried (URLs tried under "
                                "%s: %s)", first, p->root, x.tried);
    /* The v4 route does not exist: the whole bundle again under v3, never v3 items next to v4 ones. */
    x.ver = "v3";
    rc = fetch_bundle_ver(p, &x, fmspc, ca, tdx, bundle, err);
    if (rc == 0) return 0;
    char second[sizeof err->msg];
    const char *m = err->msg;
    size_t pl = strlen(p->url);
    if (!strncmp(m, "PCCS ", 5) && !strncmp(m + 5, p->url, pl) && !strncmp(m + 5 + pl, ": ", 2)) m += 7 + pl;
    snprintf(second, sizeof second, "%s", m);
    return initra_fail(err, "%s; then under API v3: %s (URLs tried under %s: %s)", first, second, p->root, x.tried);
}

/* ---- caches ---- */

static void cache_path(const initra_pccs *p, const uint8_t fmspc[6], const char *ca, int tdx, char *buf, size_t n)
{
    char fm[13];
    snprintf(buf, n, "%s/%s-%s-%s.json", p->dir, tdx ? "tdx" : "sgx", initra_hex_upper(fmspc, 6, fm), ca);
}

static mem_entry *mem_find(initra_pccs *p, const uint8_t fmspc[6], const char *ca, int tdx)
{
    for (size_t i = 0; i < PCCS_MEM_SLOTS; i++)
        if (p->mem[i].c && p->mem[i].tdx == tdx && !memcmp(p->mem[i].fmspc, fmspc, 6) && !strcmp(p->mem[i].ca, ca))
            return &p->mem[i];
    return NULL;
}

static void mem_put(initra_pccs *p, const uint8_t fmspc[6], const char *ca, int tdx, initra_collateral *c)
{
    pthread_mutex_lock(&p->lock);
    mem_entry *e = mem_find(p, fmspc, ca, tdx);
    if (!e) e = &p->mem[p->mem_next++ % PCCS_MEM_SLOTS];
    initra_collateral_release(e->c);
    memcpy(e->fmspc, fmspc, 6);
    snprintf(e->ca, sizeof e->ca, "%s", ca);
    e->tdx = tdx;
    e->c = dcap_collateral_ref(c);
    pthread_mutex_unlock(&p->lock);
}

static fail_entry *fail_find(initra_pccs *p, const uint8_t fmspc[6], const char *ca, int tdx)
{
    for (size_t i = 0; i < PCCS_FAIL_SLOTS; i++)
        if (p->fails[i].at.tv_sec && p->fails[i].tdx == tdx && !memcmp(p->fails[i].fmspc, fmspc, 6) &&
            !strcmp(p->fails[i].ca, ca))
            return &p->fails[i];
    return NULL;
}

/* 1 with err set when a fetch for this key failed less than PCCS_FAIL_SECONDS ago. */
static int fail_cached(initra_pccs *p, const uint8_t fmspc[6], const char *ca, int tdx, initra_err *err)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    pthread_mutex_lock(&p->lock);
    fail_entry *f = fail_find(p, fmspc, ca, tdx);
    long ago = f ? (long)(now.tv_sec - f->at.tv_sec) : -1;
    int hit = f && ago >= 0 && ago < PCCS_FAIL_SECONDS;
    if (hit)
        initra_fail(err, "%s (failure cached %ld s ago; the PCCS is asked again %d s after a failure)", f->msg, ago,
                    PCCS_FAIL_SECONDS);
    pthread_mutex_unlock(&p->lock);
    return hit;
}

static void fail_put(initra_pccs *p, const uint8_t fmspc[6], const char *ca, int tdx, const char *msg)
{
    pthread_mutex_lock(&p->lock);
    fail_entry *f = fail_find(p, fmspc, ca, tdx);
    if (!f) f = &p->fails[p->fail_next++ % PCCS_FAIL_SLOTS];
    memcpy(f->fmspc, fmspc, 6);
    snprintf(f->ca, sizeof f->ca, "%s", ca);
    f->tdx = tdx;
    clock_gettime(CLOCK_MONOTONIC, &f->at);
    if (!f->at.tv_sec) f->at.tv_sec = 1;
    snprintf(f->msg, sizeof f->msg, "%s", msg);
    pthread_mutex_unlock(&p->lock);
}

initra_collateral *dcap_pccs_collateral(initra_pccs *p, initra_dcap *d, const uint8_t fmspc[6], const char *ca,
                                        int tdx, time_t at, initra_err *err)
{
    char fm[13], when[32];
    initra_hex_upper(fmspc, 6, fm);
    /* memory */
    pthread_mutex_lock(&p->lock);
    mem_entry *e = mem_find(p, fmspc, ca, tdx);
    initra_collateral *c = e ? dcap_collateral_ref(e->c) : NULL;
    pthread_mutex_unlock(&p->lock);
    if (c && at <= c->expires) return c;
    initra_collateral *stale = c; /* the newest expired entry, handed out only with serve_expired */
    c = NULL;
    /* disk */
    char path[4200];
    if (p->dir[0]) {
        cache_path(p, fmspc, ca, tdx, path, sizeof path);
        uint8_t *buf;
        size_t n;
        initra_err ignored;
        if (initra_read_file(path, PCCS_MAX_BODY, &buf, &n, &ignored) == 0) {
            c = initra_dcap_collateral(d, (const char *)buf, n, &ignored);
            free(buf);
            if (c && at <= c->expires) {
                initra_collateral_release(stale);
                mem_put(p, fmspc, ca, tdx, c);
                return c;
            }
            if (c && (!stale || c->expires > stale->expires)) {
                initra_collateral_release(stale);
                stale = c;
            } else {
                initra_collateral_release(c);
            }
            c = NULL;
        }
    }
    /* network, unless it failed a moment ago */
    char *bundle = NULL;
    initra_err ferr;
    int cached = fail_cached(p, fmspc, ca, tdx, &ferr);
    if (cached || dcap_pccs_fetch_bundle(p, fmspc, ca, tdx, &bundle, &ferr)) {
        if (!cached) fail_put(p, fmspc, ca, tdx, ferr.msg);
        if (stale && p->serve_expired) {
            /* as a bundle file with --allow-expired-collateral: verification flags it as expired */
            dcap_fmt_time(stale->expires, when);
            fprintf(stderr, "initra: warning: %s; using the cached collateral for %s FMSPC %s (%s CA), expired at %s\n",
                    ferr.msg, tdx ? "TDX" : "SGX", fm, ca, when);
            return stale;
        }
        if (stale) {
            dcap_fmt_time(stale->expires, when);
            initra_fail(err, "%s; the cached collateral for %s FMSPC %s (%s CA) expired at %s, so there is none valid to use",
                        ferr.msg, tdx ? "TDX" : "SGX", fm, ca, when);
        } else {
            initra_fail(err, "%s (no cached collateral for %s FMSPC %s, %s CA)", ferr.msg, tdx ? "TDX" : "SGX", fm, ca);
        }
        initra_collateral_release(stale);
        return NULL;
    }
    initra_collateral_release(stale);
    c = initra_dcap_collateral(d, bundle, strlen(bundle), err);
    if (!c) {
        fail_put(p, fmspc, ca, tdx, err->msg);
        free(bundle);
        return NULL;
    }
    if (p->dir[0]) {
        initra_err werr;
        if (initra_mkdir_p(p->dir, 0700, &werr) == 0) initra_write_file_atomic(path, bundle, strlen(bundle), 0644, &werr);
    }
    free(bundle);
    mem_put(p, fmspc, ca, tdx, c);
    return c;
}
