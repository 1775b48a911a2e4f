/* clientkey: per-client keys. */
#include "policy/clientkey.h"

#include <netinet/in.h>
#include <string.h>

void client_key(const struct sockaddr *sa, unsigned char key[CLIENT_KEY_LEN])
{
	memset(key, 0, CLIENT_KEY_LEN);
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *sin = (const void *)sa;
		key[0] = 4;
		memcpy(key + 1, &sin->sin_addr, 4);
		return;
	}
	const struct sockaddr_in6 *sin6 = (const void *)sa;
	if (IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr)) {
		key[0] = 4;
		memcpy(key + 1, &sin6->sin6_addr.s6_addr[12], 4);
	} else {
		key[0] = 6;
		memcpy(key + 1, &sin6->sin6_addr, 8); /* the /64 */
	}
}

uint32_t client_key_hash(const unsigned char key[CLIENT_KEY_LEN])
{
	uint32_t h = 2166136261u;
	for (int i = 0; i < CLIENT_KEY_LEN; i++)
		h = (h ^ key[i]) * 16777619u;
	return h;
}
