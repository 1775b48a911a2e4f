/* disposition: what happens to mail from other servers that fails DMARC
 * (RFC 7489 6.6.3 leaves it to the receiver), decided per recipient: each
 * recipient's domain says reject (follow the sender's policy), quarantine
 * (never refuse) or none (record only), or takes [dmarc] enforce; mail
 * from the domain's or the server's forwarders is exempt. One message has
 * one reply, so it is refused only when every copy would be; a copy whose
 * domain would refuse while another takes the message goes to Junk. */
#include "smtpd/smtpd.h"

#include "lib/log.h"

#include <stdlib.h>
#include <string.h>

/* The domain whose settings apply to recipient r: its mailbox's, the
 * forwarding alias's, or (relayed) its own. */
static const char *receiving_domain(const struct session *s,
				    const struct envelope_rcpt *r)
{
	const char *addr = r->mailbox[0] != '\0' ? r->mailbox : r->orig;
	if (r->mailbox[0] == '\0' && s->tx.forward_domain[0] != '\0')
		return s->tx.forward_domain;
	const char *at = strrchr(addr, '@');
	return at != NULL ? at + 1 : "";
}

static unsigned char action_named(const char *name, unsigned char dflt)
{
	return strcmp(name, "reject") == 0       ? DMARC_P_REJECT
	       : strcmp(name, "quarantine") == 0 ? DMARC_P_QUARANTINE
	       : strcmp(name, "none") == 0       ? DMARC_P_NONE
						 : dflt;
}

static unsigned char domain_action(const struct session *s,
				   struct directory *dir, const char *domain)
{
	unsigned char dflt = s->sd->cfg->dmarc_enforce ? DMARC_P_REJECT
						       : DMARC_P_NONE;
	struct dir_domain_dmarc dd;
	const char *bad;
	if (dir == NULL || dir_domain_dmarc_get(dir, domain, &dd) != 1)
		return dflt;
	if (dd.forwarders[0] != '\0' &&
	    netaddr_in_networks(s->peer_ip, dd.forwarders, &bad) == 1)
		return DMARC_P_NONE;
	return action_named(dd.action, dflt);
}

void smtpd_dmarc_actions(struct session *s, struct authres_job *r,
			 bool forwarder)
{
	const struct envelope *env = spool_msg_envelope(s->tx.msg);
	struct directory *dir = directory_thread();
	r->actions = calloc(env->n_rcpts + 1, 1);
	if (r->actions == NULL) { /* no memory: delivered, as unchecked */
		log_error("session=%s event=dmarc-actions error=\"out of memory\"",
			  s->id);
		return;
	}
	r->n_actions = env->n_rcpts;
	const char *last = NULL;
	for (size_t i = 0; i < env->n_rcpts && !forwarder; i++) {
		const char *domain = receiving_domain(s, &env->rcpts[i]);
		if (last != NULL && strcmp(domain, last) == 0) {
			r->actions[i] = r->actions[i - 1]; /* one look-up each */
			continue;
		}
		r->actions[i] = domain_action(s, dir, domain);
		last = domain;
	}
	/* a forwarder's mail: every action stays none */
}

enum dmarc_policy smtpd_dmarc_dispose(struct authres_job *r,
				      enum dmarc_policy p,
				      struct spool_msg *msg, bool *refuse)
{
	enum dmarc_policy applied = DMARC_P_NONE;
	*refuse = p == DMARC_P_REJECT && r->n_actions > 0;
	for (size_t i = 0; i < r->n_actions; i++) {
		enum dmarc_policy a = p < r->actions[i] ? p : r->actions[i];
		*refuse = *refuse && a == DMARC_P_REJECT;
		if (a != DMARC_P_NONE)
			applied = DMARC_P_QUARANTINE;
	}
	if (*refuse)
		return DMARC_P_REJECT;
	for (size_t i = 0; i < r->n_actions && applied != DMARC_P_NONE; i++)
		if (p != DMARC_P_NONE && r->actions[i] != DMARC_P_NONE)
			spool_msg_quarantine_rcpt(msg, i);
	return applied;
}
