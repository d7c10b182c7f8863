// The ledger operations of the SQLite store: recalculation, slotting,
// dispatch, settling, stale events and ops retries, each against the core's
// planners as the scheduler calls them.
#include "meterbridge/store/store.hpp"

#include <gtest/gtest.h>

#include "sqlite_store.hpp"
#include "support/store_test_support.hpp"

namespace meterbridge {
namespace {

using testing::at;

class StoreLedger : public ::testing::Test {
protected:
    StoreLedger() {
        policy_.mode = SlotPolicy::Mode::Eager;
        policy_.flush_delay = seconds{0};
    }

    static UsageTarget target(const std::string& bill, const std::string& dimension, std::int64_t units,
                              const std::string& resource = "sub-1") {
        return UsageTarget{"int-1", bill, resource, "gold", dimension, units, Decimal::from_integer(units)};
    }

    RecalculationPlan recalc(const std::string& bill, std::vector<UsageTarget> targets) {
        auto plan = sqlite().recalculate("int-1", bill, now_, [&](std::span<const KeyBalance> balances) {
            last_balances_.assign(balances.begin(), balances.end());
            return plan_recalculation(balances, targets, now_, policy_);
        });
        EXPECT_TRUE(plan.ok()) << (plan.ok() ? "" : plan.error().message);
        return plan.ok() ? plan.value() : RecalculationPlan{};
    }

    std::vector<std::int64_t> slot() {
        auto ids = sqlite().plan_slots(now_, policy_, [&](std::span<const PendingUnits> pending,
                                                          const std::set<SlotKey>& occupied) {
            last_occupied_ = occupied;
            return plan_slots(pending, occupied, now_, policy_);
        });
        EXPECT_TRUE(ids.ok());
        return ids.ok() ? ids.value() : std::vector<std::int64_t>{};
    }

    KeyBalance balance(const std::string& bill, const std::string& dimension) {
        recalc_probe(bill);
        for (const auto& b : last_balances_) {
            if (b.key.dimension == dimension) return b;
        }
        return KeyBalance{};
    }

    // Loads the balances without changing anything.
    void recalc_probe(const std::string& bill) {
        auto plan = sqlite().recalculate("int-1", bill, now_, [&](std::span<const KeyBalance> balances) {
            last_balances_.assign(balances.begin(), balances.end());
            return RecalculationPlan{};
        });
        ASSERT_TRUE(plan.ok());
    }

    OutboxEvent event(std::int64_t id) { return store_->event(id).value(); }

    EventDecision decision(EventDecision::Kind kind) {
        EventDecision d;
        d.kind = kind;
        if (kind == EventDecision::Kind::Accept) {
            d.usage_event_id = "u-1";
            d.message_time = "2026-01-01T10:00:01Z";
        } else {
            d.error_code = "ResourceNotFound";
            d.error_message = "no such subscription";
        }
        return d;
    }

    // The planner-taking overloads, to spy on what the store loads or to feed it a wrong plan.
    store::SqliteStore& sqlite() { return static_cast<store::SqliteStore&>(*store_); }

    std::unique_ptr<store::Store> store_ = store::open_sqlite_store(":memory:");
    Instant now_ = at("2026-01-01T10:20:00Z");
    SlotPolicy policy_;
    std::vector<KeyBalance> last_balances_;
    std::set<SlotKey> last_occupied_;
};

TEST_F(StoreLedger, RecalculationQueuesTheDeltaAndWithdrawsPendingUnits) {
    const auto up = recalc("b-1", {target("b-1", "compute", 50), target("b-1", "storage", 7)});
    EXPECT_EQ(up.queued.size(), 2u);
    auto compute = balance("b-1", "compute");
    EXPECT_EQ(compute.target, 50);
    EXPECT_EQ(compute.plan_id, "gold");
    ASSERT_EQ(compute.pending.size(), 1u);
    EXPECT_GT(compute.pending[0].id, 0);  // ids assigned by the store
    EXPECT_EQ(compute.pending[0].units, 50);
    EXPECT_EQ(compute.pending[0].slot_hint, at("2026-01-01T10:00:00Z"));

    recalc("b-1", {target("b-1", "compute", 80), target("b-1", "storage", 7)});
    compute = balance("b-1", "compute");
    ASSERT_EQ(compute.pending.size(), 2u);
    EXPECT_EQ(pending_units(compute), 80);

    const auto down = recalc("b-1", {target("b-1", "compute", 40), target("b-1", "storage", 7)});
    EXPECT_EQ(down.withdrawn_pending.size(), 2u);  // newest entry whole, then part of the oldest
    compute = balance("b-1", "compute");
    ASSERT_EQ(compute.pending.size(), 1u);
    EXPECT_EQ(compute.pending[0].units, 40);
    EXPECT_EQ(compute.target, 40);

    // Same targets again: nothing changes.
    EXPECT_TRUE(recalc("b-1", {target("b-1", "compute", 40), target("b-1", "storage", 7)}).changes_nothing());
}

TEST_F(StoreLedger, SlottingStoresEventsWithSharesAndConsumesPending) {
    recalc("b-1", {target("b-1", "compute", 50)});
    recalc("b-2", {target("b-2", "compute", 5)});
    const auto ids = slot();
    ASSERT_EQ(ids.size(), 1u);  // two bills, one (resource, dimension, hour): one event
    const OutboxEvent e = event(ids[0]);
    EXPECT_EQ(e.state, EventState::Planned);
    EXPECT_EQ(e.request.quantity, 55);
    EXPECT_EQ(e.request.effective_start_time, at("2026-01-01T10:00:00Z"));
    ASSERT_EQ(e.shares.size(), 2u);
    EXPECT_EQ(e.shares[0].key.bill_id, "b-1");
    EXPECT_EQ(e.shares[0].units, 50);
    EXPECT_EQ(e.shares[1].units, 5);
    EXPECT_EQ(e.next_attempt_at, now_);
    EXPECT_TRUE(balance("b-1", "compute").pending.empty());
    ASSERT_EQ(balance("b-1", "compute").planned.size(), 1u);

    // The slot is occupied now: new units wait for the next hour.
    recalc("b-1", {target("b-1", "compute", 60)});
    EXPECT_TRUE(slot().empty());
    EXPECT_EQ(last_occupied_.count(SlotKey{"sub-1", "compute", at("2026-01-01T10:00:00Z")}), 1u);
    now_ = at("2026-01-01T11:05:00Z");
    EXPECT_EQ(slot().size(), 1u);
    // Slots too old to be chosen are not even loaded.
    now_ = at("2026-01-02T11:05:00Z");
    slot();
    EXPECT_TRUE(last_occupied_.empty());
}

TEST_F(StoreLedger, WithdrawalFromAPlannedEventReducesItAndCancelsItAtZero) {
    recalc("b-1", {target("b-1", "compute", 50)});
    recalc("b-2", {target("b-2", "compute", 5)});
    const auto id = slot().at(0);
    recalc("b-1", {target("b-1", "compute", 20)});
    EXPECT_EQ(event(id).request.quantity, 25);
    recalc("b-1", {});
    recalc("b-2", {});  // billing.bill.deleted
    const OutboxEvent e = event(id);
    EXPECT_EQ(e.state, EventState::Cancelled);
    EXPECT_EQ(e.request.quantity, 0);
    EXPECT_TRUE(store_->due_events(now_)->empty());
    EXPECT_EQ(store_->metrics()->events_by_state.at("cancelled"), 1);
}

TEST_F(StoreLedger, SendingIsDurableAndAFailedSendOnlyReturnsToPlannedWhenNothingMayHaveLanded) {
    recalc("b-1", {target("b-1", "compute", 50)});
    const auto id = slot().at(0);
    ASSERT_EQ(store_->due_events(now_)->size(), 1u);
    const std::vector<std::int64_t> batch{id};
    ASSERT_TRUE(store_->mark_sending(batch, now_).ok());
    EXPECT_EQ(event(id).state, EventState::Sending);
    EXPECT_EQ(event(id).attempts, 1);
    // In flight: a recalculation can no longer take these units back.
    const auto down = recalc("b-1", {target("b-1", "compute", 10)});
    EXPECT_TRUE(down.withdrawn_planned.empty());
    ASSERT_EQ(down.targets.size(), 1u);
    EXPECT_EQ(down.targets[0].over_reported, 40);
    recalc("b-1", {target("b-1", "compute", 50)});

    ASSERT_TRUE(store_->record_not_sent(batch, now_ + seconds{2}).ok());
    EXPECT_EQ(event(id).state, EventState::Planned);
    EXPECT_TRUE(store_->due_events(now_)->empty());  // not before its next attempt
    EXPECT_EQ(store_->due_events(now_ + seconds{2})->size(), 1u);

    ASSERT_TRUE(store_->mark_sending(batch, now_).ok());
    ASSERT_TRUE(store_->record_unknown(batch, now_ + seconds{4}).ok());
    EXPECT_EQ(event(id).state, EventState::Sending);
    // The next attempt fails before sending, but the previous one may have landed.
    ASSERT_TRUE(store_->mark_sending(batch, now_).ok());
    ASSERT_TRUE(store_->record_not_sent(batch, now_ + seconds{8}).ok());
    EXPECT_EQ(event(id).state, EventState::Sending);
    EXPECT_EQ(event(id).attempts, 3);
}

// Events are read, then marked: between the two another thread's settlement
// may reconcile a bill and withdraw from (or cancel) a planned event (issue
// 17: batches in flight settle beside the dispatch). What is sent must be
// what mark_sending found, never the copy read before.
TEST_F(StoreLedger, MarkSendingReturnsEachEventAsStoredNowAndLeavesOutOnesNoLongerSendable) {
    recalc("b-1", {target("b-1", "compute", 50), target("b-1", "storage", 30)});
    const auto ids = slot();
    ASSERT_EQ(ids.size(), 2u);
    const auto read_before = store_->due_events(now_).value();
    ASSERT_EQ(read_before.size(), 2u);
    recalc("b-1", {target("b-1", "compute", 20)});  // compute withdrawn to 20, storage cancelled
    const auto marked = store_->mark_sending(ids, now_).value();
    ASSERT_EQ(marked.size(), 1u);
    EXPECT_EQ(marked[0].request.dimension, "compute");
    EXPECT_EQ(marked[0].request.quantity, 20);
    EXPECT_EQ(marked[0].state, EventState::Planned);  // as it was before this send: never sent
    EXPECT_EQ(marked[0].attempts, 0);
    EXPECT_EQ(event(marked[0].id).state, EventState::Sending);
    EXPECT_EQ(store_->event(ids[0]).value().state == EventState::Cancelled ||
                  store_->event(ids[1]).value().state == EventState::Cancelled,
              true);
    // Marked again (a lost answer): it comes back as Sending, so the caller knows it may be at Azure.
    const auto again = store_->mark_sending(std::vector{marked[0].id}, now_).value();
    ASSERT_EQ(again.size(), 1u);
    EXPECT_EQ(again[0].state, EventState::Sending);
    EXPECT_TRUE(may_be_at_azure(again[0]));
}

TEST_F(StoreLedger, SendingAfterACrashCountsTheEarlierAttemptAsMaybeLanded) {
    recalc("b-1", {target("b-1", "compute", 50)});
    const std::vector<std::int64_t> batch{slot().at(0)};
    ASSERT_TRUE(store_->mark_sending(batch, now_).ok());
    // (crash: no answer recorded) the restarted daemon re-sends it unchanged.
    ASSERT_EQ(store_->due_events(now_)->at(0).state, EventState::Sending);
    ASSERT_TRUE(store_->mark_sending(batch, now_).ok());
    ASSERT_TRUE(store_->record_not_sent(batch, now_).ok());
    EXPECT_EQ(event(batch[0]).state, EventState::Sending);
}

TEST_F(StoreLedger, SettleAllSettlesABatchInOrderAndUndoesAFailingOneAlone) {
    recalc("b-1", {target("b-1", "compute", 50), target("b-1", "storage", 7)});
    const auto ids = slot();
    ASSERT_EQ(ids.size(), 2u);
    ASSERT_TRUE(store_->mark_sending(ids, now_).ok());
    const std::vector<store::Store::Settlement> answers = {{ids[0], decision(EventDecision::Kind::Accept)},
                                                           {999, decision(EventDecision::Kind::Accept)},
                                                           {ids[1], decision(EventDecision::Kind::Reject)},
                                                           {ids[0], decision(EventDecision::Kind::Reject)}};
    const auto settled = store_->settle_all(answers, now_, policy_);
    ASSERT_EQ(settled.size(), 4u);
    EXPECT_TRUE(settled[0].ok());
    EXPECT_EQ(settled[1].error().code, store::kNotFound);
    EXPECT_TRUE(settled[2].ok());
    EXPECT_EQ(settled[3].error().code, store::kInvalidState);  // sees the first settlement of the batch
    EXPECT_EQ(event(ids[0]).state, EventState::Accepted);
    EXPECT_EQ(event(ids[1]).state, EventState::Rejected);
    EXPECT_EQ(balance("b-1", "compute").accepted, 50);
}

TEST_F(StoreLedger, AcceptStoresAzuresIdsAndASecondAnswerIsRefused) {
    recalc("b-1", {target("b-1", "compute", 50)});
    const auto id = slot().at(0);
    const std::vector<std::int64_t> batch{id};
    ASSERT_TRUE(store_->mark_sending(batch, now_).ok());
    ASSERT_TRUE(store_->settle(id, decision(EventDecision::Kind::Accept), now_, policy_).ok());
    const OutboxEvent e = event(id);
    EXPECT_EQ(e.state, EventState::Accepted);
    EXPECT_EQ(e.usage_event_id, "u-1");
    EXPECT_EQ(e.message_time, "2026-01-01T10:00:01Z");
    EXPECT_EQ(balance("b-1", "compute").accepted, 50);
    const Status again = store_->settle(id, decision(EventDecision::Kind::Reject), now_, policy_);
    ASSERT_FALSE(again.ok());
    EXPECT_EQ(again.error().code, store::kInvalidState);
    EXPECT_EQ(store_->settle(999, decision(EventDecision::Kind::Accept), now_, policy_).error().code, store::kNotFound);
    // Mark-sending an accepted event changes nothing.
    ASSERT_TRUE(store_->mark_sending(batch, now_).ok());
    EXPECT_EQ(event(id).state, EventState::Accepted);
}

TEST_F(StoreLedger, ConflictRequeuesFromTheNextHourAndReconcilesOverReportedUnits) {
    recalc("b-1", {target("b-1", "compute", 50)});
    const auto id = slot().at(0);
    const std::vector<std::int64_t> batch{id};
    ASSERT_TRUE(store_->mark_sending(batch, now_).ok());
    recalc("b-1", {target("b-1", "compute", 30)});  // meanwhile: 20 fewer wanted
    EventDecision conflict = decision(EventDecision::Kind::Conflict);
    conflict.error_code = "Conflict";
    ASSERT_TRUE(store_->settle(id, conflict, now_, policy_).ok());
    EXPECT_EQ(event(id).state, EventState::Conflict);
    EXPECT_EQ(event(id).error_code, "Conflict");
    const KeyBalance b = balance("b-1", "compute");
    EXPECT_EQ(b.in_flight, 0);
    ASSERT_EQ(pending_units(b), 30);  // the 50 came back; reconciliation took 20 away
    EXPECT_EQ(b.pending[0].slot_hint, at("2026-01-01T11:00:00Z"));
    EXPECT_EQ(over_reported(b), 0);
}

TEST_F(StoreLedger, RejectedKeepsUnitsUntilRetriedByOps) {
    recalc("b-1", {target("b-1", "compute", 50)});
    const auto id = slot().at(0);
    const std::vector<std::int64_t> batch{id};
    ASSERT_TRUE(store_->mark_sending(batch, now_).ok());
    ASSERT_TRUE(store_->settle(id, decision(EventDecision::Kind::Reject), now_, policy_).ok());
    KeyBalance b = balance("b-1", "compute");
    ASSERT_EQ(b.rejected.size(), 1u);
    EXPECT_EQ(rejected_units(b), 50);
    EXPECT_TRUE(b.pending.empty());
    // A lower target withdraws rejected units first-hand.
    recalc("b-1", {target("b-1", "compute", 45)});
    EXPECT_EQ(rejected_units(balance("b-1", "compute")), 45);

    EXPECT_EQ(store_->retry_rejected(999, now_, policy_).error().code, store::kNotFound);
    ASSERT_TRUE(store_->retry_rejected(id, now_, policy_).ok());
    EXPECT_EQ(event(id).state, EventState::Requeued);
    b = balance("b-1", "compute");
    EXPECT_EQ(rejected_units(b), 0);
    ASSERT_EQ(pending_units(b), 45);
    EXPECT_EQ(b.pending[0].slot_hint, at("2026-01-01T10:00:00Z"));  // from its own slot
    const Status twice = store_->retry_rejected(id, now_, policy_);
    ASSERT_FALSE(twice.ok());
    EXPECT_EQ(twice.error().code, store::kInvalidState);
    // Its slot is free again for the retried units.
    EXPECT_EQ(slot().size(), 1u);
}

TEST_F(StoreLedger, StaleEventsExpireOrBecomeUnresolved) {
    recalc("b-1", {target("b-1", "compute", 50)});
    recalc("b-2", {target("b-2", "storage", 5)});
    const auto ids = slot();
    ASSERT_EQ(ids.size(), 2u);
    const std::vector<std::int64_t> sending{ids[1]};
    ASSERT_TRUE(store_->mark_sending(sending, now_).ok());
    now_ = at("2026-01-02T09:56:00Z");  // both slots are within 5 minutes of leaving the window
    const auto outcome = store_->handle_stale(now_, policy_);
    ASSERT_TRUE(outcome.ok());
    EXPECT_EQ(outcome->expired, std::vector<std::int64_t>{ids[0]});
    EXPECT_EQ(outcome->unresolved, std::vector<std::int64_t>{ids[1]});
    EXPECT_EQ(event(ids[0]).state, EventState::Expired);
    EXPECT_EQ(event(ids[1]).state, EventState::Unresolved);
    const KeyBalance expired = balance("b-1", "compute");
    ASSERT_EQ(pending_units(expired), 50);
    EXPECT_EQ(expired.pending[0].slot_hint, at("2026-01-02T09:00:00Z"));  // a current slot
    recalc_probe("b-2");
    EXPECT_EQ(last_balances_.at(0).in_flight, 5);  // may have reached Azure: still counted
    EXPECT_TRUE(store_->handle_stale(now_, policy_)->expired.empty());
}

TEST_F(StoreLedger, APlanThatDoesNotMatchTheRowsRollsBackEntirely) {
    recalc("b-1", {target("b-1", "compute", 50)});
    const auto result = sqlite().recalculate("int-1", "b-1", now_, [&](std::span<const KeyBalance> balances) {
        RecalculationPlan plan = plan_recalculation(balances, std::vector{target("b-1", "compute", 70)}, now_, policy_);
        plan.withdrawn_pending.push_back({12345, balances[0].key, 1});  // no such entry
        return plan;
    });
    ASSERT_FALSE(result.ok());
    EXPECT_EQ(result.error().code, store::kStorageError);
    const KeyBalance b = balance("b-1", "compute");
    EXPECT_EQ(b.target, 50);  // the target change of the same plan was rolled back too
    EXPECT_EQ(pending_units(b), 50);
}

TEST_F(StoreLedger, TwoEventsCanNeverOccupyOneSlot) {
    recalc("b-1", {target("b-1", "compute", 50)});
    slot();
    recalc("b-1", {target("b-1", "compute", 60)});
    // A planner that ignores occupied slots is stopped by the schema.
    const auto result = sqlite().plan_slots(now_, policy_, [&](std::span<const PendingUnits> pending,
                                                              const std::set<SlotKey>&) {
        return plan_slots(pending, {}, now_, policy_);
    });
    ASSERT_FALSE(result.ok());
    EXPECT_EQ(result.error().code, store::kStorageError);
    EXPECT_EQ(pending_units(balance("b-1", "compute")), 10);
}

}  // namespace
}  // namespace meterbridge
