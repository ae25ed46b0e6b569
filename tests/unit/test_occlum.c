/* Occlum's two-stage boot: MountRootFS's number and arguments pinned to Occlum's (occlum/occlum 690d5db),
 * the sim descriptor's mount exchange, image_config.json and the image key form. */
#include <errno.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <signal.h>
#include <stddef.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <ucontext.h>
#include <unistd.h>

#include "attest/internal.h"
#include "check.h"
#include "enclave/internal.h"
#include "initra/attest.h"
#include "initra/enclave.h"
#include "initra/init.h"
#include "initra/sim.h"

/* What the trapped syscall saw (filled in the child's SIGSYS handler). */
static volatile long seen_nr = -1, seen_a0 = -1, seen_a1 = -1;

static void on_sigsys(int sig, siginfo_t *si, void *uc_)
{
    (void)sig;
    ucontext_t *uc = uc_;
    seen_nr = si->si_syscall;
    seen_a0 = uc->uc_mcontext.gregs[REG_RDI];
    seen_a1 = uc->uc_mcontext.gregs[REG_RSI];
    uc->uc_mcontext.gregs[REG_RAX] = 0; /* the syscall "succeeds" */
}

/* In a child: a seccomp filter traps syscall 363 only; initra_attest_mount_rootfs on an Occlum attester
 * must issue exactly syscall(363, key pointer or NULL, NULL). Exit code: 0 when it did. */
static int trapped_mount(const uint8_t *key)
{
    pid_t pid = fork();
    if (pid == 0) {
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_sigaction = on_sigsys;
        sa.sa_flags = SA_SIGINFO;
        sigaction(SIGSYS, &sa, NULL);
        struct sock_filter f[] = {
            BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
            BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 363, 0, 1),
            BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_TRAP),
            BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
        };
        struct sock_fprog prog = {sizeof f / sizeof f[0], f};
        if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) || prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog)) _exit(2);
        initra_err err;
        initra_attester *a = attest_occlum("/dev/null", &err);
        if (!a) _exit(3);
        int rc = initra_attest_mount_rootfs(a, key, &err);
        _exit(rc == 0 && seen_nr == 363 && seen_a0 == (long)(intptr_t)key && seen_a1 == 0 ? 0 : 4);
    }
    int st = 0;
    waitpid(pid, &st, 0);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 100;
}

int main(void)
{
    /* occlum src/libos/src/syscall/mod.rs:440:
     *   (MountRootFS = 363) => do_mount_rootfs(key_ptr: *const sgx_key_128bit_t,
     *                                          rootfs_config_ptr: *const user_rootfs_config)
     * sgx_key_128bit_t = [u8; 16] (tools/init_grpc_ratls/src/main.rs:204-205); user_rootfs_config
     * (src/libos/src/config.rs:576-591) is usize len + 6 pointers, and init passes NULL for it
     * (tools/init_grpc_ratls/src/main.rs:187-191, tools/init_aecs/src/main.rs:236-240). */
    CHECK(INITRA_OCCLUM_SYS_MOUNT_ROOTFS == 363, "MountRootFS is Occlum's syscall 363");
    uint8_t key[16];
    for (int i = 0; i < 16; i++) key[i] = (uint8_t)(0xa0 + i);
    CHECK(trapped_mount(key) == 0, "encrypted: syscall(363, pointer to the 16-byte key, NULL rootfs config)");
    CHECK(trapped_mount(NULL) == 0, "integrity-only: syscall(363, NULL, NULL)");

    /* The sim descriptor's mount exchange. */
    uint8_t req[INITRA_SIMFD_REQUEST_SIZE], k2[16];
    int has = -1;
    initra_err err;
    attest_simfd_encode_mount(key, req);
    CHECK(!memcmp(req, "ISM?", 4) && req[4] == 1 && req[5] == 0 && req[6] == 1 && !memcmp(req + 8, key, 16),
          "mount request: magic, version 1, key flag, key at bytes 8..23");
    CHECK(initra_simfd_decode_mount(req, &has, k2, &err) == 0 && has == 1 && !memcmp(k2, key, 16), "mount request round trip");
    req[30] = 1;
    CHECK(initra_simfd_decode_mount(req, &has, k2, &err) != 0 && strstr(err.msg, "rootfs_config"), "a rootfs config is refused: %s", err.msg);
    attest_simfd_encode_mount(NULL, req);
    CHECK(initra_simfd_decode_mount(req, &has, k2, &err) == 0 && has == 0, "mount request without a key");
    req[9] = 7;
    CHECK(initra_simfd_decode_mount(req, &has, k2, &err) != 0, "key bytes without the key flag are refused: %s", err.msg);
    uint8_t rep[INITRA_SIMFD_MOUNT_REPLY_SIZE];
    uint32_t e = 99;
    initra_simfd_encode_mount_reply(EPERM, rep);
    CHECK(attest_simfd_decode_mount_reply(rep, &e, &err) == 0 && e == EPERM, "mount reply EPERM round trip");
    initra_simfd_encode_mount_reply(EBADF, rep);
    CHECK(attest_simfd_decode_mount_reply(rep, &e, &err) != 0, "an errno outside the list is refused: %s", err.msg);

    /* image_config.json. */
    int t = -5;
    CHECK(attest_image_config_parse("{\"image_type\": \"encrypted\"}", 27, "f", &t, &err) == 0 && t == INITRA_IMAGE_ENCRYPTED,
          "encrypted");
    CHECK(attest_image_config_parse("{\"image_type\":\"integrity-only\"}", 31, "f", &t, &err) == 0 &&
              t == INITRA_IMAGE_INTEGRITY_ONLY, "integrity-only");
    const char *bad[] = {"{\"image_type\": \"plain\"}", "{\"image_type\": 1}", "{}", "[]",
                         "{\"image_type\": \"encrypted\", \"x\": 1}", "{\"image_type\": \"encrypted\", \"image_type\": \"encrypted\"}", "{"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        CHECK(attest_image_config_parse(bad[i], strlen(bad[i]), "f", &t, &err) != 0 && !strchr(err.msg, '\n'),
              "refused: %s -> %s", bad[i], err.msg);

    /* The key form. */
    const char *good = "00-11-22-33-44-55-66-77-88-99-aa-bb-cc-dd-ee-FF\r\n";
    CHECK(initra_image_key_parse((const uint8_t *)good, strlen(good), k2, &err) == 0 && k2[0] == 0 && k2[15] == 0xff,
          "16 hex bytes with '-', trailing CR LF trimmed");
    const char *bad_keys[] = {"00-11", "00-11-22-33-44-55-66-77-88-99-aa-bb-cc-dd-ee-ff-00",
                              "zz-11-22-33-44-55-66-77-88-99-aa-bb-cc-dd-ee-ff", "0-11-22-33-44-55-66-77-88-99-aa-bb-cc-dd-ee-fff",
                              "+0-11-22-33-44-55-66-77-88-99-aa-bb-cc-dd-ee-ff", "", "\n"};
    for (size_t i = 0; i < sizeof bad_keys / sizeof bad_keys[0]; i++)
        CHECK(initra_image_key_parse((const uint8_t *)bad_keys[i], strlen(bad_keys[i]), k2, &err) != 0 &&
                  !strstr(err.msg, "22-33"), "refused without showing it: %s", err.msg);
    CHECK_DONE();
}
