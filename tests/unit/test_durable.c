/* Tests for src/lib/durable.c: full writes, reads with a limit, mkdir -p,
 * and the directory-sync cache (group commit, stale handles). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "lib/durable.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char base[64];

static int remove_entry(const char *path, const struct stat *st, int flag,
			struct FTW *ftw)
{
	return remove(path);
}

static int setup(void **state)
{
	snprintf(base, sizeof(base), "/tmp/postern-durable-XXXXXX");
	return mkdtemp(base) == NULL ? -1 : 0;
}

static int teardown(void **state)
{
	dirsync_cache_clear();
	return nftw(base, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static void write_then_read_back(void **state)
{
	char path[128], *data;
	size_t len;
	snprintf(path, sizeof(path), "%s/file", base);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	char buf[100000];
	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (char)(i * 7);
	struct iovec iov[3] = {{buf, 10}, {buf + 10, 0}, {buf + 10, sizeof(buf) - 10}};
	assert_int_equal(writev_all(fd, iov, 3), 0);
	close(fd);
	assert_int_equal(read_file(path, sizeof(buf), &data, &len), 0);
	assert_int_equal(len, sizeof(buf));
	assert_memory_equal(data, buf, sizeof(buf));
	assert_int_equal(data[len], '\0');
	free(data);
	errno = 0;
	assert_int_equal(read_file(path, sizeof(buf) - 1, &data, &len), -1);
	assert_int_equal(errno, EFBIG);
	assert_int_equal(read_file("/nonexistent/x", 10, &data, &len), -1);
	assert_int_equal(errno, ENOENT);
}

static void mkdir_p_makes_every_level(void **state)
{
	char path[128];
	struct stat st;
	snprintf(path, sizeof(path), "%s/a/b/c", base);
	assert_int_equal(mkdir_p(path, 0700), 0);
	assert_int_equal(stat(path, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	assert_int_equal(mkdir_p(path, 0700), 0); /* already there: fine */
	assert_int_equal(fsync_dir(path), 0);
}

struct syncer {
	struct dirsync *ds;
	int rc;
};

static void *sync_thread(void *arg)
{
	struct syncer *s = arg;
	s->rc = 0;
	for (int i = 0; i < 50 && s->rc == 0; i++)
		s->rc = dirsync_sync(s->ds);
	return NULL;
}

static void concurrent_syncs_all_succeed(void **state)
{
	struct dirsync *ds = dirsync_acquire(base);
	assert_non_null(ds);
	assert_ptr_equal(dirsync_acquire(base), ds); /* one handle per path */
	dirsync_release(ds);
	pthread_t t[8];
	struct syncer s[8];
	for (int i = 0; i < 8; i++) {
		s[i].ds = ds;
		pthread_create(&t[i], NULL, sync_thread, &s[i]);
	}
	for (int i = 0; i < 8; i++) {
		pthread_join(t[i], NULL);
		assert_int_equal(s[i].rc, 0);
	}
	dirsync_release(ds);
}

static void removed_directory_gets_a_new_handle(void **state)
{
	char path[128];
	snprintf(path, sizeof(path), "%s/box", base);
	assert_int_equal(mkdir(path, 0700), 0);
	struct dirsync *old = dirsync_acquire(path);
	assert_non_null(old);
	/* the directory goes and comes back while old is still held */
	assert_int_equal(rmdir(path), 0);
	assert_int_equal(mkdir(path, 0700), 0);
	struct dirsync *fresh = dirsync_acquire(path);
	assert_non_null(fresh);
	assert_ptr_not_equal(fresh, old);
	assert_int_equal(dirsync_sync(fresh), 0);
	dirsync_release(old); /* the stale one is freed here (ASan checks) */
	assert_ptr_equal(dirsync_acquire(path), fresh);
	dirsync_release(fresh);
	dirsync_release(fresh);
	assert_null(dirsync_acquire("/nonexistent/dir"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(write_then_read_back),
		cmocka_unit_test(mkdir_p_makes_every_level),
		cmocka_unit_test(concurrent_syncs_all_succeed),
		cmocka_unit_test(removed_directory_gets_a_new_handle),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
