// Azure's rows summed per (source, key), mapped to our resources on the way in.
#include <algorithm>

#include "meterbridge/core/recon.hpp"
#include "recon_text.hpp"

namespace meterbridge::recon {
namespace {

using detail::iequals;
using detail::lower;


Error overflow(const Decimal& a, const Decimal& b) {
    return make_error("invalid_field", "sum of Azure quantities out of range: " + a.to_string() + " + " + b.to_string(),
                      "quantity");
}

}  // namespace

AzureEvidence::AzureEvidence(NameMap names) : names_(std::move(names)) {}

Status AzureEvidence::add(const AzureRow& row) {
    Key key = row.key;
    key.resource_id = lower(key.resource_id);
    if (key.resource_id.empty()) {
        auto resource = names_.resource_of(row.azure_subscription_id);
        if (!resource) {
            const std::string subscription = lower(row.azure_subscription_id);
            auto [it, inserted] = unmapped_.try_emplace({row.source, subscription, key.dimension, key.day},
                                                        Unmapped{row.source, subscription, key.dimension, key.day, {}, 0});
            auto sum = it->second.quantity.add(row.quantity);
            if (!sum) return overflow(it->second.quantity, row.quantity);
            it->second.quantity = *sum;
            ++it->second.rows;
            return Ok{};
        }
        key.resource_id = std::move(*resource);
    }
    auto [it, inserted] = totals_.try_emplace({row.source, std::move(key)});
    Total& total = it->second;
    // Both sums are computed before either is stored: a failed add leaves the total as it was.
    auto quantity = total.quantity.add(row.quantity);
    if (!quantity) return overflow(total.quantity, row.quantity);
    std::optional<Decimal> submitted = total.submitted_quantity;
    if (row.submitted_quantity) {
        auto sum = submitted.value_or(Decimal{}).add(*row.submitted_quantity);
        if (!sum) return overflow(submitted.value_or(Decimal{}), *row.submitted_quantity);
        submitted = *sum;
    }
    total.quantity = *quantity;
    total.submitted_quantity = submitted;
    if (!row.status.empty() && std::find(total.statuses.begin(), total.statuses.end(), row.status) == total.statuses.end()) {
        total.statuses.push_back(row.status);
    }
    if (total.rows == 0) {
        total.plan = row.plan;
        total.offer = row.offer;
    }
    ++total.rows;
    return Ok{};
}

std::vector<AzureEvidence::Unmapped> AzureEvidence::unmapped() const {
    std::vector<Unmapped> out;
    out.reserve(unmapped_.size());
    for (const auto& [key, value] : unmapped_) out.push_back(value);
    return out;
}

}  // namespace meterbridge::recon
