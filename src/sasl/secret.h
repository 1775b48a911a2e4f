/* secret: the server's random secret (data_dir/secret, 32 bytes, made once
 * by whichever server starts first), from which SCRAM makes up the same
 * salt and iteration count for a user that does not exist in every
 * protocol and across restarts (scram_fake_credentials), so that an
 * attacker cannot tell which names exist. */
#ifndef POSTERN_SASL_SECRET_H
#define POSTERN_SASL_SECRET_H

enum { SASL_SECRET_LEN = 32 };

/* Read data_dir/secret, making it (random, fsync'd, mode 0600) when it is
 * missing. 0, or -1 when it cannot be read or made, or has the wrong
 * size: out is then random bytes for this process's life. */
int sasl_secret_load(const char *data_dir,
		     unsigned char out[SASL_SECRET_LEN]);

#endif
