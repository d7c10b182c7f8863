#pragma once
// The whole config file (SPEC §2, §3): each section parsed and validated by
// the room that owns it, assembled here for the daemon's wiring. Errors are
// ConfigError naming the full key path; one `check-config` runs all of them.
#include <optional>
#include <string_view>

#include "meterbridge/azure/azure_config.hpp"
#include "meterbridge/core/config_reader.hpp"
#include "meterbridge/core/integration_config.hpp"
#include "meterbridge/m3ter/m3ter_config.hpp"
#include "meterbridge/net/server_config.hpp"
#include "meterbridge/sandbox/catalog_config.hpp"
#include "meterbridge/store/storage_config.hpp"
#include "ops/ops_config.hpp"
#include "pipeline/scheduler_config.hpp"
#include "platform/logging.hpp"
#include "reconcile/reconcile_config.hpp"

namespace meterbridge::app {

struct Config {
    net::ServerConfig server;                  // listen, public_base_url, trusted_proxies
    store::StorageConfig storage;
    LogConfig log;
    m3ter::WebhookConfig webhook;
    std::optional<m3ter::M3terConfig> m3ter;
    OpsConfig ops;
    azure::AzureConfig azure;
    std::optional<sandbox::SandboxCatalog> sandbox_catalog;  // azure.sandbox_catalog (sandbox mode only)
    SchedulerConfig scheduler;
    IntegrationRules rules;                    // integrations, external_mappings, accounts
    ReconciliationConfig reconciliation;
    TestingConfig testing;

    ConfigWarnings warnings;  // non-fatal findings, in document order
};

// Parses the config file text (with parse_exact_json, so decimals stay exact).
// Throws ConfigError.
Config parse_config(std::string_view text, const SecretSource& secrets);
// The same for an already parsed document (it must come from parse_exact_json).
Config parse_config_document(const Json& document, const SecretSource& secrets);

// The resolved config as JSON, every secret shown as "***" (check-config).
Json config_to_masked_json(const Config& config);

}  // namespace meterbridge::app
