#pragma once
// The daemon's exclusive claim on a database file (SPEC §6: a second daemon
// on the same file refuses to start).
//
// Why a sidecar "<db>.lock" with flock() rather than SQLite's own locks:
// - PRAGMA locking_mode=EXCLUSIVE in WAL mode takes the lock only at the first
//   write and then shuts out every other connection, including our own read
//   connection and an operator's `sqlite3` shell; we want readers welcome and
//   writers (other daemons) refused, at start-up, with a clear message.
// - flock() is tied to the open file description: the kernel releases it when
//   the process dies (SIGKILL included), so unlike a PID file it can never go
//   stale, and a second open within the same process is refused too (tests).
// The lock file holds nothing; it is created 0600 and never deleted (deleting
// it would let two processes lock two different inodes).
#include <string>

namespace meterbridge::store {

class FileLock {
public:
    // Takes an exclusive non-blocking lock on `path`; throws
    // std::runtime_error naming the file when another holder has it.
    explicit FileLock(const std::string& path);
    ~FileLock();
    FileLock(const FileLock&) = delete;
    FileLock& operator=(const FileLock&) = delete;

private:
    int fd_ = -1;
};

}  // namespace meterbridge::store
