/* searchcmd: SEARCH and UID SEARCH (RFC 9051 6.4.4) over the selected
 * mailbox, answered with SEARCH, or with ESEARCH (RFC 4731, RFC 9051
 * 7.3.4) when the client asked for RETURN options or enabled IMAP4rev2.
 * The keys are parsed on the loop (imapd/search.h); the job reads a
 * message only when a key needs its text, and only its header block
 * (through the header cache, imapd/msgread.c) when no key needs more. */
#include "imapd/imapd.h"

#include "imapd/crlf.h"
#include "imapd/search.h"
#include "lib/log.h"
#include "mail/mime.h"
#include "store/hdrcache.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct search_ctx {
	const struct imap_command *cmd;
	struct imap_search search;
	bool uid;
	uint32_t *hits; /* sequence numbers or UIDs, ascending */
	size_t n_hits;
	uint64_t max_modseq; /* of the hits, for a MODSEQ key */
	struct imapd_reader reader;
};

static int keyword_index(void *ctx, const char *name, size_t len)
{
	const char *why;
	return store_mailbox_keyword_index(ctx, name, len, false, &why);
}

/* Where the header ends: after the first empty line, or the whole text
 * when it has none (hdrcache_header_end's rule, so that a block from the
 * cache and one cut from the whole message are the same bytes). */
static size_t header_len(const char *p, size_t n)
{
	size_t end = hdrcache_header_end(p, n);
	return end > 0 ? end : n;
}

/* The bytes the keys look at, into sm. A search that needs no more than
 * header fields reads the header block (from the cache, usually); one
 * that needs the body, or the RFC822.SIZE that only the whole text gives
 * (no ",W=" in the name), reads the message as a whole, and so does one
 * whose header block is too long to cache. A message that cannot be read
 * (expunged meanwhile) leaves sm->text NULL: text keys do not match. */
static void load_text(struct imap_session *s, struct imapd_reader *r,
		      const struct imap_search *search, size_t i,
		      struct search_msg *sm)
{
	const struct store_msg *m = &store_mailbox_msgs(s->mb)[i];
	uint64_t max = s->d->cfg->imap_max_message_size * 2;
	size_t cap = m->size < max ? (size_t)m->size : (size_t)max;
	const char *p;
	size_t n;
	if (!search->needs_body && (m->crlf_size != 0 || !search->needs_size)) {
		int rc = imapd_read_header(s, r, i, &p, &n);
		if (rc < 0)
			return;
		if (rc == 1) {
			sm->text = p;
			sm->len = sm->header_len = n;
			return;
		}
	}
	if (imapd_read_msg(s, r, i, cap, &p, &n) < 0)
		return;
	sm->text = p;
	sm->len = n;
	sm->header_len = header_len(p, n);
	if (m->crlf_size == 0)
		sm->size = n + crlf_bare_lfs(p, 0, n);
}

bool imapd_search_matches(struct imap_session *s, struct imapd_reader *r,
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
	/* a stat per message the first time: only when a key wants it */
	if (search->needs_date)
		store_mailbox_internaldate(s->mb, i, &sm.internaldate, &why);
	if (search->needs_text)
		load_text(s, r, search, i, &sm);
	return imap_search_match(search, &sm);
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
		if (!imapd_search_matches(s, &c->reader, &c->search, i))
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
	log_debug("session=%s event=search messages=%zu hits=%zu "
		  "hdr_cached=%lu hdr_read=%lu",
		  s->id, count, c->n_hits, c->reader.cached, c->reader.read);
	imapd_reader_free(&c->reader); /* done reading: the handle goes */
	if (c->uid) /* RFC 9051 7.4.1: only UID SEARCH may see EXPUNGEs */
		imapd_updates(s, out, true);
	buf_appendf(out, "%s OK %s completed\r\n", s->tag, c->cmd->def->name);
	return 1;
}

static void search_end(struct imap_session *s, void *arg)
{
	struct search_ctx *c = arg;
	imapd_reader_free(&c->reader);
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
	imapd_reader_init(&c->reader);
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
