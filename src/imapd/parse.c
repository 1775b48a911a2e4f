/* parse: IMAP command parser and command table (see parse.h).
 *
 * Bytes are collected a line at a time (a "fragment": the text up to CRLF,
 * or up to a literal announcement); each fragment is tokenised whole, so the
 * tokeniser never stops in the middle of a token. Values are copied,
 * unescaped and NUL-terminated into one store; arguments refer to it by
 * offset until the command is complete, then get pointers. */
#include "imapd/parse.h"

#include "lib/buf.h"
#include "lib/parse.h"
#include "mail/address.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

enum {
	NAME_MAX_LEN = 16, /* longer than any command name */
	TAIL_MAX = 32,     /* end of a discarded line: holds "~{4294967295+}" */
};

enum pstate {
	P_LINE,     /* reading a fragment */
	P_LIT_WAIT, /* literal announced: waiting for accept or refuse */
	P_LIT,      /* storing a literal's bytes */
	P_ERR_LINE, /* discarding through the end of a line */
	P_ERR_LIT,  /* discarding a non-synchronising literal's bytes */
	P_FATAL,    /* cannot resynchronise: every feed is an error */
};

struct imap_parser {
	struct imap_parse_limits lim;
	enum pstate state;
	bool reset_pending; /* start a new command at the next feed */
	struct buf line;    /* the current fragment */
	struct buf store;   /* argument values */
	struct imap_arg *args;
	uint32_t n_args, cap_args, n_top;
	uint32_t stack[IMAP_DEPTH_MAX]; /* open lists (argument indexes) */
	unsigned depth;
	bool have_tag;    /* tag read (an error is tagged) */
	bool have_name;   /* tag and name read: fragments hold arguments */
	bool expect_sep;  /* after a token: SP, ")" or the end */
	bool just_opened; /* right after "(" */
	size_t text_used; /* text of earlier fragments */
	uint64_t total;   /* text and literals so far */
	uint64_t lit_left;
	struct imap_literal lit;
	char tail[TAIL_MAX];
	size_t tail_len;
	struct imap_command cmd;
	struct imap_parse_error err;
};

/* ---- command table ---- */

#define ANY      (IMAP_STATE_NOT_AUTH | IMAP_STATE_AUTH | IMAP_STATE_SELECTED)
#define NOT_AUTH IMAP_STATE_NOT_AUTH
#define AUTH     (IMAP_STATE_AUTH | IMAP_STATE_SELECTED)
#define SELECTED IMAP_STATE_SELECTED

/* RFC 9051 6 (and 3501 6 for LSUB and CHECK); ID: RFC 2971 3.1; ENABLE:
 * RFC 5161 3.1 (authenticated state only, before a mailbox is selected);
 * quota: RFC 9208 4; SORT, THREAD: RFC 5256; UID EXPUNGE: RFC 4315. */
static const struct imap_cmd_def cmd_table[IMAP_CMD_COUNT] = {
        {"CAPABILITY", IMAP_CMD_CAPABILITY, ANY},
        {"NOOP", IMAP_CMD_NOOP, ANY},
        {"LOGOUT", IMAP_CMD_LOGOUT, ANY},
        {"ID", IMAP_CMD_ID, ANY},
        {"STARTTLS", IMAP_CMD_STARTTLS, NOT_AUTH},
        {"AUTHENTICATE", IMAP_CMD_AUTHENTICATE, NOT_AUTH},
        {"LOGIN", IMAP_CMD_LOGIN, NOT_AUTH},
        {"ENABLE", IMAP_CMD_ENABLE, IMAP_STATE_AUTH},
        {"SELECT", IMAP_CMD_SELECT, AUTH},
        {"EXAMINE", IMAP_CMD_EXAMINE, AUTH},
        {"CREATE", IMAP_CMD_CREATE, AUTH},
        {"DELETE", IMAP_CMD_DELETE, AUTH},
        {"RENAME", IMAP_CMD_RENAME, AUTH},
        {"SUBSCRIBE", IMAP_CMD_SUBSCRIBE, AUTH},
        {"UNSUBSCRIBE", IMAP_CMD_UNSUBSCRIBE, AUTH},
        {"LIST", IMAP_CMD_LIST, AUTH},
        {"LSUB", IMAP_CMD_LSUB, AUTH},
        {"NAMESPACE", IMAP_CMD_NAMESPACE, AUTH},
        {"STATUS", IMAP_CMD_STATUS, AUTH},
        {"APPEND", IMAP_CMD_APPEND, AUTH},
        {"IDLE", IMAP_CMD_IDLE, AUTH},
        {"GETQUOTA", IMAP_CMD_GETQUOTA, AUTH},
        {"GETQUOTAROOT", IMAP_CMD_GETQUOTAROOT, AUTH},
        {"SETQUOTA", IMAP_CMD_SETQUOTA, AUTH},
        {"CHECK", IMAP_CMD_CHECK, SELECTED},
        {"CLOSE", IMAP_CMD_CLOSE, SELECTED},
        {"UNSELECT", IMAP_CMD_UNSELECT, SELECTED},
        {"EXPUNGE", IMAP_CMD_EXPUNGE, SELECTED},
        {"SEARCH", IMAP_CMD_SEARCH, SELECTED},
        {"FETCH", IMAP_CMD_FETCH, SELECTED},
        {"STORE", IMAP_CMD_STORE, SELECTED},
        {"COPY", IMAP_CMD_COPY, SELECTED},
        {"MOVE", IMAP_CMD_MOVE, SELECTED},
        {"SORT", IMAP_CMD_SORT, SELECTED},
        {"THREAD", IMAP_CMD_THREAD, SELECTED},
        {"UID FETCH", IMAP_CMD_UID_FETCH, SELECTED},
        {"UID STORE", IMAP_CMD_UID_STORE, SELECTED},
        {"UID COPY", IMAP_CMD_UID_COPY, SELECTED},
        {"UID MOVE", IMAP_CMD_UID_MOVE, SELECTED},
        {"UID SEARCH", IMAP_CMD_UID_SEARCH, SELECTED},
        {"UID EXPUNGE", IMAP_CMD_UID_EXPUNGE, SELECTED},
        {"UID SORT", IMAP_CMD_UID_SORT, SELECTED},
        {"UID THREAD", IMAP_CMD_UID_THREAD, SELECTED},
};

static bool name_eq(const char *row, const char *name, size_t len)
{
	return strlen(row) == len && strncasecmp(row, name, len) == 0;
}

const struct imap_cmd_def *imap_cmd_lookup(const char *name, size_t len)
{
	for (size_t i = 0; i < IMAP_CMD_COUNT; i++) {
		const char *row = cmd_table[i].name;
		if (strncmp(row, "UID ", 4) != 0 && name_eq(row, name, len))
			return &cmd_table[i];
	}
	return NULL;
}

const struct imap_cmd_def *imap_cmd_lookup_uid(const char *name, size_t len)
{
	for (size_t i = 0; i < IMAP_CMD_COUNT; i++) {
		const char *row = cmd_table[i].name;
		if (strncmp(row, "UID ", 4) == 0 && name_eq(row + 4, name, len))
			return &cmd_table[i];
	}
	return NULL;
}

const struct imap_cmd_def *imap_cmd_get(enum imap_cmd_id id)
{
	return &cmd_table[id];
}

bool imap_cmd_allowed(const struct imap_cmd_def *def, unsigned state)
{
	return (def->states & state) != 0;
}

/* ---- limits, life cycle ---- */

void imap_parse_limits_init(struct imap_parse_limits *lim, bool pre_auth,
                            uint64_t literal_max)
{
	lim->text_max = IMAP_TEXT_MAX;
	lim->args_max = IMAP_ARGS_MAX;
	lim->literal_max = pre_auth ? IMAP_PRE_AUTH_LITERAL_MAX : literal_max;
	lim->command_max = lim->text_max + lim->literal_max;
	/* LITERAL+ once the client is known; LITERAL- before */
	lim->literal_plus = !pre_auth;
	lim->pre_auth = pre_auth;
}

/* The store holds copies of text and literals plus a NUL per argument. */
static size_t store_max(const struct imap_parse_limits *lim)
{
	uint64_t m = lim->command_max + lim->args_max + 1;
	return m > SIZE_MAX / 2 ? SIZE_MAX / 2 : (size_t)m;
}

void imap_parser_set_limits(struct imap_parser *p,
                            const struct imap_parse_limits *lim)
{
	p->lim = *lim;
	p->line.max = lim->text_max;
	p->store.max = store_max(lim);
}

struct imap_parser *imap_parser_new(const struct imap_parse_limits *lim)
{
	struct imap_parser *p = calloc(1, sizeof(*p));
	if (p == NULL)
		return NULL;
	buf_init(&p->line, lim->text_max);
	buf_init(&p->store, store_max(lim));
	imap_parser_set_limits(p, lim);
	p->state = P_LINE;
	return p;
}

void imap_parser_free(struct imap_parser **pp)
{
	struct imap_parser *p = *pp;
	if (p == NULL)
		return;
	buf_free(&p->line);
	buf_free(&p->store);
	free(p->args);
	free(p);
	*pp = NULL;
}

/* Above this, the store is given back between commands: one command with
 * a big literal would otherwise keep its peak size for the session's life */
enum { STORE_KEEP = 64 * 1024 };

static void reset_command(struct imap_parser *p)
{
	buf_clear(&p->line);
	if (p->store.cap > STORE_KEEP)
		buf_free(&p->store);
	else
		buf_clear(&p->store);
	p->n_args = p->n_top = 0;
	p->depth = 0;
	p->have_tag = p->have_name = false;
	p->expect_sep = p->just_opened = false;
	p->text_used = 0;
	p->total = 0;
	memset(&p->cmd, 0, sizeof(p->cmd));
	memset(&p->err, 0, sizeof(p->err));
	p->reset_pending = false;
}

/* ---- errors and recovery ---- */

static int fail(struct imap_parser *p, const char *msg, const char *code)
{
	p->err.msg = msg;
	p->err.code = code;
	p->err.tagged = p->have_tag;
	p->err.fatal = false;
	return -1;
}

static void tail_push(struct imap_parser *p, const char *d, size_t n)
{
	if (n >= TAIL_MAX) {
		memcpy(p->tail, d + n - TAIL_MAX, TAIL_MAX);
		p->tail_len = TAIL_MAX;
		return;
	}
	size_t keep = p->tail_len + n > TAIL_MAX ? TAIL_MAX - n : p->tail_len;
	memmove(p->tail, p->tail + p->tail_len - keep, keep);
	memcpy(p->tail + keep, d, n);
	p->tail_len = keep + n;
}

/* Does a line (without CRLF) end with a non-synchronising literal
 * announcement, whose bytes the client sends without waiting? 1 with
 * *size, 0 no, -1 yes but its size cannot be read (too many digits). */
static int nonsync_tail(const char *s, size_t n, uint64_t *size)
{
	if (n < 3 || s[n - 1] != '}' || s[n - 2] != '+')
		return 0;
	size_t end = n - 2, i = end;
	while (i > 0 && s[i - 1] >= '0' && s[i - 1] <= '9')
		i--;
	size_t digits = end - i;
	if (digits == 0)
		return 0;
	if (digits > 10) /* the tail may have lost the "{": refuse anyway */
		return -1;
	if (i == 0 || s[i - 1] != '{')
		return 0;
	return imap_parse_number(s + i, digits, 10, UINT32_MAX, size) == 0 ? 1
	                                                                   : -1;
}

/* After an error in a whole line: what follows it on the wire? */
static void recover_after_line(struct imap_parser *p, const char *s, size_t n)
{
	uint64_t size = 0;
	int r = nonsync_tail(s, n, &size);
	if (r < 0) {
		p->err.fatal = true;
		p->state = P_FATAL;
	} else if (r > 0 && size > 0) {
		p->lit_left = size;
		p->state = P_ERR_LIT;
	} else if (r > 0) {
		p->state = P_ERR_LINE; /* "{0+}": the command goes on */
	} else {
		p->state = P_LINE;
	}
	p->reset_pending = true;
	p->tail_len = 0;
}

/* ---- argument building ---- */

static int new_arg(struct imap_parser *p, enum imap_arg_type type)
{
	if (p->n_args >= p->lim.args_max)
		return fail(p, "Too many arguments", NULL);
	if (p->n_args == p->cap_args) {
		uint32_t cap = p->cap_args == 0 ? 16 : p->cap_args * 2;
		struct imap_arg *a = reallocarray(p->args, cap, sizeof(*a));
		if (a == NULL)
			return fail(p, "Out of memory", NULL);
		p->args = a;
		p->cap_args = cap;
	}
	struct imap_arg *a = &p->args[p->n_args];
	memset(a, 0, sizeof(*a));
	a->type = type;
	a->off = p->store.len;
	a->next = p->n_args + 1;
	if (p->depth > 0)
		p->args[p->stack[p->depth - 1]].count++;
	else
		p->n_top++;
	p->n_args++;
	return 0;
}

static int store(struct imap_parser *p, const char *d, size_t n)
{
	if (buf_append(&p->store, d, n) < 0)
		return fail(p, "Command too large", "TOOBIG");
	return 0;
}

/* End the value of the last argument: its length and a NUL after it. */
static int end_value(struct imap_parser *p)
{
	struct imap_arg *a = &p->args[p->n_args - 1];
	a->len = p->store.len - a->off;
	return store(p, "", 1);
}

static int open_list(struct imap_parser *p)
{
	if (p->depth == IMAP_DEPTH_MAX)
		return fail(p, "Lists nested too deeply", NULL);
	if (new_arg(p, IMAP_ARG_LIST) < 0)
		return -1;
	p->stack[p->depth++] = p->n_args - 1;
	return 0;
}

static int close_list(struct imap_parser *p)
{
	if (p->depth == 0)
		return fail(p, "Unexpected )", NULL);
	p->args[p->stack[--p->depth]].next = p->n_args;
	return 0;
}

/* Pointers into the store, for arguments [0, upto). */
static void finish_args(struct imap_parser *p, uint32_t upto)
{
	for (uint32_t i = 0; i < p->n_args; i++) {
		struct imap_arg *a = &p->args[i];
		bool has_str = a->type != IMAP_ARG_LIST && !a->external;
		a->str = has_str && i < upto ? p->store.data + a->off : NULL;
	}
	p->cmd.args = p->args;
	p->cmd.n_args = p->n_args;
	p->cmd.n_top = p->n_top;
}

/* ---- tokens ---- */

/* ATOM-CHAR plus "%", "*", "\" and "]" (RFC 9051 9): patterns, flags,
 * sequence sets and astrings share this token; handlers check the shape. */
static bool atom_char(unsigned char c)
{
	if (c <= 0x20 || c >= 0x7f)
		return false;
	return c != '(' && c != ')' && c != '{' && c != '"';
}

static const char *atom_error(unsigned char c)
{
	if (c == 0)
		return "NUL byte in atom";
	if (c >= 0x80)
		return "8-bit character in atom";
	if (c < 0x20 || c == 0x7f)
		return "Control character in atom";
	return "Invalid character in atom";
}

/* Bytes >= 0x80 from s[j] on, as one run: valid when it is UTF-8. */
static size_t utf8_run(const char *s, size_t n, size_t j)
{
	size_t k = j;
	while (k < n && (unsigned char)s[k] >= 0x80)
		k++;
	return utf8_valid(s + j, k - j) ? k - j : 0;
}

/* The quoted string at s[i] == '"' (RFC 9051 9: quoted, QUOTED-CHAR). Sets
 * *end after the closing quote; when keep, stores the unescaped value. */
static int quoted(struct imap_parser *p, const char *s, size_t n, size_t i,
                  bool keep, size_t *end)
{
	for (size_t j = i + 1; j < n;) {
		unsigned char c = (unsigned char)s[j];
		size_t run = 1;
		if (c == '"') {
			*end = j + 1;
			return 0;
		}
		if (c == '\\') {
			if (j + 1 < n && s[j + 1] != '\\' && s[j + 1] != '"')
				return fail(p,
				            "Invalid escape in quoted string",
				            NULL);
			j++; /* the escaped character is kept */
		} else if (c == 0) {
			return fail(p, "NUL byte in quoted string", NULL);
		} else if (c == '\r') {
			return fail(p, "CR in quoted string", NULL);
		} else if (c >= 0x80 && (run = utf8_run(s, n, j)) == 0) {
			return fail(p, "Invalid UTF-8 in quoted string", NULL);
		}
		if (j < n && keep && store(p, s + j, run) < 0)
			return -1;
		j += run;
	}
	return fail(p, "Unterminated quoted string", NULL);
}

/* FETCH attributes whose "[" opens a section (RFC 9051 6.4.5, RFC 3516). */
static bool section_att(const char *s, size_t len)
{
	static const char *const atts[] = {"BODY", "BODY.PEEK", "BINARY",
	                                   "BINARY.PEEK", "BINARY.SIZE"};
	for (size_t i = 0; i < sizeof(atts) / sizeof(atts[0]); i++)
		if (name_eq(atts[i], s, len))
			return true;
	return false;
}

/* The section at s[i] == '[' up to its "]": atoms, spaces, quoted strings
 * and one level of parentheses (HEADER.FIELDS (From "To")). Sets *end
 * after the "]". The text is kept raw in the atom, for the FETCH parser. */
static int section(struct imap_parser *p, const char *s, size_t n, size_t i,
                   size_t *end)
{
	bool in_list = false;
	for (size_t j = i + 1; j < n;) {
		unsigned char c = (unsigned char)s[j];
		if (c == ']' && !in_list) {
			*end = j + 1;
			return 0;
		}
		if (c == '"') {
			if (quoted(p, s, n, j, false, &j) < 0)
				return -1;
			continue;
		}
		if (c == '(' && !in_list)
			in_list = true;
		else if (c == ')' && in_list)
			in_list = false;
		else if (c != ' ' && (!atom_char(c) || c == '[' || c == ']'))
			return fail(
			        p,
			        c == '(' || c == ')' || c == ']'
			                ? "Unbalanced parentheses in section"
			                : atom_error(c),
			        NULL);
		j++;
	}
	return fail(p, "Unterminated section [", NULL);
}

/* An atom at s[i]: up to SP, ")" or the end of the line. */
static int atom(struct imap_parser *p, const char *s, size_t n, size_t i,
                size_t *end)
{
	size_t j = i;
	while (j < n && s[j] != ' ' && s[j] != ')') {
		unsigned char c = (unsigned char)s[j];
		if (c == '[' && section_att(s + i, j - i)) {
			if (section(p, s, n, j, &j) < 0)
				return -1;
			continue;
		}
		if (!atom_char(c))
			return fail(p, atom_error(c), NULL);
		j++;
	}
	if (j == i)
		return fail(p, "Empty argument", NULL);
	bool nil = j - i == 3 && strncasecmp(s + i, "NIL", 3) == 0;
	if (new_arg(p, nil ? IMAP_ARG_NIL : IMAP_ARG_ATOM) < 0 ||
	    store(p, s + i, j - i) < 0 || end_value(p) < 0)
		return -1;
	*end = j;
	return 0;
}

static int quoted_arg(struct imap_parser *p, const char *s, size_t n, size_t i,
                      size_t *end)
{
	if (new_arg(p, IMAP_ARG_QUOTED) < 0 ||
	    quoted(p, s, n, i, true, end) < 0)
		return -1;
	return end_value(p);
}

/* ---- literals ---- */

/* The announcement at s[i] ("{" or "~{"): "{" number ["+"] "}", last on
 * the line (RFC 9051 9: literal). The size is read digit by digit and
 * refused past 10 digits, before any other check. */
static int announcement(struct imap_parser *p, const char *s, size_t n,
                        size_t i, struct imap_literal *lit)
{
	lit->binary = s[i] == '~';
	size_t j = i + (lit->binary ? 2 : 1), d = j;
	while (j < n && s[j] >= '0' && s[j] <= '9')
		j++;
	if (j == d)
		return fail(p, "Invalid literal size", NULL);
	uint64_t size;
	if (imap_parse_number(s + d, j - d, 10, UINT32_MAX, &size) < 0)
		return fail(p, "Literal too large", "TOOBIG");
	lit->size = (uint32_t)size;
	lit->sync = !(j < n && s[j] == '+');
	j += lit->sync ? 0 : 1;
	if (j >= n || s[j] != '}')
		return fail(p, "Invalid literal", NULL);
	if (j + 1 != n)
		return fail(p, "Literal must end the line", NULL);
	return 0;
}

/* The limits, checked before a byte of the literal is stored. */
static int literal_allowed(struct imap_parser *p,
                           const struct imap_literal *lit)
{
	const struct imap_parse_limits *l = &p->lim;
	if (l->literal_max == 0)
		return fail(p,
		            l->pre_auth ? "Literals are not allowed "
		                          "before authentication"
		                        : "Literals are not allowed",
		            NULL);
	if (lit->size > l->literal_max)
		return fail(p, "Literal too large", "TOOBIG");
	/* RFC 7888 4: with LITERAL- only, a non-synchronising literal over
	 * 4096 bytes is refused with BAD [TOOBIG] */
	if (!lit->sync && !l->literal_plus &&
	    lit->size > IMAP_LITERAL_MINUS_MAX)
		return fail(p, "Non-synchronizing literal too large", "TOOBIG");
	if (p->total > l->command_max || lit->size > l->command_max - p->total)
		return fail(p, "Command too large", "TOOBIG");
	return 0;
}

static int literal_arg(struct imap_parser *p, const char *s, size_t n, size_t i)
{
	struct imap_literal lit;
	if (announcement(p, s, n, i, &lit) < 0 || literal_allowed(p, &lit) < 0)
		return -1;
	if (new_arg(p, lit.binary ? IMAP_ARG_LITERAL8 : IMAP_ARG_LITERAL) < 0)
		return -1;
	p->lit = lit;
	p->total += lit.size;
	return 1;
}

/* ---- fragments ---- */

/* tag = 1*<ASTRING-CHAR except "+"> (RFC 9051 9) */
static size_t tag_len(const char *s, size_t n)
{
	size_t i = 0;
	while (i < n && i <= IMAP_TAG_MAX && atom_char((unsigned char)s[i]) &&
	       s[i] != '+' && s[i] != '%' && s[i] != '*' && s[i] != '\\')
		i++;
	if (i > IMAP_TAG_MAX || (i < n && s[i] != ' '))
		return 0;
	return i;
}

/* The command name at s[i]: letters, up to SP or the end. */
static size_t name_len(const char *s, size_t n, size_t i)
{
	size_t j = i;
	while (j < n && j - i <= NAME_MAX_LEN && s[j] != ' ')
		j++;
	return j - i;
}

/* "tag SP name [SP uid-subcommand]": returns the index after it. */
static int head(struct imap_parser *p, const char *s, size_t n, size_t *end)
{
	if (n == 0)
		return fail(p, "Empty command line", NULL);
	size_t t = tag_len(s, n);
	if (t == 0)
		return fail(p, "Invalid tag", NULL);
	memcpy(p->cmd.tag, s, t);
	p->cmd.tag[t] = '\0';
	p->have_tag = true;
	if (t + 1 >= n)
		return fail(p, "Missing command", NULL);
	size_t i = t + 1, len = name_len(s, n, i);
	const struct imap_cmd_def *def = imap_cmd_lookup(s + i, len);
	if (def == NULL && name_eq("UID", s + i, len) && i + len < n) {
		i += len + 1;
		len = name_len(s, n, i);
		def = imap_cmd_lookup_uid(s + i, len);
	}
	if (def == NULL)
		return fail(p, "Unknown command", NULL);
	p->cmd.def = def;
	p->have_name = true;
	p->expect_sep = true;
	*end = i + len;
	return 0;
}

/* One token at s[i] (not SP, not ")"). 1: a literal was announced. */
static int token(struct imap_parser *p, const char *s, size_t n, size_t *i)
{
	char c = s[*i];
	p->just_opened = false;
	if (c == '(') {
		p->just_opened = true;
		(*i)++;
		return open_list(p);
	}
	p->expect_sep = true;
	if (c == '"')
		return quoted_arg(p, s, n, *i, i);
	if (c == '{' || (c == '~' && *i + 1 < n && s[*i + 1] == '{'))
		return literal_arg(p, s, n, *i);
	return atom(p, s, n, *i, i);
}

/* The arguments in s[i..n): 0 at the end of the command, 1 when a literal
 * follows, -1 on error. The state carries over a literal: the fragment
 * after it starts right after the literal's bytes. */
static int arguments(struct imap_parser *p, const char *s, size_t n, size_t i)
{
	while (i < n) {
		if (s[i] == ')') {
			if (!p->expect_sep && !p->just_opened)
				return fail(p, "Space before )", NULL);
			if (close_list(p) < 0)
				return -1;
			p->expect_sep = true;
			p->just_opened = false;
			i++;
		} else if (p->expect_sep) {
			if (s[i] != ' ')
				return fail(p,
				            "Missing space between arguments",
				            NULL);
			if (++i == n)
				return fail(p, "Trailing space", NULL);
			p->expect_sep = false;
		} else if (s[i] == ' ') {
			return fail(p, "Extra space", NULL);
		} else {
			int r = token(p, s, n, &i);
			if (r != 0)
				return r;
		}
	}
	if (p->depth > 0)
		return fail(p, "Missing )", NULL);
	return 0;
}

/* A whole fragment in the line buffer, CRLF included. */
static enum imap_parse_result fragment(struct imap_parser *p)
{
	const char *s = p->line.data;
	size_t n = p->line.len - 1, i = 0; /* without the LF */
	int r = -1;
	if (n == 0 || s[n - 1] != '\r') {
		fail(p, "Line must end with CRLF", NULL);
	} else {
		n--;
		if (p->have_name || head(p, s, n, &i) == 0)
			r = arguments(p, s, n, i);
	}
	p->text_used += p->line.len;
	if (r < 0) {
		recover_after_line(p, s, n);
		return IMAP_PARSE_ERROR;
	}
	buf_clear(&p->line);
	if (r == 0) {
		finish_args(p, p->n_args);
		p->reset_pending = true;
		return IMAP_PARSE_DONE;
	}
	finish_args(p, p->n_args - 1);
	p->state = P_LIT_WAIT;
	return IMAP_PARSE_LITERAL;
}

/* ---- feeding ---- */

/* What is left of a limit (limits may shrink between commands). */
static uint64_t room(uint64_t max, uint64_t used)
{
	return used < max ? max - used : 0;
}

/* The line is over its limit: report it now (tagged when the tag is
 * already here) and drop the rest of it as it comes. */
static enum imap_parse_result too_long(struct imap_parser *p, const char *d,
                                       size_t len, const char *msg,
                                       const char *code)
{
	const char *s = p->line.len > 0 ? p->line.data : d;
	size_t n = p->line.len > 0 ? p->line.len : len;
	size_t t = tag_len(s, n);
	if (!p->have_tag && t > 0 && t < n) {
		memcpy(p->cmd.tag, s, t);
		p->cmd.tag[t] = '\0';
		p->have_tag = true;
	}
	fail(p, msg, code);
	p->tail_len = 0;
	if (p->line.len > 0)
		tail_push(p, p->line.data, p->line.len);
	p->state = P_ERR_LINE;
	p->reset_pending = true;
	return IMAP_PARSE_ERROR;
}

static enum imap_parse_result feed_line(struct imap_parser *p, const char *d,
                                        size_t len, size_t *used)
{
	const char *lf = memchr(d, '\n', len);
	size_t n = lf != NULL ? (size_t)(lf - d) + 1 : len;
	*used = 0;
	if (n > room(p->lim.text_max, p->text_used + p->line.len))
		return too_long(p, d, len, "Command line too long", NULL);
	if (n > room(p->lim.command_max, p->total))
		return too_long(p, d, len, "Command too large", "TOOBIG");
	if (buf_append(&p->line, d, n) < 0)
		return too_long(p, d, len, "Out of memory", NULL);
	p->total += n;
	*used = n;
	return lf != NULL ? fragment(p) : IMAP_PARSE_MORE;
}

static enum imap_parse_result feed_literal(struct imap_parser *p, const char *d,
                                           size_t len, size_t *used)
{
	size_t n = p->lit_left < len ? (size_t)p->lit_left : len;
	*used = n;
	p->lit_left -= n;
	if (!p->lit.binary && memchr(d, '\0', n) != NULL) {
		fail(p, "NUL byte in literal (use literal8)", NULL);
		p->state = p->lit_left > 0 ? P_ERR_LIT : P_ERR_LINE;
		p->reset_pending = true;
		return IMAP_PARSE_ERROR;
	}
	if (store(p, d, n) < 0) { /* not reached: the size was checked */
		p->state = p->lit_left > 0 ? P_ERR_LIT : P_ERR_LINE;
		p->reset_pending = true;
		return IMAP_PARSE_ERROR;
	}
	if (p->lit_left == 0) {
		end_value(p);
		p->state = P_LINE;
	}
	return IMAP_PARSE_MORE;
}

/* Discard through the end of a line; a non-synchronising literal at its
 * end is discarded too, and so on to the end of the command. */
static enum imap_parse_result discard_line(struct imap_parser *p, const char *d,
                                           size_t len, size_t *used)
{
	const char *lf = memchr(d, '\n', len);
	size_t n = lf != NULL ? (size_t)(lf - d) : len;
	tail_push(p, d, n);
	*used = lf != NULL ? n + 1 : n;
	if (lf == NULL)
		return IMAP_PARSE_MORE;
	size_t t = p->tail_len;
	if (t > 0 && p->tail[t - 1] == '\r')
		t--;
	recover_after_line(p, p->tail, t);
	if (p->state != P_FATAL)
		return IMAP_PARSE_MORE;
	fail(p, "Literal too large", "TOOBIG");
	p->err.fatal = true;
	return IMAP_PARSE_ERROR;
}

static enum imap_parse_result discard_literal(struct imap_parser *p, size_t len,
                                              size_t *used)
{
	size_t n = p->lit_left < len ? (size_t)p->lit_left : len;
	*used = n;
	p->lit_left -= n;
	if (p->lit_left == 0)
		p->state = P_ERR_LINE;
	return IMAP_PARSE_MORE;
}

static enum imap_parse_result step(struct imap_parser *p, const char *d,
                                   size_t len, size_t *used)
{
	*used = 0;
	switch (p->state) {
	case P_LINE:
		return feed_line(p, d, len, used);
	case P_LIT:
		return feed_literal(p, d, len, used);
	case P_ERR_LINE:
		return discard_line(p, d, len, used);
	case P_ERR_LIT:
		return discard_literal(p, len, used);
	case P_LIT_WAIT: /* the caller must accept or refuse first */
		return IMAP_PARSE_LITERAL;
	case P_FATAL:
		return IMAP_PARSE_ERROR;
	}
	return IMAP_PARSE_ERROR;
}

enum imap_parse_result imap_parser_feed(struct imap_parser *p, const char *data,
                                        size_t len, size_t *consumed)
{
	*consumed = 0;
	if (p->state == P_FATAL)
		return IMAP_PARSE_ERROR;
	while (*consumed < len || p->state == P_LIT_WAIT) {
		size_t used;
		/* the last error or command was read by now: forget it */
		if (p->reset_pending)
			reset_command(p);
		enum imap_parse_result r =
		        step(p, data + *consumed, len - *consumed, &used);
		*consumed += used;
		if (r != IMAP_PARSE_MORE)
			return r;
	}
	return IMAP_PARSE_MORE;
}

/* ---- after LITERAL ---- */

const struct imap_literal *imap_parser_literal(const struct imap_parser *p)
{
	return &p->lit;
}

void imap_parser_literal_accept(struct imap_parser *p, bool external)
{
	if (p->state != P_LIT_WAIT)
		return;
	struct imap_arg *a = &p->args[p->n_args - 1];
	if (external) {
		a->external = true;
		a->len = p->lit.size;
		p->state = P_LINE;
		return;
	}
	p->lit_left = p->lit.size;
	p->state = P_LIT;
	if (p->lit_left == 0) { /* {0}: nothing will come */
		end_value(p);
		p->state = P_LINE;
	}
}

void imap_parser_literal_refuse(struct imap_parser *p)
{
	if (p->state != P_LIT_WAIT)
		return;
	/* a synchronising literal never comes: the client waits for "+" */
	p->lit_left = p->lit.sync ? 0 : p->lit.size;
	if (p->lit.sync)
		p->state = P_LINE;
	else
		p->state = p->lit_left > 0 ? P_ERR_LIT : P_ERR_LINE;
	p->reset_pending = true;
}

const struct imap_command *imap_parser_command(const struct imap_parser *p)
{
	return &p->cmd;
}

const struct imap_parse_error *imap_parser_error(const struct imap_parser *p)
{
	return &p->err;
}

/* ---- argument helpers ---- */

int imap_parse_number(const char *s, size_t len, unsigned max_digits,
                      uint64_t max, uint64_t *out)
{
	if (len == 0 || len > max_digits)
		return -1;
	return parse_u64(s, len, max, out);
}

bool imap_arg_astring(const struct imap_arg *a, const char **s, size_t *len)
{
	if (a->type == IMAP_ARG_LIST || a->type == IMAP_ARG_NIL ||
	    a->type == IMAP_ARG_LITERAL8 || a->str == NULL)
		return false;
	*s = a->str;
	*len = a->len;
	return true;
}

bool imap_arg_nstring(const struct imap_arg *a, const char **s, size_t *len)
{
	if (a->type == IMAP_ARG_NIL) {
		*s = NULL;
		*len = 0;
		return true;
	}
	return a->type != IMAP_ARG_ATOM && imap_arg_astring(a, s, len);
}

bool imap_arg_atom_is(const struct imap_arg *a, const char *word)
{
	return (a->type == IMAP_ARG_ATOM || a->type == IMAP_ARG_NIL) &&
	       name_eq(word, a->str, a->len);
}

bool imap_arg_number(const struct imap_arg *a, uint32_t *out)
{
	uint64_t v;
	if (a->type != IMAP_ARG_ATOM ||
	    imap_parse_number(a->str, a->len, 10, UINT32_MAX, &v) < 0)
		return false;
	*out = (uint32_t)v;
	return true;
}

bool imap_arg_nz_number(const struct imap_arg *a, uint32_t *out)
{
	uint32_t v;
	if (!imap_arg_number(a, &v) || v == 0)
		return false;
	*out = v;
	return true;
}
