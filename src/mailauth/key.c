/* key: DKIM key records. */
#include "mailauth/key.h"

#include "lib/base64.h"
#include "mailauth/rsakey.h"
#include "mailauth/tags.h"

#include <string.h>

/* p= decoded, blanks left out (FWS may fold it). */
static int decode_p(const struct dkim_tag *p, struct buf *out)
{
	struct buf clean;
	buf_init(&clean, DKIM_KEY_RECORD_MAX);
	int rc = 0;
	for (size_t i = 0; i < p->value_len && rc == 0; i++)
		if (!strchr(" \t\r\n", p->value[i]))
			rc = buf_append_byte(&clean, p->value[i]);
	if (rc == 0)
		rc = base64_decode(clean.data ? clean.data : "", clean.len, out);
	buf_free(&clean);
	return rc;
}

static int load_key(struct dkim_key *k, const struct buf *der,
		    const char **error_r)
{
	const unsigned char *p = (const unsigned char *)der->data;
	if (k->type == DKIM_KEY_ED25519) {
		if (der->len != 32) {
			*error_r = "an ed25519 key is not 32 bytes";
			return -1;
		}
		k->pkey = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, p, 32);
	} else {
		k->pkey = rsakey_read(p, der->len, error_r);
		if (k->pkey == NULL)
			return -1;
	}
	if (k->pkey == NULL) {
		*error_r = "p= is not a valid public key";
		return -1;
	}
	return 0;
}

/* The tags' meaning (RFC 6376 3.6.1); -1 with *error_r. */
static int check_tags(const struct dkim_tags *t, struct dkim_key *k,
		      const char **error_r)
{
	const struct dkim_tag *v = dkim_tags_get(t, "v");
	const struct dkim_tag *kt = dkim_tags_get(t, "k");
	const struct dkim_tag *h = dkim_tags_get(t, "h");
	const struct dkim_tag *s = dkim_tags_get(t, "s");
	const struct dkim_tag *flags = dkim_tags_get(t, "t");
	if (v != NULL && (v != &t->tag[0] || !dkim_tag_is(v, "DKIM1"))) {
		*error_r = "v= is not DKIM1, or not first";
		return -1;
	}
	if (kt == NULL || dkim_tag_is(kt, "rsa"))
		k->type = DKIM_KEY_RSA;
	else if (dkim_tag_is(kt, "ed25519"))
		k->type = DKIM_KEY_ED25519;
	else {
		*error_r = "unknown key type (k=)";
		return -1;
	}
	if (h != NULL && !dkim_tag_lists(h, "sha256")) {
		*error_r = "the key does not allow sha256 (h=)";
		return -1;
	}
	if (s != NULL && !dkim_tag_lists(s, "*") && !dkim_tag_lists(s, "email")) {
		*error_r = "the key is not for email (s=)";
		return -1;
	}
	k->testing = flags != NULL && dkim_tag_lists(flags, "y");
	k->strict = flags != NULL && dkim_tag_lists(flags, "s");
	return 0;
}

int dkim_key_parse(const char *txt, size_t len, struct dkim_key *k,
		   const char **error_r)
{
	struct dkim_tags t;
	memset(k, 0, sizeof(*k));
	if (len > DKIM_KEY_RECORD_MAX) {
		*error_r = "the key record is too long";
		return -1;
	}
	if (dkim_tags_parse(txt, len, &t, error_r) < 0 ||
	    check_tags(&t, k, error_r) < 0)
		return -1;
	const struct dkim_tag *p = dkim_tags_get(&t, "p");
	if (p == NULL) {
		*error_r = "no p= tag";
		return -1;
	}
	struct buf der;
	buf_init(&der, DKIM_KEY_RECORD_MAX);
	int rc = decode_p(p, &der);
	if (rc < 0)
		*error_r = "p= is not base64";
	else if (der.len == 0)
		k->revoked = true; /* RFC 6376 3.6.1: an empty p= */
	else
		rc = load_key(k, &der, error_r);
	buf_free(&der);
	return rc;
}

void dkim_key_free(struct dkim_key *k)
{
	EVP_PKEY_free(k->pkey);
	k->pkey = NULL;
}
