/* Tests for src/mail/command.c: SMTP line framing (RFC 5321 4.5.3.1.4) and
 * the verb/argument split. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "mail/command.h"

#include "lib/buf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { MAX = SMTP_COMMAND_LINE_MAX };

static const char *line_result_name(enum smtp_line_result r)
{
	switch (r) {
	case SMTP_LINE_NONE:
		return "NONE";
	case SMTP_LINE_OK:
		return "OK";
	case SMTP_LINE_TOO_LONG:
		return "TOO_LONG";
	case SMTP_LINE_BARE_LF:
		return "BARE_LF";
	}
	return "?";
}

/* One call on a fresh reader: exact result, consumed and line length. */
static void expect_line(const char *data, size_t len,
                        enum smtp_line_result want, size_t want_consumed,
                        size_t want_line_len)
{
	struct smtp_line_reader r = {0};
	size_t consumed = 99999, line_len = 99999;
	enum smtp_line_result got =
	        smtp_line_next(&r, data, len, MAX, &consumed, &line_len);
	if (got != want || consumed != want_consumed ||
	    (want == SMTP_LINE_OK && line_len != want_line_len))
		fail_msg("len %zu: got %s consumed %zu line_len %zu; want %s "
		         "%zu %zu",
		         len, line_result_name(got), consumed, line_len,
		         line_result_name(want), want_consumed, want_line_len);
}

/* A line of n bytes in total: 'A's, then CR LF. */
static char *long_line(size_t n, char fill)
{
	char *s = malloc(n + 1);
	assert_non_null(s);
	memset(s, fill, n - 2);
	memcpy(s + n - 2, "\r\n", 3);
	return s;
}

static void line_single_calls(void **state)
{
	expect_line("NOOP\r\n", 6, SMTP_LINE_OK, 6, 4);
	expect_line("\r\n", 2, SMTP_LINE_OK, 2, 0);
	/* a bare CR inside is left for the command parser to refuse */
	expect_line("NO\rOP\r\n", 7, SMTP_LINE_OK, 7, 5);
	expect_line("NOOP\r\r\n", 7, SMTP_LINE_OK, 7, 5);
	/* incomplete lines: nothing consumed */
	expect_line("", 0, SMTP_LINE_NONE, 0, 0);
	expect_line("NOOP", 4, SMTP_LINE_NONE, 0, 0);
	expect_line("NOOP\r", 5, SMTP_LINE_NONE, 0, 0);
	/* a LF without CR ends a line, reported as such */
	expect_line("NOOP\n", 5, SMTP_LINE_BARE_LF, 5, 0);
	expect_line("\n", 1, SMTP_LINE_BARE_LF, 1, 0);
	expect_line("\nNOOP\r\n", 7, SMTP_LINE_BARE_LF, 1, 0);
	expect_line("NO\nOP\r\n", 7, SMTP_LINE_BARE_LF, 3, 0);
}

static void line_pipelined(void **state)
{
	const char *in = "NOOP\r\nRSET\r\nQUIT\r\n";
	struct smtp_line_reader r = {0};
	size_t consumed, line_len;
	assert_int_equal(smtp_line_next(&r, in, 18, MAX, &consumed, &line_len),
	                 SMTP_LINE_OK);
	assert_int_equal(consumed, 6);
	assert_int_equal(line_len, 4);
	assert_memory_equal(in, "NOOP", 4);
	assert_int_equal(
	        smtp_line_next(&r, in + 6, 12, MAX, &consumed, &line_len),
	        SMTP_LINE_OK);
	assert_int_equal(consumed, 6);
	assert_int_equal(line_len, 4);
	assert_memory_equal(in + 6, "RSET", 4);
	assert_int_equal(
	        smtp_line_next(&r, in + 12, 6, MAX, &consumed, &line_len),
	        SMTP_LINE_OK);
	assert_int_equal(consumed, 6);
	assert_int_equal(
	        smtp_line_next(&r, in + 18, 0, MAX, &consumed, &line_len),
	        SMTP_LINE_NONE);
	assert_int_equal(consumed, 0);
}

/* A line split across reads: nothing is consumed until it is whole. */
static void line_split_across_calls(void **state)
{
	struct smtp_line_reader r = {0};
	size_t consumed, line_len;
	char buf[32];
	memcpy(buf, "EHLO cl", 7);
	assert_int_equal(smtp_line_next(&r, buf, 7, MAX, &consumed, &line_len),
	                 SMTP_LINE_NONE);
	assert_int_equal(consumed, 0);
	memcpy(buf + 7, "ient\r", 5);
	assert_int_equal(smtp_line_next(&r, buf, 12, MAX, &consumed, &line_len),
	                 SMTP_LINE_NONE);
	assert_int_equal(consumed, 0);
	memcpy(buf + 12, "\nNO", 3);
	assert_int_equal(smtp_line_next(&r, buf, 15, MAX, &consumed, &line_len),
	                 SMTP_LINE_OK);
	assert_int_equal(consumed, 13);
	assert_int_equal(line_len, 11);
	assert_memory_equal(buf, "EHLO client", 11);
	assert_int_equal(
	        smtp_line_next(&r, buf + 13, 2, MAX, &consumed, &line_len),
	        SMTP_LINE_NONE);
	assert_int_equal(consumed, 0);
}

/* RFC 5321 4.5.3.1.4: 512 octets including CR LF is the longest line. */
static void line_length_limit(void **state)
{
	char *at = long_line(MAX, 'A');
	expect_line(at, MAX, SMTP_LINE_OK, MAX, MAX - 2);
	/* 511 bytes without the LF yet: still possibly a legal line */
	expect_line(at, MAX - 1, SMTP_LINE_NONE, 0, 0);
	free(at);

	/* 512 bytes and no LF: the line is over-long whatever comes next,
	 * so it is dropped as it arrives, and reported at its LF */
	char *over = long_line(MAX + 1, 'B');
	struct smtp_line_reader r = {0};
	size_t consumed = 0, line_len = 0;
	assert_int_equal(
	        smtp_line_next(&r, over, MAX, MAX, &consumed, &line_len),
	        SMTP_LINE_NONE);
	assert_int_equal(consumed, MAX);
	assert_true(r.discarding);
	assert_int_equal(
	        smtp_line_next(&r, over + MAX, 1, MAX, &consumed, &line_len),
	        SMTP_LINE_TOO_LONG);
	assert_int_equal(consumed, 1);
	assert_false(r.discarding);
	/* reported once: the next line is read normally */
	assert_int_equal(
	        smtp_line_next(&r, "QUIT\r\n", 6, MAX, &consumed, &line_len),
	        SMTP_LINE_OK);
	assert_int_equal(consumed, 6);
	assert_int_equal(line_len, 4);
	free(over);
}

/* An over-long line that arrives in pieces is dropped piece by piece and
 * reported once, when its LF comes. */
static void line_too_long_in_pieces(void **state)
{
	char big[1500];
	memset(big, 'x', sizeof(big));
	struct smtp_line_reader r = {0};
	size_t consumed = 0, line_len = 0;
	assert_int_equal(
	        smtp_line_next(&r, big, 600, MAX, &consumed, &line_len),
	        SMTP_LINE_NONE);
	assert_int_equal(consumed, 600);
	assert_int_equal(
	        smtp_line_next(&r, big, 900, MAX, &consumed, &line_len),
	        SMTP_LINE_NONE);
	assert_int_equal(consumed, 900);
	/* discarding: even a short piece without LF is dropped */
	assert_int_equal(smtp_line_next(&r, big, 3, MAX, &consumed, &line_len),
	                 SMTP_LINE_NONE);
	assert_int_equal(consumed, 3);
	const char *tail = "xx\r\nNOOP\r\n";
	assert_int_equal(
	        smtp_line_next(&r, tail, 10, MAX, &consumed, &line_len),
	        SMTP_LINE_TOO_LONG);
	assert_int_equal(consumed, 4);
	assert_int_equal(
	        smtp_line_next(&r, tail + 4, 6, MAX, &consumed, &line_len),
	        SMTP_LINE_OK);
	assert_int_equal(consumed, 6);
	assert_int_equal(line_len, 4);
}

/* ------------------------------------------------------------ streams */

/* What a session sees: each non-NONE result, with the line text for OK. */
struct events {
	char text[32][600];
	int n;
};

static void record(struct events *ev, enum smtp_line_result r, const char *line,
                   size_t len)
{
	assert_true(ev->n < 32);
	if (r == SMTP_LINE_OK)
		snprintf(ev->text[ev->n++], sizeof(ev->text[0]), "OK %.*s",
		         (int)len, line);
	else
		snprintf(ev->text[ev->n++], sizeof(ev->text[0]), "%s",
		         line_result_name(r));
}

/* Like the session: take lines from the front of the buffer until the
 * reader asks for more, dropping what it consumed each time. */
static void drain(struct smtp_line_reader *r, struct buf *in, struct events *ev)
{
	for (;;) {
		size_t consumed = 99999, line_len = 0;
		enum smtp_line_result res = smtp_line_next(
		        r, in->data, in->len, MAX, &consumed, &line_len);
		assert_true(consumed <= in->len);
		if (res == SMTP_LINE_OK)
			assert_true(line_len + 2 <= consumed);
		if (res != SMTP_LINE_NONE)
			record(ev, res, in->data, line_len);
		buf_consume(in, consumed);
		if (res == SMTP_LINE_NONE)
			return;
	}
}

/* Feed data in chunks of the given sizes (the rest in the last chunk). */
static void feed_chunks(const char *data, size_t len, const size_t *cuts,
                        size_t n_cuts, struct events *ev)
{
	struct smtp_line_reader r = {0};
	struct buf in;
	buf_init(&in, 0);
	memset(ev, 0, sizeof(*ev));
	size_t pos = 0;
	for (size_t i = 0; i <= n_cuts; i++) {
		size_t end = i < n_cuts ? cuts[i] : len;
		assert_int_equal(buf_append(&in, data + pos, end - pos), 0);
		pos = end;
		drain(&r, &in, ev);
	}
	assert_int_equal(in.len, 0); /* the stream ends with a LF */
	buf_free(&in);
}

/* The stream used below, with an over-long line in the middle. */
static struct buf stream;
static struct events stream_events;

static void build_stream(void)
{
	buf_init(&stream, 0);
	buf_append_str(&stream, "EHLO client.example\r\n");
	for (int i = 0; i < 700; i++) /* 702 bytes with CR LF */
		buf_append_byte(&stream, 'L');
	buf_append_str(&stream, "\r\n");
	buf_append_str(&stream, "MAIL FROM:<a@b.example>\r\n");
	buf_append_str(&stream, "bare\n");
	for (int i = 0; i < MAX - 2; i++) /* exactly 512 */
		buf_append_byte(&stream, 'E');
	buf_append_str(&stream, "\r\n");
	for (int i = 0; i < MAX - 1; i++) /* 513: one too many */
		buf_append_byte(&stream, 'F');
	buf_append_str(&stream, "\r\n");
	buf_append_str(&stream, "\r\nQUIT\r\n");

	memset(&stream_events, 0, sizeof(stream_events));
	struct events *ev = &stream_events;
	snprintf(ev->text[ev->n++], 600, "OK EHLO client.example");
	snprintf(ev->text[ev->n++], 600, "TOO_LONG");
	snprintf(ev->text[ev->n++], 600, "OK MAIL FROM:<a@b.example>");
	snprintf(ev->text[ev->n++], 600, "BARE_LF");
	snprintf(ev->text[ev->n], 600, "OK ");
	memset(ev->text[ev->n] + 3, 'E', MAX - 2);
	ev->text[ev->n++][3 + MAX - 2] = '\0';
	snprintf(ev->text[ev->n++], 600, "TOO_LONG");
	snprintf(ev->text[ev->n++], 600, "OK ");
	snprintf(ev->text[ev->n++], 600, "OK QUIT");
}

static int stream_setup(void **state)
{
	build_stream();
	return 0;
}

static int stream_teardown(void **state)
{
	buf_free(&stream);
	return 0;
}

static void expect_events(const struct events *got, const char *how)
{
	const struct events *want = &stream_events;
	for (int i = 0; i < want->n || i < got->n; i++) {
		const char *g = i < got->n ? got->text[i] : "(nothing)";
		const char *w = i < want->n ? want->text[i] : "(nothing)";
		if (strcmp(g, w) != 0)
			fail_msg("%s: event %d: got '%.40s', want '%.40s'", how,
			         i, g, w);
	}
}

/* The whole stream in one read, as a pipelining client sends it: each
 * over-long line is one TOO_LONG and the lines after it are not lost. */
static void stream_all_at_once(void **state)
{
	struct events ev;
	feed_chunks(stream.data, stream.len, NULL, 0, &ev);
	expect_events(&ev, "one read");
}

/* The same stream one byte at a time gives the same events. */
static void stream_byte_at_a_time(void **state)
{
	struct smtp_line_reader r = {0};
	struct buf in;
	struct events ev;
	buf_init(&in, 0);
	memset(&ev, 0, sizeof(ev));
	for (size_t i = 0; i < stream.len; i++) {
		assert_int_equal(buf_append_byte(&in, stream.data[i]), 0);
		int before = ev.n;
		drain(&r, &in, &ev);
		/* a result comes only when a LF arrives, and at most one */
		if (stream.data[i] != '\n')
			assert_int_equal(ev.n, before);
		else
			assert_int_equal(ev.n, before + 1);
		/* the buffer never holds more than one line's worth */
		assert_true(in.len < MAX);
	}
	assert_int_equal(in.len, 0);
	buf_free(&in);
	expect_events(&ev, "byte at a time");
}

/* Every split of the stream into two reads gives the same events. */
static void stream_every_split(void **state)
{
	for (size_t cut = 0; cut <= stream.len; cut++) {
		struct events ev;
		char how[40];
		feed_chunks(stream.data, stream.len, &cut, 1, &ev);
		snprintf(how, sizeof(how), "split at %zu", cut);
		expect_events(&ev, how);
	}
}

/* ------------------------------------------------------------ commands */

struct cmd_case {
	const char *line;
	size_t len;
	int rc;
	const char *verb;
	bool has_args;
	const char *args;
};

#define CMD(s, v, has, a)                                                      \
	{                                                                      \
		.line = s, .len = sizeof(s) - 1, .rc = 0, .verb = v,           \
		.has_args = has, .args = a                                     \
	}
#define BAD(s)                                                                 \
	{                                                                      \
		.line = s, .len = sizeof(s) - 1, .rc = -1                      \
	}

static void command_parse(void **state)
{
	static const struct cmd_case t[] = {
	        CMD("NOOP", "NOOP", false, ""),
	        CMD("noop", "NOOP", false, ""),
	        CMD("eHlO client.example", "EHLO", true, "client.example"),
	        CMD("MAIL FROM:<a@b>", "MAIL", true, "FROM:<a@b>"),
	        CMD("mail FROM:<a@b> SIZE=10", "MAIL", true,
	            "FROM:<a@b> SIZE=10"),
	        CMD("RCPT  TO:<x@y>", "RCPT", true, " TO:<x@y>"),
	        CMD("NOOP ", "NOOP", true, ""), /* trailing space */
	        CMD("HELP  ", "HELP", true, " "),
	        CMD("X", "X", false, ""),
	        CMD("ABCDEFGHIJKLMNO", "ABCDEFGHIJKLMNO", false, ""), /* 15 */
	        CMD("abcdefghijklmno x", "ABCDEFGHIJKLMNO", true, "x"),
	        CMD("STARTTLS", "STARTTLS", false, ""),
	        CMD("DATA \xc3\xa9", "DATA", true, "\xc3\xa9"),
	        BAD(""),
	        BAD(" NOOP"),
	        BAD("ABCDEFGHIJKLMNOP"), /* 16 letters */
	        BAD("ABCDEFGHIJKLMNOP x"),
	        BAD("HELO1 x"), /* digits */
	        BAD("1HELO"),
	        BAD("HE-LO"),
	        BAD("HELO\tx"), /* only a space separates */
	        BAD("HELO:x"),
	        BAD("N\xc3\x96OP"),
	        BAD("NO\0OP"), /* NUL anywhere */
	        BAD("NOOP\0"),
	        BAD("MAIL FROM:<a\0@b>"),
	        BAD("\0"),
	        BAD("NO\rOP"), /* CR anywhere */
	        BAD("NOOP\r"),
	        BAD("MAIL FROM:<a@b>\r"),
	        BAD("QUIT\n"),
	};
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		struct smtp_command cmd;
		memset(&cmd, 0x55, sizeof(cmd));
		const char *why = NULL;
		int rc = smtp_command_parse(t[i].line, t[i].len, &cmd, &why);
		if (rc != t[i].rc)
			fail_msg("case %zu: got %d (%s), want %d", i, rc,
			         why ? why : "-", t[i].rc);
		if (rc < 0) {
			assert_non_null(why);
			continue;
		}
		if (strcmp(cmd.verb, t[i].verb) != 0 ||
		    cmd.has_args != t[i].has_args ||
		    cmd.args_len != strlen(t[i].args) ||
		    memcmp(cmd.args, t[i].args, cmd.args_len) != 0)
			fail_msg("case %zu: got '%s' %d '%.*s'", i, cmd.verb,
			         cmd.has_args, (int)cmd.args_len, cmd.args);
		/* the arguments are a view into the line, right after "VERB "
		 */
		if (cmd.has_args)
			assert_ptr_equal(cmd.args,
			                 t[i].line + strlen(t[i].verb) + 1);
	}
}

static void command_error_reasons(void **state)
{
	struct smtp_command cmd;
	const char *why = NULL;
	assert_int_equal(smtp_command_parse("NO\0OP", 5, &cmd, &why), -1);
	assert_string_equal(why, "NUL byte in command");
	assert_int_equal(smtp_command_parse("NO\rOP", 5, &cmd, &why), -1);
	assert_string_equal(why, "bare CR in command");
	assert_int_equal(smtp_command_parse("HELO1", 5, &cmd, &why), -1);
	assert_string_equal(why, "invalid command");
	/* the length bounds the parse */
	assert_int_equal(smtp_command_parse("NOOPX", 4, &cmd, &why), 0);
	assert_string_equal(cmd.verb, "NOOP");
	assert_false(cmd.has_args);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(line_single_calls),
	        cmocka_unit_test(line_pipelined),
	        cmocka_unit_test(line_split_across_calls),
	        cmocka_unit_test(line_length_limit),
	        cmocka_unit_test(line_too_long_in_pieces),
	        cmocka_unit_test(stream_all_at_once),
	        cmocka_unit_test(stream_byte_at_a_time),
	        cmocka_unit_test(stream_every_split),
	        cmocka_unit_test(command_parse),
	        cmocka_unit_test(command_error_reasons),
	};
	return cmocka_run_group_tests(tests, stream_setup, stream_teardown);
}
