/* A real SQLite workload: a database file in a directory given as argv[1], a few
 * thousand rows, indexes, joins, aggregates, a transaction rolled back, and a
 * reopen to check durability. Prints every query result; the test compares the
 * output of the Wasm build with the native build of the same sources. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "sqlite3.h"

static int print_row(void *unused, int ncols, char **values, char **names) {
    (void)unused;
    for (int i = 0; i < ncols; i++) {
        printf("%s%s=%s", i ? " " : "", names[i], values[i] ? values[i] : "NULL");
    }
    printf("\n");
    return 0;
}

static void run(sqlite3 *db, const char *sql) {
    char *err = NULL;
    printf("> %s\n", sql);
    if (sqlite3_exec(db, sql, print_row, NULL, &err) != SQLITE_OK) {
        printf("error: %s\n", err);
        sqlite3_free(err);
        exit(2);
    }
}

static sqlite3 *open_db(const char *path) {
    sqlite3 *db;
    if (sqlite3_open(path, &db) != SQLITE_OK) {
        printf("cannot open %s: %s\n", path, sqlite3_errmsg(db));
        exit(3);
    }
    return db;
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: %s DIR\n", argv[0]);
        return 1;
    }
    char path[4096];
    snprintf(path, sizeof path, "%s/workload.db", argv[1]);
    sqlite3 *db = open_db(path);
    run(db, "PRAGMA journal_mode=DELETE");
    run(db, "CREATE TABLE customers(id INTEGER PRIMARY KEY, name TEXT NOT NULL, city TEXT)");
    run(db, "CREATE TABLE orders(id INTEGER PRIMARY KEY, customer INTEGER REFERENCES customers(id), "
            "amount REAL, note TEXT)");

    sqlite3_stmt *insert;
    run(db, "BEGIN");
    sqlite3_prepare_v2(db, "INSERT INTO customers(name, city) VALUES (?, ?)", -1, &insert, NULL);
    const char *cities[] = {"Lisbon", "Oslo", "Kyoto", "Lagos", "Quito", "Perth"};
    for (int i = 0; i < 2000; i++) {
        char name[32];
        snprintf(name, sizeof name, "customer-%05d", (i * 7919) % 10007);
        sqlite3_bind_text(insert, 1, name, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(insert, 2, cities[(i * 31) % 6], -1, SQLITE_STATIC);
        sqlite3_step(insert);
        sqlite3_reset(insert);
    }
    sqlite3_finalize(insert);
    sqlite3_prepare_v2(db, "INSERT INTO orders(customer, amount, note) VALUES (?, ?, ?)", -1, &insert, NULL);
    unsigned seed = 12345;
    for (int i = 0; i < 20000; i++) {
        seed = seed * 1103515245u + 12345u;
        char note[64];
        snprintf(note, sizeof note, "order %d for %u", i, seed % 1000);
        sqlite3_bind_int(insert, 1, 1 + (int)(seed % 2000));
        sqlite3_bind_double(insert, 2, (double)(seed % 100000) / 100.0);
        sqlite3_bind_text(insert, 3, note, -1, SQLITE_TRANSIENT);
        sqlite3_step(insert);
        sqlite3_reset(insert);
    }
    sqlite3_finalize(insert);
    run(db, "COMMIT");

    run(db, "CREATE INDEX orders_by_customer ON orders(customer)");
    run(db, "SELECT count(*) AS n, printf('%.2f', sum(amount)) AS total FROM orders");
    run(db, "SELECT c.city, count(*) AS orders, printf('%.2f', avg(o.amount)) AS avg_amount "
            "FROM orders o JOIN customers c ON c.id = o.customer GROUP BY c.city ORDER BY c.city");
    run(db, "SELECT c.name, printf('%.2f', sum(o.amount)) AS spent FROM customers c "
            "JOIN orders o ON o.customer = c.id GROUP BY c.id ORDER BY sum(o.amount) DESC, c.name LIMIT 5");
    run(db, "WITH RECURSIVE fib(a, b, n) AS (SELECT 0, 1, 0 UNION ALL SELECT b, a + b, n + 1 FROM fib "
            "WHERE n < 40) SELECT max(a) AS fib40 FROM fib");
    run(db, "BEGIN");
    run(db, "DELETE FROM orders WHERE amount > 500");
    run(db, "SELECT count(*) AS after_delete FROM orders");
    run(db, "ROLLBACK");
    run(db, "UPDATE customers SET city = upper(city) WHERE id % 3 = 0");
    run(db, "SELECT city, count(*) AS n FROM customers GROUP BY city ORDER BY city");
    run(db, "PRAGMA integrity_check");
    sqlite3_close(db);

    db = open_db(path);
    run(db, "SELECT count(*) AS orders_after_reopen FROM orders");
    run(db, "SELECT note FROM orders WHERE id IN (1, 777, 20000) ORDER BY id");
    run(db, "VACUUM");
    run(db, "SELECT count(*) AS customers_after_vacuum FROM customers");
    sqlite3_close(db);
    printf("done\n");
    return 0;
}
