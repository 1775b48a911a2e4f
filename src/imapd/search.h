/* search: SEARCH keys (RFC 9051 6.4.4, with RFC 3501's NEW, OLD, RECENT
 * and RFC 4731 ESEARCH RETURN options), parsed from the command's
 * arguments and matched against one message at a time. Pure code.
 *
 *   search     = "SEARCH" [search-return-opts] SP search-program
 *   search-return-opts = SP "RETURN" SP "(" [search-return-opt
 *                *(SP search-return-opt)] ")"
 *   search-program = ["CHARSET" SP charset SP] search-key *(SP search-key)
 *   search-key = "ALL" / "ANSWERED" / "BCC" SP astring / "BEFORE" SP date /
 *                "BODY" SP astring / "CC" SP astring / "DELETED" /
 *                "FLAGGED" / "FROM" SP astring / "KEYWORD" SP flag-keyword /
 *                "NOT" SP search-key / "ON" SP date / "OR" SP search-key SP
 *                search-key / "SEEN" / "SINCE" SP date / "SUBJECT" SP
 *                astring / "TEXT" SP astring / "TO" SP astring /
 *                "UNANSWERED" / "UNDELETED" / "UNFLAGGED" / "UNKEYWORD" SP
 *                flag-keyword / "UNSEEN" / "DRAFT" / "HEADER" SP
 *                header-fld-name SP astring / "LARGER" SP number64 /
 *                "SENTBEFORE" SP date / "SENTON" SP date / "SENTSINCE" SP
 *                date / "SMALLER" SP number64 / "UID" SP sequence-set /
 *                "UNDRAFT" / sequence-set / "(" search-key *(SP
 *                search-key) ")" /
 *                "MODSEQ" [SP entry-name SP entry-type-req] SP
 *                mod-sequence-valzer                        (RFC 7162)
 *   date       = date-text / DQUOTE date-text DQUOTE   ("1-Feb-1994")
 *
 * Strings match as case-insensitive ASCII substrings (RFC 9051 6.4.4
 * leaves the comparison to the server; UTF-8 bytes compare as they are).
 * HEADER and the address keys look at every field of that name, folding
 * included; an empty HEADER string matches any message with the field.
 * Dates: BEFORE/ON/SINCE the internal date, SENT* the Date field, by day
 * only (no time, no zone), as the RFC says. MODSEQ matches a modseq at or
 * above its value; the store keeps one modseq per message, not one per
 * flag, so an entry name (a flag's "/flags/\\seen") is checked for its
 * shape and then stands for the message's modseq, as RFC 7162 3.1.5
 * allows.
 *
 * Limits: keys are at most the command's arguments (imapd/parse.h bounds
 * them); NOT and OR nest at most SEARCH_DEPTH_MAX deep, so matching
 * recursion is bounded; a search string or header name is at most
 * SEARCH_STRING_MAX bytes, and matching one costs time linear in the
 * message (no string a client sends can make it quadratic). */
#ifndef POSTERN_IMAPD_SEARCH_H
#define POSTERN_IMAPD_SEARCH_H

#include "imapd/parse.h"
#include "imapd/seqset.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum {
	SEARCH_DEPTH_MAX = 64,
	/* longer strings are refused: no mail client searches for a
	 * kilobyte of text, and the matcher's tables live on the stack */
	SEARCH_STRING_MAX = 1024,
	/* RETURN options (RFC 4731) */
	SEARCH_RET_MIN = 1 << 0,
	SEARCH_RET_MAX = 1 << 1,
	SEARCH_RET_ALL = 1 << 2,
	SEARCH_RET_COUNT = 1 << 3,
};

struct search_node;

struct imap_search {
	struct search_node *v; /* v[0] is the root: an AND of the keys */
	size_t n;
	bool esearch;  /* RETURN was given: answer with ESEARCH */
	unsigned ret;  /* SEARCH_RET_* (RETURN () means ALL) */
	bool needs_text; /* some key reads the message */
	bool needs_body; /* BODY or TEXT: more than the header block */
	bool needs_size; /* LARGER or SMALLER */
	bool needs_date; /* BEFORE, ON or SINCE: the internal date */
	bool modseq;     /* a MODSEQ key: the reply says the highest
			    modseq of the hits (RFC 7162 3.1.5) */
};

/* Parse args[i..n_args) (what follows SEARCH). 0, or -1 with *error_r
 * (BAD), or -2 for a charset we do not know (NO [BADCHARSET]).
 * imap_search_free() in every case. */
int imap_search_parse(const struct imap_arg *args, uint32_t n_args,
		      uint32_t i, struct imap_search *s, const char **error_r);
void imap_search_free(struct imap_search *s);

/* Give each KEYWORD/UNKEYWORD its keyword bit: index(name) returns 0..25,
 * or -1 when the mailbox has no such keyword (it then matches nothing). */
void imap_search_bind_keywords(struct imap_search *s,
			       int (*index)(void *ctx, const char *name,
					    size_t len),
			       void *ctx);

/* One message as the matcher sees it. */
struct search_msg {
	uint32_t seq, uid;
	uint32_t max_seq, max_uid; /* what "*" stands for */
	uint32_t flags;            /* STORE_SEEN ... (store/mdname.h) */
	uint32_t keywords;
	uint64_t size;             /* RFC822.SIZE */
	int64_t internaldate;
	uint64_t modseq;
	/* the message when needs_text: all of it when needs_body, else at
	 * least its header block (len may then equal header_len) */
	const char *text;
	size_t len;
	size_t header_len;         /* of text: the header, blank line in */
};

bool imap_search_match(const struct imap_search *s, const struct search_msg *m);

/* Days since 1970-01-01 of "1-Feb-1994" (date-text), or -1. */
int64_t imap_search_date(const char *s, size_t len);
/* Days since 1970-01-01 of an RFC 5322 Date field value (day, month and
 * year only), or -1. */
int64_t imap_search_sent_date(const char *s, size_t len);

#endif
