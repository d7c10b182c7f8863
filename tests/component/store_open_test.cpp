// Opening the SQLite store: migrations by user_version, refusal of a newer
// schema, the daemon's exclusive lock, WAL, and no REAL column anywhere.
#include "meterbridge/store/store.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "migrations.hpp"
#include "support/store_test_support.hpp"

namespace meterbridge {
namespace {

using testing::TempDir;

std::string open_error(const std::string& path) {
    try {
        store::open_sqlite_store(path);
    } catch (const store::StoreOpenError& e) {
        return e.what();
    }
    return "";
}

TEST(StoreOpen, FreshDatabaseGetsTheLatestSchemaInWalMode) {
    TempDir dir;
    const std::string path = dir.file("sub/dir/m.db");  // parent directories are created
    auto store = store::open_sqlite_store(path);
    EXPECT_EQ(testing::sql_int(path, "PRAGMA user_version"), store::latest_schema_version());
    EXPECT_GE(store::latest_schema_version(), 1);
    store::sqlite::Database db = store::sqlite::Database::open(path, true);
    auto st = db.prepare("PRAGMA journal_mode");
    ASSERT_TRUE(st.step());
    EXPECT_EQ(st.text(0), "wal");
    EXPECT_GT(testing::sql_int(path, "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = 'events'"), 0);
}

TEST(StoreOpen, MigrationsAreNumberedWithoutGaps) {
    int expected = 1;
    for (const auto& m : store::migrations()) EXPECT_EQ(m.version, expected++) << m.name;
}

// A database written by the first release (schema 1) gains the scheduler's
// indexes and the retry columns of schema 3 (issue 14), and the paged query
// that names one of them works.
TEST(StoreOpen, ASchemaOneDatabaseIsMigratedAndItsPendingVersionsFound) {
    TempDir dir;
    const std::string path = dir.file("v1.db");
    {
        auto store = store::open_sqlite_store(path);
        store::Delivery d;
        d.body = R"({"id":"b-1"})";
        d.remote_addr = "127.0.0.1";
        d.kind = BillEventKind::Updated;
        Bill bill;
        bill.id = "b-1";
        bill.version = 1;
        bill.account_id = "acc-1";
        bill.currency = "USD";
        d.bill = bill;
        d.bill_json = d.body;
        ASSERT_TRUE(store->record_delivery(d).ok());
    }
    {
        store::sqlite::Database db = store::sqlite::Database::open(path);
        // Undone newest first: v4 (reconciliation), v3, v2.
        db.exec("DROP INDEX events_effective_start");
        db.exec("ALTER TABLE integration_runs DROP COLUMN config_snapshot_id");
        db.exec("DROP INDEX events_sendable");
        db.exec("DROP TABLE config_snapshots");
        db.exec("DROP TABLE event_settlements");
        db.exec("DROP TABLE reconciliation_final_days");
        db.exec("DROP TABLE reconciliations");
        db.exec("DROP INDEX exchanges_reconciliation");
        db.exec("ALTER TABLE exchanges DROP COLUMN reconciliation_id");
        db.exec("DROP INDEX bill_versions_unprocessed");
        db.exec("DROP INDEX pending_units_ready");
        db.exec("ALTER TABLE bill_versions DROP COLUMN retry_attempts");
        db.exec("ALTER TABLE bill_versions DROP COLUMN retry_at");
        db.exec("ALTER TABLE bill_versions DROP COLUMN retry_reason");
        db.exec("PRAGMA user_version = 1");
    }
    auto store = store::open_sqlite_store(path);
    EXPECT_EQ(testing::sql_int(path, "PRAGMA user_version"), store::latest_schema_version());
    EXPECT_EQ(testing::sql_int(path, "SELECT count(*) FROM sqlite_master WHERE name IN "
                                     "('bill_versions_unprocessed', 'pending_units_ready', 'events_effective_start', "
                                     "'reconciliations', 'reconciliation_final_days', 'event_settlements', "
                                     "'exchanges_reconciliation')"),
              7);
    const auto pending = store->pending_bill_versions(0, 10, Instant{});
    ASSERT_TRUE(pending.ok()) << pending.error().message;
    ASSERT_EQ(pending->size(), 1u);
    EXPECT_EQ(pending->front().bill_id, "b-1");
    EXPECT_EQ(pending->front().retry_attempts, 0);
    EXPECT_FALSE(pending->front().retry_at.has_value());
}

TEST(StoreOpen, ReopeningKeepsDataAndSchema) {
    TempDir dir;
    const std::string path = dir.file("m.db");
    ExternalMapping mapping;
    mapping.m3ter_id = "acc-1";
    mapping.external_id = "sub-1";
    {
        auto store = store::open_sqlite_store(path);
        ASSERT_TRUE(store->add_mapping(mapping).ok());
    }
    auto store = store::open_sqlite_store(path);
    EXPECT_EQ(testing::sql_int(path, "PRAGMA user_version"), store::latest_schema_version());
    const auto mappings = store->list_mappings();
    ASSERT_TRUE(mappings.ok());
    ASSERT_EQ(mappings->size(), 1u);
    EXPECT_EQ(mappings->front().external_id, "sub-1");
}

TEST(StoreOpen, NewerSchemaIsRefusedAndLeftUntouched) {
    TempDir dir;
    const std::string path = dir.file("m.db");
    store::open_sqlite_store(path).reset();
    {
        store::sqlite::Database db = store::sqlite::Database::open(path);
        db.exec("PRAGMA user_version = 99");
    }
    const std::string error = open_error(path);
    EXPECT_NE(error.find("schema version 99 is newer"), std::string::npos) << error;
    EXPECT_EQ(testing::sql_int(path, "PRAGMA user_version"), 99);
}

TEST(StoreOpen, SecondOpenOfTheSameFileIsRefusedWhileTheFirstLives) {
    TempDir dir;
    const std::string path = dir.file("m.db");
    {
        auto first = store::open_sqlite_store(path);
        const std::string error = open_error(path);
        EXPECT_NE(error.find("in use by another meterbridge process"), std::string::npos) << error;
        EXPECT_TRUE(first->writable().ok());  // the refused open did not disturb the first
    }
    EXPECT_EQ(open_error(path), "");  // released with the store
}

TEST(StoreOpen, InMemoryStoresAreIndependent) {
    auto a = store::open_sqlite_store(":memory:");
    auto b = store::open_sqlite_store(":memory:");
    ExternalMapping mapping;
    mapping.m3ter_id = "acc-1";
    ASSERT_TRUE(a->add_mapping(mapping).ok());
    EXPECT_EQ(b->list_mappings()->size(), 0u);
    EXPECT_TRUE(b->writable().ok());
}

TEST(StoreOpen, NoColumnHoldsFloatingPoint) {
    TempDir dir;
    const std::string path = dir.file("m.db");
    store::open_sqlite_store(path).reset();
    store::sqlite::Database db = store::sqlite::Database::open(path, true);
    auto st = db.prepare(
        "SELECT m.name, c.name, c.type FROM sqlite_master m JOIN pragma_table_info(m.name) c WHERE m.type = 'table' "
        "AND m.name NOT LIKE 'sqlite_%'");
    int columns = 0;
    while (st.step()) {
        ++columns;
        const std::string type = st.text(2);
        EXPECT_TRUE(type == "INTEGER" || type == "TEXT" || type == "BLOB") << st.text(0) << "." << st.text(1) << " " << type;
    }
    EXPECT_GT(columns, 50);
}

TEST(StoreOpen, UnopenableFileIsAClearStartupError) {
    TempDir dir;
    const std::string path = dir.file("not-a-db");
    {
        std::FILE* f = std::fopen(path.c_str(), "w");
        std::fputs("this is not a database, just text long enough to have a header ......", f);
        std::fclose(f);
    }
    const std::string error = open_error(path);
    EXPECT_NE(error.find("cannot open database"), std::string::npos) << error;
}

// One writer and concurrent readers on a file database: reads run on their
// own connection beside the writer and always see committed states.
TEST(StoreOpen, ReadsRunBesideWritesFromOtherThreads) {
    TempDir dir;
    auto store = store::open_sqlite_store(dir.file("m.db"));
    std::atomic<bool> done{false};
    std::atomic<int> read_failures{0};
    std::thread reader([&] {
        while (!done) {
            const auto mappings = store->list_mappings();
            const auto metrics = store->metrics();
            if (!mappings.ok() || !metrics.ok()) ++read_failures;
        }
    });
    int write_failures = 0;
    for (int i = 0; i < 100; ++i) {
        ExternalMapping m;
        m.m3ter_id = "acc-" + std::to_string(i);
        if (!store->add_mapping(m).ok()) ++write_failures;
    }
    done = true;
    reader.join();
    EXPECT_EQ(write_failures, 0);
    EXPECT_EQ(read_failures, 0);
    EXPECT_EQ(store->list_mappings()->size(), 100u);
}

}  // namespace
}  // namespace meterbridge
