/* parse: IMAP client commands (RFC 9051 IMAP4rev2, RFC 3501 IMAP4rev1) and
 * the command table. Pure code: no I/O, no global state.
 *
 *   command  = tag SP name [SP "UID"-subcommand] *(SP arg) CRLF
 *   arg      = atom / quoted / literal / literal8 / "(" [arg *(SP arg)] ")"
 *   literal  = "{" number ["+"] "}" CRLF *CHAR8      (RFC 9051 4.3, RFC 7888)
 *   literal8 = "~{" number ["+"] "}" CRLF *OCTET     (RFC 3516)
 *
 * The parser is fed bytes as they arrive and says when a command is whole.
 * It splits the arguments into generic tokens; each command's handler then
 * checks the shapes it wants (a mailbox, a sequence set, a fetch list) with
 * the imap_arg_* helpers and with imapd/seqset.h and imapd/mailbox.h.
 *
 * Literals: a line that ends with a literal announcement stops the parser
 * with IMAP_PARSE_LITERAL *after* the size has been checked against the
 * limits and *before* anything is allocated for it. The caller then sends
 * "+ Ready" if the literal is synchronising, accepts it (kept by the parser,
 * or read by the caller itself, e.g. an APPEND message streamed to disk),
 * and feeds on; the rest of the command follows the literal's bytes.
 *
 * Limits (every one checked before the bytes are stored):
 *   - the text of one command outside literals, CRLFs included: text_max;
 *   - one literal: literal_max (0 refuses every literal: before
 *     authentication, RFC 9051 has no command that needs a large one);
 *     without LITERAL+, a non-synchronising literal over 4096 bytes is
 *     refused (RFC 7888 4, LITERAL-); sizes past 4294967295 or written with
 *     more than 10 digits are refused as they are read;
 *   - text and literals of one command together: command_max;
 *   - arguments (list openings included): args_max; list nesting:
 *     IMAP_DEPTH_MAX; a tag: IMAP_TAG_MAX bytes.
 * Refused bytes: NUL anywhere but in a literal8, CR or LF inside a line,
 * controls and 8-bit bytes in atoms, an escape in a quoted string other than
 * \\ and \", 8-bit bytes in a quoted string that are not UTF-8 (RFC 9051
 * allows UTF-8 there; RFC 3501 clients never send it). One SP separates
 * arguments: no leading, doubled or trailing spaces (RFC 9051 9).
 *
 * After an error the parser discards the rest of the command by itself,
 * non-synchronising literals included (RFC 7888 4: the client sends them
 * without waiting), so the next command lines up with the client's. */
#ifndef POSTERN_IMAPD_PARSE_H
#define POSTERN_IMAPD_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum {
	IMAP_TAG_MAX = 64,
	IMAP_DEPTH_MAX = 16,           /* "(" nesting */
	IMAP_TEXT_MAX = 64 * 1024,     /* default text_max */
	IMAP_ARGS_MAX = 4096,          /* default args_max */
	IMAP_LITERAL_MINUS_MAX = 4096, /* RFC 7888 4 */
	IMAP_PRE_AUTH_LITERAL_MAX = 0, /* literals refused before login */
};

/* Session states as bits (RFC 9051 3). No command runs in LOGOUT; the bit
 * exists so that a session's state always has one. */
enum imap_state {
	IMAP_STATE_NOT_AUTH = 1u << 0,
	IMAP_STATE_AUTH = 1u << 1,
	IMAP_STATE_SELECTED = 1u << 2,
	IMAP_STATE_LOGOUT = 1u << 3,
};

enum imap_cmd_id {
	IMAP_CMD_CAPABILITY,
	IMAP_CMD_NOOP,
	IMAP_CMD_LOGOUT,
	IMAP_CMD_ID,
	IMAP_CMD_STARTTLS,
	IMAP_CMD_AUTHENTICATE,
	IMAP_CMD_LOGIN,
	IMAP_CMD_ENABLE,
	IMAP_CMD_SELECT,
	IMAP_CMD_EXAMINE,
	IMAP_CMD_CREATE,
	IMAP_CMD_DELETE,
	IMAP_CMD_RENAME,
	IMAP_CMD_SUBSCRIBE,
	IMAP_CMD_UNSUBSCRIBE,
	IMAP_CMD_LIST,
	IMAP_CMD_LSUB,
	IMAP_CMD_NAMESPACE,
	IMAP_CMD_STATUS,
	IMAP_CMD_APPEND,
	IMAP_CMD_IDLE,
	IMAP_CMD_GETQUOTA,
	IMAP_CMD_GETQUOTAROOT,
	IMAP_CMD_SETQUOTA,
	IMAP_CMD_CHECK,
	IMAP_CMD_CLOSE,
	IMAP_CMD_UNSELECT,
	IMAP_CMD_EXPUNGE,
	IMAP_CMD_SEARCH,
	IMAP_CMD_FETCH,
	IMAP_CMD_STORE,
	IMAP_CMD_COPY,
	IMAP_CMD_MOVE,
	IMAP_CMD_SORT,
	IMAP_CMD_THREAD,
	IMAP_CMD_UID_FETCH,
	IMAP_CMD_UID_STORE,
	IMAP_CMD_UID_COPY,
	IMAP_CMD_UID_MOVE,
	IMAP_CMD_UID_SEARCH,
	IMAP_CMD_UID_EXPUNGE,
	IMAP_CMD_UID_SORT,
	IMAP_CMD_UID_THREAD,
	IMAP_CMD_COUNT
};

/* The one command table: a row per command, with the states it may run in.
 * The session keeps its handlers in an array indexed by id, so names and
 * states live here only. UID subcommands are rows of their own ("UID
 * FETCH"), with their own states. */
struct imap_cmd_def {
	const char *name; /* upper case; "UID FETCH" for a UID subcommand */
	enum imap_cmd_id id;
	unsigned states; /* enum imap_state bits */
};

/* The row for a command name (case-insensitive; not "UID" alone: see
 * imap_cmd_lookup_uid), or NULL. */
const struct imap_cmd_def *imap_cmd_lookup(const char *name, size_t len);
/* The row for "UID name", or NULL when name has no UID form. */
const struct imap_cmd_def *imap_cmd_lookup_uid(const char *name, size_t len);
/* The row for an id (id < IMAP_CMD_COUNT). */
const struct imap_cmd_def *imap_cmd_get(enum imap_cmd_id id);
/* May the command run in state (one enum imap_state bit)? */
bool imap_cmd_allowed(const struct imap_cmd_def *def, unsigned state);

enum imap_arg_type {
	IMAP_ARG_ATOM,     /* also numbers, flags, sequence sets, patterns,
	                      and fetch attributes with a section: one atom
	                      holds "BODY.PEEK[HEADER.FIELDS (A B)]<0.100>" */
	IMAP_ARG_NIL,      /* the atom NIL, any case */
	IMAP_ARG_QUOTED,   /* unescaped */
	IMAP_ARG_LITERAL,  /* {N}: no NUL in it */
	IMAP_ARG_LITERAL8, /* ~{N}: any octet */
	IMAP_ARG_LIST,
};

/* One argument. The arguments of a command are a flat array in the order
 * they were sent; a list's members follow it, and `next` skips them. */
struct imap_arg {
	enum imap_arg_type type;
	bool external;   /* a literal the caller read itself: str is NULL */
	uint32_t count;  /* LIST: direct members */
	uint32_t next;   /* index of the next sibling (== n_args: none) */
	size_t len;      /* bytes in str (literal: its size) */
	const char *str; /* NUL-terminated copy (a literal may hold more NULs);
	                    NULL for a list. Valid until the next feed. */
	size_t off;      /* internal: where str starts in the parser's store */
};

struct imap_command {
	char tag[IMAP_TAG_MAX + 1];
	const struct imap_cmd_def *def;
	const struct imap_arg *args; /* args[0] is the first argument */
	uint32_t n_args;             /* all, list members included */
	uint32_t n_top;              /* top-level arguments */
};

struct imap_parse_limits {
	size_t text_max;
	uint64_t literal_max;
	uint64_t command_max;
	uint32_t args_max;
	bool literal_plus; /* LITERAL+ advertised; false: LITERAL- */
	bool pre_auth;     /* only words the refusal of a literal */
};

/* Defaults: before authentication, no literals; after, literal_max as
 * given (the message size limit, for APPEND). */
void imap_parse_limits_init(struct imap_parse_limits *lim, bool pre_auth,
                            uint64_t literal_max);

enum imap_parse_result {
	/* the house convention (1 done / 0 more / -1 invalid), and one more */
	IMAP_PARSE_ERROR = -1,  /* imap_parser_error(); feed on */
	IMAP_PARSE_MORE = 0,    /* all input consumed; feed more */
	IMAP_PARSE_DONE = 1,    /* imap_parser_command() */
	IMAP_PARSE_LITERAL = 2, /* imap_parser_literal(), then accept it */
};

struct imap_literal {
	uint32_t size;
	bool sync;   /* send a continuation request before it comes */
	bool binary; /* literal8 */
};

struct imap_parse_error {
	const char *msg;  /* text for the BAD reply */
	const char *code; /* response code ("TOOBIG") or NULL */
	bool tagged;      /* reply "tag BAD": the tag was read */
	bool fatal;       /* the stream cannot be resynchronised (a refused
	                     literal of unreadable size): close after the
	                     reply */
};

struct imap_parser;

/* A parser with these limits (copied). NULL when out of memory. */
struct imap_parser *imap_parser_new(const struct imap_parse_limits *lim);
void imap_parser_free(struct imap_parser **p);
/* New limits, used from the next command on (e.g. after LOGIN). */
void imap_parser_set_limits(struct imap_parser *p,
                            const struct imap_parse_limits *lim);

/* Parse data[0..len). Always sets *consumed: the parser stops right after
 * the end of a command (DONE), of a literal announcement (LITERAL) or of
 * the bytes that made the error (ERROR), so that the caller can answer
 * before feeding the rest. A DONE command, the pending literal and the
 * error stay readable until the next call. */
enum imap_parse_result imap_parser_feed(struct imap_parser *p, const char *data,
                                        size_t len, size_t *consumed);

/* After LITERAL: the literal announced. */
const struct imap_literal *imap_parser_literal(const struct imap_parser *p);
/* After LITERAL: accept it. external false: feed its bytes, the parser
 * keeps them as the argument. external true: the caller reads exactly
 * size bytes itself (and checks them), then feeds what follows. */
void imap_parser_literal_accept(struct imap_parser *p, bool external);
/* After LITERAL: refuse it (e.g. APPEND over quota). The command is
 * dropped; a non-synchronising literal's bytes are discarded as fed. */
void imap_parser_literal_refuse(struct imap_parser *p);

/* After DONE, and after LITERAL for what was read so far (a handler may
 * look at the command before accepting, e.g. the APPEND mailbox). */
const struct imap_command *imap_parser_command(const struct imap_parser *p);
/* After ERROR. */
const struct imap_parse_error *imap_parser_error(const struct imap_parser *p);

/* Argument helpers. Each returns false when the argument has another shape.
 */
/* An astring (RFC 9051 9): atom, quoted or stored literal. */
bool imap_arg_astring(const struct imap_arg *a, const char **s, size_t *len);
/* An nstring: a string or NIL (*s = NULL). */
bool imap_arg_nstring(const struct imap_arg *a, const char **s, size_t *len);
/* An atom equal to word, case-insensitively. */
bool imap_arg_atom_is(const struct imap_arg *a, const char *word);
/* number (1-10 digits, <= 4294967295) and nz-number. */
bool imap_arg_number(const struct imap_arg *a, uint32_t *out);
bool imap_arg_nz_number(const struct imap_arg *a, uint32_t *out);
/* Decimal digits only, at most max_digits of them, value <= max. */
int imap_parse_number(const char *s, size_t len, unsigned max_digits,
                      uint64_t max, uint64_t *out);

#endif
