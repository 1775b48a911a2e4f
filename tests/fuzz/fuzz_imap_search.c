/* libFuzzer target: SEARCH keys (src/imapd/search.c). The input is the
 * text after "t SEARCH ", parsed by the real command parser (literals
 * accepted as they come); a parsed program is then matched against the
 * input itself taken as a message, with made-up flags and numbers.
 * Checked: no crash, no leak, an error always has its text, and the same
 * program gives the same answer twice. */
#include "imapd/parse.h"
#include "imapd/search.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define CHECK(x)                                                               \
	do {                                                                   \
		if (!(x))                                                      \
			__builtin_trap();                                      \
	} while (0)

static int kw(void *ctx, const char *name, size_t len)
{
	return len > 0 ? (int)(len % 27) - 1 : -1;
}

static void run(const struct imap_command *c, const uint8_t *data,
		size_t size)
{
	struct imap_search s;
	const char *why = NULL;
	int rc = imap_search_parse(c->args, c->n_args, 0, &s, &why);
	if (rc < 0) {
		CHECK(why != NULL);
		imap_search_free(&s);
		return;
	}
	imap_search_bind_keywords(&s, kw, NULL);
	struct search_msg m = {.seq = 3, .uid = 77, .max_seq = 9,
			       .max_uid = 100, .flags = (uint32_t)size,
			       .keywords = (uint32_t)size * 2654435761u,
			       .size = size, .internaldate = 1700000000,
			       .text = (const char *)data, .len = size,
			       .header_len = size / 2};
	bool a = imap_search_match(&s, &m), b = imap_search_match(&s, &m);
	CHECK(a == b);
	imap_search_free(&s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct imap_parse_limits lim;
	imap_parse_limits_init(&lim, false, 4096);
	struct imap_parser *p = imap_parser_new(&lim);
	if (p == NULL)
		return 0;
	static const char head[] = "t SEARCH ";
	size_t used;
	enum imap_parse_result r = imap_parser_feed(p, head, sizeof(head) - 1,
						    &used);
	size_t off = 0;
	while (r == IMAP_PARSE_MORE || r == IMAP_PARSE_LITERAL) {
		if (r == IMAP_PARSE_LITERAL)
			imap_parser_literal_accept(p, false);
		if (off >= size)
			break;
		r = imap_parser_feed(p, (const char *)data + off, size - off,
				     &used);
		CHECK(used <= size - off);
		off += used;
		if (used == 0 && r == IMAP_PARSE_MORE)
			break;
	}
	if (r == IMAP_PARSE_DONE)
		run(imap_parser_command(p), data, size);
	imap_parser_free(&p);
	return 0;
}
