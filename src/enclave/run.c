/* initra run: verify an instance, then launch it as a simulated enclave.
 *
 * Processes: the launcher (this process) verifies SIGSTRUCT against the image, fixes the identity and
 * serves the sim quote provider on one end of a socketpair; a child enters new user, mount and PID
 * namespaces; its child (PID 1 of the enclave) mounts an overlay (image below, tmpfs above) or a tmpfs
 * copy of the image, /dev nodes and /proc, pivots into it, runs /bin/init (when the instance has an
 * init_ra_conf.json) and PROG, and reports PROG's exit status. Setup errors travel back on a pipe as one
 * line; nothing has been started when one is reported. An instance with an initfs/ stage boots as
 * Occlum does (docs/occlum.md): init in the initfs, the image only after MountRootFS. */
#include "enclave/internal.h"

#include <dirent.h>
#include <errno.h>
#include <ftw.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "initra/attest.h"
#include "initra/sim.h"

typedef struct {
    const initra_run_opts *o;
    char image[PATH_MAX];
    int run_init;             /* the instance has init_ra_conf.json (or an initfs stage) */
    int two_stage;            /* Occlum's initfs stage: init boots in initfs/, MountRootFS switches to image/ */
    char initfs[PATH_MAX];
    char host[PATH_MAX];      /* --host-dir HOSTPATH, absolute (realpath), or "" */
    const uint8_t *config;    /* --config FILE bytes */
    size_t config_len;
    double t_start;           /* CLOCK_MONOTONIC ms at initra_instance_run (INITRA_RUN_TIMING) */
} launch_ctx;

static double mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static volatile pid_t forward_to = 0;

static void forward_signal(int sig)
{
    if (forward_to > 0) kill(forward_to, sig);
}

static void set_forwarding(pid_t pid)
{
    forward_to = pid;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = forward_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    /* SIGINT from a terminal reaches the whole process group; the enclave's programs decide. */
    signal(SIGINT, SIG_IGN);
    signal(SIGQUIT, SIG_IGN);
}

/* Writes one error line to the launcher and returns 125. */
static int report(int efd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int report(int efd, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (n < 0) return 125;
    if ((size_t)n >= sizeof msg) n = sizeof msg - 1;
    if (efd >= 0 && write(efd, msg, (size_t)n) < 0) return 125;
    return 125;
}

static int status_code(int st) { return WIFEXITED(st) ? WEXITSTATUS(st) : WIFSIGNALED(st) ? 128 + WTERMSIG(st) : 125; }

static int write_str(const char *path, const char *s)
{
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0) return -1;
    ssize_t n = write(fd, s, strlen(s));
    close(fd);
    return n == (ssize_t)strlen(s) ? 0 : -1;
}

static pid_t spawn_in(const char *root, const char *path, char *const argv[]);
static pid_t spawn(const char *path, char *const argv[]) { return spawn_in(NULL, path, argv); }

/* fork + exec (chrooted into root unless NULL) with an exec-status pipe: returns the pid once exec
 * succeeded, or -1 with errno. */
static pid_t spawn_in(const char *root, const char *path, char *const argv[])
{
    int p[2];
    if (pipe2(p, O_CLOEXEC) != 0) return -1;
    pid_t pid = fork();
    if (pid < 0) {
        close(p[0]);
        close(p[1]);
        return -1;
    }
    if (pid == 0) {
        close(p[0]);
        signal(SIGINT, SIG_DFL);
        signal(SIGQUIT, SIG_DFL);
        signal(SIGTERM, SIG_DFL);
        signal(SIGHUP, SIG_DFL);
        if (!root || (chroot(root) == 0 && chdir("/") == 0)) execv(path, argv);
        int e = errno;
        if (write(p[1], &e, sizeof e) < 0) _exit(127);
        _exit(127);
    }
    close(p[1]);
    int e = 0;
    ssize_t r;
    do r = read(p[0], &e, sizeof e);
    while (r < 0 && errno == EINTR);
    close(p[0]);
    if (r == (ssize_t)sizeof e) {
        waitpid(pid, NULL, 0);
        errno = e;
        return -1;
    }
    return pid;
}

/* Waits for pid, reaping every other child on the way (PID 1 duty). */
static int wait_for(pid_t pid)
{
    for (;;) {
        int st;
        pid_t w = waitpid(-1, &st, 0);
        if (w < 0 && errno == EINTR) continue;
        if (w < 0) return 125;
        if (w == pid) return status_code(st);
    }
}

static const char *const SEARCH[] = {"/bin", "/usr/bin", "/sbin", "/usr/sbin", "/usr/local/bin", NULL};

/* Finds PROG inside the (already pivoted) root. */
static int find_prog(const char *prog, char *out, size_t n)
{
    if (strchr(prog, '/')) {
        snprintf(out, n, "%s", prog);
        return access(out, X_OK);
    }
    for (int i = 0; SEARCH[i]; i++) {
        snprintf(out, n, "%s/%s", SEARCH[i], prog);
        if (access(out, X_OK) == 0) return 0;
    }
    return -1;
}

static int bind_dev(int efd, const char *root, const char *name)
{
    char host[64], dst[PATH_MAX];
    snprintf(host, sizeof host, "/dev/%s", name);
    snprintf(dst, sizeof dst, "%s/dev/%s", root, name);
    int fd = open(dst, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0666);
    if (fd >= 0) close(fd);
    if (mount(host, dst, NULL, MS_BIND, NULL) != 0)
        return report(efd, "run: cannot bind-mount %s into the enclave: %s", host, strerror(errno));
    return 0;
}

/* A writable view of the tree at lower_fd at dst: an overlay (lower below, a tmpfs upper layer at
 * base/<tag>upper), or a copy into the tmpfs where overlayfs is unavailable. 0 or a reported error. */
static int layer(int efd, int lower_fd, const char *base, const char *tag, const char *dst)
{
    char upper[PATH_MAX], work[PATH_MAX], opts[256];
    snprintf(upper, sizeof upper, "%s/%supper", base, tag);
    snprintf(work, sizeof work, "%s/%swork", base, tag);
    if (mkdir(upper, 0755) || mkdir(work, 0755) || mkdir(dst, 0755))
        return report(efd, "run: cannot prepare the enclave's tmpfs: %s", strerror(errno));
    int up = open(upper, O_PATH | O_DIRECTORY | O_CLOEXEC), wk = open(work, O_PATH | O_DIRECTORY | O_CLOEXEC);
    snprintf(opts, sizeof opts, "lowerdir=/proc/self/fd/%d,upperdir=/proc/self/fd/%d,workdir=/proc/self/fd/%d",
             lower_fd, up, wk);
    /* INITRA_RUN_NO_OVERLAY=1 forces the copy (tests exercise that path on kernels with overlayfs). */
    const char *no_ovl = getenv("INITRA_RUN_NO_OVERLAY");
    int rc = 0;
    if (up < 0 || wk < 0 || (no_ovl && !strcmp(no_ovl, "1")) || mount("overlay", dst, "overlay", MS_NOSUID, opts) != 0) {
        /* No overlayfs in a user namespace here: copy the image into the tmpfs instead. */
        char src[64];
        initra_err e;
        snprintf(src, sizeof src, "/proc/self/fd/%d", lower_fd);
        if (enc_copy_tree(src, dst, &e) != 0) rc = report(efd, "run: copying the image into tmpfs: %s", e.msg);
        else if (mount(dst, dst, NULL, MS_BIND | MS_REC, NULL) != 0)
            rc = report(efd, "run: cannot bind-mount the enclave root: %s", strerror(errno));
    }
    if (up >= 0) close(up);
    if (wk >= 0) close(wk);
    return rc;
}

/* /dev nodes and /proc inside root. */
static int dev_proc(int efd, const char *root)
{
    char p[PATH_MAX];
    snprintf(p, sizeof p, "%s/dev", root);
    if (mkdir(p, 0755) != 0 && errno != EEXIST) return report(efd, "run: cannot create /dev: %s", strerror(errno));
    static const char *const devs[] = {"null", "zero", "urandom", "random"};
    for (size_t i = 0; i < sizeof devs / sizeof devs[0]; i++)
        if (bind_dev(efd, root, devs[i])) return 125;
    snprintf(p, sizeof p, "%s/proc", root);
    if (mkdir(p, 0555) != 0 && errno != EEXIST) return report(efd, "run: cannot create /proc: %s", strerror(errno));
    if (mount("proc", p, "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) != 0)
        return report(efd, "run: cannot mount /proc in the enclave: %s", strerror(errno));
    return 0;
}

/* --host-dir: HOSTPATH (resolved by the launcher) bind-mounted read-write at dst, before the pivot; the
 * only part of the host's file system the enclave sees. The mount point need not exist in the image. */
static int bind_host(const launch_ctx *c, int efd, const char *dst)
{
    if (!c->host[0]) return 0;
    if (mkdir(dst, 0755) != 0 && errno != EEXIST)
        return report(efd, "run: cannot create the mount point for --host-dir %s: %s", c->o->host_dir, strerror(errno));
    if (mount(c->host, dst, NULL, MS_BIND | MS_REC, NULL) != 0)
        return report(efd, "run: cannot mount --host-dir %s in the enclave: %s", c->o->host_dir, strerror(errno));
    return 0;
}

/* --config FILE becomes root/etc/init_ra_conf.json. */
static int attach_config(const launch_ctx *c, int efd, const char *root)
{
    if (!c->config) return 0;
    char p[PATH_MAX];
    snprintf(p, sizeof p, "%s/etc", root);
    if (mkdir(p, 0755) != 0 && errno != EEXIST) return report(efd, "run: cannot create /etc: %s", strerror(errno));
    snprintf(p, sizeof p, "%s/etc/init_ra_conf.json", root);
    initra_err e;
    if (initra_write_file_atomic(p, c->config, c->config_len, 0644, &e))
        return report(efd, "run: attaching --config: %s", e.msg);
    return 0;
}

/* INITRA_SIM_FD for init and PROG. */
static int pass_sim_fd(int efd, int sfd)
{
    if (sfd < 0) {
        unsetenv(INITRA_SIM_FD_ENV);
        return 0;
    }
    char num[16];
    snprintf(num, sizeof num, "%d", sfd);
    int fl = fcntl(sfd, F_GETFD);
    if (fl < 0 || fcntl(sfd, F_SETFD, fl & ~FD_CLOEXEC) != 0 || setenv(INITRA_SIM_FD_ENV, num, 1) != 0)
        return report(efd, "run: cannot pass the quote descriptor: %s", strerror(errno));
    return 0;
}

/* ---------------- Occlum's two stages ----------------
 * PID 1 pivots into a tmpfs holding /initfs (initfs/ layered), /app (image/ layered) and /root, the
 * enclave's root as its programs see it (they run chrooted there). /root's top-level entries are bind
 * mounts of /initfs's until MountRootFS, which replaces them by /app's: init keeps running (its files
 * are detached, not gone), and what it writes afterwards lands in the application's root. */

static const char *const KEEP[] = {"dev", "proc", NULL};

static int kept(const char *name)
{
    for (int i = 0; KEEP[i]; i++)
        if (!strcmp(name, KEEP[i])) return 1;
    return 0;
}

/* Binds every top-level entry of src into root (directories and files; symlinks recreated). */
static int stage_into(const char *root, const char *src)
{
    DIR *d = opendir(src);
    if (!d) return -1;
    struct dirent *e;
    int rc = 0;
    while (rc == 0 && (e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..") || kept(e->d_name)) continue;
        char from[PATH_MAX], to[PATH_MAX];
        struct stat st;
        snprintf(from, sizeof from, "%s/%s", src, e->d_name);
        snprintf(to, sizeof to, "%s/%s", root, e->d_name);
        if (lstat(from, &st) != 0) rc = -1;
        else if (S_ISLNK(st.st_mode)) {
            char t[PATH_MAX];
            ssize_t n = readlink(from, t, sizeof t - 1);
            rc = n < 0 ? -1 : (t[n] = 0, symlink(t, to));
        } else if (S_ISDIR(st.st_mode) || S_ISREG(st.st_mode)) {
            if (S_ISDIR(st.st_mode)) rc = mkdir(to, 0755) != 0 && errno != EEXIST ? -1 : 0;
            else {
                int fd = open(to, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
                rc = fd < 0 ? -1 : close(fd);
            }
            if (rc == 0) rc = mount(from, to, NULL, MS_BIND | MS_REC, NULL);
        }
    }
    closedir(d);
    return rc;
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    return remove(path) == 0 || errno == ENOENT ? 0 : -1;
}

/* Detaches and removes every top-level entry of root but /dev and /proc. */
static int unstage(const char *root)
{
    DIR *d = opendir(root);
    if (!d) return -1;
    struct dirent *e;
    int rc = 0;
    while ((e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..") || kept(e->d_name)) continue;
        char p[PATH_MAX];
        snprintf(p, sizeof p, "%s/%s", root, e->d_name);
        while (umount2(p, MNT_DETACH) == 0) {
        }
        if (nftw(p, rm_entry, 16, FTW_DEPTH | FTW_PHYS | FTW_MOUNT) != 0) rc = -1;
    }
    closedir(d);
    return rc;
}

typedef struct {
    int ctl;            /* PID 1's end of the launcher's mount channel */
    pthread_mutex_t mu;
    int mounted;
    int open;           /* init still runs: mounts are served */
    int host;           /* --host-dir: /host (PID 1's) is bound at /root/host after the switch */
    pthread_t th;
} stage_switch;

/* PID 1's mount thread: one byte from the launcher (which checked the key) switches /root to /app; one
 * byte back: 0 or an errno. */
static void *switch_main(void *arg)
{
    stage_switch *sw = arg;
    for (;;) {
        uint8_t b;
        ssize_t n = read(sw->ctl, &b, 1);
        if (n < 0 && errno == EINTR) continue;
        if (n != 1) return NULL;
        pthread_mutex_lock(&sw->mu);
        uint8_t r = 0;
        if (!sw->open || sw->mounted) r = EPERM;
        else if (unstage("/root") != 0 || stage_into("/root", "/app") != 0) r = EIO;
        else if (sw->host && ((mkdir("/root/host", 0755) != 0 && errno != EEXIST) ||
                              mount("/host", "/root/host", NULL, MS_BIND | MS_REC, NULL) != 0))
            r = EIO;
        else sw->mounted = 1;
        pthread_mutex_unlock(&sw->mu);
        if (write(sw->ctl, &r, 1) != 1) return NULL;
    }
}

static pid_t spawn_in(const char *root, const char *path, char *const argv[]);

static int enclave_pid1_two(const launch_ctx *c, int img, int sfd, int efd, int ctl)
{
    const initra_run_opts *o = c->o;
    char initfs[PATH_MAX], app[PATH_MAX], root[PATH_MAX];
    int ifd = open(c->initfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (ifd < 0) return report(efd, "run: %s: %s", c->initfs, strerror(errno));
    snprintf(initfs, sizeof initfs, "%s/initfs", c->image);
    snprintf(app, sizeof app, "%s/app", c->image);
    snprintf(root, sizeof root, "%s/root", c->image);
    if (layer(efd, ifd, c->image, "i", initfs) || layer(efd, img, c->image, "a", app)) return 125;
    close(ifd);
    close(img);
    if (mkdir(root, 0755) != 0) return report(efd, "run: cannot create the enclave root: %s", strerror(errno));
    if (stage_into(root, initfs) != 0)
        return report(efd, "run: cannot bind the initfs into the enclave root: %s", strerror(errno));
    if (dev_proc(efd, root) || attach_config(c, efd, root)) return 125;
    char host[PATH_MAX];
    snprintf(host, sizeof host, "%s/host", c->image);
    if (bind_host(c, efd, host)) return 125;
    if (chdir(c->image) != 0 || syscall(SYS_pivot_root, ".", ".") != 0 || umount2(".", MNT_DETACH) != 0 || chdir("/") != 0)
        return report(efd, "run: cannot switch into the enclave's tmpfs: %s", strerror(errno));
    if (pass_sim_fd(efd, sfd)) return 125;
    if (access("/root/bin/init", X_OK) != 0)
        return report(efd, "run: %s/initfs/bin/init is missing: run `initra build %s`", o->dir, o->dir);
    stage_switch sw = {.ctl = ctl, .mu = PTHREAD_MUTEX_INITIALIZER, .open = 1, .host = c->host[0] != 0};
    if (pthread_create(&sw.th, NULL, switch_main, &sw) != 0) return report(efd, "run: cannot start the mount thread");
    set_forwarding(0);
    char *init_argv[] = {"/bin/init", NULL};
    pid_t ip = spawn_in("/root", "/bin/init", init_argv);
    if (ip < 0) return report(efd, "run: cannot start /bin/init: %s", strerror(errno));
    forward_to = ip;
    int st = wait_for(ip);
    pthread_mutex_lock(&sw.mu);
    sw.open = 0;
    int mounted = sw.mounted;
    pthread_mutex_unlock(&sw.mu);
    shutdown(ctl, SHUT_RDWR);
    pthread_join(sw.th, NULL);
    if (st != 0) {
        close(efd);
        fprintf(stderr, "initra: run: /bin/init exited with status %d; %s was not started\n", st, o->argv[0]);
        return st;
    }
    if (!mounted)
        return report(efd, "run: /bin/init exited 0 without mounting the application's rootfs (MountRootFS); %s was "
                           "not started", o->argv[0]);
    char prog[PATH_MAX];
    if (chroot("/root") != 0 || chdir("/") != 0)
        return report(efd, "run: cannot enter the application's root: %s", strerror(errno));
    if (find_prog(o->argv[0], prog, sizeof prog) != 0)
        return report(efd, "run: PROG '%s' is not an executable file in %s/image; copy it there and run `initra build "
                           "%s`", o->argv[0], o->dir, o->dir);
    pid_t pp = spawn_in(NULL, prog, o->argv);
    if (pp < 0) return report(efd, "run: cannot start %s in the enclave: %s", prog, strerror(errno));
    close(efd);
    forward_to = pp;
    return wait_for(pp);
}

/* PID 1 of the enclave: builds the root, pivots, runs init and PROG. */
static int enclave_pid1(const launch_ctx *c, int sfd, int efd, int ctl)
{
    const initra_run_opts *o = c->o;
    if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0)
        return report(efd, "run: cannot make the enclave's mounts private: %s", strerror(errno));
    int img = open(c->image, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (img < 0) return report(efd, "run: %s: %s", c->image, strerror(errno));
    /* A private tmpfs over the image path holds the overlay's upper layer (all writes) and mount point. */
    if (mount("tmpfs", c->image, "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755") != 0)
        return report(efd, "run: cannot mount a tmpfs for the enclave's writes: %s (needs mount namespaces)",
                       strerror(errno));
    char root[PATH_MAX];
    snprintf(root, sizeof root, "%s/root", c->image);
    if (c->two_stage) return enclave_pid1_two(c, img, sfd, efd, ctl);
    if (layer(efd, img, c->image, "", root)) return 125;
    close(img);
    char host[PATH_MAX];
    snprintf(host, sizeof host, "%s/host", root);
    if (dev_proc(efd, root) || attach_config(c, efd, root) || bind_host(c, efd, host)) return 125;
    if (chdir(root) != 0 || syscall(SYS_pivot_root, ".", ".") != 0 || umount2(".", MNT_DETACH) != 0 || chdir("/") != 0)
        return report(efd, "run: cannot switch into the enclave root: %s", strerror(errno));

    char prog[PATH_MAX];
    if (find_prog(o->argv[0], prog, sizeof prog) != 0)
        return report(efd, "run: PROG '%s' is not an executable file in %s (looked %s); copy it into the image and "
                           "run `initra build %s`", o->argv[0], c->image,
                      strchr(o->argv[0], '/') ? "at that path" : "in /bin, /usr/bin, /sbin, /usr/sbin, /usr/local/bin",
                      o->dir);
    if (pass_sim_fd(efd, sfd)) return 125;
    set_forwarding(0);
    double t_init = 0;
    if (c->run_init && access("/bin/init", X_OK) == 0) {
        char *init_argv[] = {"/bin/init", NULL};
        t_init = mono_ms();
        pid_t ip = spawn("/bin/init", init_argv);
        if (ip < 0) return report(efd, "run: cannot start /bin/init: %s", strerror(errno));
        forward_to = ip;
        int st = wait_for(ip);
        if (st != 0) {
            close(efd);
            fprintf(stderr, "initra: run: /bin/init exited with status %d; %s was not started\n", st, o->argv[0]);
            return st;
        }
    }
    pid_t pp = spawn(prog, o->argv);
    if (pp < 0) return report(efd, "run: cannot start %s in the enclave: %s", prog, strerror(errno));
    if (getenv("INITRA_RUN_TIMING")) { /* benchmarks: when the program was exec'd (CLOCK_MONOTONIC is shared) */
        double t = mono_ms();
        fprintf(stderr, "initra-run-timing launch_to_exec_ms=%.3f init_to_exec_ms=%.3f\n", t - c->t_start,
                t_init > 0 ? t - t_init : 0.0);
    }
    close(efd);
    forward_to = pp;
    return wait_for(pp);
}

/* The child in the new namespaces; its own child is PID 1 of the enclave. */
static int enclave_child(const launch_ctx *c, int sfd, int efd, int ctl)
{
    uid_t uid = getuid();
    gid_t gid = getgid();
    if (unshare(CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWPID) != 0)
        return report(efd, "run: cannot create the enclave's user, mount and PID namespaces (unshare: %s): enable "
                           "user namespaces with `sysctl -w user.max_user_namespaces=15000` (and `sysctl -w "
                           "kernel.unprivileged_userns_clone=1` where that exists; in a container, allow unshare "
                           "in its seccomp profile)", strerror(errno));
    char map[64];
    snprintf(map, sizeof map, "0 %u 1\n", (unsigned)uid);
    if (write_str("/proc/self/setgroups", "deny") != 0 || write_str("/proc/self/uid_map", map) != 0)
        return report(efd, "run: cannot map the enclave's user (/proc/self/uid_map): %s", strerror(errno));
    snprintf(map, sizeof map, "0 %u 1\n", (unsigned)gid);
    if (write_str("/proc/self/gid_map", map) != 0)
        return report(efd, "run: cannot map the enclave's group (/proc/self/gid_map): %s", strerror(errno));
    pid_t pid = fork();
    if (pid < 0) return report(efd, "run: fork: %s", strerror(errno));
    if (pid == 0) _exit(enclave_pid1(c, sfd, efd, ctl));
    if (sfd >= 0) close(sfd);
    if (ctl >= 0) close(ctl);
    close(efd);
    set_forwarding(pid);
    int st;
    while (waitpid(pid, &st, 0) < 0)
        if (errno != EINTR) return 125;
    return status_code(st);
}

/* ---------------- the quote service (launcher side) ---------------- */
/* The launcher keeps one end of the socketpair and answers quote requests on a thread with the fixed
 * identity (initra_sim_serve_fd); the enclave chooses only report_data. */

/* MountRootFS, launcher side: checks the key against build/image_key_check (the stand-in for SEFS
 * decryption), then asks PID 1 to switch the enclave's root. */
typedef struct {
    int two_stage;
    int type;             /* INITRA_IMAGE_* */
    uint8_t image_m[32];  /* the image's measurement (the key check binds it) */
    uint8_t check[32];
    int mounted;
    int ctl;              /* launcher's end of the channel to PID 1 */
} mount_state;

static int mount_rootfs(void *ctx, const uint8_t *key)
{
    mount_state *ms = ctx;
    if (!ms->two_stage) return ENOENT;
    if (ms->mounted) return EPERM; /* occlum src/libos/src/fs/fs_ops/mount.rs:22-24 */
    if ((ms->type == INITRA_IMAGE_ENCRYPTED) != (key != NULL)) return EINVAL;
    if (key) {
        uint8_t got[32];
        enclave_image_key_check(key, ms->image_m, got);
        if (CRYPTO_memcmp(got, ms->check, 32) != 0) return EACCES;
    }
    uint8_t b = 1, r = EIO;
    if (write(ms->ctl, &b, 1) != 1 || read(ms->ctl, &r, 1) != 1) return EIO;
    if (r == 0) ms->mounted = 1;
    return r;
}

typedef struct {
    initra_sim *sim;
    int fd;
    initra_sgx_report_body id;
    pthread_t th;
    int running;
    mount_state *mount;
} quote_service;

static void *serve_main(void *arg)
{
    quote_service *q = arg;
    initra_err e;
    if (initra_sim_serve_fd_mount(q->sim, q->fd, &q->id, mount_rootfs, q->mount, &e) != 0)
        fprintf(stderr, "initra: run: sim quote service: %s\n", e.msg);
    return NULL;
}

static int service_open(quote_service *q, initra_err *err)
{
    char dir[PATH_MAX];
    if (initra_sim_dir(dir, sizeof dir, err)) return -1;
    q->sim = initra_sim_open(dir, err);
    return q->sim ? 0 : -1;
}

static int service_start(quote_service *q, int fd)
{
    q->fd = fd;
    q->running = pthread_create(&q->th, NULL, serve_main, q) == 0;
    return q->running ? 0 : -1;
}

/* After the enclave is gone: wake the thread (it may be between requests) and wait for it. */
static void service_stop(quote_service *q)
{
    if (q->running) {
        shutdown(q->fd, SHUT_RDWR);
        pthread_join(q->th, NULL);
        q->running = 0;
    }
    if (q->sim) initra_sim_close(q->sim);
    q->sim = NULL;
}

/* ---------------- checks before launch ---------------- */

static int check_meta_matches(const char *dir, const initra_enclave_meta *m, const initra_sigstruct *s, initra_err *err)
{
    uint8_t fam[16] = {0}, ext[16] = {0};
    if (m->enable_kss) {
        enclave_kss_id_bytes(m->family_id_high, m->family_id_low, fam);
        enclave_kss_id_bytes(m->ext_prod_id_high, m->ext_prod_id_low, ext);
    }
    const char *what = NULL;
    if (s->isv_prod_id != m->product_id) what = "metadata.product_id";
    else if (s->isv_svn != m->version_number) what = "metadata.version_number";
    else if (!!(s->attributes.flags & INITRA_ATTR_DEBUG) != !!m->debuggable) what = "metadata.debuggable";
    else if (!!(s->attributes.flags & INITRA_ATTR_KSS) != !!m->enable_kss) what = "metadata.enable_kss";
    else if (memcmp(fam, s->isv_family_id, 16)) what = "metadata.family_id";
    else if (memcmp(ext, s->isv_ext_prod_id, 16)) what = "metadata.ext_prod_id";
    if (what)
        return initra_fail(err, "run: %s/Occlum.json %s differs from the signed build/enclave.sig: run `initra build %s` "
                                "again", dir, what, dir);
    /* The binding mode recorded in the (measured) image must be Occlum.json's. */
    char p[PATH_MAX];
    uint8_t *buf;
    size_t n;
    if (initra_instance_path(dir, enclave_instance_two_stage(dir) ? "initfs" INITRA_BINDING_FILE : "image" INITRA_BINDING_FILE,
                             p, sizeof p, err))
        return -1;
    if (initra_read_file(p, 64, &buf, &n, err)) return initra_fail_prefix(err, "run: run `initra build %s` again", dir);
    const char *want = m->config_binding == INITRA_BIND_CONFIG_ID ? "config_id\n" : "measured\n";
    int same = n == strlen(want) && memcmp(buf, want, n) == 0;
    free(buf);
    if (!same)
        return initra_fail(err, "run: %s/Occlum.json config_binding differs from the build: run `initra build %s` again",
                           dir, dir);
    return 0;
}

static int verify_instance(const char *dir, const char *image, initra_sigstruct *s, initra_err *err)
{
    char p[PATH_MAX];
    uint8_t *buf;
    size_t n;
    if (initra_instance_path(dir, "build/enclave.sig", p, sizeof p, err)) return -1;
    if (access(p, F_OK) != 0) return initra_fail(err, "run: %s is not built yet: run `initra build %s`", dir, dir);
    if (initra_read_file(p, 1 << 16, &buf, &n, err)) return -1;
    int rc = initra_sigstruct_verify(buf, n, s, err);
    free(buf);
    if (rc) return initra_fail_prefix(err, "run: %s", p);
    uint8_t mrsigner[32], recorded[32];
    initra_mrsigner_of_modulus(s->modulus, mrsigner);
    if (initra_instance_path(dir, "build/mrsigner", p, sizeof p, err)) return -1;
    if (initra_read_file(p, 256, &buf, &n, err)) return initra_fail_prefix(err, "run: rebuild with `initra build %s`", dir);
    int ok = n >= 64 && (buf[64] = 0, initra_unhex((const char *)buf, recorded, 32) == 0);
    free(buf);
    if (!ok) return initra_fail(err, "run: %s: not a hex MRSIGNER; rebuild with `initra build %s`", p, dir);
    char h1[65], h2[65];
    if (memcmp(mrsigner, recorded, 32))
        return initra_fail(err, "run: %s/build/enclave.sig is signed by a different key (MRSIGNER %s) than this "
                                "instance's (%s); rebuild with `initra build %s [--sign-key PEM]`",
                           dir, initra_hex(mrsigner, 32, h1), initra_hex(recorded, 32, h2), dir);
    uint8_t now[32];
    if (enclave_instance_two_stage(dir) ? enclave_measure_two_stage(dir, now, err) : enclave_measure_image(image, now, err))
        return initra_fail_prefix(err, "run: measuring the image");
    if (memcmp(now, s->enclave_hash, 32))
        return initra_fail(err, "run: %s changed since it was built (MRENCLAVE now %s, signed %s): run `initra build %s` "
                                "again", image, initra_hex(now, 32, h1), initra_hex(s->enclave_hash, 32, h2), dir);
    return 0;
}

int initra_instance_run(const initra_run_opts *o, initra_err *err)
{
    launch_ctx c = {.o = o, .t_start = mono_ms()};
    initra_enclave_meta m;
    if (o->argc < 1) return initra_fail(err, "run: no PROG given");
    if (initra_instance_load(o->dir, &m, err)) return -1;
    if ((o->config_id || o->config_svn >= 0) && !m.enable_kss)
        return initra_fail(err, "run: config_id and config_svn need KSS, which %s was built without: set "
                                "metadata.enable_kss to true in %s/Occlum.json and run `initra build %s`",
                           o->dir, o->dir, o->dir);
    char p[PATH_MAX];
    if (initra_instance_path(o->dir, "image", c.image, sizeof c.image, err) ||
        initra_instance_path(o->dir, "init_ra_conf.json", p, sizeof p, err))
        return -1;
    c.run_init = access(p, F_OK) == 0;
    c.two_stage = enclave_instance_two_stage(o->dir);
    if (c.two_stage && initra_instance_path(o->dir, "initfs", c.initfs, sizeof c.initfs, err)) return -1;
    if (o->config_file && m.config_binding != INITRA_BIND_CONFIG_ID)
        return initra_fail(err, "run: --config needs \"config_binding\": \"config_id\" in %s/Occlum.json (this instance "
                                "measures init_ra_conf.json into MRENCLAVE instead)", o->dir);
    if (m.config_binding == INITRA_BIND_CONFIG_ID && c.run_init && !c.two_stage && !o->config_file)
        return initra_fail(err, "run: %s binds init_ra_conf.json by CONFIGID: attach one with --config FILE "
                                "--config-id $(initra config-id FILE)", o->dir);
    if (o->host_dir) {
        struct stat st;
        if (stat(o->host_dir, &st) != 0)
            return initra_fail(err, "run: --host-dir %s: %s; give an existing directory (mounted read-write at /host)",
                               o->host_dir, strerror(errno));
        if (!S_ISDIR(st.st_mode))
            return initra_fail(err, "run: --host-dir %s is not a directory (file mode 0%o); give an existing directory "
                                    "(mounted read-write at /host)", o->host_dir, (unsigned)st.st_mode & 0170000u);
        if (!realpath(o->host_dir, c.host))
            return initra_fail(err, "run: --host-dir %s: %s", o->host_dir, strerror(errno));
    }
    uint8_t *config = NULL;
    size_t config_len = 0;
    if (o->config_file) {
        json_t *j;
        if (initra_json_load(o->config_file, INITRA_MAX_CONFIG, &j, err)) return -1;
        json_decref(j);
        if (initra_read_file(o->config_file, INITRA_MAX_CONFIG, &config, &config_len, err)) return -1;
        c.config = config;
        c.config_len = config_len;
    }
    initra_sigstruct s;
    initra_sgx_report_body id;
    quote_service q;
    memset(&q, 0, sizeof q);
    mount_state ms = {.two_stage = c.two_stage, .type = INITRA_IMAGE_NONE, .ctl = -1};
    q.mount = &ms;
    int rc = -1, sp[2] = {-1, -1}, ep[2] = {-1, -1}, cp[2] = {-1, -1};
    if (verify_instance(o->dir, c.image, &s, err) || check_meta_matches(o->dir, &m, &s, err)) goto out;
    if (c.two_stage) {
        char ic[PATH_MAX];
        if (initra_instance_path(o->dir, "initfs/etc/" INITRA_IMAGE_CONFIG_FILE, ic, sizeof ic, err) ||
            initra_image_config_load(ic, &ms.type, err) || enclave_image_key_check_load(o->dir, ms.type, ms.check, err) ||
            enclave_measure_image(c.image, ms.image_m, err))
            goto out;
        if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, cp) != 0) {
            initra_fail(err, "run: socketpair: %s", strerror(errno));
            goto out;
        }
        ms.ctl = cp[0];
    }
    enclave_identity_from_sigstruct(&s, o->config_id, o->config_svn < 0 ? 0 : (uint16_t)o->config_svn, &id);
    q.id = id;
    if (service_open(&q, err)) {
        initra_fail_prefix(err, "run: the simulated platform");
        goto out;
    }
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) != 0 || pipe2(ep, O_CLOEXEC) != 0) {
        initra_fail(err, "run: socketpair/pipe: %s", strerror(errno));
        goto out;
    }
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        initra_fail(err, "run: fork: %s", strerror(errno));
        goto out;
    }
    if (pid == 0) {
        close(sp[0]);
        close(ep[0]);
        if (cp[0] >= 0) close(cp[0]);
        _exit(enclave_child(&c, sp[1], ep[1], cp[1]));
    }
    close(sp[1]);
    close(ep[1]);
    if (cp[1] >= 0) close(cp[1]);
    sp[1] = ep[1] = cp[1] = -1;
    if (service_start(&q, sp[0]) != 0) {
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
        initra_fail(err, "run: cannot start the quote service thread");
        goto out;
    }
    set_forwarding(pid);
    int st = 0;
    while (waitpid(pid, &st, 0) < 0)
        if (errno != EINTR) break;
    int code = status_code(st);
    char msg[1100];
    ssize_t n;
    do n = read(ep[0], msg, sizeof msg - 1);
    while (n < 0 && errno == EINTR);
    if (n > 0) {
        msg[n] = 0;
        initra_fail(err, "%s", msg);
        goto out;
    }
    rc = code;
out:
    service_stop(&q);
    for (int i = 0; i < 2; i++) {
        if (sp[i] >= 0) close(sp[i]);
        if (ep[i] >= 0) close(ep[i]);
        if (cp[i] >= 0) close(cp[i]);
    }
    if (config) free(config);
    return rc;
}
