#pragma once
// A dry run of the pipeline for one bill (issue 19, `meterbridge simulate`,
// POST /simulate): what conversion, recalculation and slotting would make of
// it, with nothing read from or written to the store and nothing sent. Pure:
// the rules, the mappings, the account and "now" are passed in. It calls the
// pipeline's own functions (convert_bill, plan_recalculation, plan_slots), so
// it cannot say anything the daemon would not do, except for what it cannot
// know without the database (see the notes of `Simulation`).
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "meterbridge/core/bill.hpp"
#include "meterbridge/core/conversion.hpp"
#include "meterbridge/core/integration_config.hpp"
#include "meterbridge/core/ledger.hpp"
#include "meterbridge/core/slotting.hpp"

namespace meterbridge {

// Where the account object given to the account filters came from.
enum class AccountOrigin {
    Given,   // handed over by the caller (`--account FILE`)
    Config,  // the config's static `accounts`
    None,    // nobody had it: integrations with an account_filter are skipped (account_unresolved)
};
std::string_view to_string(AccountOrigin origin);  // "given", "config", "none"

// What one simulation is run against. Everything referenced must outlive the call.
struct SimulationSetting {
    const IntegrationRules& rules;                   // the config's integrations, mappings and accounts
    std::span<const ExternalMapping> stored_mappings;  // run-time mappings (POST /mappings); may be empty
    const Json* account = nullptr;                   // the bill's Account object, or nullptr
    AccountOrigin account_origin = AccountOrigin::None;
    Instant now;                                     // when the bill would arrive
    SlotPolicy policy;                               // the scheduler's (scheduler.policy, flush_delay_s)
};

// One target and where its units would go.
struct SimulatedTarget {
    UsageTarget target;           // resource, plan, dimension, units, exact amount before rounding
    std::optional<Instant> slot;  // the UTC hour of the event carrying it; nullopt: 0 units, nothing queued,
                                  // or no free hour within a day (never seen with one bill)
    std::optional<Instant> send_after;  // the first scheduler tick at or after it plans and sends that event
};

// One integration applied to the bill.
struct SimulatedIntegration {
    const IntegrationConfig* integration = nullptr;  // into SimulationSetting::rules
    SkipReason skipped = SkipReason::None;
    std::string skip_message;                // why, in words; empty when it ran
    std::vector<SimulatedTarget> targets;    // convert_bill's, in its order
    std::vector<HeldLineItem> held;          // convert_bill's, every line item it held
    std::vector<HeldLineItem> bill_errors;   // one per (reason, message) of the holds that stop the whole bill
    std::vector<HeldTotal> held_totals;      // total_held(held)

    bool ran() const { return skipped == SkipReason::None; }
};

// One usage event Azure would receive: plan_slots' event, with the first
// scheduler tick that would plan (and send) it.
struct SimulatedEvent {
    PlannedEvent event;  // request: resource, plan, dimension, quantity, effectiveStartTime; shares per bill key
    Instant send_after;
};

struct Simulation {
    Bill bill;             // as parsed (for a deletion by id only the id is set)
    bool deleted = false;  // billing.bill.deleted: every target of the bill goes to zero
    Instant now;
    SlotPolicy policy;
    AccountOrigin account_origin = AccountOrigin::None;
    std::vector<SimulatedIntegration> integrations;  // one per configured integration, in config order
    std::vector<SimulatedEvent> events;              // by send_after, then resource, dimension, hour
    // What the result cannot know and assumes instead, in words (always
    // includes: the targets are those of this version as if it were the
    // bill's first, since the units already assigned to it are not read).
    std::vector<std::string> notes;
};

// The bill as version one of itself: convert_bill per integration (config
// mappings first, then the stored ones, as the scheduler joins them), every
// positive target queued by plan_recalculation against an empty ledger at
// `now`, and plan_slots run at each scheduler tick that would find them
// ready, with no slot occupied by other bills.
Simulation simulate_bill(const Bill& bill, const SimulationSetting& setting);

// The same for a decoded webhook body (parse_bill_event / decode_bill_event):
// a bill is simulated; a deletion is answered without conversion (every target
// goes to zero, nothing new is sent). A delivery that names a bill without
// carrying it is an Error naming the field: simulate never asks m3ter.
Result<Simulation> simulate_event(const BillEvent& event, const SimulationSetting& setting);

// The static account with this "id" among the config's `accounts` (the first
// one wins, as in the daemon's account source), or nullptr.
const Json* find_static_account(std::span<const Json> accounts, std::string_view account_id);

}  // namespace meterbridge
