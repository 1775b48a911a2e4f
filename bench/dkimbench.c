/* dkimbench: DKIM signing and verification by Postern's mailauth code, in
 * one process and one thread, for the DKIM benchmark (bench/dkim).
 *
 * usage: dkimbench [-t SECS] [-a rsa|ed] [-s 4k|100k] DIR
 *        dkimbench -c DIR FILE...
 * The first form runs the benchmark (every case, or those -a and -s
 * pick); the second checks that each FILE's signature verifies (exit 1
 * when one does not).
 *
 * DIR holds what bench/dkim prepares for every harness: the keys
 * (rsa.pem, ed.pem: PKCS#8), their key records (rsa.txt, ed.txt: the TXT
 * text published at rsa._domainkey.local.test and ed._domainkey.local.test)
 * and the messages (m4k.eml, m100k.eml, LF line ends).
 *
 * For each algorithm and message: sign it over and over for SECS seconds
 * (new signer, body, header, signature field), then verify the signed
 * message over and over (the whole verifier each time, the key record
 * string parsed again as a real verifier does per message; no DNS). Prints
 * one tab-separated line per case:
 *   postern ALG SIZE OP MSGS_PER_CPU_S MSGS_PER_WALL_S N
 * and writes the first signed copy to DIR/postern-ALG-SIZE.eml for the
 * cross-checks. Any signature that does not verify stops it (exit 1).
 *
 * build: see bench/dkim (links the objects of src/mailauth, src/lib and
 * src/mail). */
#include "lib/buf.h"
#include "mailauth/sign.h"
#include "mailauth/verify.h"

#include <openssl/pem.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

enum { EXPIRE = 7 * 24 * 3600 }; /* the server's default dkim expire */

struct alg {
	const char *name, *selector;
	int alg; /* enum dkim_alg */
	EVP_PKEY *pkey;
	struct buf record; /* "v=DKIM1; k=...; p=..." */
};

/* One message, split where the body starts. */
struct msg {
	struct buf text;
	size_t hdr_len; /* the header section, its last LF included */
	size_t body;    /* the body's offset, after the empty line */
};

static struct alg algs[] = {
	{"rsa-sha256", "rsa", DKIM_RSA_SHA256, NULL, {0}},
	{"ed25519-sha256", "ed", DKIM_ED25519_SHA256, NULL, {0}},
};
enum { N_ALGS = sizeof(algs) / sizeof(algs[0]) };
static const char *const sizes[] = {"4k", "100k"};

static void die(const char *what, const char *why)
{
	fprintf(stderr, "dkimbench: %s: %s\n", what, why);
	exit(1);
}

static void read_file(const char *dir, const char *name, struct buf *b)
{
	char path[4096];
	char chunk[65536];
	size_t n;
	int k = dir ? snprintf(path, sizeof(path), "%s/%s", dir, name)
		    : snprintf(path, sizeof(path), "%s", name);
	if (k < 0 || (size_t)k >= sizeof(path))
		die(name, "path too long");
	FILE *f = fopen(path, "rb");
	if (f == NULL)
		die(path, "cannot open");
	buf_init(b, 0);
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		if (buf_append(b, chunk, n) < 0)
			die(path, "out of memory");
	fclose(f);
}

static void split(struct msg *m)
{
	const char *e = memmem(m->text.data, m->text.len, "\n\n", 2);
	if (e == NULL)
		die("message", "no empty line after the header section");
	m->hdr_len = (size_t)(e - m->text.data) + 1;
	m->body = m->hdr_len + 1;
}

static void load_alg(const char *dir, struct alg *a)
{
	char name[64];
	struct buf pem;
	snprintf(name, sizeof(name), "%s.pem", a->selector);
	read_file(dir, name, &pem);
	BIO *bio = BIO_new_mem_buf(pem.data, (int)pem.len);
	a->pkey = bio ? PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL) : NULL;
	if (a->pkey == NULL)
		die(name, "not a private key");
	BIO_free(bio);
	buf_free(&pem);
	snprintf(name, sizeof(name), "%s.txt", a->selector);
	read_file(dir, name, &a->record);
	while (a->record.len > 0 && a->record.data[a->record.len - 1] == '\n')
		buf_truncate(&a->record, a->record.len - 1);
}

/* Sign m with a: out gets the DKIM-Signature field. 0 or -1. */
static int sign_once(const struct alg *a, const struct msg *m, struct buf *out)
{
	struct dkim_signing_key key = {a->alg, a->pkey, "local.test",
				       a->selector};
	const char *why = NULL;
	struct dkim_sign *s = dkim_sign_new(&key, 1, (int64_t)time(NULL), EXPIRE);
	if (s == NULL)
		return -1;
	dkim_sign_body(s, m->text.data + m->body, m->text.len - m->body);
	int rc = dkim_sign_finish(s, m->text.data, m->hdr_len, out, &why);
	if (rc < 0)
		fprintf(stderr, "dkimbench: sign %s: %s\n", a->name, why);
	dkim_sign_free(&s);
	return rc;
}

/* The key record for a key name, as DNS would answer. */
static const char *lookup(const char *name)
{
	for (size_t i = 0; i < N_ALGS; i++) {
		size_t sl = strlen(algs[i].selector);
		if (strncmp(name, algs[i].selector, sl) == 0 &&
		    strcmp(name + sl, "._domainkey.local.test") == 0)
			return buf_cstr(&algs[i].record);
	}
	return NULL;
}

/* Verify a signed message: 0 when its one signature passes. */
static int verify_once(const struct msg *m, const char **why_r)
{
	struct dkim_verify *v =
		dkim_verify_new(m->text.data, m->hdr_len, (int64_t)time(NULL));
	if (v == NULL)
		return -1;
	const char *name = dkim_verify_key_name(v, 0);
	const char *txt = name ? lookup(name) : NULL;
	if (txt != NULL)
		dkim_verify_key(v, 0, DKIM_LOOKUP_OK, &txt, 1);
	else if (name != NULL)
		dkim_verify_key(v, 0, DKIM_LOOKUP_NONE, NULL, 0);
	dkim_verify_body(v, m->text.data + m->body, m->text.len - m->body);
	dkim_verify_finish(v);
	const struct dkim_verified *r = dkim_verify_result(v, 0);
	int rc = dkim_verify_count(v) == 1 && r->result == DKIM_PASS ? 0 : -1;
	if (rc < 0)
		*why_r = r == NULL ? "no signature"
		     : r->reason ? r->reason
				 : dkim_result_name(r->result);
	dkim_verify_free(&v);
	return rc;
}

static double clock_s(clockid_t id)
{
	struct timespec t;
	clock_gettime(id, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* Time op over and over for secs seconds (at least 3 times). */
struct timing {
	double cpu, wall;
	long n;
};

static void start(struct timing *t)
{
	t->n = 0;
	t->cpu = clock_s(CLOCK_PROCESS_CPUTIME_ID);
	t->wall = clock_s(CLOCK_MONOTONIC);
}

static bool running(struct timing *t, double secs)
{
	return t->n < 3 || clock_s(CLOCK_MONOTONIC) - t->wall < secs;
}

static void report(const struct timing *t, const char *alg, const char *size,
		   const char *op)
{
	double cpu = clock_s(CLOCK_PROCESS_CPUTIME_ID) - t->cpu;
	double wall = clock_s(CLOCK_MONOTONIC) - t->wall;
	printf("postern\t%s\t%s\t%s\t%.1f\t%.1f\t%ld\n", alg, size, op,
	       (double)t->n / cpu, (double)t->n / wall, t->n);
	fflush(stdout);
}

static void write_file(const char *dir, const char *name, const struct buf *a,
		       const struct buf *b)
{
	char path[4096];
	int k = snprintf(path, sizeof(path), "%s/%s", dir, name);
	FILE *f = k > 0 && (size_t)k < sizeof(path) ? fopen(path, "wb") : NULL;
	if (f == NULL || fwrite(a->data, 1, a->len, f) != a->len ||
	    fwrite(b->data, 1, b->len, f) != b->len || fclose(f) != 0)
		die(path, "cannot write");
}

/* Sign then verify one message with one algorithm. */
static void bench_case(const char *dir, const struct alg *a, const char *size,
		       double secs)
{
	char name[64];
	struct msg m, sm;
	struct buf sig;
	struct timing t;
	const char *why = NULL;
	snprintf(name, sizeof(name), "m%s.eml", size);
	read_file(dir, name, &m.text);
	split(&m);
	buf_init(&sig, 0);

	for (start(&t); running(&t, secs); t.n++) {
		buf_clear(&sig);
		if (sign_once(a, &m, &sig) < 0)
			die(a->name, "cannot sign");
	}
	report(&t, a->name, size, "sign");

	/* the signed message: the new field on top */
	buf_init(&sm.text, 0);
	if (buf_append(&sm.text, sig.data, sig.len) < 0 ||
	    buf_append(&sm.text, m.text.data, m.text.len) < 0)
		die(a->name, "out of memory");
	split(&sm);
	snprintf(name, sizeof(name), "postern-%s-%s.eml", a->selector, size);
	write_file(dir, name, &sig, &m.text);

	for (start(&t); running(&t, secs); t.n++)
		if (verify_once(&sm, &why) < 0)
			die(name, why);
	report(&t, a->name, size, "verify");
	buf_free(&sig);
	buf_free(&sm.text);
	buf_free(&m.text);
}

/* -c: verify files signed by someone else. */
static int check(int argc, char **argv)
{
	int bad = 0;
	for (int i = 0; i < argc; i++) {
		struct msg m;
		const char *why = NULL;
		read_file(NULL, argv[i], &m.text);
		split(&m);
		if (verify_once(&m, &why) == 0) {
			printf("postern verifies %s: pass\n", argv[i]);
		} else {
			printf("postern verifies %s: FAIL (%s)\n", argv[i], why);
			bad = 1;
		}
		buf_free(&m.text);
	}
	return bad;
}

/* -a and -s pick the cases to run (all when not given). */
static bool picked(const char *want, const char *name)
{
	return want == NULL || strcmp(want, name) == 0;
}

int main(int argc, char **argv)
{
	double secs = 2;
	bool checking = false;
	const char *only_alg = NULL, *only_size = NULL;
	int c;
	while ((c = getopt(argc, argv, "a:cs:t:")) != -1) {
		if (c == 'a')
			only_alg = optarg;
		else if (c == 'c')
			checking = true;
		else if (c == 's')
			only_size = optarg;
		else if (c == 't')
			secs = strtod(optarg, NULL);
		else
			argc = 0;
	}
	if (optind >= argc || secs <= 0) {
		fputs("usage: dkimbench [-t SECS] [-a rsa|ed] [-s 4k|100k] DIR\n"
		      "       dkimbench -c DIR FILE...\n",
		      stderr);
		return 2;
	}
	const char *dir = argv[optind];
	for (size_t i = 0; i < N_ALGS; i++)
		load_alg(dir, &algs[i]);
	if (checking)
		return check(argc - optind - 1, argv + optind + 1);
	for (size_t i = 0; i < N_ALGS; i++)
		for (size_t k = 0; k < sizeof(sizes) / sizeof(*sizes); k++)
			if (picked(only_alg, algs[i].selector) &&
			    picked(only_size, sizes[k]))
				bench_case(dir, &algs[i], sizes[k], secs);
	return 0;
}
