/* Tests for src/imapd/sort.c and src/imapd/thread.c: base subjects by the
 * rules of RFC 5256 2.1 (table), sent dates, SORT criteria (through the
 * real command parser, whole and a byte at a time), ordering, message-ID
 * lists, and ORDEREDSUBJECT and REFERENCES threading of small known
 * sets. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "imapd/parse.h"
#include "imapd/sort.h"
#include "imapd/thread.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------ subjects */

static const struct {
	const char *in, *base;
	bool refwd;
} subjects[] = {
	{"Hello", "HELLO", false},
	{"Re: Hello", "HELLO", true},
	{"RE: re: Hello", "HELLO", true},
	{"Fwd: Hello", "HELLO", true},
	{"FW: Hello", "HELLO", true},
	{"Re[2]: Hello", "HELLO", true},          /* blob inside subj-refwd */
	{"[list] Re: Hello", "HELLO", true},      /* blob before it */
	{"Re: [list] Hello", "HELLO", true},      /* blob after: step 4 */
	{"[list] Hello", "HELLO", false},
	{"[only a blob]", "[ONLY A BLOB]", false}, /* would leave nothing */
	{"Hello (fwd)", "HELLO", true},
	{"Hello (fwd) (FWD)  ", "HELLO", true},
	{"[Fwd: Hello]", "HELLO", true},           /* step 6 */
	{"[Fwd: Re: Hello (fwd)]", "HELLO", true},
	{"  Hello\t  world\r\n again ", "HELLO WORLD AGAIN", false},
	{"Re:Hello", "HELLO", true},
	{"Reply: Hello", "REPLY: HELLO", false},   /* not "re" + ":" */
	{"Re", "RE", false},
	{"", "", false},
	{"Re: ", "", true},
	{"=?utf-8?q?Caf=C3=A9?=", "=?UTF-8?Q?CAF=C3=A9?=", false},
};

static void test_base_subjects(void **state)
{
	struct buf b;
	buf_init(&b, 0);
	for (size_t i = 0; i < sizeof(subjects) / sizeof(subjects[0]); i++) {
		bool refwd;
		assert_int_equal(imap_base_subject(subjects[i].in,
						   strlen(subjects[i].in), &b,
						   &refwd),
				 0);
		char got[256];
		snprintf(got, sizeof(got), "%.*s", (int)b.len,
			 b.data ? b.data : "");
		if (strcmp(got, subjects[i].base) != 0 ||
		    refwd != subjects[i].refwd)
			fail_msg("\"%s\": got \"%s\" refwd=%d", subjects[i].in,
				 got, refwd);
	}
	buf_free(&b);
}

/* ------------------------------------------------------------ dates */

static void test_sent_dates(void **state)
{
	int64_t t;
	assert_true(imap_sent_date("Tue, 5 Mar 2024 10:00:00 -0800", 30, &t));
	assert_int_equal(t, 1709661600); /* 18:00 UTC */
	assert_true(imap_sent_date("5 Mar 2024 18:00 +0000", 22, &t));
	assert_int_equal(t, 1709661600);
	assert_true(imap_sent_date(" Thu, 01 Jan 1970 00:00:01 GMT", 31, &t));
	assert_int_equal(t, 1);
	assert_true(imap_sent_date("1 Jan 70 00:00:00 EST", 21, &t));
	assert_int_equal(t, 18000);
	assert_false(imap_sent_date("yesterday", 9, &t));
	assert_false(imap_sent_date("5 Foo 2024 10:00", 16, &t));
	assert_false(imap_sent_date("5 Mar 2024", 10, &t));
	assert_false(imap_sent_date("40 Mar 2024 10:00", 17, &t));
}

/* ------------------------------------------------------------ criteria */

/* "t SORT <rest>" through the parser, whole or a byte at a time; the
 * criteria of its first argument. */
static int parse_crit(const char *rest, bool trickle,
		      struct imap_sort_crit *c, size_t *n)
{
	struct imap_parse_limits lim;
	imap_parse_limits_init(&lim, false, 1024);
	struct imap_parser *p = imap_parser_new(&lim);
	char line[512];
	snprintf(line, sizeof(line), "t SORT %s\r\n", rest);
	size_t len = strlen(line), off = 0, used;
	enum imap_parse_result r = IMAP_PARSE_MORE;
	while (off < len && r == IMAP_PARSE_MORE) {
		r = imap_parser_feed(p, line + off, trickle ? 1 : len - off,
				     &used);
		off += used;
	}
	assert_int_equal(r, IMAP_PARSE_DONE);
	const struct imap_command *cmd = imap_parser_command(p);
	const char *why;
	int rc = imap_sort_parse(cmd->args, cmd->n_args, 0, c, n, &why);
	imap_parser_free(&p);
	return rc;
}

static void test_sort_criteria(void **state)
{
	struct imap_sort_crit c[IMAP_SORT_CRITERIA_MAX];
	size_t n;
	for (int trickle = 0; trickle < 2; trickle++) {
		assert_int_equal(parse_crit("(REVERSE date subject) UTF-8 ALL",
					    trickle, c, &n), 0);
		assert_int_equal(n, 2);
		assert_int_equal(c[0].key, SORT_DATE);
		assert_true(c[0].reverse);
		assert_int_equal(c[1].key, SORT_SUBJECT);
		assert_false(c[1].reverse);
		assert_int_equal(parse_crit("(ARRIVAL CC FROM SIZE TO) x ALL",
					    trickle, c, &n), 0);
		assert_int_equal(n, 5);
		assert_int_equal(c[4].key, SORT_TO);
	}
	const char *bad[] = {"() UTF-8 ALL", "(REVERSE) UTF-8 ALL",
			     "(REVERSE REVERSE DATE) x ALL", "(DATE NAME) x ALL",
			     "DATE UTF-8 ALL", "((DATE)) x ALL",
			     "(A A A A A A A A A A A A A A A A A) x ALL"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(parse_crit(bad[i], false, c, &n), -1);
	char many[512] = "(";
	for (int i = 0; i < IMAP_SORT_CRITERIA_MAX + 1; i++)
		strcat(many, i ? " SIZE" : "SIZE");
	strcat(many, ") x ALL");
	assert_int_equal(parse_crit(many, false, c, &n), -1);
}

/* ------------------------------------------------------------ ordering */

static const char *const headers[] = {
	"From: Zed <zed@example.org>\r\nTo: b@example.org\r\n"
	"Subject: Re: Apples\r\nDate: 2 Jan 2023 10:00:00 +0000\r\n\r\n",
	"From: \"Amy\" <AMY@example.org>\r\nCc: x@example.org\r\n"
	"Subject: bananas\r\nDate: 1 Jan 2023 10:00:00 +0000\r\n\r\n",
	"From: mid@example.org\r\nSubject: [list] apples\r\n\r\n",
};

static void test_sort_order(void **state)
{
	struct imap_sort_msg m[3];
	for (size_t i = 0; i < 3; i++) {
		memset(&m[i], 0, sizeof(m[i]));
		m[i].seq = m[i].id = (uint32_t)i + 1;
		m[i].arrival = 1000 - (int64_t)i;
		m[i].size = 10 * (3 - i);
		assert_int_equal(imap_sort_msg_fill(&m[i], headers[i],
						    strlen(headers[i])), 0);
	}
	assert_string_equal(m[0].from, "ZED");
	assert_string_equal(m[1].from, "AMY");
	assert_string_equal(m[1].cc, "X");
	assert_string_equal(m[2].to, "");
	assert_string_equal(m[0].subject, "APPLES");
	assert_int_equal(m[2].date, 998); /* no Date: the arrival */
	struct imap_sort_crit by_subject[] = {{SORT_SUBJECT, false},
					      {SORT_DATE, true}};
	imap_sort(m, 3, by_subject, 2);
	/* APPLES (2 Jan) and APPLES (no date: 1970) reversed by date; then
	 * BANANAS */
	assert_int_equal(m[0].seq, 1);
	assert_int_equal(m[1].seq, 3);
	assert_int_equal(m[2].seq, 2);
	struct imap_sort_crit by_from[] = {{SORT_FROM, true}};
	imap_sort(m, 3, by_from, 1);
	assert_int_equal(m[0].seq, 1); /* ZED, MID, AMY */
	assert_int_equal(m[1].seq, 3);
	assert_int_equal(m[2].seq, 2);
	struct imap_sort_crit by_cc[] = {{SORT_CC, false}};
	imap_sort(m, 3, by_cc, 1); /* "" "" then X; ties by sequence */
	assert_int_equal(m[0].seq, 1);
	assert_int_equal(m[1].seq, 3);
	assert_int_equal(m[2].seq, 2);
	struct imap_sort_crit by_arrival[] = {{SORT_ARRIVAL, false}};
	imap_sort(m, 3, by_arrival, 1);
	assert_int_equal(m[0].seq, 3);
	for (size_t i = 0; i < 3; i++)
		imap_sort_msg_free(&m[i]);
}

/* ------------------------------------------------------------ threads */

static void test_msgids(void **state)
{
	char *ids[3];
	const char *v = " <a@x> junk <b c> <> <<d@x> (c) <e@x>\r\n <f@x>";
	int n = imap_thread_msgids(v, strlen(v), ids, 3, true);
	assert_int_equal(n, 3); /* a, d, e, f: the newest three */
	assert_string_equal(ids[0], "d@x");
	assert_string_equal(ids[1], "e@x");
	assert_string_equal(ids[2], "f@x");
	for (int i = 0; i < n; i++)
		free(ids[i]);
	n = imap_thread_msgids(v, strlen(v), ids, 1, false);
	assert_int_equal(n, 1);
	assert_string_equal(ids[0], "a@x");
	free(ids[0]);
	assert_int_equal(imap_thread_msgids("<x", 2, ids, 3, true), 0);
}

struct tmsg {
	const char *subject, *msgid, *refs, *irt;
	int64_t date;
};

/* Thread ms (sequence numbers 1..n) and compare the answer. */
static void check_threads(const struct tmsg *ms, size_t n,
			  enum imap_thread_alg alg, const char *want)
{
	struct imap_thread_msg v[16];
	struct imap_sort_msg keys[16];
	char hdr[1024];
	for (size_t i = 0; i < n; i++) {
		snprintf(hdr, sizeof(hdr),
			 "Subject: %s\r\nMessage-ID: %s\r\nReferences: %s\r\n"
			 "In-Reply-To: %s\r\n\r\n",
			 ms[i].subject, ms[i].msgid, ms[i].refs, ms[i].irt);
		memset(&keys[i], 0, sizeof(keys[i]));
		memset(&v[i], 0, sizeof(v[i]));
		keys[i].arrival = ms[i].date;
		assert_int_equal(imap_sort_msg_fill(&keys[i], hdr, strlen(hdr)),
				 0);
		assert_int_equal(imap_thread_msg_fill(&v[i], hdr, strlen(hdr)),
				 0);
		v[i].seq = v[i].id = (uint32_t)i + 1;
		v[i].date = keys[i].date;
		v[i].subject = keys[i].subject;
		v[i].refwd = keys[i].refwd;
	}
	struct buf out;
	buf_init(&out, 0);
	assert_int_equal(imap_thread(v, n, alg, &out), 0);
	if (strcmp(buf_cstr(&out), want) != 0)
		fail_msg("got %s, want %s", buf_cstr(&out), want);
	buf_free(&out);
	for (size_t i = 0; i < n; i++) {
		imap_thread_msg_free(&v[i]);
		imap_sort_msg_free(&keys[i]);
	}
}

/* 1 starts; 2 and 3 answer it; 4 answers 2; 5 answers a message we do
 * not have (a dummy under 1's thread through its References); 6 is alone
 * with no IDs; 7 has the subject of 6 as a reply; 8 answers 3 but came
 * first in time. */
static const struct tmsg set[] = {
	{"Plans", "<1@x>", "", "", 100},
	{"Re: Plans", "<2@x>", "<1@x>", "", 200},
	{"Re: Plans", "<3@x>", "<1@x>", "", 300},
	{"Re: Plans", "<4@x>", "<1@x> <2@x>", "", 400},
	{"Re: Plans", "<5@x>", "<1@x> <gone@x>", "", 500},
	{"Lunch", "", "", "", 600},
	{"Re: Lunch", "<7@x>", "", "", 700},
	{"Re: Plans", "<8@x>", "", "<3@x>", 50},
};

static void test_thread_references(void **state)
{
	/* 1's children by date: 2 (200; 4 below), 3 (300; 8 below), 5 (its
	 * dummy parent pruned away); 6 and 7 share a subject, 7 a reply:
	 * it goes under 6 */
	check_threads(set, 8, THREAD_REFERENCES,
		      "(1 (2 4)(3 8)(5))(6 7)");
	/* a loop in References is never made: 2 says 1 is its child */
	static const struct tmsg loop[] = {
		{"a", "<1@x>", "<2@x>", "", 10},
		{"b", "<2@x>", "<1@x>", "", 20},
	};
	check_threads(loop, 2, THREAD_REFERENCES, "(2 1)");
	/* two messages answering one we lack, at the top: a dummy holds
	 * them (thread-nested), sorted by their dates */
	static const struct tmsg orphans[] = {
		{"Re: x", "<a@x>", "<gone@x>", "", 20},
		{"Re: x", "<b@x>", "<gone@x>", "", 10},
	};
	check_threads(orphans, 2, THREAD_REFERENCES, "((2)(1))");
	/* same subject, neither a reply: a dummy makes them siblings */
	static const struct tmsg same[] = {
		{"Report", "<a@x>", "", "", 10},
		{"Report", "<b@x>", "", "", 20},
	};
	check_threads(same, 2, THREAD_REFERENCES, "((1)(2))");
	/* duplicate Message-IDs: the second is a message of its own */
	static const struct tmsg dup[] = {
		{"p", "<a@x>", "", "", 10},
		{"q", "<a@x>", "", "", 20},
	};
	check_threads(dup, 2, THREAD_REFERENCES, "(1)(2)");
}

static void test_thread_orderedsubject(void **state)
{
	/* PLANS: 8 (50) is first, then 1..5 by date; LUNCH: 6 then 7;
	 * threads by their first message's date */
	check_threads(set, 8, THREAD_ORDEREDSUBJECT,
		      "(8 (1)(2)(3)(4)(5))(6 7)");
	check_threads(set, 0, THREAD_ORDEREDSUBJECT, "");
}

/* A chain deeper than the limit is cut into several threads, and every
 * message is still there once. */
static void test_thread_depth_limit(void **state)
{
	enum { N = IMAP_THREAD_DEPTH_MAX + 10 };
	struct imap_thread_msg *v = calloc(N, sizeof(*v));
	char id[32];
	for (size_t i = 0; i < N; i++) {
		v[i].seq = v[i].id = (uint32_t)i + 1;
		v[i].date = (int64_t)i;
		v[i].subject = "";
		snprintf(id, sizeof(id), "%zu@x", i);
		v[i].msgid = strdup(id);
		if (i > 0) {
			v[i].refs = calloc(1, sizeof(char *));
			snprintf(id, sizeof(id), "%zu@x", i - 1);
			v[i].refs[0] = strdup(id);
			v[i].n_refs = 1;
		}
	}
	struct buf out;
	buf_init(&out, 0);
	assert_int_equal(imap_thread(v, N, THREAD_REFERENCES, &out), 0);
	const char *s = buf_cstr(&out);
	size_t numbers = 0, opens = 0;
	for (const char *p = s; *p; p++) {
		opens += *p == '(';
		numbers += (*p >= '0' && *p <= '9') &&
			   (p[1] < '0' || p[1] > '9');
	}
	assert_int_equal(numbers, N);
	assert_int_equal(opens, 2);
	for (size_t i = 0; i < N; i++)
		imap_thread_msg_free(&v[i]);
	free(v);
	buf_free(&out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_base_subjects),
		cmocka_unit_test(test_sent_dates),
		cmocka_unit_test(test_sort_criteria),
		cmocka_unit_test(test_sort_order),
		cmocka_unit_test(test_msgids),
		cmocka_unit_test(test_thread_references),
		cmocka_unit_test(test_thread_orderedsubject),
		cmocka_unit_test(test_thread_depth_limit),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
