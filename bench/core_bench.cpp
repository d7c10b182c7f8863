// bench_core: Google Benchmark of the pure core's hot paths (issue 6):
// parsing of a webhook body, conversion of a bill (reported per line item),
// slotting of pending units, and batch planning of due events. No I/O: these
// bound what the intake and the scheduler can do whatever the disk and network.
#include <benchmark/benchmark.h>

#include <cctype>
#include <cstdint>
#include <cstdio>
#include <iostream>
#include <set>
#include <string>
#include <vector>

#include "meterbridge/core/bill.hpp"
#include "meterbridge/core/integration_config.hpp"
#include "meterbridge/core/conversion.hpp"
#include "meterbridge/core/dispatch.hpp"
#include "meterbridge/core/exact_json.hpp"
#include "meterbridge/core/slotting.hpp"

namespace meterbridge {
namespace {

const Instant kNow = parse_iso8601("2026-02-01T10:05:00Z").value();

class NoSecrets final : public SecretSource {
public:
    std::optional<std::string> env(const std::string&) const override { return std::nullopt; }
    std::optional<std::string> file(const std::string&) const override { return std::nullopt; }
};

// One integration splitting per product over `products` mapped dimensions.
IntegrationRules per_product_config(int products) {
    Json mappings = Json::array({{{"m3ter_entity", "Account"},
                                  {"m3ter_id", "acc-1"},
                                  {"external_table", "Subscription"},
                                  {"external_id", "11111111-2222-4333-8444-555555555555"}}});
    for (int p = 0; p < products; ++p) {
        mappings.push_back({{"m3ter_entity", "Product"},
                            {"m3ter_id", "prod-" + std::to_string(p)},
                            {"external_table", "Dimension"},
                            {"external_id", "dim-" + std::to_string(p)}});
    }
    const Json document = {{"integrations",
                            Json::array({{{"id", "per-product"},
                                          {"account_ids", {"acc-1"}},
                                          {"split_usage_line_items", "ITEM_PER_PRODUCT"},
                                          {"plan_id", "standard"},
                                          {"unit_price", "0.01"}}})},
                           {"external_mappings", mappings}};
    ConfigWarnings warnings;
    return parse_integration_rules(ConfigSection(document, "", {"integrations", "external_mappings"}), warnings);
}

Bill bill_of(int line_items, int products) {
    std::string items;
    for (int i = 0; i < line_items; ++i) {
        if (i > 0) items += ',';
        items += R"({"lineItemType":"USAGE","productId":"prod-)" + std::to_string(i % products) +
                 R"(","aggregationId":"agg-)" + std::to_string(i) + R"(","subtotal":12.345})";
    }
    const std::string text = R"({"id":"b-1","version":1,"accountId":"acc-1","status":"APPROVED","currency":"USD",)"
                             R"("lineItems":[)" + items + "]}";
    return parse_bill(parse_exact_json(text).value()).value();
}

void BM_ConvertBill(benchmark::State& state) {
    const int line_items = static_cast<int>(state.range(0));
    const IntegrationRules config = per_product_config(5);
    const Bill bill = bill_of(line_items, 5);
    for (auto _ : state) {
        Conversion conversion = convert_bill(config.integrations.front(), bill, config.external_mappings, nullptr);
        benchmark::DoNotOptimize(conversion);
    }
    // Items per second = line items converted per second.
    state.SetItemsProcessed(state.iterations() * line_items);
}
BENCHMARK(BM_ConvertBill)->Arg(20)->Arg(200);

// The webhook body of bench/bill_maker.cpp's bill_envelope() ("the issue's
// reference delivery", about 4.3 KB, 20 line items), rebuilt here because
// bill_maker.cpp needs the m3ter library and core_bench links only the core.
std::string bill_envelope_body() {
    std::string items;
    for (int i = 0; i < 20; ++i) {
        const std::string n = std::to_string(i);
        const std::string product = "prod-" + std::to_string(i % 5);
        if (i > 0) items += ',';
        items += R"({"id":"li-)" + n + R"(","lineItemType":"USAGE","productId":")" + product +
                 R"(","aggregationId":"agg-)" + n + R"(","description":"Usage )" + product +
                 R"(","quantity":)" + std::to_string(1000 + i) + R"(,"unitPrice":0.0125,"subtotal":)" +
                 std::to_string(12 + i) + R"(.5,"servicePeriodStartDate":"2026-01-01"})";
    }
    return R"({"id":"evt-bench-1","eventName":"billing.bill.updated","eventTime":"2026-02-01T00:00:01Z",)"
           R"("m3terEvent":{"eventData":{"new":{"id":"bench-1","version":1,"accountId":"acc-bench",)"
           R"("accountCode":"bench","status":"APPROVED","locked":false,"currency":"USD",)"
           R"("billDate":"2026-02-01","lineItems":[)" + items + "]}}}}";
}

// parse_exact_json of every webhook body: nanoseconds per body.
void BM_ParseBillEnvelope(benchmark::State& state) {
    const std::string body = bill_envelope_body();
    for (auto _ : state) {
        auto document = parse_exact_json(body);
        benchmark::DoNotOptimize(document);
    }
    state.SetItemsProcessed(state.iterations());  // bodies parsed
    state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(body.size()));
}
BENCHMARK(BM_ParseBillEnvelope);

// What the webhook handler does with a body after the signature check:
// decode the bill straight from a JSON tape and write its canonical text.
// Nanoseconds per body.
void BM_DecodeBillEnvelope(benchmark::State& state) {
    const std::string body = bill_envelope_body();
    for (auto _ : state) {
        auto event = decode_bill_event(body);
        std::string text = bill_to_json_text(*event.value().bill);
        benchmark::DoNotOptimize(text);
    }
    state.SetItemsProcessed(state.iterations());  // bodies decoded
}
BENCHMARK(BM_DecodeBillEnvelope);

// The same through the DOM (parse_exact_json, then parse_bill_event): the
// handler's path before the tape, kept to show the difference.
void BM_DecodeBillEnvelopeViaDom(benchmark::State& state) {
    const std::string body = bill_envelope_body();
    for (auto _ : state) {
        auto document = parse_exact_json(body);
        auto event = parse_bill_event(document.value());
        std::string text = bill_to_json_text(*event.value().bill);
        benchmark::DoNotOptimize(text);
    }
    state.SetItemsProcessed(state.iterations());  // bodies decoded
}
BENCHMARK(BM_DecodeBillEnvelopeViaDom);

std::vector<PendingUnits> pending_units(int keys) {
    SlotPolicy policy;
    policy.mode = SlotPolicy::Mode::Eager;
    std::vector<PendingUnits> pending;
    for (int k = 0; k < keys; ++k) {
        PendingUnits entry = queue_units(ShareKey{"per-product", "b-" + std::to_string(k / 10),
                                                  "res-" + std::to_string(k / 10), "dim-" + std::to_string(k % 10)},
                                         "standard", 5, kNow - std::chrono::minutes(30), policy);
        entry.id = k + 1;
        pending.push_back(std::move(entry));
    }
    return pending;
}

void BM_PlanSlots(benchmark::State& state) {
    const int keys = static_cast<int>(state.range(0));
    const auto pending = pending_units(keys);
    SlotPolicy policy;
    policy.mode = SlotPolicy::Mode::Eager;
    const std::set<SlotKey> occupied;
    for (auto _ : state) {
        auto planned = plan_slots(pending, occupied, kNow, policy);
        benchmark::DoNotOptimize(planned);
    }
    state.SetItemsProcessed(state.iterations() * keys);  // pending entries slotted
}
BENCHMARK(BM_PlanSlots)->Arg(1000)->Arg(20000)->Unit(benchmark::kMillisecond);

void BM_PlanBatches(benchmark::State& state) {
    const int count = static_cast<int>(state.range(0));
    std::vector<OutboxEvent> events;
    for (int i = 0; i < count; ++i) {
        OutboxEvent event;
        event.id = i + 1;
        event.request = UsageEventRequest{"res-" + std::to_string(i / 10), "standard", "dim-" + std::to_string(i % 10),
                                          5, parse_iso8601("2026-02-01T09:00:00Z").value()};
        event.shares = {EventShare{ShareKey{"per-product", "b-1", event.request.resource_id, event.request.dimension}, 5}};
        event.next_attempt_at = kNow;
        events.push_back(std::move(event));
    }
    for (auto _ : state) {
        auto batches = plan_batches(events, kNow);
        benchmark::DoNotOptimize(batches);
    }
    state.SetItemsProcessed(state.iterations() * count);  // events planned
}
BENCHMARK(BM_PlanBatches)->Arg(1000)->Arg(20000)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace meterbridge

namespace {

// Google Benchmark's table goes to stderr; stdout gets one `name value unit`
// line per benchmark: nanoseconds per item (body, line item, pending entry, event).
class FigureReporter : public benchmark::ConsoleReporter {
public:
    void ReportRuns(const std::vector<Run>& runs) override {
        ConsoleReporter::ReportRuns(runs);
        for (const Run& run : runs) {
            const auto rate = run.counters.find("items_per_second");
            if (run.error_occurred || rate == run.counters.end() || rate->second.value <= 0) continue;
            // "BM_ConvertBill/20" -> "core_convert_bill_20"
            std::string name = "core";
            for (const char c : run.benchmark_name().substr(2)) {
                const auto u = static_cast<unsigned char>(c);
                if (c == '/') {
                    name += '_';
                } else if (std::isupper(u)) {
                    if (name.back() != '_') name += '_';
                    name += static_cast<char>(std::tolower(u));
                } else {
                    name += c;
                }
            }
            std::printf("%s %.6g ns/item\n", name.c_str(), 1e9 / rate->second.value);
            std::fflush(stdout);
        }
    }
};

}  // namespace

int main(int argc, char** argv) {
    benchmark::Initialize(&argc, argv);
    if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
    FigureReporter reporter;
    reporter.SetOutputStream(&std::cerr);
    reporter.SetErrorStream(&std::cerr);
    benchmark::RunSpecifiedBenchmarks(&reporter);
    benchmark::Shutdown();
    return 0;
}
