// The randomized ledger run of tests/unit/ledger_simulation_test.cpp against
// the SQLite store, in lockstep with the in-memory reference ledger: the same
// bills, recalculations, ticks, faults of a fake Azure and ops retries are
// applied to both, and after every step the store's rows (read back with SQL
// on a connection of its own) must equal the reference and satisfy SPEC §4's
// invariants. The store is closed and reopened at random points (a restart):
// nothing may change across it.
#include "meterbridge/store/store.hpp"

#include <gtest/gtest.h>

#include <map>
#include <random>

#include "support/fake_azure_ledger.hpp"
#include "support/memory_ledger.hpp"
#include "support/store_test_support.hpp"

namespace meterbridge {
namespace {

using testing::FakeAzureLedger;
using testing::MemoryLedger;
using testing::totals_of;
using testing::Totals;

template <class T>
T ok(Result<T> result) {
    EXPECT_TRUE(result.ok()) << (result.ok() ? "" : result.error().code + ": " + result.error().message);
    if (!result.ok()) throw std::runtime_error(result.error().message);
    return std::move(result).value();
}

class StoreSimulation {
public:
    StoreSimulation(std::uint64_t seed, SlotPolicy policy, std::string path)
        : rng_(seed), policy_(policy), path_(std::move(path)) {
        now_ = parse_iso8601("2026-01-01T00:17:00Z").value();
        store_ = store::open_sqlite_store(path_);
    }

    void run(int steps) {
        for (int step = 0; step < steps; ++step) {
            const auto action = rng_() % 100;
            last_action_ = static_cast<int>(action);
            if (action < 33) {
                new_version();
            } else if (action < 38) {
                delete_bill();
            } else if (action < 43) {
                reconvert_same();
            } else if (action < 45) {
                fix_resources_and_retry();
            } else if (action < 46) {
                now_ += hours{30};  // a long outage: nothing runs
            } else if (action < 48) {
                restart();
            } else {
                now_ += minutes{static_cast<int>(rng_() % 90)};
                tick(true);
            }
            if (::testing::Test::HasFailure()) return;
            compare_and_check();
            if (::testing::Test::HasFailure()) return;
        }
        for (int i = 0; i < 120; ++i) {
            fix_resources_and_retry();
            now_ += minutes{20};
            tick(false);
            if (i % 40 == 0) restart();
        }
        compare_and_check();
        check_drained();
    }

    int sends() const { return sends_; }
    int restarts() const { return restarts_; }
    int refusals() const { return refusals_; }

private:
    static constexpr int kBills = 10;

    std::string bill_id(std::uint64_t n) const { return "bill-" + std::to_string(n); }

    std::vector<UsageTarget> random_targets(const std::string& bill) {
        std::vector<UsageTarget> targets;
        const std::vector<std::string> resources = {"sub-a", "sub-b", "sub-c", "sub-bad", "sub-poison"};
        const std::string resource = resources[std::hash<std::string>{}(bill) % resources.size()];
        for (const std::string integration : {"int-1", "int-2"}) {
            for (const std::string dimension : {"compute", "storage"}) {
                if (rng_() % 3 == 0) continue;
                const auto units = static_cast<std::int64_t>(rng_() % 500);
                targets.push_back(UsageTarget{integration, bill, resource, "gold", dimension, units, Decimal{}});
            }
        }
        return targets;
    }

    void recalculate(const std::string& bill, const std::vector<UsageTarget>& targets) {
        for (const std::string integration : {"int-1", "int-2"}) {
            std::vector<UsageTarget> mine;
            for (const auto& t : targets) {
                if (t.integration_id == integration) mine.push_back(t);
            }
            const RecalculationPlan expected = plan_recalculation(memory_.balances(integration, bill), mine, now_, policy_);
            memory_.apply(expected);
            const RecalculationPlan applied =
                ok(store_->recalculate(integration, bill, mine, now_, policy_));
            ASSERT_EQ(applied.targets.size(), expected.targets.size());
            ASSERT_EQ(applied.queued.size(), expected.queued.size());
            targets_[{integration, bill}] = mine;
        }
    }

    void new_version() {
        const std::string bill = bill_id(rng_() % kBills);
        recalculate(bill, random_targets(bill));
    }

    void delete_bill() { recalculate(bill_id(rng_() % kBills), {}); }

    void reconvert_same() {
        if (targets_.empty()) return;
        auto it = targets_.begin();
        std::advance(it, static_cast<long>(rng_() % targets_.size()));
        const auto& [integration, bill] = it->first;
        const auto plan = ok(store_->recalculate(integration, bill, it->second, now_, policy_));
        EXPECT_TRUE(plan.changes_nothing()) << integration << " " << bill;
    }

    void fix_resources_and_retry() {
        azure_.unknown_resources.clear();
        azure_.poison_resources.clear();
        for (auto& e : memory_.events) {
            if (e.state != EventState::Rejected) continue;
            memory_.settle(e.id, EventState::Requeued, now_, policy_);
            ASSERT_TRUE(store_->retry_rejected(to_store_.at(e.id), now_, policy_).ok());
        }
    }

    void tick(bool faults) {
        azure_.unknown_resources = faults ? std::set<std::string>{"sub-bad"} : std::set<std::string>{};
        azure_.poison_resources = faults ? std::set<std::string>{"sub-poison"} : std::set<std::string>{};
        if (faults && rng_() % 4 == 0) {
            const std::vector<std::string> resources = {"sub-a", "sub-b", "sub-c"};
            azure_.occupy_foreign(SlotKey{resources[rng_() % 3], rng_() % 2 ? "compute" : "storage",
                                          floor_hour(now_) - hours{static_cast<int>(rng_() % 3)}},
                                  1000 + static_cast<std::int64_t>(rng_() % 10));
        }
        // Stale events: the reference settles them one by one, the store in one sweep.
        std::vector<std::int64_t> expired;
        std::vector<std::int64_t> unresolved;
        for (auto& e : memory_.events) {
            switch (stale_action(e, now_)) {
                case StaleAction::Expire:
                    memory_.settle(e.id, EventState::Expired, now_, policy_);
                    expired.push_back(to_store_.at(e.id));
                    break;
                case StaleAction::Unresolve:
                    e.state = EventState::Unresolved;
                    unresolved.push_back(to_store_.at(e.id));
                    break;
                case StaleAction::None: break;
            }
        }
        const store::StaleOutcome stale = ok(store_->handle_stale(now_, policy_));
        ASSERT_EQ(stale.expired, expired);
        ASSERT_EQ(stale.unresolved, unresolved);

        const auto planned = plan_slots(memory_.pending, memory_.occupied(), now_, policy_);
        const std::size_t before = memory_.events.size();
        memory_.apply(planned, now_);
        const auto ids = ok(store_->plan_slots(now_, policy_));
        ASSERT_EQ(ids.size(), planned.size());
        for (std::size_t i = 0; i < ids.size(); ++i) {
            to_store_[memory_.events[before + i].id] = ids[i];
        }

        // The store's due events give the same batches as the reference's.
        const auto due = ok(store_->due_events(now_));
        std::vector<std::vector<std::int64_t>> store_batches = plan_batches(due, now_);
        std::vector<std::vector<std::int64_t>> batches = plan_batches(memory_.events, now_);
        ASSERT_EQ(store_batches.size(), batches.size());
        for (std::size_t b = 0; b < batches.size(); ++b) {
            ASSERT_EQ(store_batches[b].size(), batches[b].size());
            for (std::size_t i = 0; i < batches[b].size(); ++i) ASSERT_EQ(store_batches[b][i], to_store_.at(batches[b][i]));
        }
        for (const auto& batch : batches) send(batch, faults);
    }

    std::vector<std::int64_t> store_ids(const std::vector<std::int64_t>& batch) const {
        std::vector<std::int64_t> ids;
        for (auto id : batch) ids.push_back(to_store_.at(id));
        return ids;
    }

    void send(const std::vector<std::int64_t>& batch, bool faults) {
        const auto fault = faults ? rng_() % 12 : 11;
        std::map<std::int64_t, bool> held_before;
        // Stored as Sending before the call, as the daemon does.
        for (auto id : batch) {
            OutboxEvent& e = memory_.event(id);
            held_before[id] = may_be_at_azure(e);
            ASSERT_EQ(may_be_at_azure(ok(store_->event(to_store_.at(id)))), held_before[id]) << "event " << id;
            if (e.state == EventState::Sending) e.maybe_sent = true;
            e.state = EventState::Sending;
            e.attempts++;
        }
        ASSERT_TRUE(store_->mark_sending(store_ids(batch), now_).ok());
        if (rng_() % 20 == 0) restart();  // a crash right after storing Sending
        if (fault == 0 || fault == 3) {
            // Connection refused, or a 429 with Retry-After: certainly not recorded.
            const std::optional<Duration> retry_after =
                fault == 3 ? std::optional<Duration>(minutes{static_cast<int>(rng_() % 40)}) : std::nullopt;
            for (auto id : batch) {
                OutboxEvent& e = memory_.event(id);
                e.next_attempt_at = next_attempt_at(e.attempts, retry_after, now_, rng_());
                const std::int64_t store_id = to_store_.at(id);
                ASSERT_TRUE(store_->record_not_sent(std::span(&store_id, 1), e.next_attempt_at).ok());
            }
            // The reference keeps the state an event had; the store must agree
            // (Planned again, or Sending when an earlier attempt may have landed).
            for (auto id : batch) {
                OutboxEvent& e = memory_.event(id);
                e.state = e.maybe_sent ? EventState::Sending : EventState::Planned;
                const OutboxEvent stored = ok(store_->event(to_store_.at(id)));
                ASSERT_EQ(stored.state, e.state) << "event " << id;
                ASSERT_EQ(stored.next_attempt_at, e.next_attempt_at);  // Retry-After survives in the store
                if (e.attempts == 1) {
                    ASSERT_EQ(e.state, EventState::Planned);
                }
            }
            return;
        }
        if (azure_.refuses_batch(batch_requests(batch))) {
            // A whole-batch 400 because of one event: nothing recorded; split.
            ++refusals_;
            ASSERT_TRUE(store_->record_not_sent(store_ids(batch), now_).ok());
            std::vector<const OutboxEvent*> events;
            for (auto id : batch) {
                OutboxEvent& e = memory_.event(id);
                e.state = e.maybe_sent ? EventState::Sending : EventState::Planned;
                e.next_attempt_at = now_;
                events.push_back(&e);
            }
            switch (on_refusal(events)) {
                case RefusalAction::Split: {
                    const auto middle = batch.begin() + static_cast<std::ptrdiff_t>(batch.size() / 2);
                    send(std::vector<std::int64_t>(batch.begin(), middle), faults);
                    send(std::vector<std::int64_t>(middle, batch.end()), faults);
                    return;
                }
                case RefusalAction::Reject: {
                    EventDecision d;
                    d.kind = EventDecision::Kind::Reject;
                    d.error_code = "BadArgument";
                    memory_.settle(batch.front(), EventState::Rejected, now_, policy_);
                    ASSERT_TRUE(store_->settle(to_store_.at(batch.front()), d, now_, policy_).ok());
                    return;
                }
                case RefusalAction::KeepInFlight: {
                    OutboxEvent& e = memory_.event(batch.front());
                    e.next_attempt_at = next_attempt_at(e.attempts, std::nullopt, now_, rng_());
                    ASSERT_TRUE(store_->record_unknown(store_ids(batch), e.next_attempt_at).ok());
                    return;
                }
            }
        }
        for (auto id : batch) {
            OutboxEvent& e = memory_.event(id);
            const std::int64_t store_id = to_store_.at(id);
            ++sends_;
            const UsageEventResult result = azure_.receive(e.request, now_);
            if (fault == 1 || fault == 2) {  // Azure processed it; the answer was lost, or a gateway's 5xx
                e.maybe_sent = true;
                e.next_attempt_at = next_attempt_at(e.attempts, std::nullopt, now_, rng_());
                ASSERT_TRUE(store_->record_unknown(std::span(&store_id, 1), e.next_attempt_at).ok());
                continue;
            }
            const EventDecision d = decide_event(e, result, held_before[id]);
            switch (d.kind) {
                case EventDecision::Kind::Accept:
                    e.state = EventState::Accepted;
                    e.usage_event_id = d.usage_event_id;
                    break;
                case EventDecision::Kind::Conflict: memory_.settle(e.id, EventState::Conflict, now_, policy_); break;
                case EventDecision::Kind::Expire: memory_.settle(e.id, EventState::Expired, now_, policy_); break;
                case EventDecision::Kind::Reject: memory_.settle(e.id, EventState::Rejected, now_, policy_); break;
                case EventDecision::Kind::Unresolve: memory_.settle(e.id, EventState::Unresolved, now_, policy_); break;
            }
            const Status settled = store_->settle(store_id, d, now_, policy_);
            ASSERT_TRUE(settled.ok()) << settled.error().message;
        }
    }

    std::vector<UsageEventRequest> batch_requests(const std::vector<std::int64_t>& batch) {
        std::vector<UsageEventRequest> requests;
        for (auto id : batch) requests.push_back(memory_.event(id).request);
        return requests;
    }

    // Closes the store and opens it again: a restart of the daemon. The
    // ledger read back with SQL must be the same before and after.
    void restart() {
        const MemoryLedger before = testing::read_ledger(path_);
        store_.reset();
        store_ = store::open_sqlite_store(path_);
        const MemoryLedger after = testing::read_ledger(path_);
        ASSERT_EQ(before.targets.size(), after.targets.size());
        ASSERT_EQ(before.pending, after.pending);
        ASSERT_EQ(before.events.size(), after.events.size());
        for (std::size_t i = 0; i < before.events.size(); ++i) {
            ASSERT_EQ(before.events[i].request, after.events[i].request);
            ASSERT_EQ(before.events[i].state, after.events[i].state);
            ASSERT_EQ(before.events[i].shares, after.events[i].shares);
        }
        ++restarts_;
    }

    // The store's rows equal the reference, and the invariants hold on them.
    void compare_and_check() {
        const MemoryLedger sql = testing::read_ledger(path_);
        ASSERT_EQ(sql.events.size(), memory_.events.size());
        for (const auto& e : memory_.events) {
            const OutboxEvent& s = const_cast<MemoryLedger&>(sql).event(to_store_.at(e.id));
            ASSERT_EQ(s.request, e.request) << "event " << e.id << " last action " << last_action_;
            ASSERT_EQ(s.state, e.state) << "event " << e.id << " last action " << last_action_;
            ASSERT_EQ(s.attempts, e.attempts);
            std::vector<EventShare> shares = e.shares;
            std::sort(shares.begin(), shares.end(), [](const auto& a, const auto& b) { return a.key < b.key; });
            ASSERT_EQ(s.shares, shares) << "event " << e.id;
        }
        ASSERT_EQ(sql.pending.size(), memory_.pending.size());
        for (std::size_t i = 0; i < sql.pending.size(); ++i) {
            PendingUnits a = sql.pending[i];
            PendingUnits b = memory_.pending[i];
            a.id = b.id = 0;
            ASSERT_EQ(a, b) << "pending entry " << i;
        }
        ASSERT_EQ(sql.targets.size(), memory_.targets.size());
        for (const auto& [key, row] : memory_.targets) {
            ASSERT_EQ(sql.targets.at(key).target, row.target);
            ASSERT_EQ(sql.targets.at(key).plan_id, row.plan_id);
        }
        check_invariants(sql);
    }

    void check_invariants(const MemoryLedger& sql) {
        for (const auto& [key, row] : sql.targets) {
            const Totals t = totals_of(sql, key);
            const std::int64_t committed = t.in_flight + t.accepted;
            const std::int64_t over = std::max<std::int64_t>(0, committed - row.target);
            ASSERT_EQ(t.pending + t.planned + t.rejected + committed - over, row.target)
                << key.bill_id << " " << key.integration_id << " " << key.dimension << " last action " << last_action_;
            if (over > 0) {
                ASSERT_EQ(t.pending + t.planned + t.rejected, 0);
            }
        }
        std::set<SlotKey> accepted_slots;
        for (const auto& e : sql.events) {
            if (e.state == EventState::Planned) {
                std::int64_t sum = 0;
                for (const auto& s : e.shares) sum += s.units;
                ASSERT_EQ(sum, e.request.quantity);
            }
            if (e.state != EventState::Cancelled) {
                ASSERT_GT(e.request.quantity, 0);
            }
            if (e.state == EventState::Accepted) {
                ASSERT_TRUE(accepted_slots.insert(slot_of(e.request)).second) << "slot accepted twice";
                ASSERT_EQ(azure_.accepted.at(slot_of(e.request)), e.request.quantity);
            }
        }
        for (const auto& p : sql.pending) ASSERT_GT(p.units, 0);
    }

    // After the drain nothing is left unsent, and Azure holds what the store
    // says it accepted: each unit exactly once.
    void check_drained() {
        const MemoryLedger sql = testing::read_ledger(path_);
        EXPECT_TRUE(sql.pending.empty());
        std::map<std::pair<std::string, std::string>, std::int64_t> ours, azure;
        for (const auto& e : sql.events) {
            EXPECT_TRUE(e.state != EventState::Planned && e.state != EventState::Sending &&
                        e.state != EventState::Rejected);
            const bool at_azure = e.state == EventState::Accepted ||
                                  (e.state == EventState::Unresolved && azure_.accepted.contains(slot_of(e.request)) &&
                                   !azure_.foreign.contains(slot_of(e.request)));
            if (at_azure) ours[{e.request.resource_id, e.request.dimension}] += e.request.quantity;
        }
        for (const auto& [slot, quantity] : azure_.accepted) {
            if (!azure_.foreign.contains(slot)) azure[{slot.resource_id, slot.dimension}] += quantity;
        }
        EXPECT_EQ(ours, azure);
        // The same through the ops query: accepted units per key sum up.
        std::int64_t reported = 0;
        store::ReportedUsageQuery query;
        query.page_size = 3;
        for (;;) {
            const auto page = ok(store_->reported_usage(query));
            for (const auto& entry : page.data) {
                for (const auto& [dimension, hours] : entry.usage) {
                    for (const auto& [hour, units] : hours) reported += units;
                }
            }
            if (page.next_token.empty()) break;
            query.next_token = page.next_token;
        }
        std::int64_t accepted = 0;
        for (const auto& [key, row] : sql.targets) accepted += totals_of(sql, key).accepted;
        EXPECT_EQ(reported, accepted);
    }

    std::mt19937_64 rng_;
    SlotPolicy policy_;
    std::string path_;
    Instant now_;
    std::unique_ptr<store::Store> store_;
    MemoryLedger memory_;
    FakeAzureLedger azure_;
    std::map<std::int64_t, std::int64_t> to_store_;   // reference event id -> store event id
    std::map<std::pair<std::string, std::string>, std::vector<UsageTarget>> targets_;
    int last_action_ = -1;
    int sends_ = 0;
    int restarts_ = 0;
    int refusals_ = 0;
};

TEST(StoreSimulation, HourCloseMatchesTheReferenceAcrossRestarts) {
    for (std::uint64_t seed : {1ULL, 20261124ULL}) {
        SCOPED_TRACE("seed " + std::to_string(seed));
        testing::TempDir dir;
        StoreSimulation sim(seed, SlotPolicy{}, dir.file("sim.db"));
        sim.run(350);
        if (::testing::Test::HasFailure()) return;
        EXPECT_GT(sim.sends(), 50);
        EXPECT_GT(sim.restarts(), 3);
        EXPECT_GT(sim.refusals(), 3);
    }
}

TEST(StoreSimulation, EagerMatchesTheReferenceAcrossRestarts) {
    SlotPolicy eager;
    eager.mode = SlotPolicy::Mode::Eager;
    eager.flush_delay = seconds{0};
    testing::TempDir dir;
    StoreSimulation sim(7, eager, dir.file("sim.db"));
    sim.run(350);
    EXPECT_GT(sim.sends(), 50);
}

}  // namespace
}  // namespace meterbridge
