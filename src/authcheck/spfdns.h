/* spfdns: running an SPF check (mailauth/spf.h) on the asynchronous
 * resolver (net/dns.h): each question the check asks goes to DNS, each
 * answer is decoded into the check's terms, until it has its result. */
#ifndef POSTERN_AUTHCHECK_SPFDNS_H
#define POSTERN_AUTHCHECK_SPFDNS_H

#include "mailauth/spf.h"
#include "net/dns.h"

#include <stdbool.h>

struct spf_run;
/* Called once, on the resolver's loop, when the check has its result. */
typedef void spf_run_done_fn(void *arg, struct spf_run *run);

/* Start checking req; done runs when there is a result (perhaps before
 * this returns: a domain that cannot have SPF needs no DNS). NULL when out
 * of memory. */
struct spf_run *spf_run_start(struct dns *dns, const struct spf_request *req,
			      spf_run_done_fn *done, void *arg);
/* The check, for its result (finished or not: see spf_run_finished). */
const struct spf *spf_run_check(const struct spf_run *r);
bool spf_run_finished(const struct spf_run *r);
/* Stop caring: no more callbacks; freed once no query is out (now, or
 * when the one under way answers). */
void spf_run_abandon(struct spf_run *r);

#endif
