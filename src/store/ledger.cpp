// Recalculation, slotting and dispatch: the Store operations over the ledger
// (core/ledger.hpp, slotting.hpp, dispatch.hpp), each one IMMEDIATE transaction.
#include "ledger_sql.hpp"
#include "rows.hpp"
#include "sqlite_store.hpp"

namespace meterbridge::store {

namespace {

Error not_found_event(std::int64_t id) {
    return make_error(std::string(kNotFound), "no event " + std::to_string(id), "id");
}

// Ids of Planned/Sending events whose slot start is at or before `bound`, oldest first.
std::vector<std::int64_t> unsettled_event_ids_up_to(sqlite::Database& db, std::int64_t bound) {
    std::vector<std::int64_t> ids;
    sqlite::Statement st = db.prepare(
        "SELECT id FROM events WHERE state IN ('planned', 'sending') AND effective_start <= ?1 ORDER BY id");
    st.bind_all(bound);
    while (st.step()) ids.push_back(st.int64(0));
    return ids;
}

}  // namespace

RecalculationPlan recalculate_in(sqlite::Database& db, const std::string& integration_id, const std::string& bill_id,
                                 Instant now, const RecalculationFn& fn) {
    const auto balances = load_balances(db, integration_id, bill_id);
    RecalculationPlan plan = fn(balances);
    apply_plan(db, plan, now);
    return plan;
}

Result<RecalculationPlan> SqliteStore::recalculate(const std::string& integration_id, const std::string& bill_id,
                                                   Instant now, const RecalculationFn& fn) {
    return write([&](sqlite::Database& db) -> Result<RecalculationPlan> {
        return recalculate_in(db, integration_id, bill_id, now, fn);
    });
}

Result<RecalculationPlan> SqliteStore::recalculate(const std::string& integration_id, const std::string& bill_id,
                                                   std::span<const UsageTarget> targets, Instant now,
                                                   const SlotPolicy& policy) {
    return recalculate(integration_id, bill_id, now, [&](std::span<const KeyBalance> balances) {
        return plan_recalculation(balances, targets, now, policy);
    });
}

Result<std::vector<std::int64_t>> SqliteStore::plan_slots(Instant now, const SlotPolicy& policy) {
    return plan_slots(now, policy, [&](std::span<const PendingUnits> pending, const std::set<SlotKey>& occupied) {
        return meterbridge::plan_slots(pending, occupied, now, policy);
    });
}

Result<std::vector<std::int64_t>> SqliteStore::plan_slots(Instant now, const SlotPolicy& policy, const SlottingFn& fn) {
    return write([&](sqlite::Database& db) -> Result<std::vector<std::int64_t>> {
        std::vector<PendingUnits> pending;
        {
            // Only the entries ready at `now`: plan_slots leaves the others
            // alone, and a backlog is mostly entries waiting for their hour.
            sqlite::Statement st = db.prepare(
                "SELECT id, integration_id, bill_id, resource_id, dimension, plan_id, units, slot_hint, ready_at "
                "FROM pending_units INDEXED BY pending_units_ready WHERE ready_at <= ?1 ORDER BY id");
            st.bind_all(to_ms(now));
            while (st.step()) {
                pending.push_back(PendingUnits{st.int64(0), ShareKey{st.text(1), st.text(2), st.text(3), st.text(4)},
                                               st.text(5), st.int64(6), from_ms(st.int64(7)), from_ms(st.int64(8))});
            }
        }
        std::set<SlotKey> occupied;
        {
            // Older slots cannot be chosen any more, so they need not be loaded.
            sqlite::Statement st = db.prepare(
                "SELECT resource_id, dimension, effective_start FROM events "
                "WHERE state IN ('planned', 'sending', 'accepted', 'conflict', 'unresolved') "
                "AND effective_start >= ?1");
            st.bind_all(to_ms(oldest_usable_slot(now, policy)));
            while (st.step()) occupied.insert(SlotKey{st.text(0), st.text(1), floor_hour(from_ms(st.int64(2)))});
        }
        const std::vector<PlannedEvent> planned = fn(pending, occupied);
        std::vector<std::int64_t> ids;
        const std::int64_t at = to_ms(now);
        for (const PlannedEvent& p : planned) {
            const UsageEventRequest& r = p.request;
            db.run("INSERT INTO events (resource_id, plan_id, dimension, quantity, effective_start, state, attempts, "
                   "next_attempt_at, created_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, 'planned', 0, ?6, ?6, ?6)",
                   r.resource_id, r.plan_id, r.dimension, r.quantity, to_ms(r.effective_start_time), at);
            const std::int64_t id = db.last_insert_rowid();
            std::int64_t sum = 0;
            for (const EventShare& s : p.shares) {
                db.run("INSERT INTO event_shares (event_id, integration_id, bill_id, resource_id, dimension, units) "
                       "VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                       id, s.key.integration_id, s.key.bill_id, s.key.resource_id, s.key.dimension, s.units);
                sum += s.units;
            }
            if (sum != r.quantity) throw std::logic_error("planned event's shares do not add up to its quantity");
            for (const std::int64_t pending_id : p.pending_ids) {
                if (db.run("DELETE FROM pending_units WHERE id = ?1", pending_id) != 1) {
                    throw std::logic_error("planned event consumes unknown pending entry " +
                                           std::to_string(pending_id));
                }
            }
            ids.push_back(id);
        }
        return ids;
    });
}

Result<std::vector<OutboxEvent>> SqliteStore::due_events(Instant now, std::size_t limit,
                                                         const std::set<std::int64_t>& in_flight) {
    // The ids in flight as one JSON array parameter: a statement of fixed
    // text, whatever their number (at most max_batches_in_flight x 25).
    std::string excluded = "[";
    for (const std::int64_t id : in_flight) {
        if (excluded.size() > 1) excluded += ',';
        excluded += std::to_string(id);
    }
    excluded += ']';
    return read([&](sqlite::Database& db) -> Result<std::vector<OutboxEvent>> {
        std::vector<OutboxEvent> events;
        {
            // In sending order straight from the index, stopping at `limit`:
            // the planner, without statistics, would rather sort the whole
            // backlog (20,000 events: ~20 ms per read).
            sqlite::Statement st = db.prepare("SELECT " MB_EVENT_COLUMNS " FROM events e INDEXED BY events_sendable "
                                              "WHERE e.state IN ('planned', 'sending') AND e.next_attempt_at <= ?1 "
                                              "AND e.id NOT IN (SELECT value FROM json_each(?3)) "
                                              "ORDER BY e.effective_start, e.id LIMIT ?2");
            st.bind_all(to_ms(now), static_cast<std::int64_t>(std::min<std::size_t>(limit, INT64_MAX)), excluded);
            while (st.step()) events.push_back(read_event_row(st).event);
        }
        for (auto& e : events) load_shares(db, e);
        return events;
    });
}

Result<OutboxEvent> SqliteStore::event(std::int64_t event_id) {
    return read([&](sqlite::Database& db) -> Result<OutboxEvent> {
        auto detail = load_event(db, event_id);
        if (!detail) return not_found_event(event_id);
        return std::move(detail->event);
    });
}

namespace {

// mark_sending's work, inside the caller's transaction.
std::vector<OutboxEvent> mark_sending_in(sqlite::Database& db, std::span<const std::int64_t> event_ids, Instant now) {
    std::vector<OutboxEvent> marked;
    for (const std::int64_t id : event_ids) {
        auto detail = load_event(db, id);
        if (!detail) continue;
        const EventState state = detail->event.state;
        if (state != EventState::Planned && state != EventState::Sending) continue;
        // Sending again an event that is already Sending: the earlier
        // attempt's fate is unknown (lost answer, or a crash), so it may
        // have reached Azure whatever this attempt's outcome.
        db.run("UPDATE events SET maybe_sent = CASE WHEN state = 'sending' THEN 1 ELSE maybe_sent END, "
               "state = 'sending', attempts = attempts + 1, updated_at = ?2 WHERE id = ?1",
               id, to_ms(now));
        marked.push_back(std::move(detail->event));
    }
    return marked;
}

}  // namespace

Result<std::vector<OutboxEvent>> SqliteStore::mark_sending(std::span<const std::int64_t> event_ids, Instant now) {
    return write([&](sqlite::Database& db) -> Result<std::vector<OutboxEvent>> {
        return mark_sending_in(db, event_ids, now);
    });
}

namespace {

void mark_not_sent(sqlite::Database& db, std::span<const std::int64_t> event_ids, Instant next_attempt_at) {
    for (const std::int64_t id : event_ids) {
        db.run("UPDATE events SET state = CASE WHEN maybe_sent = 1 THEN 'sending' ELSE 'planned' END, "
               "next_attempt_at = ?2 WHERE id = ?1 AND state = 'sending'",
               id, to_ms(next_attempt_at));
    }
}

void mark_unknown(sqlite::Database& db, std::span<const std::int64_t> event_ids, Instant next_attempt_at) {
    for (const std::int64_t id : event_ids) {
        db.run("UPDATE events SET maybe_sent = 1, next_attempt_at = ?2 WHERE id = ?1 AND state = 'sending'", id,
               to_ms(next_attempt_at));
    }
}

}  // namespace

Status SqliteStore::record_not_sent(std::span<const std::int64_t> event_ids, Instant next_attempt_at) {
    return write([&](sqlite::Database& db) -> Status {
        mark_not_sent(db, event_ids, next_attempt_at);
        return Ok{};
    });
}

Status SqliteStore::record_unknown(std::span<const std::int64_t> event_ids, Instant next_attempt_at) {
    return write([&](sqlite::Database& db) -> Status {
        mark_unknown(db, event_ids, next_attempt_at);
        return Ok{};
    });
}

namespace {

// One settlement inside the caller's transaction.
Status settle_in(sqlite::Database& db, std::int64_t event_id, const EventDecision& decision, Instant now,
                 const SlotPolicy& policy) {
    const auto detail = load_event(db, event_id);
    if (!detail) return not_found_event(event_id);
    const OutboxEvent& e = detail->event;
    if (e.state != EventState::Planned && e.state != EventState::Sending && e.state != EventState::Unresolved) {
        return make_error(std::string(kInvalidState),
                          "event " + std::to_string(event_id) + " is " + std::string(to_string(e.state)) +
                              ": it has been settled already");
    }
    EventState state = EventState::Rejected;
    switch (decision.kind) {
        case EventDecision::Kind::Accept: state = EventState::Accepted; break;
        case EventDecision::Kind::Conflict: state = EventState::Conflict; break;
        case EventDecision::Kind::Expire: state = EventState::Expired; break;
        case EventDecision::Kind::Reject: state = EventState::Rejected; break;
        // Its units stay counted as in flight: Azure may hold them.
        case EventDecision::Kind::Unresolve: state = EventState::Unresolved; break;
    }
    transition(db, e, state, &decision, now, policy);
    return Ok{};
}

}  // namespace

Status SqliteStore::settle(std::int64_t event_id, const EventDecision& decision, Instant now,
                           const SlotPolicy& policy) {
    return write([&](sqlite::Database& db) -> Status { return settle_in(db, event_id, decision, now, policy); });
}

std::vector<Status> SqliteStore::settle_all(std::span<const Settlement> settlements, Instant now,
                                            const SlotPolicy& policy) {
    return write_each(settlements, [&](sqlite::Database& db, const Settlement& s) -> Status {
        return settle_in(db, s.event_id, s.decision, now, policy);
    });
}

Result<LedgerStore::CallResult> SqliteStore::record_call(const CallRecord& call, Instant now, const SlotPolicy& policy) {
    bool committed = false;
    CallResult result;
    result.settled = write_each(
        std::span(call.settlements),
        [&](sqlite::Database& db, const Settlement& s) -> Status {
            return settle_in(db, s.event_id, s.decision, now, policy);
        },
        [&](sqlite::Database& db) {
            for (const ExchangeRecord& exchange : call.exchanges) insert_exchange(db, exchange, call.links);
            mark_unknown(db, call.unknown, call.unknown_retry_at);
            mark_not_sent(db, call.not_sent, call.not_sent_retry_at);
        },
        &committed,
        // After the settlements: an event they withdrew from or cancelled is
        // claimed as it is now, or not at all.
        [&](sqlite::Database& db) { result.claimed = mark_sending_in(db, call.claim, call.claim_at); });
    if (!committed) return make_error(std::string(kStorageError), "the call's outcome could not be recorded");
    return result;
}

Result<StaleOutcome> SqliteStore::handle_stale(Instant now, const SlotPolicy& policy,
                                               const std::set<std::int64_t>& in_flight) {
    return write([&](sqlite::Database& db) -> Result<StaleOutcome> {
        StaleOutcome outcome;
        // A generous bound in SQL; stale_action decides exactly.
        const Instant bound = now - kAzureWindow + kWindowSafety + hours{1};
        for (const std::int64_t id : unsettled_event_ids_up_to(db, to_ms(bound))) {
            if (in_flight.contains(id)) continue;
            // Loaded one at a time: settling one event reconciles its bills,
            // which may withdraw units from (or cancel) a later one.
            const auto detail = load_event(db, id);
            if (!detail) continue;
            const OutboxEvent& e = detail->event;
            switch (stale_action(e, now)) {
                case StaleAction::Expire: {
                    EventDecision d;
                    d.kind = EventDecision::Kind::Expire;
                    d.error_code = "WindowClosed";
                    d.error_message = "the slot left Azure's 24-hour window before the event was sent";
                    transition(db, e, EventState::Expired, &d, now, policy);
                    outcome.expired.push_back(e.id);
                    break;
                }
                case StaleAction::Unresolve:
                    db.run("UPDATE events SET state = 'unresolved', error_code = 'Unresolved', "
                           "error_message = 'the slot left the 24-hour window without an answer from Azure', "
                           "updated_at = ?2 WHERE id = ?1",
                           e.id, to_ms(now));
                    outcome.unresolved.push_back(e.id);
                    break;
                case StaleAction::None: break;
            }
        }
        return outcome;
    });
}

Status SqliteStore::retry_rejected(std::int64_t event_id, Instant now, const SlotPolicy& policy) {
    return write([&](sqlite::Database& db) -> Status {
        const auto detail = load_event(db, event_id);
        if (!detail) return not_found_event(event_id);
        if (detail->event.state != EventState::Rejected) {
            return make_error(std::string(kInvalidState),
                              "event " + std::to_string(event_id) + " is " +
                                  std::string(to_string(detail->event.state)) + ", not rejected");
        }
        transition(db, detail->event, EventState::Requeued, nullptr, now, policy);
        return Ok{};
    });
}

}  // namespace meterbridge::store
