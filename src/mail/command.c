/* command: SMTP command line framing and splitting. */
#include "mail/command.h"

#include <string.h>

enum smtp_line_result smtp_line_next(struct smtp_line_reader *r,
				     const char *data, size_t len, size_t max,
				     size_t *consumed, size_t *line_len)
{
	size_t window = len < max ? len : max;
	const char *lf = memchr(data, '\n', window);
	if (lf == NULL && (r->discarding || len >= max)) {
		/* over-long: its end may already be here, past the window */
		r->discarding = true;
		lf = memchr(data, '\n', len);
	}
	if (lf == NULL) {
		/* nothing of an over-long line is kept */
		*consumed = r->discarding ? len : 0;
		return SMTP_LINE_NONE;
	}
	size_t p = (size_t)(lf - data);
	*consumed = p + 1;
	if (r->discarding) {
		r->discarding = false;
		return SMTP_LINE_TOO_LONG;
	}
	if (p == 0 || data[p - 1] != '\r')
		return SMTP_LINE_BARE_LF;
	*line_len = p - 1;
	return SMTP_LINE_OK;
}

int smtp_command_parse(const char *line, size_t len, struct smtp_command *cmd,
		       const char **error_r)
{
	if (memchr(line, '\0', len) != NULL) {
		*error_r = "NUL byte in command";
		return -1;
	}
	if (memchr(line, '\r', len) != NULL) {
		*error_r = "bare CR in command";
		return -1;
	}
	size_t n = 0;
	while (n < len && ((line[n] >= 'a' && line[n] <= 'z') ||
			   (line[n] >= 'A' && line[n] <= 'Z')))
		n++;
	if (n == 0 || n > SMTP_VERB_MAX || (n < len && line[n] != ' ')) {
		*error_r = "invalid command";
		return -1;
	}
	for (size_t i = 0; i < n; i++)
		cmd->verb[i] = (char)(line[i] & ~0x20); /* ASCII upper case */
	cmd->verb[n] = '\0';
	cmd->has_args = n < len;
	cmd->args = cmd->has_args ? line + n + 1 : "";
	cmd->args_len = cmd->has_args ? len - n - 1 : 0;
	return 0;
}
