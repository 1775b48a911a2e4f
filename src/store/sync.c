/* sync: match a folder's files to its uidlist, under the folder's lock. */
#include "store/sync.h"

#include "lib/durable.h"
#include "lib/log.h"
#include "lib/util.h"
#include "store/maildir.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

unsigned long store_stat_count;

#define UIDLIST_FILE "dovecot-uidlist"
#define KEYWORDS_FILE "dovecot-keywords"
#define MODSEQ_FILE "postern-modseq"
#define LOCK_FILE "postern-uidlist.lock"
#define UIDVALIDITY_FILE "postern-uidvalidity"

enum {
	STORE_LOCK_WAIT_MS = 30000,
	KEYWORDS_FILE_MAX = 64 * 1024,
	UIDLIST_LINE_MAX = 300, /* "UID :NAME\n" with a 255-byte name */
	MODSEQ_COMPACT_SLACK = 1024,
};

const char *store_msg_path(const struct store_state *st,
			   const struct store_msg *r)
{
	return st->names.data + r->name_off;
}

const char *store_msg_name(const struct store_state *st,
			   const struct store_msg *r)
{
	return st->names.data + r->name_off + 4; /* after "new/" or "cur/" */
}

struct store_msg *store_state_find(const struct store_state *st, uint32_t uid)
{
	size_t lo = 0, hi = st->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (st->recs[mid].uid == uid)
			return &st->recs[mid];
		if (st->recs[mid].uid < uid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

void store_state_free(struct store_state *st)
{
	free(st->recs);
	buf_free(&st->names);
	keywords_free(st->keywords);
	memset(st, 0, sizeof(*st));
}

int store_state_copy(struct store_state *dst, const struct store_state *src)
{
	*dst = *src; /* the numbers; the pointers are replaced below */
	dst->recs = malloc((src->n ? src->n : 1) * sizeof(*dst->recs));
	dst->cap = src->n;
	buf_init(&dst->names, 0);
	memset(dst->keywords, 0, sizeof(dst->keywords));
	int rc = dst->recs == NULL ? -1 : 0;
	if (rc == 0 && src->n > 0)
		memcpy(dst->recs, src->recs, src->n * sizeof(*dst->recs));
	if (rc == 0 && src->names.len > 0)
		rc = buf_append(&dst->names, src->names.data, src->names.len);
	for (int i = 0; i < STORE_KEYWORDS_MAX && rc == 0; i++)
		if (src->keywords[i] != NULL &&
		    (dst->keywords[i] = strdup(src->keywords[i])) == NULL)
			rc = -1;
	if (rc < 0)
		store_state_free(dst);
	return rc;
}

int store_path(char *out, const char *dir,
	       const char *name)
{
	int n = snprintf(out, MAILDIR_PATH_MAX, "%s/%s", dir, name);
	if (n < 0 || n >= MAILDIR_PATH_MAX) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return 0;
}

/* ------------------------------------------------------------ locking */

int store_lock(const char *dir, const char **error_r)
{
	char path[MAILDIR_PATH_MAX];
	if (store_path(path, dir, LOCK_FILE) < 0) {
		*error_r = "folder path too long";
		return -1;
	}
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0) {
		*error_r = errno == ENOENT ? "no such folder"
					   : "cannot open the folder's lock";
		return -1;
	}
	/* poll rather than block, so a stuck holder costs a clear error */
	for (unsigned waited = 0, step = 1;; waited += step) {
		if (flock(fd, LOCK_EX | LOCK_NB) == 0)
			return fd;
		if (errno != EWOULDBLOCK || waited >= STORE_LOCK_WAIT_MS)
			break;
		struct timespec ts = {0, (long)step * 1000000L};
		nanosleep(&ts, NULL);
		if (step < 50)
			step *= 2;
	}
	close(fd);
	*error_r = "folder is locked by another session (timed out)";
	return -1;
}

void store_unlock(int fd)
{
	if (fd >= 0)
		close(fd); /* releases the flock */
}

/* ------------------------------------------------------------ files */

int store_write_atomic(const char *dir, const char *name, const char *data,
		       size_t len)
{
	char path[MAILDIR_PATH_MAX], tmp[MAILDIR_PATH_MAX + 32];
	if (store_path(path, dir, name) < 0)
		return -1;
	snprintf(tmp, sizeof(tmp), "%s.tmp.%d", path, (int)getpid());
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return -1;
	if (write_all(fd, data, len) < 0 || fsync(fd) < 0) {
		int saved = errno;
		close(fd);
		unlink(tmp);
		errno = saved;
		return -1;
	}
	close(fd);
	if (rename(tmp, path) < 0) {
		int saved = errno;
		unlink(tmp);
		errno = saved;
		return -1;
	}
	return fsync_dir(dir);
}

/* Append data to dir/name and make it durable. */
static int append_durably(const char *dir, const char *name, const char *data,
			  size_t len)
{
	char path[MAILDIR_PATH_MAX];
	if (store_path(path, dir, name) < 0)
		return -1;
	int fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC);
	if (fd < 0)
		return -1;
	int rc = write_all(fd, data, len);
	if (rc == 0)
		rc = fdatasync(fd);
	close(fd);
	return rc;
}

/* read_file() of dir/name: 0, -1 with errno (ENOENT when missing). */
static int read_in(const char *dir, const char *name, size_t max,
		   char **data, size_t *len)
{
	char path[MAILDIR_PATH_MAX];
	if (store_path(path, dir, name) < 0)
		return -1;
	return read_file(path, max, data, len);
}

uint32_t store_new_uidvalidity(const char *root, uint32_t above)
{
	char path[MAILDIR_PATH_MAX], text[32];
	uint32_t last = 0, now = (uint32_t)time(NULL);
	int fd = store_path(path, root, UIDVALIDITY_FILE) < 0
			 ? -1
			 : open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd >= 0 && flock(fd, LOCK_EX) == 0) {
		ssize_t n = pread(fd, text, sizeof(text) - 1, 0);
		text[n > 0 ? n : 0] = '\0';
		last = (uint32_t)strtoul(text, NULL, 10);
	}
	uint32_t v = now;
	if (v <= last)
		v = last + 1;
	if (v <= above)
		v = above + 1;
	if (v == 0)
		v = 1; /* wrapped: 2^32 folder creations, or a clock gone mad */
	if (fd >= 0) {
		/* one 11-byte write at offset 0 (within a sector): atomic */
		int n = snprintf(text, sizeof(text), "%010" PRIu32 "\n", v);
		if (pwrite(fd, text, (size_t)n, 0) != n || fdatasync(fd) < 0)
			log_warn("store event=uidvalidity-write-failed root=%s "
				 "error=\"%s\"", root, strerror(errno));
		close(fd);
	}
	return v;
}

/* ------------------------------------------------------------ scanning */

struct scan_ent {
	size_t off; /* into the names arena: "new/NAME" */
	uint16_t len, base_len;
	bool taken;
};

struct scan {
	struct scan_ent *v;
	size_t n, cap;
	struct buf names;
	uint32_t *table; /* open addressing: entry index + 1, 0 = empty */
	size_t mask;
};

static void scan_free(struct scan *s)
{
	free(s->v);
	free(s->table);
	buf_free(&s->names);
}

static int scan_add(struct scan *s, const char *sub, const char *name,
		    size_t len)
{
	if (s->n == s->cap) {
		size_t ncap = s->cap ? s->cap * 2 : 256;
		void *p = realloc(s->v, ncap * sizeof(*s->v));
		if (p == NULL)
			return -1;
		s->v = p;
		s->cap = ncap;
	}
	struct scan_ent *e = &s->v[s->n++];
	e->off = s->names.len;
	e->len = (uint16_t)len;
	e->base_len = (uint16_t)mdname_base_len(name, len);
	e->taken = false;
	if (buf_append_str(&s->names, sub) < 0 ||
	    buf_append(&s->names, name, len) < 0 ||
	    buf_append_byte(&s->names, '\0') < 0)
		return -1;
	return 0;
}

/* readdir() sub ("new" or "cur"); no stat. At most max entries. */
static int scan_dir(const char *dir, const char *sub, size_t max,
		    struct scan *s)
{
	char path[MAILDIR_PATH_MAX];
	if (store_path(path, dir, sub) < 0)
		return -1;
	DIR *d = opendir(path);
	if (d == NULL)
		return errno == ENOENT ? 0 : -1;
	char prefix[5];
	snprintf(prefix, sizeof(prefix), "%s/", sub);
	struct dirent *de;
	int rc = 0;
	while (rc == 0 && (de = readdir(d)) != NULL) {
		size_t len = strlen(de->d_name);
		if (de->d_type == DT_DIR || !mdname_valid(de->d_name, len))
			continue;
		if (s->n >= max) {
			log_warn("store event=folder-too-big dir=%s max=%zu",
				 dir, max);
			break;
		}
		rc = scan_add(s, prefix, de->d_name, len);
	}
	closedir(d);
	return rc;
}

static uint32_t hash_base(const char *p, size_t n)
{
	uint32_t h = 2166136261u; /* FNV-1a */
	for (size_t i = 0; i < n; i++)
		h = (h ^ (unsigned char)p[i]) * 16777619u;
	return h;
}

static const char *ent_name(const struct scan *s, const struct scan_ent *e)
{
	return s->names.data + e->off + 4;
}

static int scan_index(struct scan *s)
{
	size_t size = 16;
	while (size < s->n * 2)
		size *= 2;
	s->table = calloc(size, sizeof(*s->table));
	if (s->table == NULL)
		return -1;
	s->mask = size - 1;
	for (size_t i = 0; i < s->n; i++) {
		struct scan_ent *e = &s->v[i];
		size_t h = hash_base(ent_name(s, e), e->base_len) & s->mask;
		while (s->table[h] != 0)
			h = (h + 1) & s->mask;
		s->table[h] = (uint32_t)(i + 1);
	}
	return 0;
}

/* The first untaken entry with this base name, or NULL. */
static struct scan_ent *scan_find(struct scan *s, const char *base, size_t n)
{
	for (size_t h = hash_base(base, n) & s->mask; s->table[h] != 0;
	     h = (h + 1) & s->mask) {
		struct scan_ent *e = &s->v[s->table[h] - 1];
		if (!e->taken && e->base_len == n &&
		    memcmp(ent_name(s, e), base, n) == 0)
			return e;
	}
	return NULL;
}

/* ------------------------------------------------------------ records */

static int push_rec(struct store_state *st, const struct store_msg *r)
{
	if (st->n == st->cap) {
		size_t ncap = st->cap ? st->cap * 2 : 256;
		void *p = realloc(st->recs, ncap * sizeof(*st->recs));
		if (p == NULL)
			return -1;
		st->recs = p;
		st->cap = ncap;
	}
	st->recs[st->n++] = *r;
	return 0;
}

/* A record for the file at names + off ("cur/NAME"), sizes and flags from
 * its name; a stat only when the name has no ",S=". */
static void fill_rec(const char *dir, const struct buf *names, size_t off,
		     struct store_msg *r)
{
	const char *name = names->data + off + 4;
	size_t len = strlen(name);
	r->name_off = off;
	r->name_len = (uint16_t)len;
	r->base_len = (uint16_t)mdname_base_len(name, len);
	mdname_flags(name, len, &r->flags, &r->keywords);
	r->size = r->crlf_size = 0;
	int found = mdname_sizes(name, r->base_len, &r->size, &r->crlf_size);
	if (!(found & 1)) {
		char path[MAILDIR_PATH_MAX];
		struct stat sb;
		store_stat_count++;
		if (store_path(path, dir, names->data + off) == 0 &&
		    stat(path, &sb) == 0)
			r->size = (uint64_t)sb.st_size;
	}
	if (!(found & 2))
		r->crlf_size = 0;
}

/* ------------------------------------------------------------ sync */

struct sync_ctx {
	const char *root, *dir;
	size_t max_messages;
	struct store_state *st;
	struct uidlist ul;
	struct modseq_file mf;
	bool have_mf;        /* postern-modseq read, for this UIDVALIDITY */
	bool rewrite_uidlist;
	bool rewrite_modseq;
	size_t first_new;    /* st->recs[first_new..] were given UIDs now */
	char *uidlist_text;
};

static void new_guid(char out[UIDLIST_GUID_LEN + 1])
{
	unsigned char raw[UIDLIST_GUID_LEN / 2];
	random_bytes(raw, sizeof(raw));
	for (size_t i = 0; i < sizeof(raw); i++)
		snprintf(out + 2 * i, 3, "%02x", raw[i]);
}

static void read_modseq(struct sync_ctx *c)
{
	char *text;
	size_t len;
	const char *why;
	size_t max_lines = 4 * c->max_messages + 4096;
	if (read_in(c->dir, MODSEQ_FILE, max_lines * 32, &text, &len) < 0) {
		if (errno != ENOENT)
			log_warn("store event=modseq-unreadable dir=%s error=\"%s\"",
				 c->dir, strerror(errno));
		c->rewrite_modseq = true;
		return;
	}
	if (modseq_parse(text, len, max_lines, &c->mf, &why) < 0) {
		log_warn("store event=modseq-corrupt dir=%s reason=\"%s\"",
			 c->dir, why);
		c->rewrite_modseq = true;
	} else {
		c->have_mf = true;
		c->st->modseq_lines = c->mf.lines;
	}
	free(text);
}

/* Read dovecot-uidlist. A missing file is a new folder's; an unreadable
 * or headless one is lost: new UIDVALIDITY (rule 6 in sync.h). */
static int read_uidlist(struct sync_ctx *c, const char **error_r)
{
	struct store_state *st = c->st;
	size_t len, max = (c->max_messages + 1024) * UIDLIST_LINE_MAX;
	const char *why = NULL;
	int rc = read_in(c->dir, UIDLIST_FILE, max, &c->uidlist_text, &len);
	if (rc < 0 && errno == ENOMEM) {
		*error_r = "out of memory";
		return -1;
	}
	if (rc < 0 && errno != ENOENT)
		why = strerror(errno);
	else if (rc == 0 &&
		 uidlist_parse(c->uidlist_text, len, c->max_messages, &c->ul,
			       &why) == 0)
		why = NULL;
	if (rc == 0 && why == NULL) {
		st->uidvalidity = c->ul.uidvalidity;
		st->next_uid = c->ul.next_uid;
		memcpy(st->guid, c->ul.guid, sizeof(st->guid));
		if (c->ul.skipped > 0 || c->ul.torn) {
			log_warn("store event=uidlist-lines-skipped dir=%s "
				 "count=%zu first_line=%zu torn=%d", c->dir,
				 c->ul.skipped, c->ul.first_bad, c->ul.torn);
			c->rewrite_uidlist = true;
		}
	} else {
		if (why != NULL)
			log_warn("store event=uidlist-lost dir=%s reason=\"%s\" "
				 "action=new-uidvalidity", c->dir, why);
		uint32_t above = c->have_mf ? c->mf.uidvalidity : 0;
		st->uidvalidity = store_new_uidvalidity(c->root, above);
		st->next_uid = 1;
		c->rewrite_uidlist = true;
	}
	if (st->guid[0] == '\0') {
		new_guid(st->guid);
		c->rewrite_uidlist = true;
	}
	return 0;
}

static void read_keywords(struct sync_ctx *c)
{
	char *text;
	size_t len;
	if (read_in(c->dir, KEYWORDS_FILE, KEYWORDS_FILE_MAX, &text, &len) < 0) {
		if (errno != ENOENT)
			log_warn("store event=keywords-unreadable dir=%s "
				 "error=\"%s\"", c->dir, strerror(errno));
		return;
	}
	size_t skipped = keywords_parse(text, len, c->st->keywords);
	if (skipped > 0)
		log_warn("store event=keywords-lines-skipped dir=%s count=%zu",
			 c->dir, skipped);
	free(text);
}

/* The modseq a record read from the uidlist has: its last recorded one,
 * or 1 when none was (a Dovecot-written folder). */
static uint64_t known_modseq(const struct sync_ctx *c, uint32_t uid)
{
	uint64_t m = c->have_mf ? modseq_lookup(&c->mf, uid) : 0;
	return m ? m : 1;
}

/* Listed UIDs whose file is there become records; the rest are gone. */
static int match_listed(struct sync_ctx *c, struct scan *s)
{
	for (size_t i = 0; i < c->ul.n; i++) {
		const struct uidlist_rec *u = &c->ul.recs[i];
		size_t base = mdname_base_len(u->name, u->name_len);
		struct scan_ent *e = scan_find(s, u->name, base);
		if (e == NULL) {
			c->rewrite_uidlist = true; /* an expunge to forget */
			continue;
		}
		e->taken = true;
		struct store_msg r = {.uid = u->uid};
		fill_rec(c->dir, &s->names, e->off, &r);
		r.modseq = known_modseq(c, u->uid);
		if (push_rec(c->st, &r) < 0)
			return -1;
	}
	return 0;
}

/* qsort_r, not qsort with the scan in a global: pool threads sync
 * different folders at the same time (ThreadSanitizer found the race) */
static int cmp_new(const void *a, const void *b, void *scan)
{
	const struct scan_ent *x = *(struct scan_ent *const *)a;
	const struct scan_ent *y = *(struct scan_ent *const *)b;
	return strcmp(ent_name(scan, x), ent_name(scan, y));
}

/* Files no UID names, in name order (the time they arrived, as the
 * names start with it), get the next UIDs. */
static int assign_new(struct sync_ctx *c, struct scan *s)
{
	struct scan_ent **fresh = malloc((s->n ? s->n : 1) * sizeof(*fresh));
	size_t n = 0;
	if (fresh == NULL)
		return -1;
	for (size_t i = 0; i < s->n; i++)
		if (!s->v[i].taken)
			fresh[n++] = &s->v[i];
	qsort_r(fresh, n, sizeof(*fresh), cmp_new, s);
	struct store_state *st = c->st;
	c->first_new = st->n;
	int rc = 0;
	for (size_t i = 0; i < n && rc == 0; i++) {
		if (st->n >= c->max_messages || st->next_uid == UINT32_MAX) {
			log_warn("store event=folder-full dir=%s messages=%zu "
				 "unlisted=%zu", c->dir, st->n, n - i);
			break;
		}
		struct store_msg r = {.uid = st->next_uid++};
		fill_rec(c->dir, &s->names, fresh[i]->off, &r);
		r.modseq = ++st->highest_modseq;
		rc = push_rec(st, &r);
	}
	free(fresh);
	return rc;
}

static int write_modseq(struct sync_ctx *c)
{
	struct store_state *st = c->st;
	struct buf b;
	buf_init(&b, 0);
	bool full = c->rewrite_modseq ||
		    st->modseq_lines > 2 * st->n + MODSEQ_COMPACT_SLACK;
	size_t from = full ? 0 : c->first_new;
	int rc = full ? modseq_format_header(st->uidvalidity,
					     st->highest_modseq, &b)
		      : 0;
	for (size_t i = from; i < st->n && rc == 0; i++)
		rc = modseq_format_rec(st->recs[i].uid, st->recs[i].modseq, &b);
	if (rc == 0 && full)
		rc = store_write_atomic(c->dir, MODSEQ_FILE, b.data, b.len);
	else if (rc == 0 && b.len > 0)
		rc = append_durably(c->dir, MODSEQ_FILE, b.data, b.len);
	if (rc == 0)
		st->modseq_lines = full ? st->n : st->modseq_lines + st->n - from;
	buf_free(&b);
	return rc;
}

static int write_uidlist(struct sync_ctx *c)
{
	struct store_state *st = c->st;
	const char *ignored;
	if (c->rewrite_uidlist)
		return store_sync_rewrite(c->dir, st, &ignored);
	struct buf b;
	buf_init(&b, 0);
	int rc = 0;
	for (size_t i = c->first_new; i < st->n && rc == 0; i++)
		rc = uidlist_format_rec(st->recs[i].uid, store_msg_name(st, &st->recs[i]),
					st->recs[i].name_len, &b);
	if (rc == 0 && b.len > 0)
		rc = append_durably(c->dir, UIDLIST_FILE, b.data, b.len);
	buf_free(&b);
	return rc;
}

/* Modseqs of the folder: the highest ever, and whether the file's lines
 * belong to this UIDVALIDITY. */
static void settle_modseq(struct sync_ctx *c)
{
	struct store_state *st = c->st;
	if (c->have_mf) {
		st->highest_modseq = c->mf.highest;
		if (c->mf.uidvalidity != st->uidvalidity) {
			c->have_mf = false; /* another UID mapping's modseqs */
			c->rewrite_modseq = true;
		}
	}
	if (st->highest_modseq == 0)
		st->highest_modseq = 1;
}

static int sync_run(struct sync_ctx *c, const char **error_r)
{
	struct scan s = {0};
	buf_init(&s.names, 0);
	read_modseq(c);
	read_keywords(c);
	if (read_uidlist(c, error_r) < 0)
		goto fail_quiet;
	settle_modseq(c);
	if (scan_dir(c->dir, "new", c->max_messages * 2, &s) < 0 ||
	    scan_dir(c->dir, "cur", c->max_messages * 2, &s) < 0 ||
	    scan_index(&s) < 0) {
		*error_r = "cannot list the folder";
		goto fail_quiet;
	}
	if (match_listed(c, &s) < 0 || assign_new(c, &s) < 0) {
		*error_r = "out of memory";
		goto fail_quiet;
	}
	buf_free(&c->st->names);
	c->st->names = s.names; /* the records point into the scan's names */
	buf_init(&s.names, 0);
	scan_free(&s);
	bool added = c->first_new < c->st->n;
	if ((added || c->rewrite_modseq) && write_modseq(c) < 0)
		goto fail_io;
	if ((added || c->rewrite_uidlist) && write_uidlist(c) < 0)
		goto fail_io;
	return 0;
fail_io:
	*error_r = errno == ENOSPC ? "disk full" : "cannot write the folder index";
	return -1;
fail_quiet:
	scan_free(&s);
	return -1;
}

int store_sync(const char *root, const char *dir, size_t max_messages,
	       struct store_state *st, const char **error_r)
{
	store_state_free(st);
	buf_init(&st->names, 0);
	struct sync_ctx c = {.root = root, .dir = dir, .st = st,
			     .max_messages = max_messages};
	int rc = sync_run(&c, error_r);
	uidlist_free(&c.ul);
	modseq_free(&c.mf);
	free(c.uidlist_text);
	if (rc < 0)
		store_state_free(st);
	return rc;
}

/* ------------------------------------------------------------ changes */

int store_sync_rewrite(const char *dir, const struct store_state *st,
		       const char **error_r)
{
	struct buf b;
	buf_init(&b, 0);
	int rc = uidlist_format_header(st->uidvalidity, st->next_uid, st->guid, &b);
	for (size_t i = 0; i < st->n && rc == 0; i++)
		rc = uidlist_format_rec(st->recs[i].uid, store_msg_name(st, &st->recs[i]),
					st->recs[i].name_len, &b);
	if (rc == 0)
		rc = store_write_atomic(dir, UIDLIST_FILE, b.data, b.len);
	buf_free(&b);
	if (rc < 0)
		*error_r = errno == ENOSPC ? "disk full"
					   : "cannot write the folder index";
	return rc;
}

int store_sync_add(const char *dir, struct store_state *st,
		   char *const *names, size_t n, uint32_t *uids_r,
		   const char **error_r)
{
	if (n > UINT32_MAX - st->next_uid) {
		*error_r = "no UIDs left in this folder";
		return -1;
	}
	struct sync_ctx c = {.dir = dir, .st = st, .first_new = st->n};
	for (size_t i = 0; i < n; i++) {
		struct store_msg r = {.uid = st->next_uid++};
		size_t off = st->names.len;
		if (buf_append_str(&st->names, "cur/") < 0 ||
		    buf_append_str(&st->names, names[i]) < 0 ||
		    buf_append_byte(&st->names, '\0') < 0) {
			*error_r = "out of memory";
			return -1;
		}
		fill_rec(dir, &st->names, off, &r);
		r.modseq = ++st->highest_modseq;
		if (push_rec(st, &r) < 0) {
			*error_r = "out of memory";
			return -1;
		}
		uids_r[i] = r.uid;
	}
	if (write_modseq(&c) < 0 || write_uidlist(&c) < 0) {
		*error_r = errno == ENOSPC ? "disk full"
					   : "cannot write the folder index";
		return -1;
	}
	return 0;
}

int store_sync_bump(const char *dir, struct store_state *st,
		    struct store_msg *const *recs, size_t n,
		    const char **error_r)
{
	struct buf b;
	buf_init(&b, 0);
	int rc = 0;
	if (n == 0)
		rc = modseq_format_rec(0, ++st->highest_modseq, &b);
	for (size_t i = 0; i < n && rc == 0; i++) {
		recs[i]->modseq = ++st->highest_modseq;
		rc = modseq_format_rec(recs[i]->uid, recs[i]->modseq, &b);
	}
	if (rc == 0)
		rc = append_durably(dir, MODSEQ_FILE, b.data, b.len);
	buf_free(&b);
	if (rc < 0) {
		*error_r = errno == ENOSPC ? "disk full"
					   : "cannot record the change";
		return -1;
	}
	st->modseq_lines += n ? n : 1;
	return 0;
}

int store_sync_write_keywords(const char *dir, const struct store_state *st,
			      const char **error_r)
{
	struct buf b;
	buf_init(&b, 0);
	int rc = keywords_format(st->keywords, &b);
	if (rc == 0)
		rc = store_write_atomic(dir, KEYWORDS_FILE, b.len ? b.data : "",
					b.len);
	buf_free(&b);
	if (rc < 0)
		*error_r = "cannot write the keywords file";
	return rc;
}
