#include "meterbridge/core/bill_diff.hpp"

#include <algorithm>
#include <map>
#include <tuple>

namespace meterbridge {

namespace {

bool all_have_ids(const Bill& bill) {
    for (const LineItem& item : bill.line_items) {
        if (item.id.empty()) return false;
    }
    return true;
}

bool same_item(const LineItem& a, const LineItem& b) {
    return a.type_name == b.type_name && a.product_id == b.product_id &&
           a.accounting_product_id == b.accounting_product_id && a.aggregation_id == b.aggregation_id &&
           a.compound_aggregation_id == b.compound_aggregation_id && a.subtotal == b.subtotal;
}

// Pairs of positions (older, newer); -1 for none.
std::vector<std::pair<int, int>> pair_items(const Bill& older, const Bill& newer) {
    std::vector<std::pair<int, int>> pairs;
    const int n_old = static_cast<int>(older.line_items.size());
    const int n_new = static_cast<int>(newer.line_items.size());
    if (all_have_ids(older) && all_have_ids(newer)) {
        std::map<std::string, int> newer_by_id;
        for (int i = 0; i < n_new; ++i) newer_by_id.emplace(newer.line_items[static_cast<std::size_t>(i)].id, i);
        std::vector<bool> matched(static_cast<std::size_t>(n_new), false);
        for (int i = 0; i < n_old; ++i) {
            const auto found = newer_by_id.find(older.line_items[static_cast<std::size_t>(i)].id);
            if (found != newer_by_id.end() && !matched[static_cast<std::size_t>(found->second)]) {
                matched[static_cast<std::size_t>(found->second)] = true;
                pairs.emplace_back(i, found->second);
            } else {
                pairs.emplace_back(i, -1);
            }
        }
        for (int j = 0; j < n_new; ++j) {
            if (!matched[static_cast<std::size_t>(j)]) pairs.emplace_back(-1, j);
        }
        return pairs;
    }
    for (int i = 0; i < std::max(n_old, n_new); ++i) pairs.emplace_back(i < n_old ? i : -1, i < n_new ? i : -1);
    return pairs;
}

using TargetKey = std::tuple<std::string, std::string, std::string>;

}  // namespace

std::string_view to_string(LineItemChange::Kind kind) {
    switch (kind) {
        case LineItemChange::Kind::Added: return "added";
        case LineItemChange::Kind::Removed: return "removed";
        case LineItemChange::Kind::Changed: return "changed";
    }
    return "changed";
}

BillDiff diff_bills(const Bill& older, std::span<const UsageTarget> older_targets, const Bill& newer,
                    std::span<const UsageTarget> newer_targets) {
    BillDiff diff;
    for (const auto& [i, j] : pair_items(older, newer)) {
        LineItemChange change;
        if (i >= 0) {
            change.from_index = i;
            change.before = older.line_items[static_cast<std::size_t>(i)];
        }
        if (j >= 0) {
            change.to_index = j;
            change.after = newer.line_items[static_cast<std::size_t>(j)];
        }
        if (i < 0) {
            change.kind = LineItemChange::Kind::Added;
        } else if (j < 0) {
            change.kind = LineItemChange::Kind::Removed;
        } else if (same_item(*change.before, *change.after)) {
            continue;
        }
        diff.line_items.push_back(std::move(change));
    }

    std::map<TargetKey, TargetChange> targets;
    const auto entry = [&](const UsageTarget& t) -> TargetChange& {
        auto [it, added] = targets.try_emplace(TargetKey{t.integration_id, t.resource_id, t.dimension});
        if (added) {
            it->second.integration_id = t.integration_id;
            it->second.resource_id = t.resource_id;
            it->second.dimension = t.dimension;
        }
        return it->second;
    };
    for (const UsageTarget& t : older_targets) {
        TargetChange& change = entry(t);
        change.from_units = t.units;
        change.from_amount = t.amount;
    }
    for (const UsageTarget& t : newer_targets) {
        TargetChange& change = entry(t);
        change.to_units = t.units;
        change.to_amount = t.amount;
    }
    for (auto& [key, change] : targets) {
        if (change.from_units != change.to_units || !(change.from_amount == change.to_amount)) {
            diff.targets.push_back(std::move(change));
        }
    }
    return diff;
}

}  // namespace meterbridge
