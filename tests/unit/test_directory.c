/* Tests for src/db/directory.c on a throwaway SQLite file: domains, users,
 * aliases, recipient resolution, and the name checks. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "db/directory.h"

#include "lib/buf.h"
#include "lib/log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define HASH "$argon2id$v=19$m=65536,t=3,p=4$c2FsdHNhbHQ$aGFzaGhhc2hoYXNo"

struct fixture {
	char dir[64];
	char path[128];
	struct directory *d;
};

/* A fresh database in a new directory under /tmp for every test. */
static int setup(void **state)
{
	struct fixture *fx = calloc(1, sizeof(*fx));
	assert_non_null(fx);
	snprintf(fx->dir, sizeof(fx->dir), "/tmp/postern-unit-XXXXXX");
	assert_non_null(mkdtemp(fx->dir));
	snprintf(fx->path, sizeof(fx->path), "%s/postern.db", fx->dir);
	const char *why = NULL;
	fx->d = directory_open(fx->path, &why);
	if (fx->d == NULL)
		fail_msg("directory_open: %s", why);
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *fx = *state;
	directory_close(&fx->d);
	assert_null(fx->d);
	static const char *const suffixes[] = {"", "-wal", "-shm", "-journal"};
	for (size_t i = 0; i < 4; i++) {
		char p[160];
		snprintf(p, sizeof(p), "%s%s", fx->path, suffixes[i]);
		unlink(p);
	}
	assert_int_equal(rmdir(fx->dir), 0);
	free(fx);
	return 0;
}

static struct directory *dir_of(void **state)
{
	return ((struct fixture *)*state)->d;
}

/* Rows of a listing as "a|b|n\n". */
static int collect(void *arg, const char *a, const char *b, int64_t n)
{
	buf_appendf(arg, "%s|%s|%lld\n", a, b, (long long)n);
	return 0;
}

static int stop_after_one(void *arg, const char *a, const char *b, int64_t n)
{
	buf_appendf(arg, "%s\n", a);
	return 1;
}

/* ------------------------------------------------------------ domains */

static void domains(void **state)
{
	struct directory *d = dir_of(state);
	assert_int_equal(dir_domain_exists(d, "example.org"), 0);
	assert_int_equal(dir_domain_add(d, "example.org"), 0);
	assert_int_equal(dir_domain_add(d, "example.org"), 1); /* already */
	assert_int_equal(dir_domain_add(d, "example.net"), 0);
	assert_int_equal(dir_domain_exists(d, "example.org"), 1);
	assert_int_equal(dir_domain_exists(d, "example.com"), 0);
	assert_int_equal(dir_domain_exists(d, "org"), 0);
	assert_int_equal(dir_domain_del(d, "example.net"), 0);
	assert_int_equal(dir_domain_del(d, "example.net"), 1); /* not there */
	assert_int_equal(dir_domain_exists(d, "example.net"), 0);
	assert_int_equal(dir_domain_exists(d, "example.org"), 1);
}

/* A domain that still has users cannot be dropped from under them. */
static void domain_with_users_stays(void **state)
{
	struct directory *d = dir_of(state);
	assert_int_equal(dir_domain_add(d, "example.org"), 0);
	assert_int_equal(dir_user_add(d, "alice@example.org", HASH, "", 0), 0);
	assert_int_not_equal(dir_domain_del(d, "example.org"), 0);
	assert_int_equal(dir_domain_exists(d, "example.org"), 1);
	struct dir_user u;
	assert_int_equal(dir_user_get(d, "alice@example.org", &u), 1);
	dir_user_clear(&u);
}

/* ------------------------------------------------------------ users */

static void users(void **state)
{
	struct directory *d = dir_of(state);
	struct dir_user u;
	assert_int_equal(dir_domain_add(d, "example.org"), 0);
	int64_t before = (int64_t)time(NULL);
	assert_int_equal(dir_user_add(d, "alice@example.org", HASH, "", 1048576),
	                 0);
	int64_t after = (int64_t)time(NULL);
	assert_int_equal(dir_user_add(d, "alice@example.org", "x", "", 1), 1);
	assert_int_equal(dir_user_add(d, "bob@example.org", "$2y$other", "", 0), 0);

	assert_int_equal(dir_user_get(d, "alice@example.org", &u), 1);
	assert_string_equal(u.address, "alice@example.org");
	assert_string_equal(u.password, HASH); /* the first add stands */
	assert_int_equal(u.quota, 1048576);
	assert_true(u.created >= before && u.created <= after);
	dir_user_clear(&u);
	assert_null(u.password);
	assert_int_equal(u.quota, 0);

	assert_int_equal(dir_user_get(d, "bob@example.org", &u), 1);
	assert_string_equal(u.password, "$2y$other");
	assert_int_equal(u.quota, 0);
	dir_user_clear(&u);

	assert_int_equal(dir_user_get(d, "carol@example.org", &u), 0);
	assert_null(u.password);
	dir_user_clear(&u);

	/* changes */
	assert_int_equal(
	        dir_user_set_quota(d, "alice@example.org", UINT64_C(5) << 30),
	        0);
	assert_int_equal(dir_user_set_password(d, "alice@example.org", "new", ""),
	                 0);
	assert_int_equal(dir_user_set_password(d, "carol@example.org", "x", ""), 1);
	assert_int_equal(dir_user_set_quota(d, "carol@example.org", 1), 1);
	assert_int_equal(dir_user_get(d, "alice@example.org", &u), 1);
	assert_string_equal(u.password, "new");
	assert_int_equal(u.quota, UINT64_C(5) << 30);
	dir_user_clear(&u);

	/* deletion */
	assert_int_equal(dir_user_del(d, "alice@example.org"), 0);
	assert_int_equal(dir_user_del(d, "alice@example.org"), 1);
	assert_int_equal(dir_user_get(d, "alice@example.org", &u), 0);
	dir_user_clear(&u);
	assert_int_equal(dir_user_get(d, "bob@example.org", &u), 1);
	dir_user_clear(&u);
}

/* ------------------------------------------------------------ aliases */

static void aliases(void **state)
{
	struct directory *d = dir_of(state);
	struct buf rows;
	buf_init(&rows, 0);
	assert_int_equal(dir_domain_add(d, "example.org"), 0);
	assert_int_equal(dir_domain_add(d, "example.net"), 0);
	assert_int_equal(dir_user_add(d, "alice@example.org", HASH, "", 0), 0);
	assert_int_equal(dir_user_add(d, "bob@example.org", HASH, "", 0), 0);
	assert_int_equal(
	        dir_alias_add(d, "info@example.org", "alice@example.org"), 0);
	assert_int_equal(
	        dir_alias_add(d, "info@example.org", "alice@example.org"), 1);
	assert_int_equal(
	        dir_alias_add(d, "info@example.org", "bob@example.org"), 0);
	assert_int_equal(dir_alias_add(d, "@example.net", "bob@example.org"),
	                 0);
	assert_int_equal(dir_alias_list(d, NULL, collect, &rows), 0);
	assert_string_equal(buf_cstr(&rows),
	                    "@example.net|bob@example.org|0\n"
	                    "info@example.org|alice@example.org|0\n"
	                    "info@example.org|bob@example.org|0\n");
	buf_clear(&rows);
	assert_int_equal(dir_alias_list(d, "example.net", collect, &rows), 0);
	assert_string_equal(buf_cstr(&rows),
	                    "@example.net|bob@example.org|0\n");

	/* one target, then the rest */
	assert_int_equal(
	        dir_alias_del(d, "info@example.org", "bob@example.org"), 0);
	assert_int_equal(
	        dir_alias_del(d, "info@example.org", "bob@example.org"), 1);
	buf_clear(&rows);
	assert_int_equal(dir_alias_list(d, "example.org", collect, &rows), 0);
	assert_string_equal(buf_cstr(&rows),
	                    "info@example.org|alice@example.org|0\n");
	assert_int_equal(dir_alias_del(d, "info@example.org", NULL), 0);
	assert_int_equal(dir_alias_del(d, "info@example.org", NULL), 1);
	buf_clear(&rows);
	assert_int_equal(dir_alias_list(d, "example.org", collect, &rows), 0);
	assert_string_equal(buf_cstr(&rows), "");

	/* deleting a user takes the aliases that point at it along */
	assert_int_equal(
	        dir_alias_add(d, "sales@example.org", "bob@example.org"), 0);
	assert_int_equal(
	        dir_alias_add(d, "sales@example.org", "alice@example.org"), 0);
	assert_int_equal(dir_user_del(d, "bob@example.org"), 0);
	buf_clear(&rows);
	assert_int_equal(dir_alias_list(d, NULL, collect, &rows), 0);
	assert_string_equal(buf_cstr(&rows),
	                    "sales@example.org|alice@example.org|0\n");
	buf_free(&rows);
}

static void listings(void **state)
{
	struct directory *d = dir_of(state);
	struct buf rows;
	buf_init(&rows, 0);
	assert_int_equal(dir_domain_list(d, collect, &rows), 0);
	assert_string_equal(buf_cstr(&rows), "");
	assert_int_equal(dir_domain_add(d, "b.example"), 0);
	assert_int_equal(dir_domain_add(d, "a.example"), 0);
	assert_int_equal(dir_user_add(d, "x@b.example", HASH, "", 7), 0);
	assert_int_equal(dir_user_add(d, "y@b.example", HASH, "", 0), 0);
	assert_int_equal(dir_user_add(d, "z@a.example", HASH, "", 0), 0);
	assert_int_equal(dir_domain_list(d, collect, &rows), 0);
	assert_string_equal(buf_cstr(&rows), "a.example||1\n"
	                                     "b.example||2\n");
	buf_clear(&rows);
	assert_int_equal(dir_user_list(d, "b.example", collect, &rows), 0);
	assert_string_equal(buf_cstr(&rows), "x@b.example|b.example|7\n"
	                                     "y@b.example|b.example|0\n");
	buf_clear(&rows);
	assert_int_equal(dir_user_list(d, NULL, collect, &rows), 0);
	assert_int_equal(strlen(buf_cstr(&rows)),
	                 strlen("x@b.example|b.example|7\n") * 3);
	buf_clear(&rows);
	/* a callback that returns non-0 stops the listing */
	assert_int_equal(dir_user_list(d, NULL, stop_after_one, &rows), 0);
	assert_string_equal(buf_cstr(&rows), "x@b.example\n");
	buf_free(&rows);
}

/* ------------------------------------------------------------ resolve */

static void seed(struct directory *d)
{
	static const char *const domains_[] = {"example.org", "example.net"};
	static const char *const users_[] = {
	        "alice@example.org", "bob@example.org", "carol@example.org"};
	static const char *const aliases_[][2] = {
	        {"info@example.org", "alice@example.org"},
	        {"team@example.org", "bob@example.org"},
	        {"sales@example.org", "team@example.org"}, /* depth 2 */
	        {"staff@example.org", "alice@example.org"},
	        {"staff@example.org", "bob@example.org"},
	        {"all@example.org", "staff@example.org"},
	        {"all@example.org", "alice@example.org"},
	        {"all@example.org", "team@example.org"},
	        {"all@example.org", "bob@example.org"},
	        {"loop1@example.org", "loop2@example.org"},
	        {"loop2@example.org", "loop1@example.org"},
	        {"self@example.org", "self@example.org"},
	        {"mixedloop@example.org", "loop1@example.org"},
	        {"mixedloop@example.org", "carol@example.org"},
	        {"ghost@example.org", "nobody@example.org"},
	        {"halfghost@example.org", "nobody@example.org"},
	        {"halfghost@example.org", "alice@example.org"},
	        {"@example.net", "carol@example.org"}, /* catch-all */
	};
	for (size_t i = 0; i < 2; i++)
		assert_int_equal(dir_domain_add(d, domains_[i]), 0);
	for (size_t i = 0; i < 3; i++)
		assert_int_equal(dir_user_add(d, users_[i], HASH, "", 0), 0);
	for (size_t i = 0; i < sizeof(aliases_) / sizeof(aliases_[0]); i++)
		assert_int_equal(
		        dir_alias_add(d, aliases_[i][0], aliases_[i][1]), 0);
	/* chain0 -> chain1 -> ... -> chain19 -> alice: far past the depth */
	for (int i = 0; i < 20; i++) {
		char a[64], t[64];
		snprintf(a, sizeof(a), "chain%d@example.org", i);
		if (i < 19)
			snprintf(t, sizeof(t), "chain%d@example.org", i + 1);
		else
			snprintf(t, sizeof(t), "alice@example.org");
		assert_int_equal(dir_alias_add(d, a, t), 0);
	}
}

static const char *resolve_name(enum dir_resolve_result r)
{
	switch (r) {
	case DIR_NOT_LOCAL:
		return "NOT_LOCAL";
	case DIR_UNKNOWN:
		return "UNKNOWN";
	case DIR_FOUND:
		return "FOUND";
	case DIR_NO_TARGET:
		return "NO_TARGET";
	case DIR_ERROR:
		return "ERROR";
	}
	return "?";
}

static void resolving(void **state)
{
	struct directory *d = dir_of(state);
	seed(d);
	static const struct {
		const char *address;
		const char *delimiters;
		enum dir_resolve_result want;
		const char *targets; /* comma-separated, in order */
	} t[] = {
	        {"alice@example.org", "+", DIR_FOUND, "alice@example.org"},
	        {"Alice@EXAMPLE.Org", "+", DIR_FOUND, "alice@example.org"},
	        /* sub-addresses */
	        {"alice+news@example.org", "+", DIR_FOUND, "alice@example.org"},
	        {"ALICE+News@Example.org", "+", DIR_FOUND, "alice@example.org"},
	        {"alice+a+b@example.org", "+", DIR_FOUND, "alice@example.org"},
	        {"alice-news@example.org", "+-", DIR_FOUND,
	         "alice@example.org"},
	        {"alice+news@example.org", "", DIR_UNKNOWN, ""},
	        {"alice-news@example.org", "+", DIR_UNKNOWN, ""},
	        {"+news@example.org", "+", DIR_UNKNOWN, ""},
	        {"info+x@example.org", "+", DIR_FOUND, "alice@example.org"},
	        /* unknown and foreign */
	        {"nobody@example.org", "+", DIR_UNKNOWN, ""},
	        {"nobody+x@example.org", "+", DIR_UNKNOWN, ""},
	        {"alice@elsewhere.org", "+", DIR_NOT_LOCAL, ""},
	        {"alice@example.org.evil", "+", DIR_NOT_LOCAL, ""},
	        {"alice@sub.example.org", "+", DIR_NOT_LOCAL, ""},
	        {"no-at-sign", "+", DIR_UNKNOWN, ""},
	        /* aliases */
	        {"info@example.org", "+", DIR_FOUND, "alice@example.org"},
	        {"sales@example.org", "+", DIR_FOUND, "bob@example.org"},
	        {"staff@example.org", "+", DIR_FOUND,
	         "alice@example.org,bob@example.org"},
	        {"all@example.org", "+", DIR_FOUND,
	         "alice@example.org,bob@example.org"},
	        {"loop1@example.org", "+", DIR_NO_TARGET, ""},
	        {"self@example.org", "+", DIR_NO_TARGET, ""},
	        {"mixedloop@example.org", "+", DIR_FOUND, "carol@example.org"},
	        /* 20 aliases deep is cut off; DIR_ALIAS_DEPTH - 1 = 7 (chain13
	         * to chain19, then the user) still resolves */
	        {"chain0@example.org", "+", DIR_NO_TARGET, ""},
	        {"chain13@example.org", "+", DIR_FOUND, "alice@example.org"},
	        {"chain18@example.org", "+", DIR_FOUND, "alice@example.org"},
	        {"ghost@example.org", "+", DIR_NO_TARGET, ""},
	        {"halfghost@example.org", "+", DIR_FOUND, "alice@example.org"},
	        /* the catch-all of example.net */
	        {"anyone@example.net", "+", DIR_FOUND, "carol@example.org"},
	        {"carol+x@example.net", "+", DIR_FOUND, "carol@example.org"},
	        {"ANYONE@EXAMPLE.NET", "+", DIR_FOUND, "carol@example.org"},
	};
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		struct dir_targets out;
		memset(&out, 0x77, sizeof(out));
		enum dir_resolve_result r =
		        dir_resolve(d, t[i].address, t[i].delimiters, &out);
		char got[1000] = "";
		size_t o = 0;
		for (size_t k = 0; k < out.n && r == DIR_FOUND; k++)
			o += (size_t)snprintf(got + o, sizeof(got) - o, "%s%s",
			                      k ? "," : "", out.mailbox[k]);
		if (r != t[i].want || strcmp(got, t[i].targets) != 0)
			fail_msg("%s (%s): got %s '%s', want %s '%s'",
			         t[i].address, t[i].delimiters, resolve_name(r),
			         got, resolve_name(t[i].want), t[i].targets);
		if (r != DIR_FOUND) {
			/* nothing to free, nothing to read */
			assert_int_equal(out.n, 0);
			assert_null(out.mailbox);
		}
		dir_targets_free(&out);
		assert_null(out.mailbox);
		assert_int_equal(out.n, 0);
	}
}

/* An address longer than any we store is unknown, not a crash. */
static void resolve_overlong(void **state)
{
	struct directory *d = dir_of(state);
	seed(d);
	char a[DIR_ADDRESS_MAX + 20];
	memset(a, 'a', sizeof(a));
	memcpy(a + sizeof(a) - 13, "@example.org", 13);
	struct dir_targets out;
	assert_int_equal(dir_resolve(d, a, "+", &out), DIR_UNKNOWN);
	assert_int_equal(out.n, 0);
	dir_targets_free(&out);
}

/* An alias target in a domain that is not ours is a forward: listed as
 * outside, through an alias of an alias too, beside local mailboxes. */
static void forwards(void **state)
{
	struct directory *d = dir_of(state);
	seed(d);
	assert_int_equal(dir_alias_add(d, "fwd@example.org", "carol@elsewhere.example"), 0);
	assert_int_equal(dir_alias_add(d, "both@example.org", "fwd@example.org"), 0);
	assert_int_equal(dir_alias_add(d, "both@example.org", "bob@example.org"), 0);
	struct dir_targets out;
	assert_int_equal(dir_resolve(d, "fwd@example.org", "+", &out), DIR_FOUND);
	assert_int_equal(out.n, 1);
	assert_string_equal(out.mailbox[0], "carol@elsewhere.example");
	assert_true(out.outside[0]);
	dir_targets_free(&out);
	assert_int_equal(dir_resolve(d, "both@example.org", "+", &out), DIR_FOUND);
	assert_int_equal(out.n, 2);
	assert_true(out.outside[0] != out.outside[1]);
	assert_string_equal(out.mailbox[out.outside[0] ? 1 : 0], "bob@example.org");
	dir_targets_free(&out);
	/* a target whose domain was ours when the alias was made, and went
	 * away, leads nowhere: it does not become a forward */
	assert_int_equal(dir_domain_add(d, "gone.example"), 0);
	assert_int_equal(dir_alias_add(d, "old@example.org", "y@gone.example"), 0);
	assert_int_equal(dir_domain_del(d, "gone.example"), 0);
	assert_int_equal(dir_resolve(d, "old@example.org", "+", &out), DIR_NO_TARGET);
	dir_targets_free(&out);
	/* a user's own address is never outside */
	assert_int_equal(dir_resolve(d, "alice@example.org", "+", &out), DIR_FOUND);
	assert_false(out.outside[0]);
	dir_targets_free(&out);
}

static void address_exists(void **state)
{
	struct directory *d = dir_of(state);
	seed(d);
	assert_int_equal(dir_address_exists(d, "alice@example.org"), 1);
	assert_int_equal(dir_address_exists(d, "info@example.org"), 1);
	assert_int_equal(dir_address_exists(d, "loop1@example.org"), 1);
	/* exact names only: no sub-address, no catch-all */
	assert_int_equal(dir_address_exists(d, "alice+x@example.org"), 0);
	assert_int_equal(dir_address_exists(d, "anyone@example.net"), 0);
	assert_int_equal(dir_address_exists(d, "nobody@example.org"), 0);
	assert_int_equal(dir_address_exists(d, "alice@elsewhere.org"), 0);
}

/* ------------------------------------------------------------ names */

static void address_validity(void **state)
{
	char l64[80], l65[80];
	memset(l64, 'l', 64);
	memcpy(l64 + 64, "@x.org", 7);
	memset(l65, 'l', 65);
	memcpy(l65 + 65, "@x.org", 7);
	const struct {
		const char *in;
		bool ok;
		const char *lowered; /* when ok */
	} t[] = {
	        {"alice@example.org", true, "alice@example.org"},
	        {"Alice.Smith@Example.ORG", true, "alice.smith@example.org"},
	        {"a_b-c.d@x.org", true, "a_b-c.d@x.org"},
	        {"0@x", true, "0@x"},
	        {l64, true, l64},
	        {l65, false, NULL},
	        {"a..b@x.org", false, NULL},
	        {".a@x.org", false, NULL},
	        {"a.@x.org", false, NULL},
	        {"a%b@x.org", false, NULL},
	        {"a+b@x.org", false, NULL},
	        {"a b@x.org", false, NULL},
	        {"a\"b@x.org", false, NULL},
	        {"a/b@x.org", false, NULL},
	        {"a@-x.com", false, NULL},
	        {"a@x-.com", false, NULL},
	        {"a@x..com", false, NULL},
	        {"a@x.com.", false, NULL},
	        {"a@x_y.com", false, NULL},
	        {"@x.org", false, NULL},
	        {"a@", false, NULL},
	        {"a", false, NULL},
	        {"", false, NULL},
	        {"a@b@x.org", false, NULL},
	        {"j\xc3\xb6@x.org", false, NULL},
	        {"a@ex\xc3\xa4mple.org", false, NULL},
	};
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		char buf[128];
		snprintf(buf, sizeof(buf), "%s", t[i].in);
		bool ok = directory_address_valid(buf);
		if (ok != t[i].ok)
			fail_msg("'%s': got %d", t[i].in, ok);
		if (ok)
			assert_string_equal(buf, t[i].lowered);
	}
}

static void domain_validity(void **state)
{
	/* 253 octets: three labels of 63 and one of 61 */
	char d253[260], d254[260], l63[70], l64[70];
	memset(d253, 'a', 253);
	d253[63] = d253[127] = d253[191] = '.';
	d253[253] = '\0';
	memcpy(d254, d253, 254);
	memcpy(d254 + 253, "b", 2);
	memset(l63, 'c', 63);
	memcpy(l63 + 63, ".org", 5);
	memset(l64, 'c', 64);
	memcpy(l64 + 64, ".org", 5);
	const struct {
		const char *in;
		bool ok;
		const char *lowered;
	} t[] = {
	        {"example.org", true, "example.org"},
	        {"Mail.EXAMPLE.Org", true, "mail.example.org"},
	        {"xn--bcher-kva.example", true, "xn--bcher-kva.example"},
	        {"a-b.c", true, "a-b.c"},
	        {"localhost", true, "localhost"},
	        {"123.example", true, "123.example"},
	        {d253, true, d253},
	        {d254, false, NULL},
	        {l63, true, l63},
	        {l64, false, NULL},
	        {"", false, NULL},
	        {"-x.com", false, NULL},
	        {"x-.com", false, NULL},
	        {"x.-com", false, NULL},
	        {".x.com", false, NULL},
	        {"x.com.", false, NULL},
	        {"x..com", false, NULL},
	        {"x_y.com", false, NULL},
	        {"x y.com", false, NULL},
	        {"x@y.com", false, NULL},
	        {"[192.0.2.1]", false, NULL},
	        {"ex\xc3\xa4mple.org", false, NULL},
	};
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		char buf[300];
		snprintf(buf, sizeof(buf), "%s", t[i].in);
		bool ok = directory_domain_valid(buf);
		if (ok != t[i].ok)
			fail_msg("'%.40s' (%zu octets): got %d", t[i].in,
			         strlen(t[i].in), ok);
		if (ok)
			assert_string_equal(buf, t[i].lowered);
	}
}

/* Opening an existing database keeps its contents (the schema migration
 * runs once). */
static void reopen_keeps_data(void **state)
{
	struct fixture *fx = *state;
	assert_int_equal(dir_domain_add(fx->d, "example.org"), 0);
	assert_int_equal(dir_user_add(fx->d, "alice@example.org", HASH, "", 3), 0);
	directory_close(&fx->d);
	const char *why = NULL;
	fx->d = directory_open(fx->path, &why);
	assert_non_null(fx->d);
	struct dir_user u;
	assert_int_equal(dir_user_get(fx->d, "alice@example.org", &u), 1);
	assert_int_equal(u.quota, 3);
	dir_user_clear(&u);
}

static int count_rows(void *arg, const char *a, const char *b, int64_t n)
{
	(*(int *)arg)++;
	return 0;
}

/* Who may send as whom: the user, their sub-addresses and aliases (also a
 * list they are on), and what was allowed explicitly; nothing else. */
static void may_send_as(void **state)
{
	struct directory *d = dir_of(state);
	assert_int_equal(dir_domain_add(d, "example.org"), 0);
	assert_int_equal(dir_user_add(d, "alice@example.org", HASH, "", 0), 0);
	assert_int_equal(dir_user_add(d, "bob@example.org", HASH, "", 0), 0);
	assert_int_equal(dir_alias_add(d, "info@example.org", "alice@example.org"), 0);
	assert_int_equal(dir_alias_add(d, "team@example.org", "alice@example.org"), 0);
	assert_int_equal(dir_alias_add(d, "team@example.org", "bob@example.org"), 0);
	static const struct {
		const char *address;
		int want;
	} cases[] = {
		{"alice@example.org", 1}, {"Alice@Example.ORG", 1},
		{"alice+news@example.org", 1}, {"info@example.org", 1},
		{"team@example.org", 1}, {"bob@example.org", 0},
		{"nobody@example.org", 0}, {"alice@other.example", 0},
		{"shop@other.example", 0}, {"not-an-address", 0},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		if (dir_may_send_as(d, "alice@example.org", cases[i].address, "+") !=
		    cases[i].want)
			fail_msg("%s: expected %d", cases[i].address, cases[i].want);
	assert_int_equal(dir_sender_add(d, "alice@example.org", "@other.example"), 0);
	assert_int_equal(dir_sender_add(d, "alice@example.org", "@other.example"), 1);
	assert_int_equal(dir_may_send_as(d, "alice@example.org", "shop@other.example", "+"), 1);
	assert_int_equal(dir_may_send_as(d, "bob@example.org", "shop@other.example", "+"), 0);
	int n = 0;
	assert_int_equal(dir_sender_list(d, "alice@example.org", count_rows, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(dir_sender_del(d, "alice@example.org", "@other.example"), 0);
	assert_int_equal(dir_may_send_as(d, "alice@example.org", "shop@other.example", "+"), 0);
}

static void tokens_and_certs(void **state)
{
	struct directory *d = dir_of(state);
	struct dir_token t;
	char user[DIR_ADDRESS_MAX + 1];
	assert_int_equal(dir_domain_add(d, "example.org"), 0);
	assert_int_equal(dir_user_add(d, "alice@example.org", HASH, "", 0), 0);
	assert_int_equal(dir_token_add(d, "alice@example.org", "shop", "aa11", "shop@example.org"), 0);
	assert_int_equal(dir_token_add(d, "alice@example.org", "shop", "bb22", ""), 1); /* name taken */
	assert_int_equal(dir_token_find(d, "aa11", &t), 1);
	assert_string_equal(t.user, "alice@example.org");
	assert_string_equal(t.name, "shop");
	assert_string_equal(t.senders, "shop@example.org");
	assert_int_equal(dir_token_used(d, t.id, 1700000000), 0);
	assert_int_equal(dir_token_find(d, "cc33", &t), 0);
	assert_int_equal(dir_token_del(d, "alice@example.org", "shop"), 0);
	assert_int_equal(dir_token_find(d, "aa11", &t), 0);
	assert_int_equal(dir_cert_add(d, "ff00", "alice@example.org"), 0);
	assert_int_equal(dir_cert_user(d, "ff00", user), 1);
	assert_string_equal(user, "alice@example.org");
	assert_int_equal(dir_cert_user(d, "ee00", user), 0);
	/* both go with their user */
	assert_int_equal(dir_token_add(d, "alice@example.org", "api", "dd44", ""), 0);
	assert_int_equal(dir_user_del(d, "alice@example.org"), 0);
	assert_int_equal(dir_cert_user(d, "ff00", user), 0);
	assert_int_equal(dir_token_find(d, "dd44", &t), 0);
}

static void sending_log_and_limits(void **state)
{
	struct directory *d = dir_of(state);
	unsigned m, r;
	int64_t oldest;
	struct dir_user u;
	assert_int_equal(dir_domain_add(d, "example.org"), 0);
	assert_int_equal(dir_user_add(d, "alice@example.org", HASH, "", 0), 0);
	assert_int_equal(dir_user_get(d, "alice@example.org", &u), 1);
	assert_int_equal(u.max_messages, -1); /* the configured default */
	dir_user_clear(&u);
	assert_int_equal(dir_user_set_limits(d, "alice@example.org", 10, -1), 0);
	assert_int_equal(dir_user_get(d, "alice@example.org", &u), 1);
	assert_int_equal(u.max_messages, 10);
	assert_int_equal(u.max_recipients, -1);
	dir_user_clear(&u);
	assert_int_equal(dir_sends_record(d, "alice@example.org", 1000, 2), 0);
	assert_int_equal(dir_sends_record(d, "alice@example.org", 2000, 3), 0);
	assert_int_equal(dir_sends_record(d, "alice@example.org", 5000, 1), 0);
	assert_int_equal(dir_sends_usage(d, "alice@example.org", 1500, &m, &r, &oldest), 0);
	assert_int_equal(m, 2);
	assert_int_equal(r, 4);
	assert_int_equal(oldest, 2000);
	assert_int_equal(dir_sends_usage(d, "bob@example.org", 0, &m, &r, &oldest), 0);
	assert_int_equal(m, 0);
	assert_int_equal(oldest, 0);
	/* rows older than a day go when new ones come */
	assert_int_equal(dir_sends_record(d, "alice@example.org", 200000, 1), 0);
	assert_int_equal(dir_sends_usage(d, "alice@example.org", 0, &m, &r, &oldest), 0);
	assert_int_equal(m, 1);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
	log_setup(LOG_LEVEL_ERROR, 2); /* alias loops are logged as warnings */
	const struct CMUnitTest tests[] = {
	        T(domains),
	        T(domain_with_users_stays),
	        T(users),
	        T(aliases),
	        T(listings),
	        T(resolving),
	        T(resolve_overlong),
	        T(forwards),
	        T(address_exists),
	        T(may_send_as),
	        T(tokens_and_certs),
	        T(sending_log_and_limits),
	        cmocka_unit_test(address_validity),
	        cmocka_unit_test(domain_validity),
	        T(reopen_keeps_data),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
