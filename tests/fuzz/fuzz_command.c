/* libFuzzer target: SMTP command framing and parsing (src/mail/command.c)
 * and the path/parameter parsers behind MAIL and RCPT (src/mail/address.c).
 * Input is a byte stream as a client would send it. */
#include "mail/address.h"
#include "mail/command.h"

#include <stdint.h>
#include <string.h>

static void parse_args(const struct smtp_command *cmd)
{
	const char *p = cmd->args;
	size_t n = cmd->args_len;
	const char *colon = memchr(p, ':', n);
	if (colon == NULL)
		return;
	size_t off = (size_t)(colon - p) + 1;
	struct mailbox mb;
	size_t used;
	const char *why;
	unsigned flags = ADDR_F_EMPTY_OK | ADDR_F_POSTMASTER_OK | ADDR_F_UTF8;
	if (address_parse_path(p + off, n - off, flags, &mb, &used, &why) !=
	    ADDR_OK)
		return;
	char text[ADDR_TEXT_MAX];
	size_t len = mailbox_format(&mb, text);
	if (len >= ADDR_TEXT_MAX)
		__builtin_trap();
	struct esmtp_param params[ESMTP_PARAMS_MAX];
	esmtp_parse_params(p + off + used, n - off - used, params, &why);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct smtp_line_reader r = {0};
	const char *p = (const char *)data;
	size_t left = size;
	while (left > 0) {
		size_t consumed = 0, len = 0;
		enum smtp_line_result res = smtp_line_next(
			&r, p, left, SMTP_COMMAND_LINE_MAX, &consumed, &len);
		if (consumed > left)
			__builtin_trap();
		if (res == SMTP_LINE_OK) {
			if (len + 2 > SMTP_COMMAND_LINE_MAX)
				__builtin_trap();
			struct smtp_command cmd;
			const char *why;
			if (smtp_command_parse(p, len, &cmd, &why) == 0)
				parse_args(&cmd);
		}
		if (res == SMTP_LINE_NONE && consumed == 0)
			break;
		p += consumed;
		left -= consumed;
	}
	return 0;
}
