/* bodystructure: FETCH BODY and BODYSTRUCTURE (see bodystructure.h). */
#include "imapd/bodystructure.h"

#include "imapd/crlf.h"
#include "imapd/envelope.h"
#include "imapd/imapstr.h"

#include <errno.h>
#include <string.h>

struct writer {
	struct buf *out;
	const struct mime_msg *m;
	struct crlf_index ix;
	bool ext;
};

static bool str_is(struct mime_str s, const char *lit)
{
	return s.p != NULL && s.len == strlen(lit) &&
	       memcmp(s.p, lit, s.len) == 0;
}

static int sp(struct writer *w)
{
	return buf_append_byte(w->out, ' ');
}

static int nstr(struct writer *w, struct mime_str s)
{
	return imap_write_nstring(w->out, s.p, s.len);
}

static int upper(struct writer *w, struct mime_str s)
{
	return imap_write_upper(w->out, s.p, s.len);
}

/* RFC 2231 7: attribute-char, which may stand unencoded in a value. */
static bool attribute_char(unsigned char c)
{
	return c > 0x20 && c < 0x7f &&
	       strchr("*'%()<>@,;:\\\"/[]?=", c) == NULL;
}

/* charset'language'value, %XX-encoded (RFC 2231 4). */
static int write_2231(struct writer *w, const struct mime_param *p)
{
	static const char hex[] = "0123456789ABCDEF";
	struct buf v;
	buf_init(&v, 0);
	int rc = -1;
	if (buf_append(&v, p->charset.p, p->charset.len) < 0 ||
	    buf_append_byte(&v, '\'') < 0 ||
	    (p->language.p != NULL &&
	     buf_append(&v, p->language.p, p->language.len) < 0) ||
	    buf_append_byte(&v, '\'') < 0)
		goto done;
	for (size_t i = 0; i < p->value.len; i++) {
		unsigned char c = (unsigned char)p->value.p[i];
		char e[3] = {'%', hex[c >> 4], hex[c & 15]};
		if (attribute_char(c) ? buf_append_byte(&v, (char)c) < 0
		                      : buf_append(&v, e, 3) < 0)
			goto done;
	}
	rc = imap_write_string(w->out, v.data, v.len);
done:
	buf_free(&v);
	return rc;
}

/* body-fld-param: ("NAME" "value" ...) or NIL. */
static int write_params(struct writer *w, const struct mime_params *ps)
{
	if (ps->n == 0)
		return buf_append_str(w->out, "NIL");
	if (buf_append_byte(w->out, '(') < 0)
		return -1;
	for (size_t i = 0; i < ps->n; i++) {
		const struct mime_param *p = &ps->v[i];
		bool enc = p->extended && p->charset.p != NULL;
		struct mime_str name = p->name;
		char star[MIME_TOKEN_MAX + 1];
		if (enc) {
			memcpy(star, name.p, name.len);
			star[name.len] = '*';
			name = (struct mime_str){star, name.len + 1};
		}
		if ((i > 0 && sp(w) < 0) || upper(w, name) < 0 || sp(w) < 0)
			return -1;
		if (enc ? write_2231(w, p) < 0
		        : imap_write_string(w->out, p->value.p, p->value.len) <
		                    0)
			return -1;
	}
	return buf_append_byte(w->out, ')');
}

/* body-fld-dsp: ("ATTACHMENT" params) or NIL. */
static int write_disposition(struct writer *w, const struct mime_part *p)
{
	if (p->disposition.p == NULL)
		return buf_append_str(w->out, "NIL");
	if (buf_append_byte(w->out, '(') < 0 || upper(w, p->disposition) < 0 ||
	    sp(w) < 0 || write_params(w, &p->disposition_params) < 0)
		return -1;
	return buf_append_byte(w->out, ')');
}

/* body-fld-lang: one tag as a string, several as a list (Content-Language
 * is a comma-separated list, RFC 3282). */
static int write_language(struct writer *w, struct mime_str l)
{
	struct mime_str tags[64];
	size_t n = 0, i = 0;
	while (l.p != NULL && i < l.len && n < sizeof(tags) / sizeof(*tags)) {
		while (i < l.len && (l.p[i] == ' ' || l.p[i] == '\t'))
			i++;
		size_t a = i;
		while (i < l.len && l.p[i] != ',')
			i++;
		size_t b = i++;
		while (b > a && (l.p[b - 1] == ' ' || l.p[b - 1] == '\t'))
			b--;
		if (b > a)
			tags[n++] = (struct mime_str){l.p + a, b - a};
	}
	if (n == 0)
		return buf_append_str(w->out, "NIL");
	if (n == 1)
		return nstr(w, tags[0]);
	if (buf_append_byte(w->out, '(') < 0)
		return -1;
	for (size_t k = 0; k < n; k++)
		if ((k > 0 && sp(w) < 0) || nstr(w, tags[k]) < 0)
			return -1;
	return buf_append_byte(w->out, ')');
}

/* SP body-fld-dsp SP body-fld-lang SP body-fld-loc */
static int write_ext_tail(struct writer *w, const struct mime_part *p)
{
	if (sp(w) < 0 || write_disposition(w, p) < 0 || sp(w) < 0 ||
	    write_language(w, p->language) < 0 || sp(w) < 0)
		return -1;
	return nstr(w, p->location);
}

static int write_part(struct writer *w, const struct mime_part *p);

static int write_multipart(struct writer *w, const struct mime_part *p)
{
	/* siblings in order, each once: linear in the number of parts */
	for (const struct mime_part *c = p->child; c != NULL; c = c->next)
		if (write_part(w, c) < 0)
			return -1;
	if (sp(w) < 0 || upper(w, p->subtype) < 0)
		return -1;
	if (!w->ext)
		return 0;
	if (sp(w) < 0 || write_params(w, &p->type_params) < 0)
		return -1;
	return write_ext_tail(w, p);
}

/* type SP subtype SP body-fields */
static int write_fields(struct writer *w, const struct mime_part *p,
                        bool opaque)
{
	static const struct mime_str app = {"application", 11},
	                             octet = {"octet-stream", 12};
	if (upper(w, opaque ? app : p->type) < 0 || sp(w) < 0 ||
	    upper(w, opaque ? octet : p->subtype) < 0 || sp(w) < 0 ||
	    write_params(w, &p->type_params) < 0 || sp(w) < 0 ||
	    nstr(w, p->id) < 0 || sp(w) < 0 || nstr(w, p->description) < 0 ||
	    sp(w) < 0 || upper(w, p->encoding) < 0)
		return -1;
	uint64_t octets = crlf_length(&w->ix, p->body_off, p->body_len);
	return buf_appendf(w->out, " %llu", (unsigned long long)octets);
}

static int write_leaf(struct writer *w, const struct mime_part *p)
{
	bool opaque = (p->flags & MIME_PART_OPAQUE) != 0;
	if (write_fields(w, p, opaque) < 0)
		return -1;
	if (p->kind == MIME_MESSAGE) {
		if (sp(w) < 0 ||
		    imap_envelope_part(w->out, w->m, p->child) < 0 ||
		    sp(w) < 0 || write_part(w, p->child) < 0)
			return -1;
	}
	bool lines =
	        p->kind == MIME_MESSAGE || (!opaque && str_is(p->type, "text"));
	if (lines && buf_appendf(w->out, " %zu", p->body_lines) < 0)
		return -1;
	if (!w->ext)
		return 0;
	if (sp(w) < 0 || nstr(w, p->md5) < 0)
		return -1;
	return write_ext_tail(w, p);
}

static int write_part(struct writer *w, const struct mime_part *p)
{
	if (buf_append_byte(w->out, '(') < 0)
		return -1;
	int rc = p->kind == MIME_MULTIPART ? write_multipart(w, p)
	                                   : write_leaf(w, p);
	if (rc < 0)
		return -1;
	return buf_append_byte(w->out, ')');
}

int imap_bodystructure_write(struct buf *out, const char *msg, size_t len,
                             const struct mime_msg *m, bool extended)
{
	struct writer w = {out, m, {0}, extended};
	if (crlf_index_init(&w.ix, msg, len) < 0)
		return -1;
	int rc = write_part(&w, mime_root(m));
	int saved = errno;
	crlf_index_free(&w.ix);
	errno = saved;
	return rc;
}
