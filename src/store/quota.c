/* quota: Maildir++ maildirsize accounting. */
#include "store/quota.h"

#include "lib/durable.h"
#include "lib/parse.h"
#include "store/maildir.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

enum { MAILDIRSIZE_MAX = 5120 }; /* Maildir++: recalculate past this */

/* Size of one message file: from ",S=" in its name, else stat(). */
static uint64_t file_size(const char *dir, const char *name)
{
	const char *s = strstr(name, ",S=");
	if (s != NULL) {
		s += 3;
		size_t n = strspn(s, "0123456789");
		uint64_t v;
		if (parse_u64(s, n, UINT64_MAX, &v) == 0)
			return v;
	}
	char path[MAILDIR_PATH_MAX];
	struct stat st;
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return stat(path, &st) == 0 ? (uint64_t)st.st_size : 0;
}

static void count_dir(const char *dir, uint64_t *bytes, uint64_t *count)
{
	DIR *d = opendir(dir);
	if (d == NULL)
		return;
	struct dirent *de;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		*bytes += file_size(dir, de->d_name);
		(*count)++;
	}
	closedir(d);
}

/* Sum new/ and cur/ of the Maildir and of every ".Folder" in it. */
static void count_all(const char *root, uint64_t *bytes, uint64_t *count)
{
	char path[MAILDIR_PATH_MAX];
	*bytes = *count = 0;
	for (int i = 0; i < 2; i++) {
		snprintf(path, sizeof(path), "%s/%s", root, i ? "cur" : "new");
		count_dir(path, bytes, count);
	}
	DIR *d = opendir(root);
	if (d == NULL)
		return;
	struct dirent *de;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] != '.' || strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		for (int i = 0; i < 2; i++) {
			snprintf(path, sizeof(path), "%s/%s/%s", root, de->d_name,
				 i ? "cur" : "new");
			count_dir(path, bytes, count);
		}
	}
	closedir(d);
}

static int recalculate(const char *root, uint64_t limit, uint64_t *bytes,
		       uint64_t *count)
{
	char tmp[MAILDIR_PATH_MAX], path[MAILDIR_PATH_MAX], text[96];
	count_all(root, bytes, count);
	snprintf(path, sizeof(path), "%s/maildirsize", root);
	snprintf(tmp, sizeof(tmp), "%s/tmp/maildirsize.%d", root, (int)getpid());
	int n = snprintf(text, sizeof(text), "%" PRIu64 "S\n%" PRIu64 " %" PRIu64 "\n",
			 limit, *bytes, *count);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return 0; /* the numbers are right; the cache just is not kept */
	int rc = write_all(fd, text, (size_t)n);
	close(fd);
	if (rc < 0 || rename(tmp, path) < 0)
		unlink(tmp);
	return 0;
}

/* Sum the lines after the first; -1 when the file is not well-formed. */
static int parse_maildirsize(const char *text, uint64_t *bytes,
			     uint64_t *count)
{
	const char *line = strchr(text, '\n');
	*bytes = *count = 0;
	if (line == NULL)
		return -1;
	for (line++; *line != '\0';) {
		const char *end = strchr(line, '\n');
		if (end == NULL)
			return -1; /* a torn last line */
		long long b, c;
		if (sscanf(line, "%lld %lld", &b, &c) != 2)
			return -1;
		/* removals are negative; a sum below zero means it is stale */
		if ((b < 0 && (uint64_t)-b > *bytes) || (c < 0 && (uint64_t)-c > *count))
			return -1;
		*bytes += (uint64_t)b;
		*count += (uint64_t)c;
		line = end + 1;
	}
	return 0;
}

int quota_usage(const char *root, uint64_t limit, uint64_t *bytes,
		uint64_t *count)
{
	char path[MAILDIR_PATH_MAX];
	snprintf(path, sizeof(path), "%s/maildirsize", root);
	char *text;
	size_t len;
	if (read_file(path, MAILDIRSIZE_MAX, &text, &len) < 0)
		return recalculate(root, limit, bytes, count);
	int rc = parse_maildirsize(text, bytes, count);
	free(text);
	if (rc < 0)
		return recalculate(root, limit, bytes, count);
	return 0;
}

/* One "<bytes> <count>" line, appended with a single write (atomic). */
static int append_change(const char *root, uint64_t limit, const char *line,
			 size_t n)
{
	char path[MAILDIR_PATH_MAX];
	snprintf(path, sizeof(path), "%s/maildirsize", root);
	int fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC);
	if (fd < 0) {
		uint64_t b, c;
		return recalculate(root, limit, &b, &c);
	}
	int rc = write_all(fd, line, n);
	close(fd);
	return rc;
}

int quota_remove(const char *root, uint64_t limit, uint64_t bytes,
		 uint64_t count)
{
	char line[64];
	int n = snprintf(line, sizeof(line), "-%" PRIu64 " -%" PRIu64 "\n",
			 bytes, count);
	return append_change(root, limit, line, (size_t)n);
}

int quota_add(const char *root, uint64_t limit, uint64_t size)
{
	char line[48];
	int n = snprintf(line, sizeof(line), "%" PRIu64 " 1\n", size);
	return append_change(root, limit, line, (size_t)n);
}
