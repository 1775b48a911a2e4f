/* dkim: postern dkim keygen|list|rotate|revoke|delete|sign -- the DKIM keys
 * of our domains (db/dkim.h). A running server is told to reload them
 * through its control socket. */
#include "cli/cli.h"

#include "db/dkim.h"
#include "dkim/keyring.h"
#include "dkim/keys.h"
#include "lib/parse.h"
#include "lib/util.h"
#include "mailauth/sign.h"
#include "net/control.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum { MESSAGE_MAX = 64 * 1024 * 1024 };

static int collect(void *arg, const struct dir_dkim_key *k)
{
	struct cli_keys *ks = arg;
	if (ks->n == ks->cap) {
		size_t cap = ks->cap ? 2 * ks->cap : 16;
		struct dir_dkim_key *more = realloc(ks->k, cap * sizeof(*more));
		if (more == NULL)
			return -1;
		ks->k = more;
		ks->cap = cap;
	}
	ks->k[ks->n] = *k;
	ks->k[ks->n].private_pem = strdup(k->private_pem);
	return ks->k[ks->n++].private_pem == NULL ? -1 : 0;
}

void cli_dkim_keys_free(struct cli_keys *ks)
{
	for (size_t i = 0; i < ks->n; i++)
		dir_dkim_key_clear(&ks->k[i]);
	free(ks->k);
	memset(ks, 0, sizeof(*ks));
}

int cli_dkim_keys(struct directory *d, const char *domain, struct cli_keys *ks)
{
	memset(ks, 0, sizeof(*ks));
	if (dir_dkim_list(d, domain, collect, ks) < 0) {
		cli_error("cannot read the keys: %s", directory_error(d));
		cli_dkim_keys_free(ks);
		return -1;
	}
	return 0;
}

/* Tell a running server; no server is fine (it loads them at start). */
static void tell_server(struct cli *cli)
{
	char path[4096], reply[CONTROL_LINE_MAX + 1];
	if (path_join(path, sizeof(path), cli->cfg.data_dir, "control") < 0)
		return;
	if (control_request(path, "dkim-reload", reply, sizeof(reply)) < 0 &&
	    errno != ENOENT && errno != ECONNREFUSED)
		cli_error("the running server was not told: %s", strerror(errno));
}

static void day(int64_t t, char out[32])
{
	time_t tt = (time_t)t;
	struct tm tm;
	gmtime_r(&tt, &tm);
	strftime(out, 32, "%Y-%m-%d %H:%M", &tm);
}

/* "rsa-20261123", "ed-20261123", then "...b", "...c" if taken. */
static int new_selector(const struct cli_keys *ks, const char *algo, int64_t now,
			char out[DIR_SELECTOR_MAX + 1])
{
	char date[16];
	time_t t = (time_t)now;
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(date, sizeof(date), "%Y%m%d", &tm);
	for (char suffix = 'a'; suffix <= 'z'; suffix++) {
		snprintf(out, DIR_SELECTOR_MAX + 1, "%s-%s%s",
			 strcmp(algo, "rsa") == 0 ? "rsa" : "ed", date,
			 suffix == 'a' ? "" : (char[]){suffix, '\0'});
		bool taken = false;
		for (size_t i = 0; i < ks->n; i++)
			taken |= strcmp(ks->k[i].selector, out) == 0;
		if (!taken)
			return 0;
	}
	return -1;
}

static bool selector_ok(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > DIR_SELECTOR_MAX || s[0] == '.' || s[n - 1] == '.')
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') ||
		      s[i] == '-' || s[i] == '.' || s[i] == '_') ||
		    (s[i] == '.' && s[i + 1] == '.'))
			return false;
	return true;
}

/* Make and store one key. */
static int add_key(struct cli *cli, struct directory *d, const char *domain,
		   const char *algo, const char *selector, int64_t sign_from)
{
	const char *why;
	int bits = (int)cli->cfg.dkim_rsa_bits;
	const char *opt = cli_option(cli, 2, "--bits");
	uint64_t v;
	if (opt != NULL) {
		if (parse_u64(opt, strlen(opt), DKIM_RSA_BITS_MAX, &v) < 0) {
			cli_error("--bits takes a number of bits");
			return -1;
		}
		bits = (int)v;
	}
	struct dir_dkim_key k = {.created = (int64_t)time(NULL),
				 .sign_from = sign_from};
	snprintf(k.domain, sizeof(k.domain), "%s", domain);
	snprintf(k.selector, sizeof(k.selector), "%s", selector);
	snprintf(k.algo, sizeof(k.algo), "%s", algo);
	if ((k.private_pem = dkim_keygen(algo, bits, &why)) == NULL) {
		cli_error("%s", why);
		return -1;
	}
	int rc = dir_dkim_add(d, &k);
	if (rc != 0)
		cli_error("%s", rc == 1 ? "that selector exists for the domain"
					: directory_error(d));
	else
		printf("%s: new %s key, selector %s\n", domain, algo, selector);
	dir_dkim_key_clear(&k);
	return rc == 0 ? 0 : -1;
}

static int keygen(struct cli *cli, struct directory *d, const char *domain)
{
	const char *algo = cli_option(cli, 2, "--algo");
	const char *selector = cli_option(cli, 2, "--selector");
	int64_t now = (int64_t)time(NULL);
	if (algo != NULL && strcmp(algo, "rsa") != 0 && strcmp(algo, "ed25519") != 0) {
		cli_error("--algo is rsa or ed25519");
		return -1;
	}
	if (selector != NULL && (algo == NULL || !selector_ok(selector))) {
		cli_error(algo == NULL ? "--selector needs --algo (one key each)"
				       : "a selector is letters, digits, '-' and dots");
		return -1;
	}
	struct cli_keys ks;
	if (cli_dkim_keys(d, domain, &ks) < 0)
		return -1;
	int rc = 0;
	const char *algos[] = {"rsa", "ed25519"};
	for (size_t a = 0; a < 2 && rc == 0; a++) {
		if (algo != NULL && strcmp(algo, algos[a]) != 0)
			continue;
		char sel[DIR_SELECTOR_MAX + 1];
		for (size_t i = 0; i < ks.n; i++) {
			enum dkim_key_state st = dkim_key_state(ks.k, ks.n, i, now);
			if (strcmp(ks.k[i].algo, algos[a]) == 0 &&
			    (st == DKIM_KEY_ACTIVE || st == DKIM_KEY_PENDING)) {
				cli_error("%s has a %s key already (%s): use postern "
					  "dkim rotate %s", domain, algos[a],
					  ks.k[i].selector, domain);
				rc = -1;
			}
		}
		if (rc == 0 && selector == NULL && new_selector(&ks, algos[a], now, sel) < 0) {
			cli_error("no free selector for today");
			rc = -1;
		}
		if (rc == 0)
			rc = add_key(cli, d, domain, algos[a],
				     selector != NULL ? selector : sel, now);
	}
	cli_dkim_keys_free(&ks);
	if (rc == 0)
		printf("publish its record: postern dns %s\n", domain);
	return rc;
}

static void print_key(const struct cli_keys *ks, size_t i, int64_t now)
{
	const struct dir_dkim_key *k = &ks->k[i];
	char from[32], retire[32] = "-";
	day(k->sign_from, from);
	if (k->retire_at != 0)
		day(k->retire_at, retire);
	printf("%s\t%s\t%s\t%s\tsigns from %s\tretires %s\n", k->domain,
	       k->selector, k->algo,
	       dkim_key_state_name(dkim_key_state(ks->k, ks->n, i, now)), from,
	       retire);
}

static int list_domain(void *arg, const char *domain, const char *unused,
		       int64_t n)
{
	struct directory *d = arg;
	struct cli_keys ks;
	if (cli_dkim_keys(d, domain, &ks) < 0)
		return -1;
	for (size_t i = 0; i < ks.n; i++)
		print_key(&ks, i, (int64_t)time(NULL));
	cli_dkim_keys_free(&ks);
	return 0;
}

/* A new key for each algorithm that signs now; it signs after the
 * rotate delay, and the old one retires retire_after later. */
static int rotate(struct cli *cli, struct directory *d, const char *domain)
{
	int64_t now = (int64_t)time(NULL);
	int64_t from = now + (cli_flag(cli, 2, "--now")
				      ? 0
				      : (int64_t)(cli->cfg.dkim_rotate_delay_ms / 1000));
	int64_t retire = from + (int64_t)(cli->cfg.dkim_retire_after_ms / 1000);
	struct cli_keys ks;
	if (cli_dkim_keys(d, domain, &ks) < 0)
		return -1;
	int rc = 0, rotated = 0;
	for (size_t i = 0; i < ks.n; i++)
		if (dkim_key_state(ks.k, ks.n, i, now) == DKIM_KEY_PENDING) {
			cli_error("%s is waiting to sign already (a rotation is under "
				  "way); revoke it first to start again",
				  ks.k[i].selector);
			rc = -1;
		}
	for (size_t i = 0; i < ks.n && rc == 0; i++) {
		char sel[DIR_SELECTOR_MAX + 1], when[32];
		if (dkim_key_state(ks.k, ks.n, i, now) != DKIM_KEY_ACTIVE)
			continue;
		if (new_selector(&ks, ks.k[i].algo, now, sel) < 0 ||
		    add_key(cli, d, domain, ks.k[i].algo, sel, from) < 0 ||
		    dir_dkim_set_retire(d, domain, ks.k[i].selector, retire) != 0) {
			rc = -1;
			break;
		}
		day(from, when);
		printf("  %s signs from %s; ", sel, when);
		day(retire, when);
		printf("%s is published until %s\n", ks.k[i].selector, when);
		rotated++;
	}
	cli_dkim_keys_free(&ks);
	if (rc < 0)
		return -1;
	if (rotated == 0) {
		cli_error("%s has no active key to rotate (postern dkim keygen)",
			  domain);
		return -1;
	}
	if (rc == 0)
		printf("publish the new records now: postern dns %s\n", domain);
	return rc;
}

static int revoke_or_delete(struct cli *cli, struct directory *d,
			    const char *domain, bool revoke)
{
	const char *selector = cli->argv[2];
	struct cli_keys ks;
	if (cli_dkim_keys(d, domain, &ks) < 0)
		return -1;
	size_t i = 0;
	while (i < ks.n && strcmp(ks.k[i].selector, selector) != 0)
		i++;
	bool found = i < ks.n;
	enum dkim_key_state st =
		found ? dkim_key_state(ks.k, ks.n, i, (int64_t)time(NULL))
		      : DKIM_KEY_RETIRED;
	cli_dkim_keys_free(&ks);
	if (!found) {
		cli_error("%s has no key with selector %s", domain, selector);
		return -1;
	}
	if (!revoke && st != DKIM_KEY_RETIRED && st != DKIM_KEY_REVOKED &&
	    !cli_flag(cli, 3, "--force")) {
		cli_error("%s is %s: revoke or retire it first (or --force)",
			  selector, dkim_key_state_name(st));
		return -1;
	}
	int rc = revoke ? dir_dkim_revoke(d, domain, selector)
			: dir_dkim_delete(d, domain, selector);
	if (rc != 0) {
		cli_error("%s", directory_error(d));
		return -1;
	}
	printf(revoke ? "%s: %s revoked; publish its empty record: postern dns %s\n"
		      : "%s: %s deleted%s\n",
	       domain, selector, revoke ? domain : "");
	return 0;
}

static void put(const char *p, size_t n, bool crlf)
{
	for (size_t i = 0; i < n; i++) {
		if (p[i] == '\n' && crlf)
			putchar('\r');
		putchar(p[i]);
	}
}

/* Sign standard input with domain's active keys, as submission would. */
static int sign(struct cli *cli, struct directory *d, const char *domain)
{
	const char *why;
	struct dkim_signing_key keys[DKIM_SIGN_KEYS_MAX];
	struct buf msg, sigs;
	bool crlf;
	buf_init(&msg, MESSAGE_MAX);
	buf_init(&sigs, 0);
	int rc = -1;
	struct dkim_keyring *ring = NULL;
	if (dkim_keyring_reload(d, &why) < 0 || (ring = dkim_keyring_get()) == NULL) {
		cli_error("cannot load the keys: %s", why);
		goto out;
	}
	size_t n = dkim_keyring_signers(ring, domain, (int64_t)time(NULL), keys);
	if (n == 0) {
		cli_error("%s has no active key (postern dkim keygen %s)", domain,
			  domain);
		goto out;
	}
	if (cli_read_message(&msg, &crlf) < 0) {
		cli_error("the message is too large");
		goto out;
	}
	size_t hdr_len, body = cli_message_body(&msg, &hdr_len);
	struct dkim_sign *s =
		dkim_sign_new(keys, n, (int64_t)time(NULL),
			      (int64_t)(cli->cfg.dkim_expire_ms / 1000));
	if (s == NULL)
		goto out;
	dkim_sign_body(s, msg.data + body, msg.len - body);
	if (dkim_sign_finish(s, msg.data, hdr_len, &sigs, &why) < 0)
		cli_error("cannot sign: %s", why);
	else
		rc = 0;
	dkim_sign_free(&s);
	if (rc == 0) {
		put(sigs.data, sigs.len, crlf);
		put(msg.data, msg.len, crlf);
	}
out:
	dkim_keyring_put(&ring);
	dkim_keyring_clear();
	buf_free(&msg);
	buf_free(&sigs);
	return rc;
}

static int usage(void)
{
	fputs("usage: postern dkim keygen DOMAIN [--algo rsa|ed25519] "
	      "[--selector S] [--bits N]\n"
	      "       postern dkim list [DOMAIN]\n"
	      "       postern dkim rotate DOMAIN [--now]\n"
	      "       postern dkim revoke DOMAIN SELECTOR\n"
	      "       postern dkim delete DOMAIN SELECTOR [--force]\n"
	      "       postern dkim sign DOMAIN < message > signed-message\n",
	      stderr);
	return 2;
}

static int run(struct cli *cli, struct directory *d, const char *sub,
	       const char *domain)
{
	if (strcmp(sub, "list") == 0)
		return domain != NULL ? list_domain(d, domain, "", 0)
				      : dir_domain_list(d, list_domain, d);
	if (strcmp(sub, "keygen") == 0)
		return keygen(cli, d, domain);
	if (strcmp(sub, "rotate") == 0)
		return rotate(cli, d, domain);
	if (strcmp(sub, "sign") == 0)
		return sign(cli, d, domain);
	return revoke_or_delete(cli, d, domain, strcmp(sub, "revoke") == 0);
}

int cli_dkim(struct cli *cli)
{
	const char *sub = cli->argc > 0 ? cli->argv[0] : "";
	static const char *const subs[] = {"keygen", "list", "rotate", "revoke",
					   "delete", "sign"};
	bool known = false;
	for (size_t i = 0; i < sizeof(subs) / sizeof(*subs); i++)
		known |= strcmp(sub, subs[i]) == 0;
	bool two = strcmp(sub, "revoke") == 0 || strcmp(sub, "delete") == 0;
	if (!known || (cli->argc < 2 && strcmp(sub, "list") != 0) ||
	    (two && cli->argc < 3))
		return usage();
	char domain[DIR_ADDRESS_MAX + 1] = "";
	if (cli->argc >= 2) {
		snprintf(domain, sizeof(domain), "%s", cli->argv[1]);
		if (!directory_domain_valid(domain)) {
			cli_error("'%s' is not a domain", cli->argv[1]);
			return 2;
		}
	}
	struct directory *d = cli_open_directory(cli);
	if (d == NULL)
		return 1;
	int rc = 0;
	if (domain[0] != '\0' && dir_domain_exists(d, domain) != 1) {
		cli_error("%s is not one of our domains (postern domain add)", domain);
		rc = -1;
	}
	if (rc == 0)
		rc = run(cli, d, sub, domain[0] != '\0' ? domain : NULL);
	bool changed = strcmp(sub, "list") != 0 && strcmp(sub, "sign") != 0;
	if (rc == 0 && changed)
		tell_server(cli);
	directory_close(&d);
	return rc == 0 ? 0 : 1;
}
