// Background WAL checkpoints (issue 6): once the WAL passes the threshold the
// checkpointer's own connection copies it into the database file, and the
// writer goes on committing meanwhile; the writer then copies the few frames
// the pass left, so that the WAL restarts instead of growing.
#include "checkpointer.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <ostream>
#include <string>
#include <thread>

#include "support/store_test_support.hpp"

namespace meterbridge::store {
// How gtest shows a step in a failure message (found by argument-dependent lookup).
void PrintTo(CheckpointStep step, std::ostream* out) {
    *out << (step == CheckpointStep::None ? "None" : step == CheckpointStep::Background ? "Background" : "Finish");
}
}  // namespace meterbridge::store

namespace meterbridge {
namespace {

using store::CheckpointProgress;
using store::CheckpointStep;
using store::Checkpointer;
using store::next_checkpoint_step;

TEST(CheckpointStep, NothingBelowTheThresholdAndABackgroundPassFromIt) {
    CheckpointProgress progress;
    EXPECT_EQ(next_checkpoint_step(progress, Checkpointer::kWalPages - 1), CheckpointStep::None);
    EXPECT_EQ(next_checkpoint_step(progress, Checkpointer::kWalPages), CheckpointStep::Background);
}

TEST(CheckpointStep, NothingWhileAPassIsRunning) {
    CheckpointProgress progress{.pass_running = true, .backfilled = 0};
    EXPECT_EQ(next_checkpoint_step(progress, 5 * Checkpointer::kWalPages), CheckpointStep::None);
}

TEST(CheckpointStep, TheWriterFinishesOnceWhenAPassLeftFewFrames) {
    CheckpointProgress progress{.pass_running = false, .backfilled = 1200};
    EXPECT_EQ(next_checkpoint_step(progress, 1200 + Checkpointer::kFinishPages), CheckpointStep::Finish);
    EXPECT_EQ(progress.backfilled, 0);
    // The figure is used up: the next commit only asks for a pass.
    EXPECT_EQ(next_checkpoint_step(progress, 1200 + Checkpointer::kFinishPages + 10), CheckpointStep::Background);
}

TEST(CheckpointStep, AnotherPassWhenThePassLeftTooManyFrames) {
    CheckpointProgress progress{.pass_running = false, .backfilled = 1200};
    EXPECT_EQ(next_checkpoint_step(progress, 1200 + Checkpointer::kFinishPages + 1), CheckpointStep::Background);
    EXPECT_EQ(progress.backfilled, 0);
}

TEST(CheckpointStep, AFigureFromBeforeTheWalRestartedIsIgnored) {
    CheckpointProgress progress{.pass_running = false, .backfilled = 1200};
    EXPECT_EQ(next_checkpoint_step(progress, 40), CheckpointStep::None);
    EXPECT_EQ(progress.backfilled, 0);
}

// A WAL database with one table, written by one connection, ~2 pages per row.
struct WalDatabase {
    testing::TempDir dir;
    std::string path = dir.file("wal.db");
    store::sqlite::Database writer = store::sqlite::Database::open(path);
    std::int64_t committed = 0;

    WalDatabase() {
        writer.exec("PRAGMA journal_mode = WAL");
        writer.exec("PRAGMA synchronous = FULL");
        writer.exec("CREATE TABLE rows (id INTEGER PRIMARY KEY, body BLOB NOT NULL)");
    }
    void commit_rows(int rows) {
        const std::string body(8000, 'x');
        store::sqlite::Transaction t(writer, store::sqlite::Transaction::Mode::Immediate);
        for (int i = 0; i < rows; ++i) writer.prepare("INSERT INTO rows (body) VALUES (?1)").bind_blob(1, body).run();
        t.commit();
        committed += rows;
    }
    // Frames in the WAL file: a 32-byte header, then a 24-byte header per page frame.
    std::uintmax_t wal_frames() const { return (std::filesystem::file_size(path + "-wal") - 32) / (24 + 4096); }
};

// Waits up to 10 s for the checkpointer's thread.
template <class Done>
bool wait_for(Done done) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (!done() && std::chrono::steady_clock::now() < deadline) {
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    return done();
}

TEST(StoreCheckpoint, TheWalIsCheckpointedInTheBackgroundOncePastTheThreshold) {
    WalDatabase db;
    const auto database_bytes = [&] { return std::filesystem::file_size(db.path); };
    const auto before = database_bytes();

    Checkpointer checkpointer(db.path, db.writer);
    // Past kWalPages after ~500 rows, in transactions of 40. A pass copies
    // what was committed when it began, at least the commit that crossed the
    // threshold; whatever the timing, that commit must leave a database
    // above 4 MB. It does: 1042 pages, as the WAL also holds old copies of
    // pages written again. (In transactions of 20 it left 962 pages: had the
    // writer made its last commits while that first pass ran, as on a cold
    // machine, no commit would have followed the pass to copy the rest.)
    for (int tx = 0; tx < 20; ++tx) db.commit_rows(40);
    EXPECT_TRUE(wait_for([&] { return checkpointer.completed() > 0; }));
    // The rows reached the database file itself, not only the WAL.
    EXPECT_GT(database_bytes(), before + 4'000'000) << "database file still " << database_bytes() << " bytes";
    EXPECT_EQ(db.writer.query_int("SELECT count(*) FROM rows"), 800);
}

TEST(StoreCheckpoint, AfterAPassTheWriterCopiesWhatIsLeftAndTheWalStartsOver) {
    WalDatabase db;
    Checkpointer checkpointer(db.path, db.writer);
    const auto threshold = static_cast<std::uintmax_t>(Checkpointer::kWalPages);
    // A reader's snapshot stops the pass short of the last ~100 frames, as
    // the writer's commits during a pass do under load.
    while (db.wal_frames() + 100 < threshold) db.commit_rows(20);
    store::sqlite::Database reader = store::sqlite::Database::open(db.path);
    reader.exec("BEGIN");
    ASSERT_EQ(reader.query_int("SELECT count(*) FROM rows"), db.committed);
    // Past the threshold: the commit that crosses it asks for a pass.
    while (db.wal_frames() < threshold) db.commit_rows(20);
    ASSERT_TRUE(wait_for([&] { return checkpointer.completed() == 1; }));
    reader.exec("COMMIT");
    // The writer's next commit copies what the pass left: the WAL can restart.
    db.commit_rows(1);
    EXPECT_EQ(checkpointer.finished_by_writer(), 1u);
    // From now on the WAL is written again from its first frame: ~600 more
    // pages (below the threshold) leave the file as large as it was.
    const std::uintmax_t frames = db.wal_frames();
    for (int tx = 0; tx < 15; ++tx) db.commit_rows(20);
    EXPECT_EQ(db.wal_frames(), frames);
    EXPECT_EQ(db.writer.query_int("SELECT count(*) FROM rows"), db.committed);
}

}  // namespace
}  // namespace meterbridge
