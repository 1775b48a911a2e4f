/* libFuzzer target: MTA-STS policy files and TXT records (src/mta/sts.c),
 * as a hostile web server or DNS zone may serve them. A parsed policy keeps
 * its invariants: a known mode, max_age in range, at most STS_MX_MAX mx
 * patterns, each a lower-case name; matching never reads past them. */
#include "mta/sts.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sts_policy p;
	const char *why;
	if (sts_policy_parse((const char *)data, size, &p, &why) == 0) {
		if (p.mode > STS_MODE_ENFORCE || p.max_age > STS_MAX_AGE_MAX ||
		    p.n_mx > STS_MX_MAX)
			__builtin_trap();
		for (size_t i = 0; i < p.n_mx; i++)
			if (strlen(p.mx[i]) == 0 || strlen(p.mx[i]) > DNS_NAME_MAX)
				__builtin_trap();
		sts_mx_matches(&p, "mx.example.org");
		if (p.n_mx > 0 && !sts_mx_matches(&p, p.mx[0]) && p.mx[0][0] != '*')
			__builtin_trap();
	}
	char *txt = malloc(size + 1);
	if (txt == NULL)
		return 0;
	memcpy(txt, data, size);
	txt[size] = '\0';
	char id[STS_ID_MAX + 1];
	if (sts_txt_parse(txt, id) == 1 &&
	    (strlen(id) == 0 || strlen(id) > STS_ID_MAX))
		__builtin_trap();
	free(txt);
	return 0;
}
