// Reconciliation (SPEC §8): our side of the comparison (the events Azure
// holds or may hold, with their bills' shares), the runs with their totals,
// reports and final days, and the exchanges logged for a run.
#include <algorithm>
#include <filesystem>

#include <nlohmann/json.hpp>

#include "migrations.hpp"
#include "rows.hpp"
#include "sqlite_store.hpp"

namespace meterbridge::store {

namespace {

using nlohmann::json;

// reconciliations AS r, without the report (lists) — the report is read apart.
#define MB_RECONCILIATION_COLUMNS                                                                               \
    "r.id, r.from_day, r.to_day, r.sources, r.triggered_by, r.status, r.error, r.totals, r.started_at, "       \
    "r.finished_at"

Error invalid(std::string message, std::string field) {
    return make_error(std::string(kInvalidField), std::move(message), std::move(field));
}

Error not_found_reconciliation(std::int64_t id) {
    return make_error(std::string(kNotFound), "no reconciliation " + std::to_string(id), "id");
}

// A day as stored: the text recon::format_day writes; a row that is not one
// is a corrupt database (the store wrote it), so it throws.
recon::Day day_from_column(const std::string& text) {
    auto day = recon::parse_day(text);
    if (!day) throw std::runtime_error("reconciliations: unreadable day '" + text + "'");
    return *day;
}

std::string totals_to_json(const std::map<recon::Outcome, std::int64_t>& totals) {
    json out = json::object();
    for (const auto& [outcome, rows] : totals) out[std::string(recon::to_string(outcome))] = rows;
    return out.dump();
}

std::map<recon::Outcome, std::int64_t> totals_from_json(const std::string& text) {
    std::map<recon::Outcome, std::int64_t> totals;
    const json parsed = json::parse(text);
    for (const auto& [name, rows] : parsed.items()) {
        if (auto outcome = recon::outcome_from(name)) totals[*outcome] = rows.get<std::int64_t>();
    }
    return totals;
}

ReconciliationRecord read_reconciliation(const sqlite::Statement& row) {
    ReconciliationRecord r;
    r.id = row.int64(0);
    r.from_day = day_from_column(row.text(1));
    r.to_day = day_from_column(row.text(2));
    r.sources = json::parse(row.text(3)).get<std::vector<std::string>>();
    r.trigger = row.text(4);
    r.status = reconciliation_status_from(row.text(5)).value_or(ReconciliationStatus::Failed);
    r.error = row.text(6);
    r.totals = totals_from_json(row.text(7));
    r.started_at = from_ms(row.int64(8));
    if (auto at = row.optional_int64(9)) r.finished_at = from_ms(*at);
    return r;
}

void load_final_days(sqlite::Database& db, ReconciliationRecord& r) {
    sqlite::Statement st = db.prepare(
        "SELECT source, final_through FROM reconciliation_final_days WHERE reconciliation_id = ?1 ORDER BY source");
    st.bind_all(r.id);
    while (st.step()) r.final_through[st.text(0)] = day_from_column(st.text(1));
}

// `status` of run `id`, or nullopt when there is no such run.
std::optional<std::string> status_of(sqlite::Database& db, std::int64_t id) {
    sqlite::Statement st = db.prepare("SELECT status FROM reconciliations WHERE id = ?1");
    st.bind_all(id);
    if (!st.step()) return std::nullopt;
    return st.text(0);
}

// Our side of a comparison, read on `db` (the store's reader, or the
// read-only connection of read_reconciliation_events).
std::vector<recon::LedgerEvent> load_ledger_events(sqlite::Database& db, Instant from, Instant to) {
    std::vector<recon::LedgerEvent> events;
    // One statement: events and their shares joined, so a month is one
    // index range scan plus one primary-key probe per event. INDEXED BY:
    // without statistics the planner may prefer the state index, which
    // would scan every accepted event ever.
    sqlite::Statement st = db.prepare(
        "SELECT e.id, e.resource_id, e.dimension, e.effective_start, e.quantity, e.state, "
        "s.integration_id, s.bill_id, s.units "
        "FROM events e INDEXED BY events_effective_start "
        "LEFT JOIN event_shares s ON s.event_id = e.id AND s.units > 0 "
        "WHERE e.effective_start >= ?1 AND e.effective_start < ?2 "
        "AND (e.state IN ('accepted', 'unresolved') OR (e.state = 'sending' AND e.maybe_sent = 1)) "
        "ORDER BY e.id, s.integration_id, s.bill_id");
    st.bind_all(to_ms(from), to_ms(to));
    while (st.step()) {
        const std::int64_t id = st.int64(0);
        if (events.empty() || events.back().id != id) {
            recon::LedgerEvent e;
            e.id = id;
            e.resource_id = st.text(1);
            e.dimension = st.text(2);
            e.effective_start = from_ms(st.int64(3));
            e.quantity = st.int64(4);
            e.state = st.text(5) == "accepted" ? recon::LedgerEvent::State::Accepted
                                               : recon::LedgerEvent::State::Unresolved;
            events.push_back(std::move(e));
        }
        if (st.is_null(6)) continue;  // an event without shares (none today; kept, not dropped)
        events.back().shares.push_back(recon::BillShare{st.text(6), st.text(7), st.int64(8)});
    }
    return events;
}

}  // namespace

std::string_view to_string(ReconciliationStatus status) {
    switch (status) {
        case ReconciliationStatus::Running: return "running";
        case ReconciliationStatus::Done: return "done";
        case ReconciliationStatus::Failed: return "failed";
    }
    return "failed";
}

std::optional<ReconciliationStatus> reconciliation_status_from(std::string_view text) {
    for (auto status : {ReconciliationStatus::Running, ReconciliationStatus::Done, ReconciliationStatus::Failed}) {
        if (to_string(status) == text) return status;
    }
    return std::nullopt;
}

Result<std::vector<recon::LedgerEvent>> SqliteStore::reconciliation_events(Instant from, Instant to) {
    return read([&](sqlite::Database& db) -> Result<std::vector<recon::LedgerEvent>> {
        return load_ledger_events(db, from, to);
    });
}

Result<std::vector<recon::LedgerEvent>> read_reconciliation_events(const std::string& path, Instant from, Instant to) {
    try {
        if (path == ":memory:" || !std::filesystem::exists(path)) {
            return make_error(std::string(kNotFound), "no database at " + path, "storage.sqlite_path");
        }
        sqlite::Database db = sqlite::Database::open(path);
        db.exec("PRAGMA busy_timeout = 5000");
        db.exec("PRAGMA query_only = ON");
        const auto version = db.query_int("PRAGMA user_version").value_or(0);
        if (version != latest_schema_version()) {
            return make_error(std::string(kInvalidField),
                              "the database at " + path + " has schema " + std::to_string(version) + ", this build reads " +
                                  std::to_string(latest_schema_version()) + " (start the daemon once to migrate it)",
                              "storage.sqlite_path");
        }
        db.exec("BEGIN");  // one snapshot: events and shares as of one moment
        auto events = load_ledger_events(db, from, to);
        db.exec("COMMIT");
        return events;
    } catch (const std::exception& failure) {
        return storage_error(failure);
    }
}

Result<std::int64_t> SqliteStore::create_reconciliation(recon::Day from_day, recon::Day to_day,
                                                        const std::vector<std::string>& sources,
                                                        const std::string& trigger, Instant now) {
    if (from_day > to_day) {
        return invalid("from " + recon::format_day(from_day) + " is after to " + recon::format_day(to_day), "from");
    }
    if (sources.empty()) return invalid("a reconciliation needs at least one source", "sources");
    for (std::size_t i = 0; i < sources.size(); ++i) {
        if (!recon::source_from(sources[i])) {
            return invalid("unknown source '" + sources[i] + "' (usage_events, partner_billing, ea_charges)",
                           "sources[" + std::to_string(i) + "]");
        }
    }
    if (trigger != "api" && trigger != "daily" && trigger != "cli") {
        return invalid("trigger must be api, daily or cli, not '" + trigger + "'", "trigger");
    }
    return write([&](sqlite::Database& db) -> Result<std::int64_t> {
        db.run("INSERT INTO reconciliations (from_day, to_day, sources, triggered_by, status, started_at) "
               "VALUES (?1, ?2, ?3, ?4, 'running', ?5)",
               recon::format_day(from_day), recon::format_day(to_day), json(sources).dump(), trigger, to_ms(now));
        return db.last_insert_rowid();
    });
}

Status SqliteStore::finish_reconciliation(std::int64_t id, const ReconciliationFinish& finish, Instant now) {
    if (finish.status == ReconciliationStatus::Running) return invalid("a run is finished done or failed", "status");
    const bool failed = finish.status == ReconciliationStatus::Failed;
    if (failed && finish.error.empty()) return invalid("a failed run needs its error", "error");
    return write([&](sqlite::Database& db) -> Status {
        recon::Day from_day;
        recon::Day to_day;
        std::vector<std::string> sources;
        {
            sqlite::Statement st = db.prepare("SELECT status, from_day, to_day, sources FROM reconciliations WHERE id = ?1");
            st.bind_all(id);
            if (!st.step()) return not_found_reconciliation(id);
            if (st.text(0) != "running") {
                return make_error(std::string(kInvalidState),
                                  "reconciliation " + std::to_string(id) + " is " + st.text(0) + ", not running");
            }
            from_day = day_from_column(st.text(1));
            to_day = day_from_column(st.text(2));
            sources = json::parse(st.text(3)).get<std::vector<std::string>>();
        }
        // A failed run proves no day final: its days are compared again.
        if (!failed) {
            for (const auto& [source, day] : finish.final_through) {
                if (std::find(sources.begin(), sources.end(), source) == sources.end()) {
                    return invalid("source '" + source + "' is not one of the run's sources", "final_through");
                }
                if (day < from_day || day > to_day) {
                    return invalid("day " + recon::format_day(day) + " of " + source + " is outside the run's days",
                                   "final_through");
                }
                db.run("INSERT INTO reconciliation_final_days (reconciliation_id, source, final_through) "
                       "VALUES (?1, ?2, ?3)",
                       id, source, recon::format_day(day));
            }
        }
        std::optional<std::string> report;
        if (!finish.report_json.empty()) report = finish.report_json;
        db.run("UPDATE reconciliations SET status = ?2, error = ?3, totals = ?4, report = ?5, finished_at = ?6 "
               "WHERE id = ?1",
               id, to_string(finish.status), finish.error, totals_to_json(finish.totals), report, to_ms(now));
        return Ok{};
    });
}

Result<ReconciliationRecord> SqliteStore::get_reconciliation(std::int64_t id) {
    return read([&](sqlite::Database& db) -> Result<ReconciliationRecord> {
        sqlite::Statement st =
            db.prepare("SELECT " MB_RECONCILIATION_COLUMNS ", r.report FROM reconciliations r WHERE r.id = ?1");
        st.bind_all(id);
        if (!st.step()) return not_found_reconciliation(id);
        ReconciliationRecord r = read_reconciliation(st);
        r.report_json = st.optional_text(10);
        load_final_days(db, r);
        return r;
    });
}

Result<std::vector<ReconciliationRecord>> SqliteStore::list_reconciliations(const ReconciliationQuery& query) {
    std::optional<std::string> from;
    std::optional<std::string> to;
    if (query.from) from = recon::format_day(*query.from);
    if (query.to) to = recon::format_day(*query.to);
    const auto limit = static_cast<std::int64_t>(std::clamp<std::size_t>(query.limit, 1, 1000));
    return read([&](sqlite::Database& db) -> Result<std::vector<ReconciliationRecord>> {
        std::vector<ReconciliationRecord> out;
        {
            // Days as YYYY-MM-DD text compare as the days do.
            sqlite::Statement st = db.prepare("SELECT " MB_RECONCILIATION_COLUMNS " FROM reconciliations r "
                                              "WHERE (?1 IS NULL OR r.to_day >= ?1) AND (?2 IS NULL OR r.from_day <= ?2) "
                                              "ORDER BY r.id DESC LIMIT ?3");
            st.bind_all(from, to, limit);
            while (st.step()) out.push_back(read_reconciliation(st));
        }
        for (auto& r : out) load_final_days(db, r);
        return out;
    });
}

Result<std::vector<StoredExchange>> SqliteStore::reconciliation_exchanges(std::int64_t id) {
    return read([&](sqlite::Database& db) -> Result<std::vector<StoredExchange>> {
        if (!status_of(db, id)) return not_found_reconciliation(id);
        std::vector<StoredExchange> out;
        {
            sqlite::Statement st = db.prepare("SELECT " MB_EXCHANGE_COLUMNS " FROM exchanges x "
                                              "WHERE x.reconciliation_id = ?1 ORDER BY x.started_at, x.id");
            st.bind_all(id);
            while (st.step()) out.push_back(read_exchange(st));
        }
        for (auto& x : out) load_links(db, x);
        return out;
    });
}

Result<std::optional<recon::Day>> SqliteStore::latest_final_day(const std::string& source) {
    return read([&](sqlite::Database& db) -> Result<std::optional<recon::Day>> {
        sqlite::Statement st = db.prepare(
            "SELECT MAX(f.final_through) FROM reconciliation_final_days f "
            "JOIN reconciliations r ON r.id = f.reconciliation_id WHERE f.source = ?1 AND r.status = 'done'");
        st.bind_all(source);
        if (!st.step() || st.is_null(0)) return std::optional<recon::Day>{};
        return std::optional<recon::Day>{day_from_column(st.text(0))};
    });
}

Result<std::vector<std::int64_t>> SqliteStore::fail_interrupted_reconciliations(Instant now) {
    return write([&](sqlite::Database& db) -> Result<std::vector<std::int64_t>> {
        std::vector<std::int64_t> ids;
        {
            sqlite::Statement st = db.prepare("SELECT id FROM reconciliations WHERE status = 'running' ORDER BY id");
            while (st.step()) ids.push_back(st.int64(0));
        }
        for (const std::int64_t id : ids) {
            db.run("UPDATE reconciliations SET status = 'failed', error = 'interrupted', finished_at = ?2 WHERE id = ?1",
                   id, to_ms(now));
        }
        return ids;
    });
}

}  // namespace meterbridge::store
