/* reply: strict, bounded parsing of SMTP replies. */
#include "mail/reply.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

void reply_parser_init(struct reply_parser *p)
{
	memset(&p->cur, 0, sizeof(p->cur));
}

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* "2.1.5" at the start of text, of class cls: its length, or 0. */
static size_t enhanced_code(const char *s, size_t n, char cls)
{
	if (n < 5 || s[0] != cls || s[1] != '.')
		return 0;
	size_t i = 2;
	for (int part = 0; part < 2; part++) {
		size_t start = i;
		while (i < n && is_digit(s[i]) && i - start < 3)
			i++;
		if (i == start)
			return 0;
		if (part == 0) {
			if (i >= n || s[i] != '.')
				return 0;
			i++;
		}
	}
	if (i < n && s[i] != ' ')
		return 0;
	return i;
}

static void add_text(struct reply *r, const char *s, size_t n)
{
	if (r->lines > 0 && r->text_len < REPLY_TEXT_MAX)
		r->text[r->text_len++] = '\n';
	for (size_t i = 0; i < n && r->text_len < REPLY_TEXT_MAX; i++) {
		unsigned char c = (unsigned char)s[i];
		r->text[r->text_len++] = c < 0x20 || c == 0x7f ? '?' : (char)c;
	}
	r->text[r->text_len] = '\0';
}

/* One line without its line end. -1: malformed; 1: the last line. */
static int take_line(struct reply *r, const char *s, size_t n)
{
	if (n < 3 || !is_digit(s[0]) || !is_digit(s[1]) || !is_digit(s[2]))
		return -1;
	if (s[0] < '2' || s[0] > '5' || s[1] > '5')
		return -1;
	int code = (s[0] - '0') * 100 + (s[1] - '0') * 10 + (s[2] - '0');
	if (r->lines > 0 && code != r->code)
		return -1; /* mixed codes: someone is injecting lines */
	if (n > 3 && s[3] != ' ' && s[3] != '-')
		return -1;
	bool last = n == 3 || s[3] == ' ';
	const char *text = n > 4 ? s + 4 : "";
	size_t tlen = n > 4 ? n - 4 : 0;
	if (r->lines == 0) {
		r->code = code;
		size_t e = enhanced_code(text, tlen, s[0]);
		if (e > 0 && e < sizeof(r->enhanced)) {
			memcpy(r->enhanced, text, e);
			r->enhanced[e] = '\0';
			text += e;
			tlen -= e;
			while (tlen > 0 && *text == ' ') {
				text++;
				tlen--;
			}
		}
	}
	add_text(r, text, tlen);
	r->lines++;
	return last ? 1 : 0;
}

enum reply_status reply_parse(struct reply_parser *p, const char *data,
			      size_t len, size_t *consumed, struct reply *out)
{
	size_t off = 0;
	*consumed = 0;
	while (off < len) {
		const char *lf = memchr(data + off, '\n', len - off);
		if (lf == NULL)
			return len - off >= REPLY_LINE_MAX ? REPLY_TOO_LONG
							   : REPLY_MORE;
		size_t n = (size_t)(lf - (data + off));
		if (n + 1 > REPLY_LINE_MAX)
			return REPLY_TOO_LONG;
		size_t body = n > 0 && data[off + n - 1] == '\r' ? n - 1 : n;
		if (p->cur.lines >= REPLY_LINES_MAX)
			return REPLY_TOO_LONG;
		int rc = take_line(&p->cur, data + off, body);
		off += n + 1;
		*consumed = off;
		if (rc < 0)
			return REPLY_BAD;
		if (rc == 1) {
			memcpy(out, &p->cur, sizeof(*out));
			reply_parser_init(p);
			return REPLY_DONE;
		}
	}
	return REPLY_MORE;
}

bool reply_has_keyword(const struct reply *r, const char *keyword,
		       const char **params)
{
	size_t kn = strlen(keyword);
	const char *line = r->text;
	while (line != NULL && *line != '\0') {
		if (strncasecmp(line, keyword, kn) == 0 &&
		    (line[kn] == '\0' || line[kn] == ' ' || line[kn] == '\n')) {
			if (params != NULL)
				*params = line[kn] == ' ' ? line + kn + 1 : "";
			return true;
		}
		line = strchr(line, '\n');
		if (line != NULL)
			line++;
	}
	return false;
}

void reply_summary(const struct reply *r, char *out, size_t n)
{
	int w = snprintf(out, n, "%d%s%s", r->code, r->enhanced[0] ? " " : "",
			 r->enhanced);
	size_t o = w > 0 ? (size_t)w : 0;
	for (size_t i = 0; i < r->text_len && o + 2 < n; i++) {
		if (i == 0)
			out[o++] = ' ';
		out[o++] = r->text[i] == '\n' ? ' ' : r->text[i];
	}
	if (o < n)
		out[o] = '\0';
}
