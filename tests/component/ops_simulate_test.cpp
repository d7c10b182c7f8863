#include "ops/simulate_route.hpp"

#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "meterbridge/core/bill.hpp"
#include "meterbridge/core/conversion.hpp"
#include "meterbridge/core/exact_json.hpp"
#include "meterbridge/store/store.hpp"
#include "ops_request.hpp"
#include "support/bill_builders.hpp"

// POST /simulate (issue 19) through the Router over an in-memory SQLite store:
// the token, bad bills named by field, stored mappings taken into account,
// nothing written, and the same events as the store plans when the daemon's
// steps are run on the same bill.
namespace meterbridge::app {
namespace {

constexpr std::string_view kToken = "ops-s3cret";
constexpr const char* kSub = "6f1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d";

using bill_builders::mapping;

// Events as (resource, plan, dimension, effectiveStartTime, quantity, tick that plans them).
using EventRows = std::set<std::tuple<std::string, std::string, std::string, std::string, std::int64_t, std::string>>;

Instant at(std::string_view text) { return parse_iso8601(text).value(); }

// acc-1's bill: two products (storage mapped in the config, compute only by
// a stored mapping) and an item with no product.
constexpr std::string_view kBill =
    R"({"id":"bill-1","version":4,"accountId":"acc-1","status":"APPROVED","currency":"USD","lineItems":[)"
    R"({"id":"li-0","lineItemType":"USAGE","productId":"p-storage","subtotal":9.985},)"
    R"({"id":"li-1","lineItemType":"USAGE","productId":"p-compute","subtotal":1.50},)"
    R"({"id":"li-2","lineItemType":"STANDING_CHARGE","subtotal":0.25}]})";

class OpsSimulateTest : public ::testing::Test {
protected:
    OpsSimulateTest() {
        ops.token = Secret(std::string(kToken), "literal");
        IntegrationConfig per_product;
        per_product.id = "per-product";
        per_product.name = "By product";
        per_product.split_usage_line_items = SplitMode::ItemPerProduct;
        per_product.plan_id = "gold";
        IntegrationConfig per_bill;  // the same resource and dimension as a product, on another plan
        per_bill.id = "per-bill";
        per_bill.split_usage_line_items = SplitMode::ItemPerBill;
        per_bill.marketplace_bill_dimension = "storage";
        per_bill.plan_id = "silver";
        rules.integrations = {per_product, per_bill};
        rules.external_mappings = {mapping(MappingEntity::Account, "acc-1", ExternalTable::Subscription, kSub),
                                   mapping(MappingEntity::Product, "p-storage", ExternalTable::Dimension, "storage")};
        clock.set(at("2026-01-01T08:20:00Z"));
    }

    void start() {
        context = std::make_unique<OpsContext>(OpsContext{ops, testing, rules, policy, *store, clock, {}, {}, nullptr,
                                                          nullptr, {}, {}, {}, {}});
        add_ops_routes(router, *context);
    }

    net::HttpResponse call(std::string target, std::string body, std::optional<std::string> token = std::string(kToken),
                           std::string content_type = "application/json", std::string method = "POST") {
        return dispatch_request(router, std::move(method), std::move(target), std::move(body), token, content_type);
    }

    Json json_of(const net::HttpResponse& response) {
        auto parsed = parse_exact_json(response.body);
        EXPECT_TRUE(parsed.ok()) << response.body;
        return parsed.ok() ? *parsed : Json();
    }

    void add_compute_mapping() {
        const auto added = call("/mappings", R"({"m3ter_entity":"Product","m3ter_id":"p-compute",)"
                                             R"("external_system":"AzureMarketplace","external_table":"Dimension",)"
                                             R"("external_id":"compute"})");
        ASSERT_EQ(added.status, 201) << added.body;
    }

    // What the daemon does with the bill, step by step (scheduler: convert
    // with the config's and the stored mappings, recalculate; then plan slots
    // at each tick): the events the store plans, as simulation_json shows them.
    // The events of a POST /simulate answer, in the shape of daemon_events().
    static EventRows
    simulated_events(const Json& out) {
        EventRows events;
        for (const Json& event : out["events"]) {
            events.emplace(event["resourceId"], event["planId"], event["dimension"], event["effectiveStartTime"],
                           event["quantity"].get<std::int64_t>(), event["sendAfter"]);
        }
        return events;
    }

    EventRows
    daemon_events(const std::string& bill_text, Instant received, const std::vector<Instant>& ticks) {
        const Json json = parse_exact_json(bill_text).value();
        const Bill bill = parse_bill(json).value();
        store::Delivery delivery;
        delivery.body = bill_text;
        delivery.remote_addr = "127.0.0.1";
        delivery.received_at = received;
        delivery.kind = BillEventKind::Updated;
        delivery.bill = bill;
        delivery.bill_json = bill_to_json_text(bill);
        EXPECT_TRUE(store->record_delivery(delivery).ok());
        std::vector<ExternalMapping> mappings = rules.external_mappings;
        const auto stored = store->list_mappings();
        mappings.insert(mappings.end(), stored->begin(), stored->end());
        for (const IntegrationConfig& integration : rules.integrations) {
            const Conversion conversion = convert_bill(integration, bill, mappings, nullptr);
            EXPECT_TRUE(store->recalculate(integration.id, bill.id, conversion.targets, received, policy).ok());
        }
        EventRows out;
        for (const Instant tick : ticks) {
            const auto planned = store->plan_slots(tick, policy);
            EXPECT_TRUE(planned.ok());
            if (!planned.ok()) continue;
            for (const std::int64_t id : *planned) {
                const OutboxEvent event = store->event(id).value();
                out.emplace(event.request.resource_id, event.request.plan_id, event.request.dimension,
                            format_iso8601(event.request.effective_start_time), event.request.quantity,
                            format_iso8601(tick));
            }
        }
        return out;
    }

    OpsConfig ops;
    TestingConfig testing;
    IntegrationRules rules;
    std::unique_ptr<store::Store> store = store::open_sqlite_store(":memory:");
    net::SettableClock clock;
    SlotPolicy policy;
    std::unique_ptr<OpsContext> context;
    net::Router router;
};

TEST_F(OpsSimulateTest, NeedsTheOpsToken) {
    start();
    EXPECT_EQ(call("/simulate", std::string(kBill), std::nullopt).status, 401);
    EXPECT_EQ(call("/simulate", std::string(kBill), std::string("wrong")).status, 401);
    EXPECT_EQ(call("/simulate", std::string(kBill)).status, 200);
}

TEST_F(OpsSimulateTest, AnswersTheDryRunWithStoredMappingsAndWritesNothing) {
    policy.mode = SlotPolicy::Mode::HourClose;
    policy.flush_delay = seconds{60};
    start();
    add_compute_mapping();
    const auto answer = call("/simulate", std::string(kBill));
    ASSERT_EQ(answer.status, 200) << answer.body;
    EXPECT_TRUE(answer.headers.get("Content-Type").value_or("").starts_with("application/json"));
    const Json out = json_of(answer);
    EXPECT_EQ(out["billId"], "bill-1");
    EXPECT_EQ(out["version"], 4);
    // The daemon's clock (set to 08:20, running on in real time) is "now".
    EXPECT_TRUE(out["simulatedAt"].get<std::string>().starts_with("2026-01-01T08:20:0")) << out["simulatedAt"];
    EXPECT_EQ(out["policy"]["mode"], "hour_close");
    EXPECT_EQ(out["policy"]["flushDelaySeconds"], 60);
    EXPECT_EQ(out["asFirstVersion"], true);
    ASSERT_EQ(out["integrations"].size(), 2u);

    const Json& per_product = out["integrations"][0];
    EXPECT_EQ(per_product["integrationId"], "per-product");
    EXPECT_EQ(per_product["splitMode"], "ITEM_PER_PRODUCT");
    EXPECT_EQ(per_product["ran"], true);
    EXPECT_TRUE(per_product["skipped"].is_null());
    ASSERT_EQ(per_product["targets"].size(), 2u);  // compute comes from the stored mapping
    const Json& compute = per_product["targets"][0];
    EXPECT_EQ(compute["dimension"], "compute");
    EXPECT_EQ(compute["units"], 150);
    const Json& storage = per_product["targets"][1];
    EXPECT_EQ(storage["dimension"], "storage");
    EXPECT_EQ(storage["units"], 999);
    EXPECT_EQ(storage["rounding"], "half_up");
    EXPECT_EQ(storage["slot"], "2026-01-01T08:00:00Z");
    EXPECT_EQ(storage["sendAfter"], "2026-01-01T09:01:00Z");
    // Exact amounts: the number's text, never a double's.
    EXPECT_NE(answer.body.find(R"("amount":9.985)"), std::string::npos) << answer.body;
    EXPECT_NE(answer.body.find(R"("unitPrice":0.01)"), std::string::npos) << answer.body;
    ASSERT_EQ(per_product["held"].size(), 1u);
    EXPECT_EQ(per_product["held"][0]["reason"], "no_product_or_aggregation");
    EXPECT_EQ(per_product["held"][0]["lineItemId"], "li-2");
    EXPECT_EQ(per_product["heldTotals"][0]["lineItems"], 1);
    EXPECT_EQ(per_product["billErrors"].size(), 0u);

    // per-bill's units (9.985 + 1.50 + 0.25) sit on storage too, on another plan: the hour after.
    const Json& per_bill = out["integrations"][1];
    EXPECT_EQ(per_bill["targets"][0]["units"], 1174);  // 11.735 -> half_up
    EXPECT_EQ(per_bill["targets"][0]["slot"], "2026-01-01T09:00:00Z");
    EXPECT_EQ(out["events"].size(), 3u);

    // Nothing stored: no bill, no event, no run.
    EXPECT_EQ(call("/bills/bill-1", {}, std::string(kToken), "application/json", "GET").status, 404);
    EXPECT_EQ(json_of(call("/events", {}, std::string(kToken), "application/json", "GET"))["data"].size(), 0u);
    EXPECT_EQ(json_of(call("/integrationruns", {}, std::string(kToken), "application/json", "GET"))["data"].size(), 0u);
}

// The simulation says what the daemon does: the same bill run through the
// store's recalculation and slot planning, at the simulated ticks, gives the
// same events, under both policies.
TEST_F(OpsSimulateTest, TheDaemonsStepsPlanTheSameEventsUnderEager) {
    policy.mode = SlotPolicy::Mode::Eager;
    policy.flush_delay = seconds{0};
    start();
    add_compute_mapping();
    // An explicit instant: the settable clock runs on in real time, and the
    // daemon's steps below must see the bill arrive at the simulated "now".
    const Json out = json_of(call("/simulate?at=2026-01-01T08:20:00Z", std::string(kBill)));
    const auto simulated = simulated_events(out);
    std::set<Instant> ticks;
    for (const Json& event : out["events"]) ticks.insert(at(event["sendAfter"].get<std::string>()));
    ASSERT_EQ(simulated.size(), 3u) << out.dump();
    ASSERT_EQ(ticks.size(), 2u);  // now, and 09:00 for the second plan on storage
    // A tick before each simulated one plans nothing new.
    std::vector<Instant> all{*ticks.begin() - seconds{1}};
    for (const Instant tick : ticks) all.push_back(tick);
    EXPECT_EQ(daemon_events(std::string(kBill), at("2026-01-01T08:20:00Z"), all), simulated);
}

TEST_F(OpsSimulateTest, TheDaemonsStepsPlanTheSameEventsUnderHourClose) {
    policy.mode = SlotPolicy::Mode::HourClose;
    policy.flush_delay = seconds{90};
    start();
    add_compute_mapping();
    const Json out = json_of(call("/simulate?at=2026-01-01T08:59:59Z", std::string(kBill)));
    EXPECT_EQ(out["simulatedAt"], "2026-01-01T08:59:59Z");
    for (const Json& event : out["events"]) EXPECT_EQ(event["sendAfter"], "2026-01-01T09:01:30Z");
    const auto simulated = simulated_events(out);
    ASSERT_EQ(simulated.size(), 3u) << out.dump();
    EXPECT_EQ(daemon_events(std::string(kBill), at("2026-01-01T08:59:59Z"),
                            {at("2026-01-01T09:01:29Z"), at("2026-01-01T09:01:30Z")}),
              simulated);
}

TEST_F(OpsSimulateTest, BadBillsAreRefusedNamingTheField) {
    start();
    const auto bad_amount = call("/simulate", R"({"id":"b","version":1,"accountId":"a","currency":"USD",)"
                                              R"("lineItems":[{"lineItemType":"USAGE","subtotal":"ten"}]})");
    EXPECT_EQ(bad_amount.status, 400);
    EXPECT_EQ(json_of(bad_amount)["error"]["field"], "lineItems[0].subtotal");

    const auto enveloped = call("/simulate", R"({"eventName":"billing.bill.updated","m3terEvent":{"eventData":)"
                                             R"({"new":{"id":"b","version":1,"currency":"USD","lineItems":[]}}}})");
    EXPECT_EQ(enveloped.status, 400);
    EXPECT_EQ(json_of(enveloped)["error"]["field"], "m3terEvent.eventData.new.accountId") << enveloped.body;

    const auto only_id = call("/simulate", R"({"eventName":"billing.bill.created","m3terEvent":{"id":"bill-7"}})");
    EXPECT_EQ(only_id.status, 400);
    EXPECT_EQ(json_of(only_id)["error"]["code"], "bill_missing");
    EXPECT_EQ(json_of(only_id)["error"]["field"], "m3terEvent");

    EXPECT_EQ(call("/simulate", "{not json").status, 400);
    EXPECT_EQ(call("/simulate", std::string(kBill), std::string(kToken), "text/plain").status, 415);
    const auto bad_at = call("/simulate?at=yesterday", std::string(kBill));
    EXPECT_EQ(bad_at.status, 400);
    EXPECT_EQ(json_of(bad_at)["error"]["field"], "at");
}

TEST_F(OpsSimulateTest, StaticAccountsFeedTheAccountFilter) {
    rules.integrations[0].account_filter = AccountFilter::parse(R"(customFields.country == "UK")").value();
    start();
    Json out = json_of(call("/simulate", std::string(kBill)));
    EXPECT_EQ(out["account"], "none");
    EXPECT_EQ(out["integrations"][0]["skipped"]["reason"], "account_unresolved");

    rules.accounts = {Json::parse(R"({"id":"acc-1","customFields":{"country":"UK"}})")};
    out = json_of(call("/simulate", std::string(kBill)));
    EXPECT_EQ(out["account"], "config");
    EXPECT_EQ(out["integrations"][0]["ran"], true);
}

TEST_F(OpsSimulateTest, ADeletionSaysEverythingGoesToZero) {
    start();
    const auto answer =
        call("/simulate", R"({"eventName":"billing.bill.deleted","m3terEvent":{"eventData":{"id":"bill-1"}}})");
    ASSERT_EQ(answer.status, 200) << answer.body;
    const Json out = json_of(answer);
    EXPECT_EQ(out["deleted"], true);
    EXPECT_EQ(out["billId"], "bill-1");
    EXPECT_TRUE(out["events"].empty());
    EXPECT_NE(out["notes"][0].get<std::string>().find("goes to zero"), std::string::npos);
}

}  // namespace
}  // namespace meterbridge::app
