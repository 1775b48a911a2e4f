/* libFuzzer target: the header section walker (src/mail/header.c) and the
 * RFC 5322 address-list parser (src/mail/rfc5322.c), which together decide
 * whose From: a submitted message carries.
 *
 * Input: one byte of settings, then the bytes.
 *   byte 0  bit 0: 0 the bytes are a header copy as the body filter keeps
 *           it (LF line ends, folds kept), walked with header_next, each
 *           value also parsed as an address list; 1 the bytes are one field
 *           value for rfc5322_address_list
 *           bits 1-3: the most addresses asked for (1-7; 7: the maximum)
 *
 * header_next must cut the copy into fields exactly as header.h says (name,
 * colon, value through the last fold) and never past its end; header_unfold
 * drops the LFs and nothing else; a value parses to the same addresses
 * folded and unfolded. An address list that is accepted holds no NUL
 * (RFC 5322 allows it nowhere); each address comes out as address.h
 * describes (a local part that is a Dot-string or a needed Quoted-string,
 * the domain lower-cased, the utf8 flag exactly when there is non-ASCII,
 * well-formed UTF-8), parses back to itself, and when the RFC 5321 parser
 * takes it too, both agree. */
#include "mail/address.h"
#include "mail/header.h"
#include "mail/rfc5322.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define CHECK(cond)                                                            \
	do {                                                                   \
		if (!(cond))                                                   \
			__builtin_trap();                                      \
	} while (0)

static bool has_non_ascii(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s >= 0x80)
			return true;
	return false;
}

static bool same_mailbox(const struct mailbox *a, const struct mailbox *b)
{
	return strcmp(a->local, b->local) == 0 &&
	       strcmp(a->domain, b->domain) == 0 && a->quoted == b->quoted &&
	       a->utf8 == b->utf8 && a->literal == b->literal;
}

/* ------------------------------------------------------------ addresses */

static void check_one(const struct mailbox *mb)
{
	char text[ADDR_TEXT_MAX];
	size_t len = mailbox_format(mb, text);
	size_t l = strlen(mb->local), d = strlen(mb->domain);
	CHECK(l > 0 && l < ADDR_LOCAL_BUF && d > 0 && d <= ADDR_DOMAIN_MAX);
	CHECK(len == l + 1 + d && len < ADDR_TEXT_MAX);
	CHECK(mb->quoted == (mb->local[0] == '"'));
	if (mb->quoted)
		CHECK(l >= 2 && mb->local[l - 1] == '"');
	CHECK(!mb->routed);
	CHECK(utf8_valid(text, len));
	CHECK(mb->utf8 == has_non_ascii(text));
	if (mb->literal)
		CHECK(d >= 2 && mb->domain[0] == '[' &&
		      mb->domain[d - 1] == ']');
	else
		for (size_t i = 0; i < d; i++)
			CHECK(!(mb->domain[i] >= 'A' && mb->domain[i] <= 'Z'));

	/* written out, it reads back the same */
	struct mailbox again[2];
	size_t n = 0;
	CHECK(rfc5322_address_list(text, len, again, 2, &n) == 0 && n == 1);
	CHECK(same_mailbox(mb, &again[0]));

	/* where RFC 5321 takes the address too, it reads the same mailbox
	 * (an address literal may differ in case: see the report) */
	char path[ADDR_TEXT_MAX + 2];
	path[0] = '<';
	memcpy(path + 1, text, len);
	path[len + 1] = '>';
	struct mailbox smtp;
	size_t used;
	const char *why;
	if (address_parse_path(path, len + 2, ADDR_F_UTF8, &smtp, &used,
			       &why) != ADDR_OK)
		return;
	CHECK(used == len + 2);
	CHECK(strcmp(smtp.local, mb->local) == 0 && smtp.quoted == mb->quoted);
	CHECK(smtp.literal == mb->literal && smtp.utf8 == mb->utf8);
	CHECK(mb->literal ? strcasecmp(smtp.domain, mb->domain) == 0
			  : strcmp(smtp.domain, mb->domain) == 0);
}

static int parse_list(const char *s, size_t n, size_t max,
		      struct mailbox *out, size_t *count)
{
	*count = (size_t)-1;
	int rc = rfc5322_address_list(s, n, out, max, count);
	CHECK(rc == 0 || rc == -1);
	if (rc < 0) {
		CHECK(*count == 0);
		return rc;
	}
	CHECK(*count <= max);
	CHECK(memchr(s, '\0', n) == NULL);
	for (size_t i = 0; i < *count; i++)
		check_one(&out[i]);
	return rc;
}

/* Room for max addresses: exactly that much on the heap, so that ASan sees
 * a write past it; the largest size is kept (allocating and clearing it
 * for every field made the target twenty times slower). */
static struct mailbox *room(size_t max, int which)
{
	static struct mailbox big[2][RFC5322_ADDRESSES_MAX];
	if (max == RFC5322_ADDRESSES_MAX)
		return big[which];
	struct mailbox *m = malloc(max * sizeof(*m));
	if (m == NULL)
		abort();
	return m;
}

static void room_free(struct mailbox *m, size_t max)
{
	if (max != RFC5322_ADDRESSES_MAX)
		free(m);
}

/* ------------------------------------------------------------ fields */

/* One field from header_next, against header.h. */
static void check_field(const char *hdr, size_t len, size_t start,
			size_t end, const struct header_field *f)
{
	CHECK(start < end && end <= len);
	CHECK(f->name == hdr + start && f->name_len > 0);
	for (size_t i = 0; i < f->name_len; i++)
		CHECK(f->name[i] > 32 && f->name[i] < 127 && f->name[i] != ':');
	/* blanks may stand before the colon (RFC 5322 4.5 obs-field) */
	const char *colon = f->name + f->name_len;
	while (*colon == ' ' || *colon == '\t')
		colon++;
	CHECK(*colon == ':');
	CHECK(f->value == colon + 1);
	/* through the LF that no blank follows, or the end of the copy */
	CHECK(end == len || (hdr[end - 1] == '\n' && hdr[end] != ' ' &&
			     hdr[end] != '\t'));
	size_t vend = end < len || hdr[end - 1] == '\n' ? end - 1 : end;
	CHECK(f->value + f->value_len == hdr + vend);
	for (size_t i = 0; i < f->value_len; i++)
		if (f->value[i] == '\n')
			CHECK(i + 1 < f->value_len &&
			      (f->value[i + 1] == ' ' ||
			       f->value[i + 1] == '\t'));
}

static void check_unfold(const struct header_field *f, size_t max)
{
	struct buf u;
	buf_init(&u, 0);
	CHECK(header_unfold(f, &u) == 0);
	size_t k = 0;
	for (size_t i = 0; i < f->value_len; i++)
		if (f->value[i] != '\n')
			CHECK(k < u.len && u.data[k++] == f->value[i]);
	CHECK(k == u.len);

	/* folding is whitespace to the address parser */
	struct mailbox *a = room(max, 0), *b = room(max, 1);
	size_t na, nb;
	int ra = parse_list(f->value, f->value_len, max, a, &na);
	int rb = parse_list(u.len ? u.data : "", u.len, max, b, &nb);
	CHECK(ra == rb && na == nb);
	for (size_t i = 0; ra == 0 && i < na; i++) {
		const struct mailbox *x = &a[i], *y = &b[i];
		CHECK(strcmp(x->local, y->local) == 0 &&
		      x->quoted == y->quoted);
		CHECK(x->literal == y->literal);
		if (!x->literal) /* a literal keeps its folded blanks */
			CHECK(strcmp(x->domain, y->domain) == 0 &&
			      x->utf8 == y->utf8);
	}
	room_free(a, max);
	room_free(b, max);
	buf_free(&u);
}

static void walk(const char *hdr, size_t len, size_t max)
{
	struct header_field f;
	size_t pos = 0;
	unsigned fields = 0, same_name = 0;
	char first[64] = "";
	while (header_next(hdr, len, &pos, &f) == 1) {
		size_t start = (size_t)(f.name - hdr);
		CHECK(f.name >= hdr && start < pos);
		check_field(hdr, len, start, pos, &f);
		if (fields++ == 0 && f.name_len < sizeof(first))
			memcpy(first, f.name, f.name_len);
		if (first[0] != '\0' && header_is(&f, first))
			same_name++;
		check_unfold(&f, max);
	}
	CHECK(pos <= len);
	if (first[0] != '\0')
		CHECK(header_count(hdr, len, first) == same_name);
}

static size_t max_addresses(uint8_t b)
{
	size_t m = (b >> 1) & 7;
	return m == 7 ? RFC5322_ADDRESSES_MAX : m + 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	size_t max = max_addresses(data[0]);
	const char *s = (const char *)data + 1;
	size_t n = size - 1;
	if (data[0] & 1) {
		struct mailbox *out = room(max, 0);
		size_t count;
		parse_list(s, n, max, out, &count);
		room_free(out, max);
	} else {
		walk(s, n, max);
	}
	return 0;
}
