/* mailbox: modified UTF-7, mailbox name checks and the Maildir++ mapping
 * (see mailbox.h). */
#include "imapd/mailbox.h"

#include "lib/buf.h"
#include "mail/address.h"

#include <stdint.h>
#include <string.h>
#include <strings.h>

/* RFC 3501 5.1.3: base64 with "," in place of "/", and no padding */
static const char b64[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,";

static int b64_value(char c)
{
	const char *p = c != '\0' ? strchr(b64, c) : NULL;
	return p != NULL ? (int)(p - b64) : -1;
}

static bool printable(unsigned char c)
{
	return c >= 0x20 && c <= 0x7e;
}

static int put_utf8(struct buf *out, uint32_t cp)
{
	char u[4];
	size_t n;
	if (cp < 0x80) {
		u[0] = (char)cp, n = 1;
	} else if (cp < 0x800) {
		u[0] = (char)(0xc0 | cp >> 6), n = 2;
	} else if (cp < 0x10000) {
		u[0] = (char)(0xe0 | cp >> 12), n = 3;
	} else {
		u[0] = (char)(0xf0 | cp >> 18), n = 4;
	}
	for (size_t i = 1; i < n; i++)
		u[i] = (char)(0x80 | ((cp >> (6 * (n - 1 - i))) & 0x3f));
	return buf_append(out, u, n);
}

/* One UTF-16 unit of an encoded run; *high holds a pending surrogate. */
static int utf16_unit(uint32_t u, uint32_t *high, struct buf *out,
                      const char **error_r)
{
	bool low = u >= 0xdc00 && u <= 0xdfff;
	if (*high != 0 || low) {
		if (*high == 0 || !low) {
			*error_r = "Invalid modified UTF-7: broken surrogate "
			           "pair";
			return -1;
		}
		u = 0x10000 + ((*high - 0xd800) << 10) + (u - 0xdc00);
		*high = 0;
	} else if (u >= 0xd800 && u <= 0xdbff) {
		*high = u;
		return 0;
	} else if (u >= 0x20 && u <= 0x7e) {
		*error_r = "Invalid modified UTF-7: printable ASCII encoded";
		return -1;
	} else if (u == 0) {
		*error_r = "Invalid modified UTF-7: NUL encoded";
		return -1;
	}
	if (put_utf8(out, u) < 0) {
		*error_r = "Mailbox name too long";
		return -1;
	}
	return 0;
}

/* The base64 between "&" and "-" (not empty). */
static int decode_run(const char *s, size_t n, struct buf *out,
                      const char **error_r)
{
	uint32_t bits = 0, high = 0;
	unsigned nbits = 0;
	for (size_t i = 0; i < n; i++) {
		bits = bits << 6 | (uint32_t)b64_value(s[i]);
		nbits += 6;
		if (nbits < 16)
			continue;
		nbits -= 16;
		uint32_t u = bits >> nbits & 0xffff;
		bits &= (1u << nbits) - 1;
		if (utf16_unit(u, &high, out, error_r) < 0)
			return -1;
	}
	/* RFC 3501 5.1.3 (after RFC 2152): the last character carries the
	 * last bits, padded with zeros: six spare bits mean one too many */
	if (nbits >= 6 || bits != 0) {
		*error_r = "Invalid modified UTF-7: extra bits";
		return -1;
	}
	if (high != 0) {
		*error_r = "Invalid modified UTF-7: broken surrogate pair";
		return -1;
	}
	return 0;
}

/* The "&...-" at in[i] == '&': appended decoded; returns the index after
 * the "-", or 0 on error. *encoded: was it a run (not "&-")? */
static size_t shift(const char *in, size_t len, size_t i, bool *encoded,
                    struct buf *out, const char **error_r)
{
	size_t j = i + 1;
	while (j < len && b64_value(in[j]) >= 0)
		j++;
	if (j == len || in[j] != '-') {
		*error_r = j == len ? "Invalid modified UTF-7: unterminated &"
		                    : "Invalid modified UTF-7: bad base64";
		return 0;
	}
	*encoded = j > i + 1;
	if (!*encoded) {
		if (buf_append_byte(out, '&') < 0) {
			*error_r = "Mailbox name too long";
			return 0;
		}
	} else if (decode_run(in + i + 1, j - i - 1, out, error_r) < 0) {
		return 0;
	}
	return j + 1;
}

int imap_mutf7_decode(const char *in, size_t len, struct buf *out,
                      const char **error_r)
{
	bool after_run = false;
	for (size_t i = 0; i < len;) {
		unsigned char c = (unsigned char)in[i];
		if (!printable(c)) {
			*error_r = "Invalid modified UTF-7: 8-bit or control "
			           "character";
			return -1;
		}
		if (c != '&') {
			if (buf_append_byte(out, (char)c) < 0) {
				*error_r = "Mailbox name too long";
				return -1;
			}
			i++;
			after_run = false;
			continue;
		}
		bool encoded;
		size_t next = shift(in, len, i, &encoded, out, error_r);
		if (next == 0)
			return -1;
		if (encoded && after_run) {
			*error_r = "Invalid modified UTF-7: two encoded runs "
			           "side by side";
			return -1;
		}
		after_run = encoded;
		i = next;
	}
	return 0;
}

/* The code point at s[*i] of valid UTF-8; advances *i. */
static uint32_t utf8_next(const unsigned char *s, size_t *i)
{
	unsigned char b = s[*i];
	size_t n = b < 0x80 ? 1 : b < 0xe0 ? 2 : b < 0xf0 ? 3 : 4;
	uint32_t cp = n == 1 ? b : b & (0x7fu >> n);
	for (size_t k = 1; k < n; k++)
		cp = cp << 6 | (s[*i + k] & 0x3f);
	*i += n;
	return cp;
}

/* Characters that are not printable ASCII, from s[*i], as one run. */
static int encode_run(const unsigned char *s, size_t len, size_t *i,
                      struct buf *out)
{
	uint32_t bits = 0;
	unsigned nbits = 0;
	int r = buf_append_byte(out, '&');
	while (r == 0 && *i < len && !printable(s[*i])) {
		uint32_t cp = utf8_next(s, i), units[2] = {cp, 0};
		size_t n = 1;
		if (cp >= 0x10000) {
			units[0] = 0xd800 + ((cp - 0x10000) >> 10);
			units[1] = 0xdc00 + ((cp - 0x10000) & 0x3ff);
			n = 2;
		}
		for (size_t k = 0; k < n; k++) {
			bits = bits << 16 | units[k];
			nbits += 16;
			while (r == 0 && nbits >= 6) {
				nbits -= 6;
				r = buf_append_byte(out,
				                    b64[bits >> nbits & 63]);
			}
			bits &= (1u << nbits) - 1;
		}
	}
	if (r == 0 && nbits > 0)
		r = buf_append_byte(out, b64[bits << (6 - nbits) & 63]);
	return r == 0 ? buf_append_byte(out, '-') : r;
}

int imap_mutf7_encode(const char *in, size_t len, struct buf *out,
                      const char **error_r)
{
	const unsigned char *s = (const unsigned char *)in;
	if (len > 0 && (!utf8_valid(in, len) || memchr(in, 0, len) != NULL)) {
		*error_r = "Mailbox name is not UTF-8 or holds NUL";
		return -1;
	}
	for (size_t i = 0; i < len;) {
		int r;
		if (s[i] == '&')
			r = buf_append(out, "&-", 2), i++;
		else if (printable(s[i]))
			r = buf_append_byte(out, (char)s[i]), i++;
		else
			r = encode_run(s, len, &i, out);
		if (r < 0) {
			*error_r = "Mailbox name too long";
			return -1;
		}
	}
	return 0;
}

bool imap_mailbox_is_inbox(const char *name, size_t len)
{
	return len == 5 && strncasecmp(name, "INBOX", 5) == 0;
}

/* C0 controls, DEL and C1 controls (U+0080-U+009F: C2 80-C2 9F) */
static bool has_control(const unsigned char *s, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		if (s[i] < 0x20 || s[i] == 0x7f)
			return true;
		if (s[i] == 0xc2 && i + 1 < len && s[i + 1] < 0xa0)
			return true;
	}
	return false;
}

/* Each component: not empty, not "." or "..". */
static int check_components(const char *name, size_t len, const char **error_r)
{
	size_t start = 0;
	for (size_t i = 0; i <= len; i++) {
		if (i < len && name[i] != '/')
			continue;
		size_t n = i - start;
		const char *c = name + start;
		if (n == 0) {
			*error_r = "Empty component in mailbox name";
			return -1;
		}
		if ((n == 1 && c[0] == '.') ||
		    (n == 2 && c[0] == '.' && c[1] == '.')) {
			*error_r = "Mailbox name component . or .. is not "
			           "allowed";
			return -1;
		}
		start = i + 1;
	}
	return 0;
}

/* "%2F", "%5C" or "%2E" in any case: a "/", "\\" or "." written as a URL
 * escape. We never decode it, but an IMAP URL (RFC 5092) does, and so may
 * a tool that reads the folder names on disk; such a name is refused
 * rather than trusted to stay text everywhere ("100%" and "%25" pass). */
static bool has_encoded_path_char(const char *name, size_t len)
{
	for (size_t i = 0; i + 2 < len; i++) {
		if (name[i] != '%')
			continue;
		char a = name[i + 1], b = (char)(name[i + 2] | 0x20);
		if ((a == '2' && (b == 'f' || b == 'e')) ||
		    (a == '5' && b == 'c'))
			return true;
	}
	return false;
}

int imap_mailbox_check(const char *name, size_t len, const char **error_r)
{
	if (len == 0) {
		*error_r = "Empty mailbox name";
		return -1;
	}
	if (len > IMAP_MAILBOX_MAX) {
		*error_r = "Mailbox name too long";
		return -1;
	}
	if (!utf8_valid(name, len)) {
		*error_r = "Mailbox name is not UTF-8";
		return -1;
	}
	if (has_control((const unsigned char *)name, len)) {
		*error_r = "Control character in mailbox name";
		return -1;
	}
	if (name[0] == '/') {
		*error_r = "Mailbox name must not start with /";
		return -1;
	}
	if (has_encoded_path_char(name, len)) {
		*error_r = "Mailbox name must not hold %2F, %5C or %2E";
		return -1;
	}
	return check_components(name, len, error_r);
}

/* One component, encoded and escaped, appended to out. */
static int folder_component(const char *c, size_t n, bool first,
                            struct buf *out, struct buf *tmp,
                            const char **error_r)
{
	if (first && imap_mailbox_is_inbox(c, n))
		return buf_append_str(out, "INBOX");
	buf_clear(tmp);
	if (imap_mutf7_encode(c, n, tmp, error_r) < 0)
		return -1;
	int r = 0;
	for (size_t i = 0; i < tmp->len && r == 0; i++) {
		if (tmp->data[i] == '.')
			r = buf_append_str(out, "%2E");
		else if (tmp->data[i] == '%')
			r = buf_append_str(out, "%25");
		else
			r = buf_append_byte(out, tmp->data[i]);
	}
	return r;
}

int imap_mailbox_to_maildir(const char *name, size_t len, struct buf *out,
                            const char **error_r)
{
	if (imap_mailbox_check(name, len, error_r) < 0)
		return -1;
	if (imap_mailbox_is_inbox(name, len))
		return 0;
	struct buf tmp;
	buf_init(&tmp, IMAP_FOLDER_NAME_MAX * 2);
	size_t begin = out->len, start = 0;
	int ret = -1;
	*error_r = "Mailbox name too long";
	for (size_t i = 0; i <= len; i++) {
		if (i < len && name[i] != '/')
			continue;
		if (buf_append_byte(out, '.') < 0 ||
		    folder_component(name + start, i - start, start == 0, out,
		                     &tmp, error_r) < 0)
			goto out;
		start = i + 1;
	}
	if (out->len - begin > IMAP_FOLDER_NAME_MAX) {
		*error_r = "Mailbox name too long";
		goto out;
	}
	ret = 0;
out:
	buf_free(&tmp);
	return ret;
}

/* Undo the escapes of one folder component into tmp. */
static int unescape(const char *c, size_t n, struct buf *tmp)
{
	buf_clear(tmp);
	for (size_t i = 0; i < n; i++) {
		char ch = c[i];
		if (ch == '%') {
			if (i + 2 >= n)
				return -1;
			if (c[i + 1] == '2' && c[i + 2] == 'E')
				ch = '.';
			else if (c[i + 1] == '2' && c[i + 2] == '5')
				ch = '%';
			else
				return -1;
			i += 2;
		}
		if (buf_append_byte(tmp, ch) < 0)
			return -1;
	}
	return 0;
}

int imap_mailbox_from_maildir(const char *folder, size_t len, struct buf *out,
                              const char **error_r)
{
	if (len == 0)
		return buf_append_str(out, "INBOX");
	*error_r = "Not a Maildir++ folder name";
	if (folder[0] != '.' || len > IMAP_FOLDER_NAME_MAX ||
	    memchr(folder, '/', len) != NULL)
		return -1;
	struct buf tmp;
	buf_init(&tmp, IMAP_FOLDER_NAME_MAX);
	size_t begin = out->len, start = 1;
	int ret = -1;
	for (size_t i = 1; i <= len; i++) {
		if (i < len && folder[i] != '.')
			continue;
		if ((start > 1 && buf_append_byte(out, '/') < 0) ||
		    unescape(folder + start, i - start, &tmp) < 0 ||
		    imap_mutf7_decode(tmp.data, tmp.len, out, error_r) < 0)
			goto out;
		start = i + 1;
	}
	ret = imap_mailbox_check(buf_cstr(out) + begin, out->len - begin,
	                         error_r);
out:
	buf_free(&tmp);
	return ret;
}
