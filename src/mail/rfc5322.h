/* rfc5322: the addresses in From:, To:, Cc: and the like (RFC 5322 3.4,
 * with RFC 6532 UTF-8 and the obsolete forms of 4.4 that real mail still
 * carries). Pure code.
 *
 *   address-list = (mailbox / group) *("," (mailbox / group))
 *   mailbox      = [display-name] "<" addr-spec ">" / addr-spec
 *   group        = display-name ":" [mailbox-list] ";"
 *
 * Display names and comments are skipped; what comes out is each
 * addr-spec, in the form of mail/address.h (domain lower-cased, local part
 * unquoted when it can be). */
#ifndef POSTERN_MAIL_RFC5322_H
#define POSTERN_MAIL_RFC5322_H

#include "mail/address.h"

#include <stddef.h>

enum { RFC5322_ADDRESSES_MAX = 1000 };

/* Parse a header field value (folding allowed). Fills out[0..*count) with
 * at most max addresses. Returns 0, or -1 when the value is not an address
 * list (or holds more than max). */
int rfc5322_address_list(const char *value, size_t n, struct mailbox *out,
			 size_t max, size_t *count);

#endif
