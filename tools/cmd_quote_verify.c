/* initra quote verify: DCAP verification (not built yet). */
#include "cli.h"

int cmd_quote_verify(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    return cli_error(CLI_USAGE, "quote verify: not built yet");
}
