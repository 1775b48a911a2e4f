/* fetchbody: the bytes of BODY[section]<partial>, BINARY[section]<partial>
 * and RFC822[.HEADER|.TEXT] (RFC 9051 6.4.5, RFC 3516), from a message
 * held in memory and its MIME tree. Pure code.
 *
 *   []            the whole message
 *   [HEADER]      the header, its blank line included (as stored)
 *   [HEADER.FIELDS (A B)], [HEADER.FIELDS.NOT (A B)]
 *                 the fields named (or all others), case-insensitively,
 *                 in message order, folding kept, then a blank line
 *   [TEXT]        the body
 *   [1.2]         the part's body; for a message/rfc822 part the whole
 *                 encapsulated message
 *   [1.2.MIME]    the part's MIME header ([1.MIME] of a message that is
 *                 not multipart: the message's header, where its
 *                 Content-* fields are)
 *   [1.2.HEADER] [1.2.TEXT] [1.2.HEADER.FIELDS ...]
 *                 of the message in a message/rfc822 part
 *
 * Everything is served in CRLF form (imapd/crlf.h); <origin.count> counts
 * octets of that form and is applied as the bytes are produced, so a small
 * window of a large part costs no copy of the part. BINARY decodes base64
 * and quoted-printable (leniently: stray characters in base64 are skipped,
 * a broken "=" escape stays as it is) and serves 7bit, 8bit and binary in
 * CRLF form; BINARY[] is the whole message, undecoded. */
#ifndef POSTERN_IMAPD_FETCHBODY_H
#define POSTERN_IMAPD_FETCHBODY_H

#include "imapd/fetchitem.h"
#include "lib/buf.h"
#include "mail/mime.h"

#include <stddef.h>
#include <stdint.h>

enum fetchbody_result {
	FETCHBODY_ERROR = -1, /* out of memory or out's maximum: errno */
	FETCHBODY_OK = 0,
	FETCHBODY_NO_PART = 1,     /* no such part, or HEADER/TEXT of a part
	                              that is not a message/rfc822: the caller
	                              answers NIL */
	FETCHBODY_UNKNOWN_CTE = 2, /* BINARY of an encoding we cannot
	                              decode: NO [UNKNOWN-CTE] (RFC 3516) */
};

/* Append the section of att (BODY[...], BINARY[...], RFC822,
 * RFC822.HEADER, RFC822.TEXT) of msg[0..len), parsed as m, to out, with
 * att's partial applied. */
enum fetchbody_result fetchbody_get(const char *msg, size_t len,
                                    const struct mime_msg *m,
                                    const struct fetch_att *att,
                                    struct buf *out);
/* BINARY.SIZE: the size of what BINARY[section] would send, in *size. */
enum fetchbody_result fetchbody_binary_size(const char *msg, size_t len,
                                            const struct mime_msg *m,
                                            const struct fetch_att *att,
                                            uint64_t *size);

#endif
