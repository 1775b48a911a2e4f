/* envelope: FETCH ENVELOPE (see envelope.h). */
#include "imapd/envelope.h"

#include "imapd/imapstr.h"
#include "mail/addrlist.h"

#include <errno.h>

static bool is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* An unstructured value, unfolded (RFC 5322 2.2.3) and trimmed, as an
 * nstring. A short value without line ends is written in place. */
static int write_text(struct buf *out, struct mime_str v)
{
	if (v.p == NULL)
		return imap_write_nstring(out, NULL, 0);
	size_t a = 0, b = v.len;
	while (a < b && is_blank(v.p[a]))
		a++;
	while (b > a && is_blank(v.p[b - 1]))
		b--;
	struct buf tmp;
	buf_init(&tmp, 0);
	size_t start = a;
	for (size_t i = a; i < b; i++) {
		if (v.p[i] != '\r' && v.p[i] != '\n')
			continue;
		if (buf_append(&tmp, v.p + start, i - start) < 0)
			goto fail;
		start = i + 1;
	}
	if (start == a) /* nothing to unfold */
		return imap_write_string(out, v.p + a, b - a);
	if (buf_append(&tmp, v.p + start, b - start) < 0)
		goto fail;
	int rc = imap_write_string(out, tmp.data, tmp.len);
	buf_free(&tmp);
	return rc;
fail:
	buf_free(&tmp);
	return -1;
}

static int write_span(struct buf *out, const struct addrlist *al,
                      struct addrlist_span s)
{
	return imap_write_nstring(out, addrlist_text(al, s), s.len);
}

static int write_address(struct buf *out, const struct addrlist *al,
                         const struct addrlist_entry *e)
{
	if (e->kind == ADDRLIST_GROUP_END)
		return buf_append_str(out, "(NIL NIL NIL NIL)");
	if (e->kind == ADDRLIST_GROUP) {
		/* RFC 9051 7.5.2: group start is (NIL NIL "name" NIL) */
		if (buf_append_str(out, "(NIL NIL ") < 0 ||
		    write_span(out, al, e->name) < 0)
			return -1;
		return buf_append_str(out, " NIL)");
	}
	if (buf_append_byte(out, '(') < 0 || write_span(out, al, e->name) < 0 ||
	    buf_append_byte(out, ' ') < 0 ||
	    write_span(out, al, e->route) < 0 ||
	    buf_append_byte(out, ' ') < 0 ||
	    write_span(out, al, e->mailbox) < 0 ||
	    buf_append_byte(out, ' ') < 0 || write_span(out, al, e->host) < 0)
		return -1;
	return buf_append_byte(out, ')');
}

/* An address list, or NIL (*empty set) when the field is absent or holds
 * no address. */
static int write_list(struct buf *out, struct addrlist *al, struct mime_str v,
                      bool *empty)
{
	*empty = true;
	if (v.p != NULL && addrlist_parse(al, v.p, v.len) < 0)
		return -1;
	if (v.p == NULL || al->n == 0)
		return buf_append_str(out, "NIL");
	*empty = false;
	if (buf_append_byte(out, '(') < 0)
		return -1;
	for (size_t i = 0; i < al->n; i++)
		if (write_address(out, al, &al->v[i]) < 0)
			return -1;
	return buf_append_byte(out, ')');
}

/* Sender or Reply-To: its own list, or From's again (out[from, from_end)). */
static int write_defaulted(struct buf *out, struct addrlist *al,
                           struct mime_str v, size_t from, size_t from_end)
{
	size_t mark = out->len;
	bool empty;
	if (write_list(out, al, v, &empty) < 0)
		return -1;
	if (!empty)
		return 0;
	buf_truncate(out, mark);
	size_t n = from_end - from;
	/* reserve first: appending out's own bytes must not see a realloc */
	if (buf_reserve(out, n) < 0)
		return -1;
	return buf_append(out, out->data + from, n);
}

static int write_all(struct buf *out, struct addrlist *al,
                     const struct mime_envelope *env)
{
	const struct mime_str *f = env->field;
	bool empty;
	if (buf_append_byte(out, '(') < 0 ||
	    write_text(out, f[MIME_ENV_DATE]) < 0 ||
	    buf_append_byte(out, ' ') < 0 ||
	    write_text(out, f[MIME_ENV_SUBJECT]) < 0 ||
	    buf_append_byte(out, ' ') < 0)
		return -1;
	size_t from = out->len;
	if (write_list(out, al, f[MIME_ENV_FROM], &empty) < 0)
		return -1;
	size_t from_end = out->len;
	for (int i = MIME_ENV_SENDER; i <= MIME_ENV_REPLY_TO; i++)
		if (buf_append_byte(out, ' ') < 0 ||
		    write_defaulted(out, al, f[i], from, from_end) < 0)
			return -1;
	for (int i = MIME_ENV_TO; i <= MIME_ENV_BCC; i++)
		if (buf_append_byte(out, ' ') < 0 ||
		    write_list(out, al, f[i], &empty) < 0)
			return -1;
	if (buf_append_byte(out, ' ') < 0 ||
	    write_text(out, f[MIME_ENV_IN_REPLY_TO]) < 0 ||
	    buf_append_byte(out, ' ') < 0 ||
	    write_text(out, f[MIME_ENV_MESSAGE_ID]) < 0)
		return -1;
	return buf_append_byte(out, ')');
}

int imap_envelope_write(struct buf *out, const struct mime_envelope *env)
{
	struct addrlist al;
	addrlist_init(&al);
	int rc = write_all(out, &al, env);
	int saved = errno;
	addrlist_free(&al);
	errno = saved;
	return rc;
}

int imap_envelope_part(struct buf *out, const struct mime_msg *m,
                       const struct mime_part *p)
{
	struct mime_envelope env;
	mime_envelope(m, p, &env);
	return imap_envelope_write(out, &env);
}
