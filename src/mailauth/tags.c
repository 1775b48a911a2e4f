/* tags: RFC 6376 3.2 tag-lists.
 *
 *   tag-list  =  tag-spec *( ";" tag-spec ) [ ";" ]
 *   tag-spec  =  [FWS] tag-name [FWS] "=" [FWS] tag-value [FWS]
 *   tag-name  =  ALPHA *ALNUMPUNC          ; ALNUMPUNC = ALPHA / DIGIT / "_"
 *   tag-value =  [ tval *( 1*(WSP / FWS) tval ) ]
 *   tval      =  1*VALCHAR                 ; VALCHAR = %x21-3A / %x3C-7E */
#include "mailauth/tags.h"

#include <string.h>
#include <strings.h>

static bool is_fws(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static bool is_alpha(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool is_valchar(char c)
{
	unsigned char u = (unsigned char)c;
	return u >= 0x21 && u <= 0x7e && c != ';';
}

/* FWS may only fold: a line break must be followed by WSP. */
static bool skip_fws(const char *s, size_t len, size_t *i)
{
	while (*i < len && is_fws(s[*i])) {
		if (s[*i] == '\n' && (*i + 1 >= len || (s[*i + 1] != ' ' &&
							s[*i + 1] != '\t')))
			return false;
		if (s[*i] == '\r' && (*i + 1 >= len || s[*i + 1] != '\n'))
			return false;
		(*i)++;
	}
	return true;
}

static int parse_spec(const char *s, size_t len, size_t *i,
		      struct dkim_tag *t, const char **error_r)
{
	if (!skip_fws(s, len, i)) {
		*error_r = "bad folding";
		return -1;
	}
	size_t start = *i;
	if (*i >= len || !is_alpha(s[*i])) {
		*error_r = "a tag name must start with a letter";
		return -1;
	}
	while (*i < len && (is_alpha(s[*i]) || (s[*i] >= '0' && s[*i] <= '9') ||
			    s[*i] == '_'))
		(*i)++;
	t->name = s + start;
	t->name_len = *i - start;
	if (!skip_fws(s, len, i) || *i >= len || s[*i] != '=') {
		*error_r = "a tag without '='";
		return -1;
	}
	(*i)++;
	if (!skip_fws(s, len, i)) {
		*error_r = "bad folding";
		return -1;
	}
	start = *i;
	size_t end = start; /* after the last VALCHAR */
	while (*i < len && s[*i] != ';') {
		if (is_valchar(s[*i]))
			end = ++(*i);
		else if (is_fws(s[*i]) && skip_fws(s, len, i))
			continue;
		else {
			*error_r = "a control byte or bad folding in a value";
			return -1;
		}
	}
	t->value = s + start;
	t->value_len = end - start;
	return 0;
}

int dkim_tags_parse(const char *s, size_t len, struct dkim_tags *out,
		    const char **error_r)
{
	out->n = 0;
	size_t i = 0;
	for (;;) {
		size_t save = i;
		if (!skip_fws(s, len, &i)) {
			*error_r = "bad folding";
			return -1;
		}
		if (i >= len && out->n > 0)
			return 0; /* a final ";" (or nothing after it) */
		i = save;
		if (out->n == DKIM_TAGS_MAX) {
			*error_r = "too many tags";
			return -1;
		}
		struct dkim_tag *t = &out->tag[out->n];
		if (parse_spec(s, len, &i, t, error_r) < 0)
			return -1;
		for (size_t k = 0; k < out->n; k++)
			if (out->tag[k].name_len == t->name_len &&
			    memcmp(out->tag[k].name, t->name, t->name_len) == 0) {
				*error_r = "a tag occurs twice";
				return -1;
			}
		out->n++;
		if (i >= len)
			return 0;
		i++; /* the ';' */
	}
}

const struct dkim_tag *dkim_tags_get(const struct dkim_tags *t,
				     const char *name)
{
	size_t n = strlen(name);
	for (size_t i = 0; i < t->n; i++)
		if (t->tag[i].name_len == n && memcmp(t->tag[i].name, name, n) == 0)
			return &t->tag[i];
	return NULL;
}

bool dkim_tag_is(const struct dkim_tag *t, const char *text)
{
	return t != NULL && t->value_len == strlen(text) &&
	       memcmp(t->value, text, t->value_len) == 0;
}

bool dkim_tag_lists(const struct dkim_tag *t, const char *item)
{
	size_t n = strlen(item), i = 0;
	while (i < t->value_len) {
		while (i < t->value_len && strchr(" \t\r\n:", t->value[i]))
			i++;
		size_t start = i;
		while (i < t->value_len && !strchr(" \t\r\n:", t->value[i]))
			i++;
		if (i - start == n && strncasecmp(t->value + start, item, n) == 0)
			return true;
	}
	return false;
}
