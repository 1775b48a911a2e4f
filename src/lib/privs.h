/* privs: dropping root. The server binds its ports and reads its keys as
 * root, then runs as an unprivileged user for good; command-line tools that
 * touch the data directory do the same, so every file in it belongs to that
 * user. When not started as root, nothing changes. */
#ifndef POSTERN_LIB_PRIVS_H
#define POSTERN_LIB_PRIVS_H

#include <stdbool.h>

/* As root: create dir (0700) if missing and give it to user. As anyone
 * else: create it if missing. 0, or -1 with *error_r. */
int privs_prepare_dir(const char *dir, const char *user, const char **error_r);
/* As root: become user (groups, gid, uid; no way back; no new privileges).
 * 0, or -1 with *error_r. */
int privs_drop(const char *user, const char **error_r);
bool privs_are_root(void);

#endif
