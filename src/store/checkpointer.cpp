#include "checkpointer.hpp"

namespace meterbridge::store {

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

// Runs on the writer's thread, inside its COMMIT, after the WAL is synced.
int Checkpointer::on_commit(void* self, sqlite3* db, const char* name, int wal_pages) {
    if (wal_pages >= kWalHardLimitPages) {
        // The background checkpoints are not keeping up: do one here. Its
        // failure (e.g. SQLITE_BUSY) does not undo the commit; the next one retries.
        sqlite3_wal_checkpoint_v2(db, name, SQLITE_CHECKPOINT_PASSIVE, nullptr, nullptr);
    } else if (wal_pages >= kWalPages) {
        static_cast<Checkpointer*>(self)->request();
    }
    return SQLITE_OK;
}

void Checkpointer::request() {
    {
        std::lock_guard lock(mutex_);
        requested_ = true;
    }
    wanted_.notify_one();
}

void Checkpointer::loop() {
    std::unique_lock lock(mutex_);
    while (true) {
        wanted_.wait(lock, [this] { return requested_ || stopping_; });
        if (stopping_) return;
        requested_ = false;
        lock.unlock();
        // PASSIVE: copies what no reader still needs, never waits for a lock.
        // A partial or failed checkpoint is fine: the next commit asks again.
        const int rc = sqlite3_wal_checkpoint_v2(connection_.handle(), nullptr, SQLITE_CHECKPOINT_PASSIVE, nullptr,
                                                 nullptr);
        lock.lock();
        if (rc == SQLITE_OK) ++completed_;
    }
}

}  // namespace meterbridge::store
