/* libFuzzer target: the DKIM verifier (src/mailauth/verify.c) over a whole
 * hostile message: its DKIM-Signature fields, each answered with the
 * RFC 8463 Ed25519 key (or, for odd-numbered ones, a lookup failure), and
 * its body. Every signature considered ends with a result; never more than
 * DKIM_VERIFY_MAX are considered; a pass names its domain. */
#include "mailauth/verify.h"

#include <stdint.h>
#include <string.h>

static const char key[] =
	"v=DKIM1; k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *p = (const char *)data;
	const char *sep = memmem(p, size, "\n\n", 2);
	size_t hdr_len = sep != NULL ? (size_t)(sep - p) + 1 : size;
	size_t body = sep != NULL ? hdr_len + 1 : size;
	struct dkim_verify *v = dkim_verify_new(p, hdr_len, 1700000000);
	if (v == NULL)
		return 0;
	if (dkim_verify_count(v) > DKIM_VERIFY_MAX)
		__builtin_trap();
	const char *txt[] = {key};
	for (size_t i = 0; i < dkim_verify_count(v); i++)
		if (dkim_verify_key_name(v, i) != NULL)
			dkim_verify_key(v, i, i % 2 ? DKIM_LOOKUP_TEMPFAIL
						    : DKIM_LOOKUP_OK,
					txt, 1);
	/* the body in two pieces, split where the input says */
	size_t n = size - body, half = n > 0 ? data[body] % (n + 1) : 0;
	dkim_verify_body(v, p + body, half);
	dkim_verify_body(v, p + body + half, n - half);
	dkim_verify_finish(v);
	for (size_t i = 0; i < dkim_verify_count(v); i++) {
		const struct dkim_verified *r = dkim_verify_result(v, i);
		if (r->result == DKIM_NONE ||
		    (r->result == DKIM_PASS && r->d[0] == '\0') ||
		    (r->result != DKIM_PASS && r->reason == NULL))
			__builtin_trap();
	}
	dkim_verify_free(&v);
	return 0;
}
