/* bodystructure: the FETCH BODY and BODYSTRUCTURE responses (RFC 9051
 * 7.5.2) from the MIME tree of mail/mime.h. Pure code.
 *
 *   body          = "(" (body-type-1part / body-type-mpart) ")"
 *   body-type-1part = (body-type-basic / body-type-msg / body-type-text)
 *                   [SP body-ext-1part]
 *   body-fields   = body-fld-param SP body-fld-id SP body-fld-desc SP
 *                   body-fld-enc SP body-fld-octets
 *   body-type-msg = media-message SP body-fields SP envelope SP body SP
 *                   body-fld-lines
 *   body-type-text = media-text SP body-fields SP body-fld-lines
 *   body-ext-1part = body-fld-md5 SP body-fld-dsp SP body-fld-lang SP
 *                   body-fld-loc
 *   body-type-mpart = 1*body SP media-subtype [SP body-ext-mpart]
 *   body-ext-mpart = body-fld-param SP body-fld-dsp SP body-fld-lang SP
 *                   body-fld-loc
 *
 * BODY is the form without the extension data. Type, subtype, encoding,
 * parameter and disposition names are sent upper-case (as the RFC's
 * examples are); values as written. A parameter given with an RFC 2231
 * charset goes back as name*=charset'lang'%XX-encoded. Sizes are octets
 * of the CRLF form (imapd/crlf.h); lines are the body's lines. A part the
 * MIME parser did not descend into (MIME_PART_OPAQUE: too deep, no
 * boundary, an encoded message/rfc822) is an application/octet-stream
 * leaf: its type would promise a structure that is not there.
 *
 * Time: one walk of the tree; each part costs O(its fields) plus two
 * crlf_offset() lookups, so 10,000 parts cost well under a second. */
#ifndef POSTERN_IMAPD_BODYSTRUCTURE_H
#define POSTERN_IMAPD_BODYSTRUCTURE_H

#include "lib/buf.h"
#include "mail/mime.h"

#include <stdbool.h>
#include <stddef.h>

/* Append BODYSTRUCTURE (extended) or BODY (!extended) of the message
 * msg[0..len), parsed as m. 0, or -1 with errno (out's maximum, memory). */
int imap_bodystructure_write(struct buf *out, const char *msg, size_t len,
                             const struct mime_msg *m, bool extended);

#endif
