/* libFuzzer target: RFC 5321 / RFC 6531 paths and UTF-8 (src/mail/address.c).
 *
 * Input: one byte of settings, then the text after "MAIL FROM:" or
 * "RCPT TO:".
 *   byte 0  bits 0-2: the ADDR_F_* flags; bit 3: also parse ESMTP
 *           parameters after the path
 *
 * address_parse_path must never crash nor read past the text. When it
 * accepts a path: it took at most the text and at most ADDR_PATH_MAX bytes,
 * ending with '>'; the mailbox holds what address.h documents (a local part
 * of at most 64 octets, written as a Dot-string or a Quoted-string; a domain
 * with its ASCII letters lower-cased; the utf8 flag exactly when the
 * mailbox is not ASCII and only when allowed); and written back in angle
 * brackets it parses to the same mailbox (a stored or logged address means
 * what the client meant). utf8_valid is compared with a decoder written from
 * the table of well-formed byte sequences in Unicode 15, 3.9 (D92). */
#include "mail/address.h"

#include <stdint.h>
#include <string.h>

#define CHECK(cond)                                                            \
	do {                                                                   \
		if (!(cond))                                                   \
			__builtin_trap();                                      \
	} while (0)

/* ------------------------------------------------------------ UTF-8 */

/* Table 3-7: the ranges of the second byte after each first byte; the
 * third and fourth bytes are always 80..BF. */
static size_t ref_utf8_seq(const uint8_t *s, size_t len)
{
	uint8_t b = s[0];
	size_t n;
	uint8_t lo = 0x80, hi = 0xbf;
	if (b <= 0x7f)
		return 1;
	if (b >= 0xc2 && b <= 0xdf)
		n = 2;
	else if (b == 0xe0)
		n = 3, lo = 0xa0;
	else if ((b >= 0xe1 && b <= 0xec) || b == 0xee || b == 0xef)
		n = 3;
	else if (b == 0xed)
		n = 3, hi = 0x9f;
	else if (b == 0xf0)
		n = 4, lo = 0x90;
	else if (b >= 0xf1 && b <= 0xf3)
		n = 4;
	else if (b == 0xf4)
		n = 4, hi = 0x8f;
	else
		return 0;
	if (len < n || s[1] < lo || s[1] > hi)
		return 0;
	for (size_t i = 2; i < n; i++)
		if (s[i] < 0x80 || s[i] > 0xbf)
			return 0;
	return n;
}

static bool ref_utf8_valid(const uint8_t *s, size_t len)
{
	for (size_t i = 0; i < len;) {
		size_t n = ref_utf8_seq(s + i, len - i);
		if (n == 0)
			return false;
		i += n;
	}
	return true;
}

/* ------------------------------------------------------------ mailbox */

static bool has_non_ascii(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s >= 0x80)
			return true;
	return false;
}

static bool atext(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') ||
	       (c != '\0' && strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL) ||
	       c >= 0x80;
}

/* RFC 5321 4.1.2 Dot-string (with RFC 6531 UTF-8 in atoms). */
static bool dot_string(const char *s)
{
	bool need_atom = true;
	for (; *s != '\0'; s++) {
		if (*s == '.') {
			if (need_atom)
				return false;
			need_atom = true;
		} else if (atext((unsigned char)*s)) {
			need_atom = false;
		} else {
			return false;
		}
	}
	return !need_atom;
}

/* Quoted-string as requote() writes it: only '"' and '\' are escaped, and
 * what it quotes could not be written as a Dot-string. */
static bool quoted_string(const char *s)
{
	size_t n = strlen(s);
	char raw[ADDR_LOCAL_BUF];
	size_t r = 0;
	if (n < 2 || n > ADDR_LOCAL_MAX || s[0] != '"' || s[n - 1] != '"')
		return false;
	for (size_t i = 1; i < n - 1; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '\\') {
			if (i + 1 >= n - 1 ||
			    (s[i + 1] != '"' && s[i + 1] != '\\'))
				return false;
			c = (unsigned char)s[++i];
		} else if (c == '"' || c < 32 || c == 127) {
			return false;
		}
		raw[r++] = (char)c;
	}
	raw[r] = '\0';
	return !dot_string(raw);
}

static void check_domain(const struct mailbox *mb)
{
	size_t n = strlen(mb->domain);
	if (n == 0)
		return;
	CHECK(n <= ADDR_DOMAIN_MAX);
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)mb->domain[i];
		CHECK(!(c >= 'A' && c <= 'Z')); /* compared lower-cased */
		CHECK(c > 32 && c != 127);
	}
	if (mb->literal) {
		CHECK(n >= 3 && mb->domain[0] == '[' &&
		      mb->domain[n - 1] == ']');
		CHECK(!has_non_ascii(mb->domain));
		return;
	}
	/* labels: letters, digits, inner hyphens, UTF-8; never empty */
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)mb->domain[i];
		CHECK((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		      c == '-' || c == '.' || c >= 0x80);
		bool first = i == 0 || mb->domain[i - 1] == '.';
		bool last = i + 1 == n || mb->domain[i + 1] == '.';
		CHECK(c != '.' || (!first && !last));
		CHECK(c != '-' || (!first && !last));
	}
}

static void check_mailbox(const struct mailbox *mb, unsigned flags,
			  const char *text, size_t text_len)
{
	size_t l = strlen(mb->local), d = strlen(mb->domain);
	CHECK(text_len < ADDR_TEXT_MAX && strlen(text) == text_len);
	CHECK(l <= ADDR_LOCAL_MAX); /* never longer than it came */
	CHECK(utf8_valid(text, text_len));
	if (l == 0) { /* the null reverse-path */
		CHECK(flags & ADDR_F_EMPTY_OK);
		CHECK(d == 0 && !mb->quoted && !mb->utf8 && !mb->literal);
		return;
	}
	if (mb->quoted)
		CHECK(quoted_string(mb->local) && mb->local[0] == '"');
	else
		CHECK(dot_string(mb->local));
	if (d == 0) { /* <postmaster> */
		CHECK(flags & ADDR_F_POSTMASTER_OK);
		CHECK(strcmp(mb->local, "postmaster") == 0 && !mb->literal);
	}
	check_domain(mb);
	CHECK(!mb->utf8 || (flags & ADDR_F_UTF8));
	if (!mb->routed) /* a route's own UTF-8 is gone with the route */
		CHECK(mb->utf8 == has_non_ascii(text));
	else
		CHECK(mb->utf8 || !has_non_ascii(text));
}

static bool same_mailbox(const struct mailbox *a, const struct mailbox *b)
{
	return strcmp(a->local, b->local) == 0 &&
	       strcmp(a->domain, b->domain) == 0 && a->quoted == b->quoted &&
	       a->utf8 == b->utf8 && a->literal == b->literal &&
	       a->routed == b->routed;
}

static void check_params(const char *s, size_t len)
{
	struct esmtp_param params[ESMTP_PARAMS_MAX];
	const char *why = NULL;
	int n = esmtp_parse_params(s, len, params, &why);
	CHECK(n >= -1 && n <= ESMTP_PARAMS_MAX);
	CHECK(n >= 0 || why != NULL);
	for (int i = 0; i < n; i++) {
		const struct esmtp_param *p = &params[i];
		CHECK(p->keyword > s && p->keyword[-1] == ' ');
		CHECK(p->keyword_len > 0 &&
		      p->keyword + p->keyword_len <= s + len);
		for (size_t k = 0; k < p->keyword_len; k++) {
			unsigned char c = (unsigned char)p->keyword[k];
			CHECK((c >= 'a' && c <= 'z') ||
			      (c >= 'A' && c <= 'Z') ||
			      (c >= '0' && c <= '9') || (k > 0 && c == '-'));
		}
		if (p->value == NULL)
			continue;
		CHECK(p->value == p->keyword + p->keyword_len + 1 &&
		      p->value[-1] == '=');
		CHECK(p->value_len > 0 && p->value + p->value_len <= s + len);
		for (size_t k = 0; k < p->value_len; k++)
			CHECK(p->value[k] >= 33 && p->value[k] <= 126 &&
			      p->value[k] != '=');
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	unsigned flags = data[0] & 7;
	bool params = data[0] & 8;
	const char *s = (const char *)data + 1;
	size_t len = size - 1;

	CHECK(utf8_valid(s, len) == ref_utf8_valid(data + 1, len));

	struct mailbox mb;
	size_t used = (size_t)-1;
	const char *why = NULL;
	enum addr_result r =
		address_parse_path(s, len, flags, &mb, &used, &why);
	if (r != ADDR_OK) {
		CHECK(why != NULL);
		CHECK(r != ADDR_NEED_UTF8 || !(flags & ADDR_F_UTF8));
		return 0;
	}
	CHECK(used >= 2 && used <= len && used <= ADDR_PATH_MAX);
	CHECK(s[0] == '<' && s[used - 1] == '>');

	char text[ADDR_TEXT_MAX];
	size_t text_len = mailbox_format(&mb, text);
	check_mailbox(&mb, flags, text, text_len);
	if (params)
		check_params(s + used, len - used);

	/* idempotence: "<" text ">" is the same mailbox, taken whole */
	if (!mb.routed) {
		char again[ADDR_TEXT_MAX + 2];
		again[0] = '<';
		memcpy(again + 1, text, text_len);
		again[text_len + 1] = '>';
		struct mailbox mb2;
		size_t used2;
		CHECK(address_parse_path(again, text_len + 2, flags, &mb2,
					 &used2, &why) == ADDR_OK);
		CHECK(used2 == text_len + 2 && same_mailbox(&mb, &mb2));
	}
	return 0;
}
