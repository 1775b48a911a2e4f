/* mime: the MIME structure parser (see mime.h for the contract and the
 * limits).
 *
 * One pass over the lines of the message. The parser keeps the innermost
 * open part (ps->cur, its ancestors through parent) and a stack of the
 * open multiparts with their boundaries. A line that starts with "--" is
 * matched against that stack, innermost first: a delimiter ends every part
 * opened inside that multipart and starts its next part. Headers are
 * walked with header_next() (mail/header.h), so there is one header
 * parser. No byte is scanned more than a bounded number of times whatever
 * the nesting: this is what keeps hostile mail under a second. */
#include "mail/mime.h"

#include "lib/parse.h"
#include "lib/util.h"
#include "mail/header.h"

#include <assert.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ------------------------------------------------------------ arena */

enum { BLOCK_SIZE = 64 * 1024 };

struct block {
	struct block *next;
	size_t used, cap;
	max_align_t mem[];
};

struct mime_msg {
	const char *s;
	size_t len;
	struct mime_part *root;
	size_t parts;
	unsigned limits; /* enum mime_limit */
	size_t params;   /* raw parameters read, for MIME_PARAMS_TOTAL_MAX */
	size_t bytes;    /* allocated */
	struct block *blocks;
};

/* n zeroed bytes that live as long as m; NULL when out of memory. A large
 * request gets a block of its own, behind the current one, so that the
 * room left in the current block is not lost. */
static void *arena_alloc(struct mime_msg *m, size_t n)
{
	size_t a = sizeof(max_align_t);
	if (n > SIZE_MAX - sizeof(struct block) - a)
		return NULL;
	n = (n + a - 1) / a * a;
	struct block *b = m->blocks;
	if (b == NULL || b->cap - b->used < n) {
		size_t cap = n > BLOCK_SIZE / 4 ? n : BLOCK_SIZE;
		b = calloc(1, sizeof(*b) + cap);
		if (b == NULL)
			return NULL;
		b->cap = cap;
		m->bytes += sizeof(*b) + cap;
		struct block **at = cap == n && m->blocks != NULL
		                            ? &m->blocks->next
		                            : &m->blocks;
		b->next = *at;
		*at = b;
	}
	void *p = (char *)b->mem + b->used;
	b->used += n;
	return p;
}

/* ------------------------------------------------------------ parser */

struct frame { /* an open multipart */
	struct mime_part *part;
	struct mime_part *last; /* its last part so far */
	const char *b;          /* its boundary */
	size_t len;
};

struct raw_param { /* a parameter as written, before RFC 2231 joining */
	struct mime_str name; /* without "*N" or the final "*" */
	struct mime_str value;
	int section; /* N of name*N, or -1 */
	bool ext;    /* name ended with '*': %XX encoded */
};

struct parser {
	struct mime_msg *m;
	const char *s;
	size_t len;
	size_t pos;            /* start of the next line to read */
	size_t lf;             /* LFs in s[0..pos) */
	struct mime_part *cur; /* innermost open part */
	struct frame frames[MIME_DEPTH_MAX];
	size_t nframes;
	struct raw_param raw[MIME_PARAMS_MAX];
	struct mime_param joined[MIME_PARAMS_MAX];
	char scratch[MIME_PARAM_VALUE_MAX];
};

static const struct mime_param default_charset = {
        {"charset", 7}, {"us-ascii", 8}, {NULL, 0}, {NULL, 0}, false};

static bool is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* s is exactly lit (s already lower-case). */
static bool str_is(struct mime_str s, const char *lit)
{
	return s.p != NULL && s.len == strlen(lit) &&
	       memcmp(s.p, lit, s.len) == 0;
}

static bool str_ieq(struct mime_str a, struct mime_str b)
{
	return a.len == b.len && strncasecmp(a.p, b.p, a.len) == 0;
}

/* s lower-cased: s itself when it already is, else a copy. */
static int lower(struct parser *ps, struct mime_str *s)
{
	size_t i = 0;
	while (i < s->len && !(s->p[i] >= 'A' && s->p[i] <= 'Z'))
		i++;
	if (i == s->len)
		return 0;
	char *d = arena_alloc(ps->m, s->len);
	if (d == NULL)
		return -1;
	memcpy(d, s->p, s->len);
	ascii_lower(d, s->len);
	s->p = d;
	return 0;
}

/* ------------------------------------------------------------ lexer */

/* A structured field value (RFC 2045 5.1 tokens between RFC 5322 CFWS). */
struct lex {
	const char *s;
	size_t n, i;
};

/* Skip blanks, folds and comments (RFC 5322 3.2.2: comments nest, with
 * quoted-pairs). An unclosed comment runs to the end of the value. */
static void skip_cfws(struct lex *lx)
{
	size_t nest = 0;
	for (; lx->i < lx->n; lx->i++) {
		char c = lx->s[lx->i];
		if (nest > 0 && c == '\\' && lx->i + 1 < lx->n)
			lx->i++;
		else if (c == '(')
			nest++;
		else if (c == ')' && nest > 0)
			nest--;
		else if (nest == 0 && !is_blank(c))
			return;
	}
}

static bool is_token(unsigned char c)
{
	return c > 32 && c < 127 && strchr("()<>@,;:\\\"/[]?=", c) == NULL;
}

/* A token at lx->i; false when there is none or it is too long. */
static bool lex_token(struct lex *lx, struct mime_str *out)
{
	size_t start = lx->i;
	while (lx->i < lx->n && is_token((unsigned char)lx->s[lx->i]))
		lx->i++;
	*out = (struct mime_str){lx->s + start, lx->i - start};
	return out->len > 0 && out->len <= MIME_TOKEN_MAX;
}

static bool lex_char(struct lex *lx, char c)
{
	skip_cfws(lx);
	if (lx->i >= lx->n || lx->s[lx->i] != c)
		return false;
	lx->i++;
	skip_cfws(lx);
	return true;
}

/* A quoted-pair at s[i] (RFC 5322 3.2.1): a backslash and a byte other
 * than a line end, so that a backslash before a fold quotes nothing and
 * CRLF and LF mail read the same. */
static bool quoted_pair(const char *s, size_t i, size_t n)
{
	return s[i] == '\\' && i + 1 < n && s[i + 1] != '\r' &&
	       s[i + 1] != '\n';
}

/* Copy s[start..end) without its line ends (unfolded, RFC 5322 2.2.3)
 * and, for a quoted-string, without its quoting backslashes. */
static int unfold(struct parser *ps, const char *s, size_t start, size_t end,
                  bool quoted, struct mime_str *out)
{
	char *d = arena_alloc(ps->m, end - start);
	if (d == NULL)
		return -1;
	size_t k = 0;
	for (size_t j = start; j < end; j++) {
		char c = s[j];
		if (quoted && quoted_pair(s, j, end))
			c = s[++j];
		if (c != '\r' && c != '\n')
			d[k++] = c;
	}
	*out = (struct mime_str){d, k};
	return 0;
}

/* The quoted-string at lx->i (its opening quote), unquoted and unfolded
 * (RFC 5322 3.2.4). Unclosed, it runs to the end of the value, as readers
 * of real mail expect. Over MIME_PARAM_VALUE_MAX, out->p is NULL and
 * nothing is copied. */
static int lex_quoted(struct parser *ps, struct lex *lx, struct mime_str *out)
{
	size_t start = ++lx->i, i = start;
	bool plain = true;
	while (i < lx->n && lx->s[i] != '"') {
		char c = lx->s[i];
		if (c == '\\' || c == '\r' || c == '\n')
			plain = false;
		i += quoted_pair(lx->s, i, lx->n) ? 2 : 1;
	}
	lx->i = i < lx->n ? i + 1 : i;
	*out = (struct mime_str){lx->s + start, i - start};
	if (out->len > MIME_PARAM_VALUE_MAX) {
		out->p = NULL;
		return 0;
	}
	return plain ? 0 : unfold(ps, lx->s, start, i, true, out);
}

/* An unquoted value. RFC 2045 wants a token, but real mail puts '/', '='
 * and 8-bit bytes in them unquoted: it runs to ';' or a blank. */
static void lex_bare(struct lex *lx, struct mime_str *out)
{
	size_t start = lx->i;
	while (lx->i < lx->n && lx->s[lx->i] != ';' && !is_blank(lx->s[lx->i]))
		lx->i++;
	*out = (struct mime_str){lx->s + start, lx->i - start};
	if (out->len > MIME_PARAM_VALUE_MAX)
		out->p = NULL;
}

/* ------------------------------------------------------------ parameters */

/* RFC 2231 3 and 4: name*N is section N, a final '*' an encoded value. */
static void split_name(struct mime_str name, struct raw_param *r)
{
	r->ext = name.len > 1 && name.p[name.len - 1] == '*';
	if (r->ext)
		name.len--;
	r->section = -1;
	size_t i = name.len;
	while (i > 0 && name.p[i - 1] >= '0' && name.p[i - 1] <= '9')
		i--;
	size_t digits = name.len - i;
	/* at most 3 digits, no leading zero: more than MIME_PARAMS_MAX
	 * sections cannot be joined anyway */
	if (i > 1 && name.p[i - 1] == '*' && digits > 0 && digits <= 3 &&
	    (name.p[i] != '0' || digits == 1)) {
		r->section = 0;
		for (size_t j = i; j < name.len; j++)
			r->section = r->section * 10 + (name.p[j] - '0');
		name.len = i - 1;
	}
	r->name = name;
}

/* *(";" name "=" value) (RFC 2045 5.1) into ps->raw. Stops at the first
 * thing that is not a parameter, keeping those before it. */
static int lex_params(struct parser *ps, struct lex *lx, size_t *n_r)
{
	size_t n = 0;
	struct mime_str name, value;
	while (lex_char(lx, ';') && lex_token(lx, &name) && lex_char(lx, '=')) {
		if (lx->i < lx->n && lx->s[lx->i] == '"') {
			if (lex_quoted(ps, lx, &value) < 0)
				return -1;
		} else {
			lex_bare(lx, &value);
		}
		bool full = n == MIME_PARAMS_MAX ||
		            ps->m->params == MIME_PARAMS_TOTAL_MAX;
		if (value.p == NULL || full) {
			ps->m->limits |= MIME_LIMIT_PARAMS;
			if (full)
				break;
			continue;
		}
		ps->m->params++;
		split_name(name, &ps->raw[n]);
		ps->raw[n++].value = value;
	}
	*n_r = n;
	return 0;
}

static int hex(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if ((c | 0x20) >= 'a' && (c | 0x20) <= 'f')
		return (c | 0x20) - 'a' + 10;
	return -1;
}

/* Append v to ps->scratch at *k, %XX decoded when ext (RFC 2231 4; a '%'
 * without two hex digits stays as it is). False when too long. */
static bool append_value(struct parser *ps, size_t *k, struct mime_str v,
                         bool ext)
{
	for (size_t i = 0; i < v.len; i++) {
		char c = v.p[i];
		if (ext && c == '%' && i + 2 < v.len && hex(v.p[i + 1]) >= 0 &&
		    hex(v.p[i + 2]) >= 0) {
			c = (char)(hex(v.p[i + 1]) * 16 + hex(v.p[i + 2]));
			i += 2;
		}
		if (*k == MIME_PARAM_VALUE_MAX)
			return false;
		ps->scratch[(*k)++] = c;
	}
	return true;
}

/* RFC 2231 4: charset'language'value. Without both quotes, the whole is
 * the value. */
static struct mime_str split_ext(struct mime_str v, struct mime_param *out)
{
	const char *q1 = memchr(v.p, '\'', v.len);
	if (q1 == NULL)
		return v;
	const char *q2 = memchr(q1 + 1, '\'', v.len - (size_t)(q1 + 1 - v.p));
	if (q2 == NULL)
		return v;
	if (q1 > v.p)
		out->charset = (struct mime_str){v.p, (size_t)(q1 - v.p)};
	if (q2 > q1 + 1)
		out->language =
		        (struct mime_str){q1 + 1, (size_t)(q2 - q1 - 1)};
	return (struct mime_str){q2 + 1, v.len - (size_t)(q2 + 1 - v.p)};
}

/* The raw parameter called name with this section and encoding, or NULL. */
static const struct raw_param *find_raw(const struct parser *ps, size_t n,
                                        struct mime_str name, int section,
                                        int ext)
{
	for (size_t i = 0; i < n; i++) {
		const struct raw_param *r = &ps->raw[i];
		if (r->section == section && (ext < 0 || r->ext == ext) &&
		    str_ieq(r->name, name))
			return r;
	}
	return NULL;
}

/* Sections 0, 1, ... of name joined into ps->scratch until one is missing
 * (RFC 2231 3: they may come in any order). False when too long. */
static bool join_sections(struct parser *ps, size_t n, struct mime_str name,
                          struct mime_param *out, size_t *k)
{
	for (int sec = 0; sec < MIME_PARAMS_MAX; sec++) {
		const struct raw_param *r = find_raw(ps, n, name, sec, -1);
		if (r == NULL)
			break;
		struct mime_str v = r->value;
		if (sec == 0 && r->ext)
			v = split_ext(v, out);
		if (!append_value(ps, k, v, r->ext))
			return false;
	}
	return true;
}

/* The parameter called name, from its raw forms: name*0.. beats name*
 * beats name, since senders add the plain form for old readers. Returns 1,
 * or 0 when it is dropped (too long, or only sections without a 0). */
static int join_one(struct parser *ps, size_t n, struct mime_str name,
                    struct mime_param *out)
{
	const struct raw_param *r = find_raw(ps, n, name, 0, -1);
	size_t k = 0;
	bool ok;
	if (r != NULL) {
		ok = join_sections(ps, n, name, out, &k);
		out->extended = r->ext;
	} else if ((r = find_raw(ps, n, name, -1, 1)) != NULL) {
		ok = append_value(ps, &k, split_ext(r->value, out), true);
		out->extended = true;
	} else if ((r = find_raw(ps, n, name, -1, 0)) != NULL) {
		out->value = r->value; /* as written: no copy */
		ok = true;
	} else {
		return 0;
	}
	if (!ok) {
		ps->m->limits |= MIME_LIMIT_PARAMS;
		return 0;
	}
	if (out->value.p == NULL) {
		char *d = arena_alloc(ps->m, k + 1);
		if (d == NULL)
			return -1;
		memcpy(d, ps->scratch, k);
		out->value = (struct mime_str){d, k};
	}
	out->name = name;
	return lower(ps, &out->name) < 0 ? -1 : 1;
}

/* The parameters ps->raw[0..n) as the list for a field. */
static int join_params(struct parser *ps, size_t n, struct mime_params *out)
{
	struct mime_param *v = ps->joined;
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		/* an earlier raw parameter of that name made (or dropped) it */
		bool seen = false;
		for (size_t j = 0; j < i && !seen; j++)
			seen = str_ieq(ps->raw[j].name, ps->raw[i].name);
		if (seen)
			continue;
		v[k] = (struct mime_param){0};
		int rc = join_one(ps, n, ps->raw[i].name, &v[k]);
		if (rc < 0)
			return -1;
		k += (size_t)rc;
	}
	*out = (struct mime_params){NULL, 0};
	if (k == 0)
		return 0;
	/* only what is kept is allocated: sections joined take one */
	struct mime_param *kept = arena_alloc(ps->m, k * sizeof(*kept));
	if (kept == NULL)
		return -1;
	memcpy(kept, v, k * sizeof(*kept));
	*out = (struct mime_params){kept, k};
	return 0;
}

/* ------------------------------------------------------------ fields */

/* Content-Type (RFC 2045 5.1): type "/" subtype *(";" parameter). When the
 * value is not that, p keeps the default type (RFC 2045 5.2). */
static int field_type(struct parser *ps, struct mime_part *p, struct mime_str v)
{
	struct lex lx = {v.p, v.len, 0};
	struct mime_str type, sub;
	size_t n;
	skip_cfws(&lx);
	if (!lex_token(&lx, &type) || !lex_char(&lx, '/') ||
	    !lex_token(&lx, &sub))
		return 0;
	if (lex_params(ps, &lx, &n) < 0 || lower(ps, &type) < 0 ||
	    lower(ps, &sub) < 0 || join_params(ps, n, &p->type_params) < 0)
		return -1;
	p->type = type;
	p->subtype = sub;
	p->flags &= ~(unsigned)MIME_PART_DEFAULT_TYPE;
	return 0;
}

/* Content-Disposition (RFC 2183): disposition-type *(";" parameter). */
static int field_disposition(struct parser *ps, struct mime_part *p,
                             struct mime_str v)
{
	struct lex lx = {v.p, v.len, 0};
	struct mime_str d;
	size_t n;
	skip_cfws(&lx);
	if (!lex_token(&lx, &d))
		return 0;
	if (lex_params(ps, &lx, &n) < 0 || lower(ps, &d) < 0 ||
	    join_params(ps, n, &p->disposition_params) < 0)
		return -1;
	p->disposition = d;
	return 0;
}

/* Content-Transfer-Encoding (RFC 2045 6.1): a token; "7bit" otherwise. */
static int field_encoding(struct parser *ps, struct mime_part *p,
                          struct mime_str v)
{
	struct lex lx = {v.p, v.len, 0};
	struct mime_str e;
	skip_cfws(&lx);
	if (!lex_token(&lx, &e))
		return 0;
	if (lower(ps, &e) < 0)
		return -1;
	p->encoding = e;
	return 0;
}

/* An unstructured value, trimmed; unfolded (a copy) only when folded. */
static int field_text(struct parser *ps, struct mime_str v,
                      struct mime_str *out)
{
	size_t a = 0, b = v.len;
	while (a < b && is_blank(v.p[a]))
		a++;
	while (b > a && is_blank(v.p[b - 1]))
		b--;
	*out = (struct mime_str){v.p + a, b - a};
	if (memchr(out->p, '\n', out->len) == NULL &&
	    memchr(out->p, '\r', out->len) == NULL)
		return 0;
	return unfold(ps, v.p, a, b, false, out) < 0 ? -1 : 0;
}

enum field_id {
	F_TYPE,
	F_ENCODING,
	F_ID,
	F_DESCRIPTION,
	F_DISPOSITION,
	F_LANGUAGE,
	F_LOCATION,
	F_MD5,
	F_COUNT,
};

static const char *const field_names[F_COUNT] = {
        "Content-Type",        "Content-Transfer-Encoding",
        "Content-ID",          "Content-Description",
        "Content-Disposition", "Content-Language",
        "Content-Location",    "Content-MD5",
};

static int apply(struct parser *ps, struct mime_part *p, enum field_id id,
                 struct mime_str v)
{
	switch (id) {
	case F_TYPE:
		return field_type(ps, p, v);
	case F_ENCODING:
		return field_encoding(ps, p, v);
	case F_ID:
		return field_text(ps, v, &p->id);
	case F_DESCRIPTION:
		return field_text(ps, v, &p->description);
	case F_DISPOSITION:
		return field_disposition(ps, p, v);
	case F_LANGUAGE:
		return field_text(ps, v, &p->language);
	case F_LOCATION:
		return field_text(ps, v, &p->location);
	case F_MD5:
		return field_text(ps, v, &p->md5);
	case F_COUNT:
		break;
	}
	return 0;
}

/* A Content-* field: the first of each name counts (*seen: those had). */
static int interpret(struct parser *ps, struct mime_part *p,
                     const struct header_field *f, unsigned *seen)
{
	if (f->name_len < 8 || strncasecmp(f->name, "content-", 8) != 0)
		return 0;
	for (unsigned id = 0; id < F_COUNT; id++) {
		if (!header_is(f, field_names[id]))
			continue;
		if (*seen & (1u << id))
			return 0;
		*seen |= 1u << id;
		struct mime_str v = {f->value, f->value_len};
		return apply(ps, p, (enum field_id)id, v);
	}
	return 0;
}

/* ------------------------------------------------------------ boundaries */

/* Whether the line s[pos..next) is a delimiter of an open multipart (RFC
 * 2046 5.1.1): "--" boundary, "--" more for the close delimiter, then only
 * blanks (transport padding). Innermost first, so that a nested boundary
 * that starts with an outer one is found. The match is exact, not on a
 * prefix as the RFC's note to implementors allows: the note holds for
 * conforming mail, where no line of a part starts with an outer boundary,
 * and is wrong for mail that nests "b" and "b1" below a part we do not
 * descend into (too deep, out of parts), where "--b1" would cut the outer
 * multipart short. Returns the frame, or -1. Cost: one backward scan of
 * the trailing blanks, then per frame O(1) and, for a boundary of the
 * line's length, one compare. */
static int match(const struct parser *ps, size_t pos, size_t next, bool *close)
{
	const char *l = ps->s + pos;
	size_t n = next - pos;
	if (ps->nframes == 0 || n < 3 || l[0] != '-' || l[1] != '-')
		return -1;
	l += 2;
	n -= 2;
	while (n > 0 && is_blank(l[n - 1]))
		n--;
	bool dashes = n >= 2 && l[n - 1] == '-' && l[n - 2] == '-';
	for (size_t i = ps->nframes; i-- > 0;) {
		const struct frame *f = &ps->frames[i];
		bool open = n == f->len;
		bool end = dashes && n == f->len + 2;
		if ((open || end) && memcmp(l, f->b, f->len) == 0) {
			*close = !open;
			return (int)i;
		}
	}
	return -1;
}

/* Whether the line at pos is a delimiter (for a header cut short). */
static bool at_delimiter(const struct parser *ps, size_t pos)
{
	if (ps->nframes == 0 || ps->len - pos < 3 || ps->s[pos] != '-')
		return false;
	const char *lf = memchr(ps->s + pos, '\n', ps->len - pos);
	size_t next = lf != NULL ? (size_t)(lf - ps->s) + 1 : ps->len;
	bool close;
	return match(ps, pos, next, &close) >= 0;
}

/* ------------------------------------------------------------ parts */

static size_t count_lf(const char *s, size_t n)
{
	size_t c = 0;
	const char *end = s + n;
	while ((s = memchr(s, '\n', (size_t)(end - s))) != NULL) {
		c++;
		s++;
	}
	return c;
}

/* The header of p, from ps->pos, through header_next(); Content-* fields
 * among the first MIME_FIELDS_MAX are read, the end is found whatever the
 * count. It ends at the empty line (taken), at a line that is not a field
 * (the body's first line), or at a delimiter (left for the scan, so that a
 * part without an empty line ends there). */
static int read_header(struct parser *ps, struct mime_part *p)
{
	size_t pos = ps->pos, fields = 0;
	unsigned seen = 0;
	struct header_field f;
	while (!at_delimiter(ps, pos) &&
	       header_next(ps->s, ps->len, &pos, &f) == 1) {
		if (fields++ == MIME_FIELDS_MAX)
			ps->m->limits |= MIME_LIMIT_FIELDS;
		if (fields <= MIME_FIELDS_MAX &&
		    interpret(ps, p, &f, &seen) < 0)
			return -1;
	}
	if (pos < ps->len && ps->s[pos] == '\n')
		pos++;
	else if (ps->len - pos >= 2 && ps->s[pos] == '\r' &&
	         ps->s[pos + 1] == '\n')
		pos += 2;
	p->body_off = pos;
	ps->lf += count_lf(ps->s + ps->pos, pos - ps->pos);
	ps->pos = pos;
	p->body_lines = ps->lf; /* LFs before the body, until close_part() */
	return 0;
}

/* RFC 2045 5.2, RFC 2046 5.1.5: text/plain; charset=us-ascii, but
 * message/rfc822 in a multipart/digest. */
static void default_type(struct mime_part *p)
{
	const struct mime_part *up = p->parent;
	if (up != NULL && up->kind == MIME_MULTIPART &&
	    str_is(up->subtype, "digest")) {
		p->type = (struct mime_str){"message", 7};
		p->subtype = (struct mime_str){"rfc822", 6};
		return;
	}
	p->type = (struct mime_str){"text", 4};
	p->subtype = (struct mime_str){"plain", 5};
	p->type_params = (struct mime_params){&default_charset, 1};
}

/* p becomes a multipart with its boundary on the stack, or, without a
 * usable boundary (RFC 2046 5.1.1: 1 to 70 characters), an opaque leaf. */
static void open_multipart(struct parser *ps, struct mime_part *p)
{
	const struct mime_param *b = mime_param(&p->type_params, "boundary");
	if (b == NULL || b->value.len == 0 ||
	    b->value.len > MIME_BOUNDARY_MAX) {
		p->flags |= MIME_PART_OPAQUE;
		return;
	}
	/* a multipart is at depth < MIME_DEPTH_MAX, so are its ancestors */
	assert(ps->nframes < MIME_DEPTH_MAX);
	ps->frames[ps->nframes++] =
	        (struct frame){p, NULL, b->value.p, b->value.len};
	p->kind = MIME_MULTIPART;
}

/* What p is, now that its header is read. RFC 2046 5.2.1: a message/rfc822
 * has no encoding but 7bit, 8bit or binary; an encoded one (RFC 6532 3.5
 * allows it for message/global) is not parsed. */
static void classify(struct parser *ps, struct mime_part *p)
{
	if (p->flags & MIME_PART_DEFAULT_TYPE)
		default_type(p);
	bool multi = str_is(p->type, "multipart");
	bool msg =
	        str_is(p->type, "message") &&
	        (str_is(p->subtype, "rfc822") || str_is(p->subtype, "global"));
	if (!multi && !msg)
		return;
	if (p->depth >= MIME_DEPTH_MAX) {
		ps->m->limits |= MIME_LIMIT_DEPTH;
		p->flags |= MIME_PART_OPAQUE;
	} else if (multi) {
		open_multipart(ps, p);
	} else if (str_is(p->encoding, "7bit") || str_is(p->encoding, "8bit") ||
	           str_is(p->encoding, "binary")) {
		p->kind = MIME_MESSAGE;
	} else {
		p->flags |= MIME_PART_OPAQUE;
	}
}

/* A new part starting at ps->pos below parent (NULL: the message), linked
 * in; NULL when out of parts (*oom false) or memory (*oom true). */
static struct mime_part *new_part(struct parser *ps, struct mime_part *parent,
                                  bool *oom)
{
	*oom = false;
	if (ps->m->parts == MIME_PARTS_MAX) {
		ps->m->limits |= MIME_LIMIT_PARTS;
		return NULL;
	}
	struct mime_part *p = arena_alloc(ps->m, sizeof(*p));
	if (p == NULL) {
		*oom = true;
		return NULL;
	}
	p->flags = MIME_PART_DEFAULT_TYPE;
	p->encoding = (struct mime_str){"7bit", 4};
	p->header_off = ps->pos;
	p->parent = parent;
	ps->m->parts++;
	if (parent == NULL) {
		ps->m->root = p;
		return p;
	}
	p->depth = parent->depth + 1;
	parent->n_children++;
	if (parent->kind == MIME_MESSAGE) {
		parent->child = p;
		return p;
	}
	struct frame *f = &ps->frames[ps->nframes - 1];
	assert(f->part == parent);
	*(f->last != NULL ? &f->last->next : &parent->child) = p;
	f->last = p;
	return p;
}

/* The part at ps->pos, then, while it is a message/rfc822, the message it
 * holds (its header is the part's body, so it starts at once). */
static int begin(struct parser *ps, struct mime_part *parent)
{
	for (;;) {
		bool oom;
		struct mime_part *p = new_part(ps, parent, &oom);
		if (p == NULL)
			return oom ? -1 : 0;
		if (read_header(ps, p) < 0)
			return -1;
		classify(ps, p);
		ps->cur = p;
		if (p->kind != MIME_MESSAGE)
			return 0;
		parent = p;
	}
}

/* p's body ends at end, with lf_end LFs in s[0..end). A multipart that got
 * no part, or a message whose message could not be made, is a leaf. */
static void close_part(const struct parser *ps, struct mime_part *p, size_t end,
                       size_t lf_end)
{
	assert(end >= p->body_off);
	size_t lf_start = p->body_lines;
	p->body_len = end - p->body_off;
	p->body_lines = 0;
	if (end > p->body_off)
		p->body_lines = lf_end - lf_start + (ps->s[end - 1] != '\n');
	if ((p->kind == MIME_MULTIPART || p->kind == MIME_MESSAGE) &&
	    p->child == NULL) {
		p->kind = MIME_LEAF;
		p->flags |= MIME_PART_OPAQUE;
	}
}

static void advance(struct parser *ps, size_t next)
{
	ps->lf += next > ps->pos && ps->s[next - 1] == '\n';
	ps->pos = next;
}

/* The line at ps->pos is a delimiter of frame k: every part open inside
 * that multipart ends before the CRLF in front of the line (RFC 2046
 * 5.1.1: it belongs to the delimiter), inner multiparts without their
 * close delimiter included. Then the next part begins, or the epilogue. */
static int delimiter(struct parser *ps, size_t k, bool close, size_t next)
{
	struct frame *f = &ps->frames[k];
	size_t end = ps->pos, lf_end = ps->lf;
	if (end > 0 && ps->s[end - 1] == '\n') {
		end--;
		lf_end--;
		if (end > 0 && ps->s[end - 1] == '\r')
			end--;
	}
	for (struct mime_part *p = ps->cur; p != f->part; p = p->parent) {
		/* a part that starts at this very line (its header cut short
		 * by it) ends there, empty, and its ancestors with it: the
		 * CRLF that ends the line before serves both lines */
		if (p->body_off > end) {
			end = ps->pos;
			lf_end = ps->lf;
		}
		close_part(ps, p, end, lf_end);
	}
	for (size_t i = k + 1; i < ps->nframes; i++)
		ps->frames[i].part->flags |= MIME_PART_NO_CLOSE;
	ps->nframes = close ? k : k + 1;
	ps->cur = f->part;
	advance(ps, next);
	return close ? 0 : begin(ps, ps->cur);
}

static int scan(struct parser *ps)
{
	if (begin(ps, NULL) < 0)
		return -1;
	while (ps->pos < ps->len) {
		const char *lf =
		        memchr(ps->s + ps->pos, '\n', ps->len - ps->pos);
		size_t next = lf != NULL ? (size_t)(lf - ps->s) + 1 : ps->len;
		bool close;
		int k = match(ps, ps->pos, next, &close);
		if (k < 0)
			advance(ps, next);
		else if (delimiter(ps, (size_t)k, close, next) < 0)
			return -1;
	}
	for (struct mime_part *p = ps->cur; p != NULL; p = p->parent)
		close_part(ps, p, ps->len, ps->lf);
	for (size_t i = 0; i < ps->nframes; i++)
		ps->frames[i].part->flags |= MIME_PART_NO_CLOSE;
	return 0;
}

struct mime_msg *mime_parse(const char *msg, size_t len)
{
	struct mime_msg *m = calloc(1, sizeof(*m));
	struct parser *ps = calloc(1, sizeof(*ps));
	if (m == NULL || ps == NULL)
		goto fail;
	m->s = len > 0 ? msg : "";
	m->len = len;
	ps->m = m;
	ps->s = m->s;
	ps->len = len;
	if (scan(ps) < 0)
		goto fail;
	free(ps);
	return m;
fail:
	free(ps);
	mime_msg_free(&m);
	errno = ENOMEM;
	return NULL;
}

void mime_msg_free(struct mime_msg **mp)
{
	struct mime_msg *m = *mp;
	if (m == NULL)
		return;
	for (struct block *b = m->blocks, *next; b != NULL; b = next) {
		next = b->next;
		free(b);
	}
	free(m);
	*mp = NULL;
}

/* ------------------------------------------------------------ queries */

const struct mime_part *mime_root(const struct mime_msg *m)
{
	return m->root;
}

size_t mime_part_count(const struct mime_msg *m)
{
	return m->parts;
}

unsigned mime_limits(const struct mime_msg *m)
{
	return m->limits;
}

size_t mime_memory(const struct mime_msg *m)
{
	return m->bytes + sizeof(*m);
}

const struct mime_param *mime_param(const struct mime_params *ps,
                                    const char *name)
{
	for (size_t i = 0; i < ps->n; i++)
		if (str_is(ps->v[i].name, name))
			return &ps->v[i];
	return NULL;
}

/* Part n (from 1) below p in IMAP numbering. top: p is a message (the
 * root, or one encapsulated), whose part 1 is its body unless it is a
 * multipart (RFC 9051 6.4.5); below a message/rfc822 part the numbers
 * go on in the encapsulated message. */
static const struct mime_part *nth(const struct mime_part *p, bool top,
                                   uint64_t n)
{
	if (p->kind == MIME_MULTIPART) {
		const struct mime_part *c = p->child;
		while (c != NULL && --n > 0)
			c = c->next;
		return c;
	}
	if (top)
		return n == 1 ? p : NULL;
	if (p->kind == MIME_MESSAGE)
		return nth(p->child, true, n);
	return NULL;
}

const struct mime_part *mime_section_nums(const struct mime_msg *m,
                                          const unsigned *nums, size_t n)
{
	const struct mime_part *p = m->root;
	for (size_t i = 0; i < n && p != NULL; i++)
		p = nums[i] == 0 ? NULL : nth(p, i == 0, nums[i]);
	return p;
}

const struct mime_part *mime_section(const struct mime_msg *m, const char *path,
                                     size_t len)
{
	const struct mime_part *p = m->root;
	if (len == 0)
		return p;
	for (size_t i = 0;;) {
		size_t j = i;
		while (j < len && path[j] != '.')
			j++;
		uint64_t n;
		/* nz-number: no leading zero; past the part limit, no part */
		if (j == i || path[i] == '0' ||
		    parse_u64(path + i, j - i, MIME_PARTS_MAX, &n) < 0)
			return NULL;
		p = nth(p, i == 0, n);
		if (p == NULL || j == len)
			return p;
		i = j + 1;
	}
}

static const char *const env_names[MIME_ENV_COUNT] = {
        "Date", "Subject", "From", "Sender",      "Reply-To",
        "To",   "Cc",      "Bcc",  "In-Reply-To", "Message-ID",
};

void mime_envelope(const struct mime_msg *m, const struct mime_part *p,
                   struct mime_envelope *env)
{
	*env = (struct mime_envelope){0};
	const char *h = m->s + p->header_off;
	size_t n = p->body_off - p->header_off, pos = 0;
	struct header_field f;
	while (header_next(h, n, &pos, &f) == 1) {
		for (size_t i = 0; i < MIME_ENV_COUNT; i++) {
			if (env->field[i].p != NULL ||
			    !header_is(&f, env_names[i]))
				continue;
			size_t len = f.value_len;
			if (len > 0 && f.value[len - 1] == '\r')
				len--;
			env->field[i] = (struct mime_str){f.value, len};
			break;
		}
	}
}
