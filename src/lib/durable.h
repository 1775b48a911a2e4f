/* durable: the pieces of "durable before the reply" (STYLE.md rule 5).
 *
 * A file is durable once its bytes are fsync'd, it is renamed (or linked)
 * into place, and the directory holding the new name is fsync'd. The last
 * step is the expensive one under load, so dirsync shares it: every caller
 * that asks for a directory to be synced after its own rename waits for one
 * fsync that started after that rename, and concurrent callers share it
 * (group commit). All functions here block: call them from a pool thread. */
#ifndef POSTERN_LIB_DURABLE_H
#define POSTERN_LIB_DURABLE_H

#include <stddef.h>
#include <sys/types.h>
#include <sys/uio.h>

/* write(2) until all n bytes are written; -1 with errno on error. */
int write_all(int fd, const void *data, size_t n);
/* writev(2) until every byte is written (iov is modified). */
int writev_all(int fd, struct iovec *iov, int iovcnt);
/* Read the whole file into a malloc'd buffer of at most max bytes (plus a
 * terminating NUL). Returns 0, or -1 with errno (EFBIG when over max). */
int read_file(const char *path, size_t max, char **data_r, size_t *len_r);
/* mkdir, and when it made the directory, fsync its parent: a file put in
 * a new directory and fsync'd is not durable until the directory's own
 * entry is. 0 when it exists now (made or found), -1 with errno. */
int mkdir_synced(const char *path, mode_t mode);
/* mkdir -p with mode for every created component, each made durably. */
int mkdir_p(const char *path, mode_t mode);
/* fsync a directory by path. */
int fsync_dir(const char *path);

struct dirsync;
/* A shared handle on directory path (opened once and cached); NULL with errno
 * on error. Release it when done. */
struct dirsync *dirsync_acquire(const char *path);
void dirsync_release(struct dirsync *ds);
/* Make every change to the directory's entries made before this call durable.
 * Returns 0, or -1 with errno if the fsync that covered this call failed. */
int dirsync_sync(struct dirsync *ds);
/* Close every cached handle (at shutdown, after all users are gone). */
void dirsync_cache_clear(void);

#endif
