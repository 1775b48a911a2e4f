/* libFuzzer target: the IMAP command parser (src/imapd/parse.c) fed a byte
 * stream as a client would send it, in chunks, with every way of answering
 * a literal; each command's arguments then go through the sequence set
 * parser (src/imapd/seqset.c) and the mailbox name code
 * (src/imapd/mailbox.c). The first byte chooses the chunk size, the
 * literal answer and the limits. Checked: the parser never consumes more
 * than it is given and always makes progress, the argument tree is well
 * formed, modified UTF-7 that decodes re-encodes to the same bytes (one
 * spelling per name), and a name that passes the checks maps to a Maildir++
 * folder and back to itself. */
#include "imapd/mailbox.h"
#include "imapd/parse.h"
#include "imapd/seqset.h"

#include "lib/buf.h"

#include <stdint.h>
#include <string.h>
#include <strings.h>

#define CHECK(x)                                                               \
	do {                                                                   \
		if (!(x))                                                      \
			__builtin_trap();                                      \
	} while (0)

static void check_seqset(const char *s, size_t len)
{
	struct imap_seq_range r[64];
	struct imap_seqset set = {.ranges = r, .cap = 64};
	const char *why = NULL;
	if (imap_seqset_parse(s, len, &set, &why) < 0) {
		CHECK(why != NULL);
		return;
	}
	CHECK(set.n <= 64 && (set.saved ? set.n == 0 : set.n > 0));
	imap_seqset_contains(&set, 7, 100);
}

/* "inbox/x" comes back as "INBOX/x": compare the first component without
 * case when it is INBOX. */
static bool same_name(const char *a, const char *b, size_t len)
{
	if (len >= 5 && strncasecmp(a, "INBOX", 5) == 0 &&
	    (len == 5 || a[5] == '/'))
		return strncasecmp(a, b, 5) == 0 &&
		       memcmp(a + 5, b + 5, len - 5) == 0;
	return memcmp(a, b, len) == 0;
}

static void check_mailbox(const char *s, size_t len)
{
	struct buf utf8, wire, folder, back;
	const char *why;
	buf_init(&utf8, 4096);
	buf_init(&wire, 8192);
	buf_init(&folder, 4096);
	buf_init(&back, 4096);
	if (imap_mutf7_decode(s, len, &utf8, &why) == 0) {
		CHECK(imap_mutf7_encode(buf_cstr(&utf8), utf8.len, &wire,
		                        &why) == 0);
		CHECK(wire.len == len && memcmp(buf_cstr(&wire), s, len) == 0);
	}
	if (imap_mailbox_check(s, len, &why) == 0 &&
	    imap_mailbox_to_maildir(s, len, &folder, &why) == 0) {
		CHECK(memchr(buf_cstr(&folder), '/', folder.len) == NULL);
		CHECK(imap_mailbox_from_maildir(buf_cstr(&folder), folder.len,
		                                &back, &why) == 0);
		CHECK(back.len == len && same_name(s, buf_cstr(&back), len));
	}
	buf_free(&utf8);
	buf_free(&wire);
	buf_free(&folder);
	buf_free(&back);
}

static void check_command(const struct imap_command *c, uint32_t args_max)
{
	CHECK(c->def != NULL && c->tag[0] != '\0');
	CHECK(c->n_args <= args_max && c->n_top <= c->n_args);
	uint32_t top = 0;
	for (uint32_t i = 0; i < c->n_args; i = c->args[i].next, top++)
		CHECK(c->args[i].next > i && c->args[i].next <= c->n_args);
	CHECK(top == c->n_top);
	for (uint32_t i = 0; i < c->n_args; i++) {
		const struct imap_arg *a = &c->args[i];
		CHECK(a->next > i && a->next <= c->n_args);
		if (a->type == IMAP_ARG_LIST || a->external) {
			CHECK(a->str == NULL);
			continue;
		}
		CHECK(a->str != NULL && a->str[a->len] == '\0');
		if (a->type != IMAP_ARG_LITERAL8)
			CHECK(memchr(a->str, '\0', a->len) == NULL);
		if (a->type == IMAP_ARG_ATOM)
			check_seqset(a->str, a->len);
		check_mailbox(a->str, a->len);
	}
}

static const size_t chunks[] = {1, 2, 3, 7, 16, 64, 4096, SIZE_MAX};

/* The caller's answer to a literal; returns the bytes it read itself. */
static size_t answer(struct imap_parser *p, unsigned mode, size_t left)
{
	const struct imap_literal *lit = imap_parser_literal(p);
	if (mode == 1) {
		imap_parser_literal_accept(p, true);
		return lit->size < left ? lit->size : left;
	}
	if (mode == 2)
		imap_parser_literal_refuse(p);
	else
		imap_parser_literal_accept(p, false);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0;
	unsigned cfg = data[0];
	const char *in = (const char *)data + 1;
	size_t len = size - 1, off = 0;
	struct imap_parse_limits lim;
	imap_parse_limits_init(&lim, cfg & 0x20, 1 << 20);
	lim.literal_plus = !(cfg & 0x40);
	if (cfg & 0x80) {
		lim.text_max = 256;
		lim.literal_max = 64;
		lim.command_max = 300;
		lim.args_max = 16;
	}
	struct imap_parser *p = imap_parser_new(&lim);
	if (p == NULL)
		return 0;
	size_t chunk = chunks[cfg & 7];
	unsigned stalls = 0; /* calls in a row that consumed nothing */
	while (off < len) {
		size_t n = len - off < chunk ? len - off : chunk, used = 0;
		int r = imap_parser_feed(p, in + off, n, &used);
		CHECK(used <= n);
		CHECK(r != IMAP_PARSE_MORE || used == n);
		stalls = used == 0 ? stalls + 1 : 0;
		CHECK(stalls < 3);
		off += used;
		if (r == IMAP_PARSE_DONE) {
			check_command(imap_parser_command(p), lim.args_max);
		} else if (r == IMAP_PARSE_LITERAL) {
			off += answer(p, (cfg >> 3) & 3, len - off);
			stalls = 0;
		} else if (r == IMAP_PARSE_ERROR) {
			CHECK(imap_parser_error(p)->msg != NULL);
			if (imap_parser_error(p)->fatal)
				break;
		}
	}
	imap_parser_free(&p);
	return 0;
}
