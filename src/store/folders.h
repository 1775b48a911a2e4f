/* folders: a user's folders and subscriptions, in a Maildir++ tree.
 * Blocking file I/O.
 *
 * Folder names are Maildir++ names as store/mailbox.h takes them: "" is
 * INBOX (the root), ".Sent" a folder, ".A.B" the child B of A. A folder is
 * a directory with cur/ new/ tmp/ and the "maildirfolder" marker file.
 * Maildir++ needs no directory for a parent: ".A.B" may exist without
 * ".A" (the IMAP layer shows A as \NonExistent with \HasChildren).
 *
 * Special-use folders (RFC 6154) are known by name: Sent, Drafts, Junk,
 * Trash and Archive at the top level, which store_create_defaults()
 * makes for every new user.
 *
 * Subscriptions live in root/subscriptions, one IMAP mailbox name (UTF-8,
 * "/" between levels) per line: Dovecot's version 1 file format, which it
 * still reads; rewritten whole (temp file, fsync, rename). */
#ifndef POSTERN_STORE_FOLDERS_H
#define POSTERN_STORE_FOLDERS_H

#include <stdbool.h>
#include <stddef.h>

/* RFC 6154 attributes */
enum store_special_use {
	STORE_USE_NONE = 0,
	STORE_USE_SENT = 1 << 0,
	STORE_USE_DRAFTS = 1 << 1,
	STORE_USE_JUNK = 1 << 2,
	STORE_USE_TRASH = 1 << 3,
	STORE_USE_ARCHIVE = 1 << 4,
};

enum {
	STORE_SUBSCRIPTIONS_MAX = 10000,   /* names in the file */
	STORE_SUBSCRIPTION_NAME_MAX = 1024, /* bytes of one (IMAP_MAILBOX_MAX) */
};

/* The special use of a folder (".Sent": STORE_USE_SENT), or NONE. */
enum store_special_use store_special_use(const char *folder);
/* Its attribute as IMAP writes it ("\\Sent"), NULL for NONE. */
const char *store_special_use_attr(enum store_special_use use);

/* Make root (INBOX) and the special-use folders, where missing. */
int store_create_defaults(const char *root, const char **error_r);

/* CREATE: -1 with *error_r when it exists, is INBOX or a bad name. */
int store_folder_create(const char *root, const char *folder,
			const char **error_r);
/* DELETE: the folder and its messages (quota recounted); its children
 * stay (RFC 9051 6.3.5). INBOX is refused. */
int store_folder_delete(const char *root, const char *folder,
			const char **error_r);
/* RENAME, children with it (".A" to ".B" moves ".A.x" to ".B.x"); the
 * folder keeps its UIDs and UIDVALIDITY. Refused: INBOX (the IMAP layer
 * moves its messages instead, imapd/folders.c), a target that exists (or
 * a child's), a target inside the source.
 * Each directory moves with one rename(); a crash between two leaves some
 * children under the old name, each one whole. */
int store_folder_rename(const char *root, const char *from, const char *to,
			const char **error_r);

struct store_folder_info {
	char *folder;                /* "" for INBOX */
	enum store_special_use use;
};
/* Every folder, INBOX first, then in byte order of name. */
int store_folder_list(const char *root, struct store_folder_info **list_r,
		      size_t *n_r, const char **error_r);
void store_folder_list_free(struct store_folder_info *list, size_t n);

/* The subscribed names, in file order (malloc'd array of strings). */
int store_subscriptions(const char *root, char ***names_r, size_t *n_r,
			const char **error_r);
void store_subscriptions_free(char **names, size_t n);
/* SUBSCRIBE (on) or UNSUBSCRIBE one IMAP name; idempotent. */
int store_subscribe(const char *root, const char *name, bool on,
		    const char **error_r);

#endif
