/* spool: durable queue files. */
#include "queue/spool.h"

#include "lib/durable.h"
#include "lib/log.h"
#include "lib/parse.h"
#include "lib/util.h"
#include "mail/header.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct spool {
	char tmp[PATH_MAX], queue[PATH_MAX], corrupt[PATH_MAX], status[PATH_MAX];
	char hold[PATH_MAX];
	uint64_t max_file;
	struct dirsync *queue_sync;
};

struct spool_msg {
	struct spool *spool;
	struct envelope env;
	struct buf header; /* the encoded envelope, through "data\n" */
	struct buf body;   /* message bytes not yet written */
	uint64_t written;  /* message bytes already in the tmp file */
	int fd;            /* the tmp file, once spilled */
	bool committed;
	char tmp_path[PATH_MAX];
};

struct spool *spool_open(const char *data_dir, uint64_t max_file)
{
	struct spool *s = calloc(1, sizeof(*s));
	if (s == NULL)
		return NULL;
	int n1 = snprintf(s->tmp, PATH_MAX, "%s/spool/tmp", data_dir);
	int n2 = snprintf(s->queue, PATH_MAX, "%s/spool/queue", data_dir);
	int n3 = snprintf(s->corrupt, PATH_MAX, "%s/spool/corrupt", data_dir);
	int n4 = snprintf(s->status, PATH_MAX, "%s/spool/status", data_dir);
	int n5 = snprintf(s->hold, PATH_MAX, "%s/spool/hold", data_dir);
	s->max_file = max_file;
	if (n1 >= PATH_MAX - 64 || n2 >= PATH_MAX - 64 || n3 >= PATH_MAX - 64 ||
	    n4 >= PATH_MAX - 64 || n5 >= PATH_MAX - 64) {
		errno = ENAMETOOLONG;
		goto fail;
	}
	if (mkdir_p(s->tmp, 0700) < 0 || mkdir_p(s->queue, 0700) < 0 ||
	    mkdir_p(s->corrupt, 0700) < 0 || mkdir_p(s->status, 0700) < 0 ||
	    mkdir_p(s->hold, 0700) < 0)
		goto fail;
	s->queue_sync = dirsync_acquire(s->queue);
	if (s->queue_sync == NULL)
		goto fail;
	return s;
fail:
	free(s);
	return NULL;
}

void spool_close(struct spool **sp)
{
	struct spool *s = *sp;
	if (s == NULL)
		return;
	dirsync_release(s->queue_sync);
	free(s);
	*sp = NULL;
}

void spool_new_id(char out[QUEUE_ID_LEN + 1])
{
	static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
	static uint64_t last_us;
	static unsigned counter;
	pthread_mutex_lock(&mu);
	uint64_t now = wallclock_us();
	if (now <= last_us) {
		/* same microsecond, or the clock stepped back: keep counting up */
		if (++counter >= 0x1000) {
			counter = 0;
			last_us++;
		}
		now = last_us;
	} else {
		counter = 0;
		last_us = now;
	}
	unsigned c = counter;
	pthread_mutex_unlock(&mu);
	/* 13 hex digits of microseconds (good until 2112), 3 of counter */
	snprintf(out, QUEUE_ID_LEN + 1, "%013llX%03X",
		 (unsigned long long)(now & 0xFFFFFFFFFFFFFULL), c);
}

/* ------------------------------------------------------------ receiving */

struct spool_msg *spool_msg_new(struct spool *s, struct envelope *env)
{
	struct spool_msg *m = calloc(1, sizeof(*m));
	if (m == NULL) {
		envelope_free(env);
		return NULL;
	}
	m->spool = s;
	m->env = *env;
	memset(env, 0, sizeof(*env));
	m->fd = -1;
	unsigned char nonce[QFILE_NONCE_LEN / 2];
	random_bytes(nonce, sizeof(nonce));
	for (size_t i = 0; i < sizeof(nonce); i++)
		snprintf(m->env.nonce + 2 * i, 3, "%02x", nonce[i]);
	buf_init(&m->header, QFILE_HEADER_MAX);
	buf_init(&m->body, 0);
	if (path_join(m->tmp_path, sizeof(m->tmp_path), s->tmp, m->env.id) < 0 ||
	    qfile_encode_header(&m->env, &m->header) < 0) {
		spool_msg_free(&m);
		return NULL;
	}
	return m;
}

const struct envelope *spool_msg_envelope(const struct spool_msg *m)
{
	return &m->env;
}

struct buf *spool_msg_body(struct spool_msg *m)
{
	return &m->body;
}

int spool_msg_prepend(struct spool_msg *m, const char *text, size_t n)
{
	return envelope_prepend(&m->env, text, n);
}

/* Write what is buffered (the header first, on the first call). */
static int flush_to_tmp(struct spool_msg *m)
{
	if (m->fd < 0) {
		/* read-write: spool_msg_read() reads the message back */
		m->fd = open(m->tmp_path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC,
			     0600);
		if (m->fd < 0 || write_all(m->fd, m->header.data, m->header.len) < 0)
			return -1;
	}
	if (m->body.len > 0 && write_all(m->fd, m->body.data, m->body.len) < 0)
		return -1;
	m->written += m->body.len;
	buf_clear(&m->body);
	return 0;
}

int spool_msg_spill(struct spool_msg *m, size_t threshold)
{
	if (m->body.len <= threshold)
		return 0;
	int rc = flush_to_tmp(m);
	if (m->body.cap > 2 * threshold) /* give back a large buffer */
		buf_free(&m->body);
	return rc;
}

void spool_msg_quarantine_rcpt(struct spool_msg *m, size_t i)
{
	if (i < m->env.n_rcpts)
		m->env.rcpts[i].junk = true;
}

void spool_msg_quarantine(struct spool_msg *m)
{
	m->env.quarantine = true;
}

int spool_msg_read(struct spool_msg *m, spool_read_fn *fn, void *arg)
{
	char chunk[64 * 1024];
	uint64_t off = 0;
	while (off < m->written) {
		size_t want = m->written - off < sizeof(chunk)
				      ? (size_t)(m->written - off)
				      : sizeof(chunk);
		ssize_t n = pread(m->fd, chunk, want, (off_t)(m->header.len + off));
		if (n <= 0) {
			if (n < 0 && errno == EINTR)
				continue;
			return -1;
		}
		fn(arg, chunk, (size_t)n);
		off += (uint64_t)n;
	}
	if (m->body.len > 0)
		fn(arg, m->body.data, m->body.len);
	return 0;
}

/* Whether byte off of the message falls in one of the cuts. */
static const struct spool_cut *cut_at(const struct spool_cut *cuts, size_t n,
				      uint64_t off)
{
	for (size_t i = 0; i < n; i++)
		if (off >= cuts[i].off && off < cuts[i].off + cuts[i].len)
			return &cuts[i];
	return NULL;
}

/* In memory: close the gaps. */
static void cut_memory(struct buf *b, const struct spool_cut *cuts, size_t n)
{
	size_t o = 0;
	for (size_t i = 0; i < b->len;) {
		const struct spool_cut *c = cut_at(cuts, n, i);
		if (c != NULL) {
			i = c->off + c->len;
			continue;
		}
		b->data[o++] = b->data[i++];
	}
	b->len = o;
}

/* Spilled: everything to the file, then copy it to a new one without the
 * cuts (a rare path: only messages with forged fields take it). */
static int cut_file(struct spool_msg *m, const struct spool_cut *cuts, size_t n)
{
	char path[PATH_MAX + 8];
	char chunk[64 * 1024];
	snprintf(path, sizeof(path), "%s.cut", m->tmp_path);
	if (flush_to_tmp(m) < 0)
		return -1;
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return -1;
	uint64_t off = 0, kept = 0;
	int rc = write_all(fd, m->header.data, m->header.len);
	while (rc == 0 && off < m->written) {
		const struct spool_cut *c = cut_at(cuts, n, off);
		if (c != NULL) {
			off = c->off + c->len;
			continue;
		}
		uint64_t stop = m->written;
		for (size_t i = 0; i < n; i++) /* up to the next cut */
			if (cuts[i].off > off && cuts[i].off < stop)
				stop = cuts[i].off;
		size_t want = stop - off < sizeof(chunk) ? (size_t)(stop - off)
							 : sizeof(chunk);
		ssize_t got = pread(m->fd, chunk, want, (off_t)(m->header.len + off));
		rc = got > 0 ? write_all(fd, chunk, (size_t)got) : -1;
		off += got > 0 ? (uint64_t)got : 0;
		kept += got > 0 ? (uint64_t)got : 0;
	}
	if (rc < 0 || rename(path, m->tmp_path) < 0) {
		close(fd);
		unlink(path);
		return -1;
	}
	close(m->fd);
	m->fd = fd;
	m->written = kept;
	return 0;
}

int spool_msg_cut(struct spool_msg *m, const struct spool_cut *cuts, size_t n)
{
	if (n == 0)
		return 0;
	if (m->fd < 0) {
		cut_memory(&m->body, cuts, n);
		return 0;
	}
	return cut_file(m, cuts, n);
}

struct body_reader {
	struct header_skip skip;
	spool_read_fn *fn;
	void *arg;
};

static void body_only(void *arg, const char *p, size_t n)
{
	struct body_reader *br = arg;
	size_t i = header_skip(&br->skip, p, n);
	if (i < n)
		br->fn(br->arg, p + i, n - i);
}

int spool_msg_read_body(struct spool_msg *m, uint64_t header_len,
			spool_read_fn *fn, void *arg)
{
	struct body_reader br = {.fn = fn, .arg = arg};
	header_skip_init(&br.skip, header_len);
	return spool_msg_read(m, body_only, &br);
}

static int place(const char *from, const char *to)
{
	/* never replace a queued message, even if an id came round twice */
	if (renameat2(AT_FDCWD, from, AT_FDCWD, to, RENAME_NOREPLACE) == 0)
		return 0;
	if (errno == EINVAL) /* a file system without RENAME_NOREPLACE */
		return rename(from, to);
	return -1;
}

int spool_msg_commit(struct spool_msg *m, const char **error_r)
{
	char final[PATH_MAX];
	struct buf eb;
	buf_init(&eb, 0);
	if (qfile_encode_end(&m->env, m->written + m->body.len, &eb) < 0 ||
	    path_join(final, sizeof(final), m->spool->queue, m->env.id) < 0 ||
	    (m->fd < 0 && (m->fd = open(m->tmp_path, O_WRONLY | O_CREAT |
							 O_EXCL | O_CLOEXEC,
					0600)) < 0)) {
		buf_free(&eb);
		*error_r = "cannot create the queue file";
		goto fail;
	}
	struct iovec iov[3];
	int n = 0;
	if (m->written == 0 && lseek(m->fd, 0, SEEK_END) == 0)
		iov[n++] = (struct iovec){m->header.data, m->header.len};
	iov[n++] = (struct iovec){m->body.data, m->body.len};
	iov[n++] = (struct iovec){eb.data, eb.len};
	int rc = writev_all(m->fd, iov, n);
	buf_free(&eb);
	if (rc < 0 || fdatasync(m->fd) < 0) {
		*error_r = errno == ENOSPC ? "disk full" : "cannot write the queue file";
		goto fail;
	}
	close(m->fd);
	m->fd = -1;
	if (place(m->tmp_path, final) < 0) {
		*error_r = "cannot move the message into the queue";
		goto fail;
	}
	m->committed = true;
	if (dirsync_sync(m->spool->queue_sync) < 0) {
		/* renamed but maybe not durable: it will be delivered, but the
		 * client must not count on it, so it gets a temporary error */
		*error_r = "cannot sync the queue directory";
		return -1;
	}
	return 0;
fail:
	log_error("queue=%s event=commit-failed error=\"%s\" errno=\"%s\"",
		  m->env.id, *error_r, strerror(errno));
	return -1;
}

void spool_msg_free(struct spool_msg **mp)
{
	struct spool_msg *m = *mp;
	if (m == NULL)
		return;
	if (m->fd >= 0)
		close(m->fd);
	if (!m->committed)
		unlink(m->tmp_path);
	buf_free(&m->header);
	buf_free(&m->body);
	envelope_free(&m->env);
	free(m);
	*mp = NULL;
}

/* ------------------------------------------------------------ delivering */

static int load_from(struct spool *s, const char *dir, const char *id,
		     struct queued *q, const char **error_r)
{
	char path[PATH_MAX];
	memset(q, 0, sizeof(*q));
	if (!queue_id_valid(id)) {
		*error_r = "not a queue id";
		errno = EBADMSG;
		return -1;
	}
	size_t len;
	if (path_join(path, sizeof(path), dir, id) < 0 ||
	    read_file(path, s->max_file, &q->data, &len) < 0) {
		*error_r = errno == EFBIG ? "file too large" : strerror(errno);
		if (errno == EFBIG)
			errno = EBADMSG;
		return -1;
	}
	if (qfile_parse(q->data, len, &q->env, &q->msg_off, &q->msg_len,
			error_r) < 0 ||
	    strcmp(q->env.id, id) != 0) {
		if (q->env.id[0] != '\0')
			*error_r = "file name and queue id differ";
		queued_free(q);
		errno = EBADMSG;
		return -1;
	}
	return 0;
}

int spool_load(struct spool *s, const char *id, struct queued *q,
	       const char **error_r)
{
	return load_from(s, s->queue, id, q, error_r);
}

void queued_free(struct queued *q)
{
	envelope_free(&q->env);
	free(q->data);
	q->data = NULL;
}

int spool_remove(struct spool *s, const char *id)
{
	char path[PATH_MAX];
	if (path_join(path, sizeof(path), s->queue, id) < 0)
		return -1;
	/* no directory sync: if the removal is lost in a crash, the message is
	 * delivered again and Maildir delivery sees that it is already there */
	int rc = unlink(path);
	if (rc == 0 && path_join(path, sizeof(path), s->status, id) == 0)
		unlink(path); /* after the message: a crash leaves no message
				 without its status */
	return rc;
}

/* One status line: "d N", "f N", "w N text", "n ATTEMPTS TIME" or "x". */
static void status_line(const char *line, size_t len, size_t n,
			struct spool_status *st)
{
	if (len == 1 && line[0] == 'x')
		st->delay_warned = true;
	if (len < 3 || line[1] != ' ')
		return;
	const char *arg = line + 2, *end = line + len;
	const char *sp = memchr(arg, ' ', (size_t)(end - arg));
	uint64_t a, b;
	if ((line[0] == 'd' || line[0] == 'f') &&
	    parse_u64(arg, (size_t)(end - arg), UINT64_MAX, &a) == 0 && a < n) {
		st->state[a] = line[0] == 'd' ? RCPT_DELIVERED : RCPT_FAILED;
	} else if (line[0] == 'w' && sp != NULL && st->why != NULL &&
		   parse_u64(arg, (size_t)(sp - arg), UINT64_MAX, &a) == 0 &&
		   a < n) {
		char *text = strndup(sp + 1, (size_t)(end - sp - 1));
		if (text != NULL) {
			free(st->why[a]);
			st->why[a] = text;
		}
	} else if (line[0] == 'n' && sp != NULL &&
		   parse_u64(arg, (size_t)(sp - arg), UINT32_MAX, &a) == 0 &&
		   parse_u64(sp + 1, (size_t)(end - sp - 1), INT64_MAX, &b) == 0) {
		st->attempts = (unsigned)a;
		st->next_try = (int64_t)b;
	}
}

void spool_status_parse(const char *data, size_t len, size_t n,
			struct spool_status *st)
{
	/* a torn last line (no LF) is ignored; later lines win */
	size_t pos = 0;
	while (pos < len) {
		const char *nl = memchr(data + pos, '\n', len - pos);
		if (nl == NULL)
			break;
		status_line(data + pos, (size_t)(nl - (data + pos)), n, st);
		pos = (size_t)(nl - data) + 1;
	}
}

int spool_status_read(struct spool *s, const char *id, size_t n,
		      struct spool_status *st)
{
	char path[PATH_MAX], *data;
	size_t len;
	if (path_join(path, sizeof(path), s->status, id) < 0)
		return -1;
	if (read_file(path, SPOOL_STATUS_MAX, &data, &len) < 0)
		return errno == ENOENT ? 0 : -1;
	spool_status_parse(data, len, n, st);
	free(data);
	return 0;
}

/* Append lines to the status file; synced when they settle something. */
static int status_append(struct spool *s, const char *id, const struct buf *b,
			 bool sync)
{
	char path[PATH_MAX];
	if (b->len == 0)
		return 0;
	if (path_join(path, sizeof(path), s->status, id) < 0)
		return -1;
	bool created = access(path, F_OK) < 0;
	int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	if (fd < 0)
		return -1;
	int rc = write_all(fd, b->data, b->len) == 0 &&
			 (!sync || fdatasync(fd) == 0)
		 ? 0
		 : -1;
	close(fd);
	if (rc == 0 && created && sync)
		rc = fsync_dir(s->status);
	return rc;
}

int spool_status_warned(struct spool *s, const char *id)
{
	struct buf b;
	buf_init(&b, 0);
	int rc = buf_append_str(&b, "x\n");
	if (rc == 0)
		rc = status_append(s, id, &b, true);
	buf_free(&b);
	return rc;
}

int spool_status_note(struct spool *s, const char *id, unsigned attempts,
		      int64_t next_try, const size_t *idx,
		      const char *const *why, size_t n)
{
	struct buf b;
	buf_init(&b, 0);
	int rc = 0;
	for (size_t i = 0; i < n && rc == 0; i++) {
		/* one line each: control bytes become spaces */
		size_t len = strnlen(why[i], SPOOL_WHY_MAX);
		rc = buf_appendf(&b, "w %zu ", idx[i]);
		for (size_t k = 0; k < len && rc == 0; k++) {
			unsigned char c = (unsigned char)why[i][k];
			rc = buf_append_byte(&b, c < 0x20 || c == 0x7f ? ' '
								      : (char)c);
		}
		if (rc == 0)
			rc = buf_append_byte(&b, '\n');
	}
	if (rc == 0)
		rc = buf_appendf(&b, "n %u %lld\n", attempts, (long long)next_try);
	/* not synced: it informs `postern queue`, it decides nothing */
	if (rc == 0)
		rc = status_append(s, id, &b, false);
	buf_free(&b);
	return rc;
}

int spool_status_record(struct spool *s, const char *id, const size_t *idx,
			const unsigned char *st, size_t n)
{
	struct buf b;
	buf_init(&b, 0);
	int rc = 0;
	for (size_t i = 0; i < n && rc == 0; i++)
		rc = buf_appendf(&b, "%c %zu\n",
				 st[i] == RCPT_DELIVERED ? 'd' : 'f', idx[i]);
	if (rc == 0)
		rc = status_append(s, id, &b, true);
	buf_free(&b);
	return rc;
}

/* Status files whose message is gone (a crash between the two unlinks). */
static void clear_stale_status(struct spool *s)
{
	DIR *d = opendir(s->status);
	if (d == NULL)
		return;
	struct dirent *de;
	char spath[PATH_MAX];
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.' ||
		    path_join(spath, sizeof(spath), s->status, de->d_name) < 0)
			continue;
		if (spool_where(s, de->d_name) == SPOOL_NONE && errno == ENOENT)
			unlink(spath);
	}
	closedir(d);
}

int spool_quarantine(struct spool *s, const char *name)
{
	char from[PATH_MAX], to[PATH_MAX], stamped[300];
	int n = snprintf(stamped, sizeof(stamped), "%s.%lld", name,
			 (long long)time(NULL));
	if (n < 0 || (size_t)n >= sizeof(stamped) ||
	    path_join(from, sizeof(from), s->queue, name) < 0 ||
	    path_join(to, sizeof(to), s->corrupt, stamped) < 0 ||
	    rename(from, to) < 0)
		return -1;
	fsync_dir(s->corrupt);
	return fsync_dir(s->queue);
}

static void clear_tmp(struct spool *s)
{
	DIR *d = opendir(s->tmp);
	if (d == NULL)
		return;
	struct dirent *de;
	char path[PATH_MAX];
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		if (path_join(path, sizeof(path), s->tmp, de->d_name) == 0 &&
		    unlink(path) == 0)
			log_info("queue=%s event=discarded reason=\"never "
				 "accepted (in tmp/ at start-up)\"",
				 de->d_name);
	}
	closedir(d);
}

long spool_recover(struct spool *s, spool_found_fn *fn, void *arg)
{
	clear_tmp(s);
	clear_stale_status(s);
	DIR *d = opendir(s->queue);
	if (d == NULL)
		return -1;
	long found = 0;
	struct dirent *de;
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		struct queued q;
		const char *why;
		char name[96];
		log_value(name, sizeof(name), de->d_name, strlen(de->d_name));
		if (spool_load(s, de->d_name, &q, &why) < 0) {
			if (errno == ENOENT)
				continue;
			if (errno != EBADMSG) {
				/* unreadable is not damaged: keep it, retry later */
				log_error("queue=%s event=read-failed error=\"%s\"",
					  name, why);
				struct envelope id_only = {0};
				/* spool_load refused invalid ids as EBADMSG */
				memcpy(id_only.id, de->d_name, QUEUE_ID_LEN);
				fn(arg, &id_only);
				found++;
				continue;
			}
			log_error("queue=%s event=corrupt action=moved-to-corrupt "
				  "error=\"%s\"", name, why);
			spool_quarantine(s, de->d_name);
			continue;
		}
		fn(arg, &q.env);
		queued_free(&q);
		found++;
	}
	closedir(d);
	return found;
}

/* ------------------------------------------------------------ administration */

enum spool_place spool_where(struct spool *s, const char *id)
{
	char path[PATH_MAX];
	if (!queue_id_valid(id)) {
		errno = EINVAL;
		return SPOOL_NONE;
	}
	if (path_join(path, sizeof(path), s->queue, id) == 0 &&
	    access(path, F_OK) == 0)
		return SPOOL_QUEUED;
	if (errno == ENOENT && path_join(path, sizeof(path), s->hold, id) == 0 &&
	    access(path, F_OK) == 0)
		return SPOOL_HELD;
	return SPOOL_NONE;
}

int spool_load_any(struct spool *s, const char *id, struct queued *q,
		   bool *held, const char **error_r)
{
	*held = false;
	int rc = load_from(s, s->queue, id, q, error_r);
	if (rc < 0 && errno == ENOENT) {
		*held = true;
		rc = load_from(s, s->hold, id, q, error_r);
	}
	return rc;
}

/* Move id from one directory to the other, durably. */
static int move_between(const char *from_dir, const char *to_dir,
			const char *id)
{
	char from[PATH_MAX], to[PATH_MAX];
	if (!queue_id_valid(id)) {
		errno = ENOENT;
		return -1;
	}
	if (path_join(from, sizeof(from), from_dir, id) < 0 ||
	    path_join(to, sizeof(to), to_dir, id) < 0 || rename(from, to) < 0)
		return -1;
	if (fsync_dir(to_dir) < 0)
		return -1;
	return fsync_dir(from_dir);
}

int spool_hold(struct spool *s, const char *id)
{
	return move_between(s->queue, s->hold, id);
}

int spool_release(struct spool *s, const char *id)
{
	return move_between(s->hold, s->queue, id);
}

int spool_delete(struct spool *s, const char *id)
{
	char path[PATH_MAX];
	enum spool_place where = spool_where(s, id);
	if (where == SPOOL_NONE)
		return -1;
	const char *dir = where == SPOOL_QUEUED ? s->queue : s->hold;
	if (path_join(path, sizeof(path), dir, id) < 0 || unlink(path) < 0)
		return -1;
	fsync_dir(dir); /* a deletion lost in a crash is only a message kept */
	if (path_join(path, sizeof(path), s->status, id) == 0)
		unlink(path);
	return 0;
}

static int list_dir(const char *dir, bool held, spool_list_fn *fn, void *arg)
{
	DIR *d = opendir(dir);
	if (d == NULL)
		return -1;
	struct dirent *de;
	while ((de = readdir(d)) != NULL)
		if (queue_id_valid(de->d_name))
			fn(arg, de->d_name, held);
	closedir(d);
	return 0;
}

int spool_list(struct spool *s, spool_list_fn *fn, void *arg)
{
	if (list_dir(s->queue, false, fn, arg) < 0)
		return -1;
	return list_dir(s->hold, true, fn, arg);
}
