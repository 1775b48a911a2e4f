/* opendkim_bench: DKIM signing and verification by libopendkim (Debian's
 * libopendkim-dev), in one process and one thread: the OpenDKIM column of
 * the DKIM benchmark (bench/dkim), measured as dkimbench measures Postern.
 *
 * usage: opendkim_bench [-t SECS] [-a rsa|ed] [-s 4k|100k] DIR
 *        opendkim_bench -c DIR FILE...
 * The first form runs the benchmark (every case, or those -a and -s
 * pick); the second checks that each FILE's signature verifies (exit 1
 * when one does not).
 *
 * DIR: rsa.pem, ed.pem (PKCS#8 keys), rsa.txt, ed.txt (their key records),
 * m4k.eml, m100k.eml (LF line ends), as bench/dkim prepares them.
 *
 * The library gets what the milter gives it: header fields one by one and
 * the body, with CRLF line ends (converted before timing), and the private
 * key as PEM text for each message (dkim_sign loads it per handle, as
 * opendkim does). relaxed/relaxed; h= lists the same fields as Postern's
 * (SIGNHDRS, with From, To, Cc, Subject, Date, Message-ID and Reply-To in
 * OVERSIGNHDRS). Verification gets the key record from a key lookup
 * callback (no DNS); the record is parsed for every message, the library
 * cache being off.
 *
 * Prints, per case: opendkim ALG SIZE OP MSGS_PER_CPU_S MSGS_PER_WALL_S N,
 * and writes the first signed copy to DIR/opendkim-ALG-SIZE.eml (LF).
 *
 * build: gcc -std=c17 -O2 -D_GNU_SOURCE -I/usr/include/opendkim
 *        -o opendkim_bench opendkim_bench.c -lopendkim */
#include <sys/types.h>

#include <dkim.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

enum { FIELDS_MAX = 64, SIGHDR_MAX = 4096 };

struct alg {
	const char *name, *selector;
	dkim_alg_t alg;
	char *pem, *record;
};

static struct alg algs[] = {
	{"rsa-sha256", "rsa", DKIM_SIGN_RSASHA256, NULL, NULL},
	{"ed25519-sha256", "ed", DKIM_SIGN_ED25519SHA256, NULL, NULL},
};
enum { N_ALGS = sizeof(algs) / sizeof(algs[0]) };
static const char *const sizes[] = {"4k", "100k"};

/* The fields Postern signs when present, and those it oversigns. */
static const char *signhdrs[] = {
	"from", "to", "cc", "subject", "date", "message-id", "reply-to",
	"sender", "in-reply-to", "references", "mime-version", "content-type",
	"content-transfer-encoding", NULL,
};
static const char *oversignhdrs[] = {
	"from", "to", "cc", "subject", "date", "message-id", "reply-to", NULL,
};

/* A message as the milter would pass it. */
struct msg {
	char *crlf; /* the whole message, CRLF */
	size_t len;
	char *field[FIELDS_MAX]; /* into crlf; each without its final CRLF */
	size_t field_len[FIELDS_MAX];
	size_t n_fields;
	char *body;
	size_t body_len;
};

static DKIM_LIB *lib;

static void die(const char *what, const char *why)
{
	fprintf(stderr, "opendkim_bench: %s: %s\n", what, why);
	exit(1);
}

static char *read_file(const char *dir, const char *name, size_t *len_r)
{
	char path[4096];
	int k = dir ? snprintf(path, sizeof(path), "%s/%s", dir, name)
		    : snprintf(path, sizeof(path), "%s", name);
	FILE *f = k > 0 && (size_t)k < sizeof(path) ? fopen(path, "rb") : NULL;
	if (f == NULL)
		die(name, "cannot open");
	size_t cap = 1 << 16, len = 0, n;
	char *p = malloc(cap + 1);
	while (p != NULL && (n = fread(p + len, 1, cap - len, f)) > 0)
		if ((len += n) == cap && (p = realloc(p, (cap *= 2) + 1)) == NULL)
			die(path, "out of memory");
	if (p == NULL)
		die(path, "out of memory");
	fclose(f);
	p[len] = '\0';
	if (len_r != NULL)
		*len_r = len;
	return p;
}

/* LF to CRLF, then split into fields and body. */
static void parse(const char *lf, size_t len, struct msg *m)
{
	m->crlf = malloc(2 * len + 1);
	if (m->crlf == NULL)
		die("message", "out of memory");
	m->len = 0;
	for (size_t i = 0; i < len; i++) {
		if (lf[i] == '\n')
			m->crlf[m->len++] = '\r';
		m->crlf[m->len++] = lf[i];
	}
	m->crlf[m->len] = '\0';
	char *p = m->crlf, *end = m->crlf + m->len;
	m->n_fields = 0;
	while (p < end && !(p[0] == '\r' && p[1] == '\n')) {
		char *e = p;
		do { /* a field ends at a CRLF not followed by a blank */
			if ((e = strstr(e, "\r\n")) == NULL)
				die("message", "no body");
			e += 2;
		} while (*e == ' ' || *e == '\t');
		if (m->n_fields == FIELDS_MAX)
			die("message", "too many header fields");
		m->field[m->n_fields] = p;
		m->field_len[m->n_fields++] = (size_t)(e - 2 - p);
		p = e;
	}
	if (p >= end)
		die("message", "no body");
	m->body = p + 2;
	m->body_len = (size_t)(end - m->body);
}

/* The key record for the signature's selector, as DNS would answer. */
static DKIM_CBSTAT key_lookup(DKIM *dkim, DKIM_SIGINFO *sig, u_char *buf,
			      size_t buflen)
{
	(void)dkim;
	const char *s = (const char *)dkim_sig_getselector(sig);
	const char *d = (const char *)dkim_sig_getdomain(sig);
	for (size_t i = 0; i < N_ALGS; i++)
		if (strcmp(s, algs[i].selector) == 0 &&
		    strcmp(d, "local.test") == 0) {
			size_t n = strlen(algs[i].record);
			if (n >= buflen)
				return DKIM_CBSTAT_ERROR;
			memcpy(buf, algs[i].record, n + 1);
			return DKIM_CBSTAT_CONTINUE;
		}
	return DKIM_CBSTAT_NOTFOUND;
}

static void setup(const char *dir)
{
	lib = dkim_init(NULL, NULL);
	if (lib == NULL)
		die("dkim_init", "failed");
	if (!dkim_libfeature(lib, DKIM_FEATURE_ED25519))
		die("libopendkim", "built without Ed25519");
	if (dkim_options(lib, DKIM_OP_SETOPT, DKIM_OPTS_SIGNHDRS, signhdrs,
			 sizeof(char **)) != DKIM_STAT_OK ||
	    dkim_options(lib, DKIM_OP_SETOPT, DKIM_OPTS_OVERSIGNHDRS,
			 oversignhdrs, sizeof(char **)) != DKIM_STAT_OK)
		die("dkim_options", "header lists refused");
	dkim_set_key_lookup(lib, key_lookup);
	for (size_t i = 0; i < N_ALGS; i++) {
		char name[64];
		snprintf(name, sizeof(name), "%s.pem", algs[i].selector);
		algs[i].pem = read_file(dir, name, NULL);
		snprintf(name, sizeof(name), "%s.txt", algs[i].selector);
		algs[i].record = read_file(dir, name, NULL);
		algs[i].record[strcspn(algs[i].record, "\n")] = '\0';
	}
}

/* Feed the fields and the body; st is what the last call returned. */
static DKIM_STAT feed(DKIM *d, const struct msg *m)
{
	DKIM_STAT st = DKIM_STAT_OK;
	for (size_t i = 0; i < m->n_fields && st == DKIM_STAT_OK; i++)
		st = dkim_header(d, (u_char *)m->field[i], m->field_len[i]);
	if (st == DKIM_STAT_OK)
		st = dkim_eoh(d);
	if (st == DKIM_STAT_OK)
		st = dkim_body(d, (u_char *)m->body, m->body_len);
	if (st == DKIM_STAT_OK)
		st = dkim_eom(d, NULL);
	return st;
}

/* Sign m: sighdr gets the DKIM-Signature field's value. */
static void sign_once(const struct alg *a, const struct msg *m, char *sighdr)
{
	DKIM_STAT st;
	DKIM *d = dkim_sign(lib, (const u_char *)"bench", NULL,
			    (dkim_sigkey_t)a->pem, (const u_char *)a->selector,
			    (const u_char *)"local.test", DKIM_CANON_RELAXED,
			    DKIM_CANON_RELAXED, a->alg, -1, &st);
	if (d == NULL)
		die(a->name, dkim_getresultstr(st));
	if ((st = feed(d, m)) != DKIM_STAT_OK ||
	    (st = dkim_getsighdr(d, (u_char *)sighdr, SIGHDR_MAX,
				 strlen(DKIM_SIGNHEADER) + 2)) != DKIM_STAT_OK)
		die(a->name, dkim_geterror(d) ? dkim_geterror(d)
					      : dkim_getresultstr(st));
	dkim_free(d);
}

/* 0 when m's signature passes. */
static int verify_once(const struct msg *m, const char **why_r)
{
	DKIM_STAT st;
	DKIM *d = dkim_verify(lib, (const u_char *)"bench", NULL, &st);
	if (d == NULL)
		die("dkim_verify", dkim_getresultstr(st));
	st = feed(d, m);
	if (st != DKIM_STAT_OK)
		*why_r = dkim_geterror(d) ? dkim_geterror(d)
					  : dkim_getresultstr(st);
	dkim_free(d);
	return st == DKIM_STAT_OK ? 0 : -1;
}

static double clock_s(clockid_t id)
{
	struct timespec t;
	clock_gettime(id, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

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

/* At least 3 times, then until secs have passed. */
static bool running(struct timing *t, double secs)
{
	return t->n < 3 || clock_s(CLOCK_MONOTONIC) - t->wall < secs;
}

static void report(const struct timing *t, const char *alg, const char *size,
		   const char *op)
{
	double cpu = clock_s(CLOCK_PROCESS_CPUTIME_ID) - t->cpu;
	double wall = clock_s(CLOCK_MONOTONIC) - t->wall;
	printf("opendkim\t%s\t%s\t%s\t%.1f\t%.1f\t%ld\n", alg, size, op,
	       (double)t->n / cpu, (double)t->n / wall, t->n);
	fflush(stdout);
}

/* The signed message, "DKIM-Signature: " + sighdr + lf, CRLF made LF. */
static char *signed_lf(const char *sighdr, const char *lf, size_t *len_r)
{
	static const char name[] = DKIM_SIGNHEADER ": ";
	size_t sl = strlen(sighdr), ll = strlen(lf), n = sizeof(name) - 1;
	char *p = malloc(n + sl + 1 + ll + 1);
	if (p == NULL)
		die("message", "out of memory");
	memcpy(p, name, n);
	for (size_t i = 0; i < sl; i++)
		if (sighdr[i] != '\r')
			p[n++] = sighdr[i];
	p[n++] = '\n';
	memcpy(p + n, lf, ll + 1);
	*len_r = n + ll;
	return p;
}

static void bench_case(const char *dir, const struct alg *a, const char *size,
		       double secs)
{
	char name[64], sighdr[SIGHDR_MAX];
	struct msg m, sm;
	struct timing t;
	const char *why = NULL;
	size_t len;
	snprintf(name, sizeof(name), "m%s.eml", size);
	char *lf = read_file(dir, name, &len);
	parse(lf, len, &m);

	for (start(&t); running(&t, secs); t.n++)
		sign_once(a, &m, sighdr);
	report(&t, a->name, size, "sign");

	char *slf = signed_lf(sighdr, lf, &len);
	snprintf(name, sizeof(name), "%s/opendkim-%s-%s.eml", dir, a->selector,
		 size);
	FILE *f = fopen(name, "wb");
	if (f == NULL || fwrite(slf, 1, len, f) != len || fclose(f) != 0)
		die(name, "cannot write");
	parse(slf, len, &sm);

	for (start(&t); running(&t, secs); t.n++)
		if (verify_once(&sm, &why) < 0)
			die(name, why);
	report(&t, a->name, size, "verify");
	free(sm.crlf);
	free(slf);
	free(m.crlf);
	free(lf);
}

static int check(int argc, char **argv)
{
	int bad = 0;
	for (int i = 0; i < argc; i++) {
		struct msg m;
		size_t len;
		const char *why = NULL;
		char *lf = read_file(NULL, argv[i], &len);
		parse(lf, len, &m);
		if (verify_once(&m, &why) == 0) {
			printf("opendkim verifies %s: pass\n", argv[i]);
		} else {
			printf("opendkim verifies %s: FAIL (%s)\n", argv[i], why);
			bad = 1;
		}
		free(m.crlf);
		free(lf);
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
		fputs("usage: opendkim_bench [-t SECS] [-a rsa|ed] [-s 4k|100k] DIR\n"
		      "       opendkim_bench -c DIR FILE...\n",
		      stderr);
		return 2;
	}
	const char *dir = argv[optind];
	setup(dir);
	if (checking)
		return check(argc - optind - 1, argv + optind + 1);
	for (size_t i = 0; i < N_ALGS; i++)
		for (size_t k = 0; k < sizeof(sizes) / sizeof(*sizes); k++)
			if (picked(only_alg, algs[i].selector) &&
			    picked(only_size, sizes[k]))
				bench_case(dir, &algs[i], sizes[k], secs);
	dkim_close(lib);
	return 0;
}
