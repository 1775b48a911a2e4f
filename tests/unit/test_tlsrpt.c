/* Tests for src/mta/tlsrpt.c: _smtp._tls TXT records (every malformed
 * case), the JSON report summed from result lines (damaged lines skipped,
 * other days ignored, strings escaped), and the days present. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "mta/tlsrpt.h"

#include <string.h>

static void txt_records(void **state)
{
	static const struct {
		const char *txt;
		int want;
		size_t n;
		const char *first;
	} t[] = {
		{"v=TLSRPTv1; rua=mailto:tls@example.org", 1, 1, "tls@example.org"},
		{"v=TLSRPTv1;rua=mailto:a@x.example,mailto:b@y.example;", 1, 2,
		 "a@x.example"},
		{"v=TLSRPTv1; rua=https://reports.example/tls", 0, 0, ""},
		{"v=TLSRPTv1; rua=https://r.example/x, mailto:c@z.example", 1, 1,
		 "c@z.example"},
		{"v=TLSRPTv1; rua=mailto:nobody", 0, 0, ""},   /* no @ */
		{"v=TLSRPTv1", -1, 0, ""},                      /* no rua */
		{"v=TLSRPTv1; ext=1", -1, 0, ""},
		{"v=TLSRPTv1 rua=mailto:a@b.example", -1, 0, ""}, /* no ; */
		{"v=TLSRPTv1; rua=mailto:r@x.example?subject=tls", 1, 1, "r@x.example"},
		{"v=TLSRPTv1; rua=mailto:a%40b@x.example", 0, 0, ""}, /* escapes */
		{"v=TLSRPTv1; rua=mailto:<a@x.example>", 0, 0, ""},
		{"v=TLSRPTv1; rua=mailto:a@b@x.example", 0, 0, ""},
		{"v=TLSRPTv1; rua=mailto:@x.example", 0, 0, ""},
		{"v=TLSRPTv1x; rua=mailto:a@x.example", 0, 0, ""},
		{"v=spf1 -all", 0, 0, ""},
		{"", 0, 0, ""},
	};
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		char rua[TLSRPT_RUA_MAX][TLSRPT_ADDR_MAX + 1];
		size_t n = 99;
		int rc = tlsrpt_txt_parse(t[i].txt, rua, &n);
		if (rc != t[i].want || n != t[i].n)
			fail_msg("%s: got %d/%zu", t[i].txt, rc, n);
		if (n > 0)
			assert_string_equal(rua[0], t[i].first);
	}
	char rua[TLSRPT_RUA_MAX][TLSRPT_ADDR_MAX + 1];
	size_t n;
	assert_int_equal(tlsrpt_txt_parse("v=TLSRPTv1; rua=mailto:a@a.example,"
					  "mailto:b@a.example,mailto:c@a.example,"
					  "mailto:d@a.example,mailto:e@a.example",
					  rua, &n), 1);
	assert_int_equal(n, TLSRPT_RUA_MAX); /* capped */
}

static const char lines[] =
	"2026-11-22\tsts\tok\t-\tmx.example.org\t192.0.2.1\n"
	"2026-11-22\tsts\tfail\tcertificate-expired\tmx.example.org\t192.0.2.1\n"
	"2026-11-22\tsts\tfail\tcertificate-expired\tmx.example.org\t192.0.2.1\n"
	"2026-11-22\ttlsa\tfail\tvalidation-failure\tmx2.example.org\t-\n"
	"2026-11-22\tbogus\tok\t-\tmx.example.org\t192.0.2.1\n"   /* policy */
	"2026-11-22\tsts\tmaybe\t-\tmx.example.org\t192.0.2.1\n"  /* result */
	"2026-11-22\tsts\tok\n"                                   /* short */
	"2026-11-22\tsts\tok\t-\ta\tb\textra\n"                   /* long */
	"2026-11-23\tsts\tok\t-\tmx.example.org\t192.0.2.1\n"     /* next day */
	"2026-11-22\tsts\tok\t-\tmx.example.org\t192.0.2.1";      /* torn */

static void json_report(void **state)
{
	struct buf b;
	buf_init(&b, 0);
	assert_int_equal(tlsrpt_build_json(lines, sizeof(lines) - 1, "2026-11-22",
					   "example.org", "mx.us.example",
					   "postmaster@us.example", "ID1", &b), 1);
	const char *want =
		"{\"organization-name\":\"mx.us.example\",\"date-range\":"
		"{\"start-datetime\":\"2026-11-22T00:00:00Z\",\"end-datetime\":"
		"\"2026-11-22T23:59:59Z\"},\"contact-info\":\"postmaster@us.example\","
		"\"report-id\":\"ID1\",\"policies\":["
		"{\"policy\":{\"policy-type\":\"sts\",\"policy-domain\":"
		"\"example.org\"},\"summary\":{\"total-successful-session-count\":1,"
		"\"total-failure-session-count\":2},\"failure-details\":["
		"{\"result-type\":\"certificate-expired\",\"receiving-mx-hostname\":"
		"\"mx.example.org\",\"receiving-ip\":\"192.0.2.1\","
		"\"failed-session-count\":2}]},"
		"{\"policy\":{\"policy-type\":\"tlsa\",\"policy-domain\":"
		"\"example.org\"},\"summary\":{\"total-successful-session-count\":0,"
		"\"total-failure-session-count\":1},\"failure-details\":["
		"{\"result-type\":\"validation-failure\",\"receiving-mx-hostname\":"
		"\"mx2.example.org\",\"failed-session-count\":1}]}]}\n";
	assert_string_equal(buf_cstr(&b), want);
	buf_free(&b);
	/* nothing for a day without lines */
	buf_init(&b, 0);
	assert_int_equal(tlsrpt_build_json(lines, sizeof(lines) - 1, "2026-11-01",
					   "example.org", "o", "c", "i", &b), 0);
	assert_int_equal(b.len, 0);
	/* strings are escaped */
	const char odd[] = "2026-11-22\tsts\tfail\tx\"y\\z\tmx\t-\n";
	assert_int_equal(tlsrpt_build_json(odd, sizeof(odd) - 1, "2026-11-22",
					   "example.org", "o\"rg", "c", "i", &b), 1);
	assert_non_null(strstr(buf_cstr(&b), "\"organization-name\":\"o\\\"rg\""));
	assert_non_null(strstr(buf_cstr(&b), "\"result-type\":\"x\\\"y\\\\z\""));
	buf_free(&b);
}

static void days_present(void **state)
{
	char days[4][11];
	assert_int_equal(tlsrpt_days(lines, sizeof(lines) - 1, days, 4), 2);
	assert_string_equal(days[0], "2026-11-22");
	assert_string_equal(days[1], "2026-11-23");
	assert_int_equal(tlsrpt_days("garbage\n", 8, days, 4), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(txt_records),
		cmocka_unit_test(json_report),
		cmocka_unit_test(days_present),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
