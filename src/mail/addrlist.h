/* addrlist: RFC 5322 address lists as an IMAP ENVELOPE shows them (RFC 9051
 * 7.5.2): display name, source route, local part and domain of each
 * mailbox, and the groups around them. Pure code.
 *
 *   address-list = (mailbox / group) *("," (mailbox / group))
 *   mailbox      = name-addr / addr-spec
 *   name-addr    = [display-name] "<" [obs-route] addr-spec ">"
 *   group        = display-name ":" [group-list] ";" [CFWS]
 *   obs-route    = obs-domain-list ":"      e.g. "@a.example,@b.example:"
 *
 * mail/rfc5322.h keeps only the addr-specs, strictly, for delivery; this
 * parser is for display and never gives up: real mail carries addresses
 * without angle brackets ("Joe Bloggs joe@example.com"), unclosed quotes,
 * comments and brackets, stray specials, groups without their ";". What
 * cannot be understood becomes the best mailbox it can be and the parser
 * goes on at the next ",", so one bad address never loses the rest.
 *
 * Strings come out unfolded, quoted strings unquoted (quoted-pairs undone),
 * comments dropped (but "a@b (Name)" gives the comment as the name, as
 * mail readers do), words of a phrase joined by one space. Encoded words
 * (RFC 2047) are left as they are: IMAP clients decode them. */
#ifndef POSTERN_MAIL_ADDRLIST_H
#define POSTERN_MAIL_ADDRLIST_H

#include "lib/buf.h"

#include <stdbool.h>
#include <stddef.h>

enum {
	/* Entries (mailboxes and group marks) per field; the rest are
	 * dropped and `truncated` set. */
	ADDRLIST_MAX = 1000,
	/* Bytes of a field value read; the rest is ignored. */
	ADDRLIST_FIELD_MAX = 64 * 1024,
	/* Comment nesting (RFC 5322 3.2.2); deeper parentheses are text. */
	ADDRLIST_COMMENT_DEPTH_MAX = 32,
};

enum addrlist_kind {
	ADDRLIST_MAILBOX,
	ADDRLIST_GROUP,     /* a group starts: name is its display name */
	ADDRLIST_GROUP_END, /* always follows its ADDRLIST_GROUP */
};

/* A string in the list's text; absent when !set. */
struct addrlist_span {
	size_t off, len;
	bool set;
};

struct addrlist_entry {
	enum addrlist_kind kind;
	struct addrlist_span name;    /* display or group name, or absent */
	struct addrlist_span route;   /* "@a,@b" (obs-route), or absent */
	struct addrlist_span mailbox; /* local part, unquoted; "" if none */
	struct addrlist_span host;    /* domain or [literal]; "" if none */
};

struct addrlist {
	struct addrlist_entry *v;
	size_t n, cap;
	struct buf text;
	bool truncated; /* a limit above cut the list short */
};

void addrlist_init(struct addrlist *al);
void addrlist_free(struct addrlist *al);
/* Parse a field value (after the colon, folding allowed, CRLF or LF) into
 * al, replacing what it held. Returns 0, or -1 when out of memory. */
int addrlist_parse(struct addrlist *al, const char *value, size_t len);
/* The bytes of a span (not NUL-terminated), or NULL when it is absent. */
const char *addrlist_text(const struct addrlist *al, struct addrlist_span s);

#endif
