/* Shared by the KMS servers (GRPC-RATLS and AECS). */
#ifndef INITRA_KMS_INTERNAL_H
#define INITRA_KMS_INTERNAL_H

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>

/* One log line "<UTC time> kms: <text>", written and flushed under lock. */
void kms_log(FILE *f, pthread_mutex_t *lock, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* kms_log for a server struct k with `log` and `lock` members. */
#define logf_(k, ...) kms_log((k)->log, &(k)->lock, __VA_ARGS__)

/* A configuration that request threads borrow while a reload replaces it as a whole. Each server's
 * configuration struct starts with a kms_shared; whoever drops the last reference destroys it. */
typedef struct kms_shared {
    int refs;
    void (*destroy)(struct kms_shared *);
} kms_shared;

/* The current configuration in *slot, with a reference for the caller. */
kms_shared *kms_shared_get(pthread_mutex_t *lock, kms_shared *const *slot);
/* Drops a reference taken by kms_shared_get (or the slot's own, at shutdown). */
void kms_shared_put(pthread_mutex_t *lock, kms_shared *s);
/* Installs fresh (created with refs = 1: the slot's) and drops the slot's reference to the old one. */
void kms_shared_swap(pthread_mutex_t *lock, kms_shared **slot, kms_shared *fresh);

#endif
