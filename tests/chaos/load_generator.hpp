#pragma once
// A load generator for the webhook (issue 5 part 4): N keep-alive connections
// each post signed m3ter bill deliveries back to back for D seconds, while the
// daemon's scheduler sends them on to Azure. Used by `mb_load` and by the CI
// load test. Plain blocking sockets, one thread per connection: the figures
// measure the daemon, not a clever client.
#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include <sys/types.h>

namespace meterbridge::chaos {

struct LoadOptions {
    std::uint16_t port = 8080;                        // 127.0.0.1:port
    std::string path = "/webhooks/m3ter";
    std::string public_base_url;                      // for {url} in the signature; "" = http://127.0.0.1:port
    std::string api_key;
    std::string api_secret;
    int connections = 4;
    std::chrono::seconds duration{60};
    int accounts = 1000;       // bills spread over this many accounts (= Azure resources)
    std::string bill_prefix = "load";
    pid_t daemon_pid = -1;     // for VmRSS; -1 = not measured
};

struct LoadReport {
    std::int64_t requests = 0;
    std::int64_t acknowledged = 0;  // 2xx
    std::int64_t errors = 0;        // non-2xx answers and transport failures
    std::int64_t reconnects = 0;
    double seconds = 0;
    std::int64_t rss_start_kb = -1;
    std::int64_t rss_end_kb = -1;
    std::int64_t latency_p50_us = 0;
    std::int64_t latency_p99_us = 0;
    std::int64_t latency_max_us = 0;
    std::vector<std::string> acknowledged_bills;  // ids answered 2xx
    std::vector<std::string> error_samples;       // up to 5 error descriptions

    double bills_per_second() const { return seconds > 0 ? static_cast<double>(acknowledged) / seconds : 0; }
    std::string summary() const;  // one line
};

// VmRSS of a process in kB, -1 if unknown.
std::int64_t rss_kb(pid_t pid);

LoadReport run_load(const LoadOptions& options);

}  // namespace meterbridge::chaos
