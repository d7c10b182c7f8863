#include "cli/simulation_table.hpp"

#include <algorithm>
#include <vector>

namespace meterbridge::app {
namespace {

using Row = std::vector<std::string>;

// Rows under a header, each column as wide as its widest cell, indented.
std::string columns(const Row& header, const std::vector<Row>& rows, const std::string& indent = "  ") {
    std::vector<std::size_t> width(header.size(), 0);
    for (std::size_t c = 0; c < header.size(); ++c) width[c] = header[c].size();
    for (const Row& row : rows) {
        for (std::size_t c = 0; c < row.size() && c < width.size(); ++c) width[c] = std::max(width[c], row[c].size());
    }
    std::string out;
    const auto line = [&](const Row& row) {
        std::string text = indent;
        for (std::size_t c = 0; c < row.size(); ++c) {
            text += row[c];
            if (c + 1 < row.size()) text.append(width[c] - row[c].size() + 2, ' ');
        }
        out += text + "\n";
    };
    line(header);
    for (const Row& row : rows) line(row);
    return out;
}

std::string hour_or_dash(const std::optional<Instant>& instant) { return instant ? format_iso8601(*instant) : "-"; }

std::string integration_block(const SimulatedIntegration& simulated, const Bill& bill) {
    const IntegrationConfig& integration = *simulated.integration;
    std::string out = "integration " + integration.id;
    if (!integration.name.empty() && integration.name != integration.id) out += " \"" + integration.name + "\"";
    out += " (" + std::string(to_string(integration.split_usage_line_items)) + ", unit price " +
           integration.unit_price.to_string() + " " + integration.currency + ", rounding " +
           std::string(to_string(integration.rounding)) + ")";
    if (!simulated.ran()) {
        return out + "\n  SKIPPED, " + std::string(to_string(simulated.skipped)) + ": " + simulated.skip_message + "\n";
    }
    out += "\n";
    for (const HeldLineItem& error : simulated.bill_errors) {
        out += "  BILL HELD, " + std::string(to_string(error.reason)) + ": " + error.message + "\n";
    }
    if (!simulated.targets.empty()) {
        std::vector<Row> rows;
        for (const SimulatedTarget& t : simulated.targets) {
            rows.push_back({t.target.resource_id, t.target.plan_id, t.target.dimension, t.target.amount.to_string(),
                            std::to_string(t.target.units), hour_or_dash(t.slot), hour_or_dash(t.send_after)});
        }
        out += columns({"resource", "plan", "dimension", "amount", "units", "hour (UTC)", "sent after"}, rows);
    } else if (simulated.bill_errors.empty()) {
        out += "  no targets\n";
    }
    // Whole-bill holds repeat one message on every item: listed above, counted below.
    std::vector<Row> held;
    for (const HeldLineItem& item : simulated.held) {
        if (holds_whole_bill(item.reason)) continue;
        held.push_back({item.line_item_index < 0 ? "-" : std::to_string(item.line_item_index),
                        item.line_item_id.empty() ? "-" : item.line_item_id, std::string(to_string(item.reason)),
                        item.amount.to_string(), item.message});
    }
    if (!held.empty()) out += "  held line items:\n" + columns({"line", "id", "reason", "amount", "why"}, held, "    ");
    for (const HeldTotal& total : simulated.held_totals) {
        out += "  held in total, " + std::string(to_string(total.reason)) + ": " + std::to_string(total.line_items) +
               " line item(s), " + (total.overflow ? std::string("out of range") : total.amount.to_string()) + " " +
               bill.currency + "\n";
    }
    return out;
}

}  // namespace

std::string simulation_table(const Simulation& simulation) {
    const Bill& bill = simulation.bill;
    const bool hour_close = simulation.policy.mode == SlotPolicy::Mode::HourClose;
    std::string out = "simulation of bill " + bill.id;
    if (simulation.deleted) {
        out += " (deleted)";
    } else {
        out += " version " + std::to_string(bill.version) + ", account " + bill.account_id + ", " +
               (bill.status == BillStatus::Approved ? "APPROVED" : "PENDING") + ", " + bill.currency;
    }
    out += "\nat " + format_iso8601(simulation.now) + ", scheduler.policy " + (hour_close ? "hour_close" : "eager");
    if (hour_close) {
        out += ", flush_delay_s " + std::to_string(std::chrono::duration_cast<seconds>(simulation.policy.flush_delay).count());
    }
    out += ", account object: " + std::string(to_string(simulation.account_origin)) + "\n\n";
    for (const SimulatedIntegration& simulated : simulation.integrations) out += integration_block(simulated, bill) + "\n";

    if (!simulation.deleted) {
        if (simulation.events.empty()) {
            out += "Azure would receive no usage event\n";
        } else {
            std::vector<Row> rows;
            for (const SimulatedEvent& e : simulation.events) {
                std::string shares;
                for (const EventShare& share : e.event.shares) {
                    shares += (shares.empty() ? "" : ", ") + share.key.integration_id + " " + std::to_string(share.units);
                }
                rows.push_back({format_iso8601(e.event.request.effective_start_time), e.event.request.resource_id,
                                e.event.request.plan_id, e.event.request.dimension,
                                std::to_string(e.event.request.quantity), format_iso8601(e.send_after), shares});
            }
            out += "Azure would receive:\n" +
                   columns({"hour (UTC)", "resource", "plan", "dimension", "quantity", "sent after", "shares"}, rows);
        }
        out += "\n";
    }
    out += "notes:\n";
    for (const std::string& note : simulation.notes) out += "  - " + note + "\n";
    return out;
}

}  // namespace meterbridge::app
