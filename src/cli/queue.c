/* queue: postern queue list|show|flush|hold|release|delete
 *
 * The files are changed here, directly (renames and unlinks are atomic), so
 * that an administrator can hold or delete mail with the server stopped;
 * a running server is then told through its control socket, so that it
 * stops or starts trying at once. */
#include "cli/cli.h"

#include "lib/privs.h"
#include "lib/util.h"
#include "net/control.h"
#include "queue/spool.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char usage_text[] =
	"usage: postern queue list\n"
	"       postern queue show ID\n"
	"       postern queue flush [ID...]    try now (all when no ID)\n"
	"       postern queue hold ID...       keep, but do not try\n"
	"       postern queue release ID...    try held messages again\n"
	"       postern queue delete ID...     remove, without a bounce\n"
	"       postern queue tls-reports      send the TLS reports (RFC 8460)\n"
	"                                      due, today's results included\n";

struct queue_cli {
	struct cli *cli;
	struct spool *spool;
	char control[PATH_MAX];
};

static int open_spool(struct queue_cli *q)
{
	const struct config *cfg = &q->cli->cfg;
	const char *why;
	if (privs_prepare_dir(cfg->data_dir, cfg->user, &why) < 0 ||
	    privs_drop(cfg->user, &why) < 0) {
		cli_error("%s: %s", cfg->data_dir, why);
		return -1;
	}
	if (path_join(q->control, sizeof(q->control), cfg->data_dir,
		      "control") < 0) {
		cli_error("%s: path too long", cfg->data_dir);
		return -1;
	}
	q->spool = spool_open(cfg->data_dir,
			      cfg->smtp_max_message_size * 2 + QFILE_HEADER_MAX);
	if (q->spool == NULL) {
		cli_error("cannot open the queue in %s/spool: %s", cfg->data_dir,
			  strerror(errno));
		return -1;
	}
	return 0;
}

static void print_time(const char *label, int64_t t)
{
	char text[64] = "?";
	struct tm tm;
	time_t tt = (time_t)t;
	if (gmtime_r(&tt, &tm) != NULL)
		strftime(text, sizeof(text), "%Y-%m-%d %H:%M:%S UTC", &tm);
	printf("%s%s", label, text);
}

static void print_size(uint64_t n)
{
	if (n < 1024)
		printf("%" PRIu64 " B", n);
	else if (n < 1024 * 1024)
		printf("%.1f KB", (double)n / 1024.0);
	else
		printf("%.1f MB", (double)n / (1024.0 * 1024.0));
}

/* A message with what its status file says about it. */
struct entry {
	char id[QUEUE_ID_LEN + 1];
	bool held;
	struct queued q;
	unsigned char *state;
	char **why;
	struct spool_status st;
};

static void entry_free(struct entry *e)
{
	for (size_t i = 0; e->why != NULL && i < e->q.env.n_rcpts; i++)
		free(e->why[i]);
	free(e->why);
	free(e->state);
	queued_free(&e->q);
}

/* Load id; -1 (printed) when it cannot be read. */
static int entry_load(struct spool *s, const char *id, struct entry *e)
{
	const char *why;
	memset(e, 0, sizeof(*e));
	snprintf(e->id, sizeof(e->id), "%s", id);
	if (spool_load_any(s, id, &e->q, &e->held, &why) < 0) {
		cli_error("%s: %s", id, errno == ENOENT ? "no such message" : why);
		return -1;
	}
	size_t n = e->q.env.n_rcpts;
	e->state = calloc(n + 1, 1);
	e->why = calloc(n + 1, sizeof(*e->why));
	if (e->state == NULL || e->why == NULL) {
		cli_error("out of memory");
		entry_free(e);
		return -1;
	}
	e->st.state = e->state;
	e->st.why = e->why;
	if (spool_status_read(s, id, n, &e->st) < 0)
		cli_error("%s: its status cannot be read: %s", id, strerror(errno));
	return 0;
}

static void print_attempts(const struct entry *e)
{
	if (e->st.attempts == 0) {
		printf("not tried yet");
		return;
	}
	printf("%u attempt%s", e->st.attempts, e->st.attempts == 1 ? "" : "s");
	if (!e->held && e->st.next_try > 0)
		print_time(", next ", e->st.next_try);
}

static void print_rcpt(const struct entry *e, size_t i, const char *indent)
{
	const struct envelope_rcpt *r = &e->q.env.rcpts[i];
	printf("%s<%s>", indent, r->orig);
	if (r->mailbox[0] != '\0')
		printf(" (mailbox %s)", r->mailbox);
	if (e->state[i] == RCPT_DELIVERED)
		printf("  delivered\n");
	else if (e->state[i] == RCPT_FAILED)
		printf("  failed, bounced\n");
	else if (e->why[i] != NULL)
		printf("  waiting: %s\n", e->why[i]);
	else
		printf("  waiting\n");
}

/* ------------------------------------------------------------ list */

struct id_list {
	struct entry *v;
	size_t n, cap;
	struct spool *spool;
	bool failed;
};

static void collect(void *arg, const char *id, bool held)
{
	struct id_list *l = arg;
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 64;
		struct entry *v = reallocarray(l->v, cap, sizeof(*v));
		if (v == NULL) {
			l->failed = true;
			return;
		}
		l->v = v;
		l->cap = cap;
	}
	/* a message delivered meanwhile is simply not listed */
	if (entry_load(l->spool, id, &l->v[l->n]) == 0)
		l->n++;
	else if (spool_where(l->spool, id) != SPOOL_NONE)
		l->failed = true;
}

static int by_arrival(const void *a, const void *b)
{
	const struct entry *x = a, *y = b;
	if (x->q.env.arrived != y->q.env.arrived)
		return x->q.env.arrived < y->q.env.arrived ? -1 : 1;
	return strcmp(x->id, y->id);
}

static int queue_list(struct queue_cli *q)
{
	struct id_list l = {.spool = q->spool};
	if (spool_list(q->spool, collect, &l) < 0) {
		cli_error("cannot read the queue: %s", strerror(errno));
		return 1;
	}
	if (l.n > 1)
		qsort(l.v, l.n, sizeof(*l.v), by_arrival);
	uint64_t total = 0;
	size_t held = 0;
	for (size_t i = 0; i < l.n; i++) {
		struct entry *e = &l.v[i];
		printf("%s  %-6s  ", e->id, e->held ? "held" : "queued");
		print_time("", e->q.env.arrived);
		printf("  ");
		print_size(e->q.msg_len + e->q.env.prepend_len);
		printf("  from <%s>\n    ", e->q.env.sender);
		print_attempts(e);
		printf("\n");
		for (size_t k = 0; k < e->q.env.n_rcpts; k++)
			print_rcpt(e, k, "    ");
		total += e->q.msg_len + e->q.env.prepend_len;
		held += e->held;
		entry_free(e);
	}
	if (l.n == 0)
		printf("the queue is empty\n");
	else {
		printf("-- %zu message%s (%zu held), ", l.n, l.n == 1 ? "" : "s",
		       held);
		print_size(total);
		printf("\n");
	}
	free(l.v);
	return l.failed ? 1 : 0;
}

/* ------------------------------------------------------------ show */

/* The message as stored. On a terminal, control bytes (but tab and line
 * end) are shown as '?': a message must not drive the admin's terminal. */
static void print_message(const char *p, size_t n)
{
	bool tty = isatty(STDOUT_FILENO);
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)p[i];
		if (tty && ((c < 0x20 && c != '\t' && c != '\n') || c == 0x7f))
			c = '?';
		putchar(c);
	}
}

static int queue_show(struct queue_cli *q, const char *id)
{
	struct entry e;
	if (entry_load(q->spool, id, &e) < 0)
		return 1;
	const struct envelope *env = &e.q.env;
	printf("id        %s\nstate     %s\n", e.id, e.held ? "held" : "queued");
	print_time("arrived   ", env->arrived);
	printf("\nfrom      <%s>\nclient    %s (helo %s)\nbody      %s%s\n",
	       env->sender, env->client_ip, env->helo,
	       env->eight_bit_mime ? "8bitmime" : "7bit",
	       env->smtputf8 ? ", smtputf8" : "");
	printf("size      %zu bytes\nattempts  ", e.q.msg_len + env->prepend_len);
	print_attempts(&e);
	printf("\n");
	for (size_t k = 0; k < env->n_rcpts; k++)
		print_rcpt(&e, k, "rcpt      ");
	printf("\n");
	fflush(stdout);
	if (env->prepend != NULL)
		print_message(env->prepend, env->prepend_len);
	print_message(e.q.data + e.q.msg_off, e.q.msg_len);
	entry_free(&e);
	return ferror(stdout) ? 1 : 0;
}

/* ------------------------------------------------------------ changes */

/* The text of a reply after its "ok" or "error"; *ok says which. */
static const char *reply_text(const char *reply, bool *ok)
{
	*ok = strncmp(reply, "ok", 2) == 0;
	const char *p = reply + strcspn(reply, " ");
	return *p == ' ' ? p + 1 : p;
}

/* Tell the running server; false when none runs. */
static bool tell_server(struct queue_cli *q, const char *cmd, const char *id,
			char *reply, size_t n)
{
	char line[CONTROL_LINE_MAX];
	snprintf(line, sizeof(line), "%s%s%s", cmd, id ? " " : "", id ? id : "");
	if (control_request(q->control, line, reply, n) == 0)
		return true;
	snprintf(reply, n, "error %s", strerror(errno));
	return false;
}

static int queue_flush(struct queue_cli *q, int argc, char **argv)
{
	char reply[CONTROL_LINE_MAX + 1];
	int rc = 0;
	for (int i = 0; i < (argc > 0 ? argc : 1); i++) {
		const char *id = argc > 0 ? argv[i] : NULL;
		if (!tell_server(q, "flush", id, reply, sizeof(reply))) {
			bool ok;
			cli_error("the server is not running (%s): the queue is "
				  "tried when it starts", reply_text(reply, &ok));
			return 1;
		}
		bool ok;
		const char *text = reply_text(reply, &ok);
		printf("%s: %s%s\n", id ? id : "queue", ok ? "" : "error: ", text);
		rc |= !ok;
	}
	return rc;
}

static int queue_tls_reports(struct queue_cli *q)
{
	char reply[CONTROL_LINE_MAX + 1];
	bool ok;
	if (!tell_server(q, "tls-reports", NULL, reply, sizeof(reply))) {
		cli_error("the server is not running (%s)", reply_text(reply, &ok));
		return 1;
	}
	const char *text = reply_text(reply, &ok);
	printf("%s%s\n", ok ? "" : "error: ", text);
	return ok ? 0 : 1;
}

/* hold, release or delete one message. */
static int change_one(struct queue_cli *q, const char *what, const char *id)
{
	int r;
	if (!queue_id_valid(id)) {
		cli_error("%s: not a queue id", id);
		return 1;
	}
	if (strcmp(what, "hold") == 0)
		r = spool_hold(q->spool, id);
	else if (strcmp(what, "release") == 0)
		r = spool_release(q->spool, id);
	else
		r = spool_delete(q->spool, id);
	if (r < 0) {
		enum spool_place at = spool_where(q->spool, id);
		cli_error("%s: %s", id,
			  at == SPOOL_HELD	 ? "it is already held"
			  : at == SPOOL_QUEUED ? "it is not held"
			  : errno == ENOENT	 ? "no such message"
					       : strerror(errno));
		return 1;
	}
	const char *done = strcmp(what, "hold") == 0      ? "held"
			 : strcmp(what, "release") == 0 ? "released"
							: "deleted";
	char reply[CONTROL_LINE_MAX + 1];
	bool ok;
	if (!tell_server(q, done, id, reply, sizeof(reply)))
		printf("%s: %s (the server is not running)\n", id, done);
	else if (*reply_text(reply, &ok) != '\0' || !ok)
		printf("%s: %s; the server says: %s\n", id, done, reply);
	else
		printf("%s: %s\n", id, done);
	return 0;
}

int cli_queue(struct cli *cli)
{
	const char *sub = cli->argc > 0 ? cli->argv[0] : "";
	int n = cli->argc - 1;
	bool ok = (strcmp(sub, "list") == 0 && n == 0) ||
		  (strcmp(sub, "show") == 0 && n == 1) ||
		  strcmp(sub, "flush") == 0 ||
		  (strcmp(sub, "tls-reports") == 0 && n == 0) ||
		  ((strcmp(sub, "hold") == 0 || strcmp(sub, "release") == 0 ||
		    strcmp(sub, "delete") == 0) &&
		   n > 0);
	if (!ok) {
		fputs(usage_text, stderr);
		return 2;
	}
	struct queue_cli q = {.cli = cli};
	if (cli_load_config(cli) < 0 || open_spool(&q) < 0)
		return 1;
	int rc = 0;
	if (strcmp(sub, "list") == 0)
		rc = queue_list(&q);
	else if (strcmp(sub, "show") == 0)
		rc = queue_show(&q, cli->argv[1]);
	else if (strcmp(sub, "flush") == 0)
		rc = queue_flush(&q, n, cli->argv + 1);
	else if (strcmp(sub, "tls-reports") == 0)
		rc = queue_tls_reports(&q);
	else
		for (int i = 1; i <= n; i++)
			rc |= change_one(&q, sub, cli->argv[i]);
	spool_close(&q.spool);
	return rc;
}
