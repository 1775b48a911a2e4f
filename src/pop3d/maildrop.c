/* maildrop: the store side of POP3 (RFC 1939 5, 6): the maildrop lock and
 * snapshot taken at login, STAT, LIST, UIDL, RETR, TOP, DELE, RSET, and
 * the UPDATE state QUIT enters.
 *
 * POP3 sees INBOX only (the root of the user's Maildir++ tree). The
 * snapshot is the folder as store_mailbox_open found it at login: mail
 * delivered during the session is not shown until the next one, and
 * message numbers never change within a session (RFC 1939 8).
 *
 * The lock: root/postern-pop3.lock, flock()ed exclusively and without
 * waiting at login, held until the session ends (QUIT, disconnect,
 * timeout). A second POP3 session of the same user gets -ERR [IN-USE]
 * (RFC 2449 8.1.1). IMAP sessions and delivery do not take it: the store
 * lets them work beside us, and a message they expunge meanwhile is
 * reported when RETR cannot open it.
 *
 * UIDL: UID and UIDVALIDITY in hex, Dovecot's default pop3_uidl_format
 * "%08Xu%08Xv": short, printable, unique and stable for as long as the
 * folder's uidlist is (the store never reuses a UID), and the same strings
 * Dovecot gave for the same dovecot-uidlist, so clients moving from
 * Dovecot do not download everything again. (The Maildir base name, which
 * Dovecot can use instead, may pass RFC 1939's 70 characters with a long
 * host name; and the store does not expose it.)
 *
 * \Seen: with pop3.mark_seen (the default), the messages a session
 * retrieved with RETR and did not delete are flagged \Seen at QUIT, which
 * moves them from new/ to cur/; TOP is a peek and changes nothing. */
#include "pop3d/pop3d.h"

#include "lib/log.h"
#include "lib/util.h"
#include "pop3d/stuff.h"
#include "store/folders.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#define LOCK_NAME "postern-pop3.lock"

/* ------------------------------------------------------------ the lock */

/* 1 locked (fd in *fd_r), 0 in use, -1 error. */
static int lock_maildrop(const char *root, int *fd_r)
{
	char path[MAILDIR_PATH_MAX];
	if (path_join(path, sizeof(path), root, LOCK_NAME) < 0)
		return -1;
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return -1;
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		int e = errno;
		close(fd);
		return e == EWOULDBLOCK ? 0 : -1;
	}
	*fd_r = fd;
	return 1;
}

/* Free the snapshot and drop the lock: on a job's thread, or on the loop
 * once no job runs. */
static void release(struct pop3_maildrop *m)
{
	if (m->mb != NULL)
		store_mailbox_free(&m->mb);
	if (m->lock_fd >= 0)
		close(m->lock_fd);
	m->lock_fd = -1;
	free(m->sizes);
	free(m->deleted);
	free(m->retrieved);
	m->sizes = NULL;
	m->deleted = m->retrieved = NULL;
	m->n = 0;
}

void pop3d_maildrop_close(struct pop3_session *s)
{
	release(&s->drop);
}

/* ------------------------------------------------------------ login */

/* The CRLF size of a message whose name has no ",W=": count its bare
 * LFs. */
static int count_crlf(struct store_mailbox *mb, size_t idx, uint64_t *size_r)
{
	const char *why;
	int fd = store_mailbox_open_msg(mb, idx, &why);
	if (fd < 0)
		return -1;
	char chunk[65536];
	uint64_t total = 0;
	bool cr = false;
	ssize_t r;
	while ((r = read(fd, chunk, sizeof(chunk))) > 0 ||
	       (r < 0 && errno == EINTR))
		for (ssize_t i = 0; i < r; i++) {
			total += chunk[i] == '\n' && !cr ? 2 : 1;
			cr = chunk[i] == '\r';
		}
	close(fd);
	*size_r = total;
	return r < 0 ? -1 : 0;
}

/* The snapshot and what the session keeps beside it. */
static int load(struct pop3_maildrop *m, const char *root,
		const struct store_options *opt, const char **error_r)
{
	if (store_mailbox_open(root, "", opt, &m->mb, error_r) < 0)
		return -1;
	m->n = store_mailbox_count(m->mb);
	m->uidvalidity = store_mailbox_uidvalidity(m->mb);
	size_t k = m->n > 0 ? m->n : 1;
	m->sizes = calloc(k, sizeof(*m->sizes));
	m->deleted = calloc(k, sizeof(*m->deleted));
	m->retrieved = calloc(k, sizeof(*m->retrieved));
	if (m->sizes == NULL || m->deleted == NULL || m->retrieved == NULL) {
		*error_r = "out of memory";
		return -1;
	}
	const struct store_msg *msgs = store_mailbox_msgs(m->mb);
	for (size_t i = 0; i < m->n; i++) {
		m->sizes[i] = msgs[i].crlf_size;
		/* a file gone since the snapshot counts as empty; RETR then
		 * says it is gone */
		if (m->sizes[i] == 0 && count_crlf(m->mb, i, &m->sizes[i]) < 0)
			m->sizes[i] = 0;
	}
	return 0;
}

struct open_ctx {
	char user[DIR_ADDRESS_MAX + 1];
	const char *mech;
	int result; /* 1 open, 0 in use, -1 error */
	const char *error;
};

static int open_run(struct pop3_session *s, void *arg, struct buf *out)
{
	struct open_ctx *c = arg;
	struct pop3_maildrop *m = &s->drop;
	c->error = "mailbox path too long";
	c->result = -1;
	if (maildir_root(s->d->cfg->data_dir, c->user, s->root) < 0 ||
	    store_create_defaults(s->root, &c->error) < 0)
		goto done;
	c->result = lock_maildrop(s->root, &m->lock_fd);
	if (c->result < 0)
		c->error = "cannot lock the maildrop";
	if (c->result <= 0)
		goto done;
	if (load(m, s->root, &s->opt, &c->error) < 0)
		c->result = -1;
done:
	if (c->result < 0)
		release(m);
	if (c->result == 0)
		buf_append_str(out, "-ERR [IN-USE] Another POP3 session holds "
				    "this maildrop\r\n");
	else if (c->result < 0)
		buf_append_str(out, "-ERR [SYS/TEMP] Mailbox unavailable, try "
				    "again later\r\n");
	else
		buf_appendf(out, "+OK Logged in, %zu messages\r\n", m->n);
	return 1;
}

static void open_end(struct pop3_session *s, void *arg)
{
	struct open_ctx *c = arg;
	if (s->conn != NULL && c->result == 1) {
		s->state = POP3_STATE_TRANS;
		snprintf(s->user, sizeof(s->user), "%s", c->user);
		log_info("session=%s event=auth result=ok protocol=pop3 mech=%s "
			 "user=%s ip=%s messages=%zu",
			 s->id, c->mech, s->user, s->peer_ip, s->drop.n);
	} else if (s->conn != NULL) {
		log_warn("session=%s event=maildrop-unavailable user=%s "
			 "error=\"%s\"",
			 s->id, c->user,
			 c->result == 0 ? "in use" : c->error);
		s->have_user = false;
	}
	free(c);
}

void pop3d_maildrop_open(struct pop3_session *s, const char *user,
			 uint64_t quota, const char *mech)
{
	struct open_ctx *c = calloc(1, sizeof(*c));
	if (c == NULL) {
		pop3d_printf(s, "-ERR [SYS/TEMP] Out of memory");
		pop3d_resume(s);
		return;
	}
	snprintf(c->user, sizeof(c->user), "%s", user);
	c->mech = mech;
	s->opt.quota = quota;
	s->opt.hostname = s->d->cfg->hostname;
	s->phase = PP_JOB;
	pop3d_job_start(s, open_run, open_end, c);
}

/* ------------------------------------------------------------ numbers */

/* The index of message argument a, or -1 after the -ERR. */
static long message_arg(struct pop3_session *s, const struct pop3_arg *a)
{
	uint32_t v;
	if (pop3_parse_number(a, &v) < 0) {
		pop3d_error(s, "Not a message number");
		return -1;
	}
	if (v == 0 || v > s->drop.n) {
		pop3d_printf(s, "-ERR No such message");
		return -1;
	}
	if (s->drop.deleted[v - 1]) {
		pop3d_printf(s, "-ERR Message %" PRIu32 " already deleted", v);
		return -1;
	}
	return (long)v - 1;
}

void pop3d_uidl(const struct pop3_session *s, size_t idx,
		char out[POP3_UIDL_LEN + 1])
{
	const struct store_msg *m = &store_mailbox_msgs(s->drop.mb)[idx];
	snprintf(out, POP3_UIDL_LEN + 1, "%08" PRIX32 "%08" PRIX32, m->uid,
		 s->drop.uidvalidity);
}

/* Messages and octets not deleted. */
static void totals(const struct pop3_maildrop *m, size_t *n, uint64_t *octets)
{
	*n = 0;
	*octets = 0;
	for (size_t i = 0; i < m->n; i++)
		if (!m->deleted[i]) {
			(*n)++;
			*octets += m->sizes[i];
		}
}

void pop3d_cmd_stat(struct pop3_session *s, const struct pop3_command *cmd)
{
	size_t n;
	uint64_t octets;
	totals(&s->drop, &n, &octets);
	pop3d_printf(s, "+OK %zu %" PRIu64, n, octets);
	pop3d_await_command(s);
}

/* ------------------------------------------------------------ LIST, UIDL */

struct list_ctx {
	bool uidl;
	size_t next;
};

/* One line per message not deleted; a chunk at a time (a maildrop of
 * 100,000 messages lists in a few jobs, not one megabyte at once). */
static int list_run(struct pop3_session *s, void *arg, struct buf *out)
{
	struct list_ctx *c = arg;
	const struct pop3_maildrop *m = &s->drop;
	if (c->next == 0)
		buf_append_str(out, "+OK\r\n");
	for (; c->next < m->n && out->len < POP3_CHUNK; c->next++) {
		size_t i = c->next;
		char uidl[POP3_UIDL_LEN + 1];
		if (m->deleted[i])
			continue;
		if (c->uidl) {
			pop3d_uidl(s, i, uidl);
			buf_appendf(out, "%zu %s\r\n", i + 1, uidl);
		} else {
			buf_appendf(out, "%zu %" PRIu64 "\r\n", i + 1,
				    m->sizes[i]);
		}
	}
	if (c->next < m->n)
		return 0;
	buf_append_str(out, ".\r\n");
	return 1;
}

static void list_end(struct pop3_session *s, void *arg)
{
	free(arg);
}

void pop3d_cmd_list(struct pop3_session *s, const struct pop3_command *cmd)
{
	bool uidl = cmd->def->id == POP3_CMD_UIDL;
	if (cmd->n_args == 1) {
		long i = message_arg(s, &cmd->args[0]);
		char u[POP3_UIDL_LEN + 1];
		if (i >= 0 && uidl) {
			pop3d_uidl(s, (size_t)i, u);
			pop3d_printf(s, "+OK %ld %s", i + 1, u);
		} else if (i >= 0) {
			pop3d_printf(s, "+OK %ld %" PRIu64, i + 1,
				     s->drop.sizes[i]);
		}
		pop3d_await_command(s);
		return;
	}
	struct list_ctx *c = calloc(1, sizeof(*c));
	if (c == NULL) {
		pop3d_printf(s, "-ERR [SYS/TEMP] Out of memory");
		pop3d_await_command(s);
		return;
	}
	c->uidl = uidl;
	pop3d_job_start(s, list_run, list_end, c);
}

/* ------------------------------------------------------------ RETR, TOP */

struct retr_ctx {
	size_t idx;
	bool top;
	int fd;
	bool ok;     /* the whole message went out */
	bool broken; /* a read failed after +OK: the reply cannot be ended */
	struct pop3_stuffer st;
};

/* The first call: open the file and say +OK. */
static bool retr_open(struct pop3_session *s, struct retr_ctx *c,
		      struct buf *out)
{
	const char *why;
	c->fd = store_mailbox_open_msg(s->drop.mb, c->idx, &why);
	if (c->fd < 0) {
		buf_appendf(out, "-ERR Message %zu is no longer available\r\n",
			    c->idx + 1);
		return false;
	}
	if (c->top)
		buf_append_str(out, "+OK Top of message follows\r\n");
	else
		buf_appendf(out, "+OK %" PRIu64 " octets\r\n",
			    s->drop.sizes[c->idx]);
	return true;
}

static int retr_run(struct pop3_session *s, void *arg, struct buf *out)
{
	struct retr_ctx *c = arg;
	if (c->fd < 0 && !retr_open(s, c, out))
		return 1;
	char chunk[65536];
	while (out->len < POP3_CHUNK && !pop3_stuff_done(&c->st)) {
		ssize_t r = read(c->fd, chunk, sizeof(chunk));
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 || pop3_stuff(&c->st, chunk, (size_t)r, out) < 0) {
			c->broken = true;
			return 1;
		}
		if (r == 0)
			break;
	}
	if (out->len >= POP3_CHUNK && !pop3_stuff_done(&c->st))
		return 0;
	if (pop3_stuff_end(&c->st, out) < 0)
		c->broken = true;
	c->ok = !c->broken;
	return 1;
}

static void retr_end(struct pop3_session *s, void *arg)
{
	struct retr_ctx *c = arg;
	if (c->fd >= 0)
		close(c->fd);
	if (s->conn != NULL && c->broken) {
		log_error("session=%s event=retr-failed message=%zu", s->id,
			  c->idx + 1);
		pop3d_close_with(s, NULL);
	} else if (s->conn != NULL && c->ok && !c->top) {
		s->drop.retrieved[c->idx] = true;
	}
	free(c);
}

void pop3d_cmd_retr(struct pop3_session *s, const struct pop3_command *cmd)
{
	bool top = cmd->def->id == POP3_CMD_TOP;
	long i = message_arg(s, &cmd->args[0]);
	uint32_t lines = 0;
	if (i >= 0 && top && pop3_parse_number(&cmd->args[1], &lines) < 0) {
		pop3d_error(s, "Not a number of lines");
		i = -1;
	}
	struct retr_ctx *c = i >= 0 ? calloc(1, sizeof(*c)) : NULL;
	if (i >= 0 && c == NULL)
		pop3d_printf(s, "-ERR [SYS/TEMP] Out of memory");
	if (c == NULL) {
		pop3d_await_command(s);
		return;
	}
	c->idx = (size_t)i;
	c->top = top;
	c->fd = -1;
	pop3_stuffer_init(&c->st, top, lines);
	pop3d_job_start(s, retr_run, retr_end, c);
}

/* ------------------------------------------------------------ DELE, RSET */

void pop3d_cmd_dele(struct pop3_session *s, const struct pop3_command *cmd)
{
	long i = message_arg(s, &cmd->args[0]);
	if (i >= 0) {
		s->drop.deleted[i] = true;
		pop3d_printf(s, "+OK Message %ld deleted", i + 1);
	}
	pop3d_await_command(s);
}

void pop3d_cmd_rset(struct pop3_session *s, const struct pop3_command *cmd)
{
	size_t n;
	uint64_t octets;
	memset(s->drop.deleted, 0, s->drop.n * sizeof(*s->drop.deleted));
	totals(&s->drop, &n, &octets);
	pop3d_printf(s, "+OK Maildrop has %zu messages (%" PRIu64 " octets)",
		     n, octets);
	pop3d_await_command(s);
}

/* ------------------------------------------------------------ UPDATE */

/* The UIDs (ascending, as the snapshot is) of the messages marked in
 * which and not in skip (NULL: none skipped), leaving out those already
 * \Seen when unseen_only; malloc'd. */
static uint32_t *pick(const struct pop3_maildrop *m, const bool *which,
		      const bool *skip, bool unseen_only, size_t *n_r)
{
	const struct store_msg *msgs = store_mailbox_msgs(m->mb);
	uint32_t *uids = malloc((m->n > 0 ? m->n : 1) * sizeof(*uids));
	*n_r = 0;
	for (size_t i = 0; uids != NULL && i < m->n; i++) {
		if (!which[i] || (skip != NULL && skip[i]))
			continue;
		if (unseen_only && (msgs[i].flags & STORE_SEEN))
			continue;
		uids[(*n_r)++] = msgs[i].uid;
	}
	return uids;
}

/* Retrieved messages kept: \Seen (see the header comment). A failure is
 * only logged: the client asked for deletions, not for flags. */
static void mark_seen(struct pop3_session *s)
{
	struct pop3_maildrop *m = &s->drop;
	size_t n;
	uint32_t *uids = pick(m, m->retrieved, m->deleted, true, &n), *failed;
	size_t n_failed;
	const char *why;
	if (uids != NULL && n > 0 &&
	    store_mailbox_set_flags(m->mb, uids, n, STORE_FLAGS_ADD,
				    STORE_SEEN, 0, 0, &failed, &n_failed,
				    &why) == 0)
		free(failed);
	else if (uids != NULL && n > 0)
		log_warn("session=%s event=mark-seen-failed error=\"%s\"", s->id,
			 why);
	free(uids);
}

/* RFC 1939 6: remove the deleted messages (durably: the store fsyncs
 * before it returns), release the maildrop, then answer. */
static int update_run(struct pop3_session *s, void *arg, struct buf *out)
{
	struct pop3_maildrop *m = &s->drop;
	size_t n, left, n_del;
	uint64_t octets;
	const char *why = NULL;
	totals(m, &left, &octets);
	uint32_t *uids = pick(m, m->deleted, NULL, false, &n_del);
	int rc = uids == NULL ? -1 : 0;
	if (rc == 0 && n_del > 0)
		rc = store_mailbox_expunge(m->mb, uids, n_del, false, &why);
	free(uids);
	if (s->d->cfg->pop3_mark_seen)
		mark_seen(s);
	n = m->n;
	release(m);
	if (rc < 0) {
		log_error("session=%s event=update-failed error=\"%s\"", s->id,
			  why != NULL ? why : "out of memory");
		buf_append_str(out, "-ERR [SYS/TEMP] Some deleted messages not "
				    "removed\r\n");
	} else {
		log_info("session=%s event=update deleted=%zu kept=%zu", s->id,
			 n_del, n - n_del);
		buf_appendf(out, "+OK Bye, %zu messages left\r\n", left);
	}
	return 1;
}

static void update_end(struct pop3_session *s, void *arg)
{
	if (s->conn != NULL)
		pop3d_close_with(s, NULL);
}

void pop3d_update(struct pop3_session *s)
{
	pop3d_job_start(s, update_run, update_end, NULL);
}
