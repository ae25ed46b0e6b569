/* initra new / build / run / print / config-id / quote self: enclave instances (not built yet). */
#include "cli.h"

#define STUB(fn, name)                                              \
    int fn(int argc, char **argv)                                   \
    {                                                               \
        (void)argc;                                                 \
        (void)argv;                                                 \
        return cli_error(CLI_USAGE, name ": not built yet");        \
    }
STUB(cmd_new, "new")
STUB(cmd_build, "build")
STUB(cmd_run, "run")
STUB(cmd_print, "print")
STUB(cmd_config_id, "config-id")
STUB(cmd_quote_self, "quote self")
