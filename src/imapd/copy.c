/* copy: COPY and MOVE (RFC 9051 6.4.7, 6.4.8; RFC 6851) with COPYUID, and
 * APPEND (6.3.12) with APPENDUID (RFC 4315 UIDPLUS). An APPEND literal is
 * kept by the parser, within [imap] max_message_size (LITERAL+ may send
 * it unasked, RFC 7888; one over the limit is refused before a byte of it
 * is stored), and written durably by the store before the OK. */
#include "imapd/imapd.h"

#include "lib/log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

enum { FOLDER_SIZE = IMAP_FOLDER_NAME_MAX * 4 + 2 };

/* "1:3,7": the UIDs in their order, runs of +1 joined. COPYUID's two sets
 * correspond pair by pair, and each keeps its order when joined so. */
static void write_uid_set(struct buf *out, const uint32_t *v, size_t n)
{
	for (size_t i = 0; i < n;) {
		size_t j = i;
		while (j + 1 < n && v[j + 1] == v[j] + 1)
			j++;
		buf_appendf(out, "%s%u", i ? "," : "", v[i]);
		if (j > i)
			buf_appendf(out, ":%u", v[j]);
		i = j + 1;
	}
}

/* ------------------------------------------------------------ COPY/MOVE */

struct copy_ctx {
	const struct imap_command *cmd;
	bool uid, move;
	char folder[FOLDER_SIZE];
	size_t *idx, n;
};

static void copied_reply(struct imap_session *s, struct copy_ctx *c,
			 const struct store_copied *cp, struct buf *out)
{
	struct buf codes;
	buf_init(&codes, 0);
	if (cp->n > 0) {
		buf_appendf(&codes, "[COPYUID %u ", cp->uidvalidity);
		write_uid_set(&codes, cp->src_uids, cp->n);
		buf_append_byte(&codes, ' ');
		write_uid_set(&codes, cp->dst_uids, cp->n);
		buf_append_str(&codes, "] ");
	}
	if (c->move) /* RFC 6851 4.3: COPYUID goes in an untagged OK */
		buf_appendf(out, "* OK %sMoved\r\n", buf_cstr(&codes));
	else
		buf_appendf(out, "%s OK %s%s completed\r\n", s->tag,
			    buf_cstr(&codes), c->cmd->def->name);
	buf_free(&codes);
}

static int copy_run(struct imap_session *s, void *arg, struct buf *out)
{
	struct copy_ctx *c = arg;
	struct store_copied cp = {0};
	const char *why;
	uint32_t *uids = malloc((c->n + 1) * sizeof(*uids));
	if (uids == NULL) {
		buf_appendf(out, "%s NO [UNAVAILABLE] Out of memory\r\n", s->tag);
		return 1;
	}
	const struct store_msg *msgs = store_mailbox_msgs(s->mb);
	for (size_t i = 0; i < c->n; i++)
		uids[i] = msgs[c->idx[i]].uid;
	if (!imapd_folder_exists(s, c->folder)) {
		buf_appendf(out, "%s NO [TRYCREATE] Mailbox does not exist\r\n",
			    s->tag);
	} else if (store_mailbox_copy(s->mb, uids, c->n, c->folder, &cp,
				      &why) < 0) {
		buf_appendf(out, "%s NO %s%s failed: %s\r\n", s->tag,
			    why == STORE_ERROR_QUOTA ? "[OVERQUOTA] " : "",
			    c->cmd->def->name, why);
	} else {
		copied_reply(s, c, &cp, out);
		/* MOVE: the copies are durable; now the originals go, and
		 * the EXPUNGEs follow (RFC 6851 3.3) */
		if (c->move && store_mailbox_expunge(s->mb, cp.src_uids, cp.n,
						     false, &why) < 0)
			log_warn("session=%s event=move-expunge-failed "
				 "error=\"%s\"", s->id, why);
		if (c->move || c->uid)
			imapd_updates(s, out, true);
		if (c->move)
			buf_appendf(out, "%s OK %s completed\r\n", s->tag,
				    c->cmd->def->name);
	}
	store_copied_free(&cp);
	free(uids);
	return 1;
}

static void copy_end(struct imap_session *s, void *arg)
{
	struct copy_ctx *c = arg;
	free(c->idx);
	free(c);
}

void imapd_cmd_copy(struct imap_session *s, const struct imap_command *cmd)
{
	const char *why;
	struct copy_ctx *c = calloc(1, sizeof(*c));
	if (c == NULL) {
		imapd_tagged(s, "NO", "[UNAVAILABLE] Out of memory");
		return;
	}
	enum imap_cmd_id id = cmd->def->id;
	c->cmd = cmd;
	c->uid = id == IMAP_CMD_UID_COPY || id == IMAP_CMD_UID_MOVE;
	c->move = id == IMAP_CMD_MOVE || id == IMAP_CMD_UID_MOVE;
	if (cmd->n_top != 2 || cmd->args[0].type != IMAP_ARG_ATOM) {
		imapd_tagged(s, "BAD", "Syntax: %s sequence-set mailbox",
			     cmd->def->name);
	} else if (c->move && s->readonly) {
		imapd_tagged(s, "NO", "[READ-ONLY] Mailbox is read-only");
	} else if (imapd_folder_arg(s, &cmd->args[cmd->args[0].next], c->folder,
				    sizeof(c->folder), NULL, &why) < 0) {
		imapd_tagged(s, "NO", "%s", why);
	} else if (imapd_resolve_set(s->mb, cmd->args[0].str, cmd->args[0].len,
				     c->uid, &c->idx, &c->n, &why) < 0) {
		imapd_tagged(s, "BAD", "%s", why);
	} else {
		imapd_job_start(s, copy_run, copy_end, c);
		return;
	}
	copy_end(s, c);
	imapd_await_command(s);
}

/* ------------------------------------------------------------ APPEND */

struct append_ctx {
	char folder[FOLDER_SIZE];
	struct iovec part;
	uint32_t flags;
	const char *keywords[STORE_KEYWORDS_MAX];
	size_t n_keywords;
	int64_t date;
};

/* date-time (RFC 9051 9): "dd-Mon-yyyy hh:mm:ss +zzzz", day maybe
 * space-padded. -1 when malformed. */
static int64_t parse_date_time(const char *s)
{
	static const char months[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
	char mon[4], zone[6];
	struct tm tm = {0};
	int d, y, h, mi, se;
	if (sscanf(s, "%2d-%3[A-Za-z]-%4d %2d:%2d:%2d %5[-+0-9]", &d, mon, &y,
		   &h, &mi, &se, zone) != 7 ||
	    strlen(zone) != 5 || (zone[0] != '+' && zone[0] != '-'))
		return -1;
	const char *m = strcasestr(months, mon);
	if (m == NULL || (m - months) % 3 != 0 || d < 1 || d > 31 || y < 1970 ||
	    h > 23 || mi > 59 || se > 60)
		return -1;
	tm.tm_mday = d;
	tm.tm_mon = (int)((m - months) / 3);
	tm.tm_year = y - 1900;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = se;
	int off = ((zone[1] - '0') * 10 + (zone[2] - '0')) * 3600 +
		  ((zone[3] - '0') * 10 + (zone[4] - '0')) * 60;
	int64_t t = (int64_t)timegm(&tm);
	return zone[0] == '+' ? t - off : t + off;
}

static int append_run(struct imap_session *s, void *arg, struct buf *out)
{
	struct append_ctx *c = arg;
	struct store_append a = {.parts = &c->part, .n_parts = 1,
				 .flags = c->flags, .keywords = c->keywords,
				 .n_keywords = c->n_keywords,
				 .internaldate = c->date};
	uint32_t uidvalidity = 0, uid = 0;
	const char *why;
	if (!imapd_folder_exists(s, c->folder)) {
		buf_appendf(out, "%s NO [TRYCREATE] Mailbox does not exist\r\n",
			    s->tag);
		return 1;
	}
	if (store_append(s->root, c->folder, &s->opt, &a, &uidvalidity, &uid,
			 &why) < 0) {
		buf_appendf(out, "%s NO %sAPPEND failed: %s\r\n", s->tag,
			    why == STORE_ERROR_QUOTA ? "[OVERQUOTA] " : "", why);
		return 1;
	}
	imapd_updates(s, out, true);
	buf_appendf(out, "%s OK [APPENDUID %u %u] APPEND completed\r\n",
		    s->tag, uidvalidity, uid);
	return 1;
}

static void append_end(struct imap_session *s, void *arg)
{
	free(arg);
}

/* Optional flag list and date, then the message: a literal, or (RFC 6855)
 * UTF8 (literal8). Returns the message argument's index, or 0. */
static uint32_t append_args(struct append_ctx *c, const struct imap_command *cmd)
{
	uint32_t i = cmd->args[0].next;
	if (i < cmd->n_args && cmd->args[i].type == IMAP_ARG_LIST) {
		for (uint32_t k = i + 1; k < cmd->args[i].next;
		     k = cmd->args[k].next) {
			const char *kw;
			const struct imap_arg *a = &cmd->args[k];
			if (a->type != IMAP_ARG_ATOM ||
			    imapd_parse_flag(a->str, a->len, &c->flags, &kw) < 0 ||
			    (kw != NULL && c->n_keywords == STORE_KEYWORDS_MAX))
				return 0;
			if (kw != NULL)
				c->keywords[c->n_keywords++] = kw;
		}
		i = cmd->args[i].next;
	}
	if (i < cmd->n_args && cmd->args[i].type == IMAP_ARG_QUOTED) {
		if ((c->date = parse_date_time(cmd->args[i].str)) < 0)
			return 0;
		i = cmd->args[i].next;
	}
	if (i < cmd->n_args && imap_arg_atom_is(&cmd->args[i], "UTF8") &&
	    cmd->args[i].next < cmd->n_args &&
	    cmd->args[cmd->args[i].next].type == IMAP_ARG_LIST &&
	    cmd->args[cmd->args[i].next].count == 1)
		i = cmd->args[i].next + 1;
	if (i >= cmd->n_args || (cmd->args[i].type != IMAP_ARG_LITERAL &&
				 cmd->args[i].type != IMAP_ARG_LITERAL8))
		return 0;
	uint32_t end = cmd->args[i].next;
	/* the literal ends the command (or its UTF8 list) */
	return end == cmd->n_args ? i : 0;
}

void imapd_cmd_append(struct imap_session *s, const struct imap_command *cmd)
{
	const char *why;
	struct append_ctx *c = calloc(1, sizeof(*c));
	uint32_t m;
	if (c == NULL) {
		imapd_tagged(s, "NO", "[UNAVAILABLE] Out of memory");
		return;
	}
	if (cmd->n_top < 2 || (m = append_args(c, cmd)) == 0) {
		imapd_tagged(s, "BAD", "Syntax: APPEND mailbox [(flags)] "
				       "[date-time] literal");
	} else if (imapd_folder_arg(s, &cmd->args[0], c->folder,
				    sizeof(c->folder), NULL, &why) < 0) {
		imapd_tagged(s, "NO", "%s", why);
	} else {
		c->part.iov_base = (void *)cmd->args[m].str;
		c->part.iov_len = cmd->args[m].len;
		imapd_job_start(s, append_run, append_end, c);
		return;
	}
	free(c);
	imapd_await_command(s);
}
