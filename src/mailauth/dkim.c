/* dkim: the signed header data of a DKIM signature (RFC 6376 3.7, 5.4.2). */
#include "mailauth/dkim.h"

#include "mail/header.h"
#include "mailauth/tags.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct field {
	const char *text; /* name through value, folding kept */
	size_t len;
	const char *name;
	size_t name_len;
	bool used;
};

/* The next name of an h= list ("from : to:subject"); false at the end. */
static bool next_name(const char **p, const char *end, const char **name,
		      size_t *len)
{
	while (*p < end && strchr(" \t\r\n:", **p) != NULL)
		(*p)++;
	if (*p >= end)
		return false;
	*name = *p;
	while (*p < end && strchr(" \t\r\n:", **p) == NULL)
		(*p)++;
	*len = (size_t)(*p - *name);
	return true;
}

/* The last field called name not taken yet (RFC 6376 5.4.2). */
static struct field *take(struct field *f, size_t n, const char *name,
			  size_t len)
{
	for (size_t i = n; i-- > 0;)
		if (!f[i].used && f[i].name_len == len &&
		    strncasecmp(f[i].name, name, len) == 0) {
			f[i].used = true;
			return &f[i];
		}
	return NULL;
}

int dkim_field_without_b(const char *sig, size_t len, struct buf *out,
			 const char **error_r)
{
	const char *colon = memchr(sig, ':', len);
	struct dkim_tags t;
	if (colon == NULL ||
	    dkim_tags_parse(colon + 1, len - (size_t)(colon + 1 - sig), &t,
			    error_r) < 0)
		return -1;
	const struct dkim_tag *b = dkim_tags_get(&t, "b");
	if (b == NULL) {
		*error_r = "no b= tag";
		return -1;
	}
	const char *from = b->name + 1, *end = sig + len;
	while (*from != '=')
		from++;
	from++; /* just after "b=" */
	const char *to = b->value + b->value_len;
	while (to < end && *to != ';')
		to++;
	if (buf_append(out, sig, (size_t)(from - sig)) < 0 ||
	    buf_append(out, to, (size_t)(end - to)) < 0) {
		*error_r = "out of memory";
		return -1;
	}
	return 0;
}

static int collect(const char *hdr, size_t hdr_len, struct field *f,
		   size_t *n)
{
	size_t pos = 0;
	struct header_field hf;
	*n = 0;
	while (header_next(hdr, hdr_len, &pos, &hf) == 1) {
		if (*n == DKIM_FIELDS_MAX)
			return -1;
		f[*n] = (struct field){
			.text = hf.name,
			.len = (size_t)(hf.value + hf.value_len - hf.name),
			.name = hf.name,
			.name_len = hf.name_len,
		};
		(*n)++;
	}
	return 0;
}

int dkim_header_data(const char *hdr, size_t hdr_len, const char *h,
		     size_t h_len, enum canon c, const char *sig,
		     size_t sig_len, struct buf *out, const char **error_r)
{
	struct field *f = calloc(DKIM_FIELDS_MAX, sizeof(*f));
	struct buf s;
	buf_init(&s, 0);
	int rc = -1;
	size_t n, listed = 0;
	*error_r = NULL;
	if (f == NULL || collect(hdr, hdr_len, f, &n) < 0) {
		*error_r = f == NULL ? "out of memory" : "too many header fields";
		goto out;
	}
	const char *p = h, *name;
	size_t len;
	while (next_name(&p, h + h_len, &name, &len)) {
		if (++listed > DKIM_H_MAX) {
			*error_r = "h= lists too many fields";
			goto out;
		}
		struct field *got = take(f, n, name, len);
		if (got != NULL && canon_header(c, got->text, got->len, out) < 0) {
			*error_r = "out of memory";
			goto out;
		}
	}
	if (dkim_field_without_b(sig, sig_len, &s, error_r) < 0 ||
	    canon_header(c, s.data, s.len, out) < 0) {
		if (*error_r == NULL)
			*error_r = "out of memory";
		goto out;
	}
	out->len -= 2; /* RFC 6376 3.7: without its final CRLF */
	out->data[out->len] = '\0';
	rc = 0;
out:
	free(f);
	buf_free(&s);
	return rc;
}
