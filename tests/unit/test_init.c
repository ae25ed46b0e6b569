/* init_write_secret_files with real files: all or nothing (a failure midway puts back what was there),
 * directories created 0700 without following symbolic links, files 0600. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "init/internal.h"
#include "initra/init.h"

static char D[64];

static const char *at(const char *rel)
{
    static char buf[4][256];
    static int k;
    char *b = buf[k++ % 4];
    snprintf(b, 256, "%s/%s", D, rel);
    return b;
}

static void put(const char *rel, const char *text)
{
    FILE *f = fopen(at(rel), "w");
    if (f) fputs(text, f), fclose(f);
}

static int holds(const char *rel, const char *text)
{
    char got[64] = "";
    FILE *f = fopen(at(rel), "r");
    if (!f) return 0;
    size_t n = fread(got, 1, sizeof got - 1, f);
    fclose(f);
    got[n] = 0;
    return !strcmp(got, text);
}

/* Names in directory rel that start with '.', i.e. temp or set-aside files left behind. */
static int leftovers(const char *rel)
{
    DIR *d = opendir(at(rel));
    int n = 0;
    struct dirent *e;
    while (d && (e = readdir(d)))
        if (e->d_name[0] == '.' && strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) n++;
    if (d) closedir(d);
    return n;
}

#define F(rel, text) {at(rel), (const uint8_t *)(text), strlen(text)}

int main(void)
{
    snprintf(D, sizeof D, "/tmp/initra-keys.XXXXXX");
    if (!mkdtemp(D)) return 1;
    initra_err err;
    struct stat st;

    /* fresh files in new directories */
    initra_secret_file a[] = {F("new/sub/k1", "one"), F("k2", "two")};
    CHECK(init_write_secret_files(a, 2, &err) == 0, "two keys written: %s", err.msg);
    CHECK(holds("new/sub/k1", "one") && holds("k2", "two"), "both keys hold their bytes");
    CHECK(stat(at("new/sub/k1"), &st) == 0 && (st.st_mode & 0777) == 0600, "key mode 0600");
    CHECK(stat(at("new/sub"), &st) == 0 && (st.st_mode & 0777) == 0700, "created directory mode 0700");
    CHECK(leftovers("") == 0 && leftovers("new/sub") == 0, "no temp files left");

    /* a failure midway: the keys already renamed into place are rolled back */
    put("k1", "old1");
    mkdir(at("isdir"), 0700);
    put("isdir/x", "x");
    initra_secret_file b[] = {F("k1", "new1"), F("k3", "new3"), F("isdir", "new")};
    int rc = init_write_secret_files(b, 3, &err);
    CHECK(rc == -1 && strstr(err.msg, "isdir: is a directory; no key file was changed"), "third target a directory: %s",
          err.msg);
    CHECK(holds("k1", "old1"), "the replaced first key is restored to its previous bytes");
    CHECK(access(at("k3"), F_OK) != 0, "the new second key is removed again");
    CHECK(leftovers("") == 0, "no temp or set-aside files left (%d)", leftovers(""));

    /* symbolic links in the directory path are never followed */
    mkdir(at("elsewhere"), 0700);
    symlink(at("elsewhere"), at("link"));
    initra_secret_file c[] = {F("k4", "four"), F("link/k", "x")};
    rc = init_write_secret_files(c, 2, &err);
    CHECK(rc == -1 && strstr(err.msg, "/link: is a symbolic link or not a directory"), "symlinked parent refused: %s",
          err.msg);
    CHECK(leftovers("elsewhere") == 0 && access(at("elsewhere/k"), F_OK) != 0, "nothing written through the link");
    CHECK(access(at("k4"), F_OK) != 0 && leftovers("") == 0, "and nothing else written");
    initra_secret_file d[] = {F("link/sub/k", "x")};
    rc = init_write_secret_files(d, 1, &err);
    CHECK(rc == -1 && strstr(err.msg, "symbolic link") && access(at("elsewhere/sub"), F_OK) != 0,
          "no directory created through a link either: %s", err.msg);

    /* a symbolic link as the key file itself is replaced, its target untouched */
    put("target", "keep");
    symlink(at("target"), at("klink"));
    initra_secret_file e[] = {F("klink", "k")};
    CHECK(init_write_secret_files(e, 1, &err) == 0 && holds("klink", "k") && holds("target", "keep") &&
              lstat(at("klink"), &st) == 0 && S_ISREG(st.st_mode),
          "a link at the key path is replaced by the key file, its target untouched");

    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", D);
    if (system(cmd) != 0) return 1;
    CHECK_DONE();
}
