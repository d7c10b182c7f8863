#include "meterbridge/core/simulation.hpp"

#include <algorithm>
#include <map>
#include <set>
#include <utility>

namespace meterbridge {
namespace {

// Ticks tried for units that find no free hour at the first one. With one bill
// only two integrations on one (resource, dimension) with different plans
// collide; a day of hours is far more than any bill needs.
constexpr int kMaxTicks = 24;

std::string skip_message(SkipReason reason, const IntegrationConfig& integration, const Bill& bill,
                         AccountOrigin origin) {
    switch (reason) {
        case SkipReason::None: return {};
        case SkipReason::Disabled: return "the integration is disabled (enabled: false)";
        case SkipReason::AccountNotAllowed: return "account " + bill.account_id + " is not in account_ids";
        case SkipReason::AccountRestricted: return "account " + bill.account_id + " is in restricted_account_ids";
        case SkipReason::AwaitingApproval:
            return "the bill is PENDING and only_send_bill_on_approval is set: nothing is sent until an APPROVED "
                   "version arrives";
        case SkipReason::AccountFilterFailed:
            return "account " + bill.account_id + " (" + std::string(to_string(origin)) +
                   ") does not match account_filter: " + integration.account_filter->text();
        case SkipReason::AccountUnresolved:
            return "account_filter is set and no account object for " + bill.account_id +
                   " was available: the daemon asks m3ter for it when `m3ter` is configured, a simulation never does";
    }
    return {};
}

// The holds that stop the whole bill, once per (reason, message): convert_bill
// repeats them on every included line item.
std::vector<HeldLineItem> bill_errors_of(const std::vector<HeldLineItem>& held) {
    std::vector<HeldLineItem> errors;
    for (const HeldLineItem& item : held) {
        if (!holds_whole_bill(item.reason)) continue;
        const bool seen = std::any_of(errors.begin(), errors.end(), [&](const HeldLineItem& e) {
            return e.reason == item.reason && e.message == item.message;
        });
        if (seen) continue;
        HeldLineItem error = item;
        error.line_item_index = -1;
        error.line_item_id.clear();
        error.amount = Decimal{};
        errors.push_back(std::move(error));
    }
    return errors;
}

std::string policy_note(const SlotPolicy& policy) {
    if (policy.mode == SlotPolicy::Mode::HourClose) {
        const auto delay = std::chrono::duration_cast<seconds>(policy.flush_delay).count();
        return "scheduler.policy hour_close: units queued during hour H go out in slot H once H has ended plus "
               "flush_delay_s (" +
               std::to_string(delay) +
               " s), at the scheduler's next tick; other bills' units for the same resource, dimension and hour "
               "share that event, so Azure may see a larger quantity than this bill's";
    }
    return "scheduler.policy eager: units go out at the scheduler's next tick in the current hour's slot; an event "
           "of another bill that already used that (resource, dimension, hour) is not known here (no database), and "
           "then the units wait for the next hour";
}

std::vector<std::string> notes_for(const Simulation& result) {
    std::vector<std::string> notes;
    if (result.deleted) {
        notes.push_back("billing.bill.deleted: every target of bill " + result.bill.id +
                        " goes to zero; units not yet sent are withdrawn, units already sent stay with Azure "
                        "(over-reported); nothing new is sent");
        return notes;
    }
    notes.push_back("the targets are those of this version as if it were the bill's first: the units already "
                    "assigned to events for bill " +
                    result.bill.id +
                    " are not read (no database); the daemon queues only the difference from them, and a lower "
                    "or repeated version number would be ignored");
    notes.push_back(policy_note(result.policy));
    return notes;
}

}  // namespace

std::string_view to_string(AccountOrigin origin) {
    switch (origin) {
        case AccountOrigin::Given: return "given";
        case AccountOrigin::Config: return "config";
        case AccountOrigin::None: return "none";
    }
    return "none";
}

const Json* find_static_account(std::span<const Json> accounts, std::string_view account_id) {
    for (const Json& account : accounts) {
        if (!account.is_object()) continue;
        const auto id = account.find("id");
        if (id != account.end() && id->is_string() && id->get_ref<const std::string&>() == account_id) return &account;
    }
    return nullptr;
}

Simulation simulate_bill(const Bill& bill, const SimulationSetting& setting) {
    Simulation result;
    result.bill = bill;
    result.now = setting.now;
    result.policy = setting.policy;
    result.account_origin = setting.account != nullptr ? setting.account_origin : AccountOrigin::None;

    // The scheduler's list: the config's mappings, then the stored ones.
    std::vector<ExternalMapping> mappings = setting.rules.external_mappings;
    mappings.insert(mappings.end(), setting.stored_mappings.begin(), setting.stored_mappings.end());

    // Pending entries as the store would queue them, each remembering its target.
    std::vector<PendingUnits> pending;
    std::map<std::int64_t, std::pair<std::size_t, std::size_t>> owner;  // entry id -> (integration, target)
    for (const IntegrationConfig& integration : setting.rules.integrations) {
        Conversion conversion = convert_bill(integration, bill, mappings, setting.account);
        SimulatedIntegration& simulated = result.integrations.emplace_back();
        simulated.integration = &integration;
        simulated.skipped = conversion.skipped;
        simulated.skip_message = skip_message(conversion.skipped, integration, bill, result.account_origin);
        simulated.bill_errors = bill_errors_of(conversion.held);
        simulated.held_totals = total_held(conversion.held);
        simulated.held = std::move(conversion.held);
        for (UsageTarget& target : conversion.targets) simulated.targets.push_back(SimulatedTarget{std::move(target), {}, {}});
        if (!conversion.ran()) continue;

        std::vector<UsageTarget> targets;
        for (const SimulatedTarget& t : simulated.targets) targets.push_back(t.target);
        RecalculationPlan plan = plan_recalculation({}, targets, setting.now, setting.policy);
        for (PendingUnits& entry : plan.queued) {
            entry.id = static_cast<std::int64_t>(pending.size()) + 1;
            const auto found = std::find_if(targets.begin(), targets.end(),
                                            [&](const UsageTarget& t) { return share_key_of(t) == entry.key; });
            owner[entry.id] = {result.integrations.size() - 1, static_cast<std::size_t>(found - targets.begin())};
            pending.push_back(std::move(entry));
        }
    }

    // The scheduler's ticks: the first one at which the entries are ready,
    // then the first tick of each following hour for entries that found no
    // free hour (plan_slots never plans into a future hour).
    std::set<SlotKey> occupied;
    Instant tick = setting.now;
    for (const PendingUnits& entry : pending) tick = std::max(tick, entry.ready_at);
    for (int round = 0; round < kMaxTicks && !pending.empty(); ++round) {
        for (PlannedEvent& event : plan_slots(pending, occupied, tick, setting.policy)) {
            occupied.insert(slot_of(event.request));
            for (const std::int64_t id : event.pending_ids) {
                const auto [integration, target] = owner.at(id);
                SimulatedTarget& placed = result.integrations[integration].targets[target];
                placed.slot = event.request.effective_start_time;
                placed.send_after = tick;
            }
            std::erase_if(pending, [&](const PendingUnits& entry) {
                return std::find(event.pending_ids.begin(), event.pending_ids.end(), entry.id) != event.pending_ids.end();
            });
            result.events.push_back(SimulatedEvent{std::move(event), tick});
        }
        tick = floor_hour(tick) + hours{1};
    }
    result.notes = notes_for(result);
    if (!pending.empty()) {
        result.notes.push_back(std::to_string(pending.size()) +
                               " target(s) found no free hour within a day of ticks: they stay pending");
    }
    return result;
}

Result<Simulation> simulate_event(const BillEvent& event, const SimulationSetting& setting) {
    // Checked first: a deletion may carry the bill's last state, which the
    // daemon does not convert.
    if (event.kind == BillEventKind::Deleted) {
        Simulation result;
        if (event.bill) result.bill = *event.bill;
        result.bill.id = event.bill_id;
        result.deleted = true;
        result.now = setting.now;
        result.policy = setting.policy;
        result.notes = notes_for(result);
        return result;
    }
    if (event.bill) return simulate_bill(*event.bill, setting);
    if (!event.bill_id.empty()) {
        return make_error("bill_missing",
                          "the body names bill " + event.bill_id +
                              " without carrying it; a simulation never asks m3ter: give the whole bill",
                          event.event_name.empty() ? "lineItems" : "m3terEvent");
    }
    return make_error("bill_missing", "the body carries no bill (event " + event.event_name + ")", "m3terEvent");
}

}  // namespace meterbridge
