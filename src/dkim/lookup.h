/* lookup: a DNS answer for a DKIM key, handed to the DKIM or the ARC
 * verifier, parsed keys cached by their record's text (RFC 6376
 * 6.1.2: no such name or no TXT record is a permanent error; a failed
 * lookup a temporary one). */
#ifndef POSTERN_DKIM_LOOKUP_H
#define POSTERN_DKIM_LOOKUP_H

#include "mailauth/arc.h"
#include "mailauth/verify.h"
#include "net/dns.h"

#include <stddef.h>

void dkim_key_answer(struct dkim_verify *v, size_t i,
		     const struct dns_answer *a);
void arc_key_answer(struct arc_verify *v, size_t k, const struct dns_answer *a);
/* Forget the parsed keys kept (at exit). */
void dkim_key_cache_clear(void);

#endif
