#include "meterbridge/core/dispatch.hpp"

#include <algorithm>

#include "meterbridge/core/exact_json.hpp"

namespace meterbridge {

StaleAction stale_action(const OutboxEvent& event, Instant now) {
    if (event.state != EventState::Planned && event.state != EventState::Sending) return StaleAction::None;
    if (floor_hour(event.request.effective_start_time) + kAzureWindow - kWindowSafety > now) return StaleAction::None;
    return event.state == EventState::Planned ? StaleAction::Expire : StaleAction::Unresolve;
}

std::vector<std::vector<std::int64_t>> plan_batches(std::span<const OutboxEvent> events, Instant now,
                                                    std::size_t batch_size) {
    batch_size = std::clamp<std::size_t>(batch_size, 1, kMaxEventsPerBatch);
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
    for (std::size_t i = 0; i < due.size(); i += batch_size) {
        std::vector<std::int64_t> batch;
        for (std::size_t j = i; j < std::min(due.size(), i + batch_size); ++j) batch.push_back(due[j]->id);
        batches.push_back(std::move(batch));
    }
    return batches;
}

EventDecision decide_event(const OutboxEvent& event, const UsageEventResult& result, bool may_hold) {
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
            // whose answer was lost: it counts as accepted. An event that was
            // never sent before cannot be ours: someone else holds the slot.
            const auto& accepted = result.accepted_message;
            if (may_hold && accepted && accepted->quantity == Decimal::from_integer(event.request.quantity)) {
                decision.kind = EventDecision::Kind::Accept;
                decision.usage_event_id = accepted->usage_event_id;
                decision.message_time = accepted->message_time;
                decision.error_code.clear();
                return decision;
            }
            decision.kind = EventDecision::Kind::Conflict;
            decision.error_message = "Azure already holds quantity " +
                                     (accepted ? accepted->quantity.to_string() : std::string("(unknown)")) +
                                     " for this slot; ours was " + std::to_string(event.request.quantity) +
                                     (may_hold ? "" : " (never sent before: another sender's event)");
            return decision;
        }
        case UsageEventStatus::Expired:
            // Units that may be billed already must never be sent again.
            decision.kind = may_hold ? EventDecision::Kind::Unresolve : EventDecision::Kind::Expire;
            if (may_hold) {
                decision.error_message = "Azure answered Expired for an event an earlier request may have "
                                         "recorded: reconcile it with Azure's usage report";
            }
            return decision;
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

bool may_be_at_azure(const OutboxEvent& event) { return event.maybe_sent || event.state == EventState::Sending; }

RefusalAction on_refusal(std::span<const OutboxEvent* const> batch) {
    if (batch.size() > 1) return RefusalAction::Split;
    // An earlier request may have been recorded: this refusal proves nothing
    // about it, and what may be billed is never changed.
    if (batch.empty() || may_be_at_azure(*batch.front())) return RefusalAction::KeepInFlight;
    return RefusalAction::Reject;
}

std::pair<std::string, std::string> refusal_error(int http_status, std::string_view body) {
    std::string code = "HTTP" + std::to_string(http_status);
    std::string message = "Azure refused the request with HTTP " + std::to_string(http_status);
    const auto parsed = parse_exact_json(body);
    if (!parsed || !parsed->is_object()) return {code, message};
    const auto text = [&](const Json& object, const char* key) -> std::string {
        const auto it = object.find(key);
        return it != object.end() && it->is_string() ? it->get<std::string>() : std::string{};
    };
    if (const std::string c = text(*parsed, "code"); !c.empty()) code = c;
    if (const std::string m = text(*parsed, "message"); !m.empty()) message = m;
    if (const std::string t = text(*parsed, "target"); !t.empty()) message += " (target " + t + ")";
    if (const auto details = parsed->find("details"); details != parsed->end() && details->is_array()) {
        for (const Json& detail : *details) {
            if (!detail.is_object()) continue;
            const std::string m = text(detail, "message");
            if (!m.empty()) message += "; " + m;
            const std::string t = text(detail, "target");
            if (!t.empty()) message += " (target " + t + ")";
        }
    }
    return {code, message};
}

Result<EventState> settle_by_evidence(const OutboxEvent& event, recon::Settlement as, Instant now) {
    if (as == recon::Settlement::Undecidable) {
        return make_error("invalid_field", "an event is settled as recorded or not_recorded, not undecidable", "as");
    }
    const std::string name = "event " + std::to_string(event.id);
    const bool window_closed = floor_hour(event.request.effective_start_time) + kAzureWindow <= now;
    const bool settleable = event.state == EventState::Unresolved ||
                            (event.state == EventState::Sending && event.maybe_sent && window_closed);
    if (!settleable) {
        std::string why;
        if (event.state == EventState::Sending && !window_closed) {
            why = " and its slot is still inside Azure's 24-hour window: it may still be answered";
        } else if (event.state == EventState::Sending) {
            why = " and was never possibly recorded by an earlier request";
        } else {
            why = ": only an unresolved event is settled from evidence";
        }
        return make_error("invalid_state", name + " is " + std::string(to_string(event.state)) + why);
    }
    return as == recon::Settlement::Recorded ? EventState::Accepted : EventState::Expired;
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
