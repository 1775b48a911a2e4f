/* tags: DKIM tag=value lists (RFC 6376 3.2), as DKIM-Signature fields, key
 * records and ARC headers write them:
 *
 *   v=1; a=rsa-sha256; d=example.org; s=sel;
 *     h=from:to; bh=...; b=...
 *
 * Pure code: values point into the caller's text (not NUL-terminated);
 * folding whitespace inside a value is kept, around it dropped. A tag that
 * occurs twice makes the whole list invalid (RFC 6376 3.2). */
#ifndef POSTERN_MAILAUTH_TAGS_H
#define POSTERN_MAILAUTH_TAGS_H

#include <stdbool.h>
#include <stddef.h>

enum { DKIM_TAGS_MAX = 32 };

struct dkim_tag {
	const char *name, *value;
	size_t name_len, value_len;
};

struct dkim_tags {
	struct dkim_tag tag[DKIM_TAGS_MAX];
	size_t n;
};

/* Parse s[0..len). 0, or -1 with *error_r. */
int dkim_tags_parse(const char *s, size_t len, struct dkim_tags *out,
		    const char **error_r);
/* The tag called name, or NULL. */
const struct dkim_tag *dkim_tags_get(const struct dkim_tags *t,
				     const char *name);
/* Whether a colon-separated list value (q=, h=, s=) holds item, case
 * ignored; the other items are not looked at (RFC 6376 3.5, 3.6.1). */
bool dkim_tag_lists(const struct dkim_tag *t, const char *item);
/* Whether the tag's value equals text exactly. */
bool dkim_tag_is(const struct dkim_tag *t, const char *text);

#endif
