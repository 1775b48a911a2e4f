/* sts: MTA-STS (RFC 8461) policies, pure code: the TXT record that
 * announces one, the policy file, and matching MX host names against it.
 * Fetching and caching are in sts_cache.c.
 *
 *   TXT  _mta-sts.example.org  "v=STSv1; id=20261123T000000;"
 *   https://mta-sts.example.org/.well-known/mta-sts.txt:
 *     version: STSv1
 *     mode: enforce            enforce | testing | none
 *     mx: mail.example.org     one line per allowed MX host or *.pattern
 *     max_age: 604800          seconds the policy may be cached */
#ifndef POSTERN_MTA_STS_H
#define POSTERN_MTA_STS_H

#include "net/dns.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum {
	STS_POLICY_MAX = 64 * 1024, /* RFC 8461 3.3: a policy is small */
	STS_MX_MAX = 32,            /* mx lines we keep */
	STS_ID_MAX = 32,            /* RFC 8461 3.1: 1*32 alphanumerics */
	STS_MAX_AGE_MAX = 31557600, /* RFC 8461 3.2: about a year */
};

enum sts_mode { STS_MODE_NONE, STS_MODE_TESTING, STS_MODE_ENFORCE };

struct sts_policy {
	int mode; /* enum sts_mode */
	uint64_t max_age;
	char mx[STS_MX_MAX][DNS_NAME_MAX + 1]; /* lower case */
	size_t n_mx;
};

/* The id of an STSv1 TXT record ("v=STSv1; id=...;"). 1 when txt is
 * one, with id filled; 0 when it is some other TXT record (not "v=STSv1");
 * -1 when it claims to be STSv1 but is malformed. */
int sts_txt_parse(const char *txt, char id[STS_ID_MAX + 1]);

/* Parse a policy file. 0, or -1 with *error_r. */
int sts_policy_parse(const char *text, size_t len, struct sts_policy *p,
		     const char **error_r);

/* Whether the MX host (lower case, no final dot) is allowed by one of the
 * policy's mx lines; "*.example.org" stands for exactly one label. */
bool sts_mx_matches(const struct sts_policy *p, const char *host);

const char *sts_mode_name(int mode);

#endif
