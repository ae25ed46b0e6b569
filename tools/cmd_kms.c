/* initra kms serve: the GRPC-RATLS key server. */
#include <getopt.h>
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
            "usage: initra kms serve --listen HOST:PORT              (inside an enclave: configuration from the image)\n"
            "       initra kms serve --listen HOST:PORT --config FILE (outside an enclave, for development)\n"
            "       initra kms serve --listen HOST:PORT [--protocol grpc_ratls|aecs] [--secrets FILE] [--clients FILE]\n"
            "                        [--policy FILE] [--store FILE] [--collateral FILE | --pccs URL] [--trust-root DER]...\n"
            "                        --insecure-no-attestation     (outside an enclave, for development)\n"
            "       initra kms admin --help                       (attested administration of a KMS's store)\n"
            "       initra kms aecs-admin --help\n"
            "  The KMS takes everything that decides a release from one JSON configuration (docs/kms.md): inside an\n"
            "  enclave /etc/initra/kms.json in the measured image, or, when the image's /etc/initra/config_binding\n"
            "  says config_id, the configuration attached by `initra run --config FILE --config-id ...`, whose SHA-512\n"
            "  must be the enclave's CONFIGID. Its keys: protocol, secrets, clients, policy, store, admins,\n"
            "  recovery_key, collateral, pccs_url, trust_roots, accept_any_enclave, max_connections,\n"
            "  max_concurrent_streams. A file it names is \"PATH\" inside the image or {\"path\": PATH, \"sha256\": HEX}\n"
            "  anywhere. \"store\": {\"sqlite\": \"/host/kms.db\"} is the sealed store, administered through\n"
            "  initra.kms.v1.Admin on the same port (`initra kms admin`); one process serves one protocol.\n"
            "  \"store\": {\"postgres\": \"CONNINFO\"} keeps it in PostgreSQL, which KMS replicas share (never logged).\n"
            "  Inside an enclave the flags below and the environment variables PCCS_URL and INITRA_QCNL_CONF are\n"
            "  refused (the host controls them); outside one they configure a development server that cannot attest.\n"
            "  --protocol grpc_ratls  ratls.GrSecret/GetSecret over mutual RA-TLS (default); aecs: AECS v2.0.0\n"
            "                      (kubetee.Aecs/GetEnclaveSecret, plaintext HTTP/2, default port 19527)\n"
            "  --secrets FILE      Occlum's secret_config.json: { \"name\": \"<base64>\", ... }       (key: secrets)\n"
            "  --clients FILE      Occlum's dynamic_config.json (or an initra policy) for every secret (key: clients)\n"
            "  --policy FILE       initra's per-secret policy                                   (key: policy)\n"
            "  --store FILE        the AECS store (initra kms aecs-admin)                       (key: store)\n"
            "  --collateral FILE   collateral bundle for verifying quotes; or --pccs URL  (keys: collateral, pccs_url)\n"
            "  --trust-root DER    trust another root besides Intel's; repeatable               (key: trust_roots)\n"
            "  --insecure-no-attestation  start without a quote provider: clients cannot verify this server\n"
            "  SIGHUP re-reads the files the configuration names, through the same rules (the configuration itself\n"
            "  is read once); a bad file keeps the old configuration. SIGTERM stops.\n");
    return code;
}

/* Outside an enclave the PCCS may default to $PCCS_URL or the qcnl file; inside one the host sets the
 * environment, so only the configuration names the collateral source there. */
static int default_pccs(initra_kms_conf *c)
{
    char buf[1024];
    initra_err e;
    if (c->collateral.path || c->pccs_url || initra_pccs_default_url(buf, sizeof buf, &e)) return CLI_OK;
    return (c->pccs_url = strdup(buf)) ? CLI_OK : cli_error(CLI_FAIL, "out of memory");
}

static int serve_aecs(const initra_kms_aecs_opts *ao, initra_kms_held *held, const char *where, sigset_t *set)
{
    initra_err err;
    initra_kms_aecs *k = initra_kms_aecs_start(ao, &err);
    initra_kms_held_free(held);
    if (!k) return cli_err(CLI_FAIL, &err);
    fprintf(stderr, "kms: configuration from %s\n", where);
    for (;;) {
        int sig = sigwaitinfo(set, NULL);
        if (sig == SIGTERM || sig == SIGINT) break;
        if (sig != SIGHUP) continue;
        if (initra_kms_aecs_reload(k, &err)) fprintf(stderr, "kms: reload refused, keeping the old store: %s\n", err.msg);
        else fprintf(stderr, "kms: reloaded %s\n", ao->store_path ? ao->store_path : ao->store_sqlite ? ao->store_sqlite : "the sealed store");
    }
    fprintf(stderr, "kms: stopping\n");
    initra_kms_aecs_stop(k);
    return CLI_OK;
}

static int serve_grpc(const initra_kms_opts *o, initra_kms_held *held, const char *where, sigset_t *set)
{
    initra_err err;
    initra_kms *k = initra_kms_start(o, &err);
    initra_kms_held_free(held);
    if (!k) return cli_err(CLI_FAIL, &err);
    fprintf(stderr, "kms: configuration from %s\n", where);
    for (;;) {
        struct timespec tick = {5, 0}; /* housekeeping (initra_kms_tick) at least this often */
        int sig = sigtimedwait(set, NULL, &tick);
        if (sig == SIGTERM || sig == SIGINT) break;
        if (sig == SIGHUP) {
            if (initra_kms_reload(k, &err)) fprintf(stderr, "kms: reload refused, keeping the old configuration: %s\n", err.msg);
            else fprintf(stderr, "kms: reloaded %s%s%s\n", o->secrets_path ? o->secrets_path : "",
                         o->clients_path ? " " : "", o->clients_path ? o->clients_path : "");
        }
        if (initra_kms_tick(k, &err)) {
            fprintf(stderr, "kms: certificate rotation failed, stopping: %s\n", err.msg);
            initra_kms_stop(k);
            return CLI_FAIL;
        }
    }
    fprintf(stderr, "kms: stopping\n");
    initra_kms_stop(k);
    return CLI_OK;
}

/* Flags that decide a release, and the configuration key that replaces each inside an enclave. */
static const char *const secure_flags[][2] = {{"--secrets", "secrets"},   {"--clients", "clients"},
                                              {"--policy", "policy"},     {"--store", "store"},
                                              {"--collateral", "collateral"}, {"--pccs", "pccs_url"},
                                              {"--trust-root", "trust_roots"}, {"--protocol", "protocol"},
                                              {"--config", NULL}};
static const char *const secure_env[][2] = {{"PCCS_URL", "pccs_url"}, {"INITRA_QCNL_CONF", "pccs_url"}};

static int set_ref(initra_kms_file_ref *r, const char *v)
{
    free(r->path);
    r->path = strdup(v);
    return r->path ? 0 : -1;
}

/* The development configuration from flags (outside an enclave only). */
static int conf_from_flags(initra_kms_conf *c, const char *protocol, const char *const *vals, const char *const *roots,
                           size_t n_roots)
{
    int aecs = !strcmp(protocol, "aecs");
    if (strcmp(protocol, "grpc_ratls") && !aecs)
        return cli_error(CLI_USAGE, "kms serve: --protocol '%.40s' is not grpc_ratls or aecs", protocol);
    const char *secrets = vals[0], *clients = vals[1], *policy = vals[2], *store = vals[3], *coll = vals[4],
               *pccs = vals[5];
    if (aecs && (secrets || clients || policy))
        return cli_error(CLI_USAGE, "kms serve: --secrets, --clients and --policy are for grpc_ratls; the AECS server "
                                    "takes --store FILE");
    if (!aecs && store) return cli_error(CLI_USAGE, "kms serve: --store is for --protocol aecs");
    if (aecs && !store)
        return cli_error(CLI_USAGE, "kms serve: --protocol aecs needs --store FILE (made by `initra kms aecs-admin`)");
    if (coll && pccs) return cli_error(CLI_USAGE, "kms serve: give --collateral FILE or --pccs URL, not both");
    if (!aecs && !clients && !policy)
        return cli_error(CLI_FAIL, "kms serve: give --clients FILE (Occlum's dynamic_config.json) or --policy FILE: "
                                   "without a policy any attested enclave would get every secret");
    if (!(c->protocol = strdup(protocol)) || (secrets && set_ref(&c->secrets, secrets)) || (clients && set_ref(&c->clients, clients)) ||
        (policy && set_ref(&c->policy, policy)) || (store && set_ref(&c->store, store)) ||
        (coll && set_ref(&c->collateral, coll)) || (pccs && !(c->pccs_url = strdup(pccs))))
        return cli_error(CLI_FAIL, "out of memory");
    for (size_t i = 0; i < n_roots; i++)
        if (set_ref(&c->trust_roots[i], roots[i])) return cli_error(CLI_FAIL, "out of memory");
    c->n_trust_roots = n_roots;
    return CLI_OK;
}

static int serve(int argc, char **argv)
{
    initra_kms_opts o;
    memset(&o, 0, sizeof o);
    const char *roots[INITRA_KMS_MAX_ROOTS];
    size_t n_roots = 0;
    const char *vals[9] = {0}; /* secure_flags' values, in order; [7] protocol, [8] --config */
    const char *given = NULL; /* the first security flag given, other than --config */
    /* The option table: secure_flags (values O_SECURE + index), then --listen, --insecure-no-attestation. */
    enum { O_SECURE = 256, O_LISTEN = 512, O_INSECURE };
    struct option opts[9 + 4] = {{0}};
    for (int j = 0; j < 9; j++) opts[j] = (struct option){secure_flags[j][0] + 2, required_argument, NULL, O_SECURE + j};
    opts[9] = (struct option){"listen", required_argument, NULL, O_LISTEN};
    opts[10] = (struct option){"insecure-no-attestation", no_argument, NULL, O_INSECURE};
    opts[11] = (struct option){"help", no_argument, NULL, 'h'};
    optind = 0;
    int c;
    while ((c = cli_getopt(argc, argv, "+:h", opts, "kms serve", "kms")) > 0) {
        int f = c - O_SECURE;
        if (c == 'h') return kms_usage(stdout, CLI_OK);
        else if (c == O_INSECURE) o.insecure_no_attestation = 1;
        else if (c == O_LISTEN) o.listen = optarg;
        else if (f == 6 && n_roots == INITRA_KMS_MAX_ROOTS) return cli_error(CLI_USAGE, "kms serve: at most 8 --trust-root");
        else if (f == 6) roots[n_roots++] = optarg;
        else vals[f] = optarg;
        if (f >= 0 && f < 8 && !given) given = secure_flags[f][0];
    }
    if (c < 0) return CLI_USAGE;
    if (!o.listen) return cli_error(CLI_USAGE, "kms serve: --listen HOST:PORT is required");
    /* Inside an enclave (a quote provider answers) the host's argv and environment decide nothing. */
    initra_err err, aerr;
    initra_attester *probe = initra_attest_detect(&aerr);
    int enclave = probe != NULL;
    initra_kms_conf conf;
    memset(&conf, 0, sizeof conf);
    char where[300] = "command line";
    int image_paths = 0;
    if (enclave) {
        if (vals[8]) {
            initra_attest_free(probe);
            return cli_error(CLI_USAGE, "kms serve: --config is refused inside an enclave (the host controls the "
                                        "command line): the configuration is %s in the image, or attached by "
                                        "CONFIGID (docs/kms.md)", INITRA_KMS_CONF_PATH);
        }
        for (size_t j = 0; j < sizeof secure_flags / sizeof *secure_flags; j++)
            if (given && !strcmp(given, secure_flags[j][0])) {
                initra_attest_free(probe);
                return cli_error(CLI_USAGE, "kms serve: %s is refused inside an enclave (the host controls the command "
                                            "line): set \"%s\" in %s (docs/kms.md)",
                                 given, secure_flags[j][1], INITRA_KMS_CONF_PATH);
            }
        if (o.insecure_no_attestation) {
            initra_attest_free(probe);
            return cli_error(CLI_USAGE, "kms serve: --insecure-no-attestation is refused inside an enclave");
        }
        for (size_t j = 0; j < sizeof secure_env / sizeof *secure_env; j++)
            if (getenv(secure_env[j][0])) {
                initra_attest_free(probe);
                return cli_error(CLI_USAGE, "kms serve: the environment variable %s is refused inside an enclave (the "
                                            "host controls the environment): set \"%s\" in %s (docs/kms.md)",
                                 secure_env[j][0], secure_env[j][1], INITRA_KMS_CONF_PATH);
            }
        int rc = initra_kms_conf_load_enclave(probe, &conf, where, sizeof where, &err);
        initra_attest_free(probe);
        if (rc) return cli_err(CLI_FAIL, &err);
        image_paths = 1;
    } else if (vals[8]) {
        if (given)
            return cli_error(CLI_USAGE, "kms serve: give --config FILE or the flags, not both (%s)", given);
        uint8_t *text;
        size_t n;
        if (initra_kms_read_regular(vals[8], INITRA_MAX_CONFIG, &text, &n, &err)) return cli_err(CLI_USAGE, &err);
        int rc = initra_kms_conf_parse((const char *)text, n, vals[8], &conf, &err);
        free(text);
        if (rc) return cli_err(CLI_USAGE, &err);
        if ((rc = default_pccs(&conf))) {
            initra_kms_conf_free(&conf);
            return rc;
        }
        snprintf(where, sizeof where, "%s", vals[8]);
        image_paths = 1;
    } else {
        int rc = conf_from_flags(&conf, vals[7] ? vals[7] : "grpc_ratls", vals, roots, n_roots);
        if (rc == CLI_OK) rc = default_pccs(&conf);
        if (rc) {
            initra_kms_conf_free(&conf);
            return rc;
        }
    }
    /* The library names its setting (insecure_no_attestation); here it is a flag, checked once the
     * configuration is known to be well-formed. */
    if (!enclave && !o.insecure_no_attestation) {
        initra_kms_conf_free(&conf);
        return cli_error(CLI_FAIL, "kms serve: no quote provider, so clients could not verify this server (%s); run it "
                                   "inside an enclave (`initra run`), or pass --insecure-no-attestation for a test setup",
                         aerr.msg);
    }
    initra_kms_aecs_opts ao;
    memset(&ao, 0, sizeof ao);
    initra_kms_held held;
    if (initra_kms_conf_apply(&conf, image_paths, &held, &o, &ao, &err)) {
        initra_kms_conf_free(&conf);
        return cli_err(CLI_FAIL, &err);
    }
    /* Signals are taken synchronously by this thread; the server's threads inherit the mask. */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGHUP);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    int rc = CLI_OK;
    if (!strcmp(conf.protocol, "aecs")) {
        ao.listen = o.listen;
        ao.insecure_no_attestation = o.insecure_no_attestation;
        rc = serve_aecs(&ao, &held, where, &set);
    } else {
        rc = serve_grpc(&o, &held, where, &set);
    }
    initra_kms_conf_free(&conf);
    return rc;
}

int cmd_kms(int argc, char **argv)
{
    initra_err err;
    /* First: this process holds secrets (and the store's keys). */
    if (initra_no_core_dumps(&err)) return cli_err(CLI_FAIL, &err);
    if (argc < 2 || cli_is_help(argv[1])) return kms_usage(argc < 2 ? stderr : stdout, argc < 2 ? CLI_USAGE : CLI_OK);
    if (!strcmp(argv[1], "serve")) return serve(argc - 1, argv + 1);
    if (!strcmp(argv[1], "admin")) return cmd_kms_admin(argc - 1, argv + 1);
    if (!strcmp(argv[1], "aecs-admin")) return cmd_kms_aecs_admin(argc - 1, argv + 1);
    return cli_error(CLI_USAGE, "kms: unknown subcommand '%s' (serve, admin, aecs-admin)", argv[1]);
}
