/* quota: mailbox usage, kept in the Maildir++ "maildirsize" file so that
 * Dovecot's maildir quota backend sees the same numbers.
 *
 *   line 1:   "<bytes>S,<count>C" (the limits)
 *   then:     "<bytes> <count>" changes, one line per delivery or removal
 *
 * The file is recalculated from the message files when it is missing,
 * unreadable or longer than 5120 bytes (the Maildir++ rule). */
#ifndef POSTERN_STORE_QUOTA_H
#define POSTERN_STORE_QUOTA_H

#include <stdint.h>

/* Bytes and messages in the Maildir at root. 0 or -1. */
int quota_usage(const char *root, uint64_t limit, uint64_t *bytes,
		uint64_t *count);
/* Record a delivered message of size bytes. */
int quota_add(const char *root, uint64_t limit, uint64_t size);
/* Record the removal of count messages of bytes in all. */
int quota_remove(const char *root, uint64_t limit, uint64_t bytes,
		 uint64_t count);

#endif
