/* bounce: building and queueing delivery status notifications. */
#include "queue/bounce.h"

#include "db/directory.h"
#include "lib/log.h"
#include "lib/util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

/* The enhanced status code at the start of reason ("550 5.1.1 ..." or
 * "5.1.1 ..."), or a generic one; its class is 5 (failed) or 4 (delayed),
 * whatever the last try said. */
static void status_code(const char *reason, bool delayed, char out[16])
{
	const char *p = reason;
	if (strlen(p) > 4 && p[3] == ' ' && p[0] >= '2' && p[0] <= '5')
		p += 4;
	size_t n = strspn(p, "0123456789.");
	if (n >= 5 && n < 16 && (p[0] == '5' || p[0] == '4') && p[1] == '.' &&
	    (p[n] == ' ' || p[n] == '\0')) {
		memcpy(out, p, n);
		out[n] = '\0';
		out[0] = delayed ? '4' : '5';
	} else {
		snprintf(out, 16, "%s", delayed ? "4.0.0" : "5.0.0");
	}
}

/* The original header section (our prepended fields, then the message's
 * own, up to the blank line), LF line ends. */
static void original_header(const struct queued *q, struct buf *out)
{
	if (q->env.prepend != NULL)
		buf_append(out, q->env.prepend, q->env.prepend_len);
	const char *m = q->data + q->msg_off;
	size_t n = q->msg_len, end = n;
	for (size_t i = 0; i + 1 < n; i++)
		if (m[i] == '\n' && m[i + 1] == '\n') {
			end = i + 1;
			break;
		}
	if (n > 0 && m[0] == '\n')
		end = 0;
	buf_append(out, m, end);
	if (out->len > 0 && out->data[out->len - 1] != '\n')
		buf_append_byte(out, '\n');
}

static void build(const struct config *cfg, const struct queued *q,
		  const struct bounce_rcpt *rcpts, size_t n, const char *to,
		  const char *id, bool delayed, struct buf *b)
{
	char date[RFC5322_DATE_MAX], arrived[RFC5322_DATE_MAX], boundary[64];
	char until[RFC5322_DATE_MAX];
	rfc5322_date(time(NULL), date);
	rfc5322_date((time_t)q->env.arrived, arrived);
	rfc5322_date((time_t)(q->env.arrived +
			      (int64_t)(cfg->queue_lifetime_ms / 1000)),
		     until);
	snprintf(boundary, sizeof(boundary), "%s/%s", id, cfg->hostname);
	buf_appendf(b,
		    "From: Mail Delivery System <MAILER-DAEMON@%s>\n"
		    "To: <%s>\n"
		    "Subject: %s\n"
		    "Date: %s\n"
		    "Message-ID: <%s.dsn@%s>\n"
		    "Auto-Submitted: auto-replied\n"
		    "MIME-Version: 1.0\n"
		    "Content-Type: multipart/report; report-type=delivery-status;\n"
		    "\tboundary=\"%s\"\n\n"
		    "This is a MIME-encapsulated message.\n\n"
		    "--%s\n"
		    "Content-Type: text/plain; charset=utf-8\n\n"
		    "This is the mail system at %s.\n\n"
		    "Your message of %s could not %sbe delivered to %s of its\n"
		    "recipients. %s%s%s\n\n",
		    cfg->hostname, to,
		    delayed ? "Delayed Mail (still being retried)"
			    : "Undelivered Mail Returned to Sender",
		    date, id, cfg->hostname, boundary, boundary, cfg->hostname,
		    arrived, delayed ? "yet " : "", n == 1 ? "one" : "some",
		    delayed ? "It is still being tried, until " :
			      "It has been given up; nothing more will be tried.",
		    delayed ? until : "", delayed ? "." : "");
	for (size_t i = 0; i < n; i++)
		buf_appendf(b, "<%s>: %s\n", q->env.rcpts[rcpts[i].index].orig,
			    rcpts[i].reason);
	buf_appendf(b,
		    "\n--%s\n"
		    "Content-Type: message/delivery-status\n\n"
		    "Reporting-MTA: dns; %s\n"
		    "X-Postern-Queue-ID: %s\n"
		    "Arrival-Date: %s\n",
		    boundary, cfg->hostname, q->env.id, arrived);
	for (size_t i = 0; i < n; i++) {
		char code[16];
		status_code(rcpts[i].reason, delayed, code);
		buf_appendf(b, "\nFinal-Recipient: rfc822; %s\nAction: %s\n"
			       "Status: %s\n",
			    q->env.rcpts[rcpts[i].index].orig,
			    delayed ? "delayed" : "failed", code);
		if (delayed)
			buf_appendf(b, "Will-Retry-Until: %s\n", until);
		if (rcpts[i].mta != NULL && rcpts[i].mta[0] != '\0')
			buf_appendf(b, "Remote-MTA: dns; %s\n"
				       "Diagnostic-Code: smtp; %s\n",
				    rcpts[i].mta, rcpts[i].reason);
		else
			buf_appendf(b, "Diagnostic-Code: x-postern; %s\n",
				    rcpts[i].reason);
	}
	buf_appendf(b, "\n--%s\nContent-Type: text/rfc822-headers\n\n",
		    boundary);
	original_header(q, b);
	buf_appendf(b, "\n--%s--\n", boundary);
}

/* The notice's one recipient, resolved like an incoming RCPT. 1 found
 * (mailbox filled, "" for elsewhere), 2 forwarded elsewhere (mailbox holds
 * the address it goes to), 0 nowhere to go, -1 retry. */
static int resolve(const struct config *cfg, const char *addr,
		   char mailbox[DIR_ADDRESS_MAX + 1])
{
	struct directory *dir = directory_thread();
	if (dir == NULL)
		return -1;
	struct dir_targets t = {0};
	enum dir_resolve_result r =
		dir_resolve(dir, addr, cfg->delivery_recipient_delimiter, &t);
	int rc = 0;
	if (r == DIR_NOT_LOCAL) {
		mailbox[0] = '\0';
		rc = 1;
	} else if (r == DIR_FOUND && t.n > 0 && t.outside[0]) {
		/* forwarded: it goes out to that address */
		snprintf(mailbox, DIR_ADDRESS_MAX + 1, "%s", t.mailbox[0]);
		rc = 2;
	} else if (r == DIR_FOUND && t.n > 0) {
		snprintf(mailbox, DIR_ADDRESS_MAX + 1, "%s", t.mailbox[0]);
		rc = 1;
	} else if (r == DIR_ERROR) {
		rc = -1;
	}
	dir_targets_free(&t);
	return rc;
}

static int queue_notice(const struct config *cfg, struct spool *spool,
			const struct queued *q, const struct bounce_rcpt *rcpts,
			size_t n, bool delayed, char id_out[QUEUE_ID_LEN + 1])
{
	const char *to = q->env.sender;
	if (to[0] == '\0' && delayed)
		return 0; /* nobody to tell: a bounce waits quietly */
	if (to[0] == '\0') {
		/* a failed bounce: the postmaster hears of it, once */
		bool to_pm = n == 1 && q->env.n_rcpts == 1 &&
			     strcasecmp(q->env.rcpts[0].orig, cfg->postmaster) == 0;
		if (to_pm) {
			log_error("queue=%s event=double-bounce-dropped "
				  "rcpt=<%s> reason=\"%s\"", q->env.id,
				  q->env.rcpts[rcpts[0].index].orig,
				  rcpts[0].reason);
			return 0;
		}
		to = cfg->postmaster;
	}
	struct buf text;
	buf_init(&text, 0);
	char id[QUEUE_ID_LEN + 1];
	spool_new_id(id);
	build(cfg, q, rcpts, n, to, id, delayed, &text);
	int r = system_message_queue(cfg, spool, to, id, &text);
	buf_free(&text);
	if (r == 0)
		log_error("queue=%s event=bounce-undeliverable to=<%s> "
			  "note=\"no such local user\"", q->env.id, to);
	if (r != 1)
		return r;
	snprintf(id_out, QUEUE_ID_LEN + 1, "%s", id);
	log_info("queue=%s event=%s dsn=%s to=<%s> rcpts=%zu", q->env.id,
		 delayed ? "delay-notice" : "bounce", id_out, to, n);
	return 1;
}

int system_message_queue(const struct config *cfg, struct spool *spool,
			 const char *to, const char *id,
			 const struct buf *text)
{
	char mailbox[DIR_ADDRESS_MAX + 1];
	int r = resolve(cfg, to, mailbox);
	if (r <= 0)
		return r;
	struct envelope env = {0};
	snprintf(env.id, sizeof(env.id), "%s", id);
	env.arrived = (int64_t)time(NULL);
	env.sender = strdup("");
	env.client_ip = strdup("127.0.0.1");
	env.helo = strdup(cfg->hostname);
	env.eight_bit_mime = true; /* a quoted header may hold UTF-8 */
	if (env.sender == NULL || env.client_ip == NULL || env.helo == NULL ||
	    (r == 2 ? envelope_add_rcpt(&env, mailbox, "")
		    : envelope_add_rcpt(&env, to, mailbox)) < 0) {
		envelope_free(&env);
		return -1;
	}
	struct spool_msg *m = spool_msg_new(spool, &env);
	if (m == NULL)
		return -1;
	if (buf_append(spool_msg_body(m), text->data, text->len) < 0) {
		spool_msg_free(&m);
		return -1;
	}
	const char *why;
	int rc = spool_msg_commit(m, &why);
	spool_msg_free(&m);
	return rc < 0 ? -1 : 1;
}

int bounce_queue(const struct config *cfg, struct spool *spool,
		 const struct queued *q, const struct bounce_rcpt *rcpts,
		 size_t n, char id_out[QUEUE_ID_LEN + 1])
{
	return queue_notice(cfg, spool, q, rcpts, n, false, id_out);
}

int bounce_delay_queue(const struct config *cfg, struct spool *spool,
		       const struct queued *q, const struct bounce_rcpt *rcpts,
		       size_t n, char id_out[QUEUE_ID_LEN + 1])
{
	return queue_notice(cfg, spool, q, rcpts, n, true, id_out);
}
