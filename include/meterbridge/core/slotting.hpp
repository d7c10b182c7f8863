#pragma once
// Hourly slotting (SPEC §4 "One event per resource, dimension and hour"):
// turns ready pending units into events, one per (resource, dimension, UTC
// hour), never in the future and never older than the policy allows.
#include <set>
#include <span>
#include <vector>

#include "meterbridge/core/ledger.hpp"
#include "meterbridge/core/outbox.hpp"

namespace meterbridge {

// An event to store (state Planned) and the pending entries it consumes whole.
struct PlannedEvent {
    UsageEventRequest request;
    std::vector<EventShare> shares;         // sorted by key; units sum to request.quantity
    std::vector<std::int64_t> pending_ids;  // consumed entirely

    friend bool operator==(const PlannedEvent&, const PlannedEvent&) = default;
};

// The oldest hour a new event may use at `now`.
Instant oldest_usable_slot(Instant now, const SlotPolicy& policy);

// `pending`: every pending entry (ready or not); `occupied`: slots held by
// stored events (see occupies_slot). An entry whose ready_at has come goes
// to the first hour from max(slot_hint, oldest usable) that is free and not
// after the current hour; entries for one (resource, dimension, plan) that
// land on the same hour share one event. Entries with no free hour wait.
std::vector<PlannedEvent> plan_slots(std::span<const PendingUnits> pending, const std::set<SlotKey>& occupied,
                                     Instant now, const SlotPolicy& policy);

}  // namespace meterbridge
