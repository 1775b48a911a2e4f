/* clientkey: who a connection comes from, for per-client limits: an IPv4
 * address, or an IPv6 /64 (one subscriber's usual allocation, so that a
 * host cannot evade a limit by rotating addresses). */
#ifndef POSTERN_POLICY_CLIENTKEY_H
#define POSTERN_POLICY_CLIENTKEY_H

#include <stdint.h>
#include <sys/socket.h>

enum { CLIENT_KEY_LEN = 9 };

void client_key(const struct sockaddr *sa, unsigned char key[CLIENT_KEY_LEN]);
/* FNV-1a of the key, for hash tables. */
uint32_t client_key_hash(const unsigned char key[CLIENT_KEY_LEN]);

#endif
