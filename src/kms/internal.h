/* Shared by the KMS servers (GRPC-RATLS and AECS). */
#ifndef INITRA_KMS_INTERNAL_H
#define INITRA_KMS_INTERNAL_H

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>

/* One log line "<UTC time> kms: <text>", written and flushed under lock. */
void kms_log(FILE *f, pthread_mutex_t *lock, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#endif
