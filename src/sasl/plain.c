/* plain: SASL PLAIN message parser (RFC 4616). */
#include "sasl/plain.h"

#include "mail/address.h"

#include <string.h>

/* Copy one part; false when too long or not UTF-8. */
static bool take(const char *p, size_t n, char *out, size_t cap)
{
	if (n >= cap || !utf8_valid(p, n))
		return false;
	memcpy(out, p, n);
	out[n] = '\0';
	return true;
}

int sasl_plain_parse(const char *msg, size_t n, struct sasl_plain *out)
{
	memset(out, 0, sizeof(*out));
	const char *nul1 = memchr(msg, '\0', n);
	if (nul1 == NULL)
		return -1;
	const char *rest = nul1 + 1;
	size_t left = n - (size_t)(rest - msg);
	const char *nul2 = memchr(rest, '\0', left);
	if (nul2 == NULL)
		return -1;
	const char *pw = nul2 + 1;
	size_t pwn = n - (size_t)(pw - msg);
	size_t idn = (size_t)(nul2 - rest);
	/* a third NUL would hide in the password: not allowed */
	if (idn == 0 || pwn == 0 || memchr(pw, '\0', pwn) != NULL ||
	    !take(msg, (size_t)(nul1 - msg), out->authzid, sizeof(out->authzid)) ||
	    !take(rest, idn, out->authcid, sizeof(out->authcid)) ||
	    !take(pw, pwn, out->passwd, sizeof(out->passwd))) {
		explicit_bzero(out, sizeof(*out));
		return -1;
	}
	out->passwd_len = pwn;
	return 0;
}
