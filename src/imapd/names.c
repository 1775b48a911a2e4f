/* names: mailbox names between the wire and the store. A client that has
 * not enabled UTF-8 (IMAP4rev2 or UTF8=ACCEPT) writes and reads modified
 * UTF-7 (RFC 3501 5.1.3); the store takes Maildir++ folder names, which
 * imapd/mailbox.h makes from checked UTF-8 names, so that no name leaves
 * the user's tree. */
#include "imapd/imapd.h"

#include "imapd/imapstr.h"
#include "imapd/mailbox.h"
#include "mail/address.h"

#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

int imapd_decode_name(const struct imap_session *s, const char *p,
		      size_t n, struct buf *utf8, const char **error_r)
{
	if (memchr(p, '\0', n) != NULL) {
		*error_r = "Invalid mailbox name";
		return -1;
	}
	if (!s->utf8)
		return imap_mutf7_decode(p, n, utf8, error_r);
	if (!utf8_valid(p, n) || buf_append(utf8, p, n) < 0) {
		*error_r = "Invalid mailbox name: not UTF-8";
		return -1;
	}
	return 0;
}

int imapd_folder_arg(const struct imap_session *s, const struct imap_arg *a,
		     char *folder, size_t folder_size, struct buf *name,
		     const char **error_r)
{
	const char *p;
	size_t n;
	if (!imap_arg_astring(a, &p, &n)) {
		*error_r = "Invalid mailbox name";
		return -1;
	}
	return imapd_folder_str(s, p, n, folder, folder_size, name, error_r);
}

int imapd_folder_str(const struct imap_session *s, const char *p, size_t n,
		     char *folder, size_t folder_size, struct buf *name,
		     const char **error_r)
{
	struct buf utf8, md;
	int rc = -1;
	buf_init(&utf8, IMAP_MAILBOX_MAX);
	buf_init(&md, folder_size - 1);
	if (imapd_decode_name(s, p, n, &utf8, error_r) < 0)
		goto done;
	if (imap_mailbox_check(utf8.data != NULL ? utf8.data : "", utf8.len,
			       error_r) < 0 ||
	    imap_mailbox_to_maildir(utf8.data != NULL ? utf8.data : "",
				    utf8.len, &md, error_r) < 0)
		goto done;
	memcpy(folder, md.data != NULL ? md.data : "", md.len);
	folder[md.len] = '\0';
	if (name != NULL && buf_append(name, utf8.data, utf8.len) < 0) {
		*error_r = "Mailbox name too long";
		goto done;
	}
	rc = 0;
done:
	buf_free(&utf8);
	buf_free(&md);
	return rc;
}

int imapd_write_mailbox(const struct imap_session *s, struct buf *out,
			const char *name, size_t len)
{
	if (s->utf8)
		return imap_write_astring(out, name, len);
	struct buf m;
	const char *why;
	buf_init(&m, 0);
	int rc = imap_mutf7_encode(name, len, &m, &why) < 0
			 ? -1
			 : imap_write_astring(out, m.data != NULL ? m.data : "",
					      m.len);
	buf_free(&m);
	return rc;
}

bool imapd_folder_exists(const struct imap_session *s, const char *folder)
{
	char dir[MAILDIR_PATH_MAX], cur[MAILDIR_PATH_MAX + 8];
	struct stat sb;
	return store_folder_dir(s->root, folder, dir, sizeof(dir)) == 0 &&
	       snprintf(cur, sizeof(cur), "%s/cur", dir) < (int)sizeof(cur) &&
	       stat(cur, &sb) == 0 && S_ISDIR(sb.st_mode);
}
