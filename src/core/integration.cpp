// Names of the integration enums, and the external mapping's JSON form
// (config `external_mappings[i]`, POST /mappings, GET /mappings).
#include "meterbridge/core/integration.hpp"

#include <array>
#include <utility>

namespace meterbridge {
namespace {

std::string join_path(std::string_view path, std::string_view key) {
    return path.empty() ? std::string(key) : std::string(path) + "." + std::string(key);
}

constexpr std::array<std::string_view, 8> kMappingKeys = {"id",          "m3ter_entity", "m3ter_id", "external_system",
                                                          "external_table", "external_id", "plan_id", "integration_id"};

// A present key must hold a non-empty string; absent gives nullopt.
Result<std::optional<std::string>> optional_string(const Json& object, std::string_view path, std::string_view key) {
    const auto found = object.find(std::string(key));
    if (found == object.end()) return std::optional<std::string>();
    const std::string field = join_path(path, key);
    if (!found->is_string()) return make_error("invalid_field", field + " must be a string", field);
    const auto& text = found->get_ref<const std::string&>();
    if (text.empty()) return make_error("invalid_field", field + " must not be empty", field);
    return std::optional<std::string>(text);
}

Result<std::string> required_string(const Json& object, std::string_view path, std::string_view key) {
    auto value = optional_string(object, path, key);
    if (!value) return value.error();
    if (!*value) {
        const std::string field = join_path(path, key);
        return make_error("missing_field", field + " is required", field);
    }
    return std::move(**value);
}

std::optional<MappingEntity> entity_from(std::string_view text) {
    if (text == "Account") return MappingEntity::Account;
    if (text == "Product") return MappingEntity::Product;
    if (text == "Aggregation") return MappingEntity::Aggregation;
    if (text == "CompoundAggregation") return MappingEntity::CompoundAggregation;
    return std::nullopt;
}

std::optional<ExternalTable> table_from(std::string_view text) {
    if (text == "Subscription") return ExternalTable::Subscription;
    if (text == "Dimension") return ExternalTable::Dimension;
    return std::nullopt;
}

// An Account maps to the Azure subscription (the usage event's resourceId);
// products and aggregations map to a marketplace dimension.
ExternalTable table_for(MappingEntity entity) {
    return entity == MappingEntity::Account ? ExternalTable::Subscription : ExternalTable::Dimension;
}

}  // namespace

std::string_view to_string(SplitMode mode) {
    switch (mode) {
        case SplitMode::ItemPerBill: return "ITEM_PER_BILL";
        case SplitMode::ItemPerProduct: return "ITEM_PER_PRODUCT";
        case SplitMode::ItemPerAggregation: return "ITEM_PER_AGGREGATION";
    }
    return "ITEM_PER_BILL";
}

std::string_view to_string(ResourceIdSource source) {
    switch (source) {
        case ResourceIdSource::ExternalMapping: return "external_mapping";
        case ResourceIdSource::AccountCode: return "account_code";
        case ResourceIdSource::AccountId: return "account_id";
    }
    return "external_mapping";
}

std::string_view to_string(MappingEntity entity) {
    switch (entity) {
        case MappingEntity::Account: return "Account";
        case MappingEntity::Product: return "Product";
        case MappingEntity::Aggregation: return "Aggregation";
        case MappingEntity::CompoundAggregation: return "CompoundAggregation";
    }
    return "Account";
}

std::string_view to_string(ExternalTable table) {
    switch (table) {
        case ExternalTable::Subscription: return "Subscription";
        case ExternalTable::Dimension: return "Dimension";
    }
    return "Subscription";
}

Result<ExternalMapping> parse_external_mapping(const Json& object, std::string_view path) {
    const std::string self = path.empty() ? std::string("mapping") : std::string(path);
    if (!object.is_object()) return make_error("invalid_field", self + " must be an object", std::string(path));
    for (const auto& [key, value] : object.items()) {
        bool known = false;
        for (const std::string_view allowed : kMappingKeys) known = known || key == allowed;
        if (!known) {
            const std::string field = join_path(path, key);
            return make_error("unknown_field", field + ": unknown key", field);
        }
    }

    ExternalMapping mapping;
    auto id = optional_string(object, path, "id");
    if (!id) return id.error();
    if (*id) mapping.id = std::move(**id);

    auto entity_text = required_string(object, path, "m3ter_entity");
    if (!entity_text) return entity_text.error();
    const auto entity = entity_from(*entity_text);
    if (!entity) {
        const std::string field = join_path(path, "m3ter_entity");
        return make_error("invalid_field",
                          field + " must be one of Account, Product, Aggregation, CompoundAggregation", field);
    }
    mapping.m3ter_entity = *entity;

    auto m3ter_id = required_string(object, path, "m3ter_id");
    if (!m3ter_id) return m3ter_id.error();
    mapping.m3ter_id = std::move(*m3ter_id);

    auto system = optional_string(object, path, "external_system");
    if (!system) return system.error();
    if (*system && **system != "AzureMarketplace") {
        const std::string field = join_path(path, "external_system");
        return make_error("invalid_field", field + " must be \"AzureMarketplace\"", field);
    }

    auto table_text = optional_string(object, path, "external_table");
    if (!table_text) return table_text.error();
    mapping.external_table = table_for(mapping.m3ter_entity);
    if (*table_text) {
        const std::string field = join_path(path, "external_table");
        const auto table = table_from(**table_text);
        if (!table) return make_error("invalid_field", field + " must be Subscription or Dimension", field);
        if (*table != mapping.external_table) {
            return make_error("invalid_field",
                              field + ": a " + std::string(to_string(mapping.m3ter_entity)) + " maps to an Azure " +
                                  std::string(to_string(mapping.external_table)) + ", not a " +
                                  std::string(to_string(*table)),
                              field);
        }
    }

    auto external_id = required_string(object, path, "external_id");
    if (!external_id) return external_id.error();
    mapping.external_id = std::move(*external_id);

    auto plan_id = optional_string(object, path, "plan_id");
    if (!plan_id) return plan_id.error();
    if (*plan_id) {
        if (mapping.m3ter_entity != MappingEntity::Account) {
            const std::string field = join_path(path, "plan_id");
            return make_error("invalid_field", field + " is allowed only on Account mappings", field);
        }
        mapping.plan_id = std::move(**plan_id);
    }

    auto integration_id = optional_string(object, path, "integration_id");
    if (!integration_id) return integration_id.error();
    if (*integration_id) mapping.integration_id = std::move(**integration_id);
    return mapping;
}

Json to_json(const ExternalMapping& mapping) {
    Json out = Json::object();
    if (!mapping.id.empty()) out["id"] = mapping.id;
    out["m3ter_entity"] = to_string(mapping.m3ter_entity);
    out["m3ter_id"] = mapping.m3ter_id;
    out["external_system"] = mapping.external_system;
    out["external_table"] = to_string(mapping.external_table);
    out["external_id"] = mapping.external_id;
    if (!mapping.plan_id.empty()) out["plan_id"] = mapping.plan_id;
    if (!mapping.integration_id.empty()) out["integration_id"] = mapping.integration_id;
    return out;
}

}  // namespace meterbridge
