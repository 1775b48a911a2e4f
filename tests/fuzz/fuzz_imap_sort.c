/* libFuzzer target: the pure parts of SORT (src/imapd/sort.c). The input
 * is taken as a Subject value for the base subject (RFC 5256 2.1), as a
 * Date value, and as a header section whose keys are extracted.
 * Checked: no crash, no leak; a base subject is never longer than its
 * input and is a fixed point (its own base subject, with no Re/Fwd); the
 * same input gives the same answer twice. */
#include "imapd/sort.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define CHECK(x)                                                               \
	do {                                                                   \
		if (!(x))                                                      \
			__builtin_trap();                                      \
	} while (0)

static void base_subject(const char *p, size_t n)
{
	struct buf a, b;
	bool refwd, refwd2;
	buf_init(&a, 0);
	buf_init(&b, 0);
	CHECK(imap_base_subject(p, n, &a, &refwd) == 0);
	CHECK(a.len <= n);
	CHECK(imap_base_subject(a.data ? a.data : "", a.len, &b, &refwd2) == 0);
	CHECK(b.len == a.len && (a.len == 0 || memcmp(a.data, b.data, a.len) == 0));
	buf_free(&a);
	buf_free(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *p = (const char *)data;
	int64_t t1, t2;
	base_subject(p, size);
	bool ok = imap_sent_date(p, size, &t1);
	CHECK(ok == imap_sent_date(p, size, &t2) && (!ok || t1 == t2));
	struct imap_sort_msg m = {.arrival = 7};
	if (imap_sort_msg_fill(&m, p, size) == 0) {
		struct imap_sort_msg v[2] = {m, m};
		struct imap_sort_crit c[] = {{SORT_SUBJECT, false},
					     {SORT_FROM, true}};
		v[0].seq = 2;
		v[1].seq = 1;
		imap_sort(v, 2, c, 2);
		CHECK(v[0].seq == 1); /* equal keys: by sequence (REVERSE
					 reverses only its own key) */
	}
	imap_sort_msg_free(&m);
	return 0;
}
