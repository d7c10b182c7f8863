// bench_drain: the scheduler pushing a backlog to the Azure sandbox on
// loopback (issue 6): 100,000 queued units across 20,000 (resource,
// dimension) keys — 2,000 subscriptions x 10 dimensions, 5 units each — are
// slotted, batched (25 events per POST), sent, and settled through the
// daemon's own Scheduler::tick() over a SQLite store on disk, against the
// daemon's in-process sandbox. Prints events/s, batches/s and the time until
// every event is accepted.
//
// The backlog is made the way the daemon makes it: 2,000 bill deliveries
// recorded, then converted and recalculated by a tick in the hour they
// arrived (policy hour_close: nothing is sent yet). The clock then moves past
// the hour's flush delay and the timed part begins.
//
// Then the same drain again at Azure's latency (issue 17): a fresh backlog
// each time, the sandbox answering every metering call 50, 100 and 200 ms
// after processing it (a delay_ms fault queued for every call). Today the
// scheduler has one batch in flight, so the rate is at most 25 events per
// round trip; each of these runs takes backlog / 25 x RTT, hence
// --rtt-subscriptions to scale them down (scripts/bench does by default).
//
//   bench_drain [--subscriptions N] [--rtt-subscriptions N] [--in-flight N]   (default 2,000 each; 10)
#include <spdlog/spdlog.h>

#include <chrono>
#include <cstdio>
#include <iostream>
#include <string>
#include <vector>

#include "bench_config.hpp"
#include "figures.hpp"
#include "meterbridge/azure/token_provider.hpp"
#include "meterbridge/core/exact_json.hpp"
#include "meterbridge/core/usage_event.hpp"
#include "meterbridge/net/http_client.hpp"
#include "meterbridge/sandbox/sandbox.hpp"
#include "meterbridge/store/store.hpp"
#include "cli/config.hpp"
#include "pipeline/scheduler.hpp"
#include "meterbridge/net/clocks.hpp"
#include "platform/system_secret_source.hpp"

namespace meterbridge::bench {
namespace {

constexpr int kDimensions = 10;
constexpr int kUnitsPerKey = 5;
// scheduler.max_batches_in_flight of the drains (--in-flight): at the
// default of 8 the 100 ms limit is 2,000 events/s exactly, which no real
// drain reaches; 10 puts it at 2,500.
int g_in_flight = 10;

std::string resource_of(int account) {
    char text[40];
    std::snprintf(text, sizeof text, "00000000-0000-4000-8000-%012d", account);
    return text;
}

Json drain_config(const std::filesystem::path& dir, int subscriptions) {
    Json mappings = Json::array();
    Json accounts = Json::array();
    for (int a = 0; a < subscriptions; ++a) {
        mappings.push_back(mapping_json("Account", "acc-" + std::to_string(a), "Subscription", resource_of(a)));
        accounts.push_back("acc-" + std::to_string(a));
    }
    for (int d = 0; d < kDimensions; ++d) {
        mappings.push_back(mapping_json("Product", "prod-" + std::to_string(d), "Dimension", "dim-" + std::to_string(d)));
    }
    return Json{{"listen", {{"address", "127.0.0.1"}, {"port", 0}}},
                {"storage", {{"sqlite_path", (dir / "drain.db").string()}}},
                {"webhook", {{"allow_unsigned", true}}},
                {"azure", {{"mode", "sandbox"}}},
                {"scheduler",
                 {{"policy", "hour_close"}, {"flush_delay_s", 60}, {"tick_s", 5}, {"max_batches_in_flight", g_in_flight}}},
                {"integrations",
                 Json::array({{{"id", "per-product"},
                               {"account_ids", accounts},
                               {"split_usage_line_items", "ITEM_PER_PRODUCT"},
                               {"plan_id", "standard"},
                               {"unit_price", "0.01"}}})},
                {"external_mappings", mappings}};
}

store::Delivery bill_delivery(int account, Instant now) {
    std::string items;
    for (int d = 0; d < kDimensions; ++d) {
        if (d > 0) items += ',';
        items += R"({"lineItemType":"USAGE","productId":"prod-)" + std::to_string(d) + R"(","subtotal":0.05})";
    }
    const std::string id = "bill-" + std::to_string(account);
    const std::string text = R"({"id":")" + id + R"(","version":1,"accountId":"acc-)" + std::to_string(account) +
                             R"(","status":"APPROVED","currency":"USD","lineItems":[)" + items + "]}";
    store::Delivery delivery;
    delivery.body = text;
    delivery.remote_addr = "127.0.0.1";
    delivery.received_at = now;
    delivery.kind = BillEventKind::Updated;
    auto bill = parse_bill(parse_exact_json(text).value());
    if (!bill) throw std::runtime_error("bench bill does not parse: " + bill.error().message);
    delivery.bill = std::move(*bill);
    delivery.bill_json = text;
    return delivery;
}

struct DrainResult {
    int expected = 0;  // events the backlog makes
    int accepted = 0;
    int batches = 0;
    double seconds = 0;       // from the first tick past the hour to the last event accepted
    double backlog_build_s = 0;
    std::int64_t units_queued = -1;
};

// Builds a backlog of `subscriptions` x kDimensions keys and drains it to an
// in-process sandbox that answers every metering call `rtt` after processing
// it (0: at once).
DrainResult drain(int subscriptions, Duration rtt) {
    const auto dir = scratch_dir("drain");
    const app::Config config =
        app::parse_config_document(drain_config(dir, subscriptions), app::SystemSecretSource{});
    net::SettableClock clock;
    clock.set(parse_iso8601("2026-02-01T09:10:00Z").value());
    auto store = store::open_sqlite_store(config.storage.sqlite_path);

    sandbox::SandboxOptions sandbox_options;
    sandbox_options.base_clock = &clock;
    auto sandbox = sandbox::Sandbox::start(std::move(sandbox_options));
    if (!sandbox) throw std::runtime_error("sandbox: " + sandbox.error().message);
    if (rtt.count() > 0) {
        // The documented fault, for far more calls than the run makes
        // (token calls are not delayed: the fault's path is /api/).
        auto fault = sandbox::Fault::parse(R"({"kind":"delay_ms","delay_ms":)" + std::to_string(rtt.count()) +
                                           R"(,"count":1000000})");
        if (!fault) throw std::runtime_error("delay fault: " + fault.error().message);
        (*sandbox)->core().add_fault(*fault);
    }
    net::HttpClientOptions http_options;  // a kept-alive connection per batch in flight, as the daemon has
    http_options.max_idle_per_host = static_cast<std::size_t>(config.scheduler.max_batches_in_flight) + 2;
    net::HttpClient http(http_options);
    azure::TokenProviderOptions token;
    token.client_id = "bench-client";
    token.client_secret = "bench-secret";
    token.token_url = (*sandbox)->token_url();
    azure::TokenProvider tokens(token, http, clock, store.get());
    azure::MeteringClientOptions metering;
    metering.base_url = (*sandbox)->base_url();
    metering.deadline = std::chrono::seconds(60);
    app::Scheduler scheduler(app::Scheduler::Deps{config.rules, config.scheduler, config.storage.payload_retention_days, *store, clock, http, tokens, nullptr, metering, {}});

    // The backlog: deliveries, then conversion and recalculation (untimed).
    std::vector<store::Delivery> deliveries;
    for (int a = 0; a < subscriptions; ++a) deliveries.push_back(bill_delivery(a, clock.now()));
    for (std::size_t i = 0; i < deliveries.size(); i += 500) {
        const auto count = std::min<std::size_t>(500, deliveries.size() - i);
        for (const auto& result : store->record_deliveries(std::span(deliveries).subspan(i, count))) {
            if (!result) throw std::runtime_error("record: " + result.error().message);
        }
    }
    DrainResult out;
    out.expected = subscriptions * kDimensions;
    const auto queued_at = std::chrono::steady_clock::now();
    const app::TickReport queued = scheduler.tick();
    out.backlog_build_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - queued_at).count();
    const auto metrics = store->metrics();
    out.units_queued = metrics ? metrics->pending_units : -1;
    std::cerr << "bench_drain: " << queued.versions_processed << " bills converted in " << out.backlog_build_s
              << " s; " << out.units_queued << " units pending in " << (metrics ? metrics->pending_entries : -1)
              << " entries; answers delayed " << rtt.count() << " ms\n";

    // The drain: past 10:00 + flush delay every slot of 09:00 is due.
    clock.set(parse_iso8601("2026-02-01T10:02:00Z").value());
    const auto started = std::chrono::steady_clock::now();
    int ticks = 0;
    while (out.accepted < out.expected && ticks < 50) {
        const app::TickReport report = scheduler.tick();
        out.accepted += report.events_accepted;
        out.batches += report.batches_sent;
        ++ticks;
        if (report.transport_failures > 0) std::cerr << "bench_drain: " << report.transport_failures << " failures\n";
    }
    out.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    std::cerr << "bench_drain: " << out.accepted << " events accepted in " << out.seconds << " s\n";
    (*sandbox)->stop();
    store.reset();
    if (std::getenv("METERBRIDGE_BENCH_KEEP") == nullptr) std::filesystem::remove_all(dir);
    return out;
}

int run(int subscriptions, int rtt_subscriptions) {
    spdlog::set_level(spdlog::level::warn);  // no line per bill on stdout, where the figures go
    const DrainResult base = drain(subscriptions, Duration(0));
    figure("drain_units_queued", static_cast<double>(base.units_queued), "units");
    figure("drain_backlog_build", base.backlog_build_s, "s");
    figure("drain_events_accepted", base.accepted, "events");
    figure("drain_time_to_all_accepted", base.seconds, "s");
    figure("drain_events_per_s", base.accepted / base.seconds, "events/s");
    figure("drain_batches_per_s", base.batches / base.seconds, "batches/s");
    figure("drain_units_per_s", base.accepted * kUnitsPerKey / base.seconds, "units/s");
    bool complete = base.accepted == base.expected;

    // At Azure's latency. RTT 0 is the run above.
    figure("drain_rtt0_events_per_s", base.accepted / base.seconds, "events/s");
    figure("drain_rtt_backlog_events", rtt_subscriptions * kDimensions, "events");
    double rtt100 = 0;
    for (const int rtt_ms : {50, 100, 200}) {
        const DrainResult delayed = drain(rtt_subscriptions, Duration(rtt_ms));
        const double rate = delayed.accepted / delayed.seconds;
        figure("drain_rtt" + std::to_string(rtt_ms) + "_events_per_s", rate, "events/s");
        if (rtt_ms == 100) rtt100 = rate;
        complete = complete && delayed.accepted == delayed.expected;
    }
    // What the scheduler's design allows at 100 ms: every batch full, every
    // slot in flight, nothing but the round trip.
    const double limit = g_in_flight * static_cast<double>(kMaxEventsPerBatch) / 0.1;
    figure("drain_batches_in_flight", g_in_flight, "batches");
    figure("drain_rtt100_limit_events_per_s", limit, "events/s");
    figure("drain_rtt100_ratio_to_limit", rtt100 / limit, "x");
    return complete ? 0 : 1;
}

}  // namespace
}  // namespace meterbridge::bench

int main(int argc, char** argv) {
    int subscriptions = 2000;
    int rtt_subscriptions = 2000;
    for (int i = 1; i < argc; ++i) {
        const std::string arg = argv[i];
        const bool has_value = i + 1 < argc;
        if (arg == "--subscriptions" && has_value) {
            subscriptions = std::stoi(argv[++i]);
        } else if (arg == "--in-flight" && has_value) {
            meterbridge::bench::g_in_flight = std::stoi(argv[++i]);
        } else if (arg == "--rtt-subscriptions" && has_value) {
            rtt_subscriptions = std::stoi(argv[++i]);
        } else {
            std::cerr << "usage: bench_drain [--subscriptions N] [--rtt-subscriptions N] [--in-flight N]\n";
            return 2;
        }
    }
    if (subscriptions < 1 || rtt_subscriptions < 1) {
        std::cerr << "bench_drain: subscriptions must be at least 1\n";
        return 2;
    }
    try {
        return meterbridge::bench::run(subscriptions, rtt_subscriptions);
    } catch (const std::exception& error) {
        std::cerr << "bench_drain: " << error.what() << "\n";
        return 1;
    }
}
