// Reading the `reconciliation` section (SPEC §8).
#include "reconcile/reconcile_config.hpp"

#include <algorithm>
#include <cstdio>

namespace meterbridge::app {
namespace {

std::vector<recon::Source> parse_sources(const ConfigSection& section) {
    const Json* list = section.array("sources");
    if (list == nullptr) return {recon::Source::UsageEvents};
    std::vector<recon::Source> sources;
    for (std::size_t i = 0; i < list->size(); ++i) {
        const std::string key = index_key(section.key("sources"), i);
        const Json& element = (*list)[i];
        if (!element.is_string()) fail_config_type(key, element, "a source name");
        const auto source = recon::source_from(element.get<std::string>());
        if (!source) {
            throw ConfigError(key, "must be one of usage_events, partner_billing, ea_charges, not \"" +
                                       element.get<std::string>().substr(0, 64) + "\"");
        }
        if (std::find(sources.begin(), sources.end(), *source) != sources.end()) {
            throw ConfigError(key, "lists " + std::string(recon::to_string(*source)) + " twice");
        }
        sources.push_back(*source);
    }
    if (sources.empty()) throw ConfigError(section.key("sources"), "must name at least one source");
    return sources;
}

std::optional<std::chrono::minutes> parse_daily_at(const ConfigSection& section) {
    const Json* value = section.find("daily_at");
    if (value != nullptr && value->is_null()) return std::nullopt;
    const std::string text = section.string("daily_at", "02:30");
    const auto digit = [&](std::size_t i) { return text[i] >= '0' && text[i] <= '9'; };
    if (text.size() != 5 || text[2] != ':' || !digit(0) || !digit(1) || !digit(3) || !digit(4)) {
        throw ConfigError(section.key("daily_at"), "must be a UTC time \"HH:MM\" (or null for no daily run)");
    }
    const int hours = (text[0] - '0') * 10 + (text[1] - '0');
    const int minutes = (text[3] - '0') * 10 + (text[4] - '0');
    if (hours > 23 || minutes > 59) throw ConfigError(section.key("daily_at"), "must be a time from 00:00 to 23:59");
    return std::chrono::hours{hours} + std::chrono::minutes{minutes};
}

std::vector<std::pair<std::string, std::string>> parse_subscriptions(const ConfigSection& section) {
    std::vector<std::pair<std::string, std::string>> pairs;
    const Json* map = section.object("subscriptions");
    if (map == nullptr) return pairs;
    for (const auto& [azure_subscription, resource] : map->items()) {
        const std::string key = child_key(section.key("subscriptions"), azure_subscription);
        if (!resource.is_string() || resource.get_ref<const std::string&>().empty()) {
            fail_config_type(key, resource, "a SaaS resource id (the Azure subscription's resource)");
        }
        pairs.emplace_back(azure_subscription, resource.get<std::string>());
    }
    if (auto names = recon::NameMap::make(pairs); !names) {
        throw ConfigError(section.key("subscriptions"), names.error().message);
    }
    return pairs;
}

std::map<recon::Source, Duration> parse_delays(const ConfigSection& parent) {
    std::map<recon::Source, Duration> delays;
    const auto section =
        ConfigSection::child(parent, "processing_delay_hours", {"usage_events", "partner_billing", "ea_charges"});
    for (const recon::Source source :
         {recon::Source::UsageEvents, recon::Source::PartnerBilling, recon::Source::EaCharges}) {
        const std::string name(recon::to_string(source));
        if (section.find(name) == nullptr) continue;
        delays[source] = std::chrono::hours{section.integer(name, 0, 0, 24 * 31)};
    }
    return delays;
}

PartnerBillingSourceConfig parse_partner_billing(const ConfigSection& parent, const SecretSource& secrets,
                                                 ConfigWarnings& warnings) {
    const auto section = ConfigSection::child(
        parent, "partner_billing", {"graph_base_url", "token_url", "client_id", "client_secret", "currency_code"});
    PartnerBillingSourceConfig config;
    config.graph_base_url = section.url("graph_base_url", config.graph_base_url, true);
    if (section.find("token_url") != nullptr) config.token_url = section.url("token_url", "", true);
    config.client_id = section.string("client_id", "");
    config.client_secret = section.optional_secret("client_secret", secrets, warnings);
    if (config.client_id.empty() != !config.client_secret.has_value()) {
        throw ConfigError(section.key(config.client_id.empty() ? "client_id" : "client_secret"),
                          "is required with " + section.key(config.client_id.empty() ? "client_secret" : "client_id") +
                              " (or give neither: azure's app registration is used)");
    }
    config.currency_code = section.string("currency_code", config.currency_code);
    return config;
}

EaChargesSourceConfig parse_ea_charges(const ConfigSection& parent, const SecretSource& secrets,
                                       ConfigWarnings& warnings) {
    const auto section = ConfigSection::child(parent, "ea_charges", {"base_url", "enrollment", "api_key"});
    EaChargesSourceConfig config;
    config.base_url = section.url("base_url", config.base_url, true);
    config.enrollment = section.string("enrollment", "");
    if (!config.enrollment.empty() &&
        !std::all_of(config.enrollment.begin(), config.enrollment.end(), [](char c) { return c >= '0' && c <= '9'; })) {
        throw ConfigError(section.key("enrollment"), "must be the enrollment number (digits only)");
    }
    config.api_key = section.optional_secret("api_key", secrets, warnings);
    return config;
}

}  // namespace

bool ReconciliationConfig::uses(recon::Source source) const {
    return std::find(sources.begin(), sources.end(), source) != sources.end();
}

ReconciliationConfig parse_reconciliation_config(const ConfigSection& root, const SecretSource& secrets,
                                                 ConfigWarnings& warnings) {
    const auto section = ConfigSection::child(
        root, "reconciliation",
        {"sources", "auto_settle", "daily_at", "lookback_days", "subscriptions", "processing_delay_hours",
         "partner_billing", "ea_charges"});
    ReconciliationConfig config;
    config.sources = parse_sources(section);
    config.auto_settle = section.boolean("auto_settle", false);
    config.daily_at = parse_daily_at(section);
    config.lookback_days = section.integer("lookback_days", config.lookback_days, 1, 62);
    config.subscriptions = parse_subscriptions(section);
    config.processing_delay = parse_delays(section);
    config.partner_billing = parse_partner_billing(section, secrets, warnings);
    config.ea_charges = parse_ea_charges(section, secrets, warnings);
    if ((config.uses(recon::Source::PartnerBilling) || config.uses(recon::Source::EaCharges)) &&
        config.subscriptions.empty()) {
        warnings.push_back("reconciliation.subscriptions is empty: partner_billing and ea_charges rows name Azure "
                           "subscriptions, and none can be matched to a resource");
    }
    return config;
}

Json to_json(const ReconciliationConfig& config) {
    Json sources = Json::array();
    for (const recon::Source source : config.sources) sources.push_back(recon::to_string(source));
    Json subscriptions = Json::object();
    for (const auto& [azure_subscription, resource] : config.subscriptions) subscriptions[azure_subscription] = resource;
    Json delays = Json::object();
    for (const auto& [source, delay] : config.processing_delay) {
        delays[std::string(recon::to_string(source))] = std::chrono::duration_cast<std::chrono::hours>(delay).count();
    }
    Json daily = nullptr;
    if (config.daily_at) {
        const auto minutes = config.daily_at->count();
        char text[16];
        std::snprintf(text, sizeof text, "%02d:%02d", static_cast<int>(minutes / 60), static_cast<int>(minutes % 60));
        daily = text;
    }
    const auto& pb = config.partner_billing;
    const auto& ea = config.ea_charges;
    return {{"sources", std::move(sources)},
            {"auto_settle", config.auto_settle},
            {"daily_at", std::move(daily)},
            {"lookback_days", config.lookback_days},
            {"subscriptions", std::move(subscriptions)},
            {"processing_delay_hours", std::move(delays)},
            {"partner_billing",
             {{"graph_base_url", pb.graph_base_url},
              {"token_url", pb.token_url.empty() ? Json(nullptr) : Json(pb.token_url)},
              {"client_id", pb.client_id.empty() ? Json(nullptr) : Json(pb.client_id)},
              {"client_secret", masked_secret_json(pb.client_secret)},
              {"currency_code", pb.currency_code}}},
            {"ea_charges",
             {{"base_url", ea.base_url},
              {"enrollment", ea.enrollment.empty() ? Json(nullptr) : Json(ea.enrollment)},
              {"api_key", masked_secret_json(ea.api_key)}}}};
}

}  // namespace meterbridge::app
