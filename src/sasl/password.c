/* password: argon2id hashing. */
#include "sasl/password.h"

#include "lib/util.h"

#include <argon2.h>
#include <string.h>

/* OWASP's argon2id baseline (2023): 19 MiB, 2 passes, 1 lane. */
enum {
	ARGON_T = 2,
	ARGON_M_KIB = 19 * 1024,
	ARGON_P = 1,
	SALT_LEN = 16,
	HASH_LEN = 32,
};

int password_hash(const char *password, size_t len,
		  char out[PASSWORD_HASH_MAX])
{
	unsigned char salt[SALT_LEN];
	random_bytes(salt, sizeof(salt));
	if (len > PASSWORD_MAX)
		return -1;
	int rc = argon2id_hash_encoded(ARGON_T, ARGON_M_KIB, ARGON_P, password,
				       len, salt, sizeof(salt), HASH_LEN, out,
				       PASSWORD_HASH_MAX);
	return rc == ARGON2_OK ? 0 : -1;
}

int password_verify(const char *encoded, const char *password, size_t len)
{
	if (strncmp(encoded, "$argon2id$", 10) != 0 || len > PASSWORD_MAX)
		return -1;
	int rc = argon2id_verify(encoded, password, len);
	if (rc == ARGON2_OK)
		return 1;
	return rc == ARGON2_VERIFY_MISMATCH ? 0 : -1;
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
