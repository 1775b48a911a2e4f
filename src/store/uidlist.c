/* uidlist: dovecot-uidlist, dovecot-keywords and postern-modseq. */
#include "store/uidlist.h"

#include "lib/buf.h"
#include "lib/parse.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

/* A line of text: [p, p + len), lf when a '\n' ended it. */
struct line {
	const char *p;
	size_t len;
	bool lf;
};

static bool next_line(const char *text, size_t len, size_t *pos,
		      struct line *l)
{
	if (*pos >= len)
		return false;
	const char *start = text + *pos;
	const char *lf = memchr(start, '\n', len - *pos);
	l->p = start;
	l->len = lf == NULL ? len - *pos : (size_t)(lf - start);
	l->lf = lf != NULL;
	*pos += l->len + (l->lf ? 1 : 0);
	return true;
}

/* Leading decimal digits of [p, end) as a number up to max; advances *p.
 * False when there are none or the value is over max. */
static bool take_number(const char **p, const char *end, uint64_t max,
			uint64_t *out)
{
	size_t n = 0;
	while (*p + n < end && (*p)[n] >= '0' && (*p)[n] <= '9')
		n++;
	if (n == 0 || parse_u64(*p, n, max, out) < 0)
		return false;
	*p += n;
	return true;
}

static bool is_hex(const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!((p[i] >= '0' && p[i] <= '9') || (p[i] >= 'a' && p[i] <= 'f') ||
		      (p[i] >= 'A' && p[i] <= 'F')))
			return false;
	return true;
}

/* "3 V.. N.. G..": fields in any order, unknown ones ignored (Dovecot may
 * add more). V is required. */
static int parse_v3_header(const char *p, const char *end, struct uidlist *ul)
{
	uint64_t v;
	while (p < end) {
		if (*p == ' ') {
			p++;
			continue;
		}
		const char *field = p;
		while (p < end && *p != ' ')
			p++;
		const char *val = field + 1;
		if (*field == 'V' && take_number(&val, p, UINT32_MAX, &v) &&
		    val == p && v > 0)
			ul->uidvalidity = (uint32_t)v;
		else if (*field == 'N' && take_number(&val, p, UINT32_MAX, &v) &&
			 val == p)
			ul->next_uid = (uint32_t)v;
		else if (*field == 'G' && p - val == UIDLIST_GUID_LEN &&
			 is_hex(val, UIDLIST_GUID_LEN))
			memcpy(ul->guid, val, UIDLIST_GUID_LEN);
	}
	return ul->uidvalidity > 0 ? 0 : -1;
}

/* "1 <uidvalidity> <nextuid>" (Courier's courierimapuiddb) */
static int parse_v1_header(const char *p, const char *end, struct uidlist *ul)
{
	uint64_t v, n;
	if (p >= end || *p++ != ' ' || !take_number(&p, end, UINT32_MAX, &v) ||
	    v == 0 || p >= end || *p++ != ' ' ||
	    !take_number(&p, end, UINT32_MAX, &n) || p != end)
		return -1;
	ul->uidvalidity = (uint32_t)v;
	ul->next_uid = (uint32_t)n;
	return 0;
}

static int parse_header(const struct line *l, struct uidlist *ul,
			int *version)
{
	const char *p = l->p, *end = l->p + l->len;
	if (!l->lf || l->len < 2)
		return -1;
	if (p[0] == '3' && p[1] == ' ') {
		*version = 3;
		return parse_v3_header(p + 2, end, ul);
	}
	if (p[0] == '1') {
		*version = 1;
		return parse_v1_header(p + 1, end, ul);
	}
	return -1;
}

/* After "<uid> " of a version 3 line: "[<Key><value> ...] :<name>". */
static bool skip_extensions(const char **p, const char *end)
{
	while (*p < end && **p != ':') {
		if (**p == ' ') {
			(*p)++;
			continue;
		}
		if (**p < 'A' || **p > 'Z')
			return false;
		while (*p < end && **p != ' ')
			(*p)++;
	}
	if (*p >= end)
		return false;
	(*p)++;
	return true;
}

/* One record line; false when malformed (*uid_r set if a UID was read). */
static bool parse_rec(const struct line *l, int version, uint32_t *uid_r,
		      struct uidlist_rec *rec)
{
	const char *p = l->p, *end = l->p + l->len;
	uint64_t uid;
	*uid_r = 0;
	/* Dovecot's limit: a UID is below 2^32 - 1 */
	if (!take_number(&p, end, UINT32_MAX - 1, &uid) || uid == 0)
		return false;
	*uid_r = (uint32_t)uid;
	if (!l->lf || p >= end || *p++ != ' ')
		return false;
	if (version == 3 && !skip_extensions(&p, end))
		return false;
	size_t n = (size_t)(end - p);
	if (!mdname_valid(p, n) || mdname_base_len(p, n) == 0)
		return false;
	rec->uid = (uint32_t)uid;
	rec->name = p;
	rec->name_len = n;
	return true;
}

static void bump_next(struct uidlist *ul, uint32_t uid)
{
	if (uid != 0 && uid >= ul->next_uid)
		ul->next_uid = uid + 1; /* uid < UINT32_MAX: no overflow */
}

static void skip(struct uidlist *ul, size_t line_no)
{
	if (ul->skipped++ == 0)
		ul->first_bad = line_no;
}

static int add_rec(struct uidlist *ul, const struct uidlist_rec *rec,
		   size_t *cap)
{
	if (ul->n == *cap) {
		size_t ncap = *cap ? *cap * 2 : 64;
		void *p = realloc(ul->recs, ncap * sizeof(*ul->recs));
		if (p == NULL)
			return -1;
		ul->recs = p;
		*cap = ncap;
	}
	ul->recs[ul->n++] = *rec;
	return 0;
}

static int parse_recs(const char *text, size_t len, size_t pos, int version,
		      size_t max_recs, struct uidlist *ul)
{
	struct line l;
	size_t line_no = 1, cap = 0;
	uint32_t last = 0;
	while (next_line(text, len, &pos, &l)) {
		line_no++;
		struct uidlist_rec rec;
		uint32_t uid;
		if (!l.lf)
			ul->torn = true;
		bool ok = parse_rec(&l, version, &uid, &rec);
		bump_next(ul, uid);
		if (!ok || uid <= last || ul->n >= max_recs) {
			skip(ul, line_no);
			continue;
		}
		if (add_rec(ul, &rec, &cap) < 0)
			return -1;
		last = uid;
	}
	return 0;
}

int uidlist_parse(const char *text, size_t len, size_t max_recs,
		  struct uidlist *ul, const char **error_r)
{
	struct line l;
	size_t pos = 0;
	int version = 0;
	memset(ul, 0, sizeof(*ul));
	if (!next_line(text, len, &pos, &l) || parse_header(&l, ul, &version) < 0) {
		memset(ul, 0, sizeof(*ul));
		*error_r = "no valid header line";
		return -1;
	}
	if (parse_recs(text, len, pos, version, max_recs, ul) < 0) {
		uidlist_free(ul);
		*error_r = "out of memory";
		return -1;
	}
	if (ul->next_uid == 0)
		ul->next_uid = 1;
	return 0;
}

void uidlist_free(struct uidlist *ul)
{
	free(ul->recs);
	ul->recs = NULL;
	ul->n = 0;
}

int uidlist_format_header(uint32_t uidvalidity, uint32_t next_uid,
			  const char *guid, struct buf *out)
{
	return buf_appendf(out, "3 V%" PRIu32 " N%" PRIu32 " G%s\n", uidvalidity,
			   next_uid, guid);
}

int uidlist_format_rec(uint32_t uid, const char *name, size_t len,
		       struct buf *out)
{
	return buf_appendf(out, "%" PRIu32 " :%.*s\n", uid, (int)len, name);
}

/* ------------------------------------------------------------ keywords */

bool keyword_valid(const char *name, size_t len)
{
	/* RFC 9051 9: atom-specials are ( ) { SP CTL % * " \ ] */
	static const char specials[] = "(){%*\"\\]";
	if (len == 0 || len > STORE_KEYWORD_LEN_MAX)
		return false;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)name[i];
		if (c <= 0x20 || c >= 0x7f || memchr(specials, c, sizeof(specials) - 1) != NULL)
			return false;
	}
	return true;
}

/* Is name already among names (IMAP keywords compare without case)? */
static bool keyword_known(char *const names[STORE_KEYWORDS_MAX],
			  const char *name, size_t len)
{
	for (int i = 0; i < STORE_KEYWORDS_MAX; i++)
		if (names[i] != NULL && strlen(names[i]) == len &&
		    strncasecmp(names[i], name, len) == 0)
			return true;
	return false;
}

static bool keyword_line(const struct line *l, char *names[STORE_KEYWORDS_MAX])
{
	const char *p = l->p, *end = l->p + l->len;
	uint64_t idx;
	if (!take_number(&p, end, STORE_KEYWORDS_MAX - 1, &idx) || p >= end ||
	    *p++ != ' ')
		return false;
	size_t n = (size_t)(end - p);
	if (names[idx] != NULL || !keyword_valid(p, n) ||
	    keyword_known(names, p, n))
		return false;
	names[idx] = strndup(p, n);
	return names[idx] != NULL;
}

size_t keywords_parse(const char *text, size_t len,
		      char *names[STORE_KEYWORDS_MAX])
{
	struct line l;
	size_t pos = 0, skipped = 0;
	memset(names, 0, STORE_KEYWORDS_MAX * sizeof(*names));
	while (next_line(text, len, &pos, &l))
		if (l.len > 0 && (!l.lf || !keyword_line(&l, names)))
			skipped++;
	return skipped;
}

void keywords_free(char *names[STORE_KEYWORDS_MAX])
{
	for (int i = 0; i < STORE_KEYWORDS_MAX; i++) {
		free(names[i]);
		names[i] = NULL;
	}
}

int keywords_format(char *const names[STORE_KEYWORDS_MAX], struct buf *out)
{
	for (int i = 0; i < STORE_KEYWORDS_MAX; i++)
		if (names[i] != NULL && buf_appendf(out, "%d %s\n", i, names[i]) < 0)
			return -1;
	return 0;
}

/* ------------------------------------------------------------ modseq */

static int parse_modseq_header(const struct line *l, struct modseq_file *mf)
{
	const char *p = l->p, *end = l->p + l->len;
	uint64_t v, h;
	if (!l->lf || end - p < 3 || memcmp(p, "1 V", 3) != 0)
		return -1;
	p += 3;
	if (!take_number(&p, end, UINT32_MAX, &v) || v == 0 || end - p < 2 ||
	    memcmp(p, " H", 2) != 0)
		return -1;
	p += 2;
	if (!take_number(&p, end, UINT64_MAX, &h) || p != end)
		return -1;
	mf->uidvalidity = (uint32_t)v;
	mf->highest = h;
	return 0;
}

static bool modseq_line(const struct line *l, struct modseq_rec *rec)
{
	const char *p = l->p, *end = l->p + l->len;
	uint64_t uid, m;
	if (!l->lf || !take_number(&p, end, UINT32_MAX - 1, &uid) || p >= end ||
	    *p++ != ' ' || !take_number(&p, end, UINT64_MAX, &m) || p != end ||
	    m == 0)
		return false;
	rec->uid = (uint32_t)uid;
	rec->modseq = m;
	return true;
}

/* Order by UID, then by line (so the last line of a UID sorts last). */
struct ordered {
	struct modseq_rec rec;
	size_t line;
};

static int cmp_ordered(const void *a, const void *b)
{
	const struct ordered *x = a, *y = b;
	if (x->rec.uid != y->rec.uid)
		return x->rec.uid < y->rec.uid ? -1 : 1;
	return x->line < y->line ? -1 : x->line > y->line;
}

/* Sort the lines by UID and keep each UID's last; UID 0 only raises the
 * highest modseq. */
static int modseq_settle(struct ordered *v, size_t n, struct modseq_file *mf)
{
	if (n > 0)
		qsort(v, n, sizeof(*v), cmp_ordered);
	mf->recs = malloc((n ? n : 1) * sizeof(*mf->recs));
	if (mf->recs == NULL)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (v[i].rec.modseq > mf->highest)
			mf->highest = v[i].rec.modseq;
		if (v[i].rec.uid == 0 ||
		    (i + 1 < n && v[i + 1].rec.uid == v[i].rec.uid))
			continue;
		mf->recs[mf->n++] = v[i].rec;
	}
	return 0;
}

static int modseq_read_lines(const char *text, size_t len, size_t pos,
			     size_t max_lines, struct modseq_file *mf)
{
	struct ordered *v = NULL;
	size_t n = 0, cap = 0;
	struct line l;
	while (next_line(text, len, &pos, &l) && mf->lines < max_lines) {
		struct ordered o = {.line = mf->lines++};
		if (!modseq_line(&l, &o.rec)) {
			mf->skipped++;
			continue;
		}
		if (n == cap) {
			cap = cap ? cap * 2 : 64;
			void *p = realloc(v, cap * sizeof(*v));
			if (p == NULL) {
				free(v);
				return -1;
			}
			v = p;
		}
		v[n++] = o;
	}
	int rc = modseq_settle(v, n, mf);
	free(v);
	return rc;
}

int modseq_parse(const char *text, size_t len, size_t max_lines,
		 struct modseq_file *mf, const char **error_r)
{
	struct line l;
	size_t pos = 0;
	memset(mf, 0, sizeof(*mf));
	if (!next_line(text, len, &pos, &l) || parse_modseq_header(&l, mf) < 0) {
		memset(mf, 0, sizeof(*mf));
		*error_r = "no valid header line";
		return -1;
	}
	if (modseq_read_lines(text, len, pos, max_lines, mf) < 0) {
		modseq_free(mf);
		*error_r = "out of memory";
		return -1;
	}
	return 0;
}

void modseq_free(struct modseq_file *mf)
{
	free(mf->recs);
	mf->recs = NULL;
	mf->n = 0;
}

int modseq_format_header(uint32_t uidvalidity, uint64_t highest,
			 struct buf *out)
{
	return buf_appendf(out, "1 V%" PRIu32 " H%" PRIu64 "\n", uidvalidity,
			   highest);
}

int modseq_format_rec(uint32_t uid, uint64_t modseq, struct buf *out)
{
	return buf_appendf(out, "%" PRIu32 " %" PRIu64 "\n", uid, modseq);
}

uint64_t modseq_lookup(const struct modseq_file *mf, uint32_t uid)
{
	size_t lo = 0, hi = mf->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (mf->recs[mid].uid == uid)
			return mf->recs[mid].modseq;
		if (mf->recs[mid].uid < uid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return 0;
}
