#pragma once
// The meterbridge config file (SPEC §2, §3), parsed and validated into typed
// per-section structs with every default applied. Config is start-up code, so
// errors are exceptions (ConfigError) naming the full key path, e.g.
// "integrations[1].acount_filter". The core does no I/O: secrets are resolved
// through an injected SecretSource.
#include <cstdint>
#include <optional>
#include <ostream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "meterbridge/core/exact_json.hpp"
#include "meterbridge/core/integration.hpp"
#include "meterbridge/core/ip_address.hpp"

namespace meterbridge {

// A config error: `key()` is the full key path ("" for the document itself),
// `what()` the message. Messages never contain secret values.
class ConfigError : public std::runtime_error {
public:
    ConfigError(std::string key, const std::string& message) : std::runtime_error(message), key_(std::move(key)) {}
    const std::string& key() const noexcept { return key_; }

private:
    std::string key_;
};

// Where secrets come from. Implementations: the process environment and the
// file system (src/app), maps in tests. Both return nullopt when absent/unreadable.
class SecretSource {
public:
    virtual ~SecretSource() = default;
    virtual std::optional<std::string> env(const std::string& name) const = 0;
    virtual std::optional<std::string> file(const std::string& path) const = 0;  // raw contents
};

// A resolved secret. The value is reachable through value(), but streaming or
// masked() never shows it, so a Secret in a log line prints "***".
class Secret {
public:
    Secret() = default;
    Secret(std::string value, std::string reference) : value_(std::move(value)), reference_(std::move(reference)) {}

    const std::string& value() const noexcept { return value_; }
    // How it was given: "env:NAME", "file:/path" or "literal". Not secret.
    const std::string& reference() const noexcept { return reference_; }
    static std::string_view masked() noexcept { return "***"; }

    friend std::ostream& operator<<(std::ostream& out, const Secret&) { return out << masked(); }

private:
    std::string value_;
    std::string reference_;
};

struct ListenConfig {
    std::string address = "127.0.0.1";  // an IP literal
    std::uint16_t port = 8080;          // 0 = ephemeral (tests)
    bool is_loopback() const;
};

struct StorageConfig {
    std::string sqlite_path = "var/meterbridge.db";
    std::int64_t payload_retention_days = 400;
};

enum class LogFormat { Text, JsonLines };  // "text" | "json" (one JSON object per line)

struct LogConfig {
    std::string level = "info";  // trace | debug | info | warn | error | critical | off
    LogFormat format = LogFormat::Text;
};

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

struct OpsConfig {
    std::optional<Secret> token;  // absent = ops endpoints open; then only a loopback listen address is allowed
};

enum class AzureMode { Sandbox, Live };

// azure.sandbox_catalog: which subscriptions, plans and dimensions the
// in-process sandbox knows (the shape of `meterbridge sandbox --catalog`).
struct SandboxCatalogSubscription {
    std::string resource_id;
    std::string plan_id;
    std::string azure_subscription_id;
    std::string offer_id;
    std::string status = "Subscribed";  // Subscribed | Suspended | Unsubscribed | PendingFulfillmentStart
};
struct SandboxCatalogPlan {
    std::string plan_id;
    std::vector<std::string> dimensions;
};
struct SandboxCatalogConfig {
    std::vector<SandboxCatalogSubscription> subscriptions;
    std::vector<SandboxCatalogPlan> plans;
};

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
    // Sandbox mode only. Absent: the sandbox accepts every resource, plan and dimension.
    std::optional<SandboxCatalogConfig> sandbox_catalog;
};

enum class SchedulerPolicy { HourClose, Eager };

struct SchedulerConfig {
    SchedulerPolicy policy = SchedulerPolicy::HourClose;
    std::int64_t flush_delay_s = 60;
    std::int64_t tick_s = 5;
};

struct TestingConfig {
    bool clock_control = false;
};

struct Config {
    ListenConfig listen;
    std::string public_base_url;  // default "http://<listen.address>:<listen.port>"; no trailing '/'
    std::vector<Cidr> trusted_proxies;  // default 127.0.0.1/32
    StorageConfig storage;
    LogConfig log;
    WebhookConfig webhook;
    std::optional<M3terConfig> m3ter;
    OpsConfig ops;
    AzureConfig azure;
    SchedulerConfig scheduler;
    std::vector<IntegrationConfig> integrations;
    std::vector<ExternalMapping> external_mappings;  // id "cfg-<index>" unless given
    std::vector<Json> accounts;                      // static m3ter Account objects, each with a string "id"
    TestingConfig testing;

    // Non-fatal findings ("literal secret in ops.token"), in document order.
    std::vector<std::string> warnings;
};

// Parses the config file text (with parse_exact_json, so decimals stay exact).
// Throws ConfigError.
Config parse_config(std::string_view text, const SecretSource& secrets);
// The same for an already parsed document (it must come from parse_exact_json).
Config parse_config_document(const Json& document, const SecretSource& secrets);

// The resolved config as JSON, every secret shown as "***": for check-config
// and for the config snapshot stored with each integration run.
Json config_to_masked_json(const Config& config);
Json integration_to_json(const IntegrationConfig& integration);

std::string_view to_string(LogFormat format);
std::string_view to_string(SignatureEncoding encoding);
std::string_view to_string(AzureMode mode);
std::string_view to_string(SchedulerPolicy policy);

}  // namespace meterbridge
