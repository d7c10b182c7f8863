#pragma once
// The integration rules of the config file (SPEC §3): `integrations`,
// `external_mappings` and `accounts`, read with the tools of config_reader.hpp.
// The daemon's own settings (listen, storage, azure, ...) are read by the rooms
// that use them; the whole file is assembled in src/cli/config.hpp.
#include <vector>

#include "meterbridge/core/config_reader.hpp"
#include "meterbridge/core/integration.hpp"

namespace meterbridge {

struct IntegrationRules {
    std::vector<IntegrationConfig> integrations;
    std::vector<ExternalMapping> external_mappings;  // id "cfg-<index>" unless given
    std::vector<Json> accounts;                      // static m3ter Account objects, each with a string "id"
};

// Reads the three keys of `root` (the document). Throws ConfigError.
IntegrationRules parse_integration_rules(const ConfigSection& root, ConfigWarnings& warnings);

// The resolved integration as JSON: for check-config and for the config
// snapshot stored with each integration run.
Json integration_to_json(const IntegrationConfig& integration);
// Sets out["integrations"], out["external_mappings"] and out["accounts"].
void add_integration_rules_json(Json& out, const IntegrationRules& rules);

}  // namespace meterbridge
