// The integration rules of the config file (SPEC §3, m3ter's Azure
// integration `001_*`): integrations, external_mappings and accounts. They
// stay in the core because conversion is defined by them; every other section
// is read by the room that uses it.
#include "meterbridge/core/integration_config.hpp"

#include <algorithm>
#include <map>
#include <tuple>

#include "meterbridge/core/bill.hpp"

namespace meterbridge {
namespace {

Json optional_text(const std::string& text) { return text.empty() ? Json(nullptr) : Json(text); }

Decimal parse_unit_price(const ConfigSection& section) {
    const Json* value = section.find("unit_price");
    if (value == nullptr) return Decimal::parse("0.01").value();
    const std::string key = section.key("unit_price");
    Result<Decimal> price = make_error("invalid_value", "");
    if (value->is_string()) {
        price = Decimal::parse(value->get<std::string>());
    } else if (is_exact_number(*value)) {
        price = decimal_from_json(*value, key);
    } else {
        fail_config_type(key, *value, "a decimal string such as \"0.01\"");
    }
    if (!price) throw ConfigError(key, "must be a decimal such as \"0.01\": " + price.error().message);
    if (price->is_negative() || price->is_zero()) throw ConfigError(key, "must be greater than zero");
    return *price;
}

IntegrationConfig parse_integration(const Json& value, const std::string& path, ConfigWarnings& warnings) {
    const ConfigSection section(value, path,
                          {"id", "name", "enabled", "account_ids", "restricted_account_ids",
                           "only_send_bill_on_approval", "excluded_line_item_types", "account_filter",
                           "enforce_external_mappings_for_config", "excluded_product_ids", "excluded_aggregation_ids",
                           "split_usage_line_items", "marketplace_bill_dimension", "fallback_dimension", "plan_id",
                           "resource_id_from", "currency", "unit_price", "rounding"});
    IntegrationConfig integration;
    integration.id = section.required_string("id");
    integration.name = section.string("name", integration.id);
    integration.enabled = section.boolean("enabled", true);
    integration.account_ids = section.string_list("account_ids");
    integration.restricted_account_ids = section.string_list("restricted_account_ids");
    for (const std::string& account : integration.restricted_account_ids) {
        if (std::find(integration.account_ids.begin(), integration.account_ids.end(), account) !=
            integration.account_ids.end()) {
            warnings.push_back(section.key("restricted_account_ids") + ": account " + account +
                               " is also in account_ids; the restriction wins");
        }
    }
    integration.only_send_bill_on_approval = section.boolean("only_send_bill_on_approval", false);
    integration.excluded_line_item_types = section.string_list("excluded_line_item_types");
    for (std::size_t i = 0; i < integration.excluded_line_item_types.size(); ++i) {
        const std::string& type = integration.excluded_line_item_types[i];
        if (!is_known_line_item_type_name(type)) {
            throw ConfigError(index_key(section.key("excluded_line_item_types"), i),
                              "unknown line item type \"" + type.substr(0, 64) + "\" (e.g. USAGE, STANDING_CHARGE)");
        }
    }
    if (const auto filter_text = section.optional_string("account_filter", true)) {
        auto filter = AccountFilter::parse(*filter_text);
        if (!filter) throw ConfigError(section.key("account_filter"), filter.error().message);
        integration.account_filter = std::move(*filter);
    }
    integration.enforce_external_mappings_for_config = section.boolean("enforce_external_mappings_for_config", false);
    integration.excluded_product_ids = section.string_list("excluded_product_ids");
    integration.excluded_aggregation_ids = section.string_list("excluded_aggregation_ids");

    const Json* split = section.find("split_usage_line_items");
    if (split == nullptr) {
        throw ConfigError(section.key("split_usage_line_items"),
                          "is required: ITEM_PER_BILL, ITEM_PER_PRODUCT or ITEM_PER_AGGREGATION");
    }
    const std::string mode =
        section.choice("split_usage_line_items", "", {"ITEM_PER_BILL", "ITEM_PER_PRODUCT", "ITEM_PER_AGGREGATION"});
    integration.split_usage_line_items = mode == "ITEM_PER_BILL"      ? SplitMode::ItemPerBill
                                         : mode == "ITEM_PER_PRODUCT" ? SplitMode::ItemPerProduct
                                                                      : SplitMode::ItemPerAggregation;
    integration.marketplace_bill_dimension = section.string("marketplace_bill_dimension", "");
    if (integration.split_usage_line_items == SplitMode::ItemPerBill && integration.marketplace_bill_dimension.empty()) {
        throw ConfigError(section.key("marketplace_bill_dimension"), "is required with ITEM_PER_BILL");
    }
    if (integration.split_usage_line_items != SplitMode::ItemPerBill && !integration.marketplace_bill_dimension.empty()) {
        warnings.push_back(section.key("marketplace_bill_dimension") + " is ignored with " + mode);
    }
    integration.fallback_dimension = section.string("fallback_dimension", "");
    integration.plan_id = section.string("plan_id", "");

    const std::string source =
        section.choice("resource_id_from", "external_mapping", {"external_mapping", "account_code", "account_id"});
    integration.resource_id_from = source == "account_code" ? ResourceIdSource::AccountCode
                                   : source == "account_id" ? ResourceIdSource::AccountId
                                                            : ResourceIdSource::ExternalMapping;
    if (integration.resource_id_from != ResourceIdSource::ExternalMapping && integration.plan_id.empty()) {
        throw ConfigError(section.key("plan_id"), "is required when resource_id_from is " + source +
                                                      " (there is no Account mapping to carry a plan)");
    }

    integration.currency = section.string("currency", "USD");
    if (integration.currency.size() != 3 ||
        !std::all_of(integration.currency.begin(), integration.currency.end(), [](char c) { return c >= 'A' && c <= 'Z'; })) {
        throw ConfigError(section.key("currency"), "must be an ISO 4217 code such as \"USD\"");
    }
    integration.unit_price = parse_unit_price(section);
    if (const auto rounding_text = section.optional_string("rounding", true)) {
        auto rounding = parse_rounding(*rounding_text);
        if (!rounding) throw ConfigError(section.key("rounding"), rounding.error().message);
        integration.rounding = *rounding;
    }
    return integration;
}

std::vector<IntegrationConfig> parse_integrations_list(const ConfigSection& root, ConfigWarnings& warnings) {
    std::vector<IntegrationConfig> integrations;
    const Json* list = root.array("integrations");
    if (list == nullptr || list->empty()) {
        warnings.push_back("no integrations configured: bills are stored but nothing is sent to Azure");
        return integrations;
    }
    std::map<std::string, std::size_t> seen;
    for (std::size_t i = 0; i < list->size(); ++i) {
        const std::string path = index_key("integrations", i);
        integrations.push_back(parse_integration((*list)[i], path, warnings));
        const auto [at, inserted] = seen.emplace(integrations.back().id, i);
        if (!inserted) {
            throw ConfigError(child_key(path, "id"), "duplicate integration id \"" + at->first +
                                                         "\" (also integrations[" + std::to_string(at->second) + "])");
        }
    }
    return integrations;
}

std::vector<ExternalMapping> parse_mappings(const ConfigSection& root, const std::vector<IntegrationConfig>& integrations) {
    std::vector<ExternalMapping> mappings;
    const Json* list = root.array("external_mappings");
    if (list == nullptr) return mappings;
    std::map<std::string, std::size_t> ids;
    std::map<std::tuple<MappingEntity, std::string, std::string>, std::size_t> targets;
    for (std::size_t i = 0; i < list->size(); ++i) {
        const std::string path = index_key("external_mappings", i);
        auto parsed = parse_external_mapping((*list)[i], path);
        if (!parsed) {
            // Mapping errors are self-contained ("<field> is required") for the HTTP API;
            // here the key is printed separately, so drop it from the message.
            const Error& error = parsed.error();
            std::string message = error.message;
            if (!error.field.empty() && message.rfind(error.field, 0) == 0) {
                message.erase(0, error.field.size());
                if (message.rfind(": ", 0) == 0) message.erase(0, 2);
                if (message.rfind(' ', 0) == 0) message.erase(0, 1);
            }
            throw ConfigError(error.field, message);
        }
        ExternalMapping mapping = std::move(*parsed);
        if (mapping.id.empty()) mapping.id = "cfg-" + std::to_string(i);
        const auto id_seen = ids.emplace(mapping.id, i);
        if (!id_seen.second) {
            throw ConfigError(child_key(path, "id"), "duplicate mapping id \"" + mapping.id +
                                                         "\" (also external_mappings[" +
                                                         std::to_string(id_seen.first->second) + "])");
        }
        if (!mapping.integration_id.empty() &&
            std::none_of(integrations.begin(), integrations.end(),
                         [&](const IntegrationConfig& integration) { return integration.id == mapping.integration_id; })) {
            throw ConfigError(child_key(path, "integration_id"),
                              "no integration has id \"" + mapping.integration_id.substr(0, 64) + "\"");
        }
        // Two mappings of one entity in one scope would make the target ambiguous.
        const auto target_seen =
            targets.emplace(std::make_tuple(mapping.m3ter_entity, mapping.m3ter_id, mapping.integration_id), i);
        if (!target_seen.second) {
            throw ConfigError(path, "duplicate mapping for " + std::string(to_string(mapping.m3ter_entity)) + " \"" +
                                        mapping.m3ter_id.substr(0, 64) + "\"" +
                                        (mapping.integration_id.empty() ? "" : " in integration " + mapping.integration_id) +
                                        " (also external_mappings[" + std::to_string(target_seen.first->second) + "])");
        }
        mappings.push_back(std::move(mapping));
    }
    return mappings;
}

std::vector<Json> parse_accounts(const ConfigSection& root) {
    std::vector<Json> accounts;
    const Json* list = root.array("accounts");
    if (list == nullptr) return accounts;
    std::map<std::string, std::size_t> seen;
    for (std::size_t i = 0; i < list->size(); ++i) {
        const std::string path = index_key("accounts", i);
        const Json& account = (*list)[i];
        if (!account.is_object()) fail_config_type(path, account, "an object (an m3ter Account)");
        const auto id = account.find("id");
        if (id == account.end()) throw ConfigError(child_key(path, "id"), "is required");
        if (!id->is_string() || id->get_ref<const std::string&>().empty()) {
            throw ConfigError(child_key(path, "id"), "must be a non-empty string");
        }
        const auto [at, inserted] = seen.emplace(id->get<std::string>(), i);
        if (!inserted) {
            throw ConfigError(child_key(path, "id"), "duplicate account id \"" + at->first + "\" (also accounts[" +
                                                         std::to_string(at->second) + "])");
        }
        accounts.push_back(account);
    }
    return accounts;
}

}  // namespace

IntegrationRules parse_integration_rules(const ConfigSection& root, ConfigWarnings& warnings) {
    IntegrationRules rules;
    rules.integrations = parse_integrations_list(root, warnings);
    rules.external_mappings = parse_mappings(root, rules.integrations);
    rules.accounts = parse_accounts(root);
    return rules;
}

Json integration_to_json(const IntegrationConfig& integration) {
    Json out = Json::object();
    out["id"] = integration.id;
    out["name"] = integration.name;
    out["enabled"] = integration.enabled;
    out["account_ids"] = integration.account_ids;
    out["restricted_account_ids"] = integration.restricted_account_ids;
    out["only_send_bill_on_approval"] = integration.only_send_bill_on_approval;
    out["excluded_line_item_types"] = integration.excluded_line_item_types;
    out["account_filter"] = integration.account_filter ? Json(integration.account_filter->text()) : Json(nullptr);
    out["enforce_external_mappings_for_config"] = integration.enforce_external_mappings_for_config;
    out["excluded_product_ids"] = integration.excluded_product_ids;
    out["excluded_aggregation_ids"] = integration.excluded_aggregation_ids;
    out["split_usage_line_items"] = to_string(integration.split_usage_line_items);
    out["marketplace_bill_dimension"] = optional_text(integration.marketplace_bill_dimension);
    out["fallback_dimension"] = optional_text(integration.fallback_dimension);
    out["plan_id"] = optional_text(integration.plan_id);
    out["resource_id_from"] = to_string(integration.resource_id_from);
    out["currency"] = integration.currency;
    out["unit_price"] = integration.unit_price.to_string();
    out["rounding"] = to_string(integration.rounding);
    return out;
}

void add_integration_rules_json(Json& out, const IntegrationRules& rules) {
    Json integrations = Json::array();
    for (const IntegrationConfig& integration : rules.integrations) integrations.push_back(integration_to_json(integration));
    out["integrations"] = std::move(integrations);
    Json mappings = Json::array();
    for (const ExternalMapping& mapping : rules.external_mappings) mappings.push_back(to_json(mapping));
    out["external_mappings"] = std::move(mappings);
    out["accounts"] = rules.accounts;
}

}  // namespace meterbridge
