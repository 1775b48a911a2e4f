/* authres: Authentication-Results (RFC 8601), pure code.
 *
 * On receipt we add one field with our authserv-id (the host name) and
 * the result of each method; before that, every field already in the
 * message that claims our authserv-id is removed (RFC 8601 5: only we may
 * speak for it, so such a field is forged), however it is cased, folded
 * or commented:
 *
 *   Authentication-Results: (x) MX.Example.ORG (y) 1 ; dkim=pass
 *
 * claims mx.example.org. */
#ifndef POSTERN_MAILAUTH_AUTHRES_H
#define POSTERN_MAILAUTH_AUTHRES_H

#include "lib/buf.h"
#include "mailauth/arc.h"
#include "mailauth/verify.h"

#include <stdbool.h>
#include <stddef.h>

enum { AUTHRES_CUTS_MAX = 64 };

/* A byte range of the header section: a whole field, line end included. */
struct authres_cut {
	size_t off, len;
};

/* The Authentication-Results fields of hdr[0..len) (LF line ends) whose
 * authserv-id is id, in order, into cuts. Returns how many, or -1 when
 * there are more than max. */
int authres_find_ours(const char *hdr, size_t len, const char *id,
		      struct authres_cut *cuts, size_t max);

/* The authserv-id of one Authentication-Results value (comments and
 * folding skipped, quotes removed) into out (n bytes). 0, or -1 when the
 * value has none or it does not fit. */
int authres_id(const char *value, size_t len, char *out, size_t n);

/* Start the field: "Authentication-Results: id" (LF line ends). */
int authres_begin(struct buf *out, const char *id);
/* One result per DKIM signature ("dkim=none" when unsigned). */
int authres_add_dkim(struct buf *out, const struct dkim_verify *v);
/* "spf=result (comment) property=identity" (RFC 8601 2.7.2, RFC 7208
 * 9.1); an identity that is not a plain token is left out. */
int authres_add_spf(struct buf *out, const char *result, const char *comment,
		    const char *property, const char *identity);
/* "dmarc=result (comment) header.from=domain" (RFC 7489 11.2). */
int authres_add_dmarc(struct buf *out, const char *result, const char *comment,
		      const char *domain);
/* "arc=result (comment)" (RFC 8617 10.1): the chain's status, with the
 * newest set and its sealer when it passes, why not when it fails;
 * nothing when the message has no chain. */
int authres_add_arc(struct buf *out, const struct arc_verified *a);
/* "auth=pass smtp.auth=user" for mail submitted after AUTH. */
int authres_add_auth(struct buf *out, const char *user);
/* End the field (no method: "; none", RFC 8601 2.2). */
int authres_end(struct buf *out);

#endif
