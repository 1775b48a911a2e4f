/* Tests for src/mail/reply.c: SMTP replies as a client reads them, including
 * the hostile shapes of CVE-2020-8794 (mixed codes, endless continuations,
 * over-long lines). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "mail/reply.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Parse all of s as one call; returns the status, fills r and consumed. */
static enum reply_status parse_all(const char *s, size_t len, struct reply *r,
				   size_t *consumed)
{
	struct reply_parser p;
	reply_parser_init(&p);
	memset(r, 0, sizeof(*r));
	return reply_parse(&p, s, len, consumed, r);
}

static void single_line(void **state)
{
	struct reply r;
	size_t used;
	const char *s = "250 2.1.0 Ok\r\n";
	assert_int_equal(parse_all(s, strlen(s), &r, &used), REPLY_DONE);
	assert_int_equal(used, strlen(s));
	assert_int_equal(r.code, 250);
	assert_string_equal(r.enhanced, "2.1.0");
	assert_string_equal(r.text, "Ok");
	assert_int_equal(r.lines, 1);

	s = "354\r\n"; /* a bare code is a whole reply */
	assert_int_equal(parse_all(s, strlen(s), &r, &used), REPLY_DONE);
	assert_int_equal(r.code, 354);
	assert_string_equal(r.text, "");

	s = "550 No such user\n"; /* LF alone is read too */
	assert_int_equal(parse_all(s, strlen(s), &r, &used), REPLY_DONE);
	assert_string_equal(r.enhanced, "");
	assert_string_equal(r.text, "No such user");

	s = "451 5.1.1 class mismatch\r\n"; /* enhanced code of another class */
	assert_int_equal(parse_all(s, strlen(s), &r, &used), REPLY_DONE);
	assert_string_equal(r.enhanced, "");
	assert_string_equal(r.text, "5.1.1 class mismatch");
}

static void multi_line_ehlo(void **state)
{
	struct reply r;
	size_t used;
	const char *s = "250-mx.example.org\r\n250-PIPELINING\r\n"
			"250-SIZE 10240000\r\n250-starttls\r\n250 8BITMIME\r\n"
			"220 next";
	assert_int_equal(parse_all(s, strlen(s), &r, &used), REPLY_DONE);
	assert_int_equal(used, strlen(s) - strlen("220 next"));
	assert_int_equal(r.lines, 5);
	const char *params;
	assert_true(reply_has_keyword(&r, "PIPELINING", &params));
	assert_true(reply_has_keyword(&r, "STARTTLS", NULL));
	assert_true(reply_has_keyword(&r, "SIZE", &params));
	assert_int_equal(strtol(params, NULL, 10), 10240000);
	assert_false(reply_has_keyword(&r, "SMTPUTF8", NULL));
	assert_false(reply_has_keyword(&r, "8BIT", NULL)); /* whole words */
	assert_false(reply_has_keyword(&r, "example", NULL));
}

static void split_across_calls(void **state)
{
	const char *s = "250-first\r\n250-second\r\n250 third\r\n";
	size_t len = strlen(s);
	/* every split point, fed as a buffering caller would */
	for (size_t cut = 0; cut <= len; cut++) {
		struct reply_parser p;
		struct reply r;
		reply_parser_init(&p);
		char buf[128];
		size_t have = 0, used;
		memcpy(buf, s, cut);
		have = cut;
		enum reply_status st = reply_parse(&p, buf, have, &used, &r);
		memmove(buf, buf + used, have - used);
		have -= used;
		if (st != REPLY_DONE) {
			assert_int_equal(st, REPLY_MORE);
			memcpy(buf + have, s + cut, len - cut);
			have += len - cut;
			st = reply_parse(&p, buf, have, &used, &r);
		}
		assert_int_equal(st, REPLY_DONE);
		assert_string_equal(r.text, "first\nsecond\nthird");
	}
}

static void malformed(void **state)
{
	static const char *const bad[] = {
		"25 short\r\n",
		"2x0 letters\r\n",
		"650 bad class\r\n",
		"160 bad class\r\n",
		"260 second digit too big\r\n",
		"250_odd separator\r\n",
		"250-one\r\n251 other code ends it\r\n", /* mixed codes */
		"250-one\r\n550-injected\r\n250 end\r\n",
		"\r\n",
		" 250 leading space\r\n",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct reply r;
		size_t used;
		assert_int_equal(parse_all(bad[i], strlen(bad[i]), &r, &used),
				 REPLY_BAD);
	}
}

static void limits(void **state)
{
	struct reply r;
	size_t used;
	/* a 64 KB line, with and without its line end */
	size_t n = 64 * 1024;
	char *big = malloc(n + 3);
	assert_non_null(big);
	memcpy(big, "250 ", 4);
	memset(big + 4, 'a', n - 4);
	assert_int_equal(parse_all(big, n, &r, &used), REPLY_TOO_LONG);
	memcpy(big + n, "\r\n", 3);
	assert_int_equal(parse_all(big, n + 2, &r, &used), REPLY_TOO_LONG);
	free(big);

	/* the longest line allowed */
	char line[REPLY_LINE_MAX + 1];
	memcpy(line, "250 ", 4);
	memset(line + 4, 'b', REPLY_LINE_MAX - 6);
	memcpy(line + REPLY_LINE_MAX - 2, "\r\n", 3);
	assert_int_equal(strlen(line), REPLY_LINE_MAX);
	assert_int_equal(parse_all(line, REPLY_LINE_MAX, &r, &used), REPLY_DONE);
	assert_int_equal(r.text_len, REPLY_LINE_MAX - 6);

	/* 10,000 continuation lines */
	size_t cap = 10000 * 10 + 16, o = 0;
	char *many = malloc(cap);
	assert_non_null(many);
	for (int i = 0; i < 10000; i++)
		o += (size_t)snprintf(many + o, cap - o, "250-%04d\r\n", i);
	o += (size_t)snprintf(many + o, cap - o, "250 end\r\n");
	assert_int_equal(parse_all(many, o, &r, &used), REPLY_TOO_LONG);
	free(many);

	/* text past REPLY_TEXT_MAX is cut, not overflowed */
	struct reply_parser p;
	reply_parser_init(&p);
	enum reply_status st = REPLY_MORE;
	for (int i = 0; i < REPLY_LINES_MAX - 1 && st == REPLY_MORE; i++) {
		char l[REPLY_LINE_MAX];
		memcpy(l, "250-", 4);
		memset(l + 4, 'c', 1000);
		memcpy(l + 1004, "\r\n", 2);
		st = reply_parse(&p, l, 1006, &used, &r);
		assert_int_equal(used, 1006);
	}
	assert_int_equal(st, REPLY_MORE);
	st = reply_parse(&p, "250 x\r\n", 7, &used, &r);
	assert_int_equal(st, REPLY_DONE);
	assert_int_equal(r.text_len, REPLY_TEXT_MAX);
	assert_int_equal(strlen(r.text), REPLY_TEXT_MAX);
}

static void control_bytes_and_summary(void **state)
{
	struct reply r;
	size_t used;
	const char s[] = "550-5.7.1 bad\x1b[31m\r\n550 \x00still\r\n";
	assert_int_equal(parse_all(s, sizeof(s) - 1, &r, &used), REPLY_DONE);
	assert_int_equal(r.code, 550);
	assert_string_equal(r.enhanced, "5.7.1");
	assert_string_equal(r.text, "bad?[31m\n?still");
	char sum[64];
	reply_summary(&r, sum, sizeof(sum));
	assert_string_equal(sum, "550 5.7.1 bad?[31m ?still");
	reply_summary(&r, sum, 8);
	assert_string_equal(sum, "550 5.7");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(single_line),
		cmocka_unit_test(multi_line_ehlo),
		cmocka_unit_test(split_across_calls),
		cmocka_unit_test(malformed),
		cmocka_unit_test(limits),
		cmocka_unit_test(control_bytes_and_summary),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
