#pragma once
// WAL checkpoints off the commit path (issue 6). SQLite's automatic
// checkpoint runs inside the COMMIT that crosses its threshold: that one
// commit copies the whole WAL into the database file and fsyncs it, and the
// webhook deliveries sharing it wait 25 ms instead of 3 (measured, p99). So
// the writer connection's WAL hook only asks this thread, which runs PASSIVE
// checkpoints on a connection of its own: they never block the writer.
//
// A background pass alone never lets the WAL start over while commits keep
// coming: SQLite rewinds the WAL only when a write transaction begins with
// every frame already copied, and the writer always adds frames while a pass
// runs. Under a steady load the WAL then grew to the hard limit below (64 MB,
// against a 10 MB peak now; measured), each commit extending the file. So
// after a pass, the writer's next commit copies the few frames it left (at
// most kFinishPages) itself, in its WAL hook: a short checkpoint after which
// the WAL restarts from its first frame. If more were left, another pass runs.
//
// If checkpoints cannot keep up (a reader holding an old snapshot for long),
// the writer falls back to a checkpoint of its own once the WAL reaches
// kWalHardLimitPages, so the WAL never grows without bound.
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>

#include "sqlite.hpp"

namespace meterbridge::store {

// What the writer does after a commit: the decision alone, without SQLite.
struct CheckpointProgress {
    bool pass_running = false;  // a background pass is copying
    int backfilled = 0;         // frames the last finished pass copied; 0 once acted on
};
enum class CheckpointStep { None, Background, Finish };

// After a commit that left `wal_pages` frames in the WAL. Uses up
// `progress.backfilled`: the figure is out of date after this commit.
CheckpointStep next_checkpoint_step(CheckpointProgress& progress, int wal_pages);

class Checkpointer {
public:
    static constexpr int kWalPages = 1000;             // SQLite's own default threshold (~4 MB)
    static constexpr int kFinishPages = 256;           // few enough for the writer to copy in its commit
    static constexpr int kWalHardLimitPages = 16'000;  // ~64 MB: the writer checkpoints itself

    // Opens its own connection to `path` and installs the WAL hook on
    // `writer`, which must outlive this object.
    Checkpointer(const std::string& path, sqlite::Database& writer);
    ~Checkpointer();  // stops the thread; the writer gets SQLite's automatic checkpoints back
    Checkpointer(const Checkpointer&) = delete;
    Checkpointer& operator=(const Checkpointer&) = delete;

    // Background passes completed, and checkpoints the writer finished itself (for tests).
    std::uint64_t completed() const;
    std::uint64_t finished_by_writer() const;

private:
    static int on_commit(void* self, sqlite3* db, const char* name, int wal_pages);
    void loop();

    sqlite::Database& writer_;
    sqlite::Database connection_;
    mutable std::mutex mutex_;
    std::condition_variable wanted_;
    CheckpointProgress progress_;
    bool requested_ = false;
    bool stopping_ = false;
    std::uint64_t completed_ = 0;
    std::uint64_t finished_by_writer_ = 0;
    std::thread thread_;  // last: started once everything above exists
};

}  // namespace meterbridge::store
