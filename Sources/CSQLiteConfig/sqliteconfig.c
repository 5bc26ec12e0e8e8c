#include "csqliteconfig.h"
#include <sqlite3.h>

int csqlite_disable_memstatus(void) {
    return sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
}
