/* Tests for src/mail/body.c: the DATA dot decoder (RFC 5321 4.5.2, and the
 * SMTP smuggling variants that must not end the data) and the body filter
 * (limits, Received counting, the LF copy), in one piece, byte by byte and
 * split at every offset. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "mail/body.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct body_limits default_limits = {
        .max_size = 1 << 20,
        .max_line = 1000,
        .max_header = 1 << 16,
        .max_hops = 50,
};

struct body_case {
	const char *name;
	const char *in;
	size_t len;
	struct body_limits lim; /* zero fields take default_limits */
	bool unfinished;        /* no end line: dot_decoder_feed gives 0 */
	size_t used;            /* bytes taken in all; 0 means len */
	/* With no problem, exactly the stored copy. After a problem the copy
	 * is abandoned (the message is refused), so the stored bytes need
	 * only be a prefix of this: nothing from after the problem. */
	const char *out;
	unsigned problems;
	bool eight_bit;
};

#define CASE(n, s, o, pr, ...)                                                 \
	{                                                                      \
		.name = n, .in = s, .len = sizeof(s) - 1, .out = o,            \
		.problems = pr, __VA_ARGS__                                    \
	}

struct result {
	int done;
	size_t used;
	unsigned problems;
	bool eight_bit;
	struct buf out;
};

static struct body_limits limits_of(const struct body_case *c)
{
	struct body_limits l = c->lim;
	if (l.max_size == 0)
		l.max_size = default_limits.max_size;
	if (l.max_line == 0)
		l.max_line = default_limits.max_line;
	if (l.max_header == 0)
		l.max_header = default_limits.max_header;
	if (l.max_hops == 0)
		l.max_hops = default_limits.max_hops;
	return l;
}

/* Decode c->in handed over in pieces ending at cuts[0..n_cuts) and then at
 * the end, as the session does: stop at the end line and finish the filter.
 * Also checks that the copy never grows after the first problem. */
static void run_pieces(const struct body_case *c, const size_t *cuts,
                       size_t n_cuts, struct result *res)
{
	struct body_limits lim = limits_of(c);
	struct body_filter f;
	struct dot_decoder d;
	memset(res, 0, sizeof(*res));
	buf_init(&res->out, 0);
	body_filter_init(&f, &lim, &res->out);
	dot_decoder_init(&d);
	size_t pos = 0, frozen = SIZE_MAX;
	for (size_t i = 0; i <= n_cuts && !res->done; i++) {
		size_t end = i < n_cuts ? cuts[i] : c->len;
		size_t used = 99999;
		res->done =
		        dot_decoder_feed(&d, c->in + pos, end - pos, &used, &f);
		assert_true(res->done == 0 || res->done == 1);
		if (!res->done)
			assert_int_equal(used, end - pos);
		else
			assert_true(used <= end - pos);
		res->used = pos + used;
		pos = end;
		if (f.problems != 0 && frozen == SIZE_MAX)
			frozen = res->out.len;
		if (frozen != SIZE_MAX && res->out.len != frozen)
			fail_msg("%s: the copy grew after a problem", c->name);
	}
	if (res->done)
		body_filter_finish(&f);
	res->problems = f.problems;
	res->eight_bit = f.eight_bit;
}

/* Whether the n bytes at got equal want (n may be 0 with got NULL). */
static bool bytes_equal(const char *got, const char *want, size_t n)
{
	return n == 0 || memcmp(got, want, n) == 0;
}

static void expect(const struct body_case *c, const struct result *r,
                   const char *how)
{
	size_t want_used = c->used ? c->used : c->len;
	size_t olen = strlen(c->out);
	int want_done = c->unfinished ? 0 : 1;
	if (r->done != want_done || r->used != want_used ||
	    r->problems != c->problems || r->eight_bit != c->eight_bit)
		fail_msg("%s (%s): got done %d used %zu problems 0x%x 8bit %d; "
		         "want %d %zu 0x%x %d",
		         c->name, how, r->done, r->used, r->problems,
		         r->eight_bit, want_done, want_used, c->problems,
		         c->eight_bit);
	bool same =
	        c->problems == 0
	                ? r->out.len == olen &&
	                          bytes_equal(r->out.data, c->out, olen)
	                : r->out.len <= olen &&
	                          bytes_equal(r->out.data, c->out, r->out.len);
	if (!same)
		fail_msg("%s (%s): stored '%.*s', want %s'%s'", c->name, how,
		         (int)r->out.len, buf_cstr(&r->out),
		         c->problems ? "a prefix of " : "", c->out);
}

static void check_oneshot(const struct body_case *c)
{
	struct result r;
	run_pieces(c, NULL, 0, &r);
	expect(c, &r, "one piece");
	buf_free(&r.out);
}

/* Byte by byte, and split in two at every offset: the same result. */
static void check_trickle(const struct body_case *c)
{
	struct result r;
	size_t *cuts = malloc((c->len + 1) * sizeof(*cuts));
	assert_non_null(cuts);
	for (size_t i = 0; i < c->len; i++)
		cuts[i] = i + 1;
	run_pieces(c, cuts, c->len > 0 ? c->len - 1 : 0, &r);
	expect(c, &r, "byte at a time");
	buf_free(&r.out);
	for (size_t cut = 0; cut <= c->len; cut++) {
		char how[40];
		snprintf(how, sizeof(how), "split at %zu", cut);
		run_pieces(c, &cut, 1, &r);
		expect(c, &r, how);
		buf_free(&r.out);
	}
	free(cuts);
}

static void check_cases(const struct body_case *t, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		check_oneshot(&t[i]);
		check_trickle(&t[i]);
	}
}

#define CHECK_CASES(t) check_cases(t, sizeof(t) / sizeof((t)[0]))

/* ------------------------------------------------------------ DATA */

static void data_transparency(void **state)
{
	static const struct body_case t[] = {
	        CASE("plain",
	             "Subject: hi\r\nFrom: a@b\r\n\r\nHello\r\nWorld\r\n.\r\n",
	             "Subject: hi\nFrom: a@b\n\nHello\nWorld\n", 0),
	        /* RFC 5321 4.5.2: the leading dot of a line is removed */
	        CASE("dot-stuffed", "A: b\r\n\r\n..x\r\n.\r\n", "A: b\n\n.x\n",
	             0),
	        CASE("line of two dots", "A: b\r\n\r\n..\r\n.\r\n",
	             "A: b\n\n.\n", 0),
	        CASE("line of three dots", "A: b\r\n\r\n...\r\n.\r\n",
	             "A: b\n\n..\n", 0),
	        CASE("unstuffed leading dot", "A: b\r\n\r\n.x\r\n.\r\n",
	             "A: b\n\nx\n", 0),
	        CASE("dot then space", "A: b\r\n\r\n. \r\n.\r\n", "A: b\n\n \n",
	             0),
	        CASE("dots inside lines", "A: b\r\n\r\nx.\r\nx..y\r\n.\r\n",
	             "A: b\n\nx.\nx..y\n", 0),
	        CASE("stuffed first line", "..\r\n.\r\n", ".\n", 0),
	        CASE("blank line only", "\r\n.\r\n", "\n", 0),
	        /* the end line on its own: an empty message */
	        CASE("empty message", ".\r\n", "", 0),
	        /* what follows the end line is the next command's */
	        CASE("data after the end", "A: b\r\n\r\nx\r\n.\r\nQUIT\r\n",
	             "A: b\n\nx\n", 0, .used = 14),
	        CASE("two end lines", "x\r\n.\r\n.\r\n", "x\n", 0, .used = 6),
	        /* not finished yet: everything taken, nothing ends */
	        CASE("no end yet", "A: b\r\n\r\nx\r\n", "A: b\n\nx\n", 0,
	             .unfinished = true),
	        CASE("mid-line", "A: b\r\n\r\nx", "A: b\n\nx", 0,
	             .unfinished = true),
	        CASE("dot held back", "x\r\n.", "x\n", 0, .unfinished = true),
	        CASE("dot CR held back", "x\r\n.\r", "x\n", 0,
	             .unfinished = true),
	        CASE("eight bit", "A: b\r\n\r\nh\xc3\xa9\r\n.\r\n",
	             "A: b\n\nh\xc3\xa9\n", 0, .eight_bit = true),
	        CASE("eight bit header", "A: \xff\r\n\r\n.\r\n", "A: \xff\n\n",
	             0, .eight_bit = true),
	};
	CHECK_CASES(t);
}

/* Only CR LF "." CR LF ends the data. Each variant below ends it for some
 * other MTA (CVE-2023-51764 and relatives); here it is data, marked as a
 * bare LF or CR so the message is refused, and the real end is found. */
static void data_smuggling(void **state)
{
#define PRE  "A: b\r\n\r\nhi"
#define POST "MAIL FROM:<evil@x>\r\n.\r\n"
	static const struct body_case t[] = {
	        CASE("LF.LF", PRE "\n.\n" POST, "A: b\n\nhi", BODY_BARE_LF),
	        CASE("LF.CRLF", PRE "\n.\r\n" POST, "A: b\n\nhi", BODY_BARE_LF),
	        CASE("CRLF.LF", PRE "\r\n.\n" POST, "A: b\n\nhi\n",
	             BODY_BARE_LF),
	        CASE("CR.CRLF", PRE "\r.\r\n" POST, "A: b\n\nhi", BODY_BARE_CR),
	        CASE("CRLF.CR", PRE "\r\n.\r" POST, "A: b\n\nhi\n",
	             BODY_BARE_CR),
	        CASE("CRLF.CRCRLF", PRE "\r\n.\r\r\n" POST, "A: b\n\nhi\n",
	             BODY_BARE_CR),
	        CASE("CR.CR", PRE "\r.\r" POST, "A: b\n\nhi", BODY_BARE_CR),
	        CASE("LF.", PRE "\n." POST, "A: b\n\nhi", BODY_BARE_LF),
	        /* a real end line after a bare LF does end the data */
	        CASE("LFCRLF.CRLF", PRE "\n\r\n.\r\n" POST, "A: b\n\nhi",
	             BODY_BARE_LF, .used = sizeof(PRE "\n\r\n.\r\n") - 1),
	};
#undef PRE
#undef POST
	CHECK_CASES(t);
}

static void data_nul(void **state)
{
	static const struct body_case t[] = {
	        CASE("NUL in body", "A: b\r\n\r\nx\0y\r\n.\r\n", "A: b\n\nx",
	             BODY_NUL),
	        CASE("NUL in header", "A: \0b\r\n\r\n.\r\n", "A: ", BODY_NUL),
	        CASE("NUL line", "\0\r\n.\r\n", "", BODY_NUL),
	};
	CHECK_CASES(t);
}

/* RFC 5321 4.5.3.1.6: the line limit counts CR LF but not a doubled dot. */
static void data_line_limit(void **state)
{
	static const struct body_case t[] = {
	        CASE("line at max", "A: b\r\n\r\n12345678\r\n.\r\n",
	             "A: b\n\n12345678\n", 0, .lim.max_line = 10),
	        CASE("line over max", "A: b\r\n\r\n123456789\r\n.\r\n",
	             "A: b\n\n123456789\n", BODY_LONG_LINE, .lim.max_line = 10),
	        CASE("stuffed line at max", "A: b\r\n\r\n..2345678\r\n.\r\n",
	             "A: b\n\n.2345678\n", 0, .lim.max_line = 10),
	        CASE("header line at max", "A: 12345\r\n\r\n.\r\n",
	             "A: 12345\n\n", 0, .lim.max_line = 10),
	        CASE("header line over max", "A: 123456\r\n\r\n.\r\n",
	             "A: 123456\n\n", BODY_LONG_LINE, .lim.max_line = 10),
	};
	CHECK_CASES(t);
}

/* The same at the default 1000, with generated lines. */
static void data_line_limit_1000(void **state)
{
	static char at[1100], over[1100];
	static char at_out[1100], over_out[1100];
	memcpy(at, "A: b\r\n\r\n", 8);
	memset(at + 8, 'x', 998);
	memcpy(at + 8 + 998, "\r\n.\r\n", 6);
	memcpy(at_out, "A: b\n\n", 6);
	memset(at_out + 6, 'x', 998);
	memcpy(at_out + 6 + 998, "\n", 2);
	memcpy(over, "A: b\r\n\r\n", 8);
	memset(over + 8, 'x', 999);
	memcpy(over + 8 + 999, "\r\n.\r\n", 6);
	memcpy(over_out, "A: b\n\n", 6);
	memset(over_out + 6, 'x', 999);
	memcpy(over_out + 6 + 999, "\n", 2);
	struct body_case t[] = {
	        {.name = "1000 octets",
	         .in = at,
	         .len = strlen(at),
	         .out = at_out},
	        {.name = "1001 octets",
	         .in = over,
	         .len = strlen(over),
	         .out = over_out,
	         .problems = BODY_LONG_LINE},
	};
	check_oneshot(&t[0]);
	check_oneshot(&t[1]);
	/* byte by byte only: every split of a 1 kB case is slow under ASan */
	for (int i = 0; i < 2; i++) {
		size_t *cuts = malloc(t[i].len * sizeof(*cuts));
		assert_non_null(cuts);
		for (size_t k = 0; k + 1 < t[i].len; k++)
			cuts[k] = k + 1;
		struct result r;
		run_pieces(&t[i], cuts, t[i].len - 1, &r);
		expect(&t[i], &r, "byte at a time");
		buf_free(&r.out);
		free(cuts);
	}
}

/* The size counts what is stored, in CRLF form: 12 bytes here. */
static void data_size_limit(void **state)
{
	static const struct body_case t[] = {
	        CASE("size at max", "A: b\r\n\r\nxy\r\n.\r\n", "A: b\n\nxy\n",
	             0, .lim.max_size = 12),
	        CASE("size over max", "A: b\r\n\r\nxy\r\n.\r\n", "A: b\n\nxy\n",
	             BODY_TOO_BIG, .lim.max_size = 11),
	        /* a doubled dot is transparency, not message */
	        CASE("stuffed size at max", "A: b\r\n\r\n..\r\n.\r\n",
	             "A: b\n\n.\n", 0, .lim.max_size = 11),
	        CASE("stuffed size over max", "A: b\r\n\r\n..\r\n.\r\n",
	             "A: b\n\n.\n", BODY_TOO_BIG, .lim.max_size = 10),
	};
	CHECK_CASES(t);
}

/* The header section is counted up to the blank line, without it. */
static void data_header_limit(void **state)
{
	static const struct body_case t[] = {
	        CASE("header at max", "A: b\r\nC: d\r\n\r\nx\r\n.\r\n",
	             "A: b\nC: d\n\nx\n", 0, .lim.max_header = 12),
	        CASE("header over max", "A: b\r\nC: d\r\n\r\nx\r\n.\r\n",
	             "A: b\nC: d\n\nx\n", BODY_HEADER_TOO_BIG,
	             .lim.max_header = 11),
	        CASE("folded header at max", "A: b\r\n c\r\n\r\nx\r\n.\r\n",
	             "A: b\n c\n\nx\n", 0, .lim.max_header = 10),
	        CASE("folded header over max", "A: b\r\n c\r\n\r\nx\r\n.\r\n",
	             "A: b\n c\n\nx\n", BODY_HEADER_TOO_BIG,
	             .lim.max_header = 9),
	        /* a line that is not a field ends the header section */
	        CASE("body without blank line",
	             "A: b\r\nnot a header\r\nC: d\r\n.\r\n",
	             "A: b\nnot a header\nC: d\n", 0, .lim.max_header = 6),
	        CASE("body is not header", "A: b\r\n\r\nC: d\r\nE: f\r\n.\r\n",
	             "A: b\n\nC: d\nE: f\n", 0, .lim.max_header = 6),
	};
	CHECK_CASES(t);
}

/* RFC 5321 6.3: Received fields are counted to catch mail loops. */
static void data_hops(void **state)
{
	static const struct body_case t[] = {
	        CASE("hops at max",
	             "Received: a\r\nreceived: b\r\n\r\nx\r\n.\r\n",
	             "Received: a\nreceived: b\n\nx\n", 0, .lim.max_hops = 2),
	        CASE("hops over max",
	             "Received: a\r\nRECEIVED: b\r\nReceived: c\r\n\r\n.\r\n",
	             "Received: a\nRECEIVED: b\nReceived: c\n\n",
	             BODY_TOO_MANY_HOPS, .lim.max_hops = 2),
	        CASE("folded lines are not fields",
	             "Received: a\r\n Received: b\r\n\tReceived: c\r\n"
	             "Received: d\r\n\r\n.\r\n",
	             "Received: a\n Received: b\n\tReceived: c\nReceived: "
	             "d\n\n",
	             0, .lim.max_hops = 2),
	        CASE("the body is not counted",
	             "Received: a\r\nReceived: b\r\n\r\nReceived: c\r\n.\r\n",
	             "Received: a\nReceived: b\n\nReceived: c\n", 0,
	             .lim.max_hops = 2),
	        CASE("other names",
	             "X-Received: a\r\nReceived-SPF: b\r\nReceivedx: c\r\n"
	             "Receive: d\r\nReceived: e\r\n\r\n.\r\n",
	             "X-Received: a\nReceived-SPF: b\nReceivedx: c\n"
	             "Receive: d\nReceived: e\n\n",
	             0, .lim.max_hops = 1),
	        CASE("after the header ends",
	             "Received: a\r\nbody text\r\nReceived: b\r\n.\r\n",
	             "Received: a\nbody text\nReceived: b\n", 0,
	             .lim.max_hops = 1),
	        CASE("no space before the colon",
	             "Received:a\r\nReceived:b\r\n"
	             "\r\n.\r\n",
	             "Received:a\nReceived:b\n\n", BODY_TOO_MANY_HOPS,
	             .lim.max_hops = 1),
	};
	CHECK_CASES(t);
}

/* Several problems are all reported. */
static void data_several_problems(void **state)
{
	static const struct body_case t[] = {
	        CASE("bare LF and NUL", "A: b\r\n\r\nx\ny\0\r\n.\r\n",
	             "A: b\n\nx", BODY_BARE_LF | BODY_NUL),
	        CASE("too big and long line", "A: b\r\n\r\n123456789\r\n.\r\n",
	             "A: b\n\n123456789\n", BODY_TOO_BIG | BODY_LONG_LINE,
	             .lim.max_size = 12, .lim.max_line = 10),
	};
	CHECK_CASES(t);
}

/* ------------------------------------------------------------ BDAT */

struct bdat_case {
	const char *name;
	const char *in;
	size_t len;
	struct body_limits lim;
	const char *out; /* exact, or the allowed prefix after a problem */
	unsigned problems;
	uint64_t size;
};

#define BDAT(n, s, o, pr, sz, ...)                                             \
	{                                                                      \
		.name = n, .in = s, .len = sizeof(s) - 1, .out = o,            \
		.problems = pr, .size = sz, __VA_ARGS__                        \
	}

static void run_bdat(const struct bdat_case *c, size_t step, size_t cut,
                     const char *how)
{
	struct body_case bc = {.lim = c->lim};
	struct body_limits lim = limits_of(&bc);
	struct buf out;
	struct body_filter f;
	buf_init(&out, 0);
	body_filter_init(&f, &lim, &out);
	if (step > 0) {
		for (size_t i = 0; i < c->len; i += step)
			body_filter_feed(&f, c->in + i,
			                 c->len - i < step ? c->len - i : step);
	} else {
		body_filter_feed(&f, c->in, cut);
		body_filter_feed(&f, c->in + cut, c->len - cut);
	}
	body_filter_finish(&f);
	size_t olen = strlen(c->out);
	if (f.problems != c->problems ||
	    (c->problems == 0 && f.size != c->size))
		fail_msg("%s (%s): got problems 0x%x size %llu; want 0x%x %llu",
		         c->name, how, f.problems, (unsigned long long)f.size,
		         c->problems, (unsigned long long)c->size);
	bool same =
	        c->problems == 0
	                ? out.len == olen && bytes_equal(out.data, c->out, olen)
	                : out.len <= olen &&
	                          bytes_equal(out.data, c->out, out.len);
	if (!same)
		fail_msg("%s (%s): stored '%.*s', want '%s'", c->name, how,
		         (int)out.len, buf_cstr(&out), c->out);
	buf_free(&out);
}

/* BDAT data goes to the filter as it is: no dots, and the last line may
 * have no line end, which body_filter_finish supplies. */
static void bdat_filter(void **state)
{
	static const struct bdat_case t[] = {
	        BDAT("unterminated last line", "A: b\r\n\r\nlast",
	             "A: b\n\nlast\n", 0, 14),
	        BDAT("terminated", "A: b\r\n\r\nlast\r\n", "A: b\n\nlast\n", 0,
	             14),
	        BDAT("empty", "", "", 0, 0),
	        BDAT("no transparency", "A: b\r\n\r\n.\r\n..x\r\n.",
	             "A: b\n\n.\n..x\n.\n", 0, 19),
	        BDAT("trailing CR", "A: b\r\n\r\nlast\r", "A: b\n\nlast",
	             BODY_BARE_CR, 0),
	        BDAT("bare LF", "A: b\r\n\r\nx\ny\r\n", "A: b\n\nx",
	             BODY_BARE_LF, 0),
	        /* the added line end counts toward the limits */
	        BDAT("size at max", "A: b\r\n\r\nlast", "A: b\n\nlast\n", 0, 14,
	             .lim.max_size = 14),
	        BDAT("size over max", "A: b\r\n\r\nlast", "A: b\n\nlast\n",
	             BODY_TOO_BIG, 0, .lim.max_size = 13),
	        BDAT("last line at max", "A: b\r\n\r\nlast", "A: b\n\nlast\n",
	             0, 14, .lim.max_line = 6),
	        BDAT("last line over max", "A: b\r\n\r\nlasts",
	             "A: b\n\nlasts\n", BODY_LONG_LINE, 0, .lim.max_line = 6),
	};
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		run_bdat(&t[i], t[i].len ? t[i].len : 1, 0, "one piece");
		run_bdat(&t[i], 1, 0, "byte at a time");
		for (size_t cut = 0; cut <= t[i].len; cut++)
			run_bdat(&t[i], 0, cut, "split");
	}
}

/* A CR at the end of one chunk and its LF at the start of the next is a
 * line end, not a bare CR. */
static void bdat_crlf_across_chunks(void **state)
{
	struct buf out;
	struct body_filter f;
	buf_init(&out, 0);
	body_filter_init(&f, &default_limits, &out);
	body_filter_feed(&f, "A: b\r", 5);
	body_filter_feed(&f, "\n\r", 2);
	body_filter_feed(&f, "\nx\r", 3);
	body_filter_feed(&f, "\n", 1);
	body_filter_finish(&f);
	assert_int_equal(f.problems, 0);
	assert_int_equal(f.size, 11);
	assert_int_equal(out.len, 8);
	assert_memory_equal(out.data, "A: b\n\nx\n", 8);
	buf_free(&out);
}

static void header_copy(void **state)
{
	static const struct {
		const char *in;
		const char *headers;
	} cases[] = {
		{"From: a@x.org\r\nSubject: s\r\n folded\r\n\r\nbody\r\nX: no\r\n",
		 "From: a@x.org\nSubject: s\n folded\n"},
		{"A: 1\r\nnot a header\r\nB: 2\r\n", "A: 1\n"},
		{"A: 1\r\nnocolon\r\nB: 2\r\n", "A: 1\n"},
		{"Received : x\r\nB: 2\r\n", "Received : x\nB: 2\n"},
		{"Name x: 1\r\nB: 2\r\n", ""},
		{"\r\nbody only\r\n", ""},
		{"Only: header\r\n", "Only: header\n"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct buf out, hdr;
		struct body_filter f;
		buf_init(&out, 0);
		buf_init(&hdr, 0);
		body_filter_init(&f, &default_limits, &out);
		body_filter_keep_headers(&f, &hdr);
		/* byte by byte: the copy must not depend on how data arrives */
		for (const char *p = cases[i].in; *p != '\0'; p++)
			body_filter_feed(&f, p, 1);
		body_filter_finish(&f);
		assert_int_equal(f.problems, 0);
		assert_string_equal(buf_cstr(&hdr), cases[i].headers);
		buf_free(&out);
		buf_free(&hdr);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(data_transparency),
	        cmocka_unit_test(data_smuggling),
	        cmocka_unit_test(data_nul),
	        cmocka_unit_test(data_line_limit),
	        cmocka_unit_test(data_line_limit_1000),
	        cmocka_unit_test(data_size_limit),
	        cmocka_unit_test(data_header_limit),
	        cmocka_unit_test(data_hops),
	        cmocka_unit_test(data_several_problems),
	        cmocka_unit_test(bdat_filter),
	        cmocka_unit_test(bdat_crlf_across_chunks),
		cmocka_unit_test(header_copy),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
