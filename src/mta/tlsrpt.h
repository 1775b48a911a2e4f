/* tlsrpt: SMTP TLS Reporting (RFC 8460).
 *
 * Every outbound session that tries TLS leaves one result line in
 * data_dir/tlsrpt/DOMAIN (the recipient domain):
 *
 *   2026-11-23\tsts\tfail\tcertificate-host-mismatch\tmx.example.org\t192.0.2.7\n
 *   DAY         policy  ok|fail  result type (or -)    MX host         its address
 *
 * Once a day the lines of the days before are summed into one JSON report
 * per domain (RFC 8460 4) and mailed to the mailto: addresses of the
 * domain's "_smtp._tls" TXT record (v=TLSRPTv1; rua=...); domains without
 * one are not reported to, and their lines are dropped. The parsing and the
 * JSON are pure code; recording and collecting touch the disk. */
#ifndef POSTERN_MTA_TLSRPT_H
#define POSTERN_MTA_TLSRPT_H

#include "lib/buf.h"

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

enum {
	TLSRPT_RUA_MAX = 4,      /* report addresses we use per domain */
	TLSRPT_ADDR_MAX = 254,
	TLSRPT_FILE_MAX = 16 * 1024 * 1024, /* one domain's lines */
	TLSRPT_DETAILS_MAX = 100, /* distinct failure-details per policy */
};

/* One session's outcome. policy: "sts", "tlsa" or "no-policy-found";
 * failure: NULL for a success, else an RFC 8460 4.3 result type. */
struct tlsrpt_result {
	const char *domain;
	const char *policy;
	const char *failure;
	const char *mx;
	const char *ip;
};

/* Append r to data_dir/tlsrpt/DOMAIN (not synced: reports are
 * statistics). 0 or -1. */
int tlsrpt_record(const char *data_dir, const struct tlsrpt_result *r,
		  time_t now);

/* The mailto: addresses of a "v=TLSRPTv1; rua=..." record (https: ones are
 * skipped). 1 with *n > 0, 0 when txt is not a TLSRPTv1 record or names no
 * mailto address, -1 when it is malformed. */
int tlsrpt_txt_parse(const char *txt, char rua[TLSRPT_RUA_MAX][TLSRPT_ADDR_MAX + 1],
		     size_t *n);

/* The JSON report (RFC 8460 4.4) of domain for the lines of day (lines of
 * other days are ignored; malformed ones skipped). 1 when there was
 * something to report, 0 when not, -1 when out of memory. */
int tlsrpt_build_json(const char *lines, size_t len, const char *day,
		      const char *domain, const char *org,
		      const char *contact, const char *report_id,
		      struct buf *json);

/* Take the collected lines of domain for reporting: the file is renamed
 * away (new results start a fresh one) and its contents returned (the
 * caller frees). Lines of today are put back. 0, or -1 (ENOENT: none). */
int tlsrpt_collect(const char *data_dir, const char *domain, time_t now,
		   bool include_today, char **lines, size_t *len);

/* The days (YYYY-MM-DD) present in lines, each once, at most max. */
size_t tlsrpt_days(const char *lines, size_t len, char days[][11],
		   size_t max);

#endif
