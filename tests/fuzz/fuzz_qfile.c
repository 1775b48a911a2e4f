/* libFuzzer target: the queue file format (src/queue/qfile.c).
 *
 * Two modes, chosen by the first byte:
 *
 * Anything but 'R': the whole input is a file found in the queue, and
 * qfile_parse must never crash or read outside it. When it accepts the file,
 * what it returns must be what qfile.h promises: the message lies inside the
 * file, right after "data\n"; after it come the prepend records, which hold
 * exactly env->prepend, and the end line naming the message's length and the
 * nonce; every envelope field is a terminated string without control bytes
 * that qfile_encode_header would write back.
 *
 * 'R': a round trip. The rest of the input builds an envelope and a message:
 *   flags byte: bit 0 8BITMIME, bit 1 SMTPUTF8, bits 2-3 recipients (1-4),
 *   bits 4-5 prepend pieces (0-3)
 *   8 bytes arrived (big-endian, sign bit cleared)
 *   then length-prefixed strings (one length byte, then that many bytes,
 *   fewer if the input ends): id, nonce, sender, client, helo, then orig
 *   and mailbox for each recipient, then each prepend piece (raw bytes);
 *   the remaining bytes are the message.
 * envelope_prepend must take a piece exactly when it is valid. When
 * qfile_encode_header accepts the envelope, the file it makes must parse
 * back to the same envelope, prepend text and message, and no prefix of the
 * file may parse (a torn file is never delivered). When it refuses, some
 * value must truly break the rules.
 *
 * The round trip keeps to envelopes the spool can make: at least one
 * recipient, a time that is not negative, a message that is empty or ends
 * with LF (the body filter's copy always does). Outside that space the
 * encoder writes files the parser refuses; see the comments in encodable(). */
#include "queue/qfile.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CHECK(cond)                                                            \
	do {                                                                   \
		if (!(cond))                                                   \
			__builtin_trap();                                      \
	} while (0)

/* A value as qfile.h wants it: no control bytes, at most QFILE_VALUE_MAX. */
static bool clean_text(const char *s)
{
	size_t n = strlen(s);
	if (n > QFILE_VALUE_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c < 0x20 || c == 0x7f)
			return false;
	}
	return true;
}

static bool hex_id(const char *s)
{
	if (strlen(s) != QUEUE_ID_LEN)
		return false;
	for (size_t i = 0; i < QUEUE_ID_LEN; i++)
		if (!((s[i] >= '0' && s[i] <= '9') ||
		      (s[i] >= 'A' && s[i] <= 'F')))
			return false;
	return true;
}

/* 16 lower-case hex digits, as spool.c makes them */
static bool hex_nonce(const char *s)
{
	return strlen(s) == QFILE_NONCE_LEN &&
	       strspn(s, "0123456789abcdef") == QFILE_NONCE_LEN;
}

static bool same_bytes(const char *a, const char *b, size_t n)
{
	return n == 0 || memcmp(a, b, n) == 0;
}

/* ------------------------------------------------------------ parse */

/* The bytes between the message and the end line: "prepend <n>\n" and n
 * bytes, repeated, which together are env->prepend. */
static void check_trailer(const char *p, size_t n, const struct envelope *env)
{
	CHECK((env->prepend == NULL) == (env->prepend_len == 0));
	CHECK(env->prepend_len <= QFILE_PREPEND_MAX);
	if (env->prepend != NULL) {
		CHECK(strlen(env->prepend) == env->prepend_len);
		CHECK(env->prepend[env->prepend_len - 1] == '\n');
		CHECK(strchr(env->prepend, '\r') == NULL);
	}
	size_t got = 0;
	while (n > 0) {
		const char *lf = memchr(p, '\n', n);
		CHECK(lf != NULL && lf - p > 8 &&
		      memcmp(p, "prepend ", 8) == 0);
		size_t k = 0;
		for (const char *d = p + 8; d < lf; d++) {
			CHECK(*d >= '0' && *d <= '9' && k <= QFILE_PREPEND_MAX);
			k = k * 10 + (size_t)(*d - '0');
		}
		size_t head = (size_t)(lf - p) + 1;
		CHECK(k > 0 && k <= n - head && got + k <= env->prepend_len);
		CHECK(memcmp(lf + 1, env->prepend + got, k) == 0);
		got += k;
		p += head + k;
		n -= head + k;
	}
	CHECK(got == env->prepend_len);
}

/* What qfile_parse returned for data[0..len) holds together. */
static void check_parsed(const char *data, size_t len,
			 const struct envelope *env, size_t off, size_t mlen)
{
	CHECK(off <= len && mlen <= len - off);
	CHECK(off >= 5 && memcmp(data + off - 5, "data\n", 5) == 0);
	CHECK(mlen == 0 || data[off + mlen - 1] == '\n');
	/* the last line is "end <mlen> <nonce>" (leading zeros tolerated); it
	 * starts after the message or after the trailer's last LF */
	size_t line = len - 1;
	while (line > off + mlen && data[line - 1] != '\n')
		line--;
	const char *e = data + line;
	size_t en = len - 1 - line, k = 4;
	CHECK(en > 4 + 1 + QFILE_NONCE_LEN && memcmp(e, "end ", 4) == 0);
	uint64_t value = 0;
	for (; k < en && e[k] >= '0' && e[k] <= '9'; k++) {
		CHECK(value <= (UINT64_MAX - 9) / 10);
		value = value * 10 + (uint64_t)(e[k] - '0');
	}
	CHECK(k > 4 && value == mlen);
	CHECK(en - k == 1 + QFILE_NONCE_LEN && e[k] == ' ' &&
	      memcmp(e + k + 1, env->nonce, QFILE_NONCE_LEN) == 0);
	check_trailer(data + off + mlen, line - off - mlen, env);

	CHECK(hex_id(env->id));
	CHECK(hex_nonce(env->nonce));
	CHECK(env->arrived >= 0);
	CHECK(env->sender != NULL && clean_text(env->sender));
	CHECK(env->client_ip != NULL && clean_text(env->client_ip));
	CHECK(env->helo != NULL && clean_text(env->helo));
	CHECK(env->n_rcpts >= 1 && env->n_rcpts <= QFILE_RCPTS_MAX);
	for (size_t i = 0; i < env->n_rcpts; i++) {
		const struct envelope_rcpt *r = &env->rcpts[i];
		CHECK(r->orig != NULL && clean_text(r->orig));
		CHECK(r->orig[0] != '\0');
		CHECK(r->mailbox != NULL && clean_text(r->mailbox));
	}
}

static void parse_mode(const char *data, size_t len)
{
	struct envelope env;
	size_t off = (size_t)-1, mlen = (size_t)-1;
	const char *why = NULL;
	if (qfile_parse(data, len, &env, &off, &mlen, &why) < 0) {
		CHECK(why != NULL);
		CHECK(env.sender == NULL && env.rcpts == NULL &&
		      env.n_rcpts == 0);
		return;
	}
	check_parsed(data, len, &env, off, mlen);
	/* what was accepted can be written back (not always to the same
	 * bytes: the parser takes the records in any order) */
	struct buf out;
	buf_init(&out, 0);
	CHECK(qfile_encode_header(&env, &out) == 0);
	buf_free(&out);
	envelope_free(&env);
}

/* ------------------------------------------------------------ round trip */

struct input {
	const uint8_t *p;
	size_t left;
};

static uint8_t take_byte(struct input *in)
{
	if (in->left == 0)
		return 0;
	in->left--;
	return *in->p++;
}

/* Length-prefixed bytes, fewer if the input ends. */
static const char *take_bytes(struct input *in, size_t *n)
{
	*n = take_byte(in);
	if (*n > in->left)
		*n = in->left;
	const char *p = (const char *)in->p;
	in->p += *n;
	in->left -= *n;
	return p;
}

/* A length-prefixed string, cut at the first NUL like any C string. */
static char *take_string(struct input *in)
{
	size_t n;
	const char *p = take_bytes(in, &n);
	char *s = strndup(p, n);
	if (s == NULL)
		abort();
	return s;
}

/* What envelope_prepend takes: header lines, LF-terminated, no NUL or CR. */
static bool prepend_valid(const char *p, size_t n)
{
	return n > 0 && p[n - 1] == '\n' && memchr(p, '\0', n) == NULL &&
	       memchr(p, '\r', n) == NULL;
}

static void take_fixed(struct input *in, char *out, size_t size)
{
	char *s = take_string(in);
	snprintf(out, size, "%s", s); /* truncation is part of the test */
	free(s);
}

/* Whether the encoder must accept env, by the rules in qfile.h. */
static bool encodable(const struct envelope *env)
{
	if (!hex_id(env->id) || !hex_nonce(env->nonce) ||
	    !clean_text(env->sender) || !clean_text(env->client_ip) ||
	    !clean_text(env->helo))
		return false;
	for (size_t i = 0; i < env->n_rcpts; i++)
		if (!clean_text(env->rcpts[i].orig) ||
		    env->rcpts[i].orig[0] == '\0' || /* empty mailbox: remote */
		    !clean_text(env->rcpts[i].mailbox))
			return false;
	return true;
}

static void check_same_envelope(const struct envelope *a,
				const struct envelope *b)
{
	CHECK(strcmp(a->id, b->id) == 0 && strcmp(a->nonce, b->nonce) == 0);
	CHECK(a->arrived == b->arrived);
	CHECK(a->eight_bit_mime == b->eight_bit_mime);
	CHECK(a->smtputf8 == b->smtputf8);
	CHECK(strcmp(a->sender, b->sender) == 0);
	CHECK(strcmp(a->client_ip, b->client_ip) == 0);
	CHECK(strcmp(a->helo, b->helo) == 0);
	CHECK(a->n_rcpts == b->n_rcpts);
	CHECK(a->prepend_len == b->prepend_len &&
	      same_bytes(a->prepend, b->prepend, a->prepend_len));
	for (size_t i = 0; i < a->n_rcpts; i++) {
		CHECK(strcmp(a->rcpts[i].orig, b->rcpts[i].orig) == 0);
		CHECK(strcmp(a->rcpts[i].mailbox, b->rcpts[i].mailbox) == 0);
	}
}

static void round_trip(const char *file, size_t len, const struct envelope *env,
		       const char *msg, size_t msg_len)
{
	struct envelope back;
	size_t off, mlen;
	const char *why;
	CHECK(qfile_parse(file, len, &back, &off, &mlen, &why) == 0);
	check_parsed(file, len, &back, off, mlen);
	check_same_envelope(env, &back);
	CHECK(mlen == msg_len && same_bytes(file + off, msg, msg_len));
	envelope_free(&back);

	/* a file cut anywhere is refused, unless the message or the prepend
	 * text holds the nonce: only then can a prefix end with a valid end
	 * line. Each
	 * cut costs a parse, so in a long message only the cuts after a LF
	 * (where an end line could seem to finish) and near the end are
	 * tried; every cut in the envelope is. */
	if (memmem(msg, msg_len, env->nonce, QFILE_NONCE_LEN) != NULL ||
	    memmem(env->prepend == NULL ? "" : env->prepend, env->prepend_len,
		   env->nonce, QFILE_NONCE_LEN) != NULL)
		return;
	const size_t msg_off = off;
	for (size_t cut = 0; cut < len; cut++) {
		if (cut > msg_off && cut + 64 < len && file[cut - 1] != '\n')
			continue;
		CHECK(qfile_parse(file, cut, &back, &off, &mlen, &why) < 0);
		CHECK(back.sender == NULL && back.n_rcpts == 0);
	}
}

static void round_trip_mode(const uint8_t *data, size_t size)
{
	struct input in = {data, size};
	struct envelope env;
	memset(&env, 0, sizeof(env));
	uint8_t flags = take_byte(&in);
	env.eight_bit_mime = flags & 1;
	env.smtputf8 = (flags & 2) != 0;
	uint64_t t = 0;
	for (int i = 0; i < 8; i++)
		t = t << 8 | take_byte(&in);
	env.arrived = (int64_t)(t >> 1);
	take_fixed(&in, env.id, sizeof(env.id));
	take_fixed(&in, env.nonce, sizeof(env.nonce));
	env.sender = take_string(&in);
	env.client_ip = take_string(&in);
	env.helo = take_string(&in);
	size_t n_rcpts = 1 + ((flags >> 2) & 3);
	for (size_t i = 0; i < n_rcpts; i++) {
		char *orig = take_string(&in), *mailbox = take_string(&in);
		CHECK(envelope_add_rcpt(&env, orig, mailbox) == 0);
		free(orig);
		free(mailbox);
	}
	for (int i = 0; i < ((flags >> 4) & 3); i++) {
		size_t n, before = env.prepend_len;
		const char *piece = take_bytes(&in, &n);
		bool ok = envelope_prepend(&env, piece, n) == 0;
		CHECK(ok == prepend_valid(piece, n));
		CHECK(env.prepend_len == before + (ok ? n : 0));
	}
	const char *msg = (const char *)in.p;
	size_t msg_len = in.left;
	if (msg_len > 0 && msg[msg_len - 1] != '\n')
		goto done; /* not a body filter's copy */

	struct buf file;
	buf_init(&file, 0);
	int rc = qfile_encode_header(&env, &file);
	CHECK((rc == 0) == encodable(&env));
	if (rc == 0) {
		size_t header_len = file.len;
		CHECK(buf_append(&file, msg, msg_len) == 0);
		CHECK(qfile_encode_end(&env, msg_len, &file) == 0);
		CHECK(file.len > header_len + msg_len);
		round_trip(file.data, file.len, &env, msg, msg_len);
	}
	buf_free(&file);
done:
	envelope_free(&env);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 0 && data[0] == 'R')
		round_trip_mode(data + 1, size - 1);
	else
		parse_mode((const char *)data, size);
	return 0;
}
