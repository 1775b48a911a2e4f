/* rfc8463.h: the signed example of RFC 8463 Appendix A (A.2 keys, A.3
 * message), as the queue keeps it (LF line ends), for the unit tests of
 * src/mailauth/ and src/dkim/. String literals, to be joined. */
#ifndef POSTERN_TESTS_RFC8463_H
#define POSTERN_TESTS_RFC8463_H

#define RFC8463_ED25519_SIGNATURE                                            \
	"DKIM-Signature: v=1; a=ed25519-sha256; c=simple/simple; \n"         \
	" d=football.example.com; i=@football.example.com; \n"               \
	" q=dns/txt; s=brisbane; t=1518460054; h=from : to : \n"             \
	" subject : date : message-id : from : subject : date; \n"           \
	" bh=4bLNXImK9drULnmePzZNEBleUanJCX5PIsDIFoH4KTQ=; \n"                \
	" b=9/dsDChY0YMTtD5Eyw3wx7x22BlSJP7M5ECbJ7GWrR45nXlTCGb8l0YB\n"      \
	" o0wBLR++X5LqmsxXaOYLLJe46l10AQ==\n"

#define RFC8463_RSA_SIGNATURE                                                \
	"DKIM-Signature: v=1; a=rsa-sha256; c=simple/simple; \n"             \
	" d=football.example.com; i=@football.example.com; \n"               \
	" q=dns/txt; s=test; t=1527915362; h=from : to : subject : \n"       \
	" date : message-id : from : subject : date; \n"                     \
	" bh=4bLNXImK9drULnmePzZNEBleUanJCX5PIsDIFoH4KTQ=; \n"                \
	" b=icKcLSEZYXJ95flvWE8FT6hl5iqd8MC/LEKYH0QjsqYy6MO/4pgVNCZH\n"      \
	" l/RAXAuADxE/40Fg7uTlxwwD1hjN2Ple6J//cJfslBdDOq6zTVbne1dqtl\n"      \
	" NOat7iamJ1AfRqyG+ja7a2AZsrpUuJ7VA6O+0zRYPqpwMEkEFIzI9i/Xk=\n"

#define RFC8463_FIELDS                                                       \
	"From: Joe SixPack <joe@football.example.com>\n"                     \
	"To: Suzie Q <suzie@shopping.example.net>\n"                         \
	"Subject: Is dinner ready?\n"                                         \
	"Date: Fri, 11 Jul 2003 21:00:37 -0700 (PDT)\n"                      \
	"Message-ID: <20030712040037.46341.5F8J@football.example.com>\n"

#define RFC8463_BODY "Hi.\n\nWe lost the game.  Are you hungry yet?\n\nJoe.\n"

/* A.2: the brisbane (Ed25519) and test (RSA) keys' p= values */
#define RFC8463_ED25519_P "11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo="
#define RFC8463_RSA_P                                                        \
	"MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQDkHlOQoBTzWRiGs5V6NpP3idY6Wk08a5qh" \
	"dR6wy5bdOKb2jLQiY/J16JYi0Qvx/byYzCNb3W91y3FutACDfzwQ/BC/e/8uBsCR+yz1Lxj+" \
	"PL6lHvqMKrM3rG4hstT5QjvHO9PzoxZyVYLzBfO2EeC3Ip3G+2kryOTIKT+l/K4w3QIDAQAB"

#endif
