#pragma once
// The reconciliation sources of the config as readers for the reconcile room:
// the azure room's clients (usage events, partner billing export, EA charges),
// built per run so that each run's exchanges are logged under it. Shared by
// the daemon (its Reconciler) and `meterbridge reconcile`.
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "cli/config.hpp"
#include "meterbridge/azure/token_provider.hpp"
#include "meterbridge/net/http_client.hpp"
#include "reconcile/reconcile_run.hpp"

namespace meterbridge::app {

// Where Azure's side answers: the configured URLs, or the sandbox's.
struct AzureEndpoints {
    std::string metering_base_url;
    std::string token_url;        // with the tenant, as the metering token provider uses it
    std::string graph_base_url;   // partner billing
    std::string ea_base_url;      // EA charges
    std::string ea_api_key;       // the configured key, or the sandbox's
    std::string ea_enrollment;
};

// The live endpoints of `config` (azure.* and reconciliation.*).
AzureEndpoints live_endpoints(const Config& config);
// Every endpoint at a sandbox's base URL (the built-in one, or `meterbridge sandbox`).
AzureEndpoints sandbox_endpoints(const Config& config, const std::string& sandbox_base_url,
                                 const std::string& token_url);

class ReconcileSources {
public:
    // `metering_tokens` is the daemon's (or the command's) marketplace token
    // provider; a Graph one is made here when partner_billing is used.
    // `ea_file`: read EA charges from this file instead of the API.
    ReconcileSources(const Config& config, AzureEndpoints endpoints, net::HttpTransport& http,
                     azure::TokenProvider& metering_tokens, const Clock& clock,
                     std::optional<std::filesystem::path> ea_file = std::nullopt);
    ~ReconcileSources();

    // A reader per source of reconciliation.sources (and ea_charges when an
    // EA file is given).
    std::map<recon::Source, SourceReader> readers();

private:
    const Config& config_;
    AzureEndpoints endpoints_;
    net::HttpTransport& http_;
    azure::TokenProvider& metering_tokens_;
    const Clock& clock_;
    std::optional<std::filesystem::path> ea_file_;
    std::unique_ptr<azure::TokenProvider> graph_tokens_;
};

}  // namespace meterbridge::app
