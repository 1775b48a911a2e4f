/* dkim: what a DKIM signature signs (RFC 6376 3.7), pure code over a
 * message's header section (LF line ends, as the queue keeps it):
 *
 *   the header fields h= names, each taken from the bottom up, a name
 *   listed more often than present adding nothing (oversigning), all
 *   canonicalised; then the DKIM-Signature field itself, canonicalised,
 *   with the value of b= deleted and no final CRLF.
 *
 * The hash of this, signed or verified with rsa-sha256 or ed25519-sha256
 * (RFC 8463: Ed25519 over the SHA-256 hash), is what b= holds. */
#ifndef POSTERN_MAILAUTH_DKIM_H
#define POSTERN_MAILAUTH_DKIM_H

#include "lib/buf.h"
#include "mailauth/canon.h"

#include <stddef.h>

enum { DKIM_FIELDS_MAX = 1000, DKIM_H_MAX = 64 };

/* Append the signed header data to out. hdr: the header section; h: the
 * h= value (empty: the signature field alone, as ARC allows); sig: the
 * whole DKIM-Signature field (name, colon, value).
 * 0, or -1 with *error_r (too many fields, a malformed h= or b=). */
int dkim_header_data(const char *hdr, size_t hdr_len, const char *h,
		     size_t h_len, enum canon c, const char *sig,
		     size_t sig_len, struct buf *out, const char **error_r);

/* Append sig (a whole DKIM-Signature, ARC-Message-Signature or ARC-Seal
 * field) to out with the value of b= and the blanks around it left out
 * (RFC 6376 3.7). 0, or -1 with *error_r. */
int dkim_field_without_b(const char *sig, size_t len, struct buf *out,
			 const char **error_r);

#endif
