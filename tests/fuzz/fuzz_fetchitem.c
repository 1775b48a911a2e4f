/* libFuzzer target: FETCH attributes and section specs (src/imapd/
 * fetchitem.c).
 *
 * Input: the first byte chooses; 0-127: the rest is one attribute, as the
 * command parser hands it over ("BODY.PEEK[1.HEADER.FIELDS (A)]<0.9>");
 * 128-255: the rest is a FETCH command line's arguments, parsed by
 * imapd/parse.c and then as an attribute list.
 *
 * Checked: a result or an error message, never both; what is accepted
 * keeps the limits: part numbers 1..4294967295, at most FETCH_PARTS_MAX
 * of them, at most FETCH_FIELDS_MAX names of at most FETCH_FIELD_NAME_MAX
 * bytes, a partial's count at least 1, MIME only after part numbers,
 * BINARY with part numbers only. */
#include "imapd/fetchitem.h"
#include "imapd/parse.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define CHECK(cond)                                                            \
	do {                                                                   \
		if (!(cond))                                                   \
			__builtin_trap();                                      \
	} while (0)

static void check_att(const struct fetch_att *a)
{
	const struct fetch_section *s = &a->section;
	CHECK(s->n_parts <= FETCH_PARTS_MAX && s->n_fields <= FETCH_FIELDS_MAX);
	for (size_t i = 0; i < s->n_parts; i++)
		CHECK(s->parts[i] != 0);
	for (size_t i = 0; i < s->n_fields; i++)
		CHECK(s->fields[i].len <= FETCH_FIELD_NAME_MAX);
	bool fields = s->text == FETCH_TEXT_HEADER_FIELDS ||
	              s->text == FETCH_TEXT_HEADER_FIELDS_NOT;
	CHECK(fields == (s->n_fields > 0));
	CHECK(s->text != FETCH_TEXT_MIME || s->n_parts > 0);
	if (a->kind == FETCH_BINARY || a->kind == FETCH_BINARY_SIZE)
		CHECK(s->text == FETCH_TEXT_NONE);
	if (a->partial)
		CHECK(a->count >= 1 && a->kind != FETCH_BINARY_SIZE);
}

static void one(const char *s, size_t n)
{
	struct fetch_att a;
	const char *err = NULL;
	if (fetch_att_parse(s, n, &a, &err) == 0) {
		check_att(&a);
		fetch_att_free(&a);
	} else {
		CHECK(err != NULL && a.mem == NULL);
	}
}

static void command(const char *s, size_t n)
{
	struct imap_parse_limits lim;
	imap_parse_limits_init(&lim, false, 4096);
	struct imap_parser *p = imap_parser_new(&lim);
	CHECK(p != NULL);
	char *line = malloc(n + 16);
	CHECK(line != NULL);
	memcpy(line, "a FETCH 1 ", 10);
	memcpy(line + 10, s, n);
	memcpy(line + 10 + n, "\r\n", 2);
	size_t used;
	if (imap_parser_feed(p, line, n + 12, &used) == IMAP_PARSE_DONE) {
		const struct imap_command *c = imap_parser_command(p);
		struct fetch_list l;
		const char *err = NULL;
		if (c->n_args > 0 &&
		    fetch_list_parse(c->args, c->n_args, c->args[0].next, &l,
		                     &err) == 0) {
			CHECK(l.n > 0 && l.n <= FETCH_ATTS_MAX);
			for (size_t i = 0; i < l.n; i++)
				check_att(&l.v[i]);
		} else if (c->n_args > 0) {
			CHECK(err != NULL);
		}
		if (c->n_args > 0)
			fetch_list_free(&l);
	}
	free(line);
	imap_parser_free(&p);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0;
	const char *s = (const char *)data + 1;
	if (data[0] < 128)
		one(s, size - 1);
	else
		command(s, size - 1);
	return 0;
}
