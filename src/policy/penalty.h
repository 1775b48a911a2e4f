/* penalty: slowing down password guessing. Each failed login from a client
 * (policy/clientkey.h) makes every client's next attempt wait: base, then
 * twice that, up to max, across all its connections; failures are
 * forgotten after `memory` without new ones. A right password still works,
 * once the wait is over. */
#ifndef POSTERN_POLICY_PENALTY_H
#define POSTERN_POLICY_PENALTY_H

#include <stdint.h>
#include <sys/socket.h>

struct penalty;

struct penalty *penalty_new(uint64_t base_ms, uint64_t max_ms,
			    uint64_t memory_ms);
void penalty_free(struct penalty **p);
/* How long an attempt from sa has to wait now (ms; 0: none). */
uint64_t penalty_wait(struct penalty *p, const struct sockaddr *sa,
		      uint64_t now_ms);
/* Record a failure from sa; returns the wait it imposes (ms). */
uint64_t penalty_fail(struct penalty *p, const struct sockaddr *sa,
		      uint64_t now_ms);

#endif
