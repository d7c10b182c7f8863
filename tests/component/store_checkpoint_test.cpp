// Background WAL checkpoints (issue 6): once the WAL passes the threshold the
// checkpointer's own connection copies it into the database file, and the
// writer goes on committing meanwhile.
#include "checkpointer.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <string>
#include <thread>

#include "support/store_test_support.hpp"

namespace meterbridge {
namespace {

TEST(StoreCheckpoint, TheWalIsCheckpointedInTheBackgroundOncePastTheThreshold) {
    testing::TempDir dir;
    const std::string path = dir.file("wal.db");
    store::sqlite::Database writer = store::sqlite::Database::open(path);
    writer.exec("PRAGMA journal_mode = WAL");
    writer.exec("PRAGMA synchronous = FULL");
    writer.exec("CREATE TABLE rows (id INTEGER PRIMARY KEY, body BLOB NOT NULL)");
    const auto database_bytes = [&] { return std::filesystem::file_size(path); };
    const auto before = database_bytes();

    store::Checkpointer checkpointer(path, writer);
    const std::string body(8000, 'x');
    // ~2 pages per row: past kWalPages after ~500 rows, in transactions of 20.
    for (int tx = 0; tx < 40; ++tx) {
        store::sqlite::Transaction t(writer, store::sqlite::Transaction::Mode::Immediate);
        for (int i = 0; i < 20; ++i) writer.prepare("INSERT INTO rows (body) VALUES (?1)").bind_blob(1, body).run();
        t.commit();
    }
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (checkpointer.completed() == 0 && std::chrono::steady_clock::now() < deadline) {
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    EXPECT_GT(checkpointer.completed(), 0u);
    // The rows reached the database file itself, not only the WAL.
    EXPECT_GT(database_bytes(), before + 4'000'000) << "database file still " << database_bytes() << " bytes";
    EXPECT_EQ(writer.query_int("SELECT count(*) FROM rows"), 800);
}

}  // namespace
}  // namespace meterbridge
