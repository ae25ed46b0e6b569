/* initra sim ...: placeholder until the simulated platform lands. */
#include "cli.h"

int cmd_sim(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    return cli_error(CLI_USAGE, "sim: not built yet");
}
