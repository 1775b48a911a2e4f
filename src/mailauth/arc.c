/* arc: validating ARC chains (RFC 8617 5.2). */
#include "mailauth/arc.h"

#include "mail/header.h"
#include "mailauth/bodyhash.h"

#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* One key to look up, shared by every signature that names it. */
struct lookup {
	char name[DKIM_DOMAIN_MAX + 1];
	struct dkim_key key;
	bool have_key;
	bool temporary;    /* the lookup failed or had no answer in time */
	const char *error; /* no usable key, and why */
};

struct arc_verify {
	char *hdr; /* a copy, LF line ends; NULL when there is no ARC field */
	size_t hdr_len;
	struct arc_verified out;
	bool decided;
	char why[192]; /* out.reason, when it names a field */
	struct arc_set set[ARC_SETS_MAX + 1]; /* by instance; 0 unused */
	struct dkim_sig ams;                  /* the newest set's */
	struct dkim_sig *seal;                /* [1..sets] */
	size_t ams_key, seal_key[ARC_SETS_MAX + 1]; /* indexes of lookup[] */
	struct lookup lookup[ARC_KEYS_MAX];
	size_t n_lookups;
	struct dkim_bodyhash bh;
	bool hashing;
};

static void decide(struct arc_verify *v, enum arc_result r, const char *why)
{
	if (v->decided)
		return;
	v->out.result = r;
	v->out.reason = why;
	v->decided = true;
}

/* why, said of one field: "ARC-Seal i=2: ...". */
static const char *of_field(struct arc_verify *v, const char *field,
			    unsigned i, const char *why)
{
	snprintf(v->why, sizeof(v->why), "%s i=%u: %s", field, i, why);
	return v->why;
}

/* The lookup for "s._domainkey.d", added when new; NULL, or why not: a
 * chain may name ARC_KEYS_MAX keys at most (every one is a DNS question
 * asked for a stranger). */
static const char *want_key(struct arc_verify *v, const struct dkim_sig *sig,
			    size_t *k)
{
	char name[DKIM_DOMAIN_MAX + 1];
	int len = snprintf(name, sizeof(name), "%s._domainkey.%s", sig->s,
			   sig->d);
	if (len < 0 || (size_t)len >= sizeof(name))
		return "the key's name is too long";
	for (*k = 0; *k < v->n_lookups; (*k)++)
		if (strcmp(v->lookup[*k].name, name) == 0)
			return NULL;
	if (v->n_lookups == ARC_KEYS_MAX)
		return "the chain names too many keys";
	memcpy(v->lookup[v->n_lookups++].name, name, (size_t)len + 1);
	return NULL;
}

/* Every seal parses, says the cv= its place wants, and names a key. */
static const char *check_seals(struct arc_verify *v, unsigned n)
{
	for (unsigned i = n; i >= 1; i--) {
		const char *why = arc_seal_parse(&v->set[i], i, &v->seal[i]);
		if (why == NULL)
			why = want_key(v, &v->seal[i], &v->seal_key[i]);
		if (why != NULL)
			return of_field(v, "ARC-Seal", i, why);
	}
	return NULL;
}

/* The structure (RFC 8617 5.2 steps 1 and 2), then what to look up. */
static void start(struct arc_verify *v)
{
	unsigned n = 0;
	const char *why = arc_sets_collect(v->hdr, v->hdr_len, v->set, &n);
	v->out.sets = n;
	/* a chain that ended in cv=fail is never sealed on, even when a
	 * field added to it also breaks its structure (RFC 8617 5.1.2) */
	if (n > 0 && arc_seal_says_fail(&v->set[n])) {
		v->out.sealed_fail = true;
		decide(v, ARC_FAIL, "the newest ARC-Seal says cv=fail");
	} else if (why != NULL) {
		decide(v, ARC_FAIL, why);
	} else if ((v->seal = calloc(n + 1, sizeof(*v->seal))) == NULL) {
		decide(v, ARC_FAIL, "out of memory");
	} else if ((why = check_seals(v, n)) != NULL) {
		decide(v, ARC_FAIL, why);
	} else if ((why = arc_ams_parse(&v->set[n], &v->ams)) != NULL ||
		   (why = want_key(v, &v->ams, &v->ams_key)) != NULL) {
		decide(v, ARC_FAIL, of_field(v, "ARC-Message-Signature", n, why));
	} else if (dkim_bodyhash_init(&v->bh, v->ams.body_c, false, 0) < 0) {
		decide(v, ARC_FAIL, "out of memory");
	} else {
		memcpy(v->out.d, v->seal[n].d, sizeof(v->out.d));
		v->hashing = true;
	}
}

struct arc_verify *arc_verify_new(const char *hdr, size_t len)
{
	struct arc_verify *v = calloc(1, sizeof(*v));
	if (v == NULL)
		return NULL;
	if (!arc_has_fields(hdr, len)) { /* most mail: nothing to copy */
		decide(v, ARC_NONE, "no ARC Sets");
		return v;
	}
	if ((v->hdr = malloc(len + 1)) == NULL) {
		free(v);
		return NULL;
	}
	size_t o = 0; /* CRLF to LF: the header walker splits at LF alone */
	for (size_t i = 0; i < len; i++)
		if (!(hdr[i] == '\r' && i + 1 < len && hdr[i + 1] == '\n'))
			v->hdr[o++] = hdr[i];
	v->hdr[o] = '\0';
	v->hdr_len = o;
	start(v);
	return v;
}

size_t arc_verify_lookups(const struct arc_verify *v)
{
	return v->decided ? 0 : v->n_lookups;
}

const char *arc_verify_key_name(const struct arc_verify *v, size_t k)
{
	return k < arc_verify_lookups(v) ? v->lookup[k].name : NULL;
}

void arc_verify_key(struct arc_verify *v, size_t k, enum dkim_lookup what,
		    const char *const *txt, size_t n)
{
	if (k >= arc_verify_lookups(v) || v->lookup[k].have_key)
		return;
	struct lookup *l = &v->lookup[k];
	l->temporary = what == DKIM_LOOKUP_TEMPFAIL;
	l->error = l->temporary ? "a key lookup failed" : "no key record";
	for (size_t i = 0; what == DKIM_LOOKUP_OK && i < n && !l->have_key; i++)
		if (dkim_key_parse(txt[i], strlen(txt[i]), &l->key,
				   &l->error) == 0)
			l->have_key = true;
}

void arc_verify_key_parsed(struct arc_verify *v, size_t k,
			   const struct dkim_key *key)
{
	if (k >= arc_verify_lookups(v) || v->lookup[k].have_key)
		return;
	struct lookup *l = &v->lookup[k];
	l->key = *key;
	if (l->key.pkey != NULL && EVP_PKEY_up_ref(l->key.pkey) != 1)
		l->key.pkey = NULL;
	l->have_key = true;
}

void arc_verify_body(struct arc_verify *v, const char *p, size_t n)
{
	if (v->hashing && !v->decided)
		dkim_bodyhash_update(&v->bh, p, n);
}

/* The key of lookup k, or NULL with *why (a lookup that failed for now
 * makes the whole result a temporary one). */
static const struct dkim_key *key_of(struct arc_verify *v, size_t k,
				     const char **why)
{
	struct lookup *l = &v->lookup[k];
	if (!l->have_key) {
		v->out.temporary = l->temporary || l->error == NULL;
		*why = l->error ? l->error : "no answer for a key in time";
		return NULL;
	}
	*why = l->key.revoked ? "a key is revoked" : NULL;
	return *why == NULL ? &l->key : NULL;
}

/* RFC 8617 5.2 step 3: the newest ARC-Message-Signature. */
static const char *check_ams(struct arc_verify *v)
{
	unsigned n = v->out.sets;
	unsigned char bh[32];
	uint64_t total;
	const char *why;
	dkim_bodyhash_final(&v->bh, bh, &total);
	const struct dkim_key *key = key_of(v, v->ams_key, &why);
	int rc = 0;
	if (key == NULL)
		return of_field(v, "ARC-Message-Signature", n, why);
	if (CRYPTO_memcmp(bh, v->ams.bh, 32) != 0)
		why = "the body hash did not verify";
	else if ((rc = dkim_sig_verify_header(&v->ams, key, v->hdr, v->hdr_len,
					      v->set[n].ams, v->set[n].ams_len,
					      &why)) == 0)
		why = "the signature did not verify";
	return rc == 1 ? NULL : of_field(v, "ARC-Message-Signature", n, why);
}

/* RFC 8617 5.2 step 5: every seal, the newest first. */
static const char *check_seals_signed(struct arc_verify *v)
{
	unsigned n = v->out.sets, i = n;
	unsigned char(*hash)[32] = calloc(n + 1, sizeof(*hash));
	const char *why = hash == NULL ? "out of memory" : NULL;
	if (why == NULL && arc_seal_hashes(v->set, n, hash, &why) == 0) {
		for (; i >= 1; i--) {
			const struct dkim_key *key = key_of(v, v->seal_key[i], &why);
			int rc = key == NULL ? -1
				 : dkim_sig_check_hash(&v->seal[i], key, hash[i],
						       &why);
			if (rc == 0)
				why = "the seal did not verify";
			if (rc != 1)
				break;
		}
	}
	free(hash);
	return why == NULL ? NULL : of_field(v, "ARC-Seal", i, why);
}

void arc_verify_finish(struct arc_verify *v)
{
	if (v->decided)
		return;
	const char *why = check_ams(v);
	if (why == NULL)
		why = check_seals_signed(v);
	decide(v, why == NULL ? ARC_PASS : ARC_FAIL, why);
}

const struct arc_verified *arc_verify_result(const struct arc_verify *v)
{
	return &v->out;
}

void arc_verify_free(struct arc_verify **vp)
{
	struct arc_verify *v = *vp;
	if (v == NULL)
		return;
	if (v->hashing)
		dkim_bodyhash_free(&v->bh);
	for (size_t k = 0; k < v->n_lookups; k++)
		if (v->lookup[k].have_key)
			dkim_key_free(&v->lookup[k].key);
	free(v->seal);
	free(v->hdr);
	free(v);
	*vp = NULL;
}

const char *arc_result_name(enum arc_result r)
{
	return r == ARC_PASS ? "pass" : r == ARC_FAIL ? "fail" : "none";
}
