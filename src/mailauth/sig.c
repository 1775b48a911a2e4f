/* sig: DKIM-Signature fields and their header signatures. */
#include "mailauth/sig.h"

#include "lib/base64.h"
#include "lib/parse.h"
#include "mailauth/dkim.h"
#include "mailauth/tags.h"

#include <openssl/rsa.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

/* A tag's value without folding blanks, base64-decoded into out. */
static int b64_tag(const struct dkim_tag *t, unsigned char *out, size_t max,
		   size_t *len)
{
	struct buf clean, dec;
	buf_init(&clean, 4 * DKIM_SIG_B_MAX);
	buf_init(&dec, max + 3); /* the decoder reserves for padding */
	int rc = 0;
	for (size_t i = 0; i < t->value_len && rc == 0; i++)
		if (!strchr(" \t\r\n", t->value[i]))
			rc = buf_append_byte(&clean, t->value[i]);
	if (rc == 0)
		rc = base64_decode(clean.data ? clean.data : "", clean.len, &dec);
	if (rc == 0 && dec.len > max)
		rc = -1;
	if (rc == 0) {
		if (dec.len > 0)
			memcpy(out, dec.data, dec.len);
		*len = dec.len;
	}
	buf_free(&clean);
	buf_free(&dec);
	return rc;
}

static int copy_lower(const struct dkim_tag *t, char *out, size_t n)
{
	if (t == NULL || t->value_len == 0 || t->value_len >= n)
		return -1;
	for (size_t i = 0; i < t->value_len; i++) {
		char c = t->value[i];
		out[i] = c >= 'A' && c <= 'Z' ? (char)(c + 32) : c;
	}
	out[t->value_len] = '\0';
	return 0;
}

static int parse_time(const struct dkim_tag *t, int64_t *out)
{
	uint64_t v;
	*out = -1;
	if (t == NULL)
		return 0;
	if (parse_u64(t->value, t->value_len, INT64_MAX, &v) < 0)
		return -1;
	*out = (int64_t)v;
	return 0;
}

/* c= "header/body", either part optional (RFC 6376 3.5: simple default) */
static int parse_c(const struct dkim_tag *t, struct dkim_sig *sig)
{
	sig->header_c = sig->body_c = CANON_SIMPLE;
	if (t == NULL)
		return 0;
	const char *slash = memchr(t->value, '/', t->value_len);
	size_t hl = slash != NULL ? (size_t)(slash - t->value) : t->value_len;
	if (canon_parse(t->value, hl, &sig->header_c) < 0)
		return -1;
	return slash == NULL ? 0
			     : canon_parse(slash + 1,
					   t->value_len - hl - 1, &sig->body_c);
}

/* Letters, digits, hyphens and dots, no empty label: a name that can go
 * into a DNS query as it is. */
static bool dns_name_ok(const char *s)
{
	size_t label = 0;
	for (; *s != '\0'; s++) {
		if (*s == '.') {
			if (label == 0)
				return false;
			label = 0;
		} else if ((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') ||
			   *s == '-' || *s == '_') {
			if (++label > 63)
				return false;
		} else {
			return false;
		}
	}
	return label > 0;
}

/* i= (RFC 6376 3.5): its domain must be d= or a subdomain of it. Absent,
 * it is "@d". */
static int parse_i(const struct dkim_tag *t, struct dkim_sig *sig)
{
	if (t == NULL) {
		snprintf(sig->i, sizeof(sig->i), "@%s", sig->d);
		return 0;
	}
	if (copy_lower(t, sig->i, sizeof(sig->i)) < 0)
		return -1;
	const char *at = strrchr(sig->i, '@');
	if (at == NULL || strpbrk(sig->i, " \t\r\n;()\"\\") != NULL)
		return -1; /* no blanks or specials: it goes into our headers */
	return dkim_domain_within(at + 1, sig->d) ? 0 : -1;
}

bool dkim_domain_within(const char *name, const char *domain)
{
	size_t nl = strlen(name), dl = strlen(domain);
	if (nl == dl)
		return strcasecmp(name, domain) == 0;
	return nl > dl && name[nl - dl - 1] == '.' &&
	       strcasecmp(name + nl - dl, domain) == 0;
}

/* The start of b= without blanks, for reports. */
static void b_text(const struct dkim_tag *t, char out[DKIM_B_TEXT])
{
	size_t n = 0;
	for (size_t i = 0; i < t->value_len && n + 1 < DKIM_B_TEXT; i++)
		if (!strchr(" \t\r\n", t->value[i]))
			out[n++] = t->value[i];
	out[n] = '\0';
}

/* Whether h= lists From (RFC 6376 5.4: it must be signed). */
static bool signs_from(const char *h, size_t len)
{
	for (size_t i = 0; i + 4 <= len; i++)
		if (strncasecmp(h + i, "from", 4) == 0 &&
		    (i == 0 || strchr(" \t\r\n:", h[i - 1])) &&
		    (i + 4 == len || strchr(" \t\r\n:", h[i + 4])))
			return true;
	return false;
}

int dkim_sig_common(const struct dkim_tags *t, struct dkim_sig *sig,
		    bool body, const char **error_r)
{
	const struct dkim_tag *a = dkim_tags_get(t, "a");
	size_t bh_len = 0;
	*error_r = NULL;
	if (dkim_tag_is(a, "rsa-sha256"))
		sig->alg = DKIM_RSA_SHA256;
	else if (dkim_tag_is(a, "ed25519-sha256"))
		sig->alg = DKIM_ED25519_SHA256;
	else
		*error_r = "unknown or weak algorithm (a=; rsa-sha1 is refused)";
	if (*error_r != NULL)
		return -1;
	if (copy_lower(dkim_tags_get(t, "d"), sig->d, sizeof(sig->d)) < 0 ||
	    copy_lower(dkim_tags_get(t, "s"), sig->s, sizeof(sig->s)) < 0)
		*error_r = "d= or s= missing or too long";
	else if (!dns_name_ok(sig->d) || !dns_name_ok(sig->s))
		*error_r = "d= or s= is not a domain name";
	else if (body && parse_c(dkim_tags_get(t, "c"), sig) < 0)
		*error_r = "c= is not simple or relaxed";
	else if (body && (dkim_tags_get(t, "bh") == NULL ||
			  b64_tag(dkim_tags_get(t, "bh"), sig->bh, 32,
				  &bh_len) < 0 || bh_len != 32))
		*error_r = "bh= is not a SHA-256 hash in base64";
	else if (dkim_tags_get(t, "b") == NULL ||
		 b64_tag(dkim_tags_get(t, "b"), sig->b, DKIM_SIG_B_MAX,
			 &sig->b_len) < 0 || sig->b_len == 0)
		*error_r = "b= is missing or not base64";
	else if (parse_time(dkim_tags_get(t, "t"), &sig->t) < 0)
		*error_r = "t= is not a time";
	if (*error_r != NULL)
		return -1;
	b_text(dkim_tags_get(t, "b"), sig->b_text);
	return 0;
}

/* What only DKIM-Signature has or requires (RFC 6376 3.5). */
static int check_fields(const struct dkim_tags *t, struct dkim_sig *sig,
			const char **error_r)
{
	const struct dkim_tag *h = dkim_tags_get(t, "h");
	const struct dkim_tag *l = dkim_tags_get(t, "l");
	if (!dkim_tag_is(dkim_tags_get(t, "v"), "1"))
		*error_r = "v= is not 1";
	else if (dkim_sig_common(t, sig, true, error_r) < 0)
		return -1;
	else if (parse_i(dkim_tags_get(t, "i"), sig) < 0)
		*error_r = "i= is not in the domain of d=";
	else if (dkim_tags_get(t, "q") != NULL &&
		 !dkim_tag_lists(dkim_tags_get(t, "q"), "dns/txt"))
		*error_r = "q= does not offer dns/txt";
	else if (h == NULL || !signs_from(h->value, h->value_len))
		*error_r = "h= does not sign From";
	else if (parse_time(dkim_tags_get(t, "x"), &sig->x) < 0 ||
		 (sig->x >= 0 && sig->t >= 0 && sig->x <= sig->t))
		*error_r = "t= or x= is not a time, or x= is not after t=";
	else if (l != NULL && parse_u64(l->value, l->value_len, UINT64_MAX,
					&sig->l) < 0)
		*error_r = "l= is not a number";
	if (*error_r != NULL)
		return -1;
	sig->h = h->value;
	sig->h_len = h->value_len;
	sig->has_l = l != NULL;
	return 0;
}

int dkim_sig_parse(const char *value, size_t len, struct dkim_sig *sig,
		   const char **error_r)
{
	struct dkim_tags t;
	memset(sig, 0, sizeof(*sig));
	*error_r = NULL;
	if (dkim_tags_parse(value, len, &t, error_r) < 0)
		return -1;
	return check_fields(&t, sig, error_r);
}

int dkim_sig_check_hash(const struct dkim_sig *sig, const struct dkim_key *key,
			const unsigned char hash[32], const char **error_r)
{
	bool ed = sig->alg == DKIM_ED25519_SHA256;
	if (key->pkey == NULL || (ed != (key->type == DKIM_KEY_ED25519))) {
		*error_r = key->pkey == NULL ? "the key is revoked"
					     : "the key is of another type";
		return -1;
	}
	int ok = 0;
	if (ed) { /* RFC 8463 3: Ed25519 over the SHA-256 hash */
		EVP_MD_CTX *md = EVP_MD_CTX_new();
		ok = md != NULL &&
		     EVP_DigestVerifyInit(md, NULL, NULL, NULL, key->pkey) == 1 &&
		     EVP_DigestVerify(md, sig->b, sig->b_len, hash, 32) == 1;
		EVP_MD_CTX_free(md);
	} else { /* RSASSA-PKCS1-v1_5 over the SHA-256 hash */
		EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new(key->pkey, NULL);
		ok = ctx != NULL && EVP_PKEY_verify_init(ctx) == 1 &&
		     EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING) == 1 &&
		     EVP_PKEY_CTX_set_signature_md(ctx, EVP_sha256()) == 1 &&
		     EVP_PKEY_verify(ctx, sig->b, sig->b_len, hash, 32) == 1;
		EVP_PKEY_CTX_free(ctx);
	}
	return ok ? 1 : 0;
}

int dkim_sig_check(const struct dkim_sig *sig, const struct dkim_key *key,
		   const char *data, size_t len, const char **error_r)
{
	unsigned char hash[32];
	unsigned hl = 0;
	if (EVP_Digest(data, len, hash, &hl, EVP_sha256(), NULL) != 1) {
		*error_r = "out of memory";
		return -1;
	}
	return dkim_sig_check_hash(sig, key, hash, error_r);
}

int dkim_sig_verify_header(const struct dkim_sig *sig, const struct dkim_key *key,
			   const char *hdr, size_t hdr_len, const char *sig_field,
			   size_t sig_field_len, const char **error_r)
{
	struct buf data;
	buf_init(&data, 0);
	int rc = dkim_header_data(hdr, hdr_len, sig->h, sig->h_len,
				  sig->header_c, sig_field, sig_field_len, &data,
				  error_r);
	if (rc == 0)
		rc = dkim_sig_check(sig, key, data.data, data.len, error_r);
	buf_free(&data);
	return rc;
}
