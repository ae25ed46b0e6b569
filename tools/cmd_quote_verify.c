/* initra quote verify FILE [--collateral FILE | --pccs URL [--pccs-ca FILE]] [--at UNIX_TIME] [--trust-root DER]...
 *                          [--allow-expired-collateral] [--cache-dir DIR] [--json]
 * Exit 0 verified (any non-terminal TCB status), 1 verification failed, 2 usage or unreadable input. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/pem.h>

#include "cli.h"
#include "initra/dcap.h"

#define MAX_ROOTS 8

static int usage(FILE *f, int code)
{
    fprintf(f,
            "usage: initra quote verify FILE [--collateral FILE | --pccs URL [--pccs-ca FILE]] [--at UNIX_TIME]\n"
            "                           [--trust-root DER]... [--allow-expired-collateral] [--cache-dir DIR] [--json]\n"
            "  Verifies a DCAP quote (SGX v3, SGX/TDX v4 and v5) completely: PCK chain to the built-in Intel SGX\n"
            "  Root CA (or a root named with --trust-root), CRLs, TCB info, QE identity, QE report, quote signature,\n"
            "  TCB level. Collateral: a bundle file, or a PCCS / Intel PCS (default $PCCS_URL, then Intel's QCNL\n"
            "  file /etc/sgx_default_qcnl.conf or $QCNL_CONF_PATH: pccs_url, collateral_service, use_secure_cert)\n"
            "  with an on-disk cache (--cache-dir, default $INITRA_COLLATERAL_CACHE or ~/.cache/initra/collateral).\n"
            "  Each PCCS request: 5 s to connect, 30 s for the whole transfer. TLS to the PCCS is verified with\n"
            "  --pccs-ca FILE (PEM), else $CURL_CA_BUNDLE / $SSL_CERT_FILE, else the system's CA store; only the\n"
            "  QCNL file's use_secure_cert false turns it off (with a warning). --allow-expired-collateral also\n"
            "  uses an expired cache entry while the PCCS fails. --at: verification time (default now).\n"
            "  Exit 0 verified, 1 verification failed (TcbNotSupported and Revoked are failures), 2 usage.\n");
    return code;
}

static int read_root(initra_dcap *d, const char *path, initra_err *err)
{
    return initra_dcap_add_root_file(d, path, err) ? initra_fail_prefix(err, "--trust-root") : 0;
}

static void default_cache_dir(char *buf, size_t n)
{
    const char *e = getenv("INITRA_COLLATERAL_CACHE"), *x = getenv("XDG_CACHE_HOME"), *h = getenv("HOME");
    if (e && *e) snprintf(buf, n, "%s", e);
    else if (x && *x) snprintf(buf, n, "%s/initra/collateral", x);
    else if (h && *h) snprintf(buf, n, "%s/.cache/initra/collateral", h);
    else buf[0] = 0;
}

static json_t *result_json(const initra_dcap_result *r, const initra_quote *q)
{
    json_t *o = json_object(), *adv = json_array();
    char t[32];
    for (size_t i = 0; i < r->n_advisories; i++) json_array_append_new(adv, json_string(r->advisories[i]));
    json_object_set_new(o, "verified", json_boolean(r->verified));
    json_object_set_new(o, "status", r->status >= 0 ? json_string(initra_tcb_status_name(r->status)) : json_null());
    json_object_set_new(o, "advisories", adv);
    json_object_set_new(o, "root", r->root[0] ? json_string(r->root) : json_null());
    json_object_set_new(o, "error", r->error[0] ? json_string(r->error) : json_null());
    json_object_set_new(o, "collateral_expires", r->collateral_expires ? json_integer((json_int_t)r->collateral_expires) : json_null());
    json_object_set_new(o, "expired_collateral_allowed", json_boolean(r->expired_collateral_allowed));
    if (r->tcb_date) {
        struct tm tm;
        gmtime_r(&r->tcb_date, &tm);
        strftime(t, sizeof t, "%Y-%m-%dT%H:%M:%SZ", &tm);
        json_object_set_new(o, "tcb_date", json_string(t));
    }
    if (r->tcb_eval_data_number) json_object_set_new(o, "tcb_eval_data_number", json_integer(r->tcb_eval_data_number));
    json_object_set_new(o, "tee", json_string(r->tee));
    if (r->pck_ca[0]) {
        char fm[13];
        json_object_set_new(o, "fmspc", json_string(initra_hex_upper(r->pck.fmspc, 6, fm)));
        json_object_set_new(o, "pck_ca", json_string(r->pck_ca));
    }
    if (q) json_object_set_new(o, "report", initra_quote_to_json(q));
    return o;
}

/* A refusal before verification, in --json's shape. */
static void print_json_error(const char *msg)
{
    json_t *o = json_object();
    json_object_set_new(o, "verified", json_false());
    json_object_set_new(o, "error", json_string(msg));
    json_dumpf(o, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    fputc('\n', stdout);
    json_decref(o);
}

static void print_human(const initra_dcap_result *r)
{
    printf("verified:   %s\n", r->verified ? "yes" : "no");
    printf("status:     %s\n", r->status >= 0 ? initra_tcb_status_name(r->status) : "-");
    printf("advisories:");
    for (size_t i = 0; i < r->n_advisories; i++) printf(" %s", r->advisories[i]);
    printf("%s\n", r->n_advisories ? "" : " none");
    printf("root:       %s\n", r->root[0] ? r->root : "-");
    if (r->collateral_expires) {
        char t[32];
        struct tm tm;
        gmtime_r(&r->collateral_expires, &tm);
        strftime(t, sizeof t, "%Y-%m-%dT%H:%M:%SZ", &tm);
        printf("collateral expires: %s\n", t);
    }
    if (r->expired_collateral_allowed) printf("warning:    expired collateral was accepted (--allow-expired-collateral)\n");
    if (r->error[0]) printf("error:      %s\n", r->error);
}

int cmd_quote_verify(int argc, char **argv)
{
    const char *file = NULL, *coll_file = NULL, *pccs_url = NULL, *pccs_ca = NULL, *cache_dir = NULL;
    const char *roots[MAX_ROOTS];
    int n_roots = 0, as_json = 0;
    unsigned flags = 0;
    time_t at = 0;
    int have_at = 0;
    enum { O_JSON = 256, O_ALLOW_EXPIRED, O_COLLATERAL, O_PCCS, O_PCCS_CA, O_CACHE_DIR, O_TRUST_ROOT, O_AT };
    static const struct option opts[] = {{"json", no_argument, NULL, O_JSON},
                                         {"allow-expired-collateral", no_argument, NULL, O_ALLOW_EXPIRED},
                                         {"collateral", required_argument, NULL, O_COLLATERAL},
                                         {"pccs", required_argument, NULL, O_PCCS},
                                         {"pccs-ca", required_argument, NULL, O_PCCS_CA},
                                         {"cache-dir", required_argument, NULL, O_CACHE_DIR},
                                         {"trust-root", required_argument, NULL, O_TRUST_ROOT},
                                         {"at", required_argument, NULL, O_AT},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    int opt;
    optind = 0;
    while ((opt = cli_getopt(argc, argv, "-:h", opts, "quote verify", "quote verify")) > 0) {
        if (opt == 'h') return usage(stdout, CLI_OK);
        if (opt == O_JSON) as_json = 1;
        else if (opt == O_ALLOW_EXPIRED) flags |= INITRA_DCAP_ALLOW_EXPIRED_COLLATERAL;
        else if (opt == O_COLLATERAL) coll_file = optarg;
        else if (opt == O_PCCS) pccs_url = optarg;
        else if (opt == O_PCCS_CA) pccs_ca = optarg;
        else if (opt == O_CACHE_DIR) cache_dir = optarg;
        else if (opt == O_TRUST_ROOT) {
            if (n_roots == MAX_ROOTS) return cli_error(CLI_USAGE, "quote verify: at most %d --trust-root options", MAX_ROOTS);
            roots[n_roots++] = optarg;
        } else if (opt == O_AT) {
            uint64_t t;
            if (initra_parse_uint(optarg, (uint64_t)INT64_MAX / 2, &t))
                return cli_error(CLI_USAGE, "quote verify: --at '%s' is not a unix time (seconds since 1970)", optarg);
            at = (time_t)t;
            have_at = 1;
        } else if (!file) file = optarg;
        else return cli_error(CLI_USAGE, "quote verify: one FILE only (got '%s' too)", optarg);
    }
    if (opt < 0) return CLI_USAGE;
    if (!file) return usage(stderr, CLI_USAGE);
    if (coll_file && pccs_url) return cli_error(CLI_USAGE, "quote verify: --collateral and --pccs exclude each other");
    if (coll_file && pccs_ca) return cli_error(CLI_USAGE, "quote verify: --pccs-ca is for a PCCS, not with --collateral");
    if (!have_at) at = time(NULL); /* the command reads the clock; the library never does */

    initra_err err;
    uint8_t *qbuf;
    size_t qlen;
    if (initra_read_file(strcmp(file, "-") ? file : "/dev/stdin", INITRA_QUOTE_MAX_SIZE, &qbuf, &qlen, &err))
        return cli_err(CLI_USAGE, &err);
    initra_dcap *d = initra_dcap_new(&err);
    if (!d) {
        free(qbuf);
        return cli_err(CLI_FAIL, &err);
    }
    int code = CLI_FAIL;
    initra_collateral *c = NULL;
    initra_collateral_src *src = NULL;
    initra_quote q;
    int parsed = initra_quote_parse(qbuf, qlen, &q, &err) == 0;
    initra_dcap_result r;
    memset(&r, 0, sizeof r);
    for (int i = 0; i < n_roots; i++)
        if (read_root(d, roots[i], &err)) {
            code = cli_err(CLI_USAGE, &err);
            goto out;
        }
    if (!parsed) {
        if (as_json) print_json_error(err.msg);
        code = cli_error(CLI_FAIL, "%s: %s", file, err.msg);
        goto out;
    }
    uint8_t *cb = NULL;
    size_t cn = 0;
    initra_collateral_src_opts so = {.pccs = {.url = pccs_url, .ca_file = pccs_ca,
                                              .serve_expired = !!(flags & INITRA_DCAP_ALLOW_EXPIRED_COLLATERAL)}};
    char dir[4096];
    if (coll_file) {
        if (initra_read_file(coll_file, INITRA_MAX_COLLATERAL, &cb, &cn, &err)) {
            code = cli_err(CLI_USAGE, &err);
            goto out;
        }
        so.data = cb;
        so.len = cn;
    } else {
        if (cache_dir) snprintf(dir, sizeof dir, "%s", cache_dir);
        else default_cache_dir(dir, sizeof dir);
        so.pccs.cache_dir = dir[0] ? dir : NULL;
        /* A front-end: the default PCCS may come from the environment ($PCCS_URL, the QCNL file), and the
         * TLS CA file from $CURL_CA_BUNDLE / $SSL_CERT_FILE as curl's tool takes it. */
        initra_qcnl qc;
        int have_conf = initra_pccs_default(&qc, &err) == 0;
        if (!pccs_url && have_conf) {
            so.pccs.url = qc.pccs_url;
            so.pccs.collateral_url = qc.collateral_service;
            so.pccs.insecure = !qc.use_secure_cert;
        }
        if (!so.pccs.ca_file && qc.ca_file[0]) so.pccs.ca_file = qc.ca_file;
        if (!so.pccs.url) {
            if (as_json) print_json_error(err.msg);
            code = cli_error(CLI_USAGE, "quote verify: %s (or pass --collateral FILE)", err.msg);
            goto out;
        }
    }
    src = initra_collateral_src_open(d, &so, &err);
    free(cb);
    if (!src) {
        if (as_json) print_json_error(err.msg);
        code = coll_file ? cli_error(CLI_FAIL, "%s: %s", coll_file, err.msg)
                         : cli_error(CLI_USAGE, "quote verify: %s (or pass --collateral FILE)", err.msg);
        goto out;
    }
    if (!(c = initra_dcap_collateral_for(src, qbuf, qlen, at, &err))) {
        if (as_json) print_json_error(err.msg);
        code = cli_error(CLI_FAIL, "%s", err.msg); /* it names the PCCS (or the PCK certificate's problem) */
        goto out;
    }
    initra_dcap_verify(d, qbuf, qlen, c, at, flags, &r);
    if (as_json) {
        json_t *o = result_json(&r, &q);
        json_dumpf(o, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        fputc('\n', stdout);
        json_decref(o);
    } else {
        print_human(&r);
    }
    code = r.verified ? CLI_OK : cli_error(CLI_FAIL, "%s: %s", file, r.error);
out:
    initra_collateral_release(c);
    initra_collateral_src_free(src);
    initra_dcap_free(d);
    free(qbuf);
    return code;
}
