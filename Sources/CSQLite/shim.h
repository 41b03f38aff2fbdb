#include <sqlite3.h>

/// sqlite3_db_config is variadic, which Swift cannot call.
/// Turning off double-quoted string literals makes a misspelled column name an error, not a string.
static inline void intake_sqlite_disable_dqs(sqlite3 *db) {
    sqlite3_db_config(db, SQLITE_DBCONFIG_DQS_DDL, 0, (void *)0);
    sqlite3_db_config(db, SQLITE_DBCONFIG_DQS_DML, 0, (void *)0);
}

/// Turns triggers and foreign-key enforcement on or off for statements prepared on `db` from now
/// on (SQLite expires the prepared ones, which prepare again on their next step). Unlike
/// `PRAGMA foreign_keys`, this works inside a transaction.
static inline void intake_sqlite_enforce_triggers_and_foreign_keys(sqlite3 *db, int on) {
    sqlite3_db_config(db, SQLITE_DBCONFIG_ENABLE_TRIGGER, on, (int *)0);
    sqlite3_db_config(db, SQLITE_DBCONFIG_ENABLE_FKEY, on, (int *)0);
}

/// sqlite3_config is variadic too. Intake keeps no SQLite memory statistics: counting every
/// allocation takes a global mutex, on the hot path of an import.
static inline int intake_sqlite_configure_process(void) {
    return sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
}
