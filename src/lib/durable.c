/* durable: full writes, directory fsync with group commit. */
#include "lib/durable.h"

#include "lib/util.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int write_all(int fd, const void *data, size_t n)
{
	const char *p = data;
	while (n > 0) {
		ssize_t w = write(fd, p, n);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

int writev_all(int fd, struct iovec *iov, int iovcnt)
{
	while (iovcnt > 0) {
		ssize_t w = writev(fd, iov, iovcnt > IOV_MAX ? IOV_MAX : iovcnt);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		size_t left = (size_t)w;
		while (iovcnt > 0 && left >= iov->iov_len) {
			left -= iov->iov_len;
			iov++;
			iovcnt--;
		}
		if (iovcnt > 0) {
			iov->iov_base = (char *)iov->iov_base + left;
			iov->iov_len -= left;
		}
	}
	return 0;
}

int read_file(const char *path, size_t max, char **data_r, size_t *len_r)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	struct stat st;
	char *data = NULL;
	int rc = -1;
	if (fstat(fd, &st) < 0)
		goto out;
	if ((uint64_t)st.st_size > max) {
		errno = EFBIG;
		goto out;
	}
	size_t size = (size_t)st.st_size, got = 0;
	data = malloc(size + 1);
	if (data == NULL)
		goto out;
	while (got < size) {
		ssize_t r = read(fd, data + got, size - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break; /* shrank while reading: return what is there */
		got += (size_t)r;
	}
	data[got] = '\0';
	*data_r = data;
	*len_r = got;
	data = NULL;
	rc = 0;
out:
	free(data);
	close(fd);
	return rc;
}

int mkdir_synced(const char *path, mode_t mode)
{
	char parent[PATH_MAX];
	if (mkdir(path, mode) < 0)
		return errno == EEXIST ? 0 : -1;
	const char *slash = strrchr(path, '/');
	if (slash == NULL)
		return fsync_dir(".");
	size_t n = slash == path ? 1 : (size_t)(slash - path);
	if (n >= sizeof(parent)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	memcpy(parent, path, n);
	parent[n] = '\0';
	return fsync_dir(parent);
}

int mkdir_p(const char *path, mode_t mode)
{
	char tmp[PATH_MAX];
	size_t n = strlen(path);
	if (n == 0 || n >= sizeof(tmp)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	memcpy(tmp, path, n + 1);
	for (char *p = tmp + 1; *p != '\0'; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir_synced(tmp, mode) < 0)
			return -1;
		*p = '/';
	}
	return mkdir_synced(tmp, mode);
}

int fsync_dir(const char *path)
{
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	int rc = fsync(fd);
	int saved = errno;
	close(fd);
	errno = saved;
	return rc;
}

/* ------------------------------------------------------------ dirsync */

enum { FAILED_RING = 8, DIRSYNC_BUCKETS = 256, DIRSYNC_KEEP = 1024 };

struct dirsync {
	struct dirsync *next; /* hash chain */
	char *path;
	int fd;
	dev_t dev;           /* what path named when it was opened */
	ino_t ino;
	unsigned refs;       /* guarded by the cache lock */
	bool stale;          /* out of the cache: freed by the last release */
	pthread_mutex_t mu;  /* guards the fields below */
	pthread_cond_t cond;
	uint64_t requested;  /* tickets handed out */
	uint64_t done;       /* every ticket <= done has had its fsync */
	bool busy;           /* an fsync is running */
	/* recent batches whose fsync failed, as ticket ranges */
	uint64_t failed_from[FAILED_RING], failed_to[FAILED_RING];
	int failed_errno[FAILED_RING];
	unsigned failed_next;
};

static pthread_mutex_t cache_mu = PTHREAD_MUTEX_INITIALIZER;
static struct dirsync *cache[DIRSYNC_BUCKETS];
static unsigned cache_count;

static unsigned path_hash(const char *s)
{
	uint32_t h = 2166136261u; /* FNV-1a */
	for (; *s != '\0'; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h % DIRSYNC_BUCKETS;
}

static void dirsync_destroy(struct dirsync *ds)
{
	close(ds->fd);
	pthread_mutex_destroy(&ds->mu);
	pthread_cond_destroy(&ds->cond);
	free(ds->path);
	free(ds);
}

static struct dirsync *dirsync_create(const char *path)
{
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	struct dirsync *ds = calloc(1, sizeof(*ds));
	if (ds == NULL || (ds->path = strdup(path)) == NULL) {
		free(ds);
		close(fd);
		errno = ENOMEM;
		return NULL;
	}
	struct stat st;
	if (fstat(fd, &st) == 0) {
		ds->dev = st.st_dev;
		ds->ino = st.st_ino;
	}
	ds->fd = fd;
	pthread_mutex_init(&ds->mu, NULL);
	pthread_cond_init(&ds->cond, NULL);
	return ds;
}

/* Drop unused handles while the cache is over its size. Cache lock held. */
static void cache_trim(void)
{
	for (unsigned b = 0; b < DIRSYNC_BUCKETS && cache_count > DIRSYNC_KEEP;
	     b++) {
		struct dirsync **pp = &cache[b];
		while (*pp != NULL) {
			struct dirsync *ds = *pp;
			if (ds->refs == 0) {
				*pp = ds->next;
				dirsync_destroy(ds);
				cache_count--;
			} else {
				pp = &ds->next;
			}
		}
	}
}

/* Does the cached handle still name what path names? A directory that was
 * removed and made again is a new one: syncing the old would sync nothing. */
static bool still_current(const struct dirsync *ds)
{
	struct stat st;
	return stat(ds->path, &st) == 0 && st.st_dev == ds->dev &&
	       st.st_ino == ds->ino;
}

/* Take ds out of the cache; cache lock held. */
static void retire(struct dirsync **pp)
{
	struct dirsync *ds = *pp;
	*pp = ds->next;
	cache_count--;
	if (ds->refs == 0)
		dirsync_destroy(ds);
	else
		ds->stale = true;
}

struct dirsync *dirsync_acquire(const char *path)
{
	unsigned b = path_hash(path);
	pthread_mutex_lock(&cache_mu);
	struct dirsync **pp = &cache[b];
	while (*pp != NULL && strcmp((*pp)->path, path) != 0)
		pp = &(*pp)->next;
	struct dirsync *ds = *pp;
	if (ds != NULL && !still_current(ds)) {
		retire(pp);
		ds = NULL;
	}
	if (ds == NULL && (ds = dirsync_create(path)) != NULL) {
		ds->next = cache[b];
		cache[b] = ds;
		cache_count++;
		cache_trim();
	}
	if (ds != NULL)
		ds->refs++;
	pthread_mutex_unlock(&cache_mu);
	return ds;
}

void dirsync_release(struct dirsync *ds)
{
	pthread_mutex_lock(&cache_mu);
	if (--ds->refs == 0 && ds->stale)
		dirsync_destroy(ds);
	pthread_mutex_unlock(&cache_mu);
}

void dirsync_cache_clear(void)
{
	pthread_mutex_lock(&cache_mu);
	for (unsigned b = 0; b < DIRSYNC_BUCKETS; b++) {
		while (cache[b] != NULL) {
			struct dirsync *ds = cache[b];
			cache[b] = ds->next;
			dirsync_destroy(ds);
		}
	}
	cache_count = 0;
	pthread_mutex_unlock(&cache_mu);
}

static int ticket_failed(const struct dirsync *ds, uint64_t ticket)
{
	for (unsigned i = 0; i < FAILED_RING; i++)
		if (ds->failed_to[i] != 0 && ticket >= ds->failed_from[i] &&
		    ticket <= ds->failed_to[i])
			return ds->failed_errno[i];
	return 0;
}

/* Run one fsync covering every ticket handed out so far. Lock held on entry
 * and exit; dropped during the fsync so that new callers can queue up. */
static void dirsync_run_batch(struct dirsync *ds)
{
	uint64_t from = ds->done + 1, upto = ds->requested;
	ds->busy = true;
	pthread_mutex_unlock(&ds->mu);
	int rc = fsync(ds->fd);
	int err = errno;
	pthread_mutex_lock(&ds->mu);
	if (rc < 0) {
		unsigned i = ds->failed_next++ % FAILED_RING;
		ds->failed_from[i] = from;
		ds->failed_to[i] = upto;
		ds->failed_errno[i] = err;
	}
	ds->done = upto;
	ds->busy = false;
	pthread_cond_broadcast(&ds->cond);
}

int dirsync_sync(struct dirsync *ds)
{
	pthread_mutex_lock(&ds->mu);
	uint64_t ticket = ++ds->requested;
	while (ds->done < ticket) {
		if (ds->busy)
			pthread_cond_wait(&ds->cond, &ds->mu);
		else
			dirsync_run_batch(ds);
	}
	int err = ticket_failed(ds, ticket);
	pthread_mutex_unlock(&ds->mu);
	if (err != 0) {
		errno = err;
		return -1;
	}
	return 0;
}
