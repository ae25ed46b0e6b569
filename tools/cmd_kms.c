/* initra kms serve: the GRPC-RATLS key server. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "initra/attest.h"
#include "initra/dcap.h"
#include "initra/kms.h"

static int kms_usage(FILE *f, int code)
{
    fprintf(f,
            "usage: initra kms serve [--protocol grpc_ratls] --listen HOST:PORT [--secrets FILE] [--clients FILE]\n"
            "                        [--policy FILE] [--collateral FILE | --pccs URL] [--trust-root DER]...\n"
            "                        [--insecure-no-attestation]\n"
            "       initra kms serve --protocol aecs --listen HOST[:PORT] --store FILE [--collateral FILE | --pccs URL]\n"
            "                        [--trust-root DER]... [--insecure-no-attestation]\n"
            "       initra kms aecs-admin --help\n"
            "  Releases secrets over ratls.GrSecret/GetSecret (gRPC, mutual RA-TLS) to enclaves whose quote verifies\n"
            "  and whose identity the policy allows.\n"
            "  --secrets FILE      Occlum's secret_config.json: { \"name\": \"<base64>\", ... }\n"
            "  --clients FILE      Occlum's dynamic_config.json (or an initra policy): applies to every secret\n"
            "  --policy FILE       initra's per-secret policy; a secret without a rule is readable by no one\n"
            "  --collateral FILE   collateral bundle for verifying clients' quotes; or --pccs URL (outside an enclave\n"
            "                      the default is $PCCS_URL, then the qcnl file; inside, the environment is unused)\n"
            "  --trust-root DER    trust another root besides Intel's (the sim root); repeatable\n"
            "  --insecure-no-attestation  start without a quote provider: clients cannot verify this server\n"
            "  --protocol aecs     AECS v2.0.0 (kubetee.Aecs/GetEnclaveSecret, plaintext HTTP/2, default port 19527):\n"
            "                      secrets and per-secret UA policies from --store (initra kms aecs-admin); clients'\n"
            "                      Passport reports verified with the --trust-root roots; --collateral/--pccs give\n"
            "                      the collateral embedded in this server's own Passport report\n"
            "  SIGHUP reloads the files (a bad file keeps the old configuration); SIGTERM stops.\n");
    return code;
}

/* Outside an enclave the PCCS may default to $PCCS_URL or the qcnl file; inside one the host sets the
 * environment, so only --pccs (or --collateral) names the collateral source there. */
static const char *default_pccs(char *buf, size_t n)
{
    initra_err e;
    initra_attester *a = initra_attest_detect(&e);
    int inside = a != NULL;
    initra_attest_free(a);
    return !inside && initra_pccs_default_url(buf, n, &e) == 0 ? buf : NULL;
}

static int serve_aecs(const initra_kms_aecs_opts *ao, sigset_t *set)
{
    initra_err err;
    initra_kms_aecs *k = initra_kms_aecs_start(ao, &err);
    if (!k) return cli_err(CLI_FAIL, &err);
    for (;;) {
        int sig = sigwaitinfo(set, NULL);
        if (sig == SIGTERM || sig == SIGINT) break;
        if (sig != SIGHUP) continue;
        if (initra_kms_aecs_reload(k, &err)) fprintf(stderr, "kms: reload refused, keeping the old store: %s\n", err.msg);
        else fprintf(stderr, "kms: reloaded %s\n", ao->store_path);
    }
    fprintf(stderr, "kms: stopping\n");
    initra_kms_aecs_stop(k);
    return CLI_OK;
}

static int serve(int argc, char **argv)
{
    initra_kms_opts o;
    memset(&o, 0, sizeof o);
    const char *roots[8];
    size_t n_roots = 0;
    const char *protocol = "grpc_ratls", *store = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = NULL;
        if (!strcmp(a, "--help")) return kms_usage(stdout, CLI_OK);
        if (!strcmp(a, "--insecure-no-attestation")) {
            o.insecure_no_attestation = 1;
            continue;
        }
        if (strcmp(a, "--listen") && strcmp(a, "--secrets") && strcmp(a, "--clients") && strcmp(a, "--policy") &&
            strcmp(a, "--collateral") && strcmp(a, "--pccs") && strcmp(a, "--trust-root") &&
            strcmp(a, "--protocol") && strcmp(a, "--store"))
            return cli_error(CLI_USAGE, "kms serve: unknown argument '%s'; see `initra kms --help`", a);
        if (!(v = cli_optarg(argc, argv, &i))) return CLI_USAGE;
        if (!strcmp(a, "--listen")) o.listen = v;
        else if (!strcmp(a, "--secrets")) o.secrets_path = v;
        else if (!strcmp(a, "--clients")) o.clients_path = v;
        else if (!strcmp(a, "--policy")) o.policy_path = v;
        else if (!strcmp(a, "--protocol")) protocol = v;
        else if (!strcmp(a, "--store")) store = v;
        else if (!strcmp(a, "--collateral")) o.verifier.collateral = v;
        else if (!strcmp(a, "--pccs")) o.verifier.pccs_url = v;
        else if (n_roots == 8) return cli_error(CLI_USAGE, "kms serve: at most 8 --trust-root");
        else roots[n_roots++] = v;
    }
    if (strcmp(protocol, "grpc_ratls") && strcmp(protocol, "aecs"))
        return cli_error(CLI_USAGE, "kms serve: --protocol '%.40s' is not grpc_ratls or aecs", protocol);
    int aecs = !strcmp(protocol, "aecs");
    if (!o.listen) return cli_error(CLI_USAGE, "kms serve: --listen HOST:PORT is required");
    if (aecs && (o.secrets_path || o.clients_path || o.policy_path))
        return cli_error(CLI_USAGE, "kms serve: --secrets, --clients and --policy are for grpc_ratls; the AECS server "
                                    "takes --store FILE");
    if (!aecs && store) return cli_error(CLI_USAGE, "kms serve: --store is for --protocol aecs");
    if (aecs && !store)
        return cli_error(CLI_USAGE, "kms serve: --protocol aecs needs --store FILE (made by `initra kms aecs-admin`)");
    if (o.verifier.collateral && o.verifier.pccs_url)
        return cli_error(CLI_USAGE, "kms serve: give --collateral FILE or --pccs URL, not both");
    char pccs[1024];
    if (!o.verifier.collateral && !o.verifier.pccs_url) o.verifier.pccs_url = default_pccs(pccs, sizeof pccs);
    o.verifier.trust_roots = roots;
    o.verifier.n_trust_roots = n_roots;
    /* Signals are taken synchronously by this thread; the server's threads inherit the mask. */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGHUP);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    initra_err err;
    if (aecs) {
        initra_kms_aecs_opts ao = {o.listen, store, o.verifier.collateral, o.verifier.pccs_url, roots, n_roots,
                                   o.insecure_no_attestation, 0, NULL, 0};
        return serve_aecs(&ao, &set);
    }
    initra_kms *k = initra_kms_start(&o, &err);
    if (!k) return cli_err(CLI_FAIL, &err);
    for (;;) {
        struct timespec tick = {60, 0};
        int sig = sigtimedwait(&set, NULL, &tick);
        if (sig == SIGTERM || sig == SIGINT) break;
        if (sig == SIGHUP) {
            if (initra_kms_reload(k, &err)) fprintf(stderr, "kms: reload refused, keeping the old configuration: %s\n", err.msg);
            else fprintf(stderr, "kms: reloaded %s%s%s\n", o.secrets_path ? o.secrets_path : "",
                         o.clients_path ? " " : "", o.clients_path ? o.clients_path : "");
        }
        /* Certificates live 24 hours: a fresh one every 12. */
        if (initra_kms_cert_age(k) > 12 * 3600 && initra_kms_rotate(k, &err)) {
            fprintf(stderr, "kms: certificate rotation failed, stopping: %s\n", err.msg);
            initra_kms_stop(k);
            return CLI_FAIL;
        }
    }
    fprintf(stderr, "kms: stopping\n");
    initra_kms_stop(k);
    return CLI_OK;
}

int cmd_kms(int argc, char **argv)
{
    initra_err err;
    /* First: this process holds secrets (and the store's keys). */
    if (initra_no_core_dumps(&err)) return cli_err(CLI_FAIL, &err);
    if (argc < 2 || !strcmp(argv[1], "--help")) return kms_usage(argc < 2 ? stderr : stdout, argc < 2 ? CLI_USAGE : CLI_OK);
    if (!strcmp(argv[1], "serve")) return serve(argc - 1, argv + 1);
    if (!strcmp(argv[1], "aecs-admin")) return cmd_kms_aecs_admin(argc - 1, argv + 1);
    return cli_error(CLI_USAGE, "kms: unknown subcommand '%s' (serve, aecs-admin)", argv[1]);
}
