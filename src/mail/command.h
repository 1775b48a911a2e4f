/* command: SMTP command lines (RFC 5321 4.1.1 and 4.5.3.1.4). Pure code.
 *
 * The line reader frames lines in a byte stream: a line ends with CR LF and
 * may be at most `max` bytes long, CR LF included. A longer line is discarded
 * through its LF and reported once, so that the reply that follows lines up
 * with the client's next command. */
#ifndef POSTERN_MAIL_COMMAND_H
#define POSTERN_MAIL_COMMAND_H

#include <stdbool.h>
#include <stddef.h>

enum {
	SMTP_COMMAND_LINE_MAX = 512, /* RFC 5321 4.5.3.1.4, CRLF included */
	SMTP_VERB_MAX = 15,
};

enum smtp_line_result {
	SMTP_LINE_NONE,     /* no complete line yet: read more */
	SMTP_LINE_OK,       /* a line (without its CR LF) is ready */
	SMTP_LINE_TOO_LONG, /* an over-long line was discarded */
	SMTP_LINE_BARE_LF,  /* a line ended with LF alone */
};

struct smtp_line_reader {
	bool discarding; /* inside an over-long line */
};

/* Look for the next line in data[0..len). Always sets *consumed (bytes the
 * caller must drop from its buffer, possibly 0); for SMTP_LINE_OK, the line is
 * data[0..*line_len). */
enum smtp_line_result smtp_line_next(struct smtp_line_reader *r,
				     const char *data, size_t len, size_t max,
				     size_t *consumed, size_t *line_len);

struct smtp_command {
	char verb[SMTP_VERB_MAX + 1]; /* upper case */
	const char *args;             /* after the space; "" when none; ends
					 where the line ends (a NUL only if
					 the caller's line has one) */
	size_t args_len;
	bool has_args;
};

/* Split a line into verb and arguments. Refuses NUL and CR anywhere in the
 * line and a verb that is not 1-15 letters. Returns 0, or -1 with *error_r. */
int smtp_command_parse(const char *line, size_t len, struct smtp_command *cmd,
		       const char **error_r);

#endif
