/* envelope: the FETCH ENVELOPE response (RFC 9051 7.5.2) of a message or
 * of a message encapsulated in a message/rfc822 part. Pure code.
 *
 *   envelope = "(" env-date SP env-subject SP env-from SP env-sender SP
 *              env-reply-to SP env-to SP env-cc SP env-bcc SP
 *              env-in-reply-to SP env-message-id ")"
 *   env-from = "(" 1*address ")" / nil           (so the other lists)
 *   address  = "(" addr-name SP addr-adl SP addr-mailbox SP addr-host ")"
 *
 * The first field of each name counts. Text fields are unfolded and
 * trimmed, NIL when absent, "" when empty. Address lists come from
 * mail/addrlist.h: a group is (NIL NIL "name" NIL) ... (NIL NIL NIL NIL);
 * a list with no address is NIL; Sender and Reply-To that are absent or
 * empty are From (RFC 9051 7.5.2). A mailbox without a domain gets host
 * "" rather than NIL, which would read as a group mark. Encoded words are
 * sent as they are: clients decode them. */
#ifndef POSTERN_IMAPD_ENVELOPE_H
#define POSTERN_IMAPD_ENVELOPE_H

#include "lib/buf.h"
#include "mail/mime.h"

/* Append the ENVELOPE of the raw fields env (from mime_envelope()). 0, or
 * -1 with errno (out's maximum, or out of memory). */
int imap_envelope_write(struct buf *out, const struct mime_envelope *env);
/* The same for the message whose header part p holds (the root, or the
 * child of a MIME_MESSAGE part). */
int imap_envelope_part(struct buf *out, const struct mime_msg *m,
                       const struct mime_part *p);

#endif
