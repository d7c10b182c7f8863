// The names of reconciliation (SPEC §8), UTC days, the Azure-subscription map
// and the quantity text of notes.
#include <algorithm>
#include <array>
#include <cstdio>
#include <utility>

#include "meterbridge/core/recon.hpp"
#include "recon_text.hpp"

namespace meterbridge::recon {
namespace {

using detail::iequals;
using detail::lower;

constexpr std::array<std::pair<Source, std::string_view>, 3> kSources = {{
    {Source::UsageEvents, "usage_events"},
    {Source::PartnerBilling, "partner_billing"},
    {Source::EaCharges, "ea_charges"},
}};

constexpr std::array<std::pair<Outcome, std::string_view>, 7> kOutcomes = {{
    {Outcome::Matched, "matched"},
    {Outcome::MissingAtAzure, "missing_at_azure"},
    {Outcome::UnknownToUs, "unknown_to_us"},
    {Outcome::QuantityMismatch, "quantity_mismatch"},
    {Outcome::Rejected, "rejected"},
    {Outcome::Mismatch, "mismatch"},
    {Outcome::Pending, "pending"},
}};

constexpr std::array<std::pair<Settlement, std::string_view>, 3> kSettlements = {{
    {Settlement::Recorded, "recorded"},
    {Settlement::NotRecorded, "not_recorded"},
    {Settlement::Undecidable, "undecidable"},
}};

template <class E, std::size_t N>
std::string_view name_of(const std::array<std::pair<E, std::string_view>, N>& table, E value) {
    for (const auto& [v, name] : table) {
        if (v == value) return name;
    }
    return "?";
}

template <class E, std::size_t N>
std::optional<E> value_of(const std::array<std::pair<E, std::string_view>, N>& table, std::string_view text) {
    for (const auto& [v, name] : table) {
        if (name == text) return v;
    }
    return std::nullopt;
}


}  // namespace

std::string_view to_string(Source source) { return name_of(kSources, source); }
std::optional<Source> source_from(std::string_view text) { return value_of(kSources, text); }
std::string_view to_string(Outcome outcome) { return name_of(kOutcomes, outcome); }
std::optional<Outcome> outcome_from(std::string_view text) { return value_of(kOutcomes, text); }
std::string_view to_string(Settlement settlement) { return name_of(kSettlements, settlement); }
std::optional<Settlement> settlement_from(std::string_view text) { return value_of(kSettlements, text); }

Result<Day> parse_day(std::string_view text) {
    const auto bad = [&] {
        return make_error("invalid_field", "a day must be YYYY-MM-DD, got '" + std::string(text.substr(0, 40)) + "'",
                          "day");
    };
    if (text.size() != 10 || text[4] != '-' || text[7] != '-') return bad();
    int parts[3] = {0, 0, 0};
    const std::size_t starts[3] = {0, 5, 8};
    const std::size_t lengths[3] = {4, 2, 2};
    for (int i = 0; i < 3; ++i) {
        for (std::size_t j = 0; j < lengths[i]; ++j) {
            const char c = text[starts[i] + j];
            if (c < '0' || c > '9') return bad();
            parts[i] = parts[i] * 10 + (c - '0');
        }
    }
    const std::chrono::year_month_day date{std::chrono::year{parts[0]}, std::chrono::month{static_cast<unsigned>(parts[1])},
                                           std::chrono::day{static_cast<unsigned>(parts[2])}};
    if (!date.ok()) return bad();
    return Day{date};
}

std::string format_day(Day day) {
    const std::chrono::year_month_day date{day};
    char text[16];
    std::snprintf(text, sizeof text, "%04d-%02u-%02u", static_cast<int>(date.year()), static_cast<unsigned>(date.month()),
                  static_cast<unsigned>(date.day()));
    return text;
}

Day day_of(Instant instant) { return std::chrono::floor<std::chrono::days>(instant); }

Result<NameMap> NameMap::make(const std::vector<std::pair<std::string, std::string>>& subscription_to_resource) {
    NameMap map;
    for (const auto& [subscription, resource] : subscription_to_resource) {
        if (subscription.empty() || resource.empty()) {
            return make_error("invalid_field", "an Azure subscription id and a resource id are both required", "name_map");
        }
        auto [it, inserted] = map.pairs_.emplace(lower(subscription), lower(resource));
        if (!inserted && it->second != lower(resource)) {
            return make_error("invalid_field",
                              "Azure subscription " + subscription + " is mapped to two resources (" + it->second +
                                  ", " + lower(resource) + "): a mapping must be unambiguous",
                              "name_map");
        }
    }
    return map;
}

std::optional<std::string> NameMap::resource_of(std::string_view azure_subscription_id) const {
    const auto it = pairs_.find(lower(azure_subscription_id));
    if (it == pairs_.end()) return std::nullopt;
    return it->second;
}

std::string format_quantity(const Decimal& quantity) {
    const std::string plain = quantity.to_string();
    const std::size_t sign = plain.starts_with('-') ? 1 : 0;
    const std::size_t point = std::min(plain.find('.'), plain.size());
    std::string out = plain.substr(0, sign);
    for (std::size_t i = sign; i < point; ++i) {
        if (i > sign && (point - i) % 3 == 0) out.push_back(',');
        out.push_back(plain[i]);
    }
    out += plain.substr(point);
    return out;
}

Duration default_processing_delay(Source source) {
    switch (source) {
        case Source::UsageEvents:
            return hours{24};
        case Source::PartnerBilling:
            return hours{48};
        case Source::EaCharges:
            return hours{72};
    }
    return hours{72};
}

}  // namespace meterbridge::recon
