/* fetchitem: the attributes of a FETCH command (RFC 9051 6.4.5, RFC 3516
 * BINARY, RFC 7162 MODSEQ). Pure code.
 *
 *   fetch-args  = "ALL" / "FULL" / "FAST" / fetch-att /
 *                 "(" fetch-att *(SP fetch-att) ")"
 *   fetch-att   = "ENVELOPE" / "FLAGS" / "INTERNALDATE" / "RFC822.SIZE" /
 *                 "RFC822" / "RFC822.HEADER" / "RFC822.TEXT" /
 *                 "BODY" ["STRUCTURE"] / "UID" / "MODSEQ" /
 *                 "BODY" [".PEEK"] section [partial] /
 *                 "BINARY" [".PEEK"] section-binary [partial] /
 *                 "BINARY.SIZE" section-binary
 *   section     = "[" [section-spec] "]"
 *   section-spec = section-msgtext / (section-part ["." section-text])
 *   section-msgtext = "HEADER" / "HEADER.FIELDS" [".NOT"] SP header-list /
 *                 "TEXT"
 *   section-part = nz-number *("." nz-number)
 *   section-text = section-msgtext / "MIME"
 *   header-list = "(" header-fld-name *(SP header-fld-name) ")"
 *   header-fld-name = astring
 *   section-binary = "[" [section-part] "]"
 *   partial     = "<" number "." nz-number ">"      (32-bit numbers)
 *
 * The command parser (imapd/parse.h) hands a sectioned attribute over as
 * one atom, "BODY.PEEK[1.HEADER.FIELDS (From \"To\")]<0.100>", quoted
 * names still quoted; this module reads it. Keywords are case-insensitive.
 * Limits: FETCH_PARTS_MAX part numbers, FETCH_FIELDS_MAX field names of
 * at most FETCH_FIELD_NAME_MAX bytes, FETCH_ATTS_MAX attributes. Every
 * malformed attribute is refused with a message for the BAD reply. */
#ifndef POSTERN_IMAPD_FETCHITEM_H
#define POSTERN_IMAPD_FETCHITEM_H

#include "imapd/parse.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum {
	FETCH_PARTS_MAX = 100, /* MIME_DEPTH_MAX: no part lies deeper */
	FETCH_FIELDS_MAX = 100,
	FETCH_FIELD_NAME_MAX = 256, /* RFC 5322 names are far shorter */
	FETCH_ATTS_MAX = 256,
};

enum fetch_kind {
	FETCH_FLAGS,
	FETCH_INTERNALDATE,
	FETCH_RFC822_SIZE,
	FETCH_ENVELOPE,
	FETCH_BODY, /* BODY alone: the BODYSTRUCTURE without
	               extension data */
	FETCH_BODYSTRUCTURE,
	FETCH_UID,
	FETCH_MODSEQ,
	FETCH_RFC822,        /* BODY[], answered as RFC822 */
	FETCH_RFC822_HEADER, /* BODY.PEEK[HEADER], answered as RFC822.HEADER */
	FETCH_RFC822_TEXT,   /* BODY[TEXT], answered as RFC822.TEXT */
	FETCH_BODY_SECTION,  /* BODY[...] and BODY.PEEK[...] */
	FETCH_BINARY,        /* BINARY[...] and BINARY.PEEK[...] */
	FETCH_BINARY_SIZE,   /* BINARY.SIZE[...] */
};

enum fetch_text {
	FETCH_TEXT_NONE, /* the whole message, or the part's body */
	FETCH_TEXT_HEADER,
	FETCH_TEXT_HEADER_FIELDS,
	FETCH_TEXT_HEADER_FIELDS_NOT,
	FETCH_TEXT_TEXT,
	FETCH_TEXT_MIME, /* only after part numbers */
};

struct fetch_name {
	const char *p; /* unquoted; not NUL-terminated */
	size_t len;
};

struct fetch_section {
	const uint32_t *parts; /* nz-numbers */
	size_t n_parts;
	enum fetch_text text;
	const struct fetch_name *fields; /* HEADER.FIELDS [.NOT] */
	size_t n_fields;
};

struct fetch_att {
	enum fetch_kind kind;
	bool peek; /* .PEEK, or RFC822.HEADER: \Seen is not set */
	struct fetch_section section; /* RFC822* and sectioned kinds */
	bool partial;
	uint32_t origin, count; /* count >= 1 */
	void *mem;              /* owns the section's arrays */
};

struct fetch_list {
	struct fetch_att *v;
	size_t n;
};

/* Parse one attribute, s[0..len) (not a macro). 0, or -1 with *error_r
 * (text for the BAD reply; also when out of memory). fetch_att_free()
 * after success. */
int fetch_att_parse(const char *s, size_t len, struct fetch_att *att,
                    const char **error_r);
void fetch_att_free(struct fetch_att *att);

/* Parse the FETCH argument args[i] (of n_args, as imap_command has them):
 * a macro, an attribute, or a list of attributes; macros are expanded.
 * 0, or -1 with *error_r. fetch_list_free() in both cases. */
int fetch_list_parse(const struct imap_arg *args, uint32_t n_args, uint32_t i,
                     struct fetch_list *list, const char **error_r);
void fetch_list_free(struct fetch_list *list);

#endif
