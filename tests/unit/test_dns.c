/* Tests for the rdata decoders of src/net/dns.c: names, MX and TXT records
 * as they come off the wire from a stranger. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "net/dns.h"

#include <string.h>

static void names(void **state)
{
	char out[DNS_NAME_MAX + 1];
	size_t off = 0;
	const unsigned char mx1[] = "\x03" "MX1" "\x07" "example" "\x03" "org";
	assert_int_equal(dns_name_decode(mx1, sizeof(mx1), &off, out), 0);
	assert_string_equal(out, "mx1.example.org"); /* lower case */
	assert_int_equal(off, sizeof(mx1));

	const unsigned char root[] = {0};
	off = 0;
	assert_int_equal(dns_name_decode(root, 1, &off, out), 0);
	assert_string_equal(out, "");

	static const struct {
		const char *wire;
		size_t len;
	} bad[] = {
		{"\x03" "abc", 4},               /* no root label */
		{"\x05" "ab", 3},                /* label past the end */
		{"\xc0\x0c", 2},                 /* a compression pointer */
		{"\x03" "a.b" "\x00", 5},        /* a dot inside a label */
		{"\x03" "a b" "\x00", 5},        /* a blank */
		{"\x02" "a\x01" "\x00", 4},      /* a control byte */
		{"", 0},                         /* nothing */
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		off = 0;
		assert_int_equal(dns_name_decode((const unsigned char *)bad[i].wire,
						 bad[i].len, &off, out), -1);
	}

	/* longer than 255 characters in text */
	unsigned char big[400];
	size_t o = 0;
	for (int i = 0; i < 5; i++) {
		big[o++] = 60;
		memset(big + o, 'a', 60);
		o += 60;
	}
	big[o++] = 0;
	off = 0;
	assert_int_equal(dns_name_decode(big, o, &off, out), -1);
}

static void mx(void **state)
{
	unsigned pref;
	char host[DNS_NAME_MAX + 1];
	const unsigned char rd[] = "\x00\x0a" "\x02" "mx" "\x04" "test";
	assert_int_equal(dns_mx_decode(rd, sizeof(rd), &pref, host), 0);
	assert_int_equal(pref, 10);
	assert_string_equal(host, "mx.test");

	const unsigned char null_mx[] = {0, 0, 0}; /* RFC 7505: 0 . */
	assert_int_equal(dns_mx_decode(null_mx, 3, &pref, host), 0);
	assert_int_equal(pref, 0);
	assert_string_equal(host, "");

	/* trailing bytes, or too short */
	const unsigned char extra[] = "\x00\x0a" "\x02" "mx" "\x00" "junk";
	assert_int_equal(dns_mx_decode(extra, sizeof(extra), &pref, host), -1);
	assert_int_equal(dns_mx_decode(rd, 2, &pref, host), -1);
}

static void txt(void **state)
{
	char out[64];
	const unsigned char two[] = "\x05" "v=STS" "\x04" "v1; ";
	assert_int_equal(dns_txt_decode(two, sizeof(two) - 1, out, sizeof(out)), 0);
	assert_string_equal(out, "v=STSv1; ");
	const unsigned char empty[] = {0};
	assert_int_equal(dns_txt_decode(empty, 1, out, sizeof(out)), 0);
	assert_string_equal(out, "");
	const unsigned char past[] = "\x09" "short";
	assert_int_equal(dns_txt_decode(past, sizeof(past) - 1, out, sizeof(out)), -1);
	unsigned char long_txt[70];
	long_txt[0] = 69;
	memset(long_txt + 1, 'x', 69);
	assert_int_equal(dns_txt_decode(long_txt, 70, out, sizeof(out)), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(names),
		cmocka_unit_test(mx),
		cmocka_unit_test(txt),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
