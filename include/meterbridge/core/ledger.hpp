#pragma once
// The recalculation ledger (SPEC §4 "Recalculation"): what each bill version
// asks for, what was already assigned to Azure events, and the changes that
// bring the two together. Pure: the store loads the records, calls
// plan_recalculation, and writes the returned changes in one transaction.
//
// Units of one ShareKey are always in exactly one of these places:
//   pending    queued, not in any event yet                   (withdrawable)
//   planned    in an event that has certainly not reached Azure (withdrawable)
//   in flight  in an event that may have reached Azure        (not withdrawable)
//   accepted   in an event Azure accepted                     (not withdrawable)
//   rejected   in an event Azure rejected                     (withdrawable; retried on request)
// and over_reported = max(0, in_flight + accepted - target) is what Azure
// holds (or may hold) beyond the target: it cannot be taken back.
#include <compare>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "meterbridge/core/conversion.hpp"
#include "meterbridge/core/time.hpp"

namespace meterbridge {

// A bill's share of one Azure (resource, dimension), per integration.
struct ShareKey {
    std::string integration_id;
    std::string bill_id;
    std::string resource_id;
    std::string dimension;

    friend auto operator<=>(const ShareKey&, const ShareKey&) = default;
    friend bool operator==(const ShareKey&, const ShareKey&) = default;
};

ShareKey share_key_of(const UsageTarget& target);

// When queued units may be emitted (SPEC §4 scheduler.policy).
struct SlotPolicy {
    enum class Mode { HourClose, Eager };
    Mode mode = Mode::HourClose;
    Duration flush_delay = seconds{60};
    // A slot is used only while its start is at most this old, leaving an
    // hour of Azure's 24-hour window for retries.
    Duration max_slot_age = hours{23};
};

// Units of one key waiting for a slot. `slot_hint` is the earliest hour they
// may be reported in; `ready_at` is when they may be planned.
struct PendingUnits {
    std::int64_t id = 0;  // assigned by the store; 0 for a new entry
    ShareKey key;
    std::string plan_id;
    std::int64_t units = 0;  // > 0
    Instant slot_hint;
    Instant ready_at;

    friend bool operator==(const PendingUnits&, const PendingUnits&) = default;
};

// New units queued at `now` under `policy`.
PendingUnits queue_units(ShareKey key, std::string plan_id, std::int64_t units, Instant now, const SlotPolicy& policy);

// What the store knows of one key before a recalculation.
struct KeyBalance {
    ShareKey key;
    std::string plan_id;
    std::int64_t target = 0;
    std::int64_t in_flight = 0;
    std::int64_t accepted = 0;
    std::vector<PendingUnits> pending;  // entries of this key, oldest first
    struct EventShareRef {
        std::int64_t event_id = 0;
        std::int64_t units = 0;
    };
    std::vector<EventShareRef> planned;   // shares in Planned events, oldest first
    std::vector<EventShareRef> rejected;  // shares in Rejected events, oldest first
};

std::int64_t pending_units(const KeyBalance& balance);
std::int64_t planned_units(const KeyBalance& balance);
std::int64_t rejected_units(const KeyBalance& balance);
std::int64_t over_reported(const KeyBalance& balance);

// Changes that bring a bill's keys to their new targets.
struct RecalculationPlan {
    struct TargetChange {
        ShareKey key;
        std::string plan_id;
        std::int64_t target = 0;
        std::int64_t over_reported = 0;  // after the change
    };
    struct Withdrawal {
        std::int64_t id = 0;  // pending entry id, or event id for rejected shares
        ShareKey key;
        std::int64_t units = 0;  // taken away (the entry keeps units - this)
    };
    std::vector<TargetChange> targets;            // every key touched, sorted by key
    std::vector<PendingUnits> queued;             // new pending entries (id 0)
    std::vector<Withdrawal> withdrawn_pending;    // newest entries first
    std::vector<Withdrawal> withdrawn_planned;    // from Planned events' shares, newest first
    std::vector<Withdrawal> withdrawn_rejected;   // from Rejected events' shares, newest first

    bool changes_nothing() const;
};

// `balances`: every key the store holds for this (integration, bill);
// `targets`: what the new version implies (a key missing from it is 0, so
// an empty list is what billing.bill.deleted means). Positive deltas queue
// units; negative ones withdraw pending units first, then units of events
// not yet sent, then rejected ones;
// the rest is over-reported. Nothing <= 0 is ever queued.
RecalculationPlan plan_recalculation(std::span<const KeyBalance> balances, std::span<const UsageTarget> targets,
                                     Instant now, const SlotPolicy& policy);

// The same, against the targets the balances already hold. Run it for every
// key whose units came back from a superseded event (conflict, expiry, ops
// retry): units that were over-reported meanwhile must not be sent again.
RecalculationPlan plan_reconciliation(std::span<const KeyBalance> balances, Instant now, const SlotPolicy& policy);

}  // namespace meterbridge
