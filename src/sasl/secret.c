/* secret: data_dir/secret, read or made once.
 *
 * Made in a temporary file (written, fsync'd) and linked into place, so a
 * crash never leaves a short secret behind, and two servers starting at
 * once agree on one: the second link fails and that one reads the first. */
#include "sasl/secret.h"

#include "lib/durable.h"
#include "lib/util.h"

#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static int read_secret(const char *path, unsigned char out[SASL_SECRET_LEN])
{
	unsigned char got[SASL_SECRET_LEN];
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ssize_t n = read(fd, got, sizeof(got));
	close(fd);
	if (n != SASL_SECRET_LEN)
		return -1;
	memcpy(out, got, sizeof(got));
	return 0;
}

/* A new secret at path; 0, or -1 when it could not be written. */
static int make_secret(const char *data_dir, const char *path,
		       const unsigned char secret[SASL_SECRET_LEN])
{
	char tmp[4096], name[64];
	snprintf(name, sizeof(name), "secret.tmp.%ld", (long)getpid());
	if (path_join(tmp, sizeof(tmp), data_dir, name) < 0)
		return -1;
	unlink(tmp);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0)
		return -1;
	int rc = write_all(fd, secret, SASL_SECRET_LEN) == 0 && fsync(fd) == 0
			 ? 0 : -1;
	close(fd);
	if (rc == 0)
		rc = link(tmp, path) == 0 && fsync_dir(data_dir) == 0 ? 0 : -1;
	unlink(tmp);
	return rc;
}

int sasl_secret_load(const char *data_dir, unsigned char out[SASL_SECRET_LEN])
{
	char path[4096];
	random_bytes(out, SASL_SECRET_LEN); /* kept when all else fails */
	if (path_join(path, sizeof(path), data_dir, "secret") < 0)
		return -1;
	if (read_secret(path, out) == 0)
		return 0;
	if (make_secret(data_dir, path, out) == 0)
		return 0;
	return read_secret(path, out); /* another server made it first */
}
