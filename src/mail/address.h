/* address: RFC 5321 paths, mailboxes and ESMTP parameters (with the RFC 6531
 * additions for internationalised addresses). Pure code.
 *
 *   Reverse-path = Path / "<>"
 *   Path         = "<" [ A-d-l ":" ] Mailbox ">"      (the route is ignored)
 *   Mailbox      = Local-part "@" ( Domain / address-literal )
 *   Local-part   = Dot-string / Quoted-string
 *   esmtp-param  = esmtp-keyword ["=" esmtp-value]
 */
#ifndef POSTERN_MAIL_ADDRESS_H
#define POSTERN_MAIL_ADDRESS_H

#include <stdbool.h>
#include <stddef.h>

enum {
	ADDR_LOCAL_MAX = 64,   /* RFC 5321 4.5.3.1.1 */
	ADDR_DOMAIN_MAX = 255, /* RFC 5321 4.5.3.1.2 */
	ADDR_PATH_MAX = 256,   /* RFC 5321 4.5.3.1.3, brackets included */
	/* the local part as kept: quoted form plus escapes fits here */
	ADDR_LOCAL_BUF = 2 * ADDR_LOCAL_MAX + 3,
	ADDR_TEXT_MAX = ADDR_LOCAL_BUF + 1 + ADDR_DOMAIN_MAX + 1,
};

struct mailbox {
	/* The local part as it is to be written: a Dot-string, or a
	 * Quoted-string when it needs the quotes ("john doe"). Case kept. */
	char local[ADDR_LOCAL_BUF];
	/* The domain, ASCII letters lower-cased, or an address literal with
	 * its brackets. Empty for the null reverse-path and <postmaster>. */
	char domain[ADDR_DOMAIN_MAX + 1];
	bool quoted;  /* local part is a Quoted-string */
	bool utf8;    /* holds non-ASCII (needs SMTPUTF8) */
	bool literal; /* domain is an address literal */
	bool routed;  /* a source route was given (and ignored) */
};

enum addr_result {
	ADDR_OK = 0,
	ADDR_SYNTAX,    /* not a valid path */
	ADDR_TOO_LONG,  /* a part is over its RFC 5321 limit */
	ADDR_NEED_UTF8, /* non-ASCII while SMTPUTF8 is not in use */
};

enum {
	ADDR_F_EMPTY_OK = 1,      /* "<>" allowed (reverse-path) */
	ADDR_F_POSTMASTER_OK = 2, /* "<Postmaster>" allowed (RFC 5321 4.1.1.3) */
	ADDR_F_UTF8 = 4,          /* RFC 6531 UTF-8 allowed */
};

/* Parse a path at the start of s[0..len). On ADDR_OK fills mb and sets
 * *consumed to the bytes taken (through the '>'); otherwise *error_r says
 * what is wrong. */
enum addr_result address_parse_path(const char *s, size_t len, unsigned flags,
				    struct mailbox *mb, size_t *consumed,
				    const char **error_r);

/* "local@domain" (or "" for the null path, "postmaster" for <postmaster>)
 * into out, which holds ADDR_TEXT_MAX bytes. Returns the length. */
size_t mailbox_format(const struct mailbox *mb, char out[ADDR_TEXT_MAX]);

/* Set mb->local from an unquoted local part (n <= ADDR_LOCAL_MAX): kept as
 * is when it is a Dot-string, else written as a Quoted-string. */
void mailbox_set_local(struct mailbox *mb, const char *raw, size_t n);

/* Whether the bytes are well-formed UTF-8 (RFC 3629: no overlong forms, no
 * surrogates, nothing past U+10FFFF). */
bool utf8_valid(const char *s, size_t len);

enum { ESMTP_PARAMS_MAX = 16 };

struct esmtp_param {
	const char *keyword; /* not NUL-terminated */
	size_t keyword_len;
	const char *value; /* NULL when the parameter has no "=value" */
	size_t value_len;
};

/* Parse the parameters after a path: (SP esmtp-param)*. At most
 * ESMTP_PARAMS_MAX. Returns the count, or -1 with *error_r. */
int esmtp_parse_params(const char *s, size_t len, struct esmtp_param *out,
		       const char **error_r);
/* Case-insensitive comparison of a parameter's keyword. */
bool esmtp_param_is(const struct esmtp_param *p, const char *keyword);

#endif
