/* initra kms admin: keygen and recovery-keygen (local), and the verbs of initra.kms.v1.Admin sent to a KMS
 * that the library verified by attestation first (docs/kms.md, "Administration"). Secret values come
 * from files only and are never printed. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "cli.h"
#include "initra/dcap.h"
#include "initra/kms.h"
#include "initra/store.h" /* initra_store_entry, INITRA_STORE_DEFAULT_NS */

#define HELP "kms admin"

static int usage(FILE *f, int code)
{
    fprintf(f,
            "usage: initra kms admin keygen --out PREFIX\n"
            "       initra kms admin recovery-keygen --type rsa-3072|x25519 --out PREFIX\n"
            "       initra kms admin --kms HOST:PORT --expect KMS_POLICY.json --key admin.key --cert admin.crt\n"
            "                        [--trust-root DER]... [--collateral FILE | --pccs URL] VERB ...\n"
            "  VERBs:\n"
            "    secret put NAME --file F [--namespace NS] [--config-id B64] [--min-config-svn N]\n"
            "    secret generate NAME --type aes256|random:N|ec-p256|rsa-3072 [--namespace NS] [rule options]\n"
            "    secret list [--namespace NS]            names, versions, sizes, rules; never values\n"
            "    secret delete NAME [--version V] [--namespace NS]\n"
            "    policy set NS FILE                      initra per-secret policy, or a client policy for every secret\n"
            "    audit [--since TIME] [--verify]         TIME: Unix seconds or ISO 8601 UTC (2026-11-29T18:00:00Z)\n"
            "    recover --recovery-key FILE             unlock a KMS that cannot unseal its store\n"
            "    import secrets FILE [--namespace NS]    Occlum's secret_config.json: one put per entry\n"
            "    import policy FILE [--namespace NS]     dynamic_config.json or an initra policy (policy set)\n"
            "    import aecs STORE                       an AECS store: each service a namespace, its rules its policy\n"
            "  keygen writes PREFIX.key (EC P-256, 0600) and PREFIX.crt (self-signed, CN \"initra admin\", 10 years)\n"
            "  and prints the SHA-256 of its public key: list it under \"admins\" in the KMS configuration.\n"
            "  recovery-keygen writes PREFIX.key (0600) and PREFIX.pub: name PREFIX.pub as the KMS configuration's\n"
            "  \"recovery_key\" and keep PREFIX.key offline.\n"
            "  Before anything is sent, the KMS's RA-TLS certificate is verified (DCAP with the trust roots and the\n"
            "  collateral or PCCS) and its quote must satisfy --expect (an initra or Occlum policy pinning the\n"
            "  KMS's MRENCLAVE or MRSIGNER). Rule options bind a version to enclaves: --config-id B64 (64 bytes,\n"
            "  exact) and --min-config-svn N (CONFIGSVN >= N); docs/kss.md. Secret values only from --file.\n"
            "  Exit: 0 done, 1 refused (verification, KMS), 2 usage or unreadable input.\n");
    return code;
}

/* ---- local commands ---- */

static int keygen(int argc, char **argv)
{
    enum { O_OUT = 256 };
    static const struct option opts[] = {{"out", required_argument, NULL, O_OUT}, {"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0}};
    const char *out = NULL;
    int c;
    optind = 0;
    while ((c = cli_getopt(argc, argv, "+:h", opts, "kms admin keygen", HELP)) > 0) {
        if (c == 'h') return usage(stdout, CLI_OK);
        out = optarg;
    }
    if (c < 0) return CLI_USAGE;
    if (!out) return cli_error(CLI_USAGE, "kms admin keygen: --out PREFIX is required");
    initra_err err;
    char hex[65];
    if (initra_kms_admin_keygen(out, hex, &err)) return cli_err(CLI_FAIL, &err);
    printf("wrote %s.key (0600) and %s.crt\nadmin SPKI SHA-256 (list it under \"admins\" in the KMS configuration):\n%s\n",
           out, out, hex);
    return CLI_OK;
}

static int recovery_keygen(int argc, char **argv)
{
    enum { O_OUT = 256, O_TYPE };
    static const struct option opts[] = {{"out", required_argument, NULL, O_OUT},
                                         {"type", required_argument, NULL, O_TYPE},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    const char *out = NULL, *type = NULL;
    int c;
    optind = 0;
    while ((c = cli_getopt(argc, argv, "+:h", opts, "kms admin recovery-keygen", HELP)) > 0) {
        if (c == 'h') return usage(stdout, CLI_OK);
        if (c == O_OUT) out = optarg;
        else type = optarg;
    }
    if (c < 0) return CLI_USAGE;
    if (!out || !type) return cli_error(CLI_USAGE, "kms admin recovery-keygen: --type rsa-3072|x25519 and --out PREFIX are required");
    if (strcmp(type, "rsa-3072") && strcmp(type, "x25519"))
        return cli_error(CLI_USAGE, "kms admin recovery-keygen: --type '%.40s' is not rsa-3072 or x25519", type);
    initra_err err;
    if (initra_kms_admin_recovery_keygen(type, out, &err)) return cli_err(CLI_FAIL, &err);
    printf("wrote %s.key (0600) and %s.pub (%s): name %s.pub as \"recovery_key\" in the KMS configuration; keep "
           "%s.key offline\n", out, out, type, out, out);
    return CLI_OK;
}

/* ---- connection options ---- */

typedef struct {
    const char *kms, *expect, *key, *cert, *collateral, *pccs;
    const char *roots[INITRA_KMS_MAX_ROOTS];
    size_t n_roots;
} conn_args;

/* A verified session: the expected policy lives as long as the client that checks it. */
typedef struct {
    initra_policy *expect;
    initra_kms_admin *a;
} session;

static void session_close(session *s)
{
    initra_kms_admin_close(s->a);
    initra_policy_free(s->expect);
}

static int session_open(const conn_args *ca, session *s)
{
    initra_err err;
    memset(s, 0, sizeof *s);
    if (!ca->kms || !ca->expect || !ca->key || !ca->cert)
        return cli_error(CLI_USAGE, "kms admin: --kms HOST:PORT, --expect KMS_POLICY.json, --key admin.key and --cert "
                                    "admin.crt are required; see `initra kms admin --help`");
    if (ca->collateral && ca->pccs) return cli_error(CLI_USAGE, "kms admin: give --collateral FILE or --pccs URL, not both");
    json_t *j;
    if (initra_json_load(ca->expect, INITRA_MAX_CONFIG, &j, &err)) return cli_error(CLI_USAGE, "kms admin: --expect %s", err.msg);
    initra_policy_opts po = {.peer = "the KMS"};
    s->expect = initra_policy_from_json_opts(j, ca->expect, &po, &err);
    json_decref(j);
    if (!s->expect) return cli_error(CLI_USAGE, "kms admin: --expect %s", err.msg);
    char pccs[1024];
    const char *pccs_url = ca->pccs;
    if (!ca->collateral && !pccs_url) {
        if (initra_pccs_default_url(pccs, sizeof pccs, &err)) {
            session_close(s);
            return cli_error(CLI_USAGE, "kms admin: no collateral source for verifying the KMS: give --collateral FILE "
                                        "or --pccs URL (%s)", err.msg);
        }
        pccs_url = pccs;
    }
    uint8_t *key = NULL, *cert = NULL;
    size_t klen = 0, clen = 0;
    int rc = CLI_USAGE;
    if (initra_read_regular_file(ca->key, INITRA_MAX_CONFIG, &key, &klen, &err) ||
        initra_read_regular_file(ca->cert, INITRA_MAX_CONFIG, &cert, &clen, &err)) {
        cli_error(CLI_USAGE, "kms admin: %s", err.msg);
        goto done;
    }
    initra_kms_admin_opts o = {.kms = ca->kms,
                               .cert_pem = (const char *)cert,
                               .key_pem = (const char *)key,
                               .expect = s->expect,
                               .verifier = {.trust_roots = ca->roots,
                                            .n_trust_roots = ca->n_roots,
                                            .collateral = ca->collateral,
                                            .pccs_url = ca->collateral ? NULL : pccs_url}};
    static const char *const flags[] = {"(collateral or pccs, trust_roots)", "(--collateral or --pccs, --trust-root)",
                                        "(expect)", "(--expect)", "(cert, key)", "(--cert, --key)", NULL};
    rc = (s->a = initra_kms_admin_connect(&o, &err)) ? CLI_OK : cli_err_flags(CLI_USAGE, &err, flags);
done:
    if (key) initra_free_secret(key, klen); /* gRPC keeps its own copy */
    free(cert);
    if (rc != CLI_OK) session_close(s);
    return rc;
}

/* An rpc's failure: refused evidence and refusals by the KMS are 1; the library's line as it is. */
static int rpc_fail(const initra_err *err)
{
    static const char *const flags[] = {"(expect)", "(--expect)", NULL};
    return cli_err_flags(CLI_FAIL, err, flags);
}

/* ---- verb options ---- */

enum { O_FILE = 256, O_NS, O_CONFIG_ID, O_MIN_SVN, O_TYPE, O_VERSION, O_SINCE, O_VERIFY, O_RECOVERY_KEY };

typedef struct {
    const char *pos[3];
    int n_pos;
    const char *file, *ns, *type, *since, *recovery_key;
    int verify;
    uint32_t version;
    initra_store_rule rule;
    int has_rule;
} verb_args;

static int set_once(const char **slot, const char *v, const char *what, const char *opt)
{
    if (*slot) return cli_error(CLI_USAGE, "%s: %s given twice", what, opt);
    *slot = v;
    return 0;
}

/* Parses a verb's arguments (argv[0] is the verb's last word): positionals in order (at most max_pos),
 * options from opts. 0, or an exit code after printing one line. */
static int verb_parse(int argc, char **argv, const struct option *opts, int max_pos, const char *what, verb_args *v)
{
    int c;
    initra_err err;
    uint64_t u;
    optind = 0;
    while ((c = cli_getopt(argc, argv, "-:h", opts, what, HELP)) > 0) {
        switch (c) {
        case 'h': return usage(stdout, CLI_OK), -1;
        case 1:
            if (v->n_pos >= max_pos && !strcmp(what, "kms admin secret put")) /* perhaps a value: not echoed */
                return cli_error(CLI_USAGE, "%s: unexpected argument after NAME: a value comes only from --file F "
                                            "(never from the command line, which other processes can read)", what);
            if (v->n_pos >= max_pos)
                return cli_error(CLI_USAGE, "%s: unexpected argument '%.60s'; see `initra kms admin --help`", what, optarg);
            v->pos[v->n_pos++] = optarg;
            break;
        case O_FILE: if (set_once(&v->file, optarg, what, "--file")) return CLI_USAGE; break;
        case O_NS: if (set_once(&v->ns, optarg, what, "--namespace")) return CLI_USAGE; break;
        case O_TYPE: if (set_once(&v->type, optarg, what, "--type")) return CLI_USAGE; break;
        case O_SINCE: if (set_once(&v->since, optarg, what, "--since")) return CLI_USAGE; break;
        case O_RECOVERY_KEY: if (set_once(&v->recovery_key, optarg, what, "--recovery-key")) return CLI_USAGE; break;
        case O_VERIFY: v->verify = 1; break;
        case O_VERSION:
            if (initra_parse_uint(optarg, UINT32_MAX, &u) || u == 0)
                return cli_error(CLI_USAGE, "%s: --version '%.40s' is not a version number (1 or more)", what, optarg);
            v->version = (uint32_t)u;
            break;
        case O_CONFIG_ID: {
            uint8_t *id = NULL;
            size_t n = 0;
            if (v->rule.has_config_id) return cli_error(CLI_USAGE, "%s: --config-id given twice", what);
            if (initra_b64_decode(optarg, &id, &n, &err) || n != 64) {
                free(id);
                return cli_error(CLI_USAGE, "%s: --config-id '%.40s' is not base64 of 64 bytes (a CONFIGID, as "
                                            "`initra config-id FILE` prints)", what, optarg);
            }
            memcpy(v->rule.config_id, id, 64);
            free(id);
            v->rule.has_config_id = v->has_rule = 1;
            break;
        }
        case O_MIN_SVN:
            if (v->rule.has_min_config_svn) return cli_error(CLI_USAGE, "%s: --min-config-svn given twice", what);
            if (initra_parse_uint(optarg, 0xffff, &u))
                return cli_error(CLI_USAGE, "%s: --min-config-svn '%.40s' is not a number from 0 to 65535", what, optarg);
            v->rule.min_config_svn = (uint16_t)u;
            v->rule.has_min_config_svn = v->has_rule = 1;
            break;
        }
    }
    return c < 0 ? CLI_USAGE : 0;
}

#define OPT_HELP {"help", no_argument, NULL, 'h'}
#define OPT_NS {"namespace", required_argument, NULL, O_NS}
#define OPT_RULE {"config-id", required_argument, NULL, O_CONFIG_ID}, {"min-config-svn", required_argument, NULL, O_MIN_SVN}
#define OPT_END {NULL, 0, NULL, 0}

static int check_names(const char *what, const char *ns, const char *name)
{
    initra_err err;
    if (name && initra_check_secret_name(name, what, "secret name", &err)) return cli_err(CLI_USAGE, &err);
    if (ns && initra_check_secret_name(ns, what, "namespace", &err)) return cli_err(CLI_USAGE, &err);
    if (ns && strchr(ns, '/')) return cli_error(CLI_USAGE, "%s: namespace \"%.60s\" contains '/'", what, ns);
    return 0;
}

/* ---- verbs ---- */

static int print_put(const char *op, const char *ns, const char *name, uint32_t version, uint64_t size)
{
    printf("%s %s/%s version %u (%llu bytes)\n", op, ns ? ns : INITRA_STORE_DEFAULT_NS, name, version,
           (unsigned long long)size);
    return CLI_OK;
}

static int secret_put(const conn_args *ca, int argc, char **argv)
{
    static const struct option opts[] = {{"file", required_argument, NULL, O_FILE}, OPT_NS, OPT_RULE, OPT_HELP, OPT_END};
    verb_args v = {0};
    int rc = verb_parse(argc, argv, opts, 1, "kms admin secret put", &v);
    if (rc) return rc < 0 ? CLI_OK : rc;
    if (v.n_pos != 1 || !v.file)
        return cli_error(CLI_USAGE, "kms admin secret put: expected NAME --file F (the value comes only from a file)");
    if ((rc = check_names("kms admin secret put", v.ns, v.pos[0]))) return rc;
    initra_err err;
    uint8_t *value;
    size_t n;
    if (initra_read_regular_file(v.file, 1u << 20, &value, &n, &err))
        return cli_error(CLI_USAGE, "kms admin secret put: --file %s", err.msg);
    if (n == 0) {
        free(value);
        return cli_error(CLI_USAGE, "kms admin secret put: --file %s is empty (a secret has 1 byte to 1 MiB)", v.file);
    }
    session s;
    if ((rc = session_open(ca, &s))) {
        initra_free_secret(value, n);
        return rc;
    }
    uint32_t version;
    uint64_t size;
    rc = initra_kms_admin_put(s.a, v.ns, v.pos[0], value, n, v.has_rule ? &v.rule : NULL, &version, &size, &err);
    initra_free_secret(value, n);
    rc = rc ? rpc_fail(&err) : print_put("put", v.ns, v.pos[0], version, size);
    session_close(&s);
    return rc;
}

static int secret_generate(const conn_args *ca, int argc, char **argv)
{
    static const struct option opts[] = {{"type", required_argument, NULL, O_TYPE}, OPT_NS, OPT_RULE, OPT_HELP, OPT_END};
    verb_args v = {0};
    int rc = verb_parse(argc, argv, opts, 1, "kms admin secret generate", &v);
    if (rc) return rc < 0 ? CLI_OK : rc;
    if (v.n_pos != 1 || !v.type)
        return cli_error(CLI_USAGE, "kms admin secret generate: expected NAME --type aes256|random:N|ec-p256|rsa-3072");
    uint64_t rn;
    if (strcmp(v.type, "aes256") && strcmp(v.type, "ec-p256") && strcmp(v.type, "rsa-3072") &&
        (strncmp(v.type, "random:", 7) || initra_parse_uint(v.type + 7, 65536, &rn) || rn == 0))
        return cli_error(CLI_USAGE, "kms admin secret generate: --type '%.40s' is not aes256, random:N (N from 1 to "
                                    "65536), ec-p256 or rsa-3072", v.type);
    if ((rc = check_names("kms admin secret generate", v.ns, v.pos[0]))) return rc;
    session s;
    if ((rc = session_open(ca, &s))) return rc;
    initra_err err;
    uint32_t version;
    uint64_t size;
    rc = initra_kms_admin_generate(s.a, v.ns, v.pos[0], v.type, v.has_rule ? &v.rule : NULL, &version, &size, &err)
             ? rpc_fail(&err)
             : print_put("generated", v.ns, v.pos[0], version, size);
    session_close(&s);
    return rc;
}

static int list_entry(void *ctx, const initra_store_entry *e)
{
    char when[32] = "?", id[89] = "";
    struct tm tm;
    time_t t = e->created;
    if (gmtime_r(&t, &tm)) strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
    char ns[1024], name[1024], type[128]; /* from the KMS: escaped, so that no byte can drive the terminal */
    printf("%s/%s  version %u  %s  %zu bytes  %s  rule:", initra_escape(e->ns, ns, sizeof ns),
           initra_escape(e->name, name, sizeof name), e->version, initra_escape(e->type, type, sizeof type), e->size,
           when);
    if (e->rule->has_config_id) {
        char *b = initra_b64_encode(e->rule->config_id, 64);
        snprintf(id, sizeof id, "%s", b ? b : "?");
        free(b);
        printf(" config_id %s", id);
    }
    if (e->rule->has_min_config_svn) printf(" min_config_svn %u", e->rule->min_config_svn);
    if (!e->rule->has_config_id && !e->rule->has_min_config_svn) printf(" none (the namespace policy decides)");
    printf("\n");
    ++*(size_t *)ctx;
    return 0;
}

static void list_policy(void *ctx, const char *ns)
{
    char esc[1024];
    printf("policy for namespace %s\n", initra_escape(ns, esc, sizeof esc));
}

static int secret_list(const conn_args *ca, int argc, char **argv)
{
    static const struct option opts[] = {OPT_NS, OPT_HELP, OPT_END};
    verb_args v = {0};
    int rc = verb_parse(argc, argv, opts, 0, "kms admin secret list", &v);
    if (rc) return rc < 0 ? CLI_OK : rc;
    if ((rc = check_names("kms admin secret list", v.ns, NULL))) return rc;
    session s;
    if ((rc = session_open(ca, &s))) return rc;
    initra_err err;
    size_t n = 0;
    rc = initra_kms_admin_list(s.a, v.ns, list_entry, list_policy, &n, &err) ? rpc_fail(&err) : CLI_OK;
    if (rc == CLI_OK && n == 0) printf("no secrets%s%s\n", v.ns ? " in namespace " : "", v.ns ? v.ns : "");
    session_close(&s);
    return rc;
}

static int secret_delete(const conn_args *ca, int argc, char **argv)
{
    static const struct option opts[] = {{"version", required_argument, NULL, O_VERSION}, OPT_NS, OPT_HELP, OPT_END};
    verb_args v = {0};
    int rc = verb_parse(argc, argv, opts, 1, "kms admin secret delete", &v);
    if (rc) return rc < 0 ? CLI_OK : rc;
    if (v.n_pos != 1) return cli_error(CLI_USAGE, "kms admin secret delete: expected NAME [--version V]");
    if ((rc = check_names("kms admin secret delete", v.ns, v.pos[0]))) return rc;
    session s;
    if ((rc = session_open(ca, &s))) return rc;
    initra_err err;
    uint32_t n = 0;
    rc = initra_kms_admin_delete(s.a, v.ns, v.pos[0], v.version, &n, &err) ? rpc_fail(&err) : CLI_OK;
    if (rc == CLI_OK)
        printf("deleted %u version%s of %s/%s\n", n, n == 1 ? "" : "s", v.ns ? v.ns : INITRA_STORE_DEFAULT_NS, v.pos[0]);
    session_close(&s);
    return rc;
}

/* policy set NS FILE, import policy FILE [--namespace NS]: checked here, then SetPolicy. */
static int set_policy(const conn_args *ca, const char *what, const char *ns, const char *file)
{
    int rc = check_names(what, ns, NULL);
    if (rc) return rc;
    initra_err err;
    char *json;
    if (initra_kms_admin_policy_file(file, &json, &err)) return cli_error(CLI_USAGE, "%s: %s", what, err.msg);
    session s;
    if ((rc = session_open(ca, &s))) {
        free(json);
        return rc;
    }
    rc = initra_kms_admin_set_policy(s.a, ns, json, &err) ? rpc_fail(&err) : CLI_OK;
    if (rc == CLI_OK) printf("policy of namespace %s set from %s\n", ns ? ns : INITRA_STORE_DEFAULT_NS, file);
    free(json);
    session_close(&s);
    return rc;
}

static int policy_cmd(const conn_args *ca, int argc, char **argv)
{
    static const struct option opts[] = {OPT_HELP, OPT_END};
    verb_args v = {0};
    if (argc < 2 || strcmp(argv[1], "set"))
        return argc >= 2 && cli_is_help(argv[1]) ? usage(stdout, CLI_OK)
                                                 : cli_error(CLI_USAGE, "kms admin policy: expected set NS FILE");
    int rc = verb_parse(argc - 1, argv + 1, opts, 2, "kms admin policy set", &v);
    if (rc) return rc < 0 ? CLI_OK : rc;
    if (v.n_pos != 2) return cli_error(CLI_USAGE, "kms admin policy set: expected NS FILE");
    return set_policy(ca, "kms admin policy set", v.pos[0], v.pos[1]);
}

/* Unix seconds, or ISO 8601 UTC: YYYY-MM-DDTHH:MM:SSZ (or without seconds, or a date alone). */
static int parse_time(const char *s, int64_t *out)
{
    uint64_t u;
    if (initra_parse_uint(s, INT64_MAX, &u) == 0) {
        *out = (int64_t)u;
        return 0;
    }
    static const char *const fmts[] = {"%Y-%m-%dT%H:%M:%SZ", "%Y-%m-%dT%H:%MZ", "%Y-%m-%d", NULL};
    for (int i = 0; fmts[i]; i++) {
        struct tm tm = {0};
        const char *end = strptime(s, fmts[i], &tm);
        if (end && !*end) {
            *out = (int64_t)timegm(&tm);
            return 0;
        }
    }
    return -1;
}

static int audit_cmd(const conn_args *ca, int argc, char **argv)
{
    static const struct option opts[] = {{"since", required_argument, NULL, O_SINCE},
                                         {"verify", no_argument, NULL, O_VERIFY}, OPT_HELP, OPT_END};
    verb_args v = {0};
    int rc = verb_parse(argc, argv, opts, 0, "kms admin audit", &v);
    if (rc) return rc < 0 ? CLI_OK : rc;
    int64_t since = 0;
    if (v.since && parse_time(v.since, &since))
        return cli_error(CLI_USAGE, "kms admin audit: --since '%.40s' is neither Unix seconds nor ISO 8601 UTC "
                                    "(2026-11-29T18:00:00Z)", v.since);
    session s;
    if ((rc = session_open(ca, &s))) return rc;
    initra_err err;
    initra_kms_admin_audit_result r;
    if (initra_kms_admin_audit(s.a, since, 0, v.verify, &r, &err)) {
        session_close(&s);
        return rpc_fail(&err);
    }
    fputs(r.jsonl, stdout);
    if (r.jsonl[0] && r.jsonl[strlen(r.jsonl) - 1] != '\n') putchar('\n');
    char esc[1024];
    if (v.verify && (!r.verified || r.verify_error))
        rc = cli_error(CLI_FAIL, "kms admin audit --verify: the audit chain of KMS %s is broken: %.300s", ca->kms,
                       r.verify_error ? initra_escape(r.verify_error, esc, sizeof esc) : "(the KMS did not say where)");
    else if (v.verify)
        fprintf(stderr, "audit chain verified: %llu records\n", (unsigned long long)r.records);
    initra_kms_admin_audit_free(&r);
    session_close(&s);
    return rc;
}

static int recover_cmd(const conn_args *ca, int argc, char **argv)
{
    static const struct option opts[] = {{"recovery-key", required_argument, NULL, O_RECOVERY_KEY}, OPT_HELP, OPT_END};
    static const char *const flags[] = {"(recovery_key)", "(--recovery-key)", NULL};
    verb_args v = {0};
    int rc = verb_parse(argc, argv, opts, 0, "kms admin recover", &v);
    if (rc) return rc < 0 ? CLI_OK : rc;
    if (!v.recovery_key) return cli_error(CLI_USAGE, "kms admin recover: --recovery-key FILE is required");
    initra_err err;
    uint8_t *priv;
    size_t plen;
    if (initra_read_regular_file(v.recovery_key, INITRA_MAX_CONFIG, &priv, &plen, &err))
        return cli_error(CLI_USAGE, "kms admin recover: --recovery-key %s", err.msg);
    session s;
    if ((rc = session_open(ca, &s))) {
        initra_free_secret(priv, plen);
        return rc;
    }
    rc = initra_kms_admin_recover_with_key(s.a, priv, plen, &err) ? cli_err_flags(CLI_FAIL, &err, flags) : CLI_OK;
    if (rc == CLI_OK) printf("KMS %s recovered: its store is sealed to the running KMS enclave and open\n", ca->kms);
    initra_free_secret(priv, plen);
    session_close(&s);
    return rc;
}

static void import_one(void *ctx, const char *name, uint32_t version, uint64_t size)
{
    print_put("imported", ctx, name, version, size);
}

static void import_aecs_one(void *ctx, const char *ns, const char *name, uint32_t version, uint64_t size)
{
    print_put("imported", ns, name, version, size);
}

static int import_aecs(const conn_args *ca, const char *what, const char *store)
{
    initra_err err;
    size_t done = 0;
    if (initra_kms_admin_import_aecs(NULL, store, NULL, NULL, &done, &err)) return cli_error(CLI_USAGE, "%s: %s", what, err.msg);
    session s;
    int rc = session_open(ca, &s);
    if (rc) return rc;
    rc = initra_kms_admin_import_aecs(s.a, store, import_aecs_one, NULL, &done, &err) ? rpc_fail(&err) : CLI_OK;
    if (rc == CLI_OK) printf("imported %zu secret%s from %s (each service a namespace, with its policy)\n", done,
                             done == 1 ? "" : "s", store);
    session_close(&s);
    return rc;
}

static int import_cmd(const conn_args *ca, int argc, char **argv)
{
    static const struct option opts[] = {OPT_NS, OPT_HELP, OPT_END};
    verb_args v = {0};
    static const struct option aecs_opts[] = {OPT_HELP, OPT_END};
    if (argc < 2 || (strcmp(argv[1], "secrets") && strcmp(argv[1], "policy") && strcmp(argv[1], "aecs")))
        return argc >= 2 && cli_is_help(argv[1])
                   ? usage(stdout, CLI_OK)
                   : cli_error(CLI_USAGE, "kms admin import: expected secrets FILE, policy FILE or aecs STORE");
    int aecs = !strcmp(argv[1], "aecs");
    const char *what = aecs ? "kms admin import aecs"
                       : !strcmp(argv[1], "secrets") ? "kms admin import secrets" : "kms admin import policy";
    int rc = verb_parse(argc - 1, argv + 1, aecs ? aecs_opts : opts, 1, what, &v);
    if (rc) return rc < 0 ? CLI_OK : rc;
    if (v.n_pos != 1) return cli_error(CLI_USAGE, "%s: expected %s", what, aecs ? "STORE" : "FILE");
    if (aecs) return import_aecs(ca, what, v.pos[0]);
    if (!strcmp(argv[1], "policy")) return set_policy(ca, what, v.ns, v.pos[0]);
    if ((rc = check_names(what, v.ns, NULL))) return rc;
    initra_err err;
    size_t done = 0;
    if (initra_kms_admin_import_secrets(NULL, v.pos[0], v.ns, NULL, NULL, &done, &err))
        return cli_error(CLI_USAGE, "%s: %s", what, err.msg);
    session s;
    if ((rc = session_open(ca, &s))) return rc;
    rc = initra_kms_admin_import_secrets(s.a, v.pos[0], v.ns, import_one, (void *)v.ns, &done, &err) ? rpc_fail(&err)
                                                                                                     : CLI_OK;
    session_close(&s);
    return rc;
}

static int secret_cmd(const conn_args *ca, int argc, char **argv)
{
    if (argc < 2) return cli_error(CLI_USAGE, "kms admin secret: expected put, generate, list or delete");
    const char *w = argv[1];
    if (cli_is_help(w)) return usage(stdout, CLI_OK);
    if (!strcmp(w, "put")) return secret_put(ca, argc - 1, argv + 1);
    if (!strcmp(w, "generate")) return secret_generate(ca, argc - 1, argv + 1);
    if (!strcmp(w, "list")) return secret_list(ca, argc - 1, argv + 1);
    if (!strcmp(w, "delete")) return secret_delete(ca, argc - 1, argv + 1);
    return cli_error(CLI_USAGE, "kms admin secret: unknown verb '%.40s' (put, generate, list, delete)", w);
}

int cmd_kms_admin(int argc, char **argv)
{
    enum { O_KMS = 300, O_EXPECT, O_KEY, O_CERT, O_ROOT, O_COLL, O_PCCS };
    static const struct option opts[] = {{"kms", required_argument, NULL, O_KMS},
                                         {"expect", required_argument, NULL, O_EXPECT},
                                         {"key", required_argument, NULL, O_KEY},
                                         {"cert", required_argument, NULL, O_CERT},
                                         {"trust-root", required_argument, NULL, O_ROOT},
                                         {"collateral", required_argument, NULL, O_COLL},
                                         {"pccs", required_argument, NULL, O_PCCS},
                                         OPT_HELP,
                                         OPT_END};
    if (argc < 2) return usage(stderr, CLI_USAGE);
    if (!strcmp(argv[1], "keygen")) return keygen(argc - 1, argv + 1);
    if (!strcmp(argv[1], "recovery-keygen")) return recovery_keygen(argc - 1, argv + 1);
    conn_args ca = {0};
    const char **slot;
    int c, i = argc; /* the verb's index: getopt stops there, its arguments unread */
    optind = 0;
    while ((c = cli_getopt(argc, argv, "-:h", opts, "kms admin", HELP)) > 0) {
        switch (c) {
        case 'h': return usage(stdout, CLI_OK);
        case O_ROOT:
            if (ca.n_roots == INITRA_KMS_MAX_ROOTS)
                return cli_error(CLI_USAGE, "kms admin: at most %d --trust-root", INITRA_KMS_MAX_ROOTS);
            ca.roots[ca.n_roots++] = optarg;
            continue;
        case 1: i = optind - 1; break;
        default:
            slot = c == O_KMS ? &ca.kms : c == O_EXPECT ? &ca.expect : c == O_KEY ? &ca.key : c == O_CERT ? &ca.cert
                 : c == O_COLL ? &ca.collateral : &ca.pccs;
            for (const struct option *o = opts; o->name; o++)
                if (o->val == c && *slot) return cli_error(CLI_USAGE, "kms admin: --%s given twice", o->name);
            *slot = optarg;
            continue;
        }
        break;
    }
    if (c < 0) return CLI_USAGE;
    if (i >= argc) return cli_error(CLI_USAGE, "kms admin: missing verb (secret, policy, audit, recover, import); see "
                                               "`initra kms admin --help`");
    const char *verb = argv[i];
    int n = argc - i;
    char **args = argv + i;
    if (!strcmp(verb, "secret")) return secret_cmd(&ca, n, args);
    if (!strcmp(verb, "policy")) return policy_cmd(&ca, n, args);
    if (!strcmp(verb, "audit")) return audit_cmd(&ca, n, args);
    if (!strcmp(verb, "recover")) return recover_cmd(&ca, n, args);
    if (!strcmp(verb, "import")) return import_cmd(&ca, n, args);
    return cli_error(CLI_USAGE, "kms admin: unknown verb '%.40s' (secret, policy, audit, recover, import, keygen, "
                                "recovery-keygen)", verb);
}
