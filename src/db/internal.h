/* internal: what the files of src/db/ share. Not for use outside it. */
#ifndef POSTERN_DB_INTERNAL_H
#define POSTERN_DB_INTERNAL_H

#include "db/directory.h"

#include <sqlite3.h>

/* The connection behind d. */
sqlite3 *directory_sqlite(struct directory *d);

#endif
