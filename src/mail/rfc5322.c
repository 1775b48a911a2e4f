/* rfc5322: address-list parser (RFC 5322 3.4 and 4.4, RFC 6532). */
#include "mail/rfc5322.h"

#include <stdbool.h>
#include <string.h>

enum { COMMENT_DEPTH_MAX = 32, WORDS_MAX = 128 };

enum tok_kind { T_END, T_ATOM, T_QSTRING, T_DLITERAL, T_SPECIAL, T_ERROR };

struct tok {
	enum tok_kind kind;
	const char *p; /* for ATOM, QSTRING (inside the quotes), DLITERAL */
	size_t n;
	char ch;       /* for SPECIAL */
};

struct lexer {
	const char *s;
	size_t n, pos;
	struct tok peeked;
	bool have_peek;
};

/* RFC 5322 3.2.3 atext, plus UTF-8 (RFC 6532 3.2) */
static bool is_atext(unsigned char c)
{
	/* c != 0: strchr would find the string's own terminator */
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || c >= 0x80 ||
	       (c != 0 && strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL);
}

/* CFWS: blanks, folds and (nested (comments)). false on a broken comment. */
static bool skip_cfws(struct lexer *lx)
{
	int depth = 0;
	while (lx->pos < lx->n) {
		char c = lx->s[lx->pos];
		if (depth == 0 && (c == ' ' || c == '\t' || c == '\n' || c == '\r')) {
			lx->pos++;
		} else if (c == '(') {
			if (++depth > COMMENT_DEPTH_MAX)
				return false;
			lx->pos++;
		} else if (depth > 0 && c == ')') {
			depth--;
			lx->pos++;
		} else if (depth > 0 && c == '\\') {
			if (lx->pos + 1 < lx->n && lx->s[lx->pos + 1] == '\0')
				return false; /* not even escaped may a NUL pass */
			lx->pos += 2; /* quoted-pair inside a comment */
		} else if (depth > 0) {
			if (c == '\0')
				return false;
			lx->pos++;
		} else {
			break;
		}
	}
	if (lx->pos > lx->n)
		lx->pos = lx->n;
	return depth == 0;
}

/* "..." with quoted-pairs; pos is on the opening quote. */
static struct tok lex_delimited(struct lexer *lx, char close,
				enum tok_kind kind)
{
	struct tok t = {.kind = kind, .p = lx->s + lx->pos + 1};
	for (size_t i = lx->pos + 1; i < lx->n; i++) {
		char c = lx->s[i];
		if (c == '\\' && kind == T_QSTRING) {
			if (i + 1 < lx->n && lx->s[i + 1] == '\0')
				break;
			i++;
			continue;
		}
		if (c == '\0' || (kind == T_DLITERAL && (c == '[' || c == '\\')))
			break;
		if (c == close) {
			t.n = (size_t)(lx->s + i - t.p);
			lx->pos = i + 1;
			return t;
		}
	}
	t.kind = T_ERROR;
	return t;
}

static struct tok lex(struct lexer *lx)
{
	struct tok t = {.kind = T_ERROR};
	if (!skip_cfws(lx))
		return t;
	if (lx->pos >= lx->n) {
		t.kind = T_END;
		return t;
	}
	unsigned char c = (unsigned char)lx->s[lx->pos];
	if (c == '"')
		return lex_delimited(lx, '"', T_QSTRING);
	if (c == '[')
		return lex_delimited(lx, ']', T_DLITERAL);
	if (strchr("<>:;@,.", c) != NULL) {
		t.kind = T_SPECIAL;
		t.ch = (char)c;
		lx->pos++;
		return t;
	}
	if (!is_atext(c))
		return t; /* ')' '\\' or a control character */
	t.kind = T_ATOM;
	t.p = lx->s + lx->pos;
	while (lx->pos < lx->n && is_atext((unsigned char)lx->s[lx->pos]))
		lx->pos++;
	t.n = (size_t)(lx->s + lx->pos - t.p);
	return t;
}

static struct tok peek(struct lexer *lx)
{
	if (!lx->have_peek) {
		lx->peeked = lex(lx);
		lx->have_peek = true;
	}
	return lx->peeked;
}

static struct tok take(struct lexer *lx)
{
	struct tok t = peek(lx);
	lx->have_peek = false;
	return t;
}

static bool is_special(struct tok t, char c)
{
	return t.kind == T_SPECIAL && t.ch == c;
}

struct words {
	struct tok w[WORDS_MAX];
	size_t n;
};

/* word *("." word), the local part (obs-local-part allows the words to be
 * quoted strings); raw is unquoted, then normalised. */
static bool build_local(const struct words *ws, struct mailbox *mb)
{
	char raw[ADDR_PATH_MAX];
	size_t rn = 0;
	if (ws->n == 0 || ws->n % 2 == 0)
		return false;
	for (size_t i = 0; i < ws->n; i++) {
		struct tok t = ws->w[i];
		if (i % 2 == 1) {
			if (!is_special(t, '.') || rn + 1 > ADDR_LOCAL_MAX)
				return false;
			raw[rn++] = '.';
			continue;
		}
		if (t.kind != T_ATOM && t.kind != T_QSTRING)
			return false;
		for (size_t k = 0; k < t.n; k++) {
			char c = t.p[k];
			if (t.kind == T_QSTRING && c == '\\' && k + 1 < t.n)
				c = t.p[++k];
			if (c == '\r' || c == '\n')
				continue; /* a fold inside the quotes */
			if (rn + 1 > ADDR_LOCAL_MAX)
				return false;
			raw[rn++] = c;
		}
	}
	if (rn == 0 || !utf8_valid(raw, rn))
		return false;
	for (size_t i = 0; i < rn; i++)
		mb->utf8 |= (unsigned char)raw[i] >= 0x80;
	mailbox_set_local(mb, raw, rn);
	return true;
}

/* domain = dot-atom / domain-literal (obs-domain: atoms with CFWS around
 * the dots, which the lexer already skips) */
static bool parse_domain(struct lexer *lx, struct mailbox *mb)
{
	size_t dn = 0;
	struct tok t = take(lx);
	if (t.kind == T_DLITERAL) {
		if (t.n + 2 > ADDR_DOMAIN_MAX || !utf8_valid(t.p, t.n))
			return false;
		mb->domain[0] = '[';
		for (size_t k = 0; k < t.n; k++) {
			char c = t.p[k]; /* lower case, as address.c keeps domains */
			mb->domain[1 + k] = c >= 'A' && c <= 'Z' ? (char)(c + 32) : c;
			mb->utf8 |= (unsigned char)c >= 0x80;
		}
		memcpy(mb->domain + 1 + t.n, "]", 2);
		mb->literal = true;
		return true;
	}
	for (;;) {
		if (t.kind != T_ATOM || dn + t.n + 1 > ADDR_DOMAIN_MAX)
			return false;
		for (size_t k = 0; k < t.n; k++) {
			char c = t.p[k];
			mb->domain[dn++] = c >= 'A' && c <= 'Z' ? (char)(c + 32) : c;
			mb->utf8 |= (unsigned char)c >= 0x80;
		}
		if (!is_special(peek(lx), '.'))
			break;
		take(lx);
		mb->domain[dn++] = '.';
		t = take(lx);
	}
	mb->domain[dn] = '\0';
	return utf8_valid(mb->domain, dn);
}

/* Words (atoms, quoted strings, dots) up to the next other token. */
static bool collect_words(struct lexer *lx, struct words *ws)
{
	ws->n = 0;
	for (;;) {
		struct tok t = peek(lx);
		if (t.kind == T_ERROR)
			return false;
		if (t.kind != T_ATOM && t.kind != T_QSTRING && !is_special(t, '.'))
			return true;
		if (ws->n == WORDS_MAX)
			return false;
		ws->w[ws->n++] = take(lx);
	}
}

/* obs-route: "@" domain *("," ["@" domain]) ":" -- skipped. */
static bool skip_route(struct lexer *lx)
{
	struct mailbox ignored;
	while (is_special(peek(lx), '@') || is_special(peek(lx), ',')) {
		if (is_special(take(lx), '@')) {
			memset(&ignored, 0, sizeof(ignored));
			if (!parse_domain(lx, &ignored))
				return false;
		}
	}
	return is_special(take(lx), ':');
}

/* After '<': [obs-route] addr-spec ">" */
static bool parse_angle(struct lexer *lx, struct mailbox *mb)
{
	struct words ws;
	if (is_special(peek(lx), '@') && !skip_route(lx))
		return false;
	return collect_words(lx, &ws) && build_local(&ws, mb) &&
	       is_special(take(lx), '@') && parse_domain(lx, mb) &&
	       is_special(take(lx), '>');
}

struct sink {
	struct mailbox *out;
	size_t max, count;
};

static bool add(struct sink *k, const struct mailbox *mb)
{
	if (k->count == k->max)
		return false;
	k->out[k->count++] = *mb;
	return true;
}

/* mailbox, or (when allowed) group */
static bool parse_address(struct lexer *lx, struct sink *k, bool group_ok)
{
	struct words ws;
	struct mailbox mb;
	memset(&mb, 0, sizeof(mb));
	if (!collect_words(lx, &ws))
		return false;
	struct tok t = take(lx);
	if (is_special(t, '<'))
		return parse_angle(lx, &mb) && add(k, &mb);
	if (is_special(t, '@'))
		return build_local(&ws, &mb) && parse_domain(lx, &mb) && add(k, &mb);
	if (!is_special(t, ':') || !group_ok || ws.n == 0)
		return false;
	/* group: display-name ":" [mailbox *("," mailbox)] ";" */
	for (;;) {
		t = peek(lx);
		if (is_special(t, ';')) {
			take(lx);
			return true;
		}
		if (is_special(t, ',')) {
			take(lx);
			continue;
		}
		if (!parse_address(lx, k, false))
			return false;
	}
}

int rfc5322_address_list(const char *value, size_t n, struct mailbox *out,
			 size_t max, size_t *count)
{
	struct lexer lx = {.s = value, .n = n};
	struct sink k = {.out = out, .max = max};
	*count = 0;
	for (;;) {
		struct tok t = peek(&lx);
		if (t.kind == T_END)
			break;
		if (is_special(t, ',')) { /* obs: empty list elements */
			take(&lx);
			continue;
		}
		if (!parse_address(&lx, &k, true))
			return -1;
		t = peek(&lx);
		if (t.kind != T_END && !is_special(take(&lx), ','))
			return -1;
	}
	*count = k.count;
	return 0;
}
