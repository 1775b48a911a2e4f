/* Tests for src/store/hdrcache.c: where a header block ends, hits and
 * misses, the memory bound and eviction by folder, oversized blocks,
 * handles that outlive their folder's eviction, and two threads at once. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "store/hdrcache.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------ block end */

static void header_end_table(void **state)
{
	static const struct {
		const char *in;
		size_t end;
	} t[] = {
		{"", 0},
		{"Subject: x\n", 0},
		{"Subject: x\n\nbody", 12},
		{"Subject: x\n\n", 12},
		{"Subject: x\r\n\r\nbody", 14},
		{"Subject: x\n\r\n", 13},
		{"Subject: x\n\r", 0},          /* CR LF cut: not yet */
		{"Subject: x\n \nnext\n\n", 19}, /* a blank line is no end */
		{"\n\nbody", 2},
		{"a: 1\nb: 2\n\nc: 3\n\n", 11},
		{"no empty line at all", 0},
	};
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		assert_int_equal(hdrcache_header_end(t[i].in, strlen(t[i].in)),
				 t[i].end);
}

/* A prefix gives 0 or the same end as the whole: a reader that stops
 * early (a short read) never cuts a different block. */
static void header_end_trickle(void **state)
{
	static const char *const msgs[] = {
		"From: a\r\nSubject: b\r\n\r\nbody\r\n\r\nmore",
		"From: a\nSubject: b\n folded\n\nbody\n\n",
		"x\n\r\r\n\n",
	};
	for (size_t m = 0; m < sizeof(msgs) / sizeof(msgs[0]); m++) {
		size_t n = strlen(msgs[m]);
		size_t whole = hdrcache_header_end(msgs[m], n);
		assert_true(whole > 0);
		for (size_t k = 0; k <= n; k++) {
			size_t e = hdrcache_header_end(msgs[m], k);
			assert_true(e == 0 || e == whole);
			if (k >= whole)
				assert_int_equal(e, whole);
		}
	}
}

/* ------------------------------------------------------------ cache */

/* A block whose bytes say which folder and uid it belongs to. */
static size_t make_block(char *out, size_t cap, const char *dir,
			 uint32_t uid, size_t len)
{
	int n = snprintf(out, cap, "X-Folder: %s\nX-Uid: %u\n", dir, uid);
	assert_true(n > 0 && (size_t)n < cap && len <= cap);
	for (size_t i = (size_t)n; i < len; i++)
		out[i] = (char)('a' + (uid + i) % 26);
	return len;
}

static void check_hit(struct hdrcache_folder *f, const char *dir,
		      uint32_t uid, size_t len)
{
	char want[4096];
	const char *p;
	size_t n;
	make_block(want, sizeof(want), dir, uid, len);
	assert_true(hdrcache_lookup(f, uid, &p, &n));
	assert_int_equal(n, len);
	assert_memory_equal(p, want, len);
}

static void hit_and_miss(void **state)
{
	struct hdrcache *c = hdrcache_new(1024 * 1024);
	struct hdrcache_folder *f = hdrcache_folder_get(c, "/m/u", 7, "");
	char b[4096];
	const char *p;
	size_t n;
	assert_non_null(f);
	assert_false(hdrcache_lookup(f, 1, &p, &n));
	assert_true(hdrcache_insert(f, 1, b, make_block(b, sizeof(b), "/m/u",
							 1, 300)));
	check_hit(f, "/m/u", 1, 300);
	assert_false(hdrcache_lookup(f, 2, &p, &n));
	/* the same uid again keeps the first block */
	assert_true(hdrcache_insert(f, 1, "other", 5));
	check_hit(f, "/m/u", 1, 300);
	/* an empty block is a block */
	assert_true(hdrcache_insert(f, 3, "", 0));
	assert_true(hdrcache_lookup(f, 3, &p, &n));
	assert_int_equal(n, 0);
	hdrcache_folder_release(&f);
	assert_null(f);

	/* another session finds it; another folder does not */
	f = hdrcache_folder_get(c, "/m/u", 7, "");
	check_hit(f, "/m/u", 1, 300);
	struct hdrcache_folder *g = hdrcache_folder_get(c, "/m/u/.Sent", 7, "");
	assert_false(hdrcache_lookup(g, 1, &p, &n));
	hdrcache_folder_release(&g);
	hdrcache_folder_release(&f);

	/* a new UIDVALIDITY: the UIDs name other messages, all is gone */
	f = hdrcache_folder_get(c, "/m/u", 8, "");
	assert_false(hdrcache_lookup(f, 1, &p, &n));
	assert_true(hdrcache_insert(f, 1, "A: 1\n\n", 6));
	hdrcache_folder_release(&f);
	/* the same UIDVALIDITY with another GUID (the folder made again in
	 * the same second): another folder too */
	f = hdrcache_folder_get(c, "/m/u", 8, "0123456789abcdef0123456789abcdef");
	assert_false(hdrcache_lookup(f, 1, &p, &n));
	hdrcache_folder_release(&f);
	/* a GUID longer than any uidlist's is refused */
	assert_null(hdrcache_folder_get(c, "/m/u", 8,
					"0123456789abcdef0123456789abcdef0"));

	struct hdrcache_stats st;
	hdrcache_stats(c, &st);
	assert_int_equal(st.folders, 2); /* /m/u at 8 with its GUID, and .Sent */
	assert_int_equal(st.hits, 4);
	assert_int_equal(st.misses, 5);
	hdrcache_free(&c);
	assert_null(c);
}

static void oversized_not_cached(void **state)
{
	struct hdrcache *c = hdrcache_new(1024 * 1024);
	struct hdrcache_folder *f = hdrcache_folder_get(c, "/m/u", 1, "");
	char *big = malloc(HDRCACHE_ENTRY_MAX + 1);
	const char *p;
	size_t n;
	assert_non_null(big);
	memset(big, 'h', HDRCACHE_ENTRY_MAX + 1);
	assert_false(hdrcache_insert(f, 1, big, HDRCACHE_ENTRY_MAX + 1));
	assert_false(hdrcache_lookup(f, 1, &p, &n));
	assert_true(hdrcache_insert(f, 2, big, HDRCACHE_ENTRY_MAX));
	assert_true(hdrcache_lookup(f, 2, &p, &n));
	assert_int_equal(n, HDRCACHE_ENTRY_MAX);
	assert_memory_equal(p, big, n);
	free(big);
	hdrcache_folder_release(&f);
	hdrcache_free(&c);
}

enum { BOUND = 256 * 1024 };

/* Fill folder dir with uids 1..n of len bytes; how many were kept. */
static unsigned fill(struct hdrcache *c, const char *dir, unsigned n,
		     size_t len)
{
	struct hdrcache_folder *f = hdrcache_folder_get(c, dir, 1, "");
	char b[4096];
	unsigned kept = 0;
	struct hdrcache_stats st;
	assert_non_null(f);
	for (uint32_t uid = 1; uid <= n; uid++) {
		size_t blen = make_block(b, sizeof(b), dir, uid, len);
		kept += hdrcache_insert(f, uid, b, blen);
		hdrcache_stats(c, &st);
		assert_true(st.bytes <= BOUND);
	}
	hdrcache_folder_release(&f);
	return kept;
}

static void eviction_by_folder(void **state)
{
	struct hdrcache *c = hdrcache_new(BOUND);
	struct hdrcache_stats st;
	/* three folders of ~100 KB: the third pushes the first out */
	assert_int_equal(fill(c, "/a", 100, 1000), 100);
	assert_int_equal(fill(c, "/b", 100, 1000), 100);
	struct hdrcache_folder *b = hdrcache_folder_get(c, "/b", 1, "");
	hdrcache_folder_release(&b); /* /b is now more recent than /a */
	assert_int_equal(fill(c, "/c", 100, 1000), 100);
	hdrcache_stats(c, &st);
	assert_true(st.bytes <= BOUND);
	assert_int_equal(st.evictions, 1);
	assert_int_equal(st.folders, 2);
	struct hdrcache_folder *f = hdrcache_folder_get(c, "/b", 1, "");
	check_hit(f, "/b", 1, 1000);
	check_hit(f, "/b", 100, 1000);
	hdrcache_folder_release(&f);
	f = hdrcache_folder_get(c, "/a", 1, "");
	const char *p;
	size_t n;
	assert_false(hdrcache_lookup(f, 1, &p, &n));
	hdrcache_folder_release(&f);
	hdrcache_free(&c);
}

/* One folder bigger than the bound: the others go, then it stops
 * growing; what it holds stays valid. */
static void one_folder_over_the_bound(void **state)
{
	struct hdrcache *c = hdrcache_new(BOUND);
	struct hdrcache_stats st;
	assert_int_equal(fill(c, "/small", 10, 1000), 10);
	unsigned kept = fill(c, "/big", 1000, 1000);
	assert_true(kept > 100 && kept < 1000);
	hdrcache_stats(c, &st);
	assert_int_equal(st.folders, 1);
	assert_int_equal(st.entries, kept);
	struct hdrcache_folder *f = hdrcache_folder_get(c, "/big", 1, "");
	check_hit(f, "/big", 1, 1000);
	check_hit(f, "/big", kept, 1000);
	hdrcache_folder_release(&f);
	hdrcache_free(&c);
}

/* A handle held while its folder is evicted still reads its blocks (the
 * bytes stay counted, so the bound holds); they go with the handle. */
static void held_folder_outlives_eviction(void **state)
{
	struct hdrcache *c = hdrcache_new(BOUND);
	struct hdrcache_stats st;
	assert_int_equal(fill(c, "/held", 100, 1000), 100);
	struct hdrcache_folder *h = hdrcache_folder_get(c, "/held", 1, "");
	fill(c, "/other", 1000, 1000);
	hdrcache_stats(c, &st);
	assert_int_equal(st.folders, 1);
	assert_true(st.evictions >= 1);
	size_t before = st.bytes;
	check_hit(h, "/held", 1, 1000);
	check_hit(h, "/held", 100, 1000);
	/* evicted: nothing more goes in */
	assert_false(hdrcache_insert(h, 101, "x", 1));
	hdrcache_folder_release(&h);
	hdrcache_stats(c, &st);
	assert_true(st.bytes < before);
	hdrcache_free(&c);
}

static void off_when_nothing_fits(void **state)
{
	struct hdrcache *c = hdrcache_new(16);
	assert_null(hdrcache_folder_get(c, "/m/u", 1, ""));
	hdrcache_free(&c);
}

/* ------------------------------------------------------------ threads */

struct worker_arg {
	struct hdrcache *c;
	const char *dirs[3];
	unsigned errors;
};

enum { THREAD_BOUND = 128 * 1024, THREAD_UIDS = 100 };

/* One pass over a folder's uids: look each up and check a hit's bytes;
 * insert a miss when fill is set. */
static void pass(struct worker_arg *a, struct hdrcache_folder *f,
		 const char *dir, bool fill)
{
	char want[4096];
	for (uint32_t uid = 1; uid <= THREAD_UIDS; uid++) {
		const char *hdr;
		size_t n, len = make_block(want, sizeof(want), dir, uid,
					   200 + uid * 3);
		if (!hdrcache_lookup(f, uid, &hdr, &n)) {
			if (fill)
				hdrcache_insert(f, uid, want, len);
		} else if (n != len || memcmp(hdr, want, len) != 0) {
			a->errors++;
		}
	}
}

/* Rounds over three folders (~50 KB each), the second pass of a round
 * reading what the first put in. Five folders between the two threads
 * are twice the bound: folders are evicted under the other thread's
 * feet all the time, held ones included. */
static void *worker(void *p)
{
	struct worker_arg *a = p;
	for (unsigned round = 0; round < 60; round++) {
		const char *dir = a->dirs[round % 3];
		struct hdrcache_folder *f = hdrcache_folder_get(a->c, dir, 1, "");
		if (f == NULL)
			continue;
		pass(a, f, dir, true);
		pass(a, f, dir, false);
		hdrcache_folder_release(&f);
	}
	return NULL;
}

static void two_threads(void **state)
{
	struct hdrcache *c = hdrcache_new(THREAD_BOUND);
	struct worker_arg a = {c, {"/t/1", "/t/2", "/shared"}, 0};
	struct worker_arg b = {c, {"/shared", "/t/3", "/t/4"}, 0};
	pthread_t ta, tb;
	assert_int_equal(pthread_create(&ta, NULL, worker, &a), 0);
	assert_int_equal(pthread_create(&tb, NULL, worker, &b), 0);
	pthread_join(ta, NULL);
	pthread_join(tb, NULL);
	assert_int_equal(a.errors + b.errors, 0);
	struct hdrcache_stats st;
	hdrcache_stats(c, &st);
	assert_true(st.bytes <= THREAD_BOUND);
	assert_true(st.hits > 0 && st.misses > 0 && st.evictions > 0);
	hdrcache_free(&c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(header_end_table),
		cmocka_unit_test(header_end_trickle),
		cmocka_unit_test(hit_and_miss),
		cmocka_unit_test(oversized_not_cached),
		cmocka_unit_test(eviction_by_folder),
		cmocka_unit_test(one_folder_over_the_bound),
		cmocka_unit_test(held_folder_outlives_eviction),
		cmocka_unit_test(off_when_nothing_fits),
		cmocka_unit_test(two_threads),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
