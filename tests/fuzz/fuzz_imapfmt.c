/* libFuzzer target: the FETCH data writers of src/imapd over any message:
 * BODYSTRUCTURE and BODY (bodystructure.c), ENVELOPE (envelope.c and
 * mail/addrlist.c), and BODY[...] / BINARY[...] of every section of every
 * part (fetchbody.c, through fetchitem.c's parser).
 *
 * Input: the message itself.
 *
 * Checked: the writers never fail; their output is well-formed IMAP data:
 * parentheses balance, quoted strings close and hold no CR, LF or 8-bit
 * byte, each literal's announced size is the bytes that follow it; every
 * BODY[...] section is in CRLF form (no bare LF) and a <partial> of it is
 * exactly the slice of the whole; BINARY.SIZE is the size BINARY sends. */
#include "imapd/bodystructure.h"
#include "imapd/crlf.h"
#include "imapd/envelope.h"
#include "imapd/fetchbody.h"
#include "imapd/fetchitem.h"
#include "mail/mime.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CHECK(cond)                                                            \
	do {                                                                   \
		if (!(cond))                                                   \
			__builtin_trap();                                      \
	} while (0)

/* sections cost O(siblings) to find: enough parts to matter, no more */
enum { PARTS_CHECKED = 64, PATH_MAX_NUMS = 2 * MIME_DEPTH_MAX + 4 };

/* The IMAP data in s[0..n): balanced, quoted strings and literals whole. */
static void check_data(const char *s, size_t n)
{
	size_t depth = 0;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		CHECK(c != '\r' && c != '\n' && (unsigned char)c < 0x80);
		if (c == '(') {
			depth++;
		} else if (c == ')') {
			CHECK(depth > 0);
			depth--;
		} else if (c == '"') {
			for (i++; i < n && s[i] != '"'; i++) {
				CHECK(s[i] != '\r' && s[i] != '\n' &&
				      (unsigned char)s[i] < 0x80 && s[i] != 0);
				if (s[i] == '\\') {
					i++;
					CHECK(i < n &&
					      (s[i] == '\\' || s[i] == '"'));
				}
			}
			CHECK(i < n);
		} else if (c == '{') {
			size_t len = 0;
			for (i++; i < n && s[i] >= '0' && s[i] <= '9'; i++)
				len = len * 10 + (size_t)(s[i] - '0');
			CHECK(n - i >= 3 && memcmp(s + i, "}\r\n", 3) == 0);
			i += 3;
			CHECK(n - i >= len);
			i += len;
			/* what follows a string: a space or a list's end */
			CHECK(i == n || s[i] == ' ' || s[i] == ')');
			i--;
		}
	}
	CHECK(depth == 0);
}

struct walk {
	const char *msg;
	size_t len;
	const struct mime_msg *m;
	size_t checked;
	unsigned path[PATH_MAX_NUMS];
	struct buf full, part, att_text;
};

static const char *const texts[] = {
        "",
        ".MIME",
        ".HEADER",
        ".TEXT",
        ".HEADER.FIELDS (From SUBJECT)",
        ".HEADER.FIELDS.NOT (content-type \"X-A\")",
};

static void check_att(struct walk *w, const char *text)
{
	struct fetch_att att;
	const char *err;
	CHECK(fetch_att_parse(text, strlen(text), &att, &err) == 0);
	buf_clear(&w->full);
	enum fetchbody_result r =
	        fetchbody_get(w->msg, w->len, w->m, &att, &w->full);
	CHECK(r != FETCHBODY_ERROR);
	bool binary = att.kind == FETCH_BINARY;
	if (r == FETCHBODY_OK && !binary)
		CHECK(crlf_bare_lfs(w->full.data, 0, w->full.len) == 0);
	if (r == FETCHBODY_OK && binary) {
		uint64_t size;
		CHECK(fetchbody_binary_size(w->msg, w->len, w->m, &att,
		                            &size) == FETCHBODY_OK);
		CHECK(size == w->full.len);
	}
	/* a window: the slice of the whole */
	if (r == FETCHBODY_OK && w->full.len > 0) {
		att.partial = true;
		att.origin = (uint32_t)(w->full.len / 3);
		att.count = (uint32_t)(w->full.len / 2 + 1);
		buf_clear(&w->part);
		CHECK(fetchbody_get(w->msg, w->len, w->m, &att, &w->part) ==
		      FETCHBODY_OK);
		size_t want = w->full.len - att.origin;
		want = want < att.count ? want : att.count;
		CHECK(w->part.len == want);
		CHECK(want == 0 ||
		      memcmp(w->part.data, w->full.data + att.origin, want) ==
		              0);
	}
	fetch_att_free(&att);
}

/* Every section kind at path[0..n). */
static void check_sections(struct walk *w, size_t n)
{
	if (w->checked++ >= PARTS_CHECKED)
		return;
	char path[PATH_MAX_NUMS * 11] = "";
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		int r = snprintf(path + k, sizeof(path) - k, "%s%u",
		                 i > 0 ? "." : "", w->path[i]);
		CHECK(r > 0 && (size_t)r < sizeof(path) - k);
		k += (size_t)r;
	}
	char text[sizeof(path) + 64];
	for (size_t t = 0; t < sizeof(texts) / sizeof(*texts); t++) {
		if (n == 0 && t == 1)
			continue; /* MIME needs a part number */
		snprintf(text, sizeof(text), "BODY[%s%s]", path,
		         n == 0 ? texts[t] + (t > 0) : texts[t]);
		check_att(w, text);
	}
	snprintf(text, sizeof(text), "BINARY[%s]", path);
	check_att(w, text);
}

/* As fuzz_mime.c numbers parts: a message/rfc822's numbers go on in its
 * message, where a multipart has no number of its own. */
static void walk_children(struct walk *w, const struct mime_part *p, size_t n)
{
	size_t k = 0;
	for (const struct mime_part *c = p->child; c != NULL; c = c->next) {
		if (w->checked >= PARTS_CHECKED || n >= PATH_MAX_NUMS)
			return;
		k++;
		bool own =
		        p->kind == MIME_MULTIPART || c->kind != MIME_MULTIPART;
		w->path[n] = p->kind == MIME_MULTIPART ? (unsigned)k : 1;
		if (own)
			check_sections(w, n + 1);
		walk_children(w, c, own ? n + 1 : n);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *msg = (const char *)data;
	struct mime_msg *m = mime_parse(msg, size);
	CHECK(m != NULL);
	struct buf out;
	buf_init(&out, 0);
	for (int ext = 0; ext <= 1; ext++) {
		buf_clear(&out);
		CHECK(imap_bodystructure_write(&out, msg, size, m, ext) == 0);
		CHECK(out.len > 0 && out.data[0] == '(');
		check_data(out.data, out.len);
	}
	buf_clear(&out);
	CHECK(imap_envelope_part(&out, m, mime_root(m)) == 0);
	check_data(out.data, out.len);
	buf_free(&out);

	struct walk w = {.msg = msg, .len = size, .m = m};
	buf_init(&w.full, 0);
	buf_init(&w.part, 0);
	check_sections(&w, 0);
	const struct mime_part *root = mime_root(m);
	bool multi = root->kind == MIME_MULTIPART;
	w.path[0] = 1;
	if (!multi)
		check_sections(&w, 1);
	walk_children(&w, root, multi ? 0 : 1);
	buf_free(&w.full);
	buf_free(&w.part);
	mime_msg_free(&m);
	return 0;
}
