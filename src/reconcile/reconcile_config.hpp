#pragma once
// The `reconciliation` section of the config file (SPEC §8): which Azure
// sources to read, how Azure's names map to ours, the daily run and whether
// settlements are applied on their own.
#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "meterbridge/core/config_reader.hpp"
#include "meterbridge/core/recon.hpp"

namespace meterbridge::app {

struct PartnerBillingSourceConfig {
    std::string graph_base_url = "https://graph.microsoft.com";  // no trailing '/'
    // The app registration that reads the export; absent: azure's own
    // (token_url, tenant_id, client_id, client_secret).
    std::string token_url;
    std::string client_id;
    std::optional<Secret> client_secret;
    std::string currency_code = "USD";
};

struct EaChargesSourceConfig {
    std::string base_url = "https://consumption.azure.com";  // no trailing '/'
    std::string enrollment;        // the EA enrollment number (digits)
    std::optional<Secret> api_key;  // the EA API key (bearer); required for a live source
};

struct ReconciliationConfig {
    std::vector<recon::Source> sources = {recon::Source::UsageEvents};
    bool auto_settle = false;
    // The daily run (UTC "HH:MM"); nullopt = no daily run.
    std::optional<std::chrono::minutes> daily_at = std::chrono::hours{2} + std::chrono::minutes{30};
    std::int64_t lookback_days = 7;  // the daily run covers the days from today - lookback_days to yesterday
    // Azure subscription id -> SaaS resource id (partner_billing and ea_charges
    // know only the customer's Azure subscription).
    std::vector<std::pair<std::string, std::string>> subscriptions;
    std::map<recon::Source, Duration> processing_delay;  // absent: recon::default_processing_delay
    PartnerBillingSourceConfig partner_billing;
    EaChargesSourceConfig ea_charges;

    bool uses(recon::Source source) const;
};

// Reads root["reconciliation"] (absent: usage_events only, daily at 02:30,
// no auto-settle). Throws ConfigError naming the key.
ReconciliationConfig parse_reconciliation_config(const ConfigSection& root, const SecretSource& secrets,
                                                 ConfigWarnings& warnings);
Json to_json(const ReconciliationConfig& config);  // secrets masked

}  // namespace meterbridge::app
