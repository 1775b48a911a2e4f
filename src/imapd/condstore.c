/* condstore: what CONDSTORE and QRESYNC (RFC 7162) add to SELECT, FETCH
 * and the untagged updates: the SELECT parameters, mod-sequence
 * arguments, VANISHED (EARLIER) and the QRESYNC resynchronisation that
 * follows a SELECT. The store keeps a modseq per message and a highest
 * modseq per folder (store/mailbox.h); the commands use them here.
 *
 *   select-params = SP "(" select-param *(SP select-param) ")"
 *   select-param  = "CONDSTORE" / "QRESYNC" SP "(" uidvalidity SP
 *                   mod-sequence-value [SP known-uids]
 *                   [SP seq-match-data] ")"
 *   seq-match-data = "(" known-sequence-set SP known-uid-set ")" */
#include "imapd/imapd.h"

#include "imapd/seqset.h"

#include <stdlib.h>
#include <string.h>

/* RFC 7162 7: mod-sequence-value = 1*DIGIT, at most 2^63-1 */
bool imapd_arg_modseq(const struct imap_arg *a, bool zero_ok, uint64_t *out)
{
	return a->type == IMAP_ARG_ATOM &&
	       imap_parse_number(a->str, a->len, 19, INT64_MAX, out) == 0 &&
	       (zero_ok || *out > 0);
}

/* Parse a UID set into ranges (at most IMAP_KNOWN_UIDS_MAX); malloc'd. */
static int parse_set(const char *p, size_t len, struct imap_seqset *ss,
		     const char **error_r)
{
	memset(ss, 0, sizeof(*ss));
	ss->cap = IMAP_KNOWN_UIDS_MAX;
	ss->ranges = calloc(ss->cap, sizeof(*ss->ranges));
	if (ss->ranges == NULL) {
		*error_r = "Out of memory";
		return -1;
	}
	if (imap_seqset_parse(p, len, ss, error_r) < 0 || ss->saved) {
		if (ss->saved)
			*error_r = "$ is not a UID set here";
		free(ss->ranges);
		ss->ranges = NULL;
		return -1;
	}
	return 0;
}

static bool valid_set(const struct imap_arg *a)
{
	struct imap_seqset ss;
	const char *why;
	if (a->type != IMAP_ARG_ATOM || parse_set(a->str, a->len, &ss, &why) < 0)
		return false;
	free(ss.ranges);
	return true;
}

/* The list after QRESYNC, args[i]. */
static int parse_qresync(const struct imap_command *cmd, uint32_t i,
			 struct imap_qresync *q, const char **error_r)
{
	const struct imap_arg *l = &cmd->args[i];
	const struct imap_arg *m = &cmd->args[i + 1];
	*error_r = "Syntax: QRESYNC (uidvalidity modseq [known-uids "
		   "[(sequences uids)]])";
	if (l->type != IMAP_ARG_LIST || l->count < 2 || l->count > 4 ||
	    !imap_arg_nz_number(m, &q->uidvalidity) ||
	    !imapd_arg_modseq(&cmd->args[m->next], false, &q->modseq))
		return -1;
	q->given = true;
	uint32_t k = cmd->args[m->next].next;
	if (l->count >= 3) {
		if (!valid_set(&cmd->args[k]))
			return -1;
		q->known_uids = cmd->args[k].str;
		q->known_len = cmd->args[k].len;
		k = cmd->args[k].next;
	}
	if (l->count == 4) { /* checked, then not needed: see imapd_vanished */
		const struct imap_arg *d = &cmd->args[k];
		if (d->type != IMAP_ARG_LIST || d->count != 2 ||
		    !valid_set(&cmd->args[k + 1]) ||
		    !valid_set(&cmd->args[cmd->args[k + 1].next]))
			return -1;
	}
	return 0;
}

int imapd_select_params(const struct imap_command *cmd, uint32_t i,
			bool *condstore, struct imap_qresync *q,
			const char **error_r)
{
	memset(q, 0, sizeof(*q));
	if (i >= cmd->n_args)
		return 0;
	const struct imap_arg *l = &cmd->args[i];
	*error_r = "Syntax: SELECT mailbox [(CONDSTORE) / (QRESYNC (...))]";
	if (l->type != IMAP_ARG_LIST || l->next != cmd->n_args || l->count == 0)
		return -1;
	for (uint32_t k = i + 1; k < l->next; k = cmd->args[k].next) {
		const struct imap_arg *a = &cmd->args[k];
		if (imap_arg_atom_is(a, "CONDSTORE")) {
			*condstore = true;
		} else if (imap_arg_atom_is(a, "QRESYNC") && !q->given &&
			   a->next < l->next) {
			k = a->next;
			if (parse_qresync(cmd, k, q, error_r) < 0)
				return -1;
		} else {
			return -1;
		}
	}
	return 0;
}

void imapd_write_numbers(struct buf *out, const uint32_t *v, size_t n)
{
	for (size_t i = 0; i < n;) {
		size_t j = i;
		while (j + 1 < n && v[j + 1] == v[j] + 1)
			j++;
		buf_appendf(out, "%s%u", i ? "," : "", v[i]);
		if (j > i)
			buf_appendf(out, ":%u", v[j]);
		i = j + 1;
	}
}

static int cmp_range(const void *a, const void *b)
{
	const struct imap_seq_range *x = a, *y = b;
	return x->first < y->first ? -1 : x->first > y->first;
}

/* The set's ranges ordered, "*" resolved, cut at top, sorted and merged
 * into disjoint ascending ranges; *n_r of them. */
static size_t normalise(struct imap_seq_range *r, size_t n, uint32_t star,
			uint32_t top)
{
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		uint32_t a = r[i].first == IMAP_SEQ_STAR ? star : r[i].first;
		uint32_t b = r[i].last == IMAP_SEQ_STAR ? star : r[i].last;
		if (a > b) {
			uint32_t t = a;
			a = b;
			b = t;
		}
		if (b > top)
			b = top;
		if (a >= 1 && a <= b)
			r[k++] = (struct imap_seq_range){a, b};
	}
	qsort(r, k, sizeof(*r), cmp_range);
	size_t m = 0;
	for (size_t i = 0; i < k; i++) {
		if (m > 0 && (uint64_t)r[i].first <= (uint64_t)r[m - 1].last + 1) {
			if (r[i].last > r[m - 1].last)
				r[m - 1].last = r[i].last;
		} else {
			r[m++] = r[i];
		}
	}
	return m;
}

/* "a" or "a:b" for the UIDs of [a, b] that no message has, appended. */
static void write_gaps(const struct store_msg *msgs, size_t count,
		       uint32_t a, uint32_t b, struct buf *out, bool *first)
{
	size_t lo = 0, hi = count; /* the first message with UID >= a */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (msgs[mid].uid < a)
			lo = mid + 1;
		else
			hi = mid;
	}
	uint64_t next = a; /* the first UID not yet looked at */
	for (size_t i = lo; next <= b; i++) {
		uint64_t end = i < count && msgs[i].uid <= b ? msgs[i].uid
							     : (uint64_t)b + 1;
		if (end > next) {
			buf_appendf(out, "%s%llu", *first ? "" : ",",
				    (unsigned long long)next);
			if (end - 1 > next)
				buf_appendf(out, ":%llu",
					    (unsigned long long)(end - 1));
			*first = false;
		}
		next = end + 1;
	}
}

int imapd_vanished(struct store_mailbox *mb, const char *set, size_t len,
		   uint64_t modseq, struct buf *out, const char **error_r)
{
	size_t count = store_mailbox_count(mb);
	const struct store_msg *msgs = store_mailbox_msgs(mb);
	uint32_t top = store_mailbox_uidnext(mb) - 1;
	struct imap_seqset ss = {0};
	struct imap_seq_range all = {1, IMAP_SEQ_STAR};
	if (set != NULL && parse_set(set, len, &ss, error_r) < 0)
		return -1;
	if (modseq >= store_mailbox_highestmodseq(mb))
		goto done; /* nothing at all changed since */
	struct imap_seq_range *r = set != NULL ? ss.ranges : &all;
	size_t n = normalise(r, set != NULL ? ss.n : 1,
			     count > 0 ? msgs[count - 1].uid : top, top);
	size_t mark = out->len;
	bool first = true;
	buf_append_str(out, "* VANISHED (EARLIER) ");
	for (size_t i = 0; i < n; i++)
		write_gaps(msgs, count, r[i].first, r[i].last, out, &first);
	if (first)
		buf_truncate(out, mark); /* nothing vanished: no response */
	else
		buf_append_str(out, "\r\n");
done:
	free(ss.ranges);
	return 0;
}

void imapd_qresync_select(struct imap_session *s, const struct imap_qresync *q,
			  struct buf *out)
{
	const char *why;
	struct store_mailbox *mb = s->mb;
	/* RFC 7162 3.2.5: another UIDVALIDITY makes it a plain SELECT */
	if (!q->given || q->uidvalidity != store_mailbox_uidvalidity(mb))
		return;
	imapd_vanished(mb, q->known_uids, q->known_len, q->modseq, out, &why);
	const struct store_msg *msgs = store_mailbox_msgs(mb);
	for (size_t i = 0; i < store_mailbox_count(mb); i++) {
		if (msgs[i].modseq <= q->modseq)
			continue;
		buf_appendf(out, "* %zu FETCH (UID %u FLAGS ", i + 1,
			    msgs[i].uid);
		imapd_write_flags(mb, &msgs[i], out);
		buf_appendf(out, " MODSEQ (%llu))\r\n",
			    (unsigned long long)msgs[i].modseq);
	}
}
