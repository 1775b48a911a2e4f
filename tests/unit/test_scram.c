/* Tests for src/sasl/scram.c: the RFC 7677 test vector, channel binding
 * rules (downgrade, wrong binding), malformed messages, credential text. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "lib/base64.h"
#include "sasl/scram.h"

#include <string.h>

#define S(x) x, sizeof(x) - 1

static const char CLIENT_FIRST[] = "n,,n=user,r=rOprNGfwEbeRWgbNEkqO";
static const char SNONCE[] = "%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0";
static const char SERVER_FIRST[] =
	"r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,"
	"s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096";
static const char CLIENT_FINAL[] =
	"c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,"
	"p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=";
static const char SERVER_FINAL[] = "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=";

static void pencil(struct scram_credentials *c)
{
	struct buf salt;
	buf_init(&salt, 0);
	assert_int_equal(base64_decode(S("W22ZaJ0SNY7soEsUEjb6gQ=="), &salt), 0);
	assert_int_equal(scram_derive_with_salt(S("pencil"),
						(unsigned char *)salt.data, 4096, c),
			 0);
	buf_free(&salt);
}

/* client-first and server-first of the vector; returns with s at step 2 */
static void start(struct scram_server *s, const struct scram_credentials *c)
{
	struct buf out;
	buf_init(&out, 0);
	scram_server_init(s, false);
	assert_int_equal(scram_client_first(s, S(CLIENT_FIRST), false), SCRAM_OK);
	assert_string_equal(s->user, "user");
	assert_int_equal(scram_server_first_nonce(s, c, SNONCE, &out), 0);
	assert_string_equal(buf_cstr(&out), SERVER_FIRST);
	buf_free(&out);
}

static void rfc7677_vector(void **state)
{
	struct scram_credentials c;
	struct scram_server s;
	struct buf out;
	pencil(&c);
	start(&s, &c);
	buf_init(&out, 0);
	assert_int_equal(scram_client_final(&s, S(CLIENT_FINAL), NULL, 0, &out),
			 SCRAM_OK);
	assert_string_equal(buf_cstr(&out), SERVER_FINAL);
	/* only one try per exchange */
	assert_int_equal(scram_client_final(&s, S(CLIENT_FINAL), NULL, 0, &out),
			 SCRAM_MALFORMED);
	buf_free(&out);
	scram_server_free(&s);
}

static void wrong_proof_nonce_or_binding_fail(void **state)
{
	static const char *const finals[] = {
		/* one changed byte in the proof */
		"c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,"
		"p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVU=",
		/* the client's nonce only */
		"c=biws,r=rOprNGfwEbeRWgbNEkqO,"
		"p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=",
		/* a binding claim it did not make: "y,," */
		"c=eSws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,"
		"p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=",
	};
	struct scram_credentials c;
	pencil(&c);
	for (size_t i = 0; i < 3; i++) {
		struct scram_server s;
		struct buf out;
		start(&s, &c);
		buf_init(&out, 0);
		assert_int_equal(scram_client_final(&s, finals[i], strlen(finals[i]),
						    NULL, 0, &out),
				 SCRAM_FAIL);
		assert_int_equal(out.len, 0);
		buf_free(&out);
		scram_server_free(&s);
	}
}

static void channel_binding_rules(void **state)
{
	struct scram_server s;
	/* -PLUS needs p=tls-exporter */
	scram_server_init(&s, true);
	assert_int_equal(scram_client_first(&s, S("n,,n=u,r=abc"), true), SCRAM_FAIL);
	scram_server_free(&s);
	scram_server_init(&s, true);
	assert_int_equal(scram_client_first(&s, S("p=tls-unique,,n=u,r=abc"), true),
			 SCRAM_FAIL);
	scram_server_free(&s);
	scram_server_init(&s, true);
	assert_int_equal(scram_client_first(&s, S("p=tls-exporter,,n=u,r=abc"), true),
			 SCRAM_OK);
	scram_server_free(&s);
	/* p= on the plain mechanism */
	scram_server_init(&s, false);
	assert_int_equal(scram_client_first(&s, S("p=tls-exporter,,n=u,r=abc"), true),
			 SCRAM_FAIL);
	scram_server_free(&s);
	/* "y": fine when -PLUS was not offered, a downgrade when it was */
	scram_server_init(&s, false);
	assert_int_equal(scram_client_first(&s, S("y,,n=u,r=abc"), false), SCRAM_OK);
	scram_server_free(&s);
	scram_server_init(&s, false);
	assert_int_equal(scram_client_first(&s, S("y,,n=u,r=abc"), true), SCRAM_FAIL);
	scram_server_free(&s);
}

static void plus_exchange_checks_the_binding_data(void **state)
{
	struct scram_credentials c;
	struct scram_server s;
	struct buf out, cfinal, cb;
	unsigned char exporter[32];
	memset(exporter, 0x5a, sizeof(exporter));
	pencil(&c);
	scram_server_init(&s, true);
	assert_int_equal(scram_client_first(&s, S("p=tls-exporter,,n=user,r=xyz"), true),
			 SCRAM_OK);
	buf_init(&out, 0);
	assert_int_equal(scram_server_first_nonce(&s, &c, "srv", &out), 0);
	/* c= with the gs2 header but another connection's binding data */
	buf_init(&cb, 0);
	buf_append_str(&cb, "p=tls-exporter,,");
	unsigned char other[32];
	memset(other, 0x11, sizeof(other));
	buf_append(&cb, other, sizeof(other));
	buf_init(&cfinal, 0);
	buf_append_str(&cfinal, "c=");
	base64_encode(cb.data, cb.len, &cfinal);
	buf_append_str(&cfinal, ",r=xyzsrv,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=");
	buf_clear(&out);
	assert_int_equal(scram_client_final(&s, cfinal.data, cfinal.len, exporter,
					    sizeof(exporter), &out),
			 SCRAM_FAIL);
	buf_free(&out);
	buf_free(&cb);
	buf_free(&cfinal);
	scram_server_free(&s);
}

static void malformed_messages(void **state)
{
	static const char *const firsts[] = {
		"", "n", "n,", "x,,n=u,r=a", "n,,r=a", "n,,n=u", "n,,n=,r=a",
		"n,,n=u=2,r=a", "n,,n=u=41,r=a", "n,,n=u,r=", "n,,n=u,r=a b",
		"n,a,n=u,r=a", "n,,n=\xff\xfe,r=a",
	};
	for (size_t i = 0; i < sizeof(firsts) / sizeof(firsts[0]); i++) {
		struct scram_server s;
		scram_server_init(&s, false);
		assert_int_equal(scram_client_first(&s, firsts[i], strlen(firsts[i]),
						    false),
				 SCRAM_MALFORMED);
		scram_server_free(&s);
	}
	struct scram_server s;
	scram_server_init(&s, false);
	assert_int_equal(scram_client_first(&s, S("n,,m=ext,n=u,r=a"), false), SCRAM_FAIL);
	scram_server_free(&s);
	scram_server_init(&s, false);
	char with_nul[] = "n,,n=u\0x,r=a";
	assert_int_equal(scram_client_first(&s, with_nul, sizeof(with_nul) - 1, false),
			 SCRAM_MALFORMED);
	scram_server_free(&s);
	/* escaped names and an authzid */
	scram_server_init(&s, false);
	assert_int_equal(scram_client_first(&s, S("n,a=b=2Cc,n=a=3Db=2Cc,r=nonce"), false),
			 SCRAM_OK);
	assert_string_equal(s.user, "a=b,c");
	assert_string_equal(s.authzid, "b,c");
	scram_server_free(&s);
}

static void credentials_text_round_trip(void **state)
{
	struct scram_credentials c, d;
	char text[SCRAM_CRED_MAX];
	pencil(&c);
	assert_int_equal(scram_credentials_encode(&c, text), 0);
	assert_string_equal(text, "4096:W22ZaJ0SNY7soEsUEjb6gQ==:"
				  "WG5d8oPm3OtcPnkdi4Uo7BkeZkBFzpcXkuLmtbsT4qY=:"
				  "wfPLwcE6nTWhTAmQ7tl2KeoiWGPlZqQxSrmfPwDl2dU=");
	assert_int_equal(scram_credentials_decode(text, &d), 0);
	assert_memory_equal(&c, &d, sizeof(c));
	assert_int_equal(scram_credentials_decode("0:AAAA:AAAA:AAAA", &d), -1);
	assert_int_equal(scram_credentials_decode("4096:W22Z:x:y", &d), -1);
	assert_int_equal(scram_credentials_decode("4096", &d), -1);
	unsigned char secret[32] = {1};
	scram_fake_credentials(secret, "ghost", &c);
	scram_fake_credentials(secret, "ghost", &d);
	assert_memory_equal(&c, &d, sizeof(c)); /* stable for one name */
	scram_fake_credentials(secret, "other", &d);
	assert_memory_not_equal(c.salt, d.salt, SCRAM_SALT_LEN);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(rfc7677_vector),
		cmocka_unit_test(wrong_proof_nonce_or_binding_fail),
		cmocka_unit_test(channel_binding_rules),
		cmocka_unit_test(plus_exchange_checks_the_binding_data),
		cmocka_unit_test(malformed_messages),
		cmocka_unit_test(credentials_text_round_trip),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
