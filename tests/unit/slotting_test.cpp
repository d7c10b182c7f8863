#include "meterbridge/core/slotting.hpp"

#include <gtest/gtest.h>

namespace meterbridge {
namespace {

Instant at(std::string_view text) { return parse_iso8601(text).value(); }

PendingUnits entry(std::int64_t id, std::string bill, std::int64_t units, std::string_view hint, std::string_view ready,
                   std::string plan = "gold", std::string dimension = "compute") {
    return PendingUnits{id, ShareKey{"int-1", std::move(bill), "sub-1", std::move(dimension)}, std::move(plan), units,
                        at(hint), at(ready)};
}

SlotPolicy hour_close() { return SlotPolicy{}; }
SlotPolicy eager() {
    SlotPolicy p;
    p.mode = SlotPolicy::Mode::Eager;
    return p;
}

TEST(Slotting, HourCloseEmitsOneEventPerHourAfterTheHourEnds) {
    const std::vector<PendingUnits> pending = {
        entry(1, "b1", 10, "2026-01-01T09:00:00Z", "2026-01-01T10:01:00Z"),
        entry(2, "b2", 5, "2026-01-01T09:00:00Z", "2026-01-01T10:01:00Z"),
        entry(3, "b3", 7, "2026-01-01T10:00:00Z", "2026-01-01T11:01:00Z"),
    };
    EXPECT_TRUE(plan_slots(pending, {}, at("2026-01-01T10:00:30Z"), hour_close()).empty());
    const auto events = plan_slots(pending, {}, at("2026-01-01T10:01:00Z"), hour_close());
    ASSERT_EQ(events.size(), 1u);
    EXPECT_EQ(events[0].request.quantity, 15);
    EXPECT_EQ(events[0].request.effective_start_time, at("2026-01-01T09:00:00Z"));
    ASSERT_EQ(events[0].shares.size(), 2u);  // two bills share one event
    EXPECT_EQ(events[0].shares[0].units, 10);
    EXPECT_EQ(events[0].pending_ids, (std::vector<std::int64_t>{1, 2}));
}

TEST(Slotting, AnOccupiedSlotPushesUnitsToTheNextFreeHourNeverTheFuture) {
    const std::vector<PendingUnits> pending = {entry(1, "b1", 10, "2026-01-01T09:00:00Z", "2026-01-01T09:00:00Z")};
    std::set<SlotKey> occupied = {SlotKey{"sub-1", "compute", at("2026-01-01T09:00:00Z")}};
    auto events = plan_slots(pending, occupied, at("2026-01-01T11:30:00Z"), eager());
    ASSERT_EQ(events.size(), 1u);
    EXPECT_EQ(events[0].request.effective_start_time, at("2026-01-01T10:00:00Z"));
    occupied.insert(SlotKey{"sub-1", "compute", at("2026-01-01T10:00:00Z")});
    occupied.insert(SlotKey{"sub-1", "compute", at("2026-01-01T11:00:00Z")});
    EXPECT_TRUE(plan_slots(pending, occupied, at("2026-01-01T11:30:00Z"), eager()).empty());  // waits for 12:00
    events = plan_slots(pending, occupied, at("2026-01-01T12:00:00Z"), eager());
    ASSERT_EQ(events.size(), 1u);
    EXPECT_EQ(events[0].request.effective_start_time, at("2026-01-01T12:00:00Z"));
}

TEST(Slotting, EagerUsesTheCurrentHourAndLateUnitsWaitForTheNext) {
    const std::vector<PendingUnits> first = {entry(1, "b1", 3, "2026-01-01T09:00:00Z", "2026-01-01T09:10:00Z")};
    const auto events = plan_slots(first, {}, at("2026-01-01T09:10:00Z"), eager());
    ASSERT_EQ(events.size(), 1u);
    EXPECT_EQ(events[0].request.effective_start_time, at("2026-01-01T09:00:00Z"));
    const std::set<SlotKey> occupied = {slot_of(events[0].request)};
    const std::vector<PendingUnits> late = {entry(2, "b2", 4, "2026-01-01T09:00:00Z", "2026-01-01T09:40:00Z")};
    EXPECT_TRUE(plan_slots(late, occupied, at("2026-01-01T09:40:00Z"), eager()).empty());
    EXPECT_EQ(plan_slots(late, occupied, at("2026-01-01T10:00:05Z"), eager()).at(0).request.effective_start_time,
              at("2026-01-01T10:00:00Z"));
}

TEST(Slotting, OldUnitsMoveIntoTheWindow) {
    // Queued 30 hours ago (an outage): the slot is clamped to the oldest usable hour.
    const std::vector<PendingUnits> pending = {entry(1, "b1", 9, "2026-01-01T03:00:00Z", "2026-01-01T04:01:00Z")};
    const Instant now = at("2026-01-02T09:30:00Z");
    EXPECT_EQ(oldest_usable_slot(now, hour_close()), at("2026-01-01T11:00:00Z"));
    const auto events = plan_slots(pending, {}, now, hour_close());
    ASSERT_EQ(events.size(), 1u);
    EXPECT_EQ(events[0].request.effective_start_time, at("2026-01-01T11:00:00Z"));
    EXPECT_LE(now - events[0].request.effective_start_time, hours{23});
}

TEST(Slotting, OneResourceDimensionHourCarriesOnePlan) {
    const std::vector<PendingUnits> pending = {
        entry(1, "b1", 1, "2026-01-01T09:00:00Z", "2026-01-01T09:00:00Z", "gold"),
        entry(2, "b2", 2, "2026-01-01T09:00:00Z", "2026-01-01T09:00:00Z", "silver"),
    };
    const auto events = plan_slots(pending, {}, at("2026-01-01T10:15:00Z"), eager());
    ASSERT_EQ(events.size(), 2u);
    EXPECT_NE(events[0].request.effective_start_time, events[1].request.effective_start_time);
    EXPECT_NE(events[0].request.plan_id, events[1].request.plan_id);
}

TEST(Slotting, DimensionsAndResourcesAreIndependent) {
    const std::vector<PendingUnits> pending = {
        entry(1, "b1", 1, "2026-01-01T09:00:00Z", "2026-01-01T09:00:00Z", "gold", "compute"),
        entry(2, "b1", 2, "2026-01-01T09:00:00Z", "2026-01-01T09:00:00Z", "gold", "storage"),
    };
    const auto events = plan_slots(pending, {}, at("2026-01-01T09:15:00Z"), eager());
    ASSERT_EQ(events.size(), 2u);
    EXPECT_EQ(events[0].request.effective_start_time, events[1].request.effective_start_time);
}

}  // namespace
}  // namespace meterbridge
