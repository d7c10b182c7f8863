#pragma once
// Invariants shared by the reconciliation parsers' fuzz targets: every parsed
// row is well formed, and it goes through the evidence and the comparison
// without an exception, with totals that add up.
#include <cctype>
#include <string>
#include <vector>

#include "fuzz_support.hpp"
#include "meterbridge/core/recon.hpp"

namespace meterbridge::fuzz {

inline void check_lower(const std::string& id, const char* what) {
    for (char ch : id) {
        const int c = static_cast<unsigned char>(ch);
        check(std::tolower(c) == c, what, id);
    }
}

inline void check_row(const recon::AzureRow& row, bool may_be_negative) {
    check_lower(row.key.resource_id, "resource id not lower-cased:");
    check_lower(row.azure_subscription_id, "subscription id not lower-cased:");
    check(!row.key.dimension.empty(), "a row without dimension");
    check(may_be_negative || !row.quantity.is_negative(), "a negative quantity passed", row.quantity.to_string());
    auto again = Decimal::parse(row.quantity.to_string());
    check(again.ok() && *again == row.quantity, "quantity does not round-trip", row.quantity.to_string());
    check(recon::parse_day(recon::format_day(row.key.day)).ok(), "a day that does not print as YYYY-MM-DD");
}

// Feeds the rows to a comparison against a ledger that holds one accepted
// and one unresolved event on the first row's key.
inline void check_comparison(const std::vector<recon::AzureRow>& rows) {
    if (rows.empty()) return;
    auto names = recon::NameMap::make({{"00000000-0000-0000-0000-000000000000", "r"}});
    check(names.ok(), "the fuzz name map");
    recon::AzureEvidence evidence(*names);
    for (const auto& row : rows) (void)evidence.add(row);
    const recon::Key& first = rows.front().key;
    const Instant hour = Instant{first.day} + std::chrono::hours{3};
    std::vector<recon::LedgerEvent> events = {
        {1, first.resource_id.empty() ? "r" : first.resource_id, first.dimension, hour, 5,
         recon::LedgerEvent::State::Accepted, {{"i", "b", 5}}},
        {2, first.resource_id.empty() ? "r" : first.resource_id, first.dimension, hour + std::chrono::hours{1}, 3,
         recon::LedgerEvent::State::Unresolved, {{"i", "b", 3}}},
    };
    recon::Options options;
    options.from_day = first.day - std::chrono::days{2};
    options.to_day = first.day + std::chrono::days{2};
    options.now = Instant{first.day} + std::chrono::days{10};
    options.sources = {recon::Source::UsageEvents, recon::Source::PartnerBilling, recon::Source::EaCharges};
    auto report = recon::compare(events, evidence, options);
    if (!report) return;  // an overflowing sum
    std::size_t counted = 0;
    for (const auto& [outcome, n] : report->totals) counted += n;
    check(counted == report->rows.size(), "totals do not add up to the rows");
    check(report->proposals.size() == 1 && report->proposals[0].event_id == 2, "one proposal for the unresolved event");
    for (const auto& row : report->rows) {
        check(recon::outcome_from(recon::to_string(row.outcome)) == row.outcome, "an outcome without its name");
    }
}

}  // namespace meterbridge::fuzz
