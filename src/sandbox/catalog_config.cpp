// Reading the sandbox catalog (config file and --catalog file alike).
#include "meterbridge/sandbox/catalog_config.hpp"

#include <algorithm>
#include <cctype>
#include <map>

namespace meterbridge::sandbox {

SandboxCatalog parse_catalog(const Json& value, const std::string& path) {
    const ConfigSection section(value, path, {"subscriptions", "plans"});
    SandboxCatalog catalog;
    std::map<std::string, std::size_t> plan_at;
    if (const Json* plans = section.array("plans")) {
        for (std::size_t i = 0; i < plans->size(); ++i) {
            const ConfigSection plan((*plans)[i], index_key(section.key("plans"), i), {"planId", "dimensions"});
            CatalogPlan entry{plan.required_string("planId"), plan.string_list("dimensions")};
            if (const auto [at, fresh] = plan_at.emplace(entry.plan_id, i); !fresh) {
                throw ConfigError(plan.key("planId"), "duplicate plan \"" + entry.plan_id + "\" (also " +
                                                          index_key(section.key("plans"), at->second) + ")");
            }
            catalog.plans.push_back(std::move(entry));
        }
    }
    std::map<std::string, std::size_t> resource_at;
    if (const Json* subscriptions = section.array("subscriptions")) {
        for (std::size_t i = 0; i < subscriptions->size(); ++i) {
            const ConfigSection sub((*subscriptions)[i], index_key(section.key("subscriptions"), i),
                                    {"resourceId", "planId", "azureSubscriptionId", "offerId", "status"});
            CatalogSubscription entry;
            entry.resource_id = sub.required_string("resourceId");
            entry.plan_id = sub.required_string("planId");
            entry.azure_subscription_id = sub.string("azureSubscriptionId", "");
            entry.offer_id = sub.string("offerId", "");
            entry.status =
                sub.choice("status", "Subscribed", {"Subscribed", "Suspended", "Unsubscribed", "PendingFulfillmentStart"});
            // A plan missing from "plans" would make every event InvalidDimension: a typo, not a test case.
            if (!plan_at.contains(entry.plan_id)) {
                throw ConfigError(sub.key("planId"), "\"" + entry.plan_id + "\" is not in " + section.key("plans"));
            }
            std::string lowered = entry.resource_id;
            std::transform(lowered.begin(), lowered.end(), lowered.begin(),
                           [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
            if (const auto [at, fresh] = resource_at.emplace(lowered, i); !fresh) {
                throw ConfigError(sub.key("resourceId"), "duplicate resource \"" + entry.resource_id + "\" (also " +
                                                             index_key(section.key("subscriptions"), at->second) + ")");
            }
            catalog.subscriptions.push_back(std::move(entry));
        }
    }
    return catalog;
}

std::optional<SandboxCatalog> parse_sandbox_catalog_config(const ConfigSection& root) {
    const Json* azure = root.object("azure");
    if (azure == nullptr) return std::nullopt;
    const auto found = azure->find("sandbox_catalog");
    if (found == azure->end() || found->is_null()) return std::nullopt;
    return parse_catalog(*found, "azure.sandbox_catalog");
}

Json to_json(const std::optional<SandboxCatalog>& catalog) {
    if (!catalog) return nullptr;
    Json subscriptions = Json::array();
    for (const auto& sub : catalog->subscriptions) {
        subscriptions.push_back({{"resourceId", sub.resource_id},
                                 {"planId", sub.plan_id},
                                 {"azureSubscriptionId", sub.azure_subscription_id},
                                 {"offerId", sub.offer_id},
                                 {"status", sub.status}});
    }
    Json plans = Json::array();
    for (const auto& plan : catalog->plans) plans.push_back({{"planId", plan.plan_id}, {"dimensions", plan.dimensions}});
    return {{"subscriptions", std::move(subscriptions)}, {"plans", std::move(plans)}};
}

}  // namespace meterbridge::sandbox
