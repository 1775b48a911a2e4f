/* Tests for the mailbox store: src/store/mailbox.c, sync.c, cache.c,
 * append.c, folders.c, uidlist.c and mdname.c. Each test gets a fresh
 * Maildir. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "lib/durable.h"
#include "lib/util.h"
#include "store/cache.h"
#include "store/folders.h"
#include "store/mailbox.h"
#include "store/maildir.h"
#include "store/quota.h"
#include "store/mdname.h"
#include "store/sync.h"
#include "store/uidlist.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static char base[64];
static char root[128];
static const struct store_options opt = {.hostname = "test.example"};
static unsigned delivered;

static int remove_entry(const char *path, const struct stat *st, int flag,
			struct FTW *ftw)
{
	return remove(path);
}

static int setup(void **state)
{
	snprintf(base, sizeof(base), "/tmp/postern-mailbox-XXXXXX");
	if (mkdtemp(base) == NULL)
		return -1;
	snprintf(root, sizeof(root), "%s/Maildir", base);
	return maildir_create(root);
}

static int teardown(void **state)
{
	dirsync_cache_clear();
	store_cache_clear();
	store_cache_set_limits(0, 0);
	return nftw(base, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* Deliver one message to folder ("" INBOX) as local delivery does. */
static void deliver(const char *folder, const char *text)
{
	char dir[MAILDIR_PATH_MAX], qid[32];
	assert_int_equal(store_folder_dir(root, folder, dir, sizeof(dir)), 0);
	snprintf(qid, sizeof(qid), "%016X", ++delivered);
	struct iovec part = {(void *)text, strlen(text)};
	struct maildir_delivery m = {
		.root = dir, .queue_id = qid, .arrived = 1700000000 + delivered,
		.hostname = "mx.example", .parts = &part, .n_parts = 1,
		.size = strlen(text), .crlf_size = strlen(text) + 1,
	};
	const char *error = NULL;
	assert_int_equal(maildir_deliver(&m, &error), STORE_OK);
}

static struct store_mailbox *open_box(const char *folder)
{
	struct store_mailbox *mb = NULL;
	const char *error = NULL;
	int rc = store_mailbox_open(root, folder, &opt, &mb, &error);
	if (rc != 0)
		fail_msg("open %s: %s", folder, error);
	return mb;
}

static uint32_t append(const char *folder, const char *text, uint32_t flags,
		       const char *const *kw, size_t n_kw)
{
	struct iovec part = {(void *)text, strlen(text)};
	struct store_append a = {.parts = &part, .n_parts = 1, .flags = flags,
				 .keywords = kw, .n_keywords = n_kw,
				 .internaldate = 1600000000};
	uint32_t uidvalidity = 0, uid = 0;
	const char *error = NULL;
	if (store_append(root, folder, &opt, &a, &uidvalidity, &uid, &error) != 0)
		fail_msg("append: %s", error);
	assert_true(uidvalidity > 0);
	return uid;
}

static void refresh(struct store_mailbox *mb, struct store_changes *ch)
{
	const char *error = NULL;
	if (store_mailbox_refresh(mb, ch, &error) != 0)
		fail_msg("refresh: %s", error);
}

static void set_flags(struct store_mailbox *mb, uint32_t uid,
		      enum store_flag_op op, uint32_t flags, uint32_t kw)
{
	uint32_t *failed;
	size_t n_failed;
	const char *error = NULL;
	if (store_mailbox_set_flags(mb, &uid, 1, op, flags, kw, 0, &failed,
				    &n_failed, &error) != 0)
		fail_msg("set flags: %s", error);
	assert_int_equal(n_failed, 0);
	free(failed);
}

static char *read_text(const char *dir, const char *name)
{
	char path[MAILDIR_PATH_MAX], *text;
	size_t len;
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if (read_file(path, 1 << 26, &text, &len) != 0)
		return NULL;
	return text;
}

static void write_text(const char *dir, const char *name, const char *text)
{
	char path[MAILDIR_PATH_MAX];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write_all(fd, text, strlen(text)), 0);
	close(fd);
}

/* Entries of dir/sub (not counting dot files). */
static size_t count_files(const char *dir, const char *sub)
{
	char path[MAILDIR_PATH_MAX];
	snprintf(path, sizeof(path), "%s/%s", dir, sub);
	DIR *d = opendir(path);
	size_t n = 0;
	struct dirent *de;
	while (d != NULL && (de = readdir(d)) != NULL)
		n += de->d_name[0] != '.';
	if (d != NULL)
		closedir(d);
	return n;
}

/* ------------------------------------------------------------ file names */

static void names_round_trip_flags(void **state)
{
	static const char base_name[] = "1700000000.M1P2Q3.host,S=10,W=12";
	char out[MDNAME_MAX + 1];
	uint32_t all = STORE_SYSTEM_FLAGS | MDNAME_FLAG('P');
	uint32_t kw = (1u << 0) | (1u << 2) | (1u << 25);
	int n = mdname_with_flags(base_name, strlen(base_name), all, kw, NULL, out);
	assert_true(n > 0);
	assert_string_equal(out, "1700000000.M1P2Q3.host,S=10,W=12:2,DFPRSTacz");
	uint32_t f, k;
	mdname_flags(out, (size_t)n, &f, &k);
	assert_int_equal(f, all);
	assert_int_equal(k, kw);
	assert_int_equal(mdname_base_len(out, (size_t)n), strlen(base_name));
	uint64_t s = 0, w = 0;
	assert_int_equal(mdname_sizes(out, strlen(base_name), &s, &w), 3);
	assert_int_equal(s, 10);
	assert_int_equal(w, 12);
	/* Dovecot's ",..." after the letters is kept; no info, no flags */
	n = mdname_with_flags(base_name, strlen(base_name), STORE_SEEN, 0,
			      "x:2,FS,extra", out);
	assert_string_equal(out + strlen(base_name), ":2,S,extra");
	mdname_flags("abc", 3, &f, &k);
	assert_int_equal(f | k, 0);
	mdname_flags("abc:1,S", 7, &f, &k); /* another info version */
	assert_int_equal(f | k, 0);
	assert_int_equal(mdname_sizes("a,S=12x", 7, &s, &w), 0);
	assert_false(mdname_valid(".hidden", 7));
	assert_false(mdname_valid("a/b", 3));
}

/* ------------------------------------------------------------ uidlist */

static void uidlist_dovecot_sample(void **state)
{
	/* as Dovecot documents and writes it, with extension fields */
	static const char text[] =
		"3 V1275660208 N25022 G3085f01b7f11094c501100008c4a11c1\n"
		"25006 :1276528487.M364837P9451.kurkku,S=1355,W=1394:2,\n"
		"25017 W2481 :1276533073.M242911P3632.kurkku:2,F\n";
	struct uidlist ul;
	const char *error = NULL;
	assert_int_equal(uidlist_parse(text, sizeof(text) - 1, 100, &ul, &error), 0);
	assert_int_equal(ul.uidvalidity, 1275660208);
	assert_int_equal(ul.next_uid, 25022);
	assert_string_equal(ul.guid, "3085f01b7f11094c501100008c4a11c1");
	assert_int_equal(ul.n, 2);
	assert_int_equal(ul.recs[0].uid, 25006);
	assert_int_equal(ul.recs[1].uid, 25017);
	assert_memory_equal(ul.recs[1].name, "1276533073.M242911P3632.kurkku:2,F",
			    ul.recs[1].name_len);
	assert_int_equal(ul.skipped, 0);
	uidlist_free(&ul);
}

static void uidlist_bad_lines_table(void **state)
{
	static const struct {
		const char *text;
		int rc;
		size_t n, skipped;
		uint32_t next;
		bool torn;
	} cases[] = {
		{"", -1, 0, 0, 0, false},
		{"3 N5\n", -1, 0, 0, 0, false},       /* no V */
		{"3 V7 N5", -1, 0, 0, 0, false},      /* torn header */
		{"2 V7 N5\n", -1, 0, 0, 0, false},    /* unknown version */
		{"3 V7 N5\n1 :a\n", 0, 1, 0, 5, false},
		{"3 V7 N2\n9 :a\n", 0, 1, 0, 10, false}, /* appended past N */
		{"3 V7 N1\n5 :a\n3 :b\n", 0, 1, 1, 6, false}, /* not ascending */
		{"3 V7 N1\n5 :a\n8 :b", 0, 1, 1, 9, true},  /* torn append */
		{"3 V7 N1\n0 :a\n", 0, 0, 1, 1, false},
		{"3 V7 N1\n4294967295 :a\n", 0, 0, 1, 1, false},
		{"3 V7 N1\n12 x :a\n", 0, 0, 1, 13, false}, /* bad extension */
		{"3 V7 N1\n12 :a/b\n", 0, 0, 1, 13, false},
		{"3 V7 N1\n12 :.a\n", 0, 0, 1, 13, false},
		{"3 V7 N1\n12\n", 0, 0, 1, 13, false},
		{"3 V7 N1\n\n\n13 :c\n", 0, 1, 2, 14, false},
		{"1 7 20\n3 name:2,S\n", 0, 1, 0, 20, false}, /* Courier v1 */
	};
	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		struct uidlist ul;
		const char *error = NULL;
		int rc = uidlist_parse(cases[i].text, strlen(cases[i].text), 100,
				       &ul, &error);
		if (rc != cases[i].rc || (rc == 0 && (ul.n != cases[i].n ||
						      ul.skipped != cases[i].skipped ||
						      ul.next_uid != cases[i].next ||
						      ul.torn != cases[i].torn)))
			fail_msg("case %zu: rc %d n %zu skipped %zu next %u", i, rc,
				 ul.n, ul.skipped, ul.next_uid);
		uidlist_free(&ul);
	}
}

/* Every prefix of a valid file parses without harm (byte-at-a-time). */
static void uidlist_trickle(void **state)
{
	static const char text[] = "3 V9 N4 Gabc\n1 :a:2,S\n2 W5 :b\n3 :c\n";
	for (size_t len = 0; len <= sizeof(text) - 1; len++) {
		struct uidlist ul;
		const char *error;
		int rc = uidlist_parse(text, len, 100, &ul, &error);
		assert_int_equal(rc, len < 13 ? -1 : 0);
		if (rc == 0)
			assert_true(ul.next_uid >= 4 || ul.n < 3);
		uidlist_free(&ul);
	}
}

static void keywords_and_modseq_files(void **state)
{
	static const char kw[] = "0 $Junk\n1 $NonJunk\n1 Again\n30 Out\n2 bad word\n"
				 "3 $junk\n25 Last\n";
	char *names[STORE_KEYWORDS_MAX];
	assert_int_equal(keywords_parse(kw, sizeof(kw) - 1, names), 4);
	assert_string_equal(names[0], "$Junk");
	assert_string_equal(names[1], "$NonJunk");
	assert_null(names[2]);
	assert_null(names[3]); /* "$junk" repeats "$Junk": case-insensitive */
	assert_string_equal(names[25], "Last");
	keywords_free(names);

	static const char ms[] = "1 V7 H10\n5 3\n6 4\n5 12\n0 15\nx\n";
	struct modseq_file mf;
	const char *error;
	assert_int_equal(modseq_parse(ms, sizeof(ms) - 1, 100, &mf, &error), 0);
	assert_int_equal(mf.uidvalidity, 7);
	assert_int_equal(mf.highest, 15);
	assert_int_equal(modseq_lookup(&mf, 5), 12); /* the later line wins */
	assert_int_equal(modseq_lookup(&mf, 6), 4);
	assert_int_equal(modseq_lookup(&mf, 0), 0);
	assert_int_equal(mf.skipped, 1);
	modseq_free(&mf);
	assert_int_equal(modseq_parse("1 V7\n", 5, 100, &mf, &error), -1);
}

/* ------------------------------------------------------------ UIDs */

static void uids_persist_and_grow(void **state)
{
	deliver("", "Subject: a\n\none\n");
	deliver("", "Subject: b\n\ntwo\n");
	struct store_mailbox *mb = open_box("");
	assert_int_equal(store_mailbox_count(mb), 2);
	const struct store_msg *m = store_mailbox_msgs(mb);
	assert_int_equal(m[0].uid, 1);
	assert_int_equal(m[1].uid, 2);
	assert_int_equal(m[0].size, strlen("Subject: a\n\none\n"));
	assert_int_equal(m[0].crlf_size, m[0].size + 1);
	uint32_t validity = store_mailbox_uidvalidity(mb);
	assert_int_equal(store_mailbox_uidnext(mb), 3);

	/* delivered between refreshes: the next UIDs, reported as new */
	deliver("", "Subject: c\n\nthree\n");
	deliver("", "Subject: d\n\nfour\n");
	struct store_changes ch;
	refresh(mb, &ch);
	assert_int_equal(ch.n_new, 2);
	assert_int_equal(ch.n_expunged, 0);
	assert_false(ch.uidvalidity_changed);
	store_changes_free(&ch);
	m = store_mailbox_msgs(mb);
	assert_int_equal(store_mailbox_count(mb), 4);
	assert_int_equal(m[2].uid, 3);
	assert_int_equal(m[3].uid, 4);
	assert_true(m[3].modseq > m[0].modseq);
	store_mailbox_free(&mb);
	assert_null(mb);

	/* reopened: the same UIDs and UIDVALIDITY */
	mb = open_box("");
	assert_int_equal(store_mailbox_uidvalidity(mb), validity);
	assert_int_equal(store_mailbox_count(mb), 4);
	assert_int_equal(store_mailbox_msgs(mb)[3].uid, 4);
	store_mailbox_free(&mb);
}

static void two_sessions_see_each_other(void **state)
{
	deliver("", "Subject: 1\n\n1\n");
	deliver("", "Subject: 2\n\n2\n");
	deliver("", "Subject: 3\n\n3\n");
	struct store_mailbox *a = open_box(""), *b = open_box("");
	uint64_t before = store_mailbox_highestmodseq(a);
	set_flags(a, 2, STORE_FLAGS_ADD, STORE_SEEN | STORE_DELETED, 0);
	/* a's snapshot has its own change; no expunge reported mid-command */
	const struct store_msg *m = store_mailbox_msgs(a);
	assert_int_equal(m[1].flags, STORE_SEEN | STORE_DELETED);
	assert_true(m[1].modseq > before);

	struct store_changes ch;
	refresh(b, &ch);
	assert_int_equal(ch.n_changed, 1);
	assert_int_equal(ch.changed_uids[0], 2);
	assert_int_equal(ch.n_new + ch.n_expunged, 0);
	store_changes_free(&ch);
	assert_int_equal(store_mailbox_msgs(b)[1].flags, STORE_SEEN | STORE_DELETED);
	/* a's own snapshot keeps its HIGHESTMODSEQ until it refreshes */
	assert_int_equal(store_mailbox_highestmodseq(b), store_mailbox_msgs(a)[1].modseq);

	/* b adds \Flagged on top: both flags stick (read from disk, not a's
	 * stale copy) */
	set_flags(b, 2, STORE_FLAGS_ADD, STORE_FLAGGED, 0);
	const char *error;
	assert_int_equal(store_mailbox_expunge(b, NULL, 0, true, &error), 0);
	assert_int_equal(count_files(root, "cur") + count_files(root, "new"), 2);

	refresh(a, &ch);
	assert_int_equal(ch.n_expunged, 1);
	assert_int_equal(ch.expunged_uids[0], 2);
	assert_int_equal(ch.expunged_seqs[0], 2);
	store_changes_free(&ch);
	assert_int_equal(store_mailbox_count(a), 2);
	assert_int_equal(store_mailbox_msgs(a)[1].uid, 3);
	refresh(b, &ch);
	assert_int_equal(ch.n_expunged, 1);
	store_changes_free(&ch);

	/* the uidlist lost the line too */
	char *text = read_text(root, "dovecot-uidlist");
	assert_non_null(text);
	assert_null(strstr(text, "\n2 :"));
	assert_non_null(strstr(text, "\n3 :"));
	free(text);
	store_mailbox_free(&a);
	store_mailbox_free(&b);
}

/* Set the times of a folder's watched files (store/stamp.h) to one
 * moment long past, the same each time. */
static void age_dir(const char *dir)
{
	static const char *const names[] = {"dovecot-uidlist", "postern-modseq",
					    "dovecot-keywords", "cur", "new"};
	struct timespec t[2] = {{1700000000, 0}, {1700000000, 0}};
	for (size_t i = 0; i < sizeof(names) / sizeof(*names); i++) {
		char path[MAILDIR_PATH_MAX];
		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		utimensat(AT_FDCWD, path, t, 0); /* a missing one stays so */
	}
}

static void age_folder(void)
{
	age_dir(root);
}

/* A refresh skips the sync when no watched time moved (the stamp is then
 * trusted: proven here by a rename whose directory time is put back,
 * which a skipped refresh cannot see), and syncs when one did. */
static void refresh_skips_only_when_nothing_moved(void **state)
{
	deliver("", "Subject: 1\n\n1\n");
	deliver("", "Subject: 2\n\n2\n");
	struct store_mailbox *a = open_box(""), *b = open_box("");
	struct store_changes ch;
	set_flags(b, 1, STORE_FLAGS_ADD, STORE_SEEN, 0); /* now in cur/ as :2,S */
	age_folder();
	refresh(a, &ch); /* syncs (its stamp was taken at open) */
	assert_int_equal(ch.n_changed, 1);
	store_changes_free(&ch);
	/* a rename in cur/ (message 1 flagged, as a client of another server
	 * would) whose directory time is put back: no watched size moves */
	struct dirent *de;
	DIR *d = opendir(strcat(strcpy((char[256]){0}, root), "/cur"));
	char from[512] = "", to[sizeof(from) + 1];
	while ((de = readdir(d)) != NULL)
		if (strstr(de->d_name, ":2,S") != NULL)
			snprintf(from, sizeof(from), "%s/cur/%s", root, de->d_name);
	closedir(d);
	snprintf(to, sizeof(to), "%sF", from); /* ":2,S" -> ":2,SF" */
	assert_int_equal(rename(from, to), 0);
	age_folder();
	refresh(a, &ch);
	assert_int_equal(ch.n_changed + ch.n_new + ch.n_expunged, 0);
	store_changes_free(&ch);
	assert_false(store_mailbox_msgs(a)[0].flags & STORE_FLAGGED);
	/* a delivery moves new/'s time: seen at once */
	deliver("", "Subject: 3\n\n3\n");
	refresh(a, &ch);
	assert_int_equal(ch.n_new, 1);
	store_changes_free(&ch);
	assert_true(store_mailbox_msgs(a)[0].flags & STORE_FLAGGED);
	store_mailbox_free(&a);
	store_mailbox_free(&b);
}

/* ------------------------------------------------------------ the cache */

static struct store_cache_stats cache_stats(void)
{
	struct store_cache_stats cs;
	store_cache_get_stats(&cs);
	return cs;
}

/* a and b hold the same snapshot, message by message. */
static void assert_same_snapshot(struct store_mailbox *a,
				 struct store_mailbox *b)
{
	const struct store_state *x = store_mailbox_snapshot(a),
				 *y = store_mailbox_snapshot(b);
	assert_int_equal(x->uidvalidity, y->uidvalidity);
	assert_int_equal(x->next_uid, y->next_uid);
	assert_int_equal(x->highest_modseq, y->highest_modseq);
	assert_string_equal(x->guid, y->guid);
	assert_int_equal(x->n, y->n);
	for (size_t i = 0; i < x->n; i++) {
		const struct store_msg *m = &x->recs[i], *w = &y->recs[i];
		assert_int_equal(m->uid, w->uid);
		assert_int_equal(m->flags, w->flags);
		assert_int_equal(m->keywords, w->keywords);
		assert_int_equal(m->size, w->size);
		assert_int_equal(m->crlf_size, w->crlf_size);
		assert_int_equal(m->modseq, w->modseq);
		assert_string_equal(store_msg_path(x, m), store_msg_path(y, w));
	}
	for (unsigned i = 0; i < STORE_KEYWORDS_MAX; i++) {
		const char *k = store_mailbox_keyword(a, i),
			   *l = store_mailbox_keyword(b, i);
		assert_true((k == NULL) == (l == NULL));
		if (k != NULL)
			assert_string_equal(k, l);
	}
}

/* A folder with flags, keywords and messages in new/ and cur/, its UIDs
 * given, times aged: the next open's sync is cached. */
static void cacheable_folder(void)
{
	static const char *const kw[] = {"$Work", "Later"};
	deliver("", "Subject: 1\n\n1\n");
	deliver("", "Subject: 2\n\n2\n");
	append("", "Subject: 3\n\n3\n", STORE_SEEN | STORE_FLAGGED, kw, 2);
	deliver("", "Subject: 4\n\n4\n");
	struct store_mailbox *mb = open_box(""); /* gives UIDs: not cached */
	set_flags(mb, 2, STORE_FLAGS_ADD, STORE_ANSWERED, 0);
	store_mailbox_free(&mb);
	age_folder();
}

/* A cached open serves what a sync finds, without one. */
static void cache_hit_is_a_sync(void **state)
{
	cacheable_folder();
	struct store_cache_stats c0 = cache_stats();
	struct store_mailbox *synced = open_box(""); /* miss: sync, put */
	struct store_cache_stats c1 = cache_stats();
	assert_int_equal(c1.puts, c0.puts + 1);
	assert_int_equal(c1.entries, 1);
	struct store_mailbox *cached = open_box("");
	struct store_cache_stats c2 = cache_stats();
	assert_int_equal(c2.hits, c1.hits + 1);
	assert_int_equal(c2.puts, c1.puts);
	assert_int_equal(store_mailbox_count(cached), 4);
	assert_same_snapshot(cached, synced);
	/* and a sync made now, under the lock, agrees */
	struct store_state now = {0};
	const char *error = NULL;
	int lock = store_lock(root, &error);
	assert_true(lock >= 0);
	assert_int_equal(store_sync(root, root, STORE_MESSAGES_MAX, &now, &error), 0);
	store_unlock(lock);
	assert_int_equal(now.n, 4);
	assert_int_equal(now.recs[2].keywords, 3);
	assert_int_equal(store_mailbox_msgs(cached)[2].keywords, 3);
	assert_int_equal(store_mailbox_msgs(cached)[1].flags, STORE_ANSWERED);
	assert_int_equal(now.next_uid, store_mailbox_uidnext(cached));
	assert_int_equal(now.highest_modseq, store_mailbox_highestmodseq(cached));
	store_state_free(&now);
	/* STATUS counts the cached state */
	struct store_status st;
	assert_int_equal(store_status(root, "", &opt, &st, &error), 0);
	assert_int_equal(cache_stats().hits, c2.hits + 1);
	assert_int_equal(st.messages, 4);
	assert_int_equal(st.unseen, 3);
	assert_int_equal(st.uidnext, 5);
	/* the copy is the session's own: reading an INTERNALDATE or
	 * freeing it leaves the cached state alone */
	int64_t t;
	assert_int_equal(store_mailbox_internaldate(cached, 0, &t, &error), 0);
	store_mailbox_free(&cached);
	cached = open_box("");
	assert_same_snapshot(cached, synced);
	/* sessions opened from the cache read its one copy in place */
	struct store_mailbox *again = open_box("");
	assert_ptr_equal(store_mailbox_msgs(cached), store_mailbox_msgs(again));
	/* a STORE makes the writer's snapshot its own; the other still
	 * reads the shared copy, unchanged */
	uint32_t before = store_mailbox_msgs(again)[0].flags;
	set_flags(cached, store_mailbox_msgs(cached)[0].uid, STORE_FLAGS_ADD,
		  STORE_FLAGGED, 0);
	assert_ptr_not_equal(store_mailbox_msgs(cached), store_mailbox_msgs(again));
	assert_true(store_mailbox_msgs(cached)[0].flags & STORE_FLAGGED);
	assert_int_equal(store_mailbox_msgs(again)[0].flags, before);
	assert_int_equal(store_mailbox_internaldate(again, 0, &t, &error), 0);
	store_mailbox_free(&again);
	store_mailbox_free(&cached);
	store_mailbox_free(&synced);
}

/* The path of the one file in dir/cur whose name holds part. */
static void find_in_cur(const char *dir, const char *part, char *out,
			size_t outsz)
{
	char cur[MAILDIR_PATH_MAX];
	snprintf(cur, sizeof(cur), "%s/cur", dir);
	DIR *d = opendir(cur);
	struct dirent *de;
	out[0] = '\0';
	while (d != NULL && (de = readdir(d)) != NULL)
		if (strstr(de->d_name, part) != NULL)
			assert_true(snprintf(out, outsz, "%s/%s", cur,
					     de->d_name) < (int)outsz);
	if (d != NULL)
		closedir(d);
	assert_true(out[0] != '\0');
}

/* Open twice after aging: the first syncs and fills the cache, the second
 * is served by it (so the next open would be too, had nothing moved). */
static void warm_cache(void)
{
	age_folder();
	struct store_mailbox *mb = open_box("");
	store_mailbox_free(&mb);
	unsigned long hits = cache_stats().hits;
	mb = open_box("");
	assert_int_equal(cache_stats().hits, hits + 1);
	store_mailbox_free(&mb);
}

/* What another handle changes moves the stamp: the cached state is not
 * served any more. */
static void cache_sees_other_changes(void **state)
{
	cacheable_folder();
	char from[MAILDIR_PATH_MAX], to[MAILDIR_PATH_MAX + 1];
	warm_cache();
	/* a rename in cur/, as another server's client would make */
	find_in_cur(root, ":2,FSab", from, sizeof(from));
	snprintf(to, sizeof(to), "%s", from);
	to[strlen(to) - 3] = 'T'; /* ":2,FSab" -> ":2,FSTb": \Deleted */
	assert_int_equal(rename(from, to), 0);
	unsigned long hits = cache_stats().hits;
	struct store_mailbox *mb = open_box("");
	assert_int_equal(cache_stats().hits, hits);
	assert_true(store_mailbox_msgs(mb)[2].flags & STORE_DELETED);
	store_mailbox_free(&mb);

	/* a new file in new/ */
	warm_cache();
	deliver("", "Subject: 5\n\n5\n");
	mb = open_box("");
	assert_int_equal(store_mailbox_count(mb), 5);
	assert_int_equal(store_mailbox_msgs(mb)[4].uid, 5);
	store_mailbox_free(&mb);

	/* a line appended to the uidlist (a UID given elsewhere, its file
	 * gone since): the next UID moves past it */
	warm_cache();
	char *text = read_text(root, "dovecot-uidlist");
	assert_non_null(text);
	char *more = NULL;
	assert_true(asprintf(&more, "%s99 :1700000099.M1P1.gone,S=1\n", text) > 0);
	write_text(root, "dovecot-uidlist", more);
	free(text);
	free(more);
	mb = open_box("");
	assert_int_equal(store_mailbox_uidnext(mb), 100);
	assert_int_equal(store_mailbox_count(mb), 5);
	store_mailbox_free(&mb);

	/* a flag change through another session: its write drops the entry,
	 * and a refresh of an older session finds the state in the cache */
	warm_cache();
	struct store_mailbox *a = open_box(""), *b = open_box("");
	set_flags(b, 1, STORE_FLAGS_ADD, STORE_SEEN, 0);
	assert_int_equal(cache_stats().entries, 0);
	age_folder();
	mb = open_box(""); /* syncs: the cache has it again */
	store_mailbox_free(&mb);
	hits = cache_stats().hits;
	struct store_changes ch;
	refresh(a, &ch);
	assert_int_equal(cache_stats().hits, hits + 1);
	assert_int_equal(ch.n_changed, 1);
	assert_int_equal(ch.changed_uids[0], 1);
	store_changes_free(&ch);
	assert_true(store_mailbox_msgs(a)[0].flags & STORE_SEEN);
	store_mailbox_free(&a);
	store_mailbox_free(&b);
}

/* A stamp whose times are within the last second is not trusted: a sync
 * then fills no entry (a change in the same tick could hide behind it). */
static void cache_keeps_no_fresh_stamp(void **state)
{
	deliver("", "Subject: 1\n\n1\n");
	struct store_mailbox *a = open_box(""); /* new/ just changed */
	struct store_mailbox *b = open_box("");
	assert_int_equal(cache_stats().puts, 0);
	assert_int_equal(cache_stats().entries, 0);
	/* session b changes a flag in the same second as a's open */
	set_flags(b, 1, STORE_FLAGS_ADD, STORE_FLAGGED, 0);
	struct store_mailbox *c = open_box("");
	assert_true(store_mailbox_msgs(c)[0].flags & STORE_FLAGGED);
	assert_int_equal(cache_stats().hits, 0);
	assert_int_equal(cache_stats().entries, 0);
	store_mailbox_free(&a);
	store_mailbox_free(&b);
	store_mailbox_free(&c);
}

static void open_folder(const char *folder, bool want_hit)
{
	unsigned long hits = cache_stats().hits;
	struct store_mailbox *mb = open_box(folder);
	assert_int_equal(cache_stats().hits, hits + (want_hit ? 1 : 0));
	store_mailbox_free(&mb);
}

/* The cache holds at most its bound of folders and of bytes, dropping the
 * least recently used first. */
static void cache_evicts_least_recent(void **state)
{
	static const char *const folders[] = {".A", ".B", ".C"};
	const char *error;
	for (int i = 0; i < 3; i++) {
		char dir[MAILDIR_PATH_MAX];
		assert_int_equal(store_folder_create(root, folders[i], &error), 0);
		deliver(folders[i], "Subject: x\n\nx\n");
		store_mailbox_free((struct store_mailbox *[]){open_box(folders[i])});
		store_folder_dir(root, folders[i], dir, sizeof(dir));
		age_dir(dir);
	}
	store_cache_set_limits(2, 0);
	open_folder(".A", false);
	open_folder(".B", false);
	assert_int_equal(cache_stats().entries, 2);
	open_folder(".A", true); /* A is now the most recent */
	open_folder(".C", false); /* B goes */
	assert_int_equal(cache_stats().entries, 2);
	open_folder(".A", true);
	open_folder(".C", true);
	open_folder(".B", false); /* A goes */
	open_folder(".A", false);
	/* bytes: room for one folder */
	store_cache_clear();
	store_cache_set_limits(16, 0);
	open_folder(".A", false);
	size_t one = cache_stats().bytes;
	assert_true(one > 0);
	store_cache_set_limits(16, one + one / 2);
	open_folder(".B", false);
	assert_int_equal(cache_stats().entries, 1);
	open_folder(".B", true);
	open_folder(".A", false);
	/* a state bigger than the bound is not kept */
	store_cache_set_limits(16, one / 2);
	assert_int_equal(cache_stats().entries, 0);
	open_folder(".C", false);
	assert_int_equal(cache_stats().entries, 0);
	assert_int_equal(cache_stats().bytes, 0);
}

enum { CACHE_THREADS = 4, CACHE_ROUNDS = 200 };

/* One pool thread's worth of opens, STATUS and refreshes on .A (2
 * messages) and .B (3): every snapshot must be whole. */
static void *cache_reader(void *arg)
{
	unsigned seed = (unsigned)(uintptr_t)arg;
	for (int i = 0; i < CACHE_ROUNDS; i++) {
		bool a = (rand_r(&seed) & 1) != 0;
		struct store_mailbox *mb = NULL;
		struct store_status st;
		struct store_changes ch;
		const char *error;
		if (store_mailbox_open(root, a ? ".A" : ".B", &opt, &mb, &error) < 0 ||
		    store_mailbox_count(mb) != (a ? 2u : 3u) ||
		    store_mailbox_msgs(mb)[store_mailbox_count(mb) - 1].uid !=
			    (a ? 2u : 3u) ||
		    store_mailbox_refresh(mb, &ch, &error) < 0 ||
		    ch.n_new + ch.n_expunged + ch.n_changed != 0 ||
		    store_status(root, a ? ".B" : ".A", &opt, &st, &error) < 0 ||
		    st.messages != (a ? 3u : 2u))
			return (void *)"a snapshot was not whole";
		store_changes_free(&ch);
		store_mailbox_free(&mb);
	}
	return NULL;
}

/* Pool threads share the cache; with room for one folder, every open of
 * the other one evicts an entry that another thread may be copying. */
static void cache_shared_by_threads(void **state)
{
	const char *error;
	for (int i = 0; i < 2; i++) {
		const char *f = i ? ".B" : ".A";
		char dir[MAILDIR_PATH_MAX];
		assert_int_equal(store_folder_create(root, f, &error), 0);
		for (int k = 0; k < 2 + i; k++)
			deliver(f, "Subject: x\n\nx\n");
		store_mailbox_free((struct store_mailbox *[]){open_box(f)});
		store_folder_dir(root, f, dir, sizeof(dir));
		age_dir(dir);
	}
	store_cache_set_limits(1, 0);
	pthread_t t[CACHE_THREADS];
	for (uintptr_t i = 0; i < CACHE_THREADS; i++)
		assert_int_equal(pthread_create(&t[i], NULL, cache_reader,
						(void *)(i + 1)), 0);
	for (int i = 0; i < CACHE_THREADS; i++) {
		void *why;
		assert_int_equal(pthread_join(t[i], &why), 0);
		if (why != NULL)
			fail_msg("%s", (const char *)why);
	}
	struct store_cache_stats cs = cache_stats();
	assert_true(cs.hits > 0);
	assert_true(cs.puts > 1);
	assert_true(cs.entries <= 1);
}

static void flags_and_keywords_round_trip(void **state)
{
	deliver("", "Subject: k\n\nk\n");
	struct store_mailbox *mb = open_box("");
	const char *error = NULL;
	int junk = store_mailbox_keyword_index(mb, "$Junk", 5, true, &error);
	int label = store_mailbox_keyword_index(mb, "$Label1", 7, true, &error);
	assert_int_equal(junk, 0);
	assert_int_equal(label, 1);
	assert_int_equal(store_mailbox_keyword_index(mb, "$junk", 5, false, &error), 0);
	assert_int_equal(store_mailbox_keyword_index(mb, "bad word", 8, true, &error), -1);
	set_flags(mb, 1, STORE_FLAGS_SET, STORE_SYSTEM_FLAGS, (1u << junk) | (1u << label));
	store_mailbox_free(&mb);

	/* the file moved from new/ to cur/ with every letter */
	assert_int_equal(count_files(root, "new"), 0);
	assert_int_equal(count_files(root, "cur"), 1);
	char *kw = read_text(root, "dovecot-keywords");
	assert_string_equal(kw, "0 $Junk\n1 $Label1\n");
	free(kw);
	mb = open_box("");
	const struct store_msg *m = store_mailbox_msgs(mb);
	assert_int_equal(m[0].flags, STORE_SYSTEM_FLAGS);
	assert_int_equal(m[0].keywords, 3);
	assert_string_equal(store_mailbox_keyword(mb, 1), "$Label1");
	int fd = store_mailbox_open_msg(mb, 0, &error);
	assert_true(fd >= 0);
	close(fd);
	set_flags(mb, 1, STORE_FLAGS_REMOVE, STORE_SEEN | STORE_DELETED, 1u << junk);
	assert_int_equal(store_mailbox_msgs(mb)[0].flags,
			 STORE_ANSWERED | STORE_FLAGGED | STORE_DRAFT);
	assert_int_equal(store_mailbox_msgs(mb)[0].keywords, 2);

	/* 26 keywords at most */
	char name[16];
	for (int i = 2; i < STORE_KEYWORDS_MAX; i++) {
		snprintf(name, sizeof(name), "kw%d", i);
		assert_int_equal(store_mailbox_keyword_index(mb, name, strlen(name),
							     true, &error), i);
	}
	assert_int_equal(store_mailbox_keyword_index(mb, "one-more", 8, true, &error), -1);
	store_mailbox_free(&mb);
}

/* Another session renames every file (flags on the whole folder): the
 * first message opened finds them all with one sync, and the others open
 * without a sync (the lock file made unusable proves none is tried). */
static void one_relocation_finds_every_moved_file(void **state)
{
	for (int i = 0; i < 3; i++)
		deliver("", "Subject: r\n\nr\n");
	struct store_mailbox *reader = open_box(""), *writer = open_box("");
	for (uint32_t uid = 1; uid <= 3; uid++)
		set_flags(writer, uid, STORE_FLAGS_ADD, STORE_SEEN, 0);
	const char *error = NULL;
	int fd = store_mailbox_open_msg(reader, 0, &error);
	assert_true(fd >= 0);
	close(fd);
	char lock[MAILDIR_PATH_MAX], aside[MAILDIR_PATH_MAX];
	snprintf(lock, sizeof(lock), "%s/postern-uidlist.lock", root);
	snprintf(aside, sizeof(aside), "%s/lock-aside", root);
	assert_int_equal(rename(lock, aside), 0);
	assert_int_equal(mkdir(lock, 0700), 0); /* a sync cannot lock now */
	for (size_t i = 1; i < 3; i++) {
		fd = store_mailbox_open_msg(reader, i, &error);
		assert_true(fd >= 0);
		char text[32] = "";
		assert_true(read(fd, text, sizeof(text) - 1) > 0);
		assert_string_equal(text, "Subject: r\n\nr\n");
		close(fd);
	}
	assert_int_equal(rmdir(lock), 0);
	assert_int_equal(rename(aside, lock), 0);
	store_mailbox_free(&reader);
	store_mailbox_free(&writer);
}

/* A session reads the cache's shared snapshot in place; another session
 * renames a file (a flag), which drops the cache's entry. Opening that
 * file relocates it and makes the snapshot the session's own: message
 * pointers the caller took before the open (SEARCH, SORT and FETCH keep
 * them across it) must stay valid until the next refresh, although the
 * session was the entry's last holder. */
static void relocation_keeps_message_pointers(void **state)
{
	enum { N = 40 };
	for (int i = 0; i < N; i++)
		deliver("", "Subject: p\n\np\n");
	struct store_mailbox *mb = open_box("");
	store_mailbox_free(&mb);
	warm_cache();
	unsigned long hits = cache_stats().hits;
	struct store_mailbox *reader = open_box(""), *writer = open_box("");
	assert_int_equal(cache_stats().hits, hits + 2); /* both share it */
	set_flags(writer, 1, STORE_FLAGS_ADD, STORE_SEEN, 0);
	store_mailbox_free(&writer);
	const struct store_msg *msgs = store_mailbox_msgs(reader);
	const char *error = NULL;
	int fd = store_mailbox_open_msg(reader, 0, &error);
	assert_true(fd >= 0);
	close(fd);
	for (uint32_t i = 0; i < N; i++) {
		assert_int_equal(msgs[i].uid, i + 1);
		assert_int_equal(msgs[i].size, strlen("Subject: p\n\np\n"));
		assert_int_equal(msgs[i].flags, 0);
	}
	/* the refresh brings the session's snapshot up to date */
	struct store_changes ch;
	refresh(reader, &ch);
	assert_int_equal(ch.n_changed, 1);
	store_changes_free(&ch);
	assert_int_equal(store_mailbox_msgs(reader)[0].flags, STORE_SEEN);
	store_mailbox_free(&reader);
}

/* Text of message idx of mb as store_mailbox_open_msg finds it, or NULL
 * when it cannot be opened. */
static char *msg_text(struct store_mailbox *mb, size_t idx)
{
	const char *error = NULL;
	int fd = store_mailbox_open_msg(mb, idx, &error);
	if (fd < 0)
		return NULL;
	char *text = calloc(1, 256);
	assert_non_null(text);
	assert_true(read(fd, text, 255) > 0);
	close(fd);
	return text;
}

/* Messages A, B, C (UIDs 1-3) are open in mb; another session expunges A
 * and renames B's file (a flag), then the uidlist is lost: the next sync
 * numbers B 1 and C 2 under a new UIDVALIDITY. */
static void lose_uidlist_under(struct store_mailbox *writer)
{
	uint32_t one = 1;
	const char *error = NULL;
	assert_int_equal(store_mailbox_expunge(writer, &one, 1, false, &error), 0);
	set_flags(writer, 2, STORE_FLAGS_ADD, STORE_SEEN, 0);
	char path[MAILDIR_PATH_MAX];
	snprintf(path, sizeof(path), "%s/dovecot-uidlist", root);
	assert_int_equal(unlink(path), 0);
}

/* A relocation after the UIDs changed meaning must not adopt the file the
 * new numbering gives B's old UID (C's): the session would read, and the
 * header cache keep, another message's bytes as B's. */
static void relocation_ignores_another_uidvalidity(void **state)
{
	deliver("", "Subject: A\n\nA\n");
	deliver("", "Subject: B\n\nB\n");
	deliver("", "Subject: C\n\nC\n");
	struct store_mailbox *reader = open_box(""), *writer = open_box("");
	lose_uidlist_under(writer);
	char *text = msg_text(reader, 1); /* B, UID 2 */
	if (text != NULL)
		assert_string_equal(text, "Subject: B\n\nB\n");
	free(text);
	text = msg_text(reader, 2); /* C, UID 3: its file never moved */
	assert_non_null(text);
	assert_string_equal(text, "Subject: C\n\nC\n");
	free(text);
	store_mailbox_free(&reader);
	store_mailbox_free(&writer);
}

/* An expunge (or flag change) by UIDs of a snapshot taken before the
 * uidlist was lost must not act on the messages that carry those numbers
 * now: RENAME INBOX expunges what it copied by UID, unflagged, and would
 * delete messages it never copied. */
static void uid_writes_refuse_another_uidvalidity(void **state)
{
	deliver("", "Subject: A\n\nA\n");
	deliver("", "Subject: B\n\nB\n");
	deliver("", "Subject: C\n\nC\n");
	struct store_mailbox *old = open_box(""), *writer = open_box("");
	lose_uidlist_under(writer);
	uint32_t two = 2, *failed = NULL;
	size_t n_failed = 0;
	const char *error = NULL;
	assert_int_equal(store_mailbox_set_flags(old, &two, 1, STORE_FLAGS_ADD,
						 STORE_FLAGGED, 0, 0, &failed,
						 &n_failed, &error),
			 -1);
	free(failed);
	assert_int_equal(store_mailbox_expunge(old, &two, 1, false, &error), -1);
	store_mailbox_free(&old);
	struct store_mailbox *now = open_box("");
	assert_int_equal(store_mailbox_count(now), 2);
	for (size_t i = 0; i < 2; i++) {
		assert_false(store_mailbox_msgs(now)[i].flags & STORE_FLAGGED);
		char *text = msg_text(now, i);
		assert_non_null(text);
		assert_string_equal(text, i == 0 ? "Subject: B\n\nB\n"
						 : "Subject: C\n\nC\n");
		free(text);
	}
	store_mailbox_free(&now);
	store_mailbox_free(&writer);
}

static void unchangedsince_refuses_newer(void **state)
{
	deliver("", "Subject: c\n\nc\n");
	struct store_mailbox *mb = open_box("");
	uint64_t old = store_mailbox_msgs(mb)[0].modseq;
	set_flags(mb, 1, STORE_FLAGS_ADD, STORE_SEEN, 0);
	uint32_t uid = 1, *failed;
	size_t n_failed;
	const char *error;
	assert_int_equal(store_mailbox_set_flags(mb, &uid, 1, STORE_FLAGS_ADD,
						 STORE_FLAGGED, 0, old, &failed,
						 &n_failed, &error), 0);
	assert_int_equal(n_failed, 1);
	assert_int_equal(failed[0], 1);
	free(failed);
	assert_int_equal(store_mailbox_msgs(mb)[0].flags, STORE_SEEN);
	store_mailbox_free(&mb);
}

static void append_gives_uid_and_lasts(void **state)
{
	const char *kw[] = {"$Forwarded"};
	uint32_t uid = append("", "Subject: x\r\n\r\nhi\r\n", STORE_SEEN, kw, 1);
	assert_int_equal(uid, 1);
	deliver("", "Subject: y\n\ny\n");
	uint32_t uid2 = append("", "Subject: z\n\nz\n", 0, NULL, 0);
	assert_int_equal(uid2, 3); /* the delivery took 2 on the way */
	struct store_mailbox *mb = open_box("");
	assert_int_equal(store_mailbox_count(mb), 3);
	const struct store_msg *m = store_mailbox_msgs(mb);
	assert_int_equal(m[0].flags, STORE_SEEN);
	assert_int_equal(m[0].keywords, 1);
	assert_string_equal(store_mailbox_keyword(mb, 0), "$Forwarded");
	assert_int_equal(m[0].size, 18);
	assert_int_equal(m[0].crlf_size, 18);
	assert_int_equal(m[2].crlf_size, m[2].size + 3);
	int64_t t;
	const char *error;
	unsigned long stats = store_stat_count;
	assert_int_equal(store_mailbox_internaldate(mb, 0, &t, &error), 0);
	assert_int_equal(t, 1600000000);
	assert_int_equal(store_stat_count, stats); /* fstat, not a sync stat */
	assert_int_equal(count_files(root, "tmp"), 0);
	store_mailbox_free(&mb);
	/* the wrong folder name, and a folder that is not there */
	struct iovec part = {"x", 1};
	struct store_append a = {.parts = &part, .n_parts = 1};
	uint32_t v, u;
	assert_int_equal(store_append(root, "../x", &opt, &a, &v, &u, &error), -1);
	assert_int_equal(store_append(root, ".Nope", &opt, &a, &v, &u, &error), -1);
}

static void copy_gives_new_uids(void **state)
{
	const char *error;
	assert_int_equal(store_folder_create(root, ".Archive", &error), 0);
	append(".Archive", "Subject: old\n\nold\n", 0, NULL, 0);
	deliver("", "Subject: 1\n\n1\n");
	deliver("", "Subject: 2\n\n2\n");
	struct store_mailbox *mb = open_box("");
	int k = store_mailbox_keyword_index(mb, "Work", 4, true, &error);
	set_flags(mb, 2, STORE_FLAGS_SET, STORE_FLAGGED, 1u << k);
	uint32_t uids[] = {1, 2, 99};
	struct store_copied out;
	assert_int_equal(store_mailbox_copy(mb, uids, 3, ".Archive", &out, &error), 0);
	assert_int_equal(out.n, 2);
	assert_int_equal(out.src_uids[0], 1);
	assert_int_equal(out.dst_uids[0], 2);
	assert_int_equal(out.src_uids[1], 2);
	assert_int_equal(out.dst_uids[1], 3);
	store_copied_free(&out);

	struct store_mailbox *ar = open_box(".Archive");
	assert_int_equal(out.uidvalidity, 0); /* freed */
	assert_int_equal(store_mailbox_count(ar), 3);
	const struct store_msg *m = store_mailbox_msgs(ar);
	assert_int_equal(m[2].flags, STORE_FLAGGED);
	assert_string_equal(store_mailbox_keyword(ar, 0), "Work");
	assert_int_equal(m[2].keywords, 1);
	assert_int_equal(m[1].size, store_mailbox_msgs(mb)[0].size);
	/* a hard link: the same inode */
	int fa = store_mailbox_open_msg(ar, 1, &error), fb = store_mailbox_open_msg(mb, 0, &error);
	struct stat sa, sb;
	assert_int_equal(fstat(fa, &sa), 0);
	assert_int_equal(fstat(fb, &sb), 0);
	assert_int_equal(sa.st_ino, sb.st_ino);
	close(fa);
	close(fb);
	store_mailbox_free(&ar);
	store_mailbox_free(&mb);
}

static void expunge_by_uid_set(void **state)
{
	for (int i = 0; i < 5; i++)
		deliver("", "Subject: e\n\ne\n");
	struct store_mailbox *mb = open_box("");
	const char *error;
	uint32_t some[] = {4, 2};
	/* UID EXPUNGE: only \Deleted ones of the set */
	set_flags(mb, 2, STORE_FLAGS_ADD, STORE_DELETED, 0);
	set_flags(mb, 3, STORE_FLAGS_ADD, STORE_DELETED, 0);
	assert_int_equal(store_mailbox_expunge(mb, some, 2, true, &error), 0);
	assert_int_equal(count_files(root, "cur") + count_files(root, "new"), 4);
	/* POP3: these, flagged or not */
	assert_int_equal(store_mailbox_expunge(mb, some, 2, false, &error), 0);
	assert_int_equal(count_files(root, "cur") + count_files(root, "new"), 3);
	struct store_changes ch;
	refresh(mb, &ch);
	assert_int_equal(ch.n_expunged, 2);
	assert_int_equal(ch.expunged_seqs[0], 2);
	assert_int_equal(ch.expunged_seqs[1], 4);
	store_changes_free(&ch);
	store_mailbox_free(&mb);
	/* UIDs are not given again after an expunge of the last */
	mb = open_box("");
	uint32_t last = 5;
	assert_int_equal(store_mailbox_expunge(mb, &last, 1, false, &error), 0);
	store_mailbox_free(&mb);
	deliver("", "Subject: f\n\nf\n");
	mb = open_box("");
	assert_int_equal(store_mailbox_msgs(mb)[store_mailbox_count(mb) - 1].uid, 6);
	store_mailbox_free(&mb);
}

static void crash_leftovers_recover(void **state)
{
	deliver("", "Subject: 1\n\n1\n");
	deliver("", "Subject: 2\n\n2\n");
	struct store_mailbox *mb = open_box("");
	uint32_t validity = store_mailbox_uidvalidity(mb);
	store_mailbox_free(&mb);
	/* a crash left: a temp uidlist, a torn appended line for UID 3 (never
	 * acknowledged), and a delivered file with no UID yet */
	write_text(root, "dovecot-uidlist.tmp.12345", "3 V1 N1\ngarbage");
	char *text = read_text(root, "dovecot-uidlist");
	size_t len = strlen(text);
	text = realloc(text, len + 16);
	memcpy(text + len, "3 :broken", 10);
	write_text(root, "dovecot-uidlist", text);
	free(text);
	deliver("", "Subject: 3\n\n3\n");
	mb = open_box("");
	assert_int_equal(store_mailbox_uidvalidity(mb), validity);
	assert_int_equal(store_mailbox_count(mb), 3);
	/* UID 3 was in a line, torn or not: it is never given again */
	assert_int_equal(store_mailbox_msgs(mb)[2].uid, 4);
	store_mailbox_free(&mb);
	text = read_text(root, "dovecot-uidlist");
	assert_null(strstr(text, "broken")); /* rewritten clean */
	assert_non_null(strstr(text, " N5 "));
	free(text);
}

static void corrupt_uidlist_new_uidvalidity(void **state)
{
	deliver("", "Subject: 1\n\n1\n");
	struct store_mailbox *mb = open_box("");
	uint32_t validity = store_mailbox_uidvalidity(mb);
	store_mailbox_free(&mb);
	write_text(root, "dovecot-uidlist", "\x01garbage\n1 :x\n");
	mb = open_box("");
	assert_true(store_mailbox_uidvalidity(mb) > validity);
	assert_int_equal(store_mailbox_count(mb), 1);
	assert_int_equal(store_mailbox_msgs(mb)[0].uid, 1);
	/* an open session learns that its UIDs mean nothing now */
	struct store_mailbox *other = open_box("");
	write_text(root, "dovecot-uidlist", "");
	struct store_changes ch;
	refresh(other, &ch);
	assert_true(ch.uidvalidity_changed);
	store_changes_free(&ch);
	assert_true(store_mailbox_uidvalidity(other) > store_mailbox_uidvalidity(mb));
	store_mailbox_free(&other);
	store_mailbox_free(&mb);
}

static void dovecot_written_folder_is_read(void **state)
{
	/* files and index as Dovecot would have left them */
	write_text(root, "cur/1276528487.M364837P9451.kurkku,S=5,W=6:2,S", "abcd\n");
	write_text(root, "cur/1276533073.M242911P3632.kurkku:2,Fb", "xyz\n");
	write_text(root, "new/1276533099.M1P1.kurkku,S=3", "ab\n");
	write_text(root, "dovecot-uidlist",
		   "3 V1275660208 N25022 G3085f01b7f11094c501100008c4a11c1\n"
		   "25006 :1276528487.M364837P9451.kurkku,S=5,W=6:2,\n"
		   "25017 W2481 :1276533073.M242911P3632.kurkku:2,F\n");
	write_text(root, "dovecot-keywords", "0 $Junk\n1 $NonJunk\n");
	unsigned long stats = store_stat_count;
	struct store_mailbox *mb = open_box("");
	assert_int_equal(store_stat_count, stats + 1); /* the name without S= */
	assert_int_equal(store_mailbox_uidvalidity(mb), 1275660208);
	assert_int_equal(store_mailbox_count(mb), 3);
	const struct store_msg *m = store_mailbox_msgs(mb);
	assert_int_equal(m[0].uid, 25006);
	assert_int_equal(m[0].flags, STORE_SEEN);
	assert_int_equal(m[0].crlf_size, 6);
	assert_int_equal(m[1].uid, 25017);
	assert_int_equal(m[1].flags, STORE_FLAGGED);
	assert_int_equal(m[1].keywords, 2);
	assert_string_equal(store_mailbox_keyword(mb, 1), "$NonJunk");
	assert_int_equal(m[1].size, 4); /* stat'd */
	assert_int_equal(m[2].uid, 25022);
	assert_int_equal(store_mailbox_uidnext(mb), 25023);
	store_mailbox_free(&mb);
	char *text = read_text(root, "dovecot-uidlist");
	assert_true(strncmp(text, "3 V1275660208 N25022 G3085f01b7f11094c501100008c4a11c1\n", 55) == 0);
	assert_non_null(strstr(text, "\n25022 :1276533099.M1P1.kurkku,S=3\n"));
	free(text);
}

static void big_folder_opens_without_stat(void **state)
{
	enum { N = 100000 };
	char path[MAILDIR_PATH_MAX];
	for (int i = 0; i < N; i++) {
		snprintf(path, sizeof(path), "%s/cur/%d.M%dP1.host,S=100,W=102:2,S",
			 root, 1700000000 + i / 100, i);
		int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
		assert_true(fd >= 0);
		close(fd);
	}
	unsigned long stats = store_stat_count;
	uint64_t t0 = monotonic_ms();
	struct store_mailbox *mb = open_box("");
	uint64_t t1 = monotonic_ms();
	store_mailbox_free(&mb);
	uint64_t t2 = monotonic_ms();
	mb = open_box("");
	uint64_t t3 = monotonic_ms();
	struct store_changes ch;
	refresh(mb, &ch);
	uint64_t t4 = monotonic_ms();
	store_changes_free(&ch);
	assert_int_equal(store_stat_count, stats);
	assert_int_equal(store_mailbox_count(mb), N);
	assert_int_equal(store_mailbox_msgs(mb)[N - 1].uid, N);
	struct store_status st;
	const char *error;
	assert_int_equal(store_status(root, "", &opt, &st, &error), 0);
	assert_int_equal(st.messages, N);
	assert_int_equal(st.size, (uint64_t)N * 100);
	assert_int_equal(st.unseen, 0);
	store_mailbox_free(&mb);
	/* once its times are a second old, a sync fills the cache, and an
	 * open is a copy of that state */
	age_folder();
	mb = open_box("");
	store_mailbox_free(&mb);
	unsigned long hits = cache_stats().hits;
	uint64_t t5 = monotonic_ms();
	mb = open_box("");
	uint64_t t6 = monotonic_ms();
	assert_int_equal(cache_stats().hits, hits + 1);
	assert_int_equal(store_mailbox_count(mb), N);
	store_mailbox_free(&mb);
	print_message("100000 messages: first open (UIDs given, uidlist written) "
		      "%" PRIu64 " ms, reopen %" PRIu64 " ms, refresh %" PRIu64
		      " ms, open from the cache %" PRIu64 " ms\n",
		      t1 - t0, t3 - t2, t4 - t3, t6 - t5);
}

static void status_counts(void **state)
{
	deliver("", "Subject: 1\n\n1\n");
	deliver("", "Subject: 22\n\n22\n");
	struct store_mailbox *mb = open_box("");
	set_flags(mb, 1, STORE_FLAGS_ADD, STORE_SEEN, 0);
	uint64_t hm = store_mailbox_msgs(mb)[0].modseq;
	store_mailbox_free(&mb);
	struct store_status st;
	const char *error;
	assert_int_equal(store_status(root, "", &opt, &st, &error), 0);
	assert_int_equal(st.messages, 2);
	assert_int_equal(st.unseen, 1);
	assert_int_equal(st.uidnext, 3);
	assert_int_equal(st.size, strlen("Subject: 1\n\n1\n") + strlen("Subject: 22\n\n22\n"));
	assert_int_equal(st.highestmodseq, hm);
	assert_true(st.uidvalidity > 0);
	assert_int_equal(store_status(root, ".Missing", &opt, &st, &error), -1);
}

/* ------------------------------------------------------------ folders */

static bool has(const struct store_folder_info *v, size_t n, const char *f)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(v[i].folder, f) == 0)
			return true;
	return false;
}

static void folder_create_rename_delete(void **state)
{
	const char *error;
	struct store_folder_info *v;
	size_t n;
	assert_int_equal(store_folder_create(root, ".A", &error), 0);
	assert_int_equal(store_folder_create(root, ".A.B", &error), 0);
	assert_int_equal(store_folder_create(root, ".A", &error), -1);
	assert_int_equal(store_folder_create(root, "", &error), -1);
	assert_int_equal(store_folder_create(root, "..", &error), -1);
	assert_int_equal(store_folder_create(root, ".a/b", &error), -1);
	append(".A.B", "Subject: child\n\nc\n", 0, NULL, 0);
	struct stat sb;
	char path[MAILDIR_PATH_MAX];
	snprintf(path, sizeof(path), "%s/.A/maildirfolder", root);
	assert_int_equal(stat(path, &sb), 0);

	assert_int_equal(store_folder_rename(root, ".A", ".A.C", &error), -1);
	assert_int_equal(store_folder_rename(root, ".A", "", &error), -1);
	assert_int_equal(store_folder_rename(root, "", ".X", &error), -1);
	assert_int_equal(store_folder_rename(root, ".A", ".Z", &error), 0);
	assert_int_equal(store_folder_list(root, &v, &n, &error), 0);
	assert_int_equal(n, 3);
	assert_string_equal(v[0].folder, "");
	assert_string_equal(v[1].folder, ".Z");
	assert_string_equal(v[2].folder, ".Z.B");
	store_folder_list_free(v, n);
	struct store_mailbox *mb = open_box(".Z.B");
	assert_int_equal(store_mailbox_count(mb), 1);
	assert_int_equal(store_mailbox_msgs(mb)[0].uid, 1);
	store_mailbox_free(&mb);
	assert_int_equal(store_folder_create(root, ".Y", &error), 0);
	assert_int_equal(store_folder_rename(root, ".Y", ".Z", &error), -1);

	assert_int_equal(store_folder_delete(root, "", &error), -1);
	assert_int_equal(store_folder_delete(root, ".Z", &error), 0);
	assert_int_equal(store_folder_delete(root, ".Z", &error), -1);
	assert_int_equal(store_folder_list(root, &v, &n, &error), 0);
	assert_false(has(v, n, ".Z"));
	assert_true(has(v, n, ".Z.B")); /* children stay */
	store_folder_list_free(v, n);
	assert_int_equal(count_files(root, "tmp"), 0);

	/* a name deleted and made again gets another UIDVALIDITY */
	mb = open_box(".Y");
	uint32_t old = store_mailbox_uidvalidity(mb);
	store_mailbox_free(&mb);
	assert_int_equal(store_folder_delete(root, ".Y", &error), 0);
	assert_int_equal(store_folder_create(root, ".Y", &error), 0);
	mb = open_box(".Y");
	assert_true(store_mailbox_uidvalidity(mb) > old);
	store_mailbox_free(&mb);
}

static void defaults_and_special_use(void **state)
{
	const char *error;
	char fresh[MAILDIR_PATH_MAX];
	snprintf(fresh, sizeof(fresh), "%s/new-user/Maildir", base);
	assert_int_equal(store_create_defaults(fresh, &error), 0);
	assert_int_equal(store_create_defaults(fresh, &error), 0); /* again */
	struct store_folder_info *v;
	size_t n;
	assert_int_equal(store_folder_list(fresh, &v, &n, &error), 0);
	assert_int_equal(n, 6);
	static const char *const want[] = {"", ".Archive", ".Drafts", ".Junk",
					   ".Sent", ".Trash"};
	static const char *const attr[] = {NULL, "\\Archive", "\\Drafts", "\\Junk",
					   "\\Sent", "\\Trash"};
	for (size_t i = 0; i < n; i++) {
		assert_string_equal(v[i].folder, want[i]);
		const char *a = store_special_use_attr(v[i].use);
		if (attr[i] == NULL)
			assert_null(a);
		else
			assert_string_equal(a, attr[i]);
	}
	store_folder_list_free(v, n);
	assert_int_equal(store_special_use(".Sent.Old"), STORE_USE_NONE);
}

static void subscriptions_file(void **state)
{
	const char *error;
	char **names;
	size_t n;
	assert_int_equal(store_subscriptions(root, &names, &n, &error), 0);
	assert_int_equal(n, 0);
	assert_int_equal(store_subscribe(root, "Sent", true, &error), 0);
	assert_int_equal(store_subscribe(root, "Work/Ünï", true, &error), 0);
	assert_int_equal(store_subscribe(root, "Sent", true, &error), 0);
	assert_int_equal(store_subscribe(root, "a\nb", true, &error), -1);
	char *text = read_text(root, "subscriptions");
	assert_string_equal(text, "Sent\nWork/Ünï\n");
	free(text);
	assert_int_equal(store_subscribe(root, "Sent", false, &error), 0);
	assert_int_equal(store_subscribe(root, "Nope", false, &error), 0);
	assert_int_equal(store_subscriptions(root, &names, &n, &error), 0);
	assert_int_equal(n, 1);
	assert_string_equal(names[0], "Work/Ünï");
	store_subscriptions_free(names, n);
}

static void quota_follows_append_and_expunge(void **state)
{
	const struct store_options q = {.quota = 1000, .hostname = "h"};
	const char *error;
	struct iovec part = {"0123456789", 10};
	struct store_append a = {.parts = &part, .n_parts = 1};
	uint32_t v, u;
	assert_int_equal(store_append(root, "", &q, &a, &v, &u, &error), 0);
	assert_int_equal(store_append(root, "", &q, &a, &v, &u, &error), 0);
	uint64_t bytes, count;
	assert_int_equal(quota_usage(root, 1000, &bytes, &count), 0);
	assert_int_equal(bytes, 20);
	assert_int_equal(count, 2);
	struct store_mailbox *mb;
	assert_int_equal(store_mailbox_open(root, "", &q, &mb, &error), 0);
	uint32_t one = 1;
	assert_int_equal(store_mailbox_expunge(mb, &one, 1, false, &error), 0);
	store_mailbox_free(&mb);
	assert_int_equal(quota_usage(root, 1000, &bytes, &count), 0);
	assert_int_equal(bytes, 10);
	assert_int_equal(count, 1);
	char big[1000];
	memset(big, 'x', sizeof(big));
	struct iovec bp = {big, sizeof(big)};
	a.parts = &bp;
	assert_int_equal(store_append(root, "", &q, &a, &v, &u, &error), -1);
	assert_string_equal(error, "mailbox over quota");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(names_round_trip_flags),
		cmocka_unit_test(uidlist_dovecot_sample),
		cmocka_unit_test(uidlist_bad_lines_table),
		cmocka_unit_test(uidlist_trickle),
		cmocka_unit_test(keywords_and_modseq_files),
		cmocka_unit_test_setup_teardown(uids_persist_and_grow, setup, teardown),
		cmocka_unit_test_setup_teardown(two_sessions_see_each_other, setup, teardown),
		cmocka_unit_test_setup_teardown(flags_and_keywords_round_trip, setup, teardown),
		cmocka_unit_test_setup_teardown(refresh_skips_only_when_nothing_moved, setup,
						teardown),
		cmocka_unit_test_setup_teardown(cache_hit_is_a_sync, setup, teardown),
		cmocka_unit_test_setup_teardown(cache_sees_other_changes, setup, teardown),
		cmocka_unit_test_setup_teardown(cache_keeps_no_fresh_stamp, setup, teardown),
		cmocka_unit_test_setup_teardown(cache_evicts_least_recent, setup, teardown),
		cmocka_unit_test_setup_teardown(cache_shared_by_threads, setup, teardown),
		cmocka_unit_test_setup_teardown(unchangedsince_refuses_newer, setup, teardown),
		cmocka_unit_test_setup_teardown(relocation_keeps_message_pointers, setup, teardown),
		cmocka_unit_test_setup_teardown(relocation_ignores_another_uidvalidity, setup, teardown),
		cmocka_unit_test_setup_teardown(uid_writes_refuse_another_uidvalidity, setup, teardown),
		cmocka_unit_test_setup_teardown(append_gives_uid_and_lasts, setup, teardown),
		cmocka_unit_test_setup_teardown(copy_gives_new_uids, setup, teardown),
		cmocka_unit_test_setup_teardown(expunge_by_uid_set, setup, teardown),
		cmocka_unit_test_setup_teardown(crash_leftovers_recover, setup, teardown),
		cmocka_unit_test_setup_teardown(corrupt_uidlist_new_uidvalidity, setup, teardown),
		cmocka_unit_test_setup_teardown(dovecot_written_folder_is_read, setup, teardown),
		cmocka_unit_test_setup_teardown(big_folder_opens_without_stat, setup, teardown),
		cmocka_unit_test_setup_teardown(status_counts, setup, teardown),
		cmocka_unit_test_setup_teardown(folder_create_rename_delete, setup, teardown),
		cmocka_unit_test_setup_teardown(defaults_and_special_use, setup, teardown),
		cmocka_unit_test_setup_teardown(subscriptions_file, setup, teardown),
		cmocka_unit_test_setup_teardown(quota_follows_append_and_expunge, setup, teardown),
		cmocka_unit_test_setup_teardown(one_relocation_finds_every_moved_file, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
