/* `initra kms aecs-admin` as its own program for tests/t_kms_aecs_admin.sh until the integrator routes
 * `initra kms aecs-admin` in tools/main.c (the test prefers the routed command once it exists). The
 * command's source is compiled in; the three CLI helpers it needs are restated here. */
#include <stdarg.h>
#include <stdio.h>

#include "../../tools/cmd_kms_aecs.c"

int cli_error(int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "initra: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    va_end(ap);
    return code;
}

int cli_err(int code, const initra_err *err) { return cli_error(code, "%s", err->msg); }

const char *cli_optarg(int argc, char **argv, int *i)
{
    if (*i + 1 < argc) return argv[++*i];
    cli_error(CLI_USAGE, "option %s needs a value", argv[*i]);
    return NULL;
}

int main(int argc, char **argv) { return cmd_kms_aecs_admin(argc - 1, argv + 1); }
