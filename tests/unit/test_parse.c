/* Tests for src/lib/parse.c: whole-string number, size, duration and
 * boolean parsers, and the word splitter. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "lib/parse.h"

#include <string.h>

enum { FAIL = -1 };

struct num_case {
	const char *s;
	uint64_t max; /* parse_u64 only */
	int rc;
	uint64_t want;
};

/* On success the value is exact; on failure *out is not touched. */
static void check_num(const struct num_case *c, size_t i, int which)
{
	uint64_t v = 0xabcdef;
	int rc = which == 0   ? parse_u64(c->s, strlen(c->s), c->max, &v)
	         : which == 1 ? parse_size(c->s, &v)
	                      : parse_duration_ms(c->s, &v);
	if (rc != c->rc || (rc == 0 && v != c->want) ||
	    (rc != 0 && v != 0xabcdef))
		fail_msg("case %zu '%s': got %d %llu, want %d %llu", i, c->s,
		         rc, (unsigned long long)v, c->rc,
		         (unsigned long long)c->want);
}

static void check_nums(const struct num_case *t, size_t n, int which)
{
	for (size_t i = 0; i < n; i++)
		check_num(&t[i], i, which);
}

#define CHECK_NUMS(t, which) check_nums(t, sizeof(t) / sizeof((t)[0]), which)

static void u64(void **state)
{
	static const struct num_case t[] = {
	        {"0", UINT64_MAX, 0, 0},
	        {"7", UINT64_MAX, 0, 7},
	        {"007", UINT64_MAX, 0, 7},
	        {"1234567890", UINT64_MAX, 0, 1234567890},
	        /* the UINT64_MAX boundary */
	        {"18446744073709551615", UINT64_MAX, 0, UINT64_MAX},
	        {"18446744073709551614", UINT64_MAX, 0, UINT64_MAX - 1},
	        {"18446744073709551616", UINT64_MAX, FAIL, 0},
	        {"18446744073709551620", UINT64_MAX, FAIL, 0},
	        {"19000000000000000000", UINT64_MAX, FAIL, 0},
	        {"99999999999999999999", UINT64_MAX, FAIL, 0},
	        {"184467440737095516150", UINT64_MAX, FAIL, 0},
	        /* other maxima */
	        {"65535", 65535, 0, 65535},
	        {"65536", 65535, FAIL, 0},
	        {"100", 100, 0, 100},
	        {"101", 100, FAIL, 0},
	        {"1000", 100, FAIL, 0},
	        {"9223372036854775807", INT64_MAX, 0, INT64_MAX},
	        {"9223372036854775808", INT64_MAX, FAIL, 0},
	        /* only digits */
	        {"", UINT64_MAX, FAIL, 0},
	        {"-1", UINT64_MAX, FAIL, 0},
	        {"+1", UINT64_MAX, FAIL, 0},
	        {" 1", UINT64_MAX, FAIL, 0},
	        {"1 ", UINT64_MAX, FAIL, 0},
	        {"12x", UINT64_MAX, FAIL, 0},
	        {"0x10", UINT64_MAX, FAIL, 0},
	        {"1e3", UINT64_MAX, FAIL, 0},
	        {"1.0", UINT64_MAX, FAIL, 0},
	};
	CHECK_NUMS(t, 0);
	/* the length bounds the digits read */
	uint64_t v = 0;
	assert_int_equal(parse_u64("123abc", 3, UINT64_MAX, &v), 0);
	assert_int_equal(v, 123);
	assert_int_equal(parse_u64("12\0"
	                           "3",
	                           4, UINT64_MAX, &v),
	                 FAIL);
}

/* "fails on overflow past max" holds for a maximum below 9 too: a single
 * digit larger than max must not pass. */
static void u64_small_max(void **state)
{
	static const struct num_case t[] = {
	        {"5", 5, 0, 5},     {"0", 0, 0, 0},    {"6", 5, FAIL, 0},
	        {"7", 5, FAIL, 0},  {"9", 0, FAIL, 0}, {"1", 0, FAIL, 0},
	        {"09", 8, FAIL, 0},
	};
	CHECK_NUMS(t, 0);
}

static void size(void **state)
{
	static const struct num_case t[] = {
	        {"0", 0, 0, 0},
	        {"1024", 0, 0, 1024},
	        {"1K", 0, 0, 1024},
	        {"1k", 0, 0, 1024},
	        {"10M", 0, 0, 10485760},
	        {"35m", 0, 0, 36700160},
	        {"2G", 0, 0, 2147483648ULL},
	        {"1T", 0, 0, 1099511627776ULL},
	        {"0T", 0, 0, 0},
	        /* overflow: 2^24 T is 2^64 */
	        {"16777215T", 0, 0, 16777215ULL << 40},
	        {"16777216T", 0, FAIL, 0},
	        {"17179869183G", 0, 0, 17179869183ULL << 30},
	        {"17179869184G", 0, FAIL, 0},
	        {"18446744073709551615", 0, 0, UINT64_MAX},
	        {"18446744073709551616", 0, FAIL, 0},
	        /* junk */
	        {"", 0, FAIL, 0},
	        {"M", 0, FAIL, 0},
	        {"10MB", 0, FAIL, 0},
	        {"10 M", 0, FAIL, 0},
	        {" 10M", 0, FAIL, 0},
	        {"10M ", 0, FAIL, 0},
	        {"1.5M", 0, FAIL, 0},
	        {"-1", 0, FAIL, 0},
	        {"10X", 0, FAIL, 0},
	        {"10KK", 0, FAIL, 0},
	        {"10E", 0, FAIL, 0},
	        {"K10", 0, FAIL, 0},
	};
	CHECK_NUMS(t, 1);
}

static void duration(void **state)
{
	static const struct num_case t[] = {
	        {"0", 0, 0, 0},
	        {"30", 0, 0, 30000}, /* bare digits are seconds */
	        {"30s", 0, 0, 30000},
	        {"250ms", 0, 0, 250},
	        {"0ms", 0, 0, 0},
	        {"5m", 0, 0, 300000},
	        {"4h", 0, 0, 14400000},
	        {"5d", 0, 0, 432000000},
	        {"18446744073709551615ms", 0, 0, UINT64_MAX},
	        {"18446744073709551s", 0, 0, 18446744073709551000ULL},
	        {"18446744073709552s", 0, FAIL, 0},
	        {"213503982334d", 0, 0, 213503982334ULL * 86400000},
	        {"213503982335d", 0, FAIL, 0},
	        /* units are lower case and alone */
	        {"5M", 0, FAIL, 0},
	        {"5S", 0, FAIL, 0},
	        {"5H", 0, FAIL, 0},
	        {"5mm", 0, FAIL, 0},
	        {"5sec", 0, FAIL, 0},
	        {"5 m", 0, FAIL, 0},
	        {"1.5h", 0, FAIL, 0},
	        {"-5s", 0, FAIL, 0},
	        {"", 0, FAIL, 0},
	        {"s", 0, FAIL, 0},
	        {"ms", 0, FAIL, 0},
	        {"5w", 0, FAIL, 0},
	};
	CHECK_NUMS(t, 2);
}

static void booleans(void **state)
{
	static const struct {
		const char *s;
		int rc;
		bool want;
	} t[] = {
	        {"yes", 0, true},      {"YES", 0, true},
	        {"true", 0, true},     {"True", 0, true},
	        {"on", 0, true},       {"1", 0, true},
	        {"no", 0, false},      {"No", 0, false},
	        {"false", 0, false},   {"OFF", 0, false},
	        {"off", 0, false},     {"0", 0, false},
	        {"", FAIL, false},     {"y", FAIL, false},
	        {"n", FAIL, false},    {"2", FAIL, false},
	        {"yes ", FAIL, false}, {" no", FAIL, false},
	        {"nope", FAIL, false}, {"enable", FAIL, false},
	};
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		/* start from the opposite, so that a value must be written */
		bool v = !t[i].want;
		int rc = parse_bool(t[i].s, &v);
		if (rc != t[i].rc || (rc == 0 && v != t[i].want) ||
		    (rc != 0 && v != !t[i].want))
			fail_msg("'%s': got %d %d", t[i].s, rc, v);
	}
}

/* Collect every word of s, joined by '|'. */
static void words(const char *s, char *out, size_t n)
{
	const char *cursor = s, *w;
	size_t len, o = 0;
	out[0] = '\0';
	while (next_word(&cursor, &w, &len)) {
		assert_true(len > 0 && o + len + 2 < n);
		if (o > 0)
			out[o++] = '|';
		memcpy(out + o, w, len);
		o += len;
		out[o] = '\0';
	}
	/* at the end, the cursor stays at the end and no word comes */
	assert_int_equal(*cursor, '\0');
	assert_false(next_word(&cursor, &w, &len));
	assert_int_equal(len, 0);
}

static void word_splitting(void **state)
{
	static const struct {
		const char *s;
		const char *want;
	} t[] = {
	        {"", ""},
	        {"   ", ""},
	        {"\t \t", ""},
	        {"one", "one"},
	        {"one two", "one|two"},
	        {"  mx  submission\tlocal ", "mx|submission|local"},
	        {"127.0.0.1:25 [::1]:25", "127.0.0.1:25|[::1]:25"},
	        {"a\nb", "a\nb"}, /* only blanks separate */
	};
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		char out[100];
		words(t[i].s, out, sizeof(out));
		if (strcmp(out, t[i].want) != 0)
			fail_msg("'%s': got '%s', want '%s'", t[i].s, out,
			         t[i].want);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(u64),      cmocka_unit_test(u64_small_max),
	        cmocka_unit_test(size),     cmocka_unit_test(duration),
	        cmocka_unit_test(booleans), cmocka_unit_test(word_splitting),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
