/* libFuzzer target: the configuration file parser (src/lib/config.c) and,
 * through it, the value parsers of src/lib/parse.c and the listener
 * addresses of src/lib/netaddr.c. Input: the text of a configuration file.
 *
 * config_parse must never crash, leak or read past the text; it reports one
 * "path:line: message" line per problem it counts; and a file it accepts
 * gives a configuration the server can use as is: every number inside the
 * limits the parameter table declares, every enum in range, every string
 * present, at least one listener with an address. */
#include "lib/config.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#define CHECK(cond)                                                            \
	do {                                                                   \
		if (!(cond))                                                   \
			__builtin_trap();                                      \
	} while (0)

static const char PATH[] = "fuzz.conf";

int LLVMFuzzerInitialize(int *argc, char ***argv);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	/* the reference comes from the same table: build it once, so that a
	 * table entry the generator trips over shows up here too */
	struct buf ref;
	buf_init(&ref, 0);
	config_reference(&ref);
	CHECK(ref.len > 0 && strlen(ref.data) == ref.len);
	CHECK(strstr(ref.data, "`max_message_size`") != NULL);
	buf_free(&ref);
	return 0;
}

/* Each problem is one line, "fuzz.conf:N: message", or "fuzz.conf: message"
 * for a check on a setting that kept its default. */
static void check_errors(const struct buf *errors, unsigned n)
{
	CHECK((errors->len == 0) == (n == 0));
	unsigned lines = 0;
	size_t start = 0;
	for (size_t i = 0; i < errors->len; i++) {
		CHECK(errors->data[i] != '\0');
		if (errors->data[i] != '\n')
			continue;
		const char *l = errors->data + start;
		CHECK(i - start > sizeof(PATH) &&
		      memcmp(l, PATH, sizeof(PATH) - 1) == 0 &&
		      l[sizeof(PATH) - 1] == ':');
		lines++;
		start = i + 1;
	}
	CHECK(start == errors->len && lines == n);
}

static bool in_range(uint64_t v, uint64_t min, uint64_t max)
{
	return v >= min && v <= max;
}

#define MiB (1024ULL * 1024)

/* The limits below restate the parameter table on purpose: a change to one
 * that is not made to the other is worth a look. */
static void check_accepted(const struct config *c)
{
	const char *strings[] = {c->path, c->hostname, c->data_dir, c->user,
				 c->postmaster, c->log_file, c->tls_certificate,
				 c->tls_key, c->tls_ciphers,
				 c->delivery_recipient_delimiter};
	for (size_t i = 0; i < sizeof(strings) / sizeof(strings[0]); i++)
		CHECK(strings[i] != NULL);
	CHECK(c->hostname[0] != '\0' && strlen(c->hostname) <= 253);
	CHECK(strchr(c->postmaster, '@') != NULL);
	CHECK(c->data_dir[0] == '/');
	CHECK(c->log_level >= 0 && c->log_level <= 3);
	CHECK(c->tls_min_version == TLS_MIN_1_2 ||
	      c->tls_min_version == TLS_MIN_1_3);
	CHECK((c->tls_certificate[0] == '\0') == (c->tls_key[0] == '\0'));
	CHECK(in_range(c->workers, 0, 256) && in_range(c->io_threads, 1, 256));
	CHECK(in_range(c->smtp_max_message_size, 1024, 2048 * MiB));
	CHECK(in_range(c->smtp_max_recipients, 1, 100000));
	CHECK(in_range(c->smtp_max_line_length, 1000, 1000000));
	CHECK(in_range(c->smtp_max_header_size, 4096, 64 * MiB));
	CHECK(in_range(c->smtp_max_hops, 5, 1000));
	CHECK(in_range(c->smtp_max_errors, 1, 1000));
	CHECK(in_range(c->smtp_max_connections, 1, 1000000));
	CHECK(in_range(c->smtp_max_connections_per_ip, 1, 1000000));
	CHECK(in_range(c->smtp_timeout_command_ms, 100, 3600000));
	CHECK(in_range(c->smtp_timeout_data_ms, 100, 3600000));
	CHECK(in_range(c->smtp_timeout_tls_ms, 100, 600000));
	CHECK(in_range(c->queue_retry_min_ms, 100, 86400000));
	CHECK(in_range(c->queue_retry_max_ms, 100, 86400000));
	CHECK(c->queue_retry_min_ms <= c->queue_retry_max_ms);
	CHECK(in_range(c->queue_lifetime_ms, 1000, 60ULL * 86400000));
	CHECK(strpbrk(c->delivery_recipient_delimiter, "@ \t\"\\") == NULL);
	CHECK(c->auth_failure_delay_ms <= c->auth_failure_delay_max_ms);
	CHECK(in_range(c->auth_failure_delay_max_ms, 0, 3600000));
	CHECK(in_range(c->auth_failure_memory_ms, 1000, 86400000));
	CHECK(in_range(c->auth_max_failures, 1, 100));
	CHECK(in_range(c->submission_max_messages, 1, 10000000));
	CHECK(in_range(c->submission_max_recipients, 1, 100000000));

	CHECK(c->n_listeners >= 1);
	for (size_t i = 0; i < c->n_listeners; i++) {
		const struct listener_config *l = &c->listeners[i];
		CHECK(l->name != NULL && l->name[0] != '\0');
		CHECK(strspn(l->name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLM"
				      "NOPQRSTUVWXYZ0123456789-_.*") ==
		      strlen(l->name));
		CHECK(l->address != NULL && l->address[0] != '\0');
		CHECK(l->role == ROLE_MX || l->role == ROLE_SUBMISSION);
		CHECK(l->tls >= LISTENER_TLS_NONE &&
		      l->tls <= LISTENER_TLS_IMPLICIT);
		CHECK(!l->require_tls || l->tls != LISTENER_TLS_NONE);
		CHECK(l->client_certs >= CLIENT_CERTS_NONE &&
		      l->client_certs <= CLIENT_CERTS_REQUIRE);
		CHECK(l->client_certs == CLIENT_CERTS_NONE ||
		      c->tls_client_ca[0] != '\0');
		CHECK(l->tls == LISTENER_TLS_NONE || c->tls_certificate[0]);
		for (size_t j = 0; j < i; j++)
			CHECK(strcmp(c->listeners[j].name, l->name) != 0);
	}
	for (size_t i = 0; i < c->n_certs; i++) {
		const struct cert_config *k = &c->certs[i];
		CHECK(k->name != NULL && k->name[0] != '\0');
		for (const char *p = k->name; *p != '\0'; p++)
			CHECK(!(*p >= 'A' && *p <= 'Z')); /* SNI: lower */
		CHECK(k->certificate[0] != '\0' && k->key[0] != '\0');
		for (size_t j = 0; j < i; j++)
			CHECK(strcmp(c->certs[j].name, k->name) != 0);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct config cfg;
	struct buf errors;
	buf_init(&errors, 0);
	unsigned n =
		config_parse(PATH, (const char *)data, size, &cfg, &errors);
	check_errors(&errors, n);
	/* usable or not, every string is there to be freed or printed */
	CHECK(cfg.hostname != NULL && cfg.tls_ciphers != NULL);
	for (size_t i = 0; i < cfg.n_listeners; i++)
		CHECK(cfg.listeners[i].address != NULL);
	if (n == 0)
		check_accepted(&cfg);
	config_free(&cfg);
	CHECK(cfg.listeners == NULL && cfg.hostname == NULL);
	buf_free(&errors);
	return 0;
}
