#pragma once
// WAL checkpoints off the commit path (issue 6). SQLite's automatic
// checkpoint runs inside the COMMIT that crosses its threshold: that one
// commit copies the whole WAL into the database file and fsyncs it, and the
// webhook deliveries sharing it wait 25 ms instead of 3 (measured, p99). So
// the writer connection's WAL hook only asks this thread, which runs PASSIVE
// checkpoints on a connection of its own: they never block the writer, and
// the writer restarts the WAL once a checkpoint has caught up.
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

class Checkpointer {
public:
    static constexpr int kWalPages = 1000;             // SQLite's own default threshold (~4 MB)
    static constexpr int kWalHardLimitPages = 16'000;  // ~64 MB: the writer checkpoints itself

    // Opens its own connection to `path` and installs the WAL hook on
    // `writer`, which must outlive this object.
    Checkpointer(const std::string& path, sqlite::Database& writer);
    ~Checkpointer();  // stops the thread; the writer gets SQLite's automatic checkpoints back
    Checkpointer(const Checkpointer&) = delete;
    Checkpointer& operator=(const Checkpointer&) = delete;

    // Checkpoints completed by the thread (for tests and logs).
    std::uint64_t completed() const;

private:
    static int on_commit(void* self, sqlite3* db, const char* name, int wal_pages);
    void request();
    void loop();

    sqlite::Database& writer_;
    sqlite::Database connection_;
    mutable std::mutex mutex_;
    std::condition_variable wanted_;
    bool requested_ = false;
    bool stopping_ = false;
    std::uint64_t completed_ = 0;
    std::thread thread_;  // last: started once everything above exists
};

}  // namespace meterbridge::store
