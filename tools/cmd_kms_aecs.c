/* initra kms aecs-admin --store FILE register-service|create-secret|list|destroy-secret: the AECS secret
 * store. Every change is all or nothing: the store is rewritten atomically (0600) only when the whole
 * command succeeded. Secret values are never printed. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "initra/aecs.h"

static int usage(FILE *f, int code)
{
    fprintf(f,
            "usage: initra kms aecs-admin --store FILE register-service NAME\n"
            "       initra kms aecs-admin --store FILE create-secret --file SPEC\n"
            "       initra kms aecs-admin --store FILE list\n"
            "       initra kms aecs-admin --store FILE destroy-secret SERVICE NAME\n"
            "  The AECS secret store (JSON, written atomically with mode 0600; created by register-service).\n"
            "  Names: A-Z a-z 0-9 _ . - (1 to 255 characters).\n"
            "  SPEC: YAML or JSON modelled on AECS's service_secret_policy.yaml:\n"
            "    kind: SecretPolicy\n"
            "    secrets:\n"
            "    - spec:\n"
            "        name: demo_key\n"
            "        service: service1\n"
            "        type: SECRET_TYPE_IMPORT_DATA   # or SECRET_TYPE_AES256_KEY, SECRET_TYPE_RSA_KEY_PAIR\n"
            "        policy:\n"
            "          enclaveMatchAnyRules:        # any rule may match; empty fields are not checked\n"
            "          - mrenclave: \"\"              # also mrsigner, prodID, minIsvSvn, user_data, spid,\n"
            "            debug_disabled: \"true\"     # debug_disabled, or any UA attribute name\n"
            "        params:                        # RSA_KEY_PAIR: pkcs_type pkcs1|pkcs8, bit_length\n"
            "      data: the secret                 # IMPORT_DATA: up to 10240 bytes; AES256_KEY: 64 hex or generated\n");
    return code;
}

static int save(const initra_aecs_store *st, const char *path)
{
    initra_err err;
    if (initra_aecs_store_save(st, path, &err)) return cli_err(CLI_FAIL, &err);
    return CLI_OK;
}

static int list(const initra_aecs_store *st)
{
    for (size_t i = 0; i < st->n_services; i++) {
        size_t n = 0;
        for (size_t k = 0; k < st->n_secrets; k++) n += !strcmp(st->secrets[k].service, st->services[i]);
        printf("service %s (%zu secret%s)\n", st->services[i], n, n == 1 ? "" : "s");
        for (size_t k = 0; k < st->n_secrets; k++) {
            const initra_aecs_secret *s = &st->secrets[k];
            if (strcmp(s->service, st->services[i])) continue;
            printf("  %s  %s  %zu bytes  policy: %zu rule%s%s\n", s->name, initra_aecs_type_name(s->type),
                   strlen(s->data), s->policy.n, s->policy.n == 1 ? "" : "s",
                   s->policy.n ? "" : " (no enclave can read it)");
        }
    }
    return CLI_OK;
}

int cmd_kms_aecs_admin(int argc, char **argv)
{
    enum { O_STORE = 256 };
    static const struct option opts[] = {{"store", required_argument, NULL, O_STORE},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    const char *store = NULL;
    int c, i = argc; /* the command's index: getopt stops there, the command's own arguments unread */
    optind = 0;
    while ((c = cli_getopt(argc, argv, "-:h", opts, "kms aecs-admin", "kms aecs-admin")) > 0) {
        if (c == 'h') return usage(stdout, CLI_OK);
        if (c == O_STORE) {
            store = optarg;
            continue;
        }
        i = optind - 1;
        break;
    }
    if (c < 0) return CLI_USAGE;
    if (i >= argc) return cli_error(CLI_USAGE, "kms aecs-admin: missing command; see `initra kms aecs-admin --help`");
    if (!store) return cli_error(CLI_USAGE, "kms aecs-admin: --store FILE is required");
    const char *cmd = argv[i++];
    int nargs = argc - i;
    char **args = argv + i;
    initra_err err;
    initra_aecs_store st;
    int rc;
    if (!strcmp(cmd, "register-service")) {
        if (nargs != 1) return cli_error(CLI_USAGE, "kms aecs-admin register-service: expected one NAME");
        if (initra_aecs_check_name(args[0], "service name", &err)) return cli_error(CLI_USAGE, "register-service: %s", err.msg);
        if (initra_aecs_store_load(store, 1, &st, &err)) return cli_err(CLI_USAGE, &err);
        rc = initra_aecs_store_register_service(&st, args[0], &err) ? cli_error(CLI_FAIL, "register-service: %s", err.msg)
                                                                     : save(&st, store);
        if (rc == CLI_OK) printf("registered service %s in %s\n", args[0], store);
    } else if (!strcmp(cmd, "create-secret")) {
        if (nargs != 2 || strcmp(args[0], "--file"))
            return cli_error(CLI_USAGE, "kms aecs-admin create-secret: expected --file SPEC");
        uint8_t *text;
        size_t n;
        initra_aecs_specs specs;
        if (initra_read_file(args[1], INITRA_MAX_CONFIG, &text, &n, &err)) return cli_err(CLI_USAGE, &err);
        rc = initra_aecs_specs_parse((const char *)text, n, args[1], &specs, &err);
        initra_free_secret(text, n);
        if (rc) return cli_err(CLI_USAGE, &err);
        if (initra_aecs_store_load(store, 0, &st, &err)) {
            initra_aecs_specs_free(&specs);
            return cli_err(CLI_USAGE, &err);
        }
        rc = CLI_OK;
        for (size_t k = 0; k < specs.n && rc == CLI_OK; k++)
            if (initra_aecs_store_create_secret(&st, &specs.items[k], &err))
                rc = cli_error(CLI_FAIL, "create-secret: %s: %s (nothing was written)", args[1], err.msg);
        if (rc == CLI_OK) rc = save(&st, store);
        if (rc == CLI_OK)
            for (size_t k = 0; k < specs.n; k++)
                printf("created secret %s/%s (%s)\n", specs.items[k].service, specs.items[k].name,
                       initra_aecs_type_name(specs.items[k].type));
        initra_aecs_specs_free(&specs);
    } else if (!strcmp(cmd, "list")) {
        if (nargs != 0) return cli_error(CLI_USAGE, "kms aecs-admin list: takes no arguments");
        if (initra_aecs_store_load(store, 0, &st, &err)) return cli_err(CLI_USAGE, &err);
        rc = list(&st);
    } else if (!strcmp(cmd, "destroy-secret")) {
        if (nargs != 2) return cli_error(CLI_USAGE, "kms aecs-admin destroy-secret: expected SERVICE NAME");
        if (initra_aecs_check_name(args[0], "service name", &err) || initra_aecs_check_name(args[1], "secret name", &err))
            return cli_error(CLI_USAGE, "destroy-secret: %s", err.msg);
        if (initra_aecs_store_load(store, 0, &st, &err)) return cli_err(CLI_USAGE, &err);
        rc = initra_aecs_store_destroy_secret(&st, args[0], args[1], &err)
                 ? cli_error(CLI_FAIL, "destroy-secret: %s", err.msg)
                 : save(&st, store);
        if (rc == CLI_OK) printf("destroyed secret %s/%s\n", args[0], args[1]);
    } else {
        return cli_error(CLI_USAGE, "kms aecs-admin: unknown command '%s'; see `initra kms aecs-admin --help`", cmd);
    }
    initra_aecs_store_free(&st);
    return rc;
}
