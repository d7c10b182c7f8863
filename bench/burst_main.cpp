// bench_burst: a publisher's month-start burst (issue 17). Every account's
// bill arrives at once: N signed bills (10,000 by default) of 5 products
// each, one per account, each account its own GUID subscription, posted by
// 16 keep-alive connections to the real `meterbridge serve` (ITEM_PER_PRODUCT,
// policy eager, tick 1 s, scheduler.max_batches_in_flight as configured: 8 by
// default), sending in live mode to a `meterbridge sandbox` process of its own
// (so that the daemon's RSS is its own) that answers every metering call
// 100 ms after processing it (a delay_ms fault queued for every call). Timed
// from the first POST to the last event accepted by the sandbox, with the
// milestones in between:
//   burst_ingest_s   first POST -> last answer (every bill durable)
//   burst_convert_s  last answer -> no bill version left unconverted
//   burst_drain_s    that -> the last of the N x 5 events accepted
// (sending starts long before conversion ends: these are the intervals
// between milestones, they add up to burst_seconds). Then every unit at the
// sandbox is checked against the bills, per (subscription, dimension).
//
//   bench_burst [--bills N] [--connections C] [--rtt-ms R] [--in-flight B] [--daemon PATH]
#include <cctype>
#include <cinttypes>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <map>
#include <string>
#include <thread>

#include "bench_config.hpp"
#include "bill_maker.hpp"
#include "child.hpp"
#include "figures.hpp"
#include "load_client.hpp"
#include "meterbridge/core/exact_json.hpp"
#include "meterbridge/net/http_client.hpp"

namespace meterbridge::bench {
namespace {

using SteadyClock = std::chrono::steady_clock;

struct Args {
    int bills = 10000;
    int connections = 16;
    int rtt_ms = 100;
    int in_flight = 8;  // the daemon's default
    std::string daemon = METERBRIDGE_BINARY;
};

// A GUID for account `index`, the same in every run (splitmix64 of the index).
std::string subscription_of(int index) {
    constexpr std::uint64_t kGolden = 0x9E3779B97F4A7C15;
    std::uint64_t state = static_cast<std::uint64_t>(index) * kGolden;
    const auto next = [&state] {
        std::uint64_t z = (state += kGolden);
        z = (z ^ (z >> 30)) * std::uint64_t{0xBF58476D1CE4E5B9};
        z = (z ^ (z >> 27)) * std::uint64_t{0x94D049BB133111EB};
        return z ^ (z >> 31);
    };
    const std::uint64_t a = next();
    const std::uint64_t b = next();
    constexpr std::uint64_t kLow48 = 0xFFFFFFFFFFFF;
    char text[40];
    std::snprintf(text, sizeof text, "%08" PRIx64 "-%04" PRIx64 "-4%03" PRIx64 "-8%03" PRIx64 "-%012" PRIx64,
                  a >> 32, (a >> 16) & 0xFFFF, a & 0xFFF, (b >> 48) & 0xFFF, b & kLow48);
    return text;
}

std::string account_of(int index) { return "acc-" + std::to_string(index); }

// The subtotal of product `product` on account `index`'s bill, in cents:
// 1.00 .. 9.99, so that at unit_price 0.01 the units are the cents, exactly.
int cents_of(int index, int product) { return 100 + (index * 7 + product * 131) % 900; }

std::string decimal_of_cents(int cents) {
    char text[24];
    std::snprintf(text, sizeof text, "%d.%02d", cents / 100, cents % 100);
    return text;
}

Json burst_config(const std::filesystem::path& dir, int bills, int in_flight, const std::string& azure_url) {
    Json mappings = Json::array();
    Json accounts = Json::array();
    for (int a = 0; a < bills; ++a) {
        mappings.push_back(mapping_json("Account", account_of(a), "Subscription", subscription_of(a)));
        accounts.push_back(account_of(a));
    }
    for (int p = 0; p < kProducts; ++p) {
        mappings.push_back(mapping_json("Product", "prod-" + std::to_string(p), "Dimension", "dim-" + std::to_string(p)));
    }
    // As deployed (signed webhooks, info logs), except the policy: eager, so
    // that sending starts within a tick instead of after the hour closes.
    Json config = served_config(dir, {{"policy", "eager"}, {"tick_s", 1}, {"max_batches_in_flight", in_flight}},
                                {{"id", "per-product"},
                                 {"account_ids", accounts},
                                 {"split_usage_line_items", "ITEM_PER_PRODUCT"},
                                 {"plan_id", "standard"},
                                 {"unit_price", "0.01"}},
                                mappings);
    // Live mode, as deployed: Azure is the sandbox process on loopback.
    config["azure"] = {{"mode", "live"},
                       {"metering_base_url", azure_url},
                       {"token_url", azure_url + "/{tenant_id}/oauth2/v2.0/token"},
                       {"tenant_id", "tenant-bench"},
                       {"client_id", "client-bench"},
                       {"client_secret", "env:MB_BENCH_AZURE_SECRET"}};
    return config;
}

std::int64_t unix_now() {
    return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch())
        .count();
}

std::string http_get(net::HttpClient& http, const std::string& url) {
    net::HttpRequestSpec request;
    request.url = url;
    auto answer = http.send(request);
    if (!answer) throw std::runtime_error("GET " + url + ": " + answer.error().message);
    if (answer->status != 200) throw std::runtime_error("GET " + url + ": HTTP " + std::to_string(answer->status));
    return std::move(answer->body);
}

// A gauge of the daemon's /metrics text (unlabelled); -1 if absent.
std::int64_t gauge(const std::string& metrics, const std::string& name) {
    const std::string prefix = "\n" + name + " ";
    const auto at = metrics.find(prefix);
    if (at == std::string::npos) return -1;
    return std::stoll(metrics.substr(at + prefix.size()));
}

std::string lower(std::string text) {
    for (auto& c : text) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return text;
}

double mib(std::int64_t kib) { return static_cast<double>(kib) / 1024.0; }

int run(const Args& args) {
    const auto dir = scratch_dir("burst");
    const int expected_events = args.bills * kProducts;
    std::cerr << "bench_burst: " << args.bills << " bills x " << kProducts << " products by " << args.connections
              << " connections, metering answered after " << args.rtt_ms << " ms; data in " << dir << "\n";
    Child sandbox({args.daemon, "sandbox", "--listen", "127.0.0.1:0"}, {}, dir / "sandbox.log");
    auto sandbox_url = sandbox.wait_for_line("meterbridge sandbox: listening on ", std::chrono::seconds(30));
    if (!sandbox_url) throw std::runtime_error("the sandbox did not start: " + sandbox.log());
    sandbox_url = sandbox_url->substr(0, sandbox_url->find(' '));
    {
        std::ofstream(dir / "config.json") << burst_config(dir, args.bills, args.in_flight, *sandbox_url).dump(2);
    }
    Child daemon({args.daemon, "serve", "--config", (dir / "config.json").string()},
                 {{"MB_BENCH_API_KEY", kApiKey},
                  {"MB_BENCH_API_SECRET", kApiSecret},
                  {"MB_BENCH_OPS_TOKEN", "bench-ops-token"},
                  {"MB_BENCH_AZURE_SECRET", "bench-azure-secret"}},
                 dir / "daemon.log");
    const auto port_text = daemon.wait_for_line(" listening on 127.0.0.1:", std::chrono::seconds(60));
    if (!port_text) throw std::runtime_error("the daemon did not start: " + daemon.log());
    const auto port = static_cast<std::uint16_t>(std::stoi(*port_text));
    const std::string daemon_url = "http://127.0.0.1:" + std::to_string(port);

    net::HttpClientOptions http_options;
    http_options.max_response_bytes = std::size_t{1} << 30;  // /_sandbox/events of 50,000 events
    http_options.read_timeout = std::chrono::seconds(120);
    net::HttpClient http(http_options);
    if (args.rtt_ms > 0) {
        // Far more calls than the burst makes; token calls are not delayed (the fault's path is /api/).
        net::HttpRequestSpec fault;
        fault.method = "POST";
        fault.url = *sandbox_url + "/_sandbox/faults";
        fault.headers.set("Content-Type", "application/json");
        fault.body = R"({"kind":"delay_ms","delay_ms":)" + std::to_string(args.rtt_ms) + R"(,"count":1000000})";
        auto queued = http.send(fault);
        if (!queued || queued->status != 201) throw std::runtime_error("the sandbox refused the delay fault");
    }
    std::this_thread::sleep_for(std::chrono::seconds(1));
    const std::int64_t idle = rss_kib(daemon.pid());
    const RssParts idle_parts = rss_parts(daemon.pid());

    // The burst: bill i for account i, each posted once.
    LoadOptions load;
    load.port = port;
    load.target = kWebhookPath;
    load.connections = args.connections;
    load.total = static_cast<std::uint64_t>(args.bills);
    load.duration = std::chrono::seconds(600);
    auto signer = std::make_shared<Signer>();
    const RequestFactory bills = [signer](int, std::uint64_t sequence) {
        const int index = static_cast<int>(sequence);
        std::vector<std::string> subtotals;
        for (int p = 0; p < kProducts; ++p) subtotals.push_back(decimal_of_cents(cents_of(index, p)));
        LoadRequest request;
        request.body = product_bill_envelope("burst-" + std::to_string(index), account_of(index), subtotals);
        request.headers = signer->sign(request.body, unix_now()).headers;
        return request;
    };
    const auto started = SteadyClock::now();
    const LoadResult result = run_load(load, bills);
    const double ingest_s = result.seconds;
    std::uint64_t non_2xx = result.errors;
    for (const auto& [status, n] : result.statuses) {
        if (status < 200 || status > 299) non_2xx += n;
    }
    std::cerr << "bench_burst: " << result.completed << " bills answered in " << ingest_s << " s\n";

    // The milestones, polled: the daemon's /metrics until every version is
    // converted, the sandbox's counter until every event is accepted.
    const auto since_start = [&started] {
        return std::chrono::duration<double>(SteadyClock::now() - started).count();
    };
    double converted_at = -1;
    double accepted_at = -1;
    std::int64_t accepted = 0;
    const double give_up_after = 120.0 + 3.0 * (expected_events / 25.0) * (args.rtt_ms / 1000.0 + 0.01);
    while (accepted_at < 0 && since_start() < give_up_after) {
        if (converted_at < 0) {
            const std::string metrics = "\n" + http_get(http, daemon_url + "/metrics");
            if (gauge(metrics, "meterbridge_unprocessed_bill_versions") == 0) converted_at = since_start();
        }
        accepted = Json::parse(http_get(http, *sandbox_url + "/_sandbox/stats")).at("accepted_events").get<std::int64_t>();
        if (accepted >= expected_events) {
            accepted_at = since_start();
            if (converted_at < 0) converted_at = accepted_at;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(converted_at < 0 ? 100 : 50));
    }
    // RSS once the burst is over: the daemon idle for two of its 1 s ticks
    // (it gives its freed heap back when work ends).
    std::this_thread::sleep_for(std::chrono::milliseconds(2500));
    const std::int64_t after = rss_kib(daemon.pid());
    const RssParts after_parts = rss_parts(daemon.pid());

    // Every unit against the bills, per (subscription, dimension).
    std::map<std::pair<std::string, std::string>, std::int64_t> expected_units;
    std::int64_t units_billed = 0;
    for (int a = 0; a < args.bills; ++a) {
        for (int p = 0; p < kProducts; ++p) {
            expected_units[{lower(subscription_of(a)), "dim-" + std::to_string(p)}] += cents_of(a, p);
            units_billed += cents_of(a, p);
        }
    }
    std::map<std::pair<std::string, std::string>, std::int64_t> sandbox_units;
    std::int64_t units_sent = 0;
    std::int64_t fractional = 0;
    const Json events = Json::parse(http_get(http, *sandbox_url + "/_sandbox/events")).at("events");
    for (const auto& event : events) {
        const double quantity = event.at("quantity").get<double>();
        const auto whole = static_cast<std::int64_t>(std::llround(quantity));
        if (static_cast<double>(whole) != quantity) ++fractional;
        sandbox_units[{lower(event.at("resourceId").get<std::string>()), event.at("dimension").get<std::string>()}] +=
            whole;
        units_sent += whole;
    }
    std::int64_t mismatched = fractional;
    for (const auto& [key, units] : expected_units) {
        const auto it = sandbox_units.find(key);
        if (it == sandbox_units.end() || it->second != units) ++mismatched;
    }
    for (const auto& [key, units] : sandbox_units) {
        if (!expected_units.contains(key)) ++mismatched;
    }

    daemon.stop(SIGTERM, std::chrono::seconds(30));
    sandbox.stop(SIGTERM, std::chrono::seconds(10));
    figure("burst_bills", args.bills, "bills");
    figure("burst_batches_in_flight", args.in_flight, "batches");
    figure("burst_events_expected", expected_events, "events");
    figure("burst_events_accepted", static_cast<double>(accepted), "events");
    figure("burst_rtt", args.rtt_ms, "ms");
    const bool complete = accepted_at >= 0;
    if (complete) {
        figure("burst_seconds", accepted_at, "s");
        figure("burst_ingest_s", ingest_s, "s");
        figure("burst_convert_s", converted_at - ingest_s, "s");
        figure("burst_drain_s", accepted_at - converted_at, "s");
    } else {
        std::cerr << "bench_burst: gave up after " << since_start() << " s with " << accepted << " of "
                  << expected_events << " events accepted\n";
    }
    figure("burst_ingest_bills_per_s", ingest_s > 0 ? args.bills / ingest_s : 0, "bills/s");
    figure("burst_ingest_p99", result.percentile_ms(99), "ms");
    figure("burst_non_2xx", static_cast<double>(non_2xx), "answers");
    figure("burst_units_billed", static_cast<double>(units_billed), "units");
    figure("burst_units_at_sandbox", static_cast<double>(units_sent), "units");
    figure("burst_keys_mismatched", static_cast<double>(mismatched), "keys");
    figure("memory_burst_idle_rss", mib(idle), "MiB");
    figure("memory_burst_idle_rss_anon", mib(idle_parts.anon), "MiB");
    figure("memory_burst_idle_rss_file", mib(idle_parts.file), "MiB");
    figure("memory_after_burst_rss", mib(after), "MiB");
    figure("memory_after_burst_rss_anon", mib(after_parts.anon), "MiB");
    figure("memory_after_burst_rss_file", mib(after_parts.file), "MiB");
    figure("memory_after_burst_rss_shmem", mib(after_parts.shmem), "MiB");

    if (std::getenv("METERBRIDGE_BENCH_KEEP") == nullptr) std::filesystem::remove_all(dir);
    return complete && mismatched == 0 && non_2xx == 0 ? 0 : 1;
}

}  // namespace
}  // namespace meterbridge::bench

int main(int argc, char** argv) {
    using namespace meterbridge::bench;
    Args args;
    for (int i = 1; i < argc; ++i) {
        const std::string arg = argv[i];
        const bool has_value = i + 1 < argc;
        if (arg == "--bills" && has_value) {
            args.bills = std::stoi(argv[++i]);
        } else if (arg == "--connections" && has_value) {
            args.connections = std::stoi(argv[++i]);
        } else if (arg == "--rtt-ms" && has_value) {
            args.rtt_ms = std::stoi(argv[++i]);
        } else if (arg == "--in-flight" && has_value) {
            args.in_flight = std::stoi(argv[++i]);
        } else if (arg == "--daemon" && has_value) {
            args.daemon = argv[++i];
        } else {
            std::cerr << "usage: bench_burst [--bills N] [--connections C] [--rtt-ms R] [--in-flight B] [--daemon PATH]\n";
            return 2;
        }
    }
    if (args.bills < 1 || args.connections < 1 || args.rtt_ms < 0) {
        std::cerr << "bench_burst: --bills and --connections must be at least 1, --rtt-ms at least 0\n";
        return 2;
    }
    try {
        return run(args);
    } catch (const std::exception& error) {
        std::cerr << "bench_burst: " << error.what() << "\n";
        return 1;
    }
}
