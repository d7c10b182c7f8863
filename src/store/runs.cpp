// Integration runs: one per bill version per integration, with the config in
// force and the held line items (SPEC §4 "Logged").
#include <algorithm>

#include "rows.hpp"
#include "sqlite_store.hpp"

namespace meterbridge::store {

namespace {

// FNV-1a, 64 bits: stable across builds and machines (std::hash is not).
std::int64_t fnv1a(std::string_view text) {
    std::uint64_t hash = 14695981039346656037ULL;
    for (const char c : text) {
        hash ^= static_cast<unsigned char>(c);
        hash *= 1099511628211ULL;
    }
    return static_cast<std::int64_t>(hash);
}

// The id of `snapshot` in config_snapshots, stored on first use.
std::int64_t config_snapshot_id(sqlite::Database& db, const std::string& snapshot) {
    const std::int64_t hash = fnv1a(snapshot);
    {
        sqlite::Statement st = db.prepare("SELECT id FROM config_snapshots WHERE hash = ?1 AND snapshot = ?2");
        st.bind_all(hash, snapshot);
        if (st.step()) return st.int64(0);
    }
    db.run("INSERT INTO config_snapshots (hash, snapshot) VALUES (?1, ?2)", hash, snapshot);
    return db.last_insert_rowid();
}

}  // namespace

Result<std::int64_t> insert_integration_run(sqlite::Database& db, const IntegrationRunRecord& run) {
    std::string bill_id;
    std::string account_id;
    {
        sqlite::Statement st = db.prepare("SELECT bill_id, account_id FROM bill_versions WHERE id = ?1");
        st.bind_all(run.bill_version_id);
        if (!st.step()) {
            return make_error(std::string(kNotFound), "no bill version " + std::to_string(run.bill_version_id));
        }
        bill_id = st.text(0);
        account_id = st.text(1);
    }
    const std::string skip = run.skipped == SkipReason::None ? std::string() : std::string(to_string(run.skipped));
    db.run("INSERT INTO integration_runs (bill_version_id, bill_id, account_id, integration_id, config_snapshot, "
           "config_snapshot_id, skip_reason, targets, held, error, started_at, finished_at) "
           "VALUES (?1, ?2, ?3, ?4, '', ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
           run.bill_version_id, bill_id, account_id, run.integration_id, config_snapshot_id(db, run.config_snapshot),
           skip, targets_to_json(run.targets), held_to_json(run.held), run.error, to_ms(run.started_at),
           to_ms(run.finished_at));
    const std::int64_t id = db.last_insert_rowid();
    db.run("DELETE FROM held_items WHERE integration_id = ?1 AND bill_version_id = ?2", run.integration_id,
           run.bill_version_id);
    std::int64_t position = 0;
    for (const HeldLineItem& h : run.held) {
        db.run("INSERT INTO held_items (integration_id, bill_version_id, bill_id, position, line_item_index, "
               "line_item_id, reason, message, amount) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
               run.integration_id, run.bill_version_id, bill_id, position++, h.line_item_index, h.line_item_id,
               to_string(h.reason), h.message, h.amount.to_string());
    }
    return id;
}

Result<std::int64_t> SqliteStore::record_integration_run(const IntegrationRunRecord& run) {
    return write([&](sqlite::Database& db) { return insert_integration_run(db, run); });
}

std::vector<Status> SqliteStore::apply_conversions(std::span<const ConvertedVersion> versions, Instant now,
                                                   const SlotPolicy& policy) {
    // Each run is recalculated as of its start: the units it queues belong to that hour.
    return apply_conversions(versions, now, [&](const IntegrationRunRecord& run, std::span<const KeyBalance> balances) {
        return plan_recalculation(balances, run.targets, run.started_at, policy);
    });
}

std::vector<Status> SqliteStore::apply_conversions(std::span<const ConvertedVersion> versions, Instant now,
                                                   const ConversionPlanFn& fn) {
    // One transaction for the whole page: the scheduler then costs the
    // webhook's commit thread one wait for the writer per page, not three per
    // bill (issue 6).
    return write_each(versions, [&](sqlite::Database& db, const ConvertedVersion& version) -> Status {
        for (const ConvertedRun& converted : version.runs) {
            if (converted.recalculate) {
                recalculate_in(db, converted.run.integration_id, version.bill_id, now,
                               [&](std::span<const KeyBalance> balances) { return fn(converted.run, balances); });
            }
            if (auto run = insert_integration_run(db, converted.run); !run) return run.error();
        }
        return mark_processed_in(db, version.version_id, now);
    });
}

Result<std::vector<IntegrationRunRecord>> SqliteStore::list_runs(const RunQuery& q) {
    return read([&](sqlite::Database& db) -> Result<std::vector<IntegrationRunRecord>> {
        std::vector<IntegrationRunRecord> out;
        std::optional<std::int64_t> from;
        std::optional<std::int64_t> to;
        if (q.from) from = to_ms(*q.from);
        if (q.to) to = to_ms(*q.to);
        sqlite::Statement st = db.prepare(
            "SELECT " MB_RUN_COLUMNS " FROM integration_runs r JOIN bill_versions bv ON bv.id = r.bill_version_id "
            "WHERE (?1 = '' OR r.bill_id = ?1) AND (?2 = '' OR r.account_id = ?2) "
            "AND (?3 IS NULL OR r.started_at >= ?3) AND (?4 IS NULL OR r.started_at < ?4) "
            "ORDER BY r.id DESC LIMIT ?5");
        st.bind_all(q.bill_id, q.account_id, from, to, static_cast<std::int64_t>(std::clamp<std::size_t>(q.limit, 1, 1000)));
        while (st.step()) out.push_back(read_run(st));
        return out;
    });
}

Result<IntegrationRunDetail> SqliteStore::integration_run(std::int64_t run_id) {
    return read([&](sqlite::Database& db) -> Result<IntegrationRunDetail> {
        IntegrationRunDetail detail;
        std::int64_t delivery_id = 0;
        {
            sqlite::Statement st = db.prepare("SELECT " MB_RUN_COLUMNS ", bv.delivery_id FROM integration_runs r "
                                              "JOIN bill_versions bv ON bv.id = r.bill_version_id WHERE r.id = ?1");
            st.bind_all(run_id);
            if (!st.step()) return make_error(std::string(kNotFound), "no integration run " + std::to_string(run_id), "id");
            detail.run = read_run(st);
            delivery_id = st.int64(13);
        }
        const IntegrationRunRecord& run = detail.run;
        {
            sqlite::Statement st = db.prepare("SELECT " MB_DELIVERY_COLUMNS " FROM deliveries d WHERE d.id = ?1");
            st.bind_all(delivery_id);
            if (st.step()) detail.delivery = read_delivery(st);
        }
        // The run's window: until the next run of the same (integration, bill).
        const auto next_start = db.query_int(
            "SELECT MIN(started_at) FROM integration_runs WHERE bill_id = ?1 AND integration_id = ?2 AND id > ?3",
            run.bill_id, run.integration_id, run.id);
        {
            sqlite::Statement st = db.prepare(
                "SELECT " MB_EXCHANGE_COLUMNS " FROM exchanges x WHERE "
                "x.id IN (SELECT exchange_id FROM exchange_runs WHERE run_id = ?1) "
                "OR x.delivery_id = ?2 "
                "OR (x.id IN (SELECT ee.exchange_id FROM exchange_events ee "
                "             JOIN event_shares s ON s.event_id = ee.event_id "
                "             WHERE s.integration_id = ?3 AND s.bill_id = ?4) "
                "    AND x.started_at >= ?5 AND (?6 IS NULL OR x.started_at < ?6)) "
                "ORDER BY x.started_at, x.id");
            st.bind_all(run.id, delivery_id, run.integration_id, run.bill_id, to_ms(run.started_at), next_start);
            while (st.step()) detail.exchanges.push_back(read_exchange(st));
        }
        for (auto& x : detail.exchanges) load_links(db, x);
        {
            sqlite::Statement st = db.prepare(
                "SELECT DISTINCT event_id FROM event_shares WHERE integration_id = ?1 AND bill_id = ?2 ORDER BY event_id");
            st.bind_all(run.integration_id, run.bill_id);
            while (st.step()) detail.event_ids.push_back(st.int64(0));
        }
        return detail;
    });
}

}  // namespace meterbridge::store
