// Opening the SQLite store: lock, pragmas, migrations; the transaction
// helpers' error mapping; the writability probe; the linked exchange log.
#include "sqlite_store.hpp"

#include <filesystem>
#include <system_error>

#include "codec.hpp"
#include "migrations.hpp"

namespace meterbridge::store {

namespace {

constexpr const char* kMemory = ":memory:";

void set_busy_timeout(sqlite::Database& db, const StoreOptions& options) {
    db.check(sqlite3_busy_timeout(db.handle(), static_cast<int>(options.busy_timeout.count())));
}

std::string query_text(sqlite::Database& db, const char* sql) {
    sqlite::Statement st = db.prepare(sql);
    return st.step() ? st.text(0) : std::string();
}

sqlite::Database open_writer(const std::string& path, const StoreOptions& options) {
    sqlite::Database db = sqlite::Database::open(path);
    set_busy_timeout(db, options);
    // WAL: readers never block the writer nor see half a transaction.
    const std::string mode = query_text(db, "PRAGMA journal_mode = WAL");
    if (path != kMemory && mode != "wal") {
        throw std::runtime_error("cannot switch the database to WAL mode (journal_mode is " + mode + ")");
    }
    // FULL: a commit is on disk when COMMIT returns (SPEC §6), not just in the WAL's OS buffers.
    db.exec("PRAGMA synchronous = FULL");
    db.exec("PRAGMA foreign_keys = ON");
    if (db.query_int("PRAGMA foreign_keys").value_or(0) != 1) {
        throw std::runtime_error("this SQLite build cannot enforce foreign keys");
    }
    migrate(db);
    return db;
}

sqlite::Database open_reader(const std::string& path, const StoreOptions& options) {
    sqlite::Database db = sqlite::Database::open(path);
    set_busy_timeout(db, options);
    db.exec("PRAGMA query_only = ON");  // a programming error writing here fails loudly
    return db;
}

std::unique_ptr<FileLock> lock_for(const std::string& path) {
    if (path == kMemory) return nullptr;
    const std::filesystem::path parent = std::filesystem::path(path).parent_path();
    if (!parent.empty()) {
        std::error_code ignored;  // a failure shows up as "cannot open" right after
        std::filesystem::create_directories(parent, ignored);
    }
    return std::make_unique<FileLock>(path + ".lock");
}

class LinkedExchangeLog final : public ExchangeLog {
public:
    LinkedExchangeLog(LedgerStore& store, ExchangeLinks links) : store_(store), links_(std::move(links)) {}
    void record(const ExchangeRecord& exchange) override { (void)store_.append_exchange(exchange, links_); }

private:
    LedgerStore& store_;
    ExchangeLinks links_;
};

}  // namespace

Error storage_error(const std::exception& failure) {
    return make_error(std::string(kStorageError), std::string("storage failure: ") + failure.what());
}

SqliteStore::SqliteStore(const std::string& path, const StoreOptions& options)
    : lock_(lock_for(path)), writer_(open_writer(path, options)) {
    if (path != kMemory) {
        reader_.emplace(open_reader(path, options));
        checkpointer_ = std::make_unique<Checkpointer>(path, writer_);
    }
}

Status SqliteStore::writable() {
    return write([](sqlite::Database& db) -> Status {
        // A real write (and its fsync at commit), not just a lock: a full or
        // read-only disk must show here.
        db.run("INSERT INTO meta (key, value) VALUES ('probe', '1') "
               "ON CONFLICT (key) DO UPDATE SET value = CAST(value AS INTEGER) + 1");
        return Ok{};
    });
}

std::unique_ptr<Store> open_sqlite_store(const std::string& path, const StoreOptions& options) {
    try {
        return std::make_unique<SqliteStore>(path, options);
    } catch (const std::exception& failure) {
        throw StoreOpenError("cannot open database " + path + ": " + failure.what());
    }
}

std::unique_ptr<ExchangeLog> make_linked_exchange_log(LedgerStore& store, ExchangeLinks links) {
    return std::make_unique<LinkedExchangeLog>(store, std::move(links));
}

}  // namespace meterbridge::store
