/* sign: making DKIM signatures. */
#include "mailauth/sign.h"

#include "lib/base64.h"
#include "mail/header.h"
#include "mailauth/bodyhash.h"
#include "mailauth/dkim.h"

#include <inttypes.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

enum { FOLD_AT = 76, B64_LINE = 72 };

struct dkim_sign {
	struct dkim_signing_key keys[DKIM_SIGN_KEYS_MAX];
	size_t n;
	int64_t now, expire;
	struct dkim_bodyhash bh; /* relaxed, shared by every key */
};

/* RFC 6376 5.4.1's list; the first seven are oversigned. */
static const char *const signed_fields[] = {
	"from", "to", "cc", "subject", "date", "message-id", "reply-to",
	"sender", "in-reply-to", "references", "mime-version", "content-type",
	"content-transfer-encoding", "content-id", "content-description",
	"resent-date", "resent-from", "resent-sender", "resent-to", "resent-cc",
	"resent-message-id", "list-id", "list-help", "list-unsubscribe",
	"list-unsubscribe-post", "list-subscribe", "list-post", "list-owner",
	"list-archive",
};
enum { OVERSIGNED = 7 };

struct dkim_sign *dkim_sign_new(const struct dkim_signing_key *keys,
				size_t n, int64_t now, int64_t expire)
{
	if (n == 0 || n > DKIM_SIGN_KEYS_MAX)
		return NULL;
	struct dkim_sign *s = calloc(1, sizeof(*s));
	if (s == NULL)
		return NULL;
	memcpy(s->keys, keys, n * sizeof(*keys));
	s->n = n;
	s->now = now;
	s->expire = expire;
	if (dkim_bodyhash_init(&s->bh, CANON_RELAXED, false, 0) < 0) {
		free(s);
		return NULL;
	}
	return s;
}

void dkim_sign_body(struct dkim_sign *s, const char *p, size_t n)
{
	dkim_bodyhash_update(&s->bh, p, n);
}

/* Columns used on the field's last line so far (a folded line starts
 * with a tab: 8 columns). */
static size_t column(const struct buf *b)
{
	const char *nl = memrchr(b->data, '\n', b->len);
	return nl == NULL ? b->len : (size_t)(b->data + b->len - nl - 1) + 7;
}

/* Append text, folding first if it would pass FOLD_AT columns. */
static int add(struct buf *b, const char *text)
{
	if (column(b) + strlen(text) > FOLD_AT && buf_append(b, "\n\t", 2) < 0)
		return -1;
	return buf_append_str(b, text);
}

/* h=: each field present (and oversigned ones once more), folded. */
static int add_h(struct buf *b, const char *hdr, size_t len)
{
	int rc = buf_append_str(b, "h="); /* at a line's start: no fold */
	bool first = true;
	size_t listed = 0; /* a verifier takes DKIM_H_MAX names; From is first */
	for (size_t k = 0; k < sizeof(signed_fields) / sizeof(*signed_fields);
	     k++) {
		unsigned n = header_count(hdr, len, signed_fields[k]);
		if (k < OVERSIGNED)
			n++;
		for (; n > 0 && rc == 0 && listed++ < DKIM_H_MAX; n--) {
			if (!first)
				rc = buf_append_byte(b, ':');
			if (rc == 0)
				rc = add(b, signed_fields[k]);
			first = false;
		}
	}
	return rc == 0 ? buf_append_byte(b, ';') : rc;
}

int dkim_b64_folded(struct buf *b, const unsigned char *data, size_t n,
		    size_t first)
{
	struct buf enc;
	buf_init(&enc, 0);
	int rc = base64_encode(data, n, &enc);
	for (size_t i = 0, line = first; rc == 0 && i < enc.len;
	     i += line, line = B64_LINE) {
		size_t k = enc.len - i < line ? enc.len - i : line;
		if (i > 0)
			rc = buf_append(b, "\n\t", 2);
		if (rc == 0)
			rc = buf_append(b, enc.data + i, k);
	}
	buf_free(&enc);
	return rc;
}

/* The field up to and including "b=", its value to come. */
static int field_start(const struct dkim_sign *s, const struct dkim_signing_key *k,
		       const char *hdr, size_t len, const unsigned char bh[32],
		       struct buf *f, size_t *h_off)
{
	bool ed = k->alg == DKIM_ED25519_SHA256;
	int rc = buf_appendf(f,
			     "DKIM-Signature: v=1; a=%s; c=relaxed/relaxed;"
			     "\n\td=%s; s=%s;\n\tt=%" PRId64 ";",
			     ed ? "ed25519-sha256" : "rsa-sha256", k->d, k->s,
			     s->now);
	if (rc == 0 && s->expire > 0)
		rc = buf_appendf(f, " x=%" PRId64 ";", s->now + s->expire);
	if (rc == 0)
		rc = buf_append(f, "\n\t", 2);
	*h_off = f->len + 2; /* after "h=" */
	if (rc == 0)
		rc = add_h(f, hdr, len);
	if (rc == 0)
		rc = buf_append_str(f, "\n\tbh=");
	if (rc == 0)
		rc = dkim_b64_folded(f, bh, 32, B64_LINE);
	return rc == 0 ? buf_append_str(f, ";\n\tb=") : rc;
}

int dkim_sign_data(const struct dkim_signing_key *k, const struct buf *data,
		   unsigned char *sig, size_t *sig_len)
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	unsigned char hash[32];
	unsigned hl = 0;
	int ok = md != NULL;
	if (ok && k->alg == DKIM_ED25519_SHA256)
		ok = EVP_Digest(data->data, data->len, hash, &hl, EVP_sha256(),
				NULL) == 1 &&
		     EVP_DigestSignInit(md, NULL, NULL, NULL, k->pkey) == 1 &&
		     EVP_DigestSign(md, sig, sig_len, hash, hl) == 1;
	else if (ok)
		ok = EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, k->pkey) == 1 &&
		     EVP_DigestSign(md, sig, sig_len,
				    (const unsigned char *)data->data,
				    data->len) == 1;
	EVP_MD_CTX_free(md);
	return ok ? 0 : -1;
}

static int sign_one(const struct dkim_sign *s, const struct dkim_signing_key *k,
		    const char *hdr, size_t len, const unsigned char bh[32],
		    struct buf *out, const char **error_r)
{
	struct buf f, data;
	unsigned char sig[DKIM_SIG_B_MAX];
	size_t sig_len = sizeof(sig);
	buf_init(&f, 0);
	buf_init(&data, 0);
	int rc = -1;
	*error_r = "out of memory";
	size_t h_off;
	if (field_start(s, k, hdr, len, bh, &f, &h_off) < 0)
		goto out;
	const char *h = f.data + h_off; /* up to the ';' after it */
	size_t h_len = (size_t)(strchr(h, ';') - h);
	if (dkim_header_data(hdr, len, h, h_len, CANON_RELAXED, f.data, f.len,
			     &data, error_r) < 0)
		goto out;
	if (dkim_sign_data(k, &data, sig, &sig_len) < 0) {
		*error_r = "the key cannot sign (OpenSSL)";
		goto out;
	}
	*error_r = "out of memory";
	if (dkim_b64_folded(&f, sig, sig_len, B64_LINE) < 0 || buf_append_byte(&f, '\n') < 0 ||
	    buf_append(out, f.data, f.len) < 0)
		goto out;
	*error_r = NULL;
	rc = 0;
out:
	buf_free(&f);
	buf_free(&data);
	return rc;
}

int dkim_sign_finish(struct dkim_sign *s, const char *hdr, size_t hdr_len,
		     struct buf *out, const char **error_r)
{
	unsigned char bh[32];
	uint64_t total;
	dkim_bodyhash_final(&s->bh, bh, &total);
	for (size_t i = 0; i < s->n; i++)
		if (sign_one(s, &s->keys[i], hdr, hdr_len, bh, out, error_r) < 0)
			return -1;
	return 0;
}

void dkim_sign_free(struct dkim_sign **sp)
{
	if (*sp == NULL)
		return;
	dkim_bodyhash_free(&(*sp)->bh);
	free(*sp);
	*sp = NULL;
}
