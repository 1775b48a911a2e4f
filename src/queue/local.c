/* local: deliver a queued message into a user's Maildir. */
#include "queue/local.h"

#include "db/directory.h"

#include <stdio.h>
#include <string.h>

static size_t count_lines(const char *p, size_t n)
{
	size_t lines = 0;
	if (n == 0)
		return 0;
	const char *end = p + n;
	while ((p = memchr(p, '\n', (size_t)(end - p))) != NULL) {
		lines++;
		p++;
	}
	return lines;
}

enum store_result local_deliver(const struct local_ctx *ctx,
				const struct queued *q, size_t i,
				bool recovering, char *why, size_t whysz)
{
	const struct envelope_rcpt *r = &q->env.rcpts[i];
	struct directory *dir = directory_thread();
	struct dir_user user;
	int found = dir != NULL ? dir_user_get(dir, r->mailbox, &user) : -1;
	if (found <= 0) {
		snprintf(why, whysz, "%s", found < 0 ? "directory unavailable"
						      : "no such user any more");
		return STORE_TEMPFAIL;
	}
	uint64_t quota = user.quota;
	dir_user_clear(&user);

	char root[MAILDIR_PATH_MAX], prefix[2 * 1100], junk[MAILDIR_PATH_MAX];
	if (maildir_root(ctx->data_dir, r->mailbox, root) < 0) {
		snprintf(why, whysz, "invalid mailbox name");
		return STORE_TEMPFAIL;
	}
	/* DMARC quarantine: the Junk folder (made with the mailbox if new) */
	bool to_junk = q->env.quarantine || r->junk;
	if (to_junk && (maildir_create(root) < 0 ||
			maildir_folder(root, "Junk", junk) < 0)) {
		snprintf(why, whysz, "cannot make the Junk folder");
		return STORE_TEMPFAIL;
	}
	int n = snprintf(prefix, sizeof(prefix),
			 "Return-Path: <%s>\nDelivered-To: %s\n", q->env.sender,
			 r->mailbox);
	if (n < 0 || (size_t)n >= sizeof(prefix)) {
		snprintf(why, whysz, "addresses too long");
		return STORE_TEMPFAIL;
	}
	const char *msg = q->data + q->msg_off;
	const struct envelope *env = &q->env;
	struct iovec parts[3] = {{prefix, (size_t)n},
				 {env->prepend, env->prepend_len},
				 {(void *)msg, q->msg_len}};
	uint64_t size = (uint64_t)n + env->prepend_len + q->msg_len;
	uint64_t lines = 2 + count_lines(env->prepend, env->prepend_len) +
			 count_lines(msg, q->msg_len);
	struct maildir_delivery m = {
		.root = to_junk ? junk : root,
		.quota_root = root,
		.queue_id = q->env.id,
		.rcpt_index = (unsigned)i,
		.arrived = q->env.arrived,
		.hostname = ctx->hostname,
		.parts = parts,
		.n_parts = 3,
		.size = size,
		.crlf_size = size + lines,
		.quota = quota,
		.recovering = recovering,
	};
	const char *error = NULL;
	enum store_result res = maildir_deliver(&m, &error);
	if (res != STORE_OK)
		snprintf(why, whysz, "%s", error != NULL ? error : "failed");
	return res;
}
