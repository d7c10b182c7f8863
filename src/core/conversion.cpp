#include "meterbridge/core/conversion.hpp"

#include <algorithm>
#include <map>
#include <optional>

#include "meterbridge/core/guid.hpp"

namespace meterbridge {
namespace {

bool contains(const std::vector<std::string>& list, std::string_view value) {
    return !value.empty() && std::find(list.begin(), list.end(), value) != list.end();
}

// Where the units of a bill go in Azure: the resource (SaaS subscription) and plan.
struct Destination {
    std::string resource_id;
    std::string plan_id;
};

// The included line items that land on one dimension: their subtotals are
// summed exactly (charges and credits alike) and rounded once (SPEC §4).
struct DimensionTotal {
    Decimal amount;
    std::vector<int> items;  // line item indexes, in bill order
    bool overflow = false;
};

class Converter {
public:
    Converter(const IntegrationConfig& integration, const Bill& bill, std::span<const ExternalMapping> mappings)
        : integration_(integration), bill_(bill), mappings_(mappings) {
        result_.integration_id = integration.id;
    }

    Conversion run(const Json* account) {
        result_.skipped = skip_reason(account);
        if (!result_.ran()) return std::move(result_);

        if (bill_.currency != integration_.currency) {
            hold_bill(HoldReason::WrongCurrency, "bill currency " + bill_.currency + " differs from the integration's " +
                                                     integration_.currency);
            return std::move(result_);
        }
        const auto destination = resolve_destination();
        if (!destination) return std::move(result_);

        // One destination per bill and integration, so a dimension is the whole
        // (resource, dimension) key. Groups (products, aggregations, fallback)
        // only decide the dimension; rounding them one by one would bill a
        // different amount than the bill says (two $0.005 products: 2 units).
        std::map<std::string, DimensionTotal> dimensions;
        for (std::size_t i = 0; i < bill_.line_items.size(); ++i) {
            const LineItem& item = bill_.line_items[i];
            if (excluded(item)) continue;
            const auto index = static_cast<int>(i);
            const auto dimension = dimension_of(item, index);
            if (!dimension) continue;  // held
            DimensionTotal& total = dimensions[*dimension];
            total.items.push_back(index);
            auto sum = total.amount.add(item.subtotal);
            if (sum) {
                total.amount = *sum;
            } else {
                total.overflow = true;
            }
        }
        emit_targets(dimensions, *destination);
        return std::move(result_);
    }

private:
    SkipReason skip_reason(const Json* account) const {
        if (!integration_.enabled) return SkipReason::Disabled;
        if (!integration_.account_ids.empty() && !contains(integration_.account_ids, bill_.account_id)) {
            return SkipReason::AccountNotAllowed;
        }
        if (contains(integration_.restricted_account_ids, bill_.account_id)) return SkipReason::AccountRestricted;
        if (integration_.only_send_bill_on_approval && bill_.status != BillStatus::Approved) {
            return SkipReason::AwaitingApproval;
        }
        if (integration_.account_filter) {
            if (account == nullptr) return SkipReason::AccountUnresolved;
            if (!integration_.account_filter->matches(*account)) return SkipReason::AccountFilterFailed;
        }
        return SkipReason::None;
    }

    std::optional<Destination> resolve_destination() {
        Destination destination{{}, integration_.plan_id};
        switch (integration_.resource_id_from) {
            case ResourceIdSource::ExternalMapping: {
                const ExternalMapping* mapping = find_mapping(mappings_, integration_, MappingEntity::Account,
                                                              bill_.account_id, ExternalTable::Subscription);
                if (mapping == nullptr) {
                    hold_bill(HoldReason::NoAccountMapping,
                              "no AzureMarketplace Subscription mapping for account " + bill_.account_id);
                    return std::nullopt;
                }
                destination.resource_id = mapping->external_id;
                if (!mapping->plan_id.empty()) destination.plan_id = mapping->plan_id;
                break;
            }
            case ResourceIdSource::AccountCode:
                if (bill_.account_code.empty()) {
                    hold_bill(HoldReason::NoResourceId, "resource_id_from is account_code and the bill has no accountCode");
                    return std::nullopt;
                }
                destination.resource_id = bill_.account_code;
                break;
            case ResourceIdSource::AccountId: destination.resource_id = bill_.account_id; break;
        }
        // Azure answers a non-GUID resource id with an error for the whole
        // batch (BadArgument), which would hold back other bills' events too.
        if (!is_guid(destination.resource_id)) {
            hold_bill(HoldReason::InvalidResourceId,
                      "resource id \"" + destination.resource_id + "\" (from resource_id_from " +
                          std::string(to_string(integration_.resource_id_from)) + ") is not a GUID");
            return std::nullopt;
        }
        if (destination.plan_id.empty()) {
            hold_bill(HoldReason::NoPlan, "no plan id: set plan_id on the integration or the account mapping");
            return std::nullopt;
        }
        return destination;
    }

    bool excluded(const LineItem& item) const {
        return contains(integration_.excluded_line_item_types, item.type_name) ||
               contains(integration_.excluded_product_ids, item.product_id) ||
               contains(integration_.excluded_aggregation_ids, item.aggregation_id) ||
               contains(integration_.excluded_aggregation_ids, item.compound_aggregation_id);
    }

    // The dimension of an included item, or nullopt after holding it.
    std::optional<std::string> dimension_of(const LineItem& item, int index) {
        switch (integration_.split_usage_line_items) {
            case SplitMode::ItemPerBill: return integration_.marketplace_bill_dimension;
            case SplitMode::ItemPerProduct:
                if (item.product_id.empty()) return fallback(item, index, "product");
                return mapped_dimension(MappingEntity::Product, item.product_id, HoldReason::UnmappedProduct, item, index);
            case SplitMode::ItemPerAggregation:
                if (!item.aggregation_id.empty()) {
                    return mapped_dimension(MappingEntity::Aggregation, item.aggregation_id,
                                            HoldReason::UnmappedAggregation, item, index);
                }
                if (!item.compound_aggregation_id.empty()) {
                    return mapped_dimension(MappingEntity::CompoundAggregation, item.compound_aggregation_id,
                                            HoldReason::UnmappedAggregation, item, index);
                }
                return fallback(item, index, "aggregation");
        }
        return std::nullopt;
    }

    std::optional<std::string> mapped_dimension(MappingEntity entity, const std::string& m3ter_id, HoldReason reason,
                                                const LineItem& item, int index) {
        const ExternalMapping* mapping = find_mapping(mappings_, integration_, entity, m3ter_id, ExternalTable::Dimension);
        if (mapping == nullptr) {
            hold_item(item, index, reason,
                      "no AzureMarketplace Dimension mapping for " + std::string(to_string(entity)) + " " + m3ter_id);
            return std::nullopt;
        }
        return mapping->external_id;
    }

    // Items with no product/aggregation, credits included: fallback_dimension or held.
    std::optional<std::string> fallback(const LineItem& item, int index, std::string_view what) {
        if (integration_.fallback_dimension.empty()) {
            hold_item(item, index, HoldReason::NoGroup,
                      "line item has no " + std::string(what) + " and the integration has no fallback_dimension");
            return std::nullopt;
        }
        return integration_.fallback_dimension;
    }

    void emit_targets(const std::map<std::string, DimensionTotal>& dimensions, const Destination& destination) {
        for (const auto& [dimension, total] : dimensions) {
            if (total.overflow) {
                hold_items(total, HoldReason::AmountOverflow, "the sum of dimension " + dimension + " is out of range");
                continue;
            }
            // Checked on the amount, not the units: a total of -$0.004 rounds
            // to 0 units but is still a credit Azure cannot take.
            if (total.amount.is_negative()) {
                hold_items(total, HoldReason::NegativeTotal,
                           "dimension " + dimension + " totals " + total.amount.to_string() + " over " +
                               std::to_string(total.items.size()) + " line item(s): Azure takes no negative usage");
                continue;
            }
            auto units = total.amount.divide_to_integer(integration_.unit_price, integration_.rounding);
            if (!units) {
                hold_items(total, HoldReason::AmountOverflow, "dimension " + dimension + ": " + units.error().message);
                continue;
            }
            result_.targets.push_back(UsageTarget{integration_.id, bill_.id, destination.resource_id,
                                                  destination.plan_id, dimension, *units, total.amount, total.items});
        }
    }

    void hold_item(const LineItem& item, int index, HoldReason reason, std::string message) {
        result_.held.push_back(
            HeldLineItem{integration_.id, bill_.id, index, item.id, reason, std::move(message), item.subtotal});
    }

    void hold_items(const DimensionTotal& total, HoldReason reason, const std::string& message) {
        for (int index : total.items) {
            hold_item(bill_.line_items[static_cast<std::size_t>(index)], index, reason, message);
        }
    }

    void hold_bill(HoldReason reason, const std::string& message) {
        for (std::size_t i = 0; i < bill_.line_items.size(); ++i) {
            const LineItem& item = bill_.line_items[i];
            if (!excluded(item)) hold_item(item, static_cast<int>(i), reason, message);
        }
        if (result_.held.empty()) {
            result_.held.push_back(HeldLineItem{integration_.id, bill_.id, -1, {}, reason, message, Decimal{}});
        }
    }

    const IntegrationConfig& integration_;
    const Bill& bill_;
    std::span<const ExternalMapping> mappings_;
    Conversion result_;
};

}  // namespace

std::string_view to_string(HoldReason reason) {
    switch (reason) {
        case HoldReason::WrongCurrency: return "wrong_currency";
        case HoldReason::NoAccountMapping: return "no_account_mapping";
        case HoldReason::NoResourceId: return "no_resource_id";
        case HoldReason::NoPlan: return "no_plan";
        case HoldReason::UnmappedProduct: return "unmapped_product";
        case HoldReason::UnmappedAggregation: return "unmapped_aggregation";
        case HoldReason::NoGroup: return "no_product_or_aggregation";
        case HoldReason::NegativeTotal: return "negative_total";
        case HoldReason::AmountOverflow: return "amount_overflow";
        case HoldReason::InvalidResourceId: return "invalid_resource_id";
    }
    return "unknown";
}

bool holds_whole_bill(HoldReason reason) {
    switch (reason) {
        case HoldReason::WrongCurrency:
        case HoldReason::NoAccountMapping:
        case HoldReason::NoResourceId:
        case HoldReason::NoPlan:
        case HoldReason::InvalidResourceId: return true;
        case HoldReason::UnmappedProduct:
        case HoldReason::UnmappedAggregation:
        case HoldReason::NoGroup:
        case HoldReason::NegativeTotal:
        case HoldReason::AmountOverflow: return false;
    }
    return false;
}

std::string_view to_string(SkipReason reason) {
    switch (reason) {
        case SkipReason::None: return "none";
        case SkipReason::Disabled: return "integration_disabled";
        case SkipReason::AccountNotAllowed: return "account_not_in_account_ids";
        case SkipReason::AccountRestricted: return "account_restricted";
        case SkipReason::AwaitingApproval: return "awaiting_approval";
        case SkipReason::AccountFilterFailed: return "account_filter_failed";
        case SkipReason::AccountUnresolved: return "account_unresolved";
    }
    return "unknown";
}

std::vector<HeldTotal> total_held(std::span<const HeldLineItem> held) {
    std::map<std::pair<std::string, HoldReason>, HeldTotal> totals;
    for (const HeldLineItem& item : held) {
        HeldTotal& total = totals[{item.integration_id, item.reason}];
        total.integration_id = item.integration_id;
        total.reason = item.reason;
        if (item.line_item_index >= 0) ++total.line_items;
        if (total.overflow) continue;
        auto sum = total.amount.add(item.amount);
        if (sum) {
            total.amount = *sum;
        } else {
            total.overflow = true;
        }
    }
    std::vector<HeldTotal> out;
    out.reserve(totals.size());
    for (auto& [key, total] : totals) out.push_back(std::move(total));
    return out;
}

Conversion convert_bill(const IntegrationConfig& integration, const Bill& bill,
                        std::span<const ExternalMapping> mappings, const Json* account) {
    return Converter(integration, bill, mappings).run(account);
}

const ExternalMapping* find_mapping(std::span<const ExternalMapping> mappings, const IntegrationConfig& integration,
                                    MappingEntity entity, std::string_view m3ter_id, ExternalTable table) {
    const ExternalMapping* unlinked = nullptr;
    for (const ExternalMapping& mapping : mappings) {
        if (mapping.m3ter_entity != entity || mapping.m3ter_id != m3ter_id || mapping.external_table != table ||
            mapping.external_system != "AzureMarketplace") {
            continue;
        }
        if (mapping.integration_id == integration.id) return &mapping;  // linked: always wins
        if (mapping.integration_id.empty() && unlinked == nullptr) unlinked = &mapping;
    }
    return integration.enforce_external_mappings_for_config ? nullptr : unlinked;
}

}  // namespace meterbridge
