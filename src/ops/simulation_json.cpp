#include "ops/simulation_json.hpp"

#include "ops/ops_json.hpp"

namespace meterbridge::app {
namespace {

std::string_view bill_status_name(BillStatus status) { return status == BillStatus::Approved ? "APPROVED" : "PENDING"; }

Json optional_instant(const std::optional<Instant>& instant) { return instant_json(instant); }

Json reason_json(std::string_view reason, const std::string& message) {
    return {{"reason", reason}, {"message", message}};
}

Json target_json(const SimulatedTarget& simulated, const IntegrationConfig& integration) {
    const UsageTarget& t = simulated.target;
    return {{"resourceId", t.resource_id},
            {"planId", t.plan_id},
            {"dimension", t.dimension},
            {"amount", exact_number(t.amount)},  // the exact sum of its line items, before rounding
            {"unitPrice", exact_number(integration.unit_price)},
            {"rounding", to_string(integration.rounding)},
            {"units", t.units},
            {"slot", optional_instant(simulated.slot)},
            {"sendAfter", optional_instant(simulated.send_after)}};
}

Json integration_json(const SimulatedIntegration& simulated, const Bill& bill) {
    const IntegrationConfig& integration = *simulated.integration;
    Json bill_errors = Json::array();
    for (const HeldLineItem& error : simulated.bill_errors) bill_errors.push_back(reason_json(to_string(error.reason), error.message));
    Json targets = Json::array();
    for (const SimulatedTarget& target : simulated.targets) targets.push_back(target_json(target, integration));
    Json held = Json::array();
    for (const HeldLineItem& item : simulated.held) held.push_back(held_item_json(item));
    Json totals = Json::array();
    for (const HeldTotal& total : simulated.held_totals) {
        totals.push_back({{"reason", to_string(total.reason)},
                          {"lineItems", total.line_items},
                          {"amount", total.overflow ? Json(nullptr) : exact_number(total.amount)},
                          {"currency", bill.currency}});
    }
    return {{"integrationId", integration.id},
            {"name", integration.name},
            {"splitMode", to_string(integration.split_usage_line_items)},
            {"currency", integration.currency},
            {"unitPrice", exact_number(integration.unit_price)},
            {"rounding", to_string(integration.rounding)},
            {"ran", simulated.ran()},
            {"skipped", simulated.ran() ? Json(nullptr) : reason_json(to_string(simulated.skipped), simulated.skip_message)},
            {"billErrors", std::move(bill_errors)},
            {"targets", std::move(targets)},
            {"held", std::move(held)},
            {"heldTotals", std::move(totals)}};
}

Json event_json(const SimulatedEvent& simulated) {
    const UsageEventRequest& request = simulated.event.request;
    Json shares = Json::array();
    for (const EventShare& share : simulated.event.shares) {
        shares.push_back({{"integrationId", share.key.integration_id}, {"units", share.units}});
    }
    return {{"resourceId", request.resource_id},
            {"planId", request.plan_id},
            {"dimension", request.dimension},
            {"effectiveStartTime", instant_json(std::optional<Instant>(request.effective_start_time))},
            {"quantity", request.quantity},
            {"sendAfter", instant_json(std::optional<Instant>(simulated.send_after))},
            {"shares", std::move(shares)}};
}

}  // namespace

Json simulation_json(const Simulation& simulation) {
    const Bill& bill = simulation.bill;
    Json integrations = Json::array();
    for (const SimulatedIntegration& simulated : simulation.integrations) integrations.push_back(integration_json(simulated, bill));
    Json events = Json::array();
    for (const SimulatedEvent& event : simulation.events) events.push_back(event_json(event));
    const bool hour_close = simulation.policy.mode == SlotPolicy::Mode::HourClose;
    return {{"billId", bill.id},
            {"version", bill.version},
            {"accountId", bill.account_id},
            {"accountCode", bill.account_code.empty() ? Json(nullptr) : Json(bill.account_code)},
            {"status", bill_status_name(bill.status)},
            {"currency", bill.currency},
            {"deleted", simulation.deleted},
            {"simulatedAt", instant_json(std::optional<Instant>(simulation.now))},
            {"policy",
             {{"mode", hour_close ? "hour_close" : "eager"},
              {"flushDelaySeconds", std::chrono::duration_cast<seconds>(simulation.policy.flush_delay).count()}}},
            {"account", to_string(simulation.account_origin)},
            {"asFirstVersion", true},  // the units already assigned to the bill are not read
            {"integrations", std::move(integrations)},
            {"events", std::move(events)},
            {"notes", simulation.notes}};
}

}  // namespace meterbridge::app
