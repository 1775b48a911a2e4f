/* libFuzzer target: RSA public keys from DER (src/mailauth/rsakey.c).
 * A key read is within the limits; what OpenSSL's own decoder reads as an
 * RSA SubjectPublicKeyInfo within them, we read too, as the same key. */
#include "mailauth/rsakey.h"

#include <openssl/x509.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *why;
	EVP_PKEY *k = rsakey_read(data, size, &why);
	if (k != NULL && (EVP_PKEY_get_bits(k) < DKIM_RSA_MIN_BITS ||
			  EVP_PKEY_get_bits(k) > DKIM_RSA_MAX_BITS))
		__builtin_trap();
	const unsigned char *p = data;
	EVP_PKEY *ref = d2i_PUBKEY(NULL, &p, (long)size);
	if (ref != NULL && p == data + size &&
	    EVP_PKEY_get_base_id(ref) == EVP_PKEY_RSA && k != NULL &&
	    EVP_PKEY_eq(k, ref) != 1)
		__builtin_trap();
	EVP_PKEY_free(ref);
	EVP_PKEY_free(k);
	return 0;
}
