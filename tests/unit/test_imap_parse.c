/* Tests for src/imapd/parse.c (IMAP command parser and command table),
 * src/imapd/seqset.c (sequence sets) and src/imapd/mailbox.c (modified
 * UTF-7, mailbox name checks, Maildir++ mapping): real client command
 * lines, every limit and malformed case, and the same input fed whole, a
 * byte at a time and split at every offset. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "imapd/mailbox.h"
#include "imapd/parse.h"
#include "imapd/seqset.h"

#include "lib/buf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- helpers ---- */

static struct imap_parse_limits auth_limits(void)
{
	struct imap_parse_limits lim;
	imap_parse_limits_init(&lim, false, 1024 * 1024);
	return lim;
}

/* One line per argument tree: atoms bare, quoted in "", literals as
 * {N}text (~{N} for literal8, {N}ext for an external one), lists in (). */
static void dump_arg(const struct imap_command *c, uint32_t i, struct buf *o)
{
	const struct imap_arg *a = &c->args[i];
	switch (a->type) {
	case IMAP_ARG_ATOM:
	case IMAP_ARG_NIL:
		buf_append(o, a->str, a->len);
		break;
	case IMAP_ARG_QUOTED:
		buf_appendf(o, "\"%.*s\"", (int)a->len, a->str);
		break;
	case IMAP_ARG_LITERAL:
	case IMAP_ARG_LITERAL8:
		buf_appendf(o, "%s{%zu}",
		            a->type == IMAP_ARG_LITERAL8 ? "~" : "", a->len);
		if (a->external)
			buf_append_str(o, "ext");
		else
			buf_append(o, a->str, a->len);
		break;
	case IMAP_ARG_LIST:
		buf_append_byte(o, '(');
		for (uint32_t k = i + 1, n = 0; n < a->count; n++) {
			if (n > 0)
				buf_append_byte(o, ' ');
			dump_arg(c, k, o);
			k = c->args[k].next;
		}
		buf_append_byte(o, ')');
		break;
	}
}

static void dump(const struct imap_command *c, struct buf *o)
{
	buf_clear(o);
	buf_appendf(o, "%s %s", c->tag, c->def->name);
	for (uint32_t i = 0, n = 0; n < c->n_top; n++) {
		buf_append_byte(o, ' ');
		dump_arg(c, i, o);
		i = c->args[i].next;
	}
}

struct run {
	int result;     /* the last feed's result */
	size_t used;    /* bytes consumed in all */
	int sync;       /* "+ Ready" the server would have sent */
	int literals;   /* literals accepted */
	char out[4096]; /* dump of the command, or the error message */
};

/* Feed in[0..len) `step` bytes at a time (0: all), accepting every
 * literal, until DONE, ERROR or the end of the input. */
static void feed(struct imap_parser *p, const char *in, size_t len, size_t step,
                 struct run *r)
{
	memset(r, 0, sizeof(*r));
	r->result = IMAP_PARSE_MORE;
	while (r->used < len) {
		size_t n = len - r->used, used = 0;
		if (step > 0 && n > step)
			n = step;
		r->result = imap_parser_feed(p, in + r->used, n, &used);
		assert_true(used <= n);
		r->used += used;
		if (r->result == IMAP_PARSE_LITERAL) {
			r->sync += imap_parser_literal(p)->sync;
			r->literals++;
			imap_parser_literal_accept(p, false);
		} else if (r->result != IMAP_PARSE_MORE) {
			break;
		}
	}
	if (r->result == IMAP_PARSE_DONE) {
		struct buf o;
		buf_init(&o, 0);
		dump(imap_parser_command(p), &o);
		size_t n = o.len < sizeof(r->out) ? o.len : sizeof(r->out) - 1;
		memcpy(r->out, buf_cstr(&o), n); /* may hold a NUL */
		r->out[n] = '\0';
		buf_free(&o);
	} else if (r->result == IMAP_PARSE_ERROR) {
		snprintf(r->out, sizeof(r->out), "%s",
		         imap_parser_error(p)->msg);
	}
}

static void feed_new(const struct imap_parse_limits *lim, const char *in,
                     size_t len, size_t step, struct run *r)
{
	struct imap_parser *p = imap_parser_new(lim);
	assert_non_null(p);
	feed(p, in, len, step, r);
	imap_parser_free(&p);
	assert_null(p);
}

/* ---- positive cases, table-driven, three ways of feeding ---- */

struct good_case {
	const char *in;
	const char *want; /* dump */
	int literals, sync;
};

/* RFC 3501 6.3.11 */
static const char append_msg[] =
        "Date: Mon, 7 Feb 1994 21:52:25 -0800 (PST)\r\n"
        "From: Fred Foobar <foobar@Blurdybloop.COM>\r\n"
        "Subject: afternoon meeting\r\n"
        "To: mooch@owatagu.siam.edu\r\n"
        "Message-Id: <B27397-0100000@Blurdybloop.COM>\r\n"
        "MIME-Version: 1.0\r\n"
        "Content-Type: TEXT/PLAIN; CHARSET=US-ASCII\r\n"
        "\r\n"
        "Hello Joe, do you think we can meet at 3:30 tomorrow?\r\n";

static const struct good_case good[] = {
        /* Thunderbird */
        {"2 UID fetch 1:* (FLAGS)\r\n", "2 UID FETCH 1:* (FLAGS)", 0, 0},
        {"5 uid fetch 1:* (FLAGS) (CHANGEDSINCE 12345)\r\n",
         "5 UID FETCH 1:* (FLAGS) (CHANGEDSINCE 12345)", 0, 0},
        {"a FETCH 1 (BODY.PEEK[HEADER.FIELDS (FROM TO SUBJECT DATE)])\r\n",
         "a FETCH 1 (BODY.PEEK[HEADER.FIELDS (FROM TO SUBJECT DATE)])", 0, 0},
        {"a FETCH 1:3 (UID RFC822.SIZE BODY[]<0.100> BINARY.PEEK[1.2])\r\n",
         "a FETCH 1:3 (UID RFC822.SIZE BODY[]<0.100> BINARY.PEEK[1.2])", 0, 0},
        {"a FETCH 1 BODY[HEADER.FIELDS.NOT (\"X-A\" Received)]<5.10>\r\n",
         "a FETCH 1 BODY[HEADER.FIELDS.NOT (\"X-A\" Received)]<5.10>", 0, 0},
        {"a LIST \"\" \"*\" RETURN (SPECIAL-USE STATUS (MESSAGES UNSEEN))\r\n",
         "a LIST \"\" \"*\" RETURN (SPECIAL-USE STATUS (MESSAGES UNSEEN))", 0,
         0},
        {"a UID SEARCH CHARSET UTF-8 SUBJECT {4+}\r\ntest\r\n",
         "a UID SEARCH CHARSET UTF-8 SUBJECT {4}test", 1, 0},
        {"a001 login {11}\r\nFRED FOOBAR {7}\r\nfat man\r\n",
         "a001 LOGIN {11}FRED FOOBAR {7}fat man", 2, 2},
        {"a LOGIN \"joe\" \"p\\\\a\\\"ss\"\r\n", "a LOGIN \"joe\" \"p\\a\"ss\"",
         0, 0},
        {"a STORE 2:4 +FLAGS.SILENT (\\Deleted $Junk)\r\n",
         "a STORE 2:4 +FLAGS.SILENT (\\Deleted $Junk)", 0, 0},
        {"a ID (\"name\" \"Thunderbird\" \"version\" NIL)\r\n",
         "a ID (\"name\" \"Thunderbird\" \"version\" NIL)", 0, 0},
        {"a ID NIL\r\n", "a ID NIL", 0, 0},
        {"a SELECT [Gmail]/Sent\r\n", "a SELECT [Gmail]/Sent", 0, 0},
        {"a SELECT \"Entw\xc3\xbcrfe\"\r\n", "a SELECT \"Entw\xc3\xbcrfe\"", 0,
         0},
        {"a SEARCH (OR (FROM a) ()) ALL\r\n", "a SEARCH (OR (FROM a) ()) ALL",
         0, 0},
        {"a APPEND INBOX ~{3}\r\na\0b\r\n", "a APPEND INBOX ~{3}a\0b", 1, 1},
        {"a APPEND INBOX {0+}\r\n\r\n", "a APPEND INBOX {0}", 1, 0},
        {"a LIST % *\r\n", "a LIST % *", 0, 0},
        {"a noop\r\n", "a NOOP", 0, 0},
};

static size_t case_len(const struct good_case *c)
{
	/* the literal8 case holds a NUL: its length is known */
	if (strncmp(c->in, "a APPEND INBOX ~{3}", 19) == 0)
		return 26;
	return strlen(c->in);
}

static size_t expect_len(const char *want)
{
	if (strncmp(want, "a APPEND INBOX ~{3}", 19) == 0)
		return 22;
	return strlen(want);
}

static void check_good(const struct good_case *c, size_t step)
{
	struct imap_parse_limits lim = auth_limits();
	struct run r;
	size_t len = case_len(c);
	feed_new(&lim, c->in, len, step, &r);
	if (r.result != IMAP_PARSE_DONE)
		fail_msg("%s (step %zu): result %d: %s", c->in, step, r.result,
		         r.out);
	assert_int_equal(r.used, len);
	assert_int_equal(r.literals, c->literals);
	assert_int_equal(r.sync, c->sync);
	size_t wl = expect_len(c->want);
	if (memcmp(r.out, c->want, wl) != 0 || r.out[wl] != '\0')
		fail_msg("got [%s] want [%s]", r.out, c->want);
}

static void good_whole(void **state)
{
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		check_good(&good[i], 0);
}

static void good_byte_at_a_time(void **state)
{
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		check_good(&good[i], 1);
}

/* Two pieces, split at every offset. */
static void good_every_split(void **state)
{
	struct imap_parse_limits lim = auth_limits();
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		size_t len = case_len(&good[i]);
		for (size_t cut = 1; cut < len; cut++) {
			struct imap_parser *p = imap_parser_new(&lim);
			struct run a, b;
			feed(p, good[i].in, cut, 0, &a);
			if (a.result == IMAP_PARSE_DONE)
				fail_msg("%s: done at %zu", good[i].in, cut);
			assert_int_equal(a.used, cut);
			feed(p, good[i].in + cut, len - cut, 0, &b);
			assert_int_equal(b.result, IMAP_PARSE_DONE);
			assert_memory_equal(b.out, good[i].want,
			                    expect_len(good[i].want));
			imap_parser_free(&p);
		}
	}
}

/* ---- the structure of a parsed command ---- */

static struct imap_parser *parse_one(const char *in, struct run *r)
{
	struct imap_parse_limits lim = auth_limits();
	struct imap_parser *p = imap_parser_new(&lim);
	assert_non_null(p);
	feed(p, in, strlen(in), 0, r);
	assert_int_equal(r->result, IMAP_PARSE_DONE);
	return p;
}

static void command_structure(void **state)
{
	struct run r;
	struct imap_parser *p = parse_one(
	        "a LIST \"\" \"*\" RETURN (SPECIAL-USE STATUS (MESSAGES "
	        "UNSEEN))\r\n",
	        &r);
	const struct imap_command *c = imap_parser_command(p);
	assert_string_equal(c->tag, "a");
	assert_int_equal(c->def->id, IMAP_CMD_LIST);
	assert_int_equal(c->n_top, 4);
	assert_int_equal(c->n_args, 9);
	const struct imap_arg *a = c->args;
	assert_int_equal(a[0].type, IMAP_ARG_QUOTED);
	assert_int_equal(a[0].len, 0);
	assert_string_equal(a[0].str, "");
	assert_int_equal(a[1].type, IMAP_ARG_QUOTED);
	assert_true(imap_arg_atom_is(&a[2], "return"));
	assert_int_equal(a[3].type, IMAP_ARG_LIST);
	assert_int_equal(a[3].count, 3);
	assert_int_equal(a[3].next, 9);
	assert_null(a[3].str);
	assert_true(imap_arg_atom_is(&a[4], "SPECIAL-USE"));
	assert_int_equal(a[6].type, IMAP_ARG_LIST);
	assert_int_equal(a[6].count, 2);
	assert_int_equal(a[6].next, 9);
	const char *s;
	size_t len;
	assert_true(imap_arg_astring(&a[8], &s, &len));
	assert_string_equal(s, "UNSEEN");
	assert_false(imap_arg_nstring(&a[8], &s, &len)); /* atom */
	assert_true(imap_arg_nstring(&a[1], &s, &len));
	assert_string_equal(s, "*");
	assert_false(imap_arg_astring(&a[3], &s, &len));
	imap_parser_free(&p);
}

static void command_numbers_and_nil(void **state)
{
	struct run r;
	struct imap_parser *p = parse_one(
	        "a SEARCH NIL 0 4294967295 4294967296 01234567890 nil "
	        "\"7\"\r\n",
	        &r);
	const struct imap_arg *a = imap_parser_command(p)->args;
	uint32_t v;
	const char *s;
	size_t len;
	assert_int_equal(a[0].type, IMAP_ARG_NIL);
	assert_true(imap_arg_nstring(&a[0], &s, &len));
	assert_null(s);
	assert_false(imap_arg_astring(&a[0], &s, &len));
	assert_true(imap_arg_number(&a[1], &v));
	assert_int_equal(v, 0);
	assert_false(imap_arg_nz_number(&a[1], &v));
	assert_true(imap_arg_nz_number(&a[2], &v));
	assert_int_equal(v, 4294967295u);
	assert_false(imap_arg_number(&a[3], &v));
	assert_false(imap_arg_number(&a[4], &v)); /* 11 digits */
	assert_int_equal(a[5].type, IMAP_ARG_NIL);
	assert_false(imap_arg_number(&a[6], &v)); /* quoted */
	imap_parser_free(&p);
}

/* Pipelined commands: the parser stops after each one. */
static void command_pipelined(void **state)
{
	struct imap_parse_limits lim = auth_limits();
	struct imap_parser *p = imap_parser_new(&lim);
	const char *in = "a NOOP\r\nb CHECK\r\nc LOGOUT\r\n";
	size_t used;
	assert_int_equal(imap_parser_feed(p, in, strlen(in), &used),
	                 IMAP_PARSE_DONE);
	assert_int_equal(used, 8);
	assert_string_equal(imap_parser_command(p)->tag, "a");
	assert_int_equal(imap_parser_feed(p, in + 8, strlen(in) - 8, &used),
	                 IMAP_PARSE_DONE);
	assert_int_equal(used, 9);
	assert_int_equal(imap_parser_command(p)->def->id, IMAP_CMD_CHECK);
	assert_int_equal(imap_parser_feed(p, in + 17, strlen(in) - 17, &used),
	                 IMAP_PARSE_DONE);
	assert_int_equal(imap_parser_command(p)->def->id, IMAP_CMD_LOGOUT);
	assert_int_equal(imap_parser_feed(p, "", 0, &used), IMAP_PARSE_MORE);
	imap_parser_free(&p);
}

/* APPEND: the literal is announced with the command so far readable, and
 * the caller reads the message itself (streamed to disk). */
static void literal_external(void **state)
{
	struct imap_parse_limits lim = auth_limits();
	struct imap_parser *p = imap_parser_new(&lim);
	char in[1024];
	int n = snprintf(in, sizeof(in),
	                 "A003 APPEND saved-messages (\\Seen) {%zu}\r\n%s\r\n",
	                 strlen(append_msg), append_msg);
	assert_int_equal(strlen(append_msg), 310);
	size_t used;
	assert_int_equal(imap_parser_feed(p, in, (size_t)n, &used),
	                 IMAP_PARSE_LITERAL);
	assert_int_equal(used, 42);
	const struct imap_literal *lit = imap_parser_literal(p);
	assert_int_equal(lit->size, 310);
	assert_true(lit->sync);
	assert_false(lit->binary);
	const struct imap_command *c = imap_parser_command(p);
	assert_string_equal(c->tag, "A003");
	assert_int_equal(c->def->id, IMAP_CMD_APPEND);
	assert_int_equal(c->n_top, 3);
	assert_string_equal(c->args[0].str, "saved-messages");
	assert_null(c->args[3].str); /* not here yet */
	/* feeding before an answer changes nothing */
	size_t none;
	assert_int_equal(imap_parser_feed(p, in + used, 5, &none),
	                 IMAP_PARSE_LITERAL);
	assert_int_equal(none, 0);
	imap_parser_literal_accept(p, true);
	size_t off = used + 310; /* the caller took the message */
	assert_int_equal(imap_parser_feed(p, in + off, (size_t)n - off, &used),
	                 IMAP_PARSE_DONE);
	assert_int_equal(used, 2);
	c = imap_parser_command(p);
	assert_true(c->args[3].external);
	assert_int_equal(c->args[3].len, 310);
	assert_null(c->args[3].str);
	assert_string_equal(c->args[2].str, "\\Seen");
	imap_parser_free(&p);
}

/* The caller refuses (say, over quota): the command is dropped. */
static void literal_refused_by_caller(void **state)
{
	struct imap_parse_limits lim = auth_limits();
	struct imap_parser *p = imap_parser_new(&lim);
	const char *in = "a APPEND x {5+}\r\nhello\r\nb NOOP\r\n";
	struct run r;
	size_t used;
	assert_int_equal(imap_parser_feed(p, in, strlen(in), &used),
	                 IMAP_PARSE_LITERAL);
	imap_parser_literal_refuse(p);
	feed(p, in + used, strlen(in) - used, 0, &r);
	assert_int_equal(r.result, IMAP_PARSE_DONE);
	assert_string_equal(r.out, "b NOOP");
	/* a synchronising literal: the client never sends it */
	in = "c APPEND x {5}\r\nd NOOP\r\n";
	assert_int_equal(imap_parser_feed(p, in, strlen(in), &used),
	                 IMAP_PARSE_LITERAL);
	imap_parser_literal_refuse(p);
	feed(p, in + used, strlen(in) - used, 1, &r);
	assert_string_equal(r.out, "d NOOP");
	imap_parser_free(&p);
}

/* ---- malformed input: one case per row ---- */

struct bad_case {
	const char *name;
	const char *in;
	size_t len; /* 0: strlen */
	const char *msg;
	bool tagged;
	const char *code;
};

static const struct bad_case bad[] = {
        {"bare LF", "a NOOP\n", 0, "Line must end with CRLF", false, NULL},
        {"empty line", "\r\n", 0, "Empty command line", false, NULL},
        {"invalid tag", "+a NOOP\r\n", 0, "Invalid tag", false, NULL},
        {"tag with *", "a* NOOP\r\n", 0, "Invalid tag", false, NULL},
        {"tag *", "* NOOP\r\n", 0, "Invalid tag", false, NULL},
        {"missing command", "a\r\n", 0, "Missing command", true, NULL},
        {"missing command after SP", "a \r\n", 0, "Missing command", true,
         NULL},
        {"unknown command", "a BOGUS\r\n", 0, "Unknown command", true, NULL},
        {"UID without a UID form", "a UID NOOP\r\n", 0, "Unknown command", true,
         NULL},
        {"UID alone", "a UID\r\n", 0, "Unknown command", true, NULL},
        {"NUL in quoted", "a LOGIN \"a\0b\" c\r\n", 17,
         "NUL byte in quoted string", true, NULL},
        {"NUL in atom", "a LOGIN a\0b c\r\n", 15, "NUL byte in atom", true,
         NULL},
        {"8-bit in atom", "a SELECT f\xc3\xa9\r\n", 0,
         "8-bit character in atom", true, NULL},
        {"control in atom", "a SELECT f\x01x\r\n", 0,
         "Control character in atom", true, NULL},
        {"bare CR in atom", "a SELECT f\rx\r\n", 0, "Control character in atom",
         true, NULL},
        {"bad escape", "a LOGIN \"a\\nb\" c\r\n", 0,
         "Invalid escape in quoted string", true, NULL},
        {"unterminated quoted", "a LOGIN \"abc\r\n", 0,
         "Unterminated quoted string", true, NULL},
        {"escape at the end", "a LOGIN \"abc\\\r\n", 0,
         "Unterminated quoted string", true, NULL},
        {"bad UTF-8 in quoted", "a SELECT \"\xc3\"\r\n", 0,
         "Invalid UTF-8 in quoted string", true, NULL},
        {"literal size 2^32", "a LOGIN {4294967296}\r\n", 0,
         "Literal too large", true, "TOOBIG"},
        {"literal size 11 digits", "a LOGIN {00000000001}\r\n", 0,
         "Literal too large", true, "TOOBIG"},
        {"literal size huge", "a LOGIN {99999999999999999999999}\r\n", 0,
         "Literal too large", true, "TOOBIG"},
        {"literal over literal_max", "a APPEND x {1048577}\r\n", 0,
         "Literal too large", true, "TOOBIG"},
        {"literal not last", "a LOGIN {5} x\r\n", 0,
         "Literal must end the line", true, NULL},
        {"literal without size", "a LOGIN {}\r\n", 0, "Invalid literal size",
         true, NULL},
        {"literal bad close", "a LOGIN {5x}\r\n", 0, "Invalid literal", true,
         NULL},
        {"literal8 bad", "a LOGIN ~{5\r\n", 0, "Invalid literal", true, NULL},
        {"trailing space", "a NOOP \r\n", 0, "Trailing space", true, NULL},
        {"double space", "a SEARCH 1  2\r\n", 0, "Extra space", true, NULL},
        {"space before )", "a SEARCH (1 )\r\n", 0, "Space before )", true,
         NULL},
        {"missing )", "a SEARCH (1\r\n", 0, "Missing )", true, NULL},
        {"unexpected )", "a SEARCH 1)\r\n", 0, "Unexpected )", true, NULL},
        {"( inside atom", "a SEARCH 1(2)\r\n", 0, "Invalid character in atom",
         true, NULL},
        {"lists without space", "a SEARCH (1)(2)\r\n", 0,
         "Missing space between arguments", true, NULL},
        {"unterminated section", "a FETCH 1 BODY[HEADER\r\n", 0,
         "Unterminated section [", true, NULL},
        {"nested list in section", "a FETCH 1 BODY[HEADER.FIELDS ((A))]\r\n", 0,
         "Unbalanced parentheses in section", true, NULL},
        {"8-bit in section", "a FETCH 1 BODY[\xc3\xa9]\r\n", 0,
         "8-bit character in atom", true, NULL},
        {"nesting 17 deep",
         "a SEARCH (((((((((((((((((ALL)))))))))))))))))\r\n", 0,
         "Lists nested too deeply", true, NULL},
};

static void bad_cases(void **state)
{
	struct imap_parse_limits lim = auth_limits();
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		const struct bad_case *c = &bad[i];
		size_t len = c->len != 0 ? c->len : strlen(c->in);
		for (size_t step = 0; step < 2; step++) {
			struct imap_parser *p = imap_parser_new(&lim);
			struct run r;
			feed(p, c->in, len, step, &r);
			const struct imap_parse_error *e = imap_parser_error(p);
			if (r.result != IMAP_PARSE_ERROR ||
			    strcmp(e->msg, c->msg) != 0 ||
			    e->tagged != c->tagged ||
			    (c->code == NULL) != (e->code == NULL) || e->fatal)
				fail_msg("%s (step %zu): result %d [%s] tagged "
				         "%d",
				         c->name, step, r.result, r.out,
				         e->tagged);
			if (c->tagged)
				assert_string_equal(imap_parser_command(p)->tag,
				                    "a");
			/* and the next command is read as usual */
			feed(p, "z NOOP\r\n", 8, step, &r);
			if (r.result != IMAP_PARSE_DONE)
				fail_msg("%s: after the error: %d [%s]",
				         c->name, r.result, r.out);
			imap_parser_free(&p);
		}
	}
}

/* 16 levels are allowed; the 17th is the case above. */
static void nesting_16_ok(void **state)
{
	struct run r;
	struct imap_parser *p = parse_one(
	        "a SEARCH ((((((((((((((((ALL))))))))))))))))\r\n", &r);
	assert_int_equal(imap_parser_command(p)->n_args, 17);
	imap_parser_free(&p);
}

static struct imap_parser *expect_error(const struct imap_parse_limits *lim,
                                        const char *in, size_t len,
                                        const char *msg, struct run *r)
{
	struct imap_parser *p = imap_parser_new(lim);
	feed(p, in, len, 0, r);
	if (r->result != IMAP_PARSE_ERROR || strcmp(r->out, msg) != 0)
		fail_msg("%s: %d [%s]", in, r->result, r->out);
	return p;
}

static void limit_args(void **state)
{
	struct imap_parse_limits lim = auth_limits();
	lim.args_max = 4;
	struct run r;
	struct imap_parser *p = expect_error(&lim, "a SEARCH 1 2 3 4 5\r\n", 20,
	                                     "Too many arguments", &r);
	imap_parser_free(&p);
	p = expect_error(&lim, "a SEARCH 1 (2 3) 4\r\n", 20,
	                 "Too many arguments", &r);
	imap_parser_free(&p);
	p = imap_parser_new(&lim);
	feed(p, "a SEARCH 1 2 3 4\r\n", 18, 0, &r);
	assert_int_equal(r.result, IMAP_PARSE_DONE);
	imap_parser_free(&p);
}

/* An over-long line is refused as soon as it passes the limit, tagged,
 * and the rest of it is dropped as it arrives. */
static void limit_line(void **state)
{
	struct imap_parse_limits lim = auth_limits();
	lim.text_max = 64;
	char in[256];
	memset(in, 'x', sizeof(in));
	memcpy(in, "t1 SEARCH ", 10);
	memcpy(in + 200, "\r\nt2 NOOP\r\n", 11);
	struct imap_parser *p = imap_parser_new(&lim);
	struct run r;
	feed(p, in, 211, 0, &r);
	assert_int_equal(r.result, IMAP_PARSE_ERROR);
	assert_string_equal(r.out, "Command line too long");
	assert_true(imap_parser_error(p)->tagged);
	assert_string_equal(imap_parser_command(p)->tag, "t1");
	assert_true(r.used <= 64);
	size_t off = r.used;
	feed(p, in + off, 211 - off, 0, &r);
	assert_int_equal(r.result, IMAP_PARSE_DONE);
	assert_string_equal(r.out, "t2 NOOP");
	imap_parser_free(&p);
	/* exactly at the limit: fine */
	p = imap_parser_new(&lim);
	memcpy(in + 62, "\r\n", 2);
	feed(p, in, 64, 1, &r);
	assert_int_equal(r.result, IMAP_PARSE_DONE);
	imap_parser_free(&p);
	/* the text limit counts every line of a command with literals */
	p = imap_parser_new(&lim);
	const char *two = "t1 SEARCH xxxxxxxxxxxxxxxxxxxx {1+}\r\nx "
	                  "xxxxxxxxxxxxxxxxxxxx {1+}\r\nx\r\n";
	feed(p, two, strlen(two), 0, &r);
	assert_int_equal(r.result, IMAP_PARSE_ERROR);
	assert_string_equal(r.out, "Command line too long");
	imap_parser_free(&p);
}

static void limit_command(void **state)
{
	struct imap_parse_limits lim = auth_limits();
	lim.command_max = 100;
	struct run r;
	struct imap_parser *p = expect_error(&lim, "a APPEND x {90}\r\n", 17,
	                                     "Command too large", &r);
	imap_parser_free(&p);
	p = imap_parser_new(&lim);
	char in[84];
	memset(in, 'm', sizeof(in));
	memcpy(in, "a APPEND x {60}\r\n", 17);
	memcpy(in + 77, " {60}\r\n", 7);
	feed(p, in, sizeof(in), 0, &r);
	assert_int_equal(r.result, IMAP_PARSE_ERROR);
	assert_string_equal(r.out, "Command too large");
	assert_string_equal(imap_parser_error(p)->code, "TOOBIG");
	assert_int_equal(r.literals, 1);
	imap_parser_free(&p);
	lim.literal_max = 50;
	p = expect_error(&lim, "a APPEND x {51}\r\n", 17, "Literal too large",
	                 &r);
	imap_parser_free(&p);
}

static void literal_pre_auth(void **state)
{
	struct imap_parse_limits lim;
	imap_parse_limits_init(&lim, true, 1024 * 1024);
	assert_int_equal(lim.literal_max, 0);
	struct run r;
	struct imap_parser *p = expect_error(
	        &lim, "a LOGIN {5}\r\n", 13,
	        "Literals are not allowed before authentication", &r);
	assert_true(imap_parser_error(p)->tagged);
	assert_int_equal(r.sync, 0);
	/* the client waits for "+": what follows is its next command */
	feed(p, "b LOGIN joe secret\r\n", 20, 0, &r);
	assert_string_equal(r.out, "b LOGIN joe secret");
	/* a non-synchronising one is skipped, unread */
	feed(p, "c LOGIN {3+}\r\njoe {6+}\r\nsecret\r\nd NOOP\r\n", 40, 0, &r);
	assert_int_equal(r.result, IMAP_PARSE_ERROR);
	feed(p, "c LOGIN {3+}\r\njoe {6+}\r\nsecret\r\nd NOOP\r\n" + r.used,
	     40 - r.used, 1, &r);
	assert_string_equal(r.out, "d NOOP");
	/* after LOGIN the session gives the parser the full limits */
	struct imap_parse_limits auth = auth_limits();
	imap_parser_set_limits(p, &auth);
	feed(p, "e APPEND x {3}\r\nabc\r\n", 21, 0, &r);
	assert_string_equal(r.out, "e APPEND x {3}abc");
	imap_parser_free(&p);
}

/* RFC 7888 4: with LITERAL- only, {N+} is at most 4096 bytes. */
static void literal_minus(void **state)
{
	struct imap_parse_limits lim = auth_limits();
	lim.literal_plus = false;
	char *in = malloc(5000 + 64);
	memset(in, 'm', 5000 + 64);
	int n = snprintf(in, 64, "a APPEND x {4097+}\r\n");
	in[n] = 'm';
	struct run r;
	struct imap_parser *p = expect_error(&lim, in, (size_t)n,
	                                     "Non-synchronizing literal too "
	                                     "large",
	                                     &r);
	assert_string_equal(imap_parser_error(p)->code, "TOOBIG");
	assert_false(imap_parser_error(p)->fatal);
	/* the 4097 bytes the client sent anyway are dropped */
	memcpy(in + n + 4097, "\r\nb NOOP\r\n", 10);
	feed(p, in + n, 4097 + 10, 100, &r);
	assert_string_equal(r.out, "b NOOP");
	imap_parser_free(&p);
	/* 4096 passes, and so does a synchronising 4097 */
	p = imap_parser_new(&lim);
	n = snprintf(in, 64, "a APPEND x {4096+}\r\n");
	in[n] = 'm';
	memcpy(in + n + 4096, "\r\n", 2);
	feed(p, in, (size_t)n + 4098, 0, &r);
	assert_int_equal(r.result, IMAP_PARSE_DONE);
	n = snprintf(in, 64, "a APPEND x {4097}\r\n");
	memset(in + n, 'm', 4097);
	memcpy(in + n + 4097, "\r\n", 2);
	feed(p, in, (size_t)n + 4099, 0, &r);
	assert_int_equal(r.result, IMAP_PARSE_DONE);
	assert_int_equal(r.sync, 1);
	imap_parser_free(&p);
	free(in);
}

static void literal_nul(void **state)
{
	struct imap_parse_limits lim = auth_limits();
	const char in[] = "a LOGIN {3}\r\na\0b c\r\nd NOOP\r\n";
	struct run r;
	struct imap_parser *p = expect_error(&lim, in, sizeof(in) - 1,
	                                     "NUL byte in literal (use "
	                                     "literal8)",
	                                     &r);
	feed(p, in + r.used, sizeof(in) - 1 - r.used, 0, &r);
	assert_string_equal(r.out, "d NOOP");
	imap_parser_free(&p);
}

/* A refused non-synchronising literal whose size cannot be read: nothing
 * after it can be trusted, so the session closes. */
static void literal_fatal(void **state)
{
	struct imap_parse_limits lim = auth_limits();
	struct run r;
	const char *in = "a BOGUS {99999999999+}\r\nb NOOP\r\n";
	struct imap_parser *p =
	        expect_error(&lim, in, strlen(in), "Unknown command", &r);
	assert_true(imap_parser_error(p)->fatal);
	feed(p, "b NOOP\r\n", 8, 0, &r);
	assert_int_equal(r.result, IMAP_PARSE_ERROR);
	assert_int_equal(r.used, 0);
	imap_parser_free(&p);
}

/* An error before a non-synchronising literal: its bytes are skipped. */
static void error_skips_literal(void **state)
{
	struct imap_parse_limits lim = auth_limits();
	const char *in = "a BOGUS x {5+}\r\nhello {2+}\r\nhi\r\nb NOOP\r\n";
	struct run r;
	struct imap_parser *p =
	        expect_error(&lim, in, strlen(in), "Unknown command", &r);
	feed(p, in + r.used, strlen(in) - r.used, 0, &r);
	assert_string_equal(r.out, "b NOOP");
	imap_parser_free(&p);
}

/* ---- command table ---- */

static void table_rows(void **state)
{
	for (int id = 0; id < IMAP_CMD_COUNT; id++) {
		const struct imap_cmd_def *d = imap_cmd_get(id);
		assert_int_equal(d->id, id);
		assert_true(d->states != 0);
		assert_false(d->states & IMAP_STATE_LOGOUT);
		if (strncmp(d->name, "UID ", 4) == 0)
			assert_ptr_equal(
			        imap_cmd_lookup_uid(d->name + 4,
			                            strlen(d->name) - 4),
			        d);
		else
			assert_ptr_equal(
			        imap_cmd_lookup(d->name, strlen(d->name)), d);
	}
	assert_null(imap_cmd_lookup("UID", 3));
	assert_null(imap_cmd_lookup("UID FETCH", 9));
	assert_null(imap_cmd_lookup_uid("NOOP", 4));
	assert_null(imap_cmd_lookup("NOO", 3));
	assert_null(imap_cmd_lookup("NOOPS", 5));
	assert_int_equal(imap_cmd_lookup("uNsElEcT", 8)->id, IMAP_CMD_UNSELECT);
}

static void table_states(void **state)
{
	const unsigned na = IMAP_STATE_NOT_AUTH, au = IMAP_STATE_AUTH,
	               se = IMAP_STATE_SELECTED, lo = IMAP_STATE_LOGOUT;
	struct {
		const char *name;
		unsigned yes, no;
	} t[] = {
	        {"CAPABILITY", na | au | se, lo},
	        {"LOGOUT", na | au | se, lo},
	        {"ID", na | au | se, lo},
	        {"LOGIN", na, au | se | lo},
	        {"STARTTLS", na, au | se | lo},
	        {"AUTHENTICATE", na, au | se | lo},
	        {"ENABLE", au, na | se | lo},
	        {"SELECT", au | se, na | lo},
	        {"APPEND", au | se, na | lo},
	        {"LSUB", au | se, na | lo},
	        {"GETQUOTAROOT", au | se, na | lo},
	        {"FETCH", se, na | au | lo},
	        {"EXPUNGE", se, na | au | lo},
	        {"THREAD", se, na | au | lo},
	};
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		const struct imap_cmd_def *d =
		        imap_cmd_lookup(t[i].name, strlen(t[i].name));
		assert_non_null(d);
		for (unsigned bit = 1; bit <= lo; bit <<= 1) {
			if (t[i].yes & bit)
				assert_true(imap_cmd_allowed(d, bit));
			if (t[i].no & bit)
				assert_false(imap_cmd_allowed(d, bit));
		}
	}
	assert_int_equal(imap_cmd_lookup_uid("expunge", 7)->states, se);
}

/* ---- sequence sets ---- */

static void seqset_good(void **state)
{
	struct imap_seq_range r[8];
	struct imap_seqset set = {.ranges = r, .cap = 8};
	const char *why = NULL;
	assert_int_equal(imap_seqset_parse("1:*", 3, &set, &why), 0);
	assert_int_equal(set.n, 1);
	assert_int_equal(r[0].first, 1);
	assert_int_equal(r[0].last, IMAP_SEQ_STAR);
	assert_false(set.saved);
	assert_int_equal(imap_seqset_parse("5,7:9,*", 7, &set, &why), 0);
	assert_int_equal(set.n, 3);
	assert_int_equal(r[0].first, 5);
	assert_int_equal(r[0].last, 5);
	assert_int_equal(r[1].first, 7);
	assert_int_equal(r[1].last, 9);
	assert_int_equal(r[2].first, IMAP_SEQ_STAR);
	assert_true(imap_seqset_contains(&set, 8, 20));
	assert_false(imap_seqset_contains(&set, 6, 20));
	assert_true(imap_seqset_contains(&set, 20, 20)); /* "*" */
	assert_false(imap_seqset_contains(&set, 19, 20));
	assert_int_equal(imap_seqset_parse("$", 1, &set, &why), 0);
	assert_true(set.saved);
	assert_int_equal(set.n, 0);
	assert_int_equal(imap_seqset_parse("4294967295", 10, &set, &why), 0);
	assert_int_equal(r[0].first, 4294967295u);
	/* RFC 9051 9: "2:4" and "4:2" are the same; "*:4" with 2 messages */
	assert_int_equal(imap_seqset_parse("9:2,*:4", 7, &set, &why), 0);
	assert_true(imap_seqset_contains(&set, 5, 100));
	assert_true(imap_seqset_contains(&set, 3, 3));
	assert_false(imap_seqset_contains(&set, 1, 3));
}

static void seqset_bad(void **state)
{
	struct {
		const char *in;
		const char *why;
	} t[] = {
	        {"0", "Invalid sequence set: 0 is not a message number"},
	        {"1:0", "Invalid sequence set: 0 is not a message number"},
	        {"1:", "Invalid sequence set: number expected"},
	        {":5", "Invalid sequence set: number expected"},
	        {"1,,2", "Invalid sequence set: number expected"},
	        {"1,", "Invalid sequence set"},
	        {"", "Invalid sequence set: number expected"},
	        {"4294967296", "Invalid sequence set: number too large"},
	        {"00000000001", "Invalid sequence set: number too large"},
	        {"1:2:3", "Invalid sequence set"},
	        {"$,1", "Invalid sequence set: number expected"},
	        {"1,$", "Invalid sequence set: number expected"},
	        {"1 2", "Invalid sequence set"},
	        {"-1", "Invalid sequence set: number expected"},
	        {"**", "Invalid sequence set"},
	        {"1,2,3,4,5,6,7,8,9", "Sequence set has too many ranges"},
	};
	struct imap_seq_range r[8];
	struct imap_seqset set = {.ranges = r, .cap = 8};
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		const char *why = NULL;
		if (imap_seqset_parse(t[i].in, strlen(t[i].in), &set, &why) !=
		            -1 ||
		    strcmp(why, t[i].why) != 0)
			fail_msg("%s: %s", t[i].in, why ? why : "(accepted)");
	}
}

/* ---- modified UTF-7 ---- */

static void mutf7_rfc3501_example(void **state)
{
	const char *wire = "~peter/mail/&U,BTFw-/&ZeVnLIqe-";
	const char *utf8 = "~peter/mail/\xe5\x8f\xb0\xe5\x8c\x97/"
	                   "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e";
	struct buf b;
	buf_init(&b, 1024);
	const char *why = NULL;
	assert_int_equal(imap_mutf7_decode(wire, strlen(wire), &b, &why), 0);
	assert_string_equal(buf_cstr(&b), utf8);
	buf_clear(&b);
	assert_int_equal(imap_mutf7_encode(utf8, strlen(utf8), &b, &why), 0);
	assert_string_equal(buf_cstr(&b), wire);
	buf_free(&b);
}

static void mutf7_round_trips(void **state)
{
	struct {
		const char *utf8, *wire;
	} t[] = {
	        {"&", "&-"},
	        {"Tom & Jerry", "Tom &- Jerry"},
	        {"&&", "&-&-"},
	        {"Entw\xc3\xbcrfe", "Entw&APw-rfe"},
	        {"\xc3\xa9", "&AOk-"},
	        {"\xf0\x9f\x98\x80", "&2D3eAA-"}, /* a surrogate pair */
	        {"\xc3\xa9&\xc3\xa9", "&AOk-&-&AOk-"},
	        {"a\x01", "a&AAE-"}, /* a control is encoded, not refused */
	        {"", ""},
	        {"plain", "plain"},
	};
	struct buf b;
	buf_init(&b, 1024);
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		const char *why = NULL;
		buf_clear(&b);
		assert_int_equal(imap_mutf7_encode(t[i].utf8, strlen(t[i].utf8),
		                                   &b, &why),
		                 0);
		assert_string_equal(buf_cstr(&b), t[i].wire);
		buf_clear(&b);
		assert_int_equal(imap_mutf7_decode(t[i].wire, strlen(t[i].wire),
		                                   &b, &why),
		                 0);
		assert_string_equal(buf_cstr(&b), t[i].utf8);
	}
	buf_free(&b);
}

static void mutf7_invalid(void **state)
{
	struct {
		const char *in, *why;
	} t[] = {
	        {"&Jjo", "Invalid modified UTF-7: unterminated &"},
	        {"&", "Invalid modified UTF-7: unterminated &"},
	        {"a&", "Invalid modified UTF-7: unterminated &"},
	        {"&AGE-", "Invalid modified UTF-7: printable ASCII encoded"},
	        {"&ACY-", "Invalid modified UTF-7: printable ASCII encoded"},
	        {"&Jjo!-", "Invalid modified UTF-7: bad base64"},
	        {"&AO/-", "Invalid modified UTF-7: bad base64"}, /* "/" */
	        {"&AOk=-", "Invalid modified UTF-7: bad base64"},
	        {"&AOl-", "Invalid modified UTF-7: extra bits"},
	        {"&AOkA-", "Invalid modified UTF-7: extra bits"},
	        {"&A-", "Invalid modified UTF-7: extra bits"},
	        {"&AAA-", "Invalid modified UTF-7: NUL encoded"},
	        {"&2D0-", "Invalid modified UTF-7: broken surrogate pair"},
	        {"&3gA-", "Invalid modified UTF-7: broken surrogate pair"},
	        {"&AOk-&AOk-",
	         "Invalid modified UTF-7: two encoded runs side by side"},
	        {"\xc3\xa9",
	         "Invalid modified UTF-7: 8-bit or control character"},
	        {"a\tb", "Invalid modified UTF-7: 8-bit or control character"},
	};
	struct buf b;
	buf_init(&b, 1024);
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		const char *why = NULL;
		if (imap_mutf7_decode(t[i].in, strlen(t[i].in), &b, &why) !=
		            -1 ||
		    strcmp(why, t[i].why) != 0)
			fail_msg("%s: %s", t[i].in, why ? why : "(accepted)");
	}
	const char *why = NULL;
	assert_int_equal(imap_mutf7_encode("\xc3", 1, &b, &why), -1);
	assert_int_equal(imap_mutf7_encode("a\0b", 3, &b, &why), -1);
	buf_free(&b);
}

/* ---- mailbox names and Maildir++ ---- */

static void mailbox_check_bad(void **state)
{
	struct {
		const char *in;
		size_t len;
		const char *why;
	} t[] = {
	        {"../x", 0, "Mailbox name component . or .. is not allowed"},
	        {"a/../b", 0, "Mailbox name component . or .. is not allowed"},
	        {"a/..", 0, "Mailbox name component . or .. is not allowed"},
	        {"./a", 0, "Mailbox name component . or .. is not allowed"},
	        {"..", 0, "Mailbox name component . or .. is not allowed"},
	        {"/abs", 0, "Mailbox name must not start with /"},
	        {"a//b", 0, "Empty component in mailbox name"},
	        {"a/", 0, "Empty component in mailbox name"},
	        {"", 0, "Empty mailbox name"},
	        {"a\0b", 3, "Control character in mailbox name"},
	        {"a\nb", 0, "Control character in mailbox name"},
	        {"a\x7f", 0, "Control character in mailbox name"},
	        {"a\xc2\x85", 0, "Control character in mailbox name"},
	        {"a\xc3", 0, "Mailbox name is not UTF-8"},
	        {"a\xc0\xaf", 0,
	         "Mailbox name is not UTF-8"}, /* overlong "/" */
	        /* URL escapes of "/", "\\" and ".": refused, never decoded */
	        {"%2Fetc", 0, "Mailbox name must not hold %2F, %5C or %2E"},
	        {"..%2fdave", 0, "Mailbox name must not hold %2F, %5C or %2E"},
	        {"a%5Cb", 0, "Mailbox name must not hold %2F, %5C or %2E"},
	        {"%2E%2E/x", 0, "Mailbox name must not hold %2F, %5C or %2E"},
	        {"x/%2e", 0, "Mailbox name must not hold %2F, %5C or %2E"},
	};
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		const char *why = NULL;
		size_t len = t[i].len != 0 ? t[i].len : strlen(t[i].in);
		if (imap_mailbox_check(t[i].in, len, &why) != -1 ||
		    strcmp(why, t[i].why) != 0)
			fail_msg("%s: %s", t[i].in, why ? why : "(accepted)");
	}
	char *big = malloc(IMAP_MAILBOX_MAX + 2);
	memset(big, 'a', IMAP_MAILBOX_MAX + 1);
	const char *why;
	assert_int_equal(imap_mailbox_check(big, IMAP_MAILBOX_MAX + 1, &why),
	                 -1);
	assert_string_equal(why, "Mailbox name too long");
	free(big);
}

static void mailbox_maildir(void **state)
{
	struct {
		const char *name, *folder, *back;
	} t[] = {
	        {"INBOX", "", "INBOX"},
	        {"inbox", "", "INBOX"},
	        {"Sent", ".Sent", "Sent"},
	        {"a/b", ".a.b", "a/b"},
	        {"a.b", ".a%2Eb", "a.b"},
	        {".hidden", ".%2Ehidden", ".hidden"},
	        {"100%", ".100%25", "100%"},
	        {"a%2Gb", ".a%252Gb", "a%2Gb"}, /* plain text, not an escape */
	        {"inbox/x", ".INBOX.x", "INBOX/x"},
	        {"Inboxes", ".Inboxes", "Inboxes"},
	        {"Entw\xc3\xbcrfe", ".Entw&APw-rfe", "Entw\xc3\xbcrfe"},
	        {"Tom & Jerry/x", ".Tom &- Jerry.x", "Tom & Jerry/x"},
	        {"~peter/mail/\xe5\x8f\xb0\xe5\x8c\x97",
	         ".~peter.mail.&U,BTFw-",
	         "~peter/mail/\xe5\x8f\xb0\xe5\x8c\x97"},
	};
	struct buf b;
	buf_init(&b, 1024);
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		const char *why = NULL;
		buf_clear(&b);
		if (imap_mailbox_to_maildir(t[i].name, strlen(t[i].name), &b,
		                            &why) != 0)
			fail_msg("%s: %s", t[i].name, why);
		assert_string_equal(buf_cstr(&b), t[i].folder);
		buf_clear(&b);
		if (imap_mailbox_from_maildir(t[i].folder, strlen(t[i].folder),
		                              &b, &why) != 0)
			fail_msg("%s: %s", t[i].folder, why);
		assert_string_equal(buf_cstr(&b), t[i].back);
	}
	buf_free(&b);
}

static void mailbox_maildir_bad(void **state)
{
	struct buf b;
	buf_init(&b, 4096);
	const char *why = NULL;
	const char *names[] = {"../x", "a/../b", "/abs", "a//b"};
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		assert_int_equal(imap_mailbox_to_maildir(
		                         names[i], strlen(names[i]), &b, &why),
		                 -1);
	/* one Maildir++ folder is one file name: 255 bytes at most */
	char name[300];
	memset(name, 'a', sizeof(name));
	assert_int_equal(imap_mailbox_to_maildir(name, 254, &b, &why), 0);
	buf_clear(&b);
	assert_int_equal(imap_mailbox_to_maildir(name, 255, &b, &why), -1);
	assert_string_equal(why, "Mailbox name too long");
	/* ".a%252Fb" would be "a%2Fb", a name imap_mailbox_check() refuses */
	const char *folders[] = {"Sent",   ".",    ".a..b",  "..",   ".a.",
	                         ".a%2Xb", ".a%2", ".&AGE-", ".a/b", ".a\x01",
	                         ".a%252Fb"};
	for (size_t i = 0; i < sizeof(folders) / sizeof(folders[0]); i++) {
		buf_clear(&b);
		if (imap_mailbox_from_maildir(folders[i], strlen(folders[i]),
		                              &b, &why) != -1)
			fail_msg("%s accepted as [%s]", folders[i],
			         buf_cstr(&b));
	}
	buf_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(good_whole),
	        cmocka_unit_test(good_byte_at_a_time),
	        cmocka_unit_test(good_every_split),
	        cmocka_unit_test(command_structure),
	        cmocka_unit_test(command_numbers_and_nil),
	        cmocka_unit_test(command_pipelined),
	        cmocka_unit_test(literal_external),
	        cmocka_unit_test(literal_refused_by_caller),
	        cmocka_unit_test(bad_cases),
	        cmocka_unit_test(nesting_16_ok),
	        cmocka_unit_test(limit_args),
	        cmocka_unit_test(limit_line),
	        cmocka_unit_test(limit_command),
	        cmocka_unit_test(literal_pre_auth),
	        cmocka_unit_test(literal_minus),
	        cmocka_unit_test(literal_nul),
	        cmocka_unit_test(literal_fatal),
	        cmocka_unit_test(error_skips_literal),
	        cmocka_unit_test(table_rows),
	        cmocka_unit_test(table_states),
	        cmocka_unit_test(seqset_good),
	        cmocka_unit_test(seqset_bad),
	        cmocka_unit_test(mutf7_rfc3501_example),
	        cmocka_unit_test(mutf7_round_trips),
	        cmocka_unit_test(mutf7_invalid),
	        cmocka_unit_test(mailbox_check_bad),
	        cmocka_unit_test(mailbox_maildir),
	        cmocka_unit_test(mailbox_maildir_bad),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
