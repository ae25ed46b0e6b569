/* Corpus replay for a libFuzzer target without libFuzzer: feeds every file under the given paths
 * (files or directories, recursively) to LLVMFuzzerTestOneInput. Built with ASan+UBSan by make test. */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int count;

static void feed(const char *path)
{
    struct stat st;
    if (stat(path, &st) != 0) return;
    if (S_ISDIR(st.st_mode)) {
        DIR *d = opendir(path);
        if (!d) return;
        struct dirent *e;
        while ((e = readdir(d))) {
            if (e->d_name[0] == '.') continue;
            char sub[4096];
            snprintf(sub, sizeof sub, "%s/%s", path, e->d_name);
            feed(sub);
        }
        closedir(d);
        return;
    }
    FILE *f = fopen(path, "rb");
    if (!f) return;
    uint8_t *buf = malloc((size_t)st.st_size + 1);
    size_t n = buf ? fread(buf, 1, (size_t)st.st_size, f) : 0;
    fclose(f);
    if (buf) LLVMFuzzerTestOneInput(buf, n);
    free(buf);
    count++;
}

int main(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) feed(argv[i]);
    printf("%s replayed %d inputs\n", count > 0 ? "ok -" : "not ok -", count);
    return count > 0 ? 0 : 1;
}
