// Views of a reconciliation report: JSON, CSV and a text table.
#include "reconcile/report_views.hpp"

#include <algorithm>
#include <sstream>

namespace meterbridge::app {
namespace {

Json shares_json(const std::vector<recon::BillShare>& shares) {
    Json out = Json::array();
    for (const auto& share : shares) {
        out.push_back({{"integrationId", share.integration_id}, {"billId", share.bill_id}, {"units", share.units}});
    }
    return out;
}

Json row_json(const recon::Row& row) {
    return {{"source", recon::to_string(row.source)},
            {"resourceId", row.key.resource_id},
            {"dimension", row.key.dimension},
            {"day", recon::format_day(row.key.day)},
            {"outcome", recon::to_string(row.outcome)},
            {"ours", exact_number(row.ours)},
            {"azure", row.azure ? exact_number(*row.azure) : Json(nullptr)},
            {"note", row.note},
            {"bills", shares_json(row.shares)},
            {"unresolvedEventIds", row.unresolved_event_ids}};
}

Json proposal_json(const recon::Proposal& proposal) {
    Json evidence = Json::array();
    for (const auto& e : proposal.evidence) {
        evidence.push_back({{"source", recon::to_string(e.source)},
                            {"verdict", recon::to_string(e.verdict)},
                            {"arithmetic", e.arithmetic}});
    }
    return {{"eventId", proposal.event_id},
            {"verdict", recon::to_string(proposal.verdict)},
            {"reason", proposal.reason},
            {"evidence", std::move(evidence)}};
}

// RFC 4180: quote a field that holds a comma, a quote or a line break.
std::string csv_field(const std::string& text) {
    if (text.find_first_of(",\"\r\n") == std::string::npos) return text;
    std::string out = "\"";
    for (const char c : text) {
        if (c == '"') out += '"';
        out += c;
    }
    return out + "\"";
}

std::string pad(std::string text, std::size_t width) {
    if (text.size() < width) text.append(width - text.size(), ' ');
    return text;
}

}  // namespace

Json report_json(const recon::Report& report) {
    Json totals = Json::object();
    for (const auto& [outcome, count] : report.totals) totals[std::string(recon::to_string(outcome))] = count;
    Json rows = Json::array();
    for (const auto& row : report.rows) rows.push_back(row_json(row));
    Json bills = Json::array();
    for (const auto& bill : report.bills) {
        Json units = Json::object();
        for (const auto& [outcome, count] : bill.units) units[std::string(recon::to_string(outcome))] = count;
        bills.push_back({{"integrationId", bill.integration_id},
                         {"billId", bill.bill_id},
                         {"source", recon::to_string(bill.source)},
                         {"units", std::move(units)}});
    }
    Json proposals = Json::array();
    for (const auto& proposal : report.proposals) proposals.push_back(proposal_json(proposal));
    Json unmapped = Json::array();
    for (const auto& u : report.unmapped) {
        unmapped.push_back({{"source", recon::to_string(u.source)},
                            {"azureSubscriptionId", u.azure_subscription_id},
                            {"dimension", u.dimension},
                            {"day", recon::format_day(u.day)},
                            {"quantity", exact_number(u.quantity)},
                            {"rows", u.rows}});
    }
    return {{"discrepancies", report.has_discrepancies()},
            {"totals", std::move(totals)},
            {"rows", std::move(rows)},
            {"bills", std::move(bills)},
            {"proposals", std::move(proposals)},
            {"unmapped", std::move(unmapped)}};
}

std::string report_csv(const recon::Report& report) {
    std::string out = "source,resourceId,dimension,day,outcome,ours,azure,note\r\n";
    for (const auto& row : report.rows) {
        out += std::string(recon::to_string(row.source)) + "," + csv_field(row.key.resource_id) + "," +
               csv_field(row.key.dimension) + "," + recon::format_day(row.key.day) + "," +
               std::string(recon::to_string(row.outcome)) + "," + row.ours.to_string() + "," +
               (row.azure ? row.azure->to_string() : std::string()) + "," + csv_field(row.note) + "\r\n";
    }
    return out;
}

std::string report_table(const recon::Report& report, bool all_rows) {
    std::ostringstream out;
    out << "outcome            rows\n";
    for (const auto& [outcome, count] : report.totals) {
        out << pad(std::string(recon::to_string(outcome)), 19) << count << "\n";
    }
    const bool any = std::any_of(report.rows.begin(), report.rows.end(), [&](const recon::Row& row) {
        return all_rows || (row.outcome != recon::Outcome::Matched && row.outcome != recon::Outcome::Pending);
    });
    if (any) {
        out << "\n" << pad("source", 16) << pad("resource", 38) << pad("dimension", 18) << pad("day", 12)
            << pad("outcome", 19) << pad("ours", 12) << pad("azure", 12) << "note\n";
        for (const auto& row : report.rows) {
            if (!all_rows && (row.outcome == recon::Outcome::Matched || row.outcome == recon::Outcome::Pending)) continue;
            out << pad(std::string(recon::to_string(row.source)), 16) << pad(row.key.resource_id, 38)
                << pad(row.key.dimension, 18) << pad(recon::format_day(row.key.day), 12)
                << pad(std::string(recon::to_string(row.outcome)), 19) << pad(row.ours.to_string(), 12)
                << pad(row.azure ? row.azure->to_string() : "-", 12) << row.note << "\n";
        }
    }
    if (!report.proposals.empty()) {
        out << "\nunresolved events\n";
        for (const auto& proposal : report.proposals) {
            out << "  event " << proposal.event_id << ": " << recon::to_string(proposal.verdict) << " ("
                << proposal.reason << ")\n";
        }
    }
    if (!report.unmapped.empty()) {
        out << "\nAzure rows of unmapped subscriptions (reconciliation.subscriptions)\n";
        for (const auto& u : report.unmapped) {
            out << "  " << recon::to_string(u.source) << " " << u.azure_subscription_id << " " << u.dimension << " "
                << recon::format_day(u.day) << " " << u.quantity.to_string() << "\n";
        }
    }
    return out.str();
}

}  // namespace meterbridge::app
