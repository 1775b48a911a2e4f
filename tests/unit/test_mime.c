/* Tests for src/mail/mime.c: the MIME tree of real shapes of mail (RFC 2045,
 * 2046, 2231), IMAP section numbering (RFC 9051 6.4.5), envelope fields,
 * and hostile messages that must parse within the limits: 10,000-deep
 * nesting, 100,000 header lines, 10,001 parts, megabyte lines. Every tree
 * is also checked against the invariants in check_tree(). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "lib/buf.h"
#include "mail/mime.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------ helpers */

static size_t count_lines(const char *s, size_t n)
{
	size_t c = 0;
	for (size_t i = 0; i < n; i++)
		c += s[i] == '\n';
	return c + (n > 0 && s[n - 1] != '\n');
}

/* What mime.h promises of every part, recursively; returns the parts. */
static size_t check_tree(const char *msg, size_t len, const struct mime_part *p)
{
	size_t end = p->body_off + p->body_len, n = 1;
	assert_true(p->header_off <= p->body_off && end <= len);
	assert_int_equal(p->body_lines,
	                 count_lines(msg + p->body_off, p->body_len));
	assert_true(p->depth <= MIME_DEPTH_MAX);
	assert_non_null(p->type.p);
	assert_non_null(p->subtype.p);
	if (p->kind == MIME_LEAF) {
		assert_null(p->child);
		return n;
	}
	assert_non_null(p->child);
	size_t at = p->body_off, k = 0;
	for (const struct mime_part *c = p->child; c != NULL; c = c->next) {
		assert_ptr_equal(c->parent, p);
		assert_int_equal(c->depth, p->depth + 1);
		assert_true(c->header_off >= at);
		at = c->body_off + c->body_len;
		assert_true(at <= end);
		n += check_tree(msg, len, c);
		k++;
	}
	assert_int_equal(k, p->n_children);
	if (p->kind == MIME_MESSAGE) {
		assert_int_equal(p->child->header_off, p->body_off);
		assert_int_equal(at, end);
	}
	return n;
}

static struct mime_msg *parse_n(const char *s, size_t n)
{
	struct mime_msg *m = mime_parse(s, n);
	assert_non_null(m);
	assert_int_equal(check_tree(s, n, mime_root(m)), mime_part_count(m));
	return m;
}

static struct mime_msg *parse(const char *s)
{
	return parse_n(s, strlen(s));
}

static void assert_str(struct mime_str s, const char *want)
{
	if (want == NULL) {
		assert_null(s.p);
		return;
	}
	assert_non_null(s.p);
	assert_int_equal(s.len, strlen(want));
	assert_memory_equal(s.p, want, s.len);
}

static void assert_type(const struct mime_part *p, const char *type,
                        const char *sub)
{
	assert_str(p->type, type);
	assert_str(p->subtype, sub);
}

static void assert_body(const char *msg, const struct mime_part *p,
                        const char *want)
{
	assert_int_equal(p->body_len, strlen(want));
	assert_memory_equal(msg + p->body_off, want, p->body_len);
}

static void assert_param(const struct mime_params *ps, const char *name,
                         const char *value)
{
	const struct mime_param *p = mime_param(ps, name);
	if (value == NULL) {
		assert_null(p);
		return;
	}
	assert_non_null(p);
	assert_str(p->value, value);
}

static const struct mime_part *section(const struct mime_msg *m,
                                       const char *path)
{
	return mime_section(m, path, strlen(path));
}

/* ------------------------------------------------------------ shapes */

static void simple_text(void **state)
{
	static const char msg[] = "From: a@example.org\r\n"
	                          "Subject: hi\r\n"
	                          "\r\n"
	                          "Hello\r\n"
	                          "World\r\n";
	struct mime_msg *m = parse(msg);
	const struct mime_part *r = mime_root(m);
	assert_int_equal(mime_part_count(m), 1);
	assert_int_equal(r->kind, MIME_LEAF);
	assert_int_equal(r->flags, MIME_PART_DEFAULT_TYPE);
	assert_type(r, "text", "plain");
	assert_param(&r->type_params, "charset", "us-ascii");
	assert_str(r->encoding, "7bit");
	assert_null(r->disposition.p);
	assert_int_equal(r->header_off, 0);
	assert_int_equal(r->body_off, 36);
	assert_body(msg, r, "Hello\r\nWorld\r\n");
	assert_int_equal(r->body_lines, 2);
	assert_int_equal(mime_limits(m), 0);
	mime_msg_free(&m);
	assert_null(m);
	mime_msg_free(&m); /* twice is harmless */
}

static const char mixed[] =
        "From: a@example.org\r\n"
        "MIME-Version: 1.0\r\n"
        "Content-Type: Multipart/Mixed; Boundary=\"=_outer\"\r\n"
        "\r\n"
        "This is the preamble.\r\n"
        "--=_outer\r\n"
        "Content-Type: text/plain; charset=UTF-8\r\n"
        "Content-Transfer-Encoding: Quoted-Printable\r\n"
        "\r\n"
        "caf=C3=A9\r\n"
        "--=_outer\r\n"
        "Content-Type: application/pdf; name=\"a b.pdf\"\r\n"
        "Content-Transfer-Encoding: base64\r\n"
        "Content-Disposition: ATTACHMENT;\r\n"
        "\tfilename=\"a b.pdf\"; size=4\r\n"
        "Content-ID: <id1@example.org>\r\n"
        "Content-Description: the \\ \"annual\"\r\n"
        " report\r\n"
        "Content-Language: en, fr\r\n"
        "Content-Location: http://example.org/a.pdf\r\n"
        "Content-MD5: Q2hlY2sgSW50ZWdyaXR5IQ==\r\n"
        "\r\n"
        "JVBERg==\r\n"
        "--=_outer--\r\n"
        "This is the epilogue.\r\n";

static void mixed_attachment(void **state)
{
	struct mime_msg *m = parse(mixed);
	const struct mime_part *r = mime_root(m);
	assert_int_equal(mime_part_count(m), 3);
	assert_int_equal(r->kind, MIME_MULTIPART);
	assert_int_equal(r->flags, 0);
	assert_type(r, "multipart", "mixed");
	assert_param(&r->type_params, "boundary", "=_outer");
	assert_int_equal(r->n_children, 2);

	const struct mime_part *t = r->child, *a = t->next;
	assert_type(t, "text", "plain");
	assert_param(&t->type_params, "charset", "UTF-8");
	assert_str(t->encoding, "quoted-printable");
	assert_body(mixed, t, "caf=C3=A9");
	assert_int_equal(t->body_lines, 1);
	assert_memory_equal(mixed + t->header_off, "Content-Type: text/plain",
	                    24);

	assert_type(a, "application", "pdf");
	assert_param(&a->type_params, "name", "a b.pdf");
	assert_str(a->encoding, "base64");
	assert_str(a->disposition, "attachment");
	assert_param(&a->disposition_params, "filename", "a b.pdf");
	assert_param(&a->disposition_params, "size", "4");
	assert_str(a->id, "<id1@example.org>");
	assert_str(a->description, "the \\ \"annual\" report");
	assert_str(a->language, "en, fr");
	assert_str(a->location, "http://example.org/a.pdf");
	assert_str(a->md5, "Q2hlY2sgSW50ZWdyaXR5IQ==");
	assert_body(mixed, a, "JVBERg==");
	assert_null(a->next);
	assert_null(a->child);
	mime_msg_free(&m);
}

static void preamble_epilogue(void **state)
{
	struct mime_msg *m = parse(mixed);
	const struct mime_part *r = mime_root(m);
	/* the multipart's body holds both; its parts neither */
	const char *body = mixed + r->body_off;
	assert_memory_equal(body, "This is the preamble.\r\n--=_outer\r\n", 34);
	assert_int_equal(r->body_off + r->body_len, strlen(mixed));
	assert_int_equal(r->child->header_off, r->body_off + 34);
	const struct mime_part *a = r->child->next;
	const char *after = mixed + a->body_off + a->body_len;
	assert_string_equal(after,
	                    "\r\n--=_outer--\r\nThis is the epilogue.\r\n");
	mime_msg_free(&m);
}

/* The same message with bare LF line ends: the same tree. */
static void bare_lf(void **state)
{
	char lf[sizeof(mixed)];
	size_t n = 0;
	for (const char *s = mixed; *s != '\0'; s++)
		if (*s != '\r')
			lf[n++] = *s;
	struct mime_msg *m = parse_n(lf, n);
	const struct mime_part *r = mime_root(m);
	assert_int_equal(mime_part_count(m), 3);
	assert_type(r, "multipart", "mixed");
	assert_body(lf, r->child, "caf=C3=A9");
	assert_body(lf, r->child->next, "JVBERg==");
	assert_str(r->child->next->description, "the \\ \"annual\" report");
	assert_param(&r->child->next->disposition_params, "filename",
	             "a b.pdf");
	assert_memory_equal(lf + r->body_off, "This is the preamble.\n", 22);
	mime_msg_free(&m);
}

/* Sections 1, 2, 2.1, 2.2, 3, 3.1, 3.1.1, 3.1.2, 3.2 */
static const char nested[] =
        "Subject: outer\r\n"
        "Content-Type: multipart/mixed; boundary=A\r\n"
        "\r\n"
        "--A\r\n"
        "\r\n"
        "part one\r\n"
        "--A\r\n"
        "Content-Type: multipart/alternative; boundary=B\r\n"
        "\r\n"
        "--B\r\n"
        "Content-Type: text/plain\r\n"
        "\r\n"
        "plain\r\n"
        "--B\r\n"
        "Content-Type: text/html\r\n"
        "\r\n"
        "<p>html</p>\r\n"
        "--B--\r\n"
        "--A\r\n"
        "Content-Type: message/rfc822\r\n"
        "\r\n"
        "Subject: inner\r\n"
        "From: b@example.org\r\n"
        "Content-Type: multipart/mixed; boundary=C\r\n"
        "\r\n"
        "--C\r\n"
        "Content-Type: multipart/alternative; boundary=D\r\n"
        "\r\n"
        "--D\r\n"
        "\r\n"
        "inner plain\r\n"
        "--D\r\n"
        "Content-Type: text/html\r\n"
        "\r\n"
        "<p>inner</p>\r\n"
        "--D--\r\n"
        "--C\r\n"
        "Content-Type: image/png\r\n"
        "\r\n"
        "PNG\r\n"
        "--C--\r\n"
        "\r\n"
        "--A--\r\n";

static void alternative_in_mixed(void **state)
{
	struct mime_msg *m = parse(nested);
	const struct mime_part *r = mime_root(m);
	assert_int_equal(r->n_children, 3);
	const struct mime_part *alt = section(m, "2");
	assert_type(alt, "multipart", "alternative");
	assert_int_equal(alt->kind, MIME_MULTIPART);
	assert_int_equal(alt->n_children, 2);
	assert_body(nested, section(m, "2.1"), "plain");
	assert_body(nested, section(m, "2.2"), "<p>html</p>");
	assert_type(section(m, "2.2"), "text", "html");
	/* the alternative ends before the CRLF in front of --A */
	assert_string_equal(nested + alt->body_off + alt->body_len,
	                    nested + (strstr(nested, "--B--\r\n") - nested) +
	                            5);
	mime_msg_free(&m);
}

static void rfc822_attachment(void **state)
{
	struct mime_msg *m = parse(nested);
	assert_int_equal(mime_part_count(m), 11);
	const struct mime_part *msg = section(m, "3");
	assert_int_equal(msg->kind, MIME_MESSAGE);
	assert_type(msg, "message", "rfc822");
	assert_int_equal(msg->n_children, 1);
	const struct mime_part *inner = msg->child;
	assert_int_equal(inner->kind, MIME_MULTIPART);
	assert_int_equal(inner->header_off, msg->body_off);
	assert_int_equal(inner->body_len,
	                 msg->body_len - (inner->body_off - msg->body_off));
	/* the message/rfc822 body ends before the CRLF in front of --A-- */
	const char *end = nested + msg->body_off + msg->body_len;
	assert_string_equal(end, "\r\n--A--\r\n");
	assert_int_equal(msg->body_lines, 20);

	struct mime_envelope env;
	mime_envelope(m, inner, &env);
	assert_str(env.field[MIME_ENV_SUBJECT], " inner");
	assert_str(env.field[MIME_ENV_FROM], " b@example.org");
	assert_null(env.field[MIME_ENV_DATE].p);
	mime_envelope(m, mime_root(m), &env);
	assert_str(env.field[MIME_ENV_SUBJECT], " outer");
	assert_null(env.field[MIME_ENV_FROM].p);
	mime_msg_free(&m);
}

static void sections(void **state)
{
	struct mime_msg *m = parse(nested);
	static const struct {
		const char *path, *body;
	} ok[] = {
	        {"1", "part one"},         {"2.1", "plain"},
	        {"2.2", "<p>html</p>"},    {"3.1.1", "inner plain"},
	        {"3.1.2", "<p>inner</p>"}, {"3.2", "PNG"},
	};
	for (size_t i = 0; i < sizeof(ok) / sizeof(*ok); i++) {
		const struct mime_part *p = section(m, ok[i].path);
		assert_non_null(p);
		assert_body(nested, p, ok[i].body);
	}
	assert_ptr_equal(section(m, ""), mime_root(m));
	assert_type(section(m, "3.1"), "multipart", "alternative");
	static const char *const none[] = {
	        "0",   "4",     "01",      "1.",
	        ".1",  "1..1",  "1.1",     "2.3",
	        "3.3", "3.1.3", "3.2.1",   "2.0",
	        "abc", "1a",    "3.1.1.1", "99999999999999999999999",
	        "-1",  " 1",
	};
	for (size_t i = 0; i < sizeof(none) / sizeof(*none); i++)
		assert_null(section(m, none[i]));
	unsigned nums[] = {3, 1, 2};
	assert_ptr_equal(mime_section_nums(m, nums, 3), section(m, "3.1.2"));
	nums[1] = 0;
	assert_null(mime_section_nums(m, nums, 3));
	mime_msg_free(&m);

	/* a message that is not multipart: part 1 is its body; with a
	 * message/rfc822 body, 1.1 is the encapsulated message's body */
	static const char one[] = "Content-Type: message/rfc822\r\n\r\n"
	                          "Subject: x\r\n\r\ninner body\r\n";
	m = parse(one);
	assert_ptr_equal(section(m, "1"), mime_root(m));
	assert_body(one, section(m, "1.1"), "inner body\r\n");
	assert_ptr_equal(section(m, "1.1"), mime_root(m)->child);
	assert_null(section(m, "2"));
	assert_null(section(m, "1.2"));
	assert_null(section(m, "1.1.1"));
	mime_msg_free(&m);
}

static void digest_default(void **state)
{
	static const char msg[] = "Content-Type: multipart/digest; boundary=d\n"
	                          "\n"
	                          "--d\n"
	                          "\n"
	                          "Subject: first\n"
	                          "\n"
	                          "one\n"
	                          "--d\n"
	                          "Content-Type: text/plain\n"
	                          "\n"
	                          "not a message\n"
	                          "--d\n"
	                          "Content-Type: multipart/mixed; boundary=e\n"
	                          "\n"
	                          "--e\n"
	                          "\n"
	                          "plain again\n"
	                          "--e--\n"
	                          "--d--\n";
	struct mime_msg *m = parse(msg);
	const struct mime_part *d1 = section(m, "1");
	assert_type(d1, "message", "rfc822");
	assert_true(d1->flags & MIME_PART_DEFAULT_TYPE);
	assert_null(d1->type_params.v);
	assert_int_equal(d1->kind, MIME_MESSAGE);
	struct mime_envelope env;
	mime_envelope(m, d1->child, &env);
	assert_str(env.field[MIME_ENV_SUBJECT], " first");
	assert_body(msg, section(m, "1.1"), "one");
	assert_type(section(m, "2"), "text", "plain");
	/* only a digest's own parts default to message/rfc822 */
	const struct mime_part *e1 = section(m, "3.1");
	assert_type(e1, "text", "plain");
	assert_body(msg, e1, "plain again");
	mime_msg_free(&m);
}

/* ------------------------------------------------------------ parameters */

static void rfc2231(void **state)
{
	static const char msg[] =
	        "Content-Type: text/plain;\r\n"
	        "  title*2=\" end\"; title*0*=us-ascii'en'a%20b;\r\n"
	        "  title*1=\"%20c\"; gap*0=x; gap*2=z; bad*=utf-8''%zz%4;\r\n"
	        "  name=\"plain.txt\"; name*=utf-8''%C3%A9.txt\r\n"
	        "Content-Disposition: attachment; filename*0*=utf-8''%E2%82%AC;"
	        " filename*1=.txt\r\n"
	        "\r\n";
	struct mime_msg *m = parse(msg);
	const struct mime_part *r = mime_root(m);
	const struct mime_param *f =
	        mime_param(&r->disposition_params, "filename");
	assert_non_null(f);
	assert_str(f->value, "\xE2\x82\xAC.txt");
	assert_str(f->charset, "utf-8");
	assert_null(f->language.p);
	assert_true(f->extended);

	/* sections in any order; only section 0 carries charset'lang' and
	 * only '*' sections are %-decoded */
	const struct mime_param *t = mime_param(&r->type_params, "title");
	assert_str(t->value, "a b%20c end");
	assert_str(t->charset, "us-ascii");
	assert_str(t->language, "en");
	/* joining stops at the first missing section */
	assert_param(&r->type_params, "gap", "x");
	/* a '%' without two hex digits is kept */
	assert_param(&r->type_params, "bad", "%zz%4");
	/* name* beats name */
	const struct mime_param *n = mime_param(&r->type_params, "name");
	assert_str(n->value, "\xC3\xA9.txt");
	assert_int_equal(r->type_params.n, 4);
	assert_param(&r->type_params, "charset", NULL);
	mime_msg_free(&m);
}

static void quoted_parameters(void **state)
{
	static const char msg[] =
	        "Content-Type: (comment (nested)) text / plain (c) ;\r\n"
	        " charset = \"utf-8\" (why) ; name=\"a \\\"quoted\\\" \\\\ "
	        "x\";\r\n"
	        " folded=\"one\r\n two\"; empty=\"\"; bare=a/b=c; X-Case=Y\r\n"
	        "\r\n";
	struct mime_msg *m = parse(msg);
	const struct mime_part *r = mime_root(m);
	assert_type(r, "text", "plain");
	assert_int_equal(r->flags, 0);
	assert_param(&r->type_params, "charset", "utf-8");
	assert_param(&r->type_params, "name", "a \"quoted\" \\ x");
	assert_param(&r->type_params, "folded", "one two");
	assert_param(&r->type_params, "empty", "");
	assert_param(&r->type_params, "bare", "a/b=c");
	assert_param(&r->type_params, "x-case", "Y");
	assert_int_equal(r->type_params.n, 6);
	mime_msg_free(&m);
}

static void append(struct buf *b, const char *fmt, ...)
        __attribute__((format(printf, 2, 3)));

static void append(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	assert_int_equal(buf_vappendf(b, fmt, ap), 0);
	va_end(ap);
}

/* MIME_PARAMS_MAX per field, MIME_PARAM_VALUE_MAX per value: the rest is
 * dropped and said so, the field itself kept. */
static void parameter_limits(void **state)
{
	struct buf b;
	buf_init(&b, 0);
	append(&b, "Content-Type: text/plain; long=\"");
	for (size_t i = 0; i <= MIME_PARAM_VALUE_MAX; i++)
		assert_int_equal(buf_append_byte(&b, 'v'), 0);
	append(&b, "\"");
	for (unsigned i = 0; i < MIME_PARAMS_MAX + 8; i++)
		append(&b, "; p%u=%u", i, i);
	append(&b, "\r\nContent-Disposition: inline; f*0=a; f*1=");
	for (size_t i = 0; i < MIME_PARAM_VALUE_MAX; i++)
		assert_int_equal(buf_append_byte(&b, 'w'), 0);
	append(&b, "; g*0=\"");
	for (size_t i = 0; i < MIME_PARAM_VALUE_MAX; i++)
		assert_int_equal(buf_append_byte(&b, 'g'), 0);
	append(&b, "\"\r\n\r\n");
	struct mime_msg *m = parse_n(b.data, b.len);
	const struct mime_part *r = mime_root(m);
	assert_int_equal(mime_limits(m), MIME_LIMIT_PARAMS);
	assert_type(r, "text", "plain");
	assert_int_equal(r->type_params.n, MIME_PARAMS_MAX);
	assert_param(&r->type_params, "long", NULL);
	assert_param(&r->type_params, "p0", "0");
	assert_param(&r->type_params, "p31", "31");
	assert_param(&r->type_params, "p32", NULL);
	/* joined past the maximum: dropped; just at it: kept */
	assert_str(r->disposition, "inline");
	assert_param(&r->disposition_params, "f", NULL);
	const struct mime_param *g = mime_param(&r->disposition_params, "g");
	assert_non_null(g);
	assert_int_equal(g->value.len, MIME_PARAM_VALUE_MAX);
	mime_msg_free(&m);
	buf_free(&b);
}

/* ------------------------------------------------------------ boundaries */

static void boundary_prefix(void **state)
{
	/* outer "b", inner "b1": --b1 is the inner one */
	static const char a[] = "Content-Type: multipart/mixed; boundary=b\n\n"
	                        "--b\n"
	                        "Content-Type: multipart/mixed; boundary=b1\n\n"
	                        "--b1\n\ninner 1\n"
	                        "--b1\n\ninner 2\n"
	                        "--b1--\n"
	                        "--b\n\nouter 2\n"
	                        "--b--\n";
	struct mime_msg *m = parse(a);
	assert_int_equal(mime_part_count(m), 5);
	assert_body(a, section(m, "1.1"), "inner 1");
	assert_body(a, section(m, "1.2"), "inner 2");
	assert_body(a, section(m, "2"), "outer 2");
	assert_int_equal(section(m, "1")->flags, 0);
	mime_msg_free(&m);

	/* outer "b1", inner "b": --b1 closes nothing inside */
	static const char b[] = "Content-Type: multipart/mixed; boundary=b1\n\n"
	                        "--b1\n"
	                        "Content-Type: multipart/mixed; boundary=b\n\n"
	                        "--b\n\ninner 1\n"
	                        "--b--\n"
	                        "--b1\n\nouter 2\n"
	                        "--b1--\n";
	m = parse(b);
	assert_int_equal(mime_part_count(m), 4);
	assert_body(b, section(m, "1.1"), "inner 1");
	assert_body(b, section(m, "2"), "outer 2");
	mime_msg_free(&m);
}

static void missing_close(void **state)
{
	static const char msg[] =
	        "Content-Type: multipart/mixed; boundary=o\n\n"
	        "--o\n"
	        "Content-Type: multipart/mixed; boundary=i\n\n"
	        "--i\n\nno close for i\n"
	        "--o\n\nno close for o\n";
	struct mime_msg *m = parse(msg);
	const struct mime_part *r = mime_root(m);
	assert_int_equal(mime_part_count(m), 4);
	assert_true(r->flags & MIME_PART_NO_CLOSE);
	assert_true(section(m, "1")->flags & MIME_PART_NO_CLOSE);
	assert_body(msg, section(m, "1.1"), "no close for i");
	assert_body(msg, section(m, "2"), "no close for o\n");
	assert_int_equal(section(m, "2")->body_lines, 1);
	mime_msg_free(&m);
}

static void transport_padding(void **state)
{
	static const char msg[] =
	        "Content-Type: multipart/mixed; boundary=p\r\n"
	        "\r\n"
	        "--p \t \r\n"
	        "\r\n"
	        "one\r\n"
	        "--p\t\r\n"
	        "\r\n"
	        "two\r\n"
	        "--p--  \r\n"
	        "--p-- after close: epilogue\r\n";
	struct mime_msg *m = parse(msg);
	const struct mime_part *r = mime_root(m);
	assert_int_equal(r->n_children, 2);
	assert_int_equal(r->flags, 0);
	assert_body(msg, section(m, "1"), "one");
	assert_body(msg, section(m, "2"), "two");
	mime_msg_free(&m);

	/* only an exact match is a delimiter: lines that merely start with
	 * one (which RFC 2046 forbids in a part) are content */
	static const char near[] = "Content-Type: multipart/mixed; boundary=p\n"
	                           "\n--p\none\n--p garbage\n--pp\n--p--x\n"
	                           "---p\n--p---\n--p--\n";
	m = parse(near);
	assert_int_equal(mime_root(m)->n_children, 1);
	assert_body(near, section(m, "1"),
	            "one\n--p garbage\n--pp\n--p--x\n---p\n--p---");
	assert_int_equal(mime_root(m)->flags, 0);
	mime_msg_free(&m);
}

static void body_lines(void **state)
{
	static const struct {
		const char *msg;
		size_t lines, len;
	} cases[] = {
	        {"A: 1\n\n", 0, 0},     {"A: 1\n\nx", 1, 1},
	        {"A: 1\n\nx\n", 1, 2},  {"A: 1\n\nx\ny", 2, 3},
	        {"A: 1\n\n\n\n", 2, 2}, {"A: 1\r\n\r\nx\r\ny\r\n", 2, 6},
	        {"A: 1", 0, 0},         {"", 0, 0},
	        {"\n", 0, 0},           {"not a header\nline 2\n", 2, 20},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		struct mime_msg *m = parse(cases[i].msg);
		assert_int_equal(mime_root(m)->body_lines, cases[i].lines);
		assert_int_equal(mime_root(m)->body_len, cases[i].len);
		mime_msg_free(&m);
	}
	/* in a multipart: the last line before a delimiter has no LF of its
	 * own (it went to the delimiter) yet counts */
	struct mime_msg *m = parse(mixed);
	assert_int_equal(section(m, "1")->body_lines, 1);
	assert_int_equal(mime_root(m)->body_lines, 21);
	mime_msg_free(&m);
}

/* A part without the empty line after its header ends at the delimiter;
 * a delimiter right after the header gives an empty body. */
static void header_cut_by_delimiter(void **state)
{
	static const char msg[] =
	        "Content-Type: multipart/mixed; boundary=x\n\n"
	        "--x\n"
	        "Content-Type: text/html\n"
	        "--x\n"
	        "Content-Type: text/plain\n\n"
	        "--x\n"
	        "--x--\n";
	struct mime_msg *m = parse(msg);
	assert_int_equal(mime_root(m)->n_children, 3);
	const struct mime_part *p = section(m, "1");
	assert_type(p, "text", "html");
	assert_int_equal(p->body_len, 0);
	assert_int_equal(p->body_lines, 0);
	assert_int_equal(section(m, "2")->body_len, 0);
	assert_int_equal(section(m, "3")->header_off,
	                 section(m, "3")->body_off);
	mime_msg_free(&m);
}

static void encoded_message(void **state)
{
	static const char msg[] = "Content-Type: message/rfc822\n"
	                          "Content-Transfer-Encoding: base64\n\n"
	                          "U3ViamVjdDogeAoKYm9keQo=\n";
	struct mime_msg *m = parse(msg);
	const struct mime_part *r = mime_root(m);
	assert_int_equal(r->kind, MIME_LEAF);
	assert_int_equal(r->flags, MIME_PART_OPAQUE);
	assert_type(r, "message", "rfc822");
	mime_msg_free(&m);
}

/* Every prefix of a nested message parses to a tree that keeps the
 * invariants (the trickle test of a parser that takes whole messages). */
static void every_prefix(void **state)
{
	size_t n = strlen(nested);
	for (size_t i = 0; i <= n; i++) {
		struct mime_msg *m = parse_n(nested, i);
		mime_msg_free(&m);
	}
	struct mime_msg *m = mime_parse(NULL, 0);
	assert_non_null(m);
	assert_int_equal(mime_root(m)->body_len, 0);
	mime_msg_free(&m);
}

/* ------------------------------------------------------------ malformed */

static void no_subtype(void **state)
{
	static const char *const bad[] = {
	        "Content-Type: text\n\nx\n",
	        "Content-Type: text/\n\nx\n",
	        "Content-Type: /plain\n\nx\n",
	        "Content-Type:\n\nx\n",
	        "Content-Type: multipart ; boundary=b\n\n--b\n\nx\n--b--\n",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
		struct mime_msg *m = parse(bad[i]);
		const struct mime_part *r = mime_root(m);
		assert_int_equal(r->kind, MIME_LEAF);
		assert_int_equal(r->flags, MIME_PART_DEFAULT_TYPE);
		assert_type(r, "text", "plain");
		assert_param(&r->type_params, "charset", "us-ascii");
		assert_param(&r->type_params, "boundary", NULL);
		mime_msg_free(&m);
	}
}

static void unterminated_quote(void **state)
{
	/* the value runs to the end of the field, unfolded */
	static const char msg[] = "Content-Type: multipart/mixed;"
	                          " boundary=\"b;x\r\n"
	                          "\r\n"
	                          "--b;x\r\n\r\none\r\n--b;x--\r\n";
	struct mime_msg *m = parse(msg);
	const struct mime_part *r = mime_root(m);
	assert_param(&r->type_params, "boundary", "b;x");
	assert_int_equal(r->kind, MIME_MULTIPART);
	assert_body(msg, section(m, "1"), "one");
	mime_msg_free(&m);

	static const char cmt[] =
	        "Content-Type: text/html (unclosed comment\n\n";
	m = parse(cmt);
	assert_type(mime_root(m), "text", "html");
	mime_msg_free(&m);
}

static void empty_boundary(void **state)
{
	static const char *const bad[] = {
	        "Content-Type: multipart/mixed; "
	        "boundary=\"\"\n\n--\n\nx\n----\n",
	        "Content-Type: multipart/mixed; boundary=\n\n--\n\nx\n----\n",
	        "Content-Type: multipart/mixed\n\n--\n\nx\n----\n",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
		struct mime_msg *m = parse(bad[i]);
		const struct mime_part *r = mime_root(m);
		assert_int_equal(r->kind, MIME_LEAF);
		assert_int_equal(r->flags, MIME_PART_OPAQUE);
		assert_type(r, "multipart", "mixed");
		assert_int_equal(mime_part_count(m), 1);
		assert_ptr_equal(section(m, "1"), r);
		mime_msg_free(&m);
	}
	/* a boundary that never appears: a leaf too */
	static const char never[] = "Content-Type: multipart/mixed; boundary=q"
	                            "\n\nno delimiter\n";
	struct mime_msg *m = parse(never);
	assert_int_equal(mime_root(m)->kind, MIME_LEAF);
	assert_true(mime_root(m)->flags & MIME_PART_OPAQUE);
	mime_msg_free(&m);
}

static void nul_in_headers(void **state)
{
	static const char msg[] = "Content-Type: text/pl\0ain; charset=x\r\n"
	                          "Subject: a\0b\r\n"
	                          "\r\n"
	                          "body\0\r\n";
	size_t n = sizeof(msg) - 1;
	struct mime_msg *m = parse_n(msg, n);
	const struct mime_part *r = mime_root(m);
	assert_type(r, "text", "pl");
	assert_int_equal(r->type_params.n, 0);
	struct mime_envelope env;
	mime_envelope(m, r, &env);
	assert_int_equal(env.field[MIME_ENV_SUBJECT].len, 4);
	assert_memory_equal(env.field[MIME_ENV_SUBJECT].p, " a\0b", 4);
	assert_int_equal(r->body_len, 7);
	mime_msg_free(&m);

	/* a NUL in a field name ends the header there (header_next) */
	static const char name[] = "Subject: s\n"
	                           "X-\0: y\n"
	                           "Content-Type: multipart/mixed; boundary=b\n"
	                           "\n--b\n\nx\n--b--\n";
	m = parse_n(name, sizeof(name) - 1);
	r = mime_root(m);
	assert_int_equal(r->body_off, 11);
	assert_int_equal(r->flags, MIME_PART_DEFAULT_TYPE);
	mime_msg_free(&m);
}

/* ------------------------------------------------------------ hostile */

/* 10,000 multiparts, each inside the one before: parts stop at depth
 * MIME_DEPTH_MAX, whose part is an opaque leaf holding the rest. */
static void deep_nesting(void **state)
{
	enum { N = 10000 };
	struct buf b;
	buf_init(&b, 0);
	for (unsigned i = 0; i < N; i++)
		append(&b,
		       "Content-Type: multipart/mixed; boundary=\"b%u\"\r\n"
		       "\r\n--b%u\r\n",
		       i, i);
	append(&b, "Content-Type: text/plain\r\n\r\ndeep\r\n");
	for (unsigned i = N; i-- > 0;)
		append(&b, "--b%u--\r\n", i);
	struct mime_msg *m = parse_n(b.data, b.len);
	assert_int_equal(mime_part_count(m), MIME_DEPTH_MAX + 1);
	assert_int_equal(mime_limits(m), MIME_LIMIT_DEPTH);
	assert_true(mime_memory(m) < 1024 * 1024);

	struct buf path;
	buf_init(&path, 0);
	for (unsigned i = 0; i < MIME_DEPTH_MAX; i++)
		append(&path, "%s", i == 0 ? "1" : ".1");
	const struct mime_part *p = mime_section(m, path.data, path.len);
	assert_non_null(p);
	assert_int_equal(p->depth, MIME_DEPTH_MAX);
	assert_int_equal(p->kind, MIME_LEAF);
	assert_int_equal(p->flags, MIME_PART_OPAQUE);
	assert_type(p, "multipart", "mixed");
	assert_param(&p->type_params, "boundary", "b100");
	const char *body = b.data + p->body_off;
	assert_memory_equal(body, "--b100\r\n", 8);
	assert_memory_equal(body + p->body_len - 8, "--b100--\r\n--b99--", 17);
	assert_int_equal(p->parent->flags, 0);
	append(&path, "%s", ".1");
	assert_null(mime_section(m, path.data, path.len));
	mime_msg_free(&m);
	buf_free(&path);
	buf_free(&b);
}

/* 10,000 message/rfc822 inside each other: the same depth limit. */
static void deep_messages(void **state)
{
	enum { N = 10000 };
	struct buf b;
	buf_init(&b, 0);
	for (unsigned i = 0; i < N; i++)
		append(&b, "Content-Type: message/rfc822\n\n");
	append(&b, "bottom\n");
	struct mime_msg *m = parse_n(b.data, b.len);
	assert_int_equal(mime_part_count(m), MIME_DEPTH_MAX + 1);
	assert_int_equal(mime_limits(m), MIME_LIMIT_DEPTH);
	const struct mime_part *p = mime_root(m);
	while (p->child != NULL)
		p = p->child;
	assert_int_equal(p->depth, MIME_DEPTH_MAX);
	assert_int_equal(p->flags, MIME_PART_OPAQUE);
	assert_int_equal(p->body_off + p->body_len, b.len);
	mime_msg_free(&m);
	buf_free(&b);
}

static void many_header_lines(void **state)
{
	enum { N = 100000 };
	struct buf b;
	buf_init(&b, 0);
	append(&b, "Content-Type: multipart/mixed; boundary=z\r\n");
	for (unsigned i = 0; i < N; i++)
		append(&b, "X-Filler-%u: value\r\n", i);
	append(&b, "Subject: at the end\r\n");
	size_t hdr = b.len;
	append(&b, "\r\n--z\r\n\r\none\r\n--z--\r\n");
	struct mime_msg *m = parse_n(b.data, b.len);
	const struct mime_part *r = mime_root(m);
	assert_int_equal(r->kind, MIME_MULTIPART);
	assert_int_equal(r->body_off, hdr + 2);
	assert_int_equal(mime_limits(m), MIME_LIMIT_FIELDS);
	assert_body(b.data, section(m, "1"), "one");
	struct mime_envelope env;
	mime_envelope(m, r, &env);
	assert_str(env.field[MIME_ENV_SUBJECT], " at the end");
	mime_msg_free(&m);

	/* past MIME_FIELDS_MAX, a Content-Type is not looked at */
	buf_clear(&b);
	for (unsigned i = 0; i < N; i++)
		append(&b, "X-Filler: %u\n", i);
	append(&b, "Content-Type: multipart/mixed; boundary=z\n\n--z\n\n1\n");
	m = parse_n(b.data, b.len);
	r = mime_root(m);
	assert_int_equal(r->flags, MIME_PART_DEFAULT_TYPE);
	assert_int_equal(r->body_lines, 3);
	mime_msg_free(&m);
	buf_free(&b);
}

static void many_siblings(void **state)
{
	enum { N = 10001 };
	struct buf b;
	buf_init(&b, 0);
	append(&b, "Content-Type: multipart/mixed; boundary=s\n\n");
	for (unsigned i = 0; i < N; i++)
		append(&b, "--s\nContent-Type: text/plain\n\npart %u\n", i);
	append(&b, "--s--\n");
	struct mime_msg *m = parse_n(b.data, b.len);
	const struct mime_part *r = mime_root(m);
	assert_int_equal(mime_part_count(m), MIME_PARTS_MAX);
	assert_int_equal(mime_limits(m), MIME_LIMIT_PARTS);
	assert_int_equal(r->n_children, MIME_PARTS_MAX - 1);
	assert_int_equal(r->body_off + r->body_len, b.len);
	assert_body(b.data, section(m, "1"), "part 0");
	/* the last part made ends at the next delimiter all the same */
	assert_body(b.data, section(m, "9999"), "part 9998");
	assert_null(section(m, "10000"));
	assert_null(section(m, "10001"));
	mime_msg_free(&m);
	buf_free(&b);
}

/* Megabyte lines that look like delimiters. */
static void long_lines(void **state)
{
	enum { MB = 1024 * 1024 };
	struct buf b;
	buf_init(&b, 0);
	append(&b, "Content-Type: multipart/mixed; boundary=b\n\n--b\n\n--");
	for (size_t i = 0; i < MB; i++)
		assert_int_equal(buf_append_byte(&b, 'x'), 0);
	append(&b, "\n--b");
	for (size_t i = 0; i < MB; i++)
		assert_int_equal(buf_append_byte(&b, ' '), 0);
	append(&b, "\nsecond\n--");
	for (size_t i = 0; i < MB; i++)
		assert_int_equal(buf_append_byte(&b, '-'), 0);
	append(&b, "\n--b--\n");
	struct mime_msg *m = parse_n(b.data, b.len);
	const struct mime_part *r = mime_root(m);
	assert_int_equal(r->n_children, 2);
	assert_int_equal(section(m, "1")->body_len, MB + 2);
	const struct mime_part *p = section(m, "2");
	assert_int_equal(p->body_len, 7 + 2 + MB);
	assert_int_equal(p->body_lines, 2);
	mime_msg_free(&m);
	buf_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(simple_text),
	        cmocka_unit_test(mixed_attachment),
	        cmocka_unit_test(preamble_epilogue),
	        cmocka_unit_test(bare_lf),
	        cmocka_unit_test(alternative_in_mixed),
	        cmocka_unit_test(rfc822_attachment),
	        cmocka_unit_test(sections),
	        cmocka_unit_test(digest_default),
	        cmocka_unit_test(rfc2231),
	        cmocka_unit_test(quoted_parameters),
	        cmocka_unit_test(parameter_limits),
	        cmocka_unit_test(boundary_prefix),
	        cmocka_unit_test(missing_close),
	        cmocka_unit_test(transport_padding),
	        cmocka_unit_test(body_lines),
	        cmocka_unit_test(header_cut_by_delimiter),
	        cmocka_unit_test(encoded_message),
	        cmocka_unit_test(every_prefix),
	        cmocka_unit_test(no_subtype),
	        cmocka_unit_test(unterminated_quote),
	        cmocka_unit_test(empty_boundary),
	        cmocka_unit_test(nul_in_headers),
	        cmocka_unit_test(deep_nesting),
	        cmocka_unit_test(deep_messages),
	        cmocka_unit_test(many_header_lines),
	        cmocka_unit_test(many_siblings),
	        cmocka_unit_test(long_lines),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
