/* Unit tests for src/dkim/lookup.c: DNS answers for DKIM keys reach the
 * verifier (none: permerror; failure: temperror), and a key seen before
 * comes from the cache and verifies as the parsed one did. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "dkim/lookup.h"

#include <string.h>

/* RFC 8463 A.3, the Ed25519 signature alone (LF line ends) */
static const char msg[] =
	"DKIM-Signature: v=1; a=ed25519-sha256; c=simple/simple; \n"
	" d=football.example.com; i=@football.example.com; \n"
	" q=dns/txt; s=brisbane; t=1518460054; h=from : to : \n"
	" subject : date : message-id : from : subject : date; \n"
	" bh=4bLNXImK9drULnmePzZNEBleUanJCX5PIsDIFoH4KTQ=; \n"
	" b=9/dsDChY0YMTtD5Eyw3wx7x22BlSJP7M5ECbJ7GWrR45nXlTCGb8l0YB\n"
	" o0wBLR++X5LqmsxXaOYLLJe46l10AQ==\n"
	"From: Joe SixPack <joe@football.example.com>\n"
	"To: Suzie Q <suzie@shopping.example.net>\n"
	"Subject: Is dinner ready?\n"
	"Date: Fri, 11 Jul 2003 21:00:37 -0700 (PDT)\n"
	"Message-ID: <20030712040037.46341.5F8J@football.example.com>\n"
	"\n"
	"Hi.\n\nWe lost the game.  Are you hungry yet?\n\nJoe.\n";

static enum dkim_result verify(enum dns_status st, const char *record)
{
	unsigned char rdata[300];
	size_t len = strlen(record);
	rdata[0] = (unsigned char)len; /* one TXT string (under 256 bytes) */
	memcpy(rdata + 1, record, len);
	struct dns_answer a = {.status = st, .n = st == DNS_OK ? 1 : 0};
	a.data[0] = rdata;
	a.len[0] = len + 1;
	const char *sep = strstr(msg, "\n\n");
	struct dkim_verify *v = dkim_verify_new(msg, (size_t)(sep - msg) + 1, 0);
	dkim_key_answer(v, 0, &a);
	dkim_verify_body(v, sep + 2, strlen(sep + 2));
	dkim_verify_finish(v);
	enum dkim_result r = dkim_verify_result(v, 0)->result;
	dkim_verify_free(&v);
	return r;
}

static void answers_and_cache(void **state)
{
	static const char key[] =
		"v=DKIM1; k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=";
	assert_int_equal(verify(DNS_OK, key), DKIM_PASS);
	assert_int_equal(verify(DNS_OK, key), DKIM_PASS); /* from the cache */
	assert_int_equal(verify(DNS_NXDOMAIN, ""), DKIM_PERMERROR);
	assert_int_equal(verify(DNS_TEMPFAIL, ""), DKIM_TEMPERROR);
	/* another text is another key: a revoked one, then a wrong one */
	assert_int_equal(verify(DNS_OK, "v=DKIM1; k=ed25519; p="), DKIM_PERMERROR);
	assert_int_equal(verify(DNS_OK, "v=DKIM1; k=ed25519; p=AAAAAAAAAAAAAAAAAAAAAA"
					"AAAAAAAAAAAAAAAAAAAAA="),
			 DKIM_FAIL);
	assert_int_equal(verify(DNS_OK, key), DKIM_PASS);
	dkim_key_cache_clear();
	assert_int_equal(verify(DNS_OK, key), DKIM_PASS);
	dkim_key_cache_clear();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(answers_and_cache),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
