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
#include <spdlog/spdlog.h>

#include <chrono>
#include <cstdio>
#include <iostream>
#include <string>
#include <vector>

#include "figures.hpp"
#include "meterbridge/azure/token_provider.hpp"
#include "meterbridge/core/exact_json.hpp"
#include "meterbridge/net/http_client.hpp"
#include "meterbridge/sandbox/sandbox.hpp"
#include "meterbridge/store/store.hpp"
#include "cli/config.hpp"
#include "pipeline/scheduler.hpp"
#include "meterbridge/net/clocks.hpp"
#include "platform/system_secret_source.hpp"

namespace meterbridge::bench {
namespace {

constexpr int kSubscriptions = 2000;
constexpr int kDimensions = 10;
constexpr int kUnitsPerKey = 5;

std::string resource_of(int account) {
    char text[40];
    std::snprintf(text, sizeof text, "00000000-0000-4000-8000-%012d", account);
    return text;
}

Json drain_config(const std::filesystem::path& dir) {
    const auto mapping = [](const std::string& entity, const std::string& id, const char* table,
                            const std::string& external) {
        return Json{{"m3ter_entity", entity}, {"m3ter_id", id}, {"external_table", table}, {"external_id", external}};
    };
    Json mappings = Json::array();
    Json accounts = Json::array();
    for (int a = 0; a < kSubscriptions; ++a) {
        mappings.push_back(mapping("Account", "acc-" + std::to_string(a), "Subscription", resource_of(a)));
        accounts.push_back("acc-" + std::to_string(a));
    }
    for (int d = 0; d < kDimensions; ++d) {
        mappings.push_back(mapping("Product", "prod-" + std::to_string(d), "Dimension", "dim-" + std::to_string(d)));
    }
    return Json{{"listen", {{"address", "127.0.0.1"}, {"port", 0}}},
                {"storage", {{"sqlite_path", (dir / "drain.db").string()}}},
                {"webhook", {{"allow_unsigned", true}}},
                {"azure", {{"mode", "sandbox"}}},
                {"scheduler", {{"policy", "hour_close"}, {"flush_delay_s", 60}, {"tick_s", 5}}},
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

int run() {
    spdlog::set_level(spdlog::level::warn);  // no line per bill on stdout, where the figures go
    const auto dir = scratch_dir("drain");
    const app::Config config = app::parse_config_document(drain_config(dir), app::SystemSecretSource{});
    net::SettableClock clock;
    clock.set(parse_iso8601("2026-02-01T09:10:00Z").value());
    auto store = store::open_sqlite_store(config.storage.sqlite_path);

    sandbox::SandboxOptions sandbox_options;
    sandbox_options.base_clock = &clock;
    auto sandbox = sandbox::Sandbox::start(std::move(sandbox_options));
    if (!sandbox) throw std::runtime_error("sandbox: " + sandbox.error().message);
    net::HttpClient http;
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
    for (int a = 0; a < kSubscriptions; ++a) deliveries.push_back(bill_delivery(a, clock.now()));
    for (std::size_t i = 0; i < deliveries.size(); i += 500) {
        const auto count = std::min<std::size_t>(500, deliveries.size() - i);
        for (const auto& result : store->record_deliveries(std::span(deliveries).subspan(i, count))) {
            if (!result) throw std::runtime_error("record: " + result.error().message);
        }
    }
    const auto queued_at = std::chrono::steady_clock::now();
    const app::TickReport queued = scheduler.tick();
    const double queue_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - queued_at).count();
    const auto metrics = store->metrics();
    std::cerr << "bench_drain: " << queued.versions_processed << " bills converted in " << queue_s << " s; "
              << (metrics ? metrics->pending_units : -1) << " units pending in "
              << (metrics ? metrics->pending_entries : -1) << " entries\n";
    figure("drain_units_queued", metrics ? static_cast<double>(metrics->pending_units) : 0, "units");
    figure("drain_backlog_build", queue_s, "s");

    // The drain: past 10:00 + flush delay every slot of 09:00 is due.
    clock.set(parse_iso8601("2026-02-01T10:02:00Z").value());
    const auto started = std::chrono::steady_clock::now();
    int accepted = 0;
    int batches = 0;
    int ticks = 0;
    const int expected = kSubscriptions * kDimensions;
    while (accepted < expected && ticks < 50) {
        const app::TickReport report = scheduler.tick();
        accepted += report.events_accepted;
        batches += report.batches_sent;
        ++ticks;
        if (report.transport_failures > 0) std::cerr << "bench_drain: " << report.transport_failures << " failures\n";
    }
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    figure("drain_events_accepted", accepted, "events");
    figure("drain_time_to_all_accepted", seconds, "s");
    figure("drain_events_per_s", accepted / seconds, "events/s");
    figure("drain_batches_per_s", batches / seconds, "batches/s");
    figure("drain_units_per_s", accepted * kUnitsPerKey / seconds, "units/s");
    (*sandbox)->stop();
    store.reset();
    if (std::getenv("METERBRIDGE_BENCH_KEEP") == nullptr) std::filesystem::remove_all(dir);
    return accepted == expected ? 0 : 1;
}

}  // namespace
}  // namespace meterbridge::bench

int main() {
    try {
        return meterbridge::bench::run();
    } catch (const std::exception& error) {
        std::cerr << "bench_drain: " << error.what() << "\n";
        return 1;
    }
}
