/* reports: TLS-RPT report messages. */
#include "queue/reports.h"

#include "lib/log.h"
#include "lib/util.h"
#include "queue/bounce.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* RFC 8460 5.3: a multipart/report of type tlsrpt, the Subject and the
 * TLS-Report-* fields naming the domain and us, the JSON attached. */
static void compose(const struct config *cfg, const char *domain,
		    const char *to, const char *day, const char *id,
		    const struct buf *json, struct buf *out)
{
	char date[RFC5322_DATE_MAX];
	rfc5322_date(time(NULL), date);
	/* RFC 8460 5.1: the file name carries the range in epoch seconds */
	struct tm tm = {0};
	long long start = 0;
	if (sscanf(day, "%4d-%2d-%2d", &tm.tm_year, &tm.tm_mon, &tm.tm_mday) == 3) {
		tm.tm_year -= 1900;
		tm.tm_mon -= 1;
		start = (long long)timegm(&tm);
	}
	buf_appendf(out,
		    "From: TLS reporting <postmaster@%s>\n"
		    "To: <%s>\n"
		    "Subject: Report Domain: %s Submitter: %s Report-ID: <%s@%s>\n"
		    "Date: %s\n"
		    "Message-ID: <%s.tlsrpt@%s>\n"
		    "TLS-Report-Domain: %s\n"
		    "TLS-Report-Submitter: %s\n"
		    "Auto-Submitted: auto-generated\n"
		    "MIME-Version: 1.0\n"
		    "Content-Type: multipart/report; report-type=\"tlsrpt\";\n"
		    "\tboundary=\"%s/%s\"\n\n"
		    "--%s/%s\n"
		    "Content-Type: text/plain; charset=us-ascii\n\n"
		    "This is the SMTP TLS report (RFC 8460) of %s for mail\n"
		    "sent to %s on %s (UTC).\n\n"
		    "--%s/%s\n"
		    "Content-Type: application/tlsrpt+json\n"
		    "Content-Disposition: attachment;\n"
		    "\tfilename=\"%s!%s!%lld!%lld!%s.json\"\n\n",
		    cfg->hostname, to, domain, cfg->hostname, id, cfg->hostname,
		    date, id, cfg->hostname, domain, cfg->hostname, id,
		    cfg->hostname, id, cfg->hostname, cfg->hostname, domain, day,
		    id, cfg->hostname, cfg->hostname, domain, start,
		    start + 86399, id);
	buf_append(out, json->data, json->len);
	buf_appendf(out, "\n--%s/%s--\n", id, cfg->hostname);
}

/* One day's report to every rua address. */
static int send_day(const struct config *cfg, struct spool *spool,
		    const char *domain, const char *lines, size_t len,
		    const char *day, char rua[][TLSRPT_ADDR_MAX + 1],
		    size_t n_rua, reports_queued_fn *queued, void *arg)
{
	char id[QUEUE_ID_LEN + 1], contact[300];
	spool_new_id(id);
	snprintf(contact, sizeof(contact), "postmaster@%s", cfg->hostname);
	struct buf json;
	buf_init(&json, 0);
	int rc = tlsrpt_build_json(lines, len, day, domain, cfg->hostname,
				   contact, id, &json);
	int sent = 0;
	for (size_t i = 0; rc == 1 && i < n_rua; i++) {
		struct buf msg;
		buf_init(&msg, 0);
		char qid[QUEUE_ID_LEN + 1];
		spool_new_id(qid);
		compose(cfg, domain, rua[i], day, id, &json, &msg);
		if (system_message_queue(cfg, spool, rua[i], qid, &msg) == 1) {
			log_info("queue=%s event=tls-report domain=%s day=%s "
				 "to=<%s>", qid, domain, day, rua[i]);
			queued(arg, qid);
			sent++;
		} else {
			log_warn("event=tls-report-failed domain=%s day=%s to=<%s>",
				 domain, day, rua[i]);
		}
		buf_free(&msg);
	}
	buf_free(&json);
	return rc < 0 ? -1 : sent;
}

int reports_send_tlsrpt(const struct config *cfg, struct spool *spool,
			const char *domain,
			char rua[][TLSRPT_ADDR_MAX + 1], size_t n_rua,
			bool include_today, time_t now,
			reports_queued_fn *queued, void *arg)
{
	char *lines;
	size_t len;
	if (tlsrpt_collect(cfg->data_dir, domain, now, include_today, &lines,
			   &len) < 0)
		return -1;
	char days[32][11], today[11];
	struct tm tm;
	gmtime_r(&now, &tm);
	strftime(today, sizeof(today), "%Y-%m-%d", &tm);
	size_t n_days = tlsrpt_days(lines, len, days, 32);
	int total = 0;
	for (size_t d = 0; d < n_days && n_rua > 0; d++) {
		if (!include_today && strcmp(days[d], today) == 0)
			continue;
		int n = send_day(cfg, spool, domain, lines, len, days[d], rua,
				 n_rua, queued, arg);
		total += n > 0 ? n : 0;
	}
	free(lines);
	return total;
}
