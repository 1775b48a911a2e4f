/* Tests for src/imapd/search.c: SEARCH key parsing (every key, RETURN and
 * CHARSET, every malformed case) and matching against made-up messages;
 * the date parsers. Commands go through the real parser (imapd/parse.h),
 * fed whole and a byte at a time. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "imapd/parse.h"
#include "imapd/search.h"
#include "store/mdname.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char MSG[] =
	"From: Alice <alice@example.org>\r\n"
	"To: bob@example.test\r\n"
	"Subject: Quarterly Report\r\n"
	"X-Folded: first\r\n second\r\n"
	"Date: Tue, 5 Mar 2024 10:00:00 -0800\r\n"
	"\r\n"
	"The numbers are in.\r\n";

/* Parse "t SEARCH <keys>" (byte at a time when trickle) into s. */
static int parse(struct imap_parser **pp, const char *keys, bool trickle,
		 struct imap_search *s, const char **why)
{
	struct imap_parse_limits lim;
	imap_parse_limits_init(&lim, false, 1024);
	*pp = imap_parser_new(&lim);
	char line[1024];
	snprintf(line, sizeof(line), "t SEARCH %s\r\n", keys);
	size_t len = strlen(line), off = 0, used;
	enum imap_parse_result r = IMAP_PARSE_MORE;
	while (off < len) {
		size_t n = trickle ? 1 : len - off;
		r = imap_parser_feed(*pp, line + off, n, &used);
		off += used;
		if (r == IMAP_PARSE_LITERAL)
			imap_parser_literal_accept(*pp, false);
		if (r == IMAP_PARSE_DONE || r == IMAP_PARSE_ERROR)
			break;
	}
	assert_int_equal(r, IMAP_PARSE_DONE);
	const struct imap_command *c = imap_parser_command(*pp);
	return imap_search_parse(c->args, c->n_args, 0, s, why);
}

static int kw_index(void *ctx, const char *name, size_t len)
{
	return len == 5 && memcmp(name, "$Todo", 5) == 0 ? 3 : -1;
}

/* Does keys match the sample message (seq 2 of 5, UID 20 of 50)? */
static bool match(const char *keys)
{
	struct search_msg m = {
		.seq = 2, .uid = 20, .max_seq = 5, .max_uid = 50,
		.flags = STORE_SEEN | STORE_FLAGGED, .keywords = 1u << 3,
		.size = sizeof(MSG) - 1,
		.internaldate = 1709632800, /* 2024-03-05 10:00 UTC */
		.text = MSG, .len = sizeof(MSG) - 1};
	m.header_len = (size_t)(strstr(MSG, "\r\n\r\n") - MSG) + 4;
	bool results[2];
	for (int t = 0; t < 2; t++) {
		struct imap_parser *p;
		struct imap_search s;
		const char *why = NULL;
		int rc = parse(&p, keys, t == 1, &s, &why);
		if (rc != 0)
			fail_msg("%s: %s", keys, why);
		imap_search_bind_keywords(&s, kw_index, NULL);
		results[t] = imap_search_match(&s, &m);
		imap_search_free(&s);
		imap_parser_free(&p);
	}
	assert_int_equal(results[0], results[1]);
	return results[0];
}

/* BODY over a made-up body: case-insensitive, found across any overlap,
 * and fast for the needle that made the naive scan quadratic. */
static bool body_has(const char *body, size_t blen, const char *needle,
		     size_t nlen)
{
	struct imap_search s;
	struct imap_arg args[2] = {
		{.type = IMAP_ARG_ATOM, .str = "BODY", .len = 4, .next = 1},
		{.type = IMAP_ARG_LITERAL, .str = needle, .len = nlen, .next = 2}};
	const char *why;
	assert_int_equal(imap_search_parse(args, 2, 0, &s, &why), 0);
	struct search_msg m = {.seq = 1, .uid = 1, .max_seq = 1, .max_uid = 1,
			       .text = body, .len = blen, .header_len = 0};
	bool r = imap_search_match(&s, &m);
	imap_search_free(&s);
	return r;
}

static void test_substring_search(void **state)
{
	static const struct {
		const char *hay, *needle;
		bool want;
	} cases[] = {
		{"Hello World", "WORLD", true}, {"Hello World", "worlds", false},
		{"aaab", "AAB", true},          {"abababc", "ababc", true},
		{"abababd", "ababc", false},    {"xyz", "", true},
		{"ab", "abc", false},           {"aabaabaaab", "aabaaab", true},
		{"\xc3\xa9t\xc3\xa9", "\xc3\xa9T", true}, /* UTF-8 as bytes */
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		if (body_has(cases[i].hay, strlen(cases[i].hay), cases[i].needle,
			     strlen(cases[i].needle)) != cases[i].want)
			fail_msg("%s in %s", cases[i].needle, cases[i].hay);
	/* 8 MB of "a" against "a...ab" (1024 bytes): the naive scan did 8 G
	 * comparisons; this one a few per byte */
	size_t n = 8u << 20;
	char *hay = malloc(n), needle[SEARCH_STRING_MAX];
	assert_non_null(hay);
	memset(hay, 'a', n);
	memset(needle, 'A', sizeof(needle) - 1);
	needle[sizeof(needle) - 1] = 'b';
	assert_false(body_has(hay, n, needle, sizeof(needle)));
	hay[n - 1] = 'B';
	assert_true(body_has(hay, n, needle, sizeof(needle)));
	free(hay);
}

static void test_search_string_limit(void **state)
{
	char needle[SEARCH_STRING_MAX + 1];
	memset(needle, 'a', sizeof(needle));
	struct imap_arg args[3] = {
		{.type = IMAP_ARG_ATOM, .str = "TEXT", .len = 4, .next = 1},
		{.type = IMAP_ARG_LITERAL, .str = needle, .len = sizeof(needle),
		 .next = 2}};
	struct imap_search s;
	const char *why = NULL;
	assert_int_equal(imap_search_parse(args, 2, 0, &s, &why), -1);
	assert_string_equal(why, "Search string too long (at most 1024 bytes)");
	imap_search_free(&s);
	args[1].len = SEARCH_STRING_MAX;
	assert_int_equal(imap_search_parse(args, 2, 0, &s, &why), 0);
	imap_search_free(&s);
	args[0] = (struct imap_arg){.type = IMAP_ARG_ATOM, .str = "HEADER",
				    .len = 6, .next = 1};
	args[1].next = 2;
	args[2] = (struct imap_arg){.type = IMAP_ARG_ATOM, .str = "x", .len = 1,
				    .next = 3};
	args[1].len = sizeof(needle); /* the field name */
	assert_int_equal(imap_search_parse(args, 3, 0, &s, &why), -1);
	imap_search_free(&s);
}

static void test_keys_match(void **state)
{
	static const struct {
		const char *keys;
		bool want;
	} cases[] = {
		{"ALL", true},
		{"SEEN", true},
		{"UNSEEN", false},
		{"FLAGGED DELETED", false},
		{"UNDELETED UNDRAFT UNANSWERED", true},
		{"ANSWERED", false},
		{"KEYWORD $Todo", true},
		{"UNKEYWORD $Todo", false},
		{"KEYWORD $Other", false},
		{"UNKEYWORD $Other", false}, /* unknown keyword: matches nothing */
		{"2", true},
		{"1,3:*", false},
		{"*", false},
		{"1:2", true},
		{"UID 20", true},
		{"UID 21:*", false},
		{"UID *:10", true}, /* 10:50 */
		{"LARGER 10", true},
		{"SMALLER 10", false},
		{"SUBJECT report", true},
		{"SUBJECT \"quarterly REPORT\"", true},
		{"SUBJECT annual", false},
		{"FROM alice@EXAMPLE", true},
		{"TO alice", false},
		{"CC \"\"", false}, /* no Cc field */
		{"HEADER X-Folded second", true},
		{"HEADER X-Folded \"\"", true},
		{"HEADER X-Missing \"\"", false},
		{"BODY numbers", true},
		{"BODY Quarterly", false}, /* the header is not the body */
		{"TEXT Quarterly", true},
		{"TEXT {7}\r\nnumbers", true},
		{"ON 5-Mar-2024", true},
		{"BEFORE 5-Mar-2024", false},
		{"SINCE 5-Mar-2024", true},
		{"SINCE \"6-Mar-2024\"", false},
		{"SENTON 5-Mar-2024", true},
		{"SENTBEFORE 6-Mar-2024", true},
		{"SENTSINCE 6-Mar-2024", false},
		{"NOT SEEN", false},
		{"NOT NOT SEEN", true},
		{"OR DELETED SEEN", true},
		{"OR DELETED DRAFT", false},
		{"(SEEN FLAGGED) (2)", true},
		{"(SEEN (DELETED))", false},
		{"OR (DELETED) (NOT DRAFT)", true},
		{"NEW", false},
		{"RECENT", false},
		{"OLD", true},
		{"CHARSET UTF-8 SEEN", true},
		{"CHARSET us-ascii SEEN", true},
		{"RETURN (COUNT) SEEN", true},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		if (match(cases[i].keys) != cases[i].want)
			fail_msg("%s: expected %d", cases[i].keys, cases[i].want);
}

static void test_bad_keys(void **state)
{
	static const struct {
		const char *keys;
		int rc;
	} cases[] = {
		{"NOSUCHKEY", -1},     {"SUBJECT", -1},       {"BEFORE", -1},
		{"BEFORE 32-Mar-2024", -1}, {"ON 1-Foo-2024", -1},
		{"ON 1-Mar-24x", -1},  {"LARGER x", -1},      {"UID", -1},
		{"UID 0", -1},         {"0", -1},             {"$", -1},
		{"OR SEEN", -1},       {"NOT", -1},           {"HEADER From", -1},
		{"KEYWORD", -1},       {"()", -1},            {"RETURN (FOO) ALL", -1},
		{"CHARSET KOI8-R ALL", -2}, {"CHARSET", -1},  {"\"SEEN\"", -1},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct imap_parser *p;
		struct imap_search s;
		const char *why = NULL;
		int rc = parse(&p, cases[i].keys, false, &s, &why);
		if (rc != cases[i].rc)
			fail_msg("%s: rc %d", cases[i].keys, rc);
		assert_non_null(why);
		imap_search_free(&s);
		imap_parser_free(&p);
	}
}

static void test_nesting_is_bounded(void **state)
{
	char keys[1024];
	size_t o = 0;
	for (int i = 0; i < SEARCH_DEPTH_MAX + 2; i++)
		o += (size_t)snprintf(keys + o, sizeof(keys) - o, "NOT ");
	snprintf(keys + o, sizeof(keys) - o, "SEEN");
	struct imap_parser *p;
	struct imap_search s;
	const char *why = NULL;
	assert_int_equal(parse(&p, keys, false, &s, &why), -1);
	assert_string_equal(why, "Search keys nest too deep");
	imap_search_free(&s);
	imap_parser_free(&p);
}

static void test_return_options(void **state)
{
	struct imap_parser *p;
	struct imap_search s;
	const char *why;
	assert_int_equal(parse(&p, "RETURN () ALL", false, &s, &why), 0);
	assert_true(s.esearch);
	assert_int_equal(s.ret, SEARCH_RET_ALL);
	imap_search_free(&s);
	imap_parser_free(&p);
	assert_int_equal(parse(&p, "RETURN (MIN MAX COUNT) TEXT x", false, &s,
			       &why), 0);
	assert_int_equal(s.ret, SEARCH_RET_MIN | SEARCH_RET_MAX | SEARCH_RET_COUNT);
	assert_true(s.needs_text);
	imap_search_free(&s);
	imap_parser_free(&p);
	assert_int_equal(parse(&p, "SEEN", false, &s, &why), 0);
	assert_false(s.esearch);
	assert_false(s.needs_text);
	imap_search_free(&s);
	imap_parser_free(&p);
}

static void test_dates(void **state)
{
	assert_int_equal(imap_search_date("1-Jan-1970", 10), 0);
	assert_int_equal(imap_search_date("02-Jan-1970", 11), 1);
	assert_int_equal(imap_search_date("5-mar-2024", 10), 19787);
	assert_int_equal(imap_search_date("5-Mar-2024 ", 11), -1);
	assert_int_equal(imap_search_date("5 Mar 2024", 10), -1);
	const char *d = "Tue, 5 Mar 2024 23:59:00 -1200";
	assert_int_equal(imap_search_sent_date(d, strlen(d)), 19787);
	d = " 05 Mar 24 00:00 GMT";
	assert_int_equal(imap_search_sent_date(d, strlen(d)), 19787);
	d = "garbage";
	assert_int_equal(imap_search_sent_date(d, strlen(d)), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_keys_match),
		cmocka_unit_test(test_bad_keys),
		cmocka_unit_test(test_nesting_is_bounded),
		cmocka_unit_test(test_return_options),
		cmocka_unit_test(test_dates),
		cmocka_unit_test(test_substring_search),
		cmocka_unit_test(test_search_string_limit),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
