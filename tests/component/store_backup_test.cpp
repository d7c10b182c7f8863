// `meterbridge backup` in the store (issue 18): SQLite's online backup API
// copies a live database, while a writer commits, as one checked snapshot;
// the copy opens as a store (restore) and refuses nothing the original had.
#include "meterbridge/store/store.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <thread>

#include "migrations.hpp"
#include "support/bill_delivery.hpp"
#include "support/store_test_support.hpp"

namespace meterbridge {
namespace {

using testing::bill_delivery;
using testing::TempDir;

std::string sql_text(const std::string& path, const char* sql) {
    store::sqlite::Database db = store::sqlite::Database::open(path, true);
    auto st = db.prepare(sql);
    return st.step() ? st.text(0) : std::string();
}

TEST(StoreBackup, ACopyOfAQuietDatabaseHasTheSameRowsAndOpensAsAStore) {
    TempDir dir;
    const std::string path = dir.file("live.db");
    const std::string copy = dir.file("copy.db");
    auto store = store::open_sqlite_store(path);
    for (int i = 0; i < 20; ++i) ASSERT_TRUE(store->record_delivery(bill_delivery(i)).ok());

    const auto summary = store::backup_database(path, copy);
    ASSERT_TRUE(summary.ok()) << summary.error().message;
    EXPECT_EQ(summary->schema_version, store::latest_schema_version());
    EXPECT_EQ(summary->bytes, static_cast<std::int64_t>(std::filesystem::file_size(copy)));
    EXPECT_FALSE(std::filesystem::exists(copy + ".partial"));
    EXPECT_FALSE(std::filesystem::exists(copy + "-wal")) << "the copy is one file";
    EXPECT_EQ(sql_text(copy, "PRAGMA integrity_check"), "ok");
    EXPECT_EQ(sql_text(copy, "PRAGMA journal_mode"), "delete");
    for (const char* count : {"SELECT COUNT(*) FROM deliveries", "SELECT COUNT(*) FROM bills",
                              "SELECT COUNT(*) FROM bill_versions"}) {
        EXPECT_EQ(testing::sql_int(copy, count), testing::sql_int(path, count)) << count;
    }
    EXPECT_EQ(testing::sql_int(copy, "SELECT COUNT(*) FROM deliveries"), 20);

    // Restore: the copy, put in place of a database, is a store the daemon opens.
    store.reset();
    const std::string restored = dir.file("restored/meterbridge.db");
    std::filesystem::create_directories(dir.file("restored"));
    std::filesystem::copy_file(copy, restored);
    auto reopened = store::open_sqlite_store(restored);
    auto version = reopened->bill_versions("b-7");
    ASSERT_TRUE(version.ok()) << version.error().message;
    EXPECT_EQ(version->size(), 1U);
}

// The daemon keeps committing while the backup runs: the copy is one
// snapshot (a prefix of the deliveries, ids without gaps), and the writer
// is never refused.
TEST(StoreBackup, ACopyTakenWhileAWriterCommitsIsOneConsistentSnapshot) {
    TempDir dir;
    const std::string path = dir.file("live.db");
    auto store = store::open_sqlite_store(path);
    for (int i = 0; i < 200; ++i) ASSERT_TRUE(store->record_delivery(bill_delivery(i)).ok());
    std::atomic<bool> stop{false};
    std::atomic<int> written{200};
    std::atomic<int> failures{0};
    std::thread writer([&] {
        for (int i = 200; !stop; ++i) {
            if (store->record_delivery(bill_delivery(i)).ok()) {
                ++written;
            } else {
                ++failures;
            }
        }
    });
    std::vector<std::int64_t> counts;
    for (int n = 0; n < 5; ++n) {
        const std::string copy = dir.file("copy-" + std::to_string(n) + ".db");
        const auto summary = store::backup_database(path, copy);
        ASSERT_TRUE(summary.ok()) << summary.error().message;
        EXPECT_EQ(sql_text(copy, "PRAGMA integrity_check"), "ok");
        const auto count = testing::sql_int(copy, "SELECT COUNT(*) FROM deliveries");
        EXPECT_EQ(testing::sql_int(copy, "SELECT MAX(id) - MIN(id) + 1 FROM deliveries"), count) << "a gap";
        EXPECT_EQ(testing::sql_int(copy, "SELECT COUNT(*) FROM bill_versions"), count) << "half a transaction";
        counts.push_back(count);
    }
    stop = true;
    writer.join();
    EXPECT_EQ(failures, 0);
    EXPECT_GE(counts.front(), 200);
    EXPECT_GT(counts.back(), counts.front()) << "the writer went on during the backups";
    EXPECT_LE(counts.back(), written.load());
}

TEST(StoreBackup, AnExistingTargetOrAMissingSourceIsRefused) {
    TempDir dir;
    const std::string path = dir.file("live.db");
    auto store = store::open_sqlite_store(path);
    const std::string existing = dir.file("existing.db");
    std::ofstream(existing) << "keep me";
    auto refused = store::backup_database(path, existing);
    ASSERT_FALSE(refused.ok());
    EXPECT_EQ(refused.error().code, store::kInvalidField);
    EXPECT_NE(refused.error().message.find("already exists"), std::string::npos);
    std::ifstream in(existing);
    std::string kept;
    std::getline(in, kept);
    EXPECT_EQ(kept, "keep me");

    auto missing = store::backup_database(dir.file("nope.db"), dir.file("copy.db"));
    ASSERT_FALSE(missing.ok());
    EXPECT_EQ(missing.error().code, store::kNotFound);
    EXPECT_FALSE(std::filesystem::exists(dir.file("copy.db")));
}

}  // namespace
}  // namespace meterbridge
