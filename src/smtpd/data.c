/* data: DATA (RFC 5321 4.1.1.4) and BDAT (RFC 3030), and handing the
 * message to the queue. */
#include "smtpd/smtpd.h"

#include "dkim/submit.h"
#include "lib/log.h"
#include "lib/parse.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

struct commit_job {
	struct session *s;
	char user[DIR_ADDRESS_MAX + 1]; /* authenticated sender, for the limits */
	struct spool_msg *msg;
	int rc;
	const char *error;
	uint64_t size;
	size_t n_rcpts;
	char id[QUEUE_ID_LEN + 1];
	bool permanent;         /* the error will not go away: 5xx */
	bool refused;           /* a DMARC p=reject policy: 550 5.7.1 */
	bool sign;              /* DKIM-sign before queueing */
	struct dkim_submit dkim;
	struct authres_job authres;
};

/* Create the queue message for the transaction: the envelope moves into it
 * (after the data the transaction is over whatever happens, RFC 5321 3.3),
 * and our Received header opens the message. */
static bool start_message(struct session *s)
{
	struct transaction *tx = &s->tx;
	const struct config *cfg = s->sd->cfg;
	struct envelope env = tx->env;
	memset(&tx->env, 0, sizeof(tx->env));
	memcpy(env.id, tx->queue_id, sizeof(env.id));
	env.arrived = (int64_t)time(NULL);
	env.sender = strdup(tx->sender);
	env.client_ip = strdup(s->peer_ip);
	env.helo = strdup(s->helo);
	env.smtputf8 = tx->smtputf8;
	env.eight_bit_mime = tx->eight_bit_mime;
	if (env.sender == NULL || env.client_ip == NULL || env.helo == NULL) {
		envelope_free(&env);
		return false;
	}
	tx->msg = spool_msg_new(s->sd->spool, &env);
	if (tx->msg == NULL ||
	    smtpd_received_header(s, spool_msg_envelope(tx->msg),
				  spool_msg_body(tx->msg)) < 0)
		return false;
	tx->received_len = spool_msg_body(tx->msg)->len;
	struct body_limits lim = {
		.max_size = cfg->smtp_max_message_size,
		.max_line = (size_t)cfg->smtp_max_line_length,
		.max_header = (size_t)cfg->smtp_max_header_size,
		.max_hops = (unsigned)cfg->smtp_max_hops,
	};
	body_filter_init(&tx->filter, &lim, spool_msg_body(tx->msg));
	buf_init(&tx->headers, 0);
	body_filter_keep_headers(&tx->filter, &tx->headers);
	return true;
}

void smtpd_data_abort(struct session *s)
{
	spool_msg_free(&s->tx.msg); /* removes its tmp/ file */
	buf_free(&s->tx.headers);
}

/* The reply for the first problem the body filter found. */
static void reply_problem(struct session *s, unsigned problems)
{
	const struct config *cfg = s->sd->cfg;
	if (problems & BODY_TOO_BIG)
		session_reply(s, 552, "5.3.4",
			      "Message size exceeds the limit of %" PRIu64 " bytes",
			      cfg->smtp_max_message_size);
	else if (problems & BODY_HEADER_TOO_BIG)
		session_reply(s, 552, "5.3.4", "Message header is too large");
	else if (problems & BODY_TOO_MANY_HOPS)
		session_reply(s, 554, "5.4.6",
			      "Too many Received headers: probably a mail loop");
	else if (problems & (BODY_BARE_LF | BODY_BARE_CR))
		session_reply(s, 554, "5.6.0",
			      "Bare CR or LF in message: lines must end with CRLF");
	else if (problems & BODY_NUL)
		session_reply(s, 554, "5.6.0", "NUL byte in message");
	else
		session_reply(s, 500, "5.5.2",
			      "Line too long: %" PRIu64 " bytes at most, CRLF "
			      "included",
			      cfg->smtp_max_line_length);
}

static void back_to_commands(struct session *s)
{
	s->phase = P_COMMAND;
	session_await_command(s);
}

static void reject_message(struct session *s)
{
	log_info("session=%s queue=%s event=rejected problems=0x%x size=%" PRIu64,
		 s->id, s->tx.queue_id, s->tx.filter.problems, s->tx.filter.size);
	reply_problem(s, s->tx.filter.problems);
	session_reset_transaction(s);
	back_to_commands(s);
}

/* ------------------------------------------------------------ commit */

static void commit_done(void *arg);

/* On a commit pool thread: make the message durable. */
static void commit_job(void *arg)
{
	struct commit_job *j = arg;
	j->rc = 0;
	if (j->sign) {
		j->rc = dkim_submit_run(&j->dkim, j->msg, &j->error);
		j->permanent = j->rc == -2; /* the same message fails again */
		if (j->rc < 0)
			log_error("queue=%s event=dkim-failed error=\"%s\"", j->id,
				  j->error);
		else
			log_info("queue=%s event=dkim-signed domain=%s keys=%zu",
				 j->id, j->dkim.keys[0].d, j->dkim.n);
		dkim_submit_free(&j->dkim);
	}
	if (j->rc == 0)
		j->rc = smtpd_authres_run(&j->authres, j->msg, j->id, &j->error);
	if (j->rc == -2)
		j->refused = true;
	smtpd_authres_free(&j->authres);
	if (j->rc == 0)
		j->rc = spool_msg_commit(j->msg, &j->error);
	spool_msg_free(&j->msg);
	if (j->rc == 0 && j->user[0] != '\0')
		smtpd_submission_count(j->user, (unsigned)j->n_rcpts);
	if (inbox_post(j->s->w->inbox, commit_done, j) < 0)
		abort(); /* the session would wait forever */
}

/* Back on the worker: now, and only now, the client hears 250. */
static void commit_done(void *arg)
{
	struct commit_job *j = arg;
	struct session *s = j->s;
	s->jobs--;
	if (j->rc == 0) {
		log_info("session=%s queue=%s event=queued size=%" PRIu64
			 " rcpts=%zu",
			 s->id, j->id, j->size, j->n_rcpts);
		scheduler_submit(s->sd->sched, j->id, false);
	}
	if (session_free_if_gone(s)) {
		free(j);
		return;
	}
	if (j->rc == 0) {
		s->messages++;
		session_reply(s, 250, "2.0.0", "Ok: queued as %s", j->id);
	} else {
		if (j->refused)
			session_reply(s, 550, "5.7.1", "%s", j->error);
		else
			session_reply(s, j->permanent ? 554 : 451,
				      j->permanent ? "5.6.0" : "4.3.0",
				      "Cannot queue the message: %s", j->error);
	}
	free(j);
	session_reset_transaction(s);
	back_to_commands(s);
	if (service_stopping(s->sd->svc))
		session_close_with(s, 421, "4.3.2", "Shutting down");
	session_process_input(s);
}

/* Submitted mail From one of our domains is signed with its keys. */
static int prepare_signing(struct session *s, struct commit_job *j)
{
	const struct config *cfg = s->sd->cfg;
	const struct envelope *env = spool_msg_envelope(s->tx.msg);
	if (!s->authenticated || !cfg->dkim_sign || s->tx.from_domain[0] == '\0')
		return 0;
	int rc = dkim_submit_prepare(&j->dkim, s->tx.from_domain, env->prepend,
				     env->prepend_len, s->tx.headers.data,
				     s->tx.headers.len,
				     s->tx.received_len + s->tx.headers.len,
				     (int64_t)time(NULL),
				     (int64_t)(cfg->dkim_expire_ms / 1000));
	j->sign = rc == 1;
	return rc < 0 ? -1 : 0;
}

/* A reply, and the transaction is over. */
static void refuse(struct session *s, int code, const char *status,
		   const char *text)
{
	session_reply(s, code, status, "%s", text);
	session_reset_transaction(s);
	back_to_commands(s);
}

void smtpd_data_commit(struct session *s, struct inbound_results *in)
{
	struct transaction *tx = &s->tx;
	struct commit_job *j = calloc(1, sizeof(*j));
	if (j == NULL) {
		if (in != NULL) {
			dkim_verify_free(&in->dkim);
			arc_verify_free(&in->arc);
			dmarc_free(&in->dmarc);
		}
		refuse(s, 451, "4.3.0", "Out of memory");
		return;
	}
	j->s = s;
	if (s->authenticated)
		memcpy(j->user, s->auth_user, sizeof(j->user));
	if (smtpd_authres_prepare(s, &j->authres, in) < 0) {
		smtpd_authres_free(&j->authres);
		free(j);
		refuse(s, 554, "5.6.0", "Too many Authentication-Results fields");
		return;
	}
	if (prepare_signing(s, j) < 0) {
		smtpd_authres_free(&j->authres);
		free(j);
		refuse(s, 451, "4.3.0", "Out of memory");
		return;
	}
	j->msg = tx->msg;
	j->size = tx->filter.size;
	j->n_rcpts = spool_msg_envelope(tx->msg)->n_rcpts;
	memcpy(j->id, tx->queue_id, sizeof(j->id));
	tx->msg = NULL; /* the job owns it now */
	s->phase = P_COMMIT;
	s->jobs++;
	if (pool_submit(s->sd->commit_pool, commit_job, j) < 0) {
		s->jobs--;
		spool_msg_free(&j->msg);
		if (j->sign)
			dkim_submit_free(&j->dkim);
		smtpd_authres_free(&j->authres);
		free(j);
		refuse(s, 451, "4.3.0", "Cannot queue the message now");
	}
}

/* The whole message is in (DATA's end line, or BDAT LAST). */
static void end_of_message(struct session *s)
{
	body_filter_finish(&s->tx.filter);
	if (s->tx.filter.problems != 0) {
		reject_message(s);
	} else if (s->authenticated && !smtpd_submission_data(s)) {
		session_reset_transaction(s);
		back_to_commands(s);
	} else if (!s->authenticated) {
		smtpd_inbound_start(s);
	} else {
		smtpd_data_commit(s, NULL);
	}
}

/* Keep memory bounded: past SMTP_SPILL bytes the message goes to tmp/. */
static void spill(struct session *s)
{
	struct transaction *tx = &s->tx;
	if (tx->filter.problems == 0 && spool_msg_spill(tx->msg, SMTP_SPILL) < 0) {
		log_error("session=%s queue=%s event=spill-failed", s->id,
			  tx->queue_id);
		tx->filter.problems |= BODY_TOO_BIG; /* stop keeping it */
	}
}

/* ------------------------------------------------------------ DATA */

void smtpd_cmd_data(struct session *s, const struct smtp_command *cmd)
{
	if (s->state == S_MAIL) {
		/* RFC 5321 3.3: every recipient was refused */
		session_reply(s, 554, "5.5.1", "No valid recipients");
		return;
	}
	if (!start_message(s)) {
		session_reply(s, 451, "4.3.0", "Cannot start the message");
		session_reset_transaction(s);
		return;
	}
	dot_decoder_init(&s->tx.dot);
	s->phase = P_DATA;
	conn_set_timeout(s->conn, s->sd->cfg->smtp_timeout_data_ms);
	session_reply(s, 354, NULL, "End data with <CR><LF>.<CR><LF>");
}

size_t smtpd_data_input(struct session *s, const char *p, size_t n)
{
	size_t used;
	int done = dot_decoder_feed(&s->tx.dot, p, n, &used, &s->tx.filter);
	spill(s);
	if (done)
		end_of_message(s);
	return used;
}

/* ------------------------------------------------------------ BDAT */

/* "BDAT size [LAST]". Returns false when it cannot be parsed: then the
 * chunk's length is unknown and the session cannot stay in step. */
static bool parse_bdat(const struct smtp_command *cmd, uint64_t *size,
		       bool *last)
{
	const char *a = cmd->args;
	size_t n = strspn(a, "0123456789");
	if (parse_u64(a, n, INT64_MAX, size) < 0)
		return false;
	const char *rest = a + n;
	size_t left = cmd->args_len - n;
	while (left > 0 && rest[left - 1] == ' ')
		left--;
	*last = false;
	if (left == 0)
		return true;
	if (left == 5 && strncasecmp(rest, " LAST", 5) == 0) {
		*last = true;
		return true;
	}
	return false;
}

/* Read the chunk but keep nothing, then give this reply (RFC 3030 2: the
 * data of a refused BDAT is still read and discarded). */
static void discard_chunk(struct session *s, int code, const char *status,
			  const char *text)
{
	s->tx.bdat_discard = true;
	s->tx.bdat_code = code;
	s->tx.bdat_status = status;
	s->tx.bdat_text = text;
}

static void chunk_done(struct session *s)
{
	struct transaction *tx = &s->tx;
	if (tx->bdat_discard) {
		tx->bdat_discard = false;
		session_reply(s, tx->bdat_code, tx->bdat_status, "%s",
			      tx->bdat_text);
		back_to_commands(s);
		return;
	}
	if (tx->filter.problems != 0) {
		reject_message(s); /* the rest of the transaction is void */
		return;
	}
	if (tx->bdat_last) {
		end_of_message(s);
		return;
	}
	session_reply(s, 250, "2.0.0", "%" PRIu64 " octets received",
		      tx->bdat_size);
	back_to_commands(s);
}

void smtpd_cmd_bdat(struct session *s, const struct smtp_command *cmd)
{
	uint64_t size;
	bool last;
	if (!parse_bdat(cmd, &size, &last)) {
		session_close_with(s, 501, "5.5.4",
				   "Syntax: BDAT size [LAST]; cannot skip the chunk");
		return;
	}
	struct transaction *tx = &s->tx;
	tx->bdat_left = size;
	tx->bdat_size = size;
	if (!s->sd->cfg->smtp_chunking)
		discard_chunk(s, 502, "5.5.1", "CHUNKING is not offered");
	else if (s->state == S_INIT || s->state == S_READY)
		discard_chunk(s, 503, "5.5.1", "Need MAIL and RCPT before BDAT");
	else if (s->state == S_MAIL)
		discard_chunk(s, 554, "5.5.1", "No valid recipients");
	else if (s->state == S_RCPT && !start_message(s))
		discard_chunk(s, 451, "4.3.0", "Cannot start the message");
	else {
		s->state = S_BDAT;
		tx->bdat_last = last;
	}
	s->phase = P_BDAT;
	conn_set_timeout(s->conn, s->sd->cfg->smtp_timeout_data_ms);
	if (size == 0)
		chunk_done(s);
}

size_t smtpd_bdat_input(struct session *s, const char *p, size_t n)
{
	struct transaction *tx = &s->tx;
	size_t take = n < tx->bdat_left ? n : (size_t)tx->bdat_left;
	if (!tx->bdat_discard) {
		body_filter_feed(&tx->filter, p, take);
		spill(s);
	}
	tx->bdat_left -= take;
	if (tx->bdat_left == 0)
		chunk_done(s);
	return take;
}
