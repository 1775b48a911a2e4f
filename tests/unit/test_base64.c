/* Tests for src/lib/base64.c: RFC 4648 vectors, and the strictness SASL
 * needs (RFC 4954: malformed base64 gets 501, never a partial decode); and
 * 100 KB inputs to the SASL parsers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "lib/base64.h"
#include "sasl/plain.h"
#include "sasl/scram.h"

#include <stdlib.h>
#include <string.h>

static void rfc4648_vectors(void **state)
{
	static const char *const plain[] = {"", "f", "fo", "foo", "foob", "fooba", "foobar"};
	static const char *const coded[] = {"", "Zg==", "Zm8=", "Zm9v", "Zm9vYg==",
					    "Zm9vYmE=", "Zm9vYmFy"};
	for (int i = 0; i < 7; i++) {
		struct buf e, d;
		buf_init(&e, 0);
		buf_init(&d, 0);
		assert_int_equal(base64_encode(plain[i], strlen(plain[i]), &e), 0);
		assert_string_equal(buf_cstr(&e), coded[i]);
		assert_int_equal(base64_decode(coded[i], strlen(coded[i]), &d), 0);
		assert_int_equal(d.len, strlen(plain[i]));
		assert_memory_equal(buf_cstr(&d), plain[i], d.len);
		buf_free(&e);
		buf_free(&d);
	}
}

static void strict_decoding(void **state)
{
	static const char *const bad[] = {
		"Zg=",     /* padding short */
		"Zg",      /* no padding */
		"Zg===",   /* too much */
		"Z===",    /* three pads */
		"Zh==",    /* leftover bits not zero: not canonical */
		"Zm9=",    /* the same with one pad */
		"Zg==Zg==", /* padding inside */
		"Zm9 v",   /* blank */
		"Zm9v\n",  /* line end */
		"Zm9-",    /* base64url, not base64 */
		"=Zm9",
		"Zm\0v",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct buf d;
		buf_init(&d, 0);
		buf_append_str(&d, "kept");
		size_t n = i == sizeof(bad) / sizeof(bad[0]) - 1 ? 4 : strlen(bad[i]);
		if (base64_decode(bad[i], n, &d) != -1)
			fail_msg("'%s' decoded", bad[i]);
		assert_string_equal(buf_cstr(&d), "kept"); /* nothing half-added */
		buf_free(&d);
	}
	struct buf small;
	buf_init(&small, 2);
	assert_int_equal(base64_decode("Zm9v", 4, &small), -1); /* over max */
	buf_free(&small);
}

static void big_inputs(void **state)
{
	size_t n = 100 * 1024;
	char *big = malloc(n);
	assert_non_null(big);
	memset(big, 'A', n);
	struct buf d;
	buf_init(&d, 12288); /* an AUTH line's worth, as the session allows */
	assert_int_equal(base64_decode(big, n, &d), -1);
	buf_free(&d);
	/* PLAIN with a 100 KB password */
	big[0] = '\0';
	memcpy(big + 1, "alice", 5);
	big[6] = '\0';
	struct sasl_plain p;
	assert_int_equal(sasl_plain_parse(big, n, &p), -1);
	/* SCRAM with a 100 KB client-first message */
	memcpy(big, "n,,n=u,r=", 9);
	struct scram_server s;
	scram_server_init(&s, false);
	assert_int_equal(scram_client_first(&s, big, n, false), SCRAM_MALFORMED);
	scram_server_free(&s);
	free(big);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(rfc4648_vectors),
		cmocka_unit_test(strict_decoding),
		cmocka_unit_test(big_inputs),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
