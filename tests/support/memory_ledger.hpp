#pragma once
// An in-memory ledger that applies the core's plans exactly as the SQLite
// store must: the reference model for randomized tests of the core.
#include <algorithm>
#include <map>
#include <set>
#include <vector>

#include "meterbridge/core/dispatch.hpp"
#include "meterbridge/core/ledger.hpp"
#include "meterbridge/core/outbox.hpp"
#include "meterbridge/core/slotting.hpp"

namespace meterbridge::testing {

class MemoryLedger {
public:
    struct TargetRow {
        std::string plan_id;
        std::int64_t target = 0;
    };

    std::vector<KeyBalance> balances(const std::string& integration_id, const std::string& bill_id) const {
        std::map<ShareKey, KeyBalance> out;
        const auto touch = [&](const ShareKey& key) -> KeyBalance& {
            KeyBalance& b = out[key];
            b.key = key;
            return b;
        };
        const auto mine = [&](const ShareKey& key) { return key.integration_id == integration_id && key.bill_id == bill_id; };
        for (const auto& [key, row] : targets) {
            if (!mine(key)) continue;
            KeyBalance& b = touch(key);
            b.target = row.target;
            b.plan_id = row.plan_id;
        }
        for (const auto& p : pending) {
            if (mine(p.key)) touch(p.key).pending.push_back(p);
        }
        for (const auto& e : events) {
            for (const auto& s : e.shares) {
                if (!mine(s.key) || s.units == 0) continue;
                KeyBalance& b = touch(s.key);
                switch (e.state) {
                    case EventState::Planned: b.planned.push_back({e.id, s.units}); break;
                    case EventState::Sending:
                    case EventState::Unresolved: b.in_flight += s.units; break;
                    case EventState::Accepted: b.accepted += s.units; break;
                    case EventState::Rejected: b.rejected.push_back({e.id, s.units}); break;
                    default: break;  // units moved elsewhere
                }
            }
        }
        std::vector<KeyBalance> list;
        for (auto& [key, b] : out) list.push_back(std::move(b));
        return list;
    }

    void apply(const RecalculationPlan& plan) {
        for (const auto& t : plan.targets) targets[t.key] = TargetRow{t.plan_id, t.target};
        for (auto p : plan.queued) {
            p.id = next_id_++;
            pending.push_back(std::move(p));
        }
        for (const auto& w : plan.withdrawn_pending) {
            auto it = std::find_if(pending.begin(), pending.end(), [&](const PendingUnits& p) { return p.id == w.id; });
            it->units -= w.units;
            if (it->units == 0) pending.erase(it);
        }
        for (const auto& w : plan.withdrawn_planned) {
            OutboxEvent& e = event(w.id);
            share(e, w.key).units -= w.units;
            e.request.quantity -= w.units;
            if (e.request.quantity == 0) e.state = EventState::Cancelled;
        }
        for (const auto& w : plan.withdrawn_rejected) share(event(w.id), w.key).units -= w.units;
    }

    std::set<SlotKey> occupied() const {
        std::set<SlotKey> slots;
        for (const auto& e : events) {
            if (occupies_slot(e.state)) slots.insert(slot_of(e.request));
        }
        return slots;
    }

    void apply(const std::vector<PlannedEvent>& planned, Instant now) {
        for (const auto& p : planned) {
            OutboxEvent e;
            e.id = next_id_++;
            e.request = p.request;
            e.shares = p.shares;
            e.next_attempt_at = now;
            events.push_back(std::move(e));
            std::erase_if(pending, [&](const PendingUnits& u) {
                return std::find(p.pending_ids.begin(), p.pending_ids.end(), u.id) != p.pending_ids.end();
            });
        }
    }

    // Moves an event to `state`. Units of superseded events are queued again;
    // then every bill the event carried is reconciled with its targets, since
    // units leaving "in flight" may now be over-reported.
    void settle(std::int64_t event_id, EventState state, Instant now, const SlotPolicy& policy) {
        OutboxEvent& e = event(event_id);
        if (state == EventState::Conflict || state == EventState::Expired || state == EventState::Requeued) {
            for (auto p : requeue_units(e, state, now)) {
                p.id = next_id_++;
                pending.push_back(std::move(p));
            }
        }
        e.state = state;
        std::set<std::pair<std::string, std::string>> bills;
        for (const auto& s : e.shares) bills.insert({s.key.integration_id, s.key.bill_id});
        for (const auto& [integration, bill] : bills) apply(plan_reconciliation(balances(integration, bill), now, policy));
    }

    OutboxEvent& event(std::int64_t id) {
        return *std::find_if(events.begin(), events.end(), [&](const OutboxEvent& e) { return e.id == id; });
    }

    static EventShare& share(OutboxEvent& e, const ShareKey& key) {
        return *std::find_if(e.shares.begin(), e.shares.end(), [&](const EventShare& s) { return s.key == key; });
    }

    std::map<ShareKey, TargetRow> targets;
    std::vector<PendingUnits> pending;
    std::vector<OutboxEvent> events;

private:
    std::int64_t next_id_ = 1;
};

// The units of one key in each state of the ledger (SPEC §4's invariants).
struct Totals {
    std::int64_t pending = 0, planned = 0, in_flight = 0, accepted = 0, rejected = 0;
};

inline Totals totals_of(const MemoryLedger& ledger, const ShareKey& key) {
    Totals t;
    for (const auto& p : ledger.pending) {
        if (p.key == key) t.pending += p.units;
    }
    for (const auto& e : ledger.events) {
        for (const auto& s : e.shares) {
            if (s.key != key) continue;
            switch (e.state) {
                case EventState::Planned: t.planned += s.units; break;
                case EventState::Sending:
                case EventState::Unresolved: t.in_flight += s.units; break;
                case EventState::Accepted: t.accepted += s.units; break;
                case EventState::Rejected: t.rejected += s.units; break;
                default: break;
            }
        }
    }
    return t;
}

}  // namespace meterbridge::testing
