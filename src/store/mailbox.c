/* mailbox: an open folder's snapshot, refresh, flags and expunge. A
 * snapshot comes from the process's cache of synced states when the
 * folder has not moved since (store/cache.h), else from a sync.
 *
 * A snapshot taken from the cache is not copied: the session holds the
 * cache's entry and reads it in place, so sessions on one big folder
 * share one copy of its index (10,000 messages: about 1 MB). The session
 * copies it to its own only before it changes it (its own STORE, a
 * relocated file, a new keyword); INTERNALDATEs, read lazily, live in a
 * per-session array beside it. */
#include "store/mailbox.h"

#include "lib/durable.h"
#include "lib/log.h"
#include "store/cache.h"
#include "store/maildir.h"
#include "store/quota.h"
#include "store/stamp.h"
#include "store/sync.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

struct store_mailbox {
	char root[MAILDIR_PATH_MAX];
	char dir[MAILDIR_PATH_MAX];
	struct store_options opt;
	/* the snapshot: the cache's entry held (shared, never written), or
	 * st, the session's own (then held is NULL) */
	const struct store_cache_entry *held;
	/* the shared snapshot own() replaced, held until the next refresh:
	 * callers keep store_mailbox_msgs() pointers across an open that
	 * relocates, and this session may have been its last holder */
	const struct store_cache_entry *was_held;
	struct store_state st;
	int64_t *dates; /* INTERNALDATE by index, 0 unknown; NULL: none yet */
	struct store_stamp stamp; /* taken just before the snapshot's sync */
};

static const struct store_state *snap(const struct store_mailbox *mb)
{
	return mb->held != NULL ? store_cache_state(mb->held) : &mb->st;
}

/* Make the snapshot the session's own before changing it. */
static int own(struct store_mailbox *mb, const char **error_r)
{
	if (mb->held == NULL)
		return 0;
	struct store_state copy = {0};
	if (store_state_copy(&copy, store_cache_state(mb->held)) < 0) {
		*error_r = "out of memory";
		return -1;
	}
	store_cache_release(&mb->was_held); /* none: own() once per refresh */
	mb->was_held = mb->held;
	mb->held = NULL;
	store_state_free(&mb->st);
	mb->st = copy;
	return 0;
}

int store_folder_dir(const char *root, const char *folder, char *out,
		     size_t outsz)
{
	size_t len = strlen(folder);
	if (len > 0 && (folder[0] != '.' || len < 2 || len > MDNAME_MAX ||
			strchr(folder, '/') != NULL || strcmp(folder, "..") == 0))
		return -1; /* never a path outside root */
	int n = len == 0 ? snprintf(out, outsz, "%s", root)
			 : snprintf(out, outsz, "%s/%s", root, folder);
	return n > 0 && (size_t)n < outsz ? 0 : -1;
}

static size_t max_messages(const struct store_options *opt)
{
	return opt->max_messages ? opt->max_messages : STORE_MESSAGES_MAX;
}

/* lock, stamp, sync into st, unlock: the stamp (into *stamp when asked)
 * is taken before the sync, so a change made during it shows in the next
 * stamp. The state goes to the cache when a second stamp, taken after the
 * sync, is the same: the sync wrote nothing (no new UIDs), so the state
 * is the folder as the first stamp says (store/cache.h). */
static int sync_locked(const char *root, const char *dir,
		       const struct store_options *opt, struct store_state *st,
		       struct store_stamp *stamp, const char **error_r)
{
	struct store_stamp before, after;
	int lock = store_lock(dir, error_r);
	if (lock < 0)
		return -1;
	store_stamp_take(dir, &before);
	int rc = store_sync(root, dir, max_messages(opt), st, error_r);
	if (rc == 0)
		store_stamp_take(dir, &after);
	store_unlock(lock);
	if (rc == 0 && store_stamp_unchanged(&before, &after))
		store_cache_put(dir, max_messages(opt), &before, st);
	else if (rc == 0)
		store_cache_drop(dir); /* moved: an entry would be stale */
	if (stamp != NULL)
		*stamp = before;
	return rc;
}

/* The folder's state for stamp now (taken by the caller): the cached
 * one, held in *held_r, when the folder has not moved since it was
 * synced; else a sync into st, after which the entry that sync put in the
 * cache is held instead when there is one (st is then freed), so the
 * next sessions and this one share it. *stamp_r: the stamp the state is
 * valid for. */
static int load_state(const char *root, const char *dir,
		      const struct store_options *opt,
		      const struct store_stamp *now, struct store_state *st,
		      const struct store_cache_entry **held_r,
		      struct store_stamp *stamp_r, const char **error_r)
{
	*held_r = store_cache_hold(dir, max_messages(opt), now);
	if (*held_r != NULL) {
		log_debug("store event=cache-hit dir=%s messages=%zu", dir,
			  store_cache_state(*held_r)->n);
		*stamp_r = *now;
		return 0;
	}
	if (sync_locked(root, dir, opt, st, stamp_r, error_r) < 0)
		return -1;
	*held_r = store_cache_hold_put(dir, max_messages(opt), stamp_r);
	if (*held_r != NULL)
		store_state_free(st);
	return 0;
}

int store_mailbox_open(const char *root, const char *folder,
		       const struct store_options *opt,
		       struct store_mailbox **mb_r, const char **error_r)
{
	struct store_mailbox *mb = calloc(1, sizeof(*mb));
	if (mb == NULL) {
		*error_r = "out of memory";
		return -1;
	}
	if (snprintf(mb->root, sizeof(mb->root), "%s", root) >=
		    (int)sizeof(mb->root) ||
	    store_folder_dir(root, folder, mb->dir, sizeof(mb->dir)) < 0) {
		free(mb);
		*error_r = "bad folder name";
		return -1;
	}
	mb->opt = *opt;
	mb->opt.hostname = NULL; /* not kept: the caller owns it */
	struct store_stamp now;
	store_stamp_take(mb->dir, &now);
	if (load_state(mb->root, mb->dir, opt, &now, &mb->st, &mb->held,
		       &mb->stamp, error_r) < 0) {
		free(mb);
		return -1;
	}
	*mb_r = mb;
	return 0;
}

void store_mailbox_free(struct store_mailbox **mb)
{
	if (*mb == NULL)
		return;
	store_cache_release(&(*mb)->held);
	store_cache_release(&(*mb)->was_held);
	store_state_free(&(*mb)->st);
	free((*mb)->dates);
	free(*mb);
	*mb = NULL;
}

const struct store_state *store_mailbox_snapshot(const struct store_mailbox *mb)
{
	return snap(mb);
}

const char *store_mailbox_dir(const struct store_mailbox *mb)
{
	return mb->dir;
}

const char *store_mailbox_root(const struct store_mailbox *mb)
{
	return mb->root;
}

const struct store_options *store_mailbox_options(const struct store_mailbox *mb)
{
	return &mb->opt;
}

uint32_t store_mailbox_uidvalidity(const struct store_mailbox *mb)
{
	return snap(mb)->uidvalidity;
}

const char *store_mailbox_guid(const struct store_mailbox *mb)
{
	return snap(mb)->guid;
}

uint32_t store_mailbox_uidnext(const struct store_mailbox *mb)
{
	return snap(mb)->next_uid;
}

uint64_t store_mailbox_highestmodseq(const struct store_mailbox *mb)
{
	return snap(mb)->highest_modseq;
}

size_t store_mailbox_count(const struct store_mailbox *mb)
{
	return snap(mb)->n;
}

const struct store_msg *store_mailbox_msgs(const struct store_mailbox *mb)
{
	return snap(mb)->recs;
}

long store_mailbox_find(const struct store_mailbox *mb, uint32_t uid)
{
	const struct store_msg *m = store_state_find(snap(mb), uid);
	return m == NULL ? -1 : (long)(m - snap(mb)->recs);
}

const char *store_mailbox_keyword(const struct store_mailbox *mb, unsigned i)
{
	return i < STORE_KEYWORDS_MAX ? snap(mb)->keywords[i] : NULL;
}

/* ------------------------------------------------------------ reading */

/* A write or a relocation by the UIDs of a snapshot older than the
 * folder's UIDVALIDITY: those numbers name other messages now. */
#define UIDS_CHANGED "the folder's UIDs changed (UIDVALIDITY); select it again"

/* Point the snapshot's msg (the session's own) at the name st gives the
 * same UID. */
static int adopt_name(struct store_mailbox *mb, struct store_msg *m,
		      const struct store_state *st, const struct store_msg *now)
{
	size_t off = mb->st.names.len;
	if (buf_append_str(&mb->st.names, store_msg_path(st, now)) < 0 ||
	    buf_append_byte(&mb->st.names, '\0') < 0)
		return -1;
	m->name_off = off;
	m->name_len = now->name_len;
	return 0;
}

/* Point every message of the snapshot whose file another session renamed
 * at its name in now (both in ascending UID order): a session that sets
 * flags on the whole folder then costs a reader one sync, not one per
 * message. Only names that differ are added, so the names buffer grows by
 * the renames seen, once each. */
static void adopt_moved_names(struct store_mailbox *mb,
			      const struct store_state *now)
{
	size_t j = 0;
	for (size_t i = 0; i < mb->st.n && j < now->n; i++) {
		struct store_msg *m = &mb->st.recs[i];
		while (j < now->n && now->recs[j].uid < m->uid)
			j++;
		if (j == now->n || now->recs[j].uid != m->uid)
			continue;
		const struct store_msg *n = &now->recs[j];
		if ((n->name_len != m->name_len ||
		     strcmp(store_msg_path(now, n),
			    store_msg_path(&mb->st, m)) != 0) &&
		    adopt_name(mb, m, now, n) < 0)
			return; /* out of memory: the next open retries */
	}
}

/* Message idx's file moved (another session changed its flags): find it,
 * and every other moved one, by a sync. -1 when it is gone. */
static int relocate(struct store_mailbox *mb, size_t idx,
		    const char **error_r)
{
	struct store_state now = {0};
	if (sync_locked(mb->root, mb->dir, &mb->opt, &now, NULL, error_r) < 0)
		return -1;
	int rc = 0;
	if (now.uidvalidity != snap(mb)->uidvalidity) {
		/* the uidlist was lost: the same UID names another message
		 * now, whose file must not be taken for this one's */
		*error_r = UIDS_CHANGED;
		rc = -1;
	} else if (store_state_find(&now, snap(mb)->recs[idx].uid) == NULL) {
		*error_r = "message has been expunged";
		rc = -1;
	} else if (own(mb, error_r) == 0) {
		adopt_moved_names(mb, &now);
	}
	store_state_free(&now);
	return rc;
}

static int open_at(const struct store_mailbox *mb, size_t idx)
{
	char path[MAILDIR_PATH_MAX];
	const struct store_state *st = snap(mb);
	if (store_path(path, mb->dir, store_msg_path(st, &st->recs[idx])) < 0)
		return -1;
	return open(path, O_RDONLY | O_CLOEXEC);
}

int store_mailbox_open_msg(struct store_mailbox *mb, size_t idx,
			   const char **error_r)
{
	int fd = open_at(mb, idx);
	if (fd < 0 && errno == ENOENT && relocate(mb, idx, error_r) == 0)
		fd = open_at(mb, idx);
	if (fd < 0 && errno != ENOENT)
		*error_r = "cannot open the message";
	else if (fd < 0)
		*error_r = "message has been expunged";
	return fd;
}

int store_mailbox_internaldate(struct store_mailbox *mb, size_t idx,
			       int64_t *t_r, const char **error_r)
{
	if (mb->dates == NULL &&
	    (mb->dates = calloc(snap(mb)->n + 1, sizeof(*mb->dates))) == NULL) {
		*error_r = "out of memory";
		return -1;
	}
	if (mb->dates[idx] == 0) {
		int fd = store_mailbox_open_msg(mb, idx, error_r);
		struct stat sb;
		if (fd < 0)
			return -1;
		int rc = fstat(fd, &sb);
		close(fd);
		if (rc < 0) {
			*error_r = "cannot stat the message";
			return -1;
		}
		mb->dates[idx] = (int64_t)sb.st_mtime;
	}
	*t_r = mb->dates[idx];
	return 0;
}

/* ------------------------------------------------------------ refresh */

static int grow_push(uint32_t **v, size_t *n, uint32_t x)
{
	/* grow at powers of two */
	if ((*n & (*n - 1)) == 0) {
		void *p = realloc(*v, (*n ? *n * 2 : 8) * sizeof(**v));
		if (p == NULL)
			return -1;
		*v = p;
	}
	(*v)[(*n)++] = x;
	return 0;
}

static bool keywords_differ(const struct store_state *a,
			    const struct store_state *b)
{
	for (int i = 0; i < STORE_KEYWORDS_MAX; i++) {
		const char *x = a->keywords[i], *y = b->keywords[i];
		if ((x == NULL) != (y == NULL) || (x != NULL && strcmp(x, y) != 0))
			return true;
	}
	return false;
}

/* Merge the old snapshot and the new state by UID; the INTERNALDATEs
 * known (old_dates, may be NULL) go to new_dates at their new indexes
 * (they never change). */
static int diff(const struct store_state *old, const struct store_state *now,
		const int64_t *old_dates, int64_t *new_dates,
		struct store_changes *ch)
{
	size_t i = 0, j = 0;
	int rc = 0;
	while (rc == 0 && (i < old->n || j < now->n)) {
		const struct store_msg *o = i < old->n ? &old->recs[i] : NULL;
		const struct store_msg *w = j < now->n ? &now->recs[j] : NULL;
		if (w == NULL || (o != NULL && o->uid < w->uid)) {
			size_t n_seqs = ch->n_expunged;
			rc = grow_push(&ch->expunged_uids, &ch->n_expunged, o->uid);
			if (rc == 0)
				rc = grow_push(&ch->expunged_seqs, &n_seqs,
					       (uint32_t)(i + 1));
			i++;
		} else if (o == NULL || w->uid < o->uid) {
			ch->n_new++;
			j++;
		} else {
			if (old_dates != NULL && new_dates != NULL)
				new_dates[j] = old_dates[i];
			if (o->flags != w->flags || o->keywords != w->keywords ||
			    o->modseq != w->modseq)
				rc = grow_push(&ch->changed_uids, &ch->n_changed,
					       w->uid);
			i++;
			j++;
		}
	}
	return rc;
}

int store_mailbox_refresh(struct store_mailbox *mb, struct store_changes *ch,
			  const char **error_r)
{
	struct store_state own_now = {0};
	const struct store_cache_entry *held_now = NULL;
	struct store_stamp stamp;
	memset(ch, 0, sizeof(*ch));
	/* pointers into the snapshot own() replaced end here (mailbox.h) */
	store_cache_release(&mb->was_held);
	store_stamp_take(mb->dir, &stamp);
	if (store_stamp_unchanged(&mb->stamp, &stamp))
		return 0; /* nothing on disk moved: the snapshot is current */
	if (load_state(mb->root, mb->dir, &mb->opt, &stamp, &own_now,
		       &held_now, &stamp, error_r) < 0)
		return -1;
	const struct store_state *now =
		held_now != NULL ? store_cache_state(held_now) : &own_now;
	int64_t *dates = mb->dates == NULL
				 ? NULL
				 : calloc(now->n + 1, sizeof(*dates));
	if (now->uidvalidity != snap(mb)->uidvalidity) {
		ch->uidvalidity_changed = true;
	} else if (diff(snap(mb), now, mb->dates, dates, ch) < 0) {
		store_changes_free(ch);
		store_cache_release(&held_now);
		store_state_free(&own_now);
		free(dates);
		*error_r = "out of memory";
		return -1;
	}
	ch->keywords_changed = keywords_differ(snap(mb), now);
	store_cache_release(&mb->held);
	store_state_free(&mb->st);
	mb->held = held_now;
	mb->st = own_now;
	free(mb->dates);
	mb->dates = dates; /* NULL (out of memory too): read again */
	mb->stamp = stamp;
	return 0;
}

void store_changes_free(struct store_changes *ch)
{
	free(ch->expunged_uids);
	free(ch->expunged_seqs);
	free(ch->changed_uids);
	memset(ch, 0, sizeof(*ch));
}

/* ------------------------------------------------------------ keywords */

static int find_keyword(char *const names[STORE_KEYWORDS_MAX],
			const char *name, size_t len)
{
	for (int i = 0; i < STORE_KEYWORDS_MAX; i++)
		if (names[i] != NULL && strlen(names[i]) == len &&
		    strncasecmp(names[i], name, len) == 0)
			return i;
	return -1;
}

/* Add name to st's keywords (and the file) if new: its index, or -1. */
static int add_keyword(const char *dir, struct store_state *st,
		       const char *name, size_t len, const char **error_r)
{
	int i = find_keyword(st->keywords, name, len);
	if (i >= 0)
		return i;
	for (i = 0; i < STORE_KEYWORDS_MAX && st->keywords[i] != NULL; i++)
		;
	if (i == STORE_KEYWORDS_MAX) {
		*error_r = "too many keywords in this folder (26 at most)";
		return -1;
	}
	st->keywords[i] = strndup(name, len);
	if (st->keywords[i] == NULL) {
		*error_r = "out of memory";
		return -1;
	}
	if (store_sync_write_keywords(dir, st, error_r) < 0) {
		free(st->keywords[i]);
		st->keywords[i] = NULL;
		return -1;
	}
	return i;
}

int store_mailbox_keyword_index(struct store_mailbox *mb, const char *name,
				size_t len, bool create, const char **error_r)
{
	if (!keyword_valid(name, len)) {
		*error_r = "not a valid keyword";
		return -1;
	}
	int i = find_keyword(snap(mb)->keywords, name, len);
	if (i >= 0 || !create) {
		if (i < 0)
			*error_r = "no such keyword in this folder";
		return i;
	}
	/* under the lock, on the folder's current list: another session
	 * may have added keywords since our snapshot */
	struct store_state now = {0};
	int lock = store_lock(mb->dir, error_r);
	if (lock < 0)
		return -1;
	i = store_sync(mb->root, mb->dir, max_messages(&mb->opt), &now, error_r);
	if (i == 0)
		i = add_keyword(mb->dir, &now, name, len, error_r);
	store_unlock(lock);
	store_cache_drop(mb->dir); /* dovecot-keywords may have changed */
	/* new to the snapshot: the snapshot becomes the session's own */
	if (i >= 0 && snap(mb)->keywords[i] == NULL &&
	    (own(mb, error_r) < 0 ||
	     (mb->st.keywords[i] = strdup(now.keywords[i])) == NULL)) {
		*error_r = "out of memory";
		i = -1;
	}
	store_state_free(&now);
	return i;
}

/* Keyword names to a mask of this folder's letters, adding new ones. */
int store_add_keywords(const char *dir, struct store_state *st,
		       const char *const *names, size_t n, uint32_t *mask_r,
		       const char **error_r)
{
	*mask_r = 0;
	for (size_t i = 0; i < n; i++) {
		size_t len = strlen(names[i]);
		if (!keyword_valid(names[i], len)) {
			*error_r = "not a valid keyword";
			return -1;
		}
		int k = add_keyword(dir, st, names[i], len, error_r);
		if (k < 0)
			return -1;
		*mask_r |= UINT32_C(1) << k;
	}
	return 0;
}

/* ------------------------------------------------------------ flags */

static void apply_op(enum store_flag_op op, uint32_t *have, uint32_t arg,
		     uint32_t settable)
{
	switch (op) {
	case STORE_FLAGS_SET:
		*have = (*have & ~settable) | (arg & settable);
		break;
	case STORE_FLAGS_ADD:
		*have |= arg & settable;
		break;
	case STORE_FLAGS_REMOVE:
		*have &= ~(arg & settable);
		break;
	}
}

/* Rename the file of m in st to carry flags/keywords; m is updated. */
static int rename_flags(const char *dir, struct store_state *st,
			struct store_msg *m, uint32_t flags, uint32_t keywords)
{
	char name[MDNAME_MAX + 1], from[MAILDIR_PATH_MAX], to[MAILDIR_PATH_MAX];
	const char *old = store_msg_name(st, m);
	int len = mdname_with_flags(old, m->base_len, flags, keywords, old, name);
	if (len < 0) {
		errno = ENAMETOOLONG;
		return -1;
	}
	char sub[MDNAME_MAX + 5];
	snprintf(sub, sizeof(sub), "cur/%s", name);
	if (store_path(from, dir, store_msg_path(st, m)) < 0 ||
	    store_path(to, dir, sub) < 0)
		return -1;
	if (rename(from, to) < 0)
		return -1;
	size_t off = st->names.len;
	if (buf_append_str(&st->names, "cur/") < 0 ||
	    buf_append(&st->names, name, (size_t)len) < 0 ||
	    buf_append_byte(&st->names, '\0') < 0)
		return -1;
	m->name_off = off;
	m->name_len = (uint16_t)len;
	m->flags = flags;
	m->keywords = keywords;
	return 0;
}

struct flag_change {
	enum store_flag_op op;
	uint32_t flags, keywords;
	uint64_t unchangedsince;
};

/* One message: 1 changed, 0 unchanged or failed the modseq test (then
 * *failed), -1 error. */
static int change_one(const char *dir, struct store_state *st,
		      struct store_msg *m, const struct flag_change *fc,
		      bool *failed)
{
	uint32_t flags = m->flags, keywords = m->keywords;
	apply_op(fc->op, &flags, fc->flags, STORE_SYSTEM_FLAGS);
	apply_op(fc->op, &keywords, fc->keywords, (UINT32_C(1) << STORE_KEYWORDS_MAX) - 1);
	*failed = false;
	if (flags == m->flags && keywords == m->keywords)
		return 0;
	if (fc->unchangedsince != 0 && m->modseq > fc->unchangedsince) {
		*failed = true;
		return 0;
	}
	if (rename_flags(dir, st, m, flags, keywords) < 0)
		return errno == ENOENT ? 0 : -1; /* gone outside the lock */
	return 1;
}

/* Copy the new flags, modseq and name of the changed into the snapshot. */
static void update_snapshot(struct store_mailbox *mb,
			    const struct store_state *now,
			    struct store_msg *const *changed, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		struct store_msg *m = store_state_find(&mb->st, changed[i]->uid);
		if (m == NULL || adopt_name(mb, m, now, changed[i]) < 0)
			continue; /* the next refresh reports it */
		m->flags = changed[i]->flags;
		m->keywords = changed[i]->keywords;
		m->modseq = changed[i]->modseq;
	}
}

static int set_flags_locked(struct store_mailbox *mb, struct store_state *now,
			    const uint32_t *uids, size_t n,
			    const struct flag_change *fc, uint32_t **failed_r,
			    size_t *n_failed, const char **error_r)
{
	struct store_msg **changed = malloc((n ? n : 1) * sizeof(*changed));
	size_t n_changed = 0;
	int rc = changed == NULL ? -1 : 0;
	for (size_t i = 0; i < n && rc == 0; i++) {
		struct store_msg *m = store_state_find(now, uids[i]);
		bool failed;
		int r = m == NULL ? 0 : change_one(mb->dir, now, m, fc, &failed);
		if (r > 0)
			changed[n_changed++] = m;
		else if (r == 0 && m != NULL && failed)
			r = grow_push(failed_r, n_failed, m->uid);
		rc = r < 0 ? -1 : 0;
	}
	if (rc < 0)
		*error_r = errno == ENOSPC ? "disk full" : "cannot rename the message";
	char cur[MAILDIR_PATH_MAX];
	store_path(cur, mb->dir, "cur");
	if (n_changed > 0 && rc == 0 && fsync_dir(cur) < 0) {
		*error_r = "cannot sync the folder";
		rc = -1;
	}
	/* record the modseqs of what was renamed, even after an error */
	const char *bump_error;
	if (n_changed > 0 &&
	    store_sync_bump(mb->dir, now, changed, n_changed, &bump_error) < 0) {
		if (rc == 0)
			*error_r = bump_error;
		rc = -1;
	}
	const char *own_error;
	if (n_changed > 0 && own(mb, &own_error) == 0)
		update_snapshot(mb, now, changed, n_changed);
	/* else out of memory: the next refresh reports the changes */
	free(changed);
	return rc;
}

int store_mailbox_set_flags(struct store_mailbox *mb, const uint32_t *uids,
			    size_t n, enum store_flag_op op, uint32_t flags,
			    uint32_t keywords, uint64_t unchangedsince,
			    uint32_t **failed_r, size_t *n_failed,
			    const char **error_r)
{
	struct flag_change fc = {op, flags, keywords, unchangedsince};
	struct store_state now = {0};
	*failed_r = NULL;
	*n_failed = 0;
	int lock = store_lock(mb->dir, error_r);
	if (lock < 0)
		return -1;
	int rc = store_sync(mb->root, mb->dir, max_messages(&mb->opt), &now,
			    error_r);
	if (rc == 0 && now.uidvalidity != snap(mb)->uidvalidity) {
		*error_r = UIDS_CHANGED;
		rc = -1;
	}
	if (rc == 0)
		rc = set_flags_locked(mb, &now, uids, n, &fc, failed_r, n_failed,
				      error_r);
	/* an entry moved from new/ to cur/: new/ changed too (STYLE.md rule 5) */
	char new_dir[MAILDIR_PATH_MAX];
	store_path(new_dir, mb->dir, "new");
	if (rc == 0)
		fsync_dir(new_dir);
	store_unlock(lock);
	store_cache_drop(mb->dir); /* files renamed, modseqs written */
	store_state_free(&now);
	return rc;
}

/* ------------------------------------------------------------ expunge */

static bool wanted(const struct store_msg *m, const uint32_t *uids, size_t n,
		   bool require_deleted)
{
	if (require_deleted && !(m->flags & STORE_DELETED))
		return false;
	if (uids == NULL)
		return true;
	for (size_t lo = 0, hi = n; lo < hi;) { /* uids ascending */
		size_t mid = lo + (hi - lo) / 2;
		if (uids[mid] == m->uid)
			return true;
		if (uids[mid] < m->uid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return false;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return x < y ? -1 : x > y;
}

/* Unlink the wanted files of now (compacting now->recs), then forget their
 * UIDs: files first, so a crash leaves lines without files (sync.h 4). */
static int expunge_locked(struct store_mailbox *mb, struct store_state *now,
			  const uint32_t *uids, size_t n, bool require_deleted,
			  const char **error_r)
{
	uint64_t bytes = 0, count = 0;
	size_t keep = 0;
	for (size_t i = 0; i < now->n; i++) {
		struct store_msg *m = &now->recs[i];
		char path[MAILDIR_PATH_MAX];
		if (wanted(m, uids, n, require_deleted) &&
		    store_path(path, mb->dir, store_msg_path(now, m)) == 0 &&
		    (unlink(path) == 0 || errno == ENOENT)) {
			bytes += m->size;
			count++;
			continue;
		}
		now->recs[keep++] = *m;
	}
	now->n = keep;
	if (count == 0)
		return 0;
	char sub[MAILDIR_PATH_MAX];
	store_path(sub, mb->dir, "cur");
	fsync_dir(sub);
	store_path(sub, mb->dir, "new");
	fsync_dir(sub);
	if (mb->opt.quota > 0)
		quota_remove(mb->root, mb->opt.quota, bytes, count);
	if (store_sync_bump(mb->dir, now, NULL, 0, error_r) < 0)
		return -1;
	return store_sync_rewrite(mb->dir, now, error_r);
}

int store_mailbox_expunge(struct store_mailbox *mb, const uint32_t *uids,
			  size_t n, bool require_deleted, const char **error_r)
{
	uint32_t *sorted = NULL;
	if (uids != NULL) {
		sorted = malloc((n ? n : 1) * sizeof(*sorted));
		if (sorted == NULL) {
			*error_r = "out of memory";
			return -1;
		}
		memcpy(sorted, uids, n * sizeof(*sorted));
		qsort(sorted, n, sizeof(*sorted), cmp_u32);
	}
	struct store_state now = {0};
	int lock = store_lock(mb->dir, error_r);
	int rc = lock < 0 ? -1 : 0;
	if (rc == 0)
		rc = store_sync(mb->root, mb->dir, max_messages(&mb->opt), &now,
				error_r);
	if (rc == 0 && now.uidvalidity != snap(mb)->uidvalidity) {
		*error_r = UIDS_CHANGED; /* unflagged: it would delete others */
		rc = -1;
	}
	if (rc == 0)
		rc = expunge_locked(mb, &now, sorted, n, require_deleted, error_r);
	store_unlock(lock);
	store_cache_drop(mb->dir); /* files unlinked, the uidlist rewritten */
	store_state_free(&now);
	free(sorted);
	return rc;
}

/* ------------------------------------------------------------ status */

static void status_of(const struct store_state *st, struct store_status *out)
{
	memset(out, 0, sizeof(*out));
	out->messages = (uint32_t)st->n;
	out->uidnext = st->next_uid;
	out->uidvalidity = st->uidvalidity;
	out->highestmodseq = st->highest_modseq;
	for (size_t i = 0; i < st->n; i++) {
		out->size += st->recs[i].size;
		if (!(st->recs[i].flags & STORE_SEEN))
			out->unseen++;
	}
}

int store_status(const char *root, const char *folder,
		 const struct store_options *opt, struct store_status *out,
		 const char **error_r)
{
	char dir[MAILDIR_PATH_MAX];
	struct store_state st = {0};
	struct store_stamp now;
	if (store_folder_dir(root, folder, dir, sizeof(dir)) < 0) {
		*error_r = "bad folder name";
		return -1;
	}
	/* counted in the cached state itself: no copy */
	store_stamp_take(dir, &now);
	const struct store_cache_entry *e =
		store_cache_hold(dir, max_messages(opt), &now);
	if (e != NULL) {
		status_of(store_cache_state(e), out);
		store_cache_release(&e);
		log_debug("store event=cache-hit dir=%s messages=%" PRIu32
			  " for=status", dir, out->messages);
		return 0;
	}
	if (sync_locked(root, dir, opt, &st, NULL, error_r) < 0)
		return -1;
	status_of(&st, out);
	store_state_free(&st);
	return 0;
}
