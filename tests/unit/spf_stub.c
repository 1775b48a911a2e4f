/* spf_stub: src/mailauth/spf.c driven over a pipe, for the RFC 7208 test
 * suites (tests/integration/test_spf.py). The suite's zone data stays on
 * the Python side, which answers each DNS question the check asks:
 *
 *   in:  check <TAB> ip <TAB> helo <TAB> mailfrom <TAB> receiver
 *   out: query <TAB> name <TAB> type               (A, AAAA, MX, PTR, TXT)
 *   in:  answer <TAB> ok|none|tempfail <TAB> n, then n record lines
 *        (TXT text, MX/PTR target, A/AAAA address)
 *   out: result <TAB> result <TAB> explanation <TAB> reason
 *
 * Not a unit test itself (no test_ prefix): the suite runs it. */
#include "mailauth/spf.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum { LINE_MAX_ = 65536, RR_MAX = 64 };

static char *read_line(char *buf)
{
	if (fgets(buf, LINE_MAX_, stdin) == NULL)
		return NULL;
	buf[strcspn(buf, "\n")] = '\0';
	return buf;
}

static const char *type_name(int t)
{
	return t == SPF_A ? "A" : t == SPF_AAAA ? "AAAA" : t == SPF_MX ? "MX"
		: t == SPF_PTR ? "PTR" : "TXT";
}

/* Records come escaped (\\, \n, \r, \0: a NUL, given to the check as
 * 0x7f as spf.h says). */
static void unescape(char *s)
{
	size_t o = 0;
	for (size_t i = 0; s[i] != '\0'; i++) {
		if (s[i] != '\\' || s[i + 1] == '\0') {
			s[o++] = s[i];
			continue;
		}
		char c = s[++i];
		s[o++] = c == 'n' ? '\n' : c == 'r' ? '\r' : c == '0' ? 0x7f : c;
	}
	s[o] = '\0';
}

/* Read one answer and hand it to the check. */
static int answer(struct spf *s, int type)
{
	static char line[LINE_MAX_], text[RR_MAX][LINE_MAX_];
	struct spf_rr rr[RR_MAX];
	char status[16];
	int n;
	if (read_line(line) == NULL ||
	    sscanf(line, "answer\t%15[a-z]\t%d", status, &n) != 2 || n < 0 ||
	    n > RR_MAX)
		return -1;
	for (int i = 0; i < n; i++) {
		if (read_line(text[i]) == NULL)
			return -1;
		unescape(text[i]);
		memset(&rr[i], 0, sizeof(rr[i]));
		rr[i].text = text[i];
		if (type == SPF_A)
			inet_pton(AF_INET, text[i], rr[i].addr);
		else if (type == SPF_AAAA)
			inet_pton(AF_INET6, text[i], rr[i].addr);
	}
	spf_answer(s, strcmp(status, "ok") == 0 ? SPF_DNS_OK
		      : strcmp(status, "none") == 0 ? SPF_DNS_NONE
						     : SPF_DNS_TEMPFAIL,
		   rr, (size_t)n);
	return 0;
}

static int check(char *args)
{
	char *f[4];
	for (int i = 0; i < 4; i++) {
		f[i] = args;
		args = strchr(args, '\t');
		if (args != NULL)
			*args++ = '\0';
		else if (i < 3)
			return -1;
	}
	struct spf_request req = {.sender = f[2], .helo = f[1], .receiver = f[3],
				  .now = (int64_t)time(NULL)};
	const char *at = strrchr(f[2], '@');
	req.domain = f[2][0] != '\0' && at != NULL ? at + 1 : f[1];
	if (spf_set_ip(&req, f[0]) < 0)
		return -1;
	struct spf *s = spf_new(&req);
	const char *name;
	int type;
	while (s != NULL && spf_next(s, &name, &type) == 1) {
		printf("query\t%s\t%s\n", name, type_name(type));
		fflush(stdout);
		if (answer(s, type) < 0) {
			spf_free(&s);
			return -1;
		}
	}
	if (s == NULL)
		return -1;
	printf("result\t%s\t%s\t%s\n", spf_result_name(spf_result(s)),
	       spf_explanation(s), spf_reason(s));
	fflush(stdout);
	spf_free(&s);
	return 0;
}

int main(void)
{
	static char line[LINE_MAX_];
	while (read_line(line) != NULL)
		if (strncmp(line, "check\t", 6) != 0 || check(line + 6) < 0) {
			fprintf(stderr, "spf_stub: bad input: %s\n", line);
			return 1;
		}
	return 0;
}
