/* smtpd.h: what the files of src/smtpd/ share: the server and the session
 * (the workers are net/service.h's). Not for use outside src/smtpd/. */
#ifndef POSTERN_SMTPD_SMTPD_H
#define POSTERN_SMTPD_SMTPD_H

#include "lib/buf.h"
#include "lib/config.h"
#include "lib/netaddr.h"
#include "lib/pool.h"
#include "mail/address.h"
#include "mail/body.h"
#include "mail/command.h"
#include "mailauth/arc.h"
#include "mailauth/authres.h"
#include "mailauth/dmarc.h"
#include "mailauth/spf.h"
#include "mailauth/verify.h"
#include "net/conn.h"
#include "sasl/secret.h"
#include "net/dns.h"
#include "net/inbox.h"
#include "net/listener.h"
#include "net/service.h"
#include "net/tls.h"
#include "db/directory.h"
#include "policy/penalty.h"
#include "sasl/password.h"
#include "queue/qfile.h"
#include "queue/scheduler.h"
#include "queue/spool.h"

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

enum {
	SMTP_INPUT_MAX = 64 * 1024,    /* unconsumed input per session */
	SMTP_OUTPUT_HIGH = 64 * 1024,  /* stop reading commands past this */
	SMTP_SPILL = 256 * 1024,       /* message bytes kept in memory */
	SMTP_HELO_MAX = 255,
	SMTP_AUTH_LINE_MAX = 12288, /* RFC 4954 4: AUTH lines may be this long */
};

struct smtpd {
	const struct config *cfg;
	struct service *svc;      /* the workers, accepting, the caps */
	struct tls_server *tls;
	struct spool *spool;
	struct scheduler *sched;
	struct pool *commit_pool;
	struct pool *auth_pool;   /* password checks: CPU-bound, one per CPU */
	struct penalty *penalty;  /* failed logins per client */
	psl_ctx_t *psl;           /* the Public Suffix List, for DMARC */
	/* for answers about users that do not exist, so that they cost and
	 * look the same as wrong passwords */
	unsigned char secret[SASL_SECRET_LEN];
	char dummy_hash[PASSWORD_HASH_MAX];
};

/* A worker (net/service.h) runs the sessions it accepted; its data is its
 * resolver, for the DNS checks of inbound mail. */
static inline struct dns *smtpd_worker_dns(const struct service_worker *w)
{
	return w->data;
}

/* Session states, as bits so that a command lists where it is allowed. */
enum smtp_state {
	S_INIT = 1 << 0,  /* greeted; no HELO/EHLO yet */
	S_READY = 1 << 1, /* HELO/EHLO done; no transaction */
	S_MAIL = 1 << 2,  /* MAIL accepted, no recipient yet */
	S_RCPT = 1 << 3,  /* at least one recipient */
	S_BDAT = 1 << 4,  /* BDAT chunks under way */
	S_ANY = 0x1f,
};

/* What the input loop is doing with the bytes that arrive. */
enum phase {
	P_COMMAND,    /* reading command lines */
	P_DATA,       /* reading DATA up to CRLF.CRLF */
	P_BDAT,       /* reading a BDAT chunk */
	P_COMMIT,     /* waiting for the queue file to be durable */
	P_AUTH,       /* reading SASL responses */
	P_AUTH_WAIT,  /* waiting out a penalty, or for a password check */
	P_TLS,        /* TLS handshake */
	P_CLOSING,    /* sending the last reply */
};

struct transaction {
	char queue_id[QUEUE_ID_LEN + 1];
	char sender[ADDR_TEXT_MAX];
	bool smtputf8;
	bool eight_bit_mime;
	uint64_t declared_size; /* SIZE=, 0 when not given */
	unsigned n_rcpts;       /* RCPT commands accepted */
	struct envelope env;    /* recipients as they are accepted */
	char forward_domain[ADDR_DOMAIN_MAX + 1]; /* an alias of this domain
						   forwards elsewhere: seal */
	char from_domain[ADDR_DOMAIN_MAX + 1]; /* submission: of the first
						   From address, for DKIM */
	/* the message being received */
	struct spool_msg *msg;
	struct dot_decoder dot;
	struct body_filter filter;
	struct buf headers;     /* the header section, for end-of-data checks */
	size_t received_len;    /* our Received field, before the message in
				   the stored copy */
	uint64_t bdat_left;     /* bytes of the current chunk still to read */
	bool bdat_last;
	bool bdat_discard;      /* read the chunk but keep nothing */
	int bdat_code;          /* reply owed after a discarded chunk */
	const char *bdat_status, *bdat_text;
	uint64_t bdat_size;     /* size of the current chunk, for the reply */
};

struct session {
	struct service_conn link; /* its place on its worker */
	struct service_worker *w;
	struct smtpd *sd;
	const struct listen_socket *ls;
	struct conn *conn;
	char id[13];
	struct sockaddr_storage peer;
	char peer_ip[NETADDR_TEXT_MAX];
	enum smtp_state state;
	enum phase phase;
	struct smtp_line_reader lines;
	bool esmtp;
	char helo[SMTP_HELO_MAX + 1];
	bool tls;
	char tls_version[16];
	char tls_cipher[64];
	int tls_bits;
	unsigned errors;
	unsigned commands;
	unsigned messages;
	unsigned jobs;     /* pool jobs that will report back to this session */
	bool gone;         /* the connection is closed; freed after the last
			      job, from the loop (reap), never inside a call
			      chain that may still use it */
	/* authentication */
	bool authenticated;
	char auth_user[DIR_ADDRESS_MAX + 1];
	char auth_mech[24];
	int64_t token_id;          /* > 0: logged in with a send-only token */
	char token_senders[1024];  /* the token's From addresses, "" = any */
	unsigned auth_failures;
	struct auth_exchange *auth;
	struct event *auth_timer;
	bool waiting_flush; /* input paused until the output drains */
	struct inbound *inbound; /* DNS for the message's checks under way */
	uint64_t started_ms;
	struct transaction tx;
};

/* session.c */
/* Start a session on an accepted socket; false (fd closed) on failure. */
bool session_start(struct service_worker *w, int fd,
		   const struct sockaddr *peer, const struct listen_socket *ls);
void session_reply(struct session *s, int code, const char *status,
		   const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* One line of a multi-line reply: "250-text" (more) or "250 text". */
void session_reply_line(struct session *s, int code, bool more,
			const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* Send a last reply and close once it is written. */
void session_close_with(struct session *s, int code, const char *status,
			const char *why);
void session_reset_transaction(struct session *s);
/* Re-arm the command timeout (after a command was handled). */
void session_await_command(struct session *s);
/* Close the connection (logged with reason): s->conn is NULL from now on.
 * The session itself is freed later, from the loop, once no job will
 * report back to it; so a caller deep in the session's own call chain
 * may go on using s, and must check s->conn after anything that writes,
 * flushes or may otherwise end the session. */
void session_end(struct session *s, const char *reason);
/* For a job reporting back, from the loop: free the session if its
 * connection went away meanwhile and no other job runs. Returns true when
 * it was freed. */
bool session_free_if_gone(struct session *s);
/* Handle whatever input is buffered, as the phase says. */
void session_process_input(struct session *s);

/* commands.c */
void smtpd_dispatch(struct session *s, const char *line, size_t len);

/* auth.c */
/* Whether this session may AUTH at all (listener), and now (TLS). */
bool smtpd_auth_offered(const struct session *s);
/* The mechanisms to advertise now, space-separated, into out. */
void smtpd_auth_mechanisms(struct session *s, char *out, size_t n);
void smtpd_cmd_auth(struct session *s, const struct smtp_command *cmd);
/* A line of a SASL exchange (phase P_AUTH). */
void smtpd_auth_line(struct session *s, const char *line, size_t len);
/* Drop an exchange under way (the session ends). */
void smtpd_auth_abort(struct session *s);

/* submission.c: the rules for authenticated sessions (RFC 6409). */
/* MAIL: may the user send as sender, and is it under the hourly limit?
 * Replies and returns false when not. */
bool smtpd_submission_mail(struct session *s, const char *sender);
/* RCPT: under the hourly recipient limit? Replies and returns false when
 * not. */
bool smtpd_submission_rcpt(struct session *s);
/* End of data: every From: address must be the user's; Date, Message-ID
 * and X-Originating-IP are added. Replies and returns false when refused. */
bool smtpd_submission_data(struct session *s);
/* On a pool thread, after the commit: count the message for the limits. */
void smtpd_submission_count(const char *user, unsigned rcpts);

/* data.c */
void smtpd_cmd_data(struct session *s, const struct smtp_command *cmd);
void smtpd_cmd_bdat(struct session *s, const struct smtp_command *cmd);
/* Feed input to the DATA decoder / BDAT chunk; returns bytes consumed. */
size_t smtpd_data_input(struct session *s, const char *p, size_t n);
size_t smtpd_bdat_input(struct session *s, const char *p, size_t n);
/* The transaction's message, if any, is dropped. */
void smtpd_data_abort(struct session *s);
/* What was found out about mail from another server before the commit. */
struct spf_outcome {
	bool checked;
	int result;          /* enum spf_result */
	char reason[96];
	char identity[ADDR_TEXT_MAX]; /* the MAIL FROM address, or HELO */
};
struct inbound_results {
	struct dkim_verify *dkim; /* keys in: the body is still to check */
	struct arc_verify *arc;   /* the same for the ARC chain */
	struct spf_outcome spf_mailfrom, spf_helo;
	struct dmarc *dmarc;      /* record in: to evaluate after DKIM */
	bool forwarder;           /* [dmarc] forwarders: never refused */
};

/* Queue the received message (on a pool thread; the reply comes when it
 * is durable). r, for mail from other servers, is taken over: the job
 * checks the DKIM signatures over the body and records every result. */
void smtpd_data_commit(struct session *s, struct inbound_results *r);

/* authres.c: what the commit job records of a message's authentication */
struct authres_job {
	struct dkim_verify *verify; /* inbound: signatures to check */
	struct arc_verify *arc;     /* inbound: the ARC chain to check */
	/* a forward: seal with the key of this domain, over this header */
	char seal_domain[ADDR_DOMAIN_MAX + 1];
	struct buf seal_hdr;
	struct dkim_keyring *ring;
	struct arc_seal *seal;
	struct spf_outcome spf_mailfrom, spf_helo;
	struct dmarc *dmarc;
	unsigned char *actions;     /* per recipient: the most its domain
				       does on a DMARC failure (dmarc_policy) */
	size_t n_actions;
	const char *override;       /* why the DMARC policy was not applied */
	const char *trusted_sealers; /* [dmarc] trusted_arc_sealers */
	char refusal[256];          /* why a policy refused the message */
	char user[DIR_ADDRESS_MAX + 1]; /* submission: who logged in */
	char id[256];               /* our authserv-id: the host name */
	struct spool_cut cuts[AUTHRES_CUTS_MAX]; /* forged fields to drop */
	size_t n_cuts;
	uint64_t skip; /* bytes of the stored copy before the body */
};
/* On the worker. in (NULL for submitted mail) is taken over. -1 when the
 * message carries more forged Authentication-Results than we remove (it
 * is refused). */
int smtpd_authres_prepare(struct session *s, struct authres_job *r,
			  struct inbound_results *in);
/* On the commit thread: check, cut, add our field. 0; -1 with *error_r
 * (a passing trouble); -2 when a DMARC p=reject policy refuses the
 * message (*error_r says why, for a 550 5.7.1). */
int smtpd_authres_run(struct authres_job *r, struct spool_msg *msg,
		      const char *queue_id, const char **error_r);
void smtpd_authres_free(struct authres_job *r);

/* disposition.c: what each recipient's domain does with a DMARC failure */
/* On the worker: r->actions, from the directory (forwarder: all none). */
void smtpd_dmarc_actions(struct session *s, struct authres_job *r,
			 bool forwarder);
/* On the commit thread: the sender's policy p applied to every copy:
 * *refuse when every copy would be refused (returns DMARC_P_REJECT);
 * else the copies to quarantine are marked, and the returned disposition
 * is quarantine when any is, none when none is. */
enum dmarc_policy smtpd_dmarc_dispose(struct authres_job *r,
				      enum dmarc_policy p,
				      struct spool_msg *msg, bool *refuse);

/* inbound.c: mail from other servers, before it is queued */
/* Look up what the message's authentication needs, then commit it. */
void smtpd_inbound_start(struct session *s);
/* At shutdown: go on at once with what has come (the rest: temperror). */
void smtpd_inbound_hurry(struct session *s);

/* received.c: our Received header (RFC 5321 4.4), LF line ends. */
int smtpd_received_header(const struct session *s, const struct envelope *env,
			  struct buf *out);

#endif
