/* libFuzzer target: the POP3 command parser (src/pop3d/parse.c) and the
 * RETR/TOP byte-stuffer (src/pop3d/stuff.c). The input is read as a
 * client's byte stream, framed and parsed line by line; then as a stored
 * message, stuffed whole and in two pieces (which must agree), and checked:
 * no line of the output is "." alone before the end, and every line ends
 * in CRLF. */
#include "lib/buf.h"
#include "pop3d/parse.h"
#include "pop3d/stuff.h"

#include <stdint.h>
#include <string.h>

static void commands(const char *p, size_t n)
{
	struct pop3_line_reader r;
	pop3_line_reader_init(&r, POP3_LINE_MAX);
	while (n > 0) {
		size_t used, len;
		int got = pop3_line_take(&r, p, n, &used, &len);
		if (used > n)
			__builtin_trap();
		if (got == 1) {
			struct pop3_command cmd;
			const char *err;
			if (len + 2 > POP3_LINE_MAX + 1)
				__builtin_trap();
			if (pop3_parse_command(p, len, &cmd, &err) == 0) {
				if (cmd.n_args > cmd.def->max_args ||
				    cmd.n_args < cmd.def->min_args)
					__builtin_trap();
				for (unsigned i = 0; i < cmd.n_args; i++) {
					uint32_t v;
					if (cmd.args[i].p < p ||
					    cmd.args[i].p + cmd.args[i].n > p + len)
						__builtin_trap();
					(void)pop3_parse_number(&cmd.args[i], &v);
				}
			}
		}
		if (used == 0)
			break;
		p += used;
		n -= used;
	}
}

static void stuff(const char *p, size_t n, size_t split, bool top,
		  struct buf *out)
{
	struct pop3_stuffer st;
	pop3_stuffer_init(&st, top, n % 7);
	buf_clear(out);
	if (pop3_stuff(&st, p, split, out) < 0 ||
	    pop3_stuff(&st, p + split, n - split, out) < 0 ||
	    pop3_stuff_end(&st, out) < 0)
		__builtin_trap();
}

static void check_stuffed(const struct buf *b)
{
	/* the output ends with ".\r\n" and holds no other lone dot line;
	 * every LF has a CR before it */
	if (b->len < 3 || memcmp(b->data + b->len - 3, ".\r\n", 3) != 0)
		__builtin_trap();
	for (size_t i = 0; i < b->len; i++) {
		if (b->data[i] == '\n' && (i == 0 || b->data[i - 1] != '\r'))
			__builtin_trap();
		bool bol = i == 0 || b->data[i - 1] == '\n';
		if (bol && i + 3 < b->len && memcmp(b->data + i, ".\r\n", 3) == 0)
			__builtin_trap();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *p = (const char *)data;
	struct buf a, b;
	commands(p, size);
	buf_init(&a, 0);
	buf_init(&b, 0);
	for (int top = 0; top < 2; top++) {
		stuff(p, size, 0, top, &a);
		stuff(p, size, size / 2, top, &b);
		if (a.len != b.len || memcmp(a.data, b.data, a.len) != 0)
			__builtin_trap();
		check_stuffed(&a);
	}
	buf_free(&a);
	buf_free(&b);
	return 0;
}
