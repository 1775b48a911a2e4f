/* fetchitem: FETCH attributes and section specs (see fetchitem.h). */
#include "imapd/fetchitem.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* A cursor over the text of one attribute. */
struct cur {
	const char *s;
	size_t n, i;
};

/* Whether word (upper-case) follows at c->i, case-insensitively; if so it
 * is taken. */
static bool take(struct cur *c, const char *word)
{
	size_t k = strlen(word);
	if (c->n - c->i < k || strncasecmp(c->s + c->i, word, k) != 0)
		return false;
	c->i += k;
	return true;
}

static bool is_digit(char ch)
{
	return ch >= '0' && ch <= '9';
}

/* number: 1-10 digits, <= 4294967295. 0, -1 (none), -2 (too large). */
static int number(struct cur *c, uint32_t *out)
{
	size_t a = c->i;
	while (c->i < c->n && is_digit(c->s[c->i]))
		c->i++;
	if (c->i == a)
		return -1;
	uint64_t v;
	if (imap_parse_number(c->s + a, c->i - a, 10, UINT32_MAX, &v) < 0)
		return -2;
	*out = (uint32_t)v;
	return 0;
}

/* ------------------------------------------------------------ sections */

/* What a section is parsed into before it is copied into one block. */
struct raw_section {
	uint32_t parts[FETCH_PARTS_MAX];
	size_t n_parts;
	enum fetch_text text;
	struct {
		size_t a, b; /* in the attribute text, quotes excluded */
		bool quoted;
	} fields[FETCH_FIELDS_MAX];
	size_t n_fields;
	size_t text_bytes; /* of the names, unquoted */
};

/* section-part: "1.2.3", stopping before ".TEXT" and the like. */
static int parse_parts(struct cur *c, struct raw_section *rs,
                       const char **error_r)
{
	while (c->i < c->n && is_digit(c->s[c->i])) {
		if (c->s[c->i] == '0') {
			*error_r = "Invalid section: part numbers start at 1";
			return -1;
		}
		if (rs->n_parts == FETCH_PARTS_MAX) {
			*error_r = "Invalid section: too many part numbers";
			return -1;
		}
		if (number(c, &rs->parts[rs->n_parts++]) < 0) {
			*error_r = "Invalid section: part number too large";
			return -1;
		}
		if (c->i == c->n)
			return 0;
		if (c->s[c->i] != '.') {
			*error_r = "Invalid section: bad part number";
			return -1;
		}
		c->i++;
		if (c->i == c->n) {
			*error_r = "Invalid section: nothing after a dot";
			return -1;
		}
	}
	return 0;
}

/* RFC 9051 9: ASTRING-CHAR, less "]" which the section ends on. */
static bool name_char(unsigned char ch)
{
	return ch > 0x20 && ch < 0x7f && strchr("(){%*\"\\[]", ch) == NULL;
}

/* One header-fld-name at c->i: an atom or a quoted string. */
static int field_name(struct cur *c, struct raw_section *rs,
                      const char **error_r)
{
	size_t a = c->i, b, len;
	bool quoted = c->i < c->n && c->s[c->i] == '"';
	if (quoted) {
		len = 0;
		for (b = ++a; b < c->n && c->s[b] != '"'; b++, len++)
			if (c->s[b] == '\\' && b + 1 < c->n)
				b++;
		if (b == c->n) {
			*error_r =
			        "Invalid section: unterminated quoted string";
			return -1;
		}
		c->i = b + 1;
	} else {
		for (b = a; b < c->n && name_char((unsigned char)c->s[b]); b++)
			;
		len = b - a;
		c->i = b;
		if (len == 0) {
			*error_r = "Invalid section: bad header field name";
			return -1;
		}
	}
	if (len > FETCH_FIELD_NAME_MAX) {
		*error_r = "Invalid section: header field name too long";
		return -1;
	}
	if (rs->n_fields == FETCH_FIELDS_MAX) {
		*error_r = "Invalid section: too many header fields";
		return -1;
	}
	rs->fields[rs->n_fields].a = a;
	rs->fields[rs->n_fields].b = b;
	rs->fields[rs->n_fields++].quoted = quoted;
	rs->text_bytes += len;
	return 0;
}

/* SP "(" header-fld-name *(SP header-fld-name) ")" */
static int header_list(struct cur *c, struct raw_section *rs,
                       const char **error_r)
{
	if (!take(c, " (")) {
		*error_r = "Invalid section: HEADER.FIELDS needs a list of "
		           "field names";
		return -1;
	}
	if (take(c, ")")) {
		*error_r = "Invalid section: empty list of header fields";
		return -1;
	}
	do {
		if (field_name(c, rs, error_r) < 0)
			return -1;
	} while (take(c, " "));
	if (!take(c, ")")) {
		*error_r = "Invalid section: bad list of header fields";
		return -1;
	}
	return 0;
}

/* section-text after the part numbers (or alone: section-msgtext). */
static int parse_text(struct cur *c, struct raw_section *rs,
                      const char **error_r)
{
	if (c->i == c->n)
		return 0;
	if (take(c, "HEADER.FIELDS.NOT")) {
		rs->text = FETCH_TEXT_HEADER_FIELDS_NOT;
		return header_list(c, rs, error_r);
	}
	if (take(c, "HEADER.FIELDS")) {
		rs->text = FETCH_TEXT_HEADER_FIELDS;
		return header_list(c, rs, error_r);
	}
	if (take(c, "HEADER"))
		rs->text = FETCH_TEXT_HEADER;
	else if (take(c, "TEXT"))
		rs->text = FETCH_TEXT_TEXT;
	else if (take(c, "MIME"))
		rs->text = FETCH_TEXT_MIME;
	if (rs->text == FETCH_TEXT_NONE) {
		*error_r = "Invalid section: unknown section text";
		return -1;
	}
	if (rs->text == FETCH_TEXT_MIME && rs->n_parts == 0) {
		*error_r = "Invalid section: MIME needs a part number";
		return -1;
	}
	return 0;
}

/* Copy the numbers and the unquoted names into one block owned by att. */
static int keep_section(struct fetch_att *att, const struct raw_section *rs,
                        const char *s, const char **error_r)
{
	size_t parts = rs->n_parts * sizeof(uint32_t);
	size_t names = rs->n_fields * sizeof(struct fetch_name);
	char *mem = malloc(names + parts + rs->text_bytes + 1);
	if (mem == NULL) {
		*error_r = "Out of memory";
		return -1;
	}
	struct fetch_name *fv = (struct fetch_name *)mem;
	uint32_t *pv = (uint32_t *)(mem + names);
	char *text = mem + names + parts;
	memcpy(pv, rs->parts, parts);
	for (size_t k = 0; k < rs->n_fields; k++) {
		fv[k].p = text;
		for (size_t j = rs->fields[k].a; j < rs->fields[k].b; j++) {
			if (rs->fields[k].quoted && s[j] == '\\')
				j++;
			*text++ = s[j];
		}
		fv[k].len = (size_t)(text - fv[k].p);
	}
	att->mem = mem;
	att->section = (struct fetch_section){pv, rs->n_parts, rs->text, fv,
	                                      rs->n_fields};
	return 0;
}

/* The section spec between "[" and its "]", s[a..b). */
static int parse_section(const char *s, size_t a, size_t b,
                         struct fetch_att *att, const char **error_r)
{
	struct raw_section *rs = calloc(1, sizeof(*rs));
	if (rs == NULL) {
		*error_r = "Out of memory";
		return -1;
	}
	struct cur c = {s, b, a};
	int rc = parse_parts(&c, rs, error_r);
	if (rc == 0 && att->kind != FETCH_BODY_SECTION && c.i < c.n) {
		/* RFC 3516 4.1: section-binary = "[" [section-part] "]" */
		*error_r = "Invalid section: BINARY takes part numbers only";
		rc = -1;
	}
	if (rc == 0)
		rc = parse_text(&c, rs, error_r);
	if (rc == 0 && c.i < c.n) {
		*error_r = "Invalid section: unexpected text in section";
		rc = -1;
	}
	if (rc == 0)
		rc = keep_section(att, rs, s, error_r);
	free(rs);
	return rc;
}

/* Where the "]" that closes the "[" at s[i] is, quoted strings skipped;
 * n when there is none. */
static size_t section_end(const char *s, size_t n, size_t i)
{
	for (size_t j = i + 1; j < n; j++) {
		if (s[j] == ']')
			return j;
		if (s[j] != '"')
			continue;
		for (j++; j < n && s[j] != '"'; j++)
			if (s[j] == '\\' && j + 1 < n)
				j++;
		if (j == n)
			break;
	}
	return n;
}

/* partial = "<" number "." nz-number ">", the end of the attribute. */
static int parse_partial(struct cur *c, struct fetch_att *att,
                         const char **error_r)
{
	int r1 = number(c, &att->origin);
	int r2 = r1 == 0 && take(c, ".") ? number(c, &att->count) : -1;
	if (r1 == -2 || r2 == -2) {
		*error_r = "Invalid partial: number too large";
		return -1;
	}
	if (r1 < 0 || r2 < 0 || !take(c, ">") || c->i != c->n) {
		*error_r = "Invalid partial: <origin.count> expected";
		return -1;
	}
	if (att->count == 0) {
		*error_r = "Invalid partial: count must be 1 or more";
		return -1;
	}
	att->partial = true;
	return 0;
}

/* ------------------------------------------------------------ attributes */

static const struct {
	const char *name;
	enum fetch_kind kind;
	bool peek;
	enum fetch_text text; /* the section the RFC822 forms stand for */
} simple[] = {
        {"FLAGS", FETCH_FLAGS, false, FETCH_TEXT_NONE},
        {"INTERNALDATE", FETCH_INTERNALDATE, false, FETCH_TEXT_NONE},
        {"RFC822.SIZE", FETCH_RFC822_SIZE, false, FETCH_TEXT_NONE},
        {"ENVELOPE", FETCH_ENVELOPE, false, FETCH_TEXT_NONE},
        {"BODY", FETCH_BODY, false, FETCH_TEXT_NONE},
        {"BODYSTRUCTURE", FETCH_BODYSTRUCTURE, false, FETCH_TEXT_NONE},
        {"UID", FETCH_UID, false, FETCH_TEXT_NONE},
        {"MODSEQ", FETCH_MODSEQ, false, FETCH_TEXT_NONE},
        {"RFC822", FETCH_RFC822, false, FETCH_TEXT_NONE},
        {"RFC822.HEADER", FETCH_RFC822_HEADER, true, FETCH_TEXT_HEADER},
        {"RFC822.TEXT", FETCH_RFC822_TEXT, false, FETCH_TEXT_TEXT},
};

static const struct {
	const char *name;
	enum fetch_kind kind;
	bool peek;
} sectioned[] = {
        {"BODY", FETCH_BODY_SECTION, false},
        {"BODY.PEEK", FETCH_BODY_SECTION, true},
        {"BINARY", FETCH_BINARY, false},
        {"BINARY.PEEK", FETCH_BINARY, true},
        {"BINARY.SIZE", FETCH_BINARY_SIZE, true},
};

static bool name_is(const char *s, size_t n, const char *name)
{
	return strlen(name) == n && strncasecmp(s, name, n) == 0;
}

static int parse_simple(const char *s, size_t len, struct fetch_att *att,
                        const char **error_r)
{
	for (size_t k = 0; k < sizeof(simple) / sizeof(*simple); k++) {
		if (!name_is(s, len, simple[k].name))
			continue;
		att->kind = simple[k].kind;
		att->peek = simple[k].peek;
		att->section.text = simple[k].text;
		return 0;
	}
	*error_r = "Unknown FETCH attribute";
	return -1;
}

int fetch_att_parse(const char *s, size_t len, struct fetch_att *att,
                    const char **error_r)
{
	*att = (struct fetch_att){0};
	const char *br = memchr(s, '[', len);
	if (br == NULL)
		return parse_simple(s, len, att, error_r);
	size_t name = (size_t)(br - s), k = 0;
	while (k < sizeof(sectioned) / sizeof(*sectioned) &&
	       !name_is(s, name, sectioned[k].name))
		k++;
	if (k == sizeof(sectioned) / sizeof(*sectioned)) {
		*error_r = "Unknown FETCH attribute";
		return -1;
	}
	att->kind = sectioned[k].kind;
	att->peek = sectioned[k].peek;
	size_t end = section_end(s, len, name);
	if (end == len) {
		*error_r = "Invalid section: no closing ]";
		return -1;
	}
	if (parse_section(s, name + 1, end, att, error_r) < 0)
		return -1;
	struct cur c = {s, len, end + 1};
	int rc = 0;
	if (c.i < c.n && att->kind == FETCH_BINARY_SIZE) {
		*error_r = "BINARY.SIZE takes no partial";
		rc = -1;
	} else if (c.i < c.n && !take(&c, "<")) {
		*error_r = "Unexpected text after the section";
		rc = -1;
	} else if (c.i > end + 1) {
		rc = parse_partial(&c, att, error_r);
	}
	if (rc < 0)
		fetch_att_free(att);
	return rc;
}

void fetch_att_free(struct fetch_att *att)
{
	free(att->mem);
	att->mem = NULL;
	att->section = (struct fetch_section){0};
}

/* ------------------------------------------------------------ lists */

static int add(struct fetch_list *list, const char *s, size_t len,
               const char **error_r)
{
	if (list->n == FETCH_ATTS_MAX) {
		*error_r = "Too many FETCH attributes";
		return -1;
	}
	if (list->v == NULL) {
		list->v = calloc(FETCH_ATTS_MAX, sizeof(*list->v));
		if (list->v == NULL) {
			*error_r = "Out of memory";
			return -1;
		}
	}
	if (fetch_att_parse(s, len, &list->v[list->n], error_r) < 0)
		return -1;
	list->n++;
	return 0;
}

/* RFC 9051 6.4.5: the macros, only ever alone. */
static int macro(struct fetch_list *list, const char *s, size_t len,
                 const char **error_r, bool *done)
{
	static const char *const fast[] = {"FLAGS", "INTERNALDATE",
	                                   "RFC822.SIZE", "ENVELOPE", "BODY"};
	size_t n = name_is(s, len, "FAST")   ? 3
	           : name_is(s, len, "ALL")  ? 4
	           : name_is(s, len, "FULL") ? 5
	                                     : 0;
	*done = n > 0;
	for (size_t k = 0; k < n; k++)
		if (add(list, fast[k], strlen(fast[k]), error_r) < 0)
			return -1;
	return 0;
}

int fetch_list_parse(const struct imap_arg *args, uint32_t n_args, uint32_t i,
                     struct fetch_list *list, const char **error_r)
{
	*list = (struct fetch_list){0};
	if (i >= n_args) {
		*error_r = "Missing FETCH attributes";
		return -1;
	}
	const struct imap_arg *a = &args[i];
	if (a->type == IMAP_ARG_ATOM) {
		bool done;
		if (macro(list, a->str, a->len, error_r, &done) < 0)
			return -1;
		return done ? 0 : add(list, a->str, a->len, error_r);
	}
	if (a->type != IMAP_ARG_LIST || a->count == 0) {
		*error_r = "Invalid FETCH attributes";
		return -1;
	}
	for (uint32_t k = i + 1; k < a->next && k < n_args; k = args[k].next) {
		if (args[k].type != IMAP_ARG_ATOM) {
			*error_r = "Invalid FETCH attribute";
			return -1;
		}
		if (add(list, args[k].str, args[k].len, error_r) < 0)
			return -1;
	}
	return 0;
}

void fetch_list_free(struct fetch_list *list)
{
	for (size_t k = 0; k < list->n; k++)
		fetch_att_free(&list->v[k]);
	free(list->v);
	*list = (struct fetch_list){0};
}
