/* Tests for src/mail/address.c: RFC 5321 paths (with RFC 6531 UTF-8),
 * mailbox_format, utf8_valid and the ESMTP parameter parser. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "mail/address.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum {
	ALL = ADDR_F_EMPTY_OK | ADDR_F_POSTMASTER_OK | ADDR_F_UTF8,
	/* expected mailbox flags */
	Q = 1, /* quoted */
	U = 2, /* utf8 */
	L = 4, /* literal */
	R = 8, /* routed */
};

/* Printable form of test input for failure messages. */
static const char *show(const char *s, size_t n)
{
	static char out[4 * 600 + 1];
	size_t o = 0;
	for (size_t i = 0; i < n && o + 5 < sizeof(out); i++) {
		unsigned char c = (unsigned char)s[i];
		if (c >= 0x20 && c < 0x7f && c != '\\')
			out[o++] = (char)c;
		else
			o += (size_t)snprintf(out + o, 5, "\\x%02x", c);
	}
	out[o] = '\0';
	return out;
}

static const char *result_name(enum addr_result r)
{
	switch (r) {
	case ADDR_OK:
		return "ADDR_OK";
	case ADDR_SYNTAX:
		return "ADDR_SYNTAX";
	case ADDR_TOO_LONG:
		return "ADDR_TOO_LONG";
	case ADDR_NEED_UTF8:
		return "ADDR_NEED_UTF8";
	}
	return "?";
}

struct path_case {
	const char *in;
	size_t len;
	unsigned flags;
	enum addr_result want;
	const char *local;  /* on ADDR_OK */
	const char *domain; /* on ADDR_OK */
	unsigned bits;      /* Q U L R expected on ADDR_OK */
	size_t consumed;    /* on ADDR_OK; 0 means the whole input */
};

/* Table rows. Inputs are string literals, so they may hold NUL bytes. */
#define P(s, fl, loc, dom, b)                                                  \
	{                                                                      \
		.in = s, .len = sizeof(s) - 1, .flags = fl, .want = ADDR_OK,   \
		.local = loc, .domain = dom, .bits = b                         \
	}
#define PC(s, fl, loc, dom, b, used)                                           \
	{                                                                      \
		.in = s, .len = sizeof(s) - 1, .flags = fl, .want = ADDR_OK,   \
		.local = loc, .domain = dom, .bits = b, .consumed = used       \
	}
#define E(s, fl, w)                                                            \
	{                                                                      \
		.in = s, .len = sizeof(s) - 1, .flags = fl, .want = w          \
	}

/* Parse one case and compare every output field exactly. */
static void check_path(const struct path_case *c, size_t i)
{
	struct mailbox mb;
	size_t consumed = 12345;
	const char *why = NULL;
	enum addr_result r = address_parse_path(c->in, c->len, c->flags, &mb,
	                                        &consumed, &why);
	const char *in = show(c->in, c->len);
	if (r != c->want)
		fail_msg("case %zu '%s' flags %u: got %s (%s), want %s", i, in,
		         c->flags, result_name(r), why ? why : "-",
		         result_name(c->want));
	if (r != ADDR_OK) {
		if (why == NULL || *why == '\0')
			fail_msg("case %zu '%s': no reason given", i, in);
		return;
	}
	size_t want_consumed = c->consumed ? c->consumed : c->len;
	unsigned bits = (mb.quoted ? Q : 0) | (mb.utf8 ? U : 0) |
	                (mb.literal ? L : 0) | (mb.routed ? R : 0);
	if (strcmp(mb.local, c->local) != 0 ||
	    strcmp(mb.domain, c->domain) != 0 || bits != c->bits ||
	    consumed != want_consumed)
		fail_msg("case %zu '%s': got local '%s' domain '%s' bits %u "
		         "consumed %zu; want '%s' '%s' %u %zu",
		         i, in, mb.local, mb.domain, bits, consumed, c->local,
		         c->domain, c->bits, want_consumed);
}

static void check_paths(const struct path_case *cases, size_t n)
{
	for (size_t i = 0; i < n; i++)
		check_path(&cases[i], i);
}

#define CHECK_PATHS(t) check_paths(t, sizeof(t) / sizeof((t)[0]))

/* ------------------------------------------------------------ valid */

static void path_valid(void **state)
{
	static const struct path_case t[] = {
	        P("<user@example.org>", 0, "user", "example.org", 0),
	        /* the local part keeps its case, the domain is lower-cased */
	        P("<User.Name+tag@Mail.EXAMPLE.Org>", 0, "User.Name+tag",
	          "mail.example.org", 0),
	        P("<a!#$%&'*+-/=?^_`{|}~@x.org>", 0, "a!#$%&'*+-/=?^_`{|}~",
	          "x.org", 0),
	        P("<u@x>", 0, "u", "x", 0),
	        P("<u@123.example>", 0, "u", "123.example", 0),
	        P("<u@a-b.example>", 0, "u", "a-b.example", 0),
	        P("<u@a--b.example>", 0, "u", "a--b.example", 0),
	        P("<u@xn--bcher-kva.example>", 0, "u", "xn--bcher-kva.example",
	          0),
	        /* the null reverse-path */
	        P("<>", ADDR_F_EMPTY_OK, "", "", 0),
	        P("<>", ALL, "", "", 0),
	        /* RFC 5321 4.1.1.3: <Postmaster> without a domain */
	        P("<postmaster>", ADDR_F_POSTMASTER_OK, "postmaster", "", 0),
	        P("<PostMaster>", ADDR_F_POSTMASTER_OK, "postmaster", "", 0),
	        P("<postmaster@example.org>", 0, "postmaster", "example.org",
	          0),
	        P("<Postmaster@Example.ORG>", ADDR_F_POSTMASTER_OK,
	          "Postmaster", "example.org", 0),
	        /* source routes are parsed and dropped (RFC 5321 C) */
	        P("<@a.example,@b.example:u@d.example>", 0, "u", "d.example",
	          R),
	        P("<@a.example:u@D.Example>", 0, "u", "d.example", R),
	        /* address literals (ABNF strings such as "IPv6:" are
	         * case-insensitive, so lower-casing them is harmless) */
	        P("<u@[192.0.2.1]>", 0, "u", "[192.0.2.1]", L),
	        P("<u@[IPv6:2001:db8::1]>", 0, "u", "[ipv6:2001:db8::1]", L),
	        P("<u@[IPv6:::1]>", 0, "u", "[ipv6:::1]", L),
	        P("<u@[IPv6:::ffff:192.0.2.1]>", 0, "u",
	          "[ipv6:::ffff:192.0.2.1]", L),
	        /* '|' and '`' are RFC 5322 atext: valid addresses, which is why
	         * delivery must never hand a local part to a shell */
	        P("<|sh@x.org>", 0, "|sh", "x.org", 0),
	        P("<`id`@x.org>", 0, "`id`", "x.org", 0),
	};
	CHECK_PATHS(t);
}

static void path_quoted_local_part(void **state)
{
	static const struct path_case t[] = {
	        /* quotes that are not needed go: "john"@x is john@x */
	        P("<\"john\"@x.org>", 0, "john", "x.org", 0),
	        P("<\"john.smith\"@x.org>", 0, "john.smith", "x.org", 0),
	        P("<\"\\j\\o\\h\\n\"@x.org>", 0, "john", "x.org", 0),
	        P("<\"Postmaster\">", ADDR_F_POSTMASTER_OK, "postmaster", "",
	          0),
	        /* quotes that are needed stay */
	        P("<\"john doe\"@x.org>", 0, "\"john doe\"", "x.org", Q),
	        P("<\"john.\"@x.org>", 0, "\"john.\"", "x.org", Q),
	        P("<\"a..b\"@x.org>", 0, "\"a..b\"", "x.org", Q),
	        P("<\"a@b\"@x.org>", 0, "\"a@b\"", "x.org", Q),
	        P("<\"\"@x.org>", 0, "\"\"", "x.org", Q),
	        /* only '"' and '\' keep their backslash */
	        P("<\"a\\\"b\"@x.org>", 0, "\"a\\\"b\"", "x.org", Q),
	        P("<\"a\\\\b\"@x.org>", 0, "\"a\\\\b\"", "x.org", Q),
	        P("<\"a\\ b\"@x.org>", 0, "\"a b\"", "x.org", Q),
	        /* broken quoting */
	        E("<\"john@x.org>", ALL, ADDR_SYNTAX),
	        E("<\"jo\"hn@x.org>", ALL, ADDR_SYNTAX),
	        E("<john\"doe\"@x.org>", ALL, ADDR_SYNTAX),
	        E("<\"a\\", ALL, ADDR_SYNTAX),
	};
	CHECK_PATHS(t);
}

static void path_utf8(void **state)
{
	static const struct path_case t[] = {
	        P("<j\xc3\xb6s\xc3\xa9@ex\xc3\xa4"
	          "mple.org>",
	          ADDR_F_UTF8, "j\xc3\xb6s\xc3\xa9",
	          "ex\xc3\xa4"
	          "mple.org",
	          U),
	        /* only ASCII letters are lower-cased */
	        P("<u@EX\xc3\x84MPLE.org>", ADDR_F_UTF8, "u",
	          "ex\xc3\x84mple.org", U),
	        P("<\"j\xc3\xb6 doe\"@x.org>", ADDR_F_UTF8, "\"j\xc3\xb6 doe\"",
	          "x.org", Q | U),
	        P("<\xf0\x9f\x93\xa7@x.org>", ADDR_F_UTF8, "\xf0\x9f\x93\xa7",
	          "x.org", U),
	        /* the same without SMTPUTF8 */
	        E("<j\xc3\xb6s\xc3\xa9@example.org>", ADDR_F_EMPTY_OK,
	          ADDR_NEED_UTF8),
	        E("<u@ex\xc3\xa4"
	          "mple.org>",
	          0, ADDR_NEED_UTF8),
	        E("<\"j\xc3\xb6 doe\"@x.org>", ADDR_F_POSTMASTER_OK,
	          ADDR_NEED_UTF8),
	};
	CHECK_PATHS(t);
}

/* Ill-formed UTF-8 is a syntax error with or without SMTPUTF8, never
 * "needs UTF-8" (RFC 3629: no overlong forms, no surrogates, <= U+10FFFF). */
static void path_invalid_utf8(void **state)
{
	static const struct path_case bad[] = {
	        E("<a\xc0\x80@x.org>", 0, ADDR_SYNTAX),     /* overlong NUL */
	        E("<a\xc1\xbf@x.org>", 0, ADDR_SYNTAX),     /* overlong */
	        E("<a\xe0\x80\xaf@x.org>", 0, ADDR_SYNTAX), /* overlong '/' */
	        E("<a\xf0\x80\x80\x80@x.org>", 0, ADDR_SYNTAX),
	        E("<a\xed\xa0\x80@x.org>", 0, ADDR_SYNTAX),     /* U+D800 */
	        E("<a\xed\xbf\xbf@x.org>", 0, ADDR_SYNTAX),     /* U+DFFF */
	        E("<a\xf4\x90\x80\x80@x.org>", 0, ADDR_SYNTAX), /* U+110000 */
	        E("<a\xf5\x80\x80\x80@x.org>", 0, ADDR_SYNTAX),
	        E("<a\xff@x.org>", 0, ADDR_SYNTAX),
	        E("<a\x80@x.org>", 0, ADDR_SYNTAX), /* lone continuation */
	        E("<a\xc3@x.org>", 0, ADDR_SYNTAX), /* truncated sequences */
	        E("<a\xe2\x82@x.org>", 0, ADDR_SYNTAX),
	        E("<a\xf0\x9f\x93@x.org>", 0, ADDR_SYNTAX),
	        E("<a\xc3", 0, ADDR_SYNTAX),
	        E("<a@x\xc3>", 0, ADDR_SYNTAX),
	        E("<a@\xed\xa0\x80.org>", 0, ADDR_SYNTAX),
	        E("<a@x.\xc0\xae.org>", 0, ADDR_SYNTAX),
	        E("<\"a\xc0\x80\"@x.org>", 0, ADDR_SYNTAX),
	        E("<\"a\xe2\x82\"@x.org>", 0, ADDR_SYNTAX),
	};
	static const unsigned flags[] = {0, ADDR_F_UTF8, ALL};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		for (size_t f = 0; f < 3; f++) {
			struct path_case c = bad[i];
			c.flags = flags[f];
			check_path(&c, i);
		}
}

static void path_invalid_syntax(void **state)
{
	static const struct path_case t[] = {
	        E("", ALL, ADDR_SYNTAX),
	        E("user@x.org", ALL, ADDR_SYNTAX),
	        E("<user@x.org", ALL, ADDR_SYNTAX),
	        E("user@x.org>", ALL, ADDR_SYNTAX),
	        E(" <user@x.org>", ALL, ADDR_SYNTAX),
	        E("<user@x.org >", ALL, ADDR_SYNTAX),
	        E("< user@x.org>", ALL, ADDR_SYNTAX),
	        E("<<user@x.org>>", ALL, ADDR_SYNTAX),
	        E("<>", ADDR_F_POSTMASTER_OK | ADDR_F_UTF8, ADDR_SYNTAX),
	        E("<", ALL, ADDR_SYNTAX),
	        E("<user>", ALL, ADDR_SYNTAX),
	        E("<postmaster>", ADDR_F_EMPTY_OK | ADDR_F_UTF8, ADDR_SYNTAX),
	        E("<\"postmaster\" >", ALL, ADDR_SYNTAX),
	        E("<user@>", ALL, ADDR_SYNTAX),
	        E("<@x.org>", ALL, ADDR_SYNTAX),
	        E("<u@@x.org>", ALL, ADDR_SYNTAX),
	        E("<u@x@y.org>", ALL, ADDR_SYNTAX),
	        /* dot-atoms */
	        E("<.u@x.org>", ALL, ADDR_SYNTAX),
	        E("<u.@x.org>", ALL, ADDR_SYNTAX),
	        E("<u..v@x.org>", ALL, ADDR_SYNTAX),
	        E("<u(c)@x.org>", ALL, ADDR_SYNTAX),
	        E("<u,v@x.org>", ALL, ADDR_SYNTAX),
	        /* domains: trailing dot, empty labels, hyphens, other bytes */
	        E("<u@x.org.>", ALL, ADDR_SYNTAX),
	        E("<u@.x.org>", ALL, ADDR_SYNTAX),
	        E("<u@x..org>", ALL, ADDR_SYNTAX),
	        E("<u@-x.org>", ALL, ADDR_SYNTAX),
	        E("<u@x-.org>", ALL, ADDR_SYNTAX),
	        E("<u@x.-org>", ALL, ADDR_SYNTAX),
	        E("<u@x.org->", ALL, ADDR_SYNTAX),
	        E("<u@x_y.org>", ALL, ADDR_SYNTAX),
	        E("<u@x+y.org>", ALL, ADDR_SYNTAX),
	        /* source routes */
	        E("<@a.example u@d.example>", ALL, ADDR_SYNTAX),
	        E("<@:u@d.example>", ALL, ADDR_SYNTAX),
	        E("<@a.example,u@d.example>", ALL, ADDR_SYNTAX),
	        E("<@a.example,:u@d.example>", ALL, ADDR_SYNTAX),
	        E("<@a.example:>", ALL, ADDR_SYNTAX),
	        E("<@a..example:u@d.example>", ALL, ADDR_SYNTAX),
	        /* address literals */
	        E("<u@[300.0.2.1]>", ALL, ADDR_SYNTAX),
	        E("<u@[192.0.2]>", ALL, ADDR_SYNTAX),
	        E("<u@[192.0.2.1.5]>", ALL, ADDR_SYNTAX),
	        E("<u@[192.0.2.1 ]>", ALL, ADDR_SYNTAX),
	        E("<u@[IPv6:2001:db8::g]>", ALL, ADDR_SYNTAX),
	        E("<u@[IPv6:192.0.2.1]>", ALL, ADDR_SYNTAX),
	        E("<u@[2001:db8::1]>", ALL, ADDR_SYNTAX),
	        E("<u@[]>", ALL, ADDR_SYNTAX),
	        E("<u@[abc]>", ALL, ADDR_SYNTAX),
	        E("<u@[192.0.2.1>", ALL, ADDR_SYNTAX),
	        E("<u@192.0.2.1]>", ALL, ADDR_SYNTAX),
	        E("<u@[192.0.2.1]x>", ALL, ADDR_SYNTAX),
	        E("<u@[[192.0.2.1]]>", ALL, ADDR_SYNTAX),
	        E("<u@[a\\]b]>", ALL, ADDR_SYNTAX),
	        /* the length bounds the parse: nothing is read past it */
	        {.in = "<u@x.org>",
	         .len = 8,
	         .flags = ALL,
	         .want = ADDR_SYNTAX},
	        {.in = "<>", .len = 1, .flags = ALL, .want = ADDR_SYNTAX},
	};
	CHECK_PATHS(t);
}

/* NUL, CR, LF, blanks and other controls are never part of an address. */
static void path_control_bytes(void **state)
{
	static const struct path_case t[] = {
	        E("<a\0b@x.org>", ALL, ADDR_SYNTAX),
	        E("<\0>", ALL, ADDR_SYNTAX),
	        E("<a\rb@x.org>", ALL, ADDR_SYNTAX),
	        E("<a\nb@x.org>", ALL, ADDR_SYNTAX),
	        E("<a b@x.org>", ALL, ADDR_SYNTAX),
	        E("<a\tb@x.org>", ALL, ADDR_SYNTAX),
	        E("<a\x01@x.org>", ALL, ADDR_SYNTAX),
	        E("<a\x1b@x.org>", ALL, ADDR_SYNTAX),
	        E("<a\x7f@x.org>", ALL, ADDR_SYNTAX),
	        E("<a@x\0.org>", ALL, ADDR_SYNTAX),
	        E("<a@x\r\n.org>", ALL, ADDR_SYNTAX),
	        E("<a@x.org\0>", ALL, ADDR_SYNTAX),
	        E("<a@x .org>", ALL, ADDR_SYNTAX),
	        E("<a@x.org\r\n>", ALL, ADDR_SYNTAX),
	        E("<a@[192.0.2.1\0]>", ALL, ADDR_SYNTAX),
	        E("<\"a\0b\"@x.org>", ALL, ADDR_SYNTAX),
	        E("<\"a\rb\"@x.org>", ALL, ADDR_SYNTAX),
	        E("<\"a\nb\"@x.org>", ALL, ADDR_SYNTAX),
	        E("<\"a\x7f\"@x.org>", ALL, ADDR_SYNTAX),
	        /* quoted-pairSMTP is %d92 %d32-126: no escaped controls */
	        E("<\"a\\\0b\"@x.org>", ALL, ADDR_SYNTAX),
	        E("<\"a\\\rb\"@x.org>", ALL, ADDR_SYNTAX),
	        E("<\"a\\\nb\"@x.org>", ALL, ADDR_SYNTAX),
	        E("<\"a\\\tb\"@x.org>", ALL, ADDR_SYNTAX),
	};
	CHECK_PATHS(t);
}

/* Shell and command-injection attempts are syntax errors ('|' and '`' alone
 * are atext, see path_valid). */
static void path_shell_metacharacters(void **state)
{
	static const struct path_case t[] = {
	        E("<;sleep 1;>", ALL, ADDR_SYNTAX),
	        E("<a;sleep 1@x.org>", ALL, ADDR_SYNTAX),
	        E("<a@x.org;rm -rf />", ALL, ADDR_SYNTAX),
	        E("<$(id)@x.org>", ALL, ADDR_SYNTAX),
	        E("<a@x.org|sh>", ALL, ADDR_SYNTAX),
	        E("<a@x|sh.org>", ALL, ADDR_SYNTAX),
	        E("<a@$(id).org>", ALL, ADDR_SYNTAX),
	        E("<a@`id`.org>", ALL, ADDR_SYNTAX),
	        E("<a>b@x.org>", ALL, ADDR_SYNTAX),
	        E("<a<b@x.org>", ALL, ADDR_SYNTAX),
	        E("<../../etc/passwd>", ALL, ADDR_SYNTAX),
	};
	CHECK_PATHS(t);
}

/* Whatever follows the '>' is the caller's (ESMTP parameters): the parser
 * stops after the '>' and says how far it read. */
static void path_stops_after_bracket(void **state)
{
	static const struct path_case t[] = {
	        PC("<u@x.org> SIZE=10", 0, "u", "x.org", 0, 9),
	        PC("<u@x.org>>", 0, "u", "x.org", 0, 9),
	        PC("<u@x.org>junk", 0, "u", "x.org", 0, 9),
	        PC("<u@x.org>\0\r\n", 0, "u", "x.org", 0, 9),
	        PC("<> BODY=8BITMIME", ADDR_F_EMPTY_OK, "", "", 0, 2),
	        PC("<postmaster> x", ADDR_F_POSTMASTER_OK, "postmaster", "", 0,
	           12),
	        PC("<@a.example:u@[192.0.2.1]> x", 0, "u", "[192.0.2.1]", L | R,
	           26),
	};
	CHECK_PATHS(t);
}

/* ------------------------------------------------------------ limits */

/* A domain name of exactly n octets: labels of 50 letters joined by dots
 * (the last label may be one longer so the name never ends in a dot). */
static char *make_domain(size_t n)
{
	char *d = malloc(n + 1);
	assert_non_null(d);
	for (size_t i = 0; i < n; i++)
		d[i] = i % 51 == 50 && i + 1 < n ? '.' : (char)('a' + i % 26);
	d[n] = '\0';
	return d;
}

/* "<" + local_len letters + "@" + a domain of domain_len octets + ">" */
static char *make_path(size_t local_len, size_t domain_len)
{
	char *dom = make_domain(domain_len);
	size_t n = local_len + domain_len + 3;
	char *p = malloc(n + 1);
	assert_non_null(p);
	p[0] = '<';
	memset(p + 1, 'l', local_len);
	p[1 + local_len] = '@';
	memcpy(p + 2 + local_len, dom, domain_len);
	p[n - 1] = '>';
	p[n] = '\0';
	free(dom);
	return p;
}

static void expect_path_len(size_t local_len, size_t domain_len,
                            enum addr_result want)
{
	char *p = make_path(local_len, domain_len);
	size_t n = strlen(p);
	struct mailbox mb;
	size_t consumed = 0;
	const char *why = NULL;
	enum addr_result r =
	        address_parse_path(p, n, ALL, &mb, &consumed, &why);
	if (r != want)
		fail_msg(
		        "local %zu domain %zu (path %zu): got %s (%s), want %s",
		        local_len, domain_len, n, result_name(r),
		        why ? why : "-", result_name(want));
	if (r == ADDR_OK) {
		assert_int_equal(consumed, n);
		assert_int_equal(strlen(mb.local), local_len);
		assert_int_equal(strlen(mb.domain), domain_len);
		char text[ADDR_TEXT_MAX];
		assert_int_equal(mailbox_format(&mb, text), n - 2);
		assert_memory_equal(text, p + 1, n - 2);
	}
	free(p);
}

/* RFC 5321 4.5.3.1: local part 64, domain 255, path 256 octets (brackets
 * included), each checked exactly at and one past the limit. */
static void path_length_limits(void **state)
{
	expect_path_len(64, 10, ADDR_OK);
	expect_path_len(65, 10, ADDR_TOO_LONG);
	/* the path: '<' + 64 + '@' + 189 + '>' = 256 */
	expect_path_len(64, 189, ADDR_OK);
	expect_path_len(64, 190, ADDR_TOO_LONG);
	expect_path_len(1, 252, ADDR_OK); /* 1 + 1 + 1 + 252 + 1 = 256 */
	expect_path_len(1, 253, ADDR_TOO_LONG);
	/* a 255-octet domain is within its own limit but cannot fit in a
	 * 256-octet path; 256 octets is over both */
	expect_path_len(1, 255, ADDR_TOO_LONG);
	expect_path_len(1, 256, ADDR_TOO_LONG);
	expect_path_len(1, 1000, ADDR_TOO_LONG);
}

/* RFC 1035 2.3.4: a label is at most 63 octets. */
static void path_label_limit(void **state)
{
	char label[65], p[100], dom[80];
	memset(label, 'a', 63);
	label[63] = '\0';
	snprintf(p, sizeof(p), "<u@%s.org>", label);
	snprintf(dom, sizeof(dom), "%s.org", label);
	struct path_case ok = {.in = p,
	                       .len = strlen(p),
	                       .want = ADDR_OK,
	                       .local = "u",
	                       .domain = dom};
	check_path(&ok, 63);
	label[63] = 'a';
	label[64] = '\0';
	snprintf(p, sizeof(p), "<u@%s.org>", label);
	struct path_case first = {
	        .in = p, .len = strlen(p), .flags = ALL, .want = ADDR_SYNTAX};
	check_path(&first, 64);
	snprintf(p, sizeof(p), "<u@x.%s>", label);
	struct path_case last = {
	        .in = p, .len = strlen(p), .flags = ALL, .want = ADDR_SYNTAX};
	check_path(&last, 64);
}

/* The 64-octet limit counts a Quoted-string as sent, quotes included. */
static void path_quoted_length_limit(void **state)
{
	char p[200], raw[100], want[110];
	/* 62 octets inside the quotes with a space: 64 as sent, kept quoted */
	memset(raw, 'q', 62);
	raw[10] = ' ';
	raw[62] = '\0';
	snprintf(p, sizeof(p), "<\"%s\"@x.org>", raw);
	snprintf(want, sizeof(want), "\"%s\"", raw);
	struct path_case at = {.in = p,
	                       .len = strlen(p),
	                       .want = ADDR_OK,
	                       .local = want,
	                       .domain = "x.org",
	                       .bits = Q};
	check_path(&at, 64);
	/* 62 plain letters: 64 as sent, stored without the quotes */
	raw[10] = 'q';
	snprintf(p, sizeof(p), "<\"%s\"@x.org>", raw);
	struct path_case plain = {.in = p,
	                          .len = strlen(p),
	                          .want = ADDR_OK,
	                          .local = raw,
	                          .domain = "x.org"};
	check_path(&plain, 64);
	/* 63 inside: 65 as sent */
	memset(raw, 'q', 63);
	raw[10] = ' ';
	raw[63] = '\0';
	snprintf(p, sizeof(p), "<\"%s\"@x.org>", raw);
	struct path_case over = {
	        .in = p, .len = strlen(p), .flags = ALL, .want = ADDR_TOO_LONG};
	check_path(&over, 65);
	/* escapes count as sent: 31 escaped quotes are 62 octets, plus 2 */
	size_t o = 0;
	p[o++] = '<';
	p[o++] = '"';
	for (int i = 0; i < 31; i++) {
		p[o++] = '\\';
		p[o++] = '"';
	}
	memcpy(p + o, "\"@x.org>", sizeof("\"@x.org>"));
	want[0] = '"';
	memcpy(want + 1, p + 2, 62);
	memcpy(want + 63, "\"", 2);
	struct path_case esc = {.in = p,
	                        .len = strlen(p),
	                        .want = ADDR_OK,
	                        .local = want,
	                        .domain = "x.org",
	                        .bits = Q};
	check_path(&esc, 31);
	/* 32 escaped quotes: 66 as sent */
	memmove(p + 4, p + 2, strlen(p + 2) + 1);
	p[2] = '\\';
	p[3] = '"';
	struct path_case esc_over = {
	        .in = p, .len = strlen(p), .flags = ALL, .want = ADDR_TOO_LONG};
	check_path(&esc_over, 32);
}

/* A quoted local part well over 64 octets is over an RFC 5321 limit, which
 * address.h says is ADDR_TOO_LONG, as it is for a Dot-string of that size. */
static void path_long_quoted_local_part_is_too_long(void **state)
{
	char p[300], raw[200];
	memset(raw, 'q', 65);
	raw[10] = ' ';
	raw[65] = '\0';
	snprintf(p, sizeof(p), "<\"%s\"@x.org>", raw); /* 67 octets */
	struct path_case c67 = {
	        .in = p, .len = strlen(p), .flags = ALL, .want = ADDR_TOO_LONG};
	check_path(&c67, 67);
	memset(raw, 'q', 100);
	raw[100] = '\0';
	snprintf(p, sizeof(p), "<\"%s\"@x.org>", raw); /* 102 octets */
	struct path_case c102 = {
	        .in = p, .len = strlen(p), .flags = ALL, .want = ADDR_TOO_LONG};
	check_path(&c102, 102);
}

/* ------------------------------------------------------------ format */

static void format_mailbox(void **state)
{
	static const struct {
		const char *in;
		unsigned flags;
		const char *want;
	} t[] = {
	        {"<u@example.org>", 0, "u@example.org"},
	        {"<User@EXAMPLE.org>", 0, "User@example.org"},
	        {"<>", ADDR_F_EMPTY_OK, ""},
	        {"<Postmaster>", ADDR_F_POSTMASTER_OK, "postmaster"},
	        {"<\"john\"@x.org>", 0, "john@x.org"},
	        {"<\"john doe\"@x.org>", 0, "\"john doe\"@x.org"},
	        {"<\"a\\\"b\"@x.org>", 0, "\"a\\\"b\"@x.org"},
	        {"<u@[192.0.2.1]>", 0, "u@[192.0.2.1]"},
	        {"<@a.example:u@d.example>", 0, "u@d.example"},
	        {"<j\xc3\xb6@x.org>", ADDR_F_UTF8, "j\xc3\xb6@x.org"},
	};
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		struct mailbox mb;
		size_t consumed;
		const char *why;
		assert_int_equal(address_parse_path(t[i].in, strlen(t[i].in),
		                                    t[i].flags, &mb, &consumed,
		                                    &why),
		                 ADDR_OK);
		char out[ADDR_TEXT_MAX];
		memset(out, 'X', sizeof(out));
		size_t n = mailbox_format(&mb, out);
		assert_string_equal(out, t[i].want);
		assert_int_equal(n, strlen(t[i].want));
	}
}

/* ------------------------------------------------------------ utf8_valid */

static void utf8_validity(void **state)
{
#define V(s, ok)                                                               \
	{                                                                      \
		s, sizeof(s) - 1, ok                                           \
	}
	static const struct {
		const char *s;
		size_t len;
		bool ok;
	} t[] = {
	        V("", true),
	        V("plain ascii", true),
	        V("a\0b", true),             /* U+0000 is well-formed */
	        V("\xc2\x80", true),         /* U+0080 */
	        V("\xc3\xa9", true),         /* e acute */
	        V("\xdf\xbf", true),         /* U+07FF */
	        V("\xe0\xa0\x80", true),     /* U+0800 */
	        V("\xe2\x82\xac", true),     /* euro sign */
	        V("\xed\x9f\xbf", true),     /* U+D7FF */
	        V("\xee\x80\x80", true),     /* U+E000 */
	        V("\xef\xbf\xbf", true),     /* U+FFFF */
	        V("\xf0\x90\x80\x80", true), /* U+10000 */
	        V("\xf4\x8f\xbf\xbf", true), /* U+10FFFF */
	        V("a\xc3\xa9z\xf0\x9f\x93\xa7", true),
	        V("\xc0\x80", false), /* overlong */
	        V("\xc1\xbf", false),
	        V("\xe0\x80\x80", false),
	        V("\xe0\x9f\xbf", false), /* overlong U+07FF */
	        V("\xf0\x80\x80\x80", false),
	        V("\xf0\x8f\xbf\xbf", false), /* overlong U+FFFF */
	        V("\xed\xa0\x80", false),     /* U+D800 */
	        V("\xed\xbf\xbf", false),     /* U+DFFF */
	        V("\xf4\x90\x80\x80", false), /* U+110000 */
	        V("\xf5\x80\x80\x80", false),
	        V("\xf8\x88\x80\x80\x80", false),
	        V("\xfe", false),
	        V("\xff", false),
	        V("\x80", false), /* lone continuation */
	        V("\xbf", false),
	        V("\xc3", false), /* truncated */
	        V("\xe2\x82", false),
	        V("\xf0\x9f\x93", false),
	        V("\xc3\x41", false), /* bad continuation */
	        V("\xe2\x28\xac", false),
	        V("ok\xc3", false),
	};
#undef V
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		if (utf8_valid(t[i].s, t[i].len) != t[i].ok)
			fail_msg("case %zu '%s': want %d", i,
			         show(t[i].s, t[i].len), t[i].ok);
	/* the length bounds the check */
	assert_true(utf8_valid("ab\xff", 2));
	assert_false(utf8_valid("\xe2\x82\xac", 2));
}

/* ------------------------------------------------------------ params */

struct param_case {
	const char *in;
	size_t len;
	int want;          /* count, or -1 */
	const char *kv[3]; /* "KEYWORD" or "KEYWORD=value" */
};

#define PARAMS(s, n, ...)                                                      \
	{                                                                      \
		.in = s, .len = sizeof(s) - 1, .want = n,                      \
		.kv = { __VA_ARGS__ }                                          \
	}
#define NOPARAMS(s, n)                                                         \
	{                                                                      \
		.in = s, .len = sizeof(s) - 1, .want = n                       \
	}

static void check_params(const struct param_case *c, size_t i)
{
	struct esmtp_param p[ESMTP_PARAMS_MAX];
	const char *why = NULL;
	int n = esmtp_parse_params(c->in, c->len, p, &why);
	if (n != c->want)
		fail_msg("case %zu '%s': got %d (%s), want %d", i,
		         show(c->in, c->len), n, why ? why : "-", c->want);
	if (n < 0) {
		if (why == NULL)
			fail_msg("case %zu: no reason", i);
		return;
	}
	for (int k = 0; k < n; k++) {
		char got[200];
		if (p[k].value != NULL)
			snprintf(got, sizeof(got), "%.*s=%.*s",
			         (int)p[k].keyword_len, p[k].keyword,
			         (int)p[k].value_len, p[k].value);
		else
			snprintf(got, sizeof(got), "%.*s",
			         (int)p[k].keyword_len, p[k].keyword);
		if (strcmp(got, c->kv[k]) != 0)
			fail_msg("case %zu param %d: got '%s', want '%s'", i, k,
			         got, c->kv[k]);
		/* the views point into the input */
		assert_true(p[k].keyword > c->in &&
		            p[k].keyword + p[k].keyword_len <= c->in + c->len);
		if (p[k].value != NULL)
			assert_true(p[k].value > p[k].keyword &&
			            p[k].value + p[k].value_len <=
			                    c->in + c->len);
		else
			assert_int_equal(p[k].value_len, 0);
	}
}

static void esmtp_params(void **state)
{
	static const struct param_case t[] = {
	        NOPARAMS("", 0),
	        PARAMS(" SIZE=10", 1, "SIZE=10"),
	        PARAMS(" BODY=8BITMIME", 1, "BODY=8BITMIME"),
	        PARAMS(" SMTPUTF8", 1, "SMTPUTF8"),
	        PARAMS(" SIZE=10 BODY=8BITMIME SMTPUTF8", 3, "SIZE=10",
	               "BODY=8BITMIME", "SMTPUTF8"),
	        PARAMS(" X-Y=a+b/c", 1, "X-Y=a+b/c"),
	        PARAMS(" x1=!~<>", 1, "x1=!~<>"),
	        /* several leading, separating and trailing blanks pass */
	        PARAMS("  SIZE=10", 1, "SIZE=10"),
	        PARAMS(" SIZE=10   BODY=7BIT", 2, "SIZE=10", "BODY=7BIT"),
	        PARAMS(" SIZE=10  ", 1, "SIZE=10"),
	        NOPARAMS(" ", 0),
	        /* errors */
	        NOPARAMS("SIZE=10", -1), /* no separating space */
	        NOPARAMS(" SIZE=", -1),  /* empty value */
	        NOPARAMS(" SIZE= BODY=7BIT", -1),
	        NOPARAMS(" SIZE=1=2", -1), /* '=' inside a value */
	        NOPARAMS(" SIZE==", -1),
	        NOPARAMS(" =10", -1),  /* no keyword */
	        NOPARAMS(" -X=1", -1), /* keyword starts with '-' */
	        NOPARAMS(" _X=1", -1),
	        NOPARAMS(" SI.ZE=1", -1),
	        NOPARAMS(" SIZE=1\x01", -1), /* control bytes */
	        NOPARAMS(" SIZE=1\x7f", -1),
	        NOPARAMS(" SIZE=1\0", -1),
	        NOPARAMS(" SI\0ZE=1", -1),
	        NOPARAMS(" SIZE=10\r", -1),
	        NOPARAMS(" SIZE=10\r\n", -1),
	        NOPARAMS("\tSIZE=10", -1),
	        NOPARAMS(" SIZE=10\tBODY=7BIT", -1),
	};
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		check_params(&t[i], i);
}

static void esmtp_params_maximum(void **state)
{
	char s[400] = "";
	size_t o = 0;
	for (int i = 0; i < ESMTP_PARAMS_MAX; i++)
		o += (size_t)snprintf(s + o, sizeof(s) - o, " P%d=%d", i, i);
	struct esmtp_param p[ESMTP_PARAMS_MAX + 1];
	const char *why = NULL;
	assert_int_equal(esmtp_parse_params(s, o, p, &why), ESMTP_PARAMS_MAX);
	assert_int_equal(p[15].keyword_len, 3);
	assert_memory_equal(p[15].keyword, "P15", 3);
	assert_int_equal(p[15].value_len, 2);
	assert_memory_equal(p[15].value, "15", 2);
	/* trailing blanks after the 16th are still fine */
	memcpy(s + o, "  ", 3);
	assert_int_equal(esmtp_parse_params(s, o + 2, p, &why),
	                 ESMTP_PARAMS_MAX);
	/* a 17th is refused, and nothing is written past the 16 slots */
	p[ESMTP_PARAMS_MAX].keyword = "guard";
	o += (size_t)snprintf(s + o, sizeof(s) - o, " P16");
	why = NULL;
	assert_int_equal(esmtp_parse_params(s, o, p, &why), -1);
	assert_string_equal(why, "too many parameters");
	assert_string_equal(p[ESMTP_PARAMS_MAX].keyword, "guard");
}

static void esmtp_param_keyword_compare(void **state)
{
	struct esmtp_param p[ESMTP_PARAMS_MAX];
	const char *why;
	const char *s = " size=10 Body=8BITMIME SMTPUTF8";
	assert_int_equal(esmtp_parse_params(s, strlen(s), p, &why), 3);
	assert_true(esmtp_param_is(&p[0], "SIZE"));
	assert_true(esmtp_param_is(&p[0], "size"));
	assert_false(esmtp_param_is(&p[0], "SIZ"));
	assert_false(esmtp_param_is(&p[0], "SIZEX"));
	assert_false(esmtp_param_is(&p[0], "BODY"));
	assert_true(esmtp_param_is(&p[1], "BODY"));
	assert_true(esmtp_param_is(&p[2], "smtputf8"));
	assert_null(p[2].value);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(path_valid),
	        cmocka_unit_test(path_quoted_local_part),
	        cmocka_unit_test(path_utf8),
	        cmocka_unit_test(path_invalid_utf8),
	        cmocka_unit_test(path_invalid_syntax),
	        cmocka_unit_test(path_control_bytes),
	        cmocka_unit_test(path_shell_metacharacters),
	        cmocka_unit_test(path_stops_after_bracket),
	        cmocka_unit_test(path_length_limits),
	        cmocka_unit_test(path_label_limit),
	        cmocka_unit_test(path_quoted_length_limit),
	        cmocka_unit_test(path_long_quoted_local_part_is_too_long),
	        cmocka_unit_test(format_mailbox),
	        cmocka_unit_test(utf8_validity),
	        cmocka_unit_test(esmtp_params),
	        cmocka_unit_test(esmtp_params_maximum),
	        cmocka_unit_test(esmtp_param_keyword_compare),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
