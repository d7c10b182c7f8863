#pragma once
// The `azure` section of the config file (SPEC §2): where the metering API and
// the Entra token endpoint are, and the app registration that signs in.
// (`azure.sandbox_catalog` belongs to the sandbox room, which reads it.)
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "meterbridge/core/config_reader.hpp"

namespace meterbridge::azure {

enum class AzureMode { Sandbox, Live };

struct AzureConfig {
    AzureMode mode = AzureMode::Sandbox;
    std::string metering_base_url = "https://marketplaceapi.microsoft.com";  // no trailing '/'
    // With {tenant_id} substituted when tenant_id is known.
    std::string token_url = "https://login.microsoftonline.com/{tenant_id}/oauth2/v2.0/token";
    std::string tenant_id;  // sandbox default "sandbox-tenant"
    std::string client_id;  // sandbox default "sandbox-client"
    std::optional<Secret> client_secret;  // required in live mode
    std::string api_version = "2018-08-31";
    std::int64_t request_timeout_s = 30;
};

// Reads root["azure"] (absent: sandbox mode). Throws ConfigError.
AzureConfig parse_azure_config(const ConfigSection& root, const SecretSource& secrets, ConfigWarnings& warnings);
Json to_json(const AzureConfig& azure);  // the client secret masked
std::string_view to_string(AzureMode mode);

}  // namespace meterbridge::azure
