/* stuff: a stored message as RETR and TOP send it (RFC 1939 3, 7, 11).
 * Pure code.
 *
 * Our Maildir keeps LF line ends; POP3 sends CRLF lines and doubles a dot
 * at the start of a line ("byte-stuffing", so that ".\r\n" can end the
 * reply), then ends with ".\r\n". A line already ending in CRLF is sent as
 * it is, a lone CR inside a line too (as imapd/crlf.h serves it), so the
 * bytes a client gets are exactly the CRLF form of the file. The message
 * arrives in pieces of any size (a line may span two).
 *
 * TOP n l sends the header, the empty line after it, and the first l lines
 * of the body; a message without an empty line is all header. */
#ifndef POSTERN_POP3D_STUFF_H
#define POSTERN_POP3D_STUFF_H

#include "lib/buf.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct pop3_stuffer {
	bool bol;        /* at the start of a line */
	bool cr;         /* this line's last byte so far is a CR */
	size_t line_len; /* bytes of this line so far */
	bool in_body;    /* the empty line after the header has passed */
	bool top;        /* counting body lines (TOP) */
	uint64_t lines_left;
	bool done;       /* TOP has sent its lines: the rest is ignored */
};

/* top false: the whole message (RETR); true: TOP with lines. */
void pop3_stuffer_init(struct pop3_stuffer *st, bool top, uint64_t lines);
/* The CRLF, byte-stuffed form of the next n bytes, appended to out. 0, or
 * -1 when out is full (out then holds part of it: a failed reply). */
int pop3_stuff(struct pop3_stuffer *st, const char *p, size_t n,
	       struct buf *out);
/* No more input: end an unterminated last line, then ".\r\n". */
int pop3_stuff_end(struct pop3_stuffer *st, struct buf *out);
/* Has TOP sent all it wants (the caller may stop reading the file)? */
bool pop3_stuff_done(const struct pop3_stuffer *st);

#endif
