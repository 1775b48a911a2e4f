/* address: RFC 5321 / RFC 6531 path, mailbox and ESMTP parameter parsers. */
#include "mail/address.h"

#include <arpa/inet.h>
#include <string.h>
#include <strings.h>

struct cursor {
	const char *s;
	size_t len, pos;
	unsigned flags;
	bool utf8; /* set when non-ASCII was seen */
};

static int peek(const struct cursor *c)
{
	return c->pos < c->len ? (unsigned char)c->s[c->pos] : -1;
}

/* Length of the well-formed UTF-8 sequence at s[0..len), or 0. */
static size_t utf8_seq(const unsigned char *s, size_t len)
{
	if (len == 0)
		return 0;
	unsigned char b = s[0];
	size_t n;
	unsigned min;
	if (b < 0x80)
		return 1;
	if (b >= 0xc2 && b <= 0xdf)
		n = 2, min = 0x80;
	else if (b >= 0xe0 && b <= 0xef)
		n = 3, min = 0x800;
	else if (b >= 0xf0 && b <= 0xf4)
		n = 4, min = 0x10000;
	else
		return 0;
	if (len < n)
		return 0;
	unsigned cp = b & (0x7f >> n);
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return n;
}

bool utf8_valid(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	for (size_t i = 0; i < len;) {
		size_t n = utf8_seq(p + i, len - i);
		if (n == 0)
			return false;
		i += n;
	}
	return true;
}

/* Take one UTF-8 non-ASCII character when allowed; returns its length or 0. */
static size_t take_utf8(struct cursor *c)
{
	if (peek(c) < 0x80)
		return 0;
	size_t n = utf8_seq((const unsigned char *)c->s + c->pos,
			    c->len - c->pos);
	if (n == 0)
		return 0;
	c->utf8 = true;
	c->pos += n;
	return n;
}

static bool is_alpha(int ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z');
}

static bool is_digit(int ch)
{
	return ch >= '0' && ch <= '9';
}

/* RFC 5322 3.2.3 atext */
static bool is_atext(int ch)
{
	return ch >= 0 && ch < 0x80 &&
	       (is_alpha(ch) || is_digit(ch) ||
		strchr("!#$%&'*+-/=?^_`{|}~", ch) != NULL);
}

/* Dot-string = Atom *("." Atom): copied as is. */
static bool parse_dot_string(struct cursor *c)
{
	bool need_atom = true;
	for (;;) {
		int ch = peek(c);
		if (is_atext(ch) && ch != 0) {
			c->pos++;
			need_atom = false;
		} else if (ch >= 0x80 && take_utf8(c) > 0) {
			need_atom = false;
		} else if (ch == '.' && !need_atom) {
			c->pos++;
			need_atom = true;
		} else {
			return !need_atom;
		}
	}
}

/* Is raw (already unquoted) a valid Dot-string, so the quotes can go? */
static bool raw_is_dot_string(const char *raw, size_t n)
{
	struct cursor c = {.s = raw, .len = n};
	return n > 0 && parse_dot_string(&c) && c.pos == n;
}

/* Quoted-string = DQUOTE *QcontentSMTP DQUOTE. Unquotes into raw, which
 * holds ADDR_PATH_MAX bytes: the length limit is the caller's to judge, on
 * the quoted form. */
static bool parse_quoted(struct cursor *c, char *raw, size_t *raw_len)
{
	size_t n = 0;
	c->pos++; /* the opening quote */
	for (;;) {
		int ch = peek(c);
		if (ch == '"') {
			c->pos++;
			*raw_len = n;
			return true;
		}
		if (ch == '\\') {
			c->pos++;
			ch = peek(c);
			if (ch < 32 || ch > 126) /* quoted-pairSMTP */
				return false;
		} else if (ch >= 0x80) {
			size_t start = c->pos, len = take_utf8(c);
			if (len == 0 || n + len > ADDR_PATH_MAX)
				return false;
			memcpy(raw + n, c->s + start, len);
			n += len;
			continue;
		} else if (ch < 32 || ch > 126) { /* qtextSMTP */
			return false;
		}
		if (n >= ADDR_PATH_MAX)
			return false;
		raw[n++] = (char)ch;
		c->pos++;
	}
}

/* Write raw as a Quoted-string, escaping only '"' and '\'. */
static void requote(const char *raw, size_t n, char *out)
{
	size_t o = 0;
	out[o++] = '"';
	for (size_t i = 0; i < n; i++) {
		if (raw[i] == '"' || raw[i] == '\\')
			out[o++] = '\\';
		out[o++] = raw[i];
	}
	out[o++] = '"';
	out[o] = '\0';
}

void mailbox_set_local(struct mailbox *mb, const char *raw, size_t n)
{
	if (raw_is_dot_string(raw, n)) {
		memcpy(mb->local, raw, n);
		mb->local[n] = '\0';
		mb->quoted = false;
	} else {
		requote(raw, n, mb->local);
		mb->quoted = true;
	}
}

static enum addr_result parse_local(struct cursor *c, struct mailbox *mb,
				    const char **error_r)
{
	size_t start = c->pos;
	if (peek(c) == '"') {
		char raw[ADDR_PATH_MAX];
		size_t n;
		if (!parse_quoted(c, raw, &n)) {
			*error_r = "invalid quoted local part";
			return ADDR_SYNTAX;
		}
		if (c->pos - start > ADDR_LOCAL_MAX) {
			*error_r = "local part longer than 64 octets";
			return ADDR_TOO_LONG;
		}
		mailbox_set_local(mb, raw, n);
		return ADDR_OK;
	}
	if (!parse_dot_string(c)) {
		*error_r = "invalid local part";
		return ADDR_SYNTAX;
	}
	size_t n = c->pos - start;
	if (n > ADDR_LOCAL_MAX) {
		*error_r = "local part longer than 64 octets";
		return ADDR_TOO_LONG;
	}
	memcpy(mb->local, c->s + start, n);
	mb->local[n] = '\0';
	return ADDR_OK;
}

/* sub-domain = Let-dig [Ldh-str], or a U-label (RFC 6531): letters, digits,
 * hyphens inside, non-ASCII characters; at most 63 octets. */
static bool parse_label(struct cursor *c)
{
	size_t start = c->pos;
	bool last_hyphen = false;
	for (;;) {
		int ch = peek(c);
		if (is_alpha(ch) || is_digit(ch)) {
			c->pos++;
			last_hyphen = false;
		} else if (ch == '-' && c->pos > start) {
			c->pos++;
			last_hyphen = true;
		} else if (ch >= 0x80 && take_utf8(c) > 0) {
			last_hyphen = false;
		} else {
			break;
		}
	}
	size_t n = c->pos - start;
	return n > 0 && n <= 63 && !last_hyphen;
}

/* Domain = sub-domain *("." sub-domain) */
static bool parse_domain_name(struct cursor *c)
{
	if (!parse_label(c))
		return false;
	while (peek(c) == '.') {
		c->pos++;
		if (!parse_label(c))
			return false;
	}
	return true;
}

/* address-literal = "[" ( IPv4 / "IPv6:" IPv6 / tag ":" dcontent ) "]" */
static bool parse_literal(struct cursor *c)
{
	size_t start = ++c->pos; /* after '[' */
	while (c->pos < c->len && c->s[c->pos] != ']') {
		int ch = peek(c);
		if (ch < 33 || ch > 126 || ch == '[' || ch == '\\')
			return false; /* dcontent excludes these */
		c->pos++;
	}
	if (peek(c) != ']')
		return false;
	size_t n = c->pos - start;
	c->pos++;
	char text[ADDR_DOMAIN_MAX + 1];
	if (n == 0 || n > ADDR_DOMAIN_MAX - 2)
		return false;
	memcpy(text, c->s + start, n);
	text[n] = '\0';
	unsigned char bin[16];
	if (strncasecmp(text, "IPv6:", 5) == 0)
		return inet_pton(AF_INET6, text + 5, bin) == 1;
	if (is_digit(text[0]))
		return inet_pton(AF_INET, text, bin) == 1;
	/* General-address-literal: Standardized-tag ":" 1*dcontent */
	const char *colon = strchr(text, ':');
	return colon != NULL && colon > text && colon[1] != '\0';
}

static enum addr_result parse_domain(struct cursor *c, struct mailbox *mb,
				     const char **error_r)
{
	size_t start = c->pos;
	bool ok;
	if (peek(c) == '[') {
		ok = parse_literal(c);
		mb->literal = true;
	} else {
		ok = parse_domain_name(c);
	}
	if (!ok) {
		*error_r = "invalid domain";
		return ADDR_SYNTAX;
	}
	size_t n = c->pos - start;
	if (n > ADDR_DOMAIN_MAX) {
		*error_r = "domain longer than 255 octets";
		return ADDR_TOO_LONG;
	}
	memcpy(mb->domain, c->s + start, n);
	mb->domain[n] = '\0';
	for (size_t i = 0; i < n; i++) /* domains compare without case */
		if (mb->domain[i] >= 'A' && mb->domain[i] <= 'Z')
			mb->domain[i] = (char)(mb->domain[i] - 'A' + 'a');
	return ADDR_OK;
}

/* A-d-l = At-domain *( "," At-domain ) ":" -- parsed to be skipped: RFC 5321
 * 4.1.1.3 and C say a server SHOULD ignore source routes. */
static bool skip_route(struct cursor *c)
{
	for (;;) {
		if (peek(c) != '@')
			return false;
		c->pos++;
		if (!parse_domain_name(c))
			return false;
		if (peek(c) == ':') {
			c->pos++;
			return true;
		}
		if (peek(c) != ',')
			return false;
		c->pos++;
	}
}

static bool is_bare_postmaster(const struct cursor *c, const struct mailbox *mb)
{
	return (c->flags & ADDR_F_POSTMASTER_OK) && peek(c) == '>' &&
	       !mb->quoted && strcasecmp(mb->local, "postmaster") == 0;
}

enum addr_result address_parse_path(const char *s, size_t len, unsigned flags,
				    struct mailbox *mb, size_t *consumed,
				    const char **error_r)
{
	struct cursor c = {.s = s, .len = len, .flags = flags};
	memset(mb, 0, sizeof(*mb));
	if (peek(&c) != '<') {
		*error_r = "address must be in angle brackets";
		return ADDR_SYNTAX;
	}
	c.pos++;
	if (peek(&c) == '>') {
		if (!(flags & ADDR_F_EMPTY_OK)) {
			*error_r = "empty address";
			return ADDR_SYNTAX;
		}
		*consumed = 2;
		return ADDR_OK;
	}
	if (peek(&c) == '@') {
		if (!skip_route(&c)) {
			*error_r = "invalid source route";
			return ADDR_SYNTAX;
		}
		mb->routed = true;
	}
	enum addr_result r = parse_local(&c, mb, error_r);
	if (r != ADDR_OK)
		return r;
	if (is_bare_postmaster(&c, mb)) {
		memcpy(mb->local, "postmaster", sizeof("postmaster"));
	} else {
		if (peek(&c) != '@') {
			*error_r = "address needs @domain";
			return ADDR_SYNTAX;
		}
		c.pos++;
		if ((r = parse_domain(&c, mb, error_r)) != ADDR_OK)
			return r;
	}
	if (peek(&c) != '>') {
		*error_r = "address must end with '>'";
		return ADDR_SYNTAX;
	}
	c.pos++;
	if (c.pos > ADDR_PATH_MAX) {
		*error_r = "path longer than 256 octets";
		return ADDR_TOO_LONG;
	}
	if (c.utf8 && !(flags & ADDR_F_UTF8)) {
		*error_r = "non-ASCII address without SMTPUTF8";
		return ADDR_NEED_UTF8;
	}
	mb->utf8 = c.utf8;
	*consumed = c.pos;
	return ADDR_OK;
}

size_t mailbox_format(const struct mailbox *mb, char out[ADDR_TEXT_MAX])
{
	size_t l = strlen(mb->local), d = strlen(mb->domain);
	memcpy(out, mb->local, l);
	if (d == 0) {
		out[l] = '\0';
		return l;
	}
	out[l] = '@';
	memcpy(out + l + 1, mb->domain, d + 1);
	return l + 1 + d;
}

/* ------------------------------------------------------------ parameters */

static bool is_keyword_char(int ch, bool first)
{
	return is_alpha(ch) || is_digit(ch) || (!first && ch == '-');
}

/* esmtp-value = 1*(%d33-60 / %d62-126): no '=', no blanks, no controls */
static bool is_value_char(int ch)
{
	return ch >= 33 && ch <= 126 && ch != '=';
}

int esmtp_parse_params(const char *s, size_t len, struct esmtp_param *out,
		       const char **error_r)
{
	struct cursor c = {.s = s, .len = len};
	int n = 0;
	while (c.pos < c.len) {
		if (peek(&c) != ' ') {
			*error_r = "parameters must be separated by spaces";
			return -1;
		}
		while (peek(&c) == ' ')
			c.pos++;
		if (c.pos == c.len)
			break; /* trailing blanks are tolerated */
		if (n == ESMTP_PARAMS_MAX) {
			*error_r = "too many parameters";
			return -1;
		}
		struct esmtp_param *p = &out[n++];
		p->keyword = s + c.pos;
		while (is_keyword_char(peek(&c), c.pos == (size_t)(p->keyword - s)))
			c.pos++;
		p->keyword_len = (size_t)(s + c.pos - p->keyword);
		p->value = NULL;
		p->value_len = 0;
		if (p->keyword_len == 0) {
			*error_r = "invalid parameter keyword";
			return -1;
		}
		if (peek(&c) == '=') {
			c.pos++;
			p->value = s + c.pos;
			while (is_value_char(peek(&c)))
				c.pos++;
			p->value_len = (size_t)(s + c.pos - p->value);
			if (p->value_len == 0) {
				*error_r = "invalid parameter value";
				return -1;
			}
		}
		if (c.pos < c.len && peek(&c) != ' ') {
			*error_r = "invalid character in parameter";
			return -1;
		}
	}
	return n;
}

bool esmtp_param_is(const struct esmtp_param *p, const char *keyword)
{
	return strlen(keyword) == p->keyword_len &&
	       strncasecmp(p->keyword, keyword, p->keyword_len) == 0;
}
