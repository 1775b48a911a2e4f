/* addrlist: the lenient address-list parser (see addrlist.h).
 *
 * Two steps. The lexer cuts the value into tokens (words, quoted strings,
 * domain literals, comments, specials), each marked when CFWS came before
 * it. The parser gathers the tokens of one element, up to a "," or ";"
 * or the ":" of a group, then reads a mailbox out of them by shape:
 * "<" splits the display name from the address; without one, the words
 * that touch the "@" (or are joined to it by dots) are the local part and
 * any words before them the display name. Each byte is lexed once and
 * each token looked at a bounded number of times: linear time. */
#include "mail/addrlist.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

enum tk { TK_END, TK_WORD, TK_QUOTED, TK_DLIT, TK_COMMENT, TK_SPECIAL };

struct token {
	enum tk kind;
	char c;      /* TK_SPECIAL */
	size_t a, b; /* the token's bytes; for QUOTED and COMMENT the inside */
	bool space;  /* CFWS before it */
};

struct lexer {
	const char *s;
	size_t n, i;
};

static bool is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* RFC 5322 3.2.3 specials, less "\" (stray backslashes stay in words) */
static bool is_special(char c)
{
	return c != 0 && strchr("()<>[]:;@,.\"", c) != NULL;
}

/* The end of a "..." or (...) starting at s[i]: after the closing byte, or
 * the end of the value when it never comes. Comments nest; quoted-pairs
 * hide the closing byte. */
static size_t delimited_end(const struct lexer *lx, size_t i, char open,
                            char close, size_t *inner_end)
{
	size_t depth = 0;
	for (size_t j = i + 1; j < lx->n; j++) {
		char c = lx->s[j];
		if (c == '\\' && j + 1 < lx->n) {
			j++;
		} else if (c == open && open != close &&
		           depth < ADDRLIST_COMMENT_DEPTH_MAX) {
			depth++;
		} else if (c == close) {
			if (depth == 0) {
				*inner_end = j;
				return j + 1;
			}
			depth--;
		}
	}
	*inner_end = lx->n;
	return lx->n;
}

static struct token lex_next(struct lexer *lx)
{
	struct token t = {.kind = TK_END};
	while (lx->i < lx->n && is_blank(lx->s[lx->i])) {
		lx->i++;
		t.space = true;
	}
	if (lx->i >= lx->n)
		return t;
	size_t i = lx->i;
	char c = lx->s[i];
	t.a = i;
	if (c == '"' || c == '(') {
		t.kind = c == '"' ? TK_QUOTED : TK_COMMENT;
		t.a = i + 1;
		lx->i = delimited_end(lx, i, c, c == '"' ? '"' : ')', &t.b);
	} else if (c == '[') {
		/* a domain literal, brackets kept; unclosed, to the end */
		const char *e = memchr(lx->s + i, ']', lx->n - i);
		t.kind = TK_DLIT;
		lx->i = t.b = e != NULL ? (size_t)(e - lx->s) + 1 : lx->n;
	} else if (is_special(c)) {
		t.kind = TK_SPECIAL;
		t.c = c;
		lx->i = t.b = i + 1;
	} else {
		size_t j = i;
		while (j < lx->n && !is_blank(lx->s[j]) &&
		       !is_special(lx->s[j]))
			j++;
		t.kind = TK_WORD;
		lx->i = t.b = j;
	}
	return t;
}

/* ------------------------------------------------------------ output */

struct parser {
	struct addrlist *al;
	struct lexer lx;
	struct token *t; /* the element's tokens */
	size_t nt, capt;
	bool in_group;
};

static bool is_sp(const struct token *t, char c)
{
	return t->kind == TK_SPECIAL && t->c == c;
}

/* Append the token's text: a quoted string unquoted, line ends dropped
 * (unfolding, RFC 5322 2.2.3). */
static int put_token(struct buf *b, const char *s, const struct token *t)
{
	bool pairs = t->kind == TK_QUOTED || t->kind == TK_COMMENT;
	size_t start = t->a;
	for (size_t i = t->a; i < t->b; i++) {
		char c = s[i];
		if (c != '\r' && c != '\n' && !(pairs && c == '\\'))
			continue;
		if (buf_append(b, s + start, i - start) < 0)
			return -1;
		start = i + 1;
		if (c == '\\' && i + 1 < t->b && s[i + 1] != '\r' &&
		    s[i + 1] != '\n')
			i++; /* the escaped byte is kept: start is on it */
	}
	return buf_append(b, s + start, t->b - start);
}

static void span_begin(const struct parser *ps, struct addrlist_span *sp)
{
	*sp = (struct addrlist_span){ps->al->text.len, 0, true};
}

static void span_end(const struct parser *ps, struct addrlist_span *sp)
{
	sp->len = ps->al->text.len - sp->off;
}

/* The phrase t[a..b): words, quoted strings and dots (RFC 5322 4.1
 * obs-phrase), one space wherever CFWS separated two of them; comments
 * and stray specials (a lone ">", ")") are dropped and count as a gap. */
static int phrase(struct parser *ps, size_t a, size_t b,
                  struct addrlist_span *sp)
{
	span_begin(ps, sp);
	bool gap = false, any = false;
	for (size_t i = a; i < b; i++) {
		const struct token *t = &ps->t[i];
		if (t->kind == TK_COMMENT ||
		    (t->kind == TK_SPECIAL && t->c != '.')) {
			gap = true;
			continue;
		}
		if (any && (gap || t->space) &&
		    buf_append_byte(&ps->al->text, ' ') < 0)
			return -1;
		if (put_token(&ps->al->text, ps->lx.s, t) < 0)
			return -1;
		any = true;
		gap = false;
	}
	span_end(ps, sp);
	if (!any)
		sp->set = false;
	return 0;
}

/* t[a..b) concatenated without spaces or comments (a local part, a domain,
 * a route: RFC 5322 4.4 allows CFWS around their dots). */
static int joined(struct parser *ps, size_t a, size_t b,
                  struct addrlist_span *sp)
{
	span_begin(ps, sp);
	for (size_t i = a; i < b; i++)
		if (ps->t[i].kind != TK_COMMENT &&
		    put_token(&ps->al->text, ps->lx.s, &ps->t[i]) < 0)
			return -1;
	span_end(ps, sp);
	return 0;
}

/* ------------------------------------------------------------ mailboxes */

static bool local_token(const struct token *t)
{
	return t->kind == TK_WORD || t->kind == TK_QUOTED || is_sp(t, '.');
}

/* Where the local part before the "@" at t[at] starts, at or after a:
 * the words touching it or joined to it by dots; words further back,
 * apart by CFWS, are a display name without its angle brackets. */
static size_t local_start(const struct parser *ps, size_t a, size_t at)
{
	size_t k = at;
	bool gap = false;
	for (size_t j = at; j-- > a;) {
		const struct token *t = &ps->t[j];
		if (t->kind == TK_COMMENT) {
			gap = true;
			continue;
		}
		if (!local_token(t))
			break;
		if (k < at && !is_sp(t, '.') && !is_sp(&ps->t[k], '.') &&
		    (gap || ps->t[k].space))
			break;
		k = j;
		gap = false;
	}
	return k;
}

/* Where the domain after t[at] ends: words, dots and literals that touch
 * (comments between are skipped); a word apart by CFWS ends it. */
static size_t domain_end(const struct parser *ps, size_t at, size_t b)
{
	size_t end = at + 1;
	bool dot = true; /* the "@" lets the next word join */
	for (size_t i = at + 1; i < b; i++) {
		const struct token *t = &ps->t[i];
		if (t->kind == TK_COMMENT)
			continue;
		bool word = t->kind == TK_WORD || t->kind == TK_DLIT;
		if (!word && !is_sp(t, '.'))
			break;
		if (word && !dot && t->space)
			break;
		dot = is_sp(t, '.');
		end = i + 1;
	}
	return end;
}

static size_t find(const struct parser *ps, size_t a, size_t b, char c)
{
	for (size_t i = a; i < b; i++)
		if (is_sp(&ps->t[i], c))
			return i;
	return b;
}

/* local "@" domain in t[a..b), or a local part alone. */
static int addr_spec(struct parser *ps, size_t a, size_t b,
                     struct addrlist_entry *e)
{
	size_t at = find(ps, a, b, '@');
	if (joined(ps, a, at, &e->mailbox) < 0)
		return -1;
	if (at == b)
		return joined(ps, b, b, &e->host);
	return joined(ps, at + 1, domain_end(ps, at, b), &e->host);
}

/* What is inside "<" ">": [obs-route ":"] addr-spec. */
static int angle_addr(struct parser *ps, size_t a, size_t b,
                      struct addrlist_entry *e)
{
	if (a < b && is_sp(&ps->t[a], '@')) {
		size_t colon = find(ps, a, b, ':');
		if (colon < b) {
			if (joined(ps, a, colon, &e->route) < 0)
				return -1;
			a = colon + 1;
		}
	}
	return addr_spec(ps, a, b, e);
}

/* The first comment in t[a..b) as a name ("a@b (Joe)"). */
static int comment_name(struct parser *ps, size_t a, size_t b,
                        struct addrlist_span *sp)
{
	for (size_t i = a; i < b; i++) {
		if (ps->t[i].kind != TK_COMMENT)
			continue;
		span_begin(ps, sp);
		if (put_token(&ps->al->text, ps->lx.s, &ps->t[i]) < 0)
			return -1;
		span_end(ps, sp);
		return 0;
	}
	return 0;
}

/* Is there room for one more entry (and the end of an open group)? */
static bool room(struct parser *ps, size_t entries)
{
	size_t need = ps->al->n + entries + (ps->in_group ? 1 : 0);
	if (need <= ADDRLIST_MAX)
		return true;
	ps->al->truncated = true;
	return false;
}

static struct addrlist_entry *add(struct parser *ps, enum addrlist_kind kind)
{
	struct addrlist *al = ps->al;
	if (al->n == al->cap) {
		size_t cap = al->cap == 0 ? 8 : 2 * al->cap;
		struct addrlist_entry *v = realloc(al->v, cap * sizeof(*v));
		if (v == NULL)
			return NULL;
		al->v = v;
		al->cap = cap;
	}
	struct addrlist_entry *e = &al->v[al->n++];
	*e = (struct addrlist_entry){.kind = kind};
	return e;
}

/* The mailbox in the element's tokens, if it has one. */
static int mailbox(struct parser *ps)
{
	size_t n = ps->nt, lt = find(ps, 0, n, '<');
	bool any = false;
	for (size_t i = 0; i < n && !any; i++)
		any = ps->t[i].kind != TK_COMMENT;
	if (!any)
		return 0; /* an empty element: ",," or a trailing "," */
	if (!room(ps, 1))
		return 1;
	struct addrlist_entry *e = add(ps, ADDRLIST_MAILBOX);
	if (e == NULL)
		return -1;
	int rc;
	if (lt < n) {
		size_t gt = find(ps, lt + 1, n, '>');
		rc = phrase(ps, 0, lt, &e->name);
		if (rc == 0)
			rc = angle_addr(ps, lt + 1, gt, e);
	} else {
		size_t at = find(ps, 0, n, '@');
		size_t k = at < n ? local_start(ps, 0, at) : 0;
		rc = phrase(ps, 0, k, &e->name);
		if (rc == 0)
			rc = addr_spec(ps, k, n, e);
	}
	if (rc == 0 && !e->name.set)
		rc = comment_name(ps, 0, n, &e->name);
	return rc;
}

/* ------------------------------------------------------------ elements */

static int push(struct parser *ps, const struct token *t)
{
	if (ps->nt == ps->capt) {
		size_t cap = ps->capt == 0 ? 32 : 2 * ps->capt;
		struct token *v = realloc(ps->t, cap * sizeof(*v));
		if (v == NULL)
			return -1;
		ps->t = v;
		ps->capt = cap;
	}
	ps->t[ps->nt++] = *t;
	return 0;
}

/* The tokens of one element into ps->t; returns what ended it: TK_END,
 * or the special ',', ';' or ':' (a group's name ends; only outside a
 * group and outside "<>"). Inside "<" a "," belongs to an obs-route
 * ("<@a,@b:c@d>") until its ":"; elsewhere it ends the element, so that
 * an unclosed "<" does not swallow the rest of the list. */
static int element(struct parser *ps, char *end)
{
	bool angle = false, route = false, first = false;
	ps->nt = 0;
	for (;;) {
		struct token t = lex_next(&ps->lx);
		*end = t.kind == TK_END ? 0 : t.c;
		if (t.kind == TK_END)
			return 0;
		if (t.kind == TK_SPECIAL) {
			char c = t.c;
			if (c == ';' || (c == ',' && !route) ||
			    (c == ':' && !angle && !ps->in_group))
				return 0;
			if (c == ':')
				route = false;
			if (c == '<') {
				angle = first = true;
				route = false;
			} else if (c == '>') {
				angle = route = false;
			} else if (first) {
				route = c == '@';
			}
		}
		if (t.kind != TK_SPECIAL || t.c != '<')
			first = false;
		if (push(ps, &t) < 0)
			return -1;
	}
}

static int group_start(struct parser *ps)
{
	if (!room(ps, 2))
		return 1;
	struct addrlist_entry *e = add(ps, ADDRLIST_GROUP);
	if (e == NULL || phrase(ps, 0, ps->nt, &e->name) < 0)
		return -1;
	if (!e->name.set) /* RFC 9051 7.5.2: the name is a string */
		span_begin(ps, &e->name);
	ps->in_group = true;
	return 0;
}

static int group_end(struct parser *ps)
{
	ps->in_group = false;
	return add(ps, ADDRLIST_GROUP_END) == NULL ? -1 : 0;
}

/* Returns 0 done, -1 out of memory. */
static int run(struct parser *ps)
{
	for (;;) {
		char end;
		if (element(ps, &end) < 0)
			return -1;
		int rc = end == ':' ? group_start(ps) : mailbox(ps);
		if (rc < 0)
			return -1;
		if (rc > 0)
			break; /* full */
		if (end == ';' && ps->in_group && group_end(ps) < 0)
			return -1;
		if (end == 0)
			break;
	}
	return ps->in_group ? group_end(ps) : 0;
}

void addrlist_init(struct addrlist *al)
{
	*al = (struct addrlist){0};
	/* strings only shrink or are joined by one space for CFWS */
	buf_init(&al->text, 2 * ADDRLIST_FIELD_MAX + 64);
}

void addrlist_free(struct addrlist *al)
{
	free(al->v);
	buf_free(&al->text);
	addrlist_init(al);
}

int addrlist_parse(struct addrlist *al, const char *value, size_t len)
{
	al->n = 0;
	al->truncated = len > ADDRLIST_FIELD_MAX;
	buf_clear(&al->text);
	struct parser ps = {.al = al};
	ps.lx = (struct lexer){value, al->truncated ? ADDRLIST_FIELD_MAX : len,
	                       0};
	int rc = run(&ps);
	free(ps.t);
	if (rc < 0)
		errno = ENOMEM;
	return rc;
}

const char *addrlist_text(const struct addrlist *al, struct addrlist_span s)
{
	if (!s.set)
		return NULL;
	/* an empty text buffer may have no storage yet */
	return s.len == 0 ? "" : al->text.data + s.off;
}
