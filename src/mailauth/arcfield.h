/* arcfield: the fields of ARC Sets (RFC 8617 4.1), shared by the
 * validator and the sealer: finding the sets in a header section, parsing
 * ARC-Seal and ARC-Message-Signature values, and the data an ARC-Seal
 * signs. Pure code. */
#ifndef POSTERN_MAILAUTH_ARCFIELD_H
#define POSTERN_MAILAUTH_ARCFIELD_H

#include "lib/buf.h"
#include "mailauth/sig.h"

#include <stdbool.h>
#include <stddef.h>

enum { ARC_SETS_MAX = 50 };

/* One set's fields: whole fields (name, colon, value), in the caller's
 * header text; counts above 1 are duplicates. */
struct arc_set {
	const char *aar, *ams, *seal;
	size_t aar_len, ams_len, seal_len;
	unsigned n_aar, n_ams, n_seal;
};

/* Whether hdr has an ARC field at all (most mail has none). */
bool arc_has_fields(const char *hdr, size_t len);
/* Sort the ARC fields of hdr into set[1..50] and check the structure
 * (RFC 8617 4.2.1, 5.2 step 2): every instance from 1 to the newest, *n
 * (0 when no field has a readable i=), with exactly one field of each
 * kind, at most 50 sets, each field's i= readable. NULL, or why not. */
const char *arc_sets_collect(const char *hdr, size_t len,
			     struct arc_set set[], unsigned *n);
/* Whether a set's ARC-Seal says cv=fail. */
bool arc_seal_says_fail(const struct arc_set *s);
/* Parse set i's ARC-Seal into sig, and check its cv= for its place
 * (none at 1, pass above): NULL, or why it is invalid. */
const char *arc_seal_parse(const struct arc_set *s, unsigned i,
			   struct dkim_sig *sig);
/* Parse a set's ARC-Message-Signature into sig (RFC 8617 4.1.2: a
 * DKIM-Signature without v=, h= never naming ARC-Seal). NULL, or why. */
const char *arc_ams_parse(const struct arc_set *s, struct dkim_sig *sig);
/* What set[i]'s ARC-Seal signs (RFC 8617 5.1.1): sets first to i (first
 * is 1, or i itself for a seal saying cv=fail: a broken chain is not
 * signed again), each as ARC-Authentication-Results, ARC-Message-
 * Signature, ARC-Seal, relaxed, the last seal without its b= value and
 * final CRLF. 0, or -1 with *error_r. */
int arc_seal_data(const struct arc_set set[], unsigned first, unsigned i,
		  struct buf *out, const char **error_r);
/* The SHA-256 hash of what each seal of sets 1..n signs (first = 1),
 * into hash[1..n]: in one pass, each set canonicalised once, where
 * arc_seal_data for every i would cost n^2. 0, or -1 with *error_r. */
int arc_seal_hashes(const struct arc_set set[], unsigned n,
		    unsigned char (*hash)[32], const char **error_r);

#endif
