/* Tests for src/mta/route.c: which TLSA records are usable for SMTP
 * (RFC 7672 3.1) and how malformed ones are refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "mta/route.h"

#include <stdlib.h>
#include <string.h>

struct tlsa_case {
	unsigned char usage, selector, mtype;
	size_t data_len;
	int want; /* 1 usable, 0 not for SMTP, -1 malformed */
};

static void tlsa_decode_table(void **state)
{
	static const struct tlsa_case t[] = {
		{3, 1, 1, 32, 1},  /* DANE-EE SPKI SHA-256: the usual */
		{3, 0, 2, 64, 1},  /* DANE-EE full cert SHA-512 */
		{2, 0, 1, 32, 1},  /* DANE-TA cert SHA-256 */
		{3, 1, 0, 91, 1},  /* DANE-EE full SPKI */
		{0, 0, 1, 32, 0},  /* PKIX-TA: not for SMTP */
		{1, 1, 1, 32, 0},  /* PKIX-EE: not for SMTP */
		{4, 1, 1, 32, 0},  /* unknown usage */
		{3, 2, 1, 32, 0},  /* unknown selector */
		{3, 1, 3, 32, 0},  /* unknown matching type */
		{3, 1, 1, 31, 0},  /* SHA-256 of the wrong length */
		{3, 1, 2, 32, 0},  /* SHA-512 of the wrong length */
		{3, 1, 1, 0, -1},  /* no data at all */
		{3, 1, 0, ROUTE_TLSA_DATA_MAX + 1, -1}, /* too large */
	};
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		size_t len = 3 + t[i].data_len;
		unsigned char *rd = calloc(1, len);
		assert_non_null(rd);
		rd[0] = t[i].usage;
		rd[1] = t[i].selector;
		rd[2] = t[i].mtype;
		for (size_t k = 3; k < len; k++)
			rd[k] = (unsigned char)k;
		struct route_tlsa r;
		int rc = route_tlsa_decode(rd, len, &r);
		if (rc != t[i].want)
			fail_msg("case %zu: got %d, want %d", i, rc, t[i].want);
		if (rc == 1) {
			assert_int_equal(r.len, t[i].data_len);
			assert_memory_equal(r.data, rd + 3, r.len);
			assert_int_equal(r.usage, t[i].usage);
		} else {
			assert_null(r.data);
		}
		free(r.data);
		free(rd);
	}
	struct route_tlsa r;
	assert_int_equal(route_tlsa_decode((const unsigned char *)"\3\1", 2, &r), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(tlsa_decode_table),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
