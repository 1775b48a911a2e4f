/* searchcmd: SEARCH and UID SEARCH (RFC 9051 6.4.4) over the selected
 * mailbox, answered with SEARCH, or with ESEARCH (RFC 4731, RFC 9051
 * 7.3.4) when the client asked for RETURN options or enabled IMAP4rev2.
 * The keys are parsed on the loop (imapd/search.h); the job reads a
 * message only when a key needs its text. */
#include "imapd/imapd.h"

#include "imapd/crlf.h"
#include "imapd/search.h"
#include "lib/log.h"
#include "mail/mime.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct search_ctx {
	const struct imap_command *cmd;
	struct imap_search search;
	bool uid;
	uint32_t *hits; /* sequence numbers or UIDs, ascending */
	size_t n_hits;
	uint64_t max_modseq; /* of the hits, for a MODSEQ key */
};

static int keyword_index(void *ctx, const char *name, size_t len)
{
	const char *why;
	return store_mailbox_keyword_index(ctx, name, len, false, &why);
}

/* The message's text into *data (malloc'd), bounded by the size limit. */
static int read_msg(struct imap_session *s, size_t idx, char **data,
		    size_t *len)
{
	const char *why;
	uint64_t max = s->d->cfg->imap_max_message_size * 2;
	const struct store_msg *m = &store_mailbox_msgs(s->mb)[idx];
	size_t cap = m->size < max ? (size_t)m->size : (size_t)max;
	int fd = store_mailbox_open_msg(s->mb, idx, &why);
	if (fd < 0)
		return -1;
	*data = malloc(cap + 1);
	*len = 0;
	ssize_t r = 0;
	while (*data != NULL && *len < cap &&
	       (r = read(fd, *data + *len, cap - *len)) > 0)
		*len += (size_t)r;
	close(fd);
	return *data == NULL || r < 0 ? -1 : 0;
}

/* Where the header ends: after the first empty line. */
static size_t header_len(const char *p, size_t n)
{
	for (size_t i = 0; i + 1 < n; i++)
		if (p[i] == '\n' &&
		    (p[i + 1] == '\n' ||
		     (p[i + 1] == '\r' && i + 2 < n && p[i + 2] == '\n')))
			return i + (p[i + 1] == '\n' ? 2 : 3);
	return n;
}

bool imapd_search_matches(struct imap_session *s,
			  const struct imap_search *search, size_t i)
{
	const struct store_msg *msgs = store_mailbox_msgs(s->mb);
	size_t count = store_mailbox_count(s->mb);
	const struct store_msg *m = &msgs[i];
	const char *why;
	struct search_msg sm = {
		.seq = (uint32_t)i + 1, .uid = m->uid,
		.max_seq = (uint32_t)count, .max_uid = msgs[count - 1].uid,
		.flags = m->flags, .keywords = m->keywords, .modseq = m->modseq,
		.size = m->crlf_size ? m->crlf_size : m->size};
	store_mailbox_internaldate(s->mb, i, &sm.internaldate, &why);
	char *data = NULL;
	size_t len = 0;
	if (search->needs_text && read_msg(s, i, &data, &len) == 0) {
		sm.text = data;
		sm.len = len;
		sm.header_len = header_len(data, len);
		if (m->crlf_size == 0)
			sm.size = len + crlf_bare_lfs(data, 0, len);
	}
	bool r = imap_search_match(search, &sm);
	free(data);
	return r;
}

static void write_esearch(struct imap_session *s, struct search_ctx *c,
			  struct buf *out)
{
	unsigned ret = c->search.esearch ? c->search.ret : SEARCH_RET_ALL;
	buf_appendf(out, "* ESEARCH (TAG \"%s\")%s", s->tag,
		    c->uid ? " UID" : "");
	if (c->n_hits > 0 && (ret & SEARCH_RET_MIN))
		buf_appendf(out, " MIN %u", c->hits[0]);
	if (c->n_hits > 0 && (ret & SEARCH_RET_MAX))
		buf_appendf(out, " MAX %u", c->hits[c->n_hits - 1]);
	if (ret & SEARCH_RET_COUNT)
		buf_appendf(out, " COUNT %zu", c->n_hits);
	if (c->n_hits > 0 && (ret & SEARCH_RET_ALL)) {
		buf_append_str(out, " ALL ");
		imapd_write_numbers(out, c->hits, c->n_hits);
	}
	/* RFC 7162 3.1.5: the highest modseq of what was found */
	if (c->search.modseq && c->n_hits > 0)
		buf_appendf(out, " MODSEQ %llu",
			    (unsigned long long)c->max_modseq);
	buf_append_str(out, "\r\n");
}

static int search_run(struct imap_session *s, void *arg, struct buf *out)
{
	struct search_ctx *c = arg;
	size_t count = store_mailbox_count(s->mb);
	imap_search_bind_keywords(&c->search, keyword_index, s->mb);
	c->hits = malloc((count + 1) * sizeof(*c->hits));
	if (c->hits == NULL) {
		buf_appendf(out, "%s NO [UNAVAILABLE] Out of memory\r\n", s->tag);
		return 1;
	}
	const struct store_msg *msgs = store_mailbox_msgs(s->mb);
	for (size_t i = 0; i < count; i++) {
		if (atomic_load(&s->job.cancelled))
			return 1; /* the client went: nobody reads the answer */
		if (!imapd_search_matches(s, &c->search, i))
			continue;
		c->hits[c->n_hits++] = c->uid ? msgs[i].uid : (uint32_t)i + 1;
		if (msgs[i].modseq > c->max_modseq)
			c->max_modseq = msgs[i].modseq;
	}
	if (c->search.esearch || s->rev2) {
		write_esearch(s, c, out);
	} else {
		buf_append_str(out, "* SEARCH");
		for (size_t i = 0; i < c->n_hits; i++)
			buf_appendf(out, " %u", c->hits[i]);
		if (c->search.modseq && c->n_hits > 0)
			buf_appendf(out, " (MODSEQ %llu)",
				    (unsigned long long)c->max_modseq);
		buf_append_str(out, "\r\n");
	}
	if (c->uid) /* RFC 9051 7.4.1: only UID SEARCH may see EXPUNGEs */
		imapd_updates(s, out, true);
	buf_appendf(out, "%s OK %s completed\r\n", s->tag, c->cmd->def->name);
	return 1;
}

static void search_end(struct imap_session *s, void *arg)
{
	struct search_ctx *c = arg;
	imap_search_free(&c->search);
	free(c->hits);
	free(c);
}

void imapd_cmd_search(struct imap_session *s, const struct imap_command *cmd)
{
	const char *why;
	struct search_ctx *c = calloc(1, sizeof(*c));
	if (c == NULL) {
		imapd_tagged(s, "NO", "[UNAVAILABLE] Out of memory");
		return;
	}
	c->cmd = cmd;
	c->uid = cmd->def->id == IMAP_CMD_UID_SEARCH;
	int rc = imap_search_parse(cmd->args, cmd->n_args, 0, &c->search, &why);
	if (rc == 0) {
		if (c->search.modseq) /* RFC 7162 3.1 */
			s->condstore = true;
		imapd_job_start(s, search_run, search_end, c);
		return;
	}
	imapd_tagged(s, rc == -2 ? "NO" : "BAD", "%s", why);
	search_end(s, c);
	imapd_await_command(s);
}
