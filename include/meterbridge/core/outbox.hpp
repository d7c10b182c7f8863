#pragma once
// The outbox: Azure usage events as stored before they are sent, with each
// bill's share of the units they carry, and their life cycle.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "meterbridge/core/ledger.hpp"
#include "meterbridge/core/usage_event.hpp"

namespace meterbridge {

enum class EventState {
    Planned,     // stored; has certainly not reached Azure (never sent, or every send failed before writing)
    Sending,     // a send may have reached Azure; re-sent unchanged until Azure answers
    Accepted,    // Azure accepted it (or answered Duplicate with our exact quantity)
    Conflict,    // Azure holds another quantity for this slot; the units were re-queued
    Expired,     // the slot left Azure's 24-hour window before acceptance; the units were re-queued
    Rejected,    // Azure refused it (ResourceNotFound, InvalidDimension, ...); units wait for a retry
    Requeued,    // a rejected event whose units were re-queued on request
    Cancelled,   // all units withdrawn by a recalculation before it was ever sent
    Unresolved,  // may have reached Azure, and the window closed without an answer: ops must reconcile
};

std::string_view to_string(EventState state);
std::optional<EventState> event_state_from(std::string_view text);

// While an event is in one of these states no other event may use its
// (resource, dimension, hour) slot.
bool occupies_slot(EventState state);

// One bill's units inside an event.
struct EventShare {
    ShareKey key;
    std::int64_t units = 0;

    friend bool operator==(const EventShare&, const EventShare&) = default;
};

struct OutboxEvent {
    std::int64_t id = 0;
    UsageEventRequest request;  // request.quantity == sum of shares' units while Planned
    EventState state = EventState::Planned;
    std::vector<EventShare> shares;
    int attempts = 0;
    // A request carrying it was written to Azure and got no per-event answer
    // (SPEC §4 "What Azure may hold"): Azure may hold it, so it is re-sent
    // unchanged, and Azure's Duplicate of our quantity is our own event.
    bool maybe_sent = false;
    Instant next_attempt_at;
    std::string usage_event_id;  // Accepted
    std::string message_time;    // Accepted
    std::string error_code;      // Rejected / Conflict
    std::string error_message;
};

// (resource, dimension, hour): Azure takes one event per slot.
struct SlotKey {
    std::string resource_id;
    std::string dimension;
    Instant hour;

    friend auto operator<=>(const SlotKey&, const SlotKey&) = default;
    friend bool operator==(const SlotKey&, const SlotKey&) = default;
};

SlotKey slot_of(const UsageEventRequest& request);

}  // namespace meterbridge
