// `meterbridge backup` (issue 18): a consistent copy of a live database with
// SQLite's online backup API, beside a running daemon.
#include <filesystem>
#include <system_error>
#include <thread>

#include "meterbridge/store/store.hpp"
#include "migrations.hpp"
#include "sqlite.hpp"
#include "sqlite_store.hpp"

namespace meterbridge::store {
namespace {

std::string text_of(sqlite::Database& db, const char* sql) {
    sqlite::Statement st = db.prepare(sql);
    return st.step() ? st.text(0) : std::string();
}

// Every page in one step: one read transaction, so the copy is one snapshot
// of the database. In WAL mode that read never blocks the daemon's writer,
// and the daemon's commits cannot restart it (they would restart a copy made
// in several steps, possibly forever under a steady load).
void copy_all_pages(sqlite::Database& source, sqlite::Database& target) {
    for (int attempt = 0;; ++attempt) {
        sqlite3_backup* backup = sqlite3_backup_init(target.handle(), "main", source.handle(), "main");
        if (backup == nullptr) target.check(sqlite3_errcode(target.handle()));
        const int step = sqlite3_backup_step(backup, -1);
        const int finish = sqlite3_backup_finish(backup);
        // Busy only while another connection recovers the WAL after a crash: brief.
        if ((step == SQLITE_BUSY || step == SQLITE_LOCKED) && attempt < 100) {
            std::this_thread::sleep_for(std::chrono::milliseconds(50));
            continue;
        }
        if (step != SQLITE_DONE) target.check(step);
        target.check(finish);
        return;
    }
}

}  // namespace

Result<BackupSummary> backup_database(const std::string& source_path, const std::string& target_path) {
    namespace fs = std::filesystem;
    try {
        if (source_path == ":memory:" || !fs::is_regular_file(source_path)) {
            return make_error(std::string(kNotFound), "no database at " + source_path, "storage.sqlite_path");
        }
        std::error_code error;
        if (fs::exists(target_path, error)) {
            return make_error(std::string(kInvalidField), target_path + " already exists (a backup never overwrites)",
                              "to");
        }
        // Written beside the target and renamed at the end: a FILE that exists is a whole, checked copy.
        const std::string partial = target_path + ".partial";
        fs::remove(partial, error);
        BackupSummary summary;
        {
            // Read-write but query-only, like the daemon's reader: a read-only
            // connection would leave -wal/-shm files owned by whoever ran the
            // backup (root) beside a stopped daemon's database.
            sqlite::Database source = sqlite::Database::open(source_path);
            source.exec("PRAGMA busy_timeout = 5000");
            source.exec("PRAGMA query_only = ON");
            sqlite::Database target = sqlite::Database::open(partial);
            copy_all_pages(source, target);
            // One self-contained file (no -wal beside it), synced at commit.
            target.exec("PRAGMA journal_mode = DELETE");
            target.exec("PRAGMA synchronous = FULL");
            const std::string check = text_of(target, "PRAGMA integrity_check");
            if (check != "ok") throw std::runtime_error("the copy fails integrity_check: " + check);
            summary.schema_version = static_cast<int>(target.query_int("PRAGMA user_version").value_or(0));
        }
        summary.bytes = static_cast<std::int64_t>(fs::file_size(partial));
        fs::rename(partial, target_path);
        return summary;
    } catch (const std::exception& failure) {
        return storage_error(failure);
    }
}

}  // namespace meterbridge::store
