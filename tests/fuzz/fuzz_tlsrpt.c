/* libFuzzer target: TLS-RPT (src/mta/tlsrpt.c): _smtp._tls TXT records as
 * a hostile zone may serve them, and result lines as a damaged file may
 * hold them. Addresses found are non-empty and hold an '@'; a report is
 * one line of JSON, NUL-free. */
#include "mta/tlsrpt.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1);
	if (text == NULL)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	char rua[TLSRPT_RUA_MAX][TLSRPT_ADDR_MAX + 1];
	size_t n = 0;
	if (tlsrpt_txt_parse(text, rua, &n) == 1 &&
	    (n == 0 || n > TLSRPT_RUA_MAX))
		__builtin_trap();
	for (size_t i = 0; i < n; i++)
		if (strchr(rua[i], '@') == NULL)
			__builtin_trap();
	char days[8][11];
	size_t nd = tlsrpt_days(text, size, days, 8);
	struct buf b;
	buf_init(&b, 0);
	for (size_t i = 0; i < nd; i++) {
		buf_clear(&b);
		if (tlsrpt_build_json(text, size, days[i], "example.org", "o", "c",
				      "i", &b) == 1 &&
		    (strlen(buf_cstr(&b)) != b.len ||
		     memchr(b.data, '\n', b.len - 1) != NULL))
			__builtin_trap();
	}
	buf_free(&b);
	free(text);
	return 0;
}
