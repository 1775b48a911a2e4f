/* log: one line per event, written atomically. */
#include "lib/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

enum { LOG_LINE_MAX = 4096 };

static enum log_level log_threshold = LOG_LEVEL_INFO;
static int log_fd = 2;

static const char *const level_names[] = {"error", "warn", "info", "debug"};

void log_setup(enum log_level level, int fd)
{
	log_threshold = level;
	log_fd = fd;
}

int log_level_parse(const char *name)
{
	for (size_t i = 0; i < sizeof(level_names) / sizeof(level_names[0]);
	     i++)
		if (strcmp(name, level_names[i]) == 0)
			return (int)i;
	return -1;
}

int log_enabled(enum log_level level)
{
	return level <= log_threshold;
}

static size_t log_timestamp(char *out, size_t outsz)
{
	struct timeval tv;
	struct tm tm;
	gettimeofday(&tv, NULL);
	gmtime_r(&tv.tv_sec, &tm);
	size_t n = strftime(out, outsz, "%Y-%m-%dT%H:%M:%S", &tm);
	int m = snprintf(out + n, outsz - n, ".%03dZ", (int)(tv.tv_usec / 1000));
	return m > 0 && (size_t)m < outsz - n ? n + (size_t)m : n;
}

/* One event is one line: any control byte a caller let through becomes '?'. */
static void log_sanitize(char *s, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c < 0x20 || c == 0x7f)
			s[i] = '?';
	}
}

static void log_vwrite(enum log_level level, const char *fmt, va_list ap)
	__attribute__((format(printf, 2, 0)));

static void log_vwrite(enum log_level level, const char *fmt, va_list ap)
{
	char line[LOG_LINE_MAX];
	size_t n = log_timestamp(line, sizeof(line));
	int m = snprintf(line + n, sizeof(line) - n, " %s ", level_names[level]);
	if (m > 0)
		n += (size_t)m;
	size_t body = n;
	m = vsnprintf(line + n, sizeof(line) - n, fmt, ap);
	if (m < 0)
		return;
	n += (size_t)m;
	if (n >= sizeof(line) - 1)
		n = sizeof(line) - 2; /* truncated: keep room for the newline */
	log_sanitize(line + body, n - body);
	line[n++] = '\n';
	ssize_t w = write(log_fd, line, n);
	(void)w; /* nowhere left to report a failed log write */
}

void log_msg(enum log_level level, const char *fmt, ...)
{
	if (level > log_threshold)
		return;
	va_list ap;
	va_start(ap, fmt);
	log_vwrite(level, fmt, ap);
	va_end(ap);
}

static int log_needs_quotes(const char *value, size_t len)
{
	if (len == 0)
		return 1;
	for (size_t i = 0; i < len; i++)
		if (value[i] == ' ' || value[i] == '"' || value[i] == '=')
			return 1;
	return 0;
}

const char *log_value(char *out, size_t outsz, const char *value, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	int quote = log_needs_quotes(value, len);
	size_t o = 0, limit = outsz > 8 ? outsz - 5 : 0; /* room for ..." */
	if (quote && o < limit)
		out[o++] = '"';
	size_t i;
	for (i = 0; i < len && o + 4 < limit; i++) {
		unsigned char c = (unsigned char)value[i];
		if (c < 0x20 || c >= 0x7f || c == '\\' || c == '"') {
			out[o++] = '\\';
			out[o++] = 'x';
			out[o++] = hex[c >> 4];
			out[o++] = hex[c & 15];
		} else {
			out[o++] = (char)c;
		}
	}
	if (i < len && outsz > 8) {
		memcpy(out + o, "...", 3);
		o += 3;
	}
	if (quote && o + 1 < outsz)
		out[o++] = '"';
	if (outsz > 0)
		out[o < outsz ? o : outsz - 1] = '\0';
	return out;
}

void fatal(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	log_vwrite(LOG_LEVEL_ERROR, fmt, ap);
	va_end(ap);
	if (log_fd != 2) {
		va_start(ap, fmt);
		fputs("postern: ", stderr);
		vfprintf(stderr, fmt, ap);
		fputc('\n', stderr);
		va_end(ap);
	}
	exit(1);
}
