/* fetch: FETCH and UID FETCH (RFC 9051 6.4.5, 7.5.2; RFC 3516 BINARY),
 * STORE and UID STORE (6.4.6). The attributes are parsed on the loop
 * (imapd/fetchitem.h); the job reads each message whole (it is bounded by
 * the message size limit), or only its header block when no item needs
 * more (then from the header cache when it holds it: imapd/msgread.c),
 * parses its MIME structure only when an item needs it, and stops after IMAP_CHUNK bytes of responses so that the
 * client reads them before the next messages are loaded. */
#include "imapd/imapd.h"

#include "imapd/bodystructure.h"
#include "imapd/crlf.h"
#include "imapd/envelope.h"
#include "imapd/fetchbody.h"
#include "imapd/fetchitem.h"
#include "imapd/imapstr.h"
#include "lib/log.h"
#include "mail/mime.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

struct fetch_ctx {
	const struct imap_command *cmd;
	struct fetch_list list;
	bool uid;        /* UID FETCH: UID in every response */
	bool need_text;  /* some item reads the message */
	bool need_mime;  /* some item needs its structure */
	bool sets_seen;  /* a BODY[...] without .PEEK */
	/* every item that reads the message reads only its header block
	 * (ENVELOPE, RFC822.HEADER, BODY[HEADER...]): it may come from the
	 * process's header cache instead of the file */
	bool header_only;
	struct imapd_reader reader;
	size_t *idx, n, pos;
	/* the batch whose \Seen was set in one store call: [pos, batch_end),
	 * and which of them got it from this FETCH (a job may stop inside a
	 * batch and go on from pos after its output was read) */
	size_t batch_start, batch_end;
	bool seen_now[64];
	bool failed;     /* a message could not be read */
	/* RFC 7162 3.1.4, 3.2.6 */
	bool changedsince_given, vanished;
	uint64_t changedsince;
	bool add_modseq; /* MODSEQ in every response, asked or not */
};

/* What became of one message's response. */
enum fetch_one_result {
	FETCH_ONE_OK,
	FETCH_ONE_GONE, /* it could not be read (expunged meanwhile?) */
	FETCH_ONE_FULL, /* its response does not fit in the output buffer */
};

static const char *const months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
				     "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

/* date-time = DQUOTE date-day-fixed "-" date-month "-" date-year SP time
 * SP zone DQUOTE (RFC 9051 9), in UTC. */
static void write_date_time(struct buf *out, int64_t t)
{
	struct tm tm;
	time_t tt = (time_t)t;
	gmtime_r(&tt, &tm);
	buf_appendf(out, "\"%2d-%s-%04d %02d:%02d:%02d +0000\"", tm.tm_mday,
		    months[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min,
		    tm.tm_sec);
}

/* Whether an item that reads the message needs no more than the top
 * header block. */
static bool reads_header_only(const struct fetch_att *a)
{
	enum fetch_text t = a->section.text;
	switch (a->kind) {
	case FETCH_ENVELOPE:
	case FETCH_RFC822_HEADER:
		return true;
	case FETCH_BODY_SECTION:
		return a->section.n_parts == 0 &&
		       (t == FETCH_TEXT_HEADER || t == FETCH_TEXT_HEADER_FIELDS ||
			t == FETCH_TEXT_HEADER_FIELDS_NOT);
	default:
		return false;
	}
}

/* What the attributes need, decided once per command. */
static void plan(struct fetch_ctx *c)
{
	c->header_only = true;
	for (size_t i = 0; i < c->list.n; i++) {
		const struct fetch_att *a = &c->list.v[i];
		switch (a->kind) {
		case FETCH_FLAGS:
		case FETCH_INTERNALDATE:
		case FETCH_UID:
		case FETCH_MODSEQ:
		case FETCH_RFC822_SIZE:
			continue; /* from the snapshot */
		case FETCH_ENVELOPE:
		case FETCH_BODY:
		case FETCH_BODYSTRUCTURE:
		case FETCH_BINARY_SIZE:
			break;
		case FETCH_RFC822:
		case FETCH_RFC822_HEADER:
		case FETCH_RFC822_TEXT:
		case FETCH_BODY_SECTION:
		case FETCH_BINARY:
			if (!a->peek)
				c->sets_seen = true;
			break;
		}
		c->need_text = c->need_mime = true;
		if (!reads_header_only(a))
			c->header_only = false;
	}
}

/* ------------------------------------------------------------ items */

static const char *const text_names[] = {"", "HEADER", "HEADER.FIELDS",
					 "HEADER.FIELDS.NOT", "TEXT", "MIME"};

/* "[1.2.HEADER.FIELDS (From To)]" as the client asked. */
static void write_section(struct buf *out, const struct fetch_section *sec)
{
	buf_append_byte(out, '[');
	for (size_t i = 0; i < sec->n_parts; i++)
		buf_appendf(out, "%s%u", i ? "." : "", sec->parts[i]);
	if (sec->text != FETCH_TEXT_NONE)
		buf_appendf(out, "%s%s", sec->n_parts ? "." : "",
			    text_names[sec->text]);
	if (sec->text == FETCH_TEXT_HEADER_FIELDS ||
	    sec->text == FETCH_TEXT_HEADER_FIELDS_NOT) {
		buf_append_str(out, " (");
		for (size_t i = 0; i < sec->n_fields; i++) {
			if (i)
				buf_append_byte(out, ' ');
			imap_write_astring(out, sec->fields[i].p,
					   sec->fields[i].len);
		}
		buf_append_byte(out, ')');
	}
	buf_append_byte(out, ']');
}

static void write_name(struct buf *out, const struct fetch_att *a)
{
	switch (a->kind) {
	case FETCH_RFC822:
		buf_append_str(out, "RFC822");
		return;
	case FETCH_RFC822_HEADER:
		buf_append_str(out, "RFC822.HEADER");
		return;
	case FETCH_RFC822_TEXT:
		buf_append_str(out, "RFC822.TEXT");
		return;
	default:
		break;
	}
	buf_append_str(out, a->kind == FETCH_BODY_SECTION ? "BODY"
			    : a->kind == FETCH_BINARY   ? "BINARY"
							: "BINARY.SIZE");
	write_section(out, &a->section);
	/* RFC 9051 7.5.2: a partial fetch answers with its origin only */
	if (a->partial && a->kind != FETCH_BINARY_SIZE)
		buf_appendf(out, "<%u>", a->origin);
}

/* The bytes of a section; NIL when there is no such part. -1 when out is
 * full (the caller rolls the message back). */
static int write_body(struct buf *out, const char *msg, size_t len,
		      const struct mime_msg *m, const struct fetch_att *a)
{
	struct buf part;
	int rc;
	write_name(out, a);
	if (buf_append_byte(out, ' ') < 0)
		return -1;
	if (a->kind == FETCH_BINARY_SIZE) {
		uint64_t size = 0;
		enum fetchbody_result r = fetchbody_binary_size(msg, len, m, a,
								&size);
		if (r == FETCHBODY_OK)
			return buf_appendf(out, "%llu", (unsigned long long)size);
		return buf_append_str(out, "NIL");
	}
	buf_init(&part, 0);
	enum fetchbody_result r = fetchbody_get(msg, len, m, a, &part);
	const char *p = part.data != NULL ? part.data : "";
	if (r != FETCHBODY_OK)
		rc = buf_append_str(out, "NIL"); /* no part, or an unknown CTE */
	else if (a->kind == FETCH_BINARY && memchr(p, '\0', part.len) != NULL)
		rc = imap_write_literal8(out, p, part.len);
	else
		rc = imap_write_literal(out, p, part.len);
	buf_free(&part);
	return rc;
}

struct loaded {
	char *data;
	size_t len;
	struct mime_msg *mime;
};

static uint64_t rfc822_size(const struct store_msg *m, const struct loaded *l)
{
	if (m->crlf_size > 0)
		return m->crlf_size;
	return l->data != NULL ? l->len + crlf_bare_lfs(l->data, 0, l->len)
			       : m->size;
}

/* One item; -1 when out is full. The small items cannot fail alone: a
 * full buffer shows in the next append that checks (at the latest the
 * closing parenthesis), and the caller rolls the whole message back. */
static int write_item(struct imap_session *s, const struct fetch_att *a,
		      size_t idx, const struct loaded *l, struct buf *out)
{
	const struct store_msg *m = &store_mailbox_msgs(s->mb)[idx];
	int64_t t = 0;
	const char *why;
	switch (a->kind) {
	case FETCH_FLAGS:
		buf_append_str(out, "FLAGS ");
		imapd_write_flags(s->mb, m, out);
		return 0;
	case FETCH_UID:
		return buf_appendf(out, "UID %u", m->uid);
	case FETCH_MODSEQ:
		return buf_appendf(out, "MODSEQ (%llu)",
				   (unsigned long long)m->modseq);
	case FETCH_INTERNALDATE:
		store_mailbox_internaldate(s->mb, idx, &t, &why);
		buf_append_str(out, "INTERNALDATE ");
		write_date_time(out, t);
		return 0;
	case FETCH_RFC822_SIZE:
		return buf_appendf(out, "RFC822.SIZE %llu",
				   (unsigned long long)rfc822_size(m, l));
	case FETCH_ENVELOPE:
		buf_append_str(out, "ENVELOPE ");
		return imap_envelope_part(out, l->mime, mime_root(l->mime));
	case FETCH_BODY:
	case FETCH_BODYSTRUCTURE:
		buf_append_str(out, a->kind == FETCH_BODY ? "BODY "
							  : "BODYSTRUCTURE ");
		return imap_bodystructure_write(out, l->data, l->len, l->mime,
						a->kind == FETCH_BODYSTRUCTURE);
	default:
		return write_body(out, l->data, l->len, l->mime, a);
	}
}

/* ------------------------------------------------------------ messages */

static int load(struct imap_session *s, size_t idx, bool mime,
		struct loaded *l, const char **why)
{
	const struct store_msg *m = &store_mailbox_msgs(s->mb)[idx];
	uint64_t max = s->d->cfg->imap_max_message_size * 2;
	int fd = store_mailbox_open_msg(s->mb, idx, why);
	if (fd < 0)
		return -1;
	size_t cap = m->size < max ? (size_t)m->size + 1 : (size_t)max + 1;
	l->data = malloc(cap);
	l->len = 0;
	ssize_t r = 0;
	while (l->data != NULL && l->len < cap &&
	       (r = read(fd, l->data + l->len, cap - l->len)) > 0)
		l->len += (size_t)r;
	close(fd);
	if (l->data == NULL || r < 0) {
		*why = "cannot read the message";
		return -1;
	}
	if (l->len > max) { /* it grew past any size we accept: cut it */
		l->len = (size_t)max;
	}
	/* a client that fetches envelopes or bodies often searches next */
	imapd_note_header(s, idx, l->data, l->len, l->len < cap);
	if (mime && (l->mime = mime_parse(l->data, l->len)) == NULL) {
		*why = "out of memory";
		return -1;
	}
	return 0;
}

/* The header block alone, from the cache or the file: 1, or 0 when the
 * caller should read the message whole (a header block over the cache's
 * entry limit, a read error, no memory). The same bytes as the file's
 * start, so the items answer the same as from the whole message. */
static int load_header(struct imap_session *s, struct fetch_ctx *c,
		       size_t idx, struct loaded *l)
{
	const char *hdr;
	size_t len;
	if (imapd_read_header(s, &c->reader, idx, &hdr, &len) != 1)
		return 0;
	l->data = malloc(len + 1);
	if (l->data == NULL)
		return 0;
	memcpy(l->data, hdr, len);
	l->data[len] = '\0';
	l->len = len;
	if ((l->mime = mime_parse(l->data, l->len)) == NULL) {
		free(l->data);
		memset(l, 0, sizeof(*l));
		return 0;
	}
	return 1;
}

static void unload(struct loaded *l)
{
	mime_msg_free(&l->mime);
	free(l->data);
	memset(l, 0, sizeof(*l));
}

static bool asked(const struct fetch_ctx *c, enum fetch_kind k)
{
	for (size_t i = 0; i < c->list.n; i++)
		if (c->list.v[i].kind == k)
			return true;
	return false;
}

/* The response of one message, into out; -1 when out is full. */
static int write_message(struct imap_session *s, struct fetch_ctx *c,
			 size_t idx, bool seen_now, const struct loaded *l,
			 struct buf *out)
{
	const struct store_msg *m = &store_mailbox_msgs(s->mb)[idx];
	const char *sep = "";
	int rc = buf_appendf(out, "* %zu FETCH (", idx + 1);
	if (c->uid && !asked(c, FETCH_UID)) {
		buf_appendf(out, "UID %u", m->uid);
		sep = " ";
	}
	for (size_t i = 0; i < c->list.n && rc == 0; i++) {
		buf_append_str(out, sep);
		rc = write_item(s, &c->list.v[i], idx, l, out);
		sep = " ";
	}
	/* RFC 9051 6.4.5: a \Seen set by this FETCH is reported, with its
	 * new modseq once CONDSTORE is on (RFC 7162 3.2) */
	if (rc == 0 && seen_now && !asked(c, FETCH_FLAGS)) {
		buf_appendf(out, "%sFLAGS ", sep);
		imapd_write_flags(s->mb, m, out);
	}
	if (rc == 0 && (c->add_modseq || (seen_now && s->condstore)) &&
	    !asked(c, FETCH_MODSEQ))
		rc = buf_appendf(out, "%sMODSEQ (%llu)", sep,
				 (unsigned long long)m->modseq);
	return rc == 0 ? buf_append_str(out, ")\r\n") : -1;
}

/* "* seq FETCH (...)" for one message. A response that does not fit is
 * taken back whole: a literal whose bytes do not follow would let the
 * message's own bytes be read as responses (an injection). */
static enum fetch_one_result fetch_one(struct imap_session *s,
				       struct fetch_ctx *c, size_t idx,
				       bool seen_now, struct buf *out)
{
	struct loaded l = {0};
	const char *why;
	const struct store_msg *m = &store_mailbox_msgs(s->mb)[idx];
	bool need_size = m->crlf_size == 0 && asked(c, FETCH_RFC822_SIZE);
	bool need_text = c->need_text || need_size;
	bool header = need_text && c->header_only && !need_size &&
		      load_header(s, c, idx, &l) == 1;
	if (need_text && !header && load(s, idx, c->need_mime, &l, &why) < 0) {
		log_warn("session=%s event=fetch-failed uid=%u error=\"%s\"",
			 s->id, m->uid, why);
		unload(&l);
		return FETCH_ONE_GONE;
	}
	size_t start = out->len;
	int rc = write_message(s, c, idx, seen_now, &l, out);
	unload(&l);
	if (rc == 0)
		return FETCH_ONE_OK;
	buf_truncate(out, start);
	return FETCH_ONE_FULL;
}

/* The end of the batch that starts at pos. */
static size_t chunk_end(const struct fetch_ctx *c)
{
	return c->pos + 64 < c->n ? c->pos + 64 : c->n;
}

/* \Seen for the messages of the batch that lack it, in one store call
 * (one fsync). */
static void mark_seen(struct imap_session *s, struct fetch_ctx *c, size_t end,
		      bool *seen_now)
{
	const struct store_msg *msgs = store_mailbox_msgs(s->mb);
	uint32_t uids[64];
	size_t n = 0;
	const char *why;
	for (size_t k = c->pos; k < end; k++)
		if (!(msgs[c->idx[k]].flags & STORE_SEEN)) {
			uids[n++] = msgs[c->idx[k]].uid;
			seen_now[k - c->pos] = true;
		}
	uint32_t *failed = NULL;
	size_t n_failed = 0;
	if (n > 0 && store_mailbox_set_flags(s->mb, uids, n, STORE_FLAGS_ADD,
					     STORE_SEEN, 0, 0, &failed,
					     &n_failed, &why) < 0)
		log_warn("session=%s event=seen-failed error=\"%s\"", s->id, why);
	free(failed);
}

/* The next batch of up to 64 messages: \Seen set in one store call. */
static void next_batch(struct imap_session *s, struct fetch_ctx *c)
{
	c->batch_start = c->pos;
	c->batch_end = chunk_end(c);
	memset(c->seen_now, 0, sizeof(c->seen_now));
	if (c->sets_seen && !s->readonly)
		mark_seen(s, c, c->batch_end, c->seen_now);
}

/* Messages until IMAP_CHUNK bytes of responses wait: looked at after
 * every message, since one may be as large as the size limit. */
static int fetch_run(struct imap_session *s, void *arg, struct buf *out)
{
	struct fetch_ctx *c = arg;
	const char *why;
	if (c->vanished && c->pos == 0) { /* before the FETCHes (3.2.6) */
		imapd_vanished(s->mb, c->cmd->args[0].str, c->cmd->args[0].len,
			       c->changedsince, out, &why);
		c->vanished = false;
	}
	while (c->pos < c->n && out->len < IMAP_CHUNK) {
		if (c->pos == c->batch_end)
			next_batch(s, c);
		bool seen = c->seen_now[c->pos - c->batch_start];
		enum fetch_one_result r = fetch_one(s, c, c->idx[c->pos], seen,
						    out);
		if (r == FETCH_ONE_FULL && out->len > 0)
			return 0; /* again once the client read what is there */
		if (r == FETCH_ONE_FULL) {
			/* one message's items alone pass the buffer's maximum */
			buf_appendf(out, "%s NO [LIMIT] The response to message %zu "
					 "is too large; fetch fewer items at "
					 "once\r\n", s->tag, c->idx[c->pos] + 1);
			return 1;
		}
		if (r == FETCH_ONE_GONE)
			c->failed = true;
		c->pos++;
	}
	if (c->pos < c->n)
		return 0;
	if (c->header_only)
		log_debug("session=%s event=fetch-headers messages=%zu "
			  "hdr_cached=%lu hdr_read=%lu", s->id, c->n,
			  c->reader.cached, c->reader.read);
	imapd_reader_free(&c->reader); /* done reading: the handle goes */
	if (c->uid) /* RFC 9051 7.4.1: no EXPUNGE during FETCH, UID FETCH may */
		imapd_updates(s, out, true);
	if (c->failed)
		/* RFC 5530 3: another session expunged what we still list */
		buf_appendf(out, "%s NO [EXPUNGEISSUED] Some messages could not "
				 "be fetched (expunged meanwhile?)\r\n", s->tag);
	else
		buf_appendf(out, "%s OK %s completed\r\n", s->tag,
			    c->cmd->def->name);
	return 1;
}

static void fetch_end(struct imap_session *s, void *arg)
{
	struct fetch_ctx *c = arg;
	imapd_reader_free(&c->reader);
	fetch_list_free(&c->list);
	free(c->idx);
	free(c);
}

/* The FETCH modifiers, args[i] (i == n_args: none): (CHANGEDSINCE n
 * [VANISHED]), RFC 7162 3.1.4 and 3.2.6. */
static int fetch_modifiers(struct imap_session *s, struct fetch_ctx *c,
			   const struct imap_command *cmd, uint32_t i,
			   const char **error_r)
{
	if (i >= cmd->n_args)
		return 0;
	const struct imap_arg *l = &cmd->args[i];
	*error_r = "Syntax: FETCH set items (CHANGEDSINCE modseq [VANISHED])";
	if (l->type != IMAP_ARG_LIST || l->next != cmd->n_args)
		return -1;
	for (uint32_t k = i + 1; k < l->next; k = cmd->args[k].next) {
		const struct imap_arg *a = &cmd->args[k];
		if (imap_arg_atom_is(a, "CHANGEDSINCE") && a->next < l->next &&
		    !c->changedsince_given &&
		    imapd_arg_modseq(&cmd->args[a->next], true,
				     &c->changedsince)) {
			c->changedsince_given = true;
			k = a->next;
		} else if (imap_arg_atom_is(a, "VANISHED") && !c->vanished) {
			c->vanished = true;
		} else {
			return -1;
		}
	}
	/* VANISHED: UID FETCH with CHANGEDSINCE, after ENABLE QRESYNC */
	if (c->vanished && (!c->changedsince_given || !c->uid || !s->qresync)) {
		*error_r = "VANISHED needs UID FETCH, CHANGEDSINCE and "
			   "ENABLE QRESYNC";
		return -1;
	}
	c->add_modseq = c->changedsince_given;
	return 0;
}

/* CHANGEDSINCE: keep the messages changed after it. */
static void keep_changed(struct imap_session *s, struct fetch_ctx *c)
{
	const struct store_msg *msgs = store_mailbox_msgs(s->mb);
	size_t k = 0;
	for (size_t i = 0; i < c->n; i++)
		if (msgs[c->idx[i]].modseq > c->changedsince)
			c->idx[k++] = c->idx[i];
	c->n = k;
}

void imapd_cmd_fetch(struct imap_session *s, const struct imap_command *cmd)
{
	const char *why;
	struct fetch_ctx *c = calloc(1, sizeof(*c));
	if (c == NULL) {
		imapd_tagged(s, "NO", "[UNAVAILABLE] Out of memory");
		return;
	}
	imapd_reader_init(&c->reader);
	c->cmd = cmd;
	c->uid = cmd->def->id == IMAP_CMD_UID_FETCH;
	uint32_t items = cmd->n_top >= 2 ? cmd->args[0].next : 0;
	if (cmd->n_top < 2 || cmd->n_top > 3 ||
	    cmd->args[0].type != IMAP_ARG_ATOM) {
		imapd_tagged(s, "BAD", "Syntax: FETCH sequence-set items");
	} else if (fetch_list_parse(cmd->args, cmd->args[items].next, items,
				    &c->list, &why) < 0 ||
		   fetch_modifiers(s, c, cmd, cmd->args[items].next, &why) < 0 ||
		   imapd_resolve_set(s->mb, cmd->args[0].str, cmd->args[0].len,
				     c->uid, &c->idx, &c->n, &why) < 0) {
		imapd_tagged(s, "BAD", "%s", why);
	} else {
		/* RFC 7162 3.1: MODSEQ and CHANGEDSINCE turn CONDSTORE on */
		if (c->add_modseq || asked(c, FETCH_MODSEQ))
			s->condstore = true;
		if (c->changedsince_given)
			keep_changed(s, c);
		plan(c);
		imapd_job_start(s, fetch_run, fetch_end, c);
		return;
	}
	fetch_end(s, c);
	imapd_await_command(s);
}

/* ------------------------------------------------------------ STORE */

struct store_ctx {
	const struct imap_command *cmd;
	bool uid, silent;
	enum store_flag_op op;
	uint32_t flags;
	const char *keywords[STORE_KEYWORDS_MAX];
	size_t n_keywords;
	size_t *idx, n;
	bool unchanged_given; /* RFC 7162 3.1.3 UNCHANGEDSINCE */
	uint64_t unchangedsince;
};

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return x < y ? -1 : x > y;
}

static const struct {
	const char *name;
	uint32_t bit;
} flag_names[] = {{"\\Seen", STORE_SEEN},	  {"\\Answered", STORE_ANSWERED},
		  {"\\Flagged", STORE_FLAGGED}, {"\\Deleted", STORE_DELETED},
		  {"\\Draft", STORE_DRAFT}};

int imapd_parse_flag(const char *p, size_t n, uint32_t *flags,
		     const char **keyword_r)
{
	*keyword_r = NULL;
	for (size_t i = 0; i < 5; i++)
		if (strlen(flag_names[i].name) == n &&
		    strncasecmp(p, flag_names[i].name, n) == 0) {
			*flags |= flag_names[i].bit;
			return 0;
		}
	if (n == 0 || p[0] == '\\')
		return -1; /* \Recent and unknown system flags */
	*keyword_r = p;
	return 0;
}

/* The flags of args[i] (a list) or of args[i..] (bare flags). */
static bool store_flags(struct store_ctx *c, const struct imap_command *cmd,
			uint32_t i)
{
	uint32_t end = cmd->n_args;
	if (cmd->args[i].type == IMAP_ARG_LIST) {
		end = cmd->args[i].next;
		i++;
	}
	for (; i < end; i = cmd->args[i].next) {
		const struct imap_arg *a = &cmd->args[i];
		const char *kw;
		if (a->type != IMAP_ARG_ATOM ||
		    imapd_parse_flag(a->str, a->len, &c->flags, &kw) < 0)
			return false;
		if (kw != NULL) {
			if (c->n_keywords == STORE_KEYWORDS_MAX)
				return false;
			c->keywords[c->n_keywords++] = kw;
		}
	}
	return true;
}

static bool store_item(struct store_ctx *c, const struct imap_arg *a)
{
	const char *p = a->str;
	size_t n = a->len;
	if (a->type != IMAP_ARG_ATOM)
		return false;
	c->op = STORE_FLAGS_SET;
	if (n > 0 && (p[0] == '+' || p[0] == '-')) {
		c->op = p[0] == '+' ? STORE_FLAGS_ADD : STORE_FLAGS_REMOVE;
		p++;
		n--;
	}
	c->silent = n == 12 && strncasecmp(p, "FLAGS.SILENT", 12) == 0;
	return c->silent || (n == 5 && strncasecmp(p, "FLAGS", 5) == 0);
}

/* The store call; *failed_r: the UIDs UNCHANGEDSINCE kept unchanged. */
static int store_apply(struct imap_session *s, struct store_ctx *c,
		       uint32_t *uids, uint32_t **failed_r, size_t *n_failed,
		       const char **why)
{
	uint32_t kw = 0;
	for (size_t i = 0; i < c->n_keywords; i++) {
		int k = store_mailbox_keyword_index(
			s->mb, c->keywords[i], strlen(c->keywords[i]),
			c->op != STORE_FLAGS_REMOVE, why);
		if (k >= 0)
			kw |= UINT32_C(1) << k;
		else if (c->op != STORE_FLAGS_REMOVE)
			return -1;
	}
	const struct store_msg *msgs = store_mailbox_msgs(s->mb);
	for (size_t i = 0; i < c->n; i++)
		uids[i] = msgs[c->idx[i]].uid;
	if (c->unchanged_given && c->unchangedsince == 0) {
		/* every message has a modseq above 0: all fail (3.1.3); the
		 * store reads 0 as "no condition" */
		*failed_r = malloc((c->n + 1) * sizeof(**failed_r));
		if (*failed_r == NULL) {
			*why = "out of memory";
			return -1;
		}
		memcpy(*failed_r, uids, c->n * sizeof(*uids));
		*n_failed = c->n;
		return 0;
	}
	return store_mailbox_set_flags(s->mb, uids, c->n, c->op, c->flags, kw,
				       c->unchangedsince, failed_r, n_failed,
				       why);
}

static bool in_list(const uint32_t *v, size_t n, uint32_t x)
{
	for (size_t i = 0; i < n; i++)
		if (v[i] == x)
			return true;
	return false;
}

/* The FETCH responses of the messages changed; MODSEQ once CONDSTORE is
 * on, even for .SILENT (RFC 7162 3.1.3). */
static void store_responses(struct imap_session *s, struct store_ctx *c,
			    const uint32_t *failed, size_t n_failed,
			    struct buf *out)
{
	const struct store_msg *msgs = store_mailbox_msgs(s->mb);
	for (size_t i = 0; i < c->n; i++) {
		const struct store_msg *m = &msgs[c->idx[i]];
		if ((c->silent && !s->condstore) ||
		    in_list(failed, n_failed, m->uid))
			continue;
		buf_appendf(out, "* %zu FETCH (", c->idx[i] + 1);
		if (c->uid)
			buf_appendf(out, "UID %u ", m->uid);
		if (!c->silent) {
			buf_append_str(out, "FLAGS ");
			imapd_write_flags(s->mb, m, out);
		}
		if (s->condstore)
			buf_appendf(out, "%sMODSEQ (%llu)", c->silent ? "" : " ",
				    (unsigned long long)m->modseq);
		buf_append_str(out, ")\r\n");
	}
}

/* [MODIFIED set]: sequence numbers, or UIDs for UID STORE (3.1.3). */
static void write_modified(struct imap_session *s, struct store_ctx *c,
			   uint32_t *failed, size_t n_failed, struct buf *out)
{
	for (size_t i = 0; i < n_failed && !c->uid; i++)
		failed[i] = (uint32_t)store_mailbox_find(s->mb, failed[i]) + 1;
	qsort(failed, n_failed, sizeof(*failed), cmp_u32);
	buf_append_str(out, " [MODIFIED ");
	imapd_write_numbers(out, failed, n_failed);
	buf_append_str(out, "]");
}

static int store_run(struct imap_session *s, void *arg, struct buf *out)
{
	struct store_ctx *c = arg;
	const char *why;
	uint32_t *uids = malloc((c->n + 1) * sizeof(*uids));
	uint32_t *failed = NULL;
	size_t n_failed = 0;
	if (uids == NULL) {
		buf_appendf(out, "%s NO [UNAVAILABLE] Out of memory\r\n", s->tag);
		return 1;
	}
	if (store_apply(s, c, uids, &failed, &n_failed, &why) < 0) {
		buf_appendf(out, "%s NO %s failed: %s\r\n", s->tag,
			    c->cmd->def->name, why);
	} else {
		store_responses(s, c, failed, n_failed, out);
		if (c->uid)
			imapd_updates(s, out, true);
		buf_appendf(out, "%s OK", s->tag);
		if (n_failed > 0)
			write_modified(s, c, failed, n_failed, out);
		buf_appendf(out, " %s completed\r\n", c->cmd->def->name);
	}
	free(uids);
	free(failed);
	return 1;
}

static void store_end(struct imap_session *s, void *arg)
{
	struct store_ctx *c = arg;
	free(c->idx);
	free(c);
}

/* (UNCHANGEDSINCE n) at args[i] (RFC 7162 3.1.3; 0 allowed: it always
 * fails). */
static bool store_modifier(const struct imap_command *cmd, uint32_t i,
			   struct store_ctx *c)
{
	const struct imap_arg *l = &cmd->args[i];
	if (l->count != 2 || !imap_arg_atom_is(&cmd->args[i + 1],
					       "UNCHANGEDSINCE"))
		return false;
	c->unchanged_given = true;
	return imapd_arg_modseq(&cmd->args[cmd->args[i + 1].next], true,
				&c->unchangedsince);
}

void imapd_cmd_store(struct imap_session *s, const struct imap_command *cmd)
{
	const char *why = "Syntax: STORE sequence-set [+-]FLAGS[.SILENT] (flags)";
	struct store_ctx *c = calloc(1, sizeof(*c));
	if (c == NULL) {
		imapd_tagged(s, "NO", "[UNAVAILABLE] Out of memory");
		return;
	}
	c->cmd = cmd;
	c->uid = cmd->def->id == IMAP_CMD_UID_STORE;
	uint32_t item = cmd->n_top >= 3 ? cmd->args[0].next : 0;
	if (cmd->n_top >= 4 && cmd->args[item].type == IMAP_ARG_LIST) {
		if (!store_modifier(cmd, item, c)) {
			imapd_tagged(s, "BAD", "Syntax: STORE set "
					       "(UNCHANGEDSINCE modseq) ...");
			store_end(s, c);
			imapd_await_command(s);
			return;
		}
		s->condstore = true; /* RFC 7162 3.1 */
		item = cmd->args[item].next;
	}
	if (cmd->n_top < 3 || cmd->args[0].type != IMAP_ARG_ATOM ||
	    !store_item(c, &cmd->args[item]) ||
	    !store_flags(c, cmd, cmd->args[item].next)) {
		imapd_tagged(s, "BAD", "%s", why);
	} else if (s->readonly) {
		imapd_tagged(s, "NO", "[READ-ONLY] Mailbox is read-only");
	} else if (imapd_resolve_set(s->mb, cmd->args[0].str, cmd->args[0].len,
				     c->uid, &c->idx, &c->n, &why) < 0) {
		imapd_tagged(s, "BAD", "%s", why);
	} else {
		imapd_job_start(s, store_run, store_end, c);
		return;
	}
	store_end(s, c);
	imapd_await_command(s);
}
