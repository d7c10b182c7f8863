#include "meterbridge/core/ledger.hpp"

#include <gtest/gtest.h>

namespace meterbridge {
namespace {

const Instant kNow = parse_iso8601("2026-01-01T09:20:00Z").value();

UsageTarget target(std::string dimension, std::int64_t units) {
    return UsageTarget{"int-1", "bill-1", "sub-1", "gold", std::move(dimension), units, Decimal{}};
}

ShareKey key(std::string dimension) { return ShareKey{"int-1", "bill-1", "sub-1", std::move(dimension)}; }

KeyBalance balance(std::string dimension, std::int64_t target_units) {
    KeyBalance b;
    b.key = key(std::move(dimension));
    b.plan_id = "gold";
    b.target = target_units;
    return b;
}

PendingUnits pending(std::int64_t id, std::string dimension, std::int64_t units) {
    return PendingUnits{id, key(std::move(dimension)), "gold", units, floor_hour(kNow), kNow};
}

TEST(Ledger, HourCloseQueuesForTheEndOfTheHourEagerForNow) {
    SlotPolicy close;
    close.flush_delay = seconds{60};
    const auto p = queue_units(key("compute"), "gold", 5, kNow, close);
    EXPECT_EQ(p.slot_hint, parse_iso8601("2026-01-01T09:00:00Z").value());
    EXPECT_EQ(p.ready_at, parse_iso8601("2026-01-01T10:01:00Z").value());
    SlotPolicy eager;
    eager.mode = SlotPolicy::Mode::Eager;
    EXPECT_EQ(queue_units(key("compute"), "gold", 5, kNow, eager).ready_at, kNow);
}

TEST(Ledger, ANewBillQueuesItsTargets) {
    const std::vector<UsageTarget> targets = {target("compute", 50), target("storage", 0)};
    const auto plan = plan_recalculation({}, targets, kNow, SlotPolicy{});
    ASSERT_EQ(plan.queued.size(), 1u);  // nothing <= 0 is queued
    EXPECT_EQ(plan.queued[0].units, 50);
    EXPECT_EQ(plan.queued[0].key, key("compute"));
    ASSERT_EQ(plan.targets.size(), 2u);
    EXPECT_EQ(plan.targets[0].target, 50);
    EXPECT_EQ(plan.targets[1].target, 0);
}

TEST(Ledger, UpwardRecalculationQueuesOnlyTheDelta) {
    KeyBalance b = balance("compute", 50);
    b.accepted = 30;
    b.pending = {pending(7, "compute", 20)};
    const std::vector<UsageTarget> targets = {target("compute", 80)};
    const auto plan = plan_recalculation(std::vector{b}, targets, kNow, SlotPolicy{});
    ASSERT_EQ(plan.queued.size(), 1u);
    EXPECT_EQ(plan.queued[0].units, 30);
    EXPECT_TRUE(plan.withdrawn_pending.empty());
    EXPECT_EQ(plan.targets.at(0).over_reported, 0);
}

TEST(Ledger, DownwardRecalculationWithdrawsUnsentUnitsNewestFirstThenRecordsOverReported) {
    KeyBalance b = balance("compute", 100);
    b.accepted = 40;
    b.in_flight = 10;
    b.pending = {pending(1, "compute", 20), pending(2, "compute", 5)};
    b.planned = {{11, 15}};
    b.rejected = {{12, 10}};
    // assigned = 20 + 5 + 15 + 10 + 10 + 40 = 100; new target 30 -> withdraw 70 of the 50 withdrawable.
    const std::vector<UsageTarget> targets = {target("compute", 30)};
    const auto plan = plan_recalculation(std::vector{b}, targets, kNow, SlotPolicy{});
    EXPECT_TRUE(plan.queued.empty());
    ASSERT_EQ(plan.withdrawn_pending.size(), 2u);
    EXPECT_EQ(plan.withdrawn_pending[0].id, 2);
    EXPECT_EQ(plan.withdrawn_pending[0].units, 5);
    EXPECT_EQ(plan.withdrawn_pending[1].id, 1);
    EXPECT_EQ(plan.withdrawn_pending[1].units, 20);
    ASSERT_EQ(plan.withdrawn_planned.size(), 1u);
    EXPECT_EQ(plan.withdrawn_planned[0].units, 15);
    ASSERT_EQ(plan.withdrawn_rejected.size(), 1u);
    EXPECT_EQ(plan.withdrawn_rejected[0].units, 10);
    EXPECT_EQ(plan.targets.at(0).target, 30);
    EXPECT_EQ(plan.targets.at(0).over_reported, 20);  // 40 accepted + 10 in flight - 30
}

TEST(Ledger, PartialWithdrawalLeavesTheRestPending) {
    KeyBalance b = balance("compute", 50);
    b.pending = {pending(1, "compute", 50)};
    const std::vector<UsageTarget> targets = {target("compute", 45)};
    const auto plan = plan_recalculation(std::vector{b}, targets, kNow, SlotPolicy{});
    ASSERT_EQ(plan.withdrawn_pending.size(), 1u);
    EXPECT_EQ(plan.withdrawn_pending[0].units, 5);
    EXPECT_EQ(plan.targets.at(0).over_reported, 0);
}

TEST(Ledger, DeletionSetsEveryKeyToZero) {
    KeyBalance compute = balance("compute", 50);
    compute.accepted = 50;
    KeyBalance storage = balance("storage", 7);
    storage.pending = {pending(3, "storage", 7)};
    const auto plan = plan_recalculation(std::vector{compute, storage}, {}, kNow, SlotPolicy{});
    ASSERT_EQ(plan.targets.size(), 2u);
    EXPECT_EQ(plan.targets[0].target, 0);
    EXPECT_EQ(plan.targets[0].over_reported, 50);
    EXPECT_EQ(plan.targets[1].target, 0);
    ASSERT_EQ(plan.withdrawn_pending.size(), 1u);
    EXPECT_EQ(plan.withdrawn_pending[0].units, 7);
}

TEST(Ledger, TheSameTargetsTwiceChangeNothing) {
    KeyBalance b = balance("compute", 50);
    b.accepted = 60;  // already over-reported
    const std::vector<UsageTarget> targets = {target("compute", 50)};
    EXPECT_TRUE(plan_recalculation(std::vector{b}, targets, kNow, SlotPolicy{}).changes_nothing());
    b.accepted = 20;
    b.pending = {pending(1, "compute", 30)};
    EXPECT_TRUE(plan_recalculation(std::vector{b}, targets, kNow, SlotPolicy{}).changes_nothing());
}

TEST(Ledger, OverReportedIsDerived) {
    KeyBalance b = balance("compute", 10);
    b.accepted = 8;
    b.in_flight = 4;
    EXPECT_EQ(over_reported(b), 2);
    b.target = 12;
    EXPECT_EQ(over_reported(b), 0);
}

}  // namespace
}  // namespace meterbridge
