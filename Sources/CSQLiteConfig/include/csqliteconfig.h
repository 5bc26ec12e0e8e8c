#ifndef CSQLITECONFIG_H
#define CSQLITECONFIG_H

/// Turns off SQLite's memory statistics for the whole process (SQLITE_CONFIG_MEMSTATUS),
/// which otherwise take a global mutex around every allocation SQLite makes. Must run
/// before SQLite is first used: returns SQLITE_OK (0), or SQLITE_MISUSE (21) if SQLite
/// was already initialized (then nothing changed). sqlite3_config is variadic, which
/// Swift cannot call; hence this shim.
int csqlite_disable_memstatus(void);

#endif
