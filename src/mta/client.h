/* client: the outbound SMTP client (RFC 5321, 3207, 2920, 1870, 6152, 6531).
 *
 * Blocking, with a timeout on every read and write: it runs on a delivery
 * thread, one connection per call, never on an event loop. It speaks to one
 * address of one host, applies the TLS policy it is given, and reports a
 * result per recipient. It never sends a command after the greeting in
 * plaintext when the policy requires TLS, and after STARTTLS it throws away
 * whatever the server sent before the handshake (response injection). */
#ifndef POSTERN_MTA_CLIENT_H
#define POSTERN_MTA_CLIENT_H

#include "lib/config.h"
#include "mta/route.h"
#include "queue/spool.h"

#include <openssl/ssl.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

enum { MTA_WHY_MAX = 512 };

/* TLS contexts for outbound connections, made once (loading CA stores is
 * slow): the system's or [outbound] ca_file, and one per route ca_file. */
struct mta_tls;
struct mta_tls *mta_tls_new(const struct config *cfg, struct buf *errors);
void mta_tls_free(struct mta_tls **t);
/* Shutting down: end every session under way (their reads fail at once)
 * and refuse new ones. Thread-safe. */
void mta_abort_all(struct mta_tls *t);
/* Sessions are kept open for [outbound] reuse_time after a transaction,
 * so that the next message to the same server under the same TLS terms
 * skips the connection and the handshake; this closes (QUIT) those kept
 * longer. Call now and then. Thread-safe. */
void mta_reap_idle(struct mta_tls *t);

/* Where to connect and how. */
struct mta_target {
	const char *host;   /* MX (or next hop) name: SNI and verification */
	const struct sockaddr *addr;
	socklen_t addr_len;
	int tls;            /* enum tls_policy; TLS_POLICY_DANE here means
			       "required, verified by these TLSA records" */
	const char *ca_file;     /* route's CA file, or NULL */
	const char *fingerprint; /* pinned SHA-256, or NULL */
	const struct route_tlsa *tlsa; /* for TLS_POLICY_DANE */
	size_t n_tlsa;
	/* RFC 7672 3.2.3: with DANE-TA the certificate must name the MX host
	 * or, when the MX records were validated, the next-hop domain */
	const char *dane_domain; /* NULL, or the next-hop domain */
	bool sts; /* TLS_POLICY_VERIFY because of an MTA-STS policy */
	const char *auth_user;     /* log in (RFC 4954) as this, or NULL */
	const char *auth_password;
};

enum mta_status { MTA_OK, MTA_TEMP, MTA_PERM };

struct mta_rcpt_result {
	enum mta_status status;
	char reply[MTA_WHY_MAX]; /* the server's reply, or our reason */
};

/* What became of the connection, for the log line. */
struct mta_report {
	char tls_version[16];
	char cipher[64];
	bool verified;
	const char *verified_by; /* "pkix", "dane", "mta-sts", "fingerprint"
				    or "none" */
	bool connected;
	bool reused; /* a session kept open from an earlier message */
	/* when TLS failed, its RFC 8460 4.3 result type (for TLS-RPT):
	 * "starttls-not-supported", "certificate-host-mismatch", ... */
	const char *tls_failure;
};

/* Deliver q to the recipients rcpts[0..n) (indices into q->env.rcpts).
 * Returns MTA_OK when the session worked (each rcpt has its own result),
 * MTA_TEMP/MTA_PERM when the whole attempt failed (why says why, and no
 * result is set): the caller then tries the next address. */
enum mta_status mta_deliver(const struct config *cfg, struct mta_tls *tls,
			    const struct mta_target *t, const struct queued *q,
			    const size_t *rcpts, size_t n,
			    struct mta_rcpt_result *results,
			    struct mta_report *report, char why[MTA_WHY_MAX]);

#endif
