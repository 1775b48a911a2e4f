/* searchcmd: SEARCH and UID SEARCH (RFC 9051 6.4.4). */
#include "imapd/imapd.h"

void imapd_cmd_search(struct imap_session *s, const struct imap_command *cmd)
{
	imapd_tagged(s, "BAD", "SEARCH is not supported yet");
	imapd_await_command(s);
}
