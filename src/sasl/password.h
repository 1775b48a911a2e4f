/* password: password hashes (argon2id, RFC 9106; libsodium), in the PHC
 * string form "$argon2id$v=19$m=...,t=...,p=...$salt$hash" that Dovecot
 * also reads (with its {ARGON2ID} prefix). Passwords are never stored or logged in
 * clear; callers wipe their copies with explicit_bzero. */
#ifndef POSTERN_SASL_PASSWORD_H
#define POSTERN_SASL_PASSWORD_H

#include <stddef.h>

enum { PASSWORD_HASH_MAX = 160, PASSWORD_MAX = 1024 };

/* Hash password (len bytes) with a random salt into out. 0 or -1. */
int password_hash(const char *password, size_t len,
		  char out[PASSWORD_HASH_MAX]);
/* 1 when password matches encoded, 0 when not (or encoded is a malformed
 * argon2id string), -1 when encoded is not an argon2id hash. Takes the
 * same time whether or not the password matches. */
int password_verify(const char *encoded, const char *password, size_t len);
/* A fresh random password of n characters (letters and digits) + NUL. */
void password_generate(char *out, size_t n);
/* The hash of a random password, checked against when a user does not
 * exist, so that a wrong name costs exactly what a wrong password costs.
 * 0 or -1. */
int password_dummy_hash(char out[PASSWORD_HASH_MAX]);

#endif
