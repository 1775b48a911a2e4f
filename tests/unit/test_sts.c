/* Tests for src/mta/sts.c: MTA-STS TXT records, policy files (every
 * malformed case refused with a reason), MX matching, and a policy fed a
 * byte at a time in its possible cut points. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "mta/sts.h"

#include <stdio.h>
#include <string.h>

static void txt_records(void **state)
{
	static const struct {
		const char *txt;
		int want;
		const char *id;
	} t[] = {
		{"v=STSv1; id=20160831085700Z;", 1, "20160831085700Z"},
		{"v=STSv1;id=abc", 1, "abc"},
		{"v = STSv1 ; id=1 ; ext=foo;", 1, "1"},
		{"v=spf1 -all", 0, ""},
		{"hello", 0, ""},
		{"v=STSv1", -1, ""},                 /* no id */
		{"v=STSv1; id=;", -1, ""},
		{"v=STSv1; id=a-b;", -1, ""},        /* not alphanumeric */
		{"v=STSv1; id=123456789012345678901234567890123;", -1, ""},
		{"v=STSv1; id=1; id=2;", -1, ""},    /* twice */
		{"v=STSv1 id=1", -1, ""},            /* no separator */
		{"v=STSv1x; id=1", -1, ""},
		{"v=STSv1; =1;", -1, ""},
	};
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		char id[STS_ID_MAX + 1];
		int rc = sts_txt_parse(t[i].txt, id);
		if (rc != t[i].want)
			fail_msg("%s: got %d, want %d", t[i].txt, rc, t[i].want);
		if (rc == 1)
			assert_string_equal(id, t[i].id);
	}
}

static const char good[] = "version: STSv1\r\n"
			   "mode: enforce\r\n"
			   "mx: mail.Example.com\r\n"
			   "mx: *.example.net\r\n"
			   "mx:backupmx.example.com\r\n"
			   "max_age: 604800\r\n"
			   "future_field: whatever\r\n";

static void good_policy(void **state)
{
	struct sts_policy p;
	const char *why = NULL;
	assert_int_equal(sts_policy_parse(good, strlen(good), &p, &why), 0);
	assert_int_equal(p.mode, STS_MODE_ENFORCE);
	assert_int_equal(p.max_age, 604800);
	assert_int_equal(p.n_mx, 3);
	assert_string_equal(p.mx[0], "mail.example.com");
	assert_true(sts_mx_matches(&p, "mail.example.com"));
	assert_true(sts_mx_matches(&p, "mx1.example.net"));
	assert_true(sts_mx_matches(&p, "backupmx.example.com"));
	assert_false(sts_mx_matches(&p, "example.net"));       /* no label */
	assert_false(sts_mx_matches(&p, "a.b.example.net"));   /* two labels */
	assert_false(sts_mx_matches(&p, "mail.example.com.evil"));
	assert_false(sts_mx_matches(&p, "xmail.example.com"));
	/* LF line ends and no final line end work too */
	const char *lf = "version: STSv1\nmode: testing\nmx: a.example\nmax_age: 0";
	assert_int_equal(sts_policy_parse(lf, strlen(lf), &p, &why), 0);
	assert_int_equal(p.mode, STS_MODE_TESTING);
	const char *none = "version: STSv1\nmode: none\nmax_age: 86400\n";
	assert_int_equal(sts_policy_parse(none, strlen(none), &p, &why), 0);
	assert_int_equal(p.mode, STS_MODE_NONE);
}

static void bad_policies(void **state)
{
	static const struct {
		const char *text;
		const char *why;
	} t[] = {
		{"", "version, mode or max_age is missing"},
		{"version: STSv2\nmode: enforce\nmx: a.example\nmax_age: 1\n",
		 "version is not STSv1"},
		{"version: STSv1\nmode: strict\nmx: a.example\nmax_age: 1\n",
		 "mode is not enforce, testing or none"},
		{"version: STSv1\nmode: enforce\nmx: a.example\nmax_age: -1\n",
		 "max_age is not a number up to 31557600"},
		{"version: STSv1\nmode: enforce\nmx: a.example\nmax_age: 31557601\n",
		 "max_age is not a number up to 31557600"},
		{"version: STSv1\nmode: enforce\nmax_age: 1\n", "no mx line"},
		{"version: STSv1\nmode: enforce\nmx: a..example\nmax_age: 1\n",
		 "an mx line is not a host name or *.pattern"},
		{"version: STSv1\nmode: enforce\nmx: *.*.example\nmax_age: 1\n",
		 "an mx line is not a host name or *.pattern"},
		{"version: STSv1\nmode: enforce\nmx: a.example/x\nmax_age: 1\n",
		 "an mx line is not a host name or *.pattern"},
		{"version: STSv1\nmode: enforce\nmx a.example\nmax_age: 1\n",
		 "a line without a colon"},
		{"version: STSv1\nmode: enforce\nmx: a.example\n",
		 "version, mode or max_age is missing"},
	};
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		struct sts_policy p;
		const char *why = NULL;
		if (sts_policy_parse(t[i].text, strlen(t[i].text), &p, &why) == 0)
			fail_msg("case %zu accepted", i);
		assert_string_equal(why, t[i].why);
	}
	struct sts_policy p;
	const char *why;
	const char nul[] = "version: STSv1\nmode: enforce\0\nmx: a\nmax_age: 1\n";
	assert_int_equal(sts_policy_parse(nul, sizeof(nul) - 1, &p, &why), -1);
	static char big[STS_POLICY_MAX + 2];
	memset(big, '\n', sizeof(big));
	assert_int_equal(sts_policy_parse(big, sizeof(big), &p, &why), -1);
	assert_string_equal(why, "the policy is larger than 64 KB");
}

/* Every prefix of a good policy either parses or is refused cleanly (a
 * truncated download never counts as the policy it was cut from unless
 * it is complete in itself). */
static void every_prefix(void **state)
{
	size_t n = strlen(good);
	for (size_t cut = 0; cut <= n; cut++) {
		struct sts_policy p;
		const char *why;
		int rc = sts_policy_parse(good, cut, &p, &why);
		if (rc == 0) {
			assert_int_equal(p.mode, STS_MODE_ENFORCE);
			assert_true(p.max_age <= 604800);
		}
	}
}

static void many_mx_lines_are_capped(void **state)
{
	char text[8192];
	size_t len = (size_t)snprintf(text, sizeof(text),
				      "version: STSv1\nmode: enforce\nmax_age: 1\n");
	for (int i = 0; i < STS_MX_MAX + 10; i++)
		len += (size_t)snprintf(text + len, sizeof(text) - len,
					"mx: mx%d.example\n", i);
	assert_true(len < sizeof(text));
	struct sts_policy p;
	const char *why;
	assert_int_equal(sts_policy_parse(text, strlen(text), &p, &why), 0);
	assert_int_equal(p.n_mx, STS_MX_MAX);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(txt_records),
		cmocka_unit_test(good_policy),
		cmocka_unit_test(bad_policies),
		cmocka_unit_test(every_prefix),
		cmocka_unit_test(many_mx_lines_are_capped),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
