/* sts: MTA-STS TXT records and policies (RFC 8461 3.1, 3.2, 4.1). */
#include "mta/sts.h"

#include "lib/parse.h"
#include "lib/util.h"

#include <string.h>

static bool is_alnum(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
	       (c >= 'A' && c <= 'Z');
}

static bool is_wsp(char c)
{
	return c == ' ' || c == '\t';
}

/* RFC 8461 3.1: sts-text-record = sts-version 1*(sts-sep sts-field)
 * [sts-sep]; sts-version = "v" *WSP "=" *WSP "STSv1"; fields are
 * "key=value" separated by ";" with optional WSP; id = 1*32 alnum. */
int sts_txt_parse(const char *txt, char id[STS_ID_MAX + 1])
{
	const char *p = txt;
	id[0] = '\0';
	if (*p != 'v')
		return 0;
	p++;
	while (is_wsp(*p))
		p++;
	if (*p++ != '=')
		return 0;
	while (is_wsp(*p))
		p++;
	if (strncmp(p, "STSv1", 5) != 0)
		return 0;
	p += 5;
	while (*p != '\0') {
		while (is_wsp(*p))
			p++;
		if (*p++ != ';')
			return -1;
		while (is_wsp(*p))
			p++;
		if (*p == '\0')
			break;
		const char *key = p;
		while (is_alnum(*p) || *p == '_' || *p == '-' || *p == '.')
			p++;
		size_t key_len = (size_t)(p - key);
		if (key_len == 0 || *p++ != '=')
			return -1;
		const char *val = p;
		while (*p != '\0' && *p != ';' && !is_wsp(*p) &&
		       (unsigned char)*p >= 0x21 && (unsigned char)*p <= 0x7e &&
		       *p != '=')
			p++;
		size_t val_len = (size_t)(p - val);
		if (key_len == 2 && memcmp(key, "id", 2) == 0) {
			for (size_t i = 0; i < val_len; i++)
				if (!is_alnum(val[i]))
					return -1;
			if (val_len == 0 || val_len > STS_ID_MAX || id[0] != '\0')
				return -1;
			memcpy(id, val, val_len);
			id[val_len] = '\0';
		}
	}
	return id[0] != '\0' ? 1 : -1;
}

/* A host name or "*.name" as an mx line may hold it. */
static bool valid_mx_pattern(const char *s, size_t len)
{
	if (len == 0 || len > DNS_NAME_MAX)
		return false;
	size_t start = len > 2 && s[0] == '*' && s[1] == '.' ? 2 : 0;
	size_t label = 0;
	for (size_t i = start; i < len; i++) {
		char c = s[i];
		if (c == '.') {
			if (label == 0)
				return false;
			label = 0;
		} else if (is_alnum(c) || c == '-' || c == '_') {
			if (++label > 63)
				return false;
		} else {
			return false;
		}
	}
	return label > 0;
}

/* One "key: value" line (RFC 8461 3.2: sts-policy-field-delim = ":" *WSP). */
static int policy_line(const char *line, size_t len, struct sts_policy *p,
		       unsigned *seen, const char **error_r)
{
	const char *colon = memchr(line, ':', len);
	if (colon == NULL) {
		*error_r = "a line without a colon";
		return -1;
	}
	size_t klen = (size_t)(colon - line);
	const char *v = colon + 1;
	const char *end = line + len;
	while (v < end && is_wsp(*v))
		v++;
	while (end > v && is_wsp(end[-1]))
		end--;
	size_t vlen = (size_t)(end - v);
#define KEY(k) (klen == strlen(k) && memcmp(line, k, klen) == 0)
	if (KEY("version")) {
		if (vlen != 5 || memcmp(v, "STSv1", 5) != 0) {
			*error_r = "version is not STSv1";
			return -1;
		}
		*seen |= 1;
	} else if (KEY("mode")) {
		if (vlen == 7 && memcmp(v, "enforce", 7) == 0)
			p->mode = STS_MODE_ENFORCE;
		else if (vlen == 7 && memcmp(v, "testing", 7) == 0)
			p->mode = STS_MODE_TESTING;
		else if (vlen == 4 && memcmp(v, "none", 4) == 0)
			p->mode = STS_MODE_NONE;
		else {
			*error_r = "mode is not enforce, testing or none";
			return -1;
		}
		*seen |= 2;
	} else if (KEY("max_age")) {
		if (parse_u64(v, vlen, STS_MAX_AGE_MAX, &p->max_age) < 0) {
			*error_r = "max_age is not a number up to 31557600";
			return -1;
		}
		*seen |= 4;
	} else if (KEY("mx")) {
		if (!valid_mx_pattern(v, vlen)) {
			*error_r = "an mx line is not a host name or *.pattern";
			return -1;
		}
		if (p->n_mx < STS_MX_MAX) {
			memcpy(p->mx[p->n_mx], v, vlen);
			p->mx[p->n_mx][vlen] = '\0';
			ascii_lower(p->mx[p->n_mx], vlen);
			p->n_mx++;
		}
	} /* other fields: ignored, for extensions (RFC 8461 3.2) */
#undef KEY
	return 0;
}

int sts_policy_parse(const char *text, size_t len, struct sts_policy *p,
		     const char **error_r)
{
	memset(p, 0, sizeof(*p));
	if (len > STS_POLICY_MAX) {
		*error_r = "the policy is larger than 64 KB";
		return -1;
	}
	if (memchr(text, '\0', len) != NULL) {
		*error_r = "a NUL byte in the policy";
		return -1;
	}
	unsigned seen = 0;
	size_t pos = 0;
	while (pos < len) {
		const char *nl = memchr(text + pos, '\n', len - pos);
		size_t end = nl != NULL ? (size_t)(nl - text) : len;
		size_t line_len = end - pos;
		if (line_len > 0 && text[end - 1] == '\r')
			line_len--;
		if (line_len > 0 &&
		    policy_line(text + pos, line_len, p, &seen, error_r) < 0)
			return -1;
		pos = end + 1;
	}
	if (seen != 7) {
		*error_r = "version, mode or max_age is missing";
		return -1;
	}
	if (p->n_mx == 0 && p->mode != STS_MODE_NONE) {
		*error_r = "no mx line";
		return -1;
	}
	return 0;
}

bool sts_mx_matches(const struct sts_policy *p, const char *host)
{
	for (size_t i = 0; i < p->n_mx; i++) {
		const char *pat = p->mx[i];
		if (pat[0] == '*') {
			/* RFC 8461 4.1: the wildcard is the left-most label only */
			const char *dot = strchr(host, '.');
			if (dot != NULL && dot != host && strcmp(dot, pat + 1) == 0)
				return true;
		} else if (strcmp(host, pat) == 0) {
			return true;
		}
	}
	return false;
}

const char *sts_mode_name(int mode)
{
	return mode == STS_MODE_ENFORCE   ? "enforce"
	       : mode == STS_MODE_TESTING ? "testing"
					  : "none";
}
