/* arcfield: ARC Set fields (RFC 8617 4.1). */
#include "mailauth/arcfield.h"

#include "lib/parse.h"
#include "mail/header.h"
#include "mailauth/dkim.h"
#include "mailauth/tags.h"

#include <openssl/evp.h>
#include <string.h>

enum kind { AAR, AMS, SEAL };

static int kind_of(const struct header_field *f)
{
	return header_is(f, "ARC-Authentication-Results") ? AAR
	       : header_is(f, "ARC-Message-Signature")    ? AMS
	       : header_is(f, "ARC-Seal")                 ? SEAL
							  : -1;
}

static bool instance_ok(const char *s, size_t len, unsigned *i)
{
	uint64_t v;
	if (parse_u64(s, len, ARC_SETS_MAX, &v) < 0 || v == 0)
		return false;
	*i = (unsigned)v;
	return true;
}

static size_t skip_fws(const char *s, size_t len, size_t p)
{
	while (p < len && strchr(" \t\r\n", s[p]) != NULL)
		p++;
	return p;
}

/* ARC-Authentication-Results: "i=N;" first (RFC 8617 4.1.1). */
static bool aar_instance(const char *s, size_t len, unsigned *i)
{
	size_t p = skip_fws(s, len, 0);
	if (p + 1 >= len || s[p] != 'i')
		return false;
	p = skip_fws(s, len, p + 1);
	if (p >= len || s[p] != '=')
		return false;
	p = skip_fws(s, len, p + 1);
	size_t digits = p;
	while (p < len && s[p] >= '0' && s[p] <= '9')
		p++;
	if (!instance_ok(s + digits, p - digits, i))
		return false;
	p = skip_fws(s, len, p);
	return p < len && s[p] == ';';
}

static bool tags_instance(const char *s, size_t len, unsigned *i)
{
	struct dkim_tags t;
	const char *error;
	if (dkim_tags_parse(s, len, &t, &error) < 0)
		return false;
	const struct dkim_tag *tag = dkim_tags_get(&t, "i");
	return tag != NULL && instance_ok(tag->value, tag->value_len, i);
}

static void add(struct arc_set *s, int kind, const struct header_field *f)
{
	const char *text = f->name;
	size_t len = (size_t)(f->value + f->value_len - f->name);
	if (kind == AAR) {
		s->aar = text, s->aar_len = len, s->n_aar++;
	} else if (kind == AMS) {
		s->ams = text, s->ams_len = len, s->n_ams++;
	} else {
		s->seal = text, s->seal_len = len, s->n_seal++;
	}
}

/* Whether sets 1..n each have one field of each kind. */
static const char *complete(const struct arc_set set[], unsigned n)
{
	for (unsigned i = 1; i <= n; i++) {
		const struct arc_set *s = &set[i];
		if (s->n_aar == 0 || s->n_ams == 0 || s->n_seal == 0)
			return "an ARC Set is incomplete";
		if (s->n_aar > 1 || s->n_ams > 1 || s->n_seal > 1)
			return "an ARC Set has two fields of one kind";
	}
	return NULL;
}

bool arc_has_fields(const char *hdr, size_t len)
{
	size_t pos = 0;
	struct header_field f;
	while (header_next(hdr, len, &pos, &f) == 1)
		if (kind_of(&f) >= 0)
			return true;
	return false;
}

const char *arc_sets_collect(const char *hdr, size_t len,
			     struct arc_set set[], unsigned *n)
{
	size_t pos = 0, fields = 0;
	struct header_field f;
	const char *why = NULL;
	unsigned top = 0, i;
	memset(set, 0, (ARC_SETS_MAX + 1) * sizeof(*set));
	while (header_next(hdr, len, &pos, &f) == 1) {
		int kind = kind_of(&f);
		if (kind < 0)
			continue;
		if (++fields > 3 * ARC_SETS_MAX)
			break;
		bool ok = kind == AAR ? aar_instance(f.value, f.value_len, &i)
				      : tags_instance(f.value, f.value_len, &i);
		if (!ok) {
			why = "an ARC field without a valid i= (1 to 50)";
			continue;
		}
		top = i > top ? i : top;
		add(&set[i], kind, &f);
	}
	*n = top;
	if (fields == 0)
		return "no ARC Sets";
	if (fields > 3 * ARC_SETS_MAX)
		return "too many ARC fields";
	return why != NULL ? why : complete(set, top);
}

/* The tag list after a field's colon. */
static int field_tags(const char *field, size_t len, struct dkim_tags *t,
		      const char **why)
{
	const char *colon = memchr(field, ':', len);
	if (colon == NULL) {
		*why = "a field without a colon";
		return -1;
	}
	return dkim_tags_parse(colon + 1, len - (size_t)(colon + 1 - field), t,
			       why);
}

bool arc_seal_says_fail(const struct arc_set *s)
{
	struct dkim_tags t;
	const char *why;
	return s->seal != NULL && field_tags(s->seal, s->seal_len, &t, &why) == 0 &&
	       dkim_tag_is(dkim_tags_get(&t, "cv"), "fail");
}

const char *arc_seal_parse(const struct arc_set *s, unsigned i,
			   struct dkim_sig *sig)
{
	struct dkim_tags t;
	const char *why = NULL;
	memset(sig, 0, sizeof(*sig));
	if (field_tags(s->seal, s->seal_len, &t, &why) < 0 ||
	    dkim_sig_common(&t, sig, false, &why) < 0)
		return why;
	if (dkim_tags_get(&t, "h") != NULL)
		return "an ARC-Seal with h=";
	if (!dkim_tag_is(dkim_tags_get(&t, "cv"), i == 1 ? "none" : "pass"))
		return "an ARC-Seal's cv= is wrong for its place in the chain";
	return NULL;
}

const char *arc_ams_parse(const struct arc_set *s, struct dkim_sig *sig)
{
	struct dkim_tags t;
	const char *why = NULL;
	memset(sig, 0, sizeof(*sig));
	if (field_tags(s->ams, s->ams_len, &t, &why) < 0 ||
	    dkim_sig_common(&t, sig, true, &why) < 0)
		return why;
	const struct dkim_tag *h = dkim_tags_get(&t, "h");
	if (h == NULL)
		return "an ARC-Message-Signature without h=";
	if (dkim_tag_lists(h, "arc-seal"))
		return "an ARC-Message-Signature signs ARC-Seal";
	/* without c=, relaxed/relaxed: what the public ARC test suite
	 * (ams_fields_c_na) and the seals themselves use, where DKIM would
	 * take simple/simple */
	if (dkim_tags_get(&t, "c") == NULL)
		sig->header_c = sig->body_c = CANON_RELAXED;
	sig->h = h->value;
	sig->h_len = h->value_len;
	return NULL;
}

/* A set's ARC-Authentication-Results and ARC-Message-Signature, relaxed. */
static int set_head(const struct arc_set *s, struct buf *out)
{
	if (canon_header(CANON_RELAXED, s->aar, s->aar_len, out) < 0 ||
	    canon_header(CANON_RELAXED, s->ams, s->ams_len, out) < 0)
		return -1;
	return 0;
}

/* The seal being checked or made: relaxed, without its b= value and its
 * final CRLF (as DKIM's own field is). */
static int seal_unsigned(const struct arc_set *s, struct buf *out,
			 const char **error_r)
{
	struct buf bare;
	buf_init(&bare, 0);
	int rc = dkim_field_without_b(s->seal, s->seal_len, &bare, error_r);
	if (rc == 0 && canon_header(CANON_RELAXED, bare.data, bare.len, out) < 0) {
		*error_r = "out of memory";
		rc = -1;
	}
	if (rc == 0) {
		out->len -= 2;
		out->data[out->len] = '\0';
	}
	buf_free(&bare);
	return rc;
}

int arc_seal_data(const struct arc_set set[], unsigned first, unsigned i,
		  struct buf *out, const char **error_r)
{
	*error_r = "out of memory";
	for (unsigned k = first; k <= i; k++)
		if (set_head(&set[k], out) < 0 ||
		    (k < i && canon_header(CANON_RELAXED, set[k].seal,
					   set[k].seal_len, out) < 0))
			return -1;
	if (seal_unsigned(&set[i], out, error_r) < 0)
		return -1;
	*error_r = NULL;
	return 0;
}

/* One step of arc_seal_hashes: set i's head into run, the hash of what
 * seal i signs into hash, then seal i itself into run. */
static int hash_step(const struct arc_set *s, EVP_MD_CTX *run, EVP_MD_CTX *one,
		     struct buf *c, unsigned char hash[32], const char **error_r)
{
	*error_r = "out of memory";
	buf_clear(c);
	if (set_head(s, c) < 0 || EVP_DigestUpdate(run, c->data, c->len) != 1 ||
	    EVP_MD_CTX_copy_ex(one, run) != 1)
		return -1;
	buf_clear(c);
	if (seal_unsigned(s, c, error_r) < 0)
		return -1;
	if (EVP_DigestUpdate(one, c->data, c->len) != 1 ||
	    EVP_DigestFinal_ex(one, hash, NULL) != 1)
		return -1;
	buf_clear(c);
	if (canon_header(CANON_RELAXED, s->seal, s->seal_len, c) < 0 ||
	    EVP_DigestUpdate(run, c->data, c->len) != 1)
		return -1;
	*error_r = NULL;
	return 0;
}

int arc_seal_hashes(const struct arc_set set[], unsigned n,
		    unsigned char (*hash)[32], const char **error_r)
{
	EVP_MD_CTX *run = EVP_MD_CTX_new(), *one = EVP_MD_CTX_new();
	struct buf c;
	buf_init(&c, 0);
	int rc = run != NULL && one != NULL &&
			 EVP_DigestInit_ex(run, EVP_sha256(), NULL) == 1
		 ? 0 : -1;
	*error_r = "out of memory";
	for (unsigned i = 1; i <= n && rc == 0; i++)
		rc = hash_step(&set[i], run, one, &c, hash[i], error_r);
	EVP_MD_CTX_free(run);
	EVP_MD_CTX_free(one);
	buf_free(&c);
	return rc;
}
