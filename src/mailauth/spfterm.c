/* spfterm: SPF record and macro syntax. */
#include "mailauth/spfterm.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

static bool is_alpha(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

bool spf_is_record(const char *txt)
{
	return strncasecmp(txt, "v=spf1", 6) == 0 &&
	       (txt[6] == '\0' || txt[6] == ' ');
}

/* ------------------------------------------------------------ macros */

static bool is_delimiter(char c)
{
	return c != '\0' && strchr(".-+,/_=", c) != NULL;
}

/* One "%{...}" at s[0..len): its length, or 0 when malformed. */
static size_t macro_len(const char *s, size_t len, bool exp)
{
	if (len < 4 || s[1] != '{')
		return 0;
	size_t i = 2;
	char letter = (char)(s[i] | 0x20);
	if (!strchr("slodiphv", letter) && !(exp && strchr("crt", letter)))
		return 0;
	i++;
	while (i < len && is_digit(s[i]))
		i++;
	if (i < len && (s[i] == 'r' || s[i] == 'R'))
		i++;
	while (i < len && is_delimiter(s[i]))
		i++;
	return i < len && s[i] == '}' ? i + 1 : 0;
}

bool spf_uses_p(const char *s, size_t len)
{
	for (size_t i = 0; i + 2 < len; i++)
		if (s[i] == '%' && s[i + 1] == '{' && (s[i + 2] | 0x20) == 'p')
			return true;
	return false;
}

/* The IP for %{i} (dotted, or IPv6 as dotted nibbles) or %{c}. */
static void ip_text(const struct spf_macros *m, bool readable, char *out,
		    size_t n)
{
	if (!m->v6) {
		snprintf(out, n, "%u.%u.%u.%u", m->ip[0], m->ip[1], m->ip[2],
			 m->ip[3]);
	} else if (readable) {
		inet_ntop(AF_INET6, m->ip, out, (socklen_t)n);
	} else {
		/* upper case, as the RFC 7208 test suite expects (v-macro-ip6);
		 * DNS names ignore case */
		static const char hex[] = "0123456789ABCDEF";
		size_t o = 0;
		for (int i = 0; i < 16 && o + 4 < n; i++) {
			out[o++] = hex[m->ip[i] >> 4];
			out[o++] = '.';
			out[o++] = hex[m->ip[i] & 15];
			out[o++] = '.';
		}
		out[o > 0 ? o - 1 : 0] = '\0';
	}
}

/* The value a macro letter stands for, into v (n bytes). */
static void letter_value(char letter, const struct spf_macros *m, char *v,
			 size_t n)
{
	switch (letter) {
	case 's': snprintf(v, n, "%s", m->sender); break;
	case 'l': snprintf(v, n, "%s", m->local); break;
	case 'o': snprintf(v, n, "%s", m->sender_domain); break;
	case 'd': snprintf(v, n, "%s", m->domain); break;
	case 'i': ip_text(m, false, v, n); break;
	case 'c': ip_text(m, true, v, n); break;
	case 'p': snprintf(v, n, "%s", m->validated ? m->validated : "unknown"); break;
	case 'v': snprintf(v, n, "%s", m->v6 ? "ip6" : "in-addr"); break;
	case 'h': snprintf(v, n, "%s", m->helo); break;
	case 'r': snprintf(v, n, "%s", m->receiver); break;
	case 't': snprintf(v, n, "%lld", (long long)m->now); break;
	default: v[0] = '\0';
	}
}

/* RFC 7208 7.3: split on the delimiters, reverse if asked, keep the
 * right-hand keep parts (0: all), join with dots. */
static void transform(const char *v, const char *delims, bool reverse,
		      unsigned keep, char *out, size_t n)
{
	enum { PARTS_MAX = 128 };
	const char *part[PARTS_MAX];
	size_t plen[PARTS_MAX], np = 0, start = 0, vl = strlen(v);
	for (size_t i = 0; i <= vl && np < PARTS_MAX; i++)
		if (i == vl || strchr(delims, v[i]) != NULL) {
			part[np] = v + start;
			plen[np++] = i - start;
			start = i + 1;
		}
	if (reverse)
		for (size_t i = 0; i < np / 2; i++) {
			const char *tp = part[i];
			size_t tl = plen[i];
			part[i] = part[np - 1 - i], plen[i] = plen[np - 1 - i];
			part[np - 1 - i] = tp, plen[np - 1 - i] = tl;
		}
	size_t from = keep > 0 && keep < np ? np - keep : 0, o = 0;
	out[0] = '\0';
	for (size_t k = from; k < np; k++) {
		int w = snprintf(out + o, n - o, "%s%.*s", k > from ? "." : "",
				 (int)plen[k], part[k]);
		if (w < 0 || (size_t)w >= n - o)
			break;
		o += (size_t)w;
	}
}

/* RFC 7208 7.3: an upper-case macro letter URL-escapes its value. */
static void url_escape(const char *v, char *out, size_t n)
{
	size_t o = 0;
	for (; *v != '\0' && o + 4 < n; v++) {
		unsigned char c = (unsigned char)*v;
		if (is_alpha((char)c) || is_digit((char)c) || strchr("-._~", c))
			out[o++] = (char)c;
		else
			o += (size_t)snprintf(out + o, n - o, "%%%02X", c);
	}
	out[o] = '\0';
}

/* Expand the macro at s (valid, macro_len long) onto out. */
static int expand_macro(const char *s, size_t mlen, const struct spf_macros *m,
			char *out, size_t *o, size_t n, const char **error_r)
{
	char letter = s[2], value[1024], t[1024], esc[3072], delims[8] = "";
	size_t i = 3, d = 0;
	unsigned keep = 0;
	bool reverse = false;
	for (; is_digit(s[i]); i++)
		keep = keep * 10 + (unsigned)(s[i] - '0') > 1000
			       ? 1000
			       : keep * 10 + (unsigned)(s[i] - '0');
	if (i > 3 && keep == 0) {
		*error_r = "a macro keeps zero parts";
		return -1;
	}
	if (s[i] == 'r' || s[i] == 'R')
		reverse = true, i++;
	for (; i < mlen - 1 && d + 1 < sizeof(delims); i++)
		if (strchr(delims, s[i]) == NULL)
			delims[d++] = s[i];
	letter_value((char)(letter | 0x20), m, value, sizeof(value));
	transform(value, d ? delims : ".", reverse, keep, t, sizeof(t));
	const char *v = t;
	if (letter >= 'A' && letter <= 'Z')
		url_escape(t, esc, sizeof(esc)), v = esc;
	size_t vl = strlen(v);
	if (*o + vl >= n) {
		*error_r = "a macro expands too long";
		return -1;
	}
	memcpy(out + *o, v, vl);
	*o += vl;
	return 0;
}

int spf_expand(const char *s, size_t len, const struct spf_macros *m,
	       bool exp, char *out, size_t n, const char **error_r)
{
	size_t o = 0;
	for (size_t i = 0; i < len;) {
		size_t mlen;
		const char *lit = NULL;
		if (s[i] != '%') {
			if (((unsigned char)s[i] < 0x21 && !(exp && s[i] == ' ')) ||
			    (unsigned char)s[i] > 0x7e) {
				*error_r = "a control or 8-bit byte in a macro-string";
				return -1;
			}
			lit = s + i;
			mlen = 1;
		} else if (i + 1 < len && strchr("%_-", s[i + 1])) {
			lit = s[i + 1] == '%' ? "%" : s[i + 1] == '_' ? " " : "%20";
			mlen = 2;
		} else if ((mlen = macro_len(s + i, len - i, exp)) == 0) {
			*error_r = "a malformed macro";
			return -1;
		} else if (m == NULL) {
			i += mlen; /* syntax check only */
			continue;
		} else if (expand_macro(s + i, mlen, m, out, &o, n, error_r) < 0) {
			return -1;
		}
		if (lit != NULL && m != NULL) {
			size_t ll = s[i] != '%' ? 1 : strlen(lit);
			if (o + ll >= n) {
				*error_r = "a macro-string expands too long";
				return -1;
			}
			memcpy(out + o, lit, ll);
			o += ll;
		}
		i += mlen;
	}
	if (n > 0)
		out[o] = '\0';
	return 0;
}

/* Labels of 1 to 63 bytes, printable (%_ makes spaces), no backslash
 * (the resolver would read it as an escape and ask for another name than
 * the one compared). */
static bool dns_name_ok(const char *p)
{
	size_t label = 0;
	for (; *p != '\0'; p++) {
		if (*p == '.') {
			if (label == 0)
				return false;
			label = 0;
		} else if ((unsigned char)*p < ' ' || (unsigned char)*p >= 127 ||
			   *p == '\\' || ++label > 63) {
			return false;
		}
	}
	return label > 0;
}

int spf_expand_domain(const char *s, size_t len, const struct spf_macros *m,
		      char out[SPF_DOMAIN_MAX + 1], const char **error_r)
{
	char big[16384]; /* a record is 8 KB at most: room for its expansion */
	if (spf_expand(s, len, m, false, big, sizeof(big), error_r) < 0)
		return -1;
	size_t bl = strlen(big);
	if (bl > 0 && big[bl - 1] == '.')
		big[--bl] = '\0';
	const char *p = big;
	while (strlen(p) > 253) { /* drop labels from the left */
		const char *dot = strchr(p, '.');
		if (dot == NULL)
			break;
		p = dot + 1;
	}
	size_t pl = strlen(p);
	if (pl > SPF_DOMAIN_MAX || !dns_name_ok(p)) {
		*error_r = "the expanded name is not one DNS can ask for";
		return 1;
	}
	memcpy(out, p, pl + 1);
	return 0;
}

/* ------------------------------------------------------------ record */

/* domain-end = ( "." toplabel [ "." ] ) / macro-expand, RFC 7208 7.1 */
static bool domain_end_ok(const char *s, size_t len)
{
	if (len > 0 && s[len - 1] == '}')
		return true;
	if (len > 0 && s[len - 1] == '.')
		len--;
	size_t start = len;
	while (start > 0 && s[start - 1] != '.')
		start--;
	if (start == 0 || start == len)
		return false; /* no dot before the last label, or empty */
	bool alpha = false;
	for (size_t i = start; i < len; i++) {
		if (!is_alpha(s[i]) && !is_digit(s[i]) && s[i] != '-')
			return false;
		alpha |= is_alpha(s[i]);
	}
	return (alpha || memchr(s + start, '-', len - start) != NULL) &&
	       s[start] != '-' && s[len - 1] != '-';
}

static int domain_spec(const char *s, size_t len, const char **error_r)
{
	char dummy[1];
	if (len == 0 || spf_expand(s, len, NULL, false, dummy, 1, error_r) < 0 ||
	    !domain_end_ok(s, len)) {
		if (*error_r == NULL)
			*error_r = "a malformed domain-spec";
		return -1;
	}
	return 0;
}

/* A decimal prefix length without leading zeros, up to max. */
static int prefix(const char *s, size_t len, int max)
{
	if (len == 0 || len > 3 || (len > 1 && s[0] == '0'))
		return -1;
	int v = 0;
	for (size_t i = 0; i < len; i++) {
		if (!is_digit(s[i]))
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v <= max ? v : -1;
}

/* dual-cidr-length = [ "/" ip4-cidr ] [ "//" ip6-cidr ], at the end of
 * arg; *len is shortened to what comes before it. */
static int dual_cidr(const char *arg, size_t *len, struct spf_term *t,
		     bool ip6_only, bool ip4_only)
{
	const char *dd = NULL, *d = NULL;
	for (size_t i = 0; i + 1 < *len; i++)
		if (arg[i] == '/' && arg[i + 1] == '/') {
			dd = arg + i;
			break;
		}
	size_t end = dd != NULL ? (size_t)(dd - arg) : *len;
	if (dd != NULL && (ip4_only ||
	    (t->cidr6 = prefix(dd + 2, *len - end - 2, 128)) < 0))
		return -1;
	for (size_t i = end; i-- > 0;)
		if (arg[i] == '/') {
			d = arg + i;
			break;
		} else if (!is_digit(arg[i])) {
			break;
		}
	if (d != NULL) {
		if (ip6_only || (t->cidr4 = prefix(d + 1, end - (size_t)(d - arg) - 1, 32)) < 0)
			return -1;
		end = (size_t)(d - arg);
	}
	*len = end;
	return 0;
}

/* ip4:net[/n] and ip6:net[/n] */
static int network(const char *arg, size_t len, struct spf_term *t, bool v6)
{
	char text[64];
	const char *slash = memchr(arg, '/', len);
	size_t nl = slash != NULL ? (size_t)(slash - arg) : len;
	if (slash != NULL) {
		int p = prefix(slash + 1, len - nl - 1, v6 ? 128 : 32);
		if (p < 0)
			return -1;
		*(v6 ? &t->cidr6 : &t->cidr4) = p;
	}
	if (nl == 0 || nl >= sizeof(text))
		return -1;
	memcpy(text, arg, nl);
	text[nl] = '\0';
	return inet_pton(v6 ? AF_INET6 : AF_INET, text, t->net) == 1 ? 0 : -1;
}

static const struct {
	const char *name;
	enum spf_kind kind;
} mechanisms[] = {
	{"all", SPF_M_ALL},	    {"include", SPF_M_INCLUDE}, {"a", SPF_M_A},
	{"mx", SPF_M_MX},	    {"ptr", SPF_M_PTR},		{"ip4", SPF_M_IP4},
	{"ip6", SPF_M_IP6},	    {"exists", SPF_M_EXISTS},
};

/* The argument of a directive (after the name): its domain-spec, cidr or
 * network, as the mechanism allows. */
static int directive_arg(const char *arg, size_t len, struct spf_term *t,
			 const char **error_r)
{
	bool colon = len > 0 && arg[0] == ':';
	bool spec_needed = t->kind == SPF_M_INCLUDE || t->kind == SPF_M_EXISTS;
	*error_r = "a malformed mechanism";
	switch (t->kind) {
	case SPF_M_ALL:
		return len == 0 ? 0 : -1;
	case SPF_M_IP4:
	case SPF_M_IP6:
		return colon ? network(arg + 1, len - 1, t, t->kind == SPF_M_IP6)
			     : -1;
	case SPF_M_A:
	case SPF_M_MX:
		if (dual_cidr(arg, &len, t, false, false) < 0)
			return -1;
		break;
	default:
		break;
	}
	if (len == 0)
		return spec_needed ? -1 : 0;
	if (arg[0] != ':')
		return -1;
	t->spec = arg + 1;
	t->spec_len = len - 1;
	*error_r = NULL;
	return domain_spec(t->spec, t->spec_len, error_r);
}

static int directive(const char *s, size_t len, struct spf_term *t,
		     const char **error_r)
{
	t->qualifier = '+';
	if (len > 0 && strchr("+-~?", s[0])) {
		t->qualifier = s[0];
		s++, len--;
	}
	size_t name = 0;
	while (name < len && s[name] != ':' && s[name] != '/')
		name++;
	for (size_t k = 0; k < sizeof(mechanisms) / sizeof(*mechanisms); k++)
		if (strlen(mechanisms[k].name) == name &&
		    strncasecmp(s, mechanisms[k].name, name) == 0) {
			t->kind = mechanisms[k].kind;
			return directive_arg(s + name, len - name, t, error_r);
		}
	*error_r = "an unknown mechanism";
	return -1;
}

/* name=value, or 0 when the term is not a modifier. */
static int modifier(const char *s, size_t len, struct spf_term *t,
		    const char **error_r)
{
	size_t name = 0;
	if (len == 0 || !is_alpha(s[0]))
		return 0;
	while (name < len && (is_alpha(s[name]) || is_digit(s[name]) ||
			      strchr("-_.", s[name])))
		name++;
	if (name == len || s[name] != '=')
		return 0;
	t->spec = s + name + 1;
	t->spec_len = len - name - 1;
	t->kind = name == 8 && strncasecmp(s, "redirect", 8) == 0 ? SPF_MOD_REDIRECT
		  : name == 3 && strncasecmp(s, "exp", 3) == 0	  ? SPF_MOD_EXP
								  : SPF_MOD_OTHER;
	char dummy[1];
	*error_r = NULL;
	if (t->kind == SPF_MOD_OTHER)
		return spf_expand(t->spec, t->spec_len, NULL, false, dummy, 1,
				  error_r) < 0 ? -1 : 1;
	return domain_spec(t->spec, t->spec_len, error_r) < 0 ? -1 : 1;
}

int spf_parse_record(const char *rec, struct spf_term *terms, size_t max,
		     size_t *n, const char **error_r)
{
	bool redirect = false, exp = false;
	*n = 0;
	*error_r = NULL;
	if (!spf_is_record(rec)) {
		*error_r = "not an SPF record";
		return -1;
	}
	for (const char *p = rec + 6; *p != '\0';) {
		while (*p == ' ')
			p++;
		size_t len = strcspn(p, " ");
		if (len == 0)
			break;
		if (*n == max) {
			*error_r = "too many terms";
			return -1;
		}
		struct spf_term *t = &terms[*n];
		memset(t, 0, sizeof(*t));
		t->cidr4 = 32;
		t->cidr6 = 128;
		int rc = modifier(p, len, t, error_r);
		if (rc == 0)
			rc = directive(p, len, t, error_r);
		if (rc < 0)
			return -1;
		bool *seen = t->kind == SPF_MOD_REDIRECT ? &redirect
			     : t->kind == SPF_MOD_EXP	 ? &exp
							 : NULL;
		if (seen != NULL && *seen) {
			*error_r = "redirect= or exp= twice";
			return -1;
		}
		if (seen != NULL)
			*seen = true;
		(*n)++;
		p += len;
	}
	return 0;
}
