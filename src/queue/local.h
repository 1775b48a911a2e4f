/* local: delivery of a queued message to a local mailbox (the Maildir of a
 * user of ours), adding Return-Path and Delivered-To (RFC 5321 4.4). */
#ifndef POSTERN_QUEUE_LOCAL_H
#define POSTERN_QUEUE_LOCAL_H

#include "queue/spool.h"
#include "store/maildir.h"

#include <stdbool.h>
#include <stddef.h>

struct local_ctx {
	const char *data_dir;
	const char *hostname;
};

/* Deliver recipient i of q. Blocking: runs on a pool thread. On failure
 * writes the reason into why. */
enum store_result local_deliver(const struct local_ctx *ctx,
				const struct queued *q, size_t i,
				bool recovering, char *why, size_t whysz);

#endif
