/* reports: the daily TLS-RPT reports (RFC 8460 5.3), made from the results
 * mta/tlsrpt.c collected and queued like any message, from the null
 * sender, to the domain's rua addresses. Blocking: run on a pool thread. */
#ifndef POSTERN_QUEUE_REPORTS_H
#define POSTERN_QUEUE_REPORTS_H

#include "lib/config.h"
#include "mta/tlsrpt.h"
#include "queue/spool.h"

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

typedef void reports_queued_fn(void *arg, const char *id);

/* Take domain's results (of the days before now's, or all with
 * include_today) and queue one report per day to each of rua[0..n_rua);
 * with n_rua == 0 the results are only dropped. queued runs for each
 * message queued. Returns how many were queued, or -1. */
int reports_send_tlsrpt(const struct config *cfg, struct spool *spool,
			const char *domain,
			char rua[][TLSRPT_ADDR_MAX + 1], size_t n_rua,
			bool include_today, time_t now,
			reports_queued_fn *queued, void *arg);

#endif
