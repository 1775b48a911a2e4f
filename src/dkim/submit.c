/* submit: signing submitted mail. */
#include "dkim/submit.h"

#include "mail/header.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

int dkim_submit_prepare(struct dkim_submit *ds, const char *domain,
			const char *prepend, size_t prepend_len,
			const char *hdr, size_t hdr_len, uint64_t skip,
			int64_t now, int64_t expire)
{
	memset(ds, 0, sizeof(*ds));
	ds->ring = dkim_keyring_get();
	if (ds->ring == NULL ||
	    (ds->n = dkim_keyring_signers(ds->ring, domain, now, ds->keys)) == 0) {
		dkim_keyring_put(&ds->ring);
		return 0;
	}
	ds->hdr = malloc(prepend_len + hdr_len + 1);
	if (ds->hdr == NULL) {
		dkim_keyring_put(&ds->ring);
		return -1;
	}
	if (prepend_len > 0)
		memcpy(ds->hdr, prepend, prepend_len);
	if (hdr_len > 0)
		memcpy(ds->hdr + prepend_len, hdr, hdr_len);
	ds->hdr_len = prepend_len + hdr_len;
	ds->hdr[ds->hdr_len] = '\0';
	ds->skip = skip;
	ds->now = now;
	ds->expire = expire;
	return 1;
}

static void feed(void *arg, const char *p, size_t n)
{
	dkim_sign_body(arg, p, n);
}

int dkim_submit_run(struct dkim_submit *ds, struct spool_msg *msg,
		    const char **error_r)
{
	struct buf sigs;
	buf_init(&sigs, 0);
	struct dkim_sign *sign = dkim_sign_new(ds->keys, ds->n, ds->now, ds->expire);
	int rc = -1;
	*error_r = "out of memory";
	if (sign == NULL)
		goto out;
	if (spool_msg_read_body(msg, ds->skip, feed, sign) < 0) {
		*error_r = "cannot read the message back";
		goto out;
	}
	if (dkim_sign_finish(sign, ds->hdr, ds->hdr_len, &sigs, error_r) < 0) {
		rc = -2; /* this message cannot be signed, now or later */
		goto out;
	}
	*error_r = "cannot add the signature";
	if (spool_msg_prepend(msg, sigs.data, sigs.len) < 0)
		goto out;
	rc = 0;
out:
	dkim_sign_free(&sign);
	buf_free(&sigs);
	return rc;
}

void dkim_submit_free(struct dkim_submit *ds)
{
	free(ds->hdr);
	ds->hdr = NULL;
	dkim_keyring_put(&ds->ring);
}
