/* libFuzzer target: the SASL parsers (src/sasl/plain.c, src/sasl/scram.c),
 * the mechanism steps over them (src/sasl/mech.c) and strict base64
 * (src/lib/base64.c). The first byte picks what is fed (0xf0 and up: an
 * exchange). Invariants: nothing crashes or reads out of bounds; base64
 * decoding is strict, so whatever decodes re-encodes to exactly the same
 * text; a parsed PLAIN message has non-empty authcid and password; without
 * a directory nobody is authenticated, and a password handed out for
 * checking fits its bounds. */
#include "lib/base64.h"
#include "sasl/mech.h"

#include <stdint.h>
#include <string.h>

static void check_base64(const char *p, size_t n)
{
	struct buf dec, enc;
	buf_init(&dec, 0);
	buf_init(&enc, 0);
	if (base64_decode(p, n, &dec) == 0) {
		base64_encode(dec.data != NULL ? dec.data : "", dec.len, &enc);
		if (enc.len != n || (n > 0 && memcmp(enc.data, p, n) != 0))
			__builtin_trap(); /* not canonical, yet accepted */
	}
	buf_clear(&enc);
	buf_clear(&dec);
	base64_encode(p, n, &enc);
	if (base64_decode(enc.data != NULL ? enc.data : "", enc.len, &dec) != 0 ||
	    dec.len != n || (n > 0 && memcmp(dec.data, p, n) != 0))
		__builtin_trap(); /* round trip lost something */
	buf_free(&dec);
	buf_free(&enc);
}

static void check_plain(const char *p, size_t n)
{
	struct sasl_plain sp;
	if (sasl_plain_parse(p, n, &sp) == 0 &&
	    (sp.authcid[0] == '\0' || sp.passwd_len == 0 ||
	     sp.passwd_len != strlen(sp.passwd)))
		__builtin_trap();
}

/* Run an exchange with the input split at its first newline into the
 * client-first and client-final messages. */
static void check_scram(const char *p, size_t n, bool plus)
{
	static struct scram_credentials cred;
	static int have;
	if (!have) {
		scram_derive("pencil", 6, 4096, &cred);
		have = 1;
	}
	const char *nl = memchr(p, '\n', n);
	size_t first = nl != NULL ? (size_t)(nl - p) : n;
	struct scram_server s;
	struct buf out;
	unsigned char cb[32] = {0};
	scram_server_init(&s, plus);
	buf_init(&out, SCRAM_MSG_MAX);
	if (scram_client_first(&s, p, first, plus) == SCRAM_OK &&
	    scram_server_first_nonce(&s, &cred, "srv", &out) == 0 && nl != NULL) {
		buf_clear(&out);
		if (scram_client_final(&s, nl + 1, n - first - 1, plus ? cb : NULL,
				       sizeof(cb), &out) == SCRAM_OK)
			__builtin_trap(); /* a proof nobody can compute */
	}
	buf_free(&out);
	scram_server_free(&s);
}

/* An exchange of the mechanism p[0] picks, over a TLS connection with
 * binding data and a trusted certificate but no directory, the rest split
 * at newlines into the client's steps. */
static void check_exchange(const char *p, size_t n)
{
	static const unsigned all =
		SASL_MECH_BIT(SASL_PLAIN) | SASL_MECH_BIT(SASL_LOGIN) |
		SASL_MECH_BIT(SASL_SCRAM) | SASL_MECH_BIT(SASL_SCRAM_PLUS) |
		SASL_MECH_BIT(SASL_EXTERNAL);
	static const unsigned char secret[32];
	struct sasl_policy pol = {"PLAIN LOGIN SCRAM-SHA-256 SCRAM-SHA-256-PLUS "
				  "EXTERNAL",
				  all, secret};
	struct sasl_conn c = {.tls = true, .cbind_ok = true, .cert_ok = true};
	struct sasl_exchange x;
	struct buf out;
	const char *why;
	enum sasl_status st = SASL_CHALLENGE;
	if (n == 0)
		return;
	sasl_exchange_init(&x, (enum sasl_mech)(p[0] % SASL_MECH_COUNT), &pol,
			   &c);
	buf_init(&out, SCRAM_MSG_MAX);
	for (p++, n--; st == SASL_CHALLENGE;) {
		const char *nl = memchr(p, '\n', n);
		size_t len = nl != NULL ? (size_t)(nl - p) : n;
		st = sasl_step(&x, NULL, p, len, &out, &why);
		if (st == SASL_SUCCESS || (st == SASL_MALFORMED && why == NULL) ||
		    (st == SASL_CHECK &&
		     (x.user[0] == '\0' || x.password_len == 0 ||
		      x.password_len > PASSWORD_MAX)))
			__builtin_trap();
		if (nl == NULL)
			break;
		n -= len + 1;
		p = nl + 1;
	}
	sasl_exchange_wipe(&x);
	buf_free(&out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0;
	const char *p = (const char *)data + 1;
	size_t n = size - 1;
	if (data[0] >= 0xf0) {
		check_exchange(p, n);
		return 0;
	}
	struct scram_credentials c;
	char text[SCRAM_CRED_MAX + 1];
	switch (data[0] % 5) {
	case 0:
		check_base64(p, n);
		break;
	case 1:
		check_plain(p, n);
		break;
	case 2:
		check_scram(p, n, false);
		break;
	case 3:
		check_scram(p, n, true);
		break;
	case 4:
		if (n <= SCRAM_CRED_MAX) {
			memcpy(text, p, n);
			text[n] = '\0';
			scram_credentials_decode(text, &c);
		}
		break;
	}
	return 0;
}
