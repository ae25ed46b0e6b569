/* initra new / build / run / print / config-id / quote self: enclave instances. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "initra/attest.h"
#include "initra/enclave.h"

/* The library names settings; each command shows them as the options that set them. */
static const char *const NEW_FLAGS[] = {"init_ra", "--init-ra", NULL};
static const char *const BUILD_FLAGS[] = {"image_key", "--image-key", NULL};
static const char *const RUN_FLAGS[] = {"config_id", "--config-id", "config_svn", "--config-svn", NULL};

static void note_stderr(const char *msg) { fprintf(stderr, "initra: %s\n", msg); }

int cmd_new(int argc, char **argv)
{
    const char *usage = "usage: initra new DIR [--init-ra grpc_ratls|aecs [--initfs]]\n"
                        "  Creates an enclave instance: DIR/Occlum.json (metadata: product_id, version_number,\n"
                        "  debuggable, enable_kss, family_id, ext_prod_id), DIR/image/ (the enclave's root file\n"
                        "  system) and, with --init-ra, the init_ra_conf.json template of that flavour. --initfs adds\n"
                        "  Occlum's initfs/ stage: init boots there, then mounts image/ (docs/occlum.md).\n";
    enum { O_INIT_RA = 256, O_INITFS };
    static const struct option opts[] = {{"init-ra", required_argument, NULL, O_INIT_RA},
                                         {"initfs", no_argument, NULL, O_INITFS},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    const char *dir = NULL, *init_ra = NULL;
    int initfs = 0, c;
    optind = 0;
    while ((c = cli_getopt(argc, argv, "-:h", opts, "new", "new")) > 0) {
        if (c == 'h') return fputs(usage, stdout), CLI_OK;
        if (c == O_INIT_RA) init_ra = optarg;
        else if (c == O_INITFS) initfs = 1;
        else if (!dir) dir = optarg;
        else return cli_error(CLI_USAGE, "new: one DIR only (got '%s' too)", optarg);
    }
    if (c < 0) return CLI_USAGE;
    if (!dir) return fputs(usage, stderr), CLI_USAGE;
    initra_err err;
    if (initfs && !init_ra) return cli_error(CLI_USAGE, "new: --initfs needs --init-ra grpc_ratls|aecs (the initfs runs init)");
    if (initra_instance_new(dir, init_ra, &err) || (initfs && initra_instance_add_initfs(dir, &err)))
        return cli_err_flags(CLI_USAGE, &err, NEW_FLAGS);
    printf("created %s: edit %s/Occlum.json, put your files in %s/image/, then `initra build %s`\n", dir, dir, dir, dir);
    return CLI_OK;
}

int cmd_build(int argc, char **argv)
{
    const char *usage = "usage: initra build DIR [--sign-key PEM] [--image-key FILE]\n"
                        "  Validates DIR/Occlum.json, copies initra and the ELF libraries the image's programs need\n"
                        "  into DIR/image, measures it (sim MRENCLAVE) and writes DIR/build/Enclave.xml and\n"
                        "  DIR/build/enclave.sig (SIGSTRUCT, RSA-3072 e=3). Without --sign-key a development key is\n"
                        "  used ($INITRA_SIGN_KEY_DIR or ~/.local/share/initra/dev-sign-key.pem, made on first use).\n"
                        "  With an initfs/ stage (`initra new --initfs`), init and its files go to DIR/initfs and\n"
                        "  --image-key FILE (xx-xx-...-xx, 16 hex bytes, as `occlum gen-image-key` writes) makes the\n"
                        "  image \"encrypted\": it mounts only with that key (docs/occlum.md).\n";
    enum { O_SIGN_KEY = 256, O_IMAGE_KEY };
    static const struct option opts[] = {{"sign-key", required_argument, NULL, O_SIGN_KEY},
                                         {"image-key", required_argument, NULL, O_IMAGE_KEY},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    const char *dir = NULL;
    initra_build_opts o = {.note = note_stderr};
    int c;
    optind = 0;
    while ((c = cli_getopt(argc, argv, "-:h", opts, "build", "build")) > 0) {
        if (c == 'h') return fputs(usage, stdout), CLI_OK;
        if (c == O_SIGN_KEY) o.sign_key = optarg;
        else if (c == O_IMAGE_KEY) o.image_key = optarg;
        else if (!dir) dir = optarg;
        else return cli_error(CLI_USAGE, "build: one DIR only (got '%s' too)", optarg);
    }
    if (c < 0) return CLI_USAGE;
    if (!dir) return fputs(usage, stderr), CLI_USAGE;
    initra_err err;
    if (initra_instance_build(dir, &o, &err)) return cli_err_flags(CLI_FAIL, &err, BUILD_FLAGS);
    initra_sigstruct s;
    uint8_t *sig;
    size_t n;
    char p[4096], hex[65];
    if (initra_instance_path(dir, "build/enclave.sig", p, sizeof p, &err) ||
        initra_read_file(p, 4096, &sig, &n, &err))
        return cli_err(CLI_FAIL, &err);
    int rc = initra_sigstruct_parse(sig, n, &s, &err);
    free(sig);
    if (rc) return cli_err(CLI_FAIL, &err);
    uint8_t mrsigner[32];
    initra_mrsigner_of_modulus(s.modulus, mrsigner);
    printf("mr_enclave %s\n", initra_hex(s.enclave_hash, 32, hex));
    printf("mr_signer  %s\n", initra_hex(mrsigner, 32, hex));
    return CLI_OK;
}

/* Reads and verifies DIR/build/enclave.sig. */
static int load_sig(const char *dir, initra_sigstruct *s, initra_err *err)
{
    char p[4096];
    uint8_t *buf;
    size_t n;
    initra_enclave_meta m;
    if (initra_instance_load(dir, &m, err) || initra_instance_path(dir, "build/enclave.sig", p, sizeof p, err))
        return -1;
    if (initra_read_file(p, 1 << 16, &buf, &n, err)) return initra_fail(err, "%s: not built yet: run `initra build %s`", dir, dir);
    int rc = initra_sigstruct_verify(buf, n, s, err);
    free(buf);
    return rc ? initra_fail_prefix(err, "%s", p) : 0;
}

int cmd_print(int argc, char **argv)
{
    const char *usage = "usage: initra print mrenclave DIR\n"
                        "       initra print mrsigner DIR\n"
                        "       initra print mrsigner --key PEM\n"
                        "  mrenclave: the measurement in DIR/build/enclave.sig (after `initra build`).\n"
                        "  mrsigner: SHA-256 of the signing key's 384-byte little-endian modulus; --key takes a\n"
                        "  public or private RSA-3072 PEM, so you can compute a production MRSIGNER from your key.\n";
    enum { O_KEY = 256 };
    static const struct option opts[] = {{"key", required_argument, NULL, O_KEY},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    const char *what = NULL, *dir = NULL, *key = NULL;
    int c, npos = 0;
    optind = 0;
    while ((c = cli_getopt(argc, argv, "-:h", opts, "print", "print")) > 0) {
        if (c == 'h') return fputs(usage, stdout), CLI_OK;
        if (c == O_KEY) key = optarg;
        else if (npos++ == 0) what = optarg;
        else if (!dir) dir = optarg;
    }
    if (c < 0) return CLI_USAGE;
    if (!what || (!dir && !key)) return fputs(usage, stderr), CLI_USAGE;
    if (strcmp(what, "mrenclave") && strcmp(what, "mrsigner"))
        return cli_error(CLI_USAGE, "print: unknown value '%s' (mrenclave, mrsigner)", what);
    initra_err err;
    uint8_t v[32];
    char hex[65];
    if (key) {
        if (strcmp(what, "mrsigner") || npos != 1)
            return cli_error(CLI_USAGE, "print: --key PEM goes with mrsigner only: initra print mrsigner --key PEM");
        if (initra_mrsigner_of_key_file(key, v, &err)) return cli_err(CLI_USAGE, &err);
    } else {
        if (npos != 2) return cli_error(CLI_USAGE, "print %s: one DIR only", what);
        initra_sigstruct s;
        if (load_sig(dir, &s, &err)) return cli_err(CLI_FAIL, &err);
        if (!strcmp(what, "mrenclave")) memcpy(v, s.enclave_hash, 32);
        else initra_mrsigner_of_modulus(s.modulus, v);
    }
    printf("%s\n", initra_hex(v, 32, hex));
    return CLI_OK;
}

int cmd_config_id(int argc, char **argv)
{
    const char *usage = "usage: initra config-id FILE...\n"
                        "  Prints the base64 CONFIGID of the files: SHA-512 of one file's bytes (the same as\n"
                        "  `openssl dgst -sha512 -binary FILE | base64 -w0`); for several files, SHA-512 over each\n"
                        "  file's 8-byte little-endian length and bytes, in order. Use it with\n"
                        "  `initra run DIR --config FILE --config-id $(initra config-id FILE) ...`.\n";
    static const struct option opts[] = {{"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0}};
    const char **files = calloc((size_t)argc, sizeof *files);
    size_t n = 0;
    int c;
    if (!files) return cli_error(CLI_FAIL, "out of memory");
    optind = 0;
    while ((c = cli_getopt(argc, argv, "-:h", opts, "config-id", "config-id")) > 0) {
        if (c == 'h') return free(files), fputs(usage, stdout), CLI_OK;
        files[n++] = optarg;
    }
    if (c < 0 || !n) {
        free(files);
        if (c == 0) fputs(usage, stderr);
        return CLI_USAGE;
    }
    initra_err err;
    uint8_t id[64];
    c = initra_config_id_of_files(files, n, id, &err);
    free(files);
    if (c) return cli_err(CLI_USAGE, &err);
    char *b64 = initra_b64_encode(id, 64);
    if (!b64) return cli_error(CLI_FAIL, "out of memory");
    printf("%s\n", b64);
    free(b64);
    return CLI_OK;
}

int cmd_run(int argc, char **argv)
{
    const char *usage =
        "usage: initra run DIR [--config-id B64] [--config-svn N] [--config FILE] [--host-dir HOSTPATH] [--]\n"
        "                  PROG [ARGS...]\n"
        "  Verifies DIR/build/enclave.sig against the image and launches PROG inside the simulated enclave:\n"
        "  its own user, mount and PID namespaces, root = DIR/image with writes to a private tmpfs, /dev/null,\n"
        "  /dev/zero, /dev/urandom, /proc, the host network. When DIR has init_ra_conf.json, /bin/init runs\n"
        "  first and PROG only after it exits 0. The exit status is PROG's (or init's when it fails).\n"
        "  With an initfs/ stage, init runs in DIR/initfs and PROG starts in DIR/image only after init mounted\n"
        "  it (MountRootFS, with the key of `initra build --image-key` if encrypted; docs/occlum.md).\n"
        "  --config-id B64   CONFIGID: base64 of at most 64 bytes, zero padded (needs metadata.enable_kss)\n"
        "  --config-svn N    CONFIGSVN: 0..65535, decimal (no leading zero) or 0x hex (needs metadata.enable_kss)\n"
        "  --config FILE     attach FILE as /etc/init_ra_conf.json (Occlum.json \"config_binding\": \"config_id\")\n"
        "  --host-dir HOSTPATH  mount the existing host directory HOSTPATH read-write at /host (as Occlum's\n"
        "                    hostfs; with an initfs stage, in the application's root); nothing else of the\n"
        "                    host's file system is visible\n";
    enum { O_CONFIG_ID = 256, O_CONFIG_SVN, O_CONFIG, O_HOST_DIR };
    static const struct option opts[] = {{"config-id", required_argument, NULL, O_CONFIG_ID},
                                         {"config-svn", required_argument, NULL, O_CONFIG_SVN},
                                         {"config", required_argument, NULL, O_CONFIG},
                                         {"host-dir", required_argument, NULL, O_HOST_DIR},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    initra_run_opts o = {.config_svn = -1};
    uint8_t config_id[64];
    uint16_t svn;
    initra_err err;
    int c, i = argc; /* PROG's index: getopt stops at the second positional argument, PROG's ARGS unread */
    optind = 0;
    while ((c = cli_getopt(argc, argv, "-:h", opts, "run", "run")) > 0) {
        if (c == 'h') return fputs(usage, stdout), CLI_OK;
        if (c == O_CONFIG_ID) {
            if (initra_config_id_parse(optarg, config_id, &err)) return cli_err_flags(CLI_USAGE, &err, RUN_FLAGS);
            o.config_id = config_id;
        } else if (c == O_CONFIG_SVN) {
            if (initra_config_svn_parse(optarg, &svn, &err)) return cli_err_flags(CLI_USAGE, &err, RUN_FLAGS);
            o.config_svn = svn;
        } else if (c == O_CONFIG) {
            o.config_file = optarg;
        } else if (c == O_HOST_DIR) {
            o.host_dir = optarg;
        } else if (!o.dir) {
            o.dir = optarg;
        } else {
            i = optind - 1;
            break;
        }
    }
    if (c < 0) return CLI_USAGE;
    if (!o.dir || i >= argc) return fputs(usage, stderr), CLI_USAGE;
    o.argv = argv + i;
    o.argc = argc - i;
    int status = initra_instance_run(&o, &err);
    if (status < 0) return cli_err_flags(CLI_FAIL, &err, RUN_FLAGS);
    return status;
}

int cmd_quote_self(int argc, char **argv)
{
    const char *usage = "usage: initra quote self [--report-data HEX] [--json] [-o FILE]\n"
                        "  Inside an enclave: its own quote over report_data (HEX, at most 64 bytes, zero padded).\n"
                        "  The provider is found automatically: the sim descriptor of `initra run` (INITRA_SIM_FD),\n"
                        "  Gramine (/dev/attestation), Occlum (/dev/sgx), configfs-tsm. -o FILE writes the raw quote\n"
                        "  ('-' for stdout); --json prints what `initra quote dump --json` prints; neither: a dump.\n";
    enum { O_REPORT_DATA = 256, O_JSON };
    static const struct option opts[] = {{"report-data", required_argument, NULL, O_REPORT_DATA},
                                         {"json", no_argument, NULL, O_JSON},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    const char *rd_hex = NULL, *out = NULL;
    int as_json = 0, c;
    optind = 0;
    while ((c = cli_getopt(argc, argv, "+:ho:", opts, "quote self", "quote self")) > 0) {
        if (c == 'h') return fputs(usage, stdout), CLI_OK;
        if (c == O_REPORT_DATA) rd_hex = optarg;
        else if (c == 'o') out = optarg;
        else as_json = 1;
    }
    if (c < 0) return CLI_USAGE;
    if (as_json && out && !strcmp(out, "-"))
        return cli_error(CLI_USAGE, "quote self: --json and -o - would both write to stdout; give -o a file");
    uint8_t rd[64] = {0};
    if (rd_hex && cli_report_data(rd_hex, rd))
        return cli_error(CLI_USAGE, "quote self: --report-data must be an even number of hex digits, at most 128 "
                                    "(64 bytes; shorter is zero padded)");
    initra_err err;
    initra_attester *a = initra_attest_detect(&err);
    if (!a) return cli_err(CLI_FAIL, &err);
    uint8_t *quote;
    size_t qlen;
    int rc = initra_attest_quote(a, rd, &quote, &qlen, &err);
    initra_attest_free(a);
    if (rc) return cli_err(CLI_FAIL, &err);
    rc = CLI_OK;
    if (out && cli_write_output(out, quote, qlen, &err)) rc = cli_err(CLI_FAIL, &err);
    initra_quote q;
    if (rc == CLI_OK && (as_json || !out)) {
        if (initra_quote_parse(quote, qlen, &q, &err)) {
            rc = cli_error(CLI_FAIL, "quote self: the provider's quote does not parse: %s", err.msg);
        } else {
            cli_print_quote(&q, as_json);
        }
    }
    free(quote);
    return rc;
}
