/* libFuzzer target: the ARC validator and sealer (src/mailauth/arc.c,
 * arcfield.c, arcseal.c) over a whole hostile message. Every key lookup is
 * answered with the public ARC test suite's key (so the suite's messages in
 * the corpus pass, and mutations reach the signature checks); then the
 * message is sealed with an Ed25519 key, as a forward would. A result
 * other than none has a reason unless it is a pass; a seal starts with
 * the ARC-Seal field; no chain of more than 50 sets is reported. */
#include "mailauth/arc.h"

#include <openssl/evp.h>
#include <stdint.h>
#include <string.h>

static const char key[] =
	"v=DKIM1; k=rsa; p=MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQDkHlOQoBTzWRiGs5V6"
	"NpP3idY6Wk08a5qhdR6wy5bdOKb2jLQiY/J16JYi0Qvx/byYzCNb3W91y3FutACDfzwQ/BC/"
	"e/8uBsCR+yz1Lxj+PL6lHvqMKrM3rG4hstT5QjvHO9PzoxZyVYLzBfO2EeC3Ip3G+2kryOTIK"
	"T+l/K4w3QIDAQAB";

static void seal(const char *p, size_t hdr_len, size_t body, size_t size,
		 const struct arc_verified *r)
{
	static EVP_PKEY *pkey;
	if (pkey == NULL)
		pkey = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	struct dkim_signing_key k = {DKIM_ED25519_SHA256, pkey, "example.net",
				     "arc"};
	struct arc_seal *s = arc_seal_new(&k, 1700000000);
	struct buf out;
	const char *why;
	buf_init(&out, 0);
	arc_seal_body(s, p + body, size - body);
	if (arc_seal_finish(s, p, hdr_len, r->sets + 1, r->result,
			    "mx.example.net; arc=none", NULL, &out, &why) == 0 &&
	    strncmp(out.data, "ARC-Seal: ", 10) != 0)
		__builtin_trap();
	buf_free(&out);
	arc_seal_free(&s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *p = (const char *)data;
	const char *sep = memmem(p, size, "\n\n", 2);
	size_t hdr_len = sep != NULL ? (size_t)(sep - p) + 1 : size;
	size_t body = sep != NULL ? hdr_len + 1 : size;
	struct arc_verify *v = arc_verify_new(p, hdr_len);
	if (v == NULL)
		return 0;
	const char *txt[] = {key};
	for (size_t k = 0; k < arc_verify_lookups(v); k++)
		arc_verify_key(v, k, DKIM_LOOKUP_OK, txt, 1);
	size_t n = size - body, half = n > 0 ? data[body] % (n + 1) : 0;
	arc_verify_body(v, p + body, half);
	arc_verify_body(v, p + body + half, n - half);
	arc_verify_finish(v);
	const struct arc_verified *r = arc_verify_result(v);
	if ((r->result == ARC_FAIL && r->reason == NULL) ||
	    r->sets > ARC_SETS_MAX ||
	    (r->result == ARC_PASS && (r->sets == 0 || r->d[0] == '\0')))
		__builtin_trap();
	if (!r->sealed_fail && r->sets < ARC_SETS_MAX)
		seal(p, hdr_len, body, size, r);
	arc_verify_free(&v);
	return 0;
}
