#include "meterbridge/core/dispatch.hpp"

#include <algorithm>

namespace meterbridge {

StaleAction stale_action(const OutboxEvent& event, Instant now) {
    if (event.state != EventState::Planned && event.state != EventState::Sending) return StaleAction::None;
    if (floor_hour(event.request.effective_start_time) + kAzureWindow - kWindowSafety > now) return StaleAction::None;
    return event.state == EventState::Planned ? StaleAction::Expire : StaleAction::Unresolve;
}

std::vector<std::vector<std::int64_t>> plan_batches(std::span<const OutboxEvent> events, Instant now) {
    std::vector<const OutboxEvent*> due;
    for (const OutboxEvent& event : events) {
        const bool sendable = event.state == EventState::Planned || event.state == EventState::Sending;
        if (sendable && event.next_attempt_at <= now && stale_action(event, now) == StaleAction::None) {
            due.push_back(&event);
        }
    }
    // Oldest slots first: they are closest to leaving Azure's window.
    std::sort(due.begin(), due.end(), [](const OutboxEvent* a, const OutboxEvent* b) {
        return std::pair(a->request.effective_start_time, a->id) < std::pair(b->request.effective_start_time, b->id);
    });
    std::vector<std::vector<std::int64_t>> batches;
    for (std::size_t i = 0; i < due.size(); i += kMaxEventsPerBatch) {
        std::vector<std::int64_t> batch;
        for (std::size_t j = i; j < std::min(due.size(), i + kMaxEventsPerBatch); ++j) batch.push_back(due[j]->id);
        batches.push_back(std::move(batch));
    }
    return batches;
}

EventDecision decide_event(const OutboxEvent& event, const UsageEventResult& result) {
    EventDecision decision;
    decision.error_code = result.error_code.empty() ? result.status_text : result.error_code;
    decision.error_message = result.error_message;
    switch (result.status) {
        case UsageEventStatus::Accepted:
            decision.kind = EventDecision::Kind::Accept;
            decision.usage_event_id = result.usage_event_id;
            decision.message_time = result.message_time;
            decision.error_code.clear();
            return decision;
        case UsageEventStatus::Duplicate: {
            // A Duplicate of exactly our quantity is our own earlier send
            // whose answer was lost: it counts as accepted.
            const auto& accepted = result.accepted_message;
            if (accepted && accepted->quantity == Decimal::from_integer(event.request.quantity)) {
                decision.kind = EventDecision::Kind::Accept;
                decision.usage_event_id = accepted->usage_event_id;
                decision.message_time = accepted->message_time;
                decision.error_code.clear();
                return decision;
            }
            decision.kind = EventDecision::Kind::Conflict;
            decision.error_message = "Azure already holds quantity " +
                                     (accepted ? accepted->quantity.to_string() : std::string("(unknown)")) +
                                     " for this slot; ours was " + std::to_string(event.request.quantity);
            return decision;
        }
        case UsageEventStatus::Expired: decision.kind = EventDecision::Kind::Expire; return decision;
        case UsageEventStatus::Error:
        case UsageEventStatus::ResourceNotFound:
        case UsageEventStatus::ResourceNotAuthorized:
        case UsageEventStatus::ResourceNotActive:
        case UsageEventStatus::InvalidDimension:
        case UsageEventStatus::InvalidQuantity:
        case UsageEventStatus::BadArgument:
        case UsageEventStatus::Unrecognized: decision.kind = EventDecision::Kind::Reject; return decision;
    }
    return decision;
}

std::vector<PendingUnits> requeue_units(const OutboxEvent& event, EventState new_state, Instant now) {
    const Instant slot = floor_hour(event.request.effective_start_time);
    Instant hint = slot;
    if (new_state == EventState::Conflict) hint = slot + hours{1};
    if (new_state == EventState::Expired) hint = floor_hour(now);
    std::vector<PendingUnits> entries;
    for (const EventShare& share : event.shares) {
        if (share.units > 0) entries.push_back(PendingUnits{0, share.key, event.request.plan_id, share.units, hint, now});
    }
    return entries;
}

Instant next_attempt_at(int attempts, std::optional<Duration> retry_after, Instant now, std::uint64_t random) {
    constexpr Duration kFirst = seconds{2};
    constexpr Duration kMax = minutes{10};
    Duration backoff = kFirst;
    for (int i = 1; i < attempts && backoff < kMax; ++i) backoff *= 2;
    backoff = std::min(backoff, kMax);
    const auto half = backoff.count() / 2;
    Duration delay{half + static_cast<Duration::rep>(random % static_cast<std::uint64_t>(half + 1))};
    if (retry_after && *retry_after > delay) delay = *retry_after;
    return now + delay;
}

}  // namespace meterbridge
