// Reading the `azure` section (SPEC §2).
#include "meterbridge/azure/azure_config.hpp"

#include <algorithm>

namespace meterbridge::azure {

AzureConfig parse_azure_config(const ConfigSection& root, const SecretSource& secrets, ConfigWarnings& warnings) {
    const auto section = ConfigSection::child(root, "azure",
                                              {"mode", "metering_base_url", "token_url", "tenant_id", "client_id",
                                               "client_secret", "api_version", "request_timeout_s", "sandbox_catalog"});
    AzureConfig azure;
    azure.mode = section.choice("mode", "sandbox", {"sandbox", "live"}) == "live" ? AzureMode::Live : AzureMode::Sandbox;
    const bool live = azure.mode == AzureMode::Live;
    azure.metering_base_url = section.url("metering_base_url", azure.metering_base_url, live);
    const std::string token_url = section.url("token_url", azure.token_url, live);
    azure.client_secret = section.optional_secret("client_secret", secrets, warnings);
    if (live) {
        azure.tenant_id = section.required_string("tenant_id");
        azure.client_id = section.required_string("client_id");
        if (!azure.client_secret) throw ConfigError(section.key("client_secret"), "is required in live mode");
    } else {
        azure.tenant_id = section.string("tenant_id", "sandbox-tenant");
        azure.client_id = section.string("client_id", "sandbox-client");
    }
    const bool tenant_ok = std::all_of(azure.tenant_id.begin(), azure.tenant_id.end(), [](char c) {
        return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.' ||
               c == '_';
    });
    if (!tenant_ok) throw ConfigError(section.key("tenant_id"), "must be a tenant id or domain (letters, digits, - . _)");
    azure.token_url = token_url;
    const std::string placeholder = "{tenant_id}";
    for (std::size_t at = azure.token_url.find(placeholder); at != std::string::npos;
         at = azure.token_url.find(placeholder, at + azure.tenant_id.size())) {
        azure.token_url.replace(at, placeholder.size(), azure.tenant_id);
    }
    if (azure.token_url.find_first_of("{}") != std::string::npos) {
        throw ConfigError(section.key("token_url"), "has an unknown placeholder (only {tenant_id} is known)");
    }
    azure.api_version = section.string("api_version", azure.api_version);
    azure.request_timeout_s = section.integer("request_timeout_s", azure.request_timeout_s, 1, 600);
    if (live && section.object("sandbox_catalog") != nullptr) {
        throw ConfigError(section.key("sandbox_catalog"), "is only used when azure.mode is \"sandbox\"");
    }
    return azure;
}

std::string_view to_string(AzureMode mode) { return mode == AzureMode::Live ? "live" : "sandbox"; }

Json to_json(const AzureConfig& azure) {
    return {{"mode", to_string(azure.mode)},
            {"metering_base_url", azure.metering_base_url},
            {"token_url", azure.token_url},
            {"tenant_id", azure.tenant_id},
            {"client_id", azure.client_id},
            {"client_secret", masked_secret_json(azure.client_secret)},
            {"api_version", azure.api_version},
            {"request_timeout_s", azure.request_timeout_s}};
}

}  // namespace meterbridge::azure
