/* plain: the SASL PLAIN message (RFC 4616): [authzid] NUL authcid NUL
 * passwd, UTF-8, each part at most 255 octets (a password up to
 * PASSWORD_MAX). Pure code. */
#ifndef POSTERN_SASL_PLAIN_H
#define POSTERN_SASL_PLAIN_H

#include "sasl/password.h"

#include <stddef.h>

enum { SASL_NAME_MAX = 255 };

struct sasl_plain {
	char authzid[SASL_NAME_MAX + 1];
	char authcid[SASL_NAME_MAX + 1];
	char passwd[PASSWORD_MAX + 1];
	size_t passwd_len;
};

/* 0, or -1 when msg is not a PLAIN message. The caller wipes out->passwd. */
int sasl_plain_parse(const char *msg, size_t n, struct sasl_plain *out);

#endif
