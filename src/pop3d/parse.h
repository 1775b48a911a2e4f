/* parse: POP3 command lines (RFC 1939 3, RFC 2449 4). Pure code: no
 * socket, no global; the session feeds it bytes and gets commands.
 *
 *   command  = keyword *(SP argument) CRLF      ; at most 255 octets
 *   keyword  = 3*4VCHAR                           ; case-insensitive
 *   argument = 1*40VCHAR                          ; RFC 2449 4
 *
 * Exceptions, as RFC 1939 7 and RFC 5034 4 allow: PASS takes the rest
 * of the line as its one argument (a password may hold spaces), and the
 * initial response of AUTH may be longer than 40 octets (only the line
 * limit holds); so may USER's name (addresses often are). SASL response
 * lines inside an AUTH exchange are not commands and have their own,
 * larger limit (the session's).
 *
 * A bare LF is taken as a line end too (the CR before it is optional), as
 * most servers do; a CR anywhere else, NUL, other control characters and
 * 8-bit bytes make the line invalid. */
#ifndef POSTERN_POP3D_PARSE_H
#define POSTERN_POP3D_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum {
	POP3_LINE_MAX = 255, /* RFC 2449 4: one command, CRLF included */
	POP3_ARG_MAX = 40,   /* RFC 2449 4: one argument */
	POP3_ARGS_MAX = 2,   /* TOP msg n, AUTH mech ir */
};

/* The states of RFC 1939 3 a command may be given in (a bit mask). The
 * UPDATE state is never seen by a command: QUIT enters and leaves it. */
enum pop3_state {
	POP3_STATE_AUTH = 1 << 0,  /* AUTHORIZATION */
	POP3_STATE_TRANS = 1 << 1, /* TRANSACTION */
};

enum pop3_cmd_id {
	POP3_CMD_CAPA,
	POP3_CMD_STLS,
	POP3_CMD_USER,
	POP3_CMD_PASS,
	POP3_CMD_AUTH,
	POP3_CMD_QUIT,
	POP3_CMD_STAT,
	POP3_CMD_LIST,
	POP3_CMD_UIDL,
	POP3_CMD_RETR,
	POP3_CMD_TOP,
	POP3_CMD_DELE,
	POP3_CMD_RSET,
	POP3_CMD_NOOP,
	POP3_CMD_COUNT
};

/* One row of the command table: what the parser checks (argument count)
 * and what the dispatcher enforces (states). */
struct pop3_cmd_def {
	enum pop3_cmd_id id;
	const char *name;
	unsigned states;        /* enum pop3_state bits */
	uint8_t min_args, max_args;
	bool rest_is_arg;       /* PASS: the rest of the line, spaces and all */
};

struct pop3_arg {
	const char *p; /* into the line given to pop3_parse_command */
	size_t n;
};

struct pop3_command {
	const struct pop3_cmd_def *def;
	struct pop3_arg args[POP3_ARGS_MAX];
	unsigned n_args;
};

/* Line framing. A line longer than max is skipped whole (up to its LF)
 * and reported once, so the replies stay in step with the commands. */
struct pop3_line_reader {
	size_t max;    /* octets of a line, line end included */
	bool skipping; /* inside an over-long line */
};

void pop3_line_reader_init(struct pop3_line_reader *r, size_t max);
/* Take the next line from data[0..len): 1 with the line at data[0..*n)
 * (line end not included), 0 when more input is needed, -1 when an
 * over-long line has just been skipped. *used: octets the caller consumes
 * in every case (possibly 0 for a return of 0). */
int pop3_line_take(struct pop3_line_reader *r, const char *data, size_t len,
		   size_t *used, size_t *n);

/* Parse one line (without its line end) into cmd, whose args point into
 * line. 0, or -1 with *error_r (a text for "-ERR ..."): unknown command,
 * bad characters, wrong argument count, an argument too long. */
int pop3_parse_command(const char *line, size_t len, struct pop3_command *cmd,
		       const char **error_r);

/* A decimal number argument (RFC 1939: digits only, no sign) of at most
 * UINT32_MAX. 0, or -1 when it is not one. */
int pop3_parse_number(const struct pop3_arg *a, uint32_t *v);

/* The command table row of id. */
const struct pop3_cmd_def *pop3_cmd_def(enum pop3_cmd_id id);

#endif
