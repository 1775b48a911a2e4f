/* libFuzzer target: SPF records and macros (src/mailauth/spfterm.c) and
 * check_host() (spf.c) over a hostile zone where every TXT answer is the
 * input and every name has addresses and MX/PTR names. The record parser
 * keeps terms inside the record; expansion never overflows its buffer;
 * the check ends within the RFC 7208 limits with a valid result. */
#include "mailauth/spf.h"
#include "mailauth/spfterm.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 8);
	if (text == NULL)
		return 0;
	memcpy(text, "v=spf1 ", 7);
	memcpy(text + 7, data, size);
	text[size + 7] = '\0';
	for (size_t i = 7; i < size + 7; i++)
		if (text[i] == '\0')
			text[i] = 0x7f;
	static struct spf_term terms[SPF_TERMS_MAX];
	size_t n;
	const char *why;
	if (spf_parse_record(text, terms, SPF_TERMS_MAX, &n, &why) == 0)
		for (size_t i = 0; i < n; i++)
			if (terms[i].spec != NULL &&
			    (terms[i].spec < text ||
			     terms[i].spec + terms[i].spec_len > text + size + 7))
				__builtin_trap();
	unsigned char ip[16] = {192, 0, 2, 1};
	struct spf_macros m = {.sender = "a-b@x.example", .local = "a-b",
			       .sender_domain = "x.example", .domain = "x.example",
			       .ip = ip, .helo = "h.example", .receiver = "r.example"};
	char out[64];
	if (spf_expand(text + 7, size, &m, size % 2, out, sizeof(out), &why) == 0 &&
	    strlen(out) >= sizeof(out))
		__builtin_trap();
	struct spf_request req = {.domain = "x.example", .sender = "a@x.example",
				  .helo = "h.example", .receiver = "r.example"};
	spf_set_ip(&req, size % 3 ? "192.0.2.1" : "2001:db8::1");
	struct spf *s = spf_new(&req);
	const char *name;
	int type, asked = 0;
	while (s != NULL && spf_next(s, &name, &type) == 1) {
		struct spf_rr rr[2] = {{.text = text}, {.text = "mx.x.example"}};
		memcpy(rr[0].addr, ip, 16);
		if (++asked > 400) /* 10 terms x (1 + 10 names) + %{p} + exp */
			__builtin_trap();
		spf_answer(s, asked % 7 ? SPF_DNS_OK : SPF_DNS_NONE, rr,
			   type == SPF_TXT ? 1 : 2);
	}
	if (s != NULL && (spf_result(s) > SPF_PERMERROR || spf_reason(s) == NULL))
		__builtin_trap();
	spf_free(&s);
	free(text);
	return 0;
}
