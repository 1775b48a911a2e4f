/* libFuzzer target: the per-message status file of the queue
 * (src/queue/spool.c), as a crash or a full disk may leave it. Whatever it
 * holds, states stay within enum rcpt_state, reasons are single lines and
 * nothing lands outside the recipients it was given. */
#include "queue/spool.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

enum { N = 4 };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	unsigned char state[N + 1] = {0, 0, 0, 0, 0xAA}; /* a guard byte */
	char *why[N] = {NULL};
	struct spool_status st = {.state = state, .why = why};
	spool_status_parse((const char *)data, size, N, &st);
	if (state[N] != 0xAA)
		__builtin_trap();
	for (size_t i = 0; i < N; i++) {
		if (state[i] > RCPT_FAILED)
			__builtin_trap();
		if (why[i] != NULL && strchr(why[i], '\n') != NULL)
			__builtin_trap();
		free(why[i]);
	}
	return 0;
}
