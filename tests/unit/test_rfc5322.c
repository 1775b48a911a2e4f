/* Tests for src/mail/rfc5322.c (address lists) and src/mail/header.c
 * (header field walking). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "mail/header.h"
#include "mail/rfc5322.h"

#include <stdio.h>
#include <string.h>

struct list_case {
	const char *value;
	int rc;
	const char *want; /* the addresses, formatted, joined by " " */
};

static const struct list_case cases[] = {
	{"alice@example.org", 0, "alice@example.org"},
	{"Alice <alice@Example.ORG>", 0, "alice@example.org"},
	{"\"Alice, the first\" <alice@example.org>", 0, "alice@example.org"},
	{"=?utf-8?q?Al=C3=AFce?= <alice@example.org>", 0, "alice@example.org"},
	{"alice@example.org (Alice (the (very) first))", 0, "alice@example.org"},
	{"(comment) <alice@example.org>", 0, "alice@example.org"},
	{"a@x.org, B <b@y.org>,\n\tc@z.org", 0, "a@x.org b@y.org c@z.org"},
	{"team: a@x.org, b@y.org;, c@z.org", 0, "a@x.org b@y.org c@z.org"},
	{"undisclosed-recipients:;", 0, ""},
	{"\"john doe\"@example.org", 0, "\"john doe\"@example.org"},
	{"\"john\"@example.org", 0, "john@example.org"},
	{"john.\"q\".public@example.org", 0, "john.q.public@example.org"},
	{"John Q. Public <jqp@example.org>", 0, "jqp@example.org"},
	{"<@relay.example,@other.example:user@example.org>", 0, "user@example.org"},
	{"user@[192.0.2.1]", 0, "user@[192.0.2.1]"},
	{"user @ example . org", 0, "user@example.org"},
	{", , a@x.org,,", 0, "a@x.org"},
	{"j\xc3\xb6" "rg@b\xc3\xbc" "cher.example", 0, "j\xc3\xb6" "rg@b\xc3\xbc" "cher.example"},
	{"", 0, ""},
	/* not address lists */
	{"alice", -1, NULL},
	{"alice@", -1, NULL},
	{"@example.org", -1, NULL},
	{"Alice <alice@example.org", -1, NULL},
	{"alice@example.org <bob@example.org>", -1, NULL},
	{"a..b@example.org", -1, NULL},
	{".a@example.org", -1, NULL},
	{"a@x.org b@y.org", -1, NULL},
	{"group: a@x.org", -1, NULL},
	{"alice@example.org (unclosed", -1, NULL},
	{"\"unclosed@example.org", -1, NULL},
	{"a@[1.2.3.4", -1, NULL},
	{"ali\x01" "ce@example.org", -1, NULL},
	{"a@x.org)", -1, NULL},
	{"g1: g2: a@x.org;;", -1, NULL},
	{"\xff@example.org", -1, NULL},
};

static void address_lists(void **state)
{
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct list_case *c = &cases[i];
		struct mailbox mb[8];
		size_t n = 99;
		int rc = rfc5322_address_list(c->value, strlen(c->value), mb, 8, &n);
		if (rc != c->rc)
			fail_msg("case %zu '%s': rc %d, expected %d", i, c->value, rc,
				 c->rc);
		if (rc != 0)
			continue;
		char got[1024] = "", one[ADDR_TEXT_MAX];
		for (size_t k = 0; k < n; k++) {
			mailbox_format(&mb[k], one);
			snprintf(got + strlen(got), sizeof(got) - strlen(got), "%s%s",
				 k ? " " : "", one);
		}
		if (strcmp(got, c->want) != 0)
			fail_msg("case %zu '%s': got '%s', expected '%s'", i, c->value,
				 got, c->want);
	}
}

static void limits(void **state)
{
	struct mailbox mb[2];
	size_t n;
	/* more addresses than room */
	assert_int_equal(rfc5322_address_list("a@x.org, b@x.org, c@x.org", 26, mb, 2, &n), -1);
	/* a 65-octet local part */
	char v[200];
	memset(v, 'l', 65);
	strcpy(v + 65, "@x.org");
	assert_int_equal(rfc5322_address_list(v, strlen(v), mb, 2, &n), -1);
	v[64] = '@';
	v[65] = '\0';
	strcat(v, "x.org");
	assert_int_equal(rfc5322_address_list(v, strlen(v), mb, 2, &n), 0);
	assert_int_equal(n, 1);
	/* comments nested past the limit */
	char deep[200] = "a@x.org ";
	for (int i = 0; i < 40; i++)
		strcat(deep, "(");
	for (int i = 0; i < 40; i++)
		strcat(deep, ")");
	assert_int_equal(rfc5322_address_list(deep, strlen(deep), mb, 2, &n), -1);
	/* a NUL escaped inside quotes */
	char nul[] = "\"a\\\0b\"@x.org";
	assert_int_equal(rfc5322_address_list(nul, sizeof(nul) - 1, mb, 2, &n), -1);
}

static void header_walk(void **state)
{
	static const char hdr[] = "From: Alice <a@x.org>\n"
				  "Subject: folded\n"
				  " over two lines\n"
				  "from: second@x.org\n"
				  "X-Empty:\n";
	struct header_field f;
	size_t pos = 0;
	struct buf u;
	buf_init(&u, 0);
	assert_int_equal(header_next(hdr, sizeof(hdr) - 1, &pos, &f), 1);
	assert_true(header_is(&f, "FROM"));
	assert_int_equal(f.value_len, strlen(" Alice <a@x.org>"));
	assert_int_equal(header_next(hdr, sizeof(hdr) - 1, &pos, &f), 1);
	assert_true(header_is(&f, "subject"));
	assert_int_equal(header_unfold(&f, &u), 0);
	assert_string_equal(buf_cstr(&u), " folded over two lines");
	assert_int_equal(header_next(hdr, sizeof(hdr) - 1, &pos, &f), 1);
	assert_int_equal(header_next(hdr, sizeof(hdr) - 1, &pos, &f), 1);
	assert_true(header_is(&f, "X-Empty"));
	assert_int_equal(f.value_len, 0);
	assert_int_equal(header_next(hdr, sizeof(hdr) - 1, &pos, &f), 0);
	assert_int_equal(header_count(hdr, sizeof(hdr) - 1, "From"), 2);
	assert_int_equal(header_count(hdr, sizeof(hdr) - 1, "Date"), 0);
	/* a line without a colon ends the walk */
	static const char bad[] = "A: 1\nnot a header\nB: 2\n";
	assert_int_equal(header_count(bad, sizeof(bad) - 1, "B"), 0);
	/* the obsolete blank before the colon */
	static const char obs[] = "Received : from a\nX-Y\t: 2\n";
	assert_int_equal(header_count(obs, sizeof(obs) - 1, "Received"), 1);
	assert_int_equal(header_count(obs, sizeof(obs) - 1, "X-Y"), 1);
	/* no final LF */
	pos = 0;
	assert_int_equal(header_next("A: 1", 4, &pos, &f), 1);
	assert_int_equal(f.value_len, 2);
	buf_free(&u);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(address_lists),
		cmocka_unit_test(limits),
		cmocka_unit_test(header_walk),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
