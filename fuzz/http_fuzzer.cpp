// libFuzzer target: the daemon's HTTP request path without sockets. Requests
// go through the same Router, webhook intake and ops routes the daemon wires
// up, over a fresh in-memory SQLite store per input (so that every finding
// replays alone). Input: up to 8 requests separated by a line "=====", each
//
//   METHOD TARGET
//   Name: value            (header lines; X-Fuzz-* are harness directives)
//
//   body
//
// Directives: "X-Fuzz-Sign: 1" makes the harness sign the webhook as m3ter
// would, "X-Fuzz-Auth: 1" adds the ops bearer token, "X-Fuzz-Peer: <ip>"
// sets the peer address (default 127.0.0.1).
// Invariants: no exception escapes the router; one answer per request with a
// valid status; JSON answers parse; no 2xx from an ops route without the
// token or from the webhook without a valid signature; no secret is echoed.
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <spdlog/spdlog.h>

#include "fuzz_support.hpp"
#include "intake/delivery_committer.hpp"
#include "intake/webhook_handler.hpp"
#include "meterbridge/core/exact_json.hpp"
#include "meterbridge/m3ter/signature.hpp"
#include "meterbridge/net/router.hpp"
#include "meterbridge/store/store.hpp"
#include "ops/ops_api.hpp"
#include "meterbridge/net/clocks.hpp"

using namespace meterbridge;
using fuzz::check;

namespace {

constexpr std::string_view kApiKey = "fuzz-api-key";
constexpr std::string_view kApiSecret = "fuzz-webhook-secret-5e21";
constexpr std::string_view kOpsToken = "fuzz-ops-token-c0a9";
constexpr std::size_t kMaxRequests = 8;

// The config sections the webhook and ops routes read.
struct FuzzConfig {
    m3ter::WebhookConfig webhook;
    net::ServerConfig server;
    app::OpsConfig ops;
    app::TestingConfig testing;
    IntegrationRules rules;
    SlotPolicy slot_policy;
};

const FuzzConfig& fuzz_config() {
    static const FuzzConfig config = [] {
        FuzzConfig c;
        c.server.public_base_url = "https://bridge.example.test";
        c.server.trusted_proxies = {parse_cidr("127.0.0.1/32").value(), parse_cidr("10.0.0.0/8").value()};
        c.webhook.api_key = Secret(std::string(kApiKey), "literal");
        c.webhook.api_secret = Secret(std::string(kApiSecret), "literal");
        c.ops.token = Secret(std::string(kOpsToken), "literal");
        c.slot_policy.mode = SlotPolicy::Mode::Eager;
        c.testing.clock_control = true;
        IntegrationConfig integration;
        integration.id = "int-1";
        integration.name = "Azure";
        c.rules.integrations.push_back(integration);
        return c;
    }();
    return config;
}

struct FuzzRequest {
    net::HttpRequest request;
    bool sign = false;
    bool auth = false;
};

std::string_view trim(std::string_view text) {
    while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
    while (!text.empty() && (text.back() == ' ' || text.back() == '\t' || text.back() == '\r')) text.remove_suffix(1);
    return text;
}

// Splits off one line (without "\n" and a trailing "\r").
std::string_view take_line(std::string_view& rest) {
    const auto end = rest.find('\n');
    std::string_view line = rest.substr(0, end);
    rest = end == std::string_view::npos ? std::string_view{} : rest.substr(end + 1);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    return line;
}

FuzzRequest parse_request(std::string_view text) {
    FuzzRequest fuzz;
    net::HttpRequest& request = fuzz.request;
    const std::string_view start = take_line(text);
    const auto space = start.find(' ');
    request.method = std::string(start.substr(0, space));
    if (space != std::string_view::npos) {
        std::string_view target = start.substr(space + 1);
        target = target.substr(0, target.find(' '));  // an optional " HTTP/1.1"
        request.target = std::string(target);
    }
    // As the server does it (src/net/http_server.cpp).
    const auto question = request.target.find('?');
    request.path = net::percent_decode(std::string_view(request.target).substr(0, question), false);
    if (question != std::string::npos) request.query = net::parse_query(std::string_view(request.target).substr(question + 1));
    request.remote_address = "127.0.0.1";
    while (!text.empty()) {
        const std::string_view line = take_line(text);
        if (line.empty()) break;
        const auto colon = line.find(':');
        const std::string name(trim(line.substr(0, colon)));
        const std::string value(colon == std::string_view::npos ? std::string_view{} : trim(line.substr(colon + 1)));
        if (net::iequals(name, "X-Fuzz-Sign")) {
            fuzz.sign = true;
        } else if (net::iequals(name, "X-Fuzz-Auth")) {
            fuzz.auth = true;
        } else if (net::iequals(name, "X-Fuzz-Peer")) {
            request.remote_address = value;
        } else {
            request.headers.add(name, value);
        }
    }
    request.body = std::string(text);
    return fuzz;
}

void sign(net::HttpRequest& request, const FuzzConfig& config, Instant now) {
    const std::string timestamp =
        std::to_string(std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count());
    if (!request.headers.contains(m3ter::kApiKeyHeader)) request.headers.set(std::string(m3ter::kApiKeyHeader), std::string(kApiKey));
    request.headers.set(std::string(m3ter::kTimestampHeader), timestamp);
    request.headers.set(std::string(m3ter::kSignatureHeader),
                        m3ter::sign(config.webhook, config.server.public_base_url + request.target, timestamp, request.body));
}

bool reveals_secret(std::string_view text) {
    return text.find(kApiSecret) != std::string_view::npos || text.find(kOpsToken) != std::string_view::npos;
}

// The answers to one request: the webhook answers from the committer's
// thread once its delivery is durable, the ops routes at once.
struct Answers {
    std::mutex mutex;
    std::condition_variable arrived;
    int count = 0;
    std::optional<net::HttpResponse> first;

    net::Responder responder(const std::shared_ptr<Answers>& self) {
        return [self](net::HttpResponse response) {
            std::lock_guard lock(self->mutex);
            if (self->count++ == 0) self->first = std::move(response);
            self->arrived.notify_all();
        };
    }
    net::HttpResponse wait() {
        std::unique_lock lock(mutex);
        check(arrived.wait_for(lock, std::chrono::seconds(5), [this] { return count > 0; }), "no answer within 5 s");
        return *first;
    }
};

bool is_open_route(const std::vector<std::string>& segments) {
    return segments.size() == 1 && (segments[0] == "healthz" || segments[0] == "readyz" || segments[0] == "metrics");
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
    spdlog::set_level(spdlog::level::off);
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const FuzzConfig& config = fuzz_config();
    std::string_view input = fuzz::as_text(data, size);
    const bool input_has_secret = reveals_secret(input);

    auto store = store::open_sqlite_store(":memory:");
    net::SettableClock clock;
    clock.set(parse_iso8601("2026-01-01T09:00:00Z").value());
    net::Router router;
    app::DeliveryCommitter committer(*store);
    app::WebhookContext webhook{config.webhook, config.server, committer, clock, nullptr, [] {}, nullptr};
    app::OpsContext ops{config.ops, config.testing, config.rules, config.slot_policy, *store, clock, [] {},
                        [] { return Status(Ok{}); }, nullptr, nullptr, {}, {}, {}};
    app::add_webhook_route(router, webhook);
    app::add_ops_routes(router, ops);
    const auto webhook_segments = net::split_path(config.webhook.path);

    std::vector<std::shared_ptr<Answers>> all_answers;
    for (std::size_t n = 0; n < kMaxRequests && !input.empty(); ++n) {
        const auto separator = input.find("\n=====\n");
        FuzzRequest fuzz = parse_request(input.substr(0, separator));
        input = separator == std::string_view::npos ? std::string_view{} : input.substr(separator + 7);
        net::HttpRequest& request = fuzz.request;
        if (fuzz.sign) sign(request, config, clock.now());
        if (fuzz.auth) request.headers.set("Authorization", "Bearer " + std::string(kOpsToken));

        auto answers = std::make_shared<Answers>();
        all_answers.push_back(answers);
        try {
            router.dispatch(request, answers->responder(answers));
        } catch (const std::exception& error) {
            fuzz::fail("exception escaped the router:", error.what());
        }
        const net::HttpResponse response = answers->wait();
        check(response.status >= 100 && response.status <= 599, "status out of range");
        check(response.status != 500, "internal error:", response.body);
        if (const auto type = response.headers.get("Content-Type"); type && type->rfind("application/json", 0) == 0) {
            check(parse_exact_json(response.body).ok(), "JSON answer does not parse:", response.body);
        }
        if (!input_has_secret) check(!reveals_secret(response.body), "answer reveals a secret:", response.body);
        if (response.status / 100 == 2) {
            const auto segments = net::split_path(request.path);
            if (segments == webhook_segments) {
                check(fuzz.sign, "webhook accepted without a valid signature");
            } else {
                check(fuzz.auth || is_open_route(segments), "ops route answered without the token");
            }
        }
    }
    committer.stop();  // every late answer is in
    for (const auto& answers : all_answers) check(answers->count == 1, "a request was answered more than once");
    return 0;
}
