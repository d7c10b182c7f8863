#include "cli/config.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <sstream>

namespace meterbridge::app {
namespace {

class FakeSecrets : public SecretSource {
public:
    std::map<std::string, std::string> vars{{"K", "the-api-key"}, {"S", "the-api-secret"}};
    std::map<std::string, std::string> files;

    std::optional<std::string> env(const std::string& name) const override {
        const auto found = vars.find(name);
        return found == vars.end() ? std::nullopt : std::optional<std::string>(found->second);
    }
    std::optional<std::string> file(const std::string& path) const override {
        const auto found = files.find(path);
        return found == files.end() ? std::nullopt : std::optional<std::string>(found->second);
    }
};

// The smallest valid config: signed webhooks, everything else defaulted.
constexpr std::string_view kMinimal = R"({"webhook":{"api_key":"env:K","api_secret":"env:S"}})";

Json doc(std::string_view text) {
    auto parsed = parse_exact_json(text);
    EXPECT_TRUE(parsed.ok()) << text;
    return parsed.ok() ? *parsed : Json::object();
}

// kMinimal with `patch` merged in (objects merged recursively).
std::string with(std::string_view patch) {
    Json base = doc(kMinimal);
    base.merge_patch(doc(patch));
    return dump_exact(base);
}

std::string with_integration(std::string_view integration) {
    return with(std::string(R"({"integrations":[)") + std::string(integration) + "]}");
}

constexpr std::string_view kPerProduct = R"({"id":"i1","split_usage_line_items":"ITEM_PER_PRODUCT"})";

Config parse(std::string_view text, const FakeSecrets& secrets = FakeSecrets()) { return parse_config(text, secrets); }

struct Failure {
    std::string key;
    std::string message;
};

Failure failure(std::string_view text, const FakeSecrets& secrets = FakeSecrets()) {
    try {
        parse_config(text, secrets);
    } catch (const ConfigError& error) {
        return Failure{error.key(), error.what()};
    }
    ADD_FAILURE() << "expected a ConfigError for " << text;
    return {};
}

bool has_warning(const Config& config, std::string_view text) {
    for (const std::string& warning : config.warnings) {
        if (warning.find(text) != std::string::npos) return true;
    }
    return false;
}

TEST(Config, ExampleFileParses) {
    std::ifstream in(std::string(METERBRIDGE_SOURCE_DIR) + "/config/meterbridge.example.json");
    ASSERT_TRUE(in) << "config/meterbridge.example.json not found";
    std::stringstream text;
    text << in.rdbuf();
    FakeSecrets secrets;
    secrets.vars = {{"MB_M3TER_API_KEY", "demo-api-key"},
                    {"MB_M3TER_API_SECRET", "demo-api-secret"},
                    {"MB_OPS_TOKEN", "demo-ops-token"}};
    const Config config = parse_config(text.str(), secrets);
    EXPECT_EQ(config.azure.mode, azure::AzureMode::Sandbox);
    EXPECT_EQ(config.server.listen.address, "127.0.0.1");
    EXPECT_EQ(config.server.listen.port, 8080);
    EXPECT_EQ(config.scheduler.policy, SchedulerPolicy::Eager);
    EXPECT_FALSE(config.testing.clock_control);
    ASSERT_EQ(config.rules.integrations.size(), 3U);
    EXPECT_EQ(config.rules.integrations[0].split_usage_line_items, SplitMode::ItemPerBill);
    EXPECT_EQ(config.rules.integrations[1].split_usage_line_items, SplitMode::ItemPerProduct);
    EXPECT_EQ(config.rules.integrations[2].split_usage_line_items, SplitMode::ItemPerAggregation);
    EXPECT_NE(config.rules.integrations[0].id, config.rules.integrations[1].id);
    EXPECT_NE(config.rules.integrations[1].id, config.rules.integrations[2].id);
    ASSERT_TRUE(config.rules.integrations[0].account_filter.has_value());
    EXPECT_TRUE(config.rules.integrations[0].account_filter->matches(config.rules.accounts.at(0)));
    EXPECT_FALSE(config.rules.integrations[0].account_filter->matches(config.rules.accounts.at(1)));
    EXPECT_EQ(config.rules.external_mappings.size(), 7U);
    EXPECT_EQ(config.rules.accounts.size(), 3U);
    EXPECT_EQ(config.webhook.api_key->value(), "demo-api-key");
    EXPECT_EQ(config.ops.token->value(), "demo-ops-token");
    EXPECT_TRUE(config.warnings.empty()) << config.warnings.front();
    // The demo's sandbox knows every subscription the mappings name, so that a wrong
    // dimension is rejected end to end rather than accepted by a lenient fake.
    ASSERT_TRUE(config.sandbox_catalog.has_value());
    for (const auto& mapping : config.rules.external_mappings) {
        if (mapping.external_table != ExternalTable::Subscription) continue;
        const auto& subs = config.sandbox_catalog->subscriptions;
        EXPECT_TRUE(std::any_of(subs.begin(), subs.end(), [&](const auto& s) { return s.resource_id == mapping.external_id; }))
            << mapping.external_id;
    }
}

TEST(Config, DefaultsOfEverySection) {
    const Config config = parse(kMinimal);
    EXPECT_EQ(config.server.listen.address, "127.0.0.1");
    EXPECT_EQ(config.server.listen.port, 8080);
    EXPECT_EQ(config.server.public_base_url, "http://127.0.0.1:8080");
    ASSERT_EQ(config.server.trusted_proxies.size(), 1U);
    EXPECT_EQ(config.server.trusted_proxies[0].to_string(), "127.0.0.1/32");
    EXPECT_EQ(config.storage.sqlite_path, "var/meterbridge.db");
    EXPECT_EQ(config.storage.payload_retention_days, 400);
    EXPECT_EQ(config.log.level, "info");
    EXPECT_EQ(config.log.format, LogFormat::Text);
    EXPECT_EQ(config.webhook.path, "/webhooks/m3ter");
    EXPECT_EQ(config.webhook.max_body_bytes, 1048576);
    EXPECT_EQ(config.webhook.max_clock_skew_s, 300);
    EXPECT_EQ(config.webhook.signature.string_to_sign, "{url}|{api_key}|{timestamp}|{body}");
    EXPECT_EQ(config.webhook.signature.encoding, m3ter::SignatureEncoding::Hex);
    EXPECT_FALSE(config.webhook.allow_unsigned);
    EXPECT_FALSE(config.m3ter.has_value());
    EXPECT_FALSE(config.ops.token.has_value());
    EXPECT_EQ(config.azure.mode, azure::AzureMode::Sandbox);
    EXPECT_EQ(config.azure.metering_base_url, "https://marketplaceapi.microsoft.com");
    EXPECT_EQ(config.azure.token_url, "https://login.microsoftonline.com/sandbox-tenant/oauth2/v2.0/token");
    EXPECT_EQ(config.azure.tenant_id, "sandbox-tenant");
    EXPECT_EQ(config.azure.client_id, "sandbox-client");
    EXPECT_FALSE(config.azure.client_secret.has_value());
    EXPECT_EQ(config.azure.api_version, "2018-08-31");
    EXPECT_EQ(config.azure.request_timeout_s, 30);
    EXPECT_EQ(config.scheduler.policy, SchedulerPolicy::HourClose);
    EXPECT_EQ(config.scheduler.flush_delay_s, 60);
    EXPECT_EQ(config.scheduler.tick_s, 5);
    EXPECT_TRUE(config.rules.integrations.empty());
    EXPECT_TRUE(has_warning(config, "no integrations configured"));
    EXPECT_TRUE(config.rules.external_mappings.empty());
    EXPECT_TRUE(config.rules.accounts.empty());
    EXPECT_FALSE(config.testing.clock_control);
}

TEST(Config, IntegrationDefaults) {
    const Config config = parse(with_integration(kPerProduct));
    ASSERT_EQ(config.rules.integrations.size(), 1U);
    const IntegrationConfig& integration = config.rules.integrations[0];
    EXPECT_EQ(integration.id, "i1");
    EXPECT_EQ(integration.name, "i1");
    EXPECT_TRUE(integration.enabled);
    EXPECT_TRUE(integration.account_ids.empty());
    EXPECT_TRUE(integration.restricted_account_ids.empty());
    EXPECT_FALSE(integration.only_send_bill_on_approval);
    EXPECT_TRUE(integration.excluded_line_item_types.empty());
    EXPECT_FALSE(integration.account_filter.has_value());
    EXPECT_FALSE(integration.enforce_external_mappings_for_config);
    EXPECT_TRUE(integration.excluded_product_ids.empty());
    EXPECT_TRUE(integration.excluded_aggregation_ids.empty());
    EXPECT_EQ(integration.split_usage_line_items, SplitMode::ItemPerProduct);
    EXPECT_EQ(integration.fallback_dimension, "");
    EXPECT_EQ(integration.plan_id, "");
    EXPECT_EQ(integration.resource_id_from, ResourceIdSource::ExternalMapping);
    EXPECT_EQ(integration.currency, "USD");
    EXPECT_EQ(integration.unit_price.to_string(), "0.01");
    EXPECT_EQ(integration.rounding, Rounding::HalfUp);
}

TEST(Config, ReadsEveryIntegrationField) {
    const Config config = parse(with_integration(R"({"id":"x","name":"X","enabled":false,"account_ids":["a","b"],
        "restricted_account_ids":["c"],"only_send_bill_on_approval":true,
        "excluded_line_item_types":["MINIMUM_SPEND","AD_HOC"],"account_filter":"customFields.vip",
        "enforce_external_mappings_for_config":true,"excluded_product_ids":["p1"],"excluded_aggregation_ids":["g1"],
        "split_usage_line_items":"ITEM_PER_BILL","marketplace_bill_dimension":"total","fallback_dimension":"misc",
        "plan_id":"gold","resource_id_from":"account_code","currency":"EUR","unit_price":"0.001",
        "rounding":"half_even"})"));
    const IntegrationConfig& i = config.rules.integrations.at(0);
    EXPECT_EQ(i.name, "X");
    EXPECT_FALSE(i.enabled);
    EXPECT_EQ(i.account_ids, (std::vector<std::string>{"a", "b"}));
    EXPECT_EQ(i.restricted_account_ids, (std::vector<std::string>{"c"}));
    EXPECT_TRUE(i.only_send_bill_on_approval);
    EXPECT_EQ(i.excluded_line_item_types, (std::vector<std::string>{"MINIMUM_SPEND", "AD_HOC"}));
    ASSERT_TRUE(i.account_filter.has_value());
    EXPECT_TRUE(i.account_filter->matches(doc(R"({"customFields":{"vip":true}})")));
    EXPECT_TRUE(i.enforce_external_mappings_for_config);
    EXPECT_EQ(i.excluded_product_ids, (std::vector<std::string>{"p1"}));
    EXPECT_EQ(i.excluded_aggregation_ids, (std::vector<std::string>{"g1"}));
    EXPECT_EQ(i.split_usage_line_items, SplitMode::ItemPerBill);
    EXPECT_EQ(i.marketplace_bill_dimension, "total");
    EXPECT_EQ(i.fallback_dimension, "misc");
    EXPECT_EQ(i.plan_id, "gold");
    EXPECT_EQ(i.resource_id_from, ResourceIdSource::AccountCode);
    EXPECT_EQ(i.currency, "EUR");
    EXPECT_EQ(i.unit_price.to_string(), "0.001");
    EXPECT_EQ(i.rounding, Rounding::HalfEven);
}

TEST(Config, UnitPriceIsExact) {
    EXPECT_EQ(parse(with_integration(R"({"id":"i","split_usage_line_items":"ITEM_PER_PRODUCT","unit_price":"0.10"})"))
                  .rules.integrations[0]
                  .unit_price.to_string(),
              "0.1");
    // A JSON number is read from its text too, never through a double.
    EXPECT_EQ(parse(with_integration(R"({"id":"i","split_usage_line_items":"ITEM_PER_PRODUCT","unit_price":0.0001})"))
                  .rules.integrations[0]
                  .unit_price.to_string(),
              "0.0001");
}

TEST(Config, UnknownKeysNameTheFullPath) {
    struct Case {
        std::string text;
        std::string key;
    };
    const std::vector<Case> cases = {
        {with(R"({"listn":{}})"), "listn"},
        {with(R"({"listen":{"adress":"127.0.0.1"}})"), "listen.adress"},
        {with(R"({"storage":{"path":"x"}})"), "storage.path"},
        {with(R"({"log":{"colour":true}})"), "log.colour"},
        {with(R"({"webhook":{"secret":"x"}})"), "webhook.secret"},
        {with(R"({"webhook":{"signature":{"encodng":"hex"}}})"), "webhook.signature.encodng"},
        {with(R"({"m3ter":{"org_id":"o","client_id":"env:K","client_secret":"env:S","region":"eu"}})"), "m3ter.region"},
        {with(R"({"ops":{"tokn":"env:K"}})"), "ops.tokn"},
        {with(R"({"azure":{"tennant_id":"t"}})"), "azure.tennant_id"},
        {with(R"({"scheduler":{"tick":5}})"), "scheduler.tick"},
        {with(R"({"testing":{"clock":true}})"), "testing.clock"},
        {with(R"({"integrations":[{"id":"a","split_usage_line_items":"ITEM_PER_PRODUCT"},
                                  {"id":"b","split_usage_line_items":"ITEM_PER_PRODUCT","acount_filter":"x"}]})"),
         "integrations[1].acount_filter"},
        {with(R"({"external_mappings":[{"m3ter_entity":"Account","m3ter_id":"a","external_id":"s","plan":"p"}]})"),
         "external_mappings[0].plan"},
    };
    for (const Case& c : cases) {
        const Failure f = failure(c.text);
        EXPECT_EQ(f.key, c.key) << c.text;
        EXPECT_NE(f.message.find("unknown key"), std::string::npos) << f.message;
    }
    EXPECT_EQ(failure(with(R"({"integrations":[{"id":"b","split_usage_line_items":"ITEM_PER_PRODUCT",
                                                "acount_filter":"x"}]})"))
                  .message,
              "unknown key (did you mean 'account_filter'?)");
}

TEST(Config, BadValuesNameTheKey) {
    struct Case {
        std::string text;
        std::string key;
    };
    const std::vector<Case> cases = {
        {"[]", ""},
        {"{", ""},
        {with(R"({"listen":"127.0.0.1:8080"})"), "listen"},
        {with(R"({"listen":{"address":"localhost"}})"), "listen.address"},
        {with(R"({"listen":{"port":70000}})"), "listen.port"},
        {with(R"({"listen":{"port":"8080"}})"), "listen.port"},
        {with(R"({"listen":{"port":80.5}})"), "listen.port"},
        {with(R"({"public_base_url":"bridge.example.com"})"), "public_base_url"},
        {with(R"({"public_base_url":"https://x.example.com/?a=1"})"), "public_base_url"},
        {with(R"({"trusted_proxies":"10.0.0.0/8"})"), "trusted_proxies"},
        {with(R"({"trusted_proxies":["10.0.0.0/8","10.0.0.1/8"]})"), "trusted_proxies[1]"},
        {with(R"({"trusted_proxies":["10.0.0.0/33"]})"), "trusted_proxies[0]"},
        {with(R"({"trusted_proxies":["ten.0.0.0/8"]})"), "trusted_proxies[0]"},
        {with(R"({"storage":{"sqlite_path":""}})"), "storage.sqlite_path"},
        {with(R"({"storage":{"payload_retention_days":0}})"), "storage.payload_retention_days"},
        {with(R"({"log":{"level":"verbose"}})"), "log.level"},
        {with(R"({"log":{"format":"xml"}})"), "log.format"},
        {with(R"({"webhook":{"path":"webhooks"}})"), "webhook.path"},
        {with(R"({"webhook":{"max_body_bytes":0}})"), "webhook.max_body_bytes"},
        {with(R"({"webhook":{"max_clock_skew_s":-1}})"), "webhook.max_clock_skew_s"},
        {with(R"({"webhook":{"signature":{"encoding":"base32"}}})"), "webhook.signature.encoding"},
        {with(R"({"webhook":{"signature":{"string_to_sign":"{url}|{path}|{body}"}}})"),
         "webhook.signature.string_to_sign"},
        {with(R"({"webhook":{"allow_unsigned":"yes"}})"), "webhook.allow_unsigned"},
        {with(R"({"m3ter":{"client_id":"env:K","client_secret":"env:S"}})"), "m3ter.org_id"},
        {with(R"({"m3ter":{"org_id":"o","client_secret":"env:S"}})"), "m3ter.client_id"},
        {with(R"({"m3ter":{"org_id":"o","client_id":"env:K","client_secret":"env:S","base_url":"ftp://x"}})"),
         "m3ter.base_url"},
        {with(R"({"azure":{"mode":"production"}})"), "azure.mode"},
        {with(R"({"azure":{"request_timeout_s":0}})"), "azure.request_timeout_s"},
        {with(R"({"azure":{"token_url":"https://login/{tenant}/token"}})"), "azure.token_url"},
        {with(R"({"scheduler":{"policy":"lazy"}})"), "scheduler.policy"},
        {with(R"({"scheduler":{"tick_s":0}})"), "scheduler.tick_s"},
        {with(R"({"scheduler":{"flush_delay_s":-5}})"), "scheduler.flush_delay_s"},
        {with(R"({"testing":{"clock_control":1}})"), "testing.clock_control"},
        {with(R"({"integrations":{}})"), "integrations"},
        {with(R"({"integrations":["x"]})"), "integrations[0]"},
        {with_integration(R"({"split_usage_line_items":"ITEM_PER_PRODUCT"})"), "integrations[0].id"},
        {with_integration(R"({"id":"i"})"), "integrations[0].split_usage_line_items"},
        {with_integration(R"({"id":"i","split_usage_line_items":"PER_BILL"})"), "integrations[0].split_usage_line_items"},
        {with_integration(R"({"id":"i","split_usage_line_items":"ITEM_PER_BILL"})"),
         "integrations[0].marketplace_bill_dimension"},
        {with_integration(R"({"id":"i","split_usage_line_items":"ITEM_PER_PRODUCT","enabled":"true"})"),
         "integrations[0].enabled"},
        {with_integration(R"({"id":"i","split_usage_line_items":"ITEM_PER_PRODUCT","account_ids":["a",""]})"),
         "integrations[0].account_ids[1]"},
        {with_integration(R"({"id":"i","split_usage_line_items":"ITEM_PER_PRODUCT","account_ids":"a"})"),
         "integrations[0].account_ids"},
        {with_integration(
             R"({"id":"i","split_usage_line_items":"ITEM_PER_PRODUCT","excluded_line_item_types":["USAGE","USAGES"]})"),
         "integrations[0].excluded_line_item_types[1]"},
        {with_integration(R"({"id":"i","split_usage_line_items":"ITEM_PER_PRODUCT","resource_id_from":"account"})"),
         "integrations[0].resource_id_from"},
        {with_integration(R"({"id":"i","split_usage_line_items":"ITEM_PER_PRODUCT","resource_id_from":"account_id"})"),
         "integrations[0].plan_id"},
        {with_integration(R"({"id":"i","split_usage_line_items":"ITEM_PER_PRODUCT","currency":"usd"})"),
         "integrations[0].currency"},
        {with_integration(R"({"id":"i","split_usage_line_items":"ITEM_PER_PRODUCT","unit_price":"0"})"),
         "integrations[0].unit_price"},
        {with_integration(R"({"id":"i","split_usage_line_items":"ITEM_PER_PRODUCT","unit_price":"-0.01"})"),
         "integrations[0].unit_price"},
        {with_integration(R"({"id":"i","split_usage_line_items":"ITEM_PER_PRODUCT","unit_price":"one cent"})"),
         "integrations[0].unit_price"},
        {with_integration(R"({"id":"i","split_usage_line_items":"ITEM_PER_PRODUCT","unit_price":true})"),
         "integrations[0].unit_price"},
        {with_integration(R"({"id":"i","split_usage_line_items":"ITEM_PER_PRODUCT","rounding":"nearest"})"),
         "integrations[0].rounding"},
        {with(R"({"accounts":[{"code":"x"}]})"), "accounts[0].id"},
        {with(R"({"accounts":[{"id":"a"},{"id":"a"}]})"), "accounts[1].id"},
        {with(R"({"accounts":[3]})"), "accounts[0]"},
    };
    for (const Case& c : cases) {
        const Failure f = failure(c.text);
        EXPECT_EQ(f.key, c.key) << c.text << " -> " << f.message;
        EXPECT_FALSE(f.message.empty());
    }
}

TEST(Config, AccountFilterSyntaxErrorNamesColumnAndKey) {
    const Failure f = failure(
        with_integration(R"({"id":"i","split_usage_line_items":"ITEM_PER_PRODUCT","account_filter":"country == "})"));
    EXPECT_EQ(f.key, "integrations[0].account_filter");
    EXPECT_EQ(f.message, "column 12: expected a value after '==', found end of expression");
}

TEST(Config, IntegrationIdsAreUnique) {
    const Failure f = failure(with(R"({"integrations":[{"id":"a","split_usage_line_items":"ITEM_PER_PRODUCT"},
                                                      {"id":"a","split_usage_line_items":"ITEM_PER_PRODUCT"}]})"));
    EXPECT_EQ(f.key, "integrations[1].id");
    EXPECT_NE(f.message.find("integrations[0]"), std::string::npos);
}

TEST(Config, IntegrationWarnings) {
    const Config config = parse(with_integration(R"({"id":"i","split_usage_line_items":"ITEM_PER_PRODUCT",
        "marketplace_bill_dimension":"d","account_ids":["a"],"restricted_account_ids":["a"]})"));
    EXPECT_TRUE(has_warning(config, "integrations[0].marketplace_bill_dimension is ignored"));
    EXPECT_TRUE(has_warning(config, "restriction wins"));
}

TEST(Config, MappingsAreValidatedAndNumbered) {
    const std::string base = R"({"integrations":[{"id":"int-a","split_usage_line_items":"ITEM_PER_PRODUCT"}],
                                 "external_mappings":[)";
    const Config config = parse(with(base + R"({"m3ter_entity":"Account","m3ter_id":"a","external_id":"s"},
        {"m3ter_entity":"Account","m3ter_id":"a","external_id":"s2","integration_id":"int-a","id":"linked-a"},
        {"m3ter_entity":"Product","m3ter_id":"p","external_id":"d"}]})"));
    ASSERT_EQ(config.rules.external_mappings.size(), 3U);
    EXPECT_EQ(config.rules.external_mappings[0].id, "cfg-0");
    EXPECT_EQ(config.rules.external_mappings[1].id, "linked-a");
    EXPECT_EQ(config.rules.external_mappings[2].id, "cfg-2");
    EXPECT_EQ(config.rules.external_mappings[2].external_table, ExternalTable::Dimension);

    EXPECT_EQ(failure(with(base + R"({"m3ter_entity":"Account","m3ter_id":"a","external_id":"s",
                                      "integration_id":"int-b"}]})"))
                  .key,
              "external_mappings[0].integration_id");
    EXPECT_EQ(failure(with(base + R"({"m3ter_entity":"Account","m3ter_id":"a","external_id":"s"},
                                     {"m3ter_entity":"Account","m3ter_id":"a","external_id":"t"}]})"))
                  .key,
              "external_mappings[1]");
    EXPECT_EQ(failure(with(base + R"({"m3ter_entity":"Account","m3ter_id":"a","external_id":"s","id":"m"},
                                     {"m3ter_entity":"Product","m3ter_id":"p","external_id":"t","id":"m"}]})"))
                  .key,
              "external_mappings[1].id");
    EXPECT_EQ(failure(with(base + R"({"m3ter_entity":"Product","m3ter_id":"p","external_id":"t",
                                      "external_table":"Subscription"}]})"))
                  .key,
              "external_mappings[0].external_table");
    EXPECT_EQ(failure(with(base + R"({"m3ter_entity":"Product","m3ter_id":"p","external_id":"t","plan_id":"x"}]})"))
                  .key,
              "external_mappings[0].plan_id");
    EXPECT_EQ(failure(with(base + R"({"m3ter_entity":"Product","m3ter_id":"p"}]})")).key,
              "external_mappings[0].external_id");
}

TEST(Config, SecretsFromEnvironment) {
    const Config config = parse(kMinimal);
    ASSERT_TRUE(config.webhook.api_key.has_value());
    EXPECT_EQ(config.webhook.api_key->value(), "the-api-key");
    EXPECT_EQ(config.webhook.api_key->reference(), "env:K");
    EXPECT_EQ(config.webhook.api_secret->value(), "the-api-secret");
    EXPECT_TRUE(config.webhook.signed_requests());
    EXPECT_FALSE(has_warning(config, "literal secret"));
}

TEST(Config, SecretsFromFilesLoseOneTrailingNewline) {
    FakeSecrets secrets;
    secrets.files = {{"/run/key", "file-key\n"}, {"/run/secret", "file-secret\n\n"}, {"/run/crlf", "tok\r\n"}};
    const Config config = parse(with(R"({"webhook":{"api_key":"file:/run/key","api_secret":"file:/run/secret"},
                                         "ops":{"token":"file:/run/crlf"}})"),
                                secrets);
    EXPECT_EQ(config.webhook.api_key->value(), "file-key");
    EXPECT_EQ(config.webhook.api_secret->value(), "file-secret\n");
    EXPECT_EQ(config.ops.token->value(), "tok");
    EXPECT_EQ(config.ops.token->reference(), "file:/run/crlf");
}

// systemd's LoadCredential= (issue 18): the secret is the file NAME in
// $CREDENTIALS_DIRECTORY, read like file: (one trailing newline dropped).
TEST(Config, SecretsFromSystemdCredentials) {
    FakeSecrets secrets;
    secrets.vars["CREDENTIALS_DIRECTORY"] = "/run/credentials/meterbridge.service";
    secrets.files = {{"/run/credentials/meterbridge.service/api-key", "cred-key\n"},
                     {"/run/credentials/meterbridge.service/ops-token", "cred-token"}};
    const Config config = parse(with(R"({"webhook":{"api_key":"credential:api-key"},
                                         "ops":{"token":"credential:ops-token"}})"),
                                secrets);
    EXPECT_EQ(config.webhook.api_key->value(), "cred-key");
    EXPECT_EQ(config.webhook.api_key->reference(), "credential:api-key");
    EXPECT_EQ(config.ops.token->value(), "cred-token");
    EXPECT_FALSE(has_warning(config, "literal secret"));
}

TEST(Config, CredentialSecretsNeedTheDirectoryAndStayInside) {
    FakeSecrets secrets;
    Failure f = failure(with(R"({"ops":{"token":"credential:ops-token"}})"), secrets);
    EXPECT_EQ(f.key, "ops.token");
    EXPECT_NE(f.message.find("needs $CREDENTIALS_DIRECTORY"), std::string::npos) << f.message;
    EXPECT_NE(f.message.find("LoadCredential=ops-token"), std::string::npos) << f.message;

    secrets.vars["CREDENTIALS_DIRECTORY"] = "/run/creds";
    secrets.files = {{"/run/creds/empty", "\n"}, {"/etc/passwd", "root"}, {"/run/creds/../x", "x"}};
    f = failure(with(R"({"ops":{"token":"credential:missing"}})"), secrets);
    EXPECT_EQ(f.message, "cannot read secret file /run/creds/missing");
    EXPECT_EQ(failure(with(R"({"ops":{"token":"credential:empty"}})"), secrets).message,
              "secret file /run/creds/empty is empty");
    for (const char* bad : {"credential:", "credential:.", "credential:..", "credential:../x", "credential:a/b",
                            "credential:/etc/passwd"}) {
        f = failure(with(std::string(R"({"ops":{"token":")") + bad + "\"}}"), secrets);
        EXPECT_EQ(f.key, "ops.token") << bad;
        EXPECT_NE(f.message.find("does not name a credential"), std::string::npos) << bad << ": " << f.message;
    }
}

TEST(Config, LiteralSecretsAreAcceptedWithAWarning) {
    const Config config = parse(with(R"({"ops":{"token":"hunter2"}})"));
    EXPECT_EQ(config.ops.token->value(), "hunter2");
    EXPECT_EQ(config.ops.token->reference(), "literal");
    ASSERT_TRUE(has_warning(config, "literal secret in ops.token"));
    for (const std::string& warning : config.warnings) EXPECT_EQ(warning.find("hunter2"), std::string::npos);
}

TEST(Config, UnresolvableSecretsNameKeyAndSourceNeverAValue) {
    FakeSecrets secrets;
    secrets.vars["EMPTY"] = "";
    secrets.files["/run/empty"] = "\n";
    Failure f = failure(with(R"({"ops":{"token":"env:MB_MISSING"}})"), secrets);
    EXPECT_EQ(f.key, "ops.token");
    EXPECT_EQ(f.message, "environment variable MB_MISSING is not set");
    f = failure(with(R"({"ops":{"token":"file:/nope"}})"), secrets);
    EXPECT_EQ(f.key, "ops.token");
    EXPECT_EQ(f.message, "cannot read secret file /nope");
    EXPECT_EQ(failure(with(R"({"ops":{"token":"env:EMPTY"}})"), secrets).key, "ops.token");
    EXPECT_EQ(failure(with(R"({"ops":{"token":"file:/run/empty"}})"), secrets).key, "ops.token");
    EXPECT_EQ(failure(with(R"({"ops":{"token":"env:"}})"), secrets).key, "ops.token");
    EXPECT_EQ(failure(with(R"({"ops":{"token":"env:BAD-NAME"}})"), secrets).key, "ops.token");
    EXPECT_EQ(failure(with(R"({"ops":{"token":""}})"), secrets).key, "ops.token");
    EXPECT_EQ(failure(with(R"({"ops":{"token":42}})"), secrets).key, "ops.token");
    EXPECT_EQ(failure(with(R"({"webhook":{"api_secret":"env:MB_NOPE"}})"), secrets).key, "webhook.api_secret");
    EXPECT_EQ(failure(with(R"({"azure":{"client_secret":"env:MB_NOPE"}})"), secrets).key, "azure.client_secret");
    EXPECT_EQ(failure(with(R"({"m3ter":{"org_id":"o","client_id":"env:K","client_secret":"env:MB_NOPE"}})"), secrets)
                  .key,
              "m3ter.client_secret");
}

TEST(Config, SecretPrintsMasked) {
    const Secret secret("s3cr3t-value", "env:X");
    std::ostringstream out;
    out << secret;
    EXPECT_EQ(out.str(), "***");
    EXPECT_EQ(secret.value(), "s3cr3t-value");
}

TEST(Config, MaskedJsonContainsNoSecretValue) {
    FakeSecrets secrets;
    secrets.vars = {{"K", "VAL-api-key"},         {"S", "VAL-api-secret"},   {"MCI", "VAL-m3ter-client-id"},
                    {"MCS", "VAL-m3ter-secret"}, {"AZS", "VAL-azure-secret"}};
    const Config config = parse(with(R"({
        "m3ter":{"org_id":"org-1","client_id":"env:MCI","client_secret":"env:MCS"},
        "ops":{"token":"VAL-literal-ops-token"},
        "azure":{"mode":"live","tenant_id":"contoso.onmicrosoft.com","client_id":"app-1","client_secret":"env:AZS"},
        "integrations":[{"id":"i","split_usage_line_items":"ITEM_PER_PRODUCT","unit_price":"0.010"}],
        "accounts":[{"id":"a","customFields":{"credit":12.50}}]})"),
                                secrets);
    const Json masked = config_to_masked_json(config);
    const std::string text = dump_exact(masked);
    EXPECT_EQ(text.find("VAL-"), std::string::npos) << text;
    EXPECT_EQ(masked["webhook"]["api_key"], "***");
    EXPECT_EQ(masked["webhook"]["api_secret"], "***");
    EXPECT_EQ(masked["m3ter"]["client_id"], "***");
    EXPECT_EQ(masked["m3ter"]["client_secret"], "***");
    EXPECT_EQ(masked["ops"]["token"], "***");
    EXPECT_EQ(masked["azure"]["client_secret"], "***");
    EXPECT_EQ(masked["m3ter"]["org_id"], "org-1");
    EXPECT_EQ(masked["azure"]["token_url"],
              "https://login.microsoftonline.com/contoso.onmicrosoft.com/oauth2/v2.0/token");
    EXPECT_EQ(masked["integrations"][0]["unit_price"], "0.01");
    EXPECT_EQ(masked["integrations"][0]["split_usage_line_items"], "ITEM_PER_PRODUCT");
    EXPECT_NE(text.find("\"credit\":12.50"), std::string::npos) << text;  // exact numbers kept
    EXPECT_EQ(masked["trusted_proxies"][0], "127.0.0.1/32");
    EXPECT_TRUE(masked["webhook"].contains("allow_unsigned"));
}

TEST(Config, MaskedJsonShowsAbsentSecretsAsNull) {
    const Json masked = config_to_masked_json(parse(kMinimal));
    EXPECT_TRUE(masked["ops"]["token"].is_null());
    EXPECT_TRUE(masked["m3ter"].is_null());
    EXPECT_TRUE(masked["azure"]["client_secret"].is_null());
}

TEST(Config, LiveAzureNeedsCredentials) {
    EXPECT_EQ(failure(with(R"({"azure":{"mode":"live","client_id":"c","client_secret":"env:S"}})")).key,
              "azure.tenant_id");
    EXPECT_EQ(failure(with(R"({"azure":{"mode":"live","tenant_id":"t","client_secret":"env:S"}})")).key,
              "azure.client_id");
    EXPECT_EQ(failure(with(R"({"azure":{"mode":"live","tenant_id":"t","client_id":"c"}})")).key,
              "azure.client_secret");
    EXPECT_EQ(failure(with(R"({"azure":{"mode":"live","tenant_id":"t","client_id":"c","client_secret":"env:S",
                                        "metering_base_url":"http://plain.example"}})"))
                  .key,
              "azure.metering_base_url");
    EXPECT_EQ(failure(with(R"({"azure":{"mode":"live","tenant_id":"t/../x","client_id":"c","client_secret":"env:S"}})"))
                  .key,
              "azure.tenant_id");
    const Config config =
        parse(with(R"({"azure":{"mode":"live","tenant_id":"72f988bf","client_id":"c","client_secret":"env:S",
                                "token_url":"https://login.example/{tenant_id}/oauth2/token/"}})"));
    EXPECT_EQ(config.azure.mode, azure::AzureMode::Live);
    EXPECT_EQ(config.azure.token_url, "https://login.example/72f988bf/oauth2/token");
    EXPECT_EQ(config.azure.client_secret->value(), "the-api-secret");
    // Plain http is accepted for a loopback Azure (a standalone sandbox), nowhere else.
    const Config local = parse(with(R"({"azure":{"mode":"live","tenant_id":"t","client_id":"c","client_secret":"env:S",
                                "metering_base_url":"http://127.0.0.1:9090",
                                "token_url":"http://localhost:9090/{tenant_id}/oauth2/v2.0/token"}})"));
    EXPECT_EQ(local.azure.metering_base_url, "http://127.0.0.1:9090");
    EXPECT_EQ(local.azure.token_url, "http://localhost:9090/t/oauth2/v2.0/token");
    EXPECT_EQ(failure(with(R"({"azure":{"mode":"live","tenant_id":"t","client_id":"c","client_secret":"env:S",
                                        "metering_base_url":"http://127.example.com"}})"))
                  .key,
              "azure.metering_base_url");
}

TEST(Config, WebhookSigningRules) {
    // Neither key nor secret, not allowed unsigned: refused.
    EXPECT_EQ(failure("{}").key, "webhook.api_key");
    // One without the other.
    EXPECT_EQ(failure(R"({"webhook":{"api_key":"env:K"}})").key, "webhook.api_secret");
    EXPECT_EQ(failure(R"({"webhook":{"api_secret":"env:S"}})").key, "webhook.api_key");
    // Unsigned on loopback: accepted with a warning.
    const Config local = parse(R"({"webhook":{"allow_unsigned":true}})");
    EXPECT_FALSE(local.webhook.signed_requests());
    EXPECT_TRUE(has_warning(local, "without a signature"));
    EXPECT_TRUE(parse(R"({"listen":{"address":"::1"},"webhook":{"allow_unsigned":true}})").webhook.allow_unsigned);
    // Unsigned on a public address: refused.
    EXPECT_EQ(failure(R"({"listen":{"address":"0.0.0.0"},"ops":{"token":"env:K"},"webhook":{"allow_unsigned":true}})")
                  .key,
              "webhook.allow_unsigned");
    const Config base64 = parse(with(R"({"webhook":{"signature":{"encoding":"base64","string_to_sign":"{body}"}}})"));
    EXPECT_EQ(base64.webhook.signature.encoding, m3ter::SignatureEncoding::Base64);
    EXPECT_TRUE(has_warning(base64, "has no {timestamp}"));
}

TEST(Config, OpsTokenRequiredOffLoopback) {
    EXPECT_EQ(failure(with(R"({"listen":{"address":"0.0.0.0"}})")).key, "ops.token");
    const Config config = parse(with(R"({"listen":{"address":"0.0.0.0","port":9000},"ops":{"token":"env:K"}})"));
    EXPECT_EQ(config.server.listen.port, 9000);
    EXPECT_FALSE(config.server.listen.is_loopback());
    EXPECT_EQ(config.server.public_base_url, "http://0.0.0.0:9000");
}

TEST(Config, TrustedProxiesAndBaseUrl) {
    const Config config = parse(with(R"({"trusted_proxies":["10.0.0.0/8","::1","2001:db8::/32"],
                                         "ops":{"token":"env:K"},
                                         "public_base_url":"https://bridge.example.com/"})"));
    ASSERT_EQ(config.server.trusted_proxies.size(), 3U);
    EXPECT_EQ(config.server.trusted_proxies[1].to_string(), "::1/128");
    EXPECT_TRUE(config.server.trusted_proxies[0].contains(*parse_ip_address("10.20.30.40")));
    EXPECT_FALSE(config.server.trusted_proxies[0].contains(*parse_ip_address("11.0.0.1")));
    EXPECT_TRUE(config.server.trusted_proxies[0].contains(*parse_ip_address("::ffff:10.1.2.3")));
    EXPECT_TRUE(config.server.trusted_proxies[2].contains(*parse_ip_address("2001:db8:ffff::1")));
    EXPECT_EQ(config.server.public_base_url, "https://bridge.example.com");
    EXPECT_TRUE(parse(with(R"({"trusted_proxies":[]})")).server.trusted_proxies.empty());
}

// Issue 14 (SPEC §5): a test switch must never be reachable from outside.
TEST(Config, ClockControlOnlyOnLoopbackWithoutTrustedProxies) {
    const Failure public_listen =
        failure(with(R"({"listen":{"address":"0.0.0.0"},"ops":{"token":"env:K"},"testing":{"clock_control":true}})"));
    EXPECT_EQ(public_listen.key, "testing.clock_control");
    EXPECT_NE(public_listen.message.find("0.0.0.0"), std::string::npos) << public_listen.message;

    const Failure proxied = failure(
        with(R"({"trusted_proxies":["127.0.0.1/32"],"ops":{"token":"env:K"},"testing":{"clock_control":true}})"));
    EXPECT_EQ(proxied.key, "testing.clock_control");
    EXPECT_NE(proxied.message.find("trusted_proxies"), std::string::npos) << proxied.message;

    // Loopback and no proxy: the default list is not "configured", [] neither.
    EXPECT_TRUE(parse(with(R"({"testing":{"clock_control":true}})")).testing.clock_control);
    EXPECT_TRUE(parse(with(R"({"trusted_proxies":[],"testing":{"clock_control":true}})")).testing.clock_control);
    EXPECT_TRUE(parse(with(R"({"listen":{"address":"::1"},"testing":{"clock_control":true}})")).testing.clock_control);
    // Off, the switch needs nothing.
    EXPECT_FALSE(parse(with(R"({"listen":{"address":"0.0.0.0"},"ops":{"token":"env:K"}})")).testing.clock_control);
}

TEST(Config, OpsTokenRequiredWithTrustedProxies) {
    const Failure proxied = failure(with(R"({"trusted_proxies":["10.0.0.0/8"]})"));
    EXPECT_EQ(proxied.key, "ops.token");
    EXPECT_NE(proxied.message.find("trusted_proxies"), std::string::npos) << proxied.message;
    EXPECT_EQ(failure(with(R"({"trusted_proxies":["127.0.0.1/32"]})")).key, "ops.token");

    EXPECT_EQ(parse(with(R"({"trusted_proxies":["10.0.0.0/8"],"ops":{"token":"env:K"}})")).ops.token->value(),
              "the-api-key");
    EXPECT_FALSE(parse(with(R"({"trusted_proxies":[]})")).ops.token.has_value());
    EXPECT_FALSE(parse(kMinimal).ops.token.has_value()) << "the default list alone needs no token";
}

TEST(Config, TestingClockControlWarns) {
    const Config config = parse(with(R"({"testing":{"clock_control":true}})"));
    EXPECT_TRUE(config.testing.clock_control);
    EXPECT_TRUE(has_warning(config, "testing.clock_control"));
}

constexpr std::string_view kCatalog = R"({"azure":{"sandbox_catalog":{
    "subscriptions":[{"resourceId":"11111111-1111-4111-8111-111111111111","planId":"standard","offerId":"o1"},
                     {"resourceId":"22222222-2222-4222-8222-222222222222","planId":"standard","status":"Suspended"}],
    "plans":[{"planId":"standard","dimensions":["bill_total","compute"]}]}}})";

TEST(Config, SandboxCatalogIsReadInline) {
    const Config config = parse(with(kCatalog));
    ASSERT_TRUE(config.sandbox_catalog.has_value());
    const auto& catalog = *config.sandbox_catalog;
    ASSERT_EQ(catalog.subscriptions.size(), 2U);
    EXPECT_EQ(catalog.subscriptions[0].resource_id, "11111111-1111-4111-8111-111111111111");
    EXPECT_EQ(catalog.subscriptions[0].plan_id, "standard");
    EXPECT_EQ(catalog.subscriptions[0].offer_id, "o1");
    EXPECT_EQ(catalog.subscriptions[0].status, "Subscribed");
    EXPECT_EQ(catalog.subscriptions[1].status, "Suspended");
    ASSERT_EQ(catalog.plans.size(), 1U);
    EXPECT_EQ(catalog.plans[0].dimensions, (std::vector<std::string>{"bill_total", "compute"}));
    EXPECT_FALSE(parse(kMinimal).sandbox_catalog.has_value());
    const Json masked = config_to_masked_json(config);
    EXPECT_EQ(masked["azure"]["sandbox_catalog"]["subscriptions"][1]["status"], "Suspended");
    EXPECT_TRUE(config_to_masked_json(parse(kMinimal))["azure"]["sandbox_catalog"].is_null());
}

TEST(Config, SandboxCatalogErrorsNameTheKey) {
    const std::string sub = R"({"resourceId":"r1","planId":"p"})";
    const std::string plan = R"({"planId":"p","dimensions":["d"]})";
    const auto catalog = [](const std::string& subs, const std::string& plans) {
        return with(R"({"azure":{"sandbox_catalog":{"subscriptions":[)" + subs + R"(],"plans":[)" + plans + "]}}}");
    };
    EXPECT_NO_THROW(parse(catalog(sub, plan)));
    const std::vector<std::pair<std::string, std::string>> cases = {
        {with(R"({"azure":{"sandbox_catalog":"catalog.json"}})"), "azure.sandbox_catalog"},
        {with(R"({"azure":{"sandbox_catalog":{"subscription":[]}}})"), "azure.sandbox_catalog.subscription"},
        {catalog(R"({"resourceId":"r1","planId":"p","plan":"x"})", plan), "azure.sandbox_catalog.subscriptions[0].plan"},
        {catalog(R"({"planId":"p"})", plan), "azure.sandbox_catalog.subscriptions[0].resourceId"},
        {catalog(R"({"resourceId":"r1"})", plan), "azure.sandbox_catalog.subscriptions[0].planId"},
        {catalog(R"({"resourceId":"r1","planId":"gold"})", plan), "azure.sandbox_catalog.subscriptions[0].planId"},
        {catalog(R"({"resourceId":"r1","planId":"p","status":"Paused"})", plan),
         "azure.sandbox_catalog.subscriptions[0].status"},
        {catalog(sub + R"(,{"resourceId":"R1","planId":"p"})", plan), "azure.sandbox_catalog.subscriptions[1].resourceId"},
        {catalog(sub, R"({"planId":"p","dimensions":["d",""]})"), "azure.sandbox_catalog.plans[0].dimensions[1]"},
        {catalog(sub, R"({"dimensions":["d"]})"), "azure.sandbox_catalog.plans[0].planId"},
        {catalog(sub, plan + "," + plan), "azure.sandbox_catalog.plans[1].planId"},
        {with(R"({"azure":{"mode":"live","tenant_id":"t","client_id":"c","client_secret":"env:S","sandbox_catalog":{}}})"),
         "azure.sandbox_catalog"},
    };
    for (const auto& [text, key] : cases) EXPECT_EQ(failure(text).key, key) << text;
}

TEST(Config, AccountsKeepTheirJsonExactly) {
    const Config config = parse(with(R"({"accounts":[{"id":"a","code":"A","customFields":{"limit":0.10}}]})"));
    ASSERT_EQ(config.rules.accounts.size(), 1U);
    EXPECT_EQ(dump_exact(config.rules.accounts[0]["customFields"]["limit"]), "0.10");
}

}  // namespace
}  // namespace meterbridge::app
