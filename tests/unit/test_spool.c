/* Tests for src/queue/spool.c: the status file (outcomes, deferral notes,
 * damaged and torn lines) and holding, releasing and deleting messages. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "lib/durable.h"
#include "queue/spool.h"

#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char base[64];
static struct spool *sp;
static const char id[] = "0000000000ABC000";

static int remove_entry(const char *path, const struct stat *st, int flag,
			struct FTW *ftw)
{
	return remove(path);
}

static int setup(void **state)
{
	snprintf(base, sizeof(base), "/tmp/postern-spool-XXXXXX");
	if (mkdtemp(base) == NULL)
		return -1;
	sp = spool_open(base, 1 << 20);
	return sp == NULL ? -1 : 0;
}

static int teardown(void **state)
{
	spool_close(&sp);
	dirsync_cache_clear();
	return nftw(base, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static void write_status(const char *text)
{
	char path[256];
	snprintf(path, sizeof(path), "%s/spool/status/%s", base, id);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static void touch_queued(const char *dir)
{
	char path[256];
	snprintf(path, sizeof(path), "%s/spool/%s/%s", base, dir, id);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fclose(f);
}

static void free_why(char **why, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(why[i]);
}

static void test_no_status_file(void **state)
{
	unsigned char st[2] = {0, 0};
	struct spool_status s = {.state = st};
	assert_int_equal(spool_status_read(sp, id, 2, &s), 0);
	assert_int_equal(st[0], RCPT_PENDING);
	assert_int_equal(s.attempts, 0);
	assert_int_equal(s.next_try, 0);
}

static void test_record_and_note_round_trip(void **state)
{
	size_t idx[2] = {0, 2};
	unsigned char rec[2] = {RCPT_DELIVERED, RCPT_FAILED};
	assert_int_equal(spool_status_record(sp, id, idx, rec, 2), 0);
	size_t widx[1] = {1};
	const char *why[1] = {"451 4.3.0 try\r\nagain"}; /* one line stored */
	assert_int_equal(spool_status_note(sp, id, 3, 1764000000, widx, why, 1), 0);
	unsigned char st[3] = {0};
	char *reasons[3] = {NULL};
	struct spool_status s = {.state = st, .why = reasons};
	assert_int_equal(spool_status_read(sp, id, 3, &s), 0);
	assert_int_equal(st[0], RCPT_DELIVERED);
	assert_int_equal(st[1], RCPT_PENDING);
	assert_int_equal(st[2], RCPT_FAILED);
	assert_null(reasons[0]);
	assert_string_equal(reasons[1], "451 4.3.0 try  again");
	assert_int_equal(s.attempts, 3);
	assert_int_equal(s.next_try, 1764000000);
	free_why(reasons, 3);
}

/* Every damaged line is skipped; the good ones still count. */
static void test_malformed_lines(void **state)
{
	write_status("d 0\n"
		     "d\n"                  /* no index */
		     "d x\n"                /* not a number */
		     "d 9\n"                /* out of range */
		     "f 18446744073709551616\n" /* overflows */
		     "q 1\n"                /* unknown kind */
		     "w 1\n"                /* no text */
		     "w 7 far away\n"       /* out of range */
		     "w 1 kept reason\n"
		     "n 5\n"                /* no time */
		     "n 99999999999 5\n"    /* attempts out of range */
		     "n 2 -1\n"             /* negative time */
		     "f 1");                /* torn last line: ignored */
	unsigned char st[2] = {0};
	char *reasons[2] = {NULL};
	struct spool_status s = {.state = st, .why = reasons};
	assert_int_equal(spool_status_read(sp, id, 2, &s), 0);
	assert_int_equal(st[0], RCPT_DELIVERED);
	assert_int_equal(st[1], RCPT_PENDING);
	assert_null(reasons[0]);
	assert_string_equal(reasons[1], "kept reason");
	assert_int_equal(s.attempts, 0);
	free_why(reasons, 2);
}

static void test_later_lines_win(void **state)
{
	write_status("w 0 first\nn 1 100\nw 0 second\nn 2 200\n");
	unsigned char st[1] = {0};
	char *reasons[1] = {NULL};
	struct spool_status s = {.state = st, .why = reasons};
	assert_int_equal(spool_status_read(sp, id, 1, &s), 0);
	assert_string_equal(reasons[0], "second");
	assert_int_equal(s.attempts, 2);
	assert_int_equal(s.next_try, 200);
	free_why(reasons, 1);
}

static void test_hold_release_delete(void **state)
{
	assert_int_equal(spool_where(sp, id), SPOOL_NONE);
	assert_int_equal(errno, ENOENT);
	assert_int_equal(spool_where(sp, "../x"), SPOOL_NONE);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(spool_hold(sp, id), -1);
	assert_int_equal(errno, ENOENT);
	touch_queued("queue");
	write_status("d 0\n");
	assert_int_equal(spool_where(sp, id), SPOOL_QUEUED);
	assert_int_equal(spool_release(sp, id), -1); /* not held */
	assert_int_equal(spool_hold(sp, id), 0);
	assert_int_equal(spool_where(sp, id), SPOOL_HELD);
	assert_int_equal(spool_hold(sp, id), -1);
	assert_int_equal(spool_release(sp, id), 0);
	assert_int_equal(spool_where(sp, id), SPOOL_QUEUED);
	assert_int_equal(spool_hold(sp, id), 0);
	assert_int_equal(spool_delete(sp, id), 0);
	assert_int_equal(spool_where(sp, id), SPOOL_NONE);
	char path[256];
	snprintf(path, sizeof(path), "%s/spool/status/%s", base, id);
	assert_int_equal(access(path, F_OK), -1); /* status went with it */
	assert_int_equal(spool_delete(sp, id), -1);
	assert_int_equal(spool_hold(sp, "not-an-id"), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_no_status_file, setup, teardown),
		cmocka_unit_test_setup_teardown(test_record_and_note_round_trip,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_malformed_lines, setup, teardown),
		cmocka_unit_test_setup_teardown(test_later_lines_win, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hold_release_delete, setup,
						teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
