/* control: the local command socket of a running server.
 *
 * `postern queue` asks the running server to act (try a message now, forget
 * one an administrator held or deleted) through a Unix socket in the data
 * directory, data_dir/control. The socket is the server user's and mode
 * 0600 in a 0700 directory: whoever can use it could already edit the
 * spool. The protocol is one request line and one reply line ("ok ..." or
 * "error ..."), both at most CONTROL_LINE_MAX bytes, then the server closes. */
#ifndef POSTERN_NET_CONTROL_H
#define POSTERN_NET_CONTROL_H

#include "lib/buf.h"

#include <stddef.h>

enum {
	CONTROL_LINE_MAX = 512,
	CONTROL_CLIENTS_MAX = 8,  /* more at once are closed unanswered */
	CONTROL_TIMEOUT_S = 10,   /* to send the request line */
};

struct event_base;
struct control;

/* Handle one request (without its line end); append the reply line
 * (without line end) to reply. Runs on the loop of base. */
typedef void control_fn(void *arg, const char *line, struct buf *reply);

/* Listen on path. A stale socket left by a server that died is replaced;
 * one that still answers is not (another server runs on this data
 * directory). NULL with *error_r. */
struct control *control_open(struct event_base *base, const char *path,
			     control_fn *fn, void *arg, const char **error_r);
/* Stop listening, drop clients, remove the socket. Call with the loop
 * stopped or from its thread. */
void control_close(struct control **c);

/* Client side: send line, read the reply line into reply (n bytes, NUL
 * terminated, line end removed). 0, or -1 with errno (ENOENT or
 * ECONNREFUSED: no server is running). */
int control_request(const char *path, const char *line, char *reply,
		    size_t n);

#endif
