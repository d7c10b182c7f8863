#include "checkpointer.hpp"

#include <algorithm>

namespace meterbridge::store {

CheckpointStep next_checkpoint_step(CheckpointProgress& progress, int wal_pages) {
    if (progress.pass_running) return CheckpointStep::None;  // the commit after the pass decides
    if (progress.backfilled > 0) {
        const int left = wal_pages - progress.backfilled;
        progress.backfilled = 0;
        // left < 0: the WAL has restarted since that pass.
        if (left >= 0 && left <= Checkpointer::kFinishPages) return CheckpointStep::Finish;
    }
    return wal_pages >= Checkpointer::kWalPages ? CheckpointStep::Background : CheckpointStep::None;
}

Checkpointer::Checkpointer(const std::string& path, sqlite::Database& writer)
    : writer_(writer), connection_(sqlite::Database::open(path)), thread_([this] { loop(); }) {
    // A checkpoint fsyncs the WAL before it copies it, and the database file after.
    connection_.exec("PRAGMA synchronous = FULL");
    sqlite3_wal_hook(writer_.handle(), &Checkpointer::on_commit, this);
}

Checkpointer::~Checkpointer() {
    sqlite3_wal_autocheckpoint(writer_.handle(), kWalPages);  // replaces our hook
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
    }
    wanted_.notify_one();
    thread_.join();
}

std::uint64_t Checkpointer::completed() const {
    std::lock_guard lock(mutex_);
    return completed_;
}

std::uint64_t Checkpointer::finished_by_writer() const {
    std::lock_guard lock(mutex_);
    return finished_by_writer_;
}

// Runs on the writer's thread, inside its COMMIT, after the WAL is synced.
// A checkpoint here may fail (e.g. SQLITE_BUSY while a reader holds an old
// snapshot); that does not undo the commit, and a later one tries again.
int Checkpointer::on_commit(void* self, sqlite3* db, const char* name, int wal_pages) {
    auto& checkpointer = *static_cast<Checkpointer*>(self);
    if (wal_pages >= kWalHardLimitPages) {
        // The background checkpoints are not keeping up: do one here.
        sqlite3_wal_checkpoint_v2(db, name, SQLITE_CHECKPOINT_PASSIVE, nullptr, nullptr);
        return SQLITE_OK;
    }
    std::unique_lock lock(checkpointer.mutex_);
    switch (next_checkpoint_step(checkpointer.progress_, wal_pages)) {
        case CheckpointStep::None:
            break;
        case CheckpointStep::Background:
            checkpointer.requested_ = true;
            lock.unlock();
            checkpointer.wanted_.notify_one();
            break;
        case CheckpointStep::Finish: {
            checkpointer.requested_ = false;  // this checkpoint does what a pass would
            lock.unlock();
            int log = -1;
            int copied = -1;
            sqlite3_wal_checkpoint_v2(db, name, SQLITE_CHECKPOINT_PASSIVE, &log, &copied);
            if (log >= 0 && copied == log) {
                lock.lock();
                ++checkpointer.finished_by_writer_;
            }
            break;
        }
    }
    return SQLITE_OK;
}

void Checkpointer::loop() {
    std::unique_lock lock(mutex_);
    while (true) {
        wanted_.wait(lock, [this] { return requested_ || stopping_; });
        if (stopping_) return;
        requested_ = false;
        progress_.pass_running = true;
        lock.unlock();
        // PASSIVE: copies what no reader still needs, never waits for a lock.
        // A partial or failed checkpoint is fine: the next commit asks again.
        int log = -1;
        int copied = -1;
        const int rc = sqlite3_wal_checkpoint_v2(connection_.handle(), nullptr, SQLITE_CHECKPOINT_PASSIVE, &log,
                                                 &copied);
        lock.lock();
        progress_.pass_running = false;
        if (rc == SQLITE_OK) {
            ++completed_;
            // Even with every frame copied, the writer has committed more since
            // the pass began: the WAL restarts only after the writer's own step.
            progress_.backfilled = std::max(copied, 0);
        }
    }
}

}  // namespace meterbridge::store
