// bench_recon_export: the partner billing export client (issue 16) reading a
// 1,000,000-line export from the sandbox into recon::AzureEvidence. The
// sandbox runs in a forked child (its own process: it holds each compressed
// blob while serving it), so the RSS figures are the client's alone. Prints
// the lines read, the seconds they took (POST, polls and every blob
// download, decompression and parse), and this process's RSS before and at
// its peak during the run.
//   bench_recon_export [--lines N]   (default 1000000)
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <string>

#include "figures.hpp"
#include "meterbridge/azure/partner_billing_client.hpp"
#include "meterbridge/core/recon.hpp"
#include "meterbridge/net/clocks.hpp"
#include "meterbridge/net/http_client.hpp"
#include "meterbridge/sandbox/sandbox.hpp"

namespace meterbridge::bench {
namespace {

constexpr const char* kResource = "abcdef01-2222-4333-8444-555555555555";

// VmHWM of this process, in KiB (-1 if unreadable).
std::int64_t peak_rss_kib() {
    std::ifstream status("/proc/self/status");
    std::string line;
    while (std::getline(status, line)) {
        if (line.rfind("VmHWM:", 0) == 0) return std::stoll(line.substr(6));
    }
    return -1;
}

// The child: a sandbox on 127.0.0.1:0, its port written to `port_fd`; it
// lives until the parent closes `stop_fd`'s other end.
[[noreturn]] void run_sandbox(int port_fd, int stop_fd) {
    auto sandbox = sandbox::Sandbox::start({});
    if (!sandbox) {
        std::cerr << "bench_recon_export: sandbox: " << sandbox.error().message << "\n";
        std::_Exit(2);
    }
    const std::uint16_t port = (*sandbox)->port();
    if (::write(port_fd, &port, sizeof port) != static_cast<ssize_t>(sizeof port)) std::_Exit(2);
    char byte;
    while (::read(stop_fd, &byte, 1) > 0) {
    }
    (*sandbox)->stop();
    std::_Exit(0);
}

int check(const Result<net::HttpExchangeResult>& answer, int expected, const char* what) {
    if (!answer) {
        std::cerr << "bench_recon_export: " << what << ": " << answer.error().message << "\n";
        return 1;
    }
    if (answer->status != expected) {
        std::cerr << "bench_recon_export: " << what << ": HTTP " << answer->status << " " << answer->body << "\n";
        return 1;
    }
    return 0;
}

int run(std::uint64_t lines) {
    int port_pipe[2], stop_pipe[2];
    if (::pipe(port_pipe) != 0 || ::pipe(stop_pipe) != 0) return 2;
    std::cout.flush();
    const pid_t child = ::fork();  // before this process starts any thread
    if (child < 0) return 2;
    if (child == 0) {
        ::close(port_pipe[0]);
        ::close(stop_pipe[1]);
        run_sandbox(port_pipe[1], stop_pipe[0]);
    }
    ::close(port_pipe[1]);
    ::close(stop_pipe[0]);
    std::uint16_t port = 0;
    const bool got_port = ::read(port_pipe[0], &port, sizeof port) == static_cast<ssize_t>(sizeof port);
    const auto stop_child = [&] {
        ::close(stop_pipe[1]);
        int status = 0;
        ::waitpid(child, &status, 0);
    };
    if (!got_port) {
        stop_child();
        return 2;
    }
    const std::string base = "http://127.0.0.1:" + std::to_string(port);

    net::HttpClient http;
    const auto control = [&](const char* method, const std::string& route, std::string body) {
        net::HttpRequestSpec request;
        request.method = method;
        request.url = base + route;
        request.headers.set("Content-Type", "application/json");
        request.body = std::move(body);
        return http.send(request);
    };
    // Rows of 2026-01-01, processed once the clock is past the day and the delay.
    int failed = check(control("PUT", "/_sandbox/clock", R"({"now":"2026-01-02T06:00:00Z"})"), 200, "clock");
    failed = failed || check(control("POST", "/_sandbox/recon",
                                     std::string(R"({"kind":"bulk","resourceId":")") + kResource +
                                         R"(","dimension":"bulk","day":"2026-01-01","planId":"plan1","quantity":"0.5","lines":)" +
                                         std::to_string(lines) + "}"),
                             201, "bulk plant");
    failed = failed || check(control("PUT", "/_sandbox/export", R"({"running_polls":0,"retry_after_s":0})"), 200,
                             "export settings");
    if (failed) {
        stop_child();
        return 1;
    }

    net::SystemClock clock;
    azure::TokenProviderOptions token_options;
    token_options.token_url = base + "/sandbox-tenant/oauth2/v2.0/token";
    token_options.client_id = "bench";
    token_options.client_secret = "bench";
    token_options.resource = std::string(azure::kGraphResource);
    azure::TokenProvider graph(token_options, http, clock);
    azure::PartnerBillingClientOptions options;
    options.graph_base_url = base;
    azure::PartnerBillingClient client(options, http, graph, clock);
    auto names = recon::NameMap::make({{kResource, kResource}});  // no catalog: the subscription is the resource id
    recon::AzureEvidence evidence(*names);

    { std::ofstream("/proc/self/clear_refs") << "5"; }  // VmHWM := VmRSS (Linux >= 4.0)
    const std::int64_t rss_before = rss_kib(::getpid());
    const auto started = std::chrono::steady_clock::now();
    auto summary = client.fetch(azure::PartnerBillingRequest::unbilled(),
                                [&](const recon::AzureRow& row) { return evidence.add(row); });
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    const std::int64_t peak = peak_rss_kib();
    stop_child();
    if (!summary) {
        std::cerr << "bench_recon_export: " << summary.error().message << "\n";
        return 1;
    }
    const auto& total = evidence.totals().begin()->second;
    std::cerr << "bench_recon_export: " << summary->blobs << " blobs, " << summary->compressed_bytes
              << " compressed bytes, largest chunk " << summary->largest_chunk << " bytes, total quantity "
              << total.quantity.to_string() << "\n";
    if (summary->lines != lines || total.rows != lines) {
        std::cerr << "bench_recon_export: read " << summary->lines << " lines, expected " << lines << "\n";
        return 1;
    }
    figure("partner_export_lines", static_cast<double>(summary->lines), "lines");
    figure("partner_export_seconds", seconds, "s");
    figure("partner_export_rss_before_mb", static_cast<double>(rss_before) / 1024.0, "MiB");
    figure("partner_export_peak_rss_mb", static_cast<double>(peak) / 1024.0, "MiB");
    return 0;
}

}  // namespace
}  // namespace meterbridge::bench

int main(int argc, char** argv) {
    std::uint64_t lines = 1'000'000;
    for (int i = 1; i < argc; ++i) {
        const std::string arg = argv[i];
        if (arg == "--lines" && i + 1 < argc) {
            lines = std::strtoull(argv[++i], nullptr, 10);
        } else {
            std::cerr << "usage: bench_recon_export [--lines N]\n";
            return 2;
        }
    }
    if (lines == 0 || lines > 100'000'000) {
        std::cerr << "bench_recon_export: --lines must be 1..100000000\n";
        return 2;
    }
    return meterbridge::bench::run(lines);
}
