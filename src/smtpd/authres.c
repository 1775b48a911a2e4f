/* authres: the Authentication-Results we record on every message we take
 * in (RFC 8601): for mail from other servers, the DKIM, ARC, SPF and
 * DMARC results; for mail our users submit, that they logged in. Before
 * ours goes on top, every field that claims our authserv-id (the host
 * name) is cut out: only we speak for it (RFC 8601 5). Mail from other
 * servers that an alias forwards elsewhere is then sealed (RFC 8617 5.1):
 * an ARC Set carrying our results goes on top, signed with the alias
 * domain's DKIM key, so the next hop can trust what we saw. Runs on the
 * commit thread, after signing. */
#include "smtpd/smtpd.h"

#include "dkim/keyring.h"
#include "lib/log.h"
#include "lib/util.h"
#include "mail/header.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

int smtpd_authres_prepare(struct session *s, struct authres_job *r,
			  struct inbound_results *in)
{
	struct authres_cut cuts[AUTHRES_CUTS_MAX];
	memset(r, 0, sizeof(*r));
	if (in != NULL) {
		r->verify = in->dkim;
		in->dkim = NULL;
		r->arc = in->arc;
		in->arc = NULL;
		r->dmarc = in->dmarc;
		in->dmarc = NULL;
		smtpd_dmarc_actions(s, r, in->forwarder);
		r->spf_mailfrom = in->spf_mailfrom;
		r->spf_helo = in->spf_helo;
		r->trusted_sealers = s->sd->cfg->dmarc_trusted_arc_sealers;
	}
	if (in != NULL && s->tx.forward_domain[0] != '\0') {
		snprintf(r->seal_domain, sizeof(r->seal_domain), "%s",
			 s->tx.forward_domain);
		buf_init(&r->seal_hdr, 0);
		if (buf_append(&r->seal_hdr, s->tx.headers.data ? s->tx.headers.data
								: "",
			       s->tx.headers.len) < 0)
			r->seal_domain[0] = '\0'; /* no memory: no seal */
	}
	if (s->authenticated)
		snprintf(r->user, sizeof(r->user), "%s", s->auth_user);
	snprintf(r->id, sizeof(r->id), "%s", s->sd->cfg->hostname);
	int n = authres_find_ours(s->tx.headers.data ? s->tx.headers.data : "",
				  s->tx.headers.len, r->id, cuts,
				  AUTHRES_CUTS_MAX);
	if (n < 0)
		return -1;
	for (int i = 0; i < n; i++)
		r->cuts[i] = (struct spool_cut){
			cuts[i].off + s->tx.received_len, cuts[i].len};
	r->n_cuts = (size_t)n;
	r->skip = s->tx.received_len + s->tx.headers.len;
	return 0;
}

static void feed(void *arg, const char *p, size_t n)
{
	struct authres_job *r = arg;
	dkim_verify_body(r->verify, p, n);
	if (r->arc != NULL)
		arc_verify_body(r->arc, p, n);
	if (r->seal != NULL)
		arc_seal_body(r->seal, p, n);
}

/* The domain's RSA signing key: RFC 8617 defines rsa-sha256 alone, and
 * receivers check nothing else. NULL when it has none. */
static const struct dkim_signing_key *rsa_key(const struct dkim_signing_key *k,
					      size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (k[i].alg == DKIM_RSA_SHA256)
			return &k[i];
	return NULL;
}

/* A forward: get the sealer going (it hashes the body with the checks),
 * unless the chain cannot be sealed on (RFC 8617 5.1.2: its newest seal
 * says cv=fail, or it has 50 sets) or the domain has no RSA key. */
static void start_seal(struct authres_job *r, const char *queue_id)
{
	struct dkim_signing_key keys[DKIM_SIGN_KEYS_MAX];
	const struct dkim_signing_key *k = NULL;
	const struct arc_verified *a = arc_verify_result(r->arc);
	int64_t now = (int64_t)time(NULL);
	const char *why = NULL;
	if (a->sealed_fail || a->sets >= ARC_SETS_MAX)
		why = "the chain ends with cv=fail or is full";
	else if ((r->ring = dkim_keyring_get()) == NULL ||
		 (k = rsa_key(keys, dkim_keyring_signers(r->ring, r->seal_domain,
							  now, keys))) == NULL)
		why = "the domain has no RSA DKIM key";
	else if ((r->seal = arc_seal_new(k, now)) == NULL)
		why = "out of memory";
	if (why != NULL)
		log_info("queue=%s event=arc-seal result=skipped domain=%s "
			 "reason=\"%s\"", queue_id, r->seal_domain, why);
}

/* Our ARC Set, on top of the message: the Authentication-Results just
 * made is what it carries. Not when the chain could not be checked for
 * want of a key now (sealing cv=fail would end a chain that may be good);
 * a failure is logged, and the message goes on either way. */
static void add_seal(struct authres_job *r, const struct buf *field,
		     struct spool_msg *msg, const char *queue_id)
{
	static const char name[] = "Authentication-Results: ";
	const struct arc_verified *a = arc_verify_result(r->arc);
	struct buf value, set;
	const char *why = "out of memory";
	if (a->temporary) {
		log_info("queue=%s event=arc-seal result=skipped domain=%s "
			 "reason=\"the chain could not be checked now\"",
			 queue_id, r->seal_domain);
		return;
	}
	buf_init(&value, 0);
	buf_init(&set, 0);
	int rc = buf_append(&value, field->data + strlen(name),
			    field->len - strlen(name) - 1);
	if (rc == 0)
		rc = arc_seal_finish(r->seal, r->seal_hdr.data, r->seal_hdr.len,
				     a->sets + 1, a->result, buf_cstr(&value),
				     NULL, &set, &why);
	if (rc == 0)
		rc = spool_msg_prepend(msg, set.data, set.len);
	if (rc == 0)
		log_info("queue=%s event=arc-sealed instance=%u cv=%s domain=%s",
			 queue_id, a->sets + 1, arc_result_name(a->result),
			 r->seal_domain);
	else
		log_warn("queue=%s event=arc-seal result=error domain=%s "
			 "reason=\"%s\"", queue_id, r->seal_domain, why);
	buf_free(&value);
	buf_free(&set);
}

static void log_arc(const struct arc_verify *v, const char *queue_id)
{
	const struct arc_verified *a = arc_verify_result(v);
	if (a->result != ARC_NONE)
		log_info("queue=%s event=arc result=%s sets=%u domain=%s "
			 "reason=\"%s\"",
			 queue_id, arc_result_name(a->result), a->sets,
			 a->d[0] ? a->d : "-", a->reason ? a->reason : "");
}

/* The signatures and the ARC chain over the body (one read), then one
 * log line per signature and one for the chain. */
static int check_dkim(struct authres_job *r, struct spool_msg *msg,
		      const char *queue_id)
{
	if (spool_msg_read_body(msg, r->skip, feed, r) < 0)
		return -1;
	dkim_verify_finish(r->verify);
	if (r->arc != NULL) {
		arc_verify_finish(r->arc);
		log_arc(r->arc, queue_id);
	}
	for (size_t i = 0; i < dkim_verify_count(r->verify); i++) {
		const struct dkim_verified *d = dkim_verify_result(r->verify, i);
		log_info("queue=%s event=dkim result=%s domain=%s selector=%s "
			 "reason=\"%s\"",
			 queue_id, dkim_result_name(d->result),
			 d->d[0] ? d->d : "-", d->s[0] ? d->s : "-",
			 d->reason ? d->reason : "");
	}
	return 0;
}

/* Whether a passing ARC chain was last sealed by a domain of
 * [dmarc] trusted_arc_sealers (RFC 8617 7.2: a receiver may let a
 * trusted intermediary's findings override a DMARC failure). */
static bool trusted_chain(const struct authres_job *r)
{
	const struct arc_verified *a = r->arc ? arc_verify_result(r->arc) : NULL;
	if (a == NULL || a->result != ARC_PASS)
		return false;
	size_t n = strlen(a->d);
	for (const char *p = r->trusted_sealers; *p != '\0';) {
		size_t len = strcspn(p, " \t,");
		if (len == n && strncasecmp(p, a->d, n) == 0)
			return true;
		p += len;
		p += strspn(p, " \t,");
	}
	return false;
}

/* RFC 7489 6.6: the verdict, from the DKIM results just found and the
 * SPF result of the identity that counts (MAIL FROM, else HELO). Returns
 * the policy applied. */
static enum dmarc_policy check_dmarc(struct authres_job *r,
				     struct spool_msg *msg, const char *queue_id)
{
	const struct spf_outcome *o = r->spf_mailfrom.checked ? &r->spf_mailfrom
							      : &r->spf_helo;
	const char *at = strrchr(o->identity, '@');
	struct dmarc_spf spf = {o->checked ? o->result : SPF_NONE,
				at != NULL ? at + 1 : o->identity};
	dmarc_evaluate(r->dmarc, r->verify, &spf);
	enum dmarc_policy asked = dmarc_policy(r->dmarc, random_below(100));
	enum dmarc_policy p = asked, applied;
	bool refuse;
	if (p != DMARC_P_NONE && trusted_chain(r)) {
		r->override = "trusted ARC sealer";
		p = DMARC_P_NONE;
	}
	applied = smtpd_dmarc_dispose(r, p, msg, &refuse);
	log_info("queue=%s event=dmarc result=%s domain=%s policy=%s applied=%s%s",
		 queue_id, dmarc_result_name(dmarc_result(r->dmarc)),
		 dmarc_domain(r->dmarc)[0] ? dmarc_domain(r->dmarc) : "-",
		 dmarc_policy_name(asked),
		 dmarc_policy_name(applied),
		 r->override ? " override=trusted-arc-sealer" : "");
	if (refuse && dmarc_domain(r->dmarc)[0] == '\0')
		snprintf(r->refusal, sizeof(r->refusal),
			 "Refused: %s (RFC 7489 6.6.1)", dmarc_reason(r->dmarc));
	else if (refuse)
		snprintf(r->refusal, sizeof(r->refusal),
			 "Refused by the DMARC policy of %s (RFC 7489)",
			 dmarc_domain(r->dmarc));
	return applied;
}

static int add_dmarc(struct buf *field, const struct dmarc *d,
		     enum dmarc_policy applied, const char *override)
{
	enum dmarc_result res = dmarc_result(d);
	char comment[160];
	if (dmarc_domain(d)[0] == '\0') /* no single author domain */
		snprintf(comment, sizeof(comment), "%s; dis=%s", dmarc_reason(d),
			 dmarc_policy_name(applied));
	else
		snprintf(comment, sizeof(comment), "p=%s dis=%s%s%s",
			 dmarc_policy_name(dmarc_published(d)),
			 dmarc_policy_name(applied), override ? "; " : "",
			 override ? override : "");
	bool with_policy = res == DMARC_PASS || res == DMARC_FAIL;
	return authres_add_dmarc(field, dmarc_result_name(res),
				 with_policy ? comment : dmarc_reason(d),
				 dmarc_domain(d));
}

static int add_spf(struct buf *field, const struct spf_outcome *o,
		   const char *property)
{
	if (!o->checked)
		return 0;
	if (o->result != SPF_PASS && o->reason[0] != '\0')
		return authres_add_spf(field, spf_result_name(o->result), o->reason,
				       property, o->identity);
	return authres_add_spf(field, spf_result_name(o->result), NULL, property,
			       o->identity);
}

int smtpd_authres_run(struct authres_job *r, struct spool_msg *msg,
		      const char *queue_id, const char **error_r)
{
	struct buf field;
	buf_init(&field, 0);
	int rc = -1;
	enum dmarc_policy applied = DMARC_P_NONE;
	*error_r = "cannot read the message back";
	if (r->arc != NULL && r->seal_domain[0] != '\0')
		start_seal(r, queue_id);
	if (r->verify != NULL && check_dkim(r, msg, queue_id) < 0)
		goto out;
	if (r->dmarc != NULL)
		applied = check_dmarc(r, msg, queue_id);
	if (r->refusal[0] != '\0') {
		*error_r = r->refusal;
		rc = -2;
		goto out;
	}
	*error_r = "cannot remove forged Authentication-Results";
	if (spool_msg_cut(msg, r->cuts, r->n_cuts) < 0)
		goto out;
	if (r->n_cuts > 0)
		log_info("queue=%s event=authres-removed fields=%zu", queue_id,
			 r->n_cuts);
	*error_r = "out of memory";
	if (authres_begin(&field, r->id) < 0 ||
	    (r->user[0] != '\0' && authres_add_auth(&field, r->user) < 0) ||
	    (r->verify != NULL && authres_add_dkim(&field, r->verify) < 0) ||
	    (r->arc != NULL && authres_add_arc(&field, arc_verify_result(r->arc)) < 0) ||
	    add_spf(&field, &r->spf_mailfrom, "smtp.mailfrom") < 0 ||
	    add_spf(&field, &r->spf_helo, "smtp.helo") < 0 ||
	    (r->dmarc != NULL &&
	     add_dmarc(&field, r->dmarc, applied, r->override) < 0) ||
	    authres_end(&field) < 0)
		goto out;
	if (r->seal != NULL)
		add_seal(r, &field, msg, queue_id);
	if (spool_msg_prepend(msg, field.data, field.len) < 0)
		goto out;
	rc = 0;
out:
	buf_free(&field);
	return rc;
}

void smtpd_authres_free(struct authres_job *r)
{
	dkim_verify_free(&r->verify);
	arc_verify_free(&r->arc);
	arc_seal_free(&r->seal);
	free(r->actions);
	r->actions = NULL;
	if (r->ring != NULL)
		dkim_keyring_put(&r->ring);
	buf_free(&r->seal_hdr);
	dmarc_free(&r->dmarc);
}
