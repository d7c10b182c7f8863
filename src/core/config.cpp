// Parsing and validation of the config file (SPEC §2, §3). Each section has
// its own parse function; all of them read through Section, which rejects
// unknown keys and names the full key path in every error.
#include "meterbridge/core/config.hpp"

#include <algorithm>
#include <cctype>
#include <initializer_list>
#include <limits>
#include <map>
#include <tuple>
#include <utility>

#include "meterbridge/core/bill.hpp"

namespace meterbridge {
namespace {

using Warnings = std::vector<std::string>;

std::string child_key(std::string_view parent, std::string_view key) {
    return parent.empty() ? std::string(key) : std::string(parent) + "." + std::string(key);
}

std::string index_key(std::string_view parent, std::size_t index) {
    return std::string(parent) + "[" + std::to_string(index) + "]";
}

// Edit distance, for "did you mean" on unknown keys.
std::size_t edit_distance(std::string_view a, std::string_view b) {
    std::vector<std::size_t> row(b.size() + 1);
    for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
    for (std::size_t i = 1; i <= a.size(); ++i) {
        std::size_t diagonal = row[0];
        row[0] = i;
        for (std::size_t j = 1; j <= b.size(); ++j) {
            const std::size_t above = row[j];
            row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
            diagonal = above;
        }
    }
    return row[b.size()];
}

std::string describe_type(const Json& value) {
    if (is_exact_number(value)) return "a number";
    if (value.is_string()) return "a string";
    if (value.is_boolean()) return "a boolean";
    if (value.is_null()) return "null";
    if (value.is_array()) return "an array";
    if (value.is_object()) return "an object";
    return "a number";
}

[[noreturn]] void fail_type(const std::string& key, const Json& value, std::string_view expected) {
    throw ConfigError(key, "must be " + std::string(expected) + ", not " + describe_type(value));
}

// One JSON object of the config: rejects keys outside `allowed` on
// construction and reads typed values, applying defaults for absent keys.
class Section {
public:
    Section(const Json& value, std::string path, std::initializer_list<std::string_view> allowed)
        : value_(value), path_(std::move(path)) {
        if (!value.is_object()) fail_type(path_.empty() ? std::string() : path_, value, "an object");
        for (const auto& [name, member] : value.items()) {
            if (std::find(allowed.begin(), allowed.end(), name) != allowed.end()) continue;
            std::string message = "unknown key";
            std::string_view best;
            std::size_t best_distance = 3;
            for (const std::string_view candidate : allowed) {
                const std::size_t distance = edit_distance(name, candidate);
                if (distance < best_distance) {
                    best = candidate;
                    best_distance = distance;
                }
            }
            if (!best.empty()) message += " (did you mean '" + std::string(best) + "'?)";
            throw ConfigError(key(name), message);
        }
    }

    const std::string& path() const { return path_; }
    std::string key(std::string_view name) const { return child_key(path_, name); }

    const Json* find(std::string_view name) const {
        const auto found = value_.find(std::string(name));
        return found == value_.end() ? nullptr : &*found;
    }

    std::optional<std::string> optional_string(std::string_view name, bool allow_empty = false) const {
        const Json* value = find(name);
        if (value == nullptr) return std::nullopt;
        if (!value->is_string()) fail_type(key(name), *value, "a string");
        const auto& text = value->get_ref<const std::string&>();
        if (text.empty() && !allow_empty) throw ConfigError(key(name), "must not be empty");
        return text;
    }

    std::string string(std::string_view name, std::string fallback) const {
        auto value = optional_string(name);
        return value ? std::move(*value) : std::move(fallback);
    }

    std::string required_string(std::string_view name) const {
        auto value = optional_string(name);
        if (!value) throw ConfigError(key(name), "is required");
        return std::move(*value);
    }

    bool boolean(std::string_view name, bool fallback) const {
        const Json* value = find(name);
        if (value == nullptr) return fallback;
        if (!value->is_boolean()) fail_type(key(name), *value, "true or false");
        return value->get<bool>();
    }

    std::int64_t integer(std::string_view name, std::int64_t fallback, std::int64_t min, std::int64_t max) const {
        const Json* value = find(name);
        if (value == nullptr) return fallback;
        const std::string range = "must be a whole number from " + std::to_string(min) + " to " + std::to_string(max);
        if (!value->is_number_integer()) {
            if (is_exact_number(*value)) throw ConfigError(key(name), range);
            fail_type(key(name), *value, "a whole number");
        }
        if (value->is_number_unsigned() &&
            value->get<std::uint64_t>() > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
            throw ConfigError(key(name), range);
        }
        const auto number = value->get<std::int64_t>();
        if (number < min || number > max) throw ConfigError(key(name), range);
        return number;
    }

    // One of `choices`, or `fallback` when absent.
    std::string choice(std::string_view name, std::string_view fallback,
                       std::initializer_list<std::string_view> choices) const {
        auto value = optional_string(name, true);
        if (!value) return std::string(fallback);
        if (std::find(choices.begin(), choices.end(), *value) != choices.end()) return std::move(*value);
        std::string list;
        for (const std::string_view c : choices) list += (list.empty() ? "" : ", ") + std::string(c);
        throw ConfigError(key(name), "must be one of " + list + ", not \"" + value->substr(0, 64) + "\"");
    }

    // An array of non-empty strings; absent = empty.
    std::vector<std::string> string_list(std::string_view name) const {
        std::vector<std::string> out;
        const Json* value = find(name);
        if (value == nullptr) return out;
        if (!value->is_array()) fail_type(key(name), *value, "an array of strings");
        for (std::size_t i = 0; i < value->size(); ++i) {
            const Json& element = (*value)[i];
            const std::string element_key = index_key(key(name), i);
            if (!element.is_string()) fail_type(element_key, element, "a string");
            if (element.get_ref<const std::string&>().empty()) throw ConfigError(element_key, "must not be empty");
            out.push_back(element.get<std::string>());
        }
        return out;
    }

    // A nested object, or nullptr when absent. `null` counts as absent.
    const Json* object(std::string_view name) const {
        const Json* value = find(name);
        if (value == nullptr || value->is_null()) return nullptr;
        if (!value->is_object()) fail_type(key(name), *value, "an object");
        return value;
    }

    const Json* array(std::string_view name) const {
        const Json* value = find(name);
        if (value == nullptr || value->is_null()) return nullptr;
        if (!value->is_array()) fail_type(key(name), *value, "an array");
        return value;
    }

private:
    const Json& value_;
    std::string path_;
};

const Json& empty_object() {
    static const Json kEmpty = Json::object();
    return kEmpty;
}

// "http(s)://host[:port][/path]" without query or fragment; the trailing '/' is dropped.
std::string url(const Section& section, std::string_view name, std::string fallback, bool require_https = false) {
    std::string value = section.string(name, std::move(fallback));
    const std::string key = section.key(name);
    const bool https = value.rfind("https://", 0) == 0;
    const bool http = value.rfind("http://", 0) == 0;
    if (!https && !http) throw ConfigError(key, "must be an http:// or https:// URL");
    const std::size_t host_start = https ? 8 : 7;
    // Plain http is allowed to loopback only (a local Azure sandbox, tests):
    // the HTTP client refuses it for any other host anyway.
    const std::size_t host_search = value.size() > host_start && value[host_start] == '[' ? value.find(']') : host_start;
    const std::string host = value.substr(host_start, value.find_first_of(":/", host_search) - host_start);
    const std::string literal = host.size() > 2 && host.front() == '[' ? host.substr(1, host.size() - 2) : host;
    const auto address = parse_ip_address(literal);
    const bool loopback = host == "localhost" || (address && address->is_loopback());
    if (require_https && !https && !loopback) throw ConfigError(key, "must be an https:// URL (http only to loopback)");
    if (value.size() <= host_start || value[host_start] == '/') throw ConfigError(key, "has no host");
    for (const char c : value) {
        if (c == '?' || c == '#' || c == ' ' || c == '\t' || c == '\n' || c == '\r') {
            throw ConfigError(key, "must not contain a query, a fragment or whitespace");
        }
    }
    while (value.size() > host_start + 1 && value.back() == '/') value.pop_back();
    return value;
}

bool is_env_name(std::string_view name) {
    if (name.empty() || (name[0] >= '0' && name[0] <= '9')) return false;
    return std::all_of(name.begin(), name.end(), [](char c) {
        return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
    });
}

// Resolves "env:NAME", "file:/path" or a literal (warned about). Errors name
// the key and the variable or path, never a value.
Secret resolve_secret(const Json& value, const std::string& key, const SecretSource& secrets, Warnings& warnings) {
    if (!value.is_string()) fail_type(key, value, "a string (\"env:NAME\", \"file:/path\" or a literal)");
    const auto& text = value.get_ref<const std::string&>();
    if (text.empty()) throw ConfigError(key, "must not be empty");
    if (text.rfind("env:", 0) == 0) {
        const std::string name = text.substr(4);
        if (!is_env_name(name)) throw ConfigError(key, "'" + text + "' does not name an environment variable");
        auto resolved = secrets.env(name);
        if (!resolved) throw ConfigError(key, "environment variable " + name + " is not set");
        if (resolved->empty()) throw ConfigError(key, "environment variable " + name + " is empty");
        return Secret(std::move(*resolved), text);
    }
    if (text.rfind("file:", 0) == 0) {
        const std::string path = text.substr(5);
        if (path.empty()) throw ConfigError(key, "'file:' needs a path");
        auto contents = secrets.file(path);
        if (!contents) throw ConfigError(key, "cannot read secret file " + path);
        // One trailing newline (as editors and `echo` write it) is not part of the secret.
        if (!contents->empty() && contents->back() == '\n') {
            contents->pop_back();
            if (!contents->empty() && contents->back() == '\r') contents->pop_back();
        }
        if (contents->empty()) throw ConfigError(key, "secret file " + path + " is empty");
        return Secret(std::move(*contents), text);
    }
    warnings.push_back("literal secret in " + key + " (prefer \"env:NAME\" or \"file:/path\")");
    return Secret(text, "literal");
}

std::optional<Secret> optional_secret(const Section& section, std::string_view name, const SecretSource& secrets,
                                      Warnings& warnings) {
    const Json* value = section.find(name);
    if (value == nullptr || value->is_null()) return std::nullopt;
    return resolve_secret(*value, section.key(name), secrets, warnings);
}

Secret required_secret(const Section& section, std::string_view name, const SecretSource& secrets,
                       Warnings& warnings) {
    auto secret = optional_secret(section, name, secrets, warnings);
    if (!secret) throw ConfigError(section.key(name), "is required");
    return std::move(*secret);
}

ListenConfig parse_listen(const Json* value) {
    const Section section(value ? *value : empty_object(), "listen", {"address", "port"});
    ListenConfig listen;
    listen.address = section.string("address", listen.address);
    if (!parse_ip_address(listen.address)) {
        throw ConfigError(section.key("address"), "must be an IPv4 or IPv6 address, not \"" +
                                                      listen.address.substr(0, 64) + "\"");
    }
    listen.port = static_cast<std::uint16_t>(section.integer("port", listen.port, 0, 65535));
    return listen;
}

std::vector<Cidr> parse_trusted_proxies(const Section& root) {
    std::vector<Cidr> proxies;
    const Json* list = root.array("trusted_proxies");
    if (list == nullptr) {
        proxies.push_back(parse_cidr("127.0.0.1/32").value());
        return proxies;
    }
    for (std::size_t i = 0; i < list->size(); ++i) {
        const std::string key = index_key("trusted_proxies", i);
        const Json& element = (*list)[i];
        if (!element.is_string()) fail_type(key, element, "a CIDR string such as \"10.0.0.0/8\"");
        auto cidr = parse_cidr(element.get<std::string>());
        if (!cidr) throw ConfigError(key, cidr.error().message);
        proxies.push_back(*cidr);
    }
    return proxies;
}

StorageConfig parse_storage(const Json* value) {
    const Section section(value ? *value : empty_object(), "storage", {"sqlite_path", "payload_retention_days"});
    StorageConfig storage;
    storage.sqlite_path = section.string("sqlite_path", storage.sqlite_path);
    storage.payload_retention_days =
        section.integer("payload_retention_days", storage.payload_retention_days, 1, 36500);
    return storage;
}

LogConfig parse_log(const Json* value) {
    const Section section(value ? *value : empty_object(), "log", {"level", "format"});
    LogConfig log;
    log.level = section.choice("level", log.level, {"trace", "debug", "info", "warn", "error", "critical", "off"});
    log.format = section.choice("format", "text", {"text", "json"}) == "json" ? LogFormat::JsonLines : LogFormat::Text;
    return log;
}

WebhookSignatureConfig parse_signature(const Section& webhook, Warnings& warnings) {
    const Json* value = webhook.object("signature");
    const Section section(value ? *value : empty_object(), webhook.key("signature"), {"string_to_sign", "encoding"});
    WebhookSignatureConfig signature;
    signature.string_to_sign = section.string("string_to_sign", signature.string_to_sign);
    const std::string& text = signature.string_to_sign;
    for (std::size_t open = text.find('{'); open != std::string::npos; open = text.find('{', open + 1)) {
        const std::size_t close = text.find('}', open);
        const std::string name = close == std::string::npos ? text.substr(open) : text.substr(open, close - open + 1);
        if (name != "{url}" && name != "{api_key}" && name != "{timestamp}" && name != "{body}") {
            throw ConfigError(section.key("string_to_sign"),
                              "unknown placeholder " + name.substr(0, 40) + " (known: {url} {api_key} {timestamp} {body})");
        }
    }
    for (const std::string_view needed : {"{body}", "{timestamp}"}) {
        if (text.find(needed) == std::string::npos) {
            warnings.push_back(section.key("string_to_sign") + " has no " + std::string(needed) +
                               ": the signature does not protect it");
        }
    }
    signature.encoding =
        section.choice("encoding", "hex", {"hex", "base64"}) == "base64" ? SignatureEncoding::Base64 : SignatureEncoding::Hex;
    return signature;
}

WebhookConfig parse_webhook(const Json* value, const ListenConfig& listen, const SecretSource& secrets,
                            Warnings& warnings) {
    const Section section(value ? *value : empty_object(), "webhook",
                          {"path", "api_key", "api_secret", "max_body_bytes", "max_clock_skew_s", "signature",
                           "allow_unsigned"});
    WebhookConfig webhook;
    webhook.path = section.string("path", webhook.path);
    if (webhook.path.front() != '/' || webhook.path.find_first_of("?# \t") != std::string::npos) {
        throw ConfigError(section.key("path"), "must be a URL path starting with '/', without query or spaces");
    }
    webhook.api_key = optional_secret(section, "api_key", secrets, warnings);
    webhook.api_secret = optional_secret(section, "api_secret", secrets, warnings);
    webhook.max_body_bytes = section.integer("max_body_bytes", webhook.max_body_bytes, 1024, 64 * 1024 * 1024);
    webhook.max_clock_skew_s = section.integer("max_clock_skew_s", webhook.max_clock_skew_s, 1, 86400);
    webhook.signature = parse_signature(section, warnings);
    webhook.allow_unsigned = section.boolean("allow_unsigned", false);

    if (webhook.api_key.has_value() != webhook.api_secret.has_value()) {
        throw ConfigError(section.key(webhook.api_key ? "api_secret" : "api_key"),
                          "is required when webhook." + std::string(webhook.api_key ? "api_key" : "api_secret") +
                              " is set");
    }
    if (webhook.allow_unsigned && !listen.is_loopback()) {
        throw ConfigError(section.key("allow_unsigned"),
                          "is accepted only with a loopback listen.address (local demos), not " + listen.address);
    }
    if (!webhook.signed_requests()) {
        if (!webhook.allow_unsigned) {
            throw ConfigError(section.key("api_key"),
                              "is required (with webhook.api_secret) unless webhook.allow_unsigned is true");
        }
        warnings.push_back("webhook.allow_unsigned: webhook deliveries are accepted without a signature");
    }
    return webhook;
}

std::optional<M3terConfig> parse_m3ter(const Json* value, const SecretSource& secrets, Warnings& warnings) {
    if (value == nullptr) return std::nullopt;
    const Section section(*value, "m3ter", {"base_url", "org_id", "client_id", "client_secret"});
    M3terConfig m3ter;
    m3ter.base_url = url(section, "base_url", m3ter.base_url);
    m3ter.org_id = section.required_string("org_id");
    m3ter.client_id = required_secret(section, "client_id", secrets, warnings);
    m3ter.client_secret = required_secret(section, "client_secret", secrets, warnings);
    return m3ter;
}

// `proxied`: trusted_proxies are configured (SPEC §5): requests may arrive
// through a reverse proxy, so a loopback listen.address is not private.
OpsConfig parse_ops(const Json* value, const ListenConfig& listen, bool proxied, const SecretSource& secrets,
                    Warnings& warnings) {
    const Section section(value ? *value : empty_object(), "ops", {"token"});
    OpsConfig ops;
    ops.token = optional_secret(section, "token", secrets, warnings);
    if (!ops.token && !listen.is_loopback()) {
        throw ConfigError(section.key("token"),
                          "is required when listen.address is not a loopback address (" + listen.address + ")");
    }
    if (!ops.token && proxied) {
        throw ConfigError(section.key("token"),
                          "is required when trusted_proxies are configured (behind a reverse proxy, loopback is "
                          "not private)");
    }
    return ops;
}

// The catalog keeps the keys of the sandbox's --catalog file (camelCase, as
// Azure writes them) so that one can be pasted into the other.
SandboxCatalogConfig parse_sandbox_catalog(const Json& value, const std::string& path) {
    const Section section(value, path, {"subscriptions", "plans"});
    SandboxCatalogConfig catalog;
    std::map<std::string, std::size_t> plan_at;
    if (const Json* plans = section.array("plans")) {
        for (std::size_t i = 0; i < plans->size(); ++i) {
            const Section plan((*plans)[i], index_key(section.key("plans"), i), {"planId", "dimensions"});
            SandboxCatalogPlan entry{plan.required_string("planId"), plan.string_list("dimensions")};
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
            const Section sub((*subscriptions)[i], index_key(section.key("subscriptions"), i),
                              {"resourceId", "planId", "azureSubscriptionId", "offerId", "status"});
            SandboxCatalogSubscription entry;
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

AzureConfig parse_azure(const Json* value, const SecretSource& secrets, Warnings& warnings) {
    const Section section(value ? *value : empty_object(), "azure",
                          {"mode", "metering_base_url", "token_url", "tenant_id", "client_id", "client_secret",
                           "api_version", "request_timeout_s", "sandbox_catalog"});
    AzureConfig azure;
    azure.mode = section.choice("mode", "sandbox", {"sandbox", "live"}) == "live" ? AzureMode::Live : AzureMode::Sandbox;
    const bool live = azure.mode == AzureMode::Live;
    azure.metering_base_url = url(section, "metering_base_url", azure.metering_base_url, live);
    const std::string token_url = url(section, "token_url", azure.token_url, live);
    azure.client_secret = optional_secret(section, "client_secret", secrets, warnings);
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
    if (const Json* catalog = section.object("sandbox_catalog")) {
        if (live) throw ConfigError(section.key("sandbox_catalog"), "is only used when azure.mode is \"sandbox\"");
        azure.sandbox_catalog = parse_sandbox_catalog(*catalog, section.key("sandbox_catalog"));
    }
    return azure;
}

SchedulerConfig parse_scheduler(const Json* value) {
    const Section section(value ? *value : empty_object(), "scheduler", {"policy", "flush_delay_s", "tick_s"});
    SchedulerConfig scheduler;
    scheduler.policy = section.choice("policy", "hour_close", {"hour_close", "eager"}) == "eager"
                           ? SchedulerPolicy::Eager
                           : SchedulerPolicy::HourClose;
    scheduler.flush_delay_s = section.integer("flush_delay_s", scheduler.flush_delay_s, 0, 3000);
    scheduler.tick_s = section.integer("tick_s", scheduler.tick_s, 1, 3600);
    return scheduler;
}

Decimal parse_unit_price(const Section& section) {
    const Json* value = section.find("unit_price");
    if (value == nullptr) return Decimal::parse("0.01").value();
    const std::string key = section.key("unit_price");
    Result<Decimal> price = make_error("invalid_value", "");
    if (value->is_string()) {
        price = Decimal::parse(value->get<std::string>());
    } else if (is_exact_number(*value)) {
        price = decimal_from_json(*value, key);
    } else {
        fail_type(key, *value, "a decimal string such as \"0.01\"");
    }
    if (!price) throw ConfigError(key, "must be a decimal such as \"0.01\": " + price.error().message);
    if (price->is_negative() || price->is_zero()) throw ConfigError(key, "must be greater than zero");
    return *price;
}

IntegrationConfig parse_integration(const Json& value, const std::string& path, Warnings& warnings) {
    const Section section(value, path,
                          {"id", "name", "enabled", "account_ids", "restricted_account_ids",
                           "only_send_bill_on_approval", "excluded_line_item_types", "account_filter",
                           "enforce_external_mappings_for_config", "excluded_product_ids", "excluded_aggregation_ids",
                           "split_usage_line_items", "marketplace_bill_dimension", "fallback_dimension", "plan_id",
                           "resource_id_from", "currency", "unit_price", "rounding"});
    IntegrationConfig integration;
    integration.id = section.required_string("id");
    integration.name = section.string("name", integration.id);
    integration.enabled = section.boolean("enabled", true);
    integration.account_ids = section.string_list("account_ids");
    integration.restricted_account_ids = section.string_list("restricted_account_ids");
    for (const std::string& account : integration.restricted_account_ids) {
        if (std::find(integration.account_ids.begin(), integration.account_ids.end(), account) !=
            integration.account_ids.end()) {
            warnings.push_back(section.key("restricted_account_ids") + ": account " + account +
                               " is also in account_ids; the restriction wins");
        }
    }
    integration.only_send_bill_on_approval = section.boolean("only_send_bill_on_approval", false);
    integration.excluded_line_item_types = section.string_list("excluded_line_item_types");
    for (std::size_t i = 0; i < integration.excluded_line_item_types.size(); ++i) {
        const std::string& type = integration.excluded_line_item_types[i];
        if (!is_known_line_item_type_name(type)) {
            throw ConfigError(index_key(section.key("excluded_line_item_types"), i),
                              "unknown line item type \"" + type.substr(0, 64) + "\" (e.g. USAGE, STANDING_CHARGE)");
        }
    }
    if (const auto filter_text = section.optional_string("account_filter", true)) {
        auto filter = AccountFilter::parse(*filter_text);
        if (!filter) throw ConfigError(section.key("account_filter"), filter.error().message);
        integration.account_filter = std::move(*filter);
    }
    integration.enforce_external_mappings_for_config = section.boolean("enforce_external_mappings_for_config", false);
    integration.excluded_product_ids = section.string_list("excluded_product_ids");
    integration.excluded_aggregation_ids = section.string_list("excluded_aggregation_ids");

    const Json* split = section.find("split_usage_line_items");
    if (split == nullptr) {
        throw ConfigError(section.key("split_usage_line_items"),
                          "is required: ITEM_PER_BILL, ITEM_PER_PRODUCT or ITEM_PER_AGGREGATION");
    }
    const std::string mode =
        section.choice("split_usage_line_items", "", {"ITEM_PER_BILL", "ITEM_PER_PRODUCT", "ITEM_PER_AGGREGATION"});
    integration.split_usage_line_items = mode == "ITEM_PER_BILL"      ? SplitMode::ItemPerBill
                                         : mode == "ITEM_PER_PRODUCT" ? SplitMode::ItemPerProduct
                                                                      : SplitMode::ItemPerAggregation;
    integration.marketplace_bill_dimension = section.string("marketplace_bill_dimension", "");
    if (integration.split_usage_line_items == SplitMode::ItemPerBill && integration.marketplace_bill_dimension.empty()) {
        throw ConfigError(section.key("marketplace_bill_dimension"), "is required with ITEM_PER_BILL");
    }
    if (integration.split_usage_line_items != SplitMode::ItemPerBill && !integration.marketplace_bill_dimension.empty()) {
        warnings.push_back(section.key("marketplace_bill_dimension") + " is ignored with " + mode);
    }
    integration.fallback_dimension = section.string("fallback_dimension", "");
    integration.plan_id = section.string("plan_id", "");

    const std::string source =
        section.choice("resource_id_from", "external_mapping", {"external_mapping", "account_code", "account_id"});
    integration.resource_id_from = source == "account_code" ? ResourceIdSource::AccountCode
                                   : source == "account_id" ? ResourceIdSource::AccountId
                                                            : ResourceIdSource::ExternalMapping;
    if (integration.resource_id_from != ResourceIdSource::ExternalMapping && integration.plan_id.empty()) {
        throw ConfigError(section.key("plan_id"), "is required when resource_id_from is " + source +
                                                      " (there is no Account mapping to carry a plan)");
    }

    integration.currency = section.string("currency", "USD");
    if (integration.currency.size() != 3 ||
        !std::all_of(integration.currency.begin(), integration.currency.end(), [](char c) { return c >= 'A' && c <= 'Z'; })) {
        throw ConfigError(section.key("currency"), "must be an ISO 4217 code such as \"USD\"");
    }
    integration.unit_price = parse_unit_price(section);
    if (const auto rounding_text = section.optional_string("rounding", true)) {
        auto rounding = parse_rounding(*rounding_text);
        if (!rounding) throw ConfigError(section.key("rounding"), rounding.error().message);
        integration.rounding = *rounding;
    }
    return integration;
}

std::vector<IntegrationConfig> parse_integrations(const Section& root, Warnings& warnings) {
    std::vector<IntegrationConfig> integrations;
    const Json* list = root.array("integrations");
    if (list == nullptr || list->empty()) {
        warnings.push_back("no integrations configured: bills are stored but nothing is sent to Azure");
        return integrations;
    }
    std::map<std::string, std::size_t> seen;
    for (std::size_t i = 0; i < list->size(); ++i) {
        const std::string path = index_key("integrations", i);
        integrations.push_back(parse_integration((*list)[i], path, warnings));
        const auto [at, inserted] = seen.emplace(integrations.back().id, i);
        if (!inserted) {
            throw ConfigError(child_key(path, "id"), "duplicate integration id \"" + at->first +
                                                         "\" (also integrations[" + std::to_string(at->second) + "])");
        }
    }
    return integrations;
}

std::vector<ExternalMapping> parse_mappings(const Section& root, const std::vector<IntegrationConfig>& integrations) {
    std::vector<ExternalMapping> mappings;
    const Json* list = root.array("external_mappings");
    if (list == nullptr) return mappings;
    std::map<std::string, std::size_t> ids;
    std::map<std::tuple<MappingEntity, std::string, std::string>, std::size_t> targets;
    for (std::size_t i = 0; i < list->size(); ++i) {
        const std::string path = index_key("external_mappings", i);
        auto parsed = parse_external_mapping((*list)[i], path);
        if (!parsed) {
            // Mapping errors are self-contained ("<field> is required") for the HTTP API;
            // here the key is printed separately, so drop it from the message.
            const Error& error = parsed.error();
            std::string message = error.message;
            if (!error.field.empty() && message.rfind(error.field, 0) == 0) {
                message.erase(0, error.field.size());
                if (message.rfind(": ", 0) == 0) message.erase(0, 2);
                if (message.rfind(' ', 0) == 0) message.erase(0, 1);
            }
            throw ConfigError(error.field, message);
        }
        ExternalMapping mapping = std::move(*parsed);
        if (mapping.id.empty()) mapping.id = "cfg-" + std::to_string(i);
        const auto id_seen = ids.emplace(mapping.id, i);
        if (!id_seen.second) {
            throw ConfigError(child_key(path, "id"), "duplicate mapping id \"" + mapping.id +
                                                         "\" (also external_mappings[" +
                                                         std::to_string(id_seen.first->second) + "])");
        }
        if (!mapping.integration_id.empty() &&
            std::none_of(integrations.begin(), integrations.end(),
                         [&](const IntegrationConfig& integration) { return integration.id == mapping.integration_id; })) {
            throw ConfigError(child_key(path, "integration_id"),
                              "no integration has id \"" + mapping.integration_id.substr(0, 64) + "\"");
        }
        // Two mappings of one entity in one scope would make the target ambiguous.
        const auto target_seen =
            targets.emplace(std::make_tuple(mapping.m3ter_entity, mapping.m3ter_id, mapping.integration_id), i);
        if (!target_seen.second) {
            throw ConfigError(path, "duplicate mapping for " + std::string(to_string(mapping.m3ter_entity)) + " \"" +
                                        mapping.m3ter_id.substr(0, 64) + "\"" +
                                        (mapping.integration_id.empty() ? "" : " in integration " + mapping.integration_id) +
                                        " (also external_mappings[" + std::to_string(target_seen.first->second) + "])");
        }
        mappings.push_back(std::move(mapping));
    }
    return mappings;
}

std::vector<Json> parse_accounts(const Section& root) {
    std::vector<Json> accounts;
    const Json* list = root.array("accounts");
    if (list == nullptr) return accounts;
    std::map<std::string, std::size_t> seen;
    for (std::size_t i = 0; i < list->size(); ++i) {
        const std::string path = index_key("accounts", i);
        const Json& account = (*list)[i];
        if (!account.is_object()) fail_type(path, account, "an object (an m3ter Account)");
        const auto id = account.find("id");
        if (id == account.end()) throw ConfigError(child_key(path, "id"), "is required");
        if (!id->is_string() || id->get_ref<const std::string&>().empty()) {
            throw ConfigError(child_key(path, "id"), "must be a non-empty string");
        }
        const auto [at, inserted] = seen.emplace(id->get<std::string>(), i);
        if (!inserted) {
            throw ConfigError(child_key(path, "id"), "duplicate account id \"" + at->first + "\" (also accounts[" +
                                                         std::to_string(at->second) + "])");
        }
        accounts.push_back(account);
    }
    return accounts;
}

TestingConfig parse_testing(const Json* value, const ListenConfig& listen, bool proxied, Warnings& warnings) {
    const Section section(value ? *value : empty_object(), "testing", {"clock_control"});
    TestingConfig testing;
    testing.clock_control = section.boolean("clock_control", false);
    // A test switch must never be reachable from outside (SPEC §5, issue 14).
    if (testing.clock_control && !listen.is_loopback()) {
        throw ConfigError(section.key("clock_control"),
                          "is accepted only with a loopback listen.address, not " + listen.address);
    }
    if (testing.clock_control && proxied) {
        throw ConfigError(section.key("clock_control"),
                          "is accepted only when no trusted_proxies are configured (behind a reverse proxy, "
                          "loopback is not private)");
    }
    if (testing.clock_control) warnings.push_back("testing.clock_control is on: PUT /testing/clock can move time");
    return testing;
}

Json secret_json(const std::optional<Secret>& secret) {
    return secret ? Json(Secret::masked()) : Json(nullptr);
}

Json optional_text(const std::string& text) { return text.empty() ? Json(nullptr) : Json(text); }

}  // namespace

bool ListenConfig::is_loopback() const {
    const auto parsed = parse_ip_address(address);
    return parsed && parsed->is_loopback();
}

std::string_view to_string(LogFormat format) { return format == LogFormat::JsonLines ? "json" : "text"; }
std::string_view to_string(SignatureEncoding encoding) { return encoding == SignatureEncoding::Base64 ? "base64" : "hex"; }
std::string_view to_string(AzureMode mode) { return mode == AzureMode::Live ? "live" : "sandbox"; }
std::string_view to_string(SchedulerPolicy policy) { return policy == SchedulerPolicy::Eager ? "eager" : "hour_close"; }

Config parse_config(std::string_view text, const SecretSource& secrets) {
    auto document = parse_exact_json(text);
    if (!document) throw ConfigError("", "the config file is not valid JSON: " + document.error().message);
    return parse_config_document(*document, secrets);
}

Config parse_config_document(const Json& document, const SecretSource& secrets) {
    const Section root(document, "",
                       {"listen", "public_base_url", "trusted_proxies", "storage", "log", "webhook", "m3ter", "ops",
                        "azure", "scheduler", "integrations", "external_mappings", "accounts", "testing"});
    Config config;
    Warnings& warnings = config.warnings;
    config.listen = parse_listen(root.object("listen"));
    const bool v6 = config.listen.address.find(':') != std::string::npos;
    config.public_base_url =
        url(root, "public_base_url",
            "http://" + (v6 ? "[" + config.listen.address + "]" : config.listen.address) + ":" +
                std::to_string(config.listen.port));
    config.trusted_proxies = parse_trusted_proxies(root);
    config.storage = parse_storage(root.object("storage"));
    config.log = parse_log(root.object("log"));
    config.webhook = parse_webhook(root.object("webhook"), config.listen, secrets, warnings);
    config.m3ter = parse_m3ter(root.object("m3ter"), secrets, warnings);
    // Only a list written in the file counts: the default (a local proxy's
    // address) must not make every minimal config need a token.
    const bool proxied = root.array("trusted_proxies") != nullptr && !config.trusted_proxies.empty();
    config.ops = parse_ops(root.object("ops"), config.listen, proxied, secrets, warnings);
    config.azure = parse_azure(root.object("azure"), secrets, warnings);
    config.scheduler = parse_scheduler(root.object("scheduler"));
    config.integrations = parse_integrations(root, warnings);
    config.external_mappings = parse_mappings(root, config.integrations);
    config.accounts = parse_accounts(root);
    config.testing = parse_testing(root.object("testing"), config.listen, proxied, warnings);
    return config;
}

Json integration_to_json(const IntegrationConfig& integration) {
    Json out = Json::object();
    out["id"] = integration.id;
    out["name"] = integration.name;
    out["enabled"] = integration.enabled;
    out["account_ids"] = integration.account_ids;
    out["restricted_account_ids"] = integration.restricted_account_ids;
    out["only_send_bill_on_approval"] = integration.only_send_bill_on_approval;
    out["excluded_line_item_types"] = integration.excluded_line_item_types;
    out["account_filter"] = integration.account_filter ? Json(integration.account_filter->text()) : Json(nullptr);
    out["enforce_external_mappings_for_config"] = integration.enforce_external_mappings_for_config;
    out["excluded_product_ids"] = integration.excluded_product_ids;
    out["excluded_aggregation_ids"] = integration.excluded_aggregation_ids;
    out["split_usage_line_items"] = to_string(integration.split_usage_line_items);
    out["marketplace_bill_dimension"] = optional_text(integration.marketplace_bill_dimension);
    out["fallback_dimension"] = optional_text(integration.fallback_dimension);
    out["plan_id"] = optional_text(integration.plan_id);
    out["resource_id_from"] = to_string(integration.resource_id_from);
    out["currency"] = integration.currency;
    out["unit_price"] = integration.unit_price.to_string();
    out["rounding"] = to_string(integration.rounding);
    return out;
}

Json config_to_masked_json(const Config& config) {
    Json out = Json::object();
    out["listen"] = {{"address", config.listen.address}, {"port", config.listen.port}};
    out["public_base_url"] = config.public_base_url;
    Json proxies = Json::array();
    for (const Cidr& cidr : config.trusted_proxies) proxies.push_back(cidr.to_string());
    out["trusted_proxies"] = std::move(proxies);
    out["storage"] = {{"sqlite_path", config.storage.sqlite_path},
                      {"payload_retention_days", config.storage.payload_retention_days}};
    out["log"] = {{"level", config.log.level}, {"format", to_string(config.log.format)}};
    const WebhookConfig& webhook = config.webhook;
    out["webhook"] = {{"path", webhook.path},
                      {"api_key", secret_json(webhook.api_key)},
                      {"api_secret", secret_json(webhook.api_secret)},
                      {"max_body_bytes", webhook.max_body_bytes},
                      {"max_clock_skew_s", webhook.max_clock_skew_s},
                      {"signature",
                       {{"string_to_sign", webhook.signature.string_to_sign},
                        {"encoding", to_string(webhook.signature.encoding)}}},
                      {"allow_unsigned", webhook.allow_unsigned}};
    if (config.m3ter) {
        out["m3ter"] = {{"base_url", config.m3ter->base_url},
                        {"org_id", config.m3ter->org_id},
                        {"client_id", Secret::masked()},
                        {"client_secret", Secret::masked()}};
    } else {
        out["m3ter"] = nullptr;
    }
    out["ops"] = {{"token", secret_json(config.ops.token)}};
    const AzureConfig& azure = config.azure;
    out["azure"] = {{"mode", to_string(azure.mode)},
                    {"metering_base_url", azure.metering_base_url},
                    {"token_url", azure.token_url},
                    {"tenant_id", azure.tenant_id},
                    {"client_id", azure.client_id},
                    {"client_secret", secret_json(azure.client_secret)},
                    {"api_version", azure.api_version},
                    {"request_timeout_s", azure.request_timeout_s},
                    {"sandbox_catalog", nullptr}};
    if (azure.sandbox_catalog) {
        Json subscriptions = Json::array();
        for (const auto& sub : azure.sandbox_catalog->subscriptions) {
            subscriptions.push_back({{"resourceId", sub.resource_id},
                                     {"planId", sub.plan_id},
                                     {"azureSubscriptionId", sub.azure_subscription_id},
                                     {"offerId", sub.offer_id},
                                     {"status", sub.status}});
        }
        Json plans = Json::array();
        for (const auto& plan : azure.sandbox_catalog->plans) {
            plans.push_back({{"planId", plan.plan_id}, {"dimensions", plan.dimensions}});
        }
        out["azure"]["sandbox_catalog"] = {{"subscriptions", std::move(subscriptions)}, {"plans", std::move(plans)}};
    }
    out["scheduler"] = {{"policy", to_string(config.scheduler.policy)},
                        {"flush_delay_s", config.scheduler.flush_delay_s},
                        {"tick_s", config.scheduler.tick_s}};
    Json integrations = Json::array();
    for (const IntegrationConfig& integration : config.integrations) integrations.push_back(integration_to_json(integration));
    out["integrations"] = std::move(integrations);
    Json mappings = Json::array();
    for (const ExternalMapping& mapping : config.external_mappings) mappings.push_back(to_json(mapping));
    out["external_mappings"] = std::move(mappings);
    out["accounts"] = config.accounts;
    out["testing"] = {{"clock_control", config.testing.clock_control}};
    return out;
}

}  // namespace meterbridge
