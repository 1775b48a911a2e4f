/* body: the DATA dot decoder and the message body filter. */
#include "mail/body.h"

#include <string.h>
#include <strings.h>

/* ------------------------------------------------------------ filter */

enum field_state {
	FIELD_NAME,   /* reading a field name */
	FIELD_WSP,    /* blanks after the name (RFC 5322 4.5 obs-field) */
	FIELD_VALUE,  /* after the colon, or in a continuation line */
};

void body_filter_init(struct body_filter *f, const struct body_limits *lim,
		      struct buf *out)
{
	memset(f, 0, sizeof(*f));
	f->limits = *lim;
	f->out = out;
	f->in_header = true;
}

static void problem(struct body_filter *f, unsigned bit)
{
	f->problems |= bit;
}

void body_filter_keep_headers(struct body_filter *f, struct buf *headers)
{
	f->headers = headers;
	headers->max = f->limits.max_header + 1;
}

/* One byte of the header section into the header copy: a line that turns
 * out not to be a field (the body starts there) is taken back. */
static void keep_header_byte(struct body_filter *f, unsigned char c)
{
	if (f->line_len == 0)
		f->hdr_line = f->headers->len;
	if (!f->in_header)
		buf_truncate(f->headers, f->hdr_line);
	else
		/* a copy that overflows is not itself a problem: only a line
		 * that is not a field yet can pass max_header here, and a real
		 * field section that large is caught by the count at its end */
		(void)buf_append_byte(f->headers, (char)c);
}

/* The LF of a header-section line: keep it with a field, drop a line that
 * had no colon (it was the start of the body). */
static void keep_header_line_end(struct body_filter *f)
{
	if (f->headers == NULL || !f->in_header || f->line_len == 0)
		return;
	if (f->field_state != FIELD_VALUE)
		buf_truncate(f->headers, f->hdr_line);
	else
		keep_header_byte(f, '\n');
}

/* Header lines: count Received fields (RFC 5321 6.3 loop detection) and find
 * where the header section ends: at the empty line, or at a line that cannot
 * be a header field (no colon after the name), as other MTAs do. */
static void header_byte(struct body_filter *f, unsigned char c)
{
	if (f->line_len == 0) {
		if (c == ' ' || c == '\t') {
			f->field_state = FIELD_VALUE; /* continuation */
			return;
		}
		f->field_state = FIELD_NAME;
		f->name_len = 0;
	}
	if (f->field_state == FIELD_VALUE)
		return;
	if (f->field_state == FIELD_WSP && c != ':' && c != ' ' && c != '\t') {
		f->in_header = false; /* "Name x": not a header field */
		return;
	}
	if ((c == ' ' || c == '\t') && f->name_len > 0) {
		f->field_state = FIELD_WSP;
	} else if (c == ':') {
		f->field_state = FIELD_VALUE;
		if (f->name_len == 8 && strncasecmp(f->name, "received", 8) == 0 &&
		    ++f->hops > f->limits.max_hops)
			problem(f, BODY_TOO_MANY_HOPS);
	} else if (c > 32 && c < 127) { /* RFC 5322 ftext */
		if (f->name_len < sizeof(f->name))
			f->name[f->name_len] = (char)c;
		f->name_len++;
	} else {
		f->in_header = false; /* not a header field: the body starts */
	}
}

/* A line ended (its LF has been seen). */
static void end_of_line(struct body_filter *f)
{
	if (f->in_header) {
		if (f->line_len == 0)
			f->in_header = false; /* the empty line */
		else if (f->field_state != FIELD_VALUE)
			f->in_header = false; /* no colon: not a header */
		else if ((f->header_size += f->line_len + 2) > f->limits.max_header)
			problem(f, BODY_HEADER_TOO_BIG);
	}
	if (f->line_len + 2 > f->limits.max_line)
		problem(f, BODY_LONG_LINE);
	f->line_len = 0;
}

/* Append p[from..to) to the copy, unless a problem has stopped the copy. */
static void keep(struct body_filter *f, const char *p, size_t from, size_t to)
{
	if (f->problems == 0 && to > from && buf_append(f->out, p + from, to - from) < 0)
		problem(f, BODY_TOO_BIG);
}

void body_filter_feed(struct body_filter *f, const char *p, size_t n)
{
	f->size += n;
	if (f->size > f->limits.max_size)
		problem(f, BODY_TOO_BIG);
	size_t span = 0; /* start of the bytes not yet copied */
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)p[i];
		if (f->cr) {
			f->cr = false;
			if (c == '\n') {
				keep_header_line_end(f);
				end_of_line(f);
				continue; /* the LF starts the next span */
			}
			problem(f, BODY_BARE_CR);
		}
		if (c == '\r') {
			keep(f, p, span, i); /* the CR itself is dropped */
			span = i + 1;
			f->cr = true;
			continue;
		}
		if (c == '\n') {
			problem(f, BODY_BARE_LF);
			continue;
		}
		if (c == '\0')
			problem(f, BODY_NUL);
		else if (c >= 0x80)
			f->eight_bit = true;
		if (f->in_header) {
			header_byte(f, c);
			if (f->headers != NULL)
				keep_header_byte(f, c);
		}
		f->line_len++;
	}
	keep(f, p, span, n);
}

void body_filter_finish(struct body_filter *f)
{
	if (f->cr) {
		problem(f, BODY_BARE_CR);
		f->cr = false;
	}
	if (f->line_len > 0) {
		/* BDAT data may stop mid-line; DATA never does */
		keep(f, "\n", 0, 1);
		f->size += 2;
		keep_header_line_end(f);
		end_of_line(f);
		if (f->size > f->limits.max_size)
			problem(f, BODY_TOO_BIG);
	}
}

/* ------------------------------------------------------------ dot decoder */

enum dot_state {
	DOT_BOL,    /* at the start of a line (after CR LF, or at the start) */
	DOT_MID,    /* inside a line */
	DOT_CR,     /* just after a CR inside a line */
	DOT_DOT,    /* a '.' opened the line */
	DOT_DOT_CR, /* "." CR opened the line */
};

void dot_decoder_init(struct dot_decoder *d)
{
	d->state = DOT_BOL;
}

/* After byte c (already handed on) inside a line, where are we? */
static int state_after(unsigned char c)
{
	return c == '\r' ? DOT_CR : DOT_MID;
}

int dot_decoder_feed(struct dot_decoder *d, const char *in, size_t len,
		     size_t *used, struct body_filter *f)
{
	/* in[span..i) is data not yet handed to the filter; a leading dot and
	 * the CR after it are held back until the next byte says what they
	 * are, so span moves past them */
	size_t span = 0;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)in[i];
		switch (d->state) {
		case DOT_BOL:
			if (c == '.') {
				body_filter_feed(f, in + span, i - span);
				span = i + 1; /* hold the dot back */
				d->state = DOT_DOT;
			} else {
				d->state = state_after(c);
			}
			break;
		case DOT_MID:
			d->state = state_after(c);
			break;
		case DOT_CR:
			d->state = c == '\n' ? DOT_BOL : state_after(c);
			break;
		case DOT_DOT:
			/* RFC 5321 4.5.2: a leading dot is removed */
			d->state = c == '\r' ? DOT_DOT_CR : DOT_MID;
			if (c == '\r')
				span = i + 1; /* hold the CR back too */
			break;
		case DOT_DOT_CR:
			if (c == '\n') {
				/* nothing is pending: the dot and CR were held */
				*used = i + 1;
				d->state = DOT_BOL;
				return 1;
			}
			/* "." CR x: the dot goes, the CR was data */
			body_filter_feed(f, "\r", 1);
			span = i;
			d->state = state_after(c);
			break;
		}
	}
	body_filter_feed(f, in + span, len - span);
	*used = len;
	return 0;
}
