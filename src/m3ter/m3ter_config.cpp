// Reading the `webhook` and `m3ter` sections (SPEC §2).
#include "meterbridge/m3ter/m3ter_config.hpp"

namespace meterbridge::m3ter {
namespace {

WebhookSignatureConfig parse_signature(const ConfigSection& webhook, ConfigWarnings& warnings) {
    const auto section = ConfigSection::child(webhook, "signature", {"string_to_sign", "encoding"});
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

}  // namespace

WebhookConfig parse_webhook_config(const ConfigSection& root, const net::ListenConfig& listen,
                                   const SecretSource& secrets, ConfigWarnings& warnings) {
    const auto section = ConfigSection::child(root, "webhook",
                          {"path", "api_key", "api_secret", "max_body_bytes", "max_clock_skew_s", "signature",
                           "allow_unsigned"});
    WebhookConfig webhook;
    webhook.path = section.string("path", webhook.path);
    if (webhook.path.front() != '/' || webhook.path.find_first_of("?# \t") != std::string::npos) {
        throw ConfigError(section.key("path"), "must be a URL path starting with '/', without query or spaces");
    }
    webhook.api_key = section.optional_secret("api_key", secrets, warnings);
    webhook.api_secret = section.optional_secret("api_secret", secrets, warnings);
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

std::optional<M3terConfig> parse_m3ter_config(const ConfigSection& root, const SecretSource& secrets,
                                              ConfigWarnings& warnings) {
    const Json* value = root.object("m3ter");
    if (value == nullptr) return std::nullopt;
    const ConfigSection section(*value, "m3ter", {"base_url", "org_id", "client_id", "client_secret"});
    M3terConfig m3ter;
    m3ter.base_url = section.url("base_url", m3ter.base_url);
    m3ter.org_id = section.required_string("org_id");
    m3ter.client_id = section.required_secret("client_id", secrets, warnings);
    m3ter.client_secret = section.required_secret("client_secret", secrets, warnings);
    return m3ter;
}

std::string_view to_string(SignatureEncoding encoding) { return encoding == SignatureEncoding::Base64 ? "base64" : "hex"; }

Json to_json(const WebhookConfig& webhook) {
    return {{"path", webhook.path},
            {"api_key", masked_secret_json(webhook.api_key)},
            {"api_secret", masked_secret_json(webhook.api_secret)},
            {"max_body_bytes", webhook.max_body_bytes},
            {"max_clock_skew_s", webhook.max_clock_skew_s},
            {"signature",
             {{"string_to_sign", webhook.signature.string_to_sign}, {"encoding", to_string(webhook.signature.encoding)}}},
            {"allow_unsigned", webhook.allow_unsigned}};
}

Json to_json(const std::optional<M3terConfig>& m3ter) {
    if (!m3ter) return nullptr;
    return {{"base_url", m3ter->base_url},
            {"org_id", m3ter->org_id},
            {"client_id", Secret::masked()},
            {"client_secret", Secret::masked()}};
}

}  // namespace meterbridge::m3ter
