#pragma once
// A keep-alive HTTP/1.1 load generator on Beast (kept out of this header):
// `connections` connections on loopback, each sending its next request as soon
// as the previous answer arrived, for a warm-up then a measured window.
// Single-threaded by default so that it takes at most one core from the
// server under test.
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace meterbridge::bench {

struct LoadRequest {
    std::string body;
    std::vector<std::pair<std::string, std::string>> headers;
};

// Builds the `sequence`-th request of `connection` (with LoadOptions::total,
// `sequence` is the request's number in the whole run, 0 .. total-1, each
// given once). Called on a client thread.
using RequestFactory = std::function<LoadRequest(int connection, std::uint64_t sequence)>;

struct LoadOptions {
    std::uint16_t port = 0;  // on 127.0.0.1
    std::string target = "/";
    int connections = 64;
    unsigned threads = 1;
    std::chrono::milliseconds warmup{1000};
    std::chrono::milliseconds duration{5000};
    // Nonzero: send exactly this many requests, then stop; no warm-up, every
    // answer is counted, and `duration` only bounds the run (a server that
    // stops answering is given up on 10 s after it).
    std::uint64_t total = 0;
};

struct LoadResult {
    std::uint64_t completed = 0;  // answers received inside the measured window
    double seconds = 0;           // length of the measured window
    std::map<int, std::uint64_t> statuses;  // HTTP status -> answers in the window
    std::uint64_t errors = 0;     // connection failures (whole run)
    std::vector<std::uint32_t> latencies_us;  // of the answers in the window

    double per_second() const { return seconds > 0 ? static_cast<double>(completed) / seconds : 0; }
    double percentile_ms(double p) const;  // p in [0, 100]
};

LoadResult run_load(const LoadOptions& options, const RequestFactory& make_request);

}  // namespace meterbridge::bench
