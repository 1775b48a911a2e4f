/* libFuzzer target: the threading input and the threading itself
 * (src/imapd/thread.c). The input is split at NUL bytes into header
 * sections, one message each (Message-ID, References, In-Reply-To,
 * Subject, Date as they come); both algorithms thread them. Checked: no
 * crash, no leak, every message appears exactly once in each answer, and
 * the parentheses balance. */
#include "imapd/sort.h"
#include "imapd/thread.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define CHECK(x)                                                               \
	do {                                                                   \
		if (!(x))                                                      \
			__builtin_trap();                                      \
	} while (0)

enum { MSGS_MAX = 64 };

/* Each id 1..n once, parentheses balanced. */
static void check_answer(const struct buf *out, size_t n)
{
	unsigned char seen[MSGS_MAX + 1] = {0};
	long depth = 0;
	const char *s = buf_cstr(out);
	for (size_t i = 0; s[i]; i++) {
		if (s[i] == '(')
			depth++;
		else if (s[i] == ')')
			CHECK(--depth >= 0);
		else if (s[i] >= '0' && s[i] <= '9') {
			unsigned long v = strtoul(s + i, NULL, 10);
			CHECK(v >= 1 && v <= n && !seen[v]);
			seen[v] = 1;
			while (s[i + 1] >= '0' && s[i + 1] <= '9')
				i++;
		}
	}
	CHECK(depth == 0);
	for (size_t k = 1; k <= n; k++)
		CHECK(seen[k]);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct imap_sort_msg keys[MSGS_MAX];
	struct imap_thread_msg v[MSGS_MAX];
	size_t n = 0, start = 0;
	for (size_t i = 0; i <= size && n < MSGS_MAX; i++) {
		if (i < size && data[i] != 0)
			continue;
		const char *h = (const char *)data + start;
		memset(&keys[n], 0, sizeof(keys[n]));
		memset(&v[n], 0, sizeof(v[n]));
		keys[n].arrival = (int64_t)n;
		CHECK(imap_sort_msg_fill(&keys[n], h, i - start) == 0);
		CHECK(imap_thread_msg_fill(&v[n], h, i - start) == 0);
		CHECK(v[n].n_refs <= IMAP_THREAD_REFS_MAX);
		v[n].seq = v[n].id = (uint32_t)n + 1;
		v[n].date = keys[n].date;
		v[n].subject = keys[n].subject;
		v[n].refwd = keys[n].refwd;
		n++;
		start = i + 1;
	}
	for (int alg = 0; alg < 2; alg++) {
		struct buf out;
		buf_init(&out, 0);
		CHECK(imap_thread(v, n, (enum imap_thread_alg)alg, &out) == 0);
		check_answer(&out, n);
		buf_free(&out);
	}
	for (size_t k = 0; k < n; k++) {
		imap_thread_msg_free(&v[k]);
		imap_sort_msg_free(&keys[k]);
	}
	return 0;
}
