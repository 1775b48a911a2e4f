/* netaddr: socket addresses as text. */
#include "lib/netaddr.h"

#include "lib/parse.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

static int parse_port(const char *s, in_port_t *out)
{
	uint64_t v;
	if (parse_u64(s, strlen(s), 65535, &v) < 0)
		return -1;
	*out = htons((in_port_t)v);
	return 0;
}

static int parse_v6(const char *text, struct sockaddr_storage *out,
		    socklen_t *len_r, const char **error_r)
{
	const char *close = strchr(text, ']');
	char host[INET6_ADDRSTRLEN];
	size_t n = close != NULL ? (size_t)(close - text - 1) : 0;
	if (close == NULL || close[1] != ':' || n == 0 || n >= sizeof(host)) {
		*error_r = "expected [IPv6]:port";
		return -1;
	}
	memcpy(host, text + 1, n);
	host[n] = '\0';
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)out;
	memset(sin6, 0, sizeof(*sin6));
	sin6->sin6_family = AF_INET6;
	if (inet_pton(AF_INET6, host, &sin6->sin6_addr) != 1) {
		*error_r = "invalid IPv6 address";
		return -1;
	}
	if (parse_port(close + 2, &sin6->sin6_port) < 0) {
		*error_r = "invalid port";
		return -1;
	}
	*len_r = sizeof(*sin6);
	return 0;
}

int netaddr_parse(const char *text, struct sockaddr_storage *out,
		  socklen_t *len_r, const char **error_r)
{
	if (text[0] == '[')
		return parse_v6(text, out, len_r, error_r);
	const char *colon = strrchr(text, ':');
	char host[INET_ADDRSTRLEN];
	size_t n = colon != NULL ? (size_t)(colon - text) : 0;
	if (colon == NULL || n == 0 || n >= sizeof(host)) {
		*error_r = "expected address:port";
		return -1;
	}
	memcpy(host, text, n);
	host[n] = '\0';
	struct sockaddr_in *sin = (struct sockaddr_in *)out;
	memset(sin, 0, sizeof(*sin));
	sin->sin_family = AF_INET;
	if (strcmp(host, "*") == 0)
		sin->sin_addr.s_addr = htonl(INADDR_ANY);
	else if (inet_pton(AF_INET, host, &sin->sin_addr) != 1) {
		*error_r = "invalid IPv4 address";
		return -1;
	}
	if (parse_port(colon + 1, &sin->sin_port) < 0) {
		*error_r = "invalid port";
		return -1;
	}
	*len_r = sizeof(*sin);
	return 0;
}

void netaddr_ip(const struct sockaddr *sa, char out[NETADDR_TEXT_MAX])
{
	out[0] = '\0';
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *sin = (const void *)sa;
		inet_ntop(AF_INET, &sin->sin_addr, out, NETADDR_TEXT_MAX);
	} else if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *sin6 = (const void *)sa;
		if (IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr))
			inet_ntop(AF_INET, &sin6->sin6_addr.s6_addr[12], out,
				  NETADDR_TEXT_MAX);
		else
			inet_ntop(AF_INET6, &sin6->sin6_addr, out,
				  NETADDR_TEXT_MAX);
	}
}

void netaddr_ip_port(const struct sockaddr *sa, char out[NETADDR_TEXT_MAX])
{
	char ip[NETADDR_TEXT_MAX];
	netaddr_ip(sa, ip);
	unsigned port = 0;
	if (sa->sa_family == AF_INET)
		port = ntohs(((const struct sockaddr_in *)(const void *)sa)->sin_port);
	else if (sa->sa_family == AF_INET6)
		port = ntohs(((const struct sockaddr_in6 *)(const void *)sa)->sin6_port);
	int n;
	if (strchr(ip, ':') != NULL)
		n = snprintf(out, NETADDR_TEXT_MAX, "[%s]:%u", ip, port);
	else
		n = snprintf(out, NETADDR_TEXT_MAX, "%s:%u", ip, port);
	if (n < 0 || n >= NETADDR_TEXT_MAX)
		out[0] = '\0';
}

/* One "addr[/bits]" of a list: 1 when ip (16 bytes, v4 in the first 4) of
 * family v6 is in it, 0 when not, -1 when it is malformed. */
static int in_network(const unsigned char *ip, bool v6, const char *item,
		      size_t len)
{
	char text[NETADDR_TEXT_MAX];
	unsigned char net[16];
	const char *slash = memchr(item, '/', len);
	size_t al = slash != NULL ? (size_t)(slash - item) : len;
	uint64_t bits;
	if (al == 0 || al >= sizeof(text))
		return -1;
	memcpy(text, item, al);
	text[al] = '\0';
	bool net6 = strchr(text, ':') != NULL;
	if (inet_pton(net6 ? AF_INET6 : AF_INET, text, net) != 1)
		return -1;
	bits = net6 ? 128 : 32;
	if (slash != NULL &&
	    parse_u64(slash + 1, len - al - 1, net6 ? 128 : 32, &bits) < 0)
		return -1;
	if (net6 != v6)
		return 0;
	size_t full = (size_t)bits / 8, rest = (size_t)bits % 8;
	if (memcmp(ip, net, full) != 0)
		return 0;
	unsigned char mask = (unsigned char)(0xff << (8 - rest));
	return rest == 0 || (ip[full] & mask) == (net[full] & mask);
}

int netaddr_in_networks(const char *ip, const char *list, const char **bad_r)
{
	unsigned char a[16] = {0};
	bool v6 = strchr(ip, ':') != NULL;
	int found = 0;
	if (inet_pton(v6 ? AF_INET6 : AF_INET, ip, a) != 1)
		v6 = false; /* no address: matches nothing, the list still checked */
	for (const char *p = list; *p != '\0';) {
		p += strspn(p, " \t,");
		size_t len = strcspn(p, " \t,");
		if (len == 0)
			break;
		int rc = in_network(a, v6, p, len);
		if (rc < 0) {
			*bad_r = p;
			return -1;
		}
		found |= rc;
		p += len;
	}
	return found;
}
