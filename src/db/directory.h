/* directory: domains, users and aliases, in SQLite (data_dir/postern.db).
 *
 * Each thread uses its own connection (directory_thread()); the schema is
 * created and migrated when the first connection opens it. Names are stored
 * in lower case: domains are case-insensitive, and so are our users' local
 * parts (RFC 5321 2.4 lets the receiving host decide). */
#ifndef POSTERN_DB_DIRECTORY_H
#define POSTERN_DB_DIRECTORY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct directory;

enum {
	DIR_ADDRESS_MAX = 64 + 1 + 253,
	DIR_ALIAS_DEPTH = 8,      /* aliases of aliases */
	DIR_TARGETS_MAX = 1000,   /* mailboxes one address may expand to */
};

/* Where directory_thread() connections open (data_dir/postern.db). */
void directory_set_path(const char *data_dir);
/* This thread's connection, opened on first use; NULL on error (logged). */
struct directory *directory_thread(void);
/* Close this thread's connection (before a thread ends). */
void directory_thread_close(void);

/* Open (creating and migrating) the database at path. */
struct directory *directory_open(const char *path, const char **error_r);
void directory_close(struct directory **d);

/* Validate and lower-case a domain / a user address; false if invalid. */
bool directory_domain_valid(char *name);
bool directory_address_valid(char *address);

/* Results: 0 done, -1 error (SQLite's message in directory_error()),
 * 1 for "already there" (add) or "not there" (del). */
int dir_domain_add(struct directory *d, const char *name);
int dir_domain_del(struct directory *d, const char *name);
/* 1 local, 0 not, -1 error */
int dir_domain_exists(struct directory *d, const char *name);

/* What a receiving domain does with mail that fails DMARC: action
 * "reject" (follow the sender's policy: p=reject refused, p=quarantine to
 * Junk), "quarantine" (never refuse: both to Junk), "none" (deliver,
 * record only), or "" for the [dmarc] enforce default; forwarders:
 * networks whose mail is exempt, besides [dmarc] forwarders. */
enum { DIR_DMARC_ACTION_MAX = 16, DIR_FORWARDERS_MAX = 1024 };
struct dir_domain_dmarc {
	char action[DIR_DMARC_ACTION_MAX];
	char forwarders[DIR_FORWARDERS_MAX];
};
/* 1 found, 0 no such domain, -1 error */
int dir_domain_dmarc_get(struct directory *d, const char *name,
			 struct dir_domain_dmarc *out);
/* Set the action (when not NULL) or else the forwarders (checked by the
 * caller). 0, 1 no such domain, -1 error. */
int dir_domain_dmarc_set(struct directory *d, const char *name,
			 const char *action, const char *forwarders);

struct dir_user {
	char address[DIR_ADDRESS_MAX + 1];
	char *password; /* argon2id hash; freed by dir_user_clear */
	char *scram;    /* SCRAM-SHA-256 credentials, "" when none */
	uint64_t quota; /* bytes, 0 = none */
	int64_t created;
	int64_t max_messages;   /* per hour; -1: the configured default */
	int64_t max_recipients; /* per hour; -1: the configured default */
};
void dir_user_clear(struct dir_user *u);
int dir_user_add(struct directory *d, const char *address,
		 const char *password_hash, const char *scram, uint64_t quota);
int dir_user_del(struct directory *d, const char *address);
int dir_user_set_password(struct directory *d, const char *address,
			  const char *password_hash, const char *scram);
/* -1 for either: back to the configured default. */
int dir_user_set_limits(struct directory *d, const char *address,
			int64_t max_messages, int64_t max_recipients);
int dir_user_set_quota(struct directory *d, const char *address,
		       uint64_t quota);
/* 1 found, 0 not found, -1 error */
int dir_user_get(struct directory *d, const char *address, struct dir_user *u);

int dir_alias_add(struct directory *d, const char *address, const char *target);
/* 1 when address is exactly a user or an alias (no sub-address, no
 * catch-all), 0 when not, -1 on error. */
int dir_address_exists(struct directory *d, const char *address);
/* Remove one target, or every target when target is NULL. */
int dir_alias_del(struct directory *d, const char *address, const char *target);

/* Listing: fn is called once per row; listing stops if it returns non-0. */
typedef int dir_row_fn(void *arg, const char *a, const char *b, int64_t n);
int dir_domain_list(struct directory *d, dir_row_fn *fn, void *arg);
/* (address, domain, quota) for every user, of one domain or all (NULL) */
int dir_user_list(struct directory *d, const char *domain, dir_row_fn *fn,
		  void *arg);
/* (address, target, 0) for every alias row */
int dir_alias_list(struct directory *d, const char *domain, dir_row_fn *fn,
		   void *arg);

/* What a recipient address means here. */
enum dir_resolve_result {
	DIR_NOT_LOCAL,    /* its domain is not ours */
	DIR_UNKNOWN,      /* our domain, no such user or alias */
	DIR_FOUND,        /* mailboxes listed */
	DIR_NO_TARGET,    /* an alias whose targets do not exist */
	DIR_ERROR,        /* database error: a temporary failure */
};
struct dir_targets {
	char (*mailbox)[DIR_ADDRESS_MAX + 1];
	bool *outside; /* mailbox[i] is an address elsewhere: a forward */
	size_t n;
};
void dir_targets_free(struct dir_targets *t);
/* Resolve address (local@domain, already syntax-checked) through users,
 * aliases (recursively), the recipient delimiter (user+tag) and catch-all
 * aliases ("@domain"). Mailboxes are de-duplicated. An alias target in a
 * domain that is not ours is a forward: listed with outside set. */
enum dir_resolve_result dir_resolve(struct directory *d, const char *address,
				    const char *delimiters,
				    struct dir_targets *out);

/* --- submission ------------------------------------------------------ */

/* May user send as address (MAIL FROM and From:)? Yes for the user's own
 * address and sub-addresses, any alias that reaches the user, and the
 * addresses (or "@domain") an administrator allowed with dir_sender_add.
 * 1 yes, 0 no, -1 error. */
int dir_may_send_as(struct directory *d, const char *user, const char *address,
		    const char *delimiters);
int dir_sender_add(struct directory *d, const char *user, const char *address);
int dir_sender_del(struct directory *d, const char *user, const char *address);
/* (user, address, 0) rows */
int dir_sender_list(struct directory *d, const char *user, dir_row_fn *fn,
		    void *arg);

/* Send-only tokens, stored as the SHA-256 of the token (hex). */
struct dir_token {
	int64_t id;
	char user[DIR_ADDRESS_MAX + 1];
	char name[128];
	char senders[1024]; /* space-separated From addresses, "" = any */
};
int dir_token_add(struct directory *d, const char *user, const char *name,
		  const char *hash, const char *senders);
int dir_token_del(struct directory *d, const char *user, const char *name);
/* (name, senders, created) rows of one user, or (user:name, ...) of all */
int dir_token_list(struct directory *d, const char *user, dir_row_fn *fn,
		   void *arg);
/* 1 found, 0 not, -1 error */
int dir_token_find(struct directory *d, const char *hash, struct dir_token *t);
int dir_token_used(struct directory *d, int64_t id, int64_t when);

/* Client certificates, by SHA-256 fingerprint (lower-case hex). */
int dir_cert_add(struct directory *d, const char *fingerprint, const char *user);
int dir_cert_del(struct directory *d, const char *fingerprint);
/* (fingerprint, user, created) rows */
int dir_cert_list(struct directory *d, const char *user, dir_row_fn *fn,
		  void *arg);
/* The user a fingerprint belongs to: 1 found (into user), 0 not, -1. */
int dir_cert_user(struct directory *d, const char *fingerprint,
		  char user[DIR_ADDRESS_MAX + 1]);

/* The sending log behind the hourly limits. */
int dir_sends_record(struct directory *d, const char *user, int64_t when,
		     unsigned rcpts);
/* Messages and recipients since `since`, and the time of the oldest of
 * those messages (0 when none). */
int dir_sends_usage(struct directory *d, const char *user, int64_t since,
		    unsigned *messages, unsigned *rcpts, int64_t *oldest);

const char *directory_error(struct directory *d);

#endif
