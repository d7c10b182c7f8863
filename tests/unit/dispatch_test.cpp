#include "meterbridge/core/dispatch.hpp"

#include <gtest/gtest.h>

namespace meterbridge {
namespace {

Instant at(std::string_view text) { return parse_iso8601(text).value(); }

OutboxEvent event(std::int64_t id, std::string_view slot, EventState state = EventState::Planned,
                  std::int64_t quantity = 10) {
    OutboxEvent e;
    e.id = id;
    e.request = UsageEventRequest{"sub-" + std::to_string(id), "gold", "compute", quantity, at(slot)};
    e.state = state;
    e.shares = {EventShare{ShareKey{"int-1", "bill-1", e.request.resource_id, "compute"}, quantity}};
    e.next_attempt_at = at(slot);
    return e;
}

UsageEventResult result(UsageEventStatus status) {
    UsageEventResult r;
    r.status = status;
    r.status_text = std::string(to_string(status));
    return r;
}

TEST(Dispatch, BatchesHoldAtMost25EventsOldestSlotFirst) {
    std::vector<OutboxEvent> events;
    for (int i = 0; i < 60; ++i) events.push_back(event(100 - i, i % 2 ? "2026-01-01T08:00:00Z" : "2026-01-01T09:00:00Z"));
    events.push_back(event(7, "2026-01-01T09:00:00Z", EventState::Accepted));
    events.push_back(event(8, "2026-01-01T09:00:00Z", EventState::Rejected));
    OutboxEvent later = event(9, "2026-01-01T09:00:00Z");
    later.next_attempt_at = at("2026-01-01T11:00:00Z");
    events.push_back(later);
    const auto batches = plan_batches(events, at("2026-01-01T10:00:00Z"));
    ASSERT_EQ(batches.size(), 3u);
    EXPECT_EQ(batches[0].size(), 25u);
    EXPECT_EQ(batches[1].size(), 25u);
    EXPECT_EQ(batches[2].size(), 10u);
    EXPECT_EQ(batches[0][0], 41);  // the 08:00 slot with the lowest id
    std::set<std::int64_t> seen;
    for (const auto& b : batches) seen.insert(b.begin(), b.end());
    EXPECT_EQ(seen.size(), 60u);
    EXPECT_FALSE(seen.contains(7) || seen.contains(8) || seen.contains(9));
}

TEST(Dispatch, ATestsBatchSizeMakesSmallerBatchesNeverLargerThan25) {
    std::vector<OutboxEvent> events;
    for (int i = 1; i <= 30; ++i) events.push_back(event(i, "2026-01-01T09:00:00Z"));
    const Instant now = at("2026-01-01T10:00:00Z");
    EXPECT_EQ(plan_batches(events, now, 1).size(), 30u);
    EXPECT_EQ(plan_batches(events, now, 0).size(), 30u);   // at least one event per batch
    EXPECT_EQ(plan_batches(events, now, 7).size(), 5u);    // 7+7+7+7+2
    EXPECT_EQ(plan_batches(events, now, 100).front().size(), 25u);  // never past Azure's 25
}

TEST(Dispatch, StaleEventsExpireOrBecomeUnresolved) {
    const Instant now = at("2026-01-02T08:56:00Z");
    EXPECT_EQ(stale_action(event(1, "2026-01-01T09:00:00Z"), now), StaleAction::Expire);
    EXPECT_EQ(stale_action(event(1, "2026-01-01T09:00:00Z", EventState::Sending), now), StaleAction::Unresolve);
    EXPECT_EQ(stale_action(event(1, "2026-01-01T09:00:00Z", EventState::Accepted), now), StaleAction::None);
    EXPECT_EQ(stale_action(event(1, "2026-01-01T09:00:00Z"), at("2026-01-02T08:54:59Z")), StaleAction::None);
    EXPECT_TRUE(plan_batches(std::vector{event(1, "2026-01-01T09:00:00Z")}, now).empty());
}

TEST(Dispatch, EachAzureStatusHasItsDecision) {
    const OutboxEvent e = event(1, "2026-01-01T09:00:00Z", EventState::Sending, 50);
    UsageEventResult accepted = result(UsageEventStatus::Accepted);
    accepted.usage_event_id = "u-1";
    accepted.message_time = "2026-01-01T10:00:01.123Z";
    auto d = decide_event(e, accepted, false);
    EXPECT_EQ(d.kind, EventDecision::Kind::Accept);
    EXPECT_EQ(d.usage_event_id, "u-1");

    UsageEventResult duplicate = result(UsageEventStatus::Duplicate);
    duplicate.accepted_message = AcceptedMessage{"u-0", Decimal::parse("50.0").value(), "t", "gold"};
    d = decide_event(e, duplicate, true);
    EXPECT_EQ(d.kind, EventDecision::Kind::Accept);  // our own earlier send
    EXPECT_EQ(d.usage_event_id, "u-0");
    duplicate.accepted_message->quantity = Decimal::parse("49.0").value();
    d = decide_event(e, duplicate, true);
    EXPECT_EQ(d.kind, EventDecision::Kind::Conflict);
    EXPECT_NE(d.error_message.find("49"), std::string::npos);

    EXPECT_EQ(decide_event(e, result(UsageEventStatus::Expired), false).kind, EventDecision::Kind::Expire);
    for (auto status : {UsageEventStatus::ResourceNotFound, UsageEventStatus::ResourceNotAuthorized,
                        UsageEventStatus::ResourceNotActive,
                        UsageEventStatus::InvalidDimension, UsageEventStatus::InvalidQuantity,
                        UsageEventStatus::BadArgument, UsageEventStatus::Error, UsageEventStatus::Unrecognized}) {
        const auto r = decide_event(e, result(status), false);
        EXPECT_EQ(r.kind, EventDecision::Kind::Reject);
        EXPECT_EQ(r.error_code, to_string(status));
    }
}

// Issue 14: a Duplicate of our quantity for an event never sent before is
// another sender's event; absorbing it would report units Azure never got from us.
TEST(Dispatch, ADuplicateOfOurQuantityIsOursOnlyIfWeMayHaveSentIt) {
    const OutboxEvent e = event(1, "2026-01-01T09:00:00Z", EventState::Sending, 50);
    UsageEventResult duplicate = result(UsageEventStatus::Duplicate);
    duplicate.accepted_message = AcceptedMessage{"u-0", Decimal::parse("50").value(), "t", "gold"};
    EXPECT_EQ(decide_event(e, duplicate, true).kind, EventDecision::Kind::Accept);
    const auto d = decide_event(e, duplicate, false);
    EXPECT_EQ(d.kind, EventDecision::Kind::Conflict);
    EXPECT_NE(d.error_message.find("never sent before"), std::string::npos);
}

// Issue 14: units that may be billed already are never re-queued.
TEST(Dispatch, ExpiredForAnEventAzureMayHoldLeavesItUnresolved) {
    const OutboxEvent e = event(1, "2026-01-01T09:00:00Z", EventState::Sending, 50);
    EXPECT_EQ(decide_event(e, result(UsageEventStatus::Expired), true).kind, EventDecision::Kind::Unresolve);
    EXPECT_EQ(decide_event(e, result(UsageEventStatus::Expired), false).kind, EventDecision::Kind::Expire);
}

TEST(Dispatch, ARefusedBatchIsSplitUntilTheCauseIsAlone) {
    OutboxEvent a = event(1, "2026-01-01T09:00:00Z", EventState::Planned);
    OutboxEvent b = event(2, "2026-01-01T09:00:00Z", EventState::Planned);
    const std::vector<const OutboxEvent*> both = {&a, &b};
    EXPECT_EQ(on_refusal(both), RefusalAction::Split);
    EXPECT_EQ(on_refusal(std::vector<const OutboxEvent*>{&a}), RefusalAction::Reject);
    a.maybe_sent = true;  // an earlier request may have recorded it: never changed
    EXPECT_EQ(on_refusal(std::vector<const OutboxEvent*>{&a}), RefusalAction::KeepInFlight);
    b.state = EventState::Sending;  // left Sending by a crash during a send
    EXPECT_EQ(on_refusal(std::vector<const OutboxEvent*>{&b}), RefusalAction::KeepInFlight);
}

TEST(Dispatch, ARefusalKeepsAzuresErrorCodeMessageAndTargets) {
    const auto [code, message] = refusal_error(
        400, R"({"message":"One or more errors have occurred.","target":"usageEventRequest",)"
             R"("details":[{"message":"The resourceId is required.","target":"ResourceId","code":"BadArgument"}],)"
             R"("code":"BadArgument"})");
    EXPECT_EQ(code, "BadArgument");
    EXPECT_NE(message.find("One or more errors have occurred."), std::string::npos);
    EXPECT_NE(message.find("The resourceId is required."), std::string::npos);
    EXPECT_NE(message.find("ResourceId"), std::string::npos);
    const auto [bare_code, bare_message] = refusal_error(404, "<html>not found</html>");
    EXPECT_EQ(bare_code, "HTTP404");
    EXPECT_NE(bare_message.find("404"), std::string::npos);
}

TEST(Dispatch, RequeuedUnitsStartFromTheRightHour) {
    OutboxEvent e = event(1, "2026-01-01T09:00:00Z", EventState::Sending, 50);
    e.shares = {EventShare{ShareKey{"i", "b1", "sub-1", "compute"}, 20}, EventShare{ShareKey{"i", "b2", "sub-1", "compute"}, 30}};
    const Instant now = at("2026-01-01T13:10:00Z");
    auto conflict = requeue_units(e, EventState::Conflict, now);
    ASSERT_EQ(conflict.size(), 2u);
    EXPECT_EQ(conflict[0].units + conflict[1].units, 50);
    EXPECT_EQ(conflict[0].slot_hint, at("2026-01-01T10:00:00Z"));
    EXPECT_EQ(conflict[0].ready_at, now);
    EXPECT_EQ(requeue_units(e, EventState::Expired, now)[0].slot_hint, at("2026-01-01T13:00:00Z"));
    EXPECT_EQ(requeue_units(e, EventState::Requeued, now)[0].slot_hint, at("2026-01-01T09:00:00Z"));
}

TEST(Dispatch, OnlyAnEventAzureMayHoldAndNeverAnsweredIsSettledFromEvidence) {
    const Instant now = at("2026-01-02T09:00:00Z");  // the 09:00 slot of the day before has just left the window
    const OutboxEvent unresolved = event(1, "2026-01-01T09:00:00Z", EventState::Unresolved);
    EXPECT_EQ(settle_by_evidence(unresolved, recon::Settlement::Recorded, now).value(), EventState::Accepted);
    EXPECT_EQ(settle_by_evidence(unresolved, recon::Settlement::NotRecorded, now).value(), EventState::Expired);
    const auto undecidable = settle_by_evidence(unresolved, recon::Settlement::Undecidable, now);
    ASSERT_FALSE(undecidable.ok());
    EXPECT_EQ(undecidable.error().field, "as");

    // Sending and possibly recorded: only once Azure's window has closed.
    OutboxEvent sending = event(2, "2026-01-01T09:00:00Z", EventState::Sending);
    sending.maybe_sent = true;
    EXPECT_EQ(settle_by_evidence(sending, recon::Settlement::NotRecorded, now).value(), EventState::Expired);
    const auto early = settle_by_evidence(sending, recon::Settlement::NotRecorded, now - minutes{1});
    ASSERT_FALSE(early.ok());
    EXPECT_EQ(early.error().code, "invalid_state");
    EXPECT_NE(early.error().message.find("24-hour window"), std::string::npos);
    sending.maybe_sent = false;
    EXPECT_EQ(settle_by_evidence(sending, recon::Settlement::Recorded, now).error().code, "invalid_state");

    // Settled already, or never at Azure: refused, so nothing is sent twice.
    for (const EventState state : {EventState::Planned, EventState::Accepted, EventState::Conflict, EventState::Expired,
                                   EventState::Rejected, EventState::Requeued, EventState::Cancelled}) {
        const auto refused = settle_by_evidence(event(3, "2026-01-01T09:00:00Z", state), recon::Settlement::Recorded, now);
        ASSERT_FALSE(refused.ok()) << to_string(state);
        EXPECT_EQ(refused.error().code, "invalid_state");
        EXPECT_NE(refused.error().message.find(std::string(to_string(state))), std::string::npos);
    }
}

TEST(Dispatch, BackoffGrowsWithJitterAndHonoursRetryAfter) {
    const Instant now = at("2026-01-01T09:00:00Z");
    EXPECT_EQ(next_attempt_at(1, std::nullopt, now, 0), now + seconds{1});
    EXPECT_EQ(next_attempt_at(1, std::nullopt, now, 1000), now + seconds{2});
    EXPECT_EQ(next_attempt_at(3, std::nullopt, now, 0), now + seconds{4});
    EXPECT_EQ(next_attempt_at(40, std::nullopt, now, 0), now + minutes{5});
    EXPECT_LE(next_attempt_at(40, std::nullopt, now, ~0ULL), now + minutes{10});
    EXPECT_EQ(next_attempt_at(1, seconds{30}, now, 0), now + seconds{30});
}

TEST(Dispatch, StatesRoundTripAndOccupySlots) {
    for (auto s : {EventState::Planned, EventState::Sending, EventState::Accepted, EventState::Conflict,
                   EventState::Expired, EventState::Rejected, EventState::Requeued, EventState::Cancelled,
                   EventState::Unresolved}) {
        EXPECT_EQ(event_state_from(to_string(s)), s);
    }
    EXPECT_TRUE(occupies_slot(EventState::Conflict));
    EXPECT_FALSE(occupies_slot(EventState::Rejected));
    EXPECT_FALSE(event_state_from("bogus").has_value());
}

}  // namespace
}  // namespace meterbridge
