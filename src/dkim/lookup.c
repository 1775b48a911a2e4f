/* lookup: DKIM key answers. */
#include "dkim/lookup.h"

#include "mailauth/key.h"

#include <stdlib.h>

void dkim_key_answer(struct dkim_verify *v, size_t i,
		     const struct dns_answer *a)
{
	if (a->status == DNS_NODATA || a->status == DNS_NXDOMAIN) {
		dkim_verify_key(v, i, DKIM_LOOKUP_NONE, NULL, 0);
		return;
	}
	if (a->status != DNS_OK) {
		dkim_verify_key(v, i, DKIM_LOOKUP_TEMPFAIL, NULL, 0);
		return;
	}
	/* records too long for a key are left out, as are broken ones */
	char *text = malloc(a->n * (DKIM_KEY_RECORD_MAX + 1) + 1);
	const char *txt[DNS_RECORDS_MAX];
	size_t n = 0;
	for (size_t k = 0; text != NULL && k < a->n; k++) {
		char *t = text + n * (DKIM_KEY_RECORD_MAX + 1);
		if (dns_txt_decode(a->data[k], a->len[k], t,
				   DKIM_KEY_RECORD_MAX + 1) == 0)
			txt[n++] = t;
	}
	if (text == NULL)
		dkim_verify_key(v, i, DKIM_LOOKUP_TEMPFAIL, NULL, 0);
	else
		dkim_verify_key(v, i, DKIM_LOOKUP_OK, txt, n);
	free(text);
}
