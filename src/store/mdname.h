/* mdname: Maildir file names, as Dovecot and maildir(5) write them. Pure code.
 *
 *   BASE[:2,INFO]     BASE = "TIME.UNIQUE.HOST[,S=size][,W=crlfsize]"
 *
 * The base name never changes; the info part after ":2," holds the flags,
 * one letter each in ASCII order: upper case for the maildir(5) flags
 * (D draft, F flagged, P passed, R replied, S seen, T trashed), lower case
 * a..z for keywords, whose names the folder's dovecot-keywords file gives.
 * Dovecot keeps anything after a ',' inside the info as it is; so do we.
 *
 * Flags are kept as two 26-bit masks: bit (c - 'A') of flags for an upper
 * case letter, bit (c - 'a') of keywords for a lower case one, so letters
 * this code does not know (P) survive a flag change. */
#ifndef POSTERN_STORE_MDNAME_H
#define POSTERN_STORE_MDNAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MDNAME_FLAG(c) (UINT32_C(1) << ((c) - 'A'))

/* The IMAP system flags (RFC 9051 2.3.2) and their maildir(5) letters. */
enum {
	STORE_SEEN = MDNAME_FLAG('S'),
	STORE_ANSWERED = MDNAME_FLAG('R'),
	STORE_FLAGGED = MDNAME_FLAG('F'),
	STORE_DELETED = MDNAME_FLAG('T'),
	STORE_DRAFT = MDNAME_FLAG('D'),
	STORE_SYSTEM_FLAGS = STORE_SEEN | STORE_ANSWERED | STORE_FLAGGED |
			     STORE_DELETED | STORE_DRAFT,
	STORE_KEYWORDS_MAX = 26, /* one letter each, as Dovecot allows */
	MDNAME_MAX = 255,        /* one file name */
};

/* Length of the base name: up to the first ':' (the whole name if none). */
size_t mdname_base_len(const char *name, size_t len);

/* The ",S=" and ",W=" sizes written in the base name. Each is set only
 * when present and well-formed; returns which: bit 0 S, bit 1 W. */
int mdname_sizes(const char *base, size_t len, uint64_t *size,
		 uint64_t *crlf_size);

/* The flags of a name: its ":2," info letters. A name without info, or
 * with another info version, has none. */
void mdname_flags(const char *name, size_t len, uint32_t *flags,
		  uint32_t *keywords);

/* The name with base and the given flags into out (size MDNAME_MAX + 1):
 * "BASE:2,LETTERS" plus the ",..." tail of old_name's info if it had one
 * (old_name may be NULL). Returns the length, or -1 if it does not fit. */
int mdname_with_flags(const char *base, size_t base_len, uint32_t flags,
		      uint32_t keywords, const char *old_name,
		      char out[MDNAME_MAX + 1]);

/* May this directory entry be a message? Not a dot file, no '/', no
 * control byte, at most MDNAME_MAX bytes. */
bool mdname_valid(const char *name, size_t len);

#endif
