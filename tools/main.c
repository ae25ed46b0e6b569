/* initra: one multi-call binary. `initra COMMAND ...`; invoked as `init`, it runs the init-RA client. */
#include <getopt.h>
#include <libgen.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"

int cli_error(int code, const char *fmt, ...)
{
    va_list ap;
    fputs("initra: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    return code;
}

int cli_err(int code, const initra_err *err) { return cli_error(code, "%s", err->msg); }

int cli_err_flags(int code, const initra_err *err, const char *const *map)
{
    char msg[sizeof err->msg + 128];
    snprintf(msg, sizeof msg, "%s", err->msg);
    for (; map[0] && map[1]; map += 2) {
        size_t n = strlen(map[0]), f = strlen(map[1]);
        for (char *p = strstr(msg, map[0]); p; p = strstr(p + 1, map[0])) {
            if ((p != msg && p[-1] != ' ') || (p[n] && p[n] != ' ' && p[n] != ':')) continue;
            if (strlen(msg) + f - n >= sizeof msg) break;
            memmove(p + f, p + n, strlen(p + n) + 1);
            memcpy(p, map[1], f);
            break;
        }
    }
    return cli_error(code, "%s", msg);
}

int cli_getopt(int argc, char **argv, const char *shortopts, const struct option *opts, const char *cmd,
               const char *help)
{
    static int rest; /* "-:" tables: getopt_long returned -1 ("--"): the rest are positional, unread by it */
    if (optind == 0) rest = 0;
    if (rest) return optind < argc ? (optarg = argv[optind++], 1) : 0;
    opterr = 0;
    /* Long options must be spelled out: getopt_long would take an abbreviation (--secret for --secrets). */
    int next = optind ? optind : 1;
    if (next < argc && !strncmp(argv[next], "--", 2) && argv[next][2]) {
        size_t n = strcspn(argv[next] + 2, "=");
        const struct option *o = opts;
        while (o->name && !(strlen(o->name) == n && !strncmp(o->name, argv[next] + 2, n))) o++;
        if (!o->name)
            return cli_error(CLI_USAGE, "%s: unknown argument '%s'; see `initra %s --help`", cmd, argv[next], help), -1;
    }
    int c = getopt_long(argc, argv, shortopts, opts, NULL);
    if (c == ':') return cli_error(CLI_USAGE, "option %s needs a value", argv[optind - 1]), -1;
    if (c == '?')
        return cli_error(CLI_USAGE, "%s: unknown argument '%s'; see `initra %s --help`", cmd, argv[optind - 1], help),
               -1;
    if (c != -1) return c;
    /* "-:" tables take positional arguments: each comes back as 1 (in optarg), those after "--" too. */
    if (shortopts[0] == '-' && optind < argc) return rest = 1, optarg = argv[optind++], 1;
    if (optind < argc)
        return cli_error(CLI_USAGE, "%s: unknown argument '%s'; see `initra %s --help`", cmd, argv[optind], help), -1;
    return 0;
}

int cli_report_data(const char *hex, uint8_t rd[64])
{
    size_t len = strlen(hex);
    memset(rd, 0, 64);
    return len > 128 || len % 2 || initra_unhex(hex, rd, len / 2) ? -1 : 0;
}

int cli_write_output(const char *path, const void *data, size_t n, initra_err *err)
{
    if (strcmp(path, "-") == 0) {
        if (fwrite(data, 1, n, stdout) != n || fflush(stdout) != 0) return initra_fail(err, "stdout: write failed");
        return 0;
    }
    return initra_write_file_atomic(path, data, n, 0644, err);
}

static const struct {
    const char *name;
    int (*fn)(int, char **);
    const char *help;
} commands[] = {
    {"quote", cmd_quote, "quote dump|verify|self ...          print, verify or produce a quote"},
    {"sim", cmd_sim, "sim init|quote|collateral|root ...  the simulated SGX platform"},
    {"new", cmd_new, "new DIR [--init-ra grpc_ratls|aecs] create an enclave instance"},
    {"build", cmd_build, "build DIR [--sign-key PEM]         measure and sign an instance"},
    {"run", cmd_run, "run DIR [...] [--] PROG [ARGS...]   launch an instance on the simulated platform"},
    {"print", cmd_print, "print mrenclave|mrsigner ...        an instance's identity values"},
    {"kms", cmd_kms, "kms serve ...                       the key server (GRPC-RATLS)"},
    {"init", cmd_init, "init [--conf FILE]                  the Init-RA client (/bin/init in an instance)"},
    {"config-id", cmd_config_id, "config-id FILE...                   CONFIGID (base64 SHA-512) of files"},
};

static int usage(FILE *f, int code)
{
    fprintf(f, "usage: initra COMMAND [ARGS...]\n\ncommands:\n");
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++) fprintf(f, "  %s\n", commands[i].help);
    fprintf(f, "\n`initra COMMAND --help` shows a command's options.\n");
    return code;
}

int main(int argc, char **argv)
{
    /* Invoked as init (/bin/init inside an instance): the Init-RA client. */
    const char *self = strrchr(argv[0], '/') ? strrchr(argv[0], '/') + 1 : argv[0];
    if (!strcmp(self, "init")) return cmd_init(argc, argv);
    if (argc < 2) return usage(stderr, CLI_USAGE);
    if (cli_is_help(argv[1]) || !strcmp(argv[1], "help")) return usage(stdout, CLI_OK);
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (!strcmp(argv[1], commands[i].name)) return commands[i].fn(argc - 1, argv + 1);
    cli_error(CLI_USAGE, "unknown command '%s'; run `initra --help` for the list", argv[1]);
    return CLI_USAGE;
}
