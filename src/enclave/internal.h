/* Shared inside src/enclave only. */
#ifndef INITRA_ENCLAVE_INTERNAL_H
#define INITRA_ENCLAVE_INTERNAL_H

#include <stddef.h>
#include <sys/stat.h>

#include "initra/enclave.h"

/* One entry of an image walk: path relative to the image root, starting with '/'. */
typedef struct {
    char *path;
    struct stat st;
} enc_entry;

typedef struct {
    enc_entry *v;
    size_t n, cap;
} enc_tree;

/* Every entry under root (not root itself), sorted bytewise by path. */
int enc_walk(const char *root, enc_tree *t, initra_err *err);
void enc_tree_free(enc_tree *t);

/* root + rel ("/bin/sh") into out. */
int enc_join(const char *root, const char *rel, char *out, size_t n, initra_err *err);

/* Copies a regular file's bytes to dst (mode), atomically; skips the write when dst has the same bytes
 * and mode already. *changed (may be NULL) set to 1 when written. */
int enc_copy_file(const char *src, const char *dst, unsigned mode, int *changed, initra_err *err);

/* Copies the tree under src into dst (which exists): directories, regular files, symlinks. */
int enc_copy_tree(const char *src, const char *dst, initra_err *err);

/* Copies the ELF dependencies of every executable in the image into it. note() gets one line per
 * copied library. */
int enc_copy_elf_deps(const char *image, void (*note)(const char *), initra_err *err);

#endif
