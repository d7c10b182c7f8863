// The exchange log (SPEC §4 "Logged") and retention pruning.
#include "rows.hpp"
#include "sqlite_store.hpp"

namespace meterbridge::store {

std::int64_t insert_exchange(sqlite::Database& db, const ExchangeRecord& x, const ExchangeLinks& links) {
        db.prepare("INSERT INTO exchanges (kind, method, url, status, request_headers, request_body, response_headers, "
                   "response_body, request_id, correlation_id, batch_id, delivery_id, started_at, duration_ms, error, "
                   "reconciliation_id) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)")
            .bind_all(to_string(x.kind), x.method, x.url, x.status, headers_to_json(x.request_headers))
            .bind_blob(6, x.request_body)
            .bind(7, headers_to_json(x.response_headers))
            .bind_blob(8, x.response_body)
            .bind(9, x.request_id)
            .bind(10, x.correlation_id)
            .bind(11, links.batch_id)
            .bind(12, links.delivery_id)
            .bind(13, to_ms(x.started))
            .bind(14, static_cast<std::int64_t>(x.duration.count()))
            .bind(15, x.error)
            .bind(16, links.reconciliation_id)
            .run();
        const std::int64_t id = db.last_insert_rowid();
        for (const std::int64_t run : links.run_ids) {
            db.run("INSERT OR IGNORE INTO exchange_runs (exchange_id, run_id) VALUES (?1, ?2)", id, run);
        }
        for (const std::int64_t event : links.event_ids) {
            db.run("INSERT OR IGNORE INTO exchange_events (exchange_id, event_id) VALUES (?1, ?2)", id, event);
        }
        return id;
}

Result<std::int64_t> SqliteStore::append_exchange(const ExchangeRecord& x, const ExchangeLinks& links) {
    return write([&](sqlite::Database& db) -> Result<std::int64_t> { return insert_exchange(db, x, links); });
}

Result<PruneOutcome> SqliteStore::prune(Instant older_than) {
    return write([&](sqlite::Database& db) -> Result<PruneOutcome> {
        PruneOutcome outcome;
        // Link rows go with their exchange (ON DELETE CASCADE).
        outcome.exchanges_deleted = db.run("DELETE FROM exchanges WHERE started_at < ?1", to_ms(older_than));
        // The delivery row stays (its result and the bill version it carried
        // are part of the record); only the payload goes.
        outcome.delivery_bodies_cleared =
            db.run("UPDATE deliveries SET body = NULL, headers = NULL WHERE received_at < ?1 AND body IS NOT NULL",
                   to_ms(older_than));
        return outcome;
    });
}

}  // namespace meterbridge::store
