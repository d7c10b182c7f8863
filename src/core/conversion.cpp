#include "meterbridge/core/conversion.hpp"

#include <algorithm>
#include <map>
#include <optional>

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

// A set of line items whose subtotals are summed and rounded together.
struct Group {
    std::string dimension;
    Decimal amount;
    std::vector<int> items;  // line item indexes
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

        std::map<std::string, Group> groups;  // by group id (product, aggregation, "" = bill/fallback)
        for (std::size_t i = 0; i < bill_.line_items.size(); ++i) {
            const LineItem& item = bill_.line_items[i];
            if (excluded(item)) continue;
            const auto index = static_cast<int>(i);
            const auto group = group_of(item, index);
            if (!group) continue;  // held
            Group& g = groups[group->first];
            g.dimension = group->second;
            g.items.push_back(index);
            auto sum = g.amount.add(item.subtotal);
            if (sum) {
                g.amount = *sum;
            } else {
                g.overflow = true;
            }
        }
        emit_targets(groups, *destination);
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

    // (group id, dimension) of an included item, or nullopt after holding it.
    std::optional<std::pair<std::string, std::string>> group_of(const LineItem& item, int index) {
        switch (integration_.split_usage_line_items) {
            case SplitMode::ItemPerBill: return std::pair{std::string{}, integration_.marketplace_bill_dimension};
            case SplitMode::ItemPerProduct:
                if (item.product_id.empty()) return fallback(item, index, "product");
                return mapped_group("product:", MappingEntity::Product, item.product_id, HoldReason::UnmappedProduct,
                                    item, index);
            case SplitMode::ItemPerAggregation:
                if (!item.aggregation_id.empty()) {
                    return mapped_group("aggregation:", MappingEntity::Aggregation, item.aggregation_id,
                                        HoldReason::UnmappedAggregation, item, index);
                }
                if (!item.compound_aggregation_id.empty()) {
                    return mapped_group("compound:", MappingEntity::CompoundAggregation, item.compound_aggregation_id,
                                        HoldReason::UnmappedAggregation, item, index);
                }
                return fallback(item, index, "aggregation");
        }
        return std::nullopt;
    }

    std::optional<std::pair<std::string, std::string>> mapped_group(std::string_view prefix, MappingEntity entity,
                                                                    const std::string& m3ter_id, HoldReason reason,
                                                                    const LineItem& item, int index) {
        const ExternalMapping* mapping = find_mapping(mappings_, integration_, entity, m3ter_id, ExternalTable::Dimension);
        if (mapping == nullptr) {
            hold_item(item, index, reason,
                      "no AzureMarketplace Dimension mapping for " + std::string(to_string(entity)) + " " + m3ter_id);
            return std::nullopt;
        }
        return std::pair{std::string(prefix) + m3ter_id, mapping->external_id};
    }

    std::optional<std::pair<std::string, std::string>> fallback(const LineItem& item, int index, std::string_view what) {
        if (integration_.fallback_dimension.empty()) {
            hold_item(item, index, HoldReason::NoGroup,
                      "line item has no " + std::string(what) + " and the integration has no fallback_dimension");
            return std::nullopt;
        }
        return std::pair{std::string("fallback"), integration_.fallback_dimension};
    }

    void emit_targets(const std::map<std::string, Group>& groups, const Destination& destination) {
        std::map<std::string, UsageTarget> by_dimension;
        for (const auto& [group_id, group] : groups) {
            if (group.overflow) {
                hold_group(group, HoldReason::AmountOverflow, "the sum of group " + group_id + " is out of range");
                continue;
            }
            auto units = group.amount.divide_to_integer(integration_.unit_price, integration_.rounding);
            if (!units) {
                hold_group(group, HoldReason::AmountOverflow, "group " + group_id + ": " + units.error().message);
                continue;
            }
            if (*units < 0) {
                hold_group(group, HoldReason::NegativeTotal,
                           "group " + group_id + " totals " + group.amount.to_string() + ": Azure takes no negative usage");
                continue;
            }
            UsageTarget& target = by_dimension[group.dimension];
            if (target.dimension.empty()) {
                target = UsageTarget{integration_.id, bill_.id, destination.resource_id, destination.plan_id,
                                     group.dimension, 0, Decimal{}};
            }
            auto amount = target.amount.add(group.amount);
            if (!amount || target.units > INT64_MAX - *units) {
                hold_group(group, HoldReason::AmountOverflow, "dimension " + group.dimension + " total is out of range");
                continue;
            }
            target.amount = *amount;
            target.units += *units;
        }
        for (auto& [dimension, target] : by_dimension) result_.targets.push_back(std::move(target));
    }

    void hold_item(const LineItem& item, int index, HoldReason reason, std::string message) {
        result_.held.push_back(
            HeldLineItem{integration_.id, bill_.id, index, item.id, reason, std::move(message), item.subtotal});
    }

    void hold_group(const Group& group, HoldReason reason, const std::string& message) {
        for (int index : group.items) {
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
    }
    return "unknown";
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
