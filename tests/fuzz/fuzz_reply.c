/* libFuzzer target: SMTP replies as the outbound client reads them
 * (src/mail/reply.c). The input is what a hostile server sends, fed in
 * pieces as a socket would deliver it; every reply parsed must keep the
 * invariants the client relies on. */
#include "mail/reply.h"

#include <stdint.h>
#include <string.h>

static void check(const struct reply *r)
{
	if (r->code < 200 || r->code > 559 || r->lines == 0 ||
	    r->lines > REPLY_LINES_MAX || r->text_len > REPLY_TEXT_MAX ||
	    strlen(r->text) != r->text_len)
		__builtin_trap();
	for (size_t i = 0; i < r->text_len; i++)
		if ((unsigned char)r->text[i] < 0x20 && r->text[i] != '\n')
			__builtin_trap();
	if (r->enhanced[0] != '\0' && r->enhanced[0] != '0' + r->code / 100)
		__builtin_trap();
	char sum[512];
	reply_summary(r, sum, sizeof(sum));
	if (strlen(sum) >= sizeof(sum))
		__builtin_trap();
	reply_has_keyword(r, "SIZE", NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct reply_parser p;
	static struct reply r;
	static char buf[REPLY_LINE_MAX * 2];
	reply_parser_init(&p);
	size_t have = 0, off = 0;
	/* the first byte picks the read size, as the network would */
	size_t step = size > 0 ? (size_t)data[0] % 64 + 1 : 1;
	while (off < size) {
		size_t n = size - off < step ? size - off : step;
		if (n > sizeof(buf) - have)
			n = sizeof(buf) - have;
		memcpy(buf + have, data + off, n);
		have += n;
		off += n;
		for (;;) {
			size_t used;
			enum reply_status st = reply_parse(&p, buf, have, &used, &r);
			if (used > have)
				__builtin_trap();
			memmove(buf, buf + used, have - used);
			have -= used;
			if (st == REPLY_DONE) {
				check(&r);
				continue;
			}
			if (st != REPLY_MORE)
				return 0; /* the client drops the connection */
			break;
		}
		if (have == sizeof(buf))
			__builtin_trap(); /* MORE with a full buffer: a hang */
	}
	return 0;
}
