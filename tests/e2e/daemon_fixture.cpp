#include "daemon_fixture.hpp"

#include <gtest/gtest.h>

#include <csignal>
#include <fstream>
#include <thread>

#include "meterbridge/m3ter/signature.hpp"

namespace meterbridge::testing {

std::string meterbridge_binary() { return METERBRIDGE_BINARY; }

Json HttpAnswer::json() const {
    auto parsed = parse_exact_json(body);
    return parsed ? *parsed : Json();
}

Json base_config(const std::filesystem::path& dir) {
    const auto mapping = [](const char* entity, const char* id, const char* table, const char* external) {
        return Json{{"m3ter_entity", entity}, {"m3ter_id", id}, {"external_table", table}, {"external_id", external}};
    };
    return Json{
        {"listen", {{"address", "127.0.0.1"}, {"port", 0}}},
        {"public_base_url", kPublicUrl},
        {"storage", {{"sqlite_path", (dir / "meterbridge.db").string()}}},
        {"log", {{"level", "debug"}}},
        {"webhook",
         {{"api_key", "env:MB_E2E_API_KEY"}, {"api_secret", "env:MB_E2E_API_SECRET"}, {"max_body_bytes", 65536}}},
        {"ops", {{"token", "env:MB_E2E_OPS_TOKEN"}}},
        {"azure", {{"mode", "sandbox"}, {"request_timeout_s", 5}}},
        {"scheduler", {{"policy", "eager"}, {"flush_delay_s", 0}, {"tick_s", 1}}},
        {"integrations",
         Json::array({{{"id", "per-bill"},
                       {"account_ids", {"acc-bill"}},
                       {"split_usage_line_items", "ITEM_PER_BILL"},
                       {"marketplace_bill_dimension", "bill_total"},
                       {"plan_id", "standard"}},
                      {{"id", "per-product"},
                       {"account_ids", {"acc-prod"}},
                       {"split_usage_line_items", "ITEM_PER_PRODUCT"},
                       {"plan_id", "standard"}},
                      {{"id", "per-aggregation"},
                       {"account_ids", {"acc-agg"}},
                       {"split_usage_line_items", "ITEM_PER_AGGREGATION"},
                       {"plan_id", "standard"}}})},
        {"external_mappings", Json::array({mapping("Account", "acc-bill", "Subscription", kSubBill),
                                           mapping("Account", "acc-prod", "Subscription", kSubProd),
                                           mapping("Account", "acc-agg", "Subscription", kSubAgg),
                                           mapping("Product", "prod-compute", "Dimension", "compute"),
                                           mapping("Product", "prod-storage", "Dimension", "storage"),
                                           mapping("Aggregation", "agg-calls", "Dimension", "api_calls")})},
        // No daily reconciliation: it would start at once (the clock is past
        // 02:30) and add its calls to those the tests count and fault.
        {"reconciliation", {{"daily_at", nullptr}}},
        {"testing", {{"clock_control", true}}}};
}

int DaemonProcess::starts_ = 0;

DaemonProcess::DaemonProcess(std::filesystem::path dir, Json config)
    : dir_(std::move(dir)), config_(std::move(config)), http_(std::make_unique<net::HttpClient>()) {}

DaemonProcess::~DaemonProcess() {
    if (process_) process_->stop(SIGKILL);
}

void DaemonProcess::start() {
    const auto config_path = dir_ / "config.json";
    std::ofstream(config_path) << config_.dump(2);
    std::map<std::string, std::string> env = extra_env_;
    env.insert({{"MB_E2E_API_KEY", kApiKey}, {"MB_E2E_API_SECRET", kApiSecret}, {"MB_E2E_OPS_TOKEN", kOpsToken}});
    process_ = std::make_unique<ChildProcess>(
        std::vector<std::string>{meterbridge_binary(), "serve", "--config", config_path.string()}, env,
        dir_ / ("daemon-" + std::to_string(++starts_) + ".log"));
    if (config_["azure"]["mode"] == "sandbox") {
        const auto sandbox = process_->wait_for_line("azure: built-in sandbox at ", std::chrono::seconds(20));
        ASSERT_TRUE(sandbox) << process_->log();
        sandbox_url_ = *sandbox;
    }
    const auto listening = process_->wait_for_line(" listening on 127.0.0.1:", std::chrono::seconds(20));
    ASSERT_TRUE(listening) << process_->log();
    port_ = static_cast<std::uint16_t>(std::stoi(*listening));
    if (clock_base_) set_clock(now());
}

std::optional<int> DaemonProcess::stop(int signal) {
    if (!process_) return std::nullopt;
    return process_->stop(signal);
}

HttpAnswer DaemonProcess::request(const std::string& method, const std::string& target, const std::string& body,
                                  net::Headers headers, bool ops_token) {
    net::HttpRequestSpec spec;
    spec.method = method;
    spec.url = "http://127.0.0.1:" + std::to_string(port_) + target;
    spec.body = body;
    spec.headers = std::move(headers);
    if (!body.empty() && !spec.headers.contains("Content-Type")) spec.headers.set("Content-Type", "application/json");
    if (ops_token) spec.headers.set("Authorization", std::string("Bearer ") + kOpsToken);
    auto result = http_->send(spec);
    if (!result) return HttpAnswer{0, result.error().message};
    return HttpAnswer{result->status, result->body};
}

HttpAnswer DaemonProcess::post_bill(const std::string& body) { return post_bill_signed_at(body, now()); }

HttpAnswer DaemonProcess::post_bill_signed_at(const std::string& body, Instant timestamp, const std::string& secret) {
    m3ter::WebhookConfig webhook;
    webhook.api_key = Secret(kApiKey, "test");
    webhook.api_secret = Secret(secret, "test");
    const std::string seconds =
        std::to_string(std::chrono::duration_cast<std::chrono::seconds>(timestamp.time_since_epoch()).count());
    const std::string path = "/webhooks/m3ter";
    net::Headers headers;
    headers.set("Content-Type", "application/json");
    headers.set(std::string(m3ter::kApiKeyHeader), kApiKey);
    headers.set(std::string(m3ter::kTimestampHeader), seconds);
    headers.set(std::string(m3ter::kSignatureHeader), m3ter::sign(webhook, std::string(kPublicUrl) + path, seconds, body));
    return request("POST", path, body, std::move(headers), false);
}

void DaemonProcess::set_clock(Instant now) {
    clock_base_ = now;
    clock_set_at_ = std::chrono::steady_clock::now();
    const auto answer = request("PUT", "/testing/clock", Json{{"now", format_iso8601(now, true)}}.dump());
    ASSERT_EQ(answer.status, 200) << answer.body;
}

Instant DaemonProcess::now() const {
    if (!clock_base_) return std::chrono::time_point_cast<Duration>(std::chrono::system_clock::now());
    return *clock_base_ + std::chrono::duration_cast<Duration>(std::chrono::steady_clock::now() - clock_set_at_);
}

std::vector<Json> DaemonProcess::sandbox_events() {
    net::HttpRequestSpec spec;
    spec.url = sandbox_url_ + "/_sandbox/events";
    auto result = http_->send(spec);
    if (!result) return {};
    auto parsed = parse_exact_json(result->body);
    if (!parsed) return {};
    const Json& list = parsed->is_array() ? *parsed : (*parsed)["events"];
    return std::vector<Json>(list.begin(), list.end());
}

bool DaemonProcess::eventually(const std::function<bool()>& done, std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
        if (done()) return true;
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return done();
}

std::string bill_json(const std::string& id, int version, const std::string& account, const std::vector<Item>& items,
                      const std::string& currency) {
    std::string out = R"({"id":")" + id + R"(","version":)" + std::to_string(version) + R"(,"accountId":")" + account +
                      R"(","status":"APPROVED","currency":")" + currency + R"(","lineItems":[)";
    for (std::size_t i = 0; i < items.size(); ++i) {
        const Item& item = items[i];
        if (i > 0) out += ",";
        out += R"({"lineItemType":")" + item.type + R"(","subtotal":)" + item.subtotal;
        if (!item.product.empty()) out += R"(,"productId":")" + item.product + "\"";
        if (!item.aggregation.empty()) out += R"(,"aggregationId":")" + item.aggregation + "\"";
        out += "}";
    }
    return out + "]}";
}

std::string envelope(const std::string& event_name, const std::string& bill) {
    return R"({"id":"evt-)" + std::to_string(std::hash<std::string>{}(bill) % 1000000) + R"(","eventName":")" +
           event_name + R"(","m3terEvent":{"eventData":{"new":)" + bill + "}}}";
}

}  // namespace meterbridge::testing

namespace meterbridge::testing {

std::int64_t DaemonProcess::sandbox_total(const std::string& resource, const std::string& dimension) {
    std::int64_t total = 0;
    for (const Json& e : sandbox_events()) {
        if (e["resourceId"] == resource && e["dimension"] == dimension) {
            total += std::stoll(*exact_number_text(e["quantity"]));
        }
    }
    return total;
}

void DaemonProcess::add_sandbox_fault(const std::string& fault_json) {
    net::HttpRequestSpec spec;
    spec.method = "POST";
    spec.url = sandbox_url_ + "/_sandbox/faults";
    spec.headers.set("Content-Type", "application/json");
    spec.body = fault_json;
    const auto answer = http_->send(spec);
    ASSERT_TRUE(answer) << answer.error().message;
    ASSERT_LT(answer->status, 300) << answer->body;
}

void DaemonProcess::clear_sandbox_faults() {
    net::HttpRequestSpec spec;
    spec.method = "DELETE";
    spec.url = sandbox_url_ + "/_sandbox/faults";
    const auto answer = http_->send(spec);
    ASSERT_TRUE(answer) << answer.error().message;
    ASSERT_LT(answer->status, 300) << answer->body;
}

}  // namespace meterbridge::testing
