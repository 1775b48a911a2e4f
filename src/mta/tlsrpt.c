/* tlsrpt: TLS-RPT results, records and reports (RFC 8460). */
#include "mta/tlsrpt.h"

#include "lib/durable.h"
#include "lib/util.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

static void day_of(time_t t, char out[11])
{
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(out, 11, "%Y-%m-%d", &tm);
}

/* A field we write: no tab, no line end, something in it. */
static const char *field(const char *s)
{
	return s != NULL && s[0] != '\0' && strpbrk(s, "\t\r\n") == NULL ? s
									  : "-";
}

static int dir_path(const char *data_dir, const char *name, char *out,
		    size_t n)
{
	char dir[PATH_MAX];
	if (path_join(dir, sizeof(dir), data_dir, "tlsrpt") < 0 ||
	    mkdir_p(dir, 0700) < 0)
		return -1;
	return name != NULL ? path_join(out, n, dir, name)
			    : (snprintf(out, n, "%s", dir) < (int)n ? 0 : -1);
}

int tlsrpt_record(const char *data_dir, const struct tlsrpt_result *r,
		  time_t now)
{
	char path[PATH_MAX], day[11], line[1024];
	if (strchr(r->domain, '/') != NULL || r->domain[0] == '.' ||
	    dir_path(data_dir, r->domain, path, sizeof(path)) < 0)
		return -1;
	day_of(now, day);
	int n = snprintf(line, sizeof(line), "%s\t%s\t%s\t%s\t%s\t%s\n", day,
			 field(r->policy), r->failure ? "fail" : "ok",
			 field(r->failure), field(r->mx), field(r->ip));
	if (n < 0 || (size_t)n >= sizeof(line))
		return -1;
	int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	if (fd < 0)
		return -1;
	int rc = write_all(fd, line, (size_t)n); /* one write: lines whole */
	close(fd);
	return rc;
}

/* ------------------------------------------------------------ TXT */

/* The address of a mailto: URI (RFC 6068) as a plain addr-spec: up to a
 * '?', one '@' with something on each side, and nothing a header or an
 * SMTP path could misread (no blanks, brackets, quotes or %-escapes). */
static bool mailto_address(const char *u, size_t len,
			   char out[TLSRPT_ADDR_MAX + 1])
{
	const char *q = memchr(u, '?', len);
	if (q != NULL)
		len = (size_t)(q - u);
	const char *at = memchr(u, '@', len);
	if (len == 0 || len > TLSRPT_ADDR_MAX || at == NULL || at == u ||
	    at == u + len - 1 || memchr(at + 1, '@', len - (size_t)(at + 1 - u)))
		return false;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)u[i];
		if (c <= 0x20 || c >= 0x7f || strchr("<>\"%(),:;[\\]", c) != NULL)
			return false;
	}
	memcpy(out, u, len);
	out[len] = '\0';
	return true;
}

/* RFC 8460 3: "v=TLSRPTv1;" then "rua=" a comma-separated list of URIs. */
int tlsrpt_txt_parse(const char *txt,
		     char rua[TLSRPT_RUA_MAX][TLSRPT_ADDR_MAX + 1], size_t *n)
{
	*n = 0;
	const char *p = txt;
	while (*p == ' ' || *p == '\t')
		p++;
	if (strncmp(p, "v=TLSRPTv1", 10) != 0 ||
	    (p[10] != '\0' && p[10] != ';' && p[10] != ' ' && p[10] != '\t'))
		return 0;
	p += 10;
	bool seen_rua = false;
	while (*p != '\0') {
		p += strspn(p, " \t");
		if (*p++ != ';')
			return -1;
		p += strspn(p, " \t");
		if (*p == '\0')
			break;
		size_t len = strcspn(p, ";");
		if (strncmp(p, "rua=", 4) == 0) {
			seen_rua = true;
			const char *u = p + 4, *end = p + len;
			while (u < end) {
				size_t ul = strcspn(u, ",;");
				if ((size_t)(end - u) < ul)
					ul = (size_t)(end - u);
				while (ul > 0 && (u[ul - 1] == ' ' || u[ul - 1] == '\t'))
					ul--;
				if (ul > 7 && strncasecmp(u, "mailto:", 7) == 0 &&
				    *n < TLSRPT_RUA_MAX &&
				    mailto_address(u + 7, ul - 7, rua[*n]))
					(*n)++;
				u += ul;
				u += strspn(u, " \t,");
			}
		}
		p += len;
	}
	if (!seen_rua)
		return -1;
	return *n > 0 ? 1 : 0;
}

/* ------------------------------------------------------------ JSON */

struct detail {
	char type[64], mx[256], ip[64];
	unsigned long count;
};

struct policy_sum {
	char type[32];
	unsigned long ok, fail;
	struct detail details[TLSRPT_DETAILS_MAX];
	size_t n_details;
};

/* Split a line into its 6 fields (in place). */
static bool split_line(char *line, char *f[6])
{
	for (int i = 0; i < 6; i++) {
		f[i] = line;
		char *tab = strchr(line, '\t');
		if (i < 5 && tab == NULL)
			return false;
		if (tab != NULL) {
			if (i == 5)
				return false;
			*tab = '\0';
			line = tab + 1;
		}
	}
	return strlen(f[0]) == 10 && (strcmp(f[2], "ok") == 0 ||
				      strcmp(f[2], "fail") == 0) &&
	       (strcmp(f[1], "sts") == 0 || strcmp(f[1], "tlsa") == 0 ||
		strcmp(f[1], "no-policy-found") == 0);
}

static void add_line(struct policy_sum *sums, size_t *n_sums, char *f[6])
{
	struct policy_sum *p = NULL;
	for (size_t i = 0; i < *n_sums && p == NULL; i++)
		if (strcmp(sums[i].type, f[1]) == 0)
			p = &sums[i];
	if (p == NULL) {
		p = &sums[(*n_sums)++];
		snprintf(p->type, sizeof(p->type), "%s", f[1]);
	}
	if (strcmp(f[2], "ok") == 0) {
		p->ok++;
		return;
	}
	p->fail++;
	for (size_t i = 0; i < p->n_details; i++) {
		struct detail *d = &p->details[i];
		if (strcmp(d->type, f[3]) == 0 && strcmp(d->mx, f[4]) == 0 &&
		    strcmp(d->ip, f[5]) == 0) {
			d->count++;
			return;
		}
	}
	if (p->n_details < TLSRPT_DETAILS_MAX) {
		struct detail *d = &p->details[p->n_details++];
		snprintf(d->type, sizeof(d->type), "%s", f[3]);
		snprintf(d->mx, sizeof(d->mx), "%s", f[4]);
		snprintf(d->ip, sizeof(d->ip), "%s", f[5]);
		d->count = 1;
	}
}

/* A JSON string: quotes, backslashes and control bytes escaped. */
static void json_str(struct buf *b, const char *s)
{
	buf_append_byte(b, '"');
	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\')
			buf_appendf(b, "\\%c", c);
		else if (c < 0x20)
			buf_appendf(b, "\\u%04x", c);
		else
			buf_append_byte(b, (char)c);
	}
	buf_append_byte(b, '"');
}

static void json_policy(struct buf *b, const struct policy_sum *p,
			const char *domain)
{
	buf_append_str(b, "{\"policy\":{\"policy-type\":");
	json_str(b, p->type);
	buf_append_str(b, ",\"policy-domain\":");
	json_str(b, domain);
	buf_appendf(b, "},\"summary\":{\"total-successful-session-count\":%lu,"
		       "\"total-failure-session-count\":%lu}",
		    p->ok, p->fail);
	if (p->n_details > 0) {
		buf_append_str(b, ",\"failure-details\":[");
		for (size_t i = 0; i < p->n_details; i++) {
			const struct detail *d = &p->details[i];
			buf_append_str(b, i > 0 ? ",{\"result-type\":"
						: "{\"result-type\":");
			json_str(b, d->type);
			if (strcmp(d->mx, "-") != 0) {
				buf_append_str(b, ",\"receiving-mx-hostname\":");
				json_str(b, d->mx);
			}
			if (strcmp(d->ip, "-") != 0) {
				buf_append_str(b, ",\"receiving-ip\":");
				json_str(b, d->ip);
			}
			buf_appendf(b, ",\"failed-session-count\":%lu}", d->count);
		}
		buf_append_byte(b, ']');
	}
	buf_append_byte(b, '}');
}

int tlsrpt_build_json(const char *lines, size_t len, const char *day,
		      const char *domain, const char *org,
		      const char *contact, const char *report_id,
		      struct buf *json)
{
	struct policy_sum *sums = calloc(3, sizeof(*sums));
	char *copy = malloc(len + 1);
	if (sums == NULL || copy == NULL) {
		free(sums);
		free(copy);
		return -1;
	}
	memcpy(copy, lines, len);
	copy[len] = '\0';
	size_t n_sums = 0;
	for (char *line = copy, *nl; (nl = strchr(line, '\n')) != NULL;
	     line = nl + 1) {
		*nl = '\0';
		char *f[6];
		if (strncmp(line, day, 10) == 0 && split_line(line, f))
			add_line(sums, &n_sums, f);
	}
	if (n_sums > 0) {
		buf_append_str(json, "{\"organization-name\":");
		json_str(json, org);
		buf_appendf(json, ",\"date-range\":{\"start-datetime\":"
				  "\"%sT00:00:00Z\",\"end-datetime\":"
				  "\"%sT23:59:59Z\"},\"contact-info\":",
			    day, day);
		json_str(json, contact);
		buf_append_str(json, ",\"report-id\":");
		json_str(json, report_id);
		buf_append_str(json, ",\"policies\":[");
		for (size_t i = 0; i < n_sums; i++) {
			if (i > 0)
				buf_append_byte(json, ',');
			json_policy(json, &sums[i], domain);
		}
		buf_append_str(json, "]}\n");
	}
	free(sums);
	free(copy);
	return n_sums > 0 ? 1 : 0;
}

/* ------------------------------------------------------------ collect */

size_t tlsrpt_days(const char *lines, size_t len, char days[][11], size_t max)
{
	size_t n = 0, pos = 0;
	while (pos + 11 <= len) {
		const char *line = lines + pos;
		const char *nl = memchr(line, '\n', len - pos);
		if (nl == NULL)
			break;
		bool known = false;
		for (size_t i = 0; i < n && !known; i++)
			known = memcmp(days[i], line, 10) == 0;
		if (!known && n < max && line[10] == '\t') {
			memcpy(days[n], line, 10);
			days[n++][10] = '\0';
		}
		pos = (size_t)(nl - lines) + 1;
	}
	return n;
}

int tlsrpt_collect(const char *data_dir, const char *domain, time_t now,
		   bool include_today, char **lines, size_t *len)
{
	char path[PATH_MAX], taken[PATH_MAX + 32], today[11];
	/* a name of its own: two runs at once never take each other's */
	if (strchr(domain, '/') != NULL || domain[0] == '.' ||
	    dir_path(data_dir, domain, path, sizeof(path)) < 0 ||
	    snprintf(taken, sizeof(taken), "%s.%08x.taken", path,
		     (unsigned)random_below(UINT32_MAX)) >= (int)sizeof(taken))
		return -1;
	/* new results go to a fresh file from here on */
	if (rename(path, taken) < 0)
		return -1;
	int rc = read_file(taken, TLSRPT_FILE_MAX, lines, len);
	unlink(taken);
	if (rc < 0 || include_today)
		return rc;
	/* today's lines are not reported yet: put them back */
	day_of(now, today);
	int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	for (char *line = *lines, *nl; fd >= 0 &&
	     (nl = memchr(line, '\n', *len - (size_t)(line - *lines))) != NULL;
	     line = nl + 1)
		if (strncmp(line, today, 10) == 0)
			(void)write_all(fd, line, (size_t)(nl - line) + 1);
	if (fd >= 0)
		close(fd);
	return 0;
}
