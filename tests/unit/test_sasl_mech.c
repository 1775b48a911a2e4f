/* Tests for src/sasl/mech.c: mechanism names, which mechanisms a connection
 * may use, and every mechanism's steps against a throwaway directory
 * (SCRAM and SCRAM-PLUS driven by a client written here from RFC 5802). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "lib/base64.h"
#include "sasl/mech.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define S(x) x, sizeof(x) - 1

static const unsigned ALL =
	SASL_MECH_BIT(SASL_PLAIN) | SASL_MECH_BIT(SASL_LOGIN) |
	SASL_MECH_BIT(SASL_SCRAM) | SASL_MECH_BIT(SASL_SCRAM_PLUS) |
	SASL_MECH_BIT(SASL_EXTERNAL);
static const unsigned NO_LOGIN = ALL & ~SASL_MECH_BIT(SASL_LOGIN);
static const char EVERY[] =
	"PLAIN LOGIN SCRAM-SHA-256 SCRAM-SHA-256-PLUS EXTERNAL";
static const unsigned char SECRET[32] = {7};
static const char BOB_FP[] =
	"00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";

/* A TLS connection with channel binding data and, when fp is given, a
 * trusted client certificate. */
static struct sasl_conn tls_conn(const char *fp, const char *email)
{
	struct sasl_conn c;
	memset(&c, 0, sizeof(c));
	c.tls = true;
	c.cbind_ok = true;
	memset(c.cbind, 0x5a, sizeof(c.cbind));
	if (fp != NULL) {
		c.cert_ok = true;
		snprintf(c.cert_fp, sizeof(c.cert_fp), "%s", fp);
		snprintf(c.cert_email, sizeof(c.cert_email), "%s", email);
	}
	return c;
}

static void names_and_find(void **state)
{
	assert_int_equal(sasl_mech_find(S("PLAIN")), SASL_PLAIN);
	assert_int_equal(sasl_mech_find(S("scram-sha-256-plus")),
			 SASL_SCRAM_PLUS);
	assert_int_equal(sasl_mech_find(S("External")), SASL_EXTERNAL);
	assert_int_equal(sasl_mech_find(S("PLAI")), SASL_MECH_COUNT);
	assert_int_equal(sasl_mech_find(S("PLAINX")), SASL_MECH_COUNT);
	assert_int_equal(sasl_mech_find(S("")), SASL_MECH_COUNT);
	assert_string_equal(sasl_mech_name(SASL_SCRAM), "SCRAM-SHA-256");
	assert_string_equal(sasl_mech_name(SASL_LOGIN), "LOGIN");
	assert_string_equal(sasl_mech_name(SASL_MECH_COUNT), "?");
}

static void usable_depends_on_the_connection(void **state)
{
	struct sasl_conn plain, tls = tls_conn(NULL, ""), nocb = tls,
				cert = tls_conn(BOB_FP, "");
	memset(&plain, 0, sizeof(plain));
	nocb.cbind_ok = false;
	static const struct {
		const char *configured;
		unsigned spoken;
		int conn; /* 0 no TLS, 1 TLS, 2 TLS without binding, 3 cert */
		enum sasl_mech m;
		bool usable;
	} cases[] = {
		{EVERY, ALL, 0, SASL_PLAIN, false}, /* nothing before TLS */
		{EVERY, ALL, 1, SASL_PLAIN, true},
		{EVERY, ALL, 1, SASL_LOGIN, true},
		{EVERY, NO_LOGIN, 1, SASL_LOGIN, false}, /* not spoken */
		{"plain scram-sha-256", ALL, 1, SASL_PLAIN, true},
		{"plain scram-sha-256", ALL, 1, SASL_LOGIN,
		 false}, /* not set */
		{"SCRAM-SHA-256", ALL, 1, SASL_SCRAM_PLUS, false},
		{EVERY, ALL, 1, SASL_SCRAM_PLUS, true},
		{EVERY, ALL, 2, SASL_SCRAM_PLUS, false}, /* no binding data */
		{EVERY, ALL, 2, SASL_SCRAM, true},
		{EVERY, ALL, 1, SASL_EXTERNAL, false}, /* no certificate */
		{EVERY, ALL, 3, SASL_EXTERNAL, true},
		{"PLAIN", ALL, 3, SASL_EXTERNAL, false},
		{EVERY, ALL, 3, SASL_MECH_COUNT, false},
	};
	const struct sasl_conn *conns[] = {&plain, &tls, &nocb, &cert};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct sasl_policy p = {cases[i].configured, cases[i].spoken,
					SECRET};
		if (sasl_mech_usable(&p, conns[cases[i].conn], cases[i].m) !=
		    cases[i].usable)
			fail_msg("case %zu", i);
	}
}

static void lists_follow_the_table(void **state)
{
	struct sasl_policy smtp = {EVERY, ALL, SECRET};
	struct sasl_policy imap = {EVERY, NO_LOGIN, SECRET};
	struct sasl_conn none, tls = tls_conn(NULL, ""),
			       cert = tls_conn(BOB_FP, "");
	struct buf b;
	memset(&none, 0, sizeof(none));
	buf_init(&b, 0);
	sasl_mech_list(&smtp, &tls, " ", &b);
	assert_string_equal(buf_cstr(&b),
			    " PLAIN LOGIN SCRAM-SHA-256 SCRAM-SHA-256-PLUS");
	buf_clear(&b);
	sasl_mech_list(&imap, &cert, " AUTH=", &b);
	assert_string_equal(buf_cstr(&b),
			    " AUTH=PLAIN AUTH=SCRAM-SHA-256 "
			    "AUTH=SCRAM-SHA-256-PLUS AUTH=EXTERNAL");
	buf_clear(&b);
	sasl_mech_list(&imap, &none, " AUTH=", &b);
	assert_int_equal(b.len, 0);
	buf_free(&b);
}

/* ------------------------------------------------------------ PLAIN, LOGIN */

static enum sasl_status run(struct sasl_exchange *x, struct directory *d,
			    const char *data, size_t n, struct buf *out,
			    const char **why)
{
	return sasl_step(x, d, data, n, out, why);
}

static void plain_steps(void **state)
{
	struct sasl_policy p = {EVERY, ALL, SECRET};
	struct sasl_conn c = tls_conn(NULL, "");
	struct sasl_exchange x;
	struct buf out;
	const char *why;
	buf_init(&out, SCRAM_MSG_MAX);
	static const struct {
		const char *msg;
		size_t n;
		enum sasl_status st;
		const char *user;
	} cases[] = {
		{S("\0alice@x.test\0secret"), SASL_CHECK, "alice@x.test"},
		/* an authzid that is oneself, in another case */
		{S("ALICE@x.test\0alice@x.test\0secret"), SASL_CHECK,
		 "alice@x.test"},
		/* acting for someone else: refused, never checked */
		{S("bob@x.test\0alice@x.test\0secret"), SASL_FAILURE,
		 "alice@x.test"},
		{S("\0alice@x.test"), SASL_MALFORMED, ""},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		sasl_exchange_init(&x, SASL_PLAIN, &p, &c);
		sasl_first_challenge(&x, &out);
		assert_int_equal(out.len, 0);
		enum sasl_status st =
			run(&x, NULL, cases[i].msg, cases[i].n, &out, &why);
		assert_int_equal(st, cases[i].st);
		assert_string_equal(x.user, cases[i].user);
		if (st == SASL_CHECK) {
			assert_int_equal(x.password_len, 6);
			assert_memory_equal(x.password, "secret", 6);
		} else {
			assert_int_equal(x.password_len, 0);
		}
		if (st == SASL_MALFORMED)
			assert_string_equal(why, "Malformed PLAIN response");
		sasl_exchange_wipe(&x);
		assert_int_equal(x.password[0], 0);
	}
	buf_free(&out);
}

static void login_steps(void **state)
{
	struct sasl_policy p = {EVERY, ALL, SECRET};
	struct sasl_conn c = tls_conn(NULL, "");
	struct sasl_exchange x;
	struct buf out;
	const char *why;
	static char big[PASSWORD_MAX + 1];
	memset(big, 'p', sizeof(big));
	buf_init(&out, SCRAM_MSG_MAX);
	sasl_exchange_init(&x, SASL_LOGIN, &p, &c);
	sasl_first_challenge(&x, &out);
	assert_string_equal(buf_cstr(&out), "Username:");
	assert_int_equal(run(&x, NULL, S("alice@x.test"), &out, &why),
			 SASL_CHALLENGE);
	assert_string_equal(buf_cstr(&out), "Password:");
	assert_int_equal(run(&x, NULL, S("hunter2"), &out, &why), SASL_CHECK);
	assert_string_equal(x.user, "alice@x.test");
	assert_int_equal(x.password_len, 7);
	sasl_exchange_wipe(&x);

	sasl_exchange_init(&x, SASL_LOGIN, &p, &c);
	assert_int_equal(run(&x, NULL, S("al\0ice"), &out, &why),
			 SASL_MALFORMED);
	assert_string_equal(why, "Malformed user name");
	sasl_exchange_wipe(&x);
	sasl_exchange_init(&x, SASL_LOGIN, &p, &c);
	assert_int_equal(run(&x, NULL, S(""), &out, &why), SASL_MALFORMED);
	sasl_exchange_wipe(&x);

	sasl_exchange_init(&x, SASL_LOGIN, &p, &c);
	assert_int_equal(run(&x, NULL, S("alice@x.test"), &out, &why),
			 SASL_CHALLENGE);
	assert_int_equal(run(&x, NULL, S(""), &out, &why), SASL_MALFORMED);
	assert_string_equal(why, "Malformed password");
	sasl_exchange_wipe(&x);

	/* longer than any password: a failed login, not a buffer overrun */
	sasl_exchange_init(&x, SASL_LOGIN, &p, &c);
	assert_int_equal(run(&x, NULL, S("alice@x.test"), &out, &why),
			 SASL_CHALLENGE);
	assert_int_equal(run(&x, NULL, big, sizeof(big), &out, &why),
			 SASL_FAILURE);
	assert_string_equal(x.user, "alice@x.test");
	sasl_exchange_wipe(&x);
	buf_free(&out);
}

/* ------------------------------------------------------------ directory */

struct fixture {
	char dir[64];
	char path[128];
	struct directory *d;
};

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
	struct scram_credentials cred;
	char text[SCRAM_CRED_MAX], hash[PASSWORD_HASH_MAX];
	assert_int_equal(scram_derive(S("pencil"), SCRAM_ITERATIONS, &cred), 0);
	assert_int_equal(scram_credentials_encode(&cred, text), 0);
	assert_int_equal(password_hash(S("pencil"), hash), 0);
	assert_int_equal(dir_domain_add(fx->d, "x.test"), 0);
	assert_int_equal(dir_user_add(fx->d, "alice@x.test", hash, text, 0), 0);
	assert_int_equal(dir_user_add(fx->d, "bob@x.test", hash, "", 0), 0);
	assert_int_equal(dir_cert_add(fx->d, BOB_FP, "bob@x.test"), 0);
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *fx = *state;
	directory_close(&fx->d);
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

static void password_check(void **state)
{
	struct fixture *fx = *state;
	char dummy[PASSWORD_HASH_MAX];
	assert_int_equal(password_hash(S("not-a-password"), dummy), 0);
	assert_true(
		sasl_password_check(fx->d, "alice@x.test", S("pencil"), dummy));
	assert_false(sasl_password_check(fx->d, "alice@x.test", S("pencil!"),
					 dummy));
	/* an unknown user fails even with the dummy hash's own password */
	assert_false(sasl_password_check(fx->d, "ghost@x.test",
					 S("not-a-password"), dummy));
	assert_false(
		sasl_password_check(NULL, "alice@x.test", S("pencil"), dummy));
}

/* EXTERNAL with the client's data (an authzid, or nothing). */
static enum sasl_status external(struct directory *d, const struct sasl_conn *c,
				 const char *authzid,
				 char user[SASL_USER_MAX + 1])
{
	struct sasl_policy p = {EVERY, ALL, SECRET};
	struct sasl_exchange x;
	struct buf out;
	const char *why;
	buf_init(&out, 0);
	sasl_exchange_init(&x, SASL_EXTERNAL, &p, c);
	enum sasl_status st =
		sasl_step(&x, d, authzid, strlen(authzid), &out, &why);
	assert_int_equal(out.len, 0);
	memcpy(user, x.user, SASL_USER_MAX + 1);
	sasl_exchange_wipe(&x);
	buf_free(&out);
	return st;
}

static void external_steps(void **state)
{
	struct fixture *fx = *state;
	char user[SASL_USER_MAX + 1];
	struct sasl_conn by_fp = tls_conn(BOB_FP, "");
	struct sasl_conn by_email = tls_conn("ffeeddccbbaa99887766554433221100f"
					     "feeddccbbaa99887766554433221100",
					     "Alice@X.test");
	struct sasl_conn stranger = tls_conn("ffeeddccbbaa99887766554433221100f"
					     "feeddccbbaa99887766554433221100",
					     "carol@x.test");
	struct sasl_conn none = tls_conn(NULL, "");
	/* the fingerprint's owner (and a mapping wins over the address) */
	assert_int_equal(external(fx->d, &by_fp, "", user), SASL_SUCCESS);
	assert_string_equal(user, "bob@x.test");
	assert_int_equal(external(fx->d, &by_fp, "BOB@x.test", user),
			 SASL_SUCCESS);
	/* an authzid of someone else is refused, and the log names the holder
	 */
	assert_int_equal(external(fx->d, &by_fp, "alice@x.test", user),
			 SASL_FAILURE);
	assert_string_equal(user, "bob@x.test");
	assert_int_equal(external(fx->d, &by_fp, "bob@x.tes", user),
			 SASL_FAILURE);
	/* the certificate's address, when that is a user */
	assert_int_equal(external(fx->d, &by_email, "", user), SASL_SUCCESS);
	assert_string_equal(user, "alice@x.test");
	assert_int_equal(external(fx->d, &stranger, "", user), SASL_FAILURE);
	assert_string_equal(user, "(certificate)");
	assert_int_equal(external(fx->d, &stranger, "carol@x.test", user),
			 SASL_FAILURE);
	/* no trusted certificate, or no directory: nobody */
	assert_int_equal(external(fx->d, &none, "", user), SASL_FAILURE);
	assert_string_equal(user, "(certificate)");
	assert_int_equal(external(NULL, &by_fp, "", user), SASL_FAILURE);
}

/* ------------------------------------------------------------ SCRAM */

/* The client-final message for password (RFC 5802 3), written into out.
 * gs2 is the client's GS2 header; cb the binding data it saw (or NULL). */
static void client_final(const char *password, const char *gs2,
			 const unsigned char *cb, size_t cbn,
			 const char *first_bare, const char *server_first,
			 struct buf *out)
{
	char nonce[256], salt64[64];
	unsigned iter;
	assert_int_equal(sscanf(server_first, "r=%255[^,],s=%63[^,],i=%u",
				nonce, salt64, &iter),
			 3);
	struct buf salt, cbind, proof64, msg;
	buf_init(&salt, 0);
	buf_init(&cbind, 0);
	buf_init(&proof64, 0);
	buf_init(&msg, 0);
	assert_int_equal(base64_decode(salt64, strlen(salt64), &salt), 0);
	unsigned char salted[32], ckey[32], stored[32], sig[32], p[32];
	unsigned len = 32;
	assert_int_equal(PKCS5_PBKDF2_HMAC(password, (int)strlen(password),
					   (unsigned char *)salt.data,
					   (int)salt.len, (int)iter,
					   EVP_sha256(), 32, salted),
			 1);
	HMAC(EVP_sha256(), salted, 32, (const unsigned char *)"Client Key", 10,
	     ckey, &len);
	SHA256(ckey, 32, stored);
	buf_append_str(&cbind, gs2);
	if (cb != NULL)
		buf_append(&cbind, cb, cbn);
	buf_clear(out);
	buf_append_str(out, "c=");
	base64_encode(cbind.data, cbind.len, out);
	buf_appendf(out, ",r=%s", nonce);
	buf_appendf(&msg, "%s,%s,%s", first_bare, server_first, buf_cstr(out));
	HMAC(EVP_sha256(), stored, 32, (unsigned char *)msg.data, msg.len, sig,
	     &len);
	for (int i = 0; i < 32; i++)
		p[i] = ckey[i] ^ sig[i];
	base64_encode(p, 32, &proof64);
	buf_appendf(out, ",p=%s", buf_cstr(&proof64));
	buf_free(&salt);
	buf_free(&cbind);
	buf_free(&proof64);
	buf_free(&msg);
}

/* A whole SCRAM exchange; the status of its last step. */
static enum sasl_status scram(struct directory *d, enum sasl_mech m,
			      const char *gs2, const char *user,
			      const char *password, const unsigned char *cb)
{
	struct sasl_policy p = {EVERY, ALL, SECRET};
	struct sasl_conn c = tls_conn(NULL, "");
	struct sasl_exchange x;
	struct buf out, first, final;
	const char *why;
	buf_init(&out, SCRAM_MSG_MAX);
	buf_init(&first, 0);
	buf_init(&final, 0);
	char bare[128];
	snprintf(bare, sizeof(bare), "n=%s,r=fyko+d2lbbFgONRv9qkxdawL", user);
	buf_appendf(&first, "%s%s", gs2, bare);
	sasl_exchange_init(&x, m, &p, &c);
	enum sasl_status st =
		sasl_step(&x, d, first.data, first.len, &out, &why);
	if (st == SASL_CHALLENGE) {
		assert_string_equal(x.user, user);
		client_final(password, gs2, cb,
			     cb != NULL ? TLS_EXPORTER_LEN : 0, bare,
			     buf_cstr(&out), &final);
		st = sasl_step(&x, d, final.data, final.len, &out, &why);
	}
	if (st == SASL_CHALLENGE) {
		assert_memory_equal(out.data, "v=", 2);
		assert_int_equal(sasl_step(&x, d, S("x"), &out, &why),
				 SASL_MALFORMED);
		assert_string_equal(why, "Unexpected SCRAM data");
		x.step = 2; /* as if the client had sent nothing */
		st = sasl_step(&x, d, "", 0, &out, &why);
		assert_string_equal(x.user, user);
	}
	sasl_exchange_wipe(&x);
	buf_free(&out);
	buf_free(&first);
	buf_free(&final);
	return st;
}

static void scram_steps(void **state)
{
	struct fixture *fx = *state;
	unsigned char cb[TLS_EXPORTER_LEN], other[TLS_EXPORTER_LEN];
	memset(cb, 0x5a, sizeof(cb)); /* what tls_conn() binds to */
	memset(other, 0x33, sizeof(other));
	assert_int_equal(
		scram(fx->d, SASL_SCRAM, "n,,", "alice@x.test", "pencil", NULL),
		SASL_SUCCESS);
	assert_int_equal(
		scram(fx->d, SASL_SCRAM, "n,,", "alice@x.test", "pen", NULL),
		SASL_FAILURE);
	/* no SCRAM keys, or no such user: a challenge all the same, then no */
	assert_int_equal(
		scram(fx->d, SASL_SCRAM, "n,,", "bob@x.test", "pencil", NULL),
		SASL_FAILURE);
	assert_int_equal(
		scram(fx->d, SASL_SCRAM, "n,,", "ghost@x.test", "pencil", NULL),
		SASL_FAILURE);
	assert_int_equal(
		scram(NULL, SASL_SCRAM, "n,,", "alice@x.test", "pencil", NULL),
		SASL_FAILURE);
	/* -PLUS: bound to this connection, not to another */
	assert_int_equal(scram(fx->d, SASL_SCRAM_PLUS, "p=tls-exporter,,",
			       "alice@x.test", "pencil", cb),
			 SASL_SUCCESS);
	assert_int_equal(scram(fx->d, SASL_SCRAM_PLUS, "p=tls-exporter,,",
			       "alice@x.test", "pencil", other),
			 SASL_FAILURE);
	/* "y": the client could bind but thinks we cannot, while -PLUS is
	 * offered here: a downgrade */
	assert_int_equal(
		scram(fx->d, SASL_SCRAM, "y,,", "alice@x.test", "pencil", NULL),
		SASL_FAILURE);
	assert_int_equal(
		scram(fx->d, SASL_SCRAM, "x,,", "alice@x.test", "pencil", NULL),
		SASL_MALFORMED);
	/* the gs2 header must name this mechanism's binding */
	assert_int_equal(scram(fx->d, SASL_SCRAM, "p=tls-exporter,,",
			       "alice@x.test", "pencil", cb),
			 SASL_FAILURE);
	assert_int_equal(scram(fx->d, SASL_SCRAM_PLUS, "n,,", "alice@x.test",
			       "pencil", NULL),
			 SASL_FAILURE);
	/* an authzid, as with PLAIN, may only name the user itself: alice's
	 * password does not make her bob (RFC 4422 3.4.1) */
	assert_int_equal(scram(fx->d, SASL_SCRAM, "n,a=bob@x.test,",
			       "alice@x.test", "pencil", NULL),
			 SASL_FAILURE);
	assert_int_equal(scram(fx->d, SASL_SCRAM, "n,a=ALICE@x.test,",
			       "alice@x.test", "pencil", NULL),
			 SASL_SUCCESS);
}

/* Messages out of order: a client-final first is no client-first, and a
 * second client-first is no client-final. */
static void scram_out_of_order(void **state)
{
	struct fixture *fx = *state;
	struct sasl_policy p = {EVERY, ALL, SECRET};
	struct sasl_conn c = tls_conn(NULL, "");
	struct sasl_exchange x;
	struct buf out;
	const char *why;
	static const char first[] = "n,,n=alice@x.test,r=fyko+d2lbbFgONRv9qkxdawL";
	static const char final[] =
		"c=biws,r=fyko+d2lbbFgONRv9qkxdawL,p=dHp6dHp6dHp6dHp6dHp6dHp6dHp6dHp6dHp6dHp6dHo=";
	buf_init(&out, SCRAM_MSG_MAX);
	sasl_exchange_init(&x, SASL_SCRAM, &p, &c);
	assert_int_equal(sasl_step(&x, fx->d, S(final), &out, &why),
			 SASL_MALFORMED);
	sasl_exchange_wipe(&x);
	sasl_exchange_init(&x, SASL_SCRAM, &p, &c);
	assert_int_equal(sasl_step(&x, fx->d, S(first), &out, &why),
			 SASL_CHALLENGE);
	assert_int_equal(sasl_step(&x, fx->d, S(first), &out, &why),
			 SASL_MALFORMED);
	sasl_exchange_wipe(&x);
	/* the client's own nonce back, without ours: a replay */
	sasl_exchange_init(&x, SASL_SCRAM, &p, &c);
	assert_int_equal(sasl_step(&x, fx->d, S(first), &out, &why),
			 SASL_CHALLENGE);
	assert_int_equal(sasl_step(&x, fx->d, S(final), &out, &why),
			 SASL_FAILURE);
	sasl_exchange_wipe(&x);
	buf_free(&out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(names_and_find),
		cmocka_unit_test(usable_depends_on_the_connection),
		cmocka_unit_test(lists_follow_the_table),
		cmocka_unit_test(plain_steps),
		cmocka_unit_test(login_steps),
		cmocka_unit_test_setup_teardown(password_check, setup,
						teardown),
		cmocka_unit_test_setup_teardown(external_steps, setup,
						teardown),
		cmocka_unit_test_setup_teardown(scram_steps, setup, teardown),
		cmocka_unit_test_setup_teardown(scram_out_of_order, setup,
						teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
