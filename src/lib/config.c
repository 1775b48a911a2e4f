/* config: table-driven configuration file parser. */
#include "lib/config.h"

#include "lib/durable.h"
#include "lib/log.h"
#include "lib/netaddr.h"
#include "lib/parse.h"
#include "lib/util.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

enum { CONFIG_FILE_MAX = 1024 * 1024, CONFIG_LINE_MAX = 4096, NAME_MAX_LEN = 255 };

enum section {
	SEC_MAIN,
	SEC_TLS,
	SEC_SMTP,
	SEC_IMAP,
	SEC_POP3,
	SEC_QUEUE,
	SEC_DELIVERY,
	SEC_AUTH,
	SEC_SUBMISSION,
	SEC_DNS,
	SEC_OUTBOUND,
	SEC_DKIM,
	SEC_DMARC,
	SEC_LISTENER,    /* named, repeatable */
	SEC_CERTIFICATE, /* named, repeatable */
	SEC_ROUTE,       /* named, repeatable */
	SEC_COUNT
};

static const char *const section_names[SEC_COUNT] = {
	"",	    "tls",	  "smtp",     "imap",	"pop3",	"queue",
	"delivery", "auth",	  "submission", "dns", "outbound", "dkim", "dmarc", "listener",
	"certificate", "route"};

enum param_type { T_STRING, T_BOOL, T_UINT, T_SIZE, T_DURATION, T_ENUM };

static const char *const role_names[] = {"mx",   "submission", "imap",
					 "imaps", "pop3",	"pop3s", NULL};
static const char *const listener_tls_names[] = {"none", "starttls",
						  "implicit", NULL};
static const char *const tls_min_names[] = {"1.2", "1.3", NULL};
static const char *const client_cert_names[] = {"none", "request", "require",
						NULL};
static const char *const tls_policy_names[] = {"none", "may", "encrypt",
					       "verify", "dane", "dane-only",
					       NULL};
static const char *const log_level_names[] = {"error", "warn", "info",
					      "debug", NULL};
static const char *const mta_sts_modes[] = {"testing", "enforce", NULL};

struct param {
	enum section section;
	const char *name;
	enum param_type type;
	size_t offset; /* into struct config, listener_config or cert_config */
	const char *def;
	uint64_t min, max; /* for numbers */
	const char *const *choices; /* for T_ENUM */
	const char *help;
};

#define C(field) offsetof(struct config, field)
#define L(field) offsetof(struct listener_config, field)
#define K(field) offsetof(struct cert_config, field)
#define R(field) offsetof(struct route_config, field)
#define MiB (1024ULL * 1024)

static const struct param params[] = {
	{SEC_MAIN, "hostname", T_STRING, C(hostname), "", 0, 0, NULL,
	 "Name of this server in greetings and Received headers; empty: the "
	 "system host name."},
	{SEC_MAIN, "data_dir", T_STRING, C(data_dir), "/var/lib/postern", 0, 0,
	 NULL,
	 "Directory of the directory database (postern.db), the queue (spool/) "
	 "and the mailboxes (mail/)."},
	{SEC_MAIN, "user", T_STRING, C(user), "postern", 0, 0, NULL,
	 "Unprivileged account the server runs as after binding its ports and "
	 "loading its keys, when started as root."},
	{SEC_MAIN, "postmaster", T_STRING, C(postmaster), "", 0, 0, NULL,
	 "Address that <postmaster> and postmaster@ of every local domain "
	 "reach when that domain has no postmaster of its own (RFC 5321 "
	 "4.5.1); empty: postmaster@hostname."},
	{SEC_MAIN, "log_level", T_ENUM, C(log_level), "info", 0, 0,
	 log_level_names, "Least severe events logged."},
	{SEC_MAIN, "log_file", T_STRING, C(log_file), "", 0, 0, NULL,
	 "File the log is appended to; empty: standard error."},
	{SEC_MAIN, "workers", T_UINT, C(workers), "0", 0, 256, NULL,
	 "Event-loop threads serving connections; 0: one per CPU."},
	{SEC_MAIN, "io_threads", T_UINT, C(io_threads), "16", 1, 256, NULL,
	 "Threads for blocking disk work (fsync, delivery); more lets the disk "
	 "merge more fsyncs."},

	{SEC_TLS, "certificate", T_STRING, C(tls_certificate), "", 0, 0, NULL,
	 "PEM certificate chain served when no [certificate NAME] matches the "
	 "client's SNI; required when a listener uses TLS."},
	{SEC_TLS, "key", T_STRING, C(tls_key), "", 0, 0, NULL,
	 "PEM private key of tls.certificate."},
	{SEC_TLS, "session_tickets", T_BOOL, C(tls_session_tickets), "no", 0, 0,
	 NULL,
	 "Offer TLS session tickets. Off by default: some Microsoft servers "
	 "fail STARTTLS when offered them."},
	{SEC_TLS, "ciphers", T_STRING, C(tls_ciphers),
	 "ECDHE+AESGCM:ECDHE+CHACHA20", 0, 0, NULL,
	 "OpenSSL cipher list for TLS 1.2 (TLS 1.3 suites are OpenSSL's)."},
	{SEC_TLS, "min_version", T_ENUM, C(tls_min_version), "1.2", 0, 0,
	 tls_min_names, "Oldest TLS version accepted; never below 1.2."},
	{SEC_TLS, "client_ca", T_STRING, C(tls_client_ca), "", 0, 0, NULL,
	 "PEM file of the CAs whose client certificates are trusted (for "
	 "AUTH EXTERNAL); needed by listeners with client_certificates."},

	{SEC_SMTP, "max_message_size", T_SIZE, C(smtp_max_message_size), "35M",
	 1024, 2048 * MiB, NULL,
	 "Largest message accepted (advertised with SIZE); larger: 552 5.3.4."},
	{SEC_SMTP, "max_recipients", T_UINT, C(smtp_max_recipients), "100", 1,
	 100000, NULL,
	 "Recipients per message; more: 452 4.5.3 (RFC 5321 asks for at least "
	 "100)."},
	{SEC_SMTP, "max_line_length", T_UINT, C(smtp_max_line_length), "1000",
	 1000, 1000000, NULL,
	 "Longest text line of a message, CRLF included (RFC 5321 4.5.3.1.6); "
	 "longer: 500 5.5.2."},
	{SEC_SMTP, "max_header_size", T_SIZE, C(smtp_max_header_size), "1M",
	 4096, 64 * MiB, NULL,
	 "Largest header section of a message; larger: 552 5.3.4."},
	{SEC_SMTP, "max_hops", T_UINT, C(smtp_max_hops), "50", 5, 1000, NULL,
	 "Received headers a message may carry; more means a mail loop: "
	 "554 5.4.6."},
	{SEC_SMTP, "max_errors", T_UINT, C(smtp_max_errors), "20", 1, 1000,
	 NULL, "Error replies in one session before 421 and disconnect."},
	{SEC_SMTP, "max_connections", T_UINT, C(smtp_max_connections), "2000", 1,
	 1000000, NULL, "Simultaneous SMTP connections; more get 421."},
	{SEC_SMTP, "max_connections_per_ip", T_UINT,
	 C(smtp_max_connections_per_ip), "50", 1, 1000000, NULL,
	 "Simultaneous connections from one IPv4 address or IPv6 /64; more get "
	 "421."},
	{SEC_SMTP, "timeout_command", T_DURATION, C(smtp_timeout_command_ms),
	 "5m", 100, 3600000, NULL,
	 "Time a client has to send a whole command line (RFC 5321 4.5.3.2.7); "
	 "a dribbling client does not extend it."},
	{SEC_SMTP, "timeout_data", T_DURATION, C(smtp_timeout_data_ms), "5m",
	 100, 3600000, NULL,
	 "Longest silence while a message is being sent (RFC 5321 4.5.3.2.7)."},
	{SEC_SMTP, "timeout_tls_handshake", T_DURATION, C(smtp_timeout_tls_ms),
	 "30s", 100, 600000, NULL, "Time a client has to finish a TLS handshake."},
	{SEC_SMTP, "timeout_auth_dns", T_DURATION, C(smtp_timeout_auth_dns_ms),
	 "20s", 100, 300000, NULL,
	 "Time all the DNS questions about one received message (its DKIM "
	 "keys, SPF, the DMARC record) have together; what has no answer by "
	 "then counts as temperror."},
	{SEC_SMTP, "chunking", T_BOOL, C(smtp_chunking), "yes", 0, 0, NULL,
	 "Offer CHUNKING (BDAT, RFC 3030); checked as strictly as DATA."},

	{SEC_IMAP, "max_connections", T_UINT, C(imap_max_connections), "1000",
	 1, 1000000, NULL, "Simultaneous IMAP connections; more are refused."},
	{SEC_IMAP, "max_connections_per_ip", T_UINT,
	 C(imap_max_connections_per_ip), "20", 1, 1000000, NULL,
	 "Simultaneous IMAP connections from one IPv4 address or IPv6 /64 "
	 "(a mail program opens several per account)."},
	{SEC_IMAP, "timeout_login", T_DURATION, C(imap_timeout_login_ms), "1m",
	 100, 3600000, NULL,
	 "Time a client has, from connecting, to log in; also the longest wait "
	 "for a command before login."},
	{SEC_IMAP, "timeout_idle", T_DURATION, C(imap_timeout_idle_ms), "30m",
	 100, 86400000, NULL,
	 "Longest silence of a logged-in client, IDLE included (RFC 9051 5.4 "
	 "asks for at least 30 minutes; shorter values are for tests)."},
	{SEC_IMAP, "max_message_size", T_SIZE, C(imap_max_message_size), "35M",
	 1024, 2048 * MiB, NULL,
	 "Largest message APPEND takes (and so the largest literal after "
	 "login); larger: BAD [TOOBIG], refused before a byte of it is read."},
	{SEC_IMAP, "max_errors", T_UINT, C(imap_max_errors), "20", 1, 1000,
	 NULL, "BAD replies in one session before BYE and disconnect."},
	{SEC_IMAP, "header_cache_size", T_SIZE, C(imap_header_cache_size),
	 "64M", 0, 16384 * MiB, NULL,
	 "Memory for the header blocks of messages, shared by all IMAP "
	 "sessions, so that SEARCH, SORT and THREAD on header fields do not "
	 "read every message file again (a FETCH that reads messages fills "
	 "it too); whole folders are evicted, least recently used first. A "
	 "header longer than 64K is not kept. 0 turns the cache off."},

	{SEC_POP3, "max_connections", T_UINT, C(pop3_max_connections), "1000",
	 1, 1000000, NULL, "Simultaneous POP3 connections; more are refused."},
	{SEC_POP3, "max_connections_per_ip", T_UINT,
	 C(pop3_max_connections_per_ip), "10", 1, 1000000, NULL,
	 "Simultaneous POP3 connections from one IPv4 address or IPv6 /64."},
	{SEC_POP3, "timeout_login", T_DURATION, C(pop3_timeout_login_ms), "1m",
	 100, 3600000, NULL,
	 "Time a client has, from connecting, to log in."},
	{SEC_POP3, "timeout_idle", T_DURATION, C(pop3_timeout_idle_ms), "10m",
	 100, 86400000, NULL,
	 "Longest silence of a logged-in client (RFC 1939 3 asks for at least "
	 "10 minutes; shorter values are for tests). The maildrop lock is "
	 "released when the session ends."},
	{SEC_POP3, "max_errors", T_UINT, C(pop3_max_errors), "20", 1, 1000,
	 NULL, "-ERR replies to bad commands in one session before the "
	 "connection is closed."},
	{SEC_POP3, "mark_seen", T_BOOL, C(pop3_mark_seen), "yes", 0, 0, NULL,
	 "At QUIT, flag the messages retrieved with RETR (not TOP) as \\Seen "
	 "(and so move them from new/ to cur/), as Dovecot does by default, so "
	 "that an IMAP client of the same mailbox sees them as read."},

	{SEC_QUEUE, "retry_min", T_DURATION, C(queue_retry_min_ms), "5m", 100,
	 86400000, NULL, "First wait before a deferred delivery is retried."},
	{SEC_QUEUE, "retry_max", T_DURATION, C(queue_retry_max_ms), "4h", 100,
	 86400000, NULL, "Longest wait between retries (the wait doubles)."},
	{SEC_QUEUE, "lifetime", T_DURATION, C(queue_lifetime_ms), "5d", 1000,
	 60ULL * 86400000, NULL,
	 "How long a message may stay deferred before it is given up."},
	{SEC_QUEUE, "delay_warning", T_DURATION, C(queue_delay_warning_ms),
	 "4h", 0, 60ULL * 86400000, NULL,
	 "After this long in the queue the sender gets one notice that the "
	 "message is delayed and still being tried (RFC 3464); 0: never."},

	{SEC_DELIVERY, "recipient_delimiter", T_STRING,
	 C(delivery_recipient_delimiter), "+", 0, 0, NULL,
	 "Characters that start an address extension: user+tag@domain reaches "
	 "user@domain. Empty: none."},
	{SEC_DELIVERY, "default_quota", T_SIZE, C(delivery_default_quota), "0",
	 0, UINT64_MAX, NULL,
	 "Mailbox quota for users created without --quota; 0: no limit."},

	{SEC_AUTH, "mechanisms", T_STRING, C(auth_mechanisms),
	 "PLAIN LOGIN SCRAM-SHA-256 SCRAM-SHA-256-PLUS EXTERNAL", 0, 0, NULL,
	 "SASL mechanisms offered, after TLS only. -PLUS needs TLS 1.3 or the "
	 "extended master secret; EXTERNAL needs a trusted client "
	 "certificate. Without PLAIN and LOGIN no password crosses the wire: "
	 "IMAP's LOGIN command and POP3's USER/PASS are refused too."},
	{SEC_AUTH, "failure_delay", T_DURATION, C(auth_failure_delay_ms), "2s",
	 0, 600000, NULL,
	 "Wait after the first failed login from an address (an IPv4 address "
	 "or IPv6 /64, across all its connections); it doubles with each "
	 "further failure."},
	{SEC_AUTH, "failure_delay_max", T_DURATION, C(auth_failure_delay_max_ms),
	 "15s", 0, 3600000, NULL, "Longest wait after failed logins."},
	{SEC_AUTH, "failure_memory", T_DURATION, C(auth_failure_memory_ms), "15m",
	 1000, 86400000, NULL,
	 "How long failures from an address are remembered."},
	{SEC_AUTH, "max_failures", T_UINT, C(auth_max_failures), "3", 1, 100,
	 NULL, "Failed logins after which a connection is closed."},

	{SEC_SUBMISSION, "max_messages_per_hour", T_UINT,
	 C(submission_max_messages), "250", 1, 10000000, NULL,
	 "Messages one user may send in any hour (per user: postern user "
	 "limits); more: 451 4.7.1."},
	{SEC_SUBMISSION, "max_recipients_per_hour", T_UINT,
	 C(submission_max_recipients), "1000", 1, 100000000, NULL,
	 "Recipients one user may send to in any hour; more: 451 4.7.1."},
	{SEC_SUBMISSION, "x_originating_ip", T_BOOL,
	 C(submission_originating_ip), "yes", 0, 0, NULL,
	 "Add X-Originating-IP with the sender's address to submitted mail; "
	 "turn off for the senders' privacy."},

	{SEC_DNS, "resolver", T_STRING, C(dns_resolver), "system", 0, 0, NULL,
	 "Where DNS questions go: `system` forwards to the name servers of "
	 "/etc/resolv.conf, `recursive` asks the root servers and down, and "
	 "a list of addresses forwards there, such as 127.0.0.1@5353."},
	{SEC_DNS, "mta_sts_mode", T_ENUM, C(dns_mta_sts_mode), "testing", 0, 0,
	 mta_sts_modes,
	 "The MTA-STS policy (RFC 8461) postern dns prints for our domains: "
	 "testing (senders report TLS failures but deliver anyway) or "
	 "enforce (they deliver only over verified TLS to our MX: only with "
	 "a publicly trusted certificate, once TLS-RPT reports are clean)."},
	{SEC_DNS, "trust_anchor", T_STRING, C(dns_trust_anchor),
	 "/usr/share/dns/root.key", 0, 0, NULL,
	 "DNSSEC trust anchor file (Debian package dns-root-data); answers "
	 "are validated here, so DANE can trust them. Empty or missing: no "
	 "validation: `dane` then works as `may`, and `dane-only` "
	 "destinations wait."},

	{SEC_OUTBOUND, "port", T_UINT, C(outbound_port), "25", 1, 65535, NULL,
	 "Port of the MX hosts mail is delivered to."},
	{SEC_OUTBOUND, "tls", T_ENUM, C(outbound_tls), "dane", 0, 0,
	 tls_policy_names,
	 "TLS for destinations without a [route]: none, may (STARTTLS when "
	 "offered), encrypt (TLS required), verify (TLS required, certificate "
	 "and MX name verified), dane (RFC 7672: an MX host with "
	 "DNSSEC-validated TLSA records gets TLS verified by them, others "
	 "`may`), dane-only (hosts without such records are not used)."},
	{SEC_OUTBOUND, "ca_file", T_STRING, C(outbound_ca_file), "", 0, 0, NULL,
	 "PEM file of the CAs trusted when verifying peers; empty: the "
	 "system's."},
	{SEC_OUTBOUND, "max_connections", T_UINT, C(outbound_max_connections),
	 "50", 1, 1000, NULL, "Deliveries to other servers at the same time."},
	{SEC_OUTBOUND, "max_per_destination", T_UINT,
	 C(outbound_max_per_destination), "20", 1, 1000, NULL,
	 "Of those, at most this many to one destination (a domain, or a "
	 "next_hop) at once, so that one slow domain cannot hold them all; "
	 "the rest wait their turn."},
	{SEC_OUTBOUND, "timeout_connect", T_DURATION,
	 C(outbound_timeout_connect_ms), "30s", 100, 600000, NULL,
	 "Time a server has to accept a connection (and to finish a TLS "
	 "handshake)."},
	{SEC_OUTBOUND, "timeout_command", T_DURATION,
	 C(outbound_timeout_command_ms), "5m", 100, 3600000, NULL,
	 "Time a server has to reply to a command (RFC 5321 4.5.3.2)."},
	{SEC_OUTBOUND, "timeout_data", T_DURATION, C(outbound_timeout_data_ms),
	 "10m", 100, 3600000, NULL,
	 "Time a server has to accept the message after its last byte."},
	{SEC_OUTBOUND, "reuse_time", T_DURATION, C(outbound_reuse_ms), "5s", 0,
	 300000, NULL,
	 "How long a connection stays open after a message, for the next "
	 "message to the same server under the same TLS policy (saves the "
	 "handshake); 0: one connection per message."},
	{SEC_OUTBOUND, "tls_reports", T_BOOL, C(outbound_tls_reports), "yes", 0,
	 0, NULL,
	 "Keep the outcome of every TLS attempt to other domains and send each "
	 "domain that asks for them (an _smtp._tls TXT record, RFC 8460) a "
	 "daily JSON report."},
	{SEC_OUTBOUND, "mta_sts", T_BOOL, C(outbound_mta_sts), "yes", 0, 0,
	 NULL,
	 "Honour the MTA-STS policies of destinations (RFC 8461): an "
	 "`enforce` policy makes TLS with a verified certificate required "
	 "and limits which MX hosts are used. Applies where the TLS policy is "
	 "may or dane and there is no next_hop; DANE wins where both exist."},
	{SEC_OUTBOUND, "ipv6", T_BOOL, C(outbound_ipv6), "yes", 0, 0, NULL,
	 "Deliver over IPv6 too (to AAAA addresses)."},

	{SEC_DKIM, "sign", T_BOOL, C(dkim_sign), "yes", 0, 0, NULL,
	 "Sign mail that users submit From one of our domains with that "
	 "domain's active keys (postern dkim keygen): rsa-sha256 and "
	 "ed25519-sha256 side by side, relaxed/relaxed."},
	{SEC_DKIM, "expire", T_DURATION, C(dkim_expire_ms), "7d", 60000,
	 UINT64_C(31536000000), NULL,
	 "How long a signature stays valid (x=), so that a signed message "
	 "cannot be replayed for ever. At most retire_after."},
	{SEC_DKIM, "rotate_delay", T_DURATION, C(dkim_rotate_delay_ms), "2d",
	 0, UINT64_C(31536000000), NULL,
	 "After postern dkim rotate, how long the new key is published before "
	 "it signs, for the DNS record to reach every cache."},
	{SEC_DKIM, "retire_after", T_DURATION, C(dkim_retire_after_ms), "14d",
	 0, UINT64_C(31536000000), NULL,
	 "After a rotation switched over, how long the old key stays "
	 "published, so that mail it signed can still be verified; then it is "
	 "retired (dropped from postern dns)."},
	{SEC_DMARC, "enforce", T_BOOL, C(dmarc_enforce), "yes", 0, 0, NULL,
	 "Act on the DMARC policy of the From domain of mail from other "
	 "servers that fails DMARC: p=reject is refused with 550 5.7.1 at the "
	 "end of DATA, p=quarantine is delivered to the recipient's Junk "
	 "folder. no: the results are only recorded (Authentication-Results). "
	 "A domain can choose otherwise: postern domain set DOMAIN dmarc "
	 "reject|quarantine|none."},
	{SEC_DMARC, "forwarders", T_STRING, C(dmarc_forwarders), "", 0, 0, NULL,
	 "Addresses or networks (192.0.2.0/24, 2001:db8::/32; blanks between) "
	 "of servers known to forward mail here, such as mailing lists: their "
	 "mail is never refused or quarantined for DMARC (results are still "
	 "recorded). A domain can add its own: postern domain set DOMAIN "
	 "dmarc-forwarders NETWORKS."},
	{SEC_DMARC, "trusted_arc_sealers", T_STRING, C(dmarc_trusted_arc_sealers),
	 "", 0, 0, NULL,
	 "Domains (blanks between) whose ARC seals are trusted: mail that "
	 "fails DMARC but arrives with a passing ARC chain last sealed by one "
	 "of them (a mailing list or forwarder that checked it) is not "
	 "refused or quarantined; Authentication-Results says so."},
	{SEC_DMARC, "public_suffix_list", T_STRING, C(dmarc_public_suffix_list),
	 "/usr/share/publicsuffix/public_suffix_list.dat", 0, 0, NULL,
	 "The Public Suffix List (Debian package publicsuffix) that tells "
	 "organisational domains apart (example.co.uk from co.uk) for relaxed "
	 "alignment; read at start. Missing: the list built into libpsl."},
	{SEC_DKIM, "rsa_bits", T_UINT, C(dkim_rsa_bits), "2048", 1024, 4096,
	 NULL, "Size of new RSA keys (RFC 8301: at least 1024; 2048 is what "
	 "receivers expect)."},

	{SEC_LISTENER, "address", T_STRING, L(address), "", 0, 0, NULL,
	 "Where to listen: one or more ip:port, [ipv6]:port or *:port, "
	 "separated by spaces. Required."},
	{SEC_LISTENER, "role", T_ENUM, L(role), "mx", 0, 0, role_names,
	 "mx: receive mail for local domains from anyone (port 25); "
	 "submission: authenticated sending (ports 587, 465); imap: reading "
	 "mail over IMAP with STARTTLS (143); imaps: IMAP with TLS from the "
	 "first byte (993; tls is then implicit); pop3: POP3 with STLS (110); "
	 "pop3s: POP3 with TLS from the first byte (995; tls is then "
	 "implicit)."},
	{SEC_LISTENER, "tls", T_ENUM, L(tls), "starttls", 0, 0,
	 listener_tls_names,
	 "starttls: offer STARTTLS (RFC 3207); implicit: TLS from the first "
	 "byte (RFC 8314); none: plaintext only."},
	{SEC_LISTENER, "require_tls", T_BOOL, L(require_tls), "no", 0, 0, NULL,
	 "Refuse MAIL (530 5.7.0) until the client has started TLS."},
	{SEC_LISTENER, "auth", T_BOOL, L(auth), "no", 0, 0, NULL,
	 "Offer AUTH (after TLS) on an mx listener too; submission listeners "
	 "always offer it and require it before MAIL."},
	{SEC_LISTENER, "client_certificates", T_ENUM, L(client_certs), "none", 0,
	 0, client_cert_names,
	 "Ask TLS clients for a certificate (request), or refuse those without "
	 "a trusted one (require); for AUTH EXTERNAL. Needs [tls] client_ca."},

	{SEC_CERTIFICATE, "certificate", T_STRING, K(certificate), "", 0, 0,
	 NULL, "PEM certificate chain served to clients asking for NAME by SNI."},
	{SEC_CERTIFICATE, "key", T_STRING, K(key), "", 0, 0, NULL,
	 "PEM private key of that certificate."},

	{SEC_ROUTE, "tls", T_ENUM, R(tls), "dane", 0, 0, tls_policy_names,
	 "TLS for mail to DOMAIN (the name of the section; * for every "
	 "other domain): none, may, encrypt, verify, dane or dane-only, as "
	 "in [outbound]. A route that requires TLS never falls back to "
	 "plaintext: the mail waits, then bounces."},
	{SEC_ROUTE, "next_hop", T_STRING, R(next_hop), "", 0, 0, NULL,
	 "host:port to hand DOMAIN's mail to instead of its MX hosts (a "
	 "smarthost, or an internal server); verify checks the certificate "
	 "against host."},
	{SEC_ROUTE, "ca_file", T_STRING, R(ca_file), "", 0, 0, NULL,
	 "PEM file of the only CAs trusted for this route (with tls = "
	 "verify)."},
	{SEC_ROUTE, "fingerprint", T_STRING, R(fingerprint), "", 0, 0, NULL,
	 "SHA-256 fingerprint (hex, colons allowed) the peer's certificate "
	 "must have; implies TLS required."},
	{SEC_ROUTE, "relay", T_BOOL, R(relay), "no", 0, 0, NULL,
	 "Accept mail for DOMAIN from anyone on mx listeners and hand it to "
	 "next_hop (fronting an internal server). Every local part is "
	 "accepted: the internal server's refusals become bounces."},
	{SEC_ROUTE, "auth_user", T_STRING, R(auth_user), "", 0, 0, NULL,
	 "Log in at next_hop as this user (AUTH PLAIN, or LOGIN), only inside "
	 "TLS with a verified server: needs tls = verify or dane-only, or a "
	 "fingerprint."},
	{SEC_ROUTE, "auth_password_file", T_STRING, R(auth_password_file), "",
	 0, 0, NULL,
	 "File whose first line is auth_user's password; read as root at "
	 "start-up, so it can be root's alone (mode 0600)."},
};

const struct route_config *config_relay_route(const struct config *cfg,
					      const char *domain)
{
	for (size_t i = 0; i < cfg->n_routes; i++)
		if (cfg->routes[i].relay && strcasecmp(cfg->routes[i].name, domain) == 0)
			return &cfg->routes[i];
	return NULL;
}

int config_load_secrets(struct config *cfg, struct buf *errors)
{
	for (size_t i = 0; i < cfg->n_routes; i++) {
		struct route_config *r = &cfg->routes[i];
		if (r->auth_password_file[0] == '\0' || r->auth_password != NULL)
			continue;
		char *data;
		size_t len;
		if (read_file(r->auth_password_file, 4096, &data, &len) < 0) {
			buf_appendf(errors, "route %s: cannot read %s: %s\n",
				    r->name, r->auth_password_file,
				    strerror(errno));
			return -1;
		}
		size_t n = 0;
		while (n < len && data[n] != '\r' && data[n] != '\n')
			n++;
		bool nul = memchr(data, '\0', n) != NULL;
		data[n] = '\0';
		if (n == 0 || nul) {
			buf_appendf(errors, "route %s: %s holds no password on "
				    "its first line\n", r->name,
				    r->auth_password_file);
			explicit_bzero(data, len);
			free(data);
			return -1;
		}
		r->auth_password = data;
	}
	return 0;
}

const char *config_role_name(int role)
{
	return role >= 0 && role <= ROLE_POP3S ? role_names[role] : "?";
}

bool config_role_is_imap(int role)
{
	return role == ROLE_IMAP || role == ROLE_IMAPS;
}

bool config_role_is_pop3(int role)
{
	return role == ROLE_POP3 || role == ROLE_POP3S;
}

const char *config_listener_tls_name(int tls)
{
	return tls >= 0 && tls < 3 ? listener_tls_names[tls] : "?";
}

const char *config_tls_policy_name(int policy)
{
	return policy >= 0 && policy <= TLS_POLICY_DANE_ONLY
		       ? tls_policy_names[policy]
		       : "?";
}

const struct route_config *config_route(const struct config *cfg,
					const char *domain)
{
	const struct route_config *star = NULL;
	for (size_t i = 0; i < cfg->n_routes; i++) {
		if (strcmp(cfg->routes[i].name, domain) == 0)
			return &cfg->routes[i];
		if (strcmp(cfg->routes[i].name, "*") == 0)
			star = &cfg->routes[i];
	}
	return star;
}

/* ------------------------------------------------------------ values */

struct parse_ctx {
	const char *path;
	unsigned line;
	struct buf *errors;
	unsigned n_errors;
	enum section section;
	void *target; /* the struct the current section's keys go to */
	/* where each parameter was set (0: default), for duplicates and for
	 * errors found after parsing; named sections start afresh */
	unsigned set_line[ARRAY_LEN(params)];
};

static void add_error(struct parse_ctx *ctx, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void add_error(struct parse_ctx *ctx, const char *fmt, ...)
{
	va_list ap;
	if (ctx->line > 0)
		buf_appendf(ctx->errors, "%s:%u: ", ctx->path, ctx->line);
	else
		buf_appendf(ctx->errors, "%s: ", ctx->path);
	va_start(ap, fmt);
	buf_vappendf(ctx->errors, fmt, ap);
	va_end(ap);
	buf_append_byte(ctx->errors, '\n');
	ctx->n_errors++;
}

static int set_enum(const struct param *p, const char *value, int *out)
{
	for (int i = 0; p->choices[i] != NULL; i++)
		if (strcmp(value, p->choices[i]) == 0) {
			*out = i;
			return 0;
		}
	return -1;
}

static int set_number(const struct param *p, const char *value,
		      uint64_t *out)
{
	uint64_t v;
	int rc;
	if (p->type == T_SIZE)
		rc = parse_size(value, &v);
	else if (p->type == T_DURATION)
		rc = parse_duration_ms(value, &v);
	else
		rc = parse_u64(value, strlen(value), UINT64_MAX, &v);
	if (rc < 0 || v < p->min || v > p->max)
		return -1;
	*out = v;
	return 0;
}

/* Store value into the field p describes; -1 when the value is invalid. */
static int set_value(const struct param *p, void *target, const char *value)
{
	char *field = (char *)target + p->offset;
	switch (p->type) {
	case T_STRING: {
		char *copy = strdup(value);
		if (copy == NULL)
			return -1;
		free(*(char **)(void *)field);
		*(char **)(void *)field = copy;
		return 0;
	}
	case T_BOOL:
		return parse_bool(value, (bool *)(void *)field);
	case T_ENUM:
		return set_enum(p, value, (int *)(void *)field);
	case T_UINT:
	case T_SIZE:
	case T_DURATION:
		return set_number(p, value, (uint64_t *)(void *)field);
	}
	return -1;
}

static const char *type_hint(const struct param *p, char *tmp, size_t n)
{
	switch (p->type) {
	case T_BOOL:
		return "yes or no";
	case T_SIZE:
		return "a size such as 10M";
	case T_DURATION:
		return "a duration such as 30s, 5m or 4h";
	case T_UINT:
		return "a whole number";
	case T_ENUM: {
		size_t o = 0;
		tmp[0] = '\0';
		for (int i = 0; p->choices[i] != NULL && o < n; i++) {
			int w = snprintf(tmp + o, n - o, "%s%s", i ? ", " : "one of: ",
					 p->choices[i]);
			if (w < 0)
				break;
			o += (size_t)w;
		}
		return tmp;
	}
	case T_STRING:
		break;
	}
	return "text";
}

static void apply_defaults(enum section sec, void *target)
{
	for (size_t i = 0; i < ARRAY_LEN(params); i++)
		if (params[i].section == sec &&
		    set_value(&params[i], target, params[i].def) < 0)
			abort(); /* a default that does not parse is a bug */
}

void config_defaults(struct config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	for (enum section s = SEC_MAIN; s < SEC_LISTENER; s++)
		apply_defaults(s, cfg);
}

/* ------------------------------------------------------------ sections */

static bool valid_section_name(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > NAME_MAX_LEN)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '-' || c == '_' ||
		      c == '.' || c == '*'))
			return false;
	}
	return true;
}

static void *new_listener(struct parse_ctx *ctx, struct config *cfg,
			  const char *name)
{
	for (size_t i = 0; i < cfg->n_listeners; i++)
		if (strcmp(cfg->listeners[i].name, name) == 0) {
			add_error(ctx, "listener '%s' is defined twice", name);
			return NULL;
		}
	struct listener_config *l = reallocarray(
		cfg->listeners, cfg->n_listeners + 1, sizeof(*l));
	if (l == NULL)
		return NULL;
	cfg->listeners = l;
	l = &cfg->listeners[cfg->n_listeners++];
	memset(l, 0, sizeof(*l));
	apply_defaults(SEC_LISTENER, l);
	l->name = strdup(name);
	l->line = ctx->line;
	return l;
}

static void *new_cert(struct parse_ctx *ctx, struct config *cfg,
		      const char *name)
{
	for (size_t i = 0; i < cfg->n_certs; i++)
		if (strcasecmp(cfg->certs[i].name, name) == 0) {
			add_error(ctx, "certificate '%s' is defined twice", name);
			return NULL;
		}
	struct cert_config *k =
		reallocarray(cfg->certs, cfg->n_certs + 1, sizeof(*k));
	if (k == NULL)
		return NULL;
	cfg->certs = k;
	k = &cfg->certs[cfg->n_certs++];
	memset(k, 0, sizeof(*k));
	apply_defaults(SEC_CERTIFICATE, k);
	k->name = strdup(name);
	ascii_lower(k->name, strlen(k->name));
	k->line = ctx->line;
	return k;
}

static void *new_route(struct parse_ctx *ctx, struct config *cfg,
		       const char *name)
{
	for (size_t i = 0; i < cfg->n_routes; i++)
		if (strcasecmp(cfg->routes[i].name, name) == 0) {
			add_error(ctx, "route '%s' is defined twice", name);
			return NULL;
		}
	struct route_config *r =
		reallocarray(cfg->routes, cfg->n_routes + 1, sizeof(*r));
	if (r == NULL)
		return NULL;
	cfg->routes = r;
	r = &cfg->routes[cfg->n_routes++];
	memset(r, 0, sizeof(*r));
	apply_defaults(SEC_ROUTE, r);
	r->name = strdup(name);
	ascii_lower(r->name, strlen(r->name));
	r->line = ctx->line;
	return r;
}

/* "[smtp]" or "[listener submission]": switch the current section. */
static void parse_section(struct parse_ctx *ctx, struct config *cfg, char *s)
{
	size_t n = strlen(s);
	if (s[n - 1] != ']') {
		add_error(ctx, "section header must end with ']'");
		ctx->target = NULL;
		return;
	}
	s[n - 1] = '\0';
	char *name = s + 1, *arg = strchr(name, ' ');
	if (arg != NULL) {
		*arg++ = '\0';
		arg += strspn(arg, " \t");
	}
	ctx->target = NULL;
	for (size_t i = 0; i < ARRAY_LEN(params); i++)
		if (params[i].section >= SEC_LISTENER)
			ctx->set_line[i] = 0;
	for (enum section sec = SEC_TLS; sec < SEC_COUNT; sec++) {
		if (strcmp(name, section_names[sec]) != 0)
			continue;
		ctx->section = sec;
		bool named = sec >= SEC_LISTENER;
		if (named && (arg == NULL || !valid_section_name(arg))) {
			add_error(ctx, "[%s] needs a name: [%s NAME]", name, name);
			return;
		}
		if (!named && arg != NULL && *arg != '\0') {
			add_error(ctx, "[%s] takes no name", name);
			return;
		}
		if (sec == SEC_LISTENER)
			ctx->target = new_listener(ctx, cfg, arg);
		else if (sec == SEC_CERTIFICATE)
			ctx->target = new_cert(ctx, cfg, arg);
		else if (sec == SEC_ROUTE)
			ctx->target = new_route(ctx, cfg, arg);
		else
			ctx->target = cfg;
		return;
	}
	add_error(ctx, "unknown section [%s]", name);
}

static const struct param *find_param(enum section sec, const char *key,
				      size_t *index_r)
{
	for (size_t i = 0; i < ARRAY_LEN(params); i++)
		if (params[i].section == sec &&
		    strcmp(params[i].name, key) == 0) {
			*index_r = i;
			return &params[i];
		}
	return NULL;
}

static void parse_setting(struct parse_ctx *ctx, char *s)
{
	char *eq = strchr(s, '=');
	if (eq == NULL) {
		add_error(ctx, "expected 'key = value'");
		return;
	}
	char *key = s, *value = eq + 1;
	char *kend = eq;
	while (kend > key && (kend[-1] == ' ' || kend[-1] == '\t'))
		kend--;
	*kend = '\0';
	value += strspn(value, " \t");
	if (ctx->target == NULL)
		return; /* the section header was already reported */
	size_t idx;
	const struct param *p = find_param(ctx->section, key, &idx);
	const char *sec = section_names[ctx->section];
	if (p == NULL) {
		add_error(ctx, "unknown setting '%s'%s%s%s", key,
			  *sec ? " in [" : "", sec, *sec ? "]" : "");
		return;
	}
	if (ctx->set_line[idx] != 0) {
		add_error(ctx, "'%s' is set twice", key);
		return;
	}
	ctx->set_line[idx] = ctx->line;
	if (set_value(p, ctx->target, value) < 0) {
		char tmp[128];
		add_error(ctx, "invalid value '%s' for '%s': expected %s", value,
			  key, type_hint(p, tmp, sizeof(tmp)));
	}
}

/* Strip the trailing newline/CR and surrounding blanks of one line. */
static char *trim(char *s)
{
	s += strspn(s, " \t");
	size_t n = strlen(s);
	while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t' ||
			 s[n - 1] == '\r' || s[n - 1] == '\n'))
		s[--n] = '\0';
	return s;
}

static void parse_line(struct parse_ctx *ctx, struct config *cfg, char *line)
{
	char *s = trim(line);
	if (*s == '\0' || *s == '#')
		return;
	if (*s == '[')
		parse_section(ctx, cfg, s);
	else
		parse_setting(ctx, s);
}

/* ------------------------------------------------------------ checks */

static bool valid_hostname(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > 253)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '-' || c == '.'))
			return false;
	}
	return s[0] != '.' && s[0] != '-';
}

/* Point error messages at the line that set a top-level or [section] key
 * (0, no line, when it kept its default). */
static void at(struct parse_ctx *ctx, enum section sec, const char *key)
{
	size_t idx;
	ctx->line = find_param(sec, key, &idx) != NULL ? ctx->set_line[idx] : 0;
}

/* imaps and pop3s are IMAP and POP3 over TLS from the first byte (RFC
 * 8314): their tls, whose default is starttls, becomes implicit. */
static void imap_listener_tls(struct listener_config *l)
{
	if ((l->role == ROLE_IMAPS || l->role == ROLE_POP3S) &&
	    l->tls == LISTENER_TLS_STARTTLS)
		l->tls = LISTENER_TLS_IMPLICIT;
}

static void check_listener(struct parse_ctx *ctx, const struct config *cfg,
			   const struct listener_config *l)
{
	ctx->line = l->line;
	if (l->address[0] == '\0') {
		add_error(ctx, "listener '%s' has no address", l->name);
		return;
	}
	const char *cursor = l->address, *word;
	size_t n;
	while (next_word(&cursor, &word, &n)) {
		char a[NETADDR_TEXT_MAX];
		struct sockaddr_storage ss;
		socklen_t len;
		const char *why = "too long";
		bool ok = n < sizeof(a);
		if (ok) {
			memcpy(a, word, n);
			a[n] = '\0';
			ok = netaddr_parse(a, &ss, &len, &why) == 0;
		}
		if (!ok)
			add_error(ctx, "listener '%s': address '%.*s': %s",
				  l->name, (int)n, word, why);
	}
	if (l->tls != LISTENER_TLS_NONE && (cfg->tls_certificate[0] == '\0' ||
					    cfg->tls_key[0] == '\0'))
		add_error(ctx,
			  "listener '%s' uses TLS, but [tls] certificate and "
			  "key are not set",
			  l->name);
	if (l->client_certs != CLIENT_CERTS_NONE && cfg->tls_client_ca[0] == '\0')
		add_error(ctx, "listener '%s': client_certificates needs [tls] "
			       "client_ca", l->name);
	if (config_role_is_imap(l->role) && l->tls == LISTENER_TLS_NONE)
		add_error(ctx, "listener '%s': IMAP needs tls = starttls or "
			       "implicit (nobody may log in without TLS)", l->name);
	if (l->role == ROLE_IMAP && l->tls == LISTENER_TLS_IMPLICIT)
		add_error(ctx, "listener '%s': use role = imaps for IMAP with "
			       "implicit TLS", l->name);
	if (config_role_is_pop3(l->role) && l->tls == LISTENER_TLS_NONE)
		add_error(ctx, "listener '%s': POP3 needs tls = starttls or "
			       "implicit (nobody may log in without TLS)", l->name);
	if (l->role == ROLE_POP3 && l->tls == LISTENER_TLS_IMPLICIT)
		add_error(ctx, "listener '%s': use role = pop3s for POP3 with "
			       "implicit TLS", l->name);
	if (l->require_tls && l->tls == LISTENER_TLS_NONE)
		add_error(ctx, "listener '%s': require_tls needs tls = starttls "
			       "or implicit", l->name);
}

static bool valid_fingerprint(const char *s)
{
	size_t hex = 0;
	for (; *s != '\0'; s++) {
		if (*s == ':')
			continue;
		if (!((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'f') ||
		      (*s >= 'A' && *s <= 'F')))
			return false;
		hex++;
	}
	return hex == 64;
}

static void check_route(struct parse_ctx *ctx, const struct route_config *r)
{
	ctx->line = r->line;
	if (strcmp(r->name, "*") != 0 && !valid_hostname(r->name))
		add_error(ctx, "route '%s': not a domain name (or *)", r->name);
	if (r->next_hop[0] != '\0') {
		const char *colon = strrchr(r->next_hop, ':');
		uint64_t port;
		if (colon == NULL || colon == r->next_hop ||
		    parse_u64(colon + 1, strlen(colon + 1), 65535, &port) < 0 ||
		    port == 0)
			add_error(ctx, "route '%s': next_hop must be host:port",
				  r->name);
	}
	if (r->relay && (strcmp(r->name, "*") == 0 || r->next_hop[0] == '\0'))
		add_error(ctx, "route '%s': relay needs a domain and a next_hop "
			       "(else the mail would come back to us)", r->name);
	if ((r->auth_user[0] != '\0') != (r->auth_password_file[0] != '\0'))
		add_error(ctx, "route '%s': auth_user and auth_password_file go "
			       "together", r->name);
	if (r->auth_user[0] != '\0' && r->next_hop[0] == '\0')
		add_error(ctx, "route '%s': auth_user needs a next_hop", r->name);
	/* the password goes only to a server whose identity is checked */
	if (r->auth_user[0] != '\0' && r->tls != TLS_POLICY_VERIFY &&
	    r->tls != TLS_POLICY_DANE_ONLY && r->fingerprint[0] == '\0')
		add_error(ctx, "route '%s': auth_user needs a verified server: "
			       "tls = verify or dane-only, or a fingerprint",
			  r->name);
	if (r->fingerprint[0] != '\0' && !valid_fingerprint(r->fingerprint))
		add_error(ctx, "route '%s': fingerprint must be 64 hex digits "
			       "(SHA-256)", r->name);
}

static void check_config(struct parse_ctx *ctx, struct config *cfg)
{
	at(ctx, SEC_MAIN, "hostname");
	if (cfg->hostname[0] == '\0') {
		char host[256];
		if (gethostname(host, sizeof(host)) == 0) {
			host[sizeof(host) - 1] = '\0';
			free(cfg->hostname);
			cfg->hostname = strdup(host);
		}
	}
	if (!valid_hostname(cfg->hostname))
		add_error(ctx, "hostname '%s' is not a valid host name",
			  cfg->hostname);
	at(ctx, SEC_MAIN, "postmaster");
	if (cfg->postmaster[0] == '\0') {
		size_t n = strlen(cfg->hostname) + sizeof("postmaster@");
		char *pm = malloc(n);
		if (pm != NULL) {
			snprintf(pm, n, "postmaster@%s", cfg->hostname);
			free(cfg->postmaster);
			cfg->postmaster = pm;
		}
	} else if (strchr(cfg->postmaster, '@') == NULL) {
		add_error(ctx, "postmaster must be an address (user@domain)");
	}
	at(ctx, SEC_MAIN, "data_dir");
	if (cfg->data_dir[0] != '/')
		add_error(ctx, "data_dir must be an absolute path");
	at(ctx, SEC_DELIVERY, "recipient_delimiter");
	if (strpbrk(cfg->delivery_recipient_delimiter, "@ \t\"\\") != NULL)
		add_error(ctx, "recipient_delimiter may not hold '@', quotes, "
			       "backslashes or blanks");
	at(ctx, SEC_AUTH, "failure_delay");
	if (cfg->auth_failure_delay_ms > cfg->auth_failure_delay_max_ms)
		add_error(ctx, "auth failure_delay is longer than failure_delay_max");
	at(ctx, SEC_DKIM, "retire_after");
	if (cfg->dkim_retire_after_ms < cfg->dkim_expire_ms)
		/* a key must stay published while its signatures are valid */
		add_error(ctx, "dkim retire_after is shorter than expire: a "
			       "retired key would leave valid signatures "
			       "unverifiable");
	at(ctx, SEC_DMARC, "forwarders");
	const char *bad;
	if (netaddr_in_networks("", cfg->dmarc_forwarders, &bad) < 0)
		add_error(ctx, "dmarc forwarders: '%.*s' is not an address or "
			       "network", (int)strcspn(bad, " \t,"), bad);
	at(ctx, SEC_QUEUE, "retry_min");
	if (cfg->queue_retry_min_ms > cfg->queue_retry_max_ms)
		add_error(ctx, "queue retry_min is longer than retry_max");
	at(ctx, SEC_TLS, cfg->tls_certificate[0] == '\0' ? "key" : "certificate");
	if ((cfg->tls_certificate[0] == '\0') != (cfg->tls_key[0] == '\0'))
		add_error(ctx, "[tls] needs both certificate and key");
	ctx->line = 0;
	if (cfg->n_listeners == 0)
		add_error(ctx, "no [listener NAME] section: the server would "
			       "not listen anywhere");
	for (size_t i = 0; i < cfg->n_listeners; i++) {
		imap_listener_tls(&cfg->listeners[i]);
		check_listener(ctx, cfg, &cfg->listeners[i]);
	}
	for (size_t i = 0; i < cfg->n_routes; i++)
		check_route(ctx, &cfg->routes[i]);
	for (size_t i = 0; i < cfg->n_certs; i++) {
		ctx->line = cfg->certs[i].line;
		if (cfg->certs[i].certificate[0] == '\0' ||
		    cfg->certs[i].key[0] == '\0')
			add_error(ctx, "certificate '%s' needs certificate and key",
				  cfg->certs[i].name);
	}
}

unsigned config_parse(const char *path, const char *text, size_t len,
		      struct config *cfg, struct buf *errors)
{
	config_defaults(cfg);
	cfg->path = strdup(path);
	struct parse_ctx ctx = {.path = path, .errors = errors,
				.section = SEC_MAIN, .target = cfg};
	char line[CONFIG_LINE_MAX];
	size_t pos = 0;
	while (pos < len) {
		const char *nl = memchr(text + pos, '\n', len - pos);
		size_t n = nl != NULL ? (size_t)(nl - (text + pos)) : len - pos;
		ctx.line++;
		if (n >= sizeof(line) || memchr(text + pos, '\0', n) != NULL)
			add_error(&ctx, "line too long or holds a NUL byte");
		else {
			memcpy(line, text + pos, n);
			line[n] = '\0';
			parse_line(&ctx, cfg, line);
		}
		pos += n + 1;
	}
	if (ctx.n_errors == 0)
		check_config(&ctx, cfg);
	return ctx.n_errors;
}

unsigned config_load(const char *path, struct config *cfg, struct buf *errors)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) < 0 || st.st_size > CONFIG_FILE_MAX) {
		buf_appendf(errors, "%s: %s\n", path,
			    fd < 0 ? strerror(errno) : "file too large");
		if (fd >= 0)
			close(fd);
		config_defaults(cfg);
		return 1;
	}
	char *text = malloc((size_t)st.st_size + 1);
	ssize_t got = text != NULL ? read(fd, text, (size_t)st.st_size) : -1;
	close(fd);
	if (got != st.st_size) {
		buf_appendf(errors, "%s: cannot read the file\n", path);
		free(text);
		config_defaults(cfg);
		return 1;
	}
	unsigned n = config_parse(path, text, (size_t)got, cfg, errors);
	free(text);
	return n;
}

static void free_strings(enum section sec, void *target)
{
	for (size_t i = 0; i < ARRAY_LEN(params); i++)
		if (params[i].section == sec && params[i].type == T_STRING) {
			char **field = (char **)(void *)((char *)target +
							 params[i].offset);
			free(*field);
			*field = NULL;
		}
}

void config_free(struct config *cfg)
{
	for (enum section s = SEC_MAIN; s < SEC_LISTENER; s++)
		free_strings(s, cfg);
	for (size_t i = 0; i < cfg->n_listeners; i++) {
		free_strings(SEC_LISTENER, &cfg->listeners[i]);
		free(cfg->listeners[i].name);
	}
	for (size_t i = 0; i < cfg->n_certs; i++) {
		free_strings(SEC_CERTIFICATE, &cfg->certs[i]);
		free(cfg->certs[i].name);
	}
	for (size_t i = 0; i < cfg->n_routes; i++) {
		free_strings(SEC_ROUTE, &cfg->routes[i]);
		free(cfg->routes[i].name);
		if (cfg->routes[i].auth_password != NULL) {
			explicit_bzero(cfg->routes[i].auth_password,
				       strlen(cfg->routes[i].auth_password));
			free(cfg->routes[i].auth_password);
		}
	}
	free(cfg->routes);
	free(cfg->listeners);
	free(cfg->certs);
	free(cfg->path);
	memset(cfg, 0, sizeof(*cfg));
}

/* ------------------------------------------------------------ reference */

void config_reference(struct buf *out)
{
	buf_append_str(out,
		       "# Configuration reference\n\n"
		       "Generated by `postern config reference` from the "
		       "parameter table in src/lib/config.c; do not edit by "
		       "hand (`make docs` rewrites it).\n\n"
		       "The file holds `key = value` lines under `[section]` "
		       "headers; `#` starts a comment line. Sizes take K, M, "
		       "G or T; durations take ms, s, m, h or d. "
		       "See etc/postern.conf.example.\n");
	enum section last = SEC_COUNT;
	for (size_t i = 0; i < ARRAY_LEN(params); i++) {
		const struct param *p = &params[i];
		if (p->section != last) {
			last = p->section;
			if (last == SEC_MAIN)
				buf_append_str(out, "\n## Top level\n\n");
			else if (last >= SEC_LISTENER)
				buf_appendf(out, "\n## [%s NAME]\n\n",
					    section_names[last]);
			else
				buf_appendf(out, "\n## [%s]\n\n",
					    section_names[last]);
			buf_append_str(out, "| key | default | meaning |\n"
					    "| --- | --- | --- |\n");
		}
		char tmp[128];
		buf_appendf(out, "| `%s` | `%s` | %s", p->name, p->def, p->help);
		if (p->type != T_STRING)
			buf_appendf(out, " (%s)", type_hint(p, tmp, sizeof(tmp)));
		buf_append_str(out, " |\n");
	}
}
