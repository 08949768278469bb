/*
 * Process-wide SQLite settings, as shims: sqlite3_config is variadic, which Swift cannot call.
 * Debian: libsqlite3-dev.
 */
#ifndef INLET_SQLITE_SETUP_H
#define INLET_SQLITE_SETUP_H

#include <sqlite3.h>

/* Stops SQLite counting its memory use: every allocation and free otherwise takes a global
   mutex to update the counters (7% of the instructions of the queue's statements under
   callgrind). Works only before SQLite initializes, i.e. before the process opens its first
   connection; returns SQLITE_OK when applied, SQLITE_MISUSE when too late. */
static inline int inlet_sqlite_disable_memory_statistics(void) {
    return sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
}

#endif
