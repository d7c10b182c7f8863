#pragma once
// The sandbox's catalog as the config file gives it (`azure.sandbox_catalog`,
// SPEC §2) and as `meterbridge sandbox --catalog FILE` reads it: one parser for
// both, so that one can be pasted into the other (Azure's camelCase keys).
#include <optional>
#include <string>

#include "meterbridge/core/config_reader.hpp"
#include "meterbridge/sandbox/sandbox_core.hpp"

namespace meterbridge::sandbox {

// {"subscriptions":[{"resourceId","planId","azureSubscriptionId"?,"offerId"?,"status"?}],
//  "plans":[{"planId","dimensions":["..."]}]} at key path `path`. Every
// subscription's plan must be listed; resources and plans are unique.
// Throws ConfigError.
SandboxCatalog parse_catalog(const Json& value, const std::string& path);

// root["azure"]["sandbox_catalog"], or nullopt when absent. (The azure room
// checks that it is only given in sandbox mode.)
std::optional<SandboxCatalog> parse_sandbox_catalog_config(const ConfigSection& root);

// The catalog in the same shape, for check-config; null when absent.
Json to_json(const std::optional<SandboxCatalog>& catalog);

}  // namespace meterbridge::sandbox
