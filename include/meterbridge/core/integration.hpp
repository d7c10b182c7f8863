#pragma once
// An integration (one m3ter -> Azure Marketplace bill integration) and the
// external mappings it reads (SPEC §3, seed 001). Plain data; parsing is in
// config.cpp, the rules that apply them in conversion.cpp.
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "meterbridge/core/account_filter.hpp"
#include "meterbridge/core/decimal.hpp"
#include "meterbridge/core/exact_json.hpp"
#include "meterbridge/core/result.hpp"

namespace meterbridge {

enum class SplitMode { ItemPerBill, ItemPerProduct, ItemPerAggregation };
enum class ResourceIdSource { ExternalMapping, AccountCode, AccountId };

std::string_view to_string(SplitMode mode);         // "ITEM_PER_BILL", ...
std::string_view to_string(ResourceIdSource source);  // "external_mapping", ...

struct IntegrationConfig {
    std::string id;
    std::string name;
    bool enabled = true;
    std::vector<std::string> account_ids;             // empty = all accounts
    std::vector<std::string> restricted_account_ids;  // never these
    bool only_send_bill_on_approval = false;
    std::vector<std::string> excluded_line_item_types;  // m3ter type names
    std::optional<AccountFilter> account_filter;
    bool enforce_external_mappings_for_config = false;
    std::vector<std::string> excluded_product_ids;
    std::vector<std::string> excluded_aggregation_ids;  // aggregation or compound aggregation ids
    SplitMode split_usage_line_items = SplitMode::ItemPerBill;
    std::string marketplace_bill_dimension;  // required for ItemPerBill
    std::string fallback_dimension;          // empty = items without product/aggregation are held
    std::string plan_id;                     // default Azure plan
    ResourceIdSource resource_id_from = ResourceIdSource::ExternalMapping;
    std::string currency = "USD";
    Decimal unit_price = Decimal::parse("0.01").value();
    Rounding rounding = Rounding::HalfUp;
};

enum class MappingEntity { Account, Product, Aggregation, CompoundAggregation };
enum class ExternalTable { Subscription, Dimension };

std::string_view to_string(MappingEntity entity);  // "Account", ...
std::string_view to_string(ExternalTable table);   // "Subscription", "Dimension"

struct ExternalMapping {
    std::string id;  // assigned by the store for run-time mappings; config ones get "cfg-<n>"
    MappingEntity m3ter_entity = MappingEntity::Account;
    std::string m3ter_id;
    std::string external_system = "AzureMarketplace";
    ExternalTable external_table = ExternalTable::Subscription;
    std::string external_id;
    std::string plan_id;         // Account mappings only; empty = the integration's plan_id
    std::string integration_id;  // empty = unlinked; else a linked mapping
};

// Parses and validates one mapping object (config `external_mappings[i]` or
// the body of POST /mappings). Unknown keys are errors; `path` prefixes field names.
Result<ExternalMapping> parse_external_mapping(const Json& object, std::string_view path = "");
Json to_json(const ExternalMapping& mapping);

}  // namespace meterbridge
