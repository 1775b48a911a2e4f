/* spfterm: the syntax of SPF records and macros (RFC 7208 4.6, 5, 6, 7,
 * 12), for spf.c. Pure code.
 *
 *   record    = "v=spf1" *( 1*SP ( directive / modifier ) ) *SP
 *   directive = [ "+" / "-" / "?" / "~" ] mechanism
 *   mechanism = all / include:ds / a[:ds][cidr] / mx[:ds][cidr] / ptr[:ds]
 *               / ip4:net[/n] / ip6:net[//n] / exists:ds
 *   modifier  = redirect=ds / exp=ds / name=macro-string
 *
 * A record with any syntax error is a permerror as a whole (RFC 7208
 * 4.6), so the whole record is checked before anything is evaluated. */
#ifndef POSTERN_MAILAUTH_SPFTERM_H
#define POSTERN_MAILAUTH_SPFTERM_H

#include "mailauth/spf.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum spf_kind {
	SPF_M_ALL,
	SPF_M_INCLUDE,
	SPF_M_A,
	SPF_M_MX,
	SPF_M_PTR,
	SPF_M_IP4,
	SPF_M_IP6,
	SPF_M_EXISTS,
	SPF_MOD_REDIRECT,
	SPF_MOD_EXP,
	SPF_MOD_OTHER, /* unknown modifiers: checked, then ignored */
};

struct spf_term {
	enum spf_kind kind;
	char qualifier;       /* '+', '-', '~' or '?' */
	const char *spec;     /* domain-spec (NULL: none given) */
	size_t spec_len;
	int cidr4, cidr6;     /* prefix lengths: 32 and 128 when absent */
	unsigned char net[16]; /* ip4 / ip6 */
};

/* Whether a TXT record is an SPF record: "v=spf1" (any case) then a space
 * or the end (RFC 7208 4.5). */
bool spf_is_record(const char *txt);
/* Parse a whole record into terms[0..*n). 0, or -1 with *error_r. */
int spf_parse_record(const char *rec, struct spf_term *terms, size_t max,
		     size_t *n, const char **error_r);

/* What macros may refer to (RFC 7208 7.2). */
struct spf_macros {
	const char *sender;   /* s: local@domain */
	const char *local;    /* l */
	const char *sender_domain; /* o */
	const char *domain;   /* d: the domain being checked */
	const unsigned char *ip;
	bool v6;
	const char *helo;     /* h */
	const char *validated; /* p: a validated name, or NULL ("unknown") */
	const char *receiver; /* r */
	int64_t now;          /* t */
};

/* Expand a macro-string (exp: an explanation, where c, r, t and spaces
 * are allowed) into out (n bytes). 0, or -1 with *error_r (a syntax error:
 * permerror; or too long). */
int spf_expand(const char *s, size_t len, const struct spf_macros *m,
	       bool exp, char *out, size_t n, const char **error_r);
/* Expand a domain-spec into a name to query: left labels dropped while it
 * is longer than 253 (RFC 7208 7.3), a final dot removed. 0; 1 when the
 * result is not a name DNS can ask for (an empty or 64-byte label: the
 * mechanism cannot match, RFC 7208 4.8); -1 with *error_r on a syntax
 * error (permerror). */
int spf_expand_domain(const char *s, size_t len, const struct spf_macros *m,
		      char out[SPF_DOMAIN_MAX + 1], const char **error_r);
/* Whether the macro-string uses %{p} (which needs DNS to expand). */
bool spf_uses_p(const char *s, size_t len);

#endif
