/* arc_stub: src/mailauth/arc.c and arcseal.c run over one message, for the
 * public ARC test suite (tests/integration/test_arc.py). Key records come
 * from a file, as the suite gives them; no DNS.
 *
 *   arc_stub verify MSG KEYS
 *     out: cv <TAB> reason [<TAB> temporary]
 *   arc_stub sign MSG KEYS PEM DOMAIN SELECTOR T H CV AUTHRES
 *     out: the ARC-Seal, ARC-Message-Signature and ARC-Authentication-
 *          Results fields (validating MSG's chain with KEYS first: no
 *          output when its newest seal says cv=fail)
 *
 * KEYS: lines "name <TAB> TXT record" ("TEMPFAIL" for a failed lookup).
 * Not a unit test (no test_ prefix). */
#include "mail/header.h"
#include "mailauth/arc.h"

#include <openssl/pem.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { KEYS_MAX = 64 };

static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (f == NULL)
		return NULL;
	char *data = NULL;
	size_t cap = 0;
	*len = 0;
	for (;;) {
		if (*len + 4096 + 1 > cap) {
			cap = 2 * cap + 8192;
			data = realloc(data, cap);
			if (data == NULL)
				exit(2);
		}
		size_t got = fread(data + *len, 1, 4096, f);
		*len += got;
		if (got == 0)
			break;
	}
	fclose(f);
	data[*len] = '\0';
	return data;
}

/* Give every lookup the records of KEYS with its name. */
static void answer_keys(struct arc_verify *v, char *keys)
{
	char *names[KEYS_MAX], *values[KEYS_MAX];
	size_t n = 0;
	for (char *line = strtok(keys, "\n"); line != NULL && n < KEYS_MAX;
	     line = strtok(NULL, "\n")) {
		char *tab = strchr(line, '\t');
		if (tab == NULL)
			continue;
		*tab = '\0';
		names[n] = line;
		values[n++] = tab + 1;
	}
	for (size_t k = 0; k < arc_verify_lookups(v); k++) {
		const char *txt[KEYS_MAX];
		size_t found = 0;
		for (size_t i = 0; i < n; i++)
			if (strcasecmp(names[i], arc_verify_key_name(v, k)) == 0)
				txt[found++] = values[i];
		if (found == 1 && strcmp(txt[0], "TEMPFAIL") == 0)
			arc_verify_key(v, k, DKIM_LOOKUP_TEMPFAIL, NULL, 0);
		else
			arc_verify_key(v, k, found ? DKIM_LOOKUP_OK
						   : DKIM_LOOKUP_NONE,
				       txt, found);
	}
}

static struct arc_verify *verify(const char *msg, size_t len, char *keys,
				 size_t *hdr_len)
{
	size_t body;
	*hdr_len = header_section(msg, len, &body);
	struct arc_verify *v = arc_verify_new(msg, *hdr_len);
	if (v == NULL)
		exit(2);
	answer_keys(v, keys);
	arc_verify_body(v, msg + body, len - body);
	arc_verify_finish(v);
	return v;
}

static EVP_PKEY *read_key(const char *path)
{
	FILE *f = fopen(path, "r");
	EVP_PKEY *k = f ? PEM_read_PrivateKey(f, NULL, NULL, NULL) : NULL;
	if (f)
		fclose(f);
	return k;
}

static enum arc_result cv_named(const char *s)
{
	return strcmp(s, "pass") == 0 ? ARC_PASS
	       : strcmp(s, "fail") == 0 ? ARC_FAIL : ARC_NONE;
}

static int sign(const char *msg, size_t len, char **argv)
{
	size_t hdr_len, body, authres_len;
	struct arc_verify *v = verify(msg, len, argv[3], &hdr_len);
	const struct arc_verified *r = arc_verify_result(v);
	char *authres = slurp(argv[10], &authres_len);
	struct dkim_signing_key k = {.alg = DKIM_RSA_SHA256,
				     .pkey = read_key(argv[4]),
				     .d = argv[5], .s = argv[6]};
	int rc = 0;
	if (!r->sealed_fail && k.pkey != NULL && authres != NULL) {
		struct arc_seal *s = arc_seal_new(&k, atoll(argv[7]));
		struct buf out;
		const char *why;
		buf_init(&out, 0);
		header_section(msg, len, &body);
		arc_seal_body(s, msg + body, len - body);
		rc = arc_seal_finish(s, msg, hdr_len, r->sets + 1,
				     cv_named(argv[9]), authres, argv[8], &out,
				     &why);
		if (rc == 0)
			fwrite(out.data, 1, out.len, stdout);
		else
			fprintf(stderr, "arc_stub: %s\n", why);
		buf_free(&out);
		arc_seal_free(&s);
	}
	EVP_PKEY_free(k.pkey);
	free(authres);
	arc_verify_free(&v);
	return rc == 0 ? 0 : 1;
}

int main(int argc, char **argv)
{
	size_t len, keys_len, hdr_len;
	char *msg = argc >= 4 ? slurp(argv[2], &len) : NULL;
	char *keys = argc >= 4 ? slurp(argv[3], &keys_len) : NULL;
	if (msg == NULL || keys == NULL) {
		fprintf(stderr, "usage: arc_stub verify|sign MSG KEYS ...\n");
		return 2;
	}
	int rc = 0;
	if (strcmp(argv[1], "sign") == 0 && argc == 11) {
		argv[3] = keys;
		rc = sign(msg, len, argv);
	} else {
		struct arc_verify *v = verify(msg, len, keys, &hdr_len);
		const struct arc_verified *r = arc_verify_result(v);
		printf("%s\t%s%s\n", arc_result_name(r->result),
		       r->reason ? r->reason : "",
		       r->temporary ? "\ttemporary" : "");
		arc_verify_free(&v);
	}
	free(msg);
	free(keys);
	return rc;
}
