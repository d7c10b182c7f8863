#pragma once
// Sending decisions (SPEC §4 "Batches"): which stored events go out in which
// batchUsageEvent call, what each per-event answer means, when to retry,
// and what to do with events whose slot leaves Azure's 24-hour window.
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "meterbridge/core/outbox.hpp"

namespace meterbridge {

// Azure accepts events whose effectiveStartTime is within the last 24 hours.
inline constexpr Duration kAzureWindow = hours{24};
// An unsent event is given up (re-slotted) this long before its slot leaves
// the window, so that a send never races the deadline.
inline constexpr Duration kWindowSafety = minutes{5};

// Events due for sending (Planned or Sending, next_attempt_at <= now, slot
// still inside the window), oldest slot first, in batches of at most 25.
std::vector<std::vector<std::int64_t>> plan_batches(std::span<const OutboxEvent> events, Instant now);

// What to do with an event whose slot is (nearly) out of Azure's window.
enum class StaleAction {
    None,
    Expire,      // certainly never reached Azure: mark Expired and re-queue its units
    Unresolve,   // may have reached Azure: mark Unresolved, keep its units counted as in flight
};
StaleAction stale_action(const OutboxEvent& event, Instant now);

// The meaning of Azure's per-event answer for `event`.
struct EventDecision {
    enum class Kind {
        Accept,    // store usage_event_id/message_time; state Accepted
        Conflict,  // slot taken with another quantity: state Conflict, units re-queued from the next hour
        Expire,    // state Expired, units re-queued in a current slot
        Reject,    // state Rejected, units kept for a retry after the mapping is fixed
    };
    Kind kind = Kind::Reject;
    std::string usage_event_id;
    std::string message_time;
    std::string error_code;
    std::string error_message;
};
EventDecision decide_event(const OutboxEvent& event, const UsageEventResult& result);

// Pending entries that carry a superseded event's units again.
// Conflict: from the hour after the slot; Expired: from the current hour;
// Requeued (ops retry of a rejected event): from its own slot.
std::vector<PendingUnits> requeue_units(const OutboxEvent& event, EventState new_state, Instant now);

// When a failed send is tried again: exponential backoff from 2 s, doubling
// per attempt up to 10 min, with "equal jitter" (half fixed, half random from
// `random`), and never earlier than Azure's Retry-After.
Instant next_attempt_at(int attempts, std::optional<Duration> retry_after, Instant now, std::uint64_t random);

}  // namespace meterbridge
