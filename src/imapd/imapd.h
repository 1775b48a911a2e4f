/* imapd.h: what the files of src/imapd/ that run the server share: the
 * server, its workers, the session and its store jobs. Not for use outside
 * src/imapd/ (the pure modules there do not include it).
 *
 * Threads: a session lives on its worker's loop. A command that needs the
 * store becomes a job: its run function is called on a store-pool thread
 * and writes the whole response (untagged lines and the tagged reply) into
 * the job's buffer; the loop then sends it. While a job runs the session
 * reads no input, so the job alone touches the session's store fields
 * (root, selected mailbox) and may read the parsed command, which stays
 * valid until the parser is fed again. A job that has more to say (a FETCH
 * of many messages) returns 0 after a chunk; the loop sends the chunk and,
 * once the client has read it, runs the job again: one session never holds
 * more than a chunk (or one message) of responses. */
#ifndef POSTERN_IMAPD_IMAPD_H
#define POSTERN_IMAPD_IMAPD_H

#include "db/directory.h"
#include "imapd/mailbox.h"
#include "imapd/parse.h"
#include "imapd/server.h"
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
#include "sasl/password.h"
#include "store/mailbox.h"
#include "store/maildir.h"

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

enum {
	IMAP_INPUT_MAX = 64 * 1024,   /* unconsumed input per session */
	IMAP_OUTPUT_HIGH = 256 * 1024, /* stop reading commands past this */
	IMAP_CHUNK = 256 * 1024,      /* a job stops after this much output */
	/* before login a literal can only carry a user name or password
	 * (LOGIN {5}): this much, and nothing that costs memory */
	IMAP_PRE_AUTH_LITERAL = 1024,
	IMAP_SASL_LINE_MAX = 12288,   /* one AUTHENTICATE response line */
	IMAP_IDLE_POLL_MS = 1000,     /* IDLE looks at the folder this often */
};

struct hdrcache;
struct hdrcache_folder;

struct imapd {
	const struct config *cfg;
	struct service *svc; /* the workers, accepting, the caps */
	struct tls_server *tls;
	struct pool *store_pool; /* every mailbox store call */
	struct pool *auth_pool;  /* password checks (argon2: CPU-bound) */
	struct hdrcache *hdrcache; /* header blocks for SEARCH, SORT, THREAD
				      (NULL: [imap] header_cache_size 0) */
	struct penalty *penalty;
	unsigned char secret[SASL_SECRET_LEN]; /* for made-up SCRAM salts */
	char dummy_hash[PASSWORD_HASH_MAX];
};

struct imap_session;

/* What the input loop does with the bytes that arrive. */
enum imap_phase {
	IP_COMMAND,   /* commands, through the parser */
	IP_JOB,       /* a store job runs or its output is being sent */
	IP_AUTH,      /* AUTHENTICATE: reading a SASL response line */
	IP_AUTH_WAIT, /* a penalty wait or a password check */
	IP_IDLE,      /* IDLE: waiting for DONE */
	IP_TLS,       /* TLS handshake */
	IP_CLOSING,   /* sending the last response */
};

/* A store job: run on a pool thread (1: done, 0: call again once the
 * output is sent), then end on the loop (state changes; frees ctx). end
 * is also called when the session went away meanwhile (s->conn NULL). */
typedef int imap_job_run(struct imap_session *s, void *ctx, struct buf *out);
typedef void imap_job_end(struct imap_session *s, void *ctx);

struct imap_job {
	imap_job_run *run;
	imap_job_end *end;
	void *ctx;
	struct buf out;   /* response bytes not yet handed to the conn */
	size_t sent;      /* of out, handed over */
	bool more;        /* run again after out is sent */
	bool running;     /* on a pool thread now */
	bool active;
	/* set on the loop when the session goes: a long run (SEARCH over a
	 * big mailbox) looks at it and stops, as nobody waits for it */
	atomic_bool cancelled;
};

struct imap_session {
	struct service_conn link; /* its place on its worker */
	struct service_worker *w;
	struct imapd *d;
	const struct listen_socket *ls;
	struct conn *conn;
	char id[13];
	struct sockaddr_storage peer;
	char peer_ip[NETADDR_TEXT_MAX];
	unsigned state; /* one enum imap_state bit */
	enum imap_phase phase;
	struct imap_parser *parser;
	bool tls;
	unsigned errors, commands, jobs;
	/* call chains under way that hold the session (imapd_session_hold):
	 * it is freed only when the last of them and the last job are done */
	unsigned busy;
	bool gone;         /* connection closed; freed after the last job */
	bool waiting_flush;
	/* bytes handed to the conn, and how many of them had left when a
	 * job started or its timer last fired: a job whose output does not
	 * move for the idle timeout ends the session */
	uint64_t out_total, out_sent_mark;
	uint64_t started_ms;
	char tag[IMAP_TAG_MAX + 1]; /* of the command being handled */
	/* login */
	char user[DIR_ADDRESS_MAX + 1];
	char root[MAILDIR_PATH_MAX];  /* the user's Maildir (INBOX) */
	struct store_options opt;
	unsigned auth_failures;
	struct imap_auth *auth;
	struct event *timer;          /* penalty waits; IDLE polls */
	/* ENABLE (RFC 5161) */
	bool rev2;  /* IMAP4rev2: ESEARCH replies, UTF-8 names */
	bool utf8;  /* UTF8=ACCEPT (or rev2): mailbox names in UTF-8 */
	/* RFC 7162: MODSEQ in every FETCH that carries flags once CONDSTORE
	 * is on (ENABLE, or a command that uses it); QRESYNC (ENABLE only)
	 * also turns EXPUNGE into VANISHED */
	bool condstore;
	bool qresync;
	/* the selected mailbox (store fields: touched by jobs only) */
	struct store_mailbox *mb;
	bool readonly;             /* EXAMINE */
	char folder[IMAP_FOLDER_NAME_MAX * 4 + 2];
	bool idle_poll_running;
	bool mailbox_lost; /* a job sent BYE: its index was lost */
	struct imap_job job;
};

/* session.c */
bool imapd_session_start(struct service_worker *w, int fd,
			 const struct sockaddr *peer,
			 const struct listen_socket *ls);
/* Queue raw response bytes / a formatted line (CRLF added). */
void imapd_write(struct imap_session *s, const char *data, size_t n);
void imapd_printf(struct imap_session *s, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* "TAG OK|NO|BAD text" for the current command; BAD counts as an error. */
void imapd_tagged(struct imap_session *s, const char *status,
		  const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Send "* BYE why" (why NULL: nothing more) and close once it is
 * written. */
void imapd_close_with(struct imap_session *s, const char *why);
/* Close the connection (s->conn NULL, s->gone true). The session itself
 * is freed only when no job runs and no call chain holds it: code that
 * writes or flushes must look at s->conn (or s->gone) afterwards, never
 * assume the connection is still there. */
void imapd_session_end(struct imap_session *s, const char *reason);
/* Free the session when it is gone, no job runs and nothing holds it;
 * true when it was freed. */
bool imapd_session_free_if_gone(struct imap_session *s);
/* Every entry from the loop (a conn event, a job or login reporting
 * back, a timer) holds the session for its whole call chain, so a write
 * that fails deep inside cannot free it under the callers' feet; release
 * frees it if it went meanwhile (true: do not touch s again). */
void imapd_session_hold(struct imap_session *s);
bool imapd_session_release(struct imap_session *s);
void imapd_process_input(struct imap_session *s);
/* Re-arm the timeout for the next command: the login deadline before
 * login, the idle timeout after. */
void imapd_await_command(struct imap_session *s);
/* Back to reading commands after a command that paused them. */
void imapd_resume(struct imap_session *s);
/* Start a store job for the current command (the session stops reading
 * until it ends). */
void imapd_job_start(struct imap_session *s, imap_job_run *run,
		     imap_job_end *end, void *ctx);
/* The session logged in as user: state, limits, store options. */
void imapd_logged_in(struct imap_session *s, const char *user,
		     uint64_t quota);

/* commands.c */
void imapd_dispatch(struct imap_session *s, const struct imap_command *cmd);
/* The CAPABILITY list for this session now, into out. */
void imapd_capabilities(struct imap_session *s, struct buf *out);
/* IDLE: a line while idling. */
void imapd_idle_line(struct imap_session *s, const char *line, size_t len);
void imapd_idle_stop(struct imap_session *s);
/* After a poll job (select.c): idle on. */
void imapd_idle_polled(struct imap_session *s);

/* auth.c */
void imapd_cmd_login(struct imap_session *s, const struct imap_command *cmd);
void imapd_cmd_authenticate(struct imap_session *s,
			    const struct imap_command *cmd);
/* The SASL mechanisms usable now, as " AUTH=X" items appended to out. */
void imapd_auth_capabilities(struct imap_session *s, struct buf *out);
void imapd_auth_line(struct imap_session *s, const char *line, size_t len);
void imapd_auth_abort(struct imap_session *s);

/* names.c: mailbox names between the wire and the store */
/* The Maildir++ folder of the mailbox argument a, into folder (size
 * IMAP_FOLDER_NAME_MAX * 4 + 2); the UTF-8 name into name (NULL: not
 * wanted). -1 with *error_r for a NO. */
int imapd_folder_arg(const struct imap_session *s, const struct imap_arg *a,
		     char *folder, size_t folder_size, struct buf *name,
		     const char **error_r);
/* The same from a string. */
int imapd_folder_str(const struct imap_session *s, const char *p, size_t n,
		     char *folder, size_t folder_size, struct buf *name,
		     const char **error_r);
/* A name (or pattern) as the client wrote it, to UTF-8, appended. */
int imapd_decode_name(const struct imap_session *s, const char *p,
		      size_t n, struct buf *utf8, const char **error_r);
/* Does the folder (Maildir++ name) exist in the user's tree? */
bool imapd_folder_exists(const struct imap_session *s, const char *folder);
/* A UTF-8 name as the client wants it (UTF-8 or modified UTF-7), as an
 * IMAP string. */
int imapd_write_mailbox(const struct imap_session *s, struct buf *out,
			const char *name, size_t len);

/* folders.c: LIST, LSUB, CREATE, DELETE, RENAME, SUBSCRIBE, UNSUBSCRIBE,
 * STATUS */
void imapd_cmd_list(struct imap_session *s, const struct imap_command *cmd);
void imapd_cmd_create(struct imap_session *s, const struct imap_command *cmd);
void imapd_cmd_delete(struct imap_session *s, const struct imap_command *cmd);
void imapd_cmd_rename(struct imap_session *s, const struct imap_command *cmd);
void imapd_cmd_subscribe(struct imap_session *s,
			 const struct imap_command *cmd);
void imapd_cmd_status(struct imap_session *s, const struct imap_command *cmd);

/* select.c: SELECT, EXAMINE, CLOSE, UNSELECT, EXPUNGE, CHECK, NOOP, IDLE
 * polls; the untagged updates after commands */
void imapd_cmd_select(struct imap_session *s, const struct imap_command *cmd);
void imapd_cmd_close(struct imap_session *s, const struct imap_command *cmd);
void imapd_cmd_expunge(struct imap_session *s, const struct imap_command *cmd);
void imapd_cmd_noop(struct imap_session *s, const struct imap_command *cmd);
/* On the pool: refresh the selected mailbox and write what changed
 * (EXPUNGE, EXISTS, FETCH FLAGS); expunges only when allowed. */
int imapd_updates(struct imap_session *s, struct buf *out,
		  bool expunges_allowed);
/* The FLAGS list of a message, "(\\Seen $Label)", appended to out. */
void imapd_write_flags(struct store_mailbox *mb, const struct store_msg *m,
		       struct buf *out);
/* Free the selected mailbox (on the loop: no job runs). */
void imapd_unselect(struct imap_session *s);
/* IDLE: one poll job. */
void imapd_idle_poll(struct imap_session *s);

/* fetch.c: FETCH, STORE (and their UID forms) */
void imapd_cmd_fetch(struct imap_session *s, const struct imap_command *cmd);
void imapd_cmd_store(struct imap_session *s, const struct imap_command *cmd);

/* A flag as STORE and APPEND take it: a system flag into *flags, or a
 * keyword (*keyword_r = p). -1 for \Recent and unknown system flags. */
int imapd_parse_flag(const char *p, size_t n, uint32_t *flags,
		     const char **keyword_r);

/* copy.c: COPY, MOVE, APPEND */
void imapd_cmd_copy(struct imap_session *s, const struct imap_command *cmd);
void imapd_cmd_append(struct imap_session *s, const struct imap_command *cmd);

/* quota.c: GETQUOTA, GETQUOTAROOT, SETQUOTA */
void imapd_cmd_quota(struct imap_session *s, const struct imap_command *cmd);

/* msgread.c: messages of the selected mailbox for SEARCH, SORT, THREAD,
 * on the pool. A reader lives for one job run: it holds the folder's
 * header cache handle and one buffer reused for every message. */
struct imapd_reader {
	struct hdrcache_folder *cache; /* NULL: no cache (off, or full) */
	bool cache_tried;
	struct buf buf;
	unsigned long cached, read; /* header blocks from each, for the log */
};
void imapd_reader_init(struct imapd_reader *r);
/* Release the cache handle and the buffer (the reader can start over). */
void imapd_reader_free(struct imapd_reader *r);
/* Message idx's header block (store/hdrcache.h: up to and with the first
 * empty line; the whole message when it has none), from the cache or the
 * file. 1 with *hdr_r, *len_r valid until the reader's next call or free;
 * 0 when the block is longer than HDRCACHE_ENTRY_MAX (read the message
 * instead); -1 when it cannot be read (expunged meanwhile). */
int imapd_read_header(struct imap_session *s, struct imapd_reader *r,
		      size_t idx, const char **hdr_r, size_t *len_r);
/* The first cap bytes (at most) of message idx: 0 with *data_r, *len_r
 * valid until the reader's next call or free, or -1. */
int imapd_read_msg(struct imap_session *s, struct imapd_reader *r,
		   size_t idx, size_t cap, const char **data_r, size_t *len_r);
/* Message idx was read (FETCH): data[0..len) is its start, all of it
 * when whole. Its header block goes into the cache when it is not there,
 * so that a search after the FETCH does not read the file again. */
void imapd_note_header(struct imap_session *s, size_t idx, const char *data,
		       size_t len, bool whole);

/* searchcmd.c: SEARCH and UID SEARCH */
void imapd_cmd_search(struct imap_session *s, const struct imap_command *cmd);
struct imap_search;
/* On the pool: does message idx of the selected mailbox match (keywords
 * bound already)? Reads what the keys need through r. */
bool imapd_search_matches(struct imap_session *s, struct imapd_reader *r,
			  const struct imap_search *search, size_t idx);

/* sortcmd.c: SORT, THREAD and their UID forms */
void imapd_cmd_sort(struct imap_session *s, const struct imap_command *cmd);

/* condstore.c: CONDSTORE and QRESYNC (RFC 7162) pieces the commands share */
enum { IMAP_KNOWN_UIDS_MAX = 4096 }; /* ranges in a client's UID set */

/* QRESYNC's SELECT parameter (RFC 7162 3.2.5). */
struct imap_qresync {
	bool given;
	uint32_t uidvalidity;
	uint64_t modseq;
	const char *known_uids; /* a UID set, or NULL: every UID */
	size_t known_len;
};
/* Parse SELECT/EXAMINE's optional parameter list, args[i] (i == n_args:
 * none): (CONDSTORE) and/or (QRESYNC (uidvalidity modseq [known-uids
 * [seq-match-data]])). seq-match-data is checked and then not used (we
 * send every vanished UID of known-uids: see imapd_vanished). -1 with
 * *error_r for BAD. */
int imapd_select_params(const struct imap_command *cmd, uint32_t i,
			bool *condstore, struct imap_qresync *q,
			const char **error_r);
/* A mod-sequence value (RFC 7162 7: 1..2^63-1; zero when zero_ok). */
bool imapd_arg_modseq(const struct imap_arg *a, bool zero_ok, uint64_t *out);
/* Ascending numbers as a compact set ("1:3,7"), appended. */
void imapd_write_numbers(struct buf *out, const uint32_t *v, size_t n);
/* "* VANISHED (EARLIER) uids" (RFC 7162 3.2.10): the UIDs of the set (NULL:
 * 1:*) below UIDNEXT that are not in the mailbox, when anything changed
 * after modseq. RFC 7162 3.2 wants each expunge's modseq tied to its UIDs;
 * the store only records that an expunge happened, so this is a superset
 * that can hold UIDs expunged before modseq (the client already removed
 * those, and a UID it does not hold changes nothing for it). Never a UID
 * that exists. -1 with *error_r for BAD. */
int imapd_vanished(struct store_mailbox *mb, const char *set, size_t len,
		   uint64_t modseq, struct buf *out, const char **error_r);
/* After a QRESYNC SELECT's usual responses: VANISHED (EARLIER) and a
 * FETCH (UID FLAGS MODSEQ) for each message changed after q->modseq. */
void imapd_qresync_select(struct imap_session *s, const struct imap_qresync *q,
			  struct buf *out);

/* Sequence-set arguments: the snapshot indexes (0-based, ascending) that
 * a sequence set (uid false) or UID set names. -1 with *error_r for BAD.
 * *idx_r malloc'd. */
int imapd_resolve_set(struct store_mailbox *mb, const char *set, size_t len,
		      bool uid, size_t **idx_r, size_t *n_r,
		      const char **error_r);

#endif
