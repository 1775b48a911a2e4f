/* seqset: IMAP sequence sets (RFC 9051 9, RFC 5182 for "$"). Pure code.
 *
 *   sequence-set = (seq-number / seq-range) ["," sequence-set] / "$"
 *   seq-range    = seq-number ":" seq-number
 *   seq-number   = nz-number / "*"
 *
 * Numbers are 1..4294967295 written with at most 10 digits; 0 is refused.
 * "*" (the largest number in use) is kept as IMAP_SEQ_STAR, which is 0
 * precisely because no number can be 0. A range is kept as sent: "5:2" is
 * legal and means 2:5 (RFC 9051 9); imap_seqset_contains() orders it. The
 * number of ranges is bounded by the caller's array. "$" (the saved SEARCH
 * result, RFC 5182) stands alone and sets `saved` with no ranges. */
#ifndef POSTERN_IMAPD_SEQSET_H
#define POSTERN_IMAPD_SEQSET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum { IMAP_SEQ_STAR = 0 };

struct imap_seq_range {
	uint32_t first, last; /* equal for a single number */
};

struct imap_seqset {
	struct imap_seq_range *ranges; /* the caller's array */
	size_t cap;                    /* its size: the most ranges allowed */
	size_t n;
	bool saved; /* "$" */
};

/* Parse s[0..len) into set (ranges and cap set by the caller). Returns 0,
 * or -1 with *error_r (text for a BAD reply). */
int imap_seqset_parse(const char *s, size_t len, struct imap_seqset *set,
                      const char **error_r);

/* Is n in the set, "*" standing for max (the largest number in use)? A
 * "$" set contains nothing here: the caller substitutes the saved result. */
bool imap_seqset_contains(const struct imap_seqset *set, uint32_t n,
                          uint32_t max);

#endif
