/* initra command-line front-end: shared helpers. Commands parse arguments, call the library, print. */
#ifndef INITRA_CLI_H
#define INITRA_CLI_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "initra/sgx.h"
#include "initra/util.h"

/* Exit codes: 0 ok, 1 the check failed (verification, policy), 2 usage or unreadable input. */
enum { CLI_OK = 0, CLI_FAIL = 1, CLI_USAGE = 2 };

/* Prints "initra: <message>" as one line on stderr and returns code. */
int cli_error(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Prints "initra: <err->msg>" and returns code. */
int cli_err(int code, const initra_err *err);

/* Prints err as cli_err does, with the library's setting names shown as the options the user typed:
 * map is {"config_id", "--config-id", ..., NULL}; a setting is replaced (first occurrence) where it stands
 * as a word (after the start or a space, before a space, ':' or the end). */
int cli_err_flags(int code, const initra_err *err, const char *const *map);

/* -h and --help ask every command and subcommand for its usage (stdout, exit 0). */
static inline int cli_is_help(const char *a) { return !strcmp(a, "--help") || !strcmp(a, "-h"); }

/* getopt_long over a command's option table (opterr off, shortopts starting with "+:"): the next
 * option's val, with its value in optarg; 0 when the options are done and nothing is left; -1 after
 * printing one usage line: "CMD: unknown argument 'X'; see `initra HELP --help`" (also for a leftover
 * positional argument, or an abbreviated long option) or "option X needs a value". With shortopts starting
 * with "-:" instead, each positional argument comes back in order as 1 with optarg (also those after "--"),
 * so a command may stop there (`run DIR ... PROG ARGS`). Set optind = 0 before the first call. */
struct option;
int cli_getopt(int argc, char **argv, const char *shortopts, const struct option *opts, const char *cmd,
               const char *help);

/* --report-data HEX: an even number of hex digits, at most 128 (64 bytes), into rd zero padded. 0 or -1
 * (the command prints its own usage line). */
int cli_report_data(const char *hex, uint8_t rd[64]);

/* Prints a parsed quote: `quote dump --json` JSON, or the labelled human dump (tools/cmd_quote.c). */
void cli_print_quote(const initra_quote *q, int as_json);

/* Writes data to path (0644, atomically) or to stdout when path is "-". */
int cli_write_output(const char *path, const void *data, size_t n, initra_err *err);

int cmd_quote(int argc, char **argv);        /* tools/cmd_quote.c: dispatches dump, verify, self */
int cmd_quote_verify(int argc, char **argv); /* tools/cmd_quote_verify.c */
int cmd_quote_self(int argc, char **argv);   /* tools/cmd_enclave.c */
int cmd_sim(int argc, char **argv);          /* tools/cmd_sim.c */
int cmd_new(int argc, char **argv);          /* tools/cmd_enclave.c */
int cmd_build(int argc, char **argv);
int cmd_run(int argc, char **argv);
int cmd_print(int argc, char **argv);
int cmd_config_id(int argc, char **argv);
int cmd_kms(int argc, char **argv);          /* tools/cmd_kms.c */
int cmd_init(int argc, char **argv);         /* tools/cmd_init.c */
int cmd_kms_aecs_admin(int argc, char **argv); /* tools/cmd_kms_aecs.c: `initra kms aecs-admin ...` */
int cmd_kms_admin(int argc, char **argv);      /* tools/cmd_kms_admin.c: `initra kms admin ...` */

#endif
