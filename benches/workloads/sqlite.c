/* SQLite workload: an in-memory database, bulk inserts, an index, and
 * aggregate queries. Prints a checksum of the query results. */
#include <stdio.h>
#include <stdlib.h>
#include "sqlite3.h"

#define ROWS 60000

static void check(int rc, sqlite3 *db, const char *what) {
    if (rc != SQLITE_OK && rc != SQLITE_DONE && rc != SQLITE_ROW) {
        fprintf(stderr, "%s: %s\n", what, sqlite3_errmsg(db));
        exit(1);
    }
}

int main(void) {
    sqlite3 *db;
    check(sqlite3_open(":memory:", &db), db, "open");
    check(sqlite3_exec(db, "CREATE TABLE t(id INTEGER PRIMARY KEY, k INTEGER, v TEXT, x REAL)", 0, 0, 0), db, "create");
    check(sqlite3_exec(db, "BEGIN", 0, 0, 0), db, "begin");
    sqlite3_stmt *insert;
    check(sqlite3_prepare_v2(db, "INSERT INTO t(k, v, x) VALUES(?, ?, ?)", -1, &insert, 0), db, "prepare");
    unsigned seed = 12345;
    char text[32];
    for (int i = 0; i < ROWS; i++) {
        seed = seed * 1103515245u + 12345u;
        int k = (int)((seed >> 8) % 1000);
        snprintf(text, sizeof text, "row-%u", seed % 100000u);
        sqlite3_bind_int(insert, 1, k);
        sqlite3_bind_text(insert, 2, text, -1, SQLITE_TRANSIENT);
        sqlite3_bind_double(insert, 3, (double)(seed % 10007) / 7.0);
        check(sqlite3_step(insert), db, "insert");
        sqlite3_reset(insert);
    }
    sqlite3_finalize(insert);
    check(sqlite3_exec(db, "COMMIT", 0, 0, 0), db, "commit");
    check(sqlite3_exec(db, "CREATE INDEX tk ON t(k)", 0, 0, 0), db, "index");

    const char *queries[] = {
        "SELECT k, count(*), sum(x) FROM t GROUP BY k ORDER BY k",
        "SELECT count(*), sum(length(v)) FROM t WHERE v LIKE 'row-1%'",
        "SELECT a.k, count(*) FROM t a JOIN t b ON a.k = b.k WHERE a.id < 300 GROUP BY a.k",
        "SELECT id, v FROM t ORDER BY v DESC, id LIMIT 2000",
    };
    unsigned long long checksum = 0;
    for (unsigned q = 0; q < sizeof queries / sizeof *queries; q++) {
        sqlite3_stmt *stmt;
        check(sqlite3_prepare_v2(db, queries[q], -1, &stmt, 0), db, "prepare query");
        int rc;
        while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
            for (int c = 0; c < sqlite3_column_count(stmt); c++) {
                const unsigned char *s = sqlite3_column_text(stmt, c);
                for (; s && *s; s++) checksum = checksum * 31 + *s;
            }
        }
        check(rc, db, "step");
        sqlite3_finalize(stmt);
    }
    sqlite3_close(db);
    printf("sqlite checksum %llu\n", checksum);
    return 0;
}
