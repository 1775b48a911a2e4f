/* maildir: local delivery into Maildir (and Maildir++ folders).
 *
 * Layout: data_dir/mail/DOMAIN/LOCAL is the Maildir of LOCAL@DOMAIN, with
 * cur/ new/ tmp/ and folders as ".Name" directories, as Dovecot's
 * "maildir:~/Maildir:LAYOUT=maildir++" expects. Files are named
 * "TIME.QqueueidRn.HOST,S=size,W=size": S= is the file size and W= the size
 * with CRLF line ends (RFC822.SIZE), both as Dovecot writes them.
 *
 * A delivery is durable before it returns OK: tmp/ file written and fsync'd,
 * linked into new/, new/ fsync'd. It is idempotent per queue id and
 * recipient: link() refuses a name that exists, and after a crash the
 * caller asks for a scan of cur/ too (the user may have read it already). */
#ifndef POSTERN_STORE_MAILDIR_H
#define POSTERN_STORE_MAILDIR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

enum { MAILDIR_PATH_MAX = 4096, MAILDIR_NAME_MAX = 255 };

/* data_dir/mail/DOMAIN/LOCAL for mailbox "local@domain" (lower case, from
 * the directory, so never holding '/' or ".."). -1 if it does not fit. */
int maildir_root(const char *data_dir, const char *mailbox,
		 char out[MAILDIR_PATH_MAX]);
/* Create root with cur/ new/ tmp/ (mode 0700) if missing. */
int maildir_create(const char *root);
/* The Maildir++ folder name of root ("Junk": root/.Junk) into out, made
 * if missing, with the maildirfolder file Dovecot marks folders with. */
int maildir_folder(const char *root, const char *name,
		   char out[MAILDIR_PATH_MAX]);

enum store_result { STORE_OK, STORE_TEMPFAIL, STORE_OVER_QUOTA };

struct maildir_delivery {
	const char *root;
	const char *queue_id;
	unsigned rcpt_index;
	int64_t arrived;      /* seconds, for the file name */
	const char *hostname;
	struct iovec *parts;  /* the bytes to store (modified) */
	int n_parts;
	uint64_t size;        /* sum of the parts */
	uint64_t crlf_size;   /* the same with CRLF line ends */
	uint64_t quota;       /* bytes, 0 = none */
	const char *quota_root; /* whose maildirsize counts (the user's
				   Maildir for a folder); NULL: root */
	bool recovering;      /* look for a copy made before a crash */
};

/* Deliver one copy. On failure *error_r says why. */
enum store_result maildir_deliver(const struct maildir_delivery *m,
				  const char **error_r);

#endif
