/* seqset: IMAP sequence set parser (see seqset.h). */
#include "imapd/seqset.h"

#include "imapd/parse.h"

/* seq-number at s[*i]: "*" or nz-number; advances *i. */
static int seq_number(const char *s, size_t len, size_t *i, uint32_t *out,
                      const char **error_r)
{
	if (*i < len && s[*i] == '*') {
		(*i)++;
		*out = IMAP_SEQ_STAR;
		return 0;
	}
	size_t j = *i;
	while (j < len && s[j] >= '0' && s[j] <= '9')
		j++;
	uint64_t v;
	if (j == *i) {
		*error_r = "Invalid sequence set: number expected";
		return -1;
	}
	if (imap_parse_number(s + *i, j - *i, 10, UINT32_MAX, &v) < 0) {
		*error_r = "Invalid sequence set: number too large";
		return -1;
	}
	if (v == 0) {
		*error_r = "Invalid sequence set: 0 is not a message number";
		return -1;
	}
	*i = j;
	*out = (uint32_t)v;
	return 0;
}

/* One element (number or range) at s[*i]. */
static int element(const char *s, size_t len, size_t *i,
                   struct imap_seq_range *r, const char **error_r)
{
	if (seq_number(s, len, i, &r->first, error_r) < 0)
		return -1;
	r->last = r->first;
	if (*i < len && s[*i] == ':') {
		(*i)++;
		if (seq_number(s, len, i, &r->last, error_r) < 0)
			return -1;
	}
	return 0;
}

int imap_seqset_parse(const char *s, size_t len, struct imap_seqset *set,
                      const char **error_r)
{
	set->n = 0;
	set->saved = len == 1 && s[0] == '$';
	if (set->saved)
		return 0;
	size_t i = 0;
	for (;;) {
		if (set->n == set->cap) {
			*error_r = "Sequence set has too many ranges";
			return -1;
		}
		if (element(s, len, &i, &set->ranges[set->n], error_r) < 0)
			return -1;
		set->n++;
		if (i == len)
			return 0;
		if (s[i] != ',' || ++i == len) {
			*error_r = "Invalid sequence set";
			return -1;
		}
	}
}

bool imap_seqset_contains(const struct imap_seqset *set, uint32_t n,
                          uint32_t max)
{
	for (size_t i = 0; i < set->n; i++) {
		uint32_t a = set->ranges[i].first, b = set->ranges[i].last;
		a = a == IMAP_SEQ_STAR ? max : a;
		b = b == IMAP_SEQ_STAR ? max : b;
		if ((a <= n && n <= b) || (b <= n && n <= a))
			return true;
	}
	return false;
}
