/* sort: SORT criteria, base subjects, sent dates and ordering (see
 * sort.h). */
#include "imapd/sort.h"

#include "mail/addrlist.h"
#include "mail/header.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ------------------------------------------------------------ criteria */

static const struct {
	const char *name;
	enum imap_sort_key key;
} sort_keys[] = {{"ARRIVAL", SORT_ARRIVAL}, {"CC", SORT_CC},
		 {"DATE", SORT_DATE},	    {"FROM", SORT_FROM},
		 {"SIZE", SORT_SIZE},	    {"SUBJECT", SORT_SUBJECT},
		 {"TO", SORT_TO}};

static bool sort_key(const struct imap_arg *a, enum imap_sort_key *k)
{
	for (size_t i = 0; i < sizeof(sort_keys) / sizeof(sort_keys[0]); i++)
		if (imap_arg_atom_is(a, sort_keys[i].name)) {
			*k = sort_keys[i].key;
			return true;
		}
	return false;
}

int imap_sort_parse(const struct imap_arg *args, uint32_t n_args, uint32_t i,
		    struct imap_sort_crit *crit, size_t *n_r,
		    const char **error_r)
{
	*n_r = 0;
	*error_r = "Syntax: SORT ([REVERSE] key ...) charset search-keys";
	if (i >= n_args || args[i].type != IMAP_ARG_LIST || args[i].count == 0)
		return -1;
	bool reverse = false;
	for (uint32_t k = i + 1; k < args[i].next; k = args[k].next) {
		if (imap_arg_atom_is(&args[k], "REVERSE") && !reverse) {
			reverse = true;
			continue;
		}
		if (*n_r == IMAP_SORT_CRITERIA_MAX) {
			*error_r = "Too many sort criteria";
			return -1;
		}
		if (!sort_key(&args[k], &crit[*n_r].key)) {
			*error_r = "Unknown sort key";
			return -1;
		}
		crit[(*n_r)++].reverse = reverse;
		reverse = false;
	}
	return reverse || *n_r == 0 ? -1 : 0; /* REVERSE needs a key */
}

/* ------------------------------------------------------------ base subject */

static bool wsp(char c)
{
	return c == ' ' || c == '\t';
}

/* Step 1: upper case, tabs and line breaks to spaces, runs of spaces to
 * one (encoded words are not decoded: see sort.h). */
static int normalise(const char *s, size_t len, struct buf *out)
{
	buf_clear(out);
	bool space = false;
	for (size_t i = 0; i < len && i < IMAP_SORT_FIELD_MAX; i++) {
		char c = s[i];
		if (c == '\r' || c == '\n' || c == '\t' || c == ' ') {
			space = true;
			continue;
		}
		if (space && out->len > 0 && buf_append_byte(out, ' ') < 0)
			return -1;
		space = false;
		if (c >= 'a' && c <= 'z')
			c = (char)(c - 'a' + 'A');
		if (buf_append_byte(out, c) < 0)
			return -1;
	}
	return 0;
}

/* A subj-blob at p[i..n): "[" *BLOBCHAR "]" *WSP; its end, or 0. */
static size_t blob(const char *p, size_t i, size_t n)
{
	if (i >= n || p[i] != '[')
		return 0;
	size_t k = i + 1;
	while (k < n && p[k] != '[' && p[k] != ']')
		k++;
	if (k >= n || p[k] != ']')
		return 0;
	for (k++; k < n && wsp(p[k]); k++)
		;
	return k;
}

/* Step 3: a subj-leader, (*subj-blob subj-refwd) / WSP, at p[i..n): its
 * end, or i when there is none. */
static size_t leader(const char *p, size_t i, size_t n, bool *refwd)
{
	if (i < n && wsp(p[i]))
		return i + 1;
	size_t k = i, e;
	while ((e = blob(p, k, n)) != 0)
		k = e;
	if (k + 2 <= n && strncmp(p + k, "RE", 2) == 0)
		k += 2;
	else if (k + 2 <= n && strncmp(p + k, "FW", 2) == 0)
		k += 2 + (k + 2 < n && p[k + 2] == 'D');
	else
		return i;
	while (k < n && wsp(p[k]))
		k++;
	if ((e = blob(p, k, n)) != 0)
		k = e;
	if (k >= n || p[k] != ':')
		return i;
	*refwd = true;
	return k + 1;
}

static bool has_nonwsp(const char *p, size_t i, size_t n)
{
	for (; i < n; i++)
		if (!wsp(p[i]))
			return true;
	return false;
}

/* Steps 2-5 on p[*a..*b). */
static void strip(const char *p, size_t *a, size_t *b, bool *refwd)
{
	for (;;) { /* 2: subj-trailer, "(FWD)" or WSP, from the end */
		if (*b > *a && wsp(p[*b - 1]))
			(*b)--;
		else if (*b - *a >= 5 && strncmp(p + *b - 5, "(FWD)", 5) == 0) {
			*b -= 5;
			*refwd = true;
		} else
			break;
	}
	for (bool again = true; again;) { /* 3 and 4, until neither applies */
		again = false;
		size_t e = leader(p, *a, *b, refwd);
		if (e > *a) {
			*a = e;
			again = true;
		}
		e = blob(p, *a, *b);
		if (e > 0 && has_nonwsp(p, e, *b)) {
			*a = e;
			again = true;
		}
	}
}

int imap_base_subject(const char *s, size_t len, struct buf *out,
		      bool *refwd_r)
{
	*refwd_r = false;
	if (normalise(s, len, out) < 0)
		return -1;
	const char *p = out->data != NULL ? out->data : "";
	size_t a = 0, b = out->len;
	for (;;) {
		strip(p, &a, &b, refwd_r);
		/* 6: "[FWD:" ... "]" around it: take it off and start over */
		if (b - a >= 6 && strncmp(p + a, "[FWD:", 5) == 0 &&
		    p[b - 1] == ']') {
			a += 5;
			b--;
			*refwd_r = true;
			continue;
		}
		break;
	}
	if (b > a)
		memmove(out->data, out->data + a, b - a);
	buf_truncate(out, b - a);
	return 0;
}

/* ------------------------------------------------------------ dates */

static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	unsigned yoe = (unsigned)(y - era * 400);
	unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int64_t)doe - 719468;
}

struct cursor {
	const char *p;
	size_t i, n;
};

static void skip_cfws(struct cursor *c)
{
	unsigned depth = 0;
	for (; c->i < c->n; c->i++) {
		char ch = c->p[c->i];
		if (ch == '(')
			depth++;
		else if (ch == ')' && depth > 0)
			depth--;
		else if (depth == 0 && ch != ' ' && ch != '\t' && ch != '\r' &&
			 ch != '\n')
			return;
	}
}

/* 1 to max_digits digits. */
static bool number(struct cursor *c, unsigned max_digits, int64_t *v)
{
	size_t start = c->i;
	*v = 0;
	while (c->i < c->n && c->i - start < max_digits && c->p[c->i] >= '0' &&
	       c->p[c->i] <= '9')
		*v = *v * 10 + (c->p[c->i++] - '0');
	return c->i > start;
}

static bool month(struct cursor *c, unsigned *m)
{
	static const char names[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
	if (c->n - c->i < 3)
		return false;
	for (unsigned k = 0; k < 12; k++)
		if (strncasecmp(c->p + c->i, names + 3 * k, 3) == 0) {
			*m = k + 1;
			c->i += 3;
			return true;
		}
	return false;
}

/* "+hhmm", "-hhmm", or an obsolete name (RFC 5322 4.3); unknown: 0. */
static int64_t zone(struct cursor *c)
{
	static const struct {
		const char *name;
		int hours;
	} names[] = {{"EDT", -4}, {"EST", -5}, {"CDT", -5}, {"CST", -6},
		     {"MDT", -6}, {"MST", -7}, {"PDT", -7}, {"PST", -8}};
	int64_t v;
	if (c->i < c->n && (c->p[c->i] == '+' || c->p[c->i] == '-')) {
		int sign = c->p[c->i++] == '-' ? -1 : 1;
		size_t start = c->i;
		if (!number(c, 4, &v) || c->i - start != 4)
			return 0;
		return sign * ((v / 100) * 3600 + (v % 100) * 60);
	}
	for (size_t k = 0; k < sizeof(names) / sizeof(names[0]); k++)
		if (c->n - c->i >= 3 &&
		    strncasecmp(c->p + c->i, names[k].name, 3) == 0)
			return names[k].hours * 3600;
	return 0;
}

bool imap_sent_date(const char *s, size_t len, int64_t *t_r)
{
	struct cursor c = {s, 0, len < 256 ? len : 256};
	int64_t day, year, h, mi, sec = 0;
	unsigned mon;
	skip_cfws(&c);
	if (c.i < c.n && !(c.p[c.i] >= '0' && c.p[c.i] <= '9')) {
		while (c.i < c.n && c.p[c.i] != ',') /* day-of-week */
			c.i++;
		c.i++;
		skip_cfws(&c);
	}
	if (!number(&c, 2, &day) || (skip_cfws(&c), !month(&c, &mon)) ||
	    (skip_cfws(&c), !number(&c, 4, &year)) ||
	    (skip_cfws(&c), !number(&c, 2, &h)) || c.i >= c.n ||
	    c.p[c.i++] != ':' || !number(&c, 2, &mi))
		return false;
	if (c.i < c.n && c.p[c.i] == ':' && (c.i++, !number(&c, 2, &sec)))
		return false;
	if (year < 50) /* RFC 5322 4.3: two-digit years */
		year += 2000;
	else if (year < 1000)
		year += 1900;
	if (day < 1 || day > 31 || h > 23 || mi > 59 || sec > 60)
		return false;
	skip_cfws(&c);
	*t_r = days_from_civil(year, mon, (unsigned)day) * 86400 + h * 3600 +
	       mi * 60 + sec - zone(&c);
	return true;
}

/* ------------------------------------------------------------ keys */

/* The first addr-mailbox of an address field, upper case. */
static char *first_mailbox(const char *v, size_t len)
{
	struct addrlist al;
	addrlist_init(&al);
	char *out = NULL;
	if (addrlist_parse(&al, v, len < IMAP_SORT_FIELD_MAX ? len
							    : IMAP_SORT_FIELD_MAX) == 0)
		for (size_t i = 0; i < al.n && out == NULL; i++) {
			if (al.v[i].kind != ADDRLIST_MAILBOX)
				continue;
			const char *t = addrlist_text(&al, al.v[i].mailbox);
			out = strndup(t != NULL ? t : "", al.v[i].mailbox.len);
		}
	addrlist_free(&al);
	if (out == NULL)
		out = strdup("");
	for (char *p = out; p != NULL && *p; p++)
		if (*p >= 'a' && *p <= 'z')
			*p = (char)(*p - 'a' + 'A');
	return out;
}

struct fields {
	struct header_field subject, from, to, cc, date;
	bool has_subject, has_from, has_to, has_cc, has_date;
};

static void find_fields(const char *hdr, size_t len, struct fields *f)
{
	struct header_field h;
	size_t pos = 0;
	memset(f, 0, sizeof(*f));
#define TAKE(name, field)                                                      \
	if (!f->has_##field && header_is(&h, name)) {                         \
		f->field = h;                                                  \
		f->has_##field = true;                                         \
		continue;                                                      \
	}
	while (header_next(hdr, len, &pos, &h) == 1) {
		TAKE("Subject", subject)
		TAKE("From", from)
		TAKE("To", to)
		TAKE("Cc", cc)
		TAKE("Date", date)
	}
#undef TAKE
}

int imap_sort_msg_fill(struct imap_sort_msg *m, const char *hdr, size_t len)
{
	struct fields f;
	struct buf b;
	find_fields(hdr, len, &f);
	m->from = f.has_from ? first_mailbox(f.from.value, f.from.value_len)
			     : strdup("");
	m->to = f.has_to ? first_mailbox(f.to.value, f.to.value_len)
			 : strdup("");
	m->cc = f.has_cc ? first_mailbox(f.cc.value, f.cc.value_len)
			 : strdup("");
	/* RFC 5256 3: no Date, or one that does not parse: INTERNALDATE */
	if (!f.has_date ||
	    !imap_sent_date(f.date.value, f.date.value_len, &m->date))
		m->date = m->arrival;
	buf_init(&b, 0);
	int rc = imap_base_subject(f.has_subject ? f.subject.value : "",
				   f.has_subject ? f.subject.value_len : 0, &b,
				   &m->refwd);
	m->subject = rc == 0 ? strndup(b.data != NULL ? b.data : "", b.len)
			     : NULL;
	buf_free(&b);
	return m->from && m->to && m->cc && m->subject ? 0 : -1;
}

void imap_sort_msg_free(struct imap_sort_msg *m)
{
	free(m->from);
	free(m->to);
	free(m->cc);
	free(m->subject);
	m->from = m->to = m->cc = m->subject = NULL;
}

/* ------------------------------------------------------------ ordering */

struct crits {
	const struct imap_sort_crit *v;
	size_t n;
};

static int cmp_num(uint64_t a, uint64_t b)
{
	return a < b ? -1 : a > b;
}

static int cmp_key(const struct imap_sort_msg *x, const struct imap_sort_msg *y,
		   enum imap_sort_key k)
{
	switch (k) {
	case SORT_ARRIVAL:
		return cmp_num((uint64_t)x->arrival ^ (UINT64_C(1) << 63),
			       (uint64_t)y->arrival ^ (UINT64_C(1) << 63));
	case SORT_DATE:
		return cmp_num((uint64_t)x->date ^ (UINT64_C(1) << 63),
			       (uint64_t)y->date ^ (UINT64_C(1) << 63));
	case SORT_SIZE:
		return cmp_num(x->size, y->size);
	case SORT_CC:
		return strcmp(x->cc, y->cc);
	case SORT_FROM:
		return strcmp(x->from, y->from);
	case SORT_TO:
		return strcmp(x->to, y->to);
	case SORT_SUBJECT:
		return strcmp(x->subject, y->subject);
	}
	return 0;
}

static int cmp_msgs(const void *a, const void *b, void *arg)
{
	const struct crits *c = arg;
	const struct imap_sort_msg *x = a, *y = b;
	for (size_t i = 0; i < c->n; i++) {
		int r = cmp_key(x, y, c->v[i].key);
		if (r != 0)
			return c->v[i].reverse ? -r : r;
	}
	return cmp_num(x->seq, y->seq);
}

void imap_sort(struct imap_sort_msg *v, size_t n,
	       const struct imap_sort_crit *crit, size_t n_crit)
{
	struct crits c = {crit, n_crit};
	qsort_r(v, n, sizeof(*v), cmp_msgs, &c);
}
