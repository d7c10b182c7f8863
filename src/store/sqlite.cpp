#include "sqlite.hpp"

namespace meterbridge::store::sqlite {

Statement::~Statement() {
    if (stmt_ != nullptr) {
        sqlite3_reset(stmt_);
        sqlite3_clear_bindings(stmt_);
    }
}

Statement& Statement::bind(int index, std::int64_t value) {
    db_->check(sqlite3_bind_int64(stmt_, index, value));
    return *this;
}

Statement& Statement::bind(int index, std::string_view text) {
    db_->check(sqlite3_bind_text64(stmt_, index, text.data(), text.size(), SQLITE_TRANSIENT, SQLITE_UTF8));
    return *this;
}

Statement& Statement::bind(int index, std::nullopt_t) {
    db_->check(sqlite3_bind_null(stmt_, index));
    return *this;
}

Statement& Statement::bind_blob(int index, std::string_view bytes) {
    db_->check(sqlite3_bind_blob64(stmt_, index, bytes.data(), bytes.size(), SQLITE_TRANSIENT));
    return *this;
}

bool Statement::step() {
    const int rc = sqlite3_step(stmt_);
    db_->check(rc);
    return rc == SQLITE_ROW;
}

void Statement::run() {
    while (step()) {
    }
}

bool Statement::is_null(int column) const { return sqlite3_column_type(stmt_, column) == SQLITE_NULL; }

std::int64_t Statement::int64(int column) const { return sqlite3_column_int64(stmt_, column); }

int Statement::integer(int column) const { return sqlite3_column_int(stmt_, column); }

std::string Statement::text(int column) const {
    // Works for TEXT and BLOB columns alike: bytes, not characters.
    const void* data = sqlite3_column_blob(stmt_, column);
    const int size = sqlite3_column_bytes(stmt_, column);
    if (data == nullptr || size <= 0) return {};
    return std::string(static_cast<const char*>(data), static_cast<std::size_t>(size));
}

std::optional<std::string> Statement::optional_text(int column) const {
    if (is_null(column)) return std::nullopt;
    return text(column);
}

std::optional<std::int64_t> Statement::optional_int64(int column) const {
    if (is_null(column)) return std::nullopt;
    return int64(column);
}

void Database::Closer::operator()(sqlite3* db) const noexcept { sqlite3_close_v2(db); }

void Database::Finalizer::operator()(sqlite3_stmt* stmt) const noexcept { sqlite3_finalize(stmt); }

Database::Database(sqlite3* handle) : handle_(handle) {}

Database::~Database() {
    cache_.clear();  // statements before the connection
}

Database Database::open(const std::string& path, bool read_only) {
    sqlite3* raw = nullptr;
    const int flags = (read_only ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE) |
                      SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_EXRESCODE;
    const int rc = sqlite3_open_v2(path.c_str(), &raw, flags, nullptr);
    Database db(raw);  // owns the handle even when opening failed
    if (rc != SQLITE_OK) {
        throw SqliteError(rc, raw != nullptr ? sqlite3_errmsg(raw) : sqlite3_errstr(rc));
    }
    sqlite3_extended_result_codes(raw, 1);
    return db;
}

void Database::check(int rc) const {
    if (rc == SQLITE_OK || rc == SQLITE_ROW || rc == SQLITE_DONE) return;
    throw SqliteError(rc, std::string(sqlite3_errstr(rc)) + ": " + sqlite3_errmsg(handle_.get()));
}

void Database::exec(const char* sql) { check(sqlite3_exec(handle_.get(), sql, nullptr, nullptr, nullptr)); }

Statement Database::prepare(const char* sql) {
    auto it = cache_.find(sql);
    if (it == cache_.end()) {
        sqlite3_stmt* raw = nullptr;
        check(sqlite3_prepare_v3(handle_.get(), sql, -1, SQLITE_PREPARE_PERSISTENT, &raw, nullptr));
        if (raw == nullptr) throw SqliteError(SQLITE_MISUSE, std::string("empty SQL statement: ") + sql);
        it = cache_.emplace(sql, std::unique_ptr<sqlite3_stmt, Finalizer>(raw)).first;
    }
    return Statement(*this, it->second.get());
}

std::int64_t Database::last_insert_rowid() const noexcept { return sqlite3_last_insert_rowid(handle_.get()); }

int Database::changes() const noexcept { return sqlite3_changes(handle_.get()); }

bool Database::in_transaction() const noexcept { return sqlite3_get_autocommit(handle_.get()) == 0; }

Transaction::Transaction(Database& db, Mode mode) : db_(db) {
    switch (mode) {
        case Mode::Deferred: db_.exec("BEGIN DEFERRED"); break;
        case Mode::Immediate: db_.exec("BEGIN IMMEDIATE"); break;
        case Mode::Exclusive: db_.exec("BEGIN EXCLUSIVE"); break;
    }
}

Transaction::~Transaction() {
    if (open_ && db_.in_transaction()) {
        // Never throws: a failed rollback leaves SQLite to roll back on close.
        sqlite3_exec(db_.handle(), "ROLLBACK", nullptr, nullptr, nullptr);
    }
}

void Transaction::commit() {
    db_.exec("COMMIT");
    open_ = false;
}

}  // namespace meterbridge::store::sqlite
