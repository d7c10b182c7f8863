#pragma once
// m3ter's side of the config file (SPEC §2): the `webhook` section (how m3ter
// signs the deliveries it posts to us, and what we accept) and the `m3ter`
// section (the API client that fetches bills by id and accounts).
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "meterbridge/core/config_reader.hpp"
#include "meterbridge/net/server_config.hpp"

namespace meterbridge::m3ter {

enum class SignatureEncoding { Hex, Base64 };

struct WebhookSignatureConfig {
    // Placeholders: {url} {api_key} {timestamp} {body}.
    std::string string_to_sign = "{url}|{api_key}|{timestamp}|{body}";
    SignatureEncoding encoding = SignatureEncoding::Hex;
};

struct WebhookConfig {
    std::string path = "/webhooks/m3ter";
    std::optional<Secret> api_key;
    std::optional<Secret> api_secret;
    std::int64_t max_body_bytes = 1048576;
    std::int64_t max_clock_skew_s = 300;
    WebhookSignatureConfig signature;
    bool allow_unsigned = false;  // only accepted with a loopback listen address

    bool signed_requests() const { return api_key.has_value() && api_secret.has_value(); }
};

struct M3terConfig {
    std::string base_url = "https://api.m3ter.com";  // no trailing '/'
    std::string org_id;
    Secret client_id;
    Secret client_secret;
};

// Reads root["webhook"]; `listen` decides whether allow_unsigned may be used.
WebhookConfig parse_webhook_config(const ConfigSection& root, const net::ListenConfig& listen,
                                   const SecretSource& secrets, ConfigWarnings& warnings);
// Reads root["m3ter"]; nullopt when absent (no API client: id-only deliveries cannot be fetched).
std::optional<M3terConfig> parse_m3ter_config(const ConfigSection& root, const SecretSource& secrets,
                                              ConfigWarnings& warnings);

// Masked views for check-config (secrets as "***").
Json to_json(const WebhookConfig& webhook);
Json to_json(const std::optional<M3terConfig>& m3ter);
std::string_view to_string(SignatureEncoding encoding);

}  // namespace meterbridge::m3ter
