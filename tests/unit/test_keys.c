/* Unit tests for src/dkim/keys.c: where a key stands in its life (which
 * key signs across a rotation, when the old one stops being published),
 * and new keys with their DNS records. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "dkim/keys.h"
#include "mailauth/key.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct dir_dkim_key key(const char *sel, const char *algo,
			       int64_t from, int64_t retire)
{
	struct dir_dkim_key k = {.sign_from = from, .retire_at = retire};
	snprintf(k.domain, sizeof(k.domain), "example.org");
	snprintf(k.selector, sizeof(k.selector), "%s", sel);
	snprintf(k.algo, sizeof(k.algo), "%s", algo);
	return k;
}

/* A rotation at t=1000: the new key published then, signing from 3000;
 * the old one retires at 5000. An Ed25519 key beside them is unaffected. */
static void rotation(void **state)
{
	struct dir_dkim_key k[] = {
		key("old", "rsa", 0, 5000),
		key("new", "rsa", 3000, 0),
		key("ed", "ed25519", 0, 0),
	};
	static const struct {
		int64_t now;
		enum dkim_key_state old, new_, ed;
	} at[] = {
		{1000, DKIM_KEY_ACTIVE, DKIM_KEY_PENDING, DKIM_KEY_ACTIVE},
		{2999, DKIM_KEY_ACTIVE, DKIM_KEY_PENDING, DKIM_KEY_ACTIVE},
		{3000, DKIM_KEY_STANDBY, DKIM_KEY_ACTIVE, DKIM_KEY_ACTIVE},
		{4999, DKIM_KEY_STANDBY, DKIM_KEY_ACTIVE, DKIM_KEY_ACTIVE},
		{5000, DKIM_KEY_RETIRED, DKIM_KEY_ACTIVE, DKIM_KEY_ACTIVE},
	};
	for (size_t i = 0; i < sizeof(at) / sizeof(*at); i++) {
		assert_int_equal(dkim_key_state(k, 3, 0, at[i].now), at[i].old);
		assert_int_equal(dkim_key_state(k, 3, 1, at[i].now), at[i].new_);
		assert_int_equal(dkim_key_state(k, 3, 2, at[i].now), at[i].ed);
	}
	/* the new key revoked before it signs: the old one keeps signing */
	k[1].revoked = true;
	assert_int_equal(dkim_key_state(k, 3, 1, 4000), DKIM_KEY_REVOKED);
	assert_int_equal(dkim_key_state(k, 3, 0, 4000), DKIM_KEY_ACTIVE);
	assert_string_equal(dkim_key_state_name(DKIM_KEY_STANDBY), "standby");
}

/* Two keys of one algorithm signing from the same second: one of them,
 * always the same, signs. */
static void tie(void **state)
{
	struct dir_dkim_key k[] = {key("a", "rsa", 10, 0), key("b", "rsa", 10, 0)};
	assert_int_equal(dkim_key_state(k, 2, 0, 20), DKIM_KEY_STANDBY);
	assert_int_equal(dkim_key_state(k, 2, 1, 20), DKIM_KEY_ACTIVE);
}

/* New keys: their records parse as DKIM keys of the right type; revoked,
 * the record has an empty p=. */
static void keygen_records(void **state)
{
	const char *why = NULL;
	static const char *const algos[] = {"rsa", "ed25519"};
	for (size_t a = 0; a < 2; a++) {
		struct dir_dkim_key k = key("s", algos[a], 0, 0);
		k.private_pem = dkim_keygen(algos[a], 1024, &why);
		assert_non_null(k.private_pem);
		assert_non_null(strstr(k.private_pem, "BEGIN PRIVATE KEY"));
		struct buf rec;
		buf_init(&rec, 0);
		assert_int_equal(dkim_key_record(&k, &rec, &why), 0);
		struct dkim_key parsed;
		assert_int_equal(dkim_key_parse(rec.data, rec.len, &parsed, &why), 0);
		assert_int_equal(parsed.type, a == 0 ? DKIM_KEY_RSA : DKIM_KEY_ED25519);
		dkim_key_free(&parsed);
		k.revoked = true;
		buf_clear(&rec);
		assert_int_equal(dkim_key_record(&k, &rec, &why), 0);
		assert_string_equal(buf_cstr(&rec),
				    a == 0 ? "v=DKIM1; k=rsa; p=" : "v=DKIM1; k=ed25519; p=");
		buf_free(&rec);
		free(k.private_pem);
	}
	assert_null(dkim_keygen("rsa", 512, &why));
	assert_null(dkim_keygen("dsa", 0, &why));
	assert_null(dkim_key_load("not a key", &why));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(rotation),
		cmocka_unit_test(tie),
		cmocka_unit_test(keygen_records),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
