/* Unit tests for src/mailauth/spfterm.c and spf.c: the macro examples of
 * RFC 7208 7.4, record syntax (good and malformed, each malformed case a
 * permerror), and the state machine over a tiny zone: include, redirect,
 * the lookup limits and a DNS failure. The full RFC 7208 test suite runs in
 * tests/integration/test_spf.py. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "mailauth/spf.h"
#include "mailauth/spfterm.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

static void rfc7208_macro_examples(void **state)
{
	unsigned char ip4[16] = {192, 0, 2, 3}, ip6[16];
	inet_pton(AF_INET6, "2001:db8::cb01", ip6);
	struct spf_macros m = {
		.sender = "strong-bad@email.example.com", .local = "strong-bad",
		.sender_domain = "email.example.com", .domain = "email.example.com",
		.ip = ip4, .helo = "mx.example.org", .receiver = "mx.example.net",
		.now = 1000,
	};
	static const struct {
		const char *in, *out;
	} ex[] = {
		{"%{s}", "strong-bad@email.example.com"},
		{"%{o}", "email.example.com"},
		{"%{d}", "email.example.com"},
		{"%{d4}", "email.example.com"},
		{"%{d3}", "email.example.com"},
		{"%{d2}", "example.com"},
		{"%{d1}", "com"},
		{"%{dr}", "com.example.email"},
		{"%{d2r}", "example.email"},
		{"%{l}", "strong-bad"},
		{"%{l-}", "strong.bad"},
		{"%{lr}", "strong-bad"},
		{"%{lr-}", "bad.strong"},
		{"%{l1r-}", "strong"},
		{"%{ir}.%{v}._spf.%{d2}", "3.2.0.192.in-addr._spf.example.com"},
		{"%{lr-}.lp._spf.%{d2}", "bad.strong.lp._spf.example.com"},
		{"%{lr-}.lp.%{ir}.%{v}._spf.%{d2}",
		 "bad.strong.lp.3.2.0.192.in-addr._spf.example.com"},
		{"%{ir}.%{v}.%{l1r-}.lp._spf.%{d2}",
		 "3.2.0.192.in-addr.strong.lp._spf.example.com"},
		{"%{d2}.trusted-domains.example.net",
		 "example.com.trusted-domains.example.net"},
		{"%%%_%-", "% %20"},
		{"%{L}", "strong-bad"},
		{"%{S}", "strong-bad%40email.example.com"},
	};
	char out[512];
	const char *why;
	for (size_t i = 0; i < sizeof(ex) / sizeof(*ex); i++) {
		assert_int_equal(spf_expand(ex[i].in, strlen(ex[i].in), &m, false, out,
					    sizeof(out), &why), 0);
		assert_string_equal(out, ex[i].out);
	}
	m.ip = ip6;
	m.v6 = true;
	const char *v6 = "%{ir}.%{v}._spf.%{d2}";
	assert_int_equal(spf_expand(v6, strlen(v6), &m, false, out, sizeof(out),
				    &why), 0);
	assert_string_equal(out, "1.0.B.C.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0."
				 "8.B.D.0.1.0.0.2.ip6._spf.example.com");
	/* c, r and t only in explanations; bad macros are errors */
	static const char *const bad[] = {"%{c}", "%{x}", "%{d0}", "%", "%a",
					  "%{d", "a b"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++)
		assert_int_equal(spf_expand(bad[i], strlen(bad[i]), &m, false, out,
					    sizeof(out), &why), -1);
	assert_int_equal(spf_expand("%{c} at %{t}", 12, &m, true, out,
				    sizeof(out), &why), 0);
	assert_string_equal(out, "2001:db8::cb01 at 1000");
}

static void record_syntax(void **state)
{
	static const char *const good[] = {
		"v=spf1",
		"v=spf1 -all",
		"V=SPF1 +mx a:mail.%{d} ip4:192.0.2.0/24 ip6:2001:db8::/32 ~all",
		"v=spf1 a/24//64 mx:example.org/30 ptr exists:%{i}.bl.example.",
		"v=spf1 include:_spf.example.com redirect=_spf.example.net",
		"v=spf1 exp=explain.%{d} unknown-mod=anything%{d}  ?all ",
	};
	static const char *const bad[] = {
		"v=spf10",
		"v=spf1 foo",
		"v=spf1 a:museum",            /* no "." toplabel */
		"v=spf1 a:example.123",       /* all-numeric toplabel */
		"v=spf1 a:example.-com",
		"v=spf1 ip4:192.0.2.0/33",
		"v=spf1 ip4:192.0.2.0/024",
		"v=spf1 ip6:2001:db8::/129",
		"v=spf1 ip4:300.0.0.1",
		"v=spf1 -all/8",
		"v=spf1 include",
		"v=spf1 redirect=a.example redirect=b.example",
		"v=spf1 exp=a.example exp=b.example",
		"v=spf1 a:%{z}.example.com",
		"v=spf1 =all",
		"v=spf1 ip4:192.0.2.5\x0b",
	};
	struct spf_term t[SPF_TERMS_MAX];
	size_t n;
	const char *why;
	for (size_t i = 0; i < sizeof(good) / sizeof(*good); i++)
		if (spf_parse_record(good[i], t, SPF_TERMS_MAX, &n, &why) != 0)
			fail_msg("'%s': %s", good[i], why);
	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++)
		if (spf_parse_record(bad[i], t, SPF_TERMS_MAX, &n, &why) != -1)
			fail_msg("'%s' accepted", bad[i]);
	assert_int_equal(spf_parse_record(good[3], t, SPF_TERMS_MAX, &n, &why), 0);
	assert_int_equal(n, 4);
	assert_int_equal(t[0].cidr4, 24);
	assert_int_equal(t[0].cidr6, 64);
	assert_int_equal(t[1].cidr4, 30);
	assert_true(spf_is_record("v=spf1"));
	assert_false(spf_is_record("v=spf1x"));
}

/* A zone: name, type, records ("" for none, "TEMP" for a failure) */
struct rec {
	const char *name;
	int type;
	const char *data;
};

static enum spf_result check(const struct rec *zone, size_t nz,
			     const char *ip, const char *sender, unsigned *queries)
{
	struct spf_request req = {.sender = sender, .helo = "helo.example.org",
				  .receiver = "mx.example.net", .now = 1};
	req.domain = strrchr(sender, '@') + 1;
	assert_int_equal(spf_set_ip(&req, ip), 0);
	struct spf *s = spf_new(&req);
	const char *name;
	int type;
	*queries = 0;
	while (spf_next(s, &name, &type) == 1) {
		struct spf_rr rr[4];
		size_t n = 0;
		enum spf_dns st = SPF_DNS_NONE;
		(*queries)++;
		for (size_t i = 0; i < nz; i++)
			if (strcmp(zone[i].name, name) == 0 && zone[i].type == type) {
				if (strcmp(zone[i].data, "TEMP") == 0) {
					st = SPF_DNS_TEMPFAIL;
					break;
				}
				memset(&rr[n], 0, sizeof(rr[n]));
				rr[n].text = zone[i].data;
				inet_pton(type == SPF_AAAA ? AF_INET6 : AF_INET,
					  zone[i].data, rr[n].addr);
				n++;
				st = SPF_DNS_OK;
			}
		spf_answer(s, st, rr, n);
	}
	enum spf_result r = spf_result(s);
	spf_free(&s);
	return r;
}

static void evaluation(void **state)
{
	static const struct rec zone[] = {
		{"example.org", SPF_TXT, "v=spf1 include:_spf.example.org -all"},
		{"example.org", SPF_TXT, "some other text"},
		{"_spf.example.org", SPF_TXT, "v=spf1 mx ip4:192.0.2.0/25 ~all"},
		{"_spf.example.org", SPF_MX, "mx1.example.org"},
		{"mx1.example.org", SPF_A, "198.51.100.7"},
		{"redir.example", SPF_TXT, "v=spf1 redirect=example.org"},
		{"temp.example", SPF_TXT, "v=spf1 a:broken.example -all"},
		{"broken.example", SPF_A, "TEMP"},
		{"loop.example", SPF_TXT, "v=spf1 include:loop.example -all"},
		{"voids.example", SPF_TXT,
		 "v=spf1 a:n1.example a:n2.example a:n3.example +all"},
		{"none.example", SPF_TXT, "not spf"},
	};
	size_t nz = sizeof(zone) / sizeof(*zone);
	unsigned q;
	assert_int_equal(check(zone, nz, "192.0.2.9", "a@example.org", &q), SPF_PASS);
	assert_int_equal(check(zone, nz, "198.51.100.7", "a@example.org", &q), SPF_PASS);
	/* the include's ~all does not match: the outer -all does */
	assert_int_equal(check(zone, nz, "203.0.113.1", "a@example.org", &q), SPF_FAIL);
	assert_int_equal(check(zone, nz, "192.0.2.9", "b@redir.example", &q), SPF_PASS);
	assert_int_equal(check(zone, nz, "192.0.2.9", "c@temp.example", &q),
			 SPF_TEMPERROR);
	/* an include of itself: stopped by the 10-lookup limit */
	assert_int_equal(check(zone, nz, "192.0.2.9", "d@loop.example", &q),
			 SPF_PERMERROR);
	assert_true(q <= 11);
	/* the third lookup finding nothing is one too many */
	assert_int_equal(check(zone, nz, "192.0.2.9", "e@voids.example", &q),
			 SPF_PERMERROR);
	assert_int_equal(check(zone, nz, "192.0.2.9", "f@none.example", &q), SPF_NONE);
	assert_int_equal(check(zone, nz, "192.0.2.9", "g@nowhere", &q), SPF_NONE);
	assert_int_equal(q, 0); /* a single label is never looked up */
	assert_string_equal(spf_result_name(SPF_SOFTFAIL), "softfail");
}

/* Found in review: names that DNS cannot encode are void no-matches (not
 * temperror), MX hosts without addresses count as void lookups, records
 * with many terms work, an oversize record is refused. */
static void review_cases(void **state)
{
	char big[4096] = "v=spf1";
	for (int i = 0; i < 129; i++)
		snprintf(big + strlen(big), sizeof(big) - strlen(big),
			 " ip4:198.51.100.%d", i % 250);
	strcat(big, " -all");
	static char huge[SPF_RECORD_MAX + 64] = "v=spf1 -all";
	memset(huge + 11, ' ', sizeof(huge) - 12);
	const struct rec zone[] = {
		{"long.example", SPF_TXT, "v=spf1 a:%{l}.u.long.example -all"},
		{"mx.example", SPF_TXT, "v=spf1 mx -all"},
		{"mx.example", SPF_MX, "h1.mx.example"},
		{"mx.example", SPF_MX, "h2.mx.example"},
		{"mx.example", SPF_MX, "h3.mx.example"},
		{"big.example", SPF_TXT, big},
		{"huge.example", SPF_TXT, huge},
	};
	size_t nz = sizeof(zone) / sizeof(*zone);
	unsigned q;
	char sender[128];
	memset(sender, 'x', 64);
	snprintf(sender + 64, sizeof(sender) - 64, "@long.example");
	assert_int_equal(check(zone, nz, "192.0.2.9", sender, &q), SPF_FAIL);
	assert_int_equal(q, 1); /* the 64-byte label is never asked for */
	assert_int_equal(check(zone, nz, "192.0.2.9", "a@mx.example", &q),
			 SPF_PERMERROR);
	assert_int_equal(check(zone, nz, "192.0.2.9", "a@big.example", &q), SPF_FAIL);
	assert_int_equal(check(zone, nz, "198.51.100.7", "a@big.example", &q),
			 SPF_PASS);
	assert_int_equal(check(zone, nz, "192.0.2.9", "a@huge.example", &q),
			 SPF_PERMERROR);
	char out[SPF_DOMAIN_MAX + 1];
	const char *why;
	struct spf_macros m = {.local = sender, .domain = "x.example"};
	assert_int_equal(spf_expand_domain("%{l}.x.example", 14, &m, out, &why), 1);
	assert_int_equal(spf_expand_domain("a..x.example", 12, &m, out, &why), 1);
	assert_int_equal(spf_expand_domain("a.%{d}", 6, &m, out, &why), 0);
	assert_string_equal(out, "a.x.example");
	assert_false(spf_domain_ok("[192.0.2.1]"));
	assert_false(spf_domain_ok("localhost"));
	assert_true(spf_domain_ok("mail.example.org."));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(rfc7208_macro_examples),
		cmocka_unit_test(record_syntax),
		cmocka_unit_test(evaluation),
		cmocka_unit_test(review_cases),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
