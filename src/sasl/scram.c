/* scram: SCRAM-SHA-256(-PLUS) server (RFC 5802, 7677, 9266). */
#include "sasl/scram.h"

#include "lib/base64.h"
#include "lib/parse.h"
#include "lib/util.h"
#include "mail/address.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <string.h>

static void hmac(const unsigned char *key, size_t klen, const void *msg,
		 size_t n, unsigned char out[SCRAM_KEY_LEN])
{
	unsigned int len = SCRAM_KEY_LEN;
	HMAC(EVP_sha256(), key, (int)klen, msg, n, out, &len);
}

static void keys_from_salted(const unsigned char salted[SCRAM_KEY_LEN],
			     struct scram_credentials *out)
{
	unsigned char client_key[SCRAM_KEY_LEN];
	hmac(salted, SCRAM_KEY_LEN, "Client Key", 10, client_key);
	SHA256(client_key, SCRAM_KEY_LEN, out->stored_key);
	hmac(salted, SCRAM_KEY_LEN, "Server Key", 10, out->server_key);
	explicit_bzero(client_key, sizeof(client_key));
}

int scram_derive_with_salt(const char *password, size_t len,
			   const unsigned char salt[SCRAM_SALT_LEN],
			   unsigned iterations, struct scram_credentials *out)
{
	unsigned char salted[SCRAM_KEY_LEN];
	out->iterations = iterations;
	memcpy(out->salt, salt, SCRAM_SALT_LEN);
	if (PKCS5_PBKDF2_HMAC(password, (int)len, out->salt, SCRAM_SALT_LEN,
			      (int)iterations, EVP_sha256(), SCRAM_KEY_LEN,
			      salted) != 1)
		return -1;
	keys_from_salted(salted, out);
	explicit_bzero(salted, sizeof(salted));
	return 0;
}

int scram_derive(const char *password, size_t len, unsigned iterations,
		 struct scram_credentials *out)
{
	unsigned char salt[SCRAM_SALT_LEN];
	random_bytes(salt, sizeof(salt));
	return scram_derive_with_salt(password, len, salt, iterations, out);
}

void scram_fake_credentials(const unsigned char secret[32], const char *user,
			    struct scram_credentials *out)
{
	unsigned char k[SCRAM_KEY_LEN];
	struct buf m;
	buf_init(&m, 0);
	buf_appendf(&m, "salt:%s", user);
	hmac(secret, 32, m.data, m.len, k);
	memcpy(out->salt, k, SCRAM_SALT_LEN);
	buf_clear(&m);
	buf_appendf(&m, "keys:%s", user);
	hmac(secret, 32, m.data, m.len, k);
	keys_from_salted(k, out); /* keys no password leads to */
	out->iterations = SCRAM_ITERATIONS;
	buf_free(&m);
}

int scram_credentials_encode(const struct scram_credentials *c,
			     char out[SCRAM_CRED_MAX])
{
	struct buf b;
	buf_init(&b, SCRAM_CRED_MAX - 1);
	int rc = buf_appendf(&b, "%u:", c->iterations);
	rc |= base64_encode(c->salt, SCRAM_SALT_LEN, &b);
	rc |= buf_append_byte(&b, ':');
	rc |= base64_encode(c->stored_key, SCRAM_KEY_LEN, &b);
	rc |= buf_append_byte(&b, ':');
	rc |= base64_encode(c->server_key, SCRAM_KEY_LEN, &b);
	if (rc == 0)
		memcpy(out, b.data, b.len + 1);
	buf_free(&b);
	return rc == 0 ? 0 : -1;
}

/* Decode one ':'-terminated base64 field of exactly want bytes. */
static const char *decode_field(const char *p, char end, unsigned char *out,
				size_t want)
{
	const char *stop = strchr(p, end);
	if (stop == NULL)
		return NULL;
	struct buf b;
	buf_init(&b, 64);
	int rc = base64_decode(p, (size_t)(stop - p), &b);
	bool ok = rc == 0 && b.len == want;
	if (ok)
		memcpy(out, b.data, want);
	buf_free(&b);
	return ok ? stop + 1 : NULL;
}

int scram_credentials_decode(const char *text, struct scram_credentials *out)
{
	const char *colon = strchr(text, ':');
	uint64_t it;
	if (colon == NULL ||
	    parse_u64(text, (size_t)(colon - text), SCRAM_ITERATIONS_MAX, &it) < 0 ||
	    it < 1)
		return -1;
	out->iterations = (unsigned)it;
	const char *p = decode_field(colon + 1, ':', out->salt, SCRAM_SALT_LEN);
	p = p != NULL ? decode_field(p, ':', out->stored_key, SCRAM_KEY_LEN) : NULL;
	return p != NULL && decode_field(p, '\0', out->server_key, SCRAM_KEY_LEN)
		       ? 0
		       : -1;
}

void scram_server_init(struct scram_server *s, bool plus)
{
	memset(s, 0, sizeof(*s));
	s->plus = plus;
	buf_init(&s->client_first_bare, SCRAM_MSG_MAX);
	buf_init(&s->server_first, SCRAM_MSG_MAX);
}

void scram_server_free(struct scram_server *s)
{
	buf_free(&s->client_first_bare);
	buf_free(&s->server_first);
	explicit_bzero(&s->cred, sizeof(s->cred));
}

/* saslname (RFC 5802 5.1): "=2C" is ',', "=3D" is '='; any other '=' is an
 * error. UTF-8, no NUL. Decodes in[0..n) into out (size cap). */
static bool decode_saslname(const char *in, size_t n, char *out, size_t cap)
{
	size_t o = 0;
	for (size_t i = 0; i < n; i++) {
		char c = in[i];
		if (c == '=') {
			if (n - i < 3)
				return false;
			if (memcmp(in + i, "=2C", 3) == 0)
				c = ',';
			else if (memcmp(in + i, "=3D", 3) == 0)
				c = '=';
			else
				return false;
			i += 2;
		} else if (c == '\0') {
			return false;
		}
		if (o + 1 >= cap)
			return false;
		out[o++] = c;
	}
	out[o] = '\0';
	return o > 0 && utf8_valid(out, o);
}

/* c-nonce: printable ASCII but ','. */
static bool nonce_valid(const char *p, size_t n)
{
	if (n == 0 || n > 64)
		return false;
	for (size_t i = 0; i < n; i++)
		if (p[i] < 0x21 || p[i] > 0x7e || p[i] == ',')
			return false;
	return true;
}

/* The field "k=value" starting at *p (up to ',' or the end); advances *p
 * past the ','. Returns the value, or NULL when the key differs. */
static const char *field(const char **p, const char *end, char key,
			 size_t *len)
{
	const char *s = *p;
	if (end - s < 2 || s[0] != key || s[1] != '=')
		return NULL;
	const char *comma = memchr(s + 2, ',', (size_t)(end - s - 2));
	const char *stop = comma != NULL ? comma : end;
	*len = (size_t)(stop - s - 2);
	*p = comma != NULL ? comma + 1 : end;
	return s + 2;
}

/* gs2-header = gs2-cbind-flag "," [ authzid ] "," */
static enum scram_result parse_gs2(struct scram_server *s, const char **p,
				   const char *end, bool plus_offered)
{
	const char *start = *p, *cb = *p;
	size_t n;
	if (end - cb >= 2 && (cb[0] == 'n' || cb[0] == 'y') && cb[1] == ',') {
		/* "y": the client could bind but thinks we cannot; if we offered
		 * -PLUS someone removed it on the way (RFC 5802 6) */
		if (s->plus || (cb[0] == 'y' && plus_offered))
			return SCRAM_FAIL;
		*p = cb + 2;
	} else if (field(p, end, 'p', &n) != NULL) {
		if (!s->plus || n != 12 || strncmp(cb + 2, "tls-exporter", 12) != 0)
			return SCRAM_FAIL;
	} else {
		return SCRAM_MALFORMED;
	}
	const char *a = *p;
	if (a < end && *a == ',') {
		(*p)++;
	} else {
		const char *v = field(p, end, 'a', &n);
		if (v == NULL || !decode_saslname(v, n, s->authzid, sizeof(s->authzid)))
			return SCRAM_MALFORMED;
		if (*p == end || (*p)[-1] != ',')
			return SCRAM_MALFORMED;
	}
	s->gs2_len = (size_t)(*p - start);
	if (s->gs2_len >= sizeof(s->gs2_header))
		return SCRAM_MALFORMED;
	memcpy(s->gs2_header, start, s->gs2_len);
	return SCRAM_OK;
}

enum scram_result scram_client_first(struct scram_server *s, const char *msg,
				     size_t n, bool plus_offered)
{
	const char *p = msg, *end = msg + n, *v;
	size_t len;
	if (s->step != 0 || n > SCRAM_MSG_MAX || memchr(msg, '\0', n) != NULL)
		return SCRAM_MALFORMED;
	enum scram_result r = parse_gs2(s, &p, end, plus_offered);
	if (r != SCRAM_OK)
		return r;
	const char *bare = p;
	if (end - p >= 2 && p[0] == 'm' && p[1] == '=')
		return SCRAM_FAIL; /* a mandatory extension we do not know */
	v = field(&p, end, 'n', &len);
	if (v == NULL || !decode_saslname(v, len, s->user, sizeof(s->user)))
		return SCRAM_MALFORMED;
	v = field(&p, end, 'r', &len);
	if (v == NULL || !nonce_valid(v, len))
		return SCRAM_MALFORMED;
	memcpy(s->nonce, v, len);
	s->nonce[len] = '\0';
	if (buf_append(&s->client_first_bare, bare, (size_t)(end - bare)) < 0)
		return SCRAM_MALFORMED;
	s->step = 1;
	return SCRAM_OK;
}

int scram_server_first_nonce(struct scram_server *s,
			     const struct scram_credentials *cred,
			     const char *snonce, struct buf *out)
{
	size_t have = strlen(s->nonce), add = strlen(snonce);
	if (s->step != 1 || have + add >= sizeof(s->nonce))
		return -1;
	memcpy(s->nonce + have, snonce, add + 1);
	s->cred = *cred;
	int rc = buf_appendf(&s->server_first, "r=%s,s=", s->nonce);
	rc |= base64_encode(cred->salt, SCRAM_SALT_LEN, &s->server_first);
	rc |= buf_appendf(&s->server_first, ",i=%u", cred->iterations);
	rc |= buf_append(out, s->server_first.data, s->server_first.len);
	s->step = 2;
	return rc == 0 ? 0 : -1;
}

int scram_server_first(struct scram_server *s,
		       const struct scram_credentials *cred, struct buf *out)
{
	unsigned char rnd[SCRAM_NONCE_LEN / 4 * 3];
	struct buf snonce;
	random_bytes(rnd, sizeof(rnd));
	buf_init(&snonce, 64);
	base64_encode(rnd, sizeof(rnd), &snonce);
	int rc = scram_server_first_nonce(s, cred, snonce.data, out);
	buf_free(&snonce);
	return rc;
}

/* c= must carry our gs2 header, and for -PLUS the channel binding data. */
static bool binding_matches(const struct scram_server *s, const char *v,
			    size_t n, const unsigned char *cbind,
			    size_t cbind_len)
{
	struct buf want, got;
	buf_init(&want, 0);
	buf_init(&got, 0);
	buf_append(&want, s->gs2_header, s->gs2_len);
	if (s->plus) {
		if (cbind == NULL)
			return false;
		buf_append(&want, cbind, cbind_len);
	}
	bool ok = base64_decode(v, n, &got) == 0 && got.len == want.len &&
		  secure_equal(got.data, want.data, want.len);
	buf_free(&want);
	buf_free(&got);
	return ok;
}

/* ClientKey = proof XOR HMAC(StoredKey, AuthMessage); H(ClientKey) must be
 * StoredKey. Then out gets "v=" base64(HMAC(ServerKey, AuthMessage)). */
static enum scram_result verify_proof(struct scram_server *s,
				      const unsigned char proof[SCRAM_KEY_LEN],
				      const char *without_proof, size_t wlen,
				      struct buf *out)
{
	struct buf auth;
	unsigned char sig[SCRAM_KEY_LEN], key[SCRAM_KEY_LEN], h[SCRAM_KEY_LEN];
	buf_init(&auth, 0);
	buf_append(&auth, s->client_first_bare.data, s->client_first_bare.len);
	buf_append_byte(&auth, ',');
	buf_append(&auth, s->server_first.data, s->server_first.len);
	buf_append_byte(&auth, ',');
	buf_append(&auth, without_proof, wlen);
	hmac(s->cred.stored_key, SCRAM_KEY_LEN, auth.data, auth.len, sig);
	for (int i = 0; i < SCRAM_KEY_LEN; i++)
		key[i] = proof[i] ^ sig[i];
	SHA256(key, SCRAM_KEY_LEN, h);
	enum scram_result r = SCRAM_FAIL;
	if (secure_equal(h, s->cred.stored_key, SCRAM_KEY_LEN)) {
		hmac(s->cred.server_key, SCRAM_KEY_LEN, auth.data, auth.len, sig);
		buf_append_str(out, "v=");
		base64_encode(sig, SCRAM_KEY_LEN, out);
		r = SCRAM_OK;
	}
	explicit_bzero(key, sizeof(key));
	buf_free(&auth);
	return r;
}

enum scram_result scram_client_final(struct scram_server *s, const char *msg,
				     size_t n, const unsigned char *cbind,
				     size_t cbind_len, struct buf *out)
{
	const char *p = msg, *end = msg + n, *v;
	size_t len;
	if (s->step != 2 || n > SCRAM_MSG_MAX || memchr(msg, '\0', n) != NULL)
		return SCRAM_MALFORMED;
	s->step = 3; /* one try */
	/* the proof is the last attribute: ",p=" then base64 to the end */
	const char *pp = NULL;
	for (const char *q = msg; q + 3 <= end; q++)
		if (memcmp(q, ",p=", 3) == 0)
			pp = q;
	if (pp == NULL)
		return SCRAM_MALFORMED;
	v = field(&p, pp, 'c', &len);
	if (v == NULL)
		return SCRAM_MALFORMED;
	bool bound = binding_matches(s, v, len, cbind, cbind_len);
	v = field(&p, pp, 'r', &len);
	if (v == NULL)
		return SCRAM_MALFORMED;
	bool nonce_ok = len == strlen(s->nonce) && memcmp(v, s->nonce, len) == 0;
	struct buf proof;
	buf_init(&proof, 64);
	int bad = base64_decode(pp + 3, (size_t)(end - pp - 3), &proof) < 0 ||
		  proof.len != SCRAM_KEY_LEN;
	enum scram_result r = SCRAM_MALFORMED;
	if (!bad)
		r = bound && nonce_ok
			    ? verify_proof(s, (unsigned char *)proof.data, msg,
					   (size_t)(pp - msg), out)
			    : SCRAM_FAIL;
	buf_free(&proof);
	return r;
}
