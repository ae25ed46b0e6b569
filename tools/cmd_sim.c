/* initra sim init|quote|collateral|root: the simulated SGX platform ($INITRA_SIM_DIR). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "initra/attest.h"

static int sim_usage(FILE *f, int code)
{
    fprintf(f,
            "usage: initra sim init [--tcb-status STATUS] [--advisories ID,...]\n"
            "       initra sim quote [--mrenclave HEX64] [--mrsigner HEX64] [--isv-prod-id N] [--isv-svn N]\n"
            "                        [--config-id B64] [--config-svn N] [--family-id HEX32] [--ext-prod-id HEX32]\n"
            "                        [--debug] [--kss] [--report-data HEX] -o FILE\n"
            "       initra sim collateral -o FILE\n"
            "       initra sim root -o FILE\n"
            "  The simulated SGX platform in $INITRA_SIM_DIR (default ~/.local/share/initra/sim), created on first use.\n"
            "  init      rebuilds it (new keys and certificates) with the given TCB status: UpToDate (default),\n"
            "            SWHardeningNeeded, ConfigurationNeeded, ConfigurationAndSWHardeningNeeded, OutOfDate,\n"
            "            OutOfDateConfigurationNeeded or Revoked, and advisory IDs such as INTEL-SA-00615.\n"
            "  quote     a DCAP v3 quote for the given enclave identity (defaults: zeros, attributes INIT|MODE64BIT,\n"
            "            xfrm 0xe7). Any of --config-id/--config-svn/--family-id/--ext-prod-id sets the KSS attribute.\n"
            "            --report-data: up to 64 bytes of hex, zero padded. N: decimal or 0x hex, at most 65535.\n"
            "  collateral  the collateral bundle (JSON) a verifier needs for sim quotes.\n"
            "  root      the sim root CA certificate (DER): the trust anchor for sim quotes.\n"
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
    initra_sim_init_opts o = {NULL, NULL};
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--tcb-status")) {
            if (!(o.tcb_status = cli_optarg(argc, argv, &i))) return CLI_USAGE;
        } else if (!strcmp(argv[i], "--advisories")) {
            if (!(o.advisories = cli_optarg(argc, argv, &i))) return CLI_USAGE;
        } else if (!strcmp(argv[i], "--help")) {
            return sim_usage(stdout, CLI_OK);
        } else {
            return cli_error(CLI_USAGE, "sim init: unknown argument '%s'; see `initra sim --help`", argv[i]);
        }
    }
    char dir[4096];
    initra_err err;
    if (initra_sim_check_opts(&o, &err)) return cli_error(CLI_USAGE, "sim init: %s", err.msg);
    if (initra_sim_dir(dir, sizeof dir, &err) || initra_sim_init(dir, &o, &err)) return cli_err(CLI_FAIL, &err);
    printf("sim platform rebuilt in %s: TCB status %s%s%s\n", dir, o.tcb_status ? o.tcb_status : "UpToDate",
           o.advisories && *o.advisories ? ", advisories " : "", o.advisories ? o.advisories : "");
    return CLI_OK;
}

/* Exactly n bytes of hex for option opt. */
static int opt_hex(const char *opt, const char *v, uint8_t *out, size_t n)
{
    if (initra_unhex(v, out, n))
        return cli_error(CLI_USAGE, "sim quote: %s '%.80s%s': want exactly %zu hex digits (%zu bytes)", opt, v,
                         strlen(v) > 80 ? "..." : "", 2 * n, n);
    return CLI_OK;
}

static int opt_u16(const char *opt, const char *v, uint16_t *out)
{
    uint64_t x;
    if (initra_parse_uint(v, 0xffff, &x))
        return cli_error(CLI_USAGE, "sim quote: %s '%.80s': want a number from 0 to 65535 (decimal or 0x hex)", opt, v);
    *out = (uint16_t)x;
    return CLI_OK;
}

static int sim_quote_cmd(int argc, char **argv)
{
    initra_sgx_report_body id;
    uint8_t rd[64] = {0};
    const char *out = NULL;
    int kss = 0, rc;
    memset(&id, 0, sizeof id);
    id.attributes.flags = INITRA_ATTR_INIT | INITRA_ATTR_MODE64BIT;
    id.attributes.xfrm = 0xe7;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v;
        if (!strcmp(a, "--debug")) {
            id.attributes.flags |= INITRA_ATTR_DEBUG;
            continue;
        }
        if (!strcmp(a, "--kss")) {
            kss = 1;
            continue;
        }
        if (!strcmp(a, "--help")) return sim_usage(stdout, CLI_OK);
        if (strcmp(a, "--mrenclave") && strcmp(a, "--mrsigner") && strcmp(a, "--isv-prod-id") && strcmp(a, "--isv-svn") &&
            strcmp(a, "--config-id") && strcmp(a, "--config-svn") && strcmp(a, "--family-id") &&
            strcmp(a, "--ext-prod-id") && strcmp(a, "--report-data") && strcmp(a, "-o"))
            return cli_error(CLI_USAGE, "sim quote: unknown argument '%s'; see `initra sim --help`", a);
        if (!(v = cli_optarg(argc, argv, &i))) return CLI_USAGE;
        rc = CLI_OK;
        if (!strcmp(a, "-o")) out = v;
        else if (!strcmp(a, "--mrenclave")) rc = opt_hex(a, v, id.mr_enclave, 32);
        else if (!strcmp(a, "--mrsigner")) rc = opt_hex(a, v, id.mr_signer, 32);
        else if (!strcmp(a, "--isv-prod-id")) rc = opt_u16(a, v, &id.isv_prod_id);
        else if (!strcmp(a, "--isv-svn")) rc = opt_u16(a, v, &id.isv_svn);
        else if (!strcmp(a, "--config-svn")) rc = opt_u16(a, v, &id.config_svn), kss = 1;
        else if (!strcmp(a, "--family-id")) rc = opt_hex(a, v, id.isv_family_id, 16), kss = 1;
        else if (!strcmp(a, "--ext-prod-id")) rc = opt_hex(a, v, id.isv_ext_prod_id, 16), kss = 1;
        else if (!strcmp(a, "--config-id")) {
            uint8_t *raw;
            size_t n;
            initra_err err;
            kss = 1;
            if (initra_b64_decode(v, &raw, &n, &err))
                return cli_error(CLI_USAGE, "sim quote: --config-id '%.80s' is not base64: %s", v, err.msg);
            if (n > 64) rc = cli_error(CLI_USAGE, "sim quote: --config-id decodes to %zu bytes; CONFIGID holds at most 64", n);
            else memcpy(id.config_id, raw, n); /* zero padded */
            free(raw);
        } else { /* --report-data */
            size_t len = strlen(v);
            if (len > 128 || len % 2 || initra_unhex(v, rd, len / 2))
                rc = cli_error(CLI_USAGE, "sim quote: --report-data '%.80s%s': want an even number of hex digits, at most "
                                          "128 (64 bytes)", v, len > 80 ? "..." : "");
        }
        if (rc != CLI_OK) return rc;
    }
    if (!out) return cli_error(CLI_USAGE, "sim quote: -o FILE is required (-o - for standard output)");
    if (kss) id.attributes.flags |= INITRA_ATTR_KSS;
    initra_sim *sim;
    if ((rc = open_sim(&sim)) != CLI_OK) return rc;
    uint8_t *q;
    size_t n;
    initra_err err;
    rc = initra_sim_quote(sim, &id, rd, &q, &n, &err) ? cli_err(CLI_FAIL, &err) : CLI_OK;
    initra_sim_close(sim);
    if (rc != CLI_OK) return rc;
    if (cli_write_output(out, q, n, &err)) rc = cli_err(CLI_FAIL, &err);
    free(q);
    return rc;
}

/* sim collateral|root -o FILE */
static int sim_export(int argc, char **argv)
{
    const char *out = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-o")) {
            if (!(out = cli_optarg(argc, argv, &i))) return CLI_USAGE;
        } else if (!strcmp(argv[i], "--help")) {
            return sim_usage(stdout, CLI_OK);
        } else {
            return cli_error(CLI_USAGE, "sim %s: unknown argument '%s'; see `initra sim --help`", argv[0], argv[i]);
        }
    }
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

int cmd_sim(int argc, char **argv)
{
    if (argc < 2) return sim_usage(stderr, CLI_USAGE);
    const char *sub = argv[1];
    if (!strcmp(sub, "--help") || !strcmp(sub, "-h")) return sim_usage(stdout, CLI_OK);
    if (!strcmp(sub, "init")) return sim_init(argc - 1, argv + 1);
    if (!strcmp(sub, "quote")) return sim_quote_cmd(argc - 1, argv + 1);
    if (!strcmp(sub, "collateral") || !strcmp(sub, "root")) return sim_export(argc - 1, argv + 1);
    return cli_error(CLI_USAGE, "sim: unknown subcommand '%s' (init, quote, collateral, root)", sub);
}
