/* arcseal: adding an ARC Set to a message being forwarded (RFC 8617 5.1). */
#include "mailauth/arc.h"

#include "mail/header.h"
#include "mailauth/bodyhash.h"
#include "mailauth/dkim.h"

#include <inttypes.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

/* An ARC-Seal signs the ARC-Message-Signature's b= with its folding
 * (relaxed canonicalisation keeps one space for each fold). The public
 * test suite's signer writes that b= on one line (at most 684 characters
 * for a 4096-bit key, well under the 998 of RFC 5322 2.1.1), so we do
 * too, and its expected seals come out exactly; the seal's own b= is
 * folded, "b=" and 70 characters making the first line 72. */
enum { B64_FIRST = 70, B64_ONE_LINE = 4096 };

struct arc_seal {
	struct dkim_signing_key key;
	int64_t now;
	struct dkim_bodyhash bh; /* relaxed */
};

/* RFC 6376 5.4.1's fields, and the DKIM signatures the message came
 * with: what a forwarded message's ARC-Message-Signature signs. */
static const char *const sealed_fields[] = {
	"from", "to", "cc", "subject", "date", "message-id", "reply-to",
	"sender", "in-reply-to", "references", "mime-version", "content-type",
	"content-transfer-encoding", "list-id", "list-unsubscribe",
	"list-post", "dkim-signature",
};

struct arc_seal *arc_seal_new(const struct dkim_signing_key *k, int64_t now)
{
	struct arc_seal *s = calloc(1, sizeof(*s));
	if (s == NULL)
		return NULL;
	s->key = *k;
	s->now = now;
	if (dkim_bodyhash_init(&s->bh, CANON_RELAXED, false, 0) < 0) {
		free(s);
		return NULL;
	}
	return s;
}

void arc_seal_body(struct arc_seal *s, const char *p, size_t n)
{
	dkim_bodyhash_update(&s->bh, p, n);
}

/* h= for the fields present in hdr, each once. */
static int default_h(const char *hdr, size_t len, struct buf *h)
{
	int rc = 0;
	for (size_t k = 0; k < sizeof(sealed_fields) / sizeof(*sealed_fields);
	     k++) {
		if (header_count(hdr, len, sealed_fields[k]) == 0)
			continue;
		if (h->len > 0)
			rc |= buf_append_byte(h, ':');
		rc |= buf_append_str(h, sealed_fields[k]);
	}
	return rc == 0 ? 0 : -1;
}

static const char *alg_name(const struct dkim_signing_key *k)
{
	return k->alg == DKIM_ED25519_SHA256 ? "ed25519-sha256" : "rsa-sha256";
}

/* The ARC-Message-Signature with an empty b=, as the signature sees it.
 * Tags in alphabetical order, as the public test suite writes them; i=
 * after a space, not a fold, as dkimpy looks for it. */
static int ams_text(const struct arc_seal *s, unsigned i, const char *h,
		    const unsigned char bh[32], struct buf *f)
{
	int rc = buf_appendf(f, "ARC-Message-Signature: a=%s;\n\tb=;\n\tbh=",
			     alg_name(&s->key));
	rc |= dkim_b64_folded(f, bh, 32, B64_FIRST);
	rc |= buf_appendf(f, "; c=relaxed/relaxed; d=%s;\n\th=%s; "
			  "i=%u; s=%s; t=%" PRId64 "\n",
			  s->key.d, h, i, s->key.s, s->now);
	return rc == 0 ? 0 : -1;
}

static int seal_text(const struct arc_seal *s, unsigned i, enum arc_result cv,
		     struct buf *f)
{
	return buf_appendf(f,
			   "ARC-Seal: a=%s;\n\tb=; cv=%s; d=%s; i=%u; s=%s;\n\t"
			   "t=%" PRId64 "\n",
			   alg_name(&s->key), arc_result_name(cv), s->key.d, i,
			   s->key.s, s->now);
}

/* Sign data and put the signature's base64 after the "b=" of field f. */
static int fill_b(const struct arc_seal *s, const struct buf *data,
		  struct buf *f, struct buf *out)
{
	unsigned char sig[DKIM_SIG_B_MAX];
	size_t sig_len = sizeof(sig);
	const char *b = strstr(f->data, "\tb=;");
	if (b == NULL || dkim_sign_data(&s->key, data, sig, &sig_len) < 0)
		return -1;
	size_t at = (size_t)(b + 3 - f->data);
	bool seal = strncmp(f->data, "ARC-Seal:", 9) == 0;
	int rc = buf_append(out, f->data, at);
	rc |= dkim_b64_folded(out, sig, sig_len,
			      seal ? B64_FIRST : B64_ONE_LINE);
	rc |= buf_append(out, f->data + at, f->len - at);
	return rc == 0 ? 0 : -1;
}

/* The message's header with the new set on top: what both signatures
 * are computed over. */
static int with_set(const struct buf *seal, const struct buf *ams,
		    const struct buf *aar, const char *hdr, size_t len,
		    struct buf *out)
{
	buf_clear(out);
	int rc = buf_append(out, seal->data, seal->len);
	rc |= buf_append(out, ams->data, ams->len);
	rc |= buf_append(out, aar->data, aar->len);
	rc |= buf_append(out, hdr, len);
	return rc == 0 ? 0 : -1;
}

struct seal_work {
	struct buf h, aar, ams, ams_signed, seal, all, data;
};

static int seal_steps(struct arc_seal *s, struct seal_work *w, const char *hdr,
		      size_t len, unsigned i, enum arc_result cv,
		      const char *authres, const char **error_r)
{
	unsigned char bh[32];
	uint64_t total;
	struct arc_set set[ARC_SETS_MAX + 1];
	unsigned n;
	dkim_bodyhash_final(&s->bh, bh, &total);
	while (*authres == ' ' || *authres == '\t')
		authres++;
	*error_r = "out of memory";
	if (buf_appendf(&w->aar, "ARC-Authentication-Results: i=%u; %s\n", i,
			authres) < 0 ||
	    ams_text(s, i, buf_cstr(&w->h), bh, &w->ams) < 0 ||
	    buf_append(&w->all, w->aar.data, w->aar.len) < 0 ||
	    buf_append(&w->all, hdr, len) < 0)
		return -1;
	/* over the header as it goes on, its new AAR in it */
	if (dkim_header_data(w->all.data, w->all.len, buf_cstr(&w->h), w->h.len,
			     CANON_RELAXED, w->ams.data, w->ams.len - 1,
			     &w->data, error_r) < 0)
		return -1;
	*error_r = "the key cannot sign (OpenSSL)";
	if (fill_b(s, &w->data, &w->ams, &w->ams_signed) < 0 ||
	    seal_text(s, i, cv, &w->seal) < 0 ||
	    with_set(&w->seal, &w->ams_signed, &w->aar, hdr, len, &w->all) < 0)
		return -1;
	const char *why = arc_sets_collect(w->all.data, w->all.len, set, &n);
	if (why != NULL && cv != ARC_FAIL) {
		*error_r = why; /* the old sets were checked: cannot happen */
		return -1;
	}
	buf_clear(&w->data);
	if (arc_seal_data(set, cv == ARC_FAIL ? i : 1, i, &w->data, error_r) < 0)
		return -1;
	return 0;
}

int arc_seal_finish(struct arc_seal *s, const char *hdr, size_t hdr_len,
		    unsigned instance, enum arc_result cv, const char *authres,
		    const char *h, struct buf *out, const char **error_r)
{
	struct seal_work w;
	struct buf *all[] = {&w.h, &w.aar, &w.ams, &w.ams_signed, &w.seal,
			     &w.all, &w.data};
	for (size_t k = 0; k < sizeof(all) / sizeof(*all); k++)
		buf_init(all[k], 0);
	int rc = -1;
	if (instance < 1 || instance > ARC_SETS_MAX) {
		*error_r = "the chain has 50 sets already";
	} else if ((h != NULL ? buf_append_str(&w.h, h)
			      : default_h(hdr, hdr_len, &w.h)) < 0) {
		*error_r = "out of memory";
	} else if (seal_steps(s, &w, hdr, hdr_len, instance, cv, authres,
			      error_r) == 0) {
		*error_r = "the key cannot sign (OpenSSL)";
		if (fill_b(s, &w.data, &w.seal, out) == 0 &&
		    buf_append(out, w.ams_signed.data, w.ams_signed.len) == 0 &&
		    buf_append(out, w.aar.data, w.aar.len) == 0) {
			*error_r = NULL;
			rc = 0;
		}
	}
	for (size_t k = 0; k < sizeof(all) / sizeof(*all); k++)
		buf_free(all[k]);
	return rc;
}

void arc_seal_free(struct arc_seal **sp)
{
	if (*sp == NULL)
		return;
	dkim_bodyhash_free(&(*sp)->bh);
	free(*sp);
	*sp = NULL;
}
