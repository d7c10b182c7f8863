#pragma once
// Sending decisions (SPEC §4 "Batches"): which stored events go out in which
// batchUsageEvent call, what each per-event answer means, when to retry,
// and what to do with events whose slot leaves Azure's 24-hour window.
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "meterbridge/core/outbox.hpp"
#include "meterbridge/core/recon.hpp"
#include "meterbridge/core/result.hpp"

namespace meterbridge {

// Azure accepts events whose effectiveStartTime is within the last 24 hours.
inline constexpr Duration kAzureWindow = hours{24};
// An unsent event is given up (re-slotted) this long before its slot leaves
// the window, so that a send never races the deadline.
inline constexpr Duration kWindowSafety = minutes{5};

// Events due for sending (Planned or Sending, next_attempt_at <= now, slot
// still inside the window), oldest slot first, in batches of at most
// `batch_size` (Azure's 25; fewer only in tests).
std::vector<std::vector<std::int64_t>> plan_batches(std::span<const OutboxEvent> events, Instant now,
                                                    std::size_t batch_size = kMaxEventsPerBatch);

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
        Unresolve, // Expired, but an earlier send may have been recorded: state Unresolved, units stay in flight
    };
    Kind kind = Kind::Reject;
    std::string usage_event_id;
    std::string message_time;
    std::string error_code;
    std::string error_message;
};
// Whether an event, as loaded before a send, may already be at Azure: an
// earlier request carrying it went unanswered, or one was written before a
// crash (a stored Sending state is only ever left behind by those).
bool may_be_at_azure(const OutboxEvent& event);

// `may_hold`: Azure may hold this event from an earlier request
// (event.maybe_sent, or an earlier attempt of the same call went unanswered).
// Only then is a Duplicate of exactly our quantity our own event (accepted),
// and only then does Expired leave the event Unresolved instead of
// re-queueing its units: they may be billed already.
EventDecision decide_event(const OutboxEvent& event, const UsageEventResult& result, bool may_hold);

// A batch Azure refused as a whole (a 4xx, nothing of it recorded) must not
// hold back the events that are not the cause (SPEC §4 "batch isolation"):
// it is split in halves, sent again, until the cause is alone.
enum class RefusalAction {
    Split,         // more than one event: send each half on its own
    Reject,        // alone, never possibly recorded: Rejected with Azure's error
    KeepInFlight,  // alone, but an earlier request may have been recorded: never changed, retried later
};
RefusalAction on_refusal(std::span<const OutboxEvent* const> batch);

// Azure's error for a whole-request refusal ({"code","message","target",
// "details":[...]}) as the code and message stored on a rejected event;
// the HTTP status when the body says nothing.
std::pair<std::string, std::string> refusal_error(int http_status, std::string_view body);

// Pending entries that carry a superseded event's units again.
// Conflict: from the hour after the slot; Expired: from the current hour;
// Requeued (ops retry of a rejected event): from its own slot.
std::vector<PendingUnits> requeue_units(const OutboxEvent& event, EventState new_state, Instant now);

// Settling an event from reconciliation evidence (SPEC §8, POST
// /events/{id}/settle, reconciliation.auto_settle). Only an event that Azure
// may hold without ever having answered for it, and that can never be sent
// again, is settled this way: Unresolved, or Sending with maybe_sent once its
// slot has left Azure's 24-hour window (the stale sweep would make it
// Unresolved; plan_batches stopped sending it 5 minutes before the window
// closed, so no request carrying it can be in flight). Anything else, e.g. an
// event settled already, is refused with invalid_state: a settlement can
// never send a unit twice.
// Recorded -> Accepted (its units count as accepted); NotRecorded -> Expired
// (its units re-queued in a current slot, as requeue_units does for an
// expired event). Undecidable is no settlement: invalid_field "as".
Result<EventState> settle_by_evidence(const OutboxEvent& event, recon::Settlement as, Instant now);

// When a failed send is tried again: exponential backoff from 2 s, doubling
// per attempt up to 10 min, with "equal jitter" (half fixed, half random from
// `random`), and never earlier than Azure's Retry-After.
Instant next_attempt_at(int attempts, std::optional<Duration> retry_after, Instant now, std::uint64_t random);

}  // namespace meterbridge
