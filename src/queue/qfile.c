/* qfile: queue file encoding and parsing. */
#include "queue/qfile.h"

#include "lib/parse.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

static const char MAGIC[] = "postern-queue 1";

int envelope_add_rcpt(struct envelope *env, const char *orig,
		      const char *mailbox)
{
	if (env->n_rcpts >= QFILE_RCPTS_MAX) {
		errno = E2BIG;
		return -1;
	}
	struct envelope_rcpt *r =
		reallocarray(env->rcpts, env->n_rcpts + 1, sizeof(*r));
	if (r == NULL)
		return -1;
	env->rcpts = r;
	r = &env->rcpts[env->n_rcpts];
	r->junk = false;
	r->orig = strdup(orig);
	r->mailbox = strdup(mailbox);
	if (r->orig == NULL || r->mailbox == NULL) {
		free(r->orig);
		free(r->mailbox);
		return -1;
	}
	env->n_rcpts++;
	return 0;
}

void envelope_free(struct envelope *env)
{
	for (size_t i = 0; i < env->n_rcpts; i++) {
		free(env->rcpts[i].orig);
		free(env->rcpts[i].mailbox);
	}
	free(env->rcpts);
	free(env->sender);
	free(env->client_ip);
	free(env->helo);
	free(env->prepend);
	memset(env, 0, sizeof(*env));
}

static bool prepend_text_valid(const char *text, size_t n)
{
	return n > 0 && text[n - 1] == '\n' && memchr(text, '\0', n) == NULL &&
	       memchr(text, '\r', n) == NULL;
}

int envelope_prepend(struct envelope *env, const char *text, size_t n)
{
	if (!prepend_text_valid(text, n) ||
	    n > QFILE_PREPEND_MAX - env->prepend_len)
		return -1;
	char *p = realloc(env->prepend, env->prepend_len + n + 1);
	if (p == NULL)
		return -1;
	memcpy(p + env->prepend_len, text, n);
	env->prepend = p;
	env->prepend_len += n;
	p[env->prepend_len] = '\0';
	return 0;
}

/* A value may hold any byte but controls (so never a LF or a tab). */
static bool clean_value(const char *s, size_t n)
{
	if (n > QFILE_VALUE_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c < 0x20 || c == 0x7f)
			return false;
	}
	return true;
}

static bool clean(const char *s)
{
	return s != NULL && clean_value(s, strlen(s));
}

bool queue_id_valid(const char *s)
{
	size_t n = strlen(s);
	if (n != QUEUE_ID_LEN)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'A' && s[i] <= 'F')))
			return false;
	return true;
}

/* 16 lower-case hex digits, as spool.c makes them. */
static bool nonce_valid(const char *s)
{
	return strlen(s) == QFILE_NONCE_LEN &&
	       strspn(s, "0123456789abcdef") == QFILE_NONCE_LEN;
}

int qfile_encode_header(const struct envelope *env, struct buf *out)
{
	if (!queue_id_valid(env->id) || !nonce_valid(env->nonce) ||
	    !clean(env->sender) || !clean(env->client_ip) || !clean(env->helo))
		return -1;
	int rc = buf_appendf(out,
			     "%s\nid %s\nnonce %s\narrived %" PRId64
			     "\nfrom %s\nbody %s\n%sclient %s\nhelo %s\n",
			     MAGIC, env->id, env->nonce, env->arrived,
			     env->sender, env->eight_bit_mime ? "8bitmime" : "7bit",
			     env->smtputf8 ? "smtputf8 1\n" : "", env->client_ip,
			     env->helo);
	for (size_t i = 0; rc == 0 && i < env->n_rcpts; i++) {
		const struct envelope_rcpt *r = &env->rcpts[i];
		if (!clean(r->orig) || !clean(r->mailbox) || !*r->orig)
			return -1;
		rc = buf_appendf(out, "rcpt %s\t%s\n", r->orig, r->mailbox);
	}
	if (rc == 0)
		rc = buf_append_str(out, "data\n");
	return rc;
}

/* "quarantine\n" for every copy, "quarantine 0 3\n" for some. */
static int encode_quarantine(const struct envelope *env, struct buf *out)
{
	size_t junk = 0;
	for (size_t i = 0; i < env->n_rcpts; i++)
		junk += env->rcpts[i].junk;
	if (env->quarantine || (junk > 0 && junk == env->n_rcpts))
		return buf_append_str(out, "quarantine\n");
	if (junk == 0)
		return 0;
	int rc = buf_append_str(out, "quarantine");
	for (size_t i = 0; rc == 0 && i < env->n_rcpts; i++)
		if (env->rcpts[i].junk)
			rc = buf_appendf(out, " %zu", i);
	return rc == 0 ? buf_append_byte(out, '\n') : rc;
}

int qfile_encode_end(const struct envelope *env, uint64_t len, struct buf *out)
{
	if (encode_quarantine(env, out) < 0)
		return -1;
	if (env->prepend_len > 0 &&
	    (buf_appendf(out, "prepend %zu\n", env->prepend_len) < 0 ||
	     buf_append(out, env->prepend, env->prepend_len) < 0))
		return -1;
	return buf_appendf(out, "end %" PRIu64 " %s\n", len, env->nonce);
}

struct reader {
	const char *data;
	size_t len, pos;
};

/* Next "key value" line within the header; -1 at the end of the data or
 * when the line holds a control byte. */
static int next_record(struct reader *r, const char **key, size_t *klen,
		       const char **val, size_t *vlen)
{
	const char *s = r->data + r->pos;
	size_t left = r->len - r->pos;
	if (left > QFILE_HEADER_MAX)
		left = QFILE_HEADER_MAX;
	const char *lf = memchr(s, '\n', left);
	if (lf == NULL)
		return -1;
	size_t n = (size_t)(lf - s);
	r->pos += n + 1;
	const char *sp = memchr(s, ' ', n);
	*key = s;
	*klen = sp != NULL ? (size_t)(sp - s) : n;
	*val = sp != NULL ? sp + 1 : s + n;
	*vlen = sp != NULL ? n - *klen - 1 : 0;
	for (size_t i = 0; i < n; i++) /* tabs only inside rcpt records */
		if ((unsigned char)s[i] < 0x20 && s[i] != '\t')
			return -1;
	return 0;
}

static char *dup_value(const char *v, size_t n)
{
	if (!clean_value(v, n))
		return NULL;
	return strndup(v, n);
}

static int parse_rcpt(struct envelope *env, const char *v, size_t n)
{
	const char *tab = memchr(v, '\t', n);
	if (tab == NULL)
		return -1;
	char *orig = dup_value(v, (size_t)(tab - v));
	char *mailbox = dup_value(tab + 1, n - (size_t)(tab - v) - 1);
	int rc = orig != NULL && mailbox != NULL && *orig != '\0'
			 ? envelope_add_rcpt(env, orig, mailbox)
			 : -1;
	free(orig);
	free(mailbox);
	return rc;
}

static bool key_is(const char *key, size_t klen, const char *want)
{
	return klen == strlen(want) && memcmp(key, want, klen) == 0;
}

static int copy_fixed(char *out, size_t want, const char *v, size_t n)
{
	if (n != want || out[0] != '\0')
		return -1; /* wrong length, or a second copy */
	memcpy(out, v, n);
	out[n] = '\0';
	return 0;
}

static int set_once(char **field, const char *v, size_t n)
{
	if (*field != NULL)
		return -1;
	*field = dup_value(v, n);
	return *field != NULL ? 0 : -1;
}

/* One header record into env; -1 for anything unknown or malformed. */
static int parse_record(struct envelope *env, const char *key, size_t klen,
			const char *v, size_t n)
{
	uint64_t num;
	if (key_is(key, klen, "id"))
		return copy_fixed(env->id, QUEUE_ID_LEN, v, n) < 0 ||
				       !queue_id_valid(env->id)
			       ? -1
			       : 0;
	if (key_is(key, klen, "nonce"))
		return copy_fixed(env->nonce, QFILE_NONCE_LEN, v, n) < 0 ||
				       !nonce_valid(env->nonce)
			       ? -1
			       : 0;
	if (key_is(key, klen, "arrived")) {
		if (parse_u64(v, n, INT64_MAX, &num) < 0)
			return -1;
		env->arrived = (int64_t)num;
		return 0;
	}
	if (key_is(key, klen, "from"))
		return set_once(&env->sender, v, n);
	if (key_is(key, klen, "client"))
		return set_once(&env->client_ip, v, n);
	if (key_is(key, klen, "helo"))
		return set_once(&env->helo, v, n);
	if (key_is(key, klen, "body")) {
		env->eight_bit_mime = n == 8 && memcmp(v, "8bitmime", 8) == 0;
		return env->eight_bit_mime || (n == 4 && memcmp(v, "7bit", 4) == 0)
			       ? 0
			       : -1;
	}
	if (key_is(key, klen, "smtputf8")) {
		env->smtputf8 = true;
		return n == 1 && v[0] == '1' ? 0 : -1;
	}
	if (key_is(key, klen, "rcpt"))
		return parse_rcpt(env, v, n);
	return -1;
}

/* "end <len> <nonce>" must be the last line and match the header. */
static int parse_end(const struct envelope *env, const char *data, size_t len,
		     size_t msg_off, size_t *msg_len)
{
	if (len <= msg_off || data[len - 1] != '\n')
		return -1;
	const char *region = data + msg_off;
	size_t rlen = len - 1 - msg_off;
	const char *lf = memrchr(region, '\n', rlen);
	size_t end_start = lf != NULL ? (size_t)(lf - data) + 1 : msg_off;
	const char *line = data + end_start;
	size_t n = len - 1 - end_start;
	if (n < 4 || memcmp(line, "end ", 4) != 0)
		return -1;
	const char *num = line + 4, *sp = memchr(num, ' ', n - 4);
	uint64_t mlen;
	if (sp == NULL || parse_u64(num, (size_t)(sp - num), SIZE_MAX, &mlen) < 0)
		return -1;
	size_t nonce_len = (size_t)(line + n - (sp + 1));
	if (nonce_len != QFILE_NONCE_LEN ||
	    memcmp(sp + 1, env->nonce, QFILE_NONCE_LEN) != 0)
		return -1;
	if (mlen > end_start - msg_off)
		return -1;
	*msg_len = (size_t)mlen;
	return 0;
}

/* "quarantine" then "\n" (every copy) or " i j\n" (recipients i and
 * j, each once, in order); 0 when p does not start with it, the length
 * taken, or -1 when it is malformed. */
static long parse_quarantine(struct envelope *env, const char *p, size_t n)
{
	if (n < 11 || memcmp(p, "quarantine", 10) != 0)
		return 0;
	const char *lf = memchr(p, '\n', n);
	if (lf == NULL)
		return -1;
	if (lf == p + 10) {
		env->quarantine = true;
		return 11;
	}
	long next = 0; /* recipients in increasing order: no repeats */
	for (const char *q = p + 10; q < lf;) {
		const char *sp = q + 1, *end = memchr(sp, ' ', (size_t)(lf - sp));
		uint64_t i;
		if (*q != ' ' || end == sp)
			return -1;
		end = end ? end : lf;
		if (parse_u64(sp, (size_t)(end - sp), env->n_rcpts - 1, &i) < 0 ||
		    (long)i < next)
			return -1;
		env->rcpts[i].junk = true;
		next = (long)i + 1;
		q = end;
	}
	return next == 0 ? -1 : lf + 1 - p;
}

/* The trailer: a quarantine line at most once, then "prepend <n>\n" and
 * n bytes, repeated, filling exactly the bytes between the message and
 * the end line. */
static int parse_trailer(struct envelope *env, const char *p, size_t n)
{
	long q = parse_quarantine(env, p, n);
	if (q < 0)
		return -1;
	p += q;
	n -= (size_t)q;
	while (n > 0) {
		const char *lf = memchr(p, '\n', n < 32 ? n : 32);
		uint64_t len;
		if (lf == NULL || lf - p < 9 || memcmp(p, "prepend ", 8) != 0 ||
		    parse_u64(p + 8, (size_t)(lf - p - 8), QFILE_PREPEND_MAX, &len) < 0)
			return -1;
		size_t head = (size_t)(lf - p) + 1;
		if (len > n - head || envelope_prepend(env, lf + 1, (size_t)len) < 0)
			return -1;
		p += head + len;
		n -= head + (size_t)len;
	}
	return 0;
}

int qfile_parse(const char *data, size_t len, struct envelope *env,
		size_t *msg_off, size_t *msg_len, const char **error_r)
{
	struct reader r = {.data = data, .len = len};
	const char *key, *v;
	size_t klen, n;
	memset(env, 0, sizeof(*env));
	*error_r = "not a queue file";
	if (next_record(&r, &key, &klen, &v, &n) < 0 ||
	    r.pos != sizeof(MAGIC) || memcmp(data, MAGIC, sizeof(MAGIC) - 1) != 0)
		goto fail;
	*error_r = "malformed envelope";
	for (;;) {
		if (next_record(&r, &key, &klen, &v, &n) < 0)
			goto fail;
		if (key_is(key, klen, "data") && n == 0)
			break;
		if (parse_record(env, key, klen, v, n) < 0)
			goto fail;
	}
	*error_r = "incomplete envelope";
	if (env->id[0] == '\0' || env->nonce[0] == '\0' || env->sender == NULL ||
	    env->n_rcpts == 0 || env->client_ip == NULL || env->helo == NULL)
		goto fail;
	*error_r = "truncated or torn (no valid end line)";
	if (parse_end(env, data, len, r.pos, msg_len) < 0)
		goto fail;
	/* the message is empty or ends with LF: the trailer starts after it */
	size_t tstart = r.pos + *msg_len;
	size_t tend = len - 1;
	while (tend > tstart && data[tend - 1] != '\n')
		tend--;
	*error_r = "malformed trailer";
	if ((*msg_len > 0 && data[tstart - 1] != '\n') ||
	    parse_trailer(env, data + tstart, tend - tstart) < 0)
		goto fail;
	*msg_off = r.pos;
	return 0;
fail:
	envelope_free(env);
	return -1;
}
