/* parse: strict parsers for numbers, sizes, durations and booleans as they
 * appear in the configuration and on the command line. Each accepts the whole
 * string or nothing: "12x" is an error, not 12. */
#ifndef POSTERN_LIB_PARSE_H
#define POSTERN_LIB_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Decimal digits only, no sign, no spaces; fails on overflow past max. */
int parse_u64(const char *s, size_t len, uint64_t max, uint64_t *out);
/* A byte count with an optional binary suffix K, M, G or T ("35M"). */
int parse_size(const char *s, uint64_t *out);
/* A duration in milliseconds: digits with a unit ms, s, m, h or d ("5m");
 * bare digits mean seconds. */
int parse_duration_ms(const char *s, uint64_t *out);
/* Split s on blanks: returns the next word at *cursor (not NUL-terminated)
 * with its length, and advances *cursor; false when no word is left. */
bool next_word(const char **cursor, const char **word, size_t *len);
/* yes/no, true/false, on/off, 1/0. */
int parse_bool(const char *s, bool *out);

#endif
