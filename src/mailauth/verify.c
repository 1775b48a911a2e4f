/* verify: the DKIM verifier of one message. */
#include "mailauth/verify.h"

#include "mail/header.h"
#include "mailauth/bodyhash.h"

#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct one {
	struct dkim_verified out;
	bool decided; /* out.result is final */
	struct dkim_sig sig;
	const char *field; /* the whole DKIM-Signature field, in v->hdr */
	size_t field_len;
	char key_name[DKIM_DOMAIN_MAX + 1];
	struct dkim_key key;
	bool have_key;
	struct dkim_bodyhash bh;
	bool hashing;
};

struct dkim_verify {
	char *hdr;
	size_t hdr_len;
	int64_t now;
	size_t n;
	struct one sig[DKIM_VERIFY_MAX];
};

static void decide(struct one *o, enum dkim_result r, const char *reason)
{
	o->out.result = r;
	o->out.reason = reason;
	o->decided = true;
}

/* "s._domainkey.d", its length checked by the caller. */
static void key_name(struct one *o)
{
	size_t sl = strlen(o->sig.s), dl = strlen(o->sig.d);
	memcpy(o->key_name, o->sig.s, sl);
	memcpy(o->key_name + sl, "._domainkey.", 12);
	memcpy(o->key_name + sl + 12, o->sig.d, dl + 1);
}

/* Take in one DKIM-Signature field: parse it and get its checks going. */
static void add_signature(struct dkim_verify *v, const struct header_field *f)
{
	struct one *o = &v->sig[v->n++];
	const char *error = NULL;
	o->field = f->name;
	o->field_len = (size_t)(f->value + f->value_len - f->name);
	int rc = dkim_sig_parse(f->value, f->value_len, &o->sig, &error);
	o->out.alg = o->sig.alg;
	memcpy(o->out.d, o->sig.d, sizeof(o->out.d));
	memcpy(o->out.s, o->sig.s, sizeof(o->out.s));
	memcpy(o->out.i, o->sig.i, sizeof(o->out.i));
	memcpy(o->out.b, o->sig.b_text, sizeof(o->out.b));
	if (rc < 0) {
		decide(o, DKIM_PERMERROR, error);
	} else if (o->sig.x >= 0 && v->now > o->sig.x) {
		decide(o, DKIM_PERMERROR, "signature expired (x=)");
	} else if (strlen(o->sig.s) + strlen("._domainkey.") +
			   strlen(o->sig.d) >= sizeof(o->key_name)) {
		decide(o, DKIM_PERMERROR, "the key's name is too long");
	} else if (dkim_bodyhash_init(&o->bh, o->sig.body_c, o->sig.has_l,
				      o->sig.l) < 0) {
		decide(o, DKIM_TEMPERROR, "out of memory");
	} else {
		o->hashing = true;
		key_name(o);
	}
}

static bool parses(const struct header_field *f)
{
	static _Thread_local struct dkim_sig sig; /* large: not on the stack */
	const char *error;
	return dkim_sig_parse(f->value, f->value_len, &sig, &error) == 0;
}

struct dkim_verify *dkim_verify_new(const char *hdr, size_t len, int64_t now)
{
	struct dkim_verify *v = calloc(1, sizeof(*v));
	if (v == NULL || (v->hdr = malloc(len + 1)) == NULL) {
		free(v);
		return NULL;
	}
	size_t o = 0; /* CRLF to LF: the header walker splits at LF alone */
	for (size_t i = 0; i < len; i++)
		if (!(hdr[i] == '\r' && i + 1 < len && hdr[i + 1] == '\n'))
			v->hdr[o++] = hdr[i];
	v->hdr[o] = '\0';
	v->hdr_len = len = o;
	v->now = now;
	/* signatures that parse first, so that junk ones on top cannot
	 * crowd out a good one below; then malformed ones, to report */
	for (int pass = 0; pass < 2; pass++) {
		size_t pos = 0;
		struct header_field f;
		while (v->n < DKIM_VERIFY_MAX &&
		       header_next(v->hdr, len, &pos, &f) == 1)
			if (header_is(&f, "DKIM-Signature") &&
			    parses(&f) == (pass == 0))
				add_signature(v, &f);
	}
	return v;
}

size_t dkim_verify_count(const struct dkim_verify *v)
{
	return v->n;
}

const char *dkim_verify_key_name(const struct dkim_verify *v, size_t i)
{
	return i < v->n && !v->sig[i].decided ? v->sig[i].key_name : NULL;
}

/* The first record that is a usable key (RFC 6376 6.1.2: several records
 * are ambiguous; the first good one is as good as any). */
static const char *first_key(struct one *o, const char *const *txt, size_t n)
{
	const char *error = "no key record";
	for (size_t k = 0; k < n && !o->have_key; k++)
		if (dkim_key_parse(txt[k], strlen(txt[k]), &o->key, &error) == 0)
			o->have_key = true;
	return o->have_key ? NULL : error;
}

/* RFC 6376 6.1.2 and 3.6.1: what the key allows of this signature. */
static const char *key_mismatch(const struct one *o)
{
	bool ed = o->sig.alg == DKIM_ED25519_SHA256;
	const char *at = strrchr(o->sig.i, '@');
	if (o->key.revoked)
		return "the key is revoked";
	if (ed != (o->key.type == DKIM_KEY_ED25519))
		return "the key is for another algorithm";
	if (o->key.strict && (at == NULL || strcmp(at + 1, o->sig.d) != 0))
		return "the key is for d= only (t=s) and i= is a subdomain";
	return NULL;
}

void dkim_verify_key(struct dkim_verify *v, size_t i, enum dkim_lookup what,
		     const char *const *txt, size_t n)
{
	if (i >= v->n || v->sig[i].decided || v->sig[i].have_key)
		return;
	struct one *o = &v->sig[i];
	const char *why;
	if (what == DKIM_LOOKUP_TEMPFAIL)
		decide(o, DKIM_TEMPERROR, "the key lookup failed");
	else if (what == DKIM_LOOKUP_NONE)
		decide(o, DKIM_PERMERROR, "no key record");
	else if ((why = first_key(o, txt, n)) != NULL)
		decide(o, DKIM_PERMERROR, why);
	else if ((why = key_mismatch(o)) != NULL)
		decide(o, DKIM_PERMERROR, why);
	else
		o->out.testing = o->key.testing;
}

void dkim_verify_key_parsed(struct dkim_verify *v, size_t i,
			    const struct dkim_key *k)
{
	if (i >= v->n || v->sig[i].decided || v->sig[i].have_key)
		return;
	struct one *o = &v->sig[i];
	const char *why;
	o->key = *k;
	if (o->key.pkey != NULL && EVP_PKEY_up_ref(o->key.pkey) != 1)
		o->key.pkey = NULL;
	o->have_key = true;
	if ((why = key_mismatch(o)) != NULL)
		decide(o, DKIM_PERMERROR, why);
	else
		o->out.testing = o->key.testing;
}

void dkim_verify_body(struct dkim_verify *v, const char *p, size_t n)
{
	for (size_t i = 0; i < v->n; i++)
		if (v->sig[i].hashing && !v->sig[i].decided)
			dkim_bodyhash_update(&v->sig[i].bh, p, n);
}

/* The body hash, then the header signature (RFC 6376 6.1.3). */
static void check(struct dkim_verify *v, struct one *o)
{
	unsigned char bh[32];
	uint64_t total;
	const char *error = NULL;
	dkim_bodyhash_final(&o->bh, bh, &total);
	o->out.partial = o->sig.has_l && total > o->sig.l;
	if (o->sig.has_l && o->sig.l > total) {
		decide(o, DKIM_FAIL, "l= is longer than the body");
		return;
	}
	if (CRYPTO_memcmp(bh, o->sig.bh, 32) != 0) {
		decide(o, DKIM_FAIL, "body hash did not verify");
		return;
	}
	int rc = dkim_sig_verify_header(&o->sig, &o->key, v->hdr, v->hdr_len,
					o->field, o->field_len, &error);
	if (rc == 1)
		decide(o, DKIM_PASS, NULL);
	else if (rc == 0)
		decide(o, DKIM_FAIL, "signature did not verify");
	else
		decide(o, DKIM_PERMERROR, error);
}

void dkim_verify_finish(struct dkim_verify *v)
{
	for (size_t i = 0; i < v->n; i++) {
		struct one *o = &v->sig[i];
		if (o->decided)
			continue;
		if (!o->have_key)
			decide(o, DKIM_TEMPERROR, "no answer for the key");
		else
			check(v, o);
	}
}

const struct dkim_verified *dkim_verify_result(const struct dkim_verify *v,
					       size_t i)
{
	return i < v->n ? &v->sig[i].out : NULL;
}

void dkim_verify_free(struct dkim_verify **vp)
{
	struct dkim_verify *v = *vp;
	if (v == NULL)
		return;
	for (size_t i = 0; i < v->n; i++) {
		if (v->sig[i].hashing)
			dkim_bodyhash_free(&v->sig[i].bh);
		if (v->sig[i].have_key)
			dkim_key_free(&v->sig[i].key);
	}
	free(v->hdr);
	free(v);
	*vp = NULL;
}

const char *dkim_result_name(enum dkim_result r)
{
	static const char *const names[] = {
		[DKIM_NONE] = "none",		[DKIM_PASS] = "pass",
		[DKIM_FAIL] = "fail",		[DKIM_NEUTRAL] = "neutral",
		[DKIM_POLICY] = "policy",	[DKIM_TEMPERROR] = "temperror",
		[DKIM_PERMERROR] = "permerror",
	};
	return (unsigned)r < sizeof(names) / sizeof(names[0]) ? names[r]
							      : "permerror";
}
