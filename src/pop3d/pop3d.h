/* pop3d.h: what the files of src/pop3d/ that run the server share: the
 * server, its workers, the session and its store jobs. Not for use outside
 * src/pop3d/ (parse.c and stuff.c, the pure modules, do not include it).
 *
 * Threads: a session lives on its worker's loop. A command that needs the
 * store (opening the maildrop, RETR, TOP, QUIT's update) becomes a job:
 * its run function is called on a store-pool thread and writes the reply
 * into the job's buffer; the loop then sends it. While a job runs the
 * session reads no input, so the job alone touches the store fields
 * (mailbox, lock). A RETR returns 0 after each chunk: the loop sends it
 * and, once the client has read it, runs the job again, so one session
 * never holds more than a chunk of a message. */
#ifndef POSTERN_POP3D_POP3D_H
#define POSTERN_POP3D_POP3D_H

#include "db/directory.h"
#include "lib/buf.h"
#include "lib/config.h"
#include "lib/netaddr.h"
#include "lib/pool.h"
#include "net/conn.h"
#include "sasl/secret.h"
#include "net/inbox.h"
#include "net/listener.h"
#include "net/service.h"
#include "net/tls.h"
#include "policy/penalty.h"
#include "pop3d/parse.h"
#include "pop3d/server.h"
#include "sasl/password.h"
#include "store/mailbox.h"
#include "store/maildir.h"

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

enum {
	POP3_INPUT_MAX = 16 * 1024,   /* unconsumed input (pipelined commands) */
	POP3_OUTPUT_HIGH = 256 * 1024, /* stop reading commands past this */
	POP3_CHUNK = 256 * 1024,      /* a RETR job reads this much at a time */
	POP3_SASL_LINE_MAX = 12288,   /* one AUTH response line (RFC 5034 4) */
};

struct pop3d {
	const struct config *cfg;
	struct service *svc; /* the workers, accepting, the caps */
	struct tls_server *tls;
	struct pool *store_pool; /* every mailbox store call */
	struct pool *auth_pool;  /* password checks (argon2: CPU-bound) */
	struct penalty *penalty;
	unsigned char secret[SASL_SECRET_LEN]; /* for made-up SCRAM salts */
	char dummy_hash[PASSWORD_HASH_MAX];
};

struct pop3_session;

/* What the input loop does with the bytes that arrive. */
enum pop3_phase {
	PP_COMMAND,   /* command lines */
	PP_JOB,       /* a store job runs or its output is being sent */
	PP_SASL,      /* AUTH: reading a SASL response line */
	PP_AUTH_WAIT, /* a penalty wait or a password check */
	PP_TLS,       /* TLS handshake */
	PP_CLOSING,   /* sending the last reply */
};

/* A store job: run on a pool thread (1: done, 0: call again once the
 * output is sent), then end on the loop (frees ctx, resumes or closes). end
 * is also called when the session went away meanwhile (s->conn NULL). */
typedef int pop3_job_run(struct pop3_session *s, void *ctx, struct buf *out);
typedef void pop3_job_end(struct pop3_session *s, void *ctx);

struct pop3_job {
	pop3_job_run *run;
	pop3_job_end *end;
	void *ctx;
	struct buf out; /* reply bytes not yet handed to the conn */
	size_t sent;    /* of out, handed over */
	bool more;      /* run again after out is sent */
	bool running;   /* on a pool thread now */
	bool active;
};

/* The maildrop of a session in TRANSACTION state: the snapshot taken at
 * login (RFC 1939 8: messages that arrive later are not shown until the
 * next session) and what the session did to it. */
struct pop3_maildrop {
	struct store_mailbox *mb;
	int lock_fd;           /* flock()ed: the maildrop is ours */
	size_t n;              /* messages; number i + 1 is msgs[i] */
	uint64_t *sizes;       /* CRLF octets of each (RFC 1939 LIST) */
	bool *deleted;         /* DELE, undone by RSET */
	bool *retrieved;       /* RETR: flagged \Seen at QUIT */
	uint32_t uidvalidity;
};

struct pop3_session {
	struct service_conn link; /* its place on its worker */
	struct service_worker *w;
	struct pop3d *d;
	const struct listen_socket *ls;
	struct conn *conn;
	char id[13];
	struct sockaddr_storage peer;
	char peer_ip[NETADDR_TEXT_MAX];
	unsigned state; /* one enum pop3_state bit */
	enum pop3_phase phase;
	struct pop3_line_reader reader;
	bool tls;
	unsigned errors, commands, jobs;
	bool gone; /* connection closed; freed after the last job, from the
		      loop (service_reap), never inside a call chain that
		      may still use it */
	uint64_t out_total;     /* bytes handed to the conn */
	uint64_t out_sent_mark; /* bytes sent at the last idle check */
	bool waiting_flush;
	uint64_t started_ms;
	/* login */
	char user[DIR_ADDRESS_MAX + 1]; /* USER's name, then the login's */
	bool have_user;                 /* USER given: PASS may follow */
	char root[MAILDIR_PATH_MAX];
	struct store_options opt;
	unsigned auth_failures;
	struct pop3_auth *auth;
	struct event *timer; /* penalty waits */
	struct pop3_maildrop drop;
	struct pop3_job job;
};

/* session.c */
bool pop3d_session_start(struct service_worker *w, int fd,
			 const struct sockaddr *peer,
			 const struct listen_socket *ls);
void pop3d_write(struct pop3_session *s, const char *data, size_t n);
/* A formatted line, CRLF added. */
void pop3d_printf(struct pop3_session *s, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* "-ERR text" for a bad command: counts toward pop3.max_errors. */
void pop3d_error(struct pop3_session *s, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Send line (NULL: nothing more) and close once it is written. */
void pop3d_close_with(struct pop3_session *s, const char *line);
void pop3d_session_end(struct pop3_session *s, const char *reason);
bool pop3d_session_free_if_gone(struct pop3_session *s);
void pop3d_process_input(struct pop3_session *s);
/* Re-arm the timeout for the next command: the login deadline before
 * login, the idle timeout after. */
void pop3d_await_command(struct pop3_session *s);
/* Back to reading commands after a command that paused them; once the
 * server is stopping, the shutting-down line and a close instead. */
void pop3d_resume(struct pop3_session *s);
/* Start a store job for the current command. */
void pop3d_job_start(struct pop3_session *s, pop3_job_run *run,
		     pop3_job_end *end, void *ctx);

/* commands.c */
void pop3d_dispatch(struct pop3_session *s, const struct pop3_command *cmd);
/* The greeting, after connect or the implicit TLS handshake. */
void pop3d_greet(struct pop3_session *s);

/* auth.c: USER, PASS, AUTH (RFC 1939 7, RFC 5034) */
void pop3d_cmd_user(struct pop3_session *s, const struct pop3_command *cmd);
void pop3d_cmd_pass(struct pop3_session *s, const struct pop3_command *cmd);
void pop3d_cmd_auth(struct pop3_session *s, const struct pop3_command *cmd);
/* The SASL mechanisms usable now, each with a space before it. */
void pop3d_auth_mechanisms(struct pop3_session *s, struct buf *out);
void pop3d_auth_line(struct pop3_session *s, const char *line, size_t len);
void pop3d_auth_abort(struct pop3_session *s);

/* maildrop.c: the store side (RFC 1939 5, 6) */
/* After a good password: lock and open the maildrop of user, then
 * "+OK" (TRANSACTION) or "-ERR [IN-USE]"/"-ERR [SYS/TEMP]" (still
 * AUTHORIZATION). mech is for the log. */
void pop3d_maildrop_open(struct pop3_session *s, const char *user,
			 uint64_t quota, const char *mech);
/* Release the lock and the snapshot (on the loop, no job running). */
void pop3d_maildrop_close(struct pop3_session *s);
void pop3d_cmd_stat(struct pop3_session *s, const struct pop3_command *cmd);
void pop3d_cmd_list(struct pop3_session *s, const struct pop3_command *cmd);
void pop3d_cmd_retr(struct pop3_session *s, const struct pop3_command *cmd);
void pop3d_cmd_dele(struct pop3_session *s, const struct pop3_command *cmd);
void pop3d_cmd_rset(struct pop3_session *s, const struct pop3_command *cmd);
/* QUIT in TRANSACTION: the UPDATE state (RFC 1939 6). */
void pop3d_update(struct pop3_session *s);

/* The UIDL of message idx: UID and UIDVALIDITY in Dovecot's default
 * pop3_uidl_format, "%08Xu%08Xv" (16 hex digits). */
enum { POP3_UIDL_LEN = 16 };
void pop3d_uidl(const struct pop3_session *s, size_t idx,
		char out[POP3_UIDL_LEN + 1]);

#endif
