/* imapstr: writing IMAP strings into a response (RFC 9051 4.3, 9).
 *
 *   nstring = string / "NIL"      string  = quoted / literal
 *   astring = 1*ASTRING-CHAR / string
 *   quoted  = DQUOTE *QUOTED-CHAR DQUOTE   ("\" and DQUOTE escaped)
 *   literal = "{" number "}" CRLF *CHAR8
 *
 * A value goes quoted when it is short 7-bit text without CR, LF or NUL;
 * anything else goes as a literal, which carries any byte but NUL (a value
 * holding NUL needs a literal8, RFC 3516, which only BINARY may send). The
 * choice is ours alone: a client must accept either form. */
#ifndef POSTERN_IMAPD_IMAPSTR_H
#define POSTERN_IMAPD_IMAPSTR_H

#include "lib/buf.h"

#include <stdbool.h>
#include <stddef.h>

enum {
	/* Longer values go as literals: a quoted string is scanned byte by
	 * byte by the client, and long ones are rare anyway. */
	IMAPSTR_QUOTED_MAX = 1024,
};

/* Whether data[0..len) may be sent as a quoted string. */
bool imap_quotable(const char *data, size_t len);
/* A string, quoted when imap_quotable(), else a literal. 0, or -1 with
 * errno when out's maximum or memory runs out (as for every writer). */
int imap_write_string(struct buf *out, const char *data, size_t len);
/* NIL when data is NULL, else imap_write_string(). */
int imap_write_nstring(struct buf *out, const char *data, size_t len);
/* An atom when the value is one (non-empty, ASTRING-CHARs, not "NIL"),
 * else imap_write_string(). */
int imap_write_astring(struct buf *out, const char *data, size_t len);
/* "{len}" CRLF data. */
int imap_write_literal(struct buf *out, const char *data, size_t len);
/* "~{len}" CRLF data (RFC 3516 literal8: any octet). */
int imap_write_literal8(struct buf *out, const char *data, size_t len);
/* data upper-cased (ASCII letters only), as a quoted string or literal:
 * for MIME type names, which IMAP servers traditionally send so. */
int imap_write_upper(struct buf *out, const char *data, size_t len);

#endif
