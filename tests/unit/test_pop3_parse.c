/* Tests for src/pop3d/parse.c (POP3 line framing and command parsing, RFC
 * 1939 3, RFC 2449 4) and src/pop3d/stuff.c (the CRLF, byte-stuffed form
 * of RETR and TOP): tables, a byte-at-a-time trickle and every split. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "pop3d/parse.h"
#include "pop3d/stuff.h"

#include "lib/buf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------ framing */

struct frame_case {
	const char *in;
	int want;           /* first pop3_line_take result */
	size_t used, n;
};

static void framing_table(void **state)
{
	static const struct frame_case cases[] = {
		{"", 0, 0, 0},
		{"STAT", 0, 0, 0},
		{"STAT\r\n", 1, 6, 4},
		{"STAT\n", 1, 5, 4},           /* bare LF accepted */
		{"\r\n", 1, 2, 0},
		{"STAT\r\nLIST\r\n", 1, 6, 4}, /* pipelined: one at a time */
		{"ST\rAT\r\n", 1, 7, 5},       /* inner CR: the parser says no */
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct pop3_line_reader r;
		size_t used, n;
		pop3_line_reader_init(&r, POP3_LINE_MAX);
		int got = pop3_line_take(&r, cases[i].in, strlen(cases[i].in),
					 &used, &n);
		assert_int_equal(got, cases[i].want);
		assert_int_equal(used, cases[i].used);
		assert_int_equal(n, cases[i].n);
	}
}

/* 255 octets with CRLF is the most (RFC 2449 4); 256 is skipped whole and
 * reported once, when its end arrives. */
static void framing_limit(void **state)
{
	char line[600];
	struct pop3_line_reader r;
	size_t used, n;
	memset(line, 'a', sizeof(line));
	memcpy(line + 253, "\r\n", 2);
	pop3_line_reader_init(&r, POP3_LINE_MAX);
	assert_int_equal(pop3_line_take(&r, line, 255, &used, &n), 1);
	assert_int_equal(n, 253);
	memset(line, 'a', sizeof(line));
	memcpy(line + 254, "\r\nNOOP\r\n", 8);
	assert_int_equal(pop3_line_take(&r, line, 262, &used, &n), -1);
	assert_int_equal(used, 256);
	assert_int_equal(pop3_line_take(&r, line + 256, 6, &used, &n), 1);
	assert_int_equal(n, 4);
	/* in pieces: dropped as it comes, never buffered past the limit */
	memset(line, 'b', sizeof(line));
	assert_int_equal(pop3_line_take(&r, line, 300, &used, &n), 0);
	assert_int_equal(used, 300);
	assert_int_equal(pop3_line_take(&r, line, 250, &used, &n), 0);
	assert_int_equal(used, 250);
	assert_int_equal(pop3_line_take(&r, "xx\nQUIT\n", 8, &used, &n), -1);
	assert_int_equal(used, 3);
	assert_int_equal(pop3_line_take(&r, "QUIT\n", 5, &used, &n), 1);
}

/* Feed s in pieces of step bytes (0: every split of two) through a buffer
 * as the session does; the lines found (or "!" for an over-long one),
 * joined by "|". */
static void frame_stream(const char *s, size_t len, size_t step, char *out)
{
	struct pop3_line_reader r;
	struct buf in;
	pop3_line_reader_init(&r, 16);
	buf_init(&in, 0);
	out[0] = '\0';
	for (size_t off = 0; off < len;) {
		size_t k = step == 0 ? len - off : step;
		if (k > len - off)
			k = len - off;
		buf_append(&in, s + off, k);
		off += k;
		for (;;) {
			size_t used, n;
			int got = pop3_line_take(&r, in.data, in.len, &used, &n);
			if (got == 1)
				strncat(out, in.data, n);
			else if (got < 0)
				strcat(out, "!");
			if (got != 0)
				strcat(out, "|");
			buf_consume(&in, used);
			if (got == 0)
				break;
		}
	}
	buf_free(&in);
}

static void framing_trickle(void **state)
{
	const char *s = "USER a\r\nPASS b c\r\nthis line is far too long\r\n"
			"\nQUIT\r\n";
	char want[256], got[256];
	frame_stream(s, strlen(s), 0, want);
	assert_string_equal(want, "USER a|PASS b c|!||QUIT|");
	for (size_t step = 1; step < strlen(s); step++) {
		frame_stream(s, strlen(s), step, got);
		assert_string_equal(got, want);
	}
}

/* ------------------------------------------------------------ commands */

struct cmd_case {
	const char *line;
	int want;
	enum pop3_cmd_id id;
	unsigned n_args;
	const char *arg0, *arg1, *error;
};

static void command_table(void **state)
{
	char long_arg[64], long_user[120];
	memset(long_arg, '1', 41);
	long_arg[41] = '\0';
	snprintf(long_user, sizeof(long_user), "USER %080d", 7);
	const struct cmd_case cases[] = {
		{"STAT", 0, POP3_CMD_STAT, 0, NULL, NULL, NULL},
		{"stat", 0, POP3_CMD_STAT, 0, NULL, NULL, NULL},
		{"LiSt 3", 0, POP3_CMD_LIST, 1, "3", NULL, NULL},
		{"TOP 1 10", 0, POP3_CMD_TOP, 2, "1", "10", NULL},
		{"USER alice@example.test", 0, POP3_CMD_USER, 1,
		 "alice@example.test", NULL, NULL},
		{"PASS a b  c ", 0, POP3_CMD_PASS, 1, "a b  c ", NULL, NULL},
		{"AUTH", 0, POP3_CMD_AUTH, 0, NULL, NULL, NULL},
		{"AUTH PLAIN =", 0, POP3_CMD_AUTH, 2, "PLAIN", "=", NULL},
		{long_user, 0, POP3_CMD_USER, 1, long_user + 5, NULL, NULL},
		{"", -1, 0, 0, NULL, NULL, "Empty command"},
		{" STAT", -1, 0, 0, NULL, NULL, "Empty command"},
		{"STATS", -1, 0, 0, NULL, NULL, "Unknown command"},
		{"APOP a b", -1, 0, 0, NULL, NULL, "Unknown command"},
		{"STAT ", -1, 0, 0, NULL, NULL,
		 "Arguments are separated by one space"},
		{"LIST  1", -1, 0, 0, NULL, NULL,
		 "Arguments are separated by one space"},
		{"STAT 1", -1, 0, 0, NULL, NULL, "Too many arguments"},
		{"TOP 1", -1, 0, 0, NULL, NULL, "Missing argument"},
		{"TOP 1 2 3", -1, 0, 0, NULL, NULL, "Too many arguments"},
		{"PASS", -1, 0, 0, NULL, NULL, "Missing argument"},
		{"NOOP\t", -1, 0, 0, NULL, NULL, "Invalid character in command"},
		{"US\x80R a", -1, 0, 0, NULL, NULL,
		 "Invalid character in command"},
		{"PASS \x01", -1, 0, 0, NULL, NULL,
		 "Invalid character in command"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct cmd_case *c = &cases[i];
		struct pop3_command cmd;
		const char *err = NULL;
		int got = pop3_parse_command(c->line, strlen(c->line), &cmd, &err);
		assert_int_equal(got, c->want);
		if (got < 0) {
			assert_string_equal(err, c->error);
			continue;
		}
		assert_int_equal(cmd.def->id, c->id);
		assert_int_equal(cmd.n_args, c->n_args);
		if (c->arg0 != NULL) {
			assert_int_equal(cmd.args[0].n, strlen(c->arg0));
			assert_memory_equal(cmd.args[0].p, c->arg0, cmd.args[0].n);
		}
		if (c->arg1 != NULL) {
			assert_int_equal(cmd.args[1].n, strlen(c->arg1));
			assert_memory_equal(cmd.args[1].p, c->arg1, cmd.args[1].n);
		}
	}
	/* RFC 2449 4: 40 octets per argument */
	char line[80];
	struct pop3_command cmd;
	const char *err;
	snprintf(line, sizeof(line), "RETR %s", long_arg);
	assert_int_equal(pop3_parse_command(line, strlen(line), &cmd, &err), -1);
	assert_string_equal(err, "Argument too long");
	line[strlen(line) - 1] = '\0';
	assert_int_equal(pop3_parse_command(line, strlen(line), &cmd, &err), 0);
	/* the NUL inside the length is seen */
	assert_int_equal(pop3_parse_command("NOOP\0", 5, &cmd, &err), -1);
}

static void command_states(void **state)
{
	const struct pop3_cmd_def *d = pop3_cmd_def(POP3_CMD_RETR);
	assert_int_equal(d->states, POP3_STATE_TRANS);
	assert_int_equal(pop3_cmd_def(POP3_CMD_USER)->states, POP3_STATE_AUTH);
	assert_int_equal(pop3_cmd_def(POP3_CMD_QUIT)->states,
			 POP3_STATE_AUTH | POP3_STATE_TRANS);
	assert_null(pop3_cmd_def(POP3_CMD_COUNT));
}

static void numbers(void **state)
{
	struct {
		const char *s;
		int want;
		uint32_t v;
	} cases[] = {
		{"0", 0, 0},		{"1", 0, 1},
		{"0001", 0, 1},		{"4294967295", 0, UINT32_MAX},
		{"4294967296", -1, 0},	{"99999999999", -1, 0},
		{"", -1, 0},		{"-1", -1, 0},
		{"+1", -1, 0},		{"1a", -1, 0},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct pop3_arg a = {cases[i].s, strlen(cases[i].s)};
		uint32_t v = 7;
		assert_int_equal(pop3_parse_number(&a, &v), cases[i].want);
		if (cases[i].want == 0)
			assert_int_equal(v, cases[i].v);
	}
}

/* ------------------------------------------------------------ stuffing */

/* The whole reply body for msg, fed in pieces of step bytes (0: whole). */
static void stuff_all(const char *msg, size_t step, bool top, uint64_t lines,
		      struct buf *out)
{
	struct pop3_stuffer st;
	size_t len = strlen(msg);
	pop3_stuffer_init(&st, top, lines);
	buf_clear(out);
	for (size_t off = 0; off < len;) {
		size_t k = step == 0 || step > len - off ? len - off : step;
		assert_int_equal(pop3_stuff(&st, msg + off, k, out), 0);
		off += k;
	}
	assert_int_equal(pop3_stuff_end(&st, out), 0);
}

struct stuff_case {
	const char *msg;
	bool top;
	uint64_t lines;
	const char *want;
};

static const struct stuff_case stuff_cases[] = {
	{"", false, 0, ".\r\n"},
	{"a\n", false, 0, "a\r\n.\r\n"},
	{"a", false, 0, "a\r\n.\r\n"}, /* no final line end: one is added */
	{"a\r\nb\n", false, 0, "a\r\nb\r\n.\r\n"},
	{".\n..x\n.", false, 0, "..\r\n...x\r\n..\r\n.\r\n"},
	{"a.\n x.\n", false, 0, "a.\r\n x.\r\n.\r\n"},
	{"a\rb\n", false, 0, "a\rb\r\n.\r\n"},   /* a lone CR as stored */
	{"a\r", false, 0, "a\r\n.\r\n"},
	{"H: 1\nH: 2\n\nb1\nb2\n", true, 0, "H: 1\r\nH: 2\r\n\r\n.\r\n"},
	{"H: 1\n\nb1\n.b2\nb3\n", true, 2, "H: 1\r\n\r\nb1\r\n..b2\r\n.\r\n"},
	{"H: 1\r\n\r\nb1\r\n", true, 5, "H: 1\r\n\r\nb1\r\n.\r\n"},
	{"H: 1\nH: 2\n", true, 0, "H: 1\r\nH: 2\r\n.\r\n"}, /* all header */
	{"H: 1\n\n", true, 0, "H: 1\r\n\r\n.\r\n"},
};

static void stuff_table(void **state)
{
	struct buf out;
	buf_init(&out, 0);
	for (size_t i = 0; i < sizeof(stuff_cases) / sizeof(stuff_cases[0]);
	     i++) {
		const struct stuff_case *c = &stuff_cases[i];
		stuff_all(c->msg, 0, c->top, c->lines, &out);
		assert_string_equal(buf_cstr(&out), c->want);
	}
	buf_free(&out);
}

static void stuff_trickle(void **state)
{
	struct buf out;
	buf_init(&out, 0);
	for (size_t i = 0; i < sizeof(stuff_cases) / sizeof(stuff_cases[0]);
	     i++) {
		const struct stuff_case *c = &stuff_cases[i];
		for (size_t step = 1; step <= strlen(c->msg); step++) {
			stuff_all(c->msg, step, c->top, c->lines, &out);
			assert_string_equal(buf_cstr(&out), c->want);
		}
	}
	buf_free(&out);
}

/* A full output buffer is reported, never overrun. */
static void stuff_full(void **state)
{
	struct buf out;
	struct pop3_stuffer st;
	buf_init(&out, 8);
	pop3_stuffer_init(&st, false, 0);
	assert_int_equal(pop3_stuff(&st, ".abcdefghij\n", 12, &out), -1);
	assert_true(out.len <= 8);
	buf_free(&out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(framing_table),
		cmocka_unit_test(framing_limit),
		cmocka_unit_test(framing_trickle),
		cmocka_unit_test(command_table),
		cmocka_unit_test(command_states),
		cmocka_unit_test(numbers),
		cmocka_unit_test(stuff_table),
		cmocka_unit_test(stuff_trickle),
		cmocka_unit_test(stuff_full),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
