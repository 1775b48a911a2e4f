/* ipcount: simultaneous connections per client, shared by all threads.
 * A client is an IPv4 address or an IPv6 /64 (one subscriber's usual
 * allocation, so that a host cannot evade the cap by rotating addresses). */
#ifndef POSTERN_POLICY_IPCOUNT_H
#define POSTERN_POLICY_IPCOUNT_H

#include <stdbool.h>
#include <sys/socket.h>

struct ipcount;

struct ipcount *ipcount_new(void);
void ipcount_free(struct ipcount **ic);
/* Count one more connection from sa, unless that would pass limit: then
 * nothing is counted and false is returned. */
bool ipcount_acquire(struct ipcount *ic, const struct sockaddr *sa,
		     unsigned limit);
/* Forget one connection counted by ipcount_acquire. */
void ipcount_release(struct ipcount *ic, const struct sockaddr *sa);

#endif
