/* libFuzzer target: the folder index files (src/store/uidlist.c) and
 * Maildir file names (src/store/mdname.c). Pure parsing, no file I/O.
 *
 * The input is fed to every parser. What each accepts must be what
 * uidlist.h promises, and must survive a round trip through the writer:
 *   dovecot-uidlist: UIDs ascend, 0 < uid < 2^32 - 1, next_uid above every
 *   one, names inside the input and valid; written back and parsed again,
 *   the same header and records.
 *   dovecot-keywords: indexes 0..25, valid names, no two equal without
 *   case; written back, the same names.
 *   postern-modseq: one record per UID, ascending, none above highest.
 *   file names: the flags of a name, written again with its base, read
 *   back the same (when the name fits). */
#include "lib/buf.h"
#include "store/mdname.h"
#include "store/uidlist.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define CHECK(cond)                                                            \
	do {                                                                   \
		if (!(cond))                                                   \
			__builtin_trap();                                      \
	} while (0)

static void check_uidlist(const char *data, size_t len)
{
	struct uidlist ul, back;
	const char *why = NULL;
	if (uidlist_parse(data, len, 1000, &ul, &why) < 0) {
		CHECK(why != NULL && ul.n == 0 && ul.recs == NULL);
		return;
	}
	CHECK(ul.uidvalidity > 0 && ul.next_uid > 0);
	struct buf out;
	buf_init(&out, 0);
	CHECK(uidlist_format_header(ul.uidvalidity, ul.next_uid,
				    ul.guid[0] ? ul.guid : "0", &out) == 0);
	for (size_t i = 0; i < ul.n; i++) {
		const struct uidlist_rec *r = &ul.recs[i];
		CHECK(r->uid > 0 && r->uid < UINT32_MAX && r->uid < ul.next_uid);
		CHECK(i == 0 || r->uid > ul.recs[i - 1].uid);
		CHECK(r->name >= data && r->name + r->name_len <= data + len);
		CHECK(mdname_valid(r->name, r->name_len));
		CHECK(uidlist_format_rec(r->uid, r->name, r->name_len, &out) == 0);
	}
	CHECK(uidlist_parse(out.data, out.len, 1000, &back, &why) == 0);
	CHECK(back.uidvalidity == ul.uidvalidity && back.next_uid == ul.next_uid);
	CHECK(back.n == ul.n && back.skipped == 0 && !back.torn);
	for (size_t i = 0; i < ul.n; i++)
		CHECK(back.recs[i].uid == ul.recs[i].uid &&
		      back.recs[i].name_len == ul.recs[i].name_len &&
		      memcmp(back.recs[i].name, ul.recs[i].name,
			     ul.recs[i].name_len) == 0);
	uidlist_free(&back);
	uidlist_free(&ul);
	buf_free(&out);
}

static void check_keywords(const char *data, size_t len)
{
	char *names[STORE_KEYWORDS_MAX], *back[STORE_KEYWORDS_MAX];
	keywords_parse(data, len, names);
	for (int i = 0; i < STORE_KEYWORDS_MAX; i++) {
		if (names[i] == NULL)
			continue;
		CHECK(keyword_valid(names[i], strlen(names[i])));
		for (int j = 0; j < i; j++)
			CHECK(names[j] == NULL || strcasecmp(names[i], names[j]) != 0);
	}
	struct buf out;
	buf_init(&out, 0);
	CHECK(keywords_format(names, &out) == 0);
	CHECK(keywords_parse(out.data ? out.data : "", out.len, back) == 0);
	for (int i = 0; i < STORE_KEYWORDS_MAX; i++)
		CHECK((names[i] == NULL) == (back[i] == NULL) &&
		      (names[i] == NULL || strcmp(names[i], back[i]) == 0));
	keywords_free(names);
	keywords_free(back);
	buf_free(&out);
}

static void check_modseq(const char *data, size_t len)
{
	struct modseq_file mf;
	const char *why = NULL;
	if (modseq_parse(data, len, 1000, &mf, &why) < 0) {
		CHECK(why != NULL && mf.n == 0);
		return;
	}
	CHECK(mf.n <= mf.lines && mf.lines <= 1000);
	for (size_t i = 0; i < mf.n; i++) {
		CHECK(mf.recs[i].uid > 0 && mf.recs[i].modseq <= mf.highest);
		CHECK(i == 0 || mf.recs[i].uid > mf.recs[i - 1].uid);
		CHECK(modseq_lookup(&mf, mf.recs[i].uid) == mf.recs[i].modseq);
	}
	modseq_free(&mf);
}

static void check_name(const char *data, size_t len)
{
	uint32_t flags, keywords, f2, k2;
	uint64_t s, w;
	char out[MDNAME_MAX + 1], name[MDNAME_MAX + 1];
	if (len > MDNAME_MAX || memchr(data, '\0', len) != NULL)
		return;
	memcpy(name, data, len);
	name[len] = '\0';
	size_t base = mdname_base_len(name, len);
	CHECK(base <= len);
	mdname_sizes(name, base, &s, &w);
	mdname_flags(name, len, &flags, &keywords);
	CHECK(flags < (1u << 26) && keywords < (1u << 26));
	int n = mdname_with_flags(name, base, flags, keywords, name, out);
	if (n < 0 || memchr(name, ':', base) != NULL)
		return;
	CHECK((size_t)n == strlen(out) && memcmp(out, name, base) == 0);
	mdname_flags(out, (size_t)n, &f2, &k2);
	CHECK(f2 == flags && k2 == keywords);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *p = (const char *)data;
	check_uidlist(p, size);
	check_keywords(p, size);
	check_modseq(p, size);
	check_name(p, size);
	return 0;
}
