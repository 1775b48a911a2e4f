/* authres: Authentication-Results fields. */
#include "mailauth/authres.h"

#include "mail/header.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

/* Past blanks, line ends and (nested) comments, RFC 5322 3.2.2 CFWS. */
static size_t skip_cfws(const char *s, size_t len, size_t i)
{
	int depth = 0;
	for (; i < len; i++) {
		char c = s[i];
		if (depth > 0 && c == '\\' && i + 1 < len)
			i++;
		else if (c == '(')
			depth++;
		else if (c == ')' && depth > 0)
			depth--;
		else if (depth == 0 && c != ' ' && c != '\t' && c != '\r' &&
			 c != '\n')
			break;
	}
	return i;
}

int authres_id(const char *value, size_t len, char *out, size_t n)
{
	size_t i = skip_cfws(value, len, 0), o = 0;
	bool quoted = i < len && value[i] == '"';
	if (quoted)
		i++;
	for (; i < len; i++) {
		char c = value[i];
		if (quoted && c == '\\' && i + 1 < len)
			c = value[++i];
		else if (quoted ? c == '"'
				: (c == ';' || c == '(' || c == ' ' || c == '\t' ||
				   c == '\r' || c == '\n'))
			break;
		if (o + 1 >= n)
			return -1;
		out[o++] = c;
	}
	out[o] = '\0';
	return o > 0 ? 0 : -1;
}

int authres_find_ours(const char *hdr, size_t len, const char *id,
		      struct authres_cut *cuts, size_t max)
{
	size_t pos = 0, n = 0;
	struct header_field f;
	char claimed[256];
	for (size_t start = 0; header_next(hdr, len, &pos, &f) == 1; start = pos) {
		if (!header_is(&f, "Authentication-Results") ||
		    authres_id(f.value, f.value_len, claimed, sizeof(claimed)) < 0 ||
		    strcasecmp(claimed, id) != 0)
			continue;
		if (n == max)
			return -1;
		cuts[n++] = (struct authres_cut){start, pos - start};
	}
	return (int)n;
}

int authres_begin(struct buf *out, const char *id)
{
	return buf_appendf(out, "Authentication-Results: %s", id);
}

static const char *alg_name(int alg)
{
	return alg == DKIM_ED25519_SHA256 ? "ed25519-sha256" : "rsa-sha256";
}

/* A comment's text: no parentheses or backslashes to escape. */
static int add_comment(struct buf *out, const char *text)
{
	int rc = buf_append_str(out, " (");
	for (; rc == 0 && *text != '\0'; text++)
		rc = buf_append_byte(out, strchr("()\\", *text) ? '_' : *text);
	return rc == 0 ? buf_append_byte(out, ')') : rc;
}

/* Property values come from the message (d=, i=, s= of a signature that
 * may not even parse): only a plain token goes into our field, so that
 * nothing can fold, comment or end it. */
static bool safe(const char *v)
{
	if (*v == '\0')
		return false;
	for (; *v != '\0'; v++)
		if (*v <= ' ' || *v >= 127 || strchr("();\"\\", *v) != NULL)
			return false;
	return true;
}

static int add_property(struct buf *out, const char *name, const char *value)
{
	return safe(value) ? buf_appendf(out, " %s=%s", name, value) : 0;
}

int authres_add_dkim(struct buf *out, const struct dkim_verify *v)
{
	if (dkim_verify_count(v) == 0)
		return buf_append_str(out, ";\n\tdkim=none");
	int rc = 0;
	for (size_t i = 0; rc == 0 && i < dkim_verify_count(v); i++) {
		const struct dkim_verified *r = dkim_verify_result(v, i);
		rc = buf_appendf(out, ";\n\tdkim=%s", dkim_result_name(r->result));
		if (rc == 0 && r->reason != NULL)
			rc = add_comment(out, r->reason);
		else if (rc == 0 && r->partial)
			rc = add_comment(out, "l= leaves part of the body unsigned");
		if (rc == 0 && r->testing)
			rc = add_comment(out, "key in testing mode");
		char b[9]; /* RFC 6008: the first 8 characters do */
		size_t bl = strnlen(r->b, 8);
		memcpy(b, r->b, bl);
		b[bl] = '\0';
		if (rc == 0)
			rc = add_property(out, "header.d", r->d);
		if (rc == 0)
			rc = add_property(out, "header.i", r->i);
		if (rc == 0)
			rc = add_property(out, "header.s", r->s);
		if (rc == 0 && safe(r->d))
			rc = add_property(out, "header.a", alg_name(r->alg));
		if (rc == 0)
			rc = add_property(out, "header.b", b);
	}
	return rc;
}

int authres_add_spf(struct buf *out, const char *result, const char *comment,
		    const char *property, const char *identity)
{
	int rc = buf_appendf(out, ";\n\tspf=%s", result);
	if (rc == 0 && comment != NULL)
		rc = add_comment(out, comment);
	/* a quoted local part is not a token: its domain says enough */
	const char *at = strrchr(identity, '@');
	if (!safe(identity) && at != NULL)
		identity = at + 1;
	return rc == 0 ? add_property(out, property, identity) : rc;
}

int authres_add_dmarc(struct buf *out, const char *result, const char *comment,
		      const char *domain)
{
	int rc = buf_appendf(out, ";\n\tdmarc=%s", result);
	if (rc == 0 && comment != NULL && comment[0] != '\0')
		rc = add_comment(out, comment);
	return rc == 0 ? add_property(out, "header.from", domain) : rc;
}

int authres_add_arc(struct buf *out, const struct arc_verified *a)
{
	char comment[64 + DKIM_DOMAIN_MAX];
	if (a->result == ARC_NONE) /* most mail: not worth a line */
		return 0;
	int rc = buf_appendf(out, ";\n\tarc=%s", arc_result_name(a->result));
	if (a->result == ARC_PASS)
		snprintf(comment, sizeof(comment), "i=%u d=%s", a->sets, a->d);
	if (rc == 0)
		rc = add_comment(out, a->result == ARC_PASS ? comment
				      : a->reason ? a->reason : "");
	return rc;
}

int authres_add_auth(struct buf *out, const char *user)
{
	return buf_appendf(out, ";\n\tauth=pass smtp.auth=%s", user);
}

int authres_end(struct buf *out)
{
	/* a field with no method at all says "none" */
	const char *semi = memchr(out->data, ';', out->len);
	return buf_append_str(out, semi == NULL ? "; none\n" : "\n");
}
