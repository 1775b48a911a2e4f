/* util: small helpers with no better home: clocks, randomness, constant-time
 * comparison and RFC 5322 dates. */
#ifndef POSTERN_LIB_UTIL_H
#define POSTERN_LIB_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* Monotonic milliseconds, for timeouts and rates. */
uint64_t monotonic_ms(void);
/* Wall-clock microseconds since the epoch. */
uint64_t wallclock_us(void);

/* Fill buf with n bytes from the kernel's CSPRNG; aborts if it fails, since
 * nothing secure can continue without randomness. */
void random_bytes(void *buf, size_t n);
/* A uniformly random integer in [0, bound). bound > 0. */
uint32_t random_below(uint32_t bound);

/* 1 when the n bytes are equal, in time that does not depend on where they
 * differ. */
int secure_equal(const void *a, const void *b, size_t n);

enum { RFC5322_DATE_MAX = 40 };
/* "Mon, 23 Nov 2026 12:00:00 +0000" (RFC 5322 3.3), in UTC. */
void rfc5322_date(time_t t, char out[RFC5322_DATE_MAX]);

/* out = dir "/" name; -1 (and out = "") when it does not fit in n bytes. */
int path_join(char *out, size_t n, const char *dir, const char *name);

/* Lower-case ASCII letters in place; other bytes are left alone. */
void ascii_lower(char *s, size_t len);

#endif
