/* msgread: the messages of the selected mailbox as SEARCH, SORT and THREAD
 * read them, on the pool. A header block comes from the process's header
 * cache (store/hdrcache.h) or, on a miss, from the file, usually in one
 * read(), and then goes into the cache; a whole message is read into one
 * buffer reused from message to message. Either way the caller sees the
 * same bytes as the file holds, so a key matches the same with or
 * without the cache. FETCH, which reads messages its own way, hands
 * their header blocks to the cache too (imapd_note_header).
 *
 * One difference remains: a message another session expunged, still in
 * this session's snapshot until its next refresh, matches header keys
 * from the cache where its file can no longer be read. Its other data
 * (flags, size) is still answered from the snapshot as well, so this is
 * the more consistent answer, and IMAP lets a server keep showing such
 * a message until it has reported the EXPUNGE. */
#include "imapd/imapd.h"

#include "store/hdrcache.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

enum {
	/* the first read for a header block: most headers are a few KB,
	 * and a small message then comes whole in one read() */
	HEADER_FIRST_READ = 8 * 1024,
};

void imapd_reader_init(struct imapd_reader *r)
{
	memset(r, 0, sizeof(*r));
	buf_init(&r->buf, 0);
}

void imapd_reader_free(struct imapd_reader *r)
{
	hdrcache_folder_release(&r->cache);
	buf_free(&r->buf);
	r->cache_tried = false;
}

/* A handle on the selected folder's cache, or NULL. */
static struct hdrcache_folder *selected_cache(struct imap_session *s)
{
	char dir[MAILDIR_PATH_MAX];
	if (s->d->hdrcache == NULL ||
	    store_folder_dir(s->root, s->folder, dir, sizeof(dir)) < 0)
		return NULL;
	return hdrcache_folder_get(s->d->hdrcache, dir,
				   store_mailbox_uidvalidity(s->mb),
				   store_mailbox_guid(s->mb));
}

/* The cache of the selected folder, asked for once per reader. */
static struct hdrcache_folder *folder_cache(struct imap_session *s,
					    struct imapd_reader *r)
{
	if (!r->cache_tried)
		r->cache = selected_cache(s);
	r->cache_tried = true;
	return r->cache;
}

void imapd_note_header(struct imap_session *s, size_t idx, const char *data,
		       size_t len, bool whole)
{
	size_t end = hdrcache_header_end(data, len);
	if (end == 0 && whole)
		end = len; /* no empty line: all of it, as read_block says */
	if (end == 0 || end > HDRCACHE_ENTRY_MAX)
		return;
	uint32_t uid = store_mailbox_msgs(s->mb)[idx].uid;
	struct hdrcache_folder *f = selected_cache(s);
	if (f != NULL)
		hdrcache_insert(f, uid, data, end);
	hdrcache_folder_release(&f);
}

/* One read() of up to want - len bytes onto b: the count, 0 at the end of
 * the file, -1 on error. */
static ssize_t read_once(int fd, struct buf *b, size_t want)
{
	if (buf_reserve(b, want - b->len) < 0)
		return -1;
	ssize_t n;
	do
		n = read(fd, b->data + b->len, want - b->len);
	while (n < 0 && errno == EINTR);
	if (n > 0) {
		b->len += (size_t)n;
		b->data[b->len] = '\0';
	}
	return n;
}

/* Read fd until its header block ends, the file ends, or more than
 * HDRCACHE_ENTRY_MAX bytes came: the block's length, 0 when it is
 * longer than that or the file is empty (either way the caller reads the
 * message whole), -1 on error. */
static long read_block(int fd, struct buf *b)
{
	size_t want = HEADER_FIRST_READ, end = 0;
	buf_clear(b);
	for (;;) {
		/* an empty line cut by the last read starts 2 bytes back */
		size_t from = b->len >= 2 ? b->len - 2 : 0;
		ssize_t n = read_once(fd, b, want);
		if (n < 0)
			return -1;
		end = hdrcache_header_end(b->data + from, b->len - from);
		if (end > 0)
			end += from;
		else if (n == 0)
			end = b->len; /* no empty line: all of it */
		/* at the end of the file whatever came (an empty file: no
		 * block, and another read() would return 0 for ever) */
		if (end > 0 || n == 0 || b->len > HDRCACHE_ENTRY_MAX)
			break;
		if (b->len == want)
			want = HDRCACHE_ENTRY_MAX + 1;
	}
	return end > 0 && end <= HDRCACHE_ENTRY_MAX ? (long)end : 0;
}

int imapd_read_header(struct imap_session *s, struct imapd_reader *r,
		      size_t idx, const char **hdr_r, size_t *len_r)
{
	const struct store_msg *m = &store_mailbox_msgs(s->mb)[idx];
	struct hdrcache_folder *cache = folder_cache(s, r);
	const char *why;
	if (cache != NULL && hdrcache_lookup(cache, m->uid, hdr_r, len_r)) {
		r->cached++;
		return 1;
	}
	int fd = store_mailbox_open_msg(s->mb, idx, &why);
	if (fd < 0)
		return -1;
	long end = read_block(fd, &r->buf);
	close(fd);
	r->read++;
	if (end <= 0)
		return (int)end;
	if (cache != NULL)
		hdrcache_insert(cache, m->uid, r->buf.data, (size_t)end);
	*hdr_r = r->buf.data;
	*len_r = (size_t)end;
	return 1;
}

int imapd_read_msg(struct imap_session *s, struct imapd_reader *r,
		   size_t idx, size_t cap, const char **data_r, size_t *len_r)
{
	const char *why;
	int fd = store_mailbox_open_msg(s->mb, idx, &why);
	if (fd < 0)
		return -1;
	ssize_t n = 1;
	buf_clear(&r->buf);
	while (r->buf.len < cap && (n = read_once(fd, &r->buf, cap)) > 0)
		;
	close(fd);
	if (n < 0 || buf_reserve(&r->buf, 0) < 0)
		return -1;
	r->buf.data[r->buf.len] = '\0';
	*data_r = r->buf.data;
	*len_r = r->buf.len;
	return 0;
}
