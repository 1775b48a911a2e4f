/* append: new messages in a folder, from APPEND or COPY.
 *
 * Order (store/sync.h): the message is made durable first (APPEND: in
 * tmp/, fsync; COPY: it already is), then, with the folder locked and
 * synced, linked into cur/ with its flags, cur/ fsync'd, and only then
 * given its UID. Linking under the lock, after the sync's listing, means
 * no other session can give the file a UID first, so the UIDs returned
 * are exactly those of these files. */
#include "store/mailbox.h"

#include "lib/durable.h"
#include "lib/log.h"
#include "lib/util.h"
#include "store/cache.h"
#include "store/maildir.h"
#include "store/quota.h"
#include "store/sync.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static unsigned name_counter; /* Q<n>: unique within this process */

/* The host part of a name may not hold '/' or ':' (maildir(5)) and, so
 * that ",S=" stays unambiguous, no ','. */
static void host_part(const char *hostname, char *out, size_t outsz)
{
	char host[256];
	if (hostname == NULL) {
		if (gethostname(host, sizeof(host)) < 0)
			snprintf(host, sizeof(host), "localhost");
		host[sizeof(host) - 1] = '\0';
		hostname = host;
	}
	size_t o = 0;
	for (; *hostname != '\0' && o + 5 < outsz; hostname++) {
		unsigned char c = (unsigned char)*hostname;
		if (c == '/' || c == ':' || c == ',' || c < 0x20 || c >= 0x7f)
			o += (size_t)snprintf(out + o, outsz - o, "\\%03o", c);
		else
			out[o++] = (char)c;
	}
	out[o] = '\0';
}

/* "TIME.M<usec>P<pid>Q<n>.HOST,S=size[,W=crlf_size]", as Dovecot names
 * what it saves. */
static int unique_base(const char *host, uint64_t size, uint64_t crlf_size,
		       char out[MDNAME_MAX + 1])
{
	uint64_t us = wallclock_us();
	unsigned q = __atomic_add_fetch(&name_counter, 1, __ATOMIC_RELAXED);
	char w[32] = "";
	if (crlf_size > 0)
		snprintf(w, sizeof(w), ",W=%" PRIu64, crlf_size);
	int n = snprintf(out, MDNAME_MAX + 1,
			 "%" PRIu64 ".M%06" PRIu64 "P%dQ%u.%s,S=%" PRIu64 "%s",
			 us / 1000000, us % 1000000, (int)getpid(), q, host, size,
			 w);
	return n > 0 && n <= MDNAME_MAX ? 0 : -1;
}

const char STORE_ERROR_QUOTA[] = "mailbox over quota";

static int over_quota(const char *root, const struct store_options *opt,
		      uint64_t adding, const char **error_r)
{
	uint64_t bytes = 0, count = 0;
	if (opt->quota == 0 ||
	    quota_usage(root, opt->quota, &bytes, &count) < 0 ||
	    bytes + adding <= opt->quota)
		return 0;
	*error_r = STORE_ERROR_QUOTA;
	return -1;
}

static size_t max_messages(const struct store_options *opt)
{
	return opt->max_messages ? opt->max_messages : STORE_MESSAGES_MAX;
}

static const char *io_error(const char *what)
{
	return errno == ENOSPC ? "disk full" : what;
}

/* ------------------------------------------------------------ APPEND */

static void sizes(const struct store_append *a, uint64_t *size,
		  uint64_t *crlf_size)
{
	char prev = '\0';
	*size = *crlf_size = 0;
	for (int i = 0; i < a->n_parts; i++) {
		const char *p = a->parts[i].iov_base;
		for (size_t j = 0; j < a->parts[i].iov_len; j++) {
			if (p[j] == '\n' && prev != '\r')
				(*crlf_size)++; /* a bare LF counts as CRLF */
			prev = p[j];
		}
		*size += a->parts[i].iov_len;
	}
	*crlf_size += *size;
}

/* Write the message to path (new, fsync'd), mtime = internaldate. */
static int write_tmp(const char *path, const struct store_append *a)
{
	struct iovec *iov = malloc((size_t)(a->n_parts ? a->n_parts : 1) *
				   sizeof(*iov));
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	int rc = iov == NULL || fd < 0 ? -1 : 0;
	if (rc == 0 && a->n_parts > 0) {
		memcpy(iov, a->parts, (size_t)a->n_parts * sizeof(*iov));
		rc = writev_all(fd, iov, a->n_parts);
	}
	if (rc == 0 && a->internaldate > 0) {
		struct timespec ts[2] = {{a->internaldate, 0},
					 {a->internaldate, 0}};
		rc = futimens(fd, ts);
	}
	if (rc == 0)
		rc = fsync(fd);
	int saved = errno;
	if (fd >= 0)
		close(fd);
	if (rc < 0 && fd >= 0)
		unlink(path);
	free(iov);
	errno = saved;
	return rc;
}

/* With dir locked and synced into now: link tmp into cur/ and give it
 * its UID. */
static int add_appended(const char *dir, struct store_state *now,
			const char *tmp, const char *base,
			const struct store_append *a, uint32_t *uid_r,
			const char **error_r)
{
	uint32_t kw;
	char name[MDNAME_MAX + 1], cur[MAILDIR_PATH_MAX], to[MAILDIR_PATH_MAX];
	if (store_add_keywords(dir, now, a->keywords, a->n_keywords, &kw,
			       error_r) < 0)
		return -1;
	if (mdname_with_flags(base, strlen(base), a->flags & STORE_SYSTEM_FLAGS,
			      kw, NULL, name) < 0 ||
	    snprintf(to, sizeof(to), "%s/cur/%s", dir, name) >= (int)sizeof(to)) {
		*error_r = "file name too long";
		return -1;
	}
	store_path(cur, dir, "cur");
	if (link(tmp, to) < 0 || fsync_dir(cur) < 0) {
		*error_r = io_error("cannot move the message into cur/");
		unlink(to);
		return -1;
	}
	char *names[1] = {name};
	if (store_sync_add(dir, now, names, 1, uid_r, error_r) < 0) {
		unlink(to); /* not given a UID anyone saw: take it back */
		return -1;
	}
	return 0;
}

static int append_locked(const char *root, const char *dir,
			 const struct store_options *opt, const char *tmp,
			 const char *base, const struct store_append *a,
			 uint32_t *uidvalidity_r, uint32_t *uid_r,
			 const char **error_r)
{
	struct store_state now = {0};
	int lock = store_lock(dir, error_r);
	if (lock < 0)
		return -1;
	int rc = store_sync(root, dir, max_messages(opt), &now, error_r);
	if (rc == 0 && now.n >= max_messages(opt)) {
		*error_r = "too many messages in this folder";
		rc = -1;
	}
	if (rc == 0)
		rc = add_appended(dir, &now, tmp, base, a, uid_r, error_r);
	*uidvalidity_r = now.uidvalidity;
	store_unlock(lock);
	store_cache_drop(dir); /* a file and its UID added */
	store_state_free(&now);
	return rc;
}

int store_append(const char *root, const char *folder,
		 const struct store_options *opt, const struct store_append *a,
		 uint32_t *uidvalidity_r, uint32_t *uid_r,
		 const char **error_r)
{
	char dir[MAILDIR_PATH_MAX], tmp[MAILDIR_PATH_MAX], host[128];
	char base[MDNAME_MAX + 1];
	uint64_t size, crlf_size;
	if (store_folder_dir(root, folder, dir, sizeof(dir)) < 0) {
		*error_r = "bad folder name";
		return -1;
	}
	sizes(a, &size, &crlf_size);
	if (over_quota(root, opt, size, error_r) < 0)
		return -1;
	host_part(opt->hostname, host, sizeof(host));
	if (unique_base(host, size, crlf_size, base) < 0 ||
	    snprintf(tmp, sizeof(tmp), "%s/tmp/%s", dir, base) >= (int)sizeof(tmp)) {
		*error_r = "file name too long";
		return -1;
	}
	if (write_tmp(tmp, a) < 0) {
		*error_r = errno == ENOENT ? "no such folder"
					   : io_error("cannot write the message");
		return -1;
	}
	int rc = append_locked(root, dir, opt, tmp, base, a, uidvalidity_r,
			       uid_r, error_r);
	unlink(tmp);
	if (rc == 0 && opt->quota > 0)
		quota_add(root, opt->quota, size);
	return rc;
}

/* ------------------------------------------------------------ COPY */

void store_copied_free(struct store_copied *c)
{
	free(c->src_uids);
	free(c->dst_uids);
	memset(c, 0, sizeof(*c));
}

/* Copy the bytes of src to dst (new, fsync'd): when link() cannot. */
static int copy_bytes(const char *src, const char *dst)
{
	char buf[65536];
	int in = open(src, O_RDONLY | O_CLOEXEC);
	int out = open(dst, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	int rc = in < 0 || out < 0 ? -1 : 0;
	struct stat sb;
	ssize_t n = 0;
	while (rc == 0 && (n = read(in, buf, sizeof(buf))) > 0)
		rc = write_all(out, buf, (size_t)n);
	if (rc == 0 && n < 0)
		rc = -1;
	if (rc == 0 && fstat(in, &sb) == 0) /* INTERNALDATE goes along */
		futimens(out, (struct timespec[2]){sb.st_mtim, sb.st_mtim});
	if (rc == 0)
		rc = fsync(out);
	int saved = errno;
	if (in >= 0)
		close(in);
	if (out >= 0)
		close(out);
	if (rc < 0 && out >= 0)
		unlink(dst);
	errno = saved;
	return rc;
}

/* The current name of a file with this base name in dir's new/ or cur/,
 * into path; no lock needed to look. */
static int find_by_base(const char *dir, const char *base, size_t len,
			char path[MAILDIR_PATH_MAX])
{
	static const char *const subs[] = {"cur", "new"};
	for (int i = 0; i < 2; i++) {
		char sub[MAILDIR_PATH_MAX];
		store_path(sub, dir, subs[i]);
		DIR *d = opendir(sub);
		struct dirent *de;
		while (d != NULL && (de = readdir(d)) != NULL) {
			size_t n = strlen(de->d_name);
			if (mdname_base_len(de->d_name, n) == len &&
			    memcmp(de->d_name, base, len) == 0) {
				store_path(path, sub, de->d_name);
				closedir(d);
				return 0;
			}
		}
		if (d != NULL)
			closedir(d);
	}
	errno = ENOENT;
	return -1;
}

/* Place one copy of src (path) at dst_dir/cur/name. */
static int place_copy(const char *src, const char *dst_dir, const char *name,
		      const char *base)
{
	char to[MAILDIR_PATH_MAX], tmp[MAILDIR_PATH_MAX];
	if (snprintf(to, sizeof(to), "%s/cur/%s", dst_dir, name) >= (int)sizeof(to)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	if (link(src, to) == 0)
		return 0;
	if (errno != EXDEV && errno != EPERM && errno != EMLINK)
		return -1;
	snprintf(tmp, sizeof(tmp), "%s/tmp/%s", dst_dir, base);
	int rc = copy_bytes(src, tmp);
	if (rc == 0)
		rc = link(tmp, to);
	unlink(tmp);
	return rc;
}

struct copy_ctx {
	struct store_mailbox *src;
	const struct store_state *src_st;
	const char *src_dir, *dst_dir;
	struct store_state *dst;
	char host[128];
};

/* The name in the target: a new base, the same flags, keywords by name. */
static int copy_name(struct copy_ctx *c, const struct store_msg *m,
		     char base[MDNAME_MAX + 1], char name[MDNAME_MAX + 1],
		     const char **error_r)
{
	const char *kw[STORE_KEYWORDS_MAX];
	size_t n_kw = 0;
	uint32_t mask;
	for (unsigned i = 0; i < STORE_KEYWORDS_MAX; i++)
		if ((m->keywords & (UINT32_C(1) << i)) &&
		    store_mailbox_keyword(c->src, i) != NULL)
			kw[n_kw++] = store_mailbox_keyword(c->src, i);
	if (store_add_keywords(c->dst_dir, c->dst, kw, n_kw, &mask, error_r) < 0)
		return -1;
	if (unique_base(c->host, m->size, m->crlf_size, base) < 0 ||
	    mdname_with_flags(base, strlen(base), m->flags, mask, NULL, name) < 0) {
		*error_r = "file name too long";
		return -1;
	}
	return 0;
}

static int copy_one(struct copy_ctx *c, const struct store_msg *m,
		    char name[MDNAME_MAX + 1], const char **error_r)
{
	char base[MDNAME_MAX + 1], src[MAILDIR_PATH_MAX];
	if (copy_name(c, m, base, name, error_r) < 0)
		return -1;
	store_path(src, c->src_dir, store_msg_path(c->src_st, m));
	int rc = place_copy(src, c->dst_dir, name, base);
	if (rc < 0 && errno == ENOENT) {
		/* renamed by a flag change since our snapshot */
		const char *old = store_msg_name(c->src_st, m);
		if (find_by_base(c->src_dir, old, m->base_len, src) == 0)
			rc = place_copy(src, c->dst_dir, name, base);
	}
	if (rc < 0)
		*error_r = errno == ENOENT ? "message has been expunged"
					   : io_error("cannot copy the message");
	return rc;
}

static int copy_locked(struct copy_ctx *c, const uint32_t *uids, size_t n,
		       struct store_copied *out, const char **error_r)
{
	char (*names)[MDNAME_MAX + 1] = malloc((n ? n : 1) * sizeof(*names));
	char **ptrs = malloc((n ? n : 1) * sizeof(*ptrs));
	out->src_uids = malloc((n ? n : 1) * sizeof(uint32_t));
	out->dst_uids = malloc((n ? n : 1) * sizeof(uint32_t));
	int rc = names && ptrs && out->src_uids && out->dst_uids ? 0 : -1;
	if (rc < 0)
		*error_r = "out of memory";
	size_t k = 0;
	for (size_t i = 0; i < n && rc == 0; i++) {
		const struct store_msg *m = store_state_find(c->src_st, uids[i]);
		if (m == NULL)
			continue;
		rc = copy_one(c, m, names[k], error_r);
		if (rc < 0)
			break;
		ptrs[k] = names[k];
		out->src_uids[k++] = m->uid;
	}
	char cur[MAILDIR_PATH_MAX];
	store_path(cur, c->dst_dir, "cur");
	if (rc == 0 && k > 0 && fsync_dir(cur) < 0) {
		*error_r = io_error("cannot sync the folder");
		rc = -1;
	}
	if (rc == 0)
		rc = store_sync_add(c->dst_dir, c->dst, ptrs, k, out->dst_uids,
				    error_r);
	if (rc == 0)
		out->n = k;
	for (size_t i = 0; rc < 0 && i < k; i++) {
		char path[MAILDIR_PATH_MAX]; /* no UIDs given: take them back */
		snprintf(path, sizeof(path), "%s/cur/%s", c->dst_dir, names[i]);
		unlink(path);
	}
	free(names);
	free(ptrs);
	return rc;
}

int store_mailbox_copy(struct store_mailbox *mb, const uint32_t *uids,
		       size_t n, const char *folder, struct store_copied *out,
		       const char **error_r)
{
	const struct store_options *opt = store_mailbox_options(mb);
	char dst_dir[MAILDIR_PATH_MAX];
	struct store_state dst = {0};
	struct copy_ctx c = {.src = mb, .src_st = store_mailbox_snapshot(mb),
			     .src_dir = store_mailbox_dir(mb), .dst_dir = dst_dir,
			     .dst = &dst};
	memset(out, 0, sizeof(*out));
	if (store_folder_dir(store_mailbox_root(mb), folder, dst_dir,
			     sizeof(dst_dir)) < 0) {
		*error_r = "bad folder name";
		return -1;
	}
	uint64_t bytes = 0;
	for (size_t i = 0; i < n; i++) {
		const struct store_msg *m = store_state_find(c.src_st, uids[i]);
		bytes += m != NULL ? m->size : 0;
	}
	if (over_quota(store_mailbox_root(mb), opt, bytes, error_r) < 0)
		return -1;
	host_part(opt->hostname, c.host, sizeof(c.host));
	int lock = store_lock(dst_dir, error_r);
	if (lock < 0)
		return -1;
	int rc = store_sync(store_mailbox_root(mb), dst_dir, max_messages(opt),
			    &dst, error_r);
	if (rc == 0 && dst.n + n > max_messages(opt)) {
		*error_r = "too many messages in the target folder";
		rc = -1;
	}
	if (rc == 0)
		rc = copy_locked(&c, uids, n, out, error_r);
	out->uidvalidity = dst.uidvalidity;
	store_unlock(lock);
	store_cache_drop(dst_dir); /* files and their UIDs added */
	store_state_free(&dst);
	if (rc < 0)
		store_copied_free(out);
	else if (opt->quota > 0)
		for (size_t i = 0; i < out->n; i++)
			quota_add(store_mailbox_root(mb), opt->quota,
				  store_state_find(c.src_st, out->src_uids[i])->size);
	return rc;
}
