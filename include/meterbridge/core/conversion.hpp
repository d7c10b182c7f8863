#pragma once
// Bill -> usage targets: the rules of one integration applied to one bill
// version (SPEC §3/§4, seed 001). Pure: the account object and the mappings
// are passed in; nothing is looked up.
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "meterbridge/core/bill.hpp"
#include "meterbridge/core/decimal.hpp"
#include "meterbridge/core/exact_json.hpp"
#include "meterbridge/core/integration.hpp"

namespace meterbridge {

// Whole units of one (integration, bill, resource, dimension) that the bill
// version implies. `amount` is the exact sum of the subtotals behind it.
struct UsageTarget {
    std::string integration_id;
    std::string bill_id;
    std::string resource_id;
    std::string plan_id;
    std::string dimension;
    std::int64_t units = 0;  // >= 0
    Decimal amount;
    // Provenance for ops (the console's "explain this charge"): the indexes of
    // the bill's line items summed into `amount`, in bill order. Not part of
    // the target's value: two targets with the same key, units and amount are
    // equal whichever items made them.
    std::vector<int> line_items = {};

    friend bool operator==(const UsageTarget& a, const UsageTarget& b) {
        return a.integration_id == b.integration_id && a.bill_id == b.bill_id && a.resource_id == b.resource_id &&
               a.plan_id == b.plan_id && a.dimension == b.dimension && a.units == b.units && a.amount == b.amount;
    }
};

enum class HoldReason {
    WrongCurrency,      // bill currency differs from the integration's
    NoAccountMapping,   // resource_id_from=external_mapping and no Account->Subscription mapping
    NoResourceId,       // resource_id_from=account_code and the bill has no accountCode
    NoPlan,             // neither the account mapping nor the integration gives a plan id
    UnmappedProduct,    // ITEM_PER_PRODUCT: no Product->Dimension mapping
    UnmappedAggregation,  // ITEM_PER_AGGREGATION: no (Compound)Aggregation->Dimension mapping
    NoGroup,            // no product/aggregation on the item and no fallback_dimension
    NegativeTotal,      // a dimension sums below zero: Azure takes no negative usage
    AmountOverflow,     // the sum or the unit count does not fit
    InvalidResourceId,  // the resource id (from any resource_id_from source) is not a GUID
};
std::string_view to_string(HoldReason reason);

// True for the reasons that hold the whole bill at once (its currency, its
// resource, its plan): one fix of the config or a mapping, not of an item.
bool holds_whole_bill(HoldReason reason);

// A line item that produced no units, or (line_item_index = -1) a bill-level
// hold for a bill with no included line items, so that the reason is shown.
struct HeldLineItem {
    std::string integration_id;
    std::string bill_id;
    int line_item_index = -1;
    std::string line_item_id;
    HoldReason reason = HoldReason::NoGroup;
    std::string message;
    Decimal amount;

    friend bool operator==(const HeldLineItem&, const HeldLineItem&) = default;
};

// Held line items summed per (integration, reason): what an operator needs
// to see how much money waits on a fix (a mapping, a GUID, a credit policy).
struct HeldTotal {
    std::string integration_id;
    HoldReason reason = HoldReason::NoGroup;
    std::int64_t line_items = 0;  // bill-level holds (line_item_index -1) are not line items
    Decimal amount;               // exact sum of the held subtotals
    bool overflow = false;        // the sum does not fit a Decimal; `amount` is then meaningless

    friend bool operator==(const HeldTotal&, const HeldTotal&) = default;
};

// One total per (integration, reason) present in `held`, sorted by them.
std::vector<HeldTotal> total_held(std::span<const HeldLineItem> held);

// Why an integration does not run for a bill version at all.
enum class SkipReason {
    None,
    Disabled,
    AccountNotAllowed,    // not in account_ids
    AccountRestricted,    // in restricted_account_ids
    AwaitingApproval,     // only_send_bill_on_approval and the bill is PENDING
    AccountFilterFailed,  // account_filter evaluated false
    AccountUnresolved,    // account_filter set but no account data
};
std::string_view to_string(SkipReason reason);

struct Conversion {
    std::string integration_id;
    SkipReason skipped = SkipReason::None;  // None: the integration ran
    std::vector<UsageTarget> targets;       // one per (resource, dimension), sorted
    std::vector<HeldLineItem> held;

    bool ran() const { return skipped == SkipReason::None; }
};

// Applies `integration` to `bill`. `mappings` are all known external mappings
// (config and run-time); `account` is the m3ter Account object, or nullptr
// when it could not be resolved. Deterministic: the same input gives the
// same output, so converting a bill twice changes nothing.
Conversion convert_bill(const IntegrationConfig& integration, const Bill& bill,
                        std::span<const ExternalMapping> mappings, const Json* account);

// The mapping that applies to (entity, m3ter_id, table) for `integration`:
// with enforce_external_mappings_for_config only mappings linked to it;
// otherwise a linked one wins over an unlinked one, and mappings linked to
// other integrations are ignored. nullptr when none applies.
const ExternalMapping* find_mapping(std::span<const ExternalMapping> mappings, const IntegrationConfig& integration,
                                    MappingEntity entity, std::string_view m3ter_id, ExternalTable table);

}  // namespace meterbridge
