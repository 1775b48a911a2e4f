/* search: SEARCH key parsing and matching (see search.h). */
#include "imapd/search.h"

#include "store/mdname.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

enum kind {
	K_AND,  /* children: a .. a + n (each followed by its subtree) */
	K_NOT,
	K_OR,
	K_ALL,
	K_NONE, /* RECENT, NEW: nothing is recent (IMAP4rev2 dropped it) */
	K_FLAG, /* flag set (want) or not */
	K_KEYWORD,
	K_SEQ,
	K_UID,
	K_LARGER,
	K_SMALLER,
	K_BEFORE,
	K_ON,
	K_SINCE,
	K_SENTBEFORE,
	K_SENTON,
	K_SENTSINCE,
	K_HEADER,
	K_BODY,
	K_TEXT,
	K_MODSEQ,
};

struct search_node {
	enum kind kind;
	uint32_t end;   /* index after this node's subtree */
	uint32_t n;     /* K_AND: children */
	bool want;      /* K_FLAG, K_KEYWORD: set or unset */
	uint32_t flag;
	int kw;         /* K_KEYWORD: bound bit, -1 none */
	uint64_t number;
	int64_t day;
	const char *a, *b; /* HEADER field / string; keyword name */
	size_t alen, blen;
	struct imap_seq_range *ranges;
	struct imap_seqset set;
};

struct pstate {
	const struct imap_arg *args;
	uint32_t n_args;
	struct imap_search *s;
	const char *error;
};

static const struct {
	const char *name;
	uint32_t flag;
	bool want;
} flag_keys[] = {
	{"ANSWERED", STORE_ANSWERED, true}, {"DELETED", STORE_DELETED, true},
	{"DRAFT", STORE_DRAFT, true},	    {"FLAGGED", STORE_FLAGGED, true},
	{"SEEN", STORE_SEEN, true},	    {"UNANSWERED", STORE_ANSWERED, false},
	{"UNDELETED", STORE_DELETED, false}, {"UNDRAFT", STORE_DRAFT, false},
	{"UNFLAGGED", STORE_FLAGGED, false}, {"UNSEEN", STORE_SEEN, false},
	{"OLD", 0, true}, /* NOT RECENT: every message */
};

static const struct {
	const char *name;
	enum kind kind;
} string_keys[] = {{"BCC", K_HEADER},  {"CC", K_HEADER},   {"FROM", K_HEADER},
		   {"SUBJECT", K_HEADER}, {"TO", K_HEADER}, {"BODY", K_BODY},
		   {"TEXT", K_TEXT}};

static const struct {
	const char *name;
	enum kind kind;
} date_keys[] = {{"BEFORE", K_BEFORE},	       {"ON", K_ON},
		 {"SINCE", K_SINCE},	       {"SENTBEFORE", K_SENTBEFORE},
		 {"SENTON", K_SENTON},	       {"SENTSINCE", K_SENTSINCE}};

void imap_search_free(struct imap_search *s)
{
	for (size_t i = 0; s->v != NULL && i < s->n; i++)
		free(s->v[i].ranges);
	free(s->v);
	memset(s, 0, sizeof(*s));
}

static struct search_node *new_node(struct pstate *p, enum kind k)
{
	struct imap_search *s = p->s;
	/* every node takes at least one argument, so n_args + 1 is enough */
	struct search_node *x = &s->v[s->n++];
	memset(x, 0, sizeof(*x));
	x->kind = k;
	x->kw = -1;
	return x;
}

static int bad(struct pstate *p, const char *why)
{
	p->error = why;
	return -1;
}

/* ------------------------------------------------------------ dates */

static int month_of(const char *s)
{
	static const char *const m[] = {"Jan", "Feb", "Mar", "Apr",
					"May", "Jun", "Jul", "Aug",
					"Sep", "Oct", "Nov", "Dec"};
	for (int i = 0; i < 12; i++)
		if (strncasecmp(s, m[i], 3) == 0)
			return i;
	return -1;
}

static int64_t days(int d, int mon, int y)
{
	struct tm tm = {.tm_mday = d, .tm_mon = mon, .tm_year = y - 1900};
	if (d < 1 || d > 31 || y < 1 || y > 9999)
		return -1;
	return (int64_t)timegm(&tm) / 86400;
}

/* digits at s[*i..], at most max of them; -1 when none */
static int digits(const char *s, size_t len, size_t *i, int max)
{
	int v = 0, n = 0;
	while (*i < len && n < max && s[*i] >= '0' && s[*i] <= '9') {
		v = v * 10 + (s[*i] - '0');
		(*i)++;
		n++;
	}
	return n > 0 ? v : -1;
}

int64_t imap_search_date(const char *s, size_t len)
{
	size_t i = 0;
	int d = digits(s, len, &i, 2);
	if (d < 0 || i + 5 > len || s[i] != '-' || s[i + 4] != '-')
		return -1;
	int mon = month_of(s + i + 1);
	i += 5;
	int y = digits(s, len, &i, 4);
	if (mon < 0 || y < 0 || i != len)
		return -1;
	return days(d, mon, y);
}

int64_t imap_search_sent_date(const char *s, size_t len)
{
	size_t i = 0;
	while (i < len && (s[i] == ' ' || s[i] == '\t' || s[i] == '\r' ||
			   s[i] == '\n'))
		i++;
	const char *comma = memchr(s + i, ',', len - i);
	if (comma != NULL && comma - (s + i) <= 10) /* "Mon," */
		i = (size_t)(comma - s) + 1;
	while (i < len && (s[i] == ' ' || s[i] == '\t'))
		i++;
	int d = digits(s, len, &i, 2);
	while (i < len && s[i] == ' ')
		i++;
	if (d < 0 || i + 3 > len)
		return -1;
	int mon = month_of(s + i);
	i += 3;
	while (i < len && s[i] == ' ')
		i++;
	int y = digits(s, len, &i, 4);
	if (mon < 0 || y < 0)
		return -1;
	if (y < 50) /* RFC 5322 4.3: two-digit years */
		y += 2000;
	else if (y < 1000)
		y += 1900;
	return days(d, mon, y);
}

/* ------------------------------------------------------------ parsing */

#define STRING_TOO_LONG "Search string too long (at most 1024 bytes)"
_Static_assert(SEARCH_STRING_MAX == 1024, "STRING_TOO_LONG names the limit");

static int parse_key(struct pstate *p, uint32_t *i, unsigned depth);

static bool take_string(struct pstate *p, uint32_t *i, const char **s,
			size_t *len)
{
	if (*i >= p->n_args || !imap_arg_astring(&p->args[*i], s, len))
		return false;
	*i = p->args[*i].next;
	return true;
}

static int parse_set(struct pstate *p, struct search_node *x,
		     const struct imap_arg *a)
{
	size_t cap = 1;
	for (size_t k = 0; k < a->len; k++)
		cap += a->str[k] == ',';
	x->ranges = calloc(cap, sizeof(*x->ranges));
	if (x->ranges == NULL)
		return bad(p, "Out of memory");
	x->set.ranges = x->ranges;
	x->set.cap = cap;
	const char *why;
	if (imap_seqset_parse(a->str, a->len, &x->set, &why) < 0)
		return bad(p, why);
	if (x->set.saved)
		return bad(p, "$ (a saved result) is not supported");
	return 0;
}

/* A list "(key ...)" or the program itself: an AND. */
static int parse_and(struct pstate *p, uint32_t *i, uint32_t end,
		     unsigned depth)
{
	struct search_node *x = new_node(p, K_AND);
	size_t me = p->s->n - 1;
	if (*i >= end)
		return bad(p, "Missing search key");
	while (*i < end) {
		if (parse_key(p, i, depth) < 0)
			return -1;
		p->s->v[me].n++;
	}
	(void)x;
	p->s->v[me].end = (uint32_t)p->s->n;
	return 0;
}

static int parse_word(struct pstate *p, const struct imap_arg *a,
		      uint32_t *i, unsigned depth);

static int parse_key(struct pstate *p, uint32_t *i, unsigned depth)
{
	if (depth > SEARCH_DEPTH_MAX)
		return bad(p, "Search keys nest too deep");
	if (*i >= p->n_args)
		return bad(p, "Missing search key");
	const struct imap_arg *a = &p->args[*i];
	if (a->type == IMAP_ARG_LIST) {
		uint32_t end = a->next;
		*i += 1;
		return parse_and(p, i, end, depth + 1);
	}
	if (a->type != IMAP_ARG_ATOM)
		return bad(p, "Invalid search key");
	*i = a->next;
	return parse_word(p, a, i, depth);
}

static bool is(const struct imap_arg *a, const char *w)
{
	return imap_arg_atom_is(a, w);
}

static int parse_date_key(struct pstate *p, enum kind k, uint32_t *i)
{
	const char *s;
	size_t n;
	struct search_node *x = new_node(p, k);
	if (!take_string(p, i, &s, &n) || (x->day = imap_search_date(s, n)) < 0)
		return bad(p, "Invalid date (dd-Mon-yyyy)");
	x->end = (uint32_t)p->s->n;
	return 0;
}

static int parse_string_key(struct pstate *p, const char *field, enum kind k,
			    uint32_t *i)
{
	struct search_node *x = new_node(p, k);
	if (field != NULL) {
		x->a = field;
		x->alen = strlen(field);
	}
	if (!take_string(p, i, &x->b, &x->blen))
		return bad(p, "Missing search string");
	if (x->blen > SEARCH_STRING_MAX)
		return bad(p, STRING_TOO_LONG);
	x->end = (uint32_t)p->s->n;
	p->s->needs_text = true;
	if (k != K_HEADER)
		p->s->needs_body = true;
	return 0;
}

/* MODSEQ ["/flags/NAME" priv|shared|all] n (RFC 7162 3.1.5). */
static int parse_modseq(struct pstate *p, uint32_t *i)
{
	struct search_node *x = new_node(p, K_MODSEQ);
	const struct imap_arg *a = *i < p->n_args ? &p->args[*i] : NULL;
	if (a != NULL && a->type == IMAP_ARG_QUOTED) {
		const struct imap_arg *t = a->next < p->n_args
						   ? &p->args[a->next]
						   : NULL;
		if (a->len < 8 || strncasecmp(a->str, "/flags/", 7) != 0 ||
		    t == NULL ||
		    !(is(t, "priv") || is(t, "shared") || is(t, "all")))
			return bad(p, "Syntax: MODSEQ [\"/flags/name\" "
				      "priv|shared|all] modseq");
		*i = t->next;
		a = *i < p->n_args ? &p->args[*i] : NULL;
	}
	if (a == NULL || a->type != IMAP_ARG_ATOM ||
	    imap_parse_number(a->str, a->len, 19, INT64_MAX, &x->number) < 0)
		return bad(p, "Missing mod-sequence");
	*i = a->next;
	x->end = (uint32_t)p->s->n;
	p->s->modseq = true;
	return 0;
}

static int parse_word(struct pstate *p, const struct imap_arg *a,
		      uint32_t *i, unsigned depth)
{
	struct search_node *x;
	for (size_t k = 0; k < sizeof(flag_keys) / sizeof(flag_keys[0]); k++)
		if (is(a, flag_keys[k].name)) {
			x = new_node(p, flag_keys[k].flag ? K_FLAG : K_ALL);
			x->flag = flag_keys[k].flag;
			x->want = flag_keys[k].want;
			x->end = (uint32_t)p->s->n;
			return 0;
		}
	for (size_t k = 0; k < sizeof(string_keys) / sizeof(string_keys[0]); k++)
		if (is(a, string_keys[k].name))
			return parse_string_key(
				p, string_keys[k].kind == K_HEADER
					   ? string_keys[k].name
					   : NULL,
				string_keys[k].kind, i);
	for (size_t k = 0; k < sizeof(date_keys) / sizeof(date_keys[0]); k++)
		if (is(a, date_keys[k].name)) {
			if (date_keys[k].kind >= K_SENTBEFORE)
				p->s->needs_text = true;
			else
				p->s->needs_date = true;
			return parse_date_key(p, date_keys[k].kind, i);
		}
	if (is(a, "ALL") || is(a, "RECENT") || is(a, "NEW")) {
		x = new_node(p, is(a, "ALL") ? K_ALL : K_NONE);
		x->end = (uint32_t)p->s->n;
		return 0;
	}
	if (is(a, "NOT")) {
		size_t me = p->s->n;
		new_node(p, K_NOT);
		if (parse_key(p, i, depth + 1) < 0)
			return -1;
		p->s->v[me].end = (uint32_t)p->s->n;
		return 0;
	}
	if (is(a, "OR")) {
		size_t me = p->s->n;
		new_node(p, K_OR);
		if (parse_key(p, i, depth + 1) < 0 ||
		    parse_key(p, i, depth + 1) < 0)
			return -1;
		p->s->v[me].end = (uint32_t)p->s->n;
		return 0;
	}
	if (is(a, "HEADER")) {
		x = new_node(p, K_HEADER);
		if (!take_string(p, i, &x->a, &x->alen) || x->alen == 0 ||
		    !take_string(p, i, &x->b, &x->blen))
			return bad(p, "Syntax: HEADER field-name string");
		if (x->alen > SEARCH_STRING_MAX || x->blen > SEARCH_STRING_MAX)
			return bad(p, STRING_TOO_LONG);
		x->end = (uint32_t)p->s->n;
		p->s->needs_text = true;
		return 0;
	}
	if (is(a, "KEYWORD") || is(a, "UNKEYWORD")) {
		x = new_node(p, K_KEYWORD);
		x->want = is(a, "KEYWORD");
		if (*i >= p->n_args || p->args[*i].type != IMAP_ARG_ATOM)
			return bad(p, "Missing keyword");
		x->a = p->args[*i].str;
		x->alen = p->args[*i].len;
		*i = p->args[*i].next;
		x->end = (uint32_t)p->s->n;
		return 0;
	}
	if (is(a, "LARGER") || is(a, "SMALLER")) {
		x = new_node(p, is(a, "LARGER") ? K_LARGER : K_SMALLER);
		p->s->needs_size = true;
		if (*i >= p->n_args || p->args[*i].type != IMAP_ARG_ATOM ||
		    imap_parse_number(p->args[*i].str, p->args[*i].len, 20,
				      UINT64_MAX, &x->number) < 0)
			return bad(p, "Missing size");
		*i = p->args[*i].next;
		x->end = (uint32_t)p->s->n;
		return 0;
	}
	if (is(a, "MODSEQ"))
		return parse_modseq(p, i);
	if (is(a, "UID")) {
		x = new_node(p, K_UID);
		if (*i >= p->n_args || p->args[*i].type != IMAP_ARG_ATOM)
			return bad(p, "Missing UID set");
		const struct imap_arg *set = &p->args[*i];
		*i = set->next;
		x->end = (uint32_t)p->s->n;
		return parse_set(p, x, set);
	}
	x = new_node(p, K_SEQ); /* a sequence set, or nothing we know */
	x->end = (uint32_t)p->s->n;
	if (a->len == 0 || !((a->str[0] >= '0' && a->str[0] <= '9') ||
			     a->str[0] == '*' || a->str[0] == '$'))
		return bad(p, "Unknown search key");
	return parse_set(p, x, a);
}

static int parse_return(struct pstate *p, uint32_t *i)
{
	const struct imap_arg *l = &p->args[*i];
	static const char *const names[] = {"MIN", "MAX", "ALL", "COUNT"};
	p->s->esearch = true;
	for (uint32_t k = *i + 1; k < l->next; k = p->args[k].next) {
		unsigned bit = 0;
		for (unsigned b = 0; b < 4; b++)
			if (is(&p->args[k], names[b]))
				bit = 1u << b;
		if (bit == 0)
			return bad(p, "Unknown RETURN option");
		p->s->ret |= bit;
	}
	if (p->s->ret == 0) /* RFC 4731 3.1: RETURN () is RETURN (ALL) */
		p->s->ret = SEARCH_RET_ALL;
	*i = l->next;
	return 0;
}

int imap_search_parse(const struct imap_arg *args, uint32_t n_args,
		      uint32_t i, struct imap_search *s, const char **error_r)
{
	struct pstate p = {.args = args, .n_args = n_args, .s = s};
	memset(s, 0, sizeof(*s));
	s->v = calloc((size_t)n_args + 2, sizeof(*s->v));
	if (s->v == NULL) {
		*error_r = "Out of memory";
		return -1;
	}
	if (i < n_args && is(&args[i], "RETURN") && args[i].next < n_args &&
	    args[args[i].next].type == IMAP_ARG_LIST) {
		i = args[i].next;
		if (parse_return(&p, &i) < 0)
			goto fail;
	}
	if (i < n_args && is(&args[i], "CHARSET")) {
		const char *cs;
		size_t n;
		i = args[i].next;
		if (!take_string(&p, &i, &cs, &n)) {
			p.error = "Missing charset";
			goto fail;
		}
		if (!((n == 5 && strncasecmp(cs, "UTF-8", 5) == 0) ||
		      (n == 8 && strncasecmp(cs, "US-ASCII", 8) == 0))) {
			*error_r = "[BADCHARSET (UTF-8 US-ASCII)] Unknown charset";
			return -2;
		}
	}
	if (parse_and(&p, &i, n_args, 0) < 0)
		goto fail;
	return 0;
fail:
	*error_r = p.error != NULL ? p.error : "Invalid search";
	return -1;
}

void imap_search_bind_keywords(struct imap_search *s,
			       int (*index)(void *ctx, const char *name,
					    size_t len),
			       void *ctx)
{
	for (size_t i = 0; i < s->n; i++)
		if (s->v[i].kind == K_KEYWORD)
			s->v[i].kw = index(ctx, s->v[i].a, s->v[i].alen);
}

/* ------------------------------------------------------------ matching */

static unsigned char fold(char c)
{
	unsigned char u = (unsigned char)c;
	return u >= 'A' && u <= 'Z' ? (unsigned char)(u | 0x20) : u;
}

/* Case-insensitive (ASCII) substring search: Knuth-Morris-Pratt over
 * folded bytes, O(hn + nn) whatever the input. The naive scan it replaces
 * cost O(hn * nn): "aa...ab" over a message of "a"s held a pool thread
 * for minutes. border[k] is the length of the longest proper border
 * (prefix that is also a suffix) of needle[0..k]. */
static bool contains_ci(const char *h, size_t hn, const char *n, size_t nn)
{
	unsigned char needle[SEARCH_STRING_MAX];
	uint16_t border[SEARCH_STRING_MAX];
	if (nn == 0)
		return true;
	if (nn > hn || nn > SEARCH_STRING_MAX) /* the parser refuses longer */
		return false;
	for (size_t k = 0; k < nn; k++)
		needle[k] = fold(n[k]);
	border[0] = 0;
	for (size_t k = 1, b = 0; k < nn; k++) {
		while (b > 0 && needle[k] != needle[b])
			b = border[b - 1];
		if (needle[k] == needle[b])
			b++;
		border[k] = (uint16_t)b;
	}
	for (size_t i = 0, m = 0; i < hn; i++) {
		unsigned char c = fold(h[i]);
		while (m > 0 && c != needle[m])
			m = border[m - 1];
		if (c == needle[m] && ++m == nn)
			return true;
	}
	return false;
}

/* The value of each field called name in the header; fn(value) true
 * stops. Field values run to the next line that does not start with
 * white space. */
static bool each_field(const struct search_msg *m, const char *name,
		       size_t nlen, bool (*fn)(const struct search_node *,
					       const char *, size_t),
		       const struct search_node *x)
{
	const char *h = m->text;
	size_t len = m->header_len, i = 0;
	while (i < len) {
		size_t start = i, colon = 0;
		while (i < len) { /* the field, folded lines included */
			const char *nl = memchr(h + i, '\n', len - i);
			i = nl != NULL ? (size_t)(nl - h) + 1 : len;
			if (i >= len || (h[i] != ' ' && h[i] != '\t'))
				break;
		}
		while (start + colon < i && h[start + colon] != ':')
			colon++;
		if (colon == nlen && start + colon < i &&
		    strncasecmp(h + start, name, nlen) == 0 &&
		    fn(x, h + start + colon + 1, i - start - colon - 1))
			return true;
	}
	return false;
}

static bool value_has(const struct search_node *x, const char *v, size_t n)
{
	return contains_ci(v, n, x->b, x->blen);
}

static bool date_cmp(const struct search_node *x, const char *v, size_t n)
{
	int64_t d = imap_search_sent_date(v, n);
	if (d < 0)
		return false;
	return x->kind == K_SENTBEFORE ? d < x->day
	       : x->kind == K_SENTON	? d == x->day
					: d >= x->day;
}

static bool match_at(const struct imap_search *s, size_t k,
		     const struct search_msg *m);

static bool match_leaf(const struct search_node *x, const struct search_msg *m)
{
	int64_t day = m->internaldate >= 0 ? m->internaldate / 86400
					   : (m->internaldate - 86399) / 86400;
	switch (x->kind) {
	case K_ALL:
		return true;
	case K_NONE:
		return false;
	case K_FLAG:
		return ((m->flags & x->flag) != 0) == x->want;
	case K_KEYWORD:
		return x->kw >= 0 &&
		       ((m->keywords >> x->kw) & 1) == (uint32_t)x->want;
	case K_SEQ:
		return imap_seqset_contains(&x->set, m->seq, m->max_seq);
	case K_UID:
		return imap_seqset_contains(&x->set, m->uid, m->max_uid);
	case K_MODSEQ:
		return m->modseq >= x->number;
	case K_LARGER:
		return m->size > x->number;
	case K_SMALLER:
		return m->size < x->number;
	case K_BEFORE:
		return day < x->day;
	case K_ON:
		return day == x->day;
	case K_SINCE:
		return day >= x->day;
	case K_SENTBEFORE:
	case K_SENTON:
	case K_SENTSINCE:
		return m->text != NULL && each_field(m, "Date", 4, date_cmp, x);
	case K_HEADER:
		return m->text != NULL && each_field(m, x->a, x->alen, value_has, x);
	case K_BODY:
		return m->text != NULL &&
		       contains_ci(m->text + m->header_len,
				   m->len - m->header_len, x->b, x->blen);
	case K_TEXT:
		return m->text != NULL && contains_ci(m->text, m->len, x->b,
						      x->blen);
	default:
		return false;
	}
}

static bool match_at(const struct imap_search *s, size_t k,
		     const struct search_msg *m)
{
	const struct search_node *x = &s->v[k];
	switch (x->kind) {
	case K_AND:
		for (size_t c = k + 1; c < x->end; c = s->v[c].end)
			if (!match_at(s, c, m))
				return false;
		return true;
	case K_NOT:
		return !match_at(s, k + 1, m);
	case K_OR:
		return match_at(s, k + 1, m) ||
		       match_at(s, s->v[k + 1].end, m);
	default:
		return match_leaf(x, m);
	}
}

bool imap_search_match(const struct imap_search *s, const struct search_msg *m)
{
	return s->n > 0 && match_at(s, 0, m);
}
