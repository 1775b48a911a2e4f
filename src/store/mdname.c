/* mdname: Maildir file names: base, sizes and flag letters. */
#include "store/mdname.h"

#include "lib/parse.h"

#include <string.h>

size_t mdname_base_len(const char *name, size_t len)
{
	const char *colon = memchr(name, ':', len);
	return colon == NULL ? len : (size_t)(colon - name);
}

/* The digits after key (",S=") in base, if any. */
static bool size_field(const char *base, size_t len, const char *key,
		       uint64_t *out)
{
	const char *end = base + len;
	for (const char *p = base; p + 3 < end; p++) {
		if (memcmp(p, key, 3) != 0)
			continue;
		p += 3;
		size_t n = 0;
		while (p + n < end && p[n] >= '0' && p[n] <= '9')
			n++;
		/* the field ends the name or the next field starts */
		if (n == 0 || (p + n < end && p[n] != ','))
			return false;
		return parse_u64(p, n, UINT64_MAX, out) == 0;
	}
	return false;
}

int mdname_sizes(const char *base, size_t len, uint64_t *size,
		 uint64_t *crlf_size)
{
	int found = 0;
	if (size_field(base, len, ",S=", size))
		found |= 1;
	if (size_field(base, len, ",W=", crlf_size))
		found |= 2;
	return found;
}

void mdname_flags(const char *name, size_t len, uint32_t *flags,
		  uint32_t *keywords)
{
	*flags = *keywords = 0;
	size_t base = mdname_base_len(name, len);
	if (len - base < 3 || memcmp(name + base, ":2,", 3) != 0)
		return;
	for (size_t i = base + 3; i < len && name[i] != ','; i++) {
		char c = name[i];
		if (c >= 'A' && c <= 'Z')
			*flags |= MDNAME_FLAG(c);
		else if (c >= 'a' && c <= 'z')
			*keywords |= UINT32_C(1) << (c - 'a');
	}
}

/* The ",..." Dovecot keeps after the letters of an info, or "". */
static const char *info_tail(const char *old_name)
{
	if (old_name == NULL)
		return "";
	const char *info = strstr(old_name, ":2,");
	if (info == NULL)
		return "";
	const char *tail = strchr(info + 3, ',');
	return tail == NULL ? "" : tail;
}

int mdname_with_flags(const char *base, size_t base_len, uint32_t flags,
		      uint32_t keywords, const char *old_name,
		      char out[MDNAME_MAX + 1])
{
	char letters[2 * STORE_KEYWORDS_MAX + 1];
	size_t n = 0;
	/* maildir(5): the letters in ASCII order, upper case first */
	for (int c = 'A'; c <= 'Z'; c++)
		if (flags & MDNAME_FLAG(c))
			letters[n++] = (char)c;
	for (int i = 0; i < STORE_KEYWORDS_MAX; i++)
		if (keywords & (UINT32_C(1) << i))
			letters[n++] = (char)('a' + i);
	letters[n] = '\0';
	const char *tail = info_tail(old_name);
	if (base_len > MDNAME_MAX)
		return -1;
	size_t total = base_len + 3 + n + strlen(tail);
	if (total > MDNAME_MAX)
		return -1;
	memcpy(out, base, base_len);
	memcpy(out + base_len, ":2,", 3);
	memcpy(out + base_len + 3, letters, n);
	memcpy(out + base_len + 3 + n, tail, strlen(tail) + 1); /* fits */
	return (int)total;
}

bool mdname_valid(const char *name, size_t len)
{
	if (len == 0 || len > MDNAME_MAX || name[0] == '.')
		return false;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)name[i];
		if (c < 0x20 || c == 0x7f || c == '/')
			return false;
	}
	return true;
}
