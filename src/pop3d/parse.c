/* parse: POP3 command lines (RFC 1939 3, RFC 2449 4); see parse.h. */
#include "pop3d/parse.h"

#include <string.h>
#include <strings.h>

#define BOTH (POP3_STATE_AUTH | POP3_STATE_TRANS)

/* The command table (the handlers are in commands.c, indexed by id). */
static const struct pop3_cmd_def table[POP3_CMD_COUNT] = {
	{POP3_CMD_CAPA, "CAPA", BOTH, 0, 0, false},
	{POP3_CMD_STLS, "STLS", POP3_STATE_AUTH, 0, 0, false},
	{POP3_CMD_USER, "USER", POP3_STATE_AUTH, 1, 1, false},
	{POP3_CMD_PASS, "PASS", POP3_STATE_AUTH, 1, 1, true},
	{POP3_CMD_AUTH, "AUTH", POP3_STATE_AUTH, 0, 2, false},
	{POP3_CMD_QUIT, "QUIT", BOTH, 0, 0, false},
	{POP3_CMD_STAT, "STAT", POP3_STATE_TRANS, 0, 0, false},
	{POP3_CMD_LIST, "LIST", POP3_STATE_TRANS, 0, 1, false},
	{POP3_CMD_UIDL, "UIDL", POP3_STATE_TRANS, 0, 1, false},
	{POP3_CMD_RETR, "RETR", POP3_STATE_TRANS, 1, 1, false},
	{POP3_CMD_TOP, "TOP", POP3_STATE_TRANS, 2, 2, false},
	{POP3_CMD_DELE, "DELE", POP3_STATE_TRANS, 1, 1, false},
	{POP3_CMD_RSET, "RSET", POP3_STATE_TRANS, 0, 0, false},
	{POP3_CMD_NOOP, "NOOP", POP3_STATE_TRANS, 0, 0, false},
};

const struct pop3_cmd_def *pop3_cmd_def(enum pop3_cmd_id id)
{
	return id < POP3_CMD_COUNT ? &table[id] : NULL;
}

void pop3_line_reader_init(struct pop3_line_reader *r, size_t max)
{
	r->max = max;
	r->skipping = false;
}

int pop3_line_take(struct pop3_line_reader *r, const char *data, size_t len,
		   size_t *used, size_t *n)
{
	const char *lf = len > 0 ? memchr(data, '\n', len) : NULL;
	*used = 0;
	*n = 0;
	if (lf == NULL) {
		/* checked before buffering more (STYLE.md rule 2): a line
		 * that cannot fit is dropped as it comes */
		if (r->skipping || len >= r->max) {
			r->skipping = true;
			*used = len;
		}
		return 0;
	}
	size_t end = (size_t)(lf - data);
	*used = end + 1;
	if (r->skipping || end + 1 > r->max) {
		r->skipping = false;
		return -1;
	}
	*n = end > 0 && data[end - 1] == '\r' ? end - 1 : end;
	return 1;
}

static bool vchar(unsigned char c)
{
	return c > 0x20 && c < 0x7f;
}

/* The keyword at line[0..*kn): 3 or 4 visible characters. */
static const struct pop3_cmd_def *find(const char *line, size_t kn)
{
	if (kn < 3 || kn > 4)
		return NULL;
	for (size_t i = 0; i < POP3_CMD_COUNT; i++)
		if (strlen(table[i].name) == kn &&
		    strncasecmp(table[i].name, line, kn) == 0)
			return &table[i];
	return NULL;
}

/* Split line[pos..len) into single-space-separated arguments. */
static int split_args(const char *line, size_t pos, size_t len,
		      struct pop3_command *cmd, const char **error_r)
{
	const struct pop3_cmd_def *def = cmd->def;
	while (pos < len) {
		if (line[pos] != ' ' || pos + 1 == len || line[pos + 1] == ' ') {
			*error_r = "Arguments are separated by one space";
			return -1;
		}
		pos++;
		size_t start = pos;
		if (def->rest_is_arg)
			pos = len; /* RFC 1939 7: spaces belong to the password */
		while (pos < len && line[pos] != ' ')
			pos++;
		if (cmd->n_args == def->max_args) {
			*error_r = "Too many arguments";
			return -1;
		}
		size_t n = pos - start;
		/* RFC 5034 4: the initial response only has the line limit */
		bool long_ok = def->rest_is_arg || def->id == POP3_CMD_USER ||
			       (def->id == POP3_CMD_AUTH && cmd->n_args == 1);
		if (n > POP3_ARG_MAX && !long_ok) {
			*error_r = "Argument too long";
			return -1;
		}
		cmd->args[cmd->n_args].p = line + start;
		cmd->args[cmd->n_args].n = n;
		cmd->n_args++;
	}
	return 0;
}

int pop3_parse_command(const char *line, size_t len, struct pop3_command *cmd,
		       const char **error_r)
{
	memset(cmd, 0, sizeof(*cmd));
	for (size_t i = 0; i < len; i++)
		if (!vchar((unsigned char)line[i]) && line[i] != ' ') {
			*error_r = "Invalid character in command";
			return -1;
		}
	size_t kn = 0;
	while (kn < len && line[kn] != ' ')
		kn++;
	cmd->def = find(line, kn);
	if (cmd->def == NULL) {
		*error_r = kn == 0 ? "Empty command" : "Unknown command";
		return -1;
	}
	if (split_args(line, kn, len, cmd, error_r) < 0)
		return -1;
	if (cmd->n_args < cmd->def->min_args) {
		*error_r = "Missing argument";
		return -1;
	}
	return 0;
}

int pop3_parse_number(const struct pop3_arg *a, uint32_t *v)
{
	uint64_t x = 0;
	if (a->n == 0 || a->n > 10)
		return -1;
	for (size_t i = 0; i < a->n; i++) {
		if (a->p[i] < '0' || a->p[i] > '9')
			return -1;
		x = x * 10 + (uint64_t)(a->p[i] - '0');
	}
	if (x > UINT32_MAX)
		return -1;
	*v = (uint32_t)x;
	return 0;
}
