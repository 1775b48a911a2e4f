/* sts_cache: the MTA-STS policy that applies to a destination now
 * (RFC 8461 3.3, 5.1), fetched over HTTPS with libcurl and kept in
 * data_dir/mta-sts/DOMAIN for its max_age.
 *
 * Blocking: it runs on an outbound delivery thread. The web server's
 * address comes from our own resolver (route_sts), handed to libcurl, so
 * that no lookup bypasses it. The certificate of mta-sts.DOMAIN is
 * verified (the system's CAs, or [outbound] ca_file), redirects are not
 * followed, and the policy may be at most 64 KB of text/plain.
 *
 * A cached policy that has not expired is used when the TXT record is
 * gone or the fetch fails: an attacker who strips the TXT record or blocks
 * the web server does not turn enforcement off (RFC 8461 5.1). */
#ifndef POSTERN_MTA_STS_CACHE_H
#define POSTERN_MTA_STS_CACHE_H

#include "lib/config.h"
#include "mta/route.h"
#include "mta/sts.h"

#include <stdatomic.h>

/* Once, before threads start, and at the end. */
int sts_global_init(void);
void sts_global_cleanup(void);

/* The policy for domain (lower case) given what DNS said. 1 with *p
 * filled, 0 when no policy applies. A fetch under way gives up within a
 * second once *cancel is set (shutting down). note says what happened, for the log
 * ("cached", "fetched", "fetch failed: ...; cached policy used", ...). */
int sts_policy_get(const struct config *cfg, const char *domain,
		   const struct route_sts *dns, struct sts_policy *p,
		   char note[256], const atomic_bool *cancel);

#endif
