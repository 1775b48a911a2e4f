/* thread: ORDEREDSUBJECT and REFERENCES threading (RFC 5256 4; see
 * thread.h). The messages and the dummies the references name are nodes
 * of one array, linked by indexes (parent, first child, next sibling);
 * node `root` is the invisible parent of every thread. */
#include "imapd/thread.h"

#include "mail/header.h"

#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------ IDs */

static bool id_byte(char c)
{
	return (unsigned char)c > ' ' && c != '<' && c != '>' && c != 127;
}

int imap_thread_msgids(const char *v, size_t len, char **out, size_t max,
		       bool keep_last)
{
	size_t n = 0;
	for (size_t i = 0; i < len; i++) {
		if (v[i] != '<')
			continue;
		size_t k = i + 1;
		while (k < len && id_byte(v[k]))
			k++;
		if (k >= len || v[k] != '>' || k == i + 1 ||
		    k - i - 1 > IMAP_MSGID_MAX)
			continue; /* not an ID: look on from the next byte */
		if (n == max && (!keep_last || max == 0))
			break;
		if (n == max) { /* keep the newest: drop the oldest */
			free(out[0]);
			memmove(out, out + 1, (max - 1) * sizeof(*out));
			n--;
		}
		if ((out[n] = strndup(v + i + 1, k - i - 1)) == NULL) {
			while (n > 0)
				free(out[--n]);
			return -1;
		}
		n++;
		i = k;
	}
	return (int)n;
}

static int take_ids(const struct header_field *f, char ***ids, size_t max,
		    bool keep_last, size_t *n_r)
{
	*ids = calloc(max, sizeof(**ids));
	int n = *ids != NULL ? imap_thread_msgids(f->value, f->value_len, *ids,
						  max, keep_last)
			     : -1;
	*n_r = n > 0 ? (size_t)n : 0;
	return n < 0 ? -1 : 0;
}

int imap_thread_msg_fill(struct imap_thread_msg *m, const char *hdr,
			 size_t len)
{
	struct header_field h, refs = {0}, irt = {0};
	size_t pos = 0, n = 0;
	char **ids = NULL;
	bool has_refs = false, has_irt = false;
	while (header_next(hdr, len, &pos, &h) == 1) {
		if (m->msgid == NULL && header_is(&h, "Message-ID")) {
			if (take_ids(&h, &ids, 1, false, &n) < 0)
				return -1;
			m->msgid = n > 0 ? ids[0] : NULL;
			free(ids);
		} else if (!has_refs && header_is(&h, "References")) {
			refs = h;
			has_refs = true;
		} else if (!has_irt && header_is(&h, "In-Reply-To")) {
			irt = h;
			has_irt = true;
		}
	}
	if (has_refs && take_ids(&refs, &m->refs, IMAP_THREAD_REFS_MAX, true,
				 &m->n_refs) < 0)
		return -1;
	if (m->n_refs == 0 && has_irt) {
		free(m->refs);
		m->refs = NULL;
		if (take_ids(&irt, &m->refs, 1, false, &m->n_refs) < 0)
			return -1;
	}
	return 0;
}

void imap_thread_msg_free(struct imap_thread_msg *m)
{
	for (size_t i = 0; i < m->n_refs; i++)
		free(m->refs[i]);
	free(m->refs);
	free(m->msgid);
	m->refs = NULL;
	m->msgid = NULL;
	m->n_refs = 0;
}

/* ------------------------------------------------------------ nodes */

enum { NONE = -1 };

struct node {
	long msg;     /* index in v, or NONE: a dummy */
	long parent, child, next;
	const char *id; /* its message ID (the hash key), or NULL */
};

struct forest {
	const struct imap_thread_msg *v;
	struct node *nodes;
	size_t n, cap;
	long root;
	long *hash; /* node indexes by message ID; NONE: empty */
	size_t hash_cap;
};

static long new_node(struct forest *f, long msg, const char *id)
{
	if (f->n == f->cap)
		return NONE; /* cap counts every node there can be */
	f->nodes[f->n] = (struct node){msg, NONE, NONE, NONE, id};
	return (long)f->n++;
}

static size_t hash_id(const char *s)
{
	size_t h = 5381;
	for (; *s; s++)
		h = h * 33 + (unsigned char)*s;
	return h;
}

/* The node of message ID id, made (a dummy) when there is none. */
static long id_node(struct forest *f, const char *id)
{
	size_t i = hash_id(id) & (f->hash_cap - 1);
	for (; f->hash[i] != NONE; i = (i + 1) & (f->hash_cap - 1))
		if (strcmp(f->nodes[f->hash[i]].id, id) == 0)
			return f->hash[i];
	long k = new_node(f, NONE, id);
	f->hash[i] = k;
	return k;
}

static const struct imap_thread_msg *msg_of(const struct forest *f, long k)
{
	return f->nodes[k].msg != NONE ? &f->v[f->nodes[k].msg] : NULL;
}

/* Is a an ancestor of b, or b itself? A walk past the depth limit
 * answers yes, so that the link is not made. */
static bool reaches(const struct forest *f, long a, long b)
{
	for (unsigned steps = 0; b != NONE; b = f->nodes[b].parent)
		if (b == a || ++steps >= IMAP_THREAD_DEPTH_MAX)
			return true;
	return false;
}

static void unlink_node(struct forest *f, long c)
{
	long p = f->nodes[c].parent;
	if (p == NONE)
		return;
	long *link = &f->nodes[p].child;
	while (*link != c)
		link = &f->nodes[*link].next;
	*link = f->nodes[c].next;
	f->nodes[c].parent = f->nodes[c].next = NONE;
}

static void link_node(struct forest *f, long p, long c)
{
	f->nodes[c].parent = p;
	f->nodes[c].next = f->nodes[p].child;
	f->nodes[p].child = c;
}

/* ------------------------------------------------------------ REFERENCES */

/* RFC 5256 4, REFERENCES step 1 for message i. */
static void add_message(struct forest *f, size_t i)
{
	const struct imap_thread_msg *m = &f->v[i];
	long me = m->msgid != NULL ? id_node(f, m->msgid) : NONE;
	if (me == NONE || f->nodes[me].msg != NONE) /* none, or a duplicate */
		me = new_node(f, (long)i, NULL);
	else
		f->nodes[me].msg = (long)i;
	long prev = NONE;
	for (size_t r = 0; r < m->n_refs; r++) { /* 1.A */
		long k = id_node(f, m->refs[r]);
		if (prev != NONE && f->nodes[k].parent == NONE &&
		    !reaches(f, k, prev))
			link_node(f, prev, k);
		prev = k;
	}
	/* 1.B: the last reference is the parent, whatever was linked */
	unlink_node(f, me);
	if (prev != NONE && !reaches(f, me, prev))
		link_node(f, prev, me);
}

/* Threads deeper than the limit are cut: the deep parts become threads
 * (so the recursion below is bounded). Breadth first, no recursion. */
static int cut_deep(struct forest *f)
{
	long *queue = malloc(f->n * sizeof(*queue));
	unsigned *depth = malloc(f->n * sizeof(*depth));
	size_t head = 0, tail = 0;
	if (queue == NULL || depth == NULL) {
		free(queue);
		free(depth);
		return -1;
	}
	for (size_t k = 0; k < f->n; k++)
		if (f->nodes[k].parent == NONE && (long)k != f->root) {
			queue[tail] = (long)k;
			depth[tail++] = 0;
		}
	while (head < tail) {
		long k = queue[head];
		unsigned d = depth[head++];
		for (long c = f->nodes[k].child; c != NONE;) {
			long next = f->nodes[c].next;
			if (d + 1 >= IMAP_THREAD_DEPTH_MAX)
				unlink_node(f, c);
			queue[tail] = c;
			depth[tail++] = d + 1 >= IMAP_THREAD_DEPTH_MAX ? 0 : d + 1;
			c = next;
		}
	}
	free(queue);
	free(depth);
	return 0;
}

/* Step 2: every node without a parent goes under the root. */
static void gather_roots(struct forest *f)
{
	for (size_t k = 0; k < f->n; k++)
		if (f->nodes[k].parent == NONE && (long)k != f->root)
			link_node(f, f->root, (long)k);
}

/* Step 4: dummies without children go; a dummy's children take its
 * place, except at the top when there are several of them. */
static void prune(struct forest *f, long p)
{
	long list = f->nodes[p].child, *tail = &f->nodes[p].child;
	*tail = NONE;
	while (list != NONE) {
		long c = list;
		list = f->nodes[c].next;
		f->nodes[c].next = NONE;
		prune(f, c);
		long kids = f->nodes[c].child;
		bool promote = f->nodes[c].msg == NONE &&
			       (p != f->root || kids == NONE ||
				f->nodes[kids].next == NONE);
		if (!promote) {
			*tail = c;
			tail = &f->nodes[c].next;
			continue;
		}
		for (long k = kids; k != NONE; k = f->nodes[k].next) {
			f->nodes[k].parent = p;
			*tail = k;
			tail = &f->nodes[k].next;
		}
		f->nodes[c].child = NONE;
		f->nodes[c].parent = NONE;
	}
}

/* ------------------------------------------------------------ sorting */

/* The message a node is sorted and grouped by: its own, or a dummy's
 * first child's (sorted first). */
static const struct imap_thread_msg *rep(const struct forest *f, long k)
{
	while (f->nodes[k].msg == NONE && f->nodes[k].child != NONE)
		k = f->nodes[k].child;
	return msg_of(f, k);
}

static int cmp_nodes(const void *a, const void *b, void *arg)
{
	const struct forest *f = arg;
	const struct imap_thread_msg *x = rep(f, *(const long *)a);
	const struct imap_thread_msg *y = rep(f, *(const long *)b);
	if (x == NULL || y == NULL)
		return (x == NULL) - (y == NULL);
	if (x->date != y->date)
		return x->date < y->date ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* Sort p's children by sent date (ties: sequence), deepest first when
 * deep. */
static int sort_children(struct forest *f, long p, bool deep)
{
	size_t n = 0;
	for (long c = f->nodes[p].child; c != NONE; c = f->nodes[c].next) {
		if (deep && sort_children(f, c, true) < 0)
			return -1;
		n++;
	}
	long *v = malloc((n + 1) * sizeof(*v));
	if (v == NULL)
		return -1;
	n = 0;
	for (long c = f->nodes[p].child; c != NONE; c = f->nodes[c].next)
		v[n++] = c;
	qsort_r(v, n, sizeof(*v), cmp_nodes, f);
	f->nodes[p].child = n > 0 ? v[0] : NONE;
	for (size_t i = 0; i < n; i++)
		f->nodes[v[i]].next = i + 1 < n ? v[i + 1] : NONE;
	free(v);
	return 0;
}

/* ------------------------------------------------------------ subjects */

static const char *subject_of(const struct forest *f, long k)
{
	const struct imap_thread_msg *m = rep(f, k);
	return m != NULL && m->subject != NULL && m->subject[0] ? m->subject
								 : NULL;
}

static bool is_refwd(const struct forest *f, long k)
{
	return f->nodes[k].msg != NONE && msg_of(f, k)->refwd;
}

struct subject_entry {
	const char *subject; /* the key, kept: a merge changes what a
				dummy's first child is */
	long node;           /* NONE: empty */
};

static struct subject_entry *slot_of(struct subject_entry *table, size_t cap,
				     const char *s)
{
	size_t i = hash_id(s) & (cap - 1);
	while (table[i].node != NONE && strcmp(table[i].subject, s) != 0)
		i = (i + 1) & (cap - 1);
	return &table[i];
}

/* Step 6.A: per base subject, the root that keeps it. */
static void subject_table(struct forest *f, const long *roots, size_t n,
			  struct subject_entry *table, size_t cap)
{
	for (size_t r = 0; r < n; r++) {
		long k = roots[r];
		const char *s = subject_of(f, k);
		if (s == NULL)
			continue;
		struct subject_entry *e = slot_of(table, cap, s);
		long t = e->node;
		if (t == NONE ||
		    (f->nodes[k].msg == NONE && f->nodes[t].msg != NONE) ||
		    (is_refwd(f, t) && !is_refwd(f, k) &&
		     f->nodes[k].msg != NONE))
			*e = (struct subject_entry){s, k};
	}
}

/* Step 6.B for root k, whose subject's table entry is *slot. */
static void merge(struct forest *f, long k, long *slot)
{
	long t = *slot;
	bool kd = f->nodes[k].msg == NONE, td = f->nodes[t].msg == NONE;
	unlink_node(f, k);
	if (kd && td) {
		while (f->nodes[k].child != NONE) {
			long c = f->nodes[k].child;
			unlink_node(f, c);
			link_node(f, t, c);
		}
	} else if (td || (is_refwd(f, k) && !is_refwd(f, t))) {
		link_node(f, t, k);
	} else { /* a new dummy takes t's place with both under it */
		long d = new_node(f, NONE, NULL);
		unlink_node(f, t);
		link_node(f, f->root, d);
		link_node(f, d, t);
		link_node(f, d, k);
		*slot = d;
	}
}

static int group_subjects(struct forest *f)
{
	size_t cap = 16, n = 0;
	while (cap < 2 * f->n)
		cap *= 2;
	struct subject_entry *table = malloc(cap * sizeof(*table));
	long *roots = malloc(f->n * sizeof(*roots));
	if (table == NULL || roots == NULL) {
		free(table);
		free(roots);
		return -1;
	}
	for (size_t i = 0; i < cap; i++)
		table[i].node = NONE;
	for (long k = f->nodes[f->root].child; k != NONE; k = f->nodes[k].next)
		roots[n++] = k;
	subject_table(f, roots, n, table, cap);
	for (size_t r = 0; r < n; r++) {
		long k = roots[r];
		const char *s = subject_of(f, k);
		if (s == NULL || f->nodes[k].parent != f->root)
			continue; /* no subject, or merged away already */
		struct subject_entry *e = slot_of(table, cap, s);
		if (e->node != k)
			merge(f, k, &e->node);
	}
	free(table);
	free(roots);
	return 0;
}

/* ------------------------------------------------------------ output */

/* The members of the thread below node k (RFC 5256 5 thread-list). */
static void write_members(const struct forest *f, long k, struct buf *out)
{
	const struct node *x = &f->nodes[k];
	long c = x->child;
	if (x->msg != NONE)
		buf_appendf(out, "%u", f->v[x->msg].id);
	if (c == NONE)
		return;
	if (f->nodes[c].next == NONE) { /* one child: the thread goes on */
		if (x->msg != NONE)
			buf_append_byte(out, ' ');
		write_members(f, c, out);
		return;
	}
	if (x->msg != NONE)
		buf_append_byte(out, ' ');
	for (; c != NONE; c = f->nodes[c].next) {
		buf_append_byte(out, '(');
		write_members(f, c, out);
		buf_append_byte(out, ')');
	}
}

static void write_threads(const struct forest *f, struct buf *out)
{
	for (long k = f->nodes[f->root].child; k != NONE; k = f->nodes[k].next) {
		buf_append_byte(out, '(');
		write_members(f, k, out);
		buf_append_byte(out, ')');
	}
}

/* ------------------------------------------------------------ algorithms */

static int cmp_subject(const void *a, const void *b, void *arg)
{
	const struct imap_thread_msg *v = arg;
	const struct imap_thread_msg *x = &v[*(const long *)a];
	const struct imap_thread_msg *y = &v[*(const long *)b];
	int r = strcmp(x->subject != NULL ? x->subject : "",
		       y->subject != NULL ? y->subject : "");
	if (r != 0)
		return r;
	if (x->date != y->date)
		return x->date < y->date ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* ORDEREDSUBJECT: by base subject, then date; each run of one subject is
 * a thread whose first message is the parent of the others. */
static int ordered_subject(struct forest *f, size_t n)
{
	long *order = malloc((n + 1) * sizeof(*order));
	if (order == NULL)
		return -1;
	for (size_t i = 0; i < n; i++)
		order[i] = (long)i;
	qsort_r(order, n, sizeof(*order), cmp_subject, (void *)f->v);
	long head = NONE;
	const char *subject = NULL;
	for (size_t i = 0; i < n; i++) {
		const char *s = f->v[order[i]].subject ? f->v[order[i]].subject
						       : "";
		long k = new_node(f, order[i], NULL);
		if (head != NONE && strcmp(s, subject) == 0) {
			link_node(f, head, k);
			continue;
		}
		link_node(f, f->root, k);
		head = k;
		subject = s;
	}
	free(order);
	return 0;
}

int imap_thread(const struct imap_thread_msg *v, size_t n,
		enum imap_thread_alg alg, struct buf *out)
{
	struct forest f = {.v = v};
	size_t refs = 0;
	for (size_t i = 0; i < n; i++)
		refs += v[i].n_refs;
	/* messages, referenced IDs, subject dummies (at most one per
	 * message), the root */
	f.cap = 2 * n + refs + 1;
	f.hash_cap = 16;
	while (f.hash_cap < 2 * (n + refs))
		f.hash_cap *= 2;
	f.nodes = malloc(f.cap * sizeof(*f.nodes));
	f.hash = malloc(f.hash_cap * sizeof(*f.hash));
	int rc = -1;
	if (f.nodes == NULL || f.hash == NULL)
		goto done;
	f.root = new_node(&f, NONE, NULL);
	if (alg == THREAD_ORDEREDSUBJECT) {
		if (ordered_subject(&f, n) < 0)
			goto done;
	} else {
		for (size_t i = 0; i < f.hash_cap; i++)
			f.hash[i] = NONE;
		for (size_t i = 0; i < n; i++)
			add_message(&f, i);
		if (cut_deep(&f) < 0)
			goto done;
		gather_roots(&f);
		prune(&f, f.root);
		/* step 5 (deep: a dummy is placed by its first child) */
		if (sort_children(&f, f.root, true) < 0 ||
		    group_subjects(&f) < 0)
			goto done;
	}
	if (sort_children(&f, f.root, true) < 0) /* step 7 */
		goto done;
	write_threads(&f, out);
	rc = 0;
done:
	free(f.nodes);
	free(f.hash);
	return rc;
}
