/* Unit tests for src/mail/header.c: where the header section ends (the
 * empty line, or a line that is not a field) and skipping it in a message
 * read in pieces, so that signer, verifier and queue split alike. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "mail/header.h"

#include <string.h>

static void sections(void **state)
{
	static const struct {
		const char *msg;
		size_t hdr, body;
	} cases[] = {
		{"A: 1\nB: 2\n\nbody\n", 10, 11},
		{"A: 1\n folded\n\nbody\n", 13, 14},
		/* a line that is not a field starts the body at once */
		{"A: 1\nPay account 1111\n\nmore\n", 5, 5},
		{"A: 1\nName x: y\n\nbody\n", 5, 5},
		{"\nbody only\n", 0, 1},
		{"A: 1\nB: 2\n", 10, 10},
		{"A: 1", 4, 4},
		{"", 0, 0},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		size_t body;
		size_t hdr = header_section(cases[i].msg, strlen(cases[i].msg), &body);
		assert_int_equal(hdr, cases[i].hdr);
		assert_int_equal(body, cases[i].body);
	}
}

/* Skipping n header bytes then the empty line, fed step bytes at a time:
 * what is left is exactly the body. */
static void skipping(void **state)
{
	static const char msg[] = "Received: x\nA: 1\n\n\nbody\n";
	for (size_t step = 1; step <= sizeof(msg); step++) {
		struct header_skip hs;
		char body[64];
		size_t got = 0, n = strlen(msg);
		header_skip_init(&hs, 17); /* "Received: x\nA: 1\n" */
		for (size_t i = 0; i < n; i += step) {
			size_t k = n - i < step ? n - i : step;
			size_t skip = header_skip(&hs, msg + i, k);
			memcpy(body + got, msg + i + skip, k - skip);
			got += k - skip;
		}
		body[got] = '\0';
		assert_string_equal(body, "\nbody\n"); /* one empty line skipped */
	}
	/* no empty line after the header: nothing more is skipped */
	struct header_skip hs;
	header_skip_init(&hs, 5);
	assert_int_equal(header_skip(&hs, "A: 1\nPay", 8), 5);
	assert_int_equal(header_skip(&hs, "\n", 1), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(sections),
		cmocka_unit_test(skipping),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
