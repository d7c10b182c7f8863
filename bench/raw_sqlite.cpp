#include "raw_sqlite.hpp"

#include <sqlite3.h>

#include <cstdint>
#include <stdexcept>

#include "bill_maker.hpp"

namespace meterbridge::bench {
namespace {

void check(sqlite3* db, int rc) {
    if (rc != SQLITE_OK && rc != SQLITE_DONE && rc != SQLITE_ROW) throw std::runtime_error(sqlite3_errmsg(db));
}

void exec(sqlite3* db, const char* sql) { check(db, sqlite3_exec(db, sql, nullptr, nullptr, nullptr)); }

}  // namespace

RawSqliteResult run_raw_sqlite(const std::filesystem::path& file, int rows_per_transaction,
                               std::chrono::milliseconds duration) {
    std::filesystem::remove(file);
    sqlite3* db = nullptr;
    check(db, sqlite3_open(file.c_str(), &db));
    exec(db, "PRAGMA journal_mode = WAL");
    exec(db, "PRAGMA synchronous = FULL");
    exec(db, "CREATE TABLE deliveries (id INTEGER PRIMARY KEY, received_at INTEGER NOT NULL, remote_addr TEXT, "
             "headers TEXT, body BLOB, body_bytes INTEGER, result TEXT, event_id TEXT, bill_id TEXT)");
    exec(db, "CREATE TABLE bill_versions (id INTEGER PRIMARY KEY, bill_id TEXT NOT NULL, version INTEGER NOT NULL, "
             "bill_json TEXT NOT NULL, delivery_id INTEGER NOT NULL, received_at INTEGER NOT NULL)");
    exec(db, "CREATE INDEX bill_versions_by_bill ON bill_versions (bill_id, version)");
    sqlite3_stmt* delivery = nullptr;
    sqlite3_stmt* version = nullptr;
    check(db, sqlite3_prepare_v2(db,
                                 "INSERT INTO deliveries (received_at, remote_addr, headers, body, body_bytes, result, "
                                 "event_id, bill_id) VALUES (?1, '127.0.0.1', '{}', ?2, ?3, 'new', ?4, ?4)",
                                 -1, &delivery, nullptr));
    check(db, sqlite3_prepare_v2(db,
                                 "INSERT INTO bill_versions (bill_id, version, bill_json, delivery_id, received_at) "
                                 "VALUES (?1, 1, ?2, ?3, ?4)",
                                 -1, &version, nullptr));
    RawSqliteResult result;
    const auto start = std::chrono::steady_clock::now();
    const auto end = start + duration;
    std::int64_t n = 0;
    while (std::chrono::steady_clock::now() < end) {
        exec(db, "BEGIN IMMEDIATE");
        for (int i = 0; i < rows_per_transaction; ++i, ++n) {
            const std::string id = "raw-" + std::to_string(n);
            const std::string body = bill_envelope(id);
            sqlite3_bind_int64(delivery, 1, n);
            sqlite3_bind_blob(delivery, 2, body.data(), static_cast<int>(body.size()), SQLITE_STATIC);
            sqlite3_bind_int64(delivery, 3, static_cast<std::int64_t>(body.size()));
            sqlite3_bind_text(delivery, 4, id.data(), static_cast<int>(id.size()), SQLITE_STATIC);
            check(db, sqlite3_step(delivery));
            sqlite3_reset(delivery);
            const std::int64_t delivery_id = sqlite3_last_insert_rowid(db);
            // The bill's own text is most of the envelope.
            sqlite3_bind_text(version, 1, id.data(), static_cast<int>(id.size()), SQLITE_STATIC);
            sqlite3_bind_text(version, 2, body.data() + 100, static_cast<int>(body.size() - 120), SQLITE_STATIC);
            sqlite3_bind_int64(version, 3, delivery_id);
            sqlite3_bind_int64(version, 4, n);
            check(db, sqlite3_step(version));
            sqlite3_reset(version);
        }
        exec(db, "COMMIT");
        result.deliveries += static_cast<std::uint64_t>(rows_per_transaction);
    }
    result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    sqlite3_finalize(delivery);
    sqlite3_finalize(version);
    sqlite3_close(db);
    return result;
}

}  // namespace meterbridge::bench
