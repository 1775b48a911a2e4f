/* mailbox: IMAP mailbox names. Pure code.
 *
 * On the wire, an IMAP4rev1 client writes mailbox names in modified UTF-7
 * (RFC 3501 5.1.3); an IMAP4rev2 or UTF8=ACCEPT client writes UTF-8 (RFC
 * 9051 5.1). Inside Postern a name is UTF-8.
 *
 * Hierarchy: the separator is "/" (ARCHITECTURE.md names none; "/" is what
 * most clients expect and cannot be confused with Maildir++'s "."). A name
 * the store may use has no empty component, no "." or ".." component, no
 * leading "/", no control character (C0, DEL, C1) and is valid UTF-8:
 * imap_mailbox_check() refuses the rest, so that no name leaves the user's
 * tree. Nothing here decodes "%XX", but a name holding "%2F", "%5C" or
 * "%2E" (a "/", "\\" or "." as a URL escape, any case) is refused all the
 * same: an IMAP URL or another tool may decode it. INBOX, as a whole
 * name or as the first component, is case-insensitive (RFC 9051 5.1).
 *
 * Maildir++: INBOX is the Maildir itself (""), "Sent" is ".Sent", "a/b" is
 * ".a.b". Maildir++ separates levels with ".", so a "." inside a component
 * must not reach the disk as itself, or "a.b" and "a/b" would be the same
 * folder. Refusing "." would refuse common names ("v1.2", "john.doe"), so it
 * is escaped: "." as "%2E" and, to keep the mapping one-to-one, "%" as
 * "%25". Components are stored in modified UTF-7, as Dovecot stores them,
 * so the folder names stay ASCII. */
#ifndef POSTERN_IMAPD_MAILBOX_H
#define POSTERN_IMAPD_MAILBOX_H

#include <stdbool.h>
#include <stddef.h>

struct buf;

enum {
	IMAP_MAILBOX_MAX = 1024,    /* bytes of a UTF-8 name */
	IMAP_FOLDER_NAME_MAX = 255, /* a Maildir++ folder: one file name */
};

/* Modified UTF-7 to UTF-8, appended to out. Refuses what RFC 3501 5.1.3
 * does not allow: bytes outside 0x20-0x7e, "&" without its "-", a base64
 * character outside the modified alphabet, leftover bits that are six or
 * more or not zero, printable ASCII or NUL encoded, broken surrogate
 * pairs, and two encoded runs side by side (one run is the only form, so
 * every name has one spelling). "&-" is "&". Returns 0, or -1 with
 * *error_r. */
int imap_mutf7_decode(const char *in, size_t len, struct buf *out,
                      const char **error_r);
/* UTF-8 to modified UTF-7, appended to out. Refuses invalid UTF-8, NUL. */
int imap_mutf7_encode(const char *in, size_t len, struct buf *out,
                      const char **error_r);

/* Is this name INBOX (any case)? */
bool imap_mailbox_is_inbox(const char *name, size_t len);
/* May the store use this UTF-8 name? 0, or -1 with *error_r. A CREATE
 * handler strips one trailing "/" first (RFC 9051 6.3.4). */
int imap_mailbox_check(const char *name, size_t len, const char **error_r);

/* The Maildir++ folder of a UTF-8 name, appended to out ("" for INBOX),
 * after imap_mailbox_check(). Returns 0, or -1 with *error_r. */
int imap_mailbox_to_maildir(const char *name, size_t len, struct buf *out,
                            const char **error_r);
/* The reverse: a folder name (".a.b") to its UTF-8 name ("a/b"); "" is
 * INBOX. Refuses names this module would not have made. */
int imap_mailbox_from_maildir(const char *folder, size_t len, struct buf *out,
                              const char **error_r);

#endif
