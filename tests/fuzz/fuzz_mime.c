/* libFuzzer target: the MIME structure parser (src/mail/mime.c), which
 * answers IMAP BODYSTRUCTURE, BODY[section] and ENVELOPE for any mail that
 * lands in a mailbox, hostile or not.
 *
 * Input: the message itself.
 *
 * The parse never fails. Every part lies in the message, its children in
 * order inside its body; body_lines is the count of the body's lines; a
 * multipart has at least one part and a message/rfc822 exactly one, which
 * starts where its body starts and ends where it ends; depth, part and
 * parameter limits hold; types and parameter names are lower-case tokens.
 * Every part that has an IMAP section number is found again by it, as
 * numbers and as text. Envelope values lie in the header they came from.
 * When the input has no CR, the same message with CRLF line ends gives the
 * same tree (shape, types, parameters, line counts). */
#include "mail/mime.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CHECK(cond)                                                            \
	do {                                                                   \
		if (!(cond))                                                   \
			__builtin_trap();                                      \
	} while (0)

/* section checks cost O(siblings) each: enough parts to matter, no more */
enum { SECTION_CHECKS = 2000, PATH_MAX_NUMS = 2 * MIME_DEPTH_MAX + 4 };

struct walk {
	const char *msg;
	size_t len;
	const struct mime_msg *m;
	size_t parts;
	size_t checked;
	unsigned path[PATH_MAX_NUMS];
};

static size_t count_lines(const char *s, size_t n)
{
	size_t c = 0;
	for (size_t i = 0; i < n; i++)
		c += s[i] == '\n';
	return c + (n > 0 && s[n - 1] != '\n');
}

static void check_token(struct mime_str s)
{
	CHECK(s.p != NULL && s.len > 0 && s.len <= MIME_TOKEN_MAX);
	for (size_t i = 0; i < s.len; i++)
		CHECK(s.p[i] > 32 && s.p[i] < 127 &&
		      !(s.p[i] >= 'A' && s.p[i] <= 'Z'));
}

static void check_params(const struct mime_params *ps)
{
	CHECK(ps->n <= MIME_PARAMS_MAX);
	for (size_t i = 0; i < ps->n; i++) {
		const struct mime_param *p = &ps->v[i];
		check_token(p->name);
		CHECK(p->value.p != NULL &&
		      p->value.len <= MIME_PARAM_VALUE_MAX);
	}
	CHECK(mime_param(ps, "") == NULL);
}

/* The IMAP section of p is w->path[0..n); check it finds p. */
static void check_section(struct walk *w, const struct mime_part *p, size_t n)
{
	if (w->checked++ >= SECTION_CHECKS)
		return;
	CHECK(mime_section_nums(w->m, w->path, n) == p);
	char text[PATH_MAX_NUMS * 6];
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		int r = snprintf(text + k, sizeof(text) - k, "%s%u",
		                 i > 0 ? "." : "", w->path[i]);
		CHECK(r > 0 && (size_t)r < sizeof(text) - k);
		k += (size_t)r;
	}
	CHECK(mime_section(w->m, text, k) == p);
}

static void check_part(struct walk *w, const struct mime_part *p);

/* The parts below p, p's section being path[0..n). A message/rfc822's
 * numbers go on in the encapsulated message: a multipart there has no
 * number of its own, any other message is part 1. */
static void check_children(struct walk *w, const struct mime_part *p, size_t n)
{
	size_t end = p->body_off + p->body_len, at = p->body_off, k = 0;
	for (const struct mime_part *c = p->child; c != NULL; c = c->next) {
		CHECK(c->parent == p && c->depth == p->depth + 1);
		CHECK(c->header_off >= at);
		at = c->body_off + c->body_len;
		CHECK(at <= end);
		k++;
		CHECK(n < PATH_MAX_NUMS);
		bool own =
		        p->kind == MIME_MULTIPART || c->kind != MIME_MULTIPART;
		w->path[n] = p->kind == MIME_MULTIPART ? (unsigned)k : 1;
		if (own)
			check_section(w, c, n + 1);
		check_part(w, c);
		check_children(w, c, own ? n + 1 : n);
	}
	CHECK(k == p->n_children);
	if (p->kind == MIME_MESSAGE)
		CHECK(k == 1 && p->child->header_off == p->body_off &&
		      at == end);
}

static void check_part(struct walk *w, const struct mime_part *p)
{
	w->parts++;
	size_t end = p->body_off + p->body_len;
	CHECK(p->header_off <= p->body_off && end <= w->len);
	CHECK(p->body_lines == count_lines(w->msg + p->body_off, p->body_len));
	CHECK(p->depth <= MIME_DEPTH_MAX);
	check_token(p->type);
	check_token(p->subtype);
	check_token(p->encoding);
	if (p->disposition.p != NULL)
		check_token(p->disposition);
	check_params(&p->type_params);
	check_params(&p->disposition_params);
	CHECK((p->kind == MIME_LEAF) == (p->child == NULL));
	if (p->kind == MIME_MULTIPART)
		CHECK(p->n_children >= 1 && p->depth < MIME_DEPTH_MAX);

	struct mime_envelope env;
	mime_envelope(w->m, p, &env);
	for (size_t i = 0; i < MIME_ENV_COUNT; i++)
		if (env.field[i].p != NULL)
			CHECK(env.field[i].p >= w->msg + p->header_off &&
			      env.field[i].p + env.field[i].len <=
			              w->msg + p->body_off);
}

static bool same_str(struct mime_str a, struct mime_str b)
{
	return (a.p == NULL) == (b.p == NULL) && a.len == b.len &&
	       (a.len == 0 || memcmp(a.p, b.p, a.len) == 0);
}

static bool same_params(const struct mime_params *a,
                        const struct mime_params *b)
{
	if (a->n != b->n)
		return false;
	for (size_t i = 0; i < a->n; i++)
		if (!same_str(a->v[i].name, b->v[i].name) ||
		    !same_str(a->v[i].value, b->v[i].value))
			return false;
	return true;
}

/* The same tree, whatever the line ends. */
static void same_tree(const struct mime_part *a, const struct mime_part *b)
{
	for (; a != NULL && b != NULL; a = a->next, b = b->next) {
		CHECK(a->kind == b->kind && a->flags == b->flags);
		CHECK(a->n_children == b->n_children && a->depth == b->depth);
		CHECK(a->body_lines == b->body_lines);
		CHECK(same_str(a->type, b->type) &&
		      same_str(a->subtype, b->subtype));
		CHECK(same_str(a->encoding, b->encoding));
		CHECK(same_str(a->id, b->id) &&
		      same_str(a->description, b->description));
		CHECK(same_params(&a->type_params, &b->type_params));
		CHECK(same_params(&a->disposition_params,
		                  &b->disposition_params));
		same_tree(a->child, b->child);
	}
	CHECK(a == NULL && b == NULL);
}

static void crlf_twin(const char *msg, size_t len, const struct mime_msg *m)
{
	if (memchr(msg, '\r', len) != NULL)
		return;
	char *twin = malloc(2 * len + 1);
	CHECK(twin != NULL);
	size_t n = 0;
	for (size_t i = 0; i < len; i++) {
		if (msg[i] == '\n')
			twin[n++] = '\r';
		twin[n++] = msg[i];
	}
	struct mime_msg *t = mime_parse(twin, n);
	CHECK(t != NULL);
	CHECK(mime_part_count(t) == mime_part_count(m));
	CHECK(mime_limits(t) == mime_limits(m));
	same_tree(mime_root(m), mime_root(t));
	mime_msg_free(&t);
	free(twin);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *msg = (const char *)data;
	struct mime_msg *m = mime_parse(msg, size);
	CHECK(m != NULL);
	struct walk w = {.msg = msg, .len = size, .m = m};
	const struct mime_part *root = mime_root(m);
	CHECK(root != NULL && root->header_off == 0 && root->depth == 0);
	CHECK(root->body_off + root->body_len == size);
	CHECK(mime_section(m, "", 0) == root);
	check_part(&w, root);
	bool multi = root->kind == MIME_MULTIPART;
	w.path[0] = 1;
	if (!multi)
		check_section(&w, root, 1);
	check_children(&w, root, multi ? 0 : 1);
	CHECK(w.parts == mime_part_count(m) && w.parts <= MIME_PARTS_MAX);
	crlf_twin(msg, size, m);
	mime_msg_free(&m);
	CHECK(m == NULL);
	return 0;
}
