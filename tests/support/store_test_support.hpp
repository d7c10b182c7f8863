#pragma once
// Helpers for the SQLite store's component tests: a temporary directory
// (temp_dir.hpp), and the ledger read back with plain SQL (a connection of
// its own, beside the store's) into the in-memory reference model, so that
// tests can check the store's rows against MemoryLedger and the invariants
// of SPEC §4.
#include <gtest/gtest.h>

#include <filesystem>
#include <string>

#include "codec.hpp"
#include "sqlite.hpp"
#include "support/memory_ledger.hpp"
#include "support/temp_dir.hpp"

namespace meterbridge::testing {

inline Instant at(const char* iso) { return parse_iso8601(iso).value(); }

// The ledger rows of the database at `path`, as a MemoryLedger whose event and
// pending ids are the store's.
inline MemoryLedger read_ledger(const std::string& path) {
    using store::from_ms;
    store::sqlite::Database db = store::sqlite::Database::open(path, true);
    store::sqlite::Transaction snapshot(db, store::sqlite::Transaction::Mode::Deferred);
    MemoryLedger ledger;
    {
        auto st = db.prepare("SELECT integration_id, bill_id, resource_id, dimension, plan_id, units FROM targets");
        while (st.step()) {
            ledger.targets[ShareKey{st.text(0), st.text(1), st.text(2), st.text(3)}] =
                MemoryLedger::TargetRow{st.text(4), st.int64(5)};
        }
    }
    {
        auto st = db.prepare(
            "SELECT id, integration_id, bill_id, resource_id, dimension, plan_id, units, slot_hint, ready_at "
            "FROM pending_units ORDER BY id");
        while (st.step()) {
            ledger.pending.push_back(PendingUnits{st.int64(0), ShareKey{st.text(1), st.text(2), st.text(3), st.text(4)},
                                                  st.text(5), st.int64(6), from_ms(st.int64(7)), from_ms(st.int64(8))});
        }
    }
    {
        auto st = db.prepare(
            "SELECT id, resource_id, plan_id, dimension, quantity, effective_start, state, attempts, next_attempt_at, "
            "usage_event_id FROM events ORDER BY id");
        while (st.step()) {
            OutboxEvent e;
            e.id = st.int64(0);
            e.request = UsageEventRequest{st.text(1), st.text(2), st.text(3), st.int64(4), from_ms(st.int64(5))};
            e.state = event_state_from(st.text(6)).value();
            e.attempts = st.integer(7);
            e.next_attempt_at = from_ms(st.int64(8));
            e.usage_event_id = st.text(9);
            ledger.events.push_back(std::move(e));
        }
    }
    {
        auto st = db.prepare(
            "SELECT event_id, integration_id, bill_id, resource_id, dimension, units FROM event_shares "
            "ORDER BY event_id, integration_id, bill_id, resource_id, dimension");
        while (st.step()) {
            ledger.event(st.int64(0)).shares.push_back(
                EventShare{ShareKey{st.text(1), st.text(2), st.text(3), st.text(4)}, st.int64(5)});
        }
    }
    return ledger;
}

// A single number from the database at `path`.
inline std::int64_t sql_int(const std::string& path, const char* sql) {
    store::sqlite::Database db = store::sqlite::Database::open(path, true);
    return db.query_int(sql).value_or(0);
}

}  // namespace meterbridge::testing
