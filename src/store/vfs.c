/* store: a pass-through SQLite VFS over the default one that counts xSync calls (fsyncs of the database
 * and its WAL) for initra_store_get_stats. Registered once per process as "initra-count". */
#include "store/internal.h"

#include <pthread.h>
#include <sqlite3.h>
#include <stdatomic.h>
#include <string.h>

static atomic_uint_fast64_t syncs;
static sqlite3_vfs counting, *base;
static sqlite3_io_methods methods;
static pthread_once_t once = PTHREAD_ONCE_INIT;
static int registered = SQLITE_ERROR;

typedef struct {
    sqlite3_file f;
    sqlite3_file *real; /* follows this struct, base->szOsFile bytes */
} cfile;
#define REAL(p) (((cfile *)(p))->real)

static int c_close(sqlite3_file *p)
{
    int rc = REAL(p)->pMethods ? REAL(p)->pMethods->xClose(REAL(p)) : SQLITE_OK;
    p->pMethods = NULL;
    return rc;
}
static int c_read(sqlite3_file *p, void *b, int n, sqlite3_int64 o) { return REAL(p)->pMethods->xRead(REAL(p), b, n, o); }
static int c_write(sqlite3_file *p, const void *b, int n, sqlite3_int64 o)
{
    return REAL(p)->pMethods->xWrite(REAL(p), b, n, o);
}
static int c_truncate(sqlite3_file *p, sqlite3_int64 n) { return REAL(p)->pMethods->xTruncate(REAL(p), n); }
static int c_sync(sqlite3_file *p, int flags)
{
    atomic_fetch_add(&syncs, 1);
    return REAL(p)->pMethods->xSync(REAL(p), flags);
}
static int c_size(sqlite3_file *p, sqlite3_int64 *n) { return REAL(p)->pMethods->xFileSize(REAL(p), n); }
static int c_lock(sqlite3_file *p, int l) { return REAL(p)->pMethods->xLock(REAL(p), l); }
static int c_unlock(sqlite3_file *p, int l) { return REAL(p)->pMethods->xUnlock(REAL(p), l); }
static int c_reserved(sqlite3_file *p, int *r) { return REAL(p)->pMethods->xCheckReservedLock(REAL(p), r); }
static int c_fcntl(sqlite3_file *p, int op, void *a) { return REAL(p)->pMethods->xFileControl(REAL(p), op, a); }
static int c_sector(sqlite3_file *p) { return REAL(p)->pMethods->xSectorSize(REAL(p)); }
static int c_devchar(sqlite3_file *p) { return REAL(p)->pMethods->xDeviceCharacteristics(REAL(p)); }
static int c_shmmap(sqlite3_file *p, int i, int sz, int ext, void volatile **pp)
{
    return REAL(p)->pMethods->xShmMap(REAL(p), i, sz, ext, pp);
}
static int c_shmlock(sqlite3_file *p, int off, int n, int fl) { return REAL(p)->pMethods->xShmLock(REAL(p), off, n, fl); }
static void c_shmbarrier(sqlite3_file *p) { REAL(p)->pMethods->xShmBarrier(REAL(p)); }
static int c_shmunmap(sqlite3_file *p, int del) { return REAL(p)->pMethods->xShmUnmap(REAL(p), del); }
static int c_fetch(sqlite3_file *p, sqlite3_int64 o, int n, void **pp)
{
    return REAL(p)->pMethods->xFetch(REAL(p), o, n, pp);
}
static int c_unfetch(sqlite3_file *p, sqlite3_int64 o, void *q) { return REAL(p)->pMethods->xUnfetch(REAL(p), o, q); }

static int c_open(sqlite3_vfs *v, const char *name, sqlite3_file *p, int flags, int *out_flags)
{
    cfile *c = (cfile *)p;
    c->real = (sqlite3_file *)(c + 1);
    memset(c->real, 0, (size_t)base->szOsFile);
    p->pMethods = NULL;
    int rc = base->xOpen(base, name, c->real, flags, out_flags);
    if (rc == SQLITE_OK && c->real->pMethods) p->pMethods = &methods;
    return rc;
}

static void setup(void)
{
    base = sqlite3_vfs_find(NULL);
    if (!base || base->iVersion < 1) return;
    counting = *base;
    counting.zName = "initra-count";
    counting.szOsFile = (int)sizeof(cfile) + base->szOsFile;
    counting.xOpen = c_open;
    counting.pNext = NULL;
    methods = (sqlite3_io_methods){3,        c_close,   c_read,    c_write,  c_truncate,   c_sync,
                                   c_size,   c_lock,    c_unlock,  c_reserved, c_fcntl,    c_sector,
                                   c_devchar, c_shmmap, c_shmlock, c_shmbarrier, c_shmunmap, c_fetch,
                                   c_unfetch};
    registered = sqlite3_vfs_register(&counting, 0);
}

/* The VFS name to open databases with ("initra-count"), or NULL when it could not be registered. */
const char *store_vfs_name(void)
{
    pthread_once(&once, setup);
    return registered == SQLITE_OK ? "initra-count" : NULL;
}

uint64_t store_vfs_syncs(void) { return atomic_load(&syncs); }
