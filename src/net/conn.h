/* conn: one non-blocking connection, plain or TLS, on an event loop.
 *
 * The owner (a protocol session) gets one callback with an event, in the
 * style of OpenSMTPD's io layer: INPUT when bytes were added to conn_input(),
 * FLUSHED when the output is written out (if asked for), TLS_READY when a
 * handshake finished, TIMEOUT when the owner's timer fired, CLOSED when the
 * peer went away, ERROR on an I/O or TLS error (conn_error() says what).
 *
 * Input is bounded: reading stops while conn_input() is full, and resumes as
 * the owner consumes it. The owner may free the conn inside its callback;
 * the free is deferred until the callback returns.
 *
 * conn_start_tls() is the only way into TLS after plaintext, and it throws
 * away every plaintext byte already received (STYLE.md rule 6): a client
 * that pipelines commands behind STARTTLS never gets them executed. */
#ifndef POSTERN_NET_CONN_H
#define POSTERN_NET_CONN_H

#include "lib/buf.h"

#include <openssl/ssl.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct event_base;
struct conn;

enum conn_event {
	CONN_EV_INPUT,
	CONN_EV_FLUSHED,
	CONN_EV_TLS_READY,
	CONN_EV_TIMEOUT,
	CONN_EV_CLOSED,
	CONN_EV_ERROR,
};

typedef void conn_event_fn(struct conn *c, enum conn_event ev, void *arg);

/* Wrap the connected, non-blocking socket fd (the conn owns it from now on).
 * input_max bounds conn_input(). NULL when out of memory (fd is closed). */
struct conn *conn_new(struct event_base *base, int fd, size_t input_max,
		      conn_event_fn *fn, void *arg);
/* Close the socket and free everything; deferred when called from inside
 * the conn's own callback. */
void conn_free(struct conn *c);

/* Received bytes not yet consumed; the owner calls buf_consume() on it and
 * then conn_input_consumed() so reading can resume. */
struct buf *conn_input(struct conn *c);
void conn_input_consumed(struct conn *c);

/* Queue bytes for sending; -1 if the output buffer would pass its maximum.
 * Nothing is sent until conn_flush() or the next return to the loop. */
int conn_write(struct conn *c, const void *data, size_t n);
/* Try to send the queued output now; the rest goes when the socket allows. */
void conn_flush(struct conn *c);
/* Ask for one CONN_EV_FLUSHED when the output buffer is next empty. */
void conn_notify_flushed(struct conn *c);
size_t conn_output_pending(const struct conn *c);

/* Stop or restart reading from the socket (for backpressure while the
 * owner waits for something else). */
void conn_pause_read(struct conn *c);
void conn_resume_read(struct conn *c);

/* (Re)arm the owner's timer: CONN_EV_TIMEOUT after ms; 0 disarms it. */
void conn_set_timeout(struct conn *c, uint64_t ms);

/* Discard buffered input, send what is queued in plaintext, then run a
 * server-side TLS handshake with ctx; TLS_READY or ERROR/TIMEOUT follows.
 * handshake_ms bounds the handshake; client_certs is an enum client_certs
 * (lib/config.h) saying whether to ask for a client certificate. */
int conn_start_tls(struct conn *c, SSL_CTX *ctx, uint64_t handshake_ms,
		   int client_certs);
bool conn_is_tls(const struct conn *c);
/* The TLS object once TLS_READY was seen, else NULL. */
SSL *conn_ssl(const struct conn *c);

const char *conn_error(const struct conn *c);
int conn_fd(const struct conn *c);

#endif
