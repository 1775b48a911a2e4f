/* stuff: a stored message in the CRLF, byte-stuffed form of RETR and TOP;
 * see stuff.h. */
#include "pop3d/stuff.h"

#include <string.h>

void pop3_stuffer_init(struct pop3_stuffer *st, bool top, uint64_t lines)
{
	memset(st, 0, sizeof(*st));
	st->bol = true;
	st->top = top;
	st->lines_left = lines;
	/* TOP n 0 stops right after the header's empty line */
}

/* A line ended (its LF was sent): header end, or one body line less. */
static void line_ended(struct pop3_stuffer *st)
{
	bool empty = st->line_len == 0 || (st->line_len == 1 && st->cr);
	if (!st->in_body) {
		if (empty) {
			st->in_body = true;
			st->done = st->top && st->lines_left == 0;
		}
	} else if (st->top && --st->lines_left == 0) {
		st->done = true;
	}
	st->bol = true;
	st->cr = false;
	st->line_len = 0;
}

int pop3_stuff(struct pop3_stuffer *st, const char *p, size_t n,
	       struct buf *out)
{
	while (n > 0 && !st->done) {
		/* RFC 1939 3: a line starting with "." gets one more */
		if (st->bol && p[0] == '.' && buf_append_byte(out, '.') < 0)
			return -1;
		st->bol = false;
		const char *lf = memchr(p, '\n', n);
		size_t seg = lf != NULL ? (size_t)(lf - p) : n;
		if (seg > 0) {
			if (buf_append(out, p, seg) < 0)
				return -1;
			st->cr = p[seg - 1] == '\r';
			st->line_len += seg;
		}
		if (lf == NULL)
			return 0;
		if (buf_append(out, st->cr ? "\n" : "\r\n", st->cr ? 1 : 2) < 0)
			return -1;
		line_ended(st);
		p += seg + 1;
		n -= seg + 1;
	}
	return 0;
}

int pop3_stuff_end(struct pop3_stuffer *st, struct buf *out)
{
	if (!st->bol && !st->done &&
	    buf_append(out, st->cr ? "\n" : "\r\n", st->cr ? 1 : 2) < 0)
		return -1;
	return buf_append(out, ".\r\n", 3);
}

bool pop3_stuff_done(const struct pop3_stuffer *st)
{
	return st->done;
}
