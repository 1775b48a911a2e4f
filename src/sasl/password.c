/* password: argon2id hashing, with libsodium's Argon2 (the one Dovecot
 * uses: it picks SSSE3/AVX2 code at run time, a quarter faster here than
 * Debian's libargon2, and a password check is most of a login's cost). */
#include "sasl/password.h"

#include "lib/util.h"

#include <sodium.h>
#include <string.h>

/* OWASP's argon2id baseline (2023): 19 MiB, 2 passes, 1 lane. */
enum {
	ARGON_T = 2,
	ARGON_M_KIB = 19 * 1024,
	ARGON_P = 1,
};
_Static_assert(crypto_pwhash_STRBYTES <= PASSWORD_HASH_MAX, "hash string");

int password_hash(const char *password, size_t len,
		  char out[PASSWORD_HASH_MAX])
{
	if (len > PASSWORD_MAX || sodium_init() < 0)
		return -1;
	/* the salt (16 bytes) comes from libsodium's own randombytes */
	return crypto_pwhash_str_alg(out, password, len, ARGON_T,
				     (size_t)ARGON_M_KIB * 1024,
				     crypto_pwhash_ALG_ARGON2ID13) == 0 ? 0 : -1;
}

int password_verify(const char *encoded, const char *password, size_t len)
{
	if (strncmp(encoded, "$argon2id$", 10) != 0 || len > PASSWORD_MAX ||
	    sodium_init() < 0)
		return -1;
	/* -1 for a mismatch and for a malformed string alike: both are
	 * "no" to the caller */
	return crypto_pwhash_str_verify(encoded, password, len) == 0 ? 1 : 0;
}

void password_generate(char *out, size_t n)
{
	static const char alphabet[] = "abcdefghijkmnopqrstuvwxyz"
				       "ABCDEFGHJKLMNPQRSTUVWXYZ23456789";
	for (size_t i = 0; i < n; i++)
		out[i] = alphabet[random_below(sizeof(alphabet) - 1)];
	out[n] = '\0';
}

int password_dummy_hash(char out[PASSWORD_HASH_MAX])
{
	char pw[33];
	password_generate(pw, 32);
	int rc = password_hash(pw, 32, out);
	explicit_bzero(pw, sizeof(pw));
	return rc;
}
