/* initra init (also /bin/init inside an instance): the Init-RA client. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "initra/init.h"

int cmd_init(int argc, char **argv)
{
    const char *conf = INITRA_INIT_CONF_DEFAULT;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help")) {
            printf("usage: initra init [--conf FILE]   (as /bin/init: no arguments)\n"
                   "  Reads FILE (default %s, Occlum's GRPC-RATLS init_ra_conf.json), attests this enclave to the\n"
                   "  KMS (kms_server, or $%s) over mutual RA-TLS, verifies the KMS against ra_config, fetches\n"
                   "  every kms_keys[].key and writes each to its path (0600), all or none. Exit 0 lets the\n"
                   "  application start.\n",
                   INITRA_INIT_CONF_DEFAULT, INITRA_KMS_SERVER_ENV);
            return CLI_OK;
        }
        if (!strcmp(argv[i], "--conf")) {
            if (!(conf = cli_optarg(argc, argv, &i))) return CLI_USAGE;
        } else {
            return cli_error(CLI_USAGE, "init: unknown argument '%s'", argv[i]);
        }
    }
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    initra_err err;
    initra_init_conf c;
    if (initra_init_conf_load(conf, &c, &err)) return cli_err(CLI_FAIL, &err);
    int n = 0;
    int rc = initra_init_fetch(conf, &c, &n, &err);
    if (rc) {
        initra_init_conf_free(&c);
        return cli_err(CLI_FAIL, &err);
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    fprintf(stderr, "init: %d key%s from %s written in %ld ms\n", n, n == 1 ? "" : "s", c.kms_server,
            (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000);
    initra_init_conf_free(&c);
    return CLI_OK;
}
