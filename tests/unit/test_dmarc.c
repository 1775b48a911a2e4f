/* Unit tests for src/mailauth/dmarc.c: the organisational domain over the
 * Public Suffix List test cases (tests/data/dmarc, the list pinned there),
 * record parsing, the author domain (one From, one address), record
 * discovery and the verdict with relaxed and strict alignment, sp= and
 * pct=. Server behaviour is in tests/integration/test_dmarc.py. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "mailauth/dmarc.h"

#include <libpsl.h>
#include <stdio.h>
#include <string.h>

static psl_ctx_t *psl;

static int load_psl(void **state)
{
	psl = psl_load_file("tests/data/dmarc/public_suffix_list.dat");
	return psl != NULL ? 0 : -1;
}

static int free_psl(void **state)
{
	psl_free(psl);
	return 0;
}

/* psl_tests.txt: "input expected" lines, "null": no registrable domain
 * (then the name is its own organisational domain). */
static void public_suffix_cases(void **state)
{
	FILE *f = fopen("tests/data/dmarc/psl_tests.txt", "r");
	assert_non_null(f);
	char line[512], in[256], want[256], got[DMARC_DOMAIN_MAX + 1];
	unsigned n = 0;
	while (fgets(line, sizeof(line), f) != NULL) {
		if (strncmp(line, "//", 2) == 0 ||
		    sscanf(line, "%255s %255s", in, want) != 2 ||
		    strcmp(in, "null") == 0 || in[0] == '.')
			continue; /* comments; no input; not a domain name */
		dmarc_org_domain(psl, in, got);
		if (strcmp(want, "null") == 0) {
			char lower[256];
			size_t i = 0;
			for (; in[i] != '\0'; i++)
				lower[i] = (char)(in[i] >= 'A' && in[i] <= 'Z' ? in[i] + 32
									: in[i]);
			lower[i] = '\0';
			snprintf(want, sizeof(want), "%s", lower);
		}
		if (strcmp(got, want) != 0)
			fail_msg("%s: got %s, want %s", in, got, want);
		n++;
	}
	fclose(f);
	assert_true(n > 60);
}

static void records(void **state)
{
	struct dmarc_record r;
	const char *why;
	assert_int_equal(dmarc_record_parse("v=DMARC1; p=reject; sp=none; adkim=s; "
					    "aspf=r; pct=25; rua=mailto:d@x.example",
					    &r, &why), 0);
	assert_int_equal(r.p, DMARC_P_REJECT);
	assert_int_equal(r.sp, DMARC_P_NONE);
	assert_true(r.adkim_strict);
	assert_false(r.aspf_strict);
	assert_int_equal(r.pct, 25);
	assert_int_equal(dmarc_record_parse("v=DMARC1;p=Quarantine", &r, &why), 0);
	assert_int_equal(r.sp, DMARC_P_QUARANTINE);
	assert_int_equal(r.pct, 100);
	/* an unknown p= with a report address is p=none (RFC 7489 6.6.3) */
	assert_int_equal(dmarc_record_parse("v=DMARC1; p=bogus; rua=mailto:a@b.example",
					    &r, &why), 0);
	assert_int_equal(r.p, DMARC_P_NONE);
	static const char *const bad[] = {
		"v=DMARC1; p=bogus", "v=DMARC1", "p=reject; v=DMARC1",
		"v=DMARC2; p=reject", "v=dmarc1; p=reject", "v=DMARC1x; p=none",
		"",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++)
		if (dmarc_record_parse(bad[i], &r, &why) == 0)
			fail_msg("'%s' accepted", bad[i]);
	/* RFC 7489 6.3, 6.4: blanks around "=", empty or broken tags are
	 * passed over rather than voiding the policy; the first p= counts */
	assert_int_equal(dmarc_record_parse("v = DMARC1 ;; p = reject ; bad ; pct=x",
					    &r, &why), 0);
	assert_int_equal(r.p, DMARC_P_REJECT);
	assert_int_equal(r.pct, 100);
	assert_int_equal(dmarc_record_parse("v=DMARC1; p=none; p=reject", &r, &why), 0);
	assert_int_equal(r.p, DMARC_P_NONE);
	assert_true(dmarc_is_record("v=DMARC1;"));
	assert_false(dmarc_is_record("v=spf1 -all"));
}

/* Run a check: the From header, _dmarc answers from zone ("" none). */
static struct dmarc *run(const char *hdr, const char *const *zone, size_t nz,
			 enum spf_result spf, const char *spf_domain,
			 unsigned *lookups)
{
	struct dmarc *d = dmarc_new(psl, hdr, strlen(hdr));
	const char *name;
	*lookups = 0;
	while (dmarc_next(d, &name) == 1) {
		const char *txt[1];
		size_t n = 0;
		(*lookups)++;
		for (size_t i = 0; i + 1 < nz; i += 2)
			if (strcmp(zone[i], name) == 0)
				txt[n++] = zone[i + 1];
		dmarc_answer(d, n ? DMARC_DNS_OK : DMARC_DNS_NONE, txt, n);
	}
	struct dmarc_spf s = {spf, spf_domain};
	dmarc_evaluate(d, NULL, &s);
	return d;
}

static void verdicts(void **state)
{
	static const char *const zone[] = {
		"_dmarc.example.co.uk", "v=DMARC1; p=reject; sp=quarantine; aspf=r",
		"_dmarc.strict.example", "v=DMARC1; p=reject; aspf=s; pct=50",
	};
	unsigned q;
	/* relaxed: mail.example.co.uk aligns with news.example.co.uk, whose
	 * record is the organisational domain's (co.uk is a public suffix) */
	struct dmarc *d = run("From: a@news.example.co.uk\n", zone, 4, SPF_PASS,
			      "mail.example.co.uk", &q);
	assert_int_equal(dmarc_result(d), DMARC_PASS);
	assert_int_equal(q, 2);
	assert_string_equal(dmarc_domain(d), "news.example.co.uk");
	dmarc_free(&d);
	/* another organisation under co.uk does not align */
	d = run("From: a@news.example.co.uk\n", zone, 4, SPF_PASS, "other.co.uk", &q);
	assert_int_equal(dmarc_result(d), DMARC_FAIL);
	assert_int_equal(dmarc_published(d), DMARC_P_QUARANTINE); /* sp= */
	assert_int_equal(dmarc_policy(d, 0), DMARC_P_QUARANTINE);
	dmarc_free(&d);
	/* strict SPF alignment; pct=50 samples half the failures */
	d = run("From: A <a@STRICT.example>\n", zone, 4, SPF_PASS,
		"mail.strict.example", &q);
	assert_int_equal(dmarc_result(d), DMARC_FAIL);
	assert_int_equal(dmarc_policy(d, 10), DMARC_P_REJECT);
	assert_int_equal(dmarc_policy(d, 60), DMARC_P_QUARANTINE);
	dmarc_free(&d);
	d = run("From: a@strict.example\n", zone, 4, SPF_PASS, "strict.example", &q);
	assert_int_equal(dmarc_result(d), DMARC_PASS);
	assert_int_equal(dmarc_policy(d, 0), DMARC_P_NONE);
	dmarc_free(&d);
	/* SPF could not be checked for an aligned domain: temperror, never
	 * a fail (RFC 7489 11.2) */
	d = run("From: a@strict.example\n", zone, 4, SPF_TEMPERROR, "strict.example",
		&q);
	assert_int_equal(dmarc_result(d), DMARC_TEMPERROR);
	assert_int_equal(dmarc_policy(d, 0), DMARC_P_NONE);
	dmarc_free(&d);
	/* no record anywhere: none */
	d = run("From: a@nowhere.example\n", zone, 4, SPF_FAIL, "x.example", &q);
	assert_int_equal(dmarc_result(d), DMARC_NONE);
	dmarc_free(&d);
}

static void author_domain(void **state)
{
	static const char *const bad[] = {
		"To: a@x.example\n",
		"From: a@x.example\nFrom: b@x.example\n",
		"From: a@x.example, b@y.example\n",
		"From: undisclosed\n",
		"From: a@[192.0.2.1]\n",
	};
	unsigned q;
	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
		/* a fail no record can soften: one domain shown, another
		 * checked, is how such messages spoof */
		struct dmarc *d = run(bad[i], NULL, 0, SPF_PASS, "x.example", &q);
		assert_int_equal(dmarc_result(d), DMARC_FAIL);
		assert_int_equal(dmarc_policy(d, 99), i == 0 ? DMARC_P_NONE /* no From */
							     : DMARC_P_REJECT);
		assert_string_equal(dmarc_domain(d), "");
		assert_int_equal(q, 0);
		dmarc_free(&d);
	}
	assert_string_equal(dmarc_result_name(DMARC_TEMPERROR), "temperror");
	assert_string_equal(dmarc_policy_name(DMARC_P_QUARANTINE), "quarantine");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(public_suffix_cases),
		cmocka_unit_test(records),
		cmocka_unit_test(verdicts),
		cmocka_unit_test(author_domain),
	};
	return cmocka_run_group_tests(tests, load_psl, free_psl);
}
