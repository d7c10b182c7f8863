#include "ledger_sql.hpp"

#include <map>
#include <stdexcept>

#include "codec.hpp"

namespace meterbridge::store {

namespace {

void insert_pending(sqlite::Database& db, const PendingUnits& p, Instant now) {
    db.run("INSERT INTO pending_units (integration_id, bill_id, resource_id, dimension, plan_id, units, slot_hint, "
           "ready_at, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
           p.key.integration_id, p.key.bill_id, p.key.resource_id, p.key.dimension, p.plan_id, p.units,
           to_ms(p.slot_hint), to_ms(p.ready_at), to_ms(now));
}

[[noreturn]] void mismatch(const char* what, std::int64_t id) {
    throw std::logic_error(std::string("recalculation plan does not match the ledger: ") + what + " " +
                           std::to_string(id));
}

// Takes `w.units` from the share of `w.key` in event `w.id`, which must be in `state`.
void withdraw_share(sqlite::Database& db, const RecalculationPlan::Withdrawal& w, const char* state) {
    const int changed = db.run(
        "UPDATE event_shares SET units = units - ?6 WHERE event_id = ?1 AND integration_id = ?2 AND bill_id = ?3 "
        "AND resource_id = ?4 AND dimension = ?5 AND units >= ?6 "
        "AND EXISTS (SELECT 1 FROM events e WHERE e.id = ?1 AND e.state = ?7)",
        w.id, w.key.integration_id, w.key.bill_id, w.key.resource_id, w.key.dimension, w.units, state);
    if (changed != 1) mismatch("no such share in event", w.id);
}

}  // namespace

std::vector<KeyBalance> load_balances(sqlite::Database& db, const std::string& integration_id,
                                      const std::string& bill_id) {
    std::map<ShareKey, KeyBalance> out;
    const auto touch = [&](ShareKey key) -> KeyBalance& {
        KeyBalance& b = out[key];
        b.key = std::move(key);
        return b;
    };
    {
        sqlite::Statement st = db.prepare(
            "SELECT resource_id, dimension, plan_id, units FROM targets WHERE integration_id = ?1 AND bill_id = ?2");
        st.bind_all(integration_id, bill_id);
        while (st.step()) {
            KeyBalance& b = touch(ShareKey{integration_id, bill_id, st.text(0), st.text(1)});
            b.plan_id = st.text(2);
            b.target = st.int64(3);
        }
    }
    {
        sqlite::Statement st = db.prepare(
            "SELECT id, resource_id, dimension, plan_id, units, slot_hint, ready_at FROM pending_units "
            "WHERE integration_id = ?1 AND bill_id = ?2 ORDER BY id");
        st.bind_all(integration_id, bill_id);
        while (st.step()) {
            ShareKey key{integration_id, bill_id, st.text(1), st.text(2)};
            PendingUnits p{st.int64(0), key, st.text(3), st.int64(4), from_ms(st.int64(5)), from_ms(st.int64(6))};
            touch(std::move(key)).pending.push_back(std::move(p));
        }
    }
    {
        sqlite::Statement st = db.prepare(
            "SELECT s.event_id, s.resource_id, s.dimension, s.units, e.state FROM event_shares s "
            "JOIN events e ON e.id = s.event_id "
            "WHERE s.integration_id = ?1 AND s.bill_id = ?2 AND s.units > 0 ORDER BY s.event_id");
        st.bind_all(integration_id, bill_id);
        while (st.step()) {
            KeyBalance& b = touch(ShareKey{integration_id, bill_id, st.text(1), st.text(2)});
            const KeyBalance::EventShareRef ref{st.int64(0), st.int64(3)};
            switch (event_state_or_throw(st.text(4))) {
                case EventState::Planned: b.planned.push_back(ref); break;
                case EventState::Sending:
                case EventState::Unresolved: b.in_flight += ref.units; break;
                case EventState::Accepted: b.accepted += ref.units; break;
                case EventState::Rejected: b.rejected.push_back(ref); break;
                case EventState::Conflict:
                case EventState::Expired:
                case EventState::Requeued:
                case EventState::Cancelled: break;  // their units moved elsewhere
            }
        }
    }
    std::vector<KeyBalance> list;
    list.reserve(out.size());
    for (auto& [key, balance] : out) list.push_back(std::move(balance));
    return list;
}

void apply_plan(sqlite::Database& db, const RecalculationPlan& plan, Instant now) {
    const std::int64_t at = to_ms(now);
    for (const auto& t : plan.targets) {
        db.run("INSERT INTO targets (integration_id, bill_id, resource_id, dimension, plan_id, units, over_reported, "
               "updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) "
               "ON CONFLICT (integration_id, bill_id, resource_id, dimension) DO UPDATE SET "
               "plan_id = excluded.plan_id, units = excluded.units, over_reported = excluded.over_reported, "
               "updated_at = excluded.updated_at",
               t.key.integration_id, t.key.bill_id, t.key.resource_id, t.key.dimension, t.plan_id, t.target,
               t.over_reported, at);
    }
    for (const auto& p : plan.queued) insert_pending(db, p, now);
    for (const auto& w : plan.withdrawn_pending) {
        // A whole entry goes; a part leaves the rest (units stay > 0 by CHECK).
        if (db.run("DELETE FROM pending_units WHERE id = ?1 AND units = ?2", w.id, w.units) == 1) continue;
        if (db.run("UPDATE pending_units SET units = units - ?2 WHERE id = ?1 AND units > ?2", w.id, w.units) != 1) {
            mismatch("no such pending entry", w.id);
        }
    }
    for (const auto& w : plan.withdrawn_planned) {
        withdraw_share(db, w, "planned");
        // An event emptied by withdrawals is Cancelled: nothing <= 0 is ever sent.
        const int changed = db.run(
            "UPDATE events SET quantity = quantity - ?2, "
            "state = CASE WHEN quantity = ?2 THEN 'cancelled' ELSE state END, updated_at = ?3 "
            "WHERE id = ?1 AND state = 'planned' AND quantity >= ?2",
            w.id, w.units, at);
        if (changed != 1) mismatch("no such planned event", w.id);
    }
    for (const auto& w : plan.withdrawn_rejected) withdraw_share(db, w, "rejected");
}

void transition(sqlite::Database& db, const OutboxEvent& event, EventState state, const EventDecision* decision,
                Instant now, const SlotPolicy& policy) {
    if (state == EventState::Conflict || state == EventState::Expired || state == EventState::Requeued) {
        for (const auto& p : requeue_units(event, state, now)) insert_pending(db, p, now);
    }
    if (decision != nullptr) {
        db.run("UPDATE events SET state = ?2, usage_event_id = ?3, message_time = ?4, error_code = ?5, "
               "error_message = ?6, updated_at = ?7 WHERE id = ?1",
               event.id, to_string(state), decision->usage_event_id, decision->message_time, decision->error_code,
               decision->error_message, to_ms(now));
    } else {
        db.run("UPDATE events SET state = ?2, updated_at = ?3 WHERE id = ?1", event.id, to_string(state), to_ms(now));
    }
    // Units that left "in flight" may now be over-reported, and re-queued ones
    // may no longer be wanted: bring each bill back to its targets. Accepted
    // and unresolved units stay committed (in flight or at Azure), so no
    // balance moves and the plan would be empty: skipped, as it is most of
    // the settlement's cost per event.
    if (state == EventState::Accepted || state == EventState::Unresolved) return;
    std::set<std::pair<std::string, std::string>> bills;
    for (const auto& s : event.shares) bills.emplace(s.key.integration_id, s.key.bill_id);
    for (const auto& [integration, bill] : bills) {
        const auto balances = load_balances(db, integration, bill);
        apply_plan(db, plan_reconciliation(balances, now, policy), now);
    }
}

}  // namespace meterbridge::store
