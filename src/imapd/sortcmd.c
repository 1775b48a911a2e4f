/* sortcmd: SORT, THREAD, UID SORT and UID THREAD (RFC 5256 3) over the
 * selected mailbox. The criteria, the charset and the search keys are
 * checked on the loop (imapd/sort.h, imapd/search.h); the job matches
 * each message, reads the header of those that match (through the header
 * cache, imapd/msgread.c; at most SORT_HEADER_MAX bytes of it), and
 * orders or threads them with the pure code of sort.c and thread.c.
 *
 *   sort   = ["UID" SP] "SORT" SP sort-criteria SP charset SP search-keys
 *   thread = ["UID" SP] "THREAD" SP thread-alg SP charset SP search-keys */
#include "imapd/imapd.h"

#include "imapd/search.h"
#include "imapd/sort.h"
#include "imapd/thread.h"
#include "lib/log.h"
#include "mail/header.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

enum { SORT_HEADER_MAX = 256 * 1024 };

struct sort_ctx {
	const struct imap_command *cmd;
	bool uid, thread;
	enum imap_thread_alg alg;
	struct imap_sort_crit crit[IMAP_SORT_CRITERIA_MAX];
	size_t n_crit;
	struct imap_search search;
	struct imap_sort_msg *msgs;
	size_t n;
	struct imapd_reader reader;
};

static int keyword_index(void *ctx, const char *name, size_t len)
{
	const char *why;
	return store_mailbox_keyword_index(ctx, name, len, false, &why);
}

/* The header section of message idx (of its first SORT_HEADER_MAX bytes
 * at most): header_section() of its header block, from the cache when it
 * is there, or of the message's first bytes when the block is too long to
 * cache. Either way header_section() stops at or before the block's empty
 * line, so both give the same fields. Valid until r is used again. */
static int read_header(struct imap_session *s, struct imapd_reader *r,
		       size_t idx, const char **hdr_r, size_t *len_r)
{
	const struct store_msg *m = &store_mailbox_msgs(s->mb)[idx];
	size_t cap = m->size < SORT_HEADER_MAX ? (size_t)m->size
					       : SORT_HEADER_MAX;
	int rc = imapd_read_header(s, r, idx, hdr_r, len_r);
	if (rc == 0)
		rc = imapd_read_msg(s, r, idx, cap, hdr_r, len_r) == 0 ? 1 : -1;
	if (rc < 0)
		return -1;
	size_t body;
	*len_r = header_section(*hdr_r, *len_r, &body);
	return 0;
}

/* The keys of message idx, appended to c->msgs. A message that cannot be
 * read (expunged meanwhile) sorts with empty fields. */
static int add_msg(struct imap_session *s, struct sort_ctx *c, size_t idx)
{
	const struct store_msg *m = &store_mailbox_msgs(s->mb)[idx];
	struct imap_sort_msg *x = &c->msgs[c->n++];
	const char *why, *hdr = "";
	size_t len = 0;
	memset(x, 0, sizeof(*x));
	x->seq = (uint32_t)idx + 1;
	x->id = c->uid ? m->uid : x->seq;
	x->size = m->crlf_size ? m->crlf_size : m->size;
	store_mailbox_internaldate(s->mb, idx, &x->arrival, &why);
	if (read_header(s, &c->reader, idx, &hdr, &len) < 0) {
		log_warn("session=%s event=sort-read-failed uid=%u", s->id,
			 m->uid);
		hdr = "";
		len = 0;
	}
	return imap_sort_msg_fill(x, hdr, len);
}

/* "(1 2)(3)" for the matched messages, by the algorithm asked. */
static int write_threads(struct imap_session *s, struct sort_ctx *c,
			 struct buf *out)
{
	struct imap_thread_msg *t = calloc(c->n + 1, sizeof(*t));
	int rc = t != NULL ? 0 : -1;
	for (size_t i = 0; i < c->n && rc == 0; i++) {
		const char *hdr;
		size_t len = 0;
		t[i].seq = c->msgs[i].seq;
		t[i].id = c->msgs[i].id;
		t[i].date = c->msgs[i].date;
		t[i].subject = c->msgs[i].subject;
		t[i].refwd = c->msgs[i].refwd;
		if (c->alg == THREAD_REFERENCES &&
		    read_header(s, &c->reader, c->msgs[i].seq - 1, &hdr,
				&len) == 0)
			rc = imap_thread_msg_fill(&t[i], hdr, len);
	}
	if (rc == 0) {
		/* thread-data = "THREAD" [SP 1*thread-list] */
		buf_append_str(out, "* THREAD ");
		size_t mark = out->len;
		rc = imap_thread(t, c->n, c->alg, out);
		if (out->len == mark)
			buf_truncate(out, mark - 1);
		buf_append_str(out, "\r\n");
	}
	for (size_t i = 0; t != NULL && i < c->n; i++)
		imap_thread_msg_free(&t[i]);
	free(t);
	return rc;
}

static int sort_run(struct imap_session *s, void *arg, struct buf *out)
{
	struct sort_ctx *c = arg;
	size_t count = store_mailbox_count(s->mb);
	int rc = 0;
	imap_search_bind_keywords(&c->search, keyword_index, s->mb);
	c->msgs = calloc(count + 1, sizeof(*c->msgs));
	if (c->msgs == NULL)
		rc = -1;
	for (size_t i = 0; i < count && rc == 0; i++)
		if (imapd_search_matches(s, &c->reader, &c->search, i))
			rc = add_msg(s, c, i);
	if (rc == 0 && c->thread) {
		rc = write_threads(s, c, out);
	} else if (rc == 0) {
		imap_sort(c->msgs, c->n, c->crit, c->n_crit);
		buf_append_str(out, "* SORT");
		for (size_t i = 0; i < c->n; i++)
			buf_appendf(out, " %u", c->msgs[i].id);
		buf_append_str(out, "\r\n");
	}
	imapd_reader_free(&c->reader); /* done reading: the handle goes */
	if (rc < 0) {
		buf_appendf(out, "%s NO [UNAVAILABLE] Out of memory\r\n", s->tag);
		return 1;
	}
	if (c->uid) /* RFC 9051 7.4.1: UID commands may see EXPUNGEs */
		imapd_updates(s, out, true);
	buf_appendf(out, "%s OK %s completed\r\n", s->tag, c->cmd->def->name);
	return 1;
}

static void sort_end(struct imap_session *s, void *arg)
{
	struct sort_ctx *c = arg;
	imapd_reader_free(&c->reader);
	for (size_t i = 0; c->msgs != NULL && i < c->n; i++)
		imap_sort_msg_free(&c->msgs[i]);
	free(c->msgs);
	imap_search_free(&c->search);
	free(c);
}

/* The charset argument: UTF-8 and US-ASCII (its subset) only. 1 good, 0
 * unknown (NO [BADCHARSET]), -1 not a string (BAD). */
static int charset(const struct imap_arg *a)
{
	const char *p;
	size_t n;
	if (!imap_arg_astring(a, &p, &n))
		return -1;
	return (n == 5 && strncasecmp(p, "UTF-8", 5) == 0) ||
	       (n == 8 && strncasecmp(p, "US-ASCII", 8) == 0);
}

/* The criteria or algorithm, then the charset; the index of the search
 * keys, or 0 with *status and *why for the reply. */
static uint32_t parse_head(struct sort_ctx *c, const struct imap_command *cmd,
			   const char **status, const char **why)
{
	const struct imap_arg *a = &cmd->args[0];
	*status = "BAD";
	if (cmd->n_top < 3)
		*why = c->thread ? "Syntax: THREAD algorithm charset keys"
				 : "Syntax: SORT (criteria) charset keys";
	else if (!c->thread && imap_sort_parse(cmd->args, cmd->n_args, 0,
					       c->crit, &c->n_crit, why) < 0)
		return 0;
	else if (c->thread && imap_arg_atom_is(a, "REFERENCES"))
		c->alg = THREAD_REFERENCES;
	else if (c->thread && imap_arg_atom_is(a, "ORDEREDSUBJECT"))
		c->alg = THREAD_ORDEREDSUBJECT;
	else if (c->thread)
		*why = "Unknown threading algorithm";
	if (cmd->n_top < 3 || (c->thread && *why != NULL))
		return 0;
	int cs = charset(&cmd->args[a->next]);
	if (cs <= 0) {
		*status = cs == 0 ? "NO" : "BAD";
		*why = cs == 0 ? "[BADCHARSET (UTF-8 US-ASCII)] Unknown charset"
			       : "Missing charset";
		return 0;
	}
	return cmd->args[a->next].next;
}

void imapd_cmd_sort(struct imap_session *s, const struct imap_command *cmd)
{
	enum imap_cmd_id id = cmd->def->id;
	const char *why = NULL, *status;
	struct sort_ctx *c = calloc(1, sizeof(*c));
	if (c == NULL) {
		imapd_tagged(s, "NO", "[UNAVAILABLE] Out of memory");
		return;
	}
	c->cmd = cmd;
	imapd_reader_init(&c->reader);
	c->uid = id == IMAP_CMD_UID_SORT || id == IMAP_CMD_UID_THREAD;
	c->thread = id == IMAP_CMD_THREAD || id == IMAP_CMD_UID_THREAD;
	uint32_t keys = parse_head(c, cmd, &status, &why);
	int rc = keys == 0 ? -1
			   : imap_search_parse(cmd->args, cmd->n_args, keys,
					       &c->search, &why);
	if (rc == 0) {
		imapd_job_start(s, sort_run, sort_end, c);
		return;
	}
	imapd_tagged(s, rc == -2 ? "NO" : status, "%s", why);
	sort_end(s, c);
	imapd_await_command(s);
}
