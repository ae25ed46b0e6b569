/* initra sim init|quote|collateral|root: the simulated SGX platform ($INITRA_SIM_DIR). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "initra/attest.h"
#include "initra/ratls.h"
#include "initra/sim.h"

static int sim_usage(FILE *f, int code)
{
    fprintf(f,
            "usage: initra sim init [--tcb-status STATUS] [--advisories ID,...] [--issued-days-ago N]\n"
            "       initra sim quote [--mrenclave HEX64] [--mrsigner HEX64] [--isv-prod-id N] [--isv-svn N]\n"
            "                        [--config-id B64] [--config-svn N] [--family-id HEX32] [--ext-prod-id HEX32]\n"
            "                        [--debug] [--kss] [--report-data HEX] -o FILE\n"
            "       initra sim ratls-cert [identity options as for quote] [--format occlum|tcg|occlum+tcg]\n"
            "                        [--valid-hours N] --key-out KEY.pem --cert-out CERT.pem\n"
            "       initra sim collateral -o FILE\n"
            "       initra sim root -o FILE\n"
            "       initra sim mount-rootfs [--key-file FILE]\n"
            "  The simulated SGX platform in $INITRA_SIM_DIR (default ~/.local/share/initra/sim), created on first use.\n"
            "  init      rebuilds it (new keys and certificates) with the given TCB status: UpToDate (default),\n"
            "            SWHardeningNeeded, ConfigurationNeeded, ConfigurationAndSWHardeningNeeded, OutOfDate,\n"
            "            OutOfDateConfigurationNeeded or Revoked, and advisory IDs such as INTEL-SA-00615.\n"
            "            --issued-days-ago N dates everything N days back: after 30 days its collateral bundle\n"
            "            ($INITRA_SIM_DIR/collateral.json) is expired, for tests (opening the platform refreshes it).\n"
            "  quote     a DCAP v3 quote for the given enclave identity (defaults: zeros, attributes INIT|MODE64BIT,\n"
            "            xfrm 0xe7). Any of --config-id/--config-svn/--family-id/--ext-prod-id sets the KSS attribute.\n"
            "            --report-data: up to 64 bytes of hex, zero padded. N: decimal (no leading zero) or 0x hex, <= 65535.\n"
            "  ratls-cert  an RA-TLS key (0600) and self-signed certificate whose quote binds the key (default\n"
            "            format occlum: OID 1.2.840.113741.1; tcg: OID 2.23.133.5.4.9; occlum+tcg: both, each with\n"
            "            its own quote, as the KMS and init present by default), valid 12 hours by default.\n"
            "  collateral  the collateral bundle (JSON) a verifier needs for sim quotes.\n"
            "  root      the sim root CA certificate (DER): the trust anchor for sim quotes.\n"
            "  mount-rootfs  inside an enclave: Occlum's MountRootFS (syscall 363 on Occlum, the sim descriptor's\n"
            "            mount exchange under `initra run`), with the key of FILE (xx-xx-...-xx) or none.\n"
            "  -o - writes to standard output.\n");
    return code;
}

static int open_sim(initra_sim **sim)
{
    char dir[4096];
    initra_err err;
    if (initra_sim_dir(dir, sizeof dir, &err) || !(*sim = initra_sim_open(dir, &err))) return cli_err(CLI_FAIL, &err);
    return CLI_OK;
}

static int sim_init(int argc, char **argv)
{
    initra_sim_init_opts o = {.tcb_status = NULL, .advisories = NULL, .issued_at = 0};
    enum { O_ISSUED = 256, O_TCB, O_ADV };
    static const struct option opts[] = {{"issued-days-ago", required_argument, NULL, O_ISSUED},
                                         {"tcb-status", required_argument, NULL, O_TCB},
                                         {"advisories", required_argument, NULL, O_ADV},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    optind = 0;
    int c;
    while ((c = cli_getopt(argc, argv, "+:h", opts, "sim init", "sim")) > 0) {
        const char *v = optarg;
        if (c == 'h') return sim_usage(stdout, CLI_OK);
        if (c == O_TCB) o.tcb_status = v;
        else if (c == O_ADV) o.advisories = v;
        else {
            uint64_t days;
            if (initra_parse_uint(v, 3650, &days))
                return cli_error(CLI_USAGE, "sim init: --issued-days-ago '%.40s': want a number of days from 0 to 3650", v);
            o.issued_at = time(NULL) - (time_t)days * 86400;
        }
    }
    if (c < 0) return CLI_USAGE;
    char dir[4096];
    initra_err err;
    if (initra_sim_check_opts(&o, &err)) return cli_error(CLI_USAGE, "sim init: %s", err.msg);
    if (initra_sim_dir(dir, sizeof dir, &err) || initra_sim_init(dir, &o, &err)) return cli_err(CLI_FAIL, &err);
    printf("sim platform rebuilt in %s: TCB status %s%s%s\n", dir, o.tcb_status ? o.tcb_status : "UpToDate",
           o.advisories && *o.advisories ? ", advisories " : "", o.advisories ? o.advisories : "");
    return CLI_OK;
}

/* Exactly n bytes of hex for option opt. */
static int opt_hex(const char *cmd, const char *opt, const char *v, uint8_t *out, size_t n)
{
    if (initra_unhex(v, out, n))
        return cli_error(CLI_USAGE, "sim %s: %s '%.80s%s': want exactly %zu hex digits (%zu bytes)", cmd, opt, v,
                         strlen(v) > 80 ? "..." : "", 2 * n, n);
    return CLI_OK;
}

static int opt_u16(const char *cmd, const char *opt, const char *v, uint16_t *out)
{
    uint64_t x;
    initra_err err;
    if (initra_refuse_leading_zero(opt, v, &err)) return cli_error(CLI_USAGE, "sim %s: %s", cmd, err.msg);
    if (initra_parse_uint(v, 0xffff, &x))
        return cli_error(CLI_USAGE, "sim %s: %s '%.80s': want a number from 0 to 65535 (decimal or 0x hex)", cmd, opt,
                         v);
    *out = (uint16_t)x;
    return CLI_OK;
}

/* The enclave identity options shared by `sim quote` and `sim ratls-cert`. */
typedef struct {
    initra_sgx_report_body id;
    int kss;
} identity_opts;

static void identity_init(identity_opts *o)
{
    memset(o, 0, sizeof *o);
    o->id.attributes.flags = INITRA_ATTR_INIT | INITRA_ATTR_MODE64BIT;
    o->id.attributes.xfrm = 0xe7;
}

/* The option tables of `sim quote` and `sim ratls-cert`: the identity options, then each command's own.
 * An option is added in its table and handled in one switch. */
enum {
    O_MRENCLAVE = 256, O_MRSIGNER, O_ISV_PROD_ID, O_ISV_SVN, O_CONFIG_ID, O_CONFIG_SVN, O_FAMILY_ID, O_EXT_PROD_ID,
    O_DEBUG, O_KSS, O_REPORT_DATA, O_KEY_OUT, O_CERT_OUT, O_FORMAT, O_VALID_HOURS,
};
#define IDENTITY_OPTIONS                                                                                        \
    {"mrenclave", required_argument, NULL, O_MRENCLAVE}, {"mrsigner", required_argument, NULL, O_MRSIGNER},     \
    {"isv-prod-id", required_argument, NULL, O_ISV_PROD_ID}, {"isv-svn", required_argument, NULL, O_ISV_SVN},   \
    {"config-id", required_argument, NULL, O_CONFIG_ID}, {"config-svn", required_argument, NULL, O_CONFIG_SVN}, \
    {"family-id", required_argument, NULL, O_FAMILY_ID},                                                        \
    {"ext-prod-id", required_argument, NULL, O_EXT_PROD_ID}, {"debug", no_argument, NULL, O_DEBUG},             \
    {"kss", no_argument, NULL, O_KSS}, {"help", no_argument, NULL, 'h'}

/* Applies identity option c (value v): 1 applied, 0 not an identity option, or -(exit code) on a bad value. */
static int identity_opt(const char *cmd, identity_opts *o, int c, const char *v)
{
    initra_sgx_report_body *id = &o->id;
    int rc = CLI_OK;
    switch (c) {
    case O_DEBUG: id->attributes.flags |= INITRA_ATTR_DEBUG; break;
    case O_KSS: o->kss = 1; break;
    case O_MRENCLAVE: rc = opt_hex(cmd, "--mrenclave", v, id->mr_enclave, 32); break;
    case O_MRSIGNER: rc = opt_hex(cmd, "--mrsigner", v, id->mr_signer, 32); break;
    case O_ISV_PROD_ID: rc = opt_u16(cmd, "--isv-prod-id", v, &id->isv_prod_id); break;
    case O_ISV_SVN: rc = opt_u16(cmd, "--isv-svn", v, &id->isv_svn); break;
    case O_CONFIG_SVN: rc = opt_u16(cmd, "--config-svn", v, &id->config_svn), o->kss = 1; break;
    case O_FAMILY_ID: rc = opt_hex(cmd, "--family-id", v, id->isv_family_id, 16), o->kss = 1; break;
    case O_EXT_PROD_ID: rc = opt_hex(cmd, "--ext-prod-id", v, id->isv_ext_prod_id, 16), o->kss = 1; break;
    case O_CONFIG_ID: {
        initra_err err;
        o->kss = 1;
        if (initra_config_id_parse(v, id->config_id, &err)) {
            size_t skip = strncmp(err.msg, "config_id: ", 11) ? 0 : 11;
            rc = cli_error(CLI_USAGE, "sim %s: --config-id '%.80s': %s", cmd, v, err.msg + skip);
        }
        break;
    }
    default: return 0;
    }
    return rc == CLI_OK ? 1 : -rc;
}

static void identity_finish(identity_opts *o)
{
    if (o->kss) o->id.attributes.flags |= INITRA_ATTR_KSS;
}

static int sim_quote_cmd(int argc, char **argv)
{
    identity_opts o;
    uint8_t rd[64] = {0};
    const char *out = NULL;
    int rc;
    static const struct option opts[] = {IDENTITY_OPTIONS, {"report-data", required_argument, NULL, O_REPORT_DATA},
                                         {NULL, 0, NULL, 0}};
    identity_init(&o);
    optind = 0;
    int c;
    while ((c = cli_getopt(argc, argv, "+:ho:", opts, "sim quote", "sim")) > 0) {
        const char *v = optarg;
        if (c == 'h') return sim_usage(stdout, CLI_OK);
        if ((rc = identity_opt("quote", &o, c, v)) != 0) {
            if (rc < 0) return -rc;
            continue;
        }
        if (c == 'o') {
            out = v;
        } else { /* --report-data */
            if (cli_report_data(v, rd))
                return cli_error(CLI_USAGE, "sim quote: --report-data '%.80s%s': want an even number of hex digits, at "
                                            "most 128 (64 bytes)", v, strlen(v) > 80 ? "..." : "");
        }
    }
    if (c < 0) return CLI_USAGE;
    if (!out) return cli_error(CLI_USAGE, "sim quote: -o FILE is required (-o - for standard output)");
    identity_finish(&o);
    initra_sim *sim;
    if ((rc = open_sim(&sim)) != CLI_OK) return rc;
    uint8_t *q;
    size_t n;
    initra_err err;
    rc = initra_sim_quote(sim, &o.id, rd, &q, &n, &err) ? cli_err(CLI_FAIL, &err) : CLI_OK;
    initra_sim_close(sim);
    if (rc != CLI_OK) return rc;
    if (cli_write_output(out, q, n, &err)) rc = cli_err(CLI_FAIL, &err);
    free(q);
    return rc;
}

/* sim ratls-cert [identity options] [--format occlum|tcg|occlum+tcg] [--valid-hours N] --key-out K --cert-out C */
static int sim_ratls_cmd(int argc, char **argv)
{
    identity_opts o;
    const char *key_out = NULL, *cert_out = NULL;
    int rc, format = INITRA_RATLS_OCCLUM;
    uint16_t hours = 12;
    static const struct option opts[] = {IDENTITY_OPTIONS,
                                         {"key-out", required_argument, NULL, O_KEY_OUT},
                                         {"cert-out", required_argument, NULL, O_CERT_OUT},
                                         {"format", required_argument, NULL, O_FORMAT},
                                         {"valid-hours", required_argument, NULL, O_VALID_HOURS},
                                         {NULL, 0, NULL, 0}};
    identity_init(&o);
    optind = 0;
    int c;
    while ((c = cli_getopt(argc, argv, "+:h", opts, "sim ratls-cert", "sim")) > 0) {
        const char *v = optarg;
        if (c == 'h') return sim_usage(stdout, CLI_OK);
        if ((rc = identity_opt("ratls-cert", &o, c, v)) != 0) {
            if (rc < 0) return -rc;
            continue;
        }
        if (c == O_KEY_OUT) key_out = v;
        else if (c == O_CERT_OUT) cert_out = v;
        else if (c == O_VALID_HOURS) {
            if ((rc = opt_u16("ratls-cert", "--valid-hours", v, &hours)) != CLI_OK) return rc;
            if (hours == 0 || hours > 24 * 30)
                return cli_error(CLI_USAGE, "sim ratls-cert: --valid-hours %u: want 1 to 720 (RA-TLS certificates are short-lived)", hours);
        } else if (!(format = initra_ratls_format_parse(v)))
            return cli_error(CLI_USAGE, "sim ratls-cert: --format '%.40s': want occlum, tcg or occlum+tcg", v);
    }
    if (c < 0) return CLI_USAGE;
    if (!key_out || !cert_out)
        return cli_error(CLI_USAGE, "sim ratls-cert: --key-out FILE and --cert-out FILE are required");
    identity_finish(&o);
    initra_sim *sim;
    if ((rc = open_sim(&sim)) != CLI_OK) return rc;
    initra_sim_quoter ctx = {.sim = sim, .identity = &o.id};
    char *cert = NULL, *key = NULL;
    initra_err err;
    rc = initra_ratls_create(initra_sim_quoter_quote, &ctx, format, (long)hours * 3600, &cert, &key, &err) ? cli_err(CLI_FAIL, &err)
                                                                                                 : CLI_OK;
    initra_sim_close(sim);
    if (rc == CLI_OK && (initra_write_file_atomic(key_out, key, strlen(key), 0600, &err) ||
                         initra_write_file_atomic(cert_out, cert, strlen(cert), 0644, &err)))
        rc = cli_err(CLI_FAIL, &err);
    free(cert);
    if (key) initra_free_secret(key, strlen(key));
    return rc;
}

/* sim collateral|root -o FILE */
static int sim_export(int argc, char **argv)
{
    const char *out = NULL;
    static const struct option opts[] = {{"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0}};
    char cmd[32];
    snprintf(cmd, sizeof cmd, "sim %s", argv[0]);
    optind = 0;
    int c;
    while ((c = cli_getopt(argc, argv, "+:ho:", opts, cmd, "sim")) > 0) {
        if (c == 'h') return sim_usage(stdout, CLI_OK);
        out = optarg;
    }
    if (c < 0) return CLI_USAGE;
    if (!out) return cli_error(CLI_USAGE, "sim %s: -o FILE is required (-o - for standard output)", argv[0]);
    initra_sim *sim;
    int rc = open_sim(&sim);
    if (rc != CLI_OK) return rc;
    initra_err err;
    uint8_t *data = NULL;
    size_t n = 0;
    if (!strcmp(argv[0], "root")) {
        rc = initra_sim_root_der(sim, &data, &n, &err);
    } else {
        char *json = NULL;
        rc = initra_sim_collateral(sim, &json, &err);
        data = (uint8_t *)json;
        n = json ? strlen(json) : 0;
    }
    initra_sim_close(sim);
    rc = rc ? cli_err(CLI_FAIL, &err) : cli_write_output(out, data, n, &err) ? cli_err(CLI_FAIL, &err) : CLI_OK;
    free(data);
    return rc;
}

static int sim_mount_cmd(int argc, char **argv)
{
    const char *key_file = NULL;
    enum { O_KEY_FILE = 256 };
    static const struct option opts[] = {{"key-file", required_argument, NULL, O_KEY_FILE},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    optind = 0;
    int c;
    while ((c = cli_getopt(argc, argv, "+:h", opts, "sim mount-rootfs", "sim")) > 0) {
        if (c == 'h') return sim_usage(stdout, CLI_OK);
        key_file = optarg;
    }
    if (c < 0) return CLI_USAGE;
    initra_err err;
    uint8_t key[16], *buf = NULL;
    size_t n = 0;
    if (key_file && (initra_read_file(key_file, 4096, &buf, &n, &err) || initra_image_key_parse(buf, n, key, &err))) {
        if (buf) initra_free_secret(buf, n);
        return cli_err(CLI_FAIL, &err);
    }
    if (buf) initra_free_secret(buf, n);
    initra_attester *a = initra_attest_detect(&err);
    int rc = a ? initra_attest_mount_rootfs(a, key_file ? key : NULL, &err) : -1;
    initra_zero(key, sizeof key);
    if (a) initra_attest_free(a);
    return rc ? cli_err(CLI_FAIL, &err) : CLI_OK;
}

int cmd_sim(int argc, char **argv)
{
    if (argc < 2) return sim_usage(stderr, CLI_USAGE);
    const char *sub = argv[1];
    if (cli_is_help(sub)) return sim_usage(stdout, CLI_OK);
    if (!strcmp(sub, "init")) return sim_init(argc - 1, argv + 1);
    if (!strcmp(sub, "quote")) return sim_quote_cmd(argc - 1, argv + 1);
    if (!strcmp(sub, "ratls-cert")) return sim_ratls_cmd(argc - 1, argv + 1);
    if (!strcmp(sub, "collateral") || !strcmp(sub, "root")) return sim_export(argc - 1, argv + 1);
    if (!strcmp(sub, "mount-rootfs")) return sim_mount_cmd(argc - 1, argv + 1);
    return cli_error(CLI_USAGE, "sim: unknown subcommand '%s' (init, quote, ratls-cert, collateral, root, mount-rootfs)",
                     sub);
}
