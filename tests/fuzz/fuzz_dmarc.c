/* libFuzzer target: DMARC (src/mailauth/dmarc.c) over hostile input: the
 * input as a DMARC record, and as a header section whose From decides the
 * domain, answered with the input as its _dmarc TXT record. A parsed
 * record has sane values; the check ends after at most two lookups. */
#include "mailauth/dmarc.h"

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
	struct dmarc_record r;
	const char *why;
	if (dmarc_record_parse(text, &r, &why) == 0 &&
	    (r.p > DMARC_P_REJECT || r.sp > DMARC_P_REJECT || r.pct > 100))
		__builtin_trap();
	struct dmarc *d = dmarc_new(NULL, text, size);
	const char *name, *txt[1] = {text};
	int asked = 0;
	while (d != NULL && dmarc_next(d, &name) == 1) {
		if (++asked > 2 || strncmp(name, "_dmarc.", 7) != 0)
			__builtin_trap();
		dmarc_answer(d, asked == 1 ? DMARC_DNS_NONE : DMARC_DNS_OK, txt, 1);
	}
	struct dmarc_spf spf = {SPF_PASS, "example.org"};
	if (d != NULL) {
		dmarc_evaluate(d, NULL, &spf);
		if (dmarc_result(d) > DMARC_PERMERROR)
			__builtin_trap();
		(void)dmarc_policy(d, (unsigned)size % 100);
	}
	dmarc_free(&d);
	free(text);
	return 0;
}
