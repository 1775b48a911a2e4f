/* quota: GETQUOTAROOT, GETQUOTA and SETQUOTA (RFC 9208). A user has one
 * quota root, "", over the whole Maildir++ tree: the byte limit an
 * administrator gave with `postern user` (0: none), and the usage that
 * delivery and the store keep in maildirsize (store/quota.h), which is
 * what refuses an APPEND or COPY over it with [OVERQUOTA]. The one
 * resource is STORAGE, in units of 1024 octets (RFC 9208 5.1). Clients
 * cannot change a quota: SETQUOTA is refused (no QUOTASET). */
#include "imapd/imapd.h"

#include "lib/log.h"
#include "store/quota.h"

#include <stdlib.h>
#include <string.h>

struct quota_ctx {
	const struct imap_command *cmd;
	bool root_query; /* GETQUOTAROOT: the mailbox's roots first */
};

/* '* QUOTA "" (STORAGE used limit)'; usage rounded up to whole KiB. */
static int write_quota(struct imap_session *s, struct buf *out)
{
	uint64_t bytes = 0, count = 0;
	if (quota_usage(s->root, s->opt.quota, &bytes, &count) < 0) {
		log_warn("session=%s event=quota-unreadable", s->id);
		return -1;
	}
	buf_appendf(out, "* QUOTA \"\" (STORAGE %llu %llu)\r\n",
		    (unsigned long long)((bytes + 1023) / 1024),
		    (unsigned long long)(s->opt.quota / 1024));
	return 0;
}

/* "* QUOTAROOT mailbox [\"\"]", or the NO when the mailbox is not there. */
static int write_roots(struct imap_session *s, struct quota_ctx *c,
		       struct buf *out)
{
	char folder[IMAP_FOLDER_NAME_MAX * 4 + 2];
	const char *why;
	int rc = -1;
	struct buf name;
	buf_init(&name, IMAP_MAILBOX_MAX);
	if (imapd_folder_arg(s, &c->cmd->args[0], folder, sizeof(folder),
			     &name, &why) < 0) {
		buf_appendf(out, "%s NO %s\r\n", s->tag, why);
	} else if (!imapd_folder_exists(s, folder)) {
		buf_appendf(out, "%s NO [NONEXISTENT] Mailbox does not exist\r\n",
			    s->tag);
	} else {
		buf_append_str(out, "* QUOTAROOT ");
		imapd_write_mailbox(s, out, name.data, name.len);
		/* no limit: the mailbox has no quota root (RFC 9208 4.3.2) */
		buf_append_str(out, s->opt.quota > 0 ? " \"\"\r\n" : "\r\n");
		rc = 0;
	}
	buf_free(&name);
	return rc;
}

static int quota_run(struct imap_session *s, void *arg, struct buf *out)
{
	struct quota_ctx *c = arg;
	const char *verb = c->cmd->def->name;
	if (c->root_query) {
		if (write_roots(s, c, out) < 0)
			return 1;
	}
	if (s->opt.quota > 0 && write_quota(s, out) < 0) {
		buf_appendf(out, "%s NO [SERVERBUG] Cannot read the quota\r\n",
			    s->tag);
		return 1;
	}
	buf_appendf(out, "%s OK %s completed\r\n", s->tag, verb);
	return 1;
}

static void quota_end(struct imap_session *s, void *arg)
{
	free(arg);
}

void imapd_cmd_quota(struct imap_session *s, const struct imap_command *cmd)
{
	const char *root;
	size_t len;
	enum imap_cmd_id id = cmd->def->id;
	if (id == IMAP_CMD_SETQUOTA) {
		/* RFC 9208 4.1.3: limits are the administrator's */
		imapd_tagged(s, "NO", "[NOPERM] Quotas are set by the "
				      "administrator");
	} else if (cmd->n_top != 1 ||
		   !imap_arg_astring(&cmd->args[0], &root, &len)) {
		imapd_tagged(s, "BAD", "Syntax: %s %s", cmd->def->name,
			     id == IMAP_CMD_GETQUOTA ? "root" : "mailbox");
	} else if (id == IMAP_CMD_GETQUOTA &&
		   (len != 0 || s->opt.quota == 0)) {
		imapd_tagged(s, "NO", "[NONEXISTENT] No such quota root");
	} else {
		struct quota_ctx *c = calloc(1, sizeof(*c));
		if (c == NULL) {
			imapd_tagged(s, "NO", "[UNAVAILABLE] Out of memory");
			return;
		}
		c->cmd = cmd;
		c->root_query = id == IMAP_CMD_GETQUOTAROOT;
		imapd_job_start(s, quota_run, quota_end, c);
		return;
	}
	imapd_await_command(s);
}
