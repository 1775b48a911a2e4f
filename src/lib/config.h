/* config: the configuration file.
 *
 * Format: "key = value" lines, grouped under "[section]" or "[section name]"
 * headers; "#" starts a comment line. Every parameter is declared once, in
 * the table in config.c, with its type, default, limits and help text: the
 * parser, the defaults, `postern config check` and docs/configuration.md all
 * come from that table. */
#ifndef POSTERN_LIB_CONFIG_H
#define POSTERN_LIB_CONFIG_H

#include "lib/buf.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* mx and submission speak SMTP; imap (STARTTLS, 143) and imaps (TLS from
 * the first byte, 993) speak IMAP (src/imapd/); pop3 (STLS, 110) and pop3s
 * (TLS from the first byte, 995) speak POP3 (src/pop3d/). */
enum listener_role {
	ROLE_MX,
	ROLE_SUBMISSION,
	ROLE_IMAP,
	ROLE_IMAPS,
	ROLE_POP3,
	ROLE_POP3S
};
enum listener_tls { LISTENER_TLS_NONE, LISTENER_TLS_STARTTLS, LISTENER_TLS_IMPLICIT };
enum tls_min_version { TLS_MIN_1_2, TLS_MIN_1_3 };
enum client_certs { CLIENT_CERTS_NONE, CLIENT_CERTS_REQUEST, CLIENT_CERTS_REQUIRE };
/* How outbound delivery to a destination uses TLS (RFC 7435 terms). */
enum tls_policy {
	TLS_POLICY_NONE,    /* plaintext, even if STARTTLS is offered */
	TLS_POLICY_MAY,     /* STARTTLS when offered, any certificate */
	TLS_POLICY_ENCRYPT, /* TLS required, any certificate */
	TLS_POLICY_VERIFY,  /* TLS required, chain and host name verified */
	TLS_POLICY_DANE,    /* RFC 7672: TLSA-verified TLS where the MX host
			       has validated TLSA records, else as MAY */
	TLS_POLICY_DANE_ONLY, /* TLSA-verified TLS, or that host is not used */
};

struct listener_config {
	char *name;
	char *address; /* one or more "ip:port", separated by spaces */
	int role;      /* enum listener_role */
	int tls;       /* enum listener_tls */
	bool require_tls;
	bool auth;            /* offer AUTH (always on submission listeners) */
	int client_certs;     /* enum client_certs */
	unsigned line;
};

struct cert_config {
	char *name; /* the SNI host name it serves, "*.example.org" allowed */
	char *certificate;
	char *key;
	unsigned line;
};

/* [route DOMAIN]: how mail for one destination domain ("*": every
 * domain without a route of its own) leaves. */
struct route_config {
	char *name;     /* the destination domain, lower case, or "*" */
	char *next_hop; /* "host:port" instead of the MX records, or "" */
	int tls;        /* enum tls_policy */
	char *ca_file;  /* CAs trusted for verify (instead of the system's) */
	char *fingerprint; /* SHA-256 of the peer certificate, pinned */
	bool relay;     /* accept mail for DOMAIN on mx listeners, for next_hop */
	char *auth_user;          /* AUTH at next_hop as this user, or "" */
	char *auth_password_file; /* the password, first line of this file */
	char *auth_password;      /* read from it at start-up, or NULL */
	unsigned line;
};

struct config {
	char *path;
	/* top level */
	char *hostname;
	char *data_dir;
	char *user;
	char *postmaster;
	int log_level; /* enum log_level */
	char *log_file;
	uint64_t workers;
	uint64_t io_threads;
	/* [tls] */
	char *tls_certificate;
	char *tls_key;
	bool tls_session_tickets;
	char *tls_ciphers;
	int tls_min_version;
	char *tls_client_ca;
	/* [auth] */
	char *auth_mechanisms;
	uint64_t auth_failure_delay_ms;
	uint64_t auth_failure_delay_max_ms;
	uint64_t auth_failure_memory_ms;
	uint64_t auth_max_failures;
	/* [submission] */
	uint64_t submission_max_messages;
	uint64_t submission_max_recipients;
	bool submission_originating_ip;
	/* [smtp] */
	uint64_t smtp_max_message_size;
	uint64_t smtp_max_recipients;
	uint64_t smtp_max_line_length;
	uint64_t smtp_max_header_size;
	uint64_t smtp_max_hops;
	uint64_t smtp_max_errors;
	uint64_t smtp_max_connections;
	uint64_t smtp_max_connections_per_ip;
	uint64_t smtp_timeout_command_ms;
	uint64_t smtp_timeout_data_ms;
	uint64_t smtp_timeout_tls_ms;
	bool smtp_chunking;
	uint64_t smtp_timeout_auth_dns_ms;
	/* [imap] */
	uint64_t imap_max_connections;
	uint64_t imap_max_connections_per_ip;
	uint64_t imap_timeout_login_ms;
	uint64_t imap_timeout_idle_ms;
	uint64_t imap_max_message_size;
	uint64_t imap_max_errors;
	uint64_t imap_header_cache_size;
	/* [pop3] */
	uint64_t pop3_max_connections;
	uint64_t pop3_max_connections_per_ip;
	uint64_t pop3_timeout_login_ms;
	uint64_t pop3_timeout_idle_ms;
	uint64_t pop3_max_errors;
	bool pop3_mark_seen;
	/* [queue] */
	uint64_t queue_retry_min_ms;
	uint64_t queue_retry_max_ms;
	uint64_t queue_lifetime_ms;
	uint64_t queue_delay_warning_ms;
	/* [dns] */
	char *dns_resolver;
	char *dns_trust_anchor;
	int dns_mta_sts_mode; /* 0 testing, 1 enforce */
	/* [outbound] */
	uint64_t outbound_port;
	int outbound_tls; /* enum tls_policy */
	char *outbound_ca_file;
	uint64_t outbound_max_connections;
	uint64_t outbound_max_per_destination;
	uint64_t outbound_timeout_connect_ms;
	uint64_t outbound_timeout_command_ms;
	uint64_t outbound_timeout_data_ms;
	bool outbound_ipv6;
	bool outbound_mta_sts;
	bool outbound_tls_reports;
	uint64_t outbound_reuse_ms;
	/* [dkim] */
	bool dkim_sign;
	uint64_t dkim_expire_ms;
	uint64_t dkim_rotate_delay_ms;
	uint64_t dkim_retire_after_ms;
	uint64_t dkim_rsa_bits;
	/* [dmarc] */
	bool dmarc_enforce;
	char *dmarc_forwarders;
	char *dmarc_trusted_arc_sealers;
	char *dmarc_public_suffix_list;
	/* [delivery] */
	char *delivery_recipient_delimiter;
	uint64_t delivery_default_quota;

	struct listener_config *listeners;
	size_t n_listeners;
	struct cert_config *certs;
	size_t n_certs;
	struct route_config *routes;
	size_t n_routes;
};

/* Fill cfg with every default, as if from an empty file. */
void config_defaults(struct config *cfg);
/* Read path into cfg (which need not be initialised). Each problem is added to
 * errors as "path:line: message\n". Returns the number of problems; cfg is
 * usable only when that is 0, but must be freed with config_free either way. */
unsigned config_load(const char *path, struct config *cfg, struct buf *errors);
/* Parse text as if read from path (for tests). */
unsigned config_parse(const char *path, const char *text, size_t len,
		      struct config *cfg, struct buf *errors);
void config_free(struct config *cfg);

/* The parameter reference in Markdown (docs/configuration.md). */
void config_reference(struct buf *out);

/* Names of enum values, for logs and the reference. */
const char *config_role_name(int role);
/* Does a listener of this role speak IMAP (rather than SMTP)? */
bool config_role_is_imap(int role);
/* Does a listener of this role speak POP3? */
bool config_role_is_pop3(int role);
const char *config_listener_tls_name(int tls);
const char *config_tls_policy_name(int policy);
/* The route for a destination domain (lower case): its own, else "*",
 * else NULL (MX records, [outbound] tls). */
const struct route_config *config_route(const struct config *cfg,
					const char *domain);
/* The route that makes domain a relay domain (an exact [route DOMAIN] with
 * relay = yes; "*" never does), or NULL. */
const struct route_config *config_relay_route(const struct config *cfg,
					      const char *domain);
/* Read every route's auth_password_file (as root, before privileges are
 * dropped). 0, or -1 with the reason in errors. */
int config_load_secrets(struct config *cfg, struct buf *errors);

#endif
