/* Tests for the FETCH data writers of src/imapd: imapstr.c (strings),
 * crlf.c (CRLF sizes), src/mail/addrlist.c and envelope.c (ENVELOPE),
 * bodystructure.c (BODY, BODYSTRUCTURE), fetchitem.c (attributes and
 * section specs) and fetchbody.c (BODY[section], BINARY[section]).
 *
 * Expected values come from three places, each named where it is used:
 * the example responses of RFC 9051 and RFC 3501 (messages built to have
 * exactly the sizes and line counts of the example); Python 3.11's email
 * package run by hand over the same message text (see
 * tests/unit/imapfmt_pycheck.py, whose output is quoted in comments); and
 * hand reading of the RFC grammar where neither says more. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "imapd/bodystructure.h"
#include "imapd/crlf.h"
#include "imapd/envelope.h"
#include "imapd/fetchbody.h"
#include "imapd/fetchitem.h"
#include "imapd/imapstr.h"
#include "lib/buf.h"
#include "lib/util.h"
#include "mail/addrlist.h"
#include "mail/mime.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ------------------------------------------------------------ helpers */

static struct buf out;

static int setup(void **state)
{
	buf_init(&out, 0);
	return 0;
}

static int teardown(void **state)
{
	buf_free(&out);
	return 0;
}

static const char *envelope_of(const char *msg)
{
	struct mime_msg *m = mime_parse(msg, strlen(msg));
	assert_non_null(m);
	buf_clear(&out);
	assert_int_equal(imap_envelope_part(&out, m, mime_root(m)), 0);
	mime_msg_free(&m);
	return buf_cstr(&out);
}

static const char *structure_n(const char *msg, size_t len, bool ext)
{
	struct mime_msg *m = mime_parse(msg, len);
	assert_non_null(m);
	buf_clear(&out);
	assert_int_equal(imap_bodystructure_write(&out, msg, len, m, ext), 0);
	mime_msg_free(&m);
	return buf_cstr(&out);
}

static const char *structure(const char *msg, bool ext)
{
	return structure_n(msg, strlen(msg), ext);
}

/* FETCH att (one attribute) of msg: its bytes, or "<NO_PART>" and the
 * like for the other results. */
static const char *fetch(const char *msg, const char *att_text)
{
	struct fetch_att att;
	const char *err = NULL;
	if (fetch_att_parse(att_text, strlen(att_text), &att, &err) < 0)
		fail_msg("%s: %s", att_text, err);
	struct mime_msg *m = mime_parse(msg, strlen(msg));
	assert_non_null(m);
	buf_clear(&out);
	enum fetchbody_result r =
	        fetchbody_get(msg, strlen(msg), m, &att, &out);
	mime_msg_free(&m);
	fetch_att_free(&att);
	if (r == FETCHBODY_NO_PART)
		return "<NO_PART>";
	if (r == FETCHBODY_UNKNOWN_CTE)
		return "<UNKNOWN_CTE>";
	assert_int_equal(r, FETCHBODY_OK);
	return buf_cstr(&out);
}

/* A body of n lines (LF-terminated) with `bytes` octets in CRLF form. */
static void make_lines(struct buf *b, size_t n, size_t bytes)
{
	size_t text = bytes - 2 * n;
	for (size_t i = 0; i < n; i++) {
		size_t len = text / n + (i < text % n ? 1 : 0);
		for (size_t k = 0; k < len; k++)
			buf_append_byte(b, (char)('a' + (i + k) % 26));
		buf_append_byte(b, '\n');
	}
}

/* ------------------------------------------------------------ imapstr */

static void strings(void **state)
{
	struct buf b;
	buf_init(&b, 0);
	imap_write_nstring(&b, NULL, 0);
	buf_append_byte(&b, ' ');
	imap_write_nstring(&b, "", 0);
	buf_append_byte(&b, ' ');
	imap_write_nstring(&b, "a \"b\" \\c", 8);
	buf_append_byte(&b, ' ');
	imap_write_nstring(&b, "l1\r\nl2", 6);
	buf_append_byte(&b, ' ');
	imap_write_string(&b, "caf\xc3\xa9", 5);
	buf_append_byte(&b, ' ');
	imap_write_astring(&b, "INBOX]", 6);
	buf_append_byte(&b, ' ');
	imap_write_astring(&b, "nil", 3);
	buf_append_byte(&b, ' ');
	imap_write_astring(&b, "a b", 3);
	buf_append_byte(&b, ' ');
	imap_write_literal8(&b, "\0x", 2);
	assert_int_equal(b.len, 71);
	assert_memory_equal(b.data,
	                    "NIL \"\" \"a \\\"b\\\" \\\\c\" {6}\r\nl1\r\nl2 "
	                    "{5}\r\ncaf\xc3\xa9 INBOX] \"nil\" \"a b\" "
	                    "~{2}\r\n\0x",
	                    71);
	/* long values go as literals */
	char big[IMAPSTR_QUOTED_MAX + 1];
	memset(big, 'x', sizeof(big));
	buf_clear(&b);
	imap_write_string(&b, big, sizeof(big));
	assert_memory_equal(b.data, "{1025}\r\nxxx", 11);
	buf_free(&b);
}

/* ------------------------------------------------------------ crlf */

static void crlf_sizes(void **state)
{
	/* a mix: LF, CRLF, lone CR; and long enough to use the index */
	struct buf b;
	buf_init(&b, 0);
	for (int i = 0; i < 1000; i++)
		buf_append_str(&b, i % 3 == 0   ? "ab\r\n"
		                   : i % 3 == 1 ? "c\n"
		                                : "d\re");
	struct crlf_index ix;
	assert_int_equal(crlf_index_init(&ix, b.data, b.len), 0);
	for (size_t a = 0; a < b.len; a += 37)
		for (size_t n = 0; a + n <= b.len; n += 101) {
			uint64_t want = n + crlf_bare_lfs(b.data, a, a + n);
			assert_int_equal(crlf_length(&ix, a, n), want);
		}
	/* converting a range: every bare LF gains its CR, nothing else */
	struct buf o;
	buf_init(&o, 0);
	struct crlf_sink k;
	crlf_sink_init(&k, &o);
	assert_int_equal(crlf_put_range(&k, b.data, 0, b.len), 0);
	assert_int_equal(o.len, crlf_length(&ix, 0, b.len));
	assert_int_equal(crlf_bare_lfs(o.data, 0, o.len), 0);
	/* a window of the converted stream is the same bytes */
	struct buf w;
	buf_init(&w, 0);
	crlf_sink_window(&k, &w, 100, 250);
	assert_int_equal(crlf_put_range(&k, b.data, 0, b.len), 0);
	assert_int_equal(w.len, 250);
	assert_memory_equal(w.data, o.data + 100, 250);
	crlf_index_free(&ix);
	buf_free(&w);
	buf_free(&o);
	buf_free(&b);
}

/* ------------------------------------------------------------ envelope */

/* RFC 9051 section 8, the FETCH of message 12: its ENVELOPE. */
static const char rfc9051_header[] =
        "Date: Wed, 17 Jul 1996 02:23:25 -0700 (PDT)\n"
        "From: Terry Gray <gray@cac.washington.edu>\n"
        "Subject: IMAP4rev2 WG mtg summary and minutes\n"
        "To: imap@cac.washington.edu\n"
        "cc: minutes@CNRI.Reston.VA.US, John Klensin <KLENSIN@MIT.EDU>\n"
        "Message-Id: <B27397-0100000@cac.washington.edu>\n"
        "MIME-Version: 1.0\n"
        "Content-Type: TEXT/PLAIN; CHARSET=US-ASCII\n"
        "\n";

static void envelope_rfc9051(void **state)
{
	assert_string_equal(
	        envelope_of(rfc9051_header),
	        "(\"Wed, 17 Jul 1996 02:23:25 -0700 (PDT)\" "
	        "\"IMAP4rev2 WG mtg summary and minutes\" "
	        "((\"Terry Gray\" NIL \"gray\" \"cac.washington.edu\")) "
	        "((\"Terry Gray\" NIL \"gray\" \"cac.washington.edu\")) "
	        "((\"Terry Gray\" NIL \"gray\" \"cac.washington.edu\")) "
	        "((NIL NIL \"imap\" \"cac.washington.edu\")) "
	        "((NIL NIL \"minutes\" \"CNRI.Reston.VA.US\")"
	        "(\"John Klensin\" NIL \"KLENSIN\" \"MIT.EDU\")) NIL NIL "
	        "\"<B27397-0100000@cac.washington.edu>\")");
}

/* Python: email.message_from_string() and email.utils.getaddresses() on
 * To (imapfmt_pycheck.py, case "groups"): [('Ann', 'ann@a.example'),
 * ('', 'bob@b.example'), ('', '')]. getaddresses() has no group marks, so
 * the group structure is RFC 5322 3.4 and RFC 9051 7.5.2 read by hand;
 * the mailboxes agree. */
static void envelope_groups(void **state)
{
	assert_string_equal(
	        envelope_of("From: a@b.example\n"
	                    "To: Friends: Ann <ann@a.example>, bob@b.example;, "
	                    "undisclosed-recipients:;\n"
	                    "Cc: \"Team: all\" <t@c.example>\n\n"),
	        "(NIL NIL ((NIL NIL \"a\" \"b.example\")) "
	        "((NIL NIL \"a\" \"b.example\")) "
	        "((NIL NIL \"a\" \"b.example\")) "
	        "((NIL NIL \"Friends\" NIL)"
	        "(\"Ann\" NIL \"ann\" \"a.example\")"
	        "(NIL NIL \"bob\" \"b.example\")(NIL NIL NIL NIL)"
	        "(NIL NIL \"undisclosed-recipients\" NIL)(NIL NIL NIL NIL)) "
	        "((\"Team: all\" NIL \"t\" \"c.example\")) NIL NIL NIL)");
}

/* Python getaddresses() (imapfmt_pycheck.py, case "names"):
 *   ('Smith, John', 'john@x.example'), ('Joe Q. Public', 'jqp@y.example'),
 *   ('Pete (A nice ) chap his account his host)', 'pete@z.example'),
 *   ('Mary', 'mary@w.example'), ('', '"odd user"@v.example'),
 *   ('=?utf-8?q?J=C3=B6rg?=', 'j@u.example')
 * Two differences, both on purpose: for Pete (RFC 5322 A.5's example)
 * Python's old parser mistakes the escaped ")" and keeps the comments in
 * the name, where RFC 5322 3.2.2 makes them comments: "Pete"; and Python
 * keeps the local part quoted, where IMAP sends the mailbox unquoted. */
static void envelope_names(void **state)
{
	assert_string_equal(
	        envelope_of("From: \"Smith, John\" <john@x.example>,\n"
	                    " Joe Q. Public <jqp@y.example>,\n"
	                    " Pete(A nice \\) chap) <pete(his account)@z"
	                    "(his host).example>,\n"
	                    " mary@w.example (Mary),\n"
	                    " \"odd user\"@v.example,\n"
	                    " =?utf-8?q?J=C3=B6rg?= <j@u.example>\n"
	                    "Subject: =?utf-8?q?Gr=C3=BC=C3=9Fe?=\n"
	                    "\n"),
	        "(NIL \"=?utf-8?q?Gr=C3=BC=C3=9Fe?=\" "
	        "((\"Smith, John\" NIL \"john\" \"x.example\")"
	        "(\"Joe Q. Public\" NIL \"jqp\" \"y.example\")"
	        "(\"Pete\" NIL \"pete\" \"z.example\")"
	        "(\"Mary\" NIL \"mary\" \"w.example\")"
	        "(NIL NIL \"odd user\" \"v.example\")"
	        "(\"=?utf-8?q?J=C3=B6rg?=\" NIL \"j\" \"u.example\")) "
	        "((\"Smith, John\" NIL \"john\" \"x.example\")"
	        "(\"Joe Q. Public\" NIL \"jqp\" \"y.example\")"
	        "(\"Pete\" NIL \"pete\" \"z.example\")"
	        "(\"Mary\" NIL \"mary\" \"w.example\")"
	        "(NIL NIL \"odd user\" \"v.example\")"
	        "(\"=?utf-8?q?J=C3=B6rg?=\" NIL \"j\" \"u.example\")) "
	        "((\"Smith, John\" NIL \"john\" \"x.example\")"
	        "(\"Joe Q. Public\" NIL \"jqp\" \"y.example\")"
	        "(\"Pete\" NIL \"pete\" \"z.example\")"
	        "(\"Mary\" NIL \"mary\" \"w.example\")"
	        "(NIL NIL \"odd user\" \"v.example\")"
	        "(\"=?utf-8?q?J=C3=B6rg?=\" NIL \"j\" \"u.example\")) "
	        "NIL NIL NIL NIL NIL)");
}

/* Missing fields are NIL; the first of duplicate fields counts; an empty
 * Sender falls back to From; folded values are unfolded. Python
 * (imapfmt_pycheck.py, case "dups"): msg['Subject'] is the first,
 * 'first\n second' before unfolding. */
static void envelope_missing_and_dups(void **state)
{
	assert_string_equal(envelope_of("Subject: first\n second\n"
	                                "Subject: again\n"
	                                "From: x@y.example\n"
	                                "From: z@y.example\n"
	                                "Sender:\n"
	                                "Reply-To: r@y.example\n"
	                                "In-Reply-To: <a@b>\n"
	                                "\n"),
	                    "(NIL \"first second\" "
	                    "((NIL NIL \"x\" \"y.example\")) "
	                    "((NIL NIL \"x\" \"y.example\")) "
	                    "((NIL NIL \"r\" \"y.example\")) "
	                    "NIL NIL NIL \"<a@b>\" NIL)");
	assert_string_equal(envelope_of("\nbody\n"),
	                    "(NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL)");
}

/* Messy lists: every address after a broken one is still there. */
static void addrlist_messy(void **state)
{
	static const struct {
		const char *in, *want;
	} cases[] = {
	        /* missing angle brackets */
	        {"Joe Bloggs joe@x.example, b@y",
	         "[Joe Bloggs|-|joe|x.example][-|-|b|y]"},
	        /* obsolete route */
	        {"<@r1.example,@r2.example:u@h.example>, c@d",
	         "[-|@r1.example,@r2.example|u|h.example][-|-|c|d]"},
	        /* unclosed angle bracket does not swallow the rest */
	        {"A <a@b, c@d", "[A|-|a|b][-|-|c|d]"},
	        /* unclosed quote runs to the end, as readers do */
	        {"\"unclosed <a@b>, c@d", "[-|-|unclosed <a@b>, c@d|]"},
	        /* no domain, empty elements, stray specials */
	        {",, postmaster ,;, >x@y", "[-|-|postmaster|][-|-|x|y]"},
	        /* group without its ";" ends with the list */
	        {"G: a@b, c@d", "[G:][-|-|a|b][-|-|c|d][;]"},
	        /* domain literal and obsolete dots with spaces */
	        {"john . smith @ [10.0.0.1]", "[-|-|john.smith|[10.0.0.1]]"},
	        /* empty */
	        {"", ""},
	        {" (just a comment) ", ""},
	};
	struct addrlist al;
	addrlist_init(&al);
	struct buf d;
	buf_init(&d, 0);
	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		assert_int_equal(
		        addrlist_parse(&al, cases[i].in, strlen(cases[i].in)),
		        0);
		buf_clear(&d);
		buf_append_str(&d, "");
		for (size_t k = 0; k < al.n; k++) {
			const struct addrlist_entry *e = &al.v[k];
			if (e->kind == ADDRLIST_GROUP) {
				buf_appendf(&d, "[%.*s:]", (int)e->name.len,
				            addrlist_text(&al, e->name));
				continue;
			}
			if (e->kind == ADDRLIST_GROUP_END) {
				buf_append_str(&d, "[;]");
				continue;
			}
			const struct addrlist_span *s[] = {
			        &e->name, &e->route, &e->mailbox, &e->host};
			for (size_t j = 0; j < 4; j++) {
				const char *t = addrlist_text(&al, *s[j]);
				buf_appendf(&d, "%s%.*s", j ? "|" : "[",
				            t ? (int)s[j]->len : 1,
				            t ? t : "-");
			}
			buf_append_byte(&d, ']');
		}
		assert_string_equal(buf_cstr(&d), cases[i].want);
	}
	buf_free(&d);
	addrlist_free(&al);
}

/* At most ADDRLIST_MAX entries, groups still closed. */
static void addrlist_limits(void **state)
{
	struct buf v;
	buf_init(&v, 0);
	buf_append_str(&v, "G:");
	for (int i = 0; i < 2000; i++)
		buf_appendf(&v, "u%d@h,", i);
	struct addrlist al;
	addrlist_init(&al);
	assert_int_equal(addrlist_parse(&al, v.data, v.len), 0);
	assert_true(al.truncated);
	assert_int_equal(al.n, ADDRLIST_MAX);
	assert_int_equal(al.v[0].kind, ADDRLIST_GROUP);
	assert_int_equal(al.v[ADDRLIST_MAX - 1].kind, ADDRLIST_GROUP_END);
	addrlist_free(&al);
	buf_free(&v);
}

/* ------------------------------------------------------------ structure */

/* RFC 9051 section 8, message 12: BODY ("TEXT" "PLAIN" ("CHARSET"
 * "US-ASCII") NIL NIL "7BIT" 3028 92), for a body of 92 lines and 3028
 * octets in CRLF form. */
static void structure_rfc9051(void **state)
{
	struct buf msg;
	buf_init(&msg, 0);
	buf_append_str(&msg, rfc9051_header);
	make_lines(&msg, 92, 3028);
	assert_string_equal(structure_n(msg.data, msg.len, false),
	                    "(\"TEXT\" \"PLAIN\" (\"CHARSET\" \"US-ASCII\") "
	                    "NIL NIL \"7BIT\" 3028 92)");
	assert_string_equal(structure_n(msg.data, msg.len, true),
	                    "(\"TEXT\" \"PLAIN\" (\"CHARSET\" \"US-ASCII\") "
	                    "NIL NIL \"7BIT\" 3028 92 NIL NIL NIL NIL)");
	buf_free(&msg);
}

/* RFC 3501 7.4.2, the BODYSTRUCTURE example (non-extensible form):
 * (("TEXT" "PLAIN" ("CHARSET" "US-ASCII") NIL NIL "7BIT" 1152 23)
 *  ("TEXT" "PLAIN" ("CHARSET" "US-ASCII" "NAME" "cc.diff")
 *  "<960723163407.20117h@cac.washington.edu>" "Compiler diff" "BASE64"
 *  4554 73) "MIXED") */
static void structure_rfc3501(void **state)
{
	struct buf msg;
	buf_init(&msg, 0);
	buf_append_str(&msg, "Content-Type: MULTIPART/MIXED; BOUNDARY=\"x\"\n"
	                     "\n--x\n"
	                     "Content-Type: TEXT/PLAIN; CHARSET=US-ASCII\n\n");
	make_lines(&msg, 23, 1152);
	buf_append_str(&msg,
	               "\n--x\n"
	               "Content-Type: TEXT/PLAIN; CHARSET=US-ASCII; "
	               "NAME=cc.diff\n"
	               "Content-ID: <960723163407.20117h@cac.washington.edu>\n"
	               "Content-Description: Compiler diff\n"
	               "Content-Transfer-Encoding: BASE64\n\n");
	make_lines(&msg, 73, 4554);
	buf_append_str(&msg, "\n--x--\n");
	assert_string_equal(
	        structure_n(msg.data, msg.len, false),
	        "((\"TEXT\" \"PLAIN\" (\"CHARSET\" \"US-ASCII\") NIL NIL "
	        "\"7BIT\" 1152 23)(\"TEXT\" \"PLAIN\" (\"CHARSET\" "
	        "\"US-ASCII\" \"NAME\" \"cc.diff\") "
	        "\"<960723163407.20117h@cac.washington.edu>\" "
	        "\"Compiler diff\" \"BASE64\" 4554 73) \"MIXED\")");
	buf_free(&msg);
}

/* multipart/mixed: text and an attachment, with extension data. Python
 * (imapfmt_pycheck.py, case "mixed"): parts text/plain {charset: utf-8}
 * and application/pdf {name: r.pdf}, disposition attachment {filename:
 * "r\u00e9sum\u00e9.pdf"} via get_filename() (RFC 2231 decoded), payload
 * CRLF octets 7 and 8, text lines 1; multipart params {boundary: b1}. */
static const char mixed[] = "From: a@b.example\n"
                            "Subject: report\n"
                            "MIME-Version: 1.0\n"
                            "Content-Type: multipart/mixed; boundary=b1\n"
                            "Content-Language: en, de\n"
                            "\n"
                            "preamble\n"
                            "--b1\n"
                            "Content-Type: text/plain; charset=utf-8\n"
                            "\n"
                            "Hello\n"
                            "\n"
                            "--b1\n"
                            "Content-Type: application/pdf; name=r.pdf\n"
                            "Content-Disposition: attachment;\n"
                            " filename*=utf-8'fr'r%C3%A9sum%C3%A9.pdf\n"
                            "Content-Transfer-Encoding: base64\n"
                            "Content-MD5: Q2hlY2sgSW50ZWdyaXR5IQ==\n"
                            "Content-Location: http://x.example/r\n"
                            "\n"
                            "SGVsbG8h\n"
                            "--b1--\n"
                            "epilogue\n";

static void structure_mixed(void **state)
{
	assert_string_equal(
	        structure(mixed, true),
	        "((\"TEXT\" \"PLAIN\" (\"CHARSET\" \"utf-8\") NIL NIL \"7BIT\" "
	        "7 "
	        "1 NIL NIL NIL NIL)"
	        "(\"APPLICATION\" \"PDF\" (\"NAME\" \"r.pdf\") NIL NIL "
	        "\"BASE64\" 8 \"Q2hlY2sgSW50ZWdyaXR5IQ==\" (\"ATTACHMENT\" "
	        "(\"FILENAME*\" \"utf-8'fr'r%C3%A9sum%C3%A9.pdf\")) NIL "
	        "\"http://x.example/r\") "
	        "\"MIXED\" (\"BOUNDARY\" \"b1\") NIL (\"en\" \"de\") NIL)");
	assert_string_equal(structure(mixed, false),
	                    "((\"TEXT\" \"PLAIN\" (\"CHARSET\" \"utf-8\") NIL "
	                    "NIL \"7BIT\" 7 1)"
	                    "(\"APPLICATION\" \"PDF\" (\"NAME\" \"r.pdf\") NIL "
	                    "NIL \"BASE64\" 8) \"MIXED\")");
}

/* A message/rfc822 attachment: its envelope, structure and lines. Python
 * (case "rfc822"): the inner message has Subject 'inner', From
 * [('In Ner', 'in@ner.example')], a text/plain body of 2 lines, the
 * attachment 64 octets in CRLF form and 5 lines. */
static const char forward[] =
        "Content-Type: multipart/mixed; boundary=\"==b\"\n"
        "\n"
        "--==b\n"
        "\n"
        "see below\n"
        "--==b\n"
        "Content-Type: message/rfc822\n"
        "Content-Description: fwd\n"
        "\n"
        "From: In Ner <in@ner.example>\n"
        "Subject: inner\n"
        "\n"
        "line one\n"
        "line two\n"
        "--==b--\n";

static void structure_rfc822(void **state)
{
	assert_string_equal(
	        structure(forward, false),
	        "((\"TEXT\" \"PLAIN\" (\"CHARSET\" \"us-ascii\") NIL NIL "
	        "\"7BIT\" 9 1)"
	        "(\"MESSAGE\" \"RFC822\" NIL NIL \"fwd\" \"7BIT\" 67 "
	        "(NIL \"inner\" ((\"In Ner\" NIL \"in\" \"ner.example\")) "
	        "((\"In Ner\" NIL \"in\" \"ner.example\")) "
	        "((\"In Ner\" NIL \"in\" \"ner.example\")) NIL NIL NIL NIL "
	        "NIL) "
	        "(\"TEXT\" \"PLAIN\" (\"CHARSET\" \"us-ascii\") NIL NIL "
	        "\"7BIT\" "
	        "18 2) 5) \"MIXED\")");
}

/* A part the parser did not descend into is application/octet-stream. */
static void structure_opaque(void **state)
{
	assert_string_equal(
	        structure("Content-Type: multipart/mixed\n\nno boundary\n",
	                  false),
	        "(\"APPLICATION\" \"OCTET-STREAM\" NIL NIL NIL \"7BIT\" 13)");
}

/* ------------------------------------------------------------ sections */

/* Python (case "nested"): part 1.2 has the header
 * 'Content-Type: text/html\n' and payload '<p>hi</p>'. */
static const char nested[] = "From: f@x.example\n"
                             "Subject: nested\n"
                             "Content-Type: multipart/mixed; boundary=o\n"
                             "\n"
                             "--o\n"
                             "Content-Type: multipart/alternative; boundary=i\n"
                             "\n"
                             "--i\n"
                             "Content-Type: text/plain\n"
                             "\n"
                             "hi\n"
                             "--i\n"
                             "Content-Type: text/html\n"
                             "\n"
                             "<p>hi</p>\n"
                             "--i--\n"
                             "--o\n"
                             "Content-Type: application/octet-stream\n"
                             "Content-Transfer-Encoding: base64\n"
                             "\n"
                             "AAEC\n"
                             "/w==\n"
                             "--o\n"
                             "Content-Type: text/plain\n"
                             "Content-Transfer-Encoding: quoted-printable\n"
                             "\n"
                             "caf=C3=A9 =\n"
                             "au lait  \n"
                             "--o--\n";

static void sections(void **state)
{
	assert_string_equal(fetch(nested, "BODY[1.2.MIME]"),
	                    "Content-Type: text/html\r\n\r\n");
	assert_string_equal(fetch(nested, "BODY[1.2]"), "<p>hi</p>");
	assert_string_equal(fetch(nested, "BODY.PEEK[HEADER.FIELDS (From "
	                                  "\"SUBJECT\")]"),
	                    "From: f@x.example\r\nSubject: nested\r\n\r\n");
	assert_string_equal(fetch(nested, "BODY[HEADER.FIELDS.NOT (From "
	                                  "Subject)]"),
	                    "Content-Type: multipart/mixed; boundary=o\r\n"
	                    "\r\n");
	assert_string_equal(fetch(nested, "BODY[HEADER]"),
	                    "From: f@x.example\r\nSubject: nested\r\n"
	                    "Content-Type: multipart/mixed; boundary=o\r\n"
	                    "\r\n");
	/* TEXT from octet 10, 20 octets, in CRLF form */
	assert_string_equal(fetch(nested, "BODY[TEXT]<10.20>"),
	                    "nt-Type: multipart/a");
	assert_string_equal(fetch(nested, "BODY[TEXT]<100000.20>"), "");
	assert_string_equal(fetch(nested, "BODY[]<0.6>"), "From: ");
	assert_string_equal(fetch(nested, "RFC822.HEADER"),
	                    "From: f@x.example\r\nSubject: nested\r\n"
	                    "Content-Type: multipart/mixed; boundary=o\r\n"
	                    "\r\n");
	assert_string_equal(fetch(nested, "BODY[4]"), "<NO_PART>");
	assert_string_equal(fetch(nested, "BODY[1.HEADER]"), "<NO_PART>");
	assert_string_equal(fetch(nested, "BINARY[3]"), "caf\xc3\xa9 au lait");
}

static void binary_base64(void **state)
{
	struct fetch_att att;
	const char *err;
	assert_int_equal(fetch_att_parse("BINARY[2]", 9, &att, &err), 0);
	struct mime_msg *m = mime_parse(nested, strlen(nested));
	buf_clear(&out);
	assert_int_equal(fetchbody_get(nested, strlen(nested), m, &att, &out),
	                 FETCHBODY_OK);
	assert_int_equal(out.len, 4);
	assert_memory_equal(out.data, "\x00\x01\x02\xff", 4);
	uint64_t size;
	assert_int_equal(
	        fetchbody_binary_size(nested, strlen(nested), m, &att, &size),
	        FETCHBODY_OK);
	assert_int_equal(size, 4);
	fetch_att_free(&att);
	assert_int_equal(fetch_att_parse("BINARY.PEEK[2]<1.2>", 19, &att, &err),
	                 0);
	buf_clear(&out);
	assert_int_equal(fetchbody_get(nested, strlen(nested), m, &att, &out),
	                 FETCHBODY_OK);
	assert_memory_equal(out.data, "\x01\x02", 2);
	assert_int_equal(out.len, 2);
	fetch_att_free(&att);
	mime_msg_free(&m);
	assert_string_equal(fetch("Content-Transfer-Encoding: x-uuencode\n\nx",
	                          "BINARY[1]"),
	                    "<UNKNOWN_CTE>");
}

static void rfc822_part(void **state)
{
	assert_string_equal(
	        fetch(forward, "BODY[2]"),
	        "From: In Ner <in@ner.example>\r\nSubject: inner\r\n"
	        "\r\nline one\r\nline two");
	assert_string_equal(
	        fetch(forward, "BODY[2.HEADER]"),
	        "From: In Ner <in@ner.example>\r\nSubject: inner\r\n"
	        "\r\n");
	assert_string_equal(fetch(forward, "BODY[2.TEXT]"),
	                    "line one\r\nline two");
	assert_string_equal(fetch(forward, "BODY[2.HEADER.FIELDS (subject)]"),
	                    "Subject: inner\r\n\r\n");
	assert_string_equal(fetch(forward, "BODY[2.MIME]"),
	                    "Content-Type: message/rfc822\r\n"
	                    "Content-Description: fwd\r\n\r\n");
	assert_string_equal(fetch(forward, "BODY[2.1]"),
	                    "line one\r\nline two");
}

/* ------------------------------------------------------------ fetchitem */

static void items(void **state)
{
	struct fetch_att a;
	const char *err;
	const char *s = "body.peek[1.2.3.HEADER.FIELDS.NOT (A \"b \\\"c\" "
	                "X-Y)]<4294967295.1>";
	assert_int_equal(fetch_att_parse(s, strlen(s), &a, &err), 0);
	assert_int_equal(a.kind, FETCH_BODY_SECTION);
	assert_true(a.peek && a.partial);
	assert_int_equal(a.origin, 4294967295u);
	assert_int_equal(a.count, 1);
	assert_int_equal(a.section.n_parts, 3);
	assert_int_equal(a.section.parts[2], 3);
	assert_int_equal(a.section.text, FETCH_TEXT_HEADER_FIELDS_NOT);
	assert_int_equal(a.section.n_fields, 3);
	assert_int_equal(a.section.fields[1].len, 4);
	assert_memory_equal(a.section.fields[1].p, "b \"c", 4);
	fetch_att_free(&a);

	static const struct {
		const char *s;
		enum fetch_kind kind;
		enum fetch_text text;
	} ok[] = {
	        {"FLAGS", FETCH_FLAGS, FETCH_TEXT_NONE},
	        {"uid", FETCH_UID, FETCH_TEXT_NONE},
	        {"MODSEQ", FETCH_MODSEQ, FETCH_TEXT_NONE},
	        {"BODY", FETCH_BODY, FETCH_TEXT_NONE},
	        {"BODYSTRUCTURE", FETCH_BODYSTRUCTURE, FETCH_TEXT_NONE},
	        {"RFC822.HEADER", FETCH_RFC822_HEADER, FETCH_TEXT_HEADER},
	        {"RFC822.TEXT", FETCH_RFC822_TEXT, FETCH_TEXT_TEXT},
	        {"BODY[]", FETCH_BODY_SECTION, FETCH_TEXT_NONE},
	        {"BODY[TEXT]", FETCH_BODY_SECTION, FETCH_TEXT_TEXT},
	        {"BODY[1.MIME]", FETCH_BODY_SECTION, FETCH_TEXT_MIME},
	        {"BINARY[]", FETCH_BINARY, FETCH_TEXT_NONE},
	        {"BINARY.SIZE[1.2]", FETCH_BINARY_SIZE, FETCH_TEXT_NONE},
	};
	for (size_t i = 0; i < sizeof(ok) / sizeof(*ok); i++) {
		if (fetch_att_parse(ok[i].s, strlen(ok[i].s), &a, &err) < 0)
			fail_msg("%s: %s", ok[i].s, err);
		assert_int_equal(a.kind, ok[i].kind);
		assert_int_equal(a.section.text, ok[i].text);
		fetch_att_free(&a);
	}
}

static void item_errors(void **state)
{
	static const struct {
		const char *s, *err;
	} bad[] = {
	        {"BODY[0]", "Invalid section: part numbers start at 1"},
	        {"BODY[1.0]", "Invalid section: part numbers start at 1"},
	        {"BODY[1.]", "Invalid section: nothing after a dot"},
	        {"BODY[1..2]", "Invalid section: unknown section text"},
	        {"BODY[HEADER.FIELDS ()]",
	         "Invalid section: empty list of header fields"},
	        {"BODY[HEADER.FIELDS]",
	         "Invalid section: HEADER.FIELDS needs a list of field names"},
	        {"BODY[HEADER.FIELDS (A  B)]",
	         "Invalid section: bad header field name"},
	        {"BODY[HEADER.FIELDS (A B]",
	         "Invalid section: bad list of header fields"},
	        {"BODY[HEADER.FIELDS (\"A)]", "Invalid section: no closing ]"},
	        {"BODY[MIME]", "Invalid section: MIME needs a part number"},
	        {"BODY[HEADERX]",
	         "Invalid section: unexpected text in section"},
	        {"BODY[FOO]", "Invalid section: unknown section text"},
	        {"BODY[1x]", "Invalid section: bad part number"},
	        {"BODY[4294967296]", "Invalid section: part number too large"},
	        {"BODY[TEXT]<5.>", "Invalid partial: <origin.count> expected"},
	        {"BODY[TEXT]<5>", "Invalid partial: <origin.count> expected"},
	        {"BODY[TEXT]<5.1>x",
	         "Invalid partial: <origin.count> expected"},
	        {"BODY[TEXT]<5.0>", "Invalid partial: count must be 1 or more"},
	        {"BODY[]<4294967296.1>", "Invalid partial: number too large"},
	        {"BODY[]<0.4294967296>", "Invalid partial: number too large"},
	        {"BODY[]x", "Unexpected text after the section"},
	        {"BODY[", "Invalid section: no closing ]"},
	        {"BODY.PEEK", "Unknown FETCH attribute"},
	        {"BODYX[]", "Unknown FETCH attribute"},
	        {"ALL", "Unknown FETCH attribute"},
	        {"BINARY[1.TEXT]",
	         "Invalid section: BINARY takes part numbers only"},
	        {"BINARY[HEADER]",
	         "Invalid section: BINARY takes part numbers only"},
	        {"BINARY.SIZE[1]<0.1>", "BINARY.SIZE takes no partial"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
		struct fetch_att a;
		const char *err = NULL;
		if (fetch_att_parse(bad[i].s, strlen(bad[i].s), &a, &err) == 0)
			fail_msg("accepted %s", bad[i].s);
		assert_string_equal(err, bad[i].err);
		assert_null(a.mem);
	}
	/* limits: 100 part numbers and 100 fields pass, one more does not */
	struct buf b;
	buf_init(&b, 0);
	for (int n = FETCH_PARTS_MAX; n <= FETCH_PARTS_MAX + 1; n++) {
		buf_clear(&b);
		buf_append_str(&b, "BODY[");
		for (int i = 0; i < n; i++)
			buf_append_str(&b, i ? ".1" : "1");
		buf_append_str(&b, "]");
		struct fetch_att a;
		const char *err = NULL;
		int rc = fetch_att_parse(b.data, b.len, &a, &err);
		assert_int_equal(rc, n == FETCH_PARTS_MAX ? 0 : -1);
		if (rc == 0)
			fetch_att_free(&a);
		else
			assert_string_equal(
			        err, "Invalid section: too many part numbers");
	}
	for (int n = FETCH_FIELDS_MAX; n <= FETCH_FIELDS_MAX + 1; n++) {
		buf_clear(&b);
		buf_append_str(&b, "BODY[HEADER.FIELDS (");
		for (int i = 0; i < n; i++)
			buf_appendf(&b, "%sF%d", i ? " " : "", i);
		buf_append_str(&b, ")]");
		struct fetch_att a;
		const char *err = NULL;
		int rc = fetch_att_parse(b.data, b.len, &a, &err);
		assert_int_equal(rc, n == FETCH_FIELDS_MAX ? 0 : -1);
		if (rc == 0)
			fetch_att_free(&a);
		else
			assert_string_equal(
			        err, "Invalid section: too many header fields");
	}
	buf_free(&b);
}

/* Attribute lists as the command parser hands them over. */
static void lists(void **state)
{
	struct imap_parse_limits lim;
	imap_parse_limits_init(&lim, false, 1024);
	static const struct {
		const char *line;
		int rc;
		size_t n;
		const char *err;
	} cases[] = {
	        {"a FETCH 1 ALL\r\n", 0, 4, NULL},
	        {"a FETCH 1 fast\r\n", 0, 3, NULL},
	        {"a FETCH 1 FULL\r\n", 0, 5, NULL},
	        {"a FETCH 1 (UID BODY.PEEK[HEADER.FIELDS (From \"To\")]<0.9> "
	         "BINARY.SIZE[1])\r\n",
	         0, 3, NULL},
	        {"a FETCH 1 BODY[]\r\n", 0, 1, NULL},
	        {"a FETCH 1 (FLAGS ALL)\r\n", -1, 0, "Unknown FETCH attribute"},
	        {"a FETCH 1 ()\r\n", -1, 0, "Invalid FETCH attributes"},
	        {"a FETCH 1 (FLAGS (UID))\r\n", -1, 0,
	         "Invalid FETCH attribute"},
	        {"a FETCH 1 \"FLAGS\"\r\n", -1, 0, "Invalid FETCH attributes"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		struct imap_parser *p = imap_parser_new(&lim);
		size_t used;
		const char *line = cases[i].line;
		assert_int_equal(imap_parser_feed(p, line, strlen(line), &used),
		                 IMAP_PARSE_DONE);
		const struct imap_command *c = imap_parser_command(p);
		/* args[0] is the sequence set, the next top-level one the
		 * attributes */
		struct fetch_list l;
		const char *err = NULL;
		int rc = fetch_list_parse(c->args, c->n_args, c->args[0].next,
		                          &l, &err);
		assert_int_equal(rc, cases[i].rc);
		if (rc == 0)
			assert_int_equal(l.n, cases[i].n);
		else
			assert_string_equal(err, cases[i].err);
		fetch_list_free(&l);
		imap_parser_free(&p);
	}
}

/* ------------------------------------------------------------ sizes */

static double seconds(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Hostile shapes: 10,000 nested multiparts (the parser stops at depth
 * 100, the rest is opaque), 10,000 sibling parts, 100,000 header lines.
 * BODYSTRUCTURE and ENVELOPE each well under a second. */
static void timed(const char *what, const char *msg, size_t len)
{
	double t0 = seconds();
	struct mime_msg *m = mime_parse(msg, len);
	assert_non_null(m);
	double t1 = seconds();
	struct buf b;
	buf_init(&b, 0);
	assert_int_equal(imap_bodystructure_write(&b, msg, len, m, true), 0);
	double t2 = seconds();
	size_t bs = b.len;
	buf_clear(&b);
	assert_int_equal(imap_envelope_part(&b, m, mime_root(m)), 0);
	double t3 = seconds();
	print_message("%s: %zu bytes, %zu parts: parse %.3fs, BODYSTRUCTURE "
	              "%.3fs (%zu bytes), ENVELOPE %.3fs (%zu bytes)\n",
	              what, len, mime_part_count(m), t1 - t0, t2 - t1, bs,
	              t3 - t2, b.len);
	assert_true(t2 - t1 < 0.5 && t3 - t2 < 0.5);
	buf_free(&b);
	mime_msg_free(&m);
}

/* BODY[HEADER.FIELDS] with FETCH_FIELDS_MAX names over a huge header:
 * fields x names comparisons, but a length check first. */
static void timed_fields(const char *msg, size_t len)
{
	struct buf a;
	buf_init(&a, 0);
	buf_append_str(&a, "BODY[HEADER.FIELDS (");
	for (int i = 0; i < FETCH_FIELDS_MAX; i++)
		buf_appendf(&a, "%sX-H%d", i ? " " : "", i * 1000);
	buf_append_str(&a, ")]");
	struct fetch_att att;
	const char *err;
	assert_int_equal(fetch_att_parse(a.data, a.len, &att, &err), 0);
	struct mime_msg *m = mime_parse(msg, len);
	struct buf b;
	buf_init(&b, 0);
	double t0 = seconds();
	assert_int_equal(fetchbody_get(msg, len, m, &att, &b), FETCHBODY_OK);
	double t1 = seconds();
	print_message("BODY[HEADER.FIELDS (100 names)] of that: %.3fs (%zu "
	              "bytes)\n",
	              t1 - t0, b.len);
	/* "X-H0: v" CRLF, nine of "X-H1000: v" CRLF, ninety of
	 * "X-H10000: v" CRLF, the blank line */
	assert_int_equal(b.len, 9 + 9 * 12 + 90 * 13 + 2);
	assert_true(t1 - t0 < 0.5);
	mime_msg_free(&m);
	fetch_att_free(&att);
	buf_free(&b);
	buf_free(&a);
}

static void hostile_sizes(void **state)
{
	struct buf msg;
	buf_init(&msg, 0);
	for (int i = 0; i < 10000; i++)
		buf_appendf(&msg,
		            "Content-Type: multipart/mixed; boundary=b%d"
		            "\n\n--b%d\n",
		            i, i);
	buf_append_str(&msg, "\nend\n");
	timed("10,000 nested multiparts", msg.data, msg.len);

	buf_clear(&msg);
	buf_append_str(&msg, "Content-Type: multipart/mixed; boundary=b\n\n");
	for (int i = 0; i < 10000; i++)
		buf_appendf(&msg,
		            "--b\nContent-Type: text/plain; name=p%d\n"
		            "\nbody %d\n",
		            i, i);
	buf_append_str(&msg, "--b--\n");
	timed("10,000 siblings", msg.data, msg.len);

	buf_clear(&msg);
	buf_append_str(&msg, "From: a@b\nTo: x@y");
	for (int i = 0; i < 100000; i++)
		buf_appendf(&msg, ",\n u%d@h", i);
	buf_append_str(&msg, "\nSubject: s");
	for (int i = 0; i < 100000; i++)
		buf_append_str(&msg, "\n s");
	buf_append_byte(&msg, '\n');
	for (int i = 0; i < 100000; i++)
		buf_appendf(&msg, "X-H%d: v\n", i);
	buf_append_str(&msg, "\nbody\n");
	timed("300,000 header lines", msg.data, msg.len);
	timed_fields(msg.data, msg.len);

	/* message/rfc822 in message/rfc822 ...: an ENVELOPE per level */
	buf_clear(&msg);
	for (int i = 0; i < 10000; i++)
		buf_appendf(&msg,
		            "From: u%d@h\nSubject: level %d\n"
		            "Content-Type: message/rfc822\n\n",
		            i, i);
	buf_append_str(&msg, "\nend\n");
	timed("10,000 nested message/rfc822", msg.data, msg.len);
	buf_free(&msg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(strings),
	        cmocka_unit_test(crlf_sizes),
	        cmocka_unit_test(envelope_rfc9051),
	        cmocka_unit_test(envelope_groups),
	        cmocka_unit_test(envelope_names),
	        cmocka_unit_test(envelope_missing_and_dups),
	        cmocka_unit_test(addrlist_messy),
	        cmocka_unit_test(addrlist_limits),
	        cmocka_unit_test(structure_rfc9051),
	        cmocka_unit_test(structure_rfc3501),
	        cmocka_unit_test(structure_mixed),
	        cmocka_unit_test(structure_rfc822),
	        cmocka_unit_test(structure_opaque),
	        cmocka_unit_test(sections),
	        cmocka_unit_test(binary_base64),
	        cmocka_unit_test(rfc822_part),
	        cmocka_unit_test(items),
	        cmocka_unit_test(item_errors),
	        cmocka_unit_test(lists),
	        cmocka_unit_test(hostile_sizes),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
