/* netaddr: socket addresses as text. Pure: no DNS, no sockets. */
#ifndef POSTERN_LIB_NETADDR_H
#define POSTERN_LIB_NETADDR_H

#include <stddef.h>
#include <sys/socket.h>

enum { NETADDR_TEXT_MAX = 64 };

/* Parse "192.0.2.1:25", "[2001:db8::1]:25", "*:25" (every IPv4 address) or
 * "[::]:25". Returns 0, or -1 with a reason in *error_r. */
int netaddr_parse(const char *text, struct sockaddr_storage *out,
		  socklen_t *len_r, const char **error_r);
/* "192.0.2.1" or "2001:db8::1" (no port); IPv4-mapped IPv6 is shown as IPv4. */
void netaddr_ip(const struct sockaddr *sa, char out[NETADDR_TEXT_MAX]);
/* "192.0.2.1:25" or "[2001:db8::1]:25". */
void netaddr_ip_port(const struct sockaddr *sa, char out[NETADDR_TEXT_MAX]);

/* Whether ip (text, as netaddr_ip writes it) is in one of the networks of
 * list ("192.0.2.0/24 2001:db8::/32 198.51.100.7", blanks or commas
 * between). 1 yes, 0 no, -1 when the list has something that is not an
 * address or network (*bad_r points at it). */
int netaddr_in_networks(const char *ip, const char *list, const char **bad_r);

#endif
