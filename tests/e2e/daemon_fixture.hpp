#pragma once
// A real `meterbridge serve` process on 127.0.0.1 with its own database,
// driven over HTTP: signed webhook deliveries, the ops API, the testing
// clock, and the in-process sandbox's record of accepted events.
#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "meterbridge/core/exact_json.hpp"
#include "meterbridge/core/time.hpp"
#include "meterbridge/net/http_client.hpp"
#include "azure_test_support.hpp"
#include "process.hpp"

namespace meterbridge::testing {

// The meterbridge binary of this build.
std::string meterbridge_binary();

inline constexpr const char* kApiKey = "e2e-api-key";
inline constexpr const char* kApiSecret = "e2e-api-secret-value";
inline constexpr const char* kOpsToken = "e2e-ops-token-value";
inline constexpr const char* kPublicUrl = "https://bridge.example.test";
// The Azure resources (SaaS subscription ids: GUIDs) base_config maps the
// accounts acc-bill, acc-prod and acc-agg to.
inline constexpr const char* kSubBill = "b1110000-0000-4000-8000-000000000001";
inline constexpr const char* kSubProd = "b1110000-0000-4000-8000-000000000002";
inline constexpr const char* kSubAgg = "b1110000-0000-4000-8000-000000000003";

struct HttpAnswer {
    int status = 0;
    std::string body;
    Json json() const;  // parse_exact_json of body (exact numbers); null if not JSON
};

// A config with three integrations (one per split mode), their mappings, no daily reconciliation,
// clock control on, eager scheduling with a 1 s tick, the built-in sandbox.
Json base_config(const std::filesystem::path& dir);

class DaemonProcess {
public:
    DaemonProcess(std::filesystem::path dir, Json config);
    ~DaemonProcess();

    // An environment variable for the next start(), beside the secrets' (NOTIFY_SOCKET, ...).
    void set_env(const std::string& name, const std::string& value) { extra_env_[name] = value; }
    void start();  // waits until it listens; fails the test otherwise
    std::optional<int> stop(int signal);

    HttpAnswer request(const std::string& method, const std::string& target, const std::string& body = {},
                       net::Headers headers = {}, bool ops_token = true);
    HttpAnswer get(const std::string& target) { return request("GET", target); }
    // Posts a delivery signed as m3ter would, with the daemon's current time.
    HttpAnswer post_bill(const std::string& body);
    HttpAnswer post_bill_signed_at(const std::string& body, Instant timestamp, const std::string& secret = kApiSecret);

    // Sets the daemon's clock (and the in-process sandbox's); remembers it
    // so that signatures carry the daemon's idea of now.
    void set_clock(Instant now);
    Instant now() const;

    // Units Azure accepted per (resourceId, dimension), from the sandbox.
    std::vector<Json> sandbox_events();
    // Their units for one (resourceId, dimension).
    std::int64_t sandbox_total(const std::string& resource, const std::string& dimension);
    // Queues a fault in the in-process sandbox (POST /_sandbox/faults, docs/sandbox.md),
    // or clears them all; fails the test if the sandbox says no.
    void add_sandbox_fault(const std::string& fault_json);
    void clear_sandbox_faults();
    // Polls until `done` holds or `timeout` passes (then false).
    static bool eventually(const std::function<bool()>& done,
                           std::chrono::milliseconds timeout = std::chrono::seconds(20));

    std::string log() const { return process_ ? process_->log() : std::string{}; }
    std::uint16_t port() const { return port_; }
    pid_t pid() const { return process_ ? process_->pid() : -1; }
    const std::string& sandbox_url() const { return sandbox_url_; }
    void set_sandbox_url(std::string url) { sandbox_url_ = std::move(url); }

private:
    std::filesystem::path dir_;
    Json config_;
    std::map<std::string, std::string> extra_env_;
    std::unique_ptr<ChildProcess> process_;
    std::unique_ptr<net::HttpClient> http_;
    std::uint16_t port_ = 0;
    std::string sandbox_url_;
    std::optional<Instant> clock_base_;
    std::chrono::steady_clock::time_point clock_set_at_;
    static int starts_;  // each process logs to its own file
};

// A bill object as JSON text. Line items: {type, subtotal text, productId, aggregationId}.
struct Item {
    std::string type;
    std::string subtotal;
    std::string product;
    std::string aggregation;
};
std::string bill_json(const std::string& id, int version, const std::string& account, const std::vector<Item>& items,
                      const std::string& currency = "USD");
std::string envelope(const std::string& event_name, const std::string& bill);

}  // namespace meterbridge::testing
