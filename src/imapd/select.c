/* select: SELECT and EXAMINE (RFC 9051 6.3.2, 6.3.3), CLOSE, UNSELECT
 * (6.4.2, RFC 3691), EXPUNGE and UID EXPUNGE (6.4.3, RFC 4315), NOOP and
 * CHECK (6.1.2, 6.4.1), the IDLE polls, and the untagged updates a
 * refresh of the selected mailbox brings (7.4.1 EXPUNGE, 7.3.1 EXISTS,
 * 7.5.2 FETCH FLAGS). Store calls run as jobs on the pool. */
#include "imapd/imapd.h"

#include "imapd/seqset.h"
#include "lib/log.h"
#include "store/folders.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static const char *const system_flags[] = {"\\Answered", "\\Flagged",
					   "\\Deleted", "\\Seen", "\\Draft"};
static const uint32_t system_bits[] = {STORE_ANSWERED, STORE_FLAGGED,
				       STORE_DELETED, STORE_SEEN, STORE_DRAFT};

void imapd_write_flags(struct store_mailbox *mb, const struct store_msg *m,
		       struct buf *out)
{
	const char *sep = "";
	buf_append_byte(out, '(');
	for (size_t i = 0; i < 5; i++)
		if (m->flags & system_bits[i]) {
			buf_appendf(out, "%s%s", sep, system_flags[i]);
			sep = " ";
		}
	for (unsigned k = 0; k < STORE_KEYWORDS_MAX; k++) {
		const char *name = store_mailbox_keyword(mb, k);
		if ((m->keywords & (UINT32_C(1) << k)) && name != NULL) {
			buf_appendf(out, "%s%s", sep, name);
			sep = " ";
		}
	}
	buf_append_byte(out, ')');
}

/* "(\Answered ... $Keyword ...)": every flag the mailbox knows. */
static void write_all_flags(struct store_mailbox *mb, struct buf *out,
			    bool star)
{
	buf_append_str(out, "(\\Answered \\Flagged \\Deleted \\Seen \\Draft");
	for (unsigned k = 0; k < STORE_KEYWORDS_MAX; k++) {
		const char *name = store_mailbox_keyword(mb, k);
		if (name != NULL)
			buf_appendf(out, " %s", name);
	}
	/* \* only while a new keyword still fits (26 per folder) */
	if (star && store_mailbox_keyword(mb, STORE_KEYWORDS_MAX - 1) == NULL)
		buf_append_str(out, " \\*");
	buf_append_byte(out, ')');
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return x < y ? -1 : x > y;
}

/* EXPUNGE per message, from the last down (each renumbers only those
 * after it); after ENABLE QRESYNC one VANISHED with the UIDs instead
 * (RFC 7162 3.2.10). */
static void write_expunges(struct imap_session *s, struct store_changes *ch,
			   struct buf *out)
{
	if (ch->n_expunged == 0)
		return;
	if (!s->qresync) {
		for (size_t i = ch->n_expunged; i-- > 0;)
			buf_appendf(out, "* %u EXPUNGE\r\n",
				    ch->expunged_seqs[i]);
		return;
	}
	qsort(ch->expunged_uids, ch->n_expunged, sizeof(uint32_t), cmp_u32);
	buf_append_str(out, "* VANISHED ");
	imapd_write_numbers(out, ch->expunged_uids, ch->n_expunged);
	buf_append_str(out, "\r\n");
}

int imapd_updates(struct imap_session *s, struct buf *out,
		  bool expunges_allowed)
{
	struct store_changes ch = {0};
	const char *why;
	if (s->mb == NULL || !expunges_allowed)
		return 0;
	if (store_mailbox_refresh(s->mb, &ch, &why) < 0) {
		log_warn("session=%s event=refresh-failed error=\"%s\"", s->id,
			 why);
		return -1;
	}
	if (ch.keywords_changed) {
		buf_append_str(out, "* FLAGS ");
		write_all_flags(s->mb, out, false);
		buf_append_str(out, "\r\n");
	}
	write_expunges(s, &ch, out);
	if (ch.n_new > 0) /* an EXPUNGE already says the count went down */
		buf_appendf(out, "* %zu EXISTS\r\n", store_mailbox_count(s->mb));
	const struct store_msg *msgs = store_mailbox_msgs(s->mb);
	for (size_t i = 0; i < ch.n_changed; i++) {
		long k = store_mailbox_find(s->mb, ch.changed_uids[i]);
		if (k < 0)
			continue;
		buf_appendf(out, "* %ld FETCH (UID %u FLAGS ", k + 1,
			    msgs[k].uid);
		imapd_write_flags(s->mb, &msgs[k], out);
		if (s->condstore) /* RFC 7162 3.2: in every unsolicited FETCH */
			buf_appendf(out, " MODSEQ (%llu)",
				    (unsigned long long)msgs[k].modseq);
		buf_append_str(out, ")\r\n");
	}
	if (ch.uidvalidity_changed) {
		/* the session's UIDs mean nothing now: it ends once the
		 * job's output is sent (job_continue) */
		buf_append_str(out, "* BYE The mailbox index was lost; "
				    "reconnect\r\n");
		s->mailbox_lost = true;
	}
	store_changes_free(&ch);
	return 0;
}

/* ------------------------------------------------------------ sets */

/* A command names at most this many ranges: a longer set is no client's
 * doing, and resolving it runs on the loop. */
enum { SET_RANGES_MAX = 10000 };

/* One range as [first, last] in numbers, "*" resolved (max: the largest
 * sequence number or UID) and "5:2" ordered. */
static void order_range(struct imap_seq_range *r, uint32_t max)
{
	uint32_t a = r->first == IMAP_SEQ_STAR ? max : r->first;
	uint32_t b = r->last == IMAP_SEQ_STAR ? max : r->last;
	r->first = a < b ? a : b;
	r->last = a < b ? b : a;
}

static int by_first(const void *x, const void *y)
{
	const struct imap_seq_range *a = x, *b = y;
	return a->first < b->first ? -1 : a->first > b->first;
}

/* Sort the ranges and merge those that overlap or touch, in place: each
 * message is then visited once, whatever the set ("1:*,1:*,..." cost
 * ranges x messages on the loop). */
static size_t coalesce(struct imap_seq_range *v, size_t n)
{
	size_t out = 0;
	qsort(v, n, sizeof(*v), by_first);
	for (size_t i = 0; i < n; i++) {
		if (out > 0 && (uint64_t)v[i].first <= (uint64_t)v[out - 1].last + 1) {
			if (v[i].last > v[out - 1].last)
				v[out - 1].last = v[i].last;
		} else {
			v[out++] = v[i];
		}
	}
	return out;
}

/* The first snapshot index whose UID is >= uid (the snapshot is in UID
 * order). */
static size_t first_uid_at(const struct store_msg *msgs, size_t count,
			   uint32_t uid)
{
	size_t lo = 0, hi = count;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (msgs[mid].uid < uid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* The snapshot indexes of the ordered, disjoint ranges v, ascending, into
 * idx (room for count). */
static size_t collect(const struct store_msg *msgs, size_t count,
		      const struct imap_seq_range *v, size_t n, bool uid,
		      size_t *idx)
{
	size_t k = 0;
	for (size_t r = 0; r < n; r++) {
		size_t i = uid ? first_uid_at(msgs, count, v[r].first)
			       : (size_t)v[r].first - 1;
		for (; i < count && (uid ? msgs[i].uid : i + 1) <= v[r].last; i++)
			idx[k++] = i;
	}
	return k;
}

/* RFC 9051 6.4.5 (and 9): a message sequence number above the number of
 * messages is a BAD; UIDs that do not exist are simply not there. */
static bool seqs_valid(const struct imap_seqset *ss, size_t count)
{
	for (size_t r = 0; r < ss->n; r++)
		if (ss->ranges[r].first > count || ss->ranges[r].last > count)
			return false;
	return true;
}

int imapd_resolve_set(struct store_mailbox *mb, const char *set, size_t len,
		      bool uid, size_t **idx_r, size_t *n_r,
		      const char **error_r)
{
	size_t cap = 1;
	for (size_t i = 0; i < len; i++)
		cap += set[i] == ',';
	size_t count = store_mailbox_count(mb);
	const struct store_msg *msgs = store_mailbox_msgs(mb);
	*idx_r = NULL;
	*n_r = 0;
	if (cap > SET_RANGES_MAX) {
		*error_r = "Too many ranges in the sequence set (at most 10000)";
		return -1;
	}
	struct imap_seqset ss = {.ranges = calloc(cap, sizeof(*ss.ranges)),
				 .cap = cap};
	int rc = -1;
	if (ss.ranges == NULL || (*idx_r = malloc((count + 1) *
						   sizeof(**idx_r))) == NULL) {
		*error_r = "Out of memory";
		goto done;
	}
	if (imap_seqset_parse(set, len, &ss, error_r) < 0)
		goto done;
	if (ss.saved) {
		*error_r = "$ (a saved search result) is not supported";
		goto done;
	}
	uint32_t max = uid ? (count > 0 ? msgs[count - 1].uid : 0)
			   : (uint32_t)count;
	for (size_t r = 0; r < ss.n; r++)
		order_range(&ss.ranges[r], max);
	/* (in an empty mailbox "1:*" names nothing, as clients expect) */
	if (!uid && count > 0 && !seqs_valid(&ss, count)) {
		*error_r = "Invalid message sequence number (above EXISTS)";
		goto done;
	}
	ss.n = coalesce(ss.ranges, ss.n);
	*n_r = collect(msgs, count, ss.ranges, ss.n, uid, *idx_r);
	rc = 0;
done:
	if (rc < 0) {
		free(*idx_r);
		*idx_r = NULL;
	}
	free(ss.ranges);
	return rc;
}

/* ------------------------------------------------------------ SELECT */

struct select_ctx {
	const struct imap_command *cmd;
	bool examine;
	bool ok;
	struct imap_qresync qresync;
	char folder[IMAP_FOLDER_NAME_MAX * 4 + 2];
	struct buf name; /* UTF-8, for the rev2 LIST line */
};

static void select_responses(struct imap_session *s, struct select_ctx *c,
			     struct buf *out)
{
	struct store_mailbox *mb = s->mb;
	size_t count = store_mailbox_count(mb);
	const struct store_msg *msgs = store_mailbox_msgs(mb);
	buf_append_str(out, "* FLAGS ");
	write_all_flags(mb, out, false);
	buf_append_str(out, "\r\n* OK [PERMANENTFLAGS ");
	if (c->examine)
		buf_append_str(out, "()");
	else
		write_all_flags(mb, out, true);
	buf_append_str(out, "] Flags permitted\r\n");
	buf_appendf(out, "* %zu EXISTS\r\n", count);
	if (!s->rev2) { /* RFC 3501 7.3.2, 7.1: gone from IMAP4rev2 */
		buf_append_str(out, "* 0 RECENT\r\n");
		for (size_t i = 0; i < count; i++)
			if (!(msgs[i].flags & STORE_SEEN)) {
				buf_appendf(out, "* OK [UNSEEN %zu] First "
						 "unseen\r\n", i + 1);
				break;
			}
	}
	buf_appendf(out, "* OK [UIDVALIDITY %u] UIDs valid\r\n",
		    store_mailbox_uidvalidity(mb));
	buf_appendf(out, "* OK [UIDNEXT %u] Predicted next UID\r\n",
		    store_mailbox_uidnext(mb));
	buf_appendf(out, "* OK [HIGHESTMODSEQ %llu] Highest\r\n",
		    (unsigned long long)store_mailbox_highestmodseq(mb));
	if (s->rev2) { /* RFC 9051 6.3.2 */
		buf_append_str(out, "* LIST () \"/\" ");
		imapd_write_mailbox(s, out, c->name.data, c->name.len);
		buf_append_str(out, "\r\n");
	}
}

static int select_run(struct imap_session *s, void *arg, struct buf *out)
{
	struct select_ctx *c = arg;
	const char *why;
	const char *verb = c->examine ? "EXAMINE" : "SELECT";
	if (s->mb != NULL) {
		/* RFC 9051 6.3.2: the old one is closed without expunging */
		store_mailbox_free(&s->mb);
		buf_append_str(out, "* OK [CLOSED] Previous mailbox closed\r\n");
	}
	if (imapd_folder_arg(s, &c->cmd->args[0], c->folder,
			     sizeof(c->folder), &c->name, &why) < 0) {
		buf_appendf(out, "%s NO %s\r\n", s->tag, why);
		return 1;
	}
	if (!imapd_folder_exists(s, c->folder)) {
		buf_appendf(out, "%s NO [NONEXISTENT] Mailbox does not exist\r\n",
			    s->tag);
		return 1;
	}
	if (store_mailbox_open(s->root, c->folder, &s->opt, &s->mb, &why) < 0) {
		log_warn("session=%s event=select-failed error=\"%s\"", s->id,
			 why);
		buf_appendf(out, "%s NO [SERVERBUG] Cannot open the mailbox: %s\r\n",
			    s->tag, why);
		return 1;
	}
	c->ok = true;
	select_responses(s, c, out);
	imapd_qresync_select(s, &c->qresync, out);
	buf_appendf(out, "%s OK [%s] %s completed\r\n", s->tag,
		    c->examine ? "READ-ONLY" : "READ-WRITE", verb);
	return 1;
}

static void select_end(struct imap_session *s, void *arg)
{
	struct select_ctx *c = arg;
	/* RFC 9051 6.3.2: a failed SELECT leaves no mailbox selected */
	if (s->state != IMAP_STATE_LOGOUT)
		s->state = c->ok ? IMAP_STATE_SELECTED : IMAP_STATE_AUTH;
	s->readonly = c->examine;
	snprintf(s->folder, sizeof(s->folder), "%s", c->ok ? c->folder : "");
	buf_free(&c->name);
	free(c);
}

void imapd_cmd_select(struct imap_session *s, const struct imap_command *cmd)
{
	struct select_ctx *c = calloc(1, sizeof(*c));
	const char *why = "Syntax: SELECT mailbox [(parameters)]";
	bool condstore = false;
	if (c == NULL) {
		imapd_tagged(s, "NO", "[UNAVAILABLE] Out of memory");
		return;
	}
	if (cmd->n_top < 1 || cmd->n_top > 2 ||
	    imapd_select_params(cmd, cmd->args[0].next, &condstore,
				&c->qresync, &why) < 0 ||
	    (c->qresync.given && !s->qresync)) {
		/* RFC 7162 3.2.5: QRESYNC only after ENABLE QRESYNC */
		imapd_tagged(s, "BAD", "%s", c->qresync.given && !s->qresync
					       ? "ENABLE QRESYNC first"
					       : why);
		free(c);
		imapd_await_command(s);
		return;
	}
	/* RFC 7162 3.1: SELECT (CONDSTORE) turns CONDSTORE on */
	s->condstore = s->condstore || condstore;
	c->cmd = cmd;
	c->examine = cmd->def->id == IMAP_CMD_EXAMINE;
	buf_init(&c->name, IMAP_MAILBOX_MAX);
	imapd_job_start(s, select_run, select_end, c);
}

/* ------------------------------------------------------------ CLOSE */

void imapd_unselect(struct imap_session *s)
{
	if (s->mb != NULL)
		store_mailbox_free(&s->mb);
	s->folder[0] = '\0';
	s->state = IMAP_STATE_AUTH;
}

static int close_run(struct imap_session *s, void *arg, struct buf *out)
{
	const char *why;
	/* RFC 9051 6.4.2: expunge \Deleted silently, unless read-only */
	if (!s->readonly &&
	    store_mailbox_expunge(s->mb, NULL, 0, true, &why) < 0) {
		buf_appendf(out, "%s NO Cannot expunge: %s\r\n", s->tag, why);
		return 1;
	}
	store_mailbox_free(&s->mb);
	buf_appendf(out, "%s OK CLOSE completed\r\n", s->tag);
	return 1;
}

static void close_end(struct imap_session *s, void *arg)
{
	if (s->mb == NULL)
		imapd_unselect(s);
}

void imapd_cmd_close(struct imap_session *s, const struct imap_command *cmd)
{
	if (cmd->n_top != 0) {
		imapd_tagged(s, "BAD", "%s takes no arguments", cmd->def->name);
	} else if (cmd->def->id == IMAP_CMD_UNSELECT) {
		imapd_unselect(s);
		imapd_tagged(s, "OK", "UNSELECT completed");
	} else {
		imapd_job_start(s, close_run, close_end, NULL);
		return;
	}
	imapd_await_command(s);
}

/* ------------------------------------------------------------ EXPUNGE */

static int expunge_run(struct imap_session *s, void *arg, struct buf *out)
{
	const struct imap_command *cmd = arg;
	const char *why = NULL;
	size_t *idx = NULL, n = 0;
	uint32_t *uids = NULL;
	bool by_uid = cmd->def->id == IMAP_CMD_UID_EXPUNGE;
	if (s->readonly) {
		buf_appendf(out, "%s NO [READ-ONLY] Mailbox is read-only\r\n",
			    s->tag);
		return 1;
	}
	if (by_uid) {
		if (imapd_resolve_set(s->mb, cmd->args[0].str, cmd->args[0].len,
				      true, &idx, &n, &why) < 0) {
			buf_appendf(out, "%s BAD %s\r\n", s->tag, why);
			return 1;
		}
		uids = malloc((n + 1) * sizeof(*uids));
		for (size_t i = 0; uids != NULL && i < n; i++)
			uids[i] = store_mailbox_msgs(s->mb)[idx[i]].uid;
		free(idx);
	}
	int rc = by_uid && uids == NULL
			 ? -1
			 : store_mailbox_expunge(s->mb, uids, n, true, &why);
	free(uids);
	imapd_updates(s, out, true);
	if (rc < 0)
		buf_appendf(out, "%s NO Cannot expunge: %s\r\n", s->tag,
			    why != NULL ? why : "out of memory");
	else
		buf_appendf(out, "%s OK %s completed\r\n", s->tag,
			    cmd->def->name);
	return 1;
}

void imapd_cmd_expunge(struct imap_session *s, const struct imap_command *cmd)
{
	bool by_uid = cmd->def->id == IMAP_CMD_UID_EXPUNGE;
	if (cmd->n_top != (by_uid ? 1u : 0u) ||
	    (by_uid && cmd->args[0].type != IMAP_ARG_ATOM)) {
		imapd_tagged(s, "BAD", by_uid ? "Syntax: UID EXPUNGE uid-set"
					      : "EXPUNGE takes no arguments");
		imapd_await_command(s);
		return;
	}
	imapd_job_start(s, expunge_run, NULL, (void *)cmd);
}

/* ------------------------------------------------------------ NOOP */

static int noop_run(struct imap_session *s, void *arg, struct buf *out)
{
	const struct imap_command *cmd = arg;
	imapd_updates(s, out, true);
	buf_appendf(out, "%s OK %s completed\r\n", s->tag, cmd->def->name);
	return 1;
}

void imapd_cmd_noop(struct imap_session *s, const struct imap_command *cmd)
{
	if (cmd->n_top != 0) {
		imapd_tagged(s, "BAD", "%s takes no arguments", cmd->def->name);
	} else if (s->mb != NULL) {
		/* RFC 9051 6.1.2: NOOP is how clients poll for updates */
		imapd_job_start(s, noop_run, NULL, (void *)cmd);
		return;
	} else {
		imapd_tagged(s, "OK", "%s completed", cmd->def->name);
	}
	imapd_await_command(s);
}

static int poll_run(struct imap_session *s, void *arg, struct buf *out)
{
	imapd_updates(s, out, true);
	return 1;
}

static void poll_end(struct imap_session *s, void *arg)
{
	imapd_idle_polled(s);
}

void imapd_idle_poll(struct imap_session *s)
{
	imapd_job_start(s, poll_run, poll_end, NULL);
}
