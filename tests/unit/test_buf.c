/* Tests for src/lib/buf.c */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "lib/buf.h"

#include <errno.h>
#include <string.h>

static void append_and_terminate(void **state)
{
	struct buf b;
	buf_init(&b, 0);
	assert_string_equal(buf_cstr(&b), "");
	assert_int_equal(buf_append(&b, "abc", 3), 0);
	assert_int_equal(b.len, 3);
	assert_string_equal(buf_cstr(&b), "abc");
	assert_int_equal(buf_appendf(&b, "-%d-%s", 42, "x"), 0);
	assert_string_equal(buf_cstr(&b), "abc-42-x");
	buf_free(&b);
}

static void maximum_is_enforced(void **state)
{
	struct buf b;
	buf_init(&b, 5);
	assert_int_equal(buf_append(&b, "12345", 5), 0);
	errno = 0;
	assert_int_equal(buf_append(&b, "6", 1), -1);
	assert_int_equal(errno, EMSGSIZE);
	assert_int_equal(b.len, 5); /* nothing half-appended */
	assert_int_equal(buf_appendf(&b, "%s", "x"), -1);
	assert_int_equal(buf_room(&b), 0);
	buf_free(&b);
}

static void consume_and_truncate(void **state)
{
	struct buf b;
	buf_init(&b, 0);
	buf_append_str(&b, "hello world");
	buf_consume(&b, 6);
	assert_string_equal(buf_cstr(&b), "world");
	buf_truncate(&b, 3);
	assert_string_equal(buf_cstr(&b), "wor");
	buf_consume(&b, 100);
	assert_int_equal(b.len, 0);
	assert_string_equal(buf_cstr(&b), "");
	buf_wipe(&b);
	assert_null(b.data);
}

static void grows_across_many_appends(void **state)
{
	struct buf b;
	buf_init(&b, 0);
	for (int i = 0; i < 10000; i++)
		assert_int_equal(buf_append_byte(&b, (char)('a' + i % 26)), 0);
	assert_int_equal(b.len, 10000);
	assert_int_equal(b.data[9999], 'a' + 9999 % 26);
	assert_int_equal(b.data[10000], '\0');
	buf_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(append_and_terminate),
		cmocka_unit_test(maximum_is_enforced),
		cmocka_unit_test(consume_and_truncate),
		cmocka_unit_test(grows_across_many_appends),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
