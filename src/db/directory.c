/* directory: SQLite-backed domains, users and aliases. */
#include "db/directory.h"
#include "db/internal.h"

#include "lib/log.h"
#include "lib/util.h"

#include <pthread.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Each entry upgrades the schema by one version (PRAGMA user_version). */
static const char *const migrations[] = {
	"CREATE TABLE domains ("
	"  name TEXT PRIMARY KEY NOT NULL,"
	"  created INTEGER NOT NULL);"
	"CREATE TABLE users ("
	"  address TEXT PRIMARY KEY NOT NULL,"
	"  domain TEXT NOT NULL REFERENCES domains(name),"
	"  password TEXT NOT NULL,"
	"  quota INTEGER NOT NULL DEFAULT 0,"
	"  created INTEGER NOT NULL);"
	"CREATE INDEX users_domain ON users(domain);"
	"CREATE TABLE aliases ("
	"  address TEXT NOT NULL,"
	"  target TEXT NOT NULL,"
	"  domain TEXT NOT NULL REFERENCES domains(name),"
	"  PRIMARY KEY (address, target));",

	/* 2: submission */
	"ALTER TABLE users ADD COLUMN scram TEXT NOT NULL DEFAULT '';"
	"ALTER TABLE users ADD COLUMN max_messages INTEGER;"
	"ALTER TABLE users ADD COLUMN max_recipients INTEGER;"
	"CREATE TABLE senders ("
	"  user TEXT NOT NULL REFERENCES users(address) ON DELETE CASCADE,"
	"  address TEXT NOT NULL,"
	"  PRIMARY KEY (user, address));"
	"CREATE TABLE tokens ("
	"  id INTEGER PRIMARY KEY,"
	"  user TEXT NOT NULL REFERENCES users(address) ON DELETE CASCADE,"
	"  name TEXT NOT NULL,"
	"  hash TEXT NOT NULL UNIQUE,"
	"  senders TEXT NOT NULL DEFAULT '',"
	"  created INTEGER NOT NULL,"
	"  last_used INTEGER,"
	"  UNIQUE (user, name));"
	"CREATE TABLE certs ("
	"  fingerprint TEXT PRIMARY KEY NOT NULL,"
	"  user TEXT NOT NULL REFERENCES users(address) ON DELETE CASCADE,"
	"  created INTEGER NOT NULL);"
	"CREATE TABLE sends ("
	"  user TEXT NOT NULL,"
	"  time INTEGER NOT NULL,"
	"  rcpts INTEGER NOT NULL);"
	"CREATE INDEX sends_user_time ON sends(user, time);",
	/* DKIM keys (db/dkim.h): the private key in PKCS#8 PEM, readable as
	 * the database is, by the server user only */
	"CREATE TABLE dkim_keys ("
	"  domain TEXT NOT NULL REFERENCES domains(name) ON DELETE CASCADE,"
	"  selector TEXT NOT NULL,"
	"  algo TEXT NOT NULL,"
	"  private_key TEXT NOT NULL,"
	"  created INTEGER NOT NULL,"
	"  sign_from INTEGER NOT NULL,"
	"  retire_at INTEGER NOT NULL DEFAULT 0,"
	"  revoked INTEGER NOT NULL DEFAULT 0,"
	"  PRIMARY KEY (domain, selector));",
	/* 4: DMARC settings per receiving domain ('': the [dmarc] ones) */
	"ALTER TABLE domains ADD COLUMN dmarc_action TEXT NOT NULL DEFAULT '';"
	"ALTER TABLE domains ADD COLUMN dmarc_forwarders TEXT NOT NULL "
	"DEFAULT '';",
	/* 5: a target that was outside our domains when the alias was made
	 * is a forward; one whose domain was ours and went away is not */
	"ALTER TABLE aliases ADD COLUMN forward INTEGER NOT NULL DEFAULT 0;",
};

enum stmt_id {
	Q_DOMAIN_EXISTS,
	Q_USER_GET,
	Q_ALIAS_TARGETS,
	Q_COUNT
};

static const char *const queries[Q_COUNT] = {
	[Q_DOMAIN_EXISTS] = "SELECT 1 FROM domains WHERE name = ?1",
	/* parenthesised: one literal each, as clang's -Wstring-concatenation
	 * wants to be told */
	[Q_USER_GET] = ("SELECT address, password, quota, created, scram, "
			"max_messages, max_recipients FROM users "
			"WHERE address = ?1"),
	[Q_ALIAS_TARGETS] = ("SELECT target, forward FROM aliases "
			     "WHERE address = ?1 ORDER BY target"),
};

struct directory {
	sqlite3 *db;
	sqlite3_stmt *stmt[Q_COUNT];
};

static char *thread_path;
static pthread_key_t thread_key;
static pthread_once_t thread_key_once = PTHREAD_ONCE_INIT;

sqlite3 *directory_sqlite(struct directory *d)
{
	return d->db;
}

const char *directory_error(struct directory *d)
{
	return sqlite3_errmsg(d->db);
}

static int exec(struct directory *d, const char *sql)
{
	char *err = NULL;
	if (sqlite3_exec(d->db, sql, NULL, NULL, &err) != SQLITE_OK) {
		log_error("directory event=sql-error error=\"%s\"",
			  err != NULL ? err : "?");
		sqlite3_free(err);
		return -1;
	}
	return 0;
}

static int user_version(struct directory *d)
{
	sqlite3_stmt *st;
	int v = -1;
	if (sqlite3_prepare_v2(d->db, "PRAGMA user_version", -1, &st, NULL) ==
	    SQLITE_OK) {
		if (sqlite3_step(st) == SQLITE_ROW)
			v = sqlite3_column_int(st, 0);
		sqlite3_finalize(st);
	}
	return v;
}

/* Bring the schema up to date, one transaction per step. */
static int migrate(struct directory *d)
{
	if (exec(d, "BEGIN IMMEDIATE") < 0)
		return -1;
	int v = user_version(d);
	int n = (int)ARRAY_LEN(migrations);
	if (v < 0 || v > n) {
		exec(d, "ROLLBACK");
		return -1; /* a newer postern made this database */
	}
	for (; v < n; v++) {
		char pragma[48];
		snprintf(pragma, sizeof(pragma), "PRAGMA user_version = %d", v + 1);
		if (exec(d, migrations[v]) < 0 || exec(d, pragma) < 0) {
			exec(d, "ROLLBACK");
			return -1;
		}
	}
	return exec(d, "COMMIT");
}

struct directory *directory_open(const char *path, const char **error_r)
{
	struct directory *d = calloc(1, sizeof(*d));
	if (d == NULL) {
		*error_r = "out of memory";
		return NULL;
	}
	int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
		    SQLITE_OPEN_NOMUTEX;
	if (sqlite3_open_v2(path, &d->db, flags, NULL) != SQLITE_OK) {
		*error_r = d->db != NULL ? sqlite3_errmsg(d->db) : "cannot open";
		goto fail;
	}
	sqlite3_busy_timeout(d->db, 5000);
	*error_r = "cannot set up the database";
	if (exec(d, "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;"
		    "PRAGMA foreign_keys = ON;") < 0 ||
	    migrate(d) < 0)
		goto fail;
	for (int i = 0; i < Q_COUNT; i++)
		if (sqlite3_prepare_v3(d->db, queries[i], -1,
				       SQLITE_PREPARE_PERSISTENT, &d->stmt[i],
				       NULL) != SQLITE_OK) {
			*error_r = sqlite3_errmsg(d->db);
			goto fail;
		}
	return d;
fail:
	log_error("directory event=open-failed path=%s error=\"%s\"", path,
		  *error_r);
	directory_close(&d);
	return NULL;
}

void directory_close(struct directory **dp)
{
	struct directory *d = *dp;
	if (d == NULL)
		return;
	for (int i = 0; i < Q_COUNT; i++)
		sqlite3_finalize(d->stmt[i]);
	sqlite3_close(d->db);
	free(d);
	*dp = NULL;
}

void directory_set_path(const char *data_dir)
{
	free(thread_path);
	size_t n = strlen(data_dir) + sizeof("/postern.db");
	thread_path = malloc(n);
	if (thread_path != NULL)
		snprintf(thread_path, n, "%s/postern.db", data_dir);
}

/* A thread's connection is closed when the thread ends. */
static void close_thread_dir(void *d)
{
	directory_close((struct directory **)&d);
}

static void make_thread_key(void)
{
	pthread_key_create(&thread_key, close_thread_dir);
}

struct directory *directory_thread(void)
{
	pthread_once(&thread_key_once, make_thread_key);
	struct directory *d = pthread_getspecific(thread_key);
	if (d == NULL && thread_path != NULL) {
		const char *err;
		d = directory_open(thread_path, &err);
		/* the server writes only its sending log: losing its last rows
		 * to a power cut is harmless, an fsync per message is not */
		if (d != NULL)
			exec(d, "PRAGMA synchronous = NORMAL");
		pthread_setspecific(thread_key, d);
	}
	return d;
}

void directory_thread_close(void)
{
	pthread_once(&thread_key_once, make_thread_key);
	struct directory *d = pthread_getspecific(thread_key);
	pthread_setspecific(thread_key, NULL);
	directory_close(&d);
}

/* ------------------------------------------------------------ names */

static bool is_ldh(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
}

bool directory_domain_valid(char *name)
{
	size_t n = strlen(name);
	ascii_lower(name, n);
	if (n == 0 || n > 253)
		return false;
	size_t label = 0;
	for (size_t i = 0; i <= n; i++) {
		char c = name[i];
		if (c == '.' || c == '\0') {
			if (label == 0 || label > 63 || name[i - 1] == '-')
				return false;
			label = 0;
		} else if (!is_ldh(c) || (label == 0 && c == '-')) {
			return false;
		} else {
			label++;
		}
	}
	return true;
}

/* Local parts we create: letters, digits and . - _ (no leading, trailing or
 * doubled dot), so that they never need quoting and never hold a recipient
 * delimiter or a relay trick. */
static bool local_part_valid(const char *s, size_t n)
{
	if (n == 0 || n > 64 || s[0] == '.' || s[n - 1] == '.')
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
			  c == '-' || c == '_' || (c == '.' && s[i + 1] != '.');
		if (!ok)
			return false;
	}
	return true;
}

bool directory_address_valid(char *address)
{
	ascii_lower(address, strlen(address));
	char *at = strchr(address, '@');
	if (at == NULL || strchr(at + 1, '@') != NULL)
		return false;
	return local_part_valid(address, (size_t)(at - address)) &&
	       directory_domain_valid(at + 1);
}

/* ------------------------------------------------------------ statements */

/* Run a one-off write statement with text/int64 arguments ("st": string,
 * string; "i": int64). Returns 0, 1 when it changed no row, -1 on error. */
static int run(struct directory *d, const char *sql, const char *types, ...)
{
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(d->db, sql, -1, &st, NULL) != SQLITE_OK)
		return -1;
	va_list ap;
	va_start(ap, types);
	for (int i = 0; types[i] != '\0'; i++) {
		if (types[i] == 's')
			sqlite3_bind_text(st, i + 1, va_arg(ap, const char *), -1,
					  SQLITE_TRANSIENT);
		else
			sqlite3_bind_int64(st, i + 1, va_arg(ap, int64_t));
	}
	va_end(ap);
	int rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc == SQLITE_CONSTRAINT)
		return 1;
	if (rc != SQLITE_DONE)
		return -1;
	return sqlite3_changes(d->db) > 0 ? 0 : 1;
}

/* Step a cached single-text-argument statement; 1 row, 0 none, -1 error. */
static int query_one(struct directory *d, enum stmt_id id, const char *arg)
{
	sqlite3_stmt *st = d->stmt[id];
	sqlite3_reset(st);
	sqlite3_bind_text(st, 1, arg, -1, SQLITE_STATIC);
	int rc = sqlite3_step(st);
	return rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : -1;
}

static int64_t now_s(void)
{
	return (int64_t)time(NULL);
}

int dir_domain_add(struct directory *d, const char *name)
{
	return run(d, "INSERT INTO domains(name, created) VALUES(?1, ?2)", "si",
		   name, now_s());
}

int dir_domain_del(struct directory *d, const char *name)
{
	return run(d, "DELETE FROM domains WHERE name = ?1", "s", name);
}

int dir_domain_exists(struct directory *d, const char *name)
{
	int rc = query_one(d, Q_DOMAIN_EXISTS, name);
	sqlite3_reset(d->stmt[Q_DOMAIN_EXISTS]);
	return rc;
}

static void free_secret(char **p)
{
	if (*p != NULL) {
		explicit_bzero(*p, strlen(*p));
		free(*p);
	}
	*p = NULL;
}

void dir_user_clear(struct dir_user *u)
{
	free_secret(&u->password);
	free_secret(&u->scram);
	memset(u, 0, sizeof(*u));
}

int dir_user_add(struct directory *d, const char *address,
		 const char *password_hash, const char *scram, uint64_t quota)
{
	const char *domain = strchr(address, '@') + 1;
	return run(d,
		   "INSERT INTO users(address, domain, password, scram, quota, "
		   "created) VALUES(?1, ?2, ?3, ?4, ?5, ?6)",
		   "ssssii", address, domain, password_hash, scram, (int64_t)quota,
		   now_s());
}

int dir_user_del(struct directory *d, const char *address)
{
	int rc = run(d, "DELETE FROM users WHERE address = ?1", "s", address);
	if (rc == 0) /* aliases to a user that is gone would dangle */
		run(d, "DELETE FROM aliases WHERE target = ?1", "s", address);
	return rc;
}

int dir_user_set_password(struct directory *d, const char *address,
			  const char *password_hash, const char *scram)
{
	return run(d, "UPDATE users SET password = ?2, scram = ?3 "
		      "WHERE address = ?1", "sss",
		   address, password_hash, scram);
}

int dir_user_set_limits(struct directory *d, const char *address,
			int64_t max_messages, int64_t max_recipients)
{
	return run(d,
		   "UPDATE users SET max_messages = nullif(?2, -1), "
		   "max_recipients = nullif(?3, -1) WHERE address = ?1",
		   "sii", address, max_messages, max_recipients);
}

int dir_user_set_quota(struct directory *d, const char *address,
		       uint64_t quota)
{
	return run(d, "UPDATE users SET quota = ?2 WHERE address = ?1", "si",
		   address, (int64_t)quota);
}

int dir_user_get(struct directory *d, const char *address, struct dir_user *u)
{
	memset(u, 0, sizeof(*u));
	int rc = query_one(d, Q_USER_GET, address);
	sqlite3_stmt *st = d->stmt[Q_USER_GET];
	if (rc == 1) {
		snprintf(u->address, sizeof(u->address), "%s",
			 (const char *)sqlite3_column_text(st, 0));
		const char *pw = (const char *)sqlite3_column_text(st, 1);
		const char *scram = (const char *)sqlite3_column_text(st, 4);
		u->password = strdup(pw != NULL ? pw : "");
		u->scram = strdup(scram != NULL ? scram : "");
		u->quota = (uint64_t)sqlite3_column_int64(st, 2);
		u->created = sqlite3_column_int64(st, 3);
		u->max_messages = sqlite3_column_type(st, 5) == SQLITE_NULL
					  ? -1
					  : sqlite3_column_int64(st, 5);
		u->max_recipients = sqlite3_column_type(st, 6) == SQLITE_NULL
					    ? -1
					    : sqlite3_column_int64(st, 6);
		if (u->password == NULL || u->scram == NULL)
			rc = -1;
	}
	sqlite3_reset(st);
	return rc;
}

int dir_alias_add(struct directory *d, const char *address, const char *target)
{
	const char *domain = strchr(address, '@') + 1;
	const char *at = strrchr(target, '@');
	int local = at != NULL ? dir_domain_exists(d, at + 1) : 1;
	if (local < 0)
		return -1;
	return run(d,
		   "INSERT INTO aliases(address, target, domain, forward) "
		   "VALUES(?1, ?2, ?3, ?4)",
		   "sssi", address, target, domain, (int64_t)(local == 0));
}

int dir_alias_del(struct directory *d, const char *address, const char *target)
{
	if (target == NULL)
		return run(d, "DELETE FROM aliases WHERE address = ?1", "s",
			   address);
	/* forwards keep their local part's case; ours are lower case */
	return run(d, "DELETE FROM aliases WHERE address = ?1 AND "
		      "lower(target) = lower(?2)",
		   "ss", address, target);
}

int dir_address_exists(struct directory *d, const char *address)
{
	int rc = query_one(d, Q_USER_GET, address);
	sqlite3_reset(d->stmt[Q_USER_GET]);
	if (rc != 0)
		return rc;
	rc = query_one(d, Q_ALIAS_TARGETS, address);
	sqlite3_reset(d->stmt[Q_ALIAS_TARGETS]);
	return rc;
}

/* ------------------------------------------------------------ listings */

static int list(struct directory *d, const char *sql, const char *filter,
		dir_row_fn *fn, void *arg)
{
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(d->db, sql, -1, &st, NULL) != SQLITE_OK)
		return -1;
	if (filter != NULL)
		sqlite3_bind_text(st, 1, filter, -1, SQLITE_STATIC);
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *a = (const char *)sqlite3_column_text(st, 0);
		const char *b = (const char *)sqlite3_column_text(st, 1);
		if (fn(arg, a != NULL ? a : "", b != NULL ? b : "",
		       sqlite3_column_int64(st, 2)) != 0) {
			rc = SQLITE_DONE;
			break;
		}
	}
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : -1;
}

int dir_domain_list(struct directory *d, dir_row_fn *fn, void *arg)
{
	return list(d,
		    "SELECT d.name, trim(iif(d.dmarc_action != '', "
		    "'dmarc=' || d.dmarc_action, '') || iif(d.dmarc_forwarders "
		    "!= '', ' dmarc-forwarders=' || d.dmarc_forwarders, '')), "
		    "(SELECT count(*) FROM users u WHERE u.domain = d.name) "
		    "FROM domains d ORDER BY d.name",
		    NULL, fn, arg);
}

int dir_domain_dmarc_get(struct directory *d, const char *name,
			 struct dir_domain_dmarc *out)
{
	sqlite3_stmt *st;
	memset(out, 0, sizeof(*out));
	if (sqlite3_prepare_v2(d->db,
			       "SELECT dmarc_action, dmarc_forwarders FROM domains "
			       "WHERE name = ?1",
			       -1, &st, NULL) != SQLITE_OK)
		return -1;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		snprintf(out->action, sizeof(out->action), "%s",
			 (const char *)sqlite3_column_text(st, 0));
		snprintf(out->forwarders, sizeof(out->forwarders), "%s",
			 (const char *)sqlite3_column_text(st, 1));
	}
	sqlite3_finalize(st);
	return rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : -1;
}

int dir_domain_dmarc_set(struct directory *d, const char *name,
			 const char *action, const char *forwarders)
{
	if (action != NULL)
		return run(d, "UPDATE domains SET dmarc_action = ?2 WHERE name = ?1",
			   "ss", name, action);
	return run(d, "UPDATE domains SET dmarc_forwarders = ?2 WHERE name = ?1",
		   "ss", name, forwarders);
}

int dir_user_list(struct directory *d, const char *domain, dir_row_fn *fn,
		  void *arg)
{
	return list(d,
		    "SELECT address, domain, quota FROM users "
		    "WHERE ?1 IS NULL OR domain = ?1 ORDER BY address",
		    domain, fn, arg);
}

int dir_alias_list(struct directory *d, const char *domain, dir_row_fn *fn,
		   void *arg)
{
	return list(d,
		    "SELECT address, target, 0 FROM aliases "
		    "WHERE ?1 IS NULL OR domain = ?1 ORDER BY address, target",
		    domain, fn, arg);
}

/* ------------------------------------------------------------ resolving */

void dir_targets_free(struct dir_targets *t)
{
	free(t->mailbox);
	free(t->outside);
	t->mailbox = NULL;
	t->outside = NULL;
	t->n = 0;
}

static enum dir_resolve_result add_target(struct dir_targets *t,
					  const char *mailbox, bool outside)
{
	for (size_t i = 0; i < t->n; i++)
		if (strcmp(t->mailbox[i], mailbox) == 0)
			return DIR_FOUND; /* already there */
	if (t->n >= DIR_TARGETS_MAX)
		return DIR_FOUND; /* enough: more would only multiply copies */
	void *more = reallocarray(t->mailbox, t->n + 1, sizeof(*t->mailbox));
	if (more == NULL)
		return DIR_ERROR;
	t->mailbox = more;
	more = reallocarray(t->outside, t->n + 1, sizeof(*t->outside));
	if (more == NULL)
		return DIR_ERROR;
	t->outside = more;
	t->outside[t->n] = outside;
	snprintf(t->mailbox[t->n++], DIR_ADDRESS_MAX + 1, "%s", mailbox);
	return DIR_FOUND;
}

struct alias_row {
	char target[DIR_ADDRESS_MAX + 1];
	bool forward; /* outside our domains when the alias was made */
};

/* The targets of alias address, copied out (the statement is reused by the
 * recursion). Returns the count, or -1. */
static int alias_targets(struct directory *d, const char *address,
			 struct alias_row **out)
{
	sqlite3_stmt *st = d->stmt[Q_ALIAS_TARGETS];
	sqlite3_reset(st);
	sqlite3_bind_text(st, 1, address, -1, SQLITE_STATIC);
	int n = 0, rc;
	*out = NULL;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW && n < DIR_TARGETS_MAX) {
		struct alias_row *more = reallocarray(*out, (size_t)n + 1,
						      sizeof(**out));
		if (more == NULL) {
			rc = SQLITE_NOMEM;
			break;
		}
		*out = more;
		snprintf(more[n].target, sizeof(more[n].target), "%s",
			 (const char *)sqlite3_column_text(st, 0));
		more[n++].forward = sqlite3_column_int(st, 1) != 0;
	}
	sqlite3_reset(st);
	if (rc != SQLITE_DONE && rc != SQLITE_ROW) {
		free(*out);
		*out = NULL;
		return -1;
	}
	return n;
}

/* A target outside our domains: a forward when the alias row says so;
 * else its domain was ours and went away, and it leads nowhere. */
static enum dir_resolve_result outside(const struct alias_row *row,
				       struct dir_targets *out)
{
	return row->forward ? add_target(out, row->target, true) : DIR_UNKNOWN;
}

static enum dir_resolve_result expand(struct directory *d, const char *address,
				      int depth, struct dir_targets *out);

static enum dir_resolve_result expand_row(struct directory *d,
					  const struct alias_row *row, int depth,
					  struct dir_targets *out)
{
	const char *at = strrchr(row->target, '@');
	if (at != NULL && at[1] != '\0') { /* not "@domain" */
		int local = dir_domain_exists(d, at + 1);
		if (local < 0)
			return DIR_ERROR;
		if (local == 0)
			return outside(row, out);
	}
	return expand(d, row->target, depth, out);
}

static enum dir_resolve_result expand(struct directory *d, const char *address,
				      int depth, struct dir_targets *out)
{
	int rc = query_one(d, Q_USER_GET, address);
	sqlite3_reset(d->stmt[Q_USER_GET]);
	if (rc < 0)
		return DIR_ERROR;
	if (rc == 1)
		return add_target(out, address, false);
	struct alias_row *rows;
	int n = alias_targets(d, address, &rows);
	if (n < 0)
		return DIR_ERROR;
	if (n == 0)
		return DIR_UNKNOWN;
	size_t before = out->n;
	enum dir_resolve_result r = DIR_FOUND;
	for (int i = 0; i < n && r != DIR_ERROR; i++) {
		if (depth + 1 >= DIR_ALIAS_DEPTH) {
			log_warn("directory event=alias-too-deep alias=%s", address);
			break;
		}
		r = expand_row(d, &rows[i], depth + 1, out);
		if (r == DIR_UNKNOWN || r == DIR_NO_TARGET) {
			log_warn("directory event=alias-target-missing alias=%s "
				 "target=%s", address, rows[i].target);
			r = DIR_FOUND;
		}
	}
	free(rows);
	if (r == DIR_ERROR)
		return r;
	return out->n > before ? DIR_FOUND : DIR_NO_TARGET;
}

enum dir_resolve_result dir_resolve(struct directory *d, const char *address,
				    const char *delimiters,
				    struct dir_targets *out)
{
	char addr[DIR_ADDRESS_MAX + 1];
	size_t len = strlen(address);
	const char *at = strrchr(address, '@');
	out->mailbox = NULL;
	out->outside = NULL;
	out->n = 0;
	if (at == NULL || len > DIR_ADDRESS_MAX)
		return DIR_UNKNOWN;
	memcpy(addr, address, len + 1);
	ascii_lower(addr, len);
	const char *domain = addr + (at - address) + 1;
	int local = dir_domain_exists(d, domain);
	if (local <= 0)
		return local < 0 ? DIR_ERROR : DIR_NOT_LOCAL;
	enum dir_resolve_result r = expand(d, addr, 0, out);
	size_t cut = strcspn(addr, delimiters);
	if (r == DIR_UNKNOWN && cut > 0 && addr + cut < domain - 1) {
		/* user+tag@domain: deliver to user@domain */
		char base[DIR_ADDRESS_MAX + 1];
		snprintf(base, sizeof(base), "%.*s%s", (int)cut, addr, domain - 1);
		r = expand(d, base, 0, out);
	}
	if (r == DIR_UNKNOWN) {
		char catchall[DIR_ADDRESS_MAX + 1];
		snprintf(catchall, sizeof(catchall), "%s", domain - 1);
		r = expand(d, catchall, 0, out);
	}
	if (r != DIR_FOUND)
		dir_targets_free(out);
	return r;
}

/* ------------------------------------------------------------ submission */

int dir_may_send_as(struct directory *d, const char *user, const char *address,
		    const char *delimiters)
{
	char a[DIR_ADDRESS_MAX + 1];
	size_t n = strlen(address);
	const char *at = strrchr(address, '@');
	if (n > DIR_ADDRESS_MAX || at == NULL)
		return 0;
	memcpy(a, address, n + 1);
	ascii_lower(a, n);
	if (strcmp(a, user) == 0)
		return 1;
	struct dir_targets t;
	enum dir_resolve_result r = dir_resolve(d, a, delimiters, &t);
	if (r == DIR_ERROR)
		return -1;
	bool ours = false;
	for (size_t i = 0; r == DIR_FOUND && i < t.n && !ours; i++)
		ours = strcmp(t.mailbox[i], user) == 0;
	dir_targets_free(&t);
	if (ours)
		return 1;
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(d->db,
			       "SELECT 1 FROM senders WHERE user = ?1 AND "
			       "(address = ?2 OR address = ?3)",
			       -1, &st, NULL) != SQLITE_OK)
		return -1;
	sqlite3_bind_text(st, 1, user, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, a, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, a + (at - address), -1, SQLITE_STATIC);
	int rc = sqlite3_step(st);
	sqlite3_finalize(st);
	return rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : -1;
}

int dir_sender_add(struct directory *d, const char *user, const char *address)
{
	return run(d, "INSERT INTO senders(user, address) VALUES(?1, ?2)", "ss",
		   user, address);
}

int dir_sender_del(struct directory *d, const char *user, const char *address)
{
	return run(d, "DELETE FROM senders WHERE user = ?1 AND address = ?2", "ss",
		   user, address);
}

int dir_sender_list(struct directory *d, const char *user, dir_row_fn *fn,
		    void *arg)
{
	return list(d,
		    "SELECT user, address, 0 FROM senders "
		    "WHERE ?1 IS NULL OR user = ?1 ORDER BY user, address",
		    user, fn, arg);
}

int dir_token_add(struct directory *d, const char *user, const char *name,
		  const char *hash, const char *senders)
{
	return run(d,
		   "INSERT INTO tokens(user, name, hash, senders, created) "
		   "VALUES(?1, ?2, ?3, ?4, ?5)",
		   "ssssi", user, name, hash, senders, now_s());
}

int dir_token_del(struct directory *d, const char *user, const char *name)
{
	return run(d, "DELETE FROM tokens WHERE user = ?1 AND name = ?2", "ss",
		   user, name);
}

int dir_token_list(struct directory *d, const char *user, dir_row_fn *fn,
		   void *arg)
{
	return list(d,
		    "SELECT name, senders, created FROM tokens "
		    "WHERE user = ?1 ORDER BY name",
		    user, fn, arg);
}

int dir_token_find(struct directory *d, const char *hash, struct dir_token *t)
{
	sqlite3_stmt *st;
	memset(t, 0, sizeof(*t));
	if (sqlite3_prepare_v2(d->db,
			       "SELECT id, user, name, senders FROM tokens "
			       "WHERE hash = ?1",
			       -1, &st, NULL) != SQLITE_OK)
		return -1;
	sqlite3_bind_text(st, 1, hash, -1, SQLITE_STATIC);
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		t->id = sqlite3_column_int64(st, 0);
		snprintf(t->user, sizeof(t->user), "%s", sqlite3_column_text(st, 1));
		snprintf(t->name, sizeof(t->name), "%s", sqlite3_column_text(st, 2));
		snprintf(t->senders, sizeof(t->senders), "%s",
			 sqlite3_column_text(st, 3));
	}
	sqlite3_finalize(st);
	return rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : -1;
}

int dir_token_used(struct directory *d, int64_t id, int64_t when)
{
	return run(d, "UPDATE tokens SET last_used = ?2 WHERE id = ?1", "ii", id,
		   when);
}

int dir_cert_add(struct directory *d, const char *fingerprint, const char *user)
{
	return run(d,
		   "INSERT INTO certs(fingerprint, user, created) VALUES(?1, ?2, ?3)",
		   "ssi", fingerprint, user, now_s());
}

int dir_cert_del(struct directory *d, const char *fingerprint)
{
	return run(d, "DELETE FROM certs WHERE fingerprint = ?1", "s", fingerprint);
}

int dir_cert_list(struct directory *d, const char *user, dir_row_fn *fn,
		  void *arg)
{
	return list(d,
		    "SELECT fingerprint, user, created FROM certs "
		    "WHERE ?1 IS NULL OR user = ?1 ORDER BY user, fingerprint",
		    user, fn, arg);
}

int dir_cert_user(struct directory *d, const char *fingerprint,
		  char user[DIR_ADDRESS_MAX + 1])
{
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(d->db, "SELECT user FROM certs WHERE fingerprint = ?1",
			       -1, &st, NULL) != SQLITE_OK)
		return -1;
	sqlite3_bind_text(st, 1, fingerprint, -1, SQLITE_STATIC);
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		snprintf(user, DIR_ADDRESS_MAX + 1, "%s", sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
	return rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : -1;
}

int dir_sends_record(struct directory *d, const char *user, int64_t when,
		     unsigned rcpts)
{
	/* rows older than a day are of no use to an hourly limit */
	run(d, "DELETE FROM sends WHERE user = ?1 AND time < ?2", "si", user,
	    when - 86400);
	int rc = run(d, "INSERT INTO sends(user, time, rcpts) VALUES(?1, ?2, ?3)",
		     "sii", user, when, (int64_t)rcpts);
	return rc < 0 ? -1 : 0;
}

int dir_sends_usage(struct directory *d, const char *user, int64_t since,
		    unsigned *messages, unsigned *rcpts, int64_t *oldest)
{
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(d->db,
			       "SELECT count(*), coalesce(sum(rcpts), 0), "
			       "coalesce(min(time), 0) FROM sends "
			       "WHERE user = ?1 AND time > ?2",
			       -1, &st, NULL) != SQLITE_OK)
		return -1;
	sqlite3_bind_text(st, 1, user, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, since);
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*messages = (unsigned)sqlite3_column_int64(st, 0);
		*rcpts = (unsigned)sqlite3_column_int64(st, 1);
		*oldest = sqlite3_column_int64(st, 2);
	}
	sqlite3_finalize(st);
	return rc == SQLITE_ROW ? 0 : -1;
}
