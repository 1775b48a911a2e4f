/* common: what the commands share: configuration, the directory, passwords. */
#include "cli/cli.h"

#include "lib/privs.h"
#include "mail/header.h"
#include "sasl/password.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

void cli_error(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("postern: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

int cli_load_config(struct cli *cli)
{
	if (cli->cfg_loaded)
		return 0;
	struct buf errors;
	buf_init(&errors, 0);
	unsigned n = config_load(cli->config_path, &cli->cfg, &errors);
	if (n > 0) {
		fputs(buf_cstr(&errors), stderr);
		fprintf(stderr, "postern: %u error%s in %s\n", n, n == 1 ? "" : "s",
			cli->config_path);
		config_free(&cli->cfg);
	}
	buf_free(&errors);
	cli->cfg_loaded = n == 0;
	return n == 0 ? 0 : -1;
}

struct directory *cli_open_directory(struct cli *cli)
{
	const char *why;
	if (cli_load_config(cli) < 0)
		return NULL;
	if (privs_prepare_dir(cli->cfg.data_dir, cli->cfg.user, &why) < 0 ||
	    privs_drop(cli->cfg.user, &why) < 0) {
		cli_error("%s: %s", cli->cfg.data_dir, why);
		return NULL;
	}
	char path[4096];
	snprintf(path, sizeof(path), "%s/postern.db", cli->cfg.data_dir);
	struct directory *d = directory_open(path, &why);
	if (d == NULL)
		cli_error("cannot open %s: %s", path, why);
	return d;
}

static int read_line(FILE *in, char *out, size_t outsz)
{
	if (fgets(out, (int)outsz, in) == NULL)
		return -1;
	size_t n = strcspn(out, "\r\n");
	if (out[n] == '\0' && n == outsz - 1) {
		explicit_bzero(out, outsz);
		return -1; /* longer than we take */
	}
	out[n] = '\0';
	return 0;
}

static int ask(const char *prompt, char *out, size_t outsz)
{
	struct termios old, quiet;
	fputs(prompt, stderr);
	if (tcgetattr(STDIN_FILENO, &old) < 0)
		return -1;
	quiet = old;
	quiet.c_lflag &= ~(tcflag_t)ECHO;
	tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
	int rc = read_line(stdin, out, outsz);
	tcsetattr(STDIN_FILENO, TCSAFLUSH, &old);
	fputc('\n', stderr);
	return rc;
}

int cli_read_password(char *out, size_t outsz)
{
	if (!isatty(STDIN_FILENO)) {
		if (read_line(stdin, out, outsz) < 0 || out[0] == '\0') {
			cli_error("expected the password as one line on standard input");
			return -1;
		}
		return 0;
	}
	char again[PASSWORD_MAX + 2];
	int rc = -1;
	if (ask("Password: ", out, outsz) < 0 || out[0] == '\0')
		cli_error("no password given");
	else if (ask("Password again: ", again, sizeof(again)) < 0 ||
		 strcmp(out, again) != 0)
		cli_error("the passwords differ");
	else
		rc = 0;
	explicit_bzero(again, sizeof(again));
	return rc;
}

bool cli_flag(const struct cli *cli, int from, const char *flag)
{
	for (int i = from; i < cli->argc; i++)
		if (strcmp(cli->argv[i], flag) == 0)
			return true;
	return false;
}

const char *cli_option(const struct cli *cli, int from, const char *name)
{
	for (int i = from; i + 1 < cli->argc; i++)
		if (strcmp(cli->argv[i], name) == 0)
			return cli->argv[i + 1];
	return NULL;
}
/* Standard input, with CRLF turned into LF as the queue keeps it. */
int cli_read_message(struct buf *msg, bool *crlf)
{
	char chunk[65536];
	size_t n;
	*crlf = false;
	while ((n = fread(chunk, 1, sizeof(chunk), stdin)) > 0)
		if (buf_append(msg, chunk, n) < 0)
			return -1;
	size_t o = 0;
	for (size_t i = 0; i < msg->len; i++) {
		if (msg->data[i] == '\r' && i + 1 < msg->len && msg->data[i + 1] == '\n') {
			*crlf = true;
			continue;
		}
		msg->data[o++] = msg->data[i];
	}
	msg->len = o;
	return 0;
}

/* The header section as the queue sees it (mail/header.h). */
size_t cli_message_body(const struct buf *msg, size_t *hdr_len)
{
	size_t body;
	*hdr_len = header_section(msg->data, msg->len, &body);
	return body;
}

