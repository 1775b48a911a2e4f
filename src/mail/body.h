/* body: reading a message as it arrives, for DATA and for BDAT.
 *
 * Two layers. The dot decoder undoes DATA's transparency (RFC 5321 4.5.2)
 * and finds the end of the data: only CR LF "." CR LF ends it, never a bare
 * LF or CR around the dot (the SMTP smuggling attacks, CVE-2023-51764 class).
 * The body filter checks what the message may contain and keeps a copy with
 * LF line ends; BDAT chunks go to it directly.
 *
 * The filter never stops consuming: after the first problem it stops keeping
 * a copy but still reads to the end of the data, so that the session stays in
 * step with the client and can reply once, with the reason. */
#ifndef POSTERN_MAIL_BODY_H
#define POSTERN_MAIL_BODY_H

#include "lib/buf.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum body_problem {
	BODY_BARE_LF = 1 << 0,       /* LF without CR before it */
	BODY_BARE_CR = 1 << 1,       /* CR without LF after it */
	BODY_NUL = 1 << 2,           /* a NUL byte */
	BODY_LONG_LINE = 1 << 3,     /* a line over max_line, CRLF included */
	BODY_TOO_BIG = 1 << 4,       /* more than max_size bytes */
	BODY_HEADER_TOO_BIG = 1 << 5, /* header section over max_header */
	BODY_TOO_MANY_HOPS = 1 << 6, /* more Received headers than max_hops */
};

struct body_limits {
	uint64_t max_size;   /* message bytes, counted with CRLF line ends */
	size_t max_line;     /* CRLF included */
	size_t max_header;   /* header section bytes */
	unsigned max_hops;   /* Received header fields */
};

struct body_filter {
	struct body_limits limits;
	struct buf *out;     /* the LF copy; nothing is added after a problem */
	struct buf *headers; /* if set: a copy of the header fields alone (LF
				line ends), for checks made at the end */
	size_t hdr_line;     /* headers->len where the current line began */
	uint64_t size;       /* bytes seen, CRLF form */
	size_t line_len;     /* bytes of the current line, CR LF excluded */
	bool cr;             /* the last byte was a CR */
	bool in_header;      /* still in the header section */
	int field_state;     /* where the current header line's name stands */
	size_t name_len;
	char name[9];        /* the first bytes of the field name */
	uint64_t header_size;
	unsigned hops;
	bool eight_bit;      /* a byte >= 0x80 was seen */
	unsigned problems;   /* enum body_problem bits */
};

void body_filter_init(struct body_filter *f, const struct body_limits *lim,
		      struct buf *out);
/* Also keep the header section in headers (bounded by max_header). */
void body_filter_keep_headers(struct body_filter *f, struct buf *headers);
/* Check n more bytes and append them, with LF line ends, to f->out. */
void body_filter_feed(struct body_filter *f, const char *p, size_t n);
/* The data is complete: a trailing CR is a bare CR; a last line without a
 * line end (possible with BDAT) is given one. */
void body_filter_finish(struct body_filter *f);

struct dot_decoder {
	int state;
};

void dot_decoder_init(struct dot_decoder *d);
/* Decode in[0..len) into the filter. Returns 1 when the end-of-data line has
 * been read, with *used the bytes taken (the rest belongs to the next
 * command); 0 when all len bytes were taken and more are needed. */
int dot_decoder_feed(struct dot_decoder *d, const char *in, size_t len,
		     size_t *used, struct body_filter *f);

#endif
