/* dkim: DKIM keys in the directory. */
#include "db/dkim.h"

#include "db/internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void dir_dkim_key_clear(struct dir_dkim_key *k)
{
	if (k->private_pem != NULL) {
		explicit_bzero(k->private_pem, strlen(k->private_pem));
		free(k->private_pem);
	}
	memset(k, 0, sizeof(*k));
}

/* Run one statement binding text (s) and integer (i) arguments; 0 when it
 * changed a row, 1 when none (or a constraint said no), -1 on error. */
static int change(struct directory *d, const char *sql, const char *domain,
		  const char *selector, int64_t n)
{
	sqlite3 *db = directory_sqlite(d);
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
		return -1;
	sqlite3_bind_text(st, 1, domain, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, selector, -1, SQLITE_STATIC);
	if (sqlite3_bind_parameter_count(st) >= 3)
		sqlite3_bind_int64(st, 3, n);
	int rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc == SQLITE_CONSTRAINT)
		return 1;
	if (rc != SQLITE_DONE)
		return -1;
	return sqlite3_changes(db) > 0 ? 0 : 1;
}

int dir_dkim_add(struct directory *d, const struct dir_dkim_key *k)
{
	sqlite3 *db = directory_sqlite(d);
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(db,
			       "INSERT INTO dkim_keys(domain, selector, algo, "
			       "private_key, created, sign_from, retire_at, "
			       "revoked) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
			       -1, &st, NULL) != SQLITE_OK)
		return -1;
	sqlite3_bind_text(st, 1, k->domain, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, k->selector, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, k->algo, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, k->private_pem, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 5, k->created);
	sqlite3_bind_int64(st, 6, k->sign_from);
	sqlite3_bind_int64(st, 7, k->retire_at);
	sqlite3_bind_int(st, 8, k->revoked);
	int rc = sqlite3_step(st);
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : rc == SQLITE_CONSTRAINT ? 1 : -1;
}

static void text(char *out, size_t n, sqlite3_stmt *st, int col)
{
	const unsigned char *t = sqlite3_column_text(st, col);
	snprintf(out, n, "%s", t != NULL ? (const char *)t : "");
}

/* One row into k; -1 when out of memory. */
static int row(sqlite3_stmt *st, struct dir_dkim_key *k)
{
	memset(k, 0, sizeof(*k));
	text(k->domain, sizeof(k->domain), st, 0);
	text(k->selector, sizeof(k->selector), st, 1);
	text(k->algo, sizeof(k->algo), st, 2);
	const unsigned char *pem = sqlite3_column_text(st, 3);
	k->private_pem = strdup(pem != NULL ? (const char *)pem : "");
	k->created = sqlite3_column_int64(st, 4);
	k->sign_from = sqlite3_column_int64(st, 5);
	k->retire_at = sqlite3_column_int64(st, 6);
	k->revoked = sqlite3_column_int(st, 7) != 0;
	return k->private_pem != NULL ? 0 : -1;
}

int dir_dkim_list(struct directory *d, const char *domain, dir_dkim_fn *fn,
		  void *arg)
{
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(directory_sqlite(d),
			       "SELECT domain, selector, algo, private_key, "
			       "created, sign_from, retire_at, revoked "
			       "FROM dkim_keys WHERE ?1 IS NULL OR domain = ?1 "
			       "ORDER BY domain, sign_from, selector",
			       -1, &st, NULL) != SQLITE_OK)
		return -1;
	if (domain != NULL)
		sqlite3_bind_text(st, 1, domain, -1, SQLITE_STATIC);
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct dir_dkim_key k;
		int stop = row(st, &k) < 0 ? -1 : fn(arg, &k);
		dir_dkim_key_clear(&k);
		if (stop != 0) {
			rc = stop < 0 ? SQLITE_NOMEM : SQLITE_DONE;
			break;
		}
	}
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : -1;
}

int dir_dkim_set_retire(struct directory *d, const char *domain,
			const char *selector, int64_t when)
{
	return change(d,
		      "UPDATE dkim_keys SET retire_at = ?3 "
		      "WHERE domain = ?1 AND selector = ?2",
		      domain, selector, when);
}

int dir_dkim_revoke(struct directory *d, const char *domain,
		    const char *selector)
{
	return change(d,
		      "UPDATE dkim_keys SET revoked = 1 "
		      "WHERE domain = ?1 AND selector = ?2",
		      domain, selector, 0);
}

int dir_dkim_delete(struct directory *d, const char *domain,
		    const char *selector)
{
	return change(d,
		      "DELETE FROM dkim_keys WHERE domain = ?1 AND selector = ?2",
		      domain, selector, 0);
}
