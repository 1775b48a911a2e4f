/* folders: LIST (RFC 9051 6.3.9 with RFC 5258 LIST-EXTENDED, RFC 5819
 * LIST-STATUS, RFC 6154 SPECIAL-USE, RFC 3348 CHILDREN), LSUB (RFC 3501
 * 6.3.9), CREATE, DELETE, RENAME, SUBSCRIBE, UNSUBSCRIBE and STATUS
 * (6.3.4-6.3.11). The arguments are checked on the loop; the store work
 * runs as a job. */
#include "imapd/imapd.h"

#include "imapd/imapstr.h"
#include "imapd/mailbox.h"
#include "lib/log.h"
#include "store/folders.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

enum { FOLDER_SIZE = IMAP_FOLDER_NAME_MAX * 4 + 2, PATTERNS_MAX = 32 };

/* STATUS items (RFC 9051 6.3.11, RFC 8438 SIZE, RFC 7162 HIGHESTMODSEQ) */
enum {
	ST_MESSAGES = 1 << 0,
	ST_UIDNEXT = 1 << 1,
	ST_UIDVALIDITY = 1 << 2,
	ST_UNSEEN = 1 << 3,
	ST_DELETED = 1 << 4,
	ST_SIZE = 1 << 5,
	ST_RECENT = 1 << 6,
	ST_HIGHESTMODSEQ = 1 << 7,
};

static const char *const status_names[] = {
	"MESSAGES", "UIDNEXT", "UIDVALIDITY", "UNSEEN",
	"DELETED",  "SIZE",    "RECENT",      "HIGHESTMODSEQ"};

/* The item list args[i]; 0 when it is not one. */
static unsigned status_items(const struct imap_command *cmd, uint32_t i)
{
	const struct imap_arg *l = &cmd->args[i];
	unsigned items = 0;
	if (l->type != IMAP_ARG_LIST || l->count == 0)
		return 0;
	for (uint32_t k = i + 1; k < l->next; k = cmd->args[k].next) {
		unsigned bit = 0;
		for (unsigned b = 0; b < 8; b++)
			if (imap_arg_atom_is(&cmd->args[k], status_names[b]))
				bit = 1u << b;
		if (bit == 0)
			return 0;
		items |= bit;
	}
	return items;
}

/* \Deleted is not in store_status: count it from the snapshot. */
static int count_deleted(struct imap_session *s, const char *folder,
			 uint32_t *n, const char **why)
{
	struct store_mailbox *mb;
	*n = 0;
	if (store_mailbox_open(s->root, folder, &s->opt, &mb, why) < 0)
		return -1;
	const struct store_msg *m = store_mailbox_msgs(mb);
	for (size_t i = 0; i < store_mailbox_count(mb); i++)
		*n += (m[i].flags & STORE_DELETED) != 0;
	store_mailbox_free(&mb);
	return 0;
}

/* "* STATUS name (ITEM n ...)"; -1 with *why when the store fails. */
static int write_status(struct imap_session *s, struct buf *out,
			const char *folder, const char *name, size_t len,
			unsigned items, const char **why)
{
	struct store_status st;
	uint32_t deleted = 0;
	if (store_status(s->root, folder, &s->opt, &st, why) < 0 ||
	    ((items & ST_DELETED) && count_deleted(s, folder, &deleted, why) < 0))
		return -1;
	uint64_t v[8] = {st.messages, st.uidnext, st.uidvalidity, st.unseen,
			 deleted,     st.size,    0,	      st.highestmodseq};
	const char *sep = "";
	buf_append_str(out, "* STATUS ");
	imapd_write_mailbox(s, out, name, len);
	buf_append_str(out, " (");
	for (unsigned b = 0; b < 8; b++)
		if (items & (1u << b)) {
			buf_appendf(out, "%s%s %llu", sep, status_names[b],
				    (unsigned long long)v[b]);
			sep = " ";
		}
	buf_append_str(out, ")\r\n");
	return 0;
}

/* ------------------------------------------------------------ matching */

/* Does name match the LIST pattern? "*" matches anything, "%" anything
 * but the separator (RFC 9051 6.3.9). Dynamic programming over the
 * pattern, O(pattern x name): no backtracking a hostile pattern could
 * make exponential. */
static bool wild_match(const char *pat, size_t pn, const char *name, size_t nn)
{
	bool *row = calloc(nn + 1, sizeof(*row)), *next = calloc(nn + 1, 1);
	bool r = false;
	if (row == NULL || next == NULL)
		goto done;
	row[0] = true;
	for (size_t p = 0; p < pn; p++) {
		char c = pat[p];
		next[0] = row[0] && (c == '*' || c == '%');
		for (size_t j = 1; j <= nn; j++) {
			if (c == '*')
				next[j] = row[j] || next[j - 1];
			else if (c == '%')
				next[j] = row[j] || (next[j - 1] && name[j - 1] != '/');
			else
				next[j] = row[j - 1] && name[j - 1] == c;
		}
		bool *t = row;
		row = next;
		next = t;
	}
	r = row[nn];
done:
	free(row);
	free(next);
	return r;
}

/* One LIST entry: a folder, an implied parent, or a subscription. */
struct entry {
	char *name;   /* UTF-8 */
	char *folder; /* Maildir++, NULL when it does not exist */
	enum store_special_use use;
	bool implied;  /* a parent Maildir++ names imply */
	bool children, subscribed;
};

/* By name; of equal names the one that exists first. */
static int entry_cmp(const void *a, const void *b)
{
	const struct entry *x = a, *y = b;
	int c = strcmp(x->name, y->name);
	if (c != 0)
		return c;
	return (x->folder == NULL) - (y->folder == NULL);
}

struct entries {
	struct entry *v;
	size_t n, cap;
};

static struct entry *add(struct entries *e, const char *name, size_t n,
			 const char *folder, enum store_special_use use)
{
	if (e->n == e->cap) {
		size_t cap = e->cap ? e->cap * 2 : 32;
		void *v = realloc(e->v, cap * sizeof(*e->v));
		if (v == NULL)
			return NULL;
		e->v = v;
		e->cap = cap;
	}
	struct entry *x = &e->v[e->n];
	memset(x, 0, sizeof(*x));
	x->name = strndup(name, n);
	x->folder = folder != NULL ? strdup(folder) : NULL;
	x->use = use;
	if (x->name == NULL || (folder != NULL && x->folder == NULL)) {
		free(x->name);
		free(x->folder);
		return NULL;
	}
	e->n++;
	return x;
}

static void entries_free(struct entries *e)
{
	for (size_t i = 0; i < e->n; i++) {
		free(e->v[i].name);
		free(e->v[i].folder);
	}
	free(e->v);
}

/* Sort, and merge the entries of one name into its first. */
static void merge(struct entries *e)
{
	qsort(e->v, e->n, sizeof(*e->v), entry_cmp);
	size_t o = 0;
	for (size_t i = 0; i < e->n; i++) {
		if (o > 0 && strcmp(e->v[o - 1].name, e->v[i].name) == 0) {
			e->v[o - 1].subscribed |= e->v[i].subscribed;
			e->v[o - 1].implied |= e->v[i].implied;
			free(e->v[i].name);
			free(e->v[i].folder);
			continue;
		}
		e->v[o++] = e->v[i];
	}
	e->n = o;
}

/* Children: the first name after "name/" in byte order starts with it. */
static void mark_children(struct entries *e)
{
	for (size_t i = 0; i < e->n; i++) {
		size_t len = strlen(e->v[i].name);
		for (size_t j = i + 1; j < e->n; j++) {
			int c = strncmp(e->v[j].name, e->v[i].name, len);
			if (c != 0)
				break;
			if (e->v[j].name[len] == '/' &&
			    (e->v[j].folder != NULL || e->v[j].implied)) {
				e->v[i].children = true;
				break;
			}
		}
	}
}

static int add_folders(struct imap_session *s, struct entries *e,
		       const char **why)
{
	struct store_folder_info *list;
	size_t n;
	if (store_folder_list(s->root, &list, &n, why) < 0)
		return -1;
	int rc = 0;
	for (size_t i = 0; i < n && rc == 0; i++) {
		struct buf name;
		const char *f = list[i].folder, *err;
		buf_init(&name, IMAP_MAILBOX_MAX);
		/* a folder name we would not have made is skipped */
		if (f[0] == '\0')
			rc = add(e, "INBOX", 5, f, list[i].use) ? 0 : -1;
		else if (imap_mailbox_from_maildir(f, strlen(f), &name, &err) == 0)
			rc = add(e, name.data, name.len, f, list[i].use) ? 0 : -1;
		buf_free(&name);
	}
	store_folder_list_free(list, n);
	size_t real = e->n;
	for (size_t i = 0; i < real && rc == 0; i++)
		for (const char *p = strchr(e->v[i].name, '/'); p != NULL && rc == 0;
		     p = strchr(p + 1, '/')) {
			struct entry *x = add(e, e->v[i].name,
					      (size_t)(p - e->v[i].name), NULL, 0);
			if (x == NULL)
				rc = -1;
			else
				x->implied = true;
		}
	if (rc < 0)
		*why = "out of memory";
	return rc;
}

static int collect(struct imap_session *s, struct entries *e,
		   const char **why)
{
	char **subs = NULL;
	size_t n_subs = 0;
	if (add_folders(s, e, why) < 0 ||
	    store_subscriptions(s->root, &subs, &n_subs, why) < 0)
		return -1;
	int rc = 0;
	for (size_t i = 0; rc == 0 && i < n_subs; i++) {
		struct entry *x = add(e, subs[i], strlen(subs[i]), NULL, 0);
		if (x == NULL)
			rc = -1;
		else
			x->subscribed = true;
	}
	store_subscriptions_free(subs, n_subs);
	merge(e);
	mark_children(e);
	return rc;
}

/* ------------------------------------------------------------ LIST */

struct list_ctx {
	const struct imap_command *cmd;
	bool lsub;
	bool extended;
	bool sel_subscribed, sel_special;
	bool ret_subscribed, ret_special, ret_children;
	unsigned ret_status;
	struct buf patterns[PATTERNS_MAX]; /* UTF-8, reference prefixed */
	size_t n_patterns;
	bool empty_pattern; /* LIST "" "": the separator */
};

static bool matches(const struct list_ctx *c, const char *name)
{
	for (size_t i = 0; i < c->n_patterns; i++)
		if (wild_match(c->patterns[i].data, c->patterns[i].len, name,
			       strlen(name)))
			return true;
	return false;
}

static bool listed(const struct list_ctx *c, const struct entry *x)
{
	if (c->lsub || c->sel_subscribed)
		return x->subscribed;
	if (c->sel_special)
		return x->use != STORE_USE_NONE && x->folder != NULL;
	return x->folder != NULL || x->implied;
}

static void write_attrs(const struct list_ctx *c, const struct entry *x,
			struct buf *out)
{
	const char *sep = "";
	buf_append_byte(out, '(');
#define ATTR(a)                                                               \
	do {                                                                  \
		buf_appendf(out, "%s%s", sep, a);                             \
		sep = " ";                                                    \
	} while (0)
	if (x->folder == NULL)
		ATTR(c->lsub ? "\\Noselect" : "\\NonExistent");
	if (!c->lsub)
		ATTR(x->children ? "\\HasChildren" : "\\HasNoChildren");
	if (!c->lsub && x->subscribed &&
	    (c->sel_subscribed || c->ret_subscribed))
		ATTR("\\Subscribed");
	const char *use = store_special_use_attr(x->use);
	if (!c->lsub && use != NULL && x->folder != NULL)
		ATTR(use);
#undef ATTR
	buf_append_byte(out, ')');
}

static void write_entry(struct imap_session *s, const struct list_ctx *c,
			const struct entry *x, struct buf *out)
{
	const char *why;
	buf_appendf(out, "* %s ", c->lsub ? "LSUB" : "LIST");
	write_attrs(c, x, out);
	buf_append_str(out, " \"/\" ");
	imapd_write_mailbox(s, out, x->name, strlen(x->name));
	buf_append_str(out, "\r\n");
	/* RFC 5819: the STATUS of each selectable mailbox listed; one that
	 * fails is left out, as the RFC allows */
	if (c->ret_status != 0 && x->folder != NULL &&
	    write_status(s, out, x->folder, x->name, strlen(x->name),
			 c->ret_status, &why) < 0)
		log_warn("session=%s event=list-status-failed error=\"%s\"",
			 s->id, why);
}

static int list_run(struct imap_session *s, void *arg, struct buf *out)
{
	struct list_ctx *c = arg;
	struct entries e = {0};
	const char *why;
	const char *verb = c->lsub ? "LSUB" : "LIST";
	if (c->empty_pattern) {
		buf_appendf(out, "* %s (\\Noselect) \"/\" \"\"\r\n", verb);
	} else if (collect(s, &e, &why) < 0) {
		entries_free(&e);
		buf_appendf(out, "%s NO [SERVERBUG] %s failed: %s\r\n", s->tag,
			    verb, why);
		return 1;
	}
	/* INBOX first, as clients expect, then in byte order */
	for (int pass = 0; pass < 2; pass++)
		for (size_t i = 0; i < e.n; i++) {
			bool inbox = strcmp(e.v[i].name, "INBOX") == 0;
			if (inbox == (pass == 0) && listed(c, &e.v[i]) &&
			    matches(c, e.v[i].name))
				write_entry(s, c, &e.v[i], out);
		}
	entries_free(&e);
	buf_appendf(out, "%s OK %s completed\r\n", s->tag, verb);
	return 1;
}

static void list_end(struct imap_session *s, void *arg)
{
	struct list_ctx *c = arg;
	for (size_t i = 0; i < PATTERNS_MAX; i++)
		buf_free(&c->patterns[i]);
	free(c);
}

/* RFC 5258 selection options; false for one we do not know. */
static bool selection(struct list_ctx *c, const struct imap_command *cmd,
		      uint32_t i)
{
	for (uint32_t k = i + 1; k < cmd->args[i].next; k = cmd->args[k].next) {
		const struct imap_arg *a = &cmd->args[k];
		if (imap_arg_atom_is(a, "SUBSCRIBED"))
			c->sel_subscribed = c->ret_subscribed = true;
		else if (imap_arg_atom_is(a, "SPECIAL-USE"))
			c->sel_special = true;
		else if (!imap_arg_atom_is(a, "REMOTE") &&
			 !imap_arg_atom_is(a, "RECURSIVEMATCH"))
			return false;
	}
	return true;
}

static bool return_options(struct list_ctx *c, const struct imap_command *cmd,
			   uint32_t i)
{
	for (uint32_t k = i + 1; k < cmd->args[i].next; k = cmd->args[k].next) {
		const struct imap_arg *a = &cmd->args[k];
		if (imap_arg_atom_is(a, "SUBSCRIBED"))
			c->ret_subscribed = true;
		else if (imap_arg_atom_is(a, "CHILDREN"))
			c->ret_children = true;
		else if (imap_arg_atom_is(a, "SPECIAL-USE"))
			c->ret_special = true;
		else if (imap_arg_atom_is(a, "STATUS") && a->next < cmd->args[i].next &&
			 (c->ret_status = status_items(cmd, a->next)) != 0)
			k = a->next;
		else
			return false;
	}
	return true;
}

/* reference + pattern, as one UTF-8 pattern (RFC 9051 6.3.9: they are
 * joined; INBOX is case-insensitive). */
static bool add_pattern(struct imap_session *s, struct list_ctx *c,
			const char *ref, size_t rn, const struct imap_arg *a)
{
	const char *p, *why;
	size_t n;
	if (c->n_patterns == PATTERNS_MAX || !imap_arg_astring(a, &p, &n))
		return false;
	struct buf *b = &c->patterns[c->n_patterns++];
	buf_init(b, IMAP_MAILBOX_MAX * 2);
	if (n == 0 && !c->extended) {
		c->empty_pattern = true;
		return true;
	}
	if (imapd_decode_name(s, ref, rn, b, &why) < 0 ||
	    imapd_decode_name(s, p, n, b, &why) < 0)
		return false;
	if (b->len >= 5 && strncasecmp(b->data, "INBOX", 5) == 0 &&
	    (b->len == 5 || b->data[5] == '/'))
		memcpy(b->data, "INBOX", 5);
	return true;
}

static bool list_args(struct imap_session *s, struct list_ctx *c,
		      const struct imap_command *cmd)
{
	uint32_t i = 0;
	const char *ref;
	size_t rn;
	if (i < cmd->n_args && cmd->args[i].type == IMAP_ARG_LIST && !c->lsub) {
		c->extended = true;
		if (!selection(c, cmd, i))
			return false;
		i = cmd->args[i].next;
	}
	if (i >= cmd->n_args || !imap_arg_astring(&cmd->args[i], &ref, &rn))
		return false;
	i = cmd->args[i].next;
	if (i >= cmd->n_args)
		return false;
	if (cmd->args[i].type == IMAP_ARG_LIST && !c->lsub) {
		c->extended = true;
		for (uint32_t k = i + 1; k < cmd->args[i].next;
		     k = cmd->args[k].next)
			if (!add_pattern(s, c, ref, rn, &cmd->args[k]))
				return false;
	} else if (!add_pattern(s, c, ref, rn, &cmd->args[i])) {
		return false;
	}
	i = cmd->args[i].next;
	if (i < cmd->n_args && !c->lsub &&
	    imap_arg_atom_is(&cmd->args[i], "RETURN") &&
	    cmd->args[i].next < cmd->n_args &&
	    cmd->args[cmd->args[i].next].type == IMAP_ARG_LIST) {
		c->extended = true;
		i = cmd->args[i].next;
		if (!return_options(c, cmd, i))
			return false;
		i = cmd->args[i].next;
	}
	return i == cmd->n_args && c->n_patterns > 0;
}

void imapd_cmd_list(struct imap_session *s, const struct imap_command *cmd)
{
	struct list_ctx *c = calloc(1, sizeof(*c));
	if (c == NULL) {
		imapd_tagged(s, "NO", "[UNAVAILABLE] Out of memory");
		return;
	}
	c->cmd = cmd;
	c->lsub = cmd->def->id == IMAP_CMD_LSUB;
	if (!list_args(s, c, cmd)) {
		bool lsub = c->lsub;
		list_end(s, c);
		imapd_tagged(s, "BAD", "Syntax: %s", lsub
			? "LSUB reference pattern"
			: "LIST [(options)] reference pattern [RETURN (options)]");
		imapd_await_command(s);
		return;
	}
	imapd_job_start(s, list_run, list_end, c);
}

/* ------------------------------------------------------------ STATUS */

struct folder_ctx {
	const struct imap_command *cmd;
	char folder[FOLDER_SIZE], folder2[FOLDER_SIZE];
	struct buf name, name2;
	unsigned items;
};

static void folder_end(struct imap_session *s, void *arg)
{
	struct folder_ctx *c = arg;
	buf_free(&c->name);
	buf_free(&c->name2);
	free(c);
}

static struct folder_ctx *folder_ctx(struct imap_session *s,
				     const struct imap_command *cmd)
{
	struct folder_ctx *c = calloc(1, sizeof(*c));
	if (c == NULL) {
		imapd_tagged(s, "NO", "[UNAVAILABLE] Out of memory");
		return NULL;
	}
	c->cmd = cmd;
	buf_init(&c->name, IMAP_MAILBOX_MAX);
	buf_init(&c->name2, IMAP_MAILBOX_MAX);
	return c;
}

/* The name argument args[i] into folder and name; NO on the spot when it
 * is no name the store may use ("../x"). */
static bool take_name(struct imap_session *s, const struct imap_command *cmd,
		      uint32_t i, char *folder, struct buf *name, bool strip)
{
	const char *p, *why;
	size_t n;
	if (!imap_arg_astring(&cmd->args[i], &p, &n)) {
		imapd_tagged(s, "BAD", "Invalid mailbox name");
		return false;
	}
	if (strip && n > 1 && p[n - 1] == '/') /* RFC 9051 6.3.4 */
		n--;
	if (imapd_folder_str(s, p, n, folder, FOLDER_SIZE, name, &why) < 0) {
		imapd_tagged(s, "NO", "%s", why);
		return false;
	}
	return true;
}

static int status_run(struct imap_session *s, void *arg, struct buf *out)
{
	struct folder_ctx *c = arg;
	const char *why;
	if (!imapd_folder_exists(s, c->folder))
		buf_appendf(out, "%s NO [NONEXISTENT] Mailbox does not exist\r\n",
			    s->tag);
	else if (write_status(s, out, c->folder, c->name.data, c->name.len,
			      c->items, &why) < 0)
		buf_appendf(out, "%s NO [SERVERBUG] STATUS failed: %s\r\n",
			    s->tag, why);
	else
		buf_appendf(out, "%s OK STATUS completed\r\n", s->tag);
	return 1;
}

void imapd_cmd_status(struct imap_session *s, const struct imap_command *cmd)
{
	struct folder_ctx *c = folder_ctx(s, cmd);
	if (c == NULL)
		return;
	if (cmd->n_top != 2 ||
	    (c->items = status_items(cmd, cmd->args[0].next)) == 0) {
		imapd_tagged(s, "BAD", "Syntax: STATUS mailbox (items)");
	} else if (take_name(s, cmd, 0, c->folder, &c->name, false)) {
		imapd_job_start(s, status_run, folder_end, c);
		return;
	}
	folder_end(s, c);
	imapd_await_command(s);
}

/* ------------------------------------------------------------ CREATE ... */

static int create_run(struct imap_session *s, void *arg, struct buf *out)
{
	struct folder_ctx *c = arg;
	const char *why;
	if (c->folder[0] == '\0' || imapd_folder_exists(s, c->folder))
		buf_appendf(out, "%s NO [ALREADYEXISTS] Mailbox exists\r\n",
			    s->tag);
	else if (store_folder_create(s->root, c->folder, &why) < 0)
		buf_appendf(out, "%s NO CREATE failed: %s\r\n", s->tag, why);
	else
		buf_appendf(out, "%s OK CREATE completed\r\n", s->tag);
	return 1;
}

static int delete_run(struct imap_session *s, void *arg, struct buf *out)
{
	struct folder_ctx *c = arg;
	const char *why;
	if (c->folder[0] == '\0')
		buf_appendf(out, "%s NO INBOX cannot be deleted\r\n", s->tag);
	else if (!imapd_folder_exists(s, c->folder))
		buf_appendf(out, "%s NO [NONEXISTENT] Mailbox does not exist\r\n",
			    s->tag);
	else if (s->mb != NULL && strcmp(s->folder, c->folder) == 0)
		buf_appendf(out, "%s NO [INUSE] Mailbox is selected\r\n", s->tag);
	else if (store_folder_delete(s->root, c->folder, &why) < 0)
		buf_appendf(out, "%s NO DELETE failed: %s\r\n", s->tag, why);
	else
		buf_appendf(out, "%s OK DELETE completed\r\n", s->tag);
	return 1;
}

/* RENAME INBOX (RFC 9051 6.3.6): its messages move to a new folder and
 * INBOX stays, empty; its children do not move. Copied first (hard links,
 * durable), then expunged, so a crash in between leaves the messages in
 * both places, never in neither. Sessions with INBOX selected see the
 * EXPUNGEs at their next refresh. */
static int rename_inbox(struct imap_session *s, const char *to,
			const char **why)
{
	struct store_mailbox *mb;
	/* a move within the quota root: the copy's bytes leave with the
	 * expunge, so the usage does not change and is not checked (with it,
	 * an INBOX over half the quota could never be renamed) */
	struct store_options opt = s->opt;
	opt.quota = 0;
	if (store_folder_create(s->root, to, why) < 0)
		return -1;
	if (store_mailbox_open(s->root, "", &opt, &mb, why) < 0)
		return -1;
	size_t n = store_mailbox_count(mb);
	const struct store_msg *m = store_mailbox_msgs(mb);
	uint32_t *uids = malloc((n > 0 ? n : 1) * sizeof(*uids));
	int rc = -1;
	struct store_copied cp = {0};
	if (uids == NULL) {
		*why = "out of memory";
	} else {
		for (size_t i = 0; i < n; i++)
			uids[i] = m[i].uid;
		rc = n == 0 ? 0
			    : store_mailbox_copy(mb, uids, n, to, &cp, why);
		if (rc == 0 && cp.n > 0)
			rc = store_mailbox_expunge(mb, cp.src_uids, cp.n, false,
						   why);
	}
	store_copied_free(&cp);
	free(uids);
	store_mailbox_free(&mb);
	return rc;
}

static int rename_run(struct imap_session *s, void *arg, struct buf *out)
{
	struct folder_ctx *c = arg;
	const char *why;
	if (c->folder[0] == '\0' &&
	    (c->folder2[0] == '\0' || imapd_folder_exists(s, c->folder2)))
		buf_appendf(out, "%s NO [ALREADYEXISTS] Target exists\r\n",
			    s->tag);
	else if (c->folder[0] == '\0' && rename_inbox(s, c->folder2, &why) < 0)
		buf_appendf(out, "%s NO RENAME failed: %s\r\n", s->tag, why);
	else if (c->folder[0] == '\0')
		buf_appendf(out, "%s OK RENAME completed\r\n", s->tag);
	else if (!imapd_folder_exists(s, c->folder))
		buf_appendf(out, "%s NO [NONEXISTENT] Mailbox does not exist\r\n",
			    s->tag);
	else if (c->folder2[0] == '\0' || imapd_folder_exists(s, c->folder2))
		buf_appendf(out, "%s NO [ALREADYEXISTS] Target exists\r\n",
			    s->tag);
	else if (store_folder_rename(s->root, c->folder, c->folder2, &why) < 0)
		buf_appendf(out, "%s NO RENAME failed: %s\r\n", s->tag, why);
	else
		buf_appendf(out, "%s OK RENAME completed\r\n", s->tag);
	return 1;
}

static int subscribe_run(struct imap_session *s, void *arg, struct buf *out)
{
	struct folder_ctx *c = arg;
	const char *why;
	bool on = c->cmd->def->id == IMAP_CMD_SUBSCRIBE;
	const char *name = c->folder[0] == '\0' ? "INBOX" : c->name.data;
	if (store_subscribe(s->root, name, on, &why) < 0)
		buf_appendf(out, "%s NO %s failed: %s\r\n", s->tag,
			    c->cmd->def->name, why);
	else
		buf_appendf(out, "%s OK %s completed\r\n", s->tag,
			    c->cmd->def->name);
	return 1;
}

static void folder_command(struct imap_session *s,
			   const struct imap_command *cmd, unsigned n_args,
			   imap_job_run *run, bool strip)
{
	struct folder_ctx *c = folder_ctx(s, cmd);
	if (c == NULL)
		return;
	if (cmd->n_top != n_args) {
		imapd_tagged(s, "BAD", "Syntax: %s mailbox%s", cmd->def->name,
			     n_args == 2 ? " new-name" : "");
	} else if (take_name(s, cmd, 0, c->folder, &c->name, strip) &&
		   (n_args == 1 || take_name(s, cmd, cmd->args[0].next,
					     c->folder2, &c->name2, strip))) {
		imapd_job_start(s, run, folder_end, c);
		return;
	}
	folder_end(s, c);
	imapd_await_command(s);
}

void imapd_cmd_create(struct imap_session *s, const struct imap_command *cmd)
{
	folder_command(s, cmd, 1, create_run, true);
}

void imapd_cmd_delete(struct imap_session *s, const struct imap_command *cmd)
{
	folder_command(s, cmd, 1, delete_run, false);
}

void imapd_cmd_rename(struct imap_session *s, const struct imap_command *cmd)
{
	folder_command(s, cmd, 2, rename_run, false);
}

void imapd_cmd_subscribe(struct imap_session *s,
			 const struct imap_command *cmd)
{
	folder_command(s, cmd, 1, subscribe_run, false);
}
