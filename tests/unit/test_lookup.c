/* Unit tests for src/dkim/lookup.c: DNS answers for DKIM keys reach the
 * verifier (none: permerror; failure: temperror), and a key seen before
 * comes from the cache and verifies as the parsed one did. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "dkim/lookup.h"
#include "rfc8463.h"

#include <string.h>

/* RFC 8463 A.3, the Ed25519 signature alone (LF line ends) */
static const char msg[] =
	RFC8463_ED25519_SIGNATURE RFC8463_FIELDS "\n" RFC8463_BODY;

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
	static const char key[] = "v=DKIM1; k=ed25519; p=" RFC8463_ED25519_P;
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
