/* parse: strict number, size, duration and boolean parsers. */
#include "lib/parse.h"

#include <string.h>
#include <strings.h>

int parse_u64(const char *s, size_t len, uint64_t max, uint64_t *out)
{
	if (len == 0 || len > 20)
		return -1;
	uint64_t v = 0;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		uint64_t d = (uint64_t)(s[i] - '0');
		if (d > max || v > (max - d) / 10)
			return -1;
		v = v * 10 + d;
	}
	*out = v;
	return 0;
}

/* Split "123unit" into the digits and the unit that follows. */
static size_t digits_prefix(const char *s)
{
	size_t n = 0;
	while (s[n] >= '0' && s[n] <= '9')
		n++;
	return n;
}

static int scaled(const char *s, size_t n, uint64_t mult, uint64_t *out)
{
	uint64_t v;
	if (parse_u64(s, n, UINT64_MAX / mult, &v) < 0)
		return -1;
	*out = v * mult;
	return 0;
}

int parse_size(const char *s, uint64_t *out)
{
	size_t n = digits_prefix(s);
	const char *unit = s + n;
	uint64_t mult;
	if (*unit == '\0')
		mult = 1;
	else if (strcasecmp(unit, "k") == 0)
		mult = 1024ULL;
	else if (strcasecmp(unit, "m") == 0)
		mult = 1024ULL * 1024;
	else if (strcasecmp(unit, "g") == 0)
		mult = 1024ULL * 1024 * 1024;
	else if (strcasecmp(unit, "t") == 0)
		mult = 1024ULL * 1024 * 1024 * 1024;
	else
		return -1;
	return scaled(s, n, mult, out);
}

int parse_duration_ms(const char *s, uint64_t *out)
{
	size_t n = digits_prefix(s);
	const char *unit = s + n;
	uint64_t mult;
	if (*unit == '\0' || strcmp(unit, "s") == 0)
		mult = 1000ULL;
	else if (strcmp(unit, "ms") == 0)
		mult = 1ULL;
	else if (strcmp(unit, "m") == 0)
		mult = 60ULL * 1000;
	else if (strcmp(unit, "h") == 0)
		mult = 3600ULL * 1000;
	else if (strcmp(unit, "d") == 0)
		mult = 86400ULL * 1000;
	else
		return -1;
	return scaled(s, n, mult, out);
}

int parse_bool(const char *s, bool *out)
{
	static const char *const yes[] = {"yes", "true", "on", "1"};
	static const char *const no[] = {"no", "false", "off", "0"};
	for (size_t i = 0; i < 4; i++) {
		if (strcasecmp(s, yes[i]) == 0) {
			*out = true;
			return 0;
		}
		if (strcasecmp(s, no[i]) == 0) {
			*out = false;
			return 0;
		}
	}
	return -1;
}

bool next_word(const char **cursor, const char **word, size_t *len)
{
	const char *s = *cursor + strspn(*cursor, " \t");
	size_t n = strcspn(s, " \t");
	*cursor = s + n;
	*word = s;
	*len = n;
	return n > 0;
}
