#pragma once
// What changed between two versions of a bill (issue 19, the console's Bill
// page): the line items added, removed or changed, and the units each
// (integration, resource, dimension) target moved by. Pure.
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "meterbridge/core/bill.hpp"
#include "meterbridge/core/conversion.hpp"
#include "meterbridge/core/decimal.hpp"

namespace meterbridge {

struct LineItemChange {
    enum class Kind { Added, Removed, Changed };
    Kind kind = Kind::Changed;
    std::optional<int> from_index;      // position in the older version; absent when Added
    std::optional<int> to_index;        // position in the newer version; absent when Removed
    std::optional<LineItem> before;
    std::optional<LineItem> after;
};
std::string_view to_string(LineItemChange::Kind kind);  // "added" | "removed" | "changed"

struct TargetChange {
    std::string integration_id;
    std::string resource_id;
    std::string dimension;
    std::int64_t from_units = 0;  // 0 when the older version had no target there
    std::int64_t to_units = 0;
    Decimal from_amount;
    Decimal to_amount;
};

struct BillDiff {
    std::vector<LineItemChange> line_items;  // removed and changed in the older order, then added
    std::vector<TargetChange> targets;       // only those whose units or amount differ, sorted by key
};

// Line items are paired by `id` when both versions give every item one (m3ter
// does); otherwise by position, as no other field identifies an item. A pair
// is Changed when its type, product, aggregation or subtotal differ (an equal
// amount written differently, 4.0 and 4.00, is no change).
BillDiff diff_bills(const Bill& older, std::span<const UsageTarget> older_targets, const Bill& newer,
                    std::span<const UsageTarget> newer_targets);

}  // namespace meterbridge
