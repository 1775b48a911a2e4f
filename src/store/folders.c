/* folders: create, delete, rename and list Maildir++ folders; subscriptions. */
#include "store/folders.h"

#include "lib/buf.h"
#include "lib/durable.h"
#include "lib/log.h"
#include "lib/util.h"
#include "store/maildir.h"
#include "store/mailbox.h"
#include "store/sync.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const struct {
	const char *folder;
	enum store_special_use use;
	const char *attr;
} specials[] = {
	{".Sent", STORE_USE_SENT, "\\Sent"},
	{".Drafts", STORE_USE_DRAFTS, "\\Drafts"},
	{".Junk", STORE_USE_JUNK, "\\Junk"},
	{".Trash", STORE_USE_TRASH, "\\Trash"},
	{".Archive", STORE_USE_ARCHIVE, "\\Archive"},
};

enum store_special_use store_special_use(const char *folder)
{
	for (size_t i = 0; i < ARRAY_LEN(specials); i++)
		if (strcmp(folder, specials[i].folder) == 0)
			return specials[i].use;
	return STORE_USE_NONE;
}

const char *store_special_use_attr(enum store_special_use use)
{
	for (size_t i = 0; i < ARRAY_LEN(specials); i++)
		if (use == specials[i].use)
			return specials[i].attr;
	return NULL;
}

int store_create_defaults(const char *root, const char **error_r)
{
	char dir[MAILDIR_PATH_MAX];
	if (maildir_create(root) < 0) {
		*error_r = "cannot create the Maildir";
		return -1;
	}
	for (size_t i = 0; i < ARRAY_LEN(specials); i++) {
		if (maildir_folder(root, specials[i].folder + 1, dir) < 0) {
			*error_r = "cannot create a default folder";
			return -1;
		}
	}
	return fsync_dir(root) < 0 ? (*error_r = "cannot sync the Maildir", -1)
				   : 0;
}

/* A folder the operations below may touch: not INBOX, a valid name. */
static int folder_path(const char *root, const char *folder, char *dir,
		       const char **error_r)
{
	if (folder[0] == '\0') {
		*error_r = "not allowed on INBOX";
		return -1;
	}
	if (store_folder_dir(root, folder, dir, MAILDIR_PATH_MAX) < 0) {
		*error_r = "bad folder name";
		return -1;
	}
	return 0;
}

int store_folder_create(const char *root, const char *folder,
			const char **error_r)
{
	char dir[MAILDIR_PATH_MAX], made[MAILDIR_PATH_MAX];
	if (folder_path(root, folder, dir, error_r) < 0)
		return -1;
	/* mkdir decides between two sessions creating the same name */
	if (mkdir(dir, 0700) < 0) {
		*error_r = errno == EEXIST ? "folder already exists"
					   : "cannot create the folder";
		return -1;
	}
	if (maildir_folder(root, folder + 1, made) < 0 || fsync_dir(root) < 0) {
		*error_r = "cannot create the folder";
		return -1;
	}
	return 0;
}

static int remove_entry(const char *path, const struct stat *sb, int flag,
			struct FTW *ftw)
{
	return remove(path);
}

int store_folder_delete(const char *root, const char *folder,
			const char **error_r)
{
	char dir[MAILDIR_PATH_MAX], gone[MAILDIR_PATH_MAX], name[96];
	if (folder_path(root, folder, dir, error_r) < 0)
		return -1;
	/* one rename makes it vanish at once; the slow removal follows */
	snprintf(name, sizeof(name), "tmp/deleted.%d.%" PRIu64, (int)getpid(),
		 wallclock_us());
	if (store_path(gone, root, name) < 0 || rename(dir, gone) < 0) {
		*error_r = errno == ENOENT ? "no such folder"
					   : "cannot delete the folder";
		return -1;
	}
	fsync_dir(root);
	if (nftw(gone, remove_entry, 16, FTW_DEPTH | FTW_PHYS) < 0)
		log_warn("store event=folder-remove-incomplete path=%s", gone);
	/* Maildir++: a missing maildirsize is recounted at the next check */
	char size_file[MAILDIR_PATH_MAX];
	if (store_path(size_file, root, "maildirsize") == 0)
		unlink(size_file);
	return 0;
}

/* ------------------------------------------------------------ list */

static bool is_folder_entry(const char *root, const struct dirent *de)
{
	if (de->d_name[0] != '.' || strcmp(de->d_name, ".") == 0 ||
	    strcmp(de->d_name, "..") == 0)
		return false;
	if (de->d_type == DT_DIR)
		return true;
	if (de->d_type != DT_UNKNOWN)
		return false;
	char path[MAILDIR_PATH_MAX];
	struct stat sb;
	return store_path(path, root, de->d_name) == 0 && stat(path, &sb) == 0 &&
	       S_ISDIR(sb.st_mode);
}

static int add_info(struct store_folder_info **v, size_t *n, const char *name)
{
	if ((*n & (*n - 1)) == 0) {
		void *p = realloc(*v, (*n ? *n * 2 : 8) * sizeof(**v));
		if (p == NULL)
			return -1;
		*v = p;
	}
	char *copy = strdup(name);
	if (copy == NULL)
		return -1;
	(*v)[*n].folder = copy;
	(*v)[*n].use = store_special_use(name);
	(*n)++;
	return 0;
}

static int cmp_info(const void *a, const void *b)
{
	const struct store_folder_info *x = a, *y = b;
	return strcmp(x->folder, y->folder); /* "" (INBOX) sorts first */
}

int store_folder_list(const char *root, struct store_folder_info **list_r,
		      size_t *n_r, const char **error_r)
{
	struct store_folder_info *v = NULL;
	size_t n = 0;
	DIR *d = opendir(root);
	if (d == NULL) {
		*error_r = "cannot list the Maildir";
		return -1;
	}
	int rc = add_info(&v, &n, "");
	struct dirent *de;
	while (rc == 0 && (de = readdir(d)) != NULL)
		if (is_folder_entry(root, de))
			rc = add_info(&v, &n, de->d_name);
	closedir(d);
	if (rc < 0) {
		store_folder_list_free(v, n);
		*error_r = "out of memory";
		return -1;
	}
	qsort(v, n, sizeof(*v), cmp_info);
	*list_r = v;
	*n_r = n;
	return 0;
}

void store_folder_list_free(struct store_folder_info *list, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(list[i].folder);
	free(list);
}

/* ------------------------------------------------------------ rename */

/* ".A" and its children ".A.x": the names to move, from a listing. */
static bool in_tree(const char *name, const char *top)
{
	size_t n = strlen(top);
	return strncmp(name, top, n) == 0 && (name[n] == '\0' || name[n] == '.');
}

static int rename_checks(const char *root, const char *from, const char *to,
			 const struct store_folder_info *v, size_t n,
			 size_t *moving, const char **error_r)
{
	char dir[MAILDIR_PATH_MAX];
	if (folder_path(root, from, dir, error_r) < 0 ||
	    folder_path(root, to, dir, error_r) < 0)
		return -1;
	if (in_tree(to, from)) {
		*error_r = "cannot move a folder into itself";
		return -1;
	}
	*moving = 0;
	for (size_t i = 0; i < n; i++) {
		if (in_tree(v[i].folder, to)) {
			*error_r = "target folder already exists";
			return -1;
		}
		if (in_tree(v[i].folder, from))
			(*moving)++;
	}
	if (*moving == 0) {
		*error_r = "no such folder";
		return -1;
	}
	return 0;
}

static int move_one(const char *root, const char *name, const char *from,
		    const char *to)
{
	char src[MAILDIR_PATH_MAX], dst[MAILDIR_PATH_MAX], new_name[512];
	int n = snprintf(new_name, sizeof(new_name), "%s%s", to,
			 name + strlen(from));
	if (n < 0 || n >= (int)sizeof(new_name) || n > MDNAME_MAX) {
		errno = ENAMETOOLONG;
		return -1;
	}
	if (store_path(src, root, name) < 0 || store_path(dst, root, new_name) < 0)
		return -1;
	return rename(src, dst);
}

int store_folder_rename(const char *root, const char *from, const char *to,
			const char **error_r)
{
	struct store_folder_info *v;
	size_t n, moving;
	if (store_folder_list(root, &v, &n, error_r) < 0)
		return -1;
	int rc = rename_checks(root, from, to, v, n, &moving, error_r);
	for (size_t i = 0; i < n && rc == 0; i++)
		if (in_tree(v[i].folder, from) &&
		    move_one(root, v[i].folder, from, to) < 0) {
			*error_r = errno == ENAMETOOLONG ? "folder name too long"
						       : "cannot rename the folder";
			rc = -1;
		}
	if (fsync_dir(root) < 0 && rc == 0) {
		*error_r = "cannot sync the Maildir";
		rc = -1;
	}
	store_folder_list_free(v, n);
	return rc;
}

/* ------------------------------------------------------------ subscriptions */

#define SUBSCRIPTIONS_FILE "subscriptions"

void store_subscriptions_free(char **names, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

static int push_name(char ***v, size_t *n, const char *p, size_t len)
{
	if ((*n & (*n - 1)) == 0) {
		void *q = realloc(*v, (*n ? *n * 2 : 8) * sizeof(**v));
		if (q == NULL)
			return -1;
		*v = q;
	}
	(*v)[*n] = strndup(p, len);
	if ((*v)[*n] == NULL)
		return -1;
	(*n)++;
	return 0;
}

/* Lines of text, empty ones and the "V\t2" header of Dovecot's version 2
 * (which we do not write) skipped; at most the limits. */
static int parse_subscriptions(const char *text, size_t len, char ***v,
			       size_t *n)
{
	for (size_t pos = 0; pos < len && *n < STORE_SUBSCRIPTIONS_MAX;) {
		const char *p = text + pos, *lf = memchr(p, '\n', len - pos);
		size_t l = lf ? (size_t)(lf - p) : len - pos;
		pos += l + 1;
		if (l == 0 || l > STORE_SUBSCRIPTION_NAME_MAX ||
		    memchr(p, '\0', l) != NULL || (l >= 2 && p[0] == 'V' && p[1] == '\t'))
			continue;
		if (push_name(v, n, p, l) < 0)
			return -1;
	}
	return 0;
}

int store_subscriptions(const char *root, char ***names_r, size_t *n_r,
			const char **error_r)
{
	char path[MAILDIR_PATH_MAX], *text;
	size_t len;
	*names_r = NULL;
	*n_r = 0;
	if (store_path(path, root, SUBSCRIPTIONS_FILE) < 0) {
		*error_r = "path too long";
		return -1;
	}
	size_t max = STORE_SUBSCRIPTIONS_MAX * (STORE_SUBSCRIPTION_NAME_MAX + 1);
	if (read_file(path, max, &text, &len) < 0) {
		if (errno == ENOENT)
			return 0;
		*error_r = "cannot read the subscriptions";
		return -1;
	}
	int rc = parse_subscriptions(text, len, names_r, n_r);
	free(text);
	if (rc < 0) {
		store_subscriptions_free(*names_r, *n_r);
		*names_r = NULL;
		*n_r = 0;
		*error_r = "out of memory";
	}
	return rc;
}

static int write_subscriptions(const char *root, char **names, size_t n,
			       const char *skip, const char *add)
{
	struct buf b;
	buf_init(&b, 0);
	int rc = 0;
	for (size_t i = 0; i < n && rc == 0; i++)
		if (skip == NULL || strcmp(names[i], skip) != 0)
			rc = buf_appendf(&b, "%s\n", names[i]);
	if (rc == 0 && add != NULL)
		rc = buf_appendf(&b, "%s\n", add);
	if (rc == 0)
		rc = store_write_atomic(root, SUBSCRIPTIONS_FILE,
					b.len ? b.data : "", b.len);
	buf_free(&b);
	return rc;
}

static bool listed(char **names, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(names[i], name) == 0)
			return true;
	return false;
}

int store_subscribe(const char *root, const char *name, bool on,
		    const char **error_r)
{
	size_t len = strlen(name), n;
	char **names;
	if (len == 0 || len > STORE_SUBSCRIPTION_NAME_MAX ||
	    strchr(name, '\n') != NULL) {
		*error_r = "bad mailbox name";
		return -1;
	}
	/* INBOX's lock serialises the read-modify-write of the file */
	int lock = store_lock(root, error_r);
	if (lock < 0)
		return -1;
	int rc = store_subscriptions(root, &names, &n, error_r);
	if (rc == 0 && on && !listed(names, n, name) &&
	    n >= STORE_SUBSCRIPTIONS_MAX) {
		*error_r = "too many subscriptions";
		rc = -1;
	}
	if (rc == 0 && on != listed(names, n, name) &&
	    write_subscriptions(root, names, n, on ? NULL : name,
				on ? name : NULL) < 0) {
		*error_r = "cannot write the subscriptions";
		rc = -1;
	}
	store_unlock(lock);
	store_subscriptions_free(names, n);
	return rc;
}
