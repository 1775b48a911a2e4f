/* Tests for src/lib/config.c: values, defaults, and one error message with
 * the right "path:line:" for each kind of mistake. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "lib/config.h"

#include "lib/log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A valid file needs a host name it can check and a listener; TLS "none"
 * so that no certificate is needed. */
#define HOST     "hostname = mail.example.org\n"
#define LISTENER "[listener mx]\naddress = 127.0.0.1:25\ntls = none\n"

static unsigned parse_len(const char *text, size_t len, struct config *cfg,
                          struct buf *errors)
{
	buf_init(errors, 0);
	return config_parse("test.conf", text, len, cfg, errors);
}

static unsigned parse(const char *text, struct config *cfg, struct buf *errors)
{
	return parse_len(text, strlen(text), cfg, errors);
}

/* The 1-based number of the line of text that starts with prefix. */
static unsigned line_of(const char *text, const char *prefix)
{
	unsigned line = 1;
	for (const char *p = text; *p != '\0'; line++) {
		if (strncmp(p, prefix, strlen(prefix)) == 0)
			return line;
		p = strchr(p, '\n');
		if (p == NULL)
			break;
		p++;
	}
	fail_msg("no line starts with '%s'", prefix);
	return 0;
}

static unsigned count_lines(const char *s)
{
	unsigned n = 0;
	for (; *s != '\0'; s++)
		n += *s == '\n';
	return n;
}

/* ------------------------------------------------------------ valid */

static const char FULL[] = "# Postern test configuration\n"
                           "\n"
                           "hostname = mail.example.org\n"
                           "data_dir = /srv/postern\n"
                           "user = mail\n"
                           "postmaster = admin@example.org\n"
                           "   # an indented comment\n"
                           "log_level = debug\n"
                           "log_file = /var/log/postern.log\n"
                           "workers = 4\n"
                           "io_threads = 8\n"
                           "\n"
                           "[tls]\n"
                           "certificate = /etc/postern/cert.pem\n"
                           "key = /etc/postern/key.pem\n"
                           "session_tickets = yes\n"
                           "ciphers = ECDHE+AESGCM\n"
                           "min_version = 1.3\n"
                           "\n"
                           "[smtp]\n"
                           "max_message_size = 10M\n"
                           "max_recipients = 500\n"
                           "max_line_length = 2000\n"
                           "max_header_size = 64K\n"
                           "\tmax_hops\t=\t30  \n"
                           "max_errors=5\n"
                           "max_connections = 100\n"
                           "max_connections_per_ip = 10\n"
                           "timeout_command = 5m\n"
                           "timeout_data = 10m\n"
                           "timeout_tls_handshake = 15s\n"
                           "chunking = off\n"
                           "\n"
                           "[queue]\n"
                           "retry_min = 1m\n"
                           "retry_max = 2h\n"
                           "lifetime = 3d\n"
                           "\n"
                           "[delivery]\n"
                           "recipient_delimiter = +-\n"
                           "default_quota = 1G\n"
                           "\n"
                           "[listener mx]\n"
                           "address = 0.0.0.0:25 [::]:25\n"
                           "role = mx\n"
                           "tls = starttls\n"
                           "\n"
                           "[listener submission]\n"
                           "address = 127.0.0.1:587\n"
                           "role = submission\n"
                           "tls = implicit\n"
                           "require_tls = true\n"
                           "\n"
                           "[certificate Mail.Example.NET]\n"
                           "certificate = /etc/postern/net.pem\n"
                           "key = /etc/postern/net.key\n";

static void full_config(void **state)
{
	struct config cfg;
	struct buf err;
	assert_int_equal(parse(FULL, &cfg, &err), 0);
	assert_string_equal(buf_cstr(&err), "");
	assert_string_equal(cfg.path, "test.conf");
	assert_string_equal(cfg.hostname, "mail.example.org");
	assert_string_equal(cfg.data_dir, "/srv/postern");
	assert_string_equal(cfg.user, "mail");
	assert_string_equal(cfg.postmaster, "admin@example.org");
	assert_int_equal(cfg.log_level, LOG_LEVEL_DEBUG);
	assert_string_equal(cfg.log_file, "/var/log/postern.log");
	assert_int_equal(cfg.workers, 4);
	assert_int_equal(cfg.io_threads, 8);
	assert_string_equal(cfg.tls_certificate, "/etc/postern/cert.pem");
	assert_string_equal(cfg.tls_key, "/etc/postern/key.pem");
	assert_true(cfg.tls_session_tickets);
	assert_string_equal(cfg.tls_ciphers, "ECDHE+AESGCM");
	assert_int_equal(cfg.tls_min_version, TLS_MIN_1_3);
	assert_int_equal(cfg.smtp_max_message_size, 10485760);
	assert_int_equal(cfg.smtp_max_recipients, 500);
	assert_int_equal(cfg.smtp_max_line_length, 2000);
	assert_int_equal(cfg.smtp_max_header_size, 65536);
	assert_int_equal(cfg.smtp_max_hops, 30);
	assert_int_equal(cfg.smtp_max_errors, 5);
	assert_int_equal(cfg.smtp_max_connections, 100);
	assert_int_equal(cfg.smtp_max_connections_per_ip, 10);
	assert_int_equal(cfg.smtp_timeout_command_ms, 300000);
	assert_int_equal(cfg.smtp_timeout_data_ms, 600000);
	assert_int_equal(cfg.smtp_timeout_tls_ms, 15000);
	assert_false(cfg.smtp_chunking);
	assert_int_equal(cfg.queue_retry_min_ms, 60000);
	assert_int_equal(cfg.queue_retry_max_ms, 7200000);
	assert_int_equal(cfg.queue_lifetime_ms, 259200000);
	assert_string_equal(cfg.delivery_recipient_delimiter, "+-");
	assert_int_equal(cfg.delivery_default_quota, 1073741824);

	assert_int_equal(cfg.n_listeners, 2);
	const struct listener_config *mx = &cfg.listeners[0];
	const struct listener_config *sub = &cfg.listeners[1];
	assert_string_equal(mx->name, "mx");
	assert_string_equal(mx->address, "0.0.0.0:25 [::]:25");
	assert_int_equal(mx->role, ROLE_MX);
	assert_int_equal(mx->tls, LISTENER_TLS_STARTTLS);
	assert_false(mx->require_tls);
	assert_int_equal(mx->line, line_of(FULL, "[listener mx]"));
	assert_string_equal(sub->name, "submission");
	assert_string_equal(sub->address, "127.0.0.1:587");
	assert_int_equal(sub->role, ROLE_SUBMISSION);
	assert_int_equal(sub->tls, LISTENER_TLS_IMPLICIT);
	assert_true(sub->require_tls);
	assert_int_equal(sub->line, line_of(FULL, "[listener submission]"));

	assert_int_equal(cfg.n_certs, 1);
	assert_string_equal(cfg.certs[0].name, "mail.example.net");
	assert_string_equal(cfg.certs[0].certificate, "/etc/postern/net.pem");
	assert_string_equal(cfg.certs[0].key, "/etc/postern/net.key");
	assert_int_equal(cfg.certs[0].line, line_of(FULL, "[certificate"));
	config_free(&cfg);
	assert_null(cfg.listeners);
	assert_null(cfg.hostname);
	buf_free(&err);
}

/* The same file with CR LF line ends and no final newline. */
static void crlf_and_no_final_newline(void **state)
{
	struct buf text;
	buf_init(&text, 0);
	for (const char *p = FULL; *p != '\0'; p++) {
		if (*p == '\n')
			buf_append_byte(&text, '\r');
		buf_append_byte(&text, *p);
	}
	buf_truncate(&text, text.len - 2);
	struct config cfg;
	struct buf err;
	assert_int_equal(parse_len(text.data, text.len, &cfg, &err), 0);
	assert_string_equal(cfg.certs[0].key, "/etc/postern/net.key");
	assert_int_equal(cfg.smtp_max_hops, 30);
	assert_string_equal(cfg.listeners[1].address, "127.0.0.1:587");
	config_free(&cfg);
	buf_free(&err);
	buf_free(&text);
}

static void defaults(void **state)
{
	struct config cfg;
	config_defaults(&cfg);
	assert_string_equal(cfg.hostname, "");
	assert_string_equal(cfg.data_dir, "/var/lib/postern");
	assert_string_equal(cfg.user, "postern");
	assert_string_equal(cfg.postmaster, "");
	assert_int_equal(cfg.log_level, LOG_LEVEL_INFO);
	assert_string_equal(cfg.log_file, "");
	assert_int_equal(cfg.workers, 0);
	assert_int_equal(cfg.io_threads, 16);
	assert_string_equal(cfg.tls_certificate, "");
	assert_string_equal(cfg.tls_key, "");
	assert_false(cfg.tls_session_tickets);
	assert_string_equal(cfg.tls_ciphers, "ECDHE+AESGCM:ECDHE+CHACHA20");
	assert_int_equal(cfg.tls_min_version, TLS_MIN_1_2);
	assert_int_equal(cfg.smtp_max_message_size, 35 * 1024 * 1024);
	assert_int_equal(cfg.smtp_max_recipients, 100);
	assert_int_equal(cfg.smtp_max_line_length, 1000);
	assert_int_equal(cfg.smtp_max_header_size, 1024 * 1024);
	assert_int_equal(cfg.smtp_max_hops, 50);
	assert_int_equal(cfg.smtp_max_errors, 20);
	assert_int_equal(cfg.smtp_max_connections, 2000);
	assert_int_equal(cfg.smtp_max_connections_per_ip, 50);
	assert_int_equal(cfg.smtp_timeout_command_ms, 300000);
	assert_int_equal(cfg.smtp_timeout_data_ms, 300000);
	assert_int_equal(cfg.smtp_timeout_tls_ms, 30000);
	assert_true(cfg.smtp_chunking);
	assert_int_equal(cfg.queue_retry_min_ms, 300000);
	assert_int_equal(cfg.queue_retry_max_ms, 4 * 3600000);
	assert_int_equal(cfg.queue_lifetime_ms, 5 * 86400000ULL);
	assert_string_equal(cfg.delivery_recipient_delimiter, "+");
	assert_int_equal(cfg.delivery_default_quota, 0);
	assert_int_equal(cfg.n_listeners, 0);
	assert_int_equal(cfg.n_certs, 0);
	config_free(&cfg);
}

/* An empty file is all defaults, and one error: nowhere to listen. (The
 * host name then comes from gethostname(), which must be a valid name.) */
static void empty_file(void **state)
{
	struct config cfg;
	struct buf err;
	assert_int_equal(parse("", &cfg, &err), 1);
	const char *e = buf_cstr(&err);
	assert_int_equal(strncmp(e, "test.conf:", 10), 0);
	assert_non_null(strstr(e, "no [listener NAME] section"));
	assert_int_equal(count_lines(e), 1);
	assert_int_equal(cfg.smtp_max_hops, 50);
	config_free(&cfg);
	buf_free(&err);
	/* comments and blank lines only: the same */
	assert_int_equal(parse("# c\n\n   \n\t# d\n", &cfg, &err), 1);
	assert_non_null(strstr(buf_cstr(&err), "no [listener NAME] section"));
	config_free(&cfg);
	buf_free(&err);
}

/* A minimal file: everything not set keeps its default; the postmaster
 * defaults to postmaster@hostname and a listener to mx + starttls. */
static void minimal_file(void **state)
{
	struct config cfg;
	struct buf err;
	assert_int_equal(parse(HOST "[listener a]\naddress = *:25\n"
	                            "[tls]\ncertificate = c.pem\nkey = k.pem\n",
	                       &cfg, &err),
	                 0);
	assert_string_equal(cfg.postmaster, "postmaster@mail.example.org");
	assert_string_equal(cfg.data_dir, "/var/lib/postern");
	assert_int_equal(cfg.smtp_max_message_size, 35 * 1024 * 1024);
	assert_int_equal(cfg.n_listeners, 1);
	assert_int_equal(cfg.listeners[0].role, ROLE_MX);
	assert_int_equal(cfg.listeners[0].tls, LISTENER_TLS_STARTTLS);
	assert_false(cfg.listeners[0].require_tls);
	assert_int_equal(cfg.listeners[0].line, 2);
	config_free(&cfg);
	buf_free(&err);
}

/* ------------------------------------------------------------ errors */

struct error_case {
	const char *text;
	unsigned line;    /* the "test.conf:LINE:" expected */
	const char *want; /* a part of the message */
};

/* Exactly one error, on one line, "test.conf:LINE: ...WANT...". Returns
 * false (after saying why) when that is not what came out. */
static bool one_error(const char *text, size_t len, unsigned line,
                      const char *want, size_t i)
{
	struct config cfg;
	struct buf err;
	unsigned n = parse_len(text, len, &cfg, &err);
	const char *e = buf_cstr(&err);
	char prefix[40];
	snprintf(prefix, sizeof(prefix), "test.conf:%u: ", line);
	bool ok = n == 1 && count_lines(e) == 1 && e[err.len - 1] == '\n' &&
	          strncmp(e, prefix, strlen(prefix)) == 0 &&
	          strstr(e, want) != NULL;
	if (!ok)
		print_error(
		        "case %zu: %u error(s): '%s'; want one: '%s...%s'\n", i,
		        n, e, prefix, want);
	config_free(&cfg);
	buf_free(&err);
	return ok;
}

static void expect_one_error(const char *text, size_t len, unsigned line,
                             const char *want, size_t i)
{
	if (!one_error(text, len, line, want, i))
		fail();
}

/* Every row is tried, so that one run shows all that are wrong. */
static void check_errors(const struct error_case *t, size_t n)
{
	size_t bad = 0;
	for (size_t i = 0; i < n; i++)
		bad += !one_error(t[i].text, strlen(t[i].text), t[i].line,
		                  t[i].want, i);
	if (bad > 0)
		fail_msg("%zu of %zu cases wrong", bad, n);
}

#define CHECK_ERRORS(t) check_errors(t, sizeof(t) / sizeof((t)[0]))

static void syntax_errors(void **state)
{
	static const struct error_case t[] = {
	        {HOST "[bogus]\n", 2, "unknown section [bogus]"},
	        {"\n\n[]\n", 3, "unknown section []"},
	        {HOST "[smtp\nmax_hops = 10\n", 2,
	         "section header must end with ']'"},
	        {HOST "[listener]\naddress = 1.2.3.4:25\n", 2,
	         "[listener] needs a name: [listener NAME]"},
	        {HOST "[listener a b]\n", 2, "[listener] needs a name"},
	        {HOST "[listener a/b]\n", 2, "[listener] needs a name"},
	        {"[certificate]\n", 1, "[certificate] needs a name"},
	        {"[smtp extra]\n", 1, "[smtp] takes no name"},
	        {LISTENER "\n[listener mx]\n", 5,
	         "listener 'mx' is defined twice"},
	        {"[certificate a.example]\n[certificate A.Example]\n", 2,
	         "certificate 'A.Example' is defined twice"},
	        {HOST "hostname\n", 2, "expected 'key = value'"},
	};
	CHECK_ERRORS(t);
}

static void unknown_and_repeated_keys(void **state)
{
	static const struct error_case t[] = {
	        {HOST "nosuch = 1\n", 2, "unknown setting 'nosuch'"},
	        {"[smtp]\n\n# c\nfoo = 1\n", 4,
	         "unknown setting 'foo' in [smtp]"},
	        {"[queue]\nmax_hops = 5\n", 2,
	         "unknown setting 'max_hops' in [queue]"},
	        {"[listener a]\nmax_hops = 9\n", 2,
	         "unknown setting 'max_hops' in [listener]"},
	        {"[smtp]\nMax_Hops = 9\n", 2, "unknown setting 'Max_Hops'"},
	        {"[smtp]\nmax_hops = 10\n\nmax_hops = 20\n", 4,
	         "'max_hops' is set twice"},
	        {"[smtp]\nmax_hops = 10\n[smtp]\nmax_hops = 10\n", 4,
	         "'max_hops' is set twice"},
	        {"user = a\nuser = b\n", 2, "'user' is set twice"},
	        {"[listener a]\naddress = 1.2.3.4:25\naddress = 1.2.3.4:26\n",
	         3, "'address' is set twice"},
	};
	CHECK_ERRORS(t);
}

static void bad_values(void **state)
{
	static const struct error_case t[] = {
	        /* sizes */
	        {"[smtp]\nmax_message_size = 10Q\n", 2,
	         "invalid value '10Q' for 'max_message_size': expected a size "
	         "such as 10M"},
	        {"[smtp]\nmax_message_size = 1023\n", 2,
	         "invalid value '1023' for 'max_message_size'"},
	        {"[smtp]\nmax_message_size = 3G\n", 2,
	         "invalid value '3G' for 'max_message_size'"},
	        {"[delivery]\ndefault_quota = -1\n", 2,
	         "invalid value '-1' for 'default_quota'"},
	        /* durations */
	        {"[queue]\nretry_min = 5x\n", 2,
	         "invalid value '5x' for 'retry_min': expected a duration such "
	         "as 30s, 5m or 4h"},
	        {"[smtp]\ntimeout_command = 99ms\n", 2,
	         "invalid value '99ms' for 'timeout_command'"},
	        {"[smtp]\ntimeout_command = 2h\n", 2,
	         "invalid value '2h' for 'timeout_command'"},
	        /* booleans */
	        {"[smtp]\nchunking = maybe\n", 2,
	         "invalid value 'maybe' for 'chunking': expected yes or no"},
	        {"[listener a]\nrequire_tls =\n", 2,
	         "invalid value '' for 'require_tls'"},
	        /* enumerations */
	        {"log_level = loud\n", 1,
	         "invalid value 'loud' for 'log_level': expected one of: "
	         "error, "
	         "warn, info, debug"},
	        {"[listener a]\nrole = relay\n", 2,
	         "expected one of: mx, submission"},
	        {"[listener a]\ntls = STARTTLS\n", 2,
	         "expected one of: none, starttls, implicit"},
	        {"[tls]\nmin_version = 1.1\n", 2, "expected one of: 1.2, 1.3"},
	        /* whole numbers and their ranges */
	        {"[smtp]\nmax_hops = 4\n", 2,
	         "invalid value '4' for 'max_hops': expected a whole number"},
	        {"[smtp]\nmax_hops = 1001\n", 2, "invalid value '1001'"},
	        {"[smtp]\nmax_hops = 5x\n", 2, "invalid value '5x'"},
	        {"workers = 257\n", 1, "invalid value '257' for 'workers'"},
	        {"io_threads = 0\n", 1, "invalid value '0' for 'io_threads'"},
	        {"[smtp]\nmax_recipients = 99999999999999999999999\n", 2,
	         "invalid value '99999999999999999999999'"},
	};
	CHECK_ERRORS(t);
}

/* Checks of the whole file name the listener or certificate they are about
 * by the line of its section header. */
static void section_checks(void **state)
{
	static const struct error_case t[] = {
	        {HOST "[listener mx]\ntls = none\n", 2,
	         "listener 'mx' has no address"},
	        {HOST "\n[listener mx]\naddress = 127.0.0.1:25\n", 3,
	         "listener 'mx' uses TLS, but [tls] certificate and key are "
	         "not set"},
	        {HOST "[listener mx]\naddress = 127.0.0.1:99999\ntls = none\n",
	         2, "listener 'mx': address '127.0.0.1:99999': invalid port"},
	        {HOST "[listener mx]\naddress = mx.example:25\ntls = none\n", 2,
	         "address 'mx.example:25': invalid IPv4 address"},
	        {HOST LISTENER "[listener b]\naddress = 127.0.0.1:26 [::1]\n"
	                       "tls = none\n",
	         5, "listener 'b': address '[::1]'"},
	        {HOST "[listener mx]\naddress = 127.0.0.1:25\ntls = none\n"
	              "require_tls = yes\n",
	         2, "listener 'mx': require_tls needs tls = starttls"},
	        {HOST LISTENER "[certificate mail.example.net]\n"
	                       "certificate = /x.pem\n",
	         5, "certificate 'mail.example.net' needs certificate and key"},
	};
	CHECK_ERRORS(t);
}

static void routes(void **state)
{
	struct config cfg;
	struct buf err;
	const char *text = HOST LISTENER
		"[outbound]\ntls = verify\nport = 2525\n"
		"[route Partner.Example]\ntls = dane\n"
		"[route bank.example]\ntls = dane-only\nnext_hop = mx.bank.example:25\n"
		"[route internal.example]\nnext_hop = 10.0.0.5:25\ntls = none\n"
		"fingerprint = AB:cd:" "000000000000000000000000000000"
		"000000000000000000000000000000\n" /* 64 digits */
		"[route *]\nnext_hop = smarthost.example.net:587\ntls = encrypt\n";
	assert_int_equal(parse(text, &cfg, &err), 0);
	assert_int_equal(cfg.outbound_tls, TLS_POLICY_VERIFY);
	assert_int_equal(cfg.outbound_port, 2525);
	assert_int_equal(cfg.n_routes, 4);
	const struct route_config *r = config_route(&cfg, "partner.example");
	assert_non_null(r);
	assert_string_equal(r->name, "partner.example"); /* lower case */
	assert_int_equal(r->tls, TLS_POLICY_DANE);
	r = config_route(&cfg, "bank.example");
	assert_int_equal(r->tls, TLS_POLICY_DANE_ONLY);
	assert_string_equal(config_tls_policy_name(r->tls), "dane-only");
	r = config_route(&cfg, "internal.example");
	assert_string_equal(r->next_hop, "10.0.0.5:25");
	assert_int_equal(r->tls, TLS_POLICY_NONE);
	r = config_route(&cfg, "anything.else");
	assert_string_equal(r->name, "*");
	assert_int_equal(r->tls, TLS_POLICY_ENCRYPT);
	assert_string_equal(config_tls_policy_name(r->tls), "encrypt");
	config_free(&cfg);
	buf_free(&err);

	/* no "*": unrouted domains get NULL (MX records); DANE by default */
	assert_int_equal(parse(HOST LISTENER "[route a.example]\n", &cfg, &err), 0);
	assert_null(config_route(&cfg, "b.example"));
	assert_int_equal(cfg.outbound_tls, TLS_POLICY_DANE);
	assert_int_equal(config_route(&cfg, "a.example")->tls, TLS_POLICY_DANE);
	config_free(&cfg);
	buf_free(&err);

	static const struct error_case t[] = {
		{HOST LISTENER "[route a.example]\nnext_hop = nohost\n", 5,
		 "route 'a.example': next_hop must be host:port"},
		{HOST LISTENER "[route a.example]\nnext_hop = h:0\n", 5,
		 "next_hop must be host:port"},
		{HOST LISTENER "[route a.example]\nfingerprint = abc\n", 5,
		 "fingerprint must be 64 hex digits"},
		{HOST LISTENER "[route a.example]\ntls = maybe\n", 6,
		 "expected one of: none, may, encrypt, verify, dane, dane-only"},
		{HOST LISTENER "[route a.example]\n[route A.example]\n", 6,
		 "route 'A.example' is defined twice"},
		{HOST LISTENER "[route]\n", 5, "[route] needs a name"},
		{HOST LISTENER "[outbound]\nport = 0\n", 6, "invalid value '0'"},
	};
	CHECK_ERRORS(t);
}

/* Checks that involve several settings: one message each (their line is
 * not tested: no single line is at fault). */
static void cross_checks(void **state)
{
	static const struct {
		const char *text;
		const char *want;
	} t[] = {
	        {HOST LISTENER "[queue]\nretry_min = 3h\nretry_max = 2h\n",
	         "queue retry_min is longer than retry_max"},
	        {HOST LISTENER "[tls]\ncertificate = /c.pem\n",
	         "[tls] needs both certificate and key"},
	        {HOST "[tls]\nkey = /k.pem\n" LISTENER,
	         "[tls] needs both certificate and key"},
	        {HOST LISTENER "[dkim]\nexpire = 30d\n",
	         "dkim retire_after is shorter than expire"},
	};
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		struct config cfg;
		struct buf err;
		unsigned n = parse(t[i].text, &cfg, &err);
		const char *e = buf_cstr(&err);
		if (n != 1 || count_lines(e) != 1 ||
		    strncmp(e, "test.conf:", 10) != 0 ||
		    strstr(e, t[i].want) == NULL)
			fail_msg("case %zu: %u error(s): '%s'", i, n, e);
		config_free(&cfg);
		buf_free(&err);
	}
}

/* A setting whose value is checked after the file is read is still one
 * line's mistake, and the message should point at that line like any
 * other invalid value (config.h: each problem as "path:line: message"). */
static void late_value_checks_name_their_line(void **state)
{
	static const struct error_case t[] = {
	        {HOST "data_dir = var/lib/postern\n" LISTENER, 2,
	         "data_dir must be an absolute path"},
	        {HOST "postmaster = admin\n" LISTENER, 2,
	         "postmaster must be an address"},
	        {"hostname = -bad-\n" LISTENER, 1,
	         "hostname '-bad-' is not a valid host name"},
	        {HOST "[delivery]\nrecipient_delimiter = +@\n" LISTENER, 3,
	         "recipient_delimiter may not hold '@'"},
	};
	CHECK_ERRORS(t);
}

static void bad_lines(void **state)
{
	static const char nul[] = HOST "user = a\0b\n" LISTENER;
	expect_one_error(nul, sizeof(nul) - 1, 2,
	                 "line too long or holds a NUL byte", 0);
	/* 4095 bytes is the longest line; 4096 is refused */
	size_t n = 4096;
	char *text = malloc(n + 256);
	assert_non_null(text);
	size_t o = (size_t)snprintf(text, n + 256, "%s", "log_file = /");
	memset(text + o, 'x', 4095 - o);
	o = 4095;
	memcpy(text + o, "\n" HOST LISTENER, sizeof("\n" HOST LISTENER));
	struct config cfg;
	struct buf err;
	assert_int_equal(parse(text, &cfg, &err), 0);
	assert_int_equal(strlen(cfg.log_file), 4095 - strlen("log_file = "));
	config_free(&cfg);
	buf_free(&err);
	memmove(text + 1, text, strlen(text) + 1);
	text[0] = ' ';
	expect_one_error(text, strlen(text), 1,
	                 "line too long or holds a NUL byte", 1);
	free(text);
}

/* ------------------------------------------------------------ reference */

static void reference(void **state)
{
	struct buf out;
	buf_init(&out, 0);
	config_reference(&out);
	static const char *const want[] = {
	        "# Configuration reference\n",
	        "\n## Top level\n\n| key | default | meaning |\n",
	        "\n## [tls]\n\n",
	        "\n## [smtp]\n\n",
	        "\n## [queue]\n\n",
	        "\n## [delivery]\n\n",
	        "\n## [listener NAME]\n\n",
	        "\n## [certificate NAME]\n\n",
	        "| `max_message_size` | `35M` | ",
	        "| `timeout_command` | `5m` | ",
	        "| `recipient_delimiter` | `+` | ",
	        "| `role` | `mx` | ",
	        "(one of: error, warn, info, debug) |\n",
	};
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
		if (strstr(buf_cstr(&out), want[i]) == NULL)
			fail_msg("reference lacks '%s'", want[i]);
	/* every key of the full example is documented */
	for (const char *p = FULL; *p != '\0';) {
		const char *nl = strchr(p, '\n');
		size_t k = strspn(p, " \t");
		size_t klen = strcspn(p + k, " \t=\n");
		if (p[k] != '#' && p[k] != '[' && klen > 0) {
			char row[80];
			snprintf(row, sizeof(row), "| `%.*s` |", (int)klen,
			         p + k);
			if (strstr(buf_cstr(&out), row) == NULL)
				fail_msg("reference lacks '%s'", row);
		}
		p = nl + 1;
	}
	buf_free(&out);
}

static void enum_names(void **state)
{
	assert_string_equal(config_role_name(ROLE_MX), "mx");
	assert_string_equal(config_role_name(ROLE_SUBMISSION), "submission");
	assert_string_equal(config_role_name(ROLE_IMAP), "imap");
	assert_string_equal(config_role_name(ROLE_IMAPS), "imaps");
	assert_string_equal(config_role_name(ROLE_POP3), "pop3");
	assert_string_equal(config_role_name(ROLE_POP3S), "pop3s");
	assert_true(config_role_is_pop3(ROLE_POP3));
	assert_true(config_role_is_pop3(ROLE_POP3S));
	assert_false(config_role_is_pop3(ROLE_IMAPS));
	assert_false(config_role_is_imap(ROLE_POP3));
	assert_string_equal(config_role_name(ROLE_POP3S + 1), "?");
	assert_string_equal(config_role_name(-1), "?");
	assert_string_equal(config_listener_tls_name(LISTENER_TLS_NONE),
	                    "none");
	assert_string_equal(config_listener_tls_name(LISTENER_TLS_STARTTLS),
	                    "starttls");
	assert_string_equal(config_listener_tls_name(LISTENER_TLS_IMPLICIT),
	                    "implicit");
	assert_string_equal(config_listener_tls_name(3), "?");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(full_config),
	        cmocka_unit_test(crlf_and_no_final_newline),
	        cmocka_unit_test(defaults),
	        cmocka_unit_test(empty_file),
	        cmocka_unit_test(minimal_file),
	        cmocka_unit_test(syntax_errors),
	        cmocka_unit_test(unknown_and_repeated_keys),
	        cmocka_unit_test(bad_values),
	        cmocka_unit_test(section_checks),
	        cmocka_unit_test(routes),
	        cmocka_unit_test(cross_checks),
	        cmocka_unit_test(late_value_checks_name_their_line),
	        cmocka_unit_test(bad_lines),
	        cmocka_unit_test(reference),
	        cmocka_unit_test(enum_names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
