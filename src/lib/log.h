/* log: one line per event, "key=value" pairs, written with a single write(2)
 * so lines from several threads never interleave.
 *
 * Convention (STYLE.md rule 14): start with the subject, then event=NAME, then
 * the details: "session=ab12 event=connect ip=192.0.2.1". Values that come
 * from a peer go through log_value() or are already validated; whatever slips
 * through, log_msg() replaces control bytes, so one event is always one line.
 * Never pass a password, token or key to these functions. */
#ifndef POSTERN_LIB_LOG_H
#define POSTERN_LIB_LOG_H

#include <stddef.h>

enum log_level {
	LOG_LEVEL_ERROR,
	LOG_LEVEL_WARN,
	LOG_LEVEL_INFO,
	LOG_LEVEL_DEBUG,
};

/* Set the threshold and the file descriptor lines go to (stderr by default). */
void log_setup(enum log_level level, int fd);
/* Parse "error", "warn", "info" or "debug"; -1 if unknown. */
int log_level_parse(const char *name);
int log_enabled(enum log_level level);

void log_msg(enum log_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#define log_error(...) log_msg(LOG_LEVEL_ERROR, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_LEVEL_WARN, __VA_ARGS__)
#define log_info(...) log_msg(LOG_LEVEL_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_LEVEL_DEBUG, __VA_ARGS__)

/* Copy a peer-supplied value into out (size outsz) for logging: quotes it when
 * it holds a space, a quote or '=', escapes bytes outside printable ASCII as
 * \xHH, and cuts it at outsz (ending in "..."). Returns out. */
const char *log_value(char *out, size_t outsz, const char *value, size_t len);

/* Print a fatal start-up error to the log and stderr and exit(1). */
void fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

#endif
