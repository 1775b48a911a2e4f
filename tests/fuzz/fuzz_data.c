/* libFuzzer target: the message reader (src/mail/body.c), both ways a
 * message arrives.
 *
 * Input: five bytes of settings, then the bytes the client sends.
 *   byte 0  bit 0: 0 DATA (dot_decoder_feed), 1 BDAT (body_filter_feed +
 *           body_filter_finish); bits 1-7: the chunking pattern (0: one byte
 *           at a time, else the seed of a sequence of piece sizes, empty
 *           pieces included)
 *   byte 1  max_line   (0xff: 1000)
 *   byte 2  max_size   = 3 * byte (0xff: no limit)
 *   byte 3  max_header = 2 * byte (0xff: no limit)
 *   byte 4  max_hops   (0xff: 50)
 * The limits are small so that every problem bit is reachable.
 *
 * Each input is read in one piece and in pieces, both keeping the header
 * section (body_filter_keep_headers, as the server does), and the two
 * readings must agree exactly: the end of the data, the problem bits, the
 * filter's counters, the header copy and (when no problem stopped it) the
 * message copy. A third reading, in one piece without the header copy, must
 * agree too, but for the HEADER_TOO_BIG bit that the copy may set while a
 * line is still coming: keeping the headers must not change the verdict on
 * a whole message, nor anything else. The readings are then checked
 * against a slow reference written straight from the contract in body.h:
 * the dot decoding of RFC 5321 4.5.2 (only CR LF "." CR LF ends the data),
 * then the filter's problems, its LF copy and its header copy. */
#include "mail/body.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define CHECK(cond)                                                            \
	do {                                                                   \
		if (!(cond))                                                   \
			__builtin_trap();                                      \
	} while (0)

enum { SETTINGS_LEN = 5 };

/* ------------------------------------------------------------ pieces */

struct pieces {
	uint32_t state; /* 0: one byte at a time */
};

/* The size of the next piece, at most left; may be 0 (an empty read). */
static size_t next_piece(struct pieces *pc, size_t left)
{
	if (pc->state == 0)
		return left < 1 ? left : 1;
	pc->state ^= pc->state << 13; /* xorshift32 */
	pc->state ^= pc->state >> 17;
	pc->state ^= pc->state << 5;
	uint32_t r = pc->state;
	size_t n;
	switch (r & 3) {
	case 0:
		n = (r >> 2) % 2; /* 0 or 1 */
		break;
	case 1:
		n = 2 + (r >> 2) % 7;
		break;
	case 2:
		n = 9 + (r >> 2) % 56;
		break;
	default:
		n = 65 + (r >> 2) % 1000;
		break;
	}
	return n < left ? n : left;
}

/* ------------------------------------------------------------ reference */

/* RFC 5321 4.5.2 as a line-by-line loop, independent of the state machine:
 * a line starting "." CR LF ends the data; otherwise a leading dot goes and
 * the line runs through the first CR LF. Returns 1 with *used when the end
 * was found; 0 when the input ran out (a held-back "." or "." CR at the end
 * of the input is not data yet). */
static int ref_decode(const char *in, size_t len, char *s, size_t *s_len,
		      size_t *used)
{
	size_t pos = 0, o = 0;
	int done = 0;
	while (pos < len) {
		if (in[pos] == '.') {
			if (len - pos >= 3 && in[pos + 1] == '\r' &&
			    in[pos + 2] == '\n') {
				*used = pos + 3;
				done = 1;
				break;
			}
			if (len - pos == 1 ||
			    (len - pos == 2 && in[pos + 1] == '\r'))
				break; /* cannot tell yet: held back */
			pos++;
		}
		size_t end = len;
		for (size_t k = pos; k + 1 < len; k++)
			if (in[k] == '\r' && in[k + 1] == '\n') {
				end = k + 2;
				break;
			}
		memcpy(s + o, in + pos, end - pos);
		o += end - pos;
		pos = end;
	}
	*s_len = o;
	return done;
}

struct ref {
	unsigned problems;
	unsigned checked; /* the bits the reference can speak for */
	uint64_t size;
	unsigned hops;
	bool eight_bit;
	char *out;
	size_t out_len;
	char *hdr; /* the header fields, each line with a LF */
	size_t hdr_len;
};

/* One line (CR LF not included) for the line-based checks; an unfinished
 * line (DATA still running) counts only its Received field, whose colon the
 * filter has already seen. */
static void ref_line(struct ref *r, const struct body_limits *lim,
		     const char *l, size_t n, bool complete, bool *in_header,
		     uint64_t *header_size)
{
	if (complete && n + 2 > lim->max_line)
		r->problems |= BODY_LONG_LINE;
	if (!*in_header || (!complete && n == 0))
		return;
	if (n == 0) {
		*in_header = false; /* the empty line */
		return;
	}
	if (l[0] != ' ' && l[0] != '\t') {
		size_t i = 0; /* RFC 5322 ftext up to the colon */
		while (i < n && l[i] > 32 && l[i] < 127 && l[i] != ':')
			i++;
		size_t name = i; /* obs-field: blanks may come before the colon */
		while (name > 0 && i < n && (l[i] == ' ' || l[i] == '\t'))
			i++;
		if (i == n || l[i] != ':') {
			*in_header = false; /* not a header field */
			return;
		}
		if (name == 8 && strncasecmp(l, "received", 8) == 0 &&
		    ++r->hops > lim->max_hops)
			r->problems |= BODY_TOO_MANY_HOPS;
	}
	if (!complete)
		return;
	if ((*header_size += n + 2) > lim->max_header)
		r->problems |= BODY_HEADER_TOO_BIG;
	memcpy(r->hdr + r->hdr_len, l, n); /* a field or a continuation */
	r->hdr_len += n;
	r->hdr[r->hdr_len++] = '\n';
}

/* What the filter must make of s[0..n); finish: body_filter_finish follows. */
static void ref_filter(struct ref *r, const struct body_limits *lim,
		       const char *s, size_t n, bool finish)
{
	memset(r, 0, sizeof(*r));
	r->out = malloc(n + 1);
	r->hdr = malloc(n + 1);
	if (r->out == NULL || r->hdr == NULL)
		abort();
	bool bare = false;
	size_t last_eol = 0; /* just past the last CR LF */
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		bool crlf = c == '\r' && i + 1 < n && s[i + 1] == '\n';
		if (c == '\0')
			r->problems |= BODY_NUL;
		if (c >= 0x80)
			r->eight_bit = true;
		if (c == '\n' && (i == 0 || s[i - 1] != '\r'))
			r->problems |= BODY_BARE_LF, bare = true;
		if (c == '\r' && !crlf && (i + 1 < n || finish))
			r->problems |= BODY_BARE_CR, bare = true;
		if (c == '\n' && i > 0 && s[i - 1] == '\r')
			last_eol = i + 1;
		/* the CR of a CR LF is dropped; so is a last CR while DATA
		 * runs (it waits for its LF) */
		if (!crlf && !(c == '\r' && i + 1 == n && !finish))
			r->out[r->out_len++] = (char)c;
	}
	/* bytes of the unfinished line, as the filter counts them */
	size_t tail = 0;
	for (size_t i = last_eol; i < n; i++)
		if (s[i] != '\r' && s[i] != '\n')
			tail++;
	r->size = n;
	if (finish && tail > 0) {
		r->out[r->out_len++] = '\n';
		r->size += 2;
	}
	if (r->size > lim->max_size)
		r->problems |= BODY_TOO_BIG;
	r->checked = BODY_NUL | BODY_BARE_LF | BODY_BARE_CR | BODY_TOO_BIG;
	if (bare)
		return; /* lines are ill-defined; those bits are already set */
	r->checked = ~0u;
	bool in_header = true;
	uint64_t header_size = 0;
	size_t start = 0;
	for (size_t i = 0; i + 1 < n; i++)
		if (s[i] == '\r' && s[i + 1] == '\n') {
			ref_line(r, lim, s + start, i - start, true,
				 &in_header, &header_size);
			start = i + 2;
		}
	if (start < n)
		ref_line(r, lim, s + start, n - start, finish, &in_header,
			 &header_size);
}

/* ------------------------------------------------------------ checks */

/* memcmp, but an empty buffer may have no storage at all */
static bool same_bytes(const char *a, const char *b, size_t n)
{
	return n == 0 || memcmp(a, b, n) == 0;
}

struct reading {
	struct buf out;
	struct buf headers; /* used when keep is set */
	bool keep;
	struct body_filter f;
	int done;    /* DATA: the end line was read */
	size_t end;  /* DATA: where the next command starts */
};

static void check_copy(const struct reading *rd, bool complete)
{
	const struct body_filter *f = &rd->f;
	const struct buf *out = &rd->out;
	/* the copy is the LF form: never longer than the CRLF count, and
	 * (finish may add one LF past the limit) never far past max_size */
	CHECK(out->len <= f->size);
	CHECK(out->len <= f->limits.max_size ||
	      (f->problems != 0 && out->len - 1 <= f->limits.max_size));
	/* the header copy has its own bound, one past max_header */
	CHECK(!rd->keep || f->limits.max_header == SIZE_MAX ||
	      rd->headers.len <= f->limits.max_header + 1);
	if (f->problems != 0)
		return;
	CHECK(f->size <= f->limits.max_size);
	size_t lfs = 0;
	for (size_t i = 0; i < out->len; i++) {
		CHECK(out->data[i] != '\r' && out->data[i] != '\0');
		lfs += out->data[i] == '\n';
	}
	/* every LF kept stands for a CR LF; a CR may still wait for its LF */
	CHECK(out->len + lfs + (f->cr ? 1 : 0) == f->size);
	if (complete) {
		CHECK(!f->cr && f->line_len == 0);
		CHECK(out->len == 0 || out->data[out->len - 1] == '\n');
	}
}

/* Two readings of the same bytes; problems: compare them exactly. */
static void check_same(const struct reading *a, const struct reading *b,
		       bool problems)
{
	if (a->keep && b->keep) /* byte by byte: whatever the problems */
		CHECK(a->headers.len == b->headers.len &&
		      same_bytes(a->headers.data, b->headers.data,
				 a->headers.len));
	CHECK(a->done == b->done && a->end == b->end);
	if (problems)
		CHECK(a->f.problems == b->f.problems);
	CHECK(a->f.size == b->f.size && a->f.line_len == b->f.line_len);
	CHECK(a->f.cr == b->f.cr && a->f.in_header == b->f.in_header);
	CHECK(a->f.header_size == b->f.header_size && a->f.hops == b->f.hops);
	CHECK(a->f.eight_bit == b->f.eight_bit);
	if (a->f.problems == 0 && b->f.problems == 0)
		CHECK(a->out.len == b->out.len &&
		      same_bytes(a->out.data, b->out.data, a->out.len));
}

/* A reading against the reference; the problem bits are compared for a
 * reading without the header copy (see check_same's callers). */
static void check_ref(const struct reading *rd, const struct ref *r,
		      bool complete)
{
	const struct body_filter *f = &rd->f;
	if (!rd->keep)
		CHECK((f->problems & r->checked) == (r->problems & r->checked));
	CHECK(f->size == r->size && f->eight_bit == r->eight_bit);
	if (r->checked == ~0u)
		CHECK(f->hops == r->hops);
	if (f->problems == 0)
		CHECK(rd->out.len == r->out_len &&
		      same_bytes(rd->out.data, r->out, r->out_len));
	/* the header copy: the fields (and their folds) of the header
	 * section, each line ended with LF, as body.h promises; a last line
	 * without CR LF (BDAT) is given its LF as in the message copy */
	if (rd->keep && complete && f->problems == 0 && r->checked == ~0u)
		CHECK(rd->headers.len == r->hdr_len &&
		      same_bytes(rd->headers.data, r->hdr, r->hdr_len));
}

/* ------------------------------------------------------------ readings */

static void start_reading(struct reading *rd, const struct body_limits *lim,
			  bool keep)
{
	buf_init(&rd->out, 0);
	buf_init(&rd->headers, 0);
	body_filter_init(&rd->f, lim, &rd->out);
	rd->keep = keep;
	if (keep)
		body_filter_keep_headers(&rd->f, &rd->headers);
}

static void end_reading(struct reading *rd)
{
	buf_free(&rd->out);
	buf_free(&rd->headers);
}

static void read_data(struct reading *rd, const struct body_limits *lim,
		      bool keep, const char *p, size_t len, struct pieces *pc)
{
	struct dot_decoder d;
	start_reading(rd, lim, keep);
	dot_decoder_init(&d);
	rd->done = 0;
	rd->end = len;
	size_t pos = 0;
	do {
		size_t n = pc != NULL ? next_piece(pc, len - pos) : len;
		size_t used = (size_t)-1;
		int rc = dot_decoder_feed(&d, p + pos, n, &used, &rd->f);
		CHECK(rc == 0 || rc == 1);
		CHECK(used <= n && (rc == 1 || used == n));
		CHECK(rc == 0 || used > 0); /* the end line has bytes */
		pos += used;
		if (rc == 1) {
			rd->done = 1;
			rd->end = pos;
			break;
		}
	} while (pos < len);
	if (rd->done) {
		/* the end line follows a CR LF: finishing changes nothing */
		unsigned problems = rd->f.problems;
		uint64_t size = rd->f.size;
		size_t out_len = rd->out.len;
		body_filter_finish(&rd->f);
		CHECK(rd->f.problems == problems && rd->f.size == size &&
		      rd->out.len == out_len);
		CHECK(rd->end >= 3 && memcmp(p + rd->end - 3, ".\r\n", 3) == 0);
		CHECK(rd->end == 3 || (rd->end >= 5 && p[rd->end - 4] == '\n' &&
					p[rd->end - 5] == '\r'));
	}
	check_copy(rd, rd->done);
}

static void read_bdat(struct reading *rd, const struct body_limits *lim,
		      bool keep, const char *p, size_t len, struct pieces *pc)
{
	start_reading(rd, lim, keep);
	rd->done = 0;
	rd->end = len;
	size_t pos = 0;
	do {
		size_t n = pc != NULL ? next_piece(pc, len - pos) : len;
		body_filter_feed(&rd->f, p + pos, n);
		pos += n;
	} while (pos < len);
	body_filter_finish(&rd->f);
	check_copy(rd, true);
}

static uint64_t limit(uint8_t b, uint64_t scale, uint64_t none)
{
	return b == 0xff ? none : b * scale;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < SETTINGS_LEN)
		return 0;
	bool bdat = data[0] & 1;
	struct pieces pc = {.state = data[0] >> 1};
	struct body_limits lim = {
		.max_line = (size_t)limit(data[1], 1, 1000),
		.max_size = limit(data[2], 3, UINT64_MAX),
		.max_header = (size_t)limit(data[3], 2, SIZE_MAX),
		.max_hops = (unsigned)limit(data[4], 1, 50),
	};
	const char *p = (const char *)data + SETTINGS_LEN;
	size_t len = size - SETTINGS_LEN;

	struct reading whole, split, plain;
	if (bdat) {
		read_bdat(&whole, &lim, true, p, len, NULL);
		read_bdat(&split, &lim, true, p, len, &pc);
		read_bdat(&plain, &lim, false, p, len, NULL);
	} else {
		read_data(&whole, &lim, true, p, len, NULL);
		read_data(&split, &lim, true, p, len, &pc);
		read_data(&plain, &lim, false, p, len, NULL);
	}
	check_same(&whole, &split, true);
	/* The header copy may find the header section too big while a line
	 * is still being read, where the counter waits for its end: that bit
	 * may differ, but not the verdict on a whole message, nor the rest. */
	check_same(&whole, &plain, false);
	CHECK((whole.f.problems & ~BODY_HEADER_TOO_BIG) ==
	      (plain.f.problems & ~BODY_HEADER_TOO_BIG));
	if (bdat || whole.done)
		CHECK((whole.f.problems == 0) == (plain.f.problems == 0));

	char *s = malloc(len + 1);
	if (s == NULL)
		abort();
	size_t s_len = len, used = len;
	int done = bdat ? 0 : ref_decode(p, len, s, &s_len, &used);
	if (bdat)
		memcpy(s, p, len);
	CHECK(done == whole.done && (!done || used == whole.end));
	struct ref r;
	ref_filter(&r, &lim, s, s_len, bdat);
	check_ref(&plain, &r, false); /* its problems are exact */
	check_ref(&whole, &r, bdat || whole.done);

	free(r.out);
	free(r.hdr);
	free(s);
	end_reading(&whole);
	end_reading(&split);
	end_reading(&plain);
	return 0;
}
