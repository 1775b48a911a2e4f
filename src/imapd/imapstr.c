/* imapstr: quoted strings, literals and atoms for IMAP responses. */
#include "imapd/imapstr.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

bool imap_quotable(const char *data, size_t len)
{
	if (len > IMAPSTR_QUOTED_MAX)
		return false;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)data[i];
		/* RFC 9051 9: QUOTED-CHAR is 7-bit TEXT-CHAR (no CR, LF,
		 * NUL); 8-bit is UTF-8 only after ENABLE UTF8=ACCEPT, which
		 * a literal never needs */
		if (c == 0 || c == '\r' || c == '\n' || c >= 0x80)
			return false;
	}
	return true;
}

static int write_quoted(struct buf *out, const char *data, size_t len)
{
	if (buf_reserve(out, len + 2) < 0 || buf_append_byte(out, '"') < 0)
		return -1;
	size_t start = 0;
	for (size_t i = 0; i < len; i++) {
		if (data[i] != '"' && data[i] != '\\')
			continue;
		if (buf_append(out, data + start, i - start) < 0 ||
		    buf_append_byte(out, '\\') < 0)
			return -1;
		start = i;
	}
	if (buf_append(out, data + start, len - start) < 0)
		return -1;
	return buf_append_byte(out, '"');
}

/* The announcement and the bytes go together or not at all: "{N}" without
 * its N bytes would make the client read what follows as the literal. */
static int write_literal(struct buf *out, const char *prefix,
			 const char *data, size_t len)
{
	char head[32];
	int n = snprintf(head, sizeof(head), "%s{%zu}\r\n", prefix, len);
	if (n < 0 || (size_t)n >= sizeof(head) || len > SIZE_MAX - (size_t)n ||
	    buf_reserve(out, (size_t)n + len) < 0)
		return -1;
	buf_append(out, head, (size_t)n); /* reserved: cannot fail */
	return buf_append(out, data, len);
}

int imap_write_literal(struct buf *out, const char *data, size_t len)
{
	return write_literal(out, "", data, len);
}

int imap_write_literal8(struct buf *out, const char *data, size_t len)
{
	return write_literal(out, "~", data, len);
}

int imap_write_string(struct buf *out, const char *data, size_t len)
{
	if (imap_quotable(data, len))
		return write_quoted(out, data, len);
	return imap_write_literal(out, data, len);
}

int imap_write_nstring(struct buf *out, const char *data, size_t len)
{
	if (data == NULL)
		return buf_append(out, "NIL", 3);
	return imap_write_string(out, data, len);
}

/* RFC 9051 9: ASTRING-CHAR = ATOM-CHAR / resp-specials ("]"). */
static bool astring_char(unsigned char c)
{
	return c > 0x20 && c < 0x7f && strchr("(){%*\"\\", c) == NULL;
}

int imap_write_astring(struct buf *out, const char *data, size_t len)
{
	bool atom = len > 0 && len <= IMAPSTR_QUOTED_MAX &&
	            !(len == 3 && strncasecmp(data, "NIL", 3) == 0);
	for (size_t i = 0; i < len && atom; i++)
		atom = astring_char((unsigned char)data[i]);
	if (atom)
		return buf_append(out, data, len);
	return imap_write_string(out, data, len);
}

int imap_write_upper(struct buf *out, const char *data, size_t len)
{
	char small[128];
	if (len > sizeof(small))
		return imap_write_string(out, data, len);
	for (size_t i = 0; i < len; i++) {
		char c = data[i];
		small[i] = c >= 'a' && c <= 'z' ? (char)(c - 'a' + 'A') : c;
	}
	return imap_write_string(out, small, len);
}
