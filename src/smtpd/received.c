/* received: the Received header we add (RFC 5321 4.4; protocol names of
 * RFC 3848 and RFC 6531), recording the TLS version and cipher. */
#include "smtpd/smtpd.h"

#include "lib/util.h"

#include <string.h>
#include <time.h>

/* RFC 3848 and RFC 6531 protocol names: S for TLS, A for AUTH. */
static const char *protocol(const struct session *s)
{
	static const char *const names[2][2][2] = {
		{{"ESMTP", "ESMTPA"}, {"ESMTPS", "ESMTPSA"}},
		{{"UTF8SMTP", "UTF8SMTPA"}, {"UTF8SMTPS", "UTF8SMTPSA"}},
	};
	if (!s->esmtp)
		return "SMTP";
	return names[s->tx.smtputf8][s->tls][s->authenticated];
}

int smtpd_received_header(const struct session *s, const struct envelope *env,
			  struct buf *out)
{
	char date[RFC5322_DATE_MAX];
	rfc5322_date(time(NULL), date);
	bool v6 = strchr(s->peer_ip, ':') != NULL;
	int rc = buf_appendf(out,
			     "Received: from %s ([%s%s])\n"
			     "\tby %s (Postern) with %s\n",
			     s->helo, v6 ? "IPv6:" : "", s->peer_ip,
			     s->sd->cfg->hostname, protocol(s));
	if (rc == 0 && s->tls)
		rc = buf_appendf(out, "\t(version=%s cipher=%s bits=%d)\n",
				 s->tls_version, s->tls_cipher, s->tls_bits);
	if (rc == 0 && s->authenticated)
		rc = buf_appendf(out, "\t(authenticated user %s by %s)\n",
				 s->auth_user, s->auth_mech);
	if (rc == 0)
		rc = buf_appendf(out, "\tid %s", s->tx.queue_id);
	/* "for" names the recipient only when there is one (RFC 5321 7.2) */
	if (rc == 0 && s->tx.n_rcpts == 1 && env->n_rcpts >= 1)
		rc = buf_appendf(out, "\n\tfor <%s>", env->rcpts[0].orig);
	if (rc == 0)
		rc = buf_appendf(out, ";\n\t%s\n", date);
	return rc;
}
