/* initra init (also /bin/init inside an instance): the Init-RA client. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "initra/init.h"

/* Variables that name a PCCS or collateral source outside enclaves. Inside one (init always is) the host
 * sets the environment, so they are ignored: the measured (or CONFIGID-bound) configuration decides. */
static void notice_ignored_env(const char *conf)
{
    static const char *const names[] = {"PCCS_URL", INITRA_UA_PCCS_ENV, "INITRA_QCNL_CONF", NULL};
    for (const char *const *n = names; *n; n++) {
        const char *v = getenv(*n);
        if (v && *v)
            fprintf(stderr, "init: notice: $%s is ignored inside an enclave: the PCCS and trust roots come only from %s "
                            "(\"initra\": {\"collateral\", \"pccs_url\", \"trust_roots\"}; AECS: ua_env_pccs_url)\n",
                    *n, conf);
    }
}

int cmd_init(int argc, char **argv)
{
    initra_err err;
    /* First: this process will hold secrets. */
    if (initra_no_core_dumps(&err)) return cli_err(CLI_FAIL, &err);
    const char *conf = INITRA_INIT_CONF_DEFAULT;
    enum { O_CONF = 256 };
    static const struct option opts[] = {{"conf", required_argument, NULL, O_CONF},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    optind = 0;
    int opt;
    while ((opt = cli_getopt(argc, argv, "+:h", opts, "init", "init")) > 0) {
        if (opt == O_CONF) {
            conf = optarg;
            continue;
        }
        printf("usage: initra init [--conf FILE]   (as /bin/init: no arguments)\n"
               "  Reads FILE (default %s, Occlum's GRPC-RATLS or AECS init_ra_conf.json), attests this\n"
               "  enclave to the KMS (kms_server, or $%s: HOST:PORT, or several separated by commas,\n"
               "  tried in order while unreachable), verifies the KMS against ra_config, fetches\n"
               "  every kms_keys[].key and writes each to its path (0600), all or none. Exit 0 lets the\n"
               "  application start. GRPC-RATLS: mutual RA-TLS. AECS (kms_keys[].service, ra_config ua_*):\n"
               "  Passport reports both ways, the server pinned by ra_config ua_policy_*. The PCCS and trust\n"
               "  roots come only from FILE (\"initra\" section, ua_env_pccs_url): $PCCS_URL and $%s are\n"
               "  ignored inside the enclave. Core dumps are off.\n",
               INITRA_INIT_CONF_DEFAULT, INITRA_KMS_SERVER_ENV, INITRA_UA_PCCS_ENV);
        return CLI_OK;
    }
    if (opt < 0) return CLI_USAGE;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    initra_init_conf c;
    if (initra_init_conf_load(conf, &c, &err)) return cli_err(CLI_FAIL, &err);
    notice_ignored_env(conf);
    if (c.flavour == INITRA_INIT_AECS && c.unused[0])
        fprintf(stderr, "init: notice: %s: ra_config %s set but not used (EPID/IAS and hosted UAS are not supported; "
                        "the AECS server's DCAP report is verified from its own collateral)\n",
                conf, c.unused);
    const char *warning = initra_init_conf_warning(&c);
    if (warning) fprintf(stderr, "init: %s (kms_server %s)\n", warning, c.kms_server);
    int n = 0;
    const char *server = NULL;
    int rc = initra_init_fetch(conf, &c, INITRA_INIT_EXITING, &n, &server, &err);
    if (rc) {
        initra_init_conf_free(&c);
        return cli_err(CLI_FAIL, &err);
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    fprintf(stderr, "init: %d key%s from %s written in %ld ms\n", n, n == 1 ? "" : "s", server ? server : c.kms_server,
            (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000);
    initra_init_conf_free(&c);
    /* Every key is on disk (synced, renamed) and every buffer zeroized: leave now. A normal exit runs
     * gRPC's and OpenSSL's teardown, which costs more than the whole fetch and delays the application. */
    fflush(stderr);
    _exit(CLI_OK);
}
