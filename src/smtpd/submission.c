/* submission: what an authenticated user may send (RFC 6409): only as
 * themselves (their address, their aliases, what an administrator allowed,
 * and for a send-only token only its listed From addresses), at most so
 * many messages and recipients an hour, and with the header fields a
 * message needs added when it lacks them. */
#include "smtpd/smtpd.h"

#include "lib/log.h"
#include "lib/parse.h"
#include "lib/util.h"
#include "mail/header.h"
#include "mail/rfc5322.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

enum { HOUR = 3600, FROM_MAX = 32 };

/* Is address among a token's space-separated From addresses? */
static bool token_allows(const struct session *s, const char *address)
{
	if (s->token_senders[0] == '\0')
		return true;
	const char *cursor = s->token_senders, *word;
	size_t n;
	while (next_word(&cursor, &word, &n))
		if (n == strlen(address) && strncasecmp(word, address, n) == 0)
			return true;
	return false;
}

/* 1 allowed, 0 not, -1 directory error */
static int may_send_as(const struct session *s, const char *address)
{
	struct directory *d = directory_thread();
	if (d == NULL)
		return -1;
	int rc = dir_may_send_as(d, s->auth_user, address,
				 s->sd->cfg->delivery_recipient_delimiter);
	return rc == 1 && !token_allows(s, address) ? 0 : rc;
}

struct usage {
	unsigned messages, rcpts;
	int64_t oldest;
	uint64_t max_messages, max_rcpts;
};

static int usage_of(const struct session *s, struct usage *u)
{
	struct directory *d = directory_thread();
	struct dir_user du;
	if (d == NULL || dir_user_get(d, s->auth_user, &du) != 1)
		return -1;
	const struct config *cfg = s->sd->cfg;
	u->max_messages = du.max_messages >= 0 ? (uint64_t)du.max_messages
					       : cfg->submission_max_messages;
	u->max_rcpts = du.max_recipients >= 0 ? (uint64_t)du.max_recipients
					      : cfg->submission_max_recipients;
	dir_user_clear(&du);
	int64_t now = (int64_t)time(NULL);
	return dir_sends_usage(d, s->auth_user, now - HOUR, &u->messages,
			       &u->rcpts, &u->oldest);
}

/* When the oldest message in the window leaves it. */
static long retry_in(const struct usage *u)
{
	long wait = (long)(u->oldest + HOUR - (int64_t)time(NULL));
	return wait > 0 ? wait : 1;
}

bool smtpd_submission_mail(struct session *s, const char *sender)
{
	int ok = sender[0] == '\0' ? 1 : may_send_as(s, sender);
	if (ok < 0) {
		session_reply(s, 451, "4.3.0", "Temporary lookup failure");
		return false;
	}
	if (ok == 0) {
		log_info("session=%s event=sender-refused user=%s", s->id,
			 s->auth_user);
		session_reply(s, 553, "5.7.1", "Sender address not owned by %s",
			      s->auth_user);
		return false;
	}
	struct usage u;
	if (usage_of(s, &u) < 0) {
		session_reply(s, 451, "4.3.0", "Temporary lookup failure");
		return false;
	}
	if (u.messages >= u.max_messages) {
		log_info("session=%s event=rate-limited user=%s messages=%u", s->id,
			 s->auth_user, u.messages);
		session_reply(s, 451, "4.7.1",
			      "Limit of %llu messages an hour reached; try again "
			      "in %ld seconds",
			      (unsigned long long)u.max_messages, retry_in(&u));
		return false;
	}
	return true;
}

bool smtpd_submission_rcpt(struct session *s)
{
	struct usage u;
	if (usage_of(s, &u) < 0) {
		session_reply(s, 451, "4.3.0", "Temporary lookup failure");
		return false;
	}
	if (u.rcpts + s->tx.n_rcpts + 1 > u.max_rcpts) {
		session_reply(s, 451, "4.7.1",
			      "Limit of %llu recipients an hour reached; try again "
			      "in %ld seconds",
			      (unsigned long long)u.max_rcpts, retry_in(&u));
		return false;
	}
	return true;
}

void smtpd_submission_count(const char *user, unsigned rcpts)
{
	struct directory *d = directory_thread();
	if (d == NULL || dir_sends_record(d, user, (int64_t)time(NULL), rcpts) < 0)
		log_error("user=%s event=count-failed note=\"the hourly limit "
			  "misses a message\"", user);
}

/* Every address in every From: must be one the user may send as. */
static bool check_from(struct session *s, const char *hdr, size_t len)
{
	struct header_field f;
	struct mailbox mb[FROM_MAX];
	size_t pos = 0, n;
	unsigned froms = 0;
	char text[ADDR_TEXT_MAX];
	while (header_next(hdr, len, &pos, &f) == 1) {
		if (!header_is(&f, "From"))
			continue;
		froms++;
		if (rfc5322_address_list(f.value, f.value_len, mb, FROM_MAX, &n) < 0 ||
		    n == 0) {
			session_reply(s, 554, "5.6.0", "Invalid From header");
			return false;
		}
		if (s->tx.from_domain[0] == '\0')
			memcpy(s->tx.from_domain, mb[0].domain,
			       sizeof(s->tx.from_domain));
		for (size_t i = 0; i < n; i++) {
			mailbox_format(&mb[i], text);
			int ok = may_send_as(s, text);
			if (ok != 1) {
				if (ok < 0)
					session_reply(s, 451, "4.3.0",
						      "Temporary lookup failure");
				else
					session_reply(s, 553, "5.7.1",
						      "From address not owned by %s",
						      s->auth_user);
				return false;
			}
		}
	}
	if (froms == 0)
		session_reply(s, 554, "5.6.0", "Message has no From header");
	return froms > 0;
}

static void add_header(struct session *s, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void add_header(struct session *s, const char *fmt, ...)
{
	struct buf b;
	va_list ap;
	buf_init(&b, 0);
	va_start(ap, fmt);
	int rc = buf_vappendf(&b, fmt, ap);
	va_end(ap);
	if (rc == 0)
		spool_msg_prepend(s->tx.msg, b.data, b.len);
	buf_free(&b);
}

bool smtpd_submission_data(struct session *s)
{
	const char *hdr = buf_cstr(&s->tx.headers);
	size_t len = s->tx.headers.len;
	if (!check_from(s, hdr, len))
		return false;
	/* RFC 6409 8.2, 8.3: a submission server may add what is missing */
	if (header_count(hdr, len, "Date") == 0) {
		char date[RFC5322_DATE_MAX];
		rfc5322_date(time(NULL), date);
		add_header(s, "Date: %s\n", date);
	}
	if (header_count(hdr, len, "Message-ID") == 0) {
		unsigned char rnd[6];
		random_bytes(rnd, sizeof(rnd));
		add_header(s, "Message-ID: <%s.%02x%02x%02x%02x%02x%02x@%s>\n",
			   s->tx.queue_id, rnd[0], rnd[1], rnd[2], rnd[3], rnd[4],
			   rnd[5], s->sd->cfg->hostname);
	}
	if (s->sd->cfg->submission_originating_ip)
		add_header(s, "X-Originating-IP: [%s]\n", s->peer_ip);
	return true;
}
