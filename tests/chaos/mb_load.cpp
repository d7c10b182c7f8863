// mb_load: posts signed m3ter bill webhooks to a running meterbridge over N
// keep-alive connections for D seconds and prints what happened (issue 5).
//
//   mb_load --port 8080 [--connections 4] [--duration 60] [--accounts 1000]
//           [--pid PID] [--public-url URL] [--path /webhooks/m3ter] [--prefix load]
//   The API key and secret come from MB_M3TER_API_KEY / MB_M3TER_API_SECRET
//   (as scripts/run exports them), so they never appear in a process listing.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "load_generator.hpp"

namespace {

constexpr const char* kUsage =
    "usage: mb_load --port PORT [--connections N] [--duration S] [--accounts N] [--pid PID]\n"
    "               [--public-url URL] [--path PATH] [--prefix TEXT]\n"
    "  env: MB_M3TER_API_KEY, MB_M3TER_API_SECRET (the daemon's webhook.api_key / api_secret)\n"
    "  --pid: the daemon's process id, to report its VmRSS at start and end\n";

}  // namespace

int main(int argc, char** argv) {
    meterbridge::chaos::LoadOptions options;
    options.port = 0;
    for (int i = 1; i < argc; ++i) {
        const std::string_view arg = argv[i];
        if (arg == "--help" || arg == "-h") {
            std::fputs(kUsage, stdout);
            return 0;
        }
        if (i + 1 >= argc) {
            std::fprintf(stderr, "mb_load: %s needs a value\n%s", argv[i], kUsage);
            return 2;
        }
        const std::string value = argv[++i];
        if (arg == "--port") {
            options.port = static_cast<std::uint16_t>(std::atoi(value.c_str()));
        } else if (arg == "--connections") {
            options.connections = std::max(1, std::atoi(value.c_str()));
        } else if (arg == "--duration") {
            options.duration = std::chrono::seconds(std::max(1, std::atoi(value.c_str())));
        } else if (arg == "--accounts") {
            options.accounts = std::max(1, std::atoi(value.c_str()));
        } else if (arg == "--pid") {
            options.daemon_pid = static_cast<pid_t>(std::atoi(value.c_str()));
        } else if (arg == "--public-url") {
            options.public_base_url = value;
        } else if (arg == "--path") {
            options.path = value;
        } else if (arg == "--prefix") {
            options.bill_prefix = value;
        } else {
            std::fprintf(stderr, "mb_load: unknown option %s\n%s", argv[i - 1], kUsage);
            return 2;
        }
    }
    const char* key = std::getenv("MB_M3TER_API_KEY");
    const char* secret = std::getenv("MB_M3TER_API_SECRET");
    if (options.port == 0 || key == nullptr || secret == nullptr) {
        std::fputs(kUsage, stderr);
        return 2;
    }
    options.api_key = key;
    options.api_secret = secret;
    const auto report = meterbridge::chaos::run_load(options);
    std::printf("mb_load: %d connections, %lld s: %s\n", options.connections,
                static_cast<long long>(options.duration.count()), report.summary().c_str());
    for (const auto& sample : report.error_samples) std::printf("mb_load: error: %s\n", sample.c_str());
    return report.errors == 0 ? 0 : 1;
}
