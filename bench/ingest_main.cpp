// bench_ingest: durable webhook intake against the machine's own limits
// (issue 6), all in one run: (c) raw SQLite, one transaction per delivery
// (and 100 per transaction, for scale); (b) a bare Beast server and
// meterbridge's own HTTP layer answering 202; (a) the real daemon (the
// `meterbridge` binary, its durable path, its scheduler) on a fresh database;
// and the daemon's RSS idle and after the run. Prints `name value unit` lines.
//
//   bench_ingest [--connections N] [--seconds S] [--warmup-ms M] [--daemon PATH]
//   bench_ingest --serve bare|http-layer      (child mode, used by the run)
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <fstream>
#include <iostream>
#include <map>
#include <string>
#include <thread>

#include "bare_server.hpp"
#include "bench_config.hpp"
#include "bill_maker.hpp"
#include "figures.hpp"
#include "load_client.hpp"
#include "meterbridge/core/exact_json.hpp"
#include "child.hpp"
#include "raw_sqlite.hpp"

namespace meterbridge::bench {
namespace {



struct Args {
    int connections = 64;
    int seconds = 5;
    int warmup_ms = 1000;
    std::string daemon = METERBRIDGE_BINARY;
    std::string self;
};

std::int64_t unix_now() {
    return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch())
        .count();
}

// Every request is a new bill: the daemon must store a new version each time.
RequestFactory new_bills(const std::string& run) {
    return [run, signer = std::make_shared<Signer>()](int connection, std::uint64_t sequence) {
        LoadRequest request;
        request.body = bill_envelope(run + "-" + std::to_string(connection) + "-" + std::to_string(sequence));
        request.headers = signer->sign(request.body, unix_now()).headers;
        return request;
    };
}

LoadResult load(const Args& args, std::uint16_t port, const std::string& run) {
    LoadOptions options;
    options.port = port;
    options.target = kWebhookPath;
    options.connections = args.connections;
    options.warmup = std::chrono::milliseconds(args.warmup_ms);
    options.duration = std::chrono::seconds(args.seconds);
    return run_load(options, new_bills(run));
}

std::uint64_t non_2xx(const LoadResult& result) {
    std::uint64_t count = 0;
    for (const auto& [status, n] : result.statuses) {
        if (status < 200 || status > 299) count += n;
    }
    return count;
}

std::uint16_t wait_port(Child& child, const std::string& marker) {
    const auto line = child.wait_for_line(marker, std::chrono::seconds(30));
    if (!line) throw std::runtime_error("child did not start: " + child.log());
    return static_cast<std::uint16_t>(std::stoi(*line));
}

double ceiling(const Args& args, const std::filesystem::path& dir, const char* mode, const char* name) {
    Child child({args.self, "--serve", mode}, {}, dir / (std::string(mode) + ".log"));
    const std::uint16_t port = wait_port(child, "port ");
    const LoadResult result = load(args, port, mode);
    child.stop(SIGTERM);
    figure(std::string("ingest_") + name + "_requests_per_s", result.per_second(), "req/s");
    figure(std::string("ingest_") + name + "_p99", result.percentile_ms(99), "ms");
    if (result.errors > 0 || non_2xx(result) > 0) {
        std::cerr << name << ": " << result.errors << " connection errors, " << non_2xx(result) << " non-2xx\n";
    }
    return result.per_second();
}

Json daemon_config(const std::filesystem::path& dir) {
    Json mappings = Json::array({mapping_json("Account", kAccount, "Subscription", "11111111-2222-4333-8444-555555555555")});
    for (int p = 0; p < kProducts; ++p) {
        mappings.push_back(mapping_json("Product", "prod-" + std::to_string(p), "Dimension", "dim-" + std::to_string(p)));
    }
    // As deployed: signed webhooks, info logs (one line per delivery), the
    // scheduler converting every new bill while the deliveries arrive.
    return served_config(dir, {{"policy", "hour_close"}, {"flush_delay_s", 60}, {"tick_s", 5}},
                         {{"id", "per-product"},
                          {"account_ids", {kAccount}},
                          {"split_usage_line_items", "ITEM_PER_PRODUCT"},
                          {"fallback_dimension", "other"},
                          {"plan_id", "standard"},
                          {"unit_price", "0.01"}},
                         mappings);
}

double mib(std::int64_t kib) { return static_cast<double>(kib) / 1024.0; }

int run(const Args& args) {
    const auto dir = scratch_dir("ingest");
    std::cerr << "bench_ingest: " << args.connections << " keep-alive connections, " << args.seconds
              << " s measured after " << args.warmup_ms << " ms warm-up; data in " << dir << "\n";
    figure("ingest_body_size", static_cast<double>(bill_envelope("bench-0-0-0").size()), "bytes");

    // (c) the disk's limit, before any server runs.
    const auto per_row = run_raw_sqlite(dir / "raw.db", 1, std::chrono::seconds(3));
    figure("ingest_raw_sqlite_tx_per_row", per_row.per_second(), "rows/s");
    const auto batched = run_raw_sqlite(dir / "raw100.db", 100, std::chrono::seconds(2));
    figure("ingest_raw_sqlite_100_per_tx", batched.per_second(), "rows/s");

    // (b) the HTTP ceilings.
    const double bare = ceiling(args, dir, "bare", "bare_beast");
    ceiling(args, dir, "http-layer", "http_layer");

    // (a) the daemon.
    {
        std::ofstream(dir / "config.json") << daemon_config(dir).dump(2);
    }
    Child daemon({args.daemon, "serve", "--config", (dir / "config.json").string()},
                        {{"MB_BENCH_API_KEY", kApiKey},
                         {"MB_BENCH_API_SECRET", kApiSecret},
                         {"MB_BENCH_OPS_TOKEN", "bench-ops-token"}},
                        dir / "daemon.log");
    const std::uint16_t port = wait_port(daemon, " listening on 127.0.0.1:");
    const pid_t pid = daemon.pid();
    std::this_thread::sleep_for(std::chrono::seconds(1));
    const std::int64_t idle = rss_kib(pid);
    const double cpu_before = cpu_seconds(pid);
    const auto load_started = std::chrono::steady_clock::now();
    const LoadResult result = load(args, port, "daemon");
    const double load_wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - load_started).count();
    const double cpu_cores = (cpu_seconds(pid) - cpu_before) / load_wall;
    const std::int64_t after = rss_kib(pid);
    figure("ingest_daemon_bills_per_s", result.per_second(), "bills/s");
    figure("ingest_daemon_p50", result.percentile_ms(50), "ms");
    figure("ingest_daemon_p99", result.percentile_ms(99), "ms");
    // What the daemon costs, less sensitive to the disk's moods than bills/s:
    // its CPU over the load (warm-up included) per bill answered.
    figure("ingest_daemon_cpu_cores", cpu_cores, "cores");
    figure("ingest_daemon_cpu_per_bill", result.per_second() > 0 ? 1e6 * cpu_cores / result.per_second() : 0, "us");
    figure("ingest_daemon_non_2xx", static_cast<double>(non_2xx(result) + result.errors), "answers");
    figure("ingest_ratio_daemon_to_bare_beast", bare > 0 ? result.per_second() / bare : 0, "x");
    figure("ingest_ratio_daemon_to_raw_sqlite", result.per_second() / per_row.per_second(), "x");

    daemon.stop(SIGTERM, std::chrono::seconds(30));
    const std::string log = daemon.log();
    const auto stats = log.find("delivery committer: ");
    if (stats != std::string::npos) std::cerr << log.substr(stats, log.find('\n', stats) - stats) << "\n";

    figure("memory_idle_rss", mib(idle), "MiB");
    figure("memory_after_ingest_rss", mib(after), "MiB");
    // SQLite's default page cache is 2000 KiB per connection; the daemon has
    // two (the writer and the reader).
    const double page_cache = 2.0 * 2000.0 / 1024.0;
    figure("memory_sqlite_page_cache_bound", page_cache, "MiB");
    // The target: after <= idle + 20% + the page cache.
    figure("memory_after_ingest_bound", 1.2 * mib(idle) + page_cache, "MiB");

    if (std::getenv("METERBRIDGE_BENCH_KEEP") == nullptr) std::filesystem::remove_all(dir);
    return 0;
}

}  // namespace
}  // namespace meterbridge::bench

int main(int argc, char** argv) {
    using namespace meterbridge::bench;
    Args args;
    args.self = "/proc/self/exe";
    {
        std::error_code ec;
        const auto self = std::filesystem::read_symlink("/proc/self/exe", ec);
        if (!ec) args.self = self.string();
    }
    for (int i = 1; i < argc; ++i) {
        const std::string arg = argv[i];
        const auto value = [&]() -> std::string { return i + 1 < argc ? argv[++i] : ""; };
        if (arg == "--serve") {
            const std::string mode = value();
            if (mode == "bare") return serve_bare(2);
            if (mode == "http-layer") return serve_http_layer(2);
            return 2;
        }
        if (arg == "--connections") args.connections = std::stoi(value());
        else if (arg == "--seconds") args.seconds = std::stoi(value());
        else if (arg == "--warmup-ms") args.warmup_ms = std::stoi(value());
        else if (arg == "--daemon") args.daemon = value();
        else {
            std::cerr << "usage: bench_ingest [--connections N] [--seconds S] [--warmup-ms M] [--daemon PATH]\n";
            return 2;
        }
    }
    try {
        return run(args);
    } catch (const std::exception& error) {
        std::cerr << "bench_ingest: " << error.what() << "\n";
        return 1;
    }
}
