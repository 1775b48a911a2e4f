/* cli: the postern commands. main.c parses the global options and hands
 * the rest of the command line to one of these. Each returns the exit
 * status: 0 success, 1 failure, 2 usage error. */
#ifndef POSTERN_CLI_CLI_H
#define POSTERN_CLI_CLI_H

#include "db/directory.h"
#include "lib/buf.h"
#include "lib/config.h"

struct cli {
	const char *config_path;
	struct config cfg;
	bool cfg_loaded;
	int argc;     /* the words after the command name */
	char **argv;
};

int cli_serve(struct cli *cli);
int cli_config(struct cli *cli);
int cli_domain(struct cli *cli);
int cli_user(struct cli *cli);
int cli_alias(struct cli *cli);
int cli_token(struct cli *cli);
int cli_send(struct cli *cli);
int cli_queue(struct cli *cli);
int cli_dkim(struct cli *cli);
int cli_dns(struct cli *cli);
int cli_check(struct cli *cli);
/* sending.c: postern user cert|sender|limits */
int cli_user_sending(struct cli *cli);

/* dkim.c: a domain's DKIM keys (with their private keys: wiped and
 * freed by cli_dkim_keys_free), in the directory's order */
struct dir_dkim_key;
struct cli_keys {
	struct dir_dkim_key *k;
	size_t n, cap;
};
int cli_dkim_keys(struct directory *d, const char *domain, struct cli_keys *ks);
void cli_dkim_keys_free(struct cli_keys *ks);

/* common.c */
/* Load the configuration; errors go to stderr. 0 or -1. */
int cli_load_config(struct cli *cli);
/* Load the configuration, prepare the data directory, drop root (to the
 * configured user) and open the directory database. NULL on error
 * (printed). */
struct directory *cli_open_directory(struct cli *cli);
/* Read a password: from a terminal (asked twice, not echoed), or one line of
 * standard input. Into out (PASSWORD_MAX + 1 bytes). 0 or -1. */
int cli_read_password(char *out, size_t outsz);
/* "--flag" present among argv[from..]? */
bool cli_flag(const struct cli *cli, int from, const char *flag);
/* The value after "--name", or NULL. */
const char *cli_option(const struct cli *cli, int from, const char *name);
/* A message from standard input into msg (bounded by msg's maximum), CRLF
 * turned into LF as the queue keeps it; *crlf says whether it had CRLF.
 * 0, or -1 when too large. */
int cli_read_message(struct buf *msg, bool *crlf);
/* Where msg's body starts and the header section's length, by the rule
 * of header_section() (mail/header.h). */
size_t cli_message_body(const struct buf *msg, size_t *hdr_len);
void cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
