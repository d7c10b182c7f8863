#pragma once
// A thin RAII layer over the SQLite C API (after SQLiteCpp): the connection
// handle is a unique_ptr with a deleter, every return code goes through one
// check(), statements are prepared once per connection and bound by
// parameter (values never enter SQL text), and a Transaction rolls back in
// its destructor unless committed.
//
// Errors: every failure throws SqliteError. The store's public operations
// catch it at their boundary and turn it into a Result (see sqlite_store.cpp),
// so the exception never crosses the Store interface after start-up.
//
// Thread-safety: none. A Database is used by one thread at a time; the store
// serialises access with a mutex per connection.
#include <sqlite3.h>

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

namespace meterbridge::store::sqlite {

class SqliteError : public std::runtime_error {
public:
    SqliteError(int code, const std::string& message) : std::runtime_error(message), code_(code) {}
    int code() const noexcept { return code_; }
    // SQLITE_CONSTRAINT and its extended codes: a UNIQUE/CHECK/FK rule refused the write.
    bool is_constraint() const noexcept { return (code_ & 0xff) == SQLITE_CONSTRAINT; }

private:
    int code_;
};

class Database;

// A prepared statement borrowed from its connection's cache. Destruction
// resets it and clears its bindings, so the next user starts clean.
class Statement {
public:
    Statement(Database& db, sqlite3_stmt* stmt) noexcept : db_(&db), stmt_(stmt) {}
    ~Statement();
    Statement(Statement&& other) noexcept : db_(other.db_), stmt_(other.stmt_) { other.stmt_ = nullptr; }
    Statement(const Statement&) = delete;
    Statement& operator=(const Statement&) = delete;
    Statement& operator=(Statement&&) = delete;

    // Parameters are 1-based, as in SQLite.
    Statement& bind(int index, std::int64_t value);
    Statement& bind(int index, int value) { return bind(index, static_cast<std::int64_t>(value)); }
    Statement& bind(int index, bool value) { return bind(index, static_cast<std::int64_t>(value ? 1 : 0)); }
    Statement& bind(int index, std::string_view text);
    Statement& bind(int index, const std::string& text) { return bind(index, std::string_view(text)); }
    Statement& bind(int index, const char* text) { return bind(index, std::string_view(text)); }
    Statement& bind(int index, std::nullopt_t);
    template <class T>
    Statement& bind(int index, const std::optional<T>& value) {
        return value ? bind(index, *value) : bind(index, std::nullopt);
    }
    // Raw bytes (webhook bodies, HTTP payloads) that need not be UTF-8.
    Statement& bind_blob(int index, std::string_view bytes);

    // Binds every argument in order, from parameter 1.
    template <class... Args>
    Statement& bind_all(const Args&... args) {
        int index = 0;
        (bind(++index, args), ...);
        return *this;
    }

    // Advances; true while a row is available.
    bool step();
    // Runs a statement that returns no rows.
    void run();

    bool is_null(int column) const;
    std::int64_t int64(int column) const;
    int integer(int column) const;
    std::string text(int column) const;  // "" for NULL
    std::optional<std::string> optional_text(int column) const;
    std::optional<std::int64_t> optional_int64(int column) const;

private:
    Database* db_;
    sqlite3_stmt* stmt_;
};

class Database {
public:
    // Opens (creating if needed) `path`; ":memory:" is a private in-memory database.
    static Database open(const std::string& path, bool read_only = false);

    Database(Database&&) noexcept = default;
    Database& operator=(Database&&) noexcept = default;
    ~Database();

    // Executes SQL without parameters (DDL, pragmas, BEGIN/COMMIT).
    void exec(const char* sql);
    // A cached prepared statement for `sql`, which must be a string literal
    // holding exactly one statement: the cache is keyed by its address, and
    // SQL text is never built at run time (values are always bound).
    Statement prepare(const char* sql);
    // Runs `sql` with `args` bound and returns the number of rows changed.
    template <class... Args>
    int run(const char* sql, const Args&... args) {
        prepare(sql).bind_all(args...).run();
        return changes();
    }
    // Runs a single-value query; nullopt when it returns no row or NULL.
    template <class... Args>
    std::optional<std::int64_t> query_int(const char* sql, const Args&... args) {
        Statement st = prepare(sql);
        st.bind_all(args...);
        if (!st.step()) return std::nullopt;
        return st.optional_int64(0);
    }

    std::int64_t last_insert_rowid() const noexcept;
    int changes() const noexcept;
    bool in_transaction() const noexcept;
    sqlite3* handle() const noexcept { return handle_.get(); }

    // Throws SqliteError with the connection's message unless rc is OK/ROW/DONE.
    void check(int rc) const;

private:
    struct Closer {
        void operator()(sqlite3* db) const noexcept;
    };
    struct Finalizer {
        void operator()(sqlite3_stmt* stmt) const noexcept;
    };
    explicit Database(sqlite3* handle);

    // The cache is destroyed before the handle (members are destroyed in reverse order).
    std::unique_ptr<sqlite3, Closer> handle_;
    std::map<const char*, std::unique_ptr<sqlite3_stmt, Finalizer>> cache_;
};

// BEGIN ... COMMIT, rolled back on destruction unless committed. Writes use
// Immediate (takes the write lock at BEGIN, so a busy database fails fast
// instead of deadlocking on lock upgrade); reads use Deferred for a snapshot.
class Transaction {
public:
    enum class Mode { Deferred, Immediate, Exclusive };
    explicit Transaction(Database& db, Mode mode = Mode::Immediate);
    ~Transaction();
    Transaction(const Transaction&) = delete;
    Transaction& operator=(const Transaction&) = delete;

    void commit();

private:
    Database& db_;
    bool open_ = true;
};

}  // namespace meterbridge::store::sqlite
