/* bounce: delivery status notifications (RFC 3464) for recipients that
 * failed for good.
 *
 * The notice goes to the message's sender, from the null reverse-path, so
 * that it is never bounced itself. A message that already had the null
 * sender (a bounce that failed) is reported to the postmaster instead,
 * unless it was that very report: then it is only logged. The notice
 * quotes the original header, not the body. */
#ifndef POSTERN_QUEUE_BOUNCE_H
#define POSTERN_QUEUE_BOUNCE_H

#include "lib/config.h"
#include "queue/spool.h"

#include <stddef.h>

struct bounce_rcpt {
	size_t index;        /* into q->env.rcpts */
	const char *reason;  /* the remote reply or our own, "5.1.1 ..." */
	const char *mta;     /* the server that said it, or NULL */
};

/* Queue a notice for rcpts[0..n) of q. Blocking (directory lookup, spool
 * commit). Returns 1 with the new queue id in id_out, 0 when no notice is
 * due (it would go nowhere; logged), -1 on a temporary failure (retry). */
int bounce_queue(const struct config *cfg, struct spool *spool,
		 const struct queued *q, const struct bounce_rcpt *rcpts,
		 size_t n, char id_out[QUEUE_ID_LEN + 1]);
/* The same for recipients still being tried (Action: delayed, a 4.x.x
 * status, Will-Retry-Until): sent once per message, never for a message
 * with the null sender. 1, 0 (none due) or -1 as above. */
int bounce_delay_queue(const struct config *cfg, struct spool *spool,
		       const struct queued *q, const struct bounce_rcpt *rcpts,
		       size_t n, char id_out[QUEUE_ID_LEN + 1]);

/* Queue text (a whole message from the mail system, LF line ends) from
 * the null sender to one address, under queue id id (spool_new_id).
 * Blocking. 1 queued, 0 when the address is local but unknown (nowhere to
 * go), -1 on a temporary failure. */
int system_message_queue(const struct config *cfg, struct spool *spool,
			 const char *to, const char *id,
			 const struct buf *text);

#endif
