// Assembling the config file from the rooms' section parsers, in document
// order of the checks that depend on each other: the listener first (the
// webhook, ops and testing sections are stricter when it is reachable).
#include "cli/config.hpp"

namespace meterbridge::app {

Config parse_config(std::string_view text, const SecretSource& secrets) {
    auto document = parse_exact_json(text);
    if (!document) throw ConfigError("", "the config file is not valid JSON: " + document.error().message);
    return parse_config_document(*document, secrets);
}

Config parse_config_document(const Json& document, const SecretSource& secrets) {
    const ConfigSection root(document, "",
                             {"listen", "public_base_url", "trusted_proxies", "storage", "log", "webhook", "m3ter",
                              "ops", "azure", "scheduler", "integrations", "external_mappings", "accounts", "reconciliation",
                              "testing"});
    Config config;
    ConfigWarnings& warnings = config.warnings;
    config.server = net::parse_server_config(root);
    config.storage = store::parse_storage_config(root);
    config.log = parse_log_config(root);
    config.webhook = m3ter::parse_webhook_config(root, config.server.listen, secrets, warnings);
    config.m3ter = m3ter::parse_m3ter_config(root, secrets, warnings);
    config.ops = parse_ops_config(root, config.server, secrets, warnings);
    config.azure = azure::parse_azure_config(root, secrets, warnings);
    config.sandbox_catalog = sandbox::parse_sandbox_catalog_config(root);
    config.scheduler = parse_scheduler_config(root);
    config.rules = parse_integration_rules(root, warnings);
    config.reconciliation = parse_reconciliation_config(root, secrets, warnings);
    config.testing = parse_testing_config(root, config.server, warnings);
    if (config.testing.events_per_batch) {
        config.scheduler.events_per_batch = static_cast<std::size_t>(*config.testing.events_per_batch);
    }
    return config;
}

Json config_to_masked_json(const Config& config) {
    Json out = Json::object();
    net::add_server_config_json(out, config.server);
    out["storage"] = store::to_json(config.storage);
    out["log"] = to_json(config.log);
    out["webhook"] = m3ter::to_json(config.webhook);
    out["m3ter"] = m3ter::to_json(config.m3ter);
    out["ops"] = to_json(config.ops);
    out["azure"] = azure::to_json(config.azure);
    out["azure"]["sandbox_catalog"] = sandbox::to_json(config.sandbox_catalog);
    out["scheduler"] = to_json(config.scheduler);
    add_integration_rules_json(out, config.rules);
    out["reconciliation"] = to_json(config.reconciliation);
    out["testing"] = to_json(config.testing);
    return out;
}

}  // namespace meterbridge::app
