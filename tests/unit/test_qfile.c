/* Tests for src/queue/qfile.c: the queue file is self-delimiting, so a file
 * cut at any offset, or with a forged end line, never parses. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "queue/qfile.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ID          "0199A3F2C4D51E07"
#define NONCE       "9f1c2b3a4d5e6f70"
#define OTHER_NONCE "9f1c2b3a4d5e6f71"

/* A full envelope: 8BITMIME, SMTPUTF8 and three recipients. */
static void make_env(struct envelope *env)
{
	memset(env, 0, sizeof(*env));
	memcpy(env->id, ID, sizeof(ID));
	memcpy(env->nonce, NONCE, sizeof(NONCE));
	env->arrived = 1764000000;
	env->sender = strdup("alice@example.org");
	env->eight_bit_mime = true;
	env->smtputf8 = true;
	env->client_ip = strdup("192.0.2.1");
	env->helo = strdup("mail.example.org");
	assert_non_null(env->sender);
	assert_non_null(env->client_ip);
	assert_non_null(env->helo);
	assert_int_equal(
	        envelope_add_rcpt(env, "Bob@Example.COM", "bob@example.com"),
	        0);
	assert_int_equal(envelope_add_rcpt(env, "carol+tag@example.com",
	                                   "carol@example.com"),
	                 0);
	assert_int_equal(
	        envelope_add_rcpt(env, "\"d e\"@example.com", "d@example.com"),
	        0);
}

/* header + message + end line */
static void encode(const struct envelope *env, const char *msg, size_t len,
                   struct buf *out)
{
	buf_init(out, 0);
	assert_int_equal(qfile_encode_header(env, out), 0);
	assert_int_equal(buf_append(out, msg, len), 0);
	assert_int_equal(qfile_encode_end(env, len, out), 0);
}

/* Parse a private copy of exactly len bytes, so that ASan sees any read
 * past the end. Returns qfile_parse's result; env is left filled. */
static int parse_copy(const char *data, size_t len, struct envelope *env,
                      size_t *off, size_t *mlen)
{
	char *copy = malloc(len ? len : 1);
	assert_non_null(copy);
	memcpy(copy, data, len);
	const char *why = NULL;
	memset(env, 0x5a, sizeof(*env));
	int rc = qfile_parse(copy, len, env, off, mlen, &why);
	if (rc < 0) {
		assert_int_equal(rc, -1);
		assert_non_null(why);
		/* nothing is left for the caller to free */
		assert_null(env->rcpts);
		assert_null(env->sender);
		assert_int_equal(env->n_rcpts, 0);
	}
	free(copy);
	return rc;
}

static const char MSG[] = "Subject: hi\n\nHello\n";

static void encode_exact_bytes(void **state)
{
	struct envelope env;
	struct buf out;
	make_env(&env);
	encode(&env, MSG, sizeof(MSG) - 1, &out);
	assert_string_equal(buf_cstr(&out),
	                    "postern-queue 1\n"
	                    "id " ID "\n"
	                    "nonce " NONCE "\n"
	                    "arrived 1764000000\n"
	                    "from alice@example.org\n"
	                    "body 8bitmime\n"
	                    "smtputf8 1\n"
	                    "client 192.0.2.1\n"
	                    "helo mail.example.org\n"
	                    "rcpt Bob@Example.COM\tbob@example.com\n"
	                    "rcpt carol+tag@example.com\tcarol@example.com\n"
	                    "rcpt \"d e\"@example.com\td@example.com\n"
	                    "data\n"
	                    "Subject: hi\n\nHello\n"
	                    "end 19 " NONCE "\n");
	buf_free(&out);
	envelope_free(&env);
	assert_null(env.rcpts);
	assert_null(env.sender);
}

static void round_trip(void **state)
{
	struct envelope env, got;
	struct buf out;
	size_t off, mlen;
	make_env(&env);
	encode(&env, MSG, sizeof(MSG) - 1, &out);
	assert_int_equal(parse_copy(out.data, out.len, &got, &off, &mlen), 0);
	assert_string_equal(got.id, ID);
	assert_string_equal(got.nonce, NONCE);
	assert_int_equal(got.arrived, 1764000000);
	assert_string_equal(got.sender, "alice@example.org");
	assert_true(got.eight_bit_mime);
	assert_true(got.smtputf8);
	assert_string_equal(got.client_ip, "192.0.2.1");
	assert_string_equal(got.helo, "mail.example.org");
	assert_int_equal(got.n_rcpts, 3);
	for (size_t i = 0; i < 3; i++) {
		assert_string_equal(got.rcpts[i].orig, env.rcpts[i].orig);
		assert_string_equal(got.rcpts[i].mailbox, env.rcpts[i].mailbox);
	}
	assert_int_equal(mlen, sizeof(MSG) - 1);
	assert_int_equal(off, out.len - mlen - strlen("end 19 " NONCE "\n"));
	assert_memory_equal(out.data + off, MSG, mlen);
	envelope_free(&got);
	envelope_free(&env);
	buf_free(&out);
}

/* The null reverse-path, 7bit, no SMTPUTF8, an empty message. */
static void round_trip_minimal(void **state)
{
	struct envelope env, got;
	struct buf out;
	size_t off, mlen;
	memset(&env, 0, sizeof(env));
	memcpy(env.id, "FFFFFFFFFFFFFFFF", 17);
	memcpy(env.nonce, "0000000000000000", 17);
	env.arrived = 0;
	env.sender = strdup("");
	env.client_ip = strdup("2001:db8::1");
	env.helo = strdup("[192.0.2.1]");
	assert_int_equal(envelope_add_rcpt(&env, "postmaster", "pm@x.org"), 0);
	encode(&env, "", 0, &out);
	assert_string_equal(buf_cstr(&out),
	                    "postern-queue 1\nid FFFFFFFFFFFFFFFF\n"
	                    "nonce 0000000000000000\narrived 0\nfrom \n"
	                    "body 7bit\nclient 2001:db8::1\nhelo [192.0.2.1]\n"
	                    "rcpt postmaster\tpm@x.org\ndata\n"
	                    "end 0 0000000000000000\n");
	assert_int_equal(parse_copy(out.data, out.len, &got, &off, &mlen), 0);
	assert_string_equal(got.sender, "");
	assert_false(got.eight_bit_mime);
	assert_false(got.smtputf8);
	assert_int_equal(got.arrived, 0);
	assert_string_equal(got.client_ip, "2001:db8::1");
	assert_string_equal(got.helo, "[192.0.2.1]");
	assert_int_equal(got.n_rcpts, 1);
	assert_string_equal(got.rcpts[0].orig, "postmaster");
	assert_int_equal(mlen, 0);
	assert_int_equal(off, out.len - strlen("end 0 0000000000000000\n"));
	envelope_free(&got);
	envelope_free(&env);
	buf_free(&out);
}

/* Every proper prefix of a valid file fails to parse. */
static void expect_every_truncation_fails(const struct buf *file)
{
	struct envelope got;
	size_t off, mlen;
	assert_int_equal(parse_copy(file->data, file->len, &got, &off, &mlen),
	                 0);
	envelope_free(&got);
	for (size_t cut = 0; cut < file->len; cut++)
		if (parse_copy(file->data, cut, &got, &off, &mlen) != -1) {
			envelope_free(&got);
			fail_msg("the file cut at %zu of %zu parsed", cut,
			         file->len);
		}
}

static void every_truncation_fails(void **state)
{
	struct envelope env;
	struct buf out;
	make_env(&env);
	encode(&env, MSG, sizeof(MSG) - 1, &out);
	expect_every_truncation_fails(&out);
	buf_free(&out);
	/* and with an empty message */
	encode(&env, "", 0, &out);
	expect_every_truncation_fails(&out);
	buf_free(&out);
	envelope_free(&env);
}

/* A message may hold lines that look like end lines, even with the right
 * length for a cut just after them: without this file's nonce they are
 * message, and a file cut after them is still torn. */
static void forged_end_lines_in_message(void **state)
{
	static const char msg[] = "Subject: x\n"
	                          "\n"
	                          "end 5 0000000000000000\n"
	                          "end 35 " OTHER_NONCE "\n"
	                          "end 59 " NONCE "x\n"
	                          "end 84 " NONCE " \n"
	                          "tail\n";
	struct envelope env, got;
	struct buf out;
	size_t off, mlen;
	make_env(&env);
	encode(&env, msg, sizeof(msg) - 1, &out);
	assert_int_equal(parse_copy(out.data, out.len, &got, &off, &mlen), 0);
	assert_int_equal(mlen, sizeof(msg) - 1);
	assert_memory_equal(out.data + off, msg, mlen);
	envelope_free(&got);
	/* the forged lengths match cuts right after each forged line */
	static const char *const forged[] = {"\nend 35 ", "\nend 59 ",
	                                     "\nend 84 "};
	for (int i = 0; i < 3; i++) {
		const char *p = strstr(out.data + off, forged[i]);
		assert_non_null(p);
		assert_int_equal((size_t)(p + 1 - (out.data + off)),
		                 strtoul(forged[i] + 5, NULL, 10));
	}
	expect_every_truncation_fails(&out);
	buf_free(&out);
	envelope_free(&env);
}

/* ------------------------------------------------------------ malformed */

/* A valid file built from pieces; the cases below change one piece. */
#define MAGIC_L   "postern-queue 1\n"
#define ID_L      "id " ID "\n"
#define NONCE_L   "nonce " NONCE "\n"
#define ARRIVED_L "arrived 1764000000\n"
#define FROM_L    "from a@x.org\n"
#define BODY_L    "body 7bit\n"
#define CLIENT_L  "client 192.0.2.1\n"
#define HELO_L    "helo h.example\n"
#define RCPT_L    "rcpt b@x.org\tb@x.org\n"
#define DATA_L    "data\n"
#define MSG_L     "hi\n"
#define END_L     "end 3 " NONCE "\n"
#define HEAD_L    ID_L NONCE_L ARRIVED_L FROM_L BODY_L CLIENT_L HELO_L RCPT_L
#define VALID     MAGIC_L HEAD_L DATA_L MSG_L END_L

static void pieces_are_valid(void **state)
{
	struct envelope got;
	size_t off, mlen;
	assert_int_equal(
	        parse_copy(VALID, sizeof(VALID) - 1, &got, &off, &mlen), 0);
	assert_int_equal(mlen, 3);
	assert_memory_equal(VALID + off, "hi\n", 3);
	envelope_free(&got);
}

static void malformed_files_fail(void **state)
{
#define F(s)                                                                   \
	{                                                                      \
		s, sizeof(s) - 1                                               \
	}
	static const struct {
		const char *s;
		size_t len;
	} bad[] = {
	        /* the end line */
	        F(MAGIC_L HEAD_L DATA_L MSG_L "end 3 " OTHER_NONCE "\n"),
	        F(MAGIC_L HEAD_L DATA_L MSG_L "end 3 " NONCE "0\n"),
	        F(MAGIC_L HEAD_L DATA_L MSG_L "end 3 9f1c2b3a4d5e6f7\n"),
	        F(MAGIC_L HEAD_L DATA_L MSG_L "end 3\n"),
	        F(MAGIC_L HEAD_L DATA_L MSG_L "end 4 " NONCE "\n"),
	        F(MAGIC_L HEAD_L DATA_L MSG_L "end 2 " NONCE "\n"),
	        F(MAGIC_L HEAD_L DATA_L MSG_L "end  3 " NONCE "\n"),
	        F(MAGIC_L HEAD_L DATA_L MSG_L "end -3 " NONCE "\n"),
	        F(MAGIC_L HEAD_L DATA_L MSG_L "end 3 " NONCE "\r\n"),
	        F(MAGIC_L HEAD_L DATA_L MSG_L "END 3 " NONCE "\n"),
	        F(MAGIC_L HEAD_L DATA_L MSG_L
	          "end 99999999999999999999999 " NONCE "\n"),
	        F(MAGIC_L HEAD_L DATA_L MSG_L END_L "x"),
	        F(MAGIC_L HEAD_L DATA_L MSG_L END_L "\n"),
	        F(MAGIC_L HEAD_L DATA_L MSG_L END_L END_L),
	        F(MAGIC_L HEAD_L DATA_L "hi" END_L), /* no LF before the end */
	        F(MAGIC_L HEAD_L MSG_L END_L),       /* no data line */
	        F(MAGIC_L HEAD_L "data x\n" MSG_L END_L),
	        /* the magic line */
	        F("postern-queue 2\n" HEAD_L DATA_L MSG_L END_L),
	        F("Postern-queue 1\n" HEAD_L DATA_L MSG_L END_L),
	        F("postern-queue 1 \n" HEAD_L DATA_L MSG_L END_L),
	        F("postern-queue 10\n" HEAD_L DATA_L MSG_L END_L),
	        F("postern-queue\n" HEAD_L DATA_L MSG_L END_L),
	        F(HEAD_L DATA_L MSG_L END_L),
	        F("\n" MAGIC_L HEAD_L DATA_L MSG_L END_L),
	        /* duplicate records */
	        F(MAGIC_L ID_L HEAD_L DATA_L MSG_L END_L),
	        F(MAGIC_L NONCE_L HEAD_L DATA_L MSG_L END_L),
	        F(MAGIC_L FROM_L HEAD_L DATA_L MSG_L END_L),
	        F(MAGIC_L CLIENT_L HEAD_L DATA_L MSG_L END_L),
	        F(MAGIC_L HELO_L HEAD_L DATA_L MSG_L END_L),
	        /* unknown records */
	        F(MAGIC_L HEAD_L "color blue\n" DATA_L MSG_L END_L),
	        F(MAGIC_L HEAD_L "ID " ID "\n" DATA_L MSG_L END_L),
	        F(MAGIC_L HEAD_L "\n" DATA_L MSG_L END_L),
	        F(MAGIC_L HEAD_L " from a@x.org\n" DATA_L MSG_L END_L),
	        /* bad values */
	        F(MAGIC_L "id 0199a3f2c4d51e07\n" NONCE_L ARRIVED_L FROM_L
	                  BODY_L CLIENT_L HELO_L RCPT_L DATA_L MSG_L END_L),
	        F(MAGIC_L "id 0199A3F2C4D51E0\n" NONCE_L ARRIVED_L FROM_L BODY_L
	                  CLIENT_L HELO_L RCPT_L DATA_L MSG_L END_L),
	        F(MAGIC_L ID_L "nonce 9f1c2b3a4d5e6f7\n" ARRIVED_L FROM_L BODY_L
	                  CLIENT_L HELO_L RCPT_L DATA_L MSG_L
	                       "end 3 9f1c2b3a4d5e6f7\n"),
	        F(MAGIC_L HEAD_L "arrived -1\n" DATA_L MSG_L END_L),
	        F(MAGIC_L HEAD_L "arrived 12x\n" DATA_L MSG_L END_L),
	        F(MAGIC_L HEAD_L
	          "arrived 9223372036854775808\n" DATA_L MSG_L END_L),
	        F(MAGIC_L HEAD_L "body 8BITMIME\n" DATA_L MSG_L END_L),
	        F(MAGIC_L HEAD_L "body binarymime\n" DATA_L MSG_L END_L),
	        F(MAGIC_L HEAD_L "smtputf8 0\n" DATA_L MSG_L END_L),
	        F(MAGIC_L HEAD_L "smtputf8\n" DATA_L MSG_L END_L),
	        /* control bytes in values */
	        F(MAGIC_L ID_L NONCE_L ARRIVED_L
	          "from a\x01@x.org\n" BODY_L CLIENT_L HELO_L RCPT_L DATA_L
	                  MSG_L END_L),
	        F(MAGIC_L ID_L NONCE_L ARRIVED_L
	          "from a\t@x.org\n" BODY_L CLIENT_L HELO_L RCPT_L DATA_L MSG_L
	                  END_L),
	        F(MAGIC_L ID_L NONCE_L ARRIVED_L
	          "from a\r@x.org\n" BODY_L CLIENT_L HELO_L RCPT_L DATA_L MSG_L
	                  END_L),
	        F(MAGIC_L ID_L NONCE_L ARRIVED_L
	          "from a\0@x.org\n" BODY_L CLIENT_L HELO_L RCPT_L DATA_L MSG_L
	                  END_L),
	        F(MAGIC_L ID_L NONCE_L ARRIVED_L FROM_L BODY_L
	          "client 192.0.2.1\x7f\n" HELO_L RCPT_L DATA_L MSG_L END_L),
	        F(MAGIC_L ID_L NONCE_L ARRIVED_L FROM_L BODY_L CLIENT_L
	          "helo h\x1b.example\n" RCPT_L DATA_L MSG_L END_L),
	        F(MAGIC_L HEAD_L
	          "rcpt c@x.org\tc\x01@x.org\n" DATA_L MSG_L END_L),
	        F(MAGIC_L HEAD_L
	          "rcpt c\x7f@x.org\tc@x.org\n" DATA_L MSG_L END_L),
	        F(MAGIC_L HEAD_L
	          "rcpt c@x.org\tc@x.org\tx\n" DATA_L MSG_L END_L),
	        /* recipients */
	        F(MAGIC_L ID_L NONCE_L ARRIVED_L FROM_L BODY_L CLIENT_L HELO_L
	                  DATA_L MSG_L END_L),
	        F(MAGIC_L ID_L NONCE_L ARRIVED_L FROM_L BODY_L CLIENT_L HELO_L
	          "rcpt b@x.org b@x.org\n" DATA_L MSG_L END_L),
	        F(MAGIC_L ID_L NONCE_L ARRIVED_L FROM_L BODY_L CLIENT_L HELO_L
	          "rcpt \tb@x.org\n" DATA_L MSG_L END_L), /* no address */
	        F(MAGIC_L ID_L NONCE_L ARRIVED_L FROM_L BODY_L CLIENT_L HELO_L
	          "rcpt\n" DATA_L MSG_L END_L),
	        /* other missing records */
	        F(MAGIC_L NONCE_L ARRIVED_L FROM_L BODY_L CLIENT_L HELO_L RCPT_L
	                  DATA_L MSG_L END_L),
	        F(MAGIC_L ID_L ARRIVED_L FROM_L BODY_L CLIENT_L HELO_L RCPT_L
	                  DATA_L MSG_L END_L),
	        F(MAGIC_L ID_L NONCE_L ARRIVED_L BODY_L CLIENT_L HELO_L RCPT_L
	                  DATA_L MSG_L END_L),
	        F(MAGIC_L ID_L NONCE_L ARRIVED_L FROM_L BODY_L HELO_L RCPT_L
	                  DATA_L MSG_L END_L),
	        F(MAGIC_L ID_L NONCE_L ARRIVED_L FROM_L BODY_L CLIENT_L RCPT_L
	                  DATA_L MSG_L END_L),
	        F(""),
	};
#undef F
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct envelope got;
		size_t off, mlen;
		if (parse_copy(bad[i].s, bad[i].len, &got, &off, &mlen) != -1) {
			envelope_free(&got);
			fail_msg("case %zu parsed", i);
		}
	}
}

/* The header says the nonce is 16 hex digits and that every value must be
 * free of control bytes: a nonce with a control byte must not pass. */
static void nonce_with_control_byte_fails_to_parse(void **state)
{
#define BAD_NONCE "9f1c2b3a4d5e6f7\t"
	static const char file[] = MAGIC_L ID_L
	        "nonce " BAD_NONCE
	        "\n" ARRIVED_L FROM_L BODY_L CLIENT_L HELO_L RCPT_L DATA_L MSG_L
	        "end 3 " BAD_NONCE "\n";
	struct envelope got;
	size_t off, mlen;
	int rc = parse_copy(file, sizeof(file) - 1, &got, &off, &mlen);
	if (rc == 0)
		envelope_free(&got);
	assert_int_equal(rc, -1);
#undef BAD_NONCE
}

/* ------------------------------------------------------------ encode */

static void encode_refuses_control_bytes(void **state)
{
	static const char *const bad[] = {
	        "a\nb",
	        "a\rb",
	        "a\tb",
	        "a\x01"
	        "b",
	        "a\x7f"
	        "b",
	        "\x1b[0m",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		for (int field = 0; field < 5; field++) {
			struct envelope env;
			struct buf out;
			make_env(&env);
			char **slot = field == 0   ? &env.sender
			              : field == 1 ? &env.client_ip
			              : field == 2 ? &env.helo
			              : field == 3 ? &env.rcpts[1].orig
			                           : &env.rcpts[2].mailbox;
			free(*slot);
			*slot = strdup(bad[i]);
			buf_init(&out, 0);
			if (qfile_encode_header(&env, &out) != -1)
				fail_msg("value %zu in field %d was written", i,
				         field);
			buf_free(&out);
			envelope_free(&env);
		}
	}
}

static void encode_refuses_bad_envelopes(void **state)
{
	struct envelope env;
	struct buf out;
	/* an empty mailbox is a remote recipient; an empty address is nothing */
	make_env(&env);
	free(env.rcpts[0].mailbox);
	env.rcpts[0].mailbox = strdup("");
	buf_init(&out, 0);
	assert_int_equal(qfile_encode_header(&env, &out), 0);
	buf_free(&out);
	free(env.rcpts[0].orig);
	env.rcpts[0].orig = strdup("");
	buf_init(&out, 0);
	assert_int_equal(qfile_encode_header(&env, &out), -1);
	buf_free(&out);
	envelope_free(&env);
	/* a bad queue id, a short nonce, a missing value */
	make_env(&env);
	memcpy(env.id, "0199a3f2c4d51e07", 17);
	buf_init(&out, 0);
	assert_int_equal(qfile_encode_header(&env, &out), -1);
	buf_free(&out);
	memcpy(env.id, ID, sizeof(ID));
	env.nonce[15] = '\0';
	assert_int_equal(qfile_encode_header(&env, &out), -1);
	buf_free(&out);
	memcpy(env.nonce, NONCE, sizeof(NONCE));
	free(env.helo);
	env.helo = NULL;
	assert_int_equal(qfile_encode_header(&env, &out), -1);
	buf_free(&out);
	envelope_free(&env);
}

/* QFILE_VALUE_MAX bytes is the longest value written and read back. */
static void value_length_limit(void **state)
{
	struct envelope env, got;
	struct buf out;
	size_t off, mlen;
	make_env(&env);
	free(env.helo);
	env.helo = malloc(QFILE_VALUE_MAX + 2);
	assert_non_null(env.helo);
	memset(env.helo, 'h', QFILE_VALUE_MAX);
	env.helo[QFILE_VALUE_MAX] = '\0';
	encode(&env, MSG, sizeof(MSG) - 1, &out);
	assert_int_equal(parse_copy(out.data, out.len, &got, &off, &mlen), 0);
	assert_int_equal(strlen(got.helo), QFILE_VALUE_MAX);
	envelope_free(&got);
	buf_free(&out);
	env.helo[QFILE_VALUE_MAX] = 'h';
	env.helo[QFILE_VALUE_MAX + 1] = '\0';
	buf_init(&out, 0);
	assert_int_equal(qfile_encode_header(&env, &out), -1);
	buf_free(&out);
	envelope_free(&env);
}

/* The nonce is written into the file, so it falls under the same rule as
 * every value: "free of control bytes; -1 if one is not" (qfile.h). */
static void encode_refuses_control_byte_in_nonce(void **state)
{
	struct envelope env;
	struct buf out;
	make_env(&env);
	memcpy(env.nonce, "9f1c2b3a4d5e6f7\n", 17);
	buf_init(&out, 0);
	int rc = qfile_encode_header(&env, &out);
	buf_free(&out);
	envelope_free(&env);
	assert_int_equal(rc, -1);
}

static void queue_ids(void **state)
{
	static const struct {
		const char *id;
		bool ok;
	} t[] = {
	        {"0199A3F2C4D51E07", true},   {"0000000000000000", true},
	        {"FFFFFFFFFFFFFFFF", true},   {"", false},
	        {"0199A3F2C4D51E0", false},   /* 15 */
	        {"0199A3F2C4D51E071", false}, /* 17 */
	        {"0199a3f2c4d51e07", false},  /* lower case */
	        {"0199A3F2C4D51E0G", false},  {"0199A3F2C4D51E0/", false},
	        {"../../etc/passw", false},   {"../../etc/passwd", false},
	        {"0199A3F2C4D51E0 ", false},  {" 0199A3F2C4D51E0", false},
	        {"0199A3F2C4D51E0\n", false},
	};
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		if (queue_id_valid(t[i].id) != t[i].ok)
			fail_msg("'%s': want %d", t[i].id, t[i].ok);
}

static void prepend_trailer(void **state)
{
	struct envelope env, got;
	struct buf file;
	size_t off, mlen;
	static const char h1[] = "Message-ID: <x@example.org>\n";
	static const char h2[] = "DKIM-Signature: v=1;\n\tb=abc\n";
	make_env(&env);
	assert_int_equal(envelope_prepend(&env, h1, sizeof(h1) - 1), 0);
	assert_int_equal(envelope_prepend(&env, h2, sizeof(h2) - 1), 0);
	/* not a header field: no final LF, or a CR or NUL inside */
	assert_int_equal(envelope_prepend(&env, "X: y", 4), -1);
	assert_int_equal(envelope_prepend(&env, "X: y\r\n", 6), -1);
	assert_int_equal(envelope_prepend(&env, "X: \0\n", 5), -1);
	encode(&env, MSG, sizeof(MSG) - 1, &file);
	assert_non_null(strstr(file.data, "\nprepend 56\nMessage-ID"));
	assert_int_equal(parse_copy(file.data, file.len, &got, &off, &mlen), 0);
	assert_int_equal(mlen, sizeof(MSG) - 1);
	assert_memory_equal(file.data + off, MSG, mlen);
	assert_int_equal(got.prepend_len, sizeof(h1) - 1 + sizeof(h2) - 1);
	assert_string_equal(got.prepend, "Message-ID: <x@example.org>\n"
					 "DKIM-Signature: v=1;\n\tb=abc\n");
	envelope_free(&got);
	expect_every_truncation_fails(&file);
	/* a trailer that claims more bytes than it holds */
	char *bad = strstr(file.data, "prepend 56");
	bad[9] = '9';
	assert_int_equal(parse_copy(file.data, file.len, &got, &off, &mlen), -1);
	buf_free(&file);
	envelope_free(&env);
}

/* The quarantine flag (DMARC p=quarantine) rides in the trailer, before
 * the prepended fields; twice, or after them, the file is damaged. */
static void quarantine_trailer(void **state)
{
	struct envelope env, got;
	struct buf file;
	size_t off, mlen;
	make_env(&env);
	env.quarantine = true;
	assert_int_equal(envelope_prepend(&env, "X-A: 1\n", 7), 0);
	encode(&env, MSG, sizeof(MSG) - 1, &file);
	assert_non_null(strstr(file.data, "\nquarantine\nprepend 7\nX-A: 1\n"));
	assert_int_equal(parse_copy(file.data, file.len, &got, &off, &mlen), 0);
	assert_true(got.quarantine);
	assert_int_equal(got.prepend_len, 7);
	envelope_free(&got);
	expect_every_truncation_fails(&file);
	char *q = strstr(file.data, "quarantine\nprepend");
	memcpy(q, "quarantinX", 10);
	assert_int_equal(parse_copy(file.data, file.len, &got, &off, &mlen), -1);
	buf_free(&file);
	envelope_free(&env);
	/* without the flag nothing is written and nothing is set */
	make_env(&env);
	encode(&env, MSG, sizeof(MSG) - 1, &file);
	assert_null(strstr(file.data, "quarantine"));
	assert_int_equal(parse_copy(file.data, file.len, &got, &off, &mlen), 0);
	assert_false(got.quarantine);
	envelope_free(&got);
	buf_free(&file);
	envelope_free(&env);
}

/* Some copies quarantined: "quarantine 0 2"; every copy: the short form
 * older builds read too. Each malformed list is refused. */
static void quarantine_some(void **state)
{
	struct envelope env, got;
	struct buf file;
	size_t off, mlen;
	make_env(&env);
	assert_true(env.n_rcpts >= 3);
	env.rcpts[0].junk = env.rcpts[2].junk = true;
	encode(&env, MSG, sizeof(MSG) - 1, &file);
	assert_non_null(strstr(file.data, "\nquarantine 0 2\nend "));
	assert_int_equal(parse_copy(file.data, file.len, &got, &off, &mlen), 0);
	assert_false(got.quarantine);
	for (size_t i = 0; i < got.n_rcpts; i++)
		assert_int_equal(got.rcpts[i].junk, i == 0 || i == 2);
	envelope_free(&got);
	expect_every_truncation_fails(&file);
	static const char *const bad[] = {"2 0", "0 0", "9", " 0", "x", "0 ",
					  "1 +2", "00000000000000000000001"};
	for (size_t k = 0; k < sizeof(bad) / sizeof(*bad); k++) {
		struct buf b;
		buf_init(&b, 0);
		char *q = strstr(file.data, "quarantine 0 2\n");
		assert_int_equal(buf_append(&b, file.data, (size_t)(q - file.data)), 0);
		assert_int_equal(buf_appendf(&b, "quarantine %s\n", bad[k]), 0);
		assert_int_equal(buf_append_str(&b, q + strlen("quarantine 0 2\n")), 0);
		if (parse_copy(b.data, b.len, &got, &off, &mlen) == 0)
			fail_msg("accepted \"quarantine %s\"", bad[k]);
		buf_free(&b);
	}
	buf_free(&file);
	for (size_t i = 0; i < env.n_rcpts; i++)
		env.rcpts[i].junk = true;
	encode(&env, MSG, sizeof(MSG) - 1, &file);
	assert_non_null(strstr(file.data, "\nquarantine\nend "));
	buf_free(&file);
	envelope_free(&env);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(encode_exact_bytes),
	        cmocka_unit_test(round_trip),
	        cmocka_unit_test(round_trip_minimal),
	        cmocka_unit_test(every_truncation_fails),
	        cmocka_unit_test(forged_end_lines_in_message),
	        cmocka_unit_test(pieces_are_valid),
	        cmocka_unit_test(malformed_files_fail),
	        cmocka_unit_test(nonce_with_control_byte_fails_to_parse),
	        cmocka_unit_test(encode_refuses_control_bytes),
	        cmocka_unit_test(encode_refuses_bad_envelopes),
	        cmocka_unit_test(value_length_limit),
	        cmocka_unit_test(encode_refuses_control_byte_in_nonce),
	        cmocka_unit_test(queue_ids),
	        cmocka_unit_test(quarantine_trailer),
	        cmocka_unit_test(quarantine_some),
	        cmocka_unit_test(prepend_trailer),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
