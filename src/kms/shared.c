/* Reference-counted configurations swapped on reload (src/kms/internal.h). */
#include "kms/internal.h"

kms_shared *kms_shared_get(pthread_mutex_t *lock, kms_shared *const *slot)
{
    pthread_mutex_lock(lock);
    kms_shared *s = *slot;
    s->refs++;
    pthread_mutex_unlock(lock);
    return s;
}

void kms_shared_put(pthread_mutex_t *lock, kms_shared *s)
{
    if (!s) return;
    pthread_mutex_lock(lock);
    int last = --s->refs == 0;
    pthread_mutex_unlock(lock);
    if (last) s->destroy(s);
}

void kms_shared_swap(pthread_mutex_t *lock, kms_shared **slot, kms_shared *fresh)
{
    pthread_mutex_lock(lock);
    kms_shared *old = *slot;
    *slot = fresh;
    pthread_mutex_unlock(lock);
    kms_shared_put(lock, old);
}
