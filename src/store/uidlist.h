/* uidlist: the per-folder index files, parsed and written. Pure code: the
 * callers (store/sync.c) read and write the files.
 *
 * dovecot-uidlist (Dovecot's format, version 3; version 1, Courier's
 * courierimapuiddb, is read too):
 *
 *   3 V<uidvalidity> N<nextuid> G<guid, 32 hex digits>
 *   <uid> [<Key><value> ...] :<file name>
 *
 * UIDs ascend through the file; the file name is the last one known (the
 * flags in it may be stale: only the base name up to ':' identifies the
 * message). New lines may be appended, so the next UID is the larger of N
 * and the last UID plus one. Extension fields (an upper case key and a
 * value, as Dovecot's W<vsize>) are skipped on reading and not written.
 *
 * dovecot-keywords (Dovecot's format): "<n> <keyword>" lines, n = 0..25
 * for the letters a..z in the file names.
 *
 * postern-modseq (ours; Dovecot keeps modseqs in its own index files):
 *
 *   1 V<uidvalidity> H<highestmodseq>
 *   <uid> <modseq>
 *
 * appended to on every change, a later line for a UID replacing an earlier
 * one; "0 <modseq>" records a change with no message (an expunge). The
 * highest modseq is the largest of H and every line's. Lines belong to
 * the UIDVALIDITY in the header only.
 *
 * Malformed lines are skipped and counted, never fatal: a message whose
 * line is lost just gets a new UID. Only an unusable header makes a file
 * count as lost (-1). Every parser takes (text, len) and does not need a
 * terminating NUL. */
#ifndef POSTERN_STORE_UIDLIST_H
#define POSTERN_STORE_UIDLIST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store/mdname.h"

struct buf;

enum {
	UIDLIST_GUID_LEN = 32,
	STORE_KEYWORD_LEN_MAX = 100, /* bytes of one keyword name */
};

struct uidlist_rec {
	uint32_t uid;
	const char *name; /* into the parsed text, not terminated */
	size_t name_len;
};

struct uidlist {
	uint32_t uidvalidity;
	uint32_t next_uid;
	char guid[UIDLIST_GUID_LEN + 1]; /* "" when the file has none */
	struct uidlist_rec *recs;        /* ascending UIDs */
	size_t n;
	size_t skipped;    /* malformed or out-of-order lines */
	size_t first_bad;  /* line number of the first of them (1 = header) */
	bool torn;         /* the last line had no LF (a torn append) */
};

/* Parse a dovecot-uidlist of len bytes, keeping at most max_recs records
 * (the rest count as skipped). A skipped line's UID, when one can be read,
 * still raises next_uid: it may have been shown to a client. Returns 0,
 * or -1 with *error_r when the header is unusable; ul is then empty. */
int uidlist_parse(const char *text, size_t len, size_t max_recs,
		  struct uidlist *ul, const char **error_r);
void uidlist_free(struct uidlist *ul);

/* "3 V.. N.. G..\n" and "<uid> :<name>\n", appended to out. */
int uidlist_format_header(uint32_t uidvalidity, uint32_t next_uid,
			  const char *guid, struct buf *out);
int uidlist_format_rec(uint32_t uid, const char *name, size_t len,
		       struct buf *out);

/* Is this an IMAP keyword we can keep (RFC 9051 flag-keyword: an atom,
 * here at most STORE_KEYWORD_LEN_MAX bytes, not starting with '\')? */
bool keyword_valid(const char *name, size_t len);
/* Parse dovecot-keywords into names[26] (malloc'd, NULL where unused).
 * Returns how many lines were skipped (malformed, out of range, repeated
 * index or name). */
size_t keywords_parse(const char *text, size_t len,
		      char *names[STORE_KEYWORDS_MAX]);
void keywords_free(char *names[STORE_KEYWORDS_MAX]);
int keywords_format(char *const names[STORE_KEYWORDS_MAX], struct buf *out);

struct modseq_rec {
	uint32_t uid;
	uint64_t modseq;
};

struct modseq_file {
	uint32_t uidvalidity;
	uint64_t highest;
	struct modseq_rec *recs; /* ascending UIDs, one each, the last line's */
	size_t n;
	size_t lines;   /* record lines read, repeats included */
	size_t skipped;
};

/* Parse postern-modseq, reading at most max_lines lines. Returns 0, or -1
 * with *error_r when the header is unusable (mf is then empty). */
int modseq_parse(const char *text, size_t len, size_t max_lines,
		 struct modseq_file *mf, const char **error_r);
void modseq_free(struct modseq_file *mf);
int modseq_format_header(uint32_t uidvalidity, uint64_t highest,
			 struct buf *out);
int modseq_format_rec(uint32_t uid, uint64_t modseq, struct buf *out);
/* The modseq of uid in mf, or 0 when it has none. */
uint64_t modseq_lookup(const struct modseq_file *mf, uint32_t uid);

#endif
