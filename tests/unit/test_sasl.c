/* Tests for src/sasl/plain.c (RFC 4616 messages) and src/policy/penalty.c
 * (failed-login delays). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "policy/penalty.h"
#include "sasl/plain.h"
#include "sasl/secret.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define S(x) x, sizeof(x) - 1

static void plain_messages(void **state)
{
	struct sasl_plain p;
	assert_int_equal(sasl_plain_parse(S("\0alice@x.org\0secret"), &p), 0);
	assert_string_equal(p.authzid, "");
	assert_string_equal(p.authcid, "alice@x.org");
	assert_string_equal(p.passwd, "secret");
	assert_int_equal(p.passwd_len, 6);
	assert_int_equal(sasl_plain_parse(S("admin\0alice\0pw"), &p), 0);
	assert_string_equal(p.authzid, "admin");
	static const struct {
		const char *msg;
		size_t n;
	} bad[] = {
		{S("")},
		{S("alice")},
		{S("\0alice")},            /* one NUL */
		{S("\0\0pw")},             /* no authcid */
		{S("\0alice\0")},          /* no password */
		{S("\0alice\0p\0w")},      /* a NUL in the password */
		{S("\0al\xffice\0pw")},    /* not UTF-8 */
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memset(&p, 'x', sizeof(p));
		assert_int_equal(sasl_plain_parse(bad[i].msg, bad[i].n, &p), -1);
		assert_int_equal(p.passwd[0], '\0'); /* nothing left behind */
	}
	char big[300] = {0};
	memset(big + 1, 'a', 256);  /* a 256-octet authcid: one too many */
	big[257] = '\0';
	big[258] = 'p';
	assert_int_equal(sasl_plain_parse(big, 259, &p), -1);
	memset(big + 1, 'a', 255);
	big[256] = '\0';
	big[257] = 'p';
	assert_int_equal(sasl_plain_parse(big, 258, &p), 0);
}

static struct sockaddr_storage addr(const char *ip)
{
	struct sockaddr_storage ss;
	memset(&ss, 0, sizeof(ss));
	if (strchr(ip, ':') != NULL) {
		struct sockaddr_in6 *s6 = (void *)&ss;
		s6->sin6_family = AF_INET6;
		inet_pton(AF_INET6, ip, &s6->sin6_addr);
	} else {
		struct sockaddr_in *s4 = (void *)&ss;
		s4->sin_family = AF_INET;
		inet_pton(AF_INET, ip, &s4->sin_addr);
	}
	return ss;
}

static void penalty_delays(void **state)
{
	struct penalty *p = penalty_new(2000, 15000, 60000);
	struct sockaddr_storage a = addr("192.0.2.1"), b = addr("192.0.2.2");
	struct sockaddr *sa = (struct sockaddr *)&a, *sb = (struct sockaddr *)&b;
	assert_int_equal(penalty_wait(p, sa, 1000), 0);    /* clean record */
	assert_int_equal(penalty_fail(p, sa, 1000), 2000); /* 2 s */
	assert_int_equal(penalty_fail(p, sa, 3000), 4000); /* doubling */
	assert_int_equal(penalty_fail(p, sa, 7000), 8000);
	assert_int_equal(penalty_fail(p, sa, 15000), 15000); /* at the max */
	assert_int_equal(penalty_wait(p, sb, 15000), 0);     /* another client */
	/* attempts queue up one slot after another */
	assert_int_equal(penalty_wait(p, sa, 16000), 14000);
	assert_int_equal(penalty_wait(p, sa, 16000), 29000);
	/* forgotten after a minute without failures */
	assert_int_equal(penalty_wait(p, sa, 15000 + 60001), 0);
	penalty_free(&p);
	assert_null(p);
}

static void penalty_ipv6_is_per_64(void **state)
{
	struct penalty *p = penalty_new(1000, 1000, 60000);
	struct sockaddr_storage a = addr("2001:db8:1:2::1"), b = addr("2001:db8:1:2:ffff::9"),
				c = addr("2001:db8:1:3::1"), m = addr("::ffff:192.0.2.1"),
				v4 = addr("192.0.2.1");
	penalty_fail(p, (struct sockaddr *)&a, 0);
	assert_int_equal(penalty_wait(p, (struct sockaddr *)&b, 0), 1000); /* same /64 */
	assert_int_equal(penalty_wait(p, (struct sockaddr *)&c, 0), 0);
	penalty_fail(p, (struct sockaddr *)&v4, 0);
	assert_int_equal(penalty_wait(p, (struct sockaddr *)&m, 0), 1000); /* mapped */
	penalty_free(&p);
}

/* data_dir/secret: made once (32 bytes, 0600), then read back the same;
 * a short file is refused, and the caller still gets random bytes. */
static void secret_made_once(void **state)
{
	char dir[] = "/tmp/test_sasl.XXXXXX", path[64];
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/secret", dir);
	unsigned char a[SASL_SECRET_LEN], b[SASL_SECRET_LEN], zero[SASL_SECRET_LEN] = {0};
	assert_int_equal(sasl_secret_load(dir, a), 0);
	struct stat sb;
	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal(sb.st_size, SASL_SECRET_LEN);
	assert_int_equal(sb.st_mode & 0777, 0600);
	assert_int_equal(sasl_secret_load(dir, b), 0);
	assert_memory_equal(a, b, SASL_SECRET_LEN);
	assert_memory_not_equal(a, zero, SASL_SECRET_LEN);

	int fd = open(path, O_WRONLY | O_TRUNC);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "short", 5), 5);
	close(fd);
	assert_int_equal(sasl_secret_load(dir, b), -1);
	assert_memory_not_equal(a, b, SASL_SECRET_LEN);
	unlink(path);
	assert_int_equal(rmdir(dir), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(plain_messages),
		cmocka_unit_test(secret_made_once),
		cmocka_unit_test(penalty_delays),
		cmocka_unit_test(penalty_ipv6_is_per_64),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
