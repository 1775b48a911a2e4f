/* sts_cache: fetching and caching MTA-STS policies. */
#include "mta/sts_cache.h"

#include "lib/durable.h"
#include "lib/netaddr.h"
#include "lib/parse.h"
#include "lib/util.h"

#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

enum { STS_FETCH_TIMEOUT_MS = 60 * 1000 };

/* A cache file: "id ID\nexpires UNIXTIME\n\n" then the policy as fetched. */
struct cached {
	char id[STS_ID_MAX + 1];
	int64_t expires;
	struct sts_policy policy;
};

int sts_global_init(void)
{
	return curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK ? 0 : -1;
}

void sts_global_cleanup(void)
{
	curl_global_cleanup();
}

static int cache_path(const struct config *cfg, const char *domain,
		      char *out, size_t n)
{
	char dir[PATH_MAX];
	if (path_join(dir, sizeof(dir), cfg->data_dir, "mta-sts") < 0 ||
	    mkdir_p(dir, 0700) < 0)
		return -1;
	/* domain is a validated lower-case host name: no '/' and no ".." */
	return path_join(out, n, dir, domain);
}

/* 0 with c filled when a cache file exists and reads well. */
static int cache_load(const char *path, struct cached *c)
{
	char *data;
	size_t len;
	memset(c, 0, sizeof(*c));
	if (read_file(path, STS_POLICY_MAX + 256, &data, &len) < 0)
		return -1;
	uint64_t expires;
	const char *why;
	char *end = data + len;
	char *nl1 = memchr(data, '\n', len);
	char *nl2 = nl1 != NULL ? memchr(nl1 + 1, '\n', (size_t)(end - nl1 - 1))
				: NULL;
	int rc = -1;
	if (nl2 != NULL && nl2 + 1 < data + len && nl2[1] == '\n' &&
	    strncmp(data, "id ", 3) == 0 && nl1 - data - 3 <= STS_ID_MAX &&
	    strncmp(nl1 + 1, "expires ", 8) == 0 &&
	    parse_u64(nl1 + 9, (size_t)(nl2 - nl1 - 9), INT64_MAX, &expires) == 0) {
		memcpy(c->id, data + 3, (size_t)(nl1 - data - 3));
		c->expires = (int64_t)expires;
		const char *body = nl2 + 2;
		rc = sts_policy_parse(body, len - (size_t)(body - data), &c->policy,
				      &why);
	}
	free(data);
	return rc;
}

/* Written to a temporary name of its own and renamed: a reader never sees
 * half, and two threads fetching the same policy do not mix their bytes. */
static int cache_store(const char *path, const char *id, int64_t expires,
		       const char *body, size_t len)
{
	char tmp[PATH_MAX + 16];
	int n = snprintf(tmp, sizeof(tmp), "%s.%08x.tmp", path,
			 (unsigned)random_below(UINT32_MAX));
	if (n < 0 || (size_t)n >= sizeof(tmp))
		return -1;
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return -1;
	char head[128];
	int hl = snprintf(head, sizeof(head), "id %s\nexpires %lld\n\n", id,
			  (long long)expires);
	int rc = write_all(fd, head, (size_t)hl) == 0 &&
			 write_all(fd, body, len) == 0
		 ? 0
		 : -1;
	close(fd);
	if (rc == 0)
		rc = rename(tmp, path);
	if (rc < 0)
		unlink(tmp);
	return rc;
}

struct body {
	char *data;
	size_t len;
};

/* Keep at most STS_POLICY_MAX bytes; more ends the transfer. */
static size_t on_data(char *ptr, size_t size, size_t nmemb, void *arg)
{
	struct body *b = arg;
	size_t n = size * nmemb;
	if (n > STS_POLICY_MAX - b->len)
		return 0;
	char *p = realloc(b->data, b->len + n + 1);
	if (p == NULL)
		return 0;
	memcpy(p + b->len, ptr, n);
	b->data = p;
	b->len += n;
	b->data[b->len] = '\0';
	return n;
}

/* libcurl asks about once a second: a shutdown ends the transfer. */
static int on_progress(void *arg, curl_off_t dltotal, curl_off_t dlnow,
		       curl_off_t ultotal, curl_off_t ulnow)
{
	const atomic_bool *cancel = arg;
	return cancel != NULL && atomic_load(cancel) ? 1 : 0;
}

/* The request, as RFC 8461 3.3 has it: HTTPS on 443, verified, no
 * redirects, to the address our resolver found. */
static CURL *make_request(const struct config *cfg, const char *domain,
			  const struct route_sts *dns, struct body *b,
			  struct curl_slist **resolve, char *err,
			  const atomic_bool *cancel)
{
	char url[DNS_NAME_MAX + 64], ip[NETADDR_TEXT_MAX], pin[DNS_NAME_MAX + 80];
	netaddr_ip((const struct sockaddr *)&dns->addr, ip);
	snprintf(url, sizeof(url), "https://mta-sts.%s/.well-known/mta-sts.txt",
		 domain);
	snprintf(pin, sizeof(pin), "mta-sts.%s:443:%s%s%s", domain,
		 dns->addr.ss_family == AF_INET6 ? "[" : "", ip,
		 dns->addr.ss_family == AF_INET6 ? "]" : "");
	CURL *c = curl_easy_init();
	*resolve = curl_slist_append(NULL, pin);
	if (c == NULL || *resolve == NULL) {
		if (c != NULL)
			curl_easy_cleanup(c);
		return NULL;
	}
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_RESOLVE, *resolve);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "https");
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
	curl_easy_setopt(c, CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2);
	if (cfg->outbound_ca_file[0] != '\0')
		curl_easy_setopt(c, CURLOPT_CAINFO, cfg->outbound_ca_file);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS,
			 (long)cfg->outbound_timeout_connect_ms);
	/* a policy server that trickles must not hold a delivery thread long */
	uint64_t total = cfg->outbound_timeout_command_ms < STS_FETCH_TIMEOUT_MS
				 ? cfg->outbound_timeout_command_ms
				 : STS_FETCH_TIMEOUT_MS;
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)total);
	curl_easy_setopt(c, CURLOPT_USERAGENT, "postern");
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, b);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, err);
	curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress);
	curl_easy_setopt(c, CURLOPT_XFERINFODATA, (void *)cancel);
	return c;
}

/* Fetch the policy text. 0, or -1 with why. */
static int fetch(const struct config *cfg, const char *domain,
		 const struct route_sts *dns, struct body *b, char why[256],
		 const atomic_bool *cancel)
{
	char err[CURL_ERROR_SIZE] = "";
	struct curl_slist *resolve = NULL;
	if (dns->addr_len == 0) {
		snprintf(why, 256, "mta-sts.%s has no address", domain);
		return -1;
	}
	CURL *c = make_request(cfg, domain, dns, b, &resolve, err, cancel);
	if (c == NULL) {
		snprintf(why, 256, "cannot set up the request");
		curl_slist_free_all(resolve);
		return -1;
	}
	CURLcode rc = curl_easy_perform(c);
	long status = 0;
	char *type = NULL;
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	curl_easy_getinfo(c, CURLINFO_CONTENT_TYPE, &type);
	int ret = -1;
	if (rc != CURLE_OK)
		snprintf(why, 256, "%s", err[0] ? err : curl_easy_strerror(rc));
	else if (status != 200)
		snprintf(why, 256, "HTTP status %ld", status);
	else if (type == NULL || strncasecmp(type, "text/plain", 10) != 0)
		snprintf(why, 256, "the policy is not text/plain");
	else
		ret = 0;
	curl_easy_cleanup(c);
	curl_slist_free_all(resolve);
	return ret;
}

/* Fetch, check and cache; 0 with *p, or -1 with why. */
static int refresh(const struct config *cfg, const char *domain,
		   const struct route_sts *dns, const char *path,
		   struct sts_policy *p, char why[256], const atomic_bool *cancel)
{
	struct body b = {0};
	const char *perr;
	int rc = fetch(cfg, domain, dns, &b, why, cancel);
	if (rc == 0 && sts_policy_parse(b.data ? b.data : "", b.len, p, &perr) < 0) {
		snprintf(why, 256, "bad policy: %s", perr);
		rc = -1;
	}
	if (rc == 0 && path[0] != '\0')
		cache_store(path, dns->id, (int64_t)time(NULL) + (int64_t)p->max_age,
			    b.data, b.len);
	free(b.data);
	return rc;
}

int sts_policy_get(const struct config *cfg, const char *domain,
		   const struct route_sts *dns, struct sts_policy *p,
		   char note[256], const atomic_bool *cancel)
{
	char path[PATH_MAX] = "", why[256];
	struct cached c;
	bool have = cache_path(cfg, domain, path, sizeof(path)) == 0 &&
		    cache_load(path, &c) == 0 && c.expires > (int64_t)time(NULL);
	if (dns->txt == 1 && have && strcmp(c.id, dns->id) == 0) {
		*p = c.policy;
		snprintf(note, 256, "cached");
		return 1;
	}
	if (dns->txt == 1) {
		if (refresh(cfg, domain, dns, path, p, why, cancel) == 0) {
			snprintf(note, 256, "fetched");
			return 1;
		}
		snprintf(note, 256, "fetch failed: %.200s%s", why,
			 have ? "; the cached policy is used" : "");
	} else {
		snprintf(note, 256, "%s%s",
			 dns->txt < 0 ? "TXT lookup failed" : "no TXT record",
			 have ? "; the cached policy is used" : "");
	}
	if (!have)
		return 0;
	*p = c.policy;
	return 1;
}
