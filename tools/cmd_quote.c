/* initra quote dump FILE [--json] [--pck] */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "initra/dcap.h"
#include "initra/sgx.h"

static int quote_usage(FILE *f, int code)
{
    fprintf(f, "usage: initra quote dump FILE [--json] [--pck]\n"
               "       initra quote verify FILE [--collateral FILE | --pccs URL] [--at UNIX_TIME] ...\n"
               "       initra quote self [--report-data HEX] [--json] [-o FILE]\n"
               "  Prints every header and report body field of an SGX (v3, v4) or TDX (v4, v5) quote.\n"
               "  --pck: instead, the PCK certificate's SGX extension (%s): FMSPC, PCE-ID, PCESVN,\n"
               "  CPUSVN, TCB components, SGX type, PPID (the chain is not verified: that is `quote verify`).\n"
               "  FILE '-' reads standard input.\n", INITRA_OID_SGX_EXT);
    return code;
}

void cli_print_quote(const initra_quote *q, int as_json)
{
    if (as_json) {
        json_t *o = initra_quote_to_json(q);
        json_dumpf(o, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        fputc('\n', stdout);
        json_decref(o);
    } else {
        initra_quote_print(stdout, q);
    }
}

static int print_pck(const initra_quote *q, int as_json, initra_err *err)
{
    initra_pck_ext e;
    char subject[128], issuer[128];
    if (initra_quote_pck_ext(q, &e, subject, issuer, err)) return -1;
    if (as_json) {
        json_t *o = initra_pck_ext_to_json(&e);
        json_object_set_new(o, "subject", json_string(subject));
        json_object_set_new(o, "issuer", json_string(issuer));
        json_dumpf(o, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        fputc('\n', stdout);
        json_decref(o);
    } else {
        printf("PCK certificate '%s' issued by '%s', SGX extension %s\n", subject, issuer, INITRA_OID_SGX_EXT);
        initra_pck_ext_print(stdout, &e);
    }
    return 0;
}

static int dump(int argc, char **argv)
{
    enum { O_JSON = 256, O_PCK };
    static const struct option opts[] = {{"json", no_argument, NULL, O_JSON},
                                         {"pck", no_argument, NULL, O_PCK},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    const char *file = NULL;
    int as_json = 0, pck = 0, c;
    optind = 0;
    while ((c = cli_getopt(argc, argv, "-:h", opts, "quote dump", "quote dump")) > 0) {
        if (c == 'h') return quote_usage(stdout, CLI_OK);
        if (c == O_JSON) as_json = 1;
        else if (c == O_PCK) pck = 1;
        else if (!file) file = optarg;
        else return cli_error(CLI_USAGE, "quote dump: one FILE only (got '%s' too)", optarg);
    }
    if (c < 0) return CLI_USAGE;
    if (!file) return quote_usage(stderr, CLI_USAGE);
    initra_err err;
    uint8_t *buf;
    size_t n;
    if (initra_read_file(strcmp(file, "-") ? file : "/dev/stdin", INITRA_QUOTE_MAX_SIZE, &buf, &n, &err))
        return cli_err(CLI_USAGE, &err);
    initra_quote q;
    if (initra_quote_parse(buf, n, &q, &err)) {
        free(buf);
        return cli_error(CLI_FAIL, "%s: %s", file, err.msg);
    }
    if (pck) {
        int rc = print_pck(&q, as_json, &err);
        free(buf);
        return rc ? cli_error(CLI_FAIL, "%s: %s", file, err.msg) : CLI_OK;
    }
    cli_print_quote(&q, as_json);
    free(buf);
    return CLI_OK;
}

int cmd_quote(int argc, char **argv)
{
    if (argc < 2 || cli_is_help(argv[1])) return quote_usage(argc < 2 ? stderr : stdout, argc < 2 ? CLI_USAGE : CLI_OK);
    if (!strcmp(argv[1], "dump")) return dump(argc - 1, argv + 1);
    if (!strcmp(argv[1], "verify")) return cmd_quote_verify(argc - 1, argv + 1);
    if (!strcmp(argv[1], "self")) return cmd_quote_self(argc - 1, argv + 1);
    return cli_error(CLI_USAGE, "quote: unknown subcommand '%s' (dump, verify, self)", argv[1]);
}
