/* penalty: slowing down password guessing. Once a client
 * (policy/clientkey.h) has failed to log in, its attempts are spaced out:
 * each waits for its own slot, `delay` after the one before, however many
 * connections they come on. The delay is base after the first failure,
 * doubling with each further one up to max; failures are forgotten after
 * `memory` without new ones. A right password still works, in its turn. */
#ifndef POSTERN_POLICY_PENALTY_H
#define POSTERN_POLICY_PENALTY_H

#include <stdint.h>
#include <sys/socket.h>

struct penalty;

struct penalty *penalty_new(uint64_t base_ms, uint64_t max_ms,
			    uint64_t memory_ms);
void penalty_free(struct penalty **p);
/* An attempt from sa begins: how long it must wait for its slot (ms; 0:
 * none), the slot after it being taken for the next attempt. */
uint64_t penalty_wait(struct penalty *p, const struct sockaddr *sa,
		      uint64_t now_ms);
/* Record a failure from sa; returns how long its reply waits (ms). */
uint64_t penalty_fail(struct penalty *p, const struct sockaddr *sa,
		      uint64_t now_ms);

#endif
