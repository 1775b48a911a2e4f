/* mime: the MIME structure of a message held in memory (RFC 2045, RFC 2046,
 * RFC 2231 parameters, RFC 6532 message/global), with what IMAP needs for
 * FETCH BODYSTRUCTURE, BODY[section] and ENVELOPE (RFC 9051 6.4.5, 7.5.2).
 * Pure code.
 *
 * Line ends may be CRLF or bare LF, mixed. Malformed input never fails the
 * parse: what cannot be understood becomes an opaque leaf body, so a hostile
 * message is still served, byte for byte, just with less structure.
 *
 * Time and memory: one pass over the message. Each line is looked at once;
 * a line that starts with "--" is compared with the open boundaries (at
 * most MIME_DEPTH_MAX of them, each at most MIME_BOUNDARY_MAX bytes), so
 * the work is linear in the message size with a constant bounded by the
 * limits below, never O(depth x size). Memory is O(parts): at most
 * MIME_PARTS_MAX nodes and MIME_PARAMS_TOTAL_MAX parameters (a few MB at
 * worst), plus the strings that must be copied (unquoted, unfolded,
 * joined or lower-cased), which come to about twice the header bytes;
 * all in one arena freed by mime_msg_free(). Strings otherwise point into
 * the message, which must outlive the mime_msg. */
#ifndef POSTERN_MAIL_MIME_H
#define POSTERN_MAIL_MIME_H

#include <stdbool.h>
#include <stddef.h>

enum {
	/* Parts nest at most this deep (the message is depth 0); a deeper
	 * multipart or message/rfc822 is an opaque leaf. */
	MIME_DEPTH_MAX = 100,
	/* Parts in one message, the message itself included; content after
	 * the last part made belongs to no part (it stays in its parent). */
	MIME_PARTS_MAX = 10000,
	/* Header fields per part searched for Content-*; later ones are
	 * skipped (the header's end is still found). */
	MIME_FIELDS_MAX = 1000,
	/* Parameters read per Content-Type or Content-Disposition, RFC 2231
	 * sections counted one by one (a long file name takes a dozen); the
	 * rest are dropped. */
	MIME_PARAMS_MAX = 32,
	/* Parameters read in the whole message; later ones are dropped (a
	 * multipart that loses its boundary so is an opaque leaf). With the
	 * limit above, this bounds the joining work and the memory. */
	MIME_PARAMS_TOTAL_MAX = 50000,
	/* A parameter value, joined and decoded; a longer one is dropped. */
	MIME_PARAM_VALUE_MAX = 4096,
	/* A type, subtype, encoding, disposition or parameter name. */
	MIME_TOKEN_MAX = 128,
	/* RFC 2046 5.1.1 says 70; real mail goes a little over. */
	MIME_BOUNDARY_MAX = 200,
};

/* A string that is not NUL-terminated (it may hold NULs); p is NULL when
 * the thing is absent. */
struct mime_str {
	const char *p;
	size_t len;
};

/* One parameter (RFC 2045 5.1), after RFC 2231: continuations joined in
 * section order, %XX decoded. The value is left in its charset (it is not
 * converted to UTF-8: that needs iconv, and an IMAP server re-encodes it
 * as name*=charset'lang'... anyway). */
struct mime_param {
	struct mime_str name;     /* lower-case, without "*" or "*N" */
	struct mime_str value;    /* unquoted, unfolded, decoded */
	struct mime_str charset;  /* RFC 2231 charset, as written, or NULL */
	struct mime_str language; /* RFC 2231 language, or NULL */
	bool extended;            /* came from name*= or name*0*= */
};

struct mime_params {
	const struct mime_param *v;
	size_t n;
};

enum mime_kind {
	MIME_LEAF,      /* no structure below: a body */
	MIME_MULTIPART, /* child .. next: its parts, at least one */
	MIME_MESSAGE,   /* child: the encapsulated message (message/rfc822,
	                   message/global), parsed as a message */
};

enum mime_part_flag {
	/* No valid Content-Type: type and subtype are the default. */
	MIME_PART_DEFAULT_TYPE = 1 << 0,
	/* Its type says multipart or message but it was not parsed as one:
	 * too deep, out of parts, no usable boundary, no delimiter line, or
	 * a message/ with a transfer encoding. Serve it as a leaf (IMAP:
	 * application/octet-stream is honest). */
	MIME_PART_OPAQUE = 1 << 1,
	/* A multipart whose close delimiter never came (tolerated). */
	MIME_PART_NO_CLOSE = 1 << 2,
};

/* Read-only; owned by the mime_msg. Offsets are into the message. */
struct mime_part {
	enum mime_kind kind;
	unsigned flags; /* enum mime_part_flag */
	unsigned depth; /* 0: the message itself */
	/* The header is [header_off, body_off), its empty line included
	 * (IMAP HEADER and MIME); the body [body_off, body_off + body_len).
	 * In a multipart the CRLF before a delimiter belongs to the
	 * delimiter (RFC 2046 5.1.1), not to the body before it. */
	size_t header_off;
	size_t body_off;
	size_t body_len;
	/* Lines in the body: its LFs, plus one for a last line without one. */
	size_t body_lines;
	struct mime_str type, subtype; /* lower-case */
	struct mime_params type_params;
	struct mime_str encoding;    /* lower-case; "7bit" when absent */
	struct mime_str id;          /* Content-ID, trimmed and unfolded */
	struct mime_str description; /* Content-Description, raw RFC 2047 */
	struct mime_str language;    /* Content-Language, the whole list */
	struct mime_str location;    /* Content-Location */
	struct mime_str md5;         /* Content-MD5 */
	struct mime_str disposition; /* lower-case token, or NULL */
	struct mime_params disposition_params;
	struct mime_part *parent;
	struct mime_part *child; /* first part, or the encapsulated message */
	struct mime_part *next;  /* next sibling in the parent multipart */
	size_t n_children;       /* 1 for a MIME_MESSAGE */
};

enum mime_limit {
	MIME_LIMIT_DEPTH = 1 << 0,
	MIME_LIMIT_PARTS = 1 << 1,
	MIME_LIMIT_FIELDS = 1 << 2,
	MIME_LIMIT_PARAMS = 1 << 3, /* a parameter was dropped */
};

struct mime_msg;

/* Parse msg[0..len). Returns NULL only when out of memory (errno set). */
struct mime_msg *mime_parse(const char *msg, size_t len);
/* Free everything and set *m to NULL. */
void mime_msg_free(struct mime_msg **m);

/* The message itself. */
const struct mime_part *mime_root(const struct mime_msg *m);
/* How many parts, the message included (at most MIME_PARTS_MAX). */
size_t mime_part_count(const struct mime_msg *m);
/* Which limits cut the structure short (enum mime_limit bits). */
unsigned mime_limits(const struct mime_msg *m);
/* Bytes allocated, to check that memory stays O(parts). */
size_t mime_memory(const struct mime_msg *m);

/* The part at an IMAP section-part path, "1.2.3" (RFC 9051 6.4.5): in a
 * message that is not multipart, part 1 is its body; below a message/rfc822
 * part the numbers go on in the encapsulated message. The empty path is
 * the message itself. NULL when there is no such part or the path is not
 * nz-numbers separated by dots. HEADER, TEXT, MIME are the caller's. */
const struct mime_part *mime_section(const struct mime_msg *m, const char *path,
                                     size_t len);
/* The part at numbers nums[0..n), as mime_section. */
const struct mime_part *mime_section_nums(const struct mime_msg *m,
                                          const unsigned *nums, size_t n);

/* The parameter called name (lower-case), or NULL. */
const struct mime_param *mime_param(const struct mime_params *ps,
                                    const char *name);

/* The header fields of an IMAP ENVELOPE, in its order. */
enum mime_env_field {
	MIME_ENV_DATE,
	MIME_ENV_SUBJECT,
	MIME_ENV_FROM,
	MIME_ENV_SENDER,
	MIME_ENV_REPLY_TO,
	MIME_ENV_TO,
	MIME_ENV_CC,
	MIME_ENV_BCC,
	MIME_ENV_IN_REPLY_TO,
	MIME_ENV_MESSAGE_ID,
	MIME_ENV_COUNT,
};

/* Raw values (after the colon, folding kept, no final CR LF) of the first
 * field of each name; p is NULL for a field that is absent. */
struct mime_envelope {
	struct mime_str field[MIME_ENV_COUNT];
};

/* The envelope fields of the message whose header part p holds: the root,
 * or the child of a MIME_MESSAGE part. The whole header is searched, in
 * one pass, with header_next(). */
void mime_envelope(const struct mime_msg *m, const struct mime_part *p,
                   struct mime_envelope *env);

#endif
