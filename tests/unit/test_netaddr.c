/* Tests for src/lib/netaddr.c: listener addresses in and out of text. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "lib/netaddr.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/un.h>

/* Valid text parses to the expected family and port, and prints back as
 * the expected text. */
static void parse_valid(void **state)
{
	static const struct {
		const char *in;
		int family;
		unsigned port;
		const char *ip;      /* netaddr_ip */
		const char *ip_port; /* netaddr_ip_port */
	} t[] = {
	        {"192.0.2.1:25", AF_INET, 25, "192.0.2.1", "192.0.2.1:25"},
	        {"127.0.0.1:587", AF_INET, 587, "127.0.0.1", "127.0.0.1:587"},
	        {"*:25", AF_INET, 25, "0.0.0.0", "0.0.0.0:25"},
	        {"0.0.0.0:0", AF_INET, 0, "0.0.0.0", "0.0.0.0:0"},
	        {"255.255.255.255:65535", AF_INET, 65535, "255.255.255.255",
	         "255.255.255.255:65535"},
	        {"[2001:db8::1]:25", AF_INET6, 25, "2001:db8::1",
	         "[2001:db8::1]:25"},
	        {"[2001:DB8:0:0:0:0:0:1]:465", AF_INET6, 465, "2001:db8::1",
	         "[2001:db8::1]:465"},
	        {"[::]:25", AF_INET6, 25, "::", "[::]:25"},
	        {"[::1]:2525", AF_INET6, 2525, "::1", "[::1]:2525"},
	        /* IPv4-mapped IPv6 is shown as IPv4 */
	        {"[::ffff:192.0.2.1]:25", AF_INET6, 25, "192.0.2.1",
	         "192.0.2.1:25"},
	};
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		struct sockaddr_storage ss;
		socklen_t len = 0;
		const char *why = NULL;
		memset(&ss, 0xee, sizeof(ss));
		if (netaddr_parse(t[i].in, &ss, &len, &why) != 0)
			fail_msg("'%s': %s", t[i].in, why);
		assert_int_equal(ss.ss_family, t[i].family);
		if (t[i].family == AF_INET) {
			const struct sockaddr_in *sin = (const void *)&ss;
			assert_int_equal(len, sizeof(struct sockaddr_in));
			assert_int_equal(ntohs(sin->sin_port), t[i].port);
		} else {
			const struct sockaddr_in6 *sin6 = (const void *)&ss;
			assert_int_equal(len, sizeof(struct sockaddr_in6));
			assert_int_equal(ntohs(sin6->sin6_port), t[i].port);
			assert_int_equal(sin6->sin6_flowinfo, 0);
			assert_int_equal(sin6->sin6_scope_id, 0);
		}
		char out[NETADDR_TEXT_MAX];
		netaddr_ip((const struct sockaddr *)&ss, out);
		assert_string_equal(out, t[i].ip);
		netaddr_ip_port((const struct sockaddr *)&ss, out);
		assert_string_equal(out, t[i].ip_port);
	}
}

static void parse_invalid(void **state)
{
	static const struct {
		const char *in;
		const char *why;
	} t[] = {
	        {"", "expected address:port"},
	        {"192.0.2.1", "expected address:port"},
	        {":25", "expected address:port"},
	        {"123.123.123.123x:25", "expected address:port"},
	        {"192.0.2.1:", "invalid port"},
	        {"192.0.2.1:65536", "invalid port"},
	        {"192.0.2.1:-1", "invalid port"},
	        {"192.0.2.1:+25", "invalid port"},
	        {"192.0.2.1:2 5", "invalid port"},
	        {"192.0.2.1:25 ", "invalid port"},
	        {"192.0.2.1:0x19", "invalid port"},
	        {"*:", "invalid port"},
	        {"256.0.2.1:25", "invalid IPv4 address"},
	        {"192.0.2:25", "invalid IPv4 address"},
	        {"1.2.3.4.5:25", "invalid IPv4 address"},
	        {"mx.example:25", "invalid IPv4 address"},
	        {" 192.0.2.1:25", "invalid IPv4 address"},
	        {"**:25", "invalid IPv4 address"},
	        {"2001:db8::1:25", "invalid IPv4 address"},
	        {"[2001:db8::1]", "expected [IPv6]:port"},
	        {"[2001:db8::1]25", "expected [IPv6]:port"},
	        {"[2001:db8::1", "expected [IPv6]:port"},
	        {"[]:25", "expected [IPv6]:port"},
	        {"[2001:db8::g]:25", "invalid IPv6 address"},
	        {"[192.0.2.1]:25", "invalid IPv6 address"},
	        {"[*]:25", "invalid IPv6 address"},
	        {"[::1]:", "invalid port"},
	        {"[::1]:65536", "invalid port"},
	        {"[::1]:25:25", "invalid port"},
	};
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		struct sockaddr_storage ss;
		socklen_t len = 12345;
		const char *why = NULL;
		if (netaddr_parse(t[i].in, &ss, &len, &why) != -1)
			fail_msg("'%s' parsed", t[i].in);
		if (why == NULL || strcmp(why, t[i].why) != 0)
			fail_msg("'%s': got '%s', want '%s'", t[i].in,
			         why ? why : "(null)", t[i].why);
		assert_int_equal(len, 12345);
	}
}

/* A long IPv6 address still fits the text buffer with brackets and port. */
static void longest_text(void **state)
{
	struct sockaddr_storage ss;
	socklen_t len;
	const char *why;
	assert_int_equal(netaddr_parse("[ffff:ffff:ffff:ffff:ffff:ffff:ffff:"
	                               "fffe]:65535",
	                               &ss, &len, &why),
	                 0);
	char out[NETADDR_TEXT_MAX];
	netaddr_ip_port((const struct sockaddr *)&ss, out);
	assert_string_equal(out,
	                    "[ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe]:65535");
}

/* Families other than IP give empty text, never garbage. */
static void other_family(void **state)
{
	struct sockaddr_un un;
	memset(&un, 0, sizeof(un));
	un.sun_family = AF_UNIX;
	char out[NETADDR_TEXT_MAX];
	memset(out, 'x', sizeof(out));
	netaddr_ip((const struct sockaddr *)&un, out);
	assert_string_equal(out, "");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(parse_valid),
	        cmocka_unit_test(parse_invalid),
	        cmocka_unit_test(longest_text),
	        cmocka_unit_test(other_family),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
