#include "ops/ops_api.hpp"

#include <gtest/gtest.h>

#include <memory>
#include <optional>
#include <regex>
#include <span>
#include <string>
#include <tuple>
#include <vector>

#include "meterbridge/core/bill.hpp"
#include "meterbridge/core/dispatch.hpp"
#include "meterbridge/core/exact_json.hpp"
#include "meterbridge/core/ledger.hpp"
#include "meterbridge/core/slotting.hpp"
#include "meterbridge/store/store.hpp"
#include "ops/console_static.hpp"
#include "ops/metrics_text.hpp"
#include "ops_request.hpp"
#include "ops/ops_auth.hpp"

// The ops API driven through the Router with hand-made requests (no sockets)
// over a real in-memory SQLite store filled through its public API.
namespace meterbridge::app {
namespace {

constexpr std::string_view kToken = "ops-s3cret";

Instant at(std::string_view text) { return parse_iso8601(text).value(); }

Json json_of(const net::HttpResponse& response) {
    auto parsed = parse_exact_json(response.body);
    EXPECT_TRUE(parsed.ok()) << response.body;
    return parsed.ok() ? *parsed : Json();
}

std::string bill_text(std::string_view id, int version, std::string_view account, std::string_view subtotal) {
    return R"({"id":")" + std::string(id) + R"(","version":)" + std::to_string(version) + R"(,"accountId":")" +
           std::string(account) + R"(","status":"APPROVED","currency":"USD","lineItems":[{"lineItemType":"USAGE",)" +
           R"("productId":"prod-1","subtotal":)" + std::string(subtotal) + "}]}";
}

class OpsApiTest : public ::testing::Test {
protected:
    OpsApiTest() {
        policy.mode = SlotPolicy::Mode::Eager;
        policy.flush_delay = seconds{0};
        config.ops.token = Secret(std::string(kToken), "literal");
        IntegrationConfig integration;
        integration.id = "int-1";
        integration.name = "Azure";
        config.rules.integrations.push_back(integration);
        ExternalMapping account;
        account.id = "cfg-0";
        account.m3ter_entity = MappingEntity::Account;
        account.m3ter_id = "acc-1";
        account.external_table = ExternalTable::Subscription;
        account.external_id = "sub-1";
        config.rules.external_mappings.push_back(account);
        clock.set(at("2026-01-01T08:00:00Z"));
    }

    // Routes are added once the test has shaped the config.
    void start() {
        context = std::make_unique<OpsContext>(OpsContext{config.ops, config.testing, config.rules, policy, *store, clock,
                                                          [this] { ++wakes; }, [this] { return azure_status; }, nullptr,
                                                          nullptr, {}, {}, {}, {}});
        if (with_reconciliation) {
            context->reconciliations = store.get();
            context->reconciliation_sources = {recon::Source::UsageEvents};
            context->start_reconciliation = [this](recon::Day from, recon::Day to, std::vector<recon::Source> sources)
                -> Result<std::int64_t> {
                asked.push_back({from, to, sources});
                std::vector<std::string> names;
                for (const auto source : sources) names.emplace_back(recon::to_string(source));
                return store->create_reconciliation(from, to, names, "api", clock.now());
            };
        }
        add_ops_routes(router, *context);
    }

    net::HttpResponse call(std::string method, std::string target, std::string body = {},
                           std::optional<std::string> token = std::string(kToken),
                           std::string content_type = "application/json") {
        const std::string sent_type = body.empty() ? std::string() : content_type;
        return dispatch_request(router, std::move(method), std::move(target), std::move(body), token, sent_type);
    }

    // ---- filling the store as the intake and the scheduler would

    std::int64_t deliver(const std::string& text, Instant received) {
        store::Delivery delivery;
        delivery.body = text;
        delivery.headers = {{"Content-Type", "application/json"}};
        delivery.remote_addr = "127.0.0.1";
        delivery.received_at = received;
        delivery.kind = BillEventKind::Updated;
        const Json json = parse_exact_json(text).value();
        delivery.bill = parse_bill(json).value();
        delivery.bill_json = dump_exact(json);
        auto receipt = store->record_delivery(delivery);
        EXPECT_TRUE(receipt.ok()) << (receipt.ok() ? "" : receipt.error().message);
        EXPECT_EQ(receipt->result, store::DeliveryResult::New);
        return receipt->bill_version_id;
    }

    void set_target(const std::string& bill, const std::string& resource, const std::string& dimension,
                    std::int64_t units, Instant now) {
        const std::vector<UsageTarget> targets{
            UsageTarget{"int-1", bill, resource, "plan-a", dimension, units, Decimal::parse("1.00").value()}};
        auto plan = store->recalculate("int-1", bill, targets, now, policy);
        ASSERT_TRUE(plan.ok()) << plan.error().message;
    }

    std::int64_t record_run(std::int64_t version_id, Instant now) {
        store::IntegrationRunRecord run;
        run.bill_version_id = version_id;
        run.integration_id = "int-1";
        run.config_snapshot = R"({"id":"int-1","unit_price":0.01})";
        run.started_at = now;
        run.finished_at = now;
        auto id = store->record_integration_run(run);
        EXPECT_TRUE(id.ok()) << (id.ok() ? "" : id.error().message);
        return id.ok() ? *id : 0;
    }

    std::vector<std::int64_t> slot(Instant now) {
        auto ids = store->plan_slots(now, policy);
        EXPECT_TRUE(ids.ok()) << (ids.ok() ? "" : ids.error().message);
        return ids.ok() ? *ids : std::vector<std::int64_t>{};
    }

    void settle(std::int64_t id, EventDecision decision, Instant now) {
        const std::vector<std::int64_t> ids{id};
        ASSERT_TRUE(store->mark_sending(ids, now).ok());
        const auto settled = store->settle(id, decision, now, policy);
        ASSERT_TRUE(settled.ok()) << settled.error().message;
    }

    void accept(std::int64_t id, Instant now) {
        EventDecision decision;
        decision.kind = EventDecision::Kind::Accept;
        decision.usage_event_id = "usage-" + std::to_string(id);
        decision.message_time = format_iso8601(now);
        settle(id, decision, now);
    }

    void reject(std::int64_t id, Instant now) {
        EventDecision decision;
        decision.kind = EventDecision::Kind::Reject;
        decision.error_code = "ResourceNotFound";
        decision.error_message = "the subscription is unknown";
        settle(id, decision, now);
    }

    // bill-1 (acc-1): 400 units accepted in slot 08:00, then version 2 lowers
    //   the target to 300, leaving 100 over-reported.
    // bill-2 (acc-2): 50 units rejected in slot 08:00.
    // bill-3 (acc-1): 25 units accepted in slot 09:00 on the same key as bill-1.
    void populate() {
        const Instant t1 = at("2026-01-01T08:10:00Z");
        version_1 = deliver(bill_text("bill-1", 1, "acc-1", "4.00"), t1);
        set_target("bill-1", "sub-1", "storage", 400, t1);
        run_1 = record_run(version_1, t1);
        const std::int64_t version_2_of_bill_2 = deliver(bill_text("bill-2", 1, "acc-2", "0.50"), t1);
        set_target("bill-2", "sub-2", "compute", 50, t1);
        record_run(version_2_of_bill_2, t1);
        const auto first = slot(at("2026-01-01T08:20:00Z"));
        ASSERT_EQ(first.size(), 2u);
        for (const auto id : first) {
            const auto event = store->event(id);
            ASSERT_TRUE(event.ok());
            if (event->request.resource_id == "sub-1") {
                accepted_event = id;
                accept(id, at("2026-01-01T08:21:00Z"));
            } else {
                rejected_event = id;
                reject(id, at("2026-01-01T08:21:00Z"));
            }
        }

        const Instant t2 = at("2026-01-01T09:10:00Z");
        deliver(bill_text("bill-3", 1, "acc-1", "0.25"), t2);
        set_target("bill-3", "sub-1", "storage", 25, t2);
        const auto second = slot(at("2026-01-01T09:15:00Z"));
        ASSERT_EQ(second.size(), 1u);
        accept(second[0], at("2026-01-01T09:16:00Z"));

        const Instant t3 = at("2026-01-01T09:30:00Z");
        deliver(bill_text("bill-1", 2, "acc-1", "3.00"), t3);
        set_target("bill-1", "sub-1", "storage", 300, t3);
        clock.set(at("2026-01-01T09:40:00Z"));
    }

    // The config sections the ops routes read.
    struct {
        OpsConfig ops;
        TestingConfig testing;
        IntegrationRules rules;
    } config;
    std::unique_ptr<store::Store> store = store::open_sqlite_store(":memory:");
    net::SettableClock clock;
    SlotPolicy policy;
    int wakes = 0;
    bool with_reconciliation = false;
    struct Asked {
        recon::Day from, to;
        std::vector<recon::Source> sources;
    };
    std::vector<Asked> asked;  // runs asked of the reconciliation service
    Status azure_status = Ok{};
    std::unique_ptr<OpsContext> context;
    net::Router router;

    std::int64_t version_1 = 0;
    std::int64_t run_1 = 0;
    std::int64_t accepted_event = 0;
    std::int64_t rejected_event = 0;
};

// ------------------------------------------------------------------ token

TEST_F(OpsApiTest, OpsEndpointsNeedTheBearerToken) {
    start();
    const auto missing = call("GET", "/reportedusage", {}, std::nullopt);
    EXPECT_EQ(missing.status, 401);
    EXPECT_EQ(missing.headers.get("WWW-Authenticate").value_or(""), "Bearer");
    EXPECT_EQ(json_of(missing)["error"]["code"], "unauthorized");
    EXPECT_EQ(json_of(missing)["error"]["field"], "Authorization");

    const auto wrong = call("GET", "/reportedusage", {}, std::string("ops-s3creT"));
    EXPECT_EQ(wrong.status, 401);
    EXPECT_TRUE(wrong.headers.get("WWW-Authenticate").value_or("").starts_with("Bearer"));
    EXPECT_EQ(wrong.body.find(kToken), std::string::npos);
    EXPECT_EQ(call("GET", "/reportedusage", {}, std::string("ops-s3cret-and-more")).status, 401);
    EXPECT_EQ(call("POST", "/mappings", "{}", std::nullopt).status, 401);
    EXPECT_EQ(call("DELETE", "/mappings/1", {}, std::nullopt).status, 401);

    EXPECT_EQ(call("GET", "/reportedusage").status, 200);
    EXPECT_EQ(call("GET", "/events").status, 200);
}

TEST_F(OpsApiTest, HealthReadinessAndMetricsNeedNoToken) {
    start();
    const auto health = call("GET", "/healthz", {}, std::nullopt);
    EXPECT_EQ(health.status, 200);
    EXPECT_EQ(json_of(health), Json({{"status", "ok"}}));
    EXPECT_EQ(call("GET", "/readyz", {}, std::nullopt).status, 200);
    EXPECT_EQ(call("GET", "/metrics", {}, std::nullopt).status, 200);
}

TEST_F(OpsApiTest, WithoutAConfiguredTokenEverythingIsOpen) {
    config.ops.token.reset();
    start();
    EXPECT_EQ(call("GET", "/reportedusage", {}, std::nullopt).status, 200);
    EXPECT_EQ(call("GET", "/mappings", {}, std::nullopt).status, 200);
}

TEST(OpsAuth, ComparesSchemeCaseInsensitivelyAndTheTokenExactly) {
    net::HttpRequest request;
    request.headers.set("Authorization", "bearer   abc ");
    EXPECT_TRUE(bearer_token_matches(request, "abc"));
    EXPECT_FALSE(bearer_token_matches(request, "abd"));
    EXPECT_FALSE(bearer_token_matches(request, "ab"));
    request.headers.set("Authorization", "Basic abc");
    EXPECT_FALSE(bearer_token_matches(request, "abc"));
    request.headers.set("Authorization", "Bearerabc");
    EXPECT_FALSE(bearer_token_matches(request, "abc"));
    EXPECT_TRUE(bearer_token_matches(request, ""));
}

// ------------------------------------------------------------------ reportedusage

TEST_F(OpsApiTest, ReportedUsageHasMtersShape) {
    populate();
    start();
    const auto response = call("GET", "/reportedusage?billId=bill-1");
    ASSERT_EQ(response.status, 200) << response.body;
    const Json expected = {
        {"data",
         {{{"accountId", "acc-1"},
           {"billId", "bill-1"},
           {"externalSystem", "Azure"},
           {"integrationId", "int-1"},
           {"resourceId", "sub-1"},
           {"reportedUsage", {{"storage", {{"2026-01-01T08:00:00Z", 400}}}}}}}},
        {"nextToken", nullptr}};
    EXPECT_EQ(json_of(response), expected);
    // Units are plain JSON integers, the hour keys m3ter's "YYYY-MM-DDTHH:MM:SSZ".
    EXPECT_NE(response.body.find(R"("2026-01-01T08:00:00Z":400)"), std::string::npos) << response.body;
}

TEST_F(OpsApiTest, ReportedUsageShowsOnlyAcceptedUnitsAndFilters) {
    populate();
    start();
    const Json all = json_of(call("GET", "/reportedusage"));
    ASSERT_EQ(all["data"].size(), 2u) << all.dump();  // bill-2 was rejected: nothing reported
    for (const auto& entry : all["data"]) EXPECT_NE(entry["billId"], "bill-2");

    EXPECT_EQ(json_of(call("GET", "/reportedusage?accountId=acc-2"))["data"].size(), 0u);
    EXPECT_EQ(json_of(call("GET", "/reportedusage?accountId=acc-1"))["data"].size(), 2u);

    const Json later = json_of(call("GET", "/reportedusage?from=2026-01-01T09:00:00Z"));
    ASSERT_EQ(later["data"].size(), 1u);
    EXPECT_EQ(later["data"][0]["billId"], "bill-3");
    EXPECT_EQ(later["data"][0]["reportedUsage"], Json({{"storage", {{"2026-01-01T09:00:00Z", 25}}}}));

    const Json earlier = json_of(call("GET", "/reportedusage?to=2026-01-01T09:00:00Z"));
    ASSERT_EQ(earlier["data"].size(), 1u);
    EXPECT_EQ(earlier["data"][0]["billId"], "bill-1");
}

TEST_F(OpsApiTest, ReportedUsagePagesWithNextToken) {
    populate();
    start();
    const Json first = json_of(call("GET", "/reportedusage?pageSize=1"));
    ASSERT_EQ(first["data"].size(), 1u);
    ASSERT_TRUE(first["nextToken"].is_string()) << first.dump();
    const Json second =
        json_of(call("GET", "/reportedusage?pageSize=1&nextToken=" + net::form_encode(first["nextToken"].get<std::string>())));
    ASSERT_EQ(second["data"].size(), 1u) << second.dump();
    EXPECT_NE(second["data"][0]["billId"], first["data"][0]["billId"]);
    EXPECT_TRUE(second["nextToken"].is_null()) << second.dump();
}

TEST_F(OpsApiTest, ReportedUsageRejectsBadParametersByName) {
    start();
    for (const auto& [query, field] : std::vector<std::pair<std::string, std::string>>{
             {"from=yesterday", "from"},
             {"to=2026-13-01T00:00:00Z", "to"},
             {"from=2026-01-02T00:00:00Z&to=2026-01-01T00:00:00Z", "to"},
             {"pageSize=0", "pageSize"},
             {"pageSize=1001", "pageSize"},
             {"pageSize=ten", "pageSize"},
             {"nextToken=not-ours", "nextToken"}}) {
        const auto response = call("GET", "/reportedusage?" + query);
        EXPECT_EQ(response.status, 400) << query << " " << response.body;
        EXPECT_EQ(json_of(response)["error"]["field"], field) << query;
    }
}

// ------------------------------------------------------------------ bills

TEST_F(OpsApiTest, BillDetailShowsVersionsUnitsErrorsAndRuns) {
    populate();
    start();
    const auto response = call("GET", "/bills/bill-1");
    ASSERT_EQ(response.status, 200) << response.body;
    const Json bill = json_of(response);
    EXPECT_EQ(bill["billId"], "bill-1");
    EXPECT_EQ(bill["accountId"], "acc-1");
    ASSERT_EQ(bill["versions"].size(), 2u);
    EXPECT_EQ(bill["versions"][0]["version"], 1);
    EXPECT_EQ(bill["versions"][0]["receivedAt"], "2026-01-01T08:10:00Z");
    EXPECT_EQ(bill["versions"][0]["status"], "APPROVED");
    EXPECT_EQ(bill["versions"][1]["version"], 2);
    EXPECT_EQ(bill["versions"][1]["current"], true);
    EXPECT_EQ(bill["versions"][1]["bill"]["lineItems"][0]["subtotal"].is_binary(), true);  // exact amount kept
    ASSERT_EQ(bill["keys"].size(), 1u);
    const Json& key = bill["keys"][0];
    EXPECT_EQ(key["resourceId"], "sub-1");
    EXPECT_EQ(key["dimension"], "storage");
    EXPECT_EQ(key["target"], 300);
    EXPECT_EQ(key["accepted"], 400);
    EXPECT_EQ(key["overReported"], 100);
    EXPECT_EQ(key["pending"], 0);
    EXPECT_EQ(key["inFlight"], 0);
    ASSERT_GE(bill["runs"].size(), 1u);
    EXPECT_EQ(bill["runs"][0]["integrationId"], "int-1");
    EXPECT_NE(response.body.find(R"("subtotal":3.00)"), std::string::npos) << response.body;

    const Json rejected = json_of(call("GET", "/bills/bill-2"));
    ASSERT_EQ(rejected["errors"].size(), 1u) << rejected.dump();
    EXPECT_EQ(rejected["errors"][0]["eventId"], rejected_event);
    EXPECT_EQ(rejected["errors"][0]["errorCode"], "ResourceNotFound");
    EXPECT_EQ(rejected["errors"][0]["effectiveStartTime"], "2026-01-01T08:00:00Z");
    EXPECT_EQ(rejected["keys"][0]["rejected"], 50);
}

TEST_F(OpsApiTest, UnknownBillsAnswer404) {
    start();
    const auto response = call("GET", "/bills/nope");
    EXPECT_EQ(response.status, 404);
    EXPECT_EQ(json_of(response)["error"]["code"], "not_found");
    EXPECT_EQ(call("POST", "/bills/nope/reprocess").status, 404);
    EXPECT_EQ(wakes, 0);
}

TEST_F(OpsApiTest, ReprocessMarksTheCurrentVersionAndWakesTheScheduler) {
    populate();
    start();
    const auto response = call("POST", "/bills/bill-1/reprocess");
    ASSERT_EQ(response.status, 202) << response.body;
    EXPECT_EQ(json_of(response)["version"], 2);
    EXPECT_EQ(json_of(response)["billId"], "bill-1");
    EXPECT_EQ(wakes, 1);
    const auto pending = store->pending_bill_versions();
    ASSERT_TRUE(pending.ok());
    bool found = false;
    for (const auto& version : *pending) found = found || (version.bill_id == "bill-1" && version.version == 2);
    EXPECT_TRUE(found);
}

// ------------------------------------------------------------------ integration runs

TEST_F(OpsApiTest, IntegrationRunsListAndDetailWithEveryExchange) {
    populate();
    ExchangeRecord exchange;
    exchange.kind = ExchangeKind::Azure;
    exchange.method = "POST";
    exchange.url = "https://marketplaceapi.microsoft.com/api/batchUsageEvent?api-version=2018-08-31";
    exchange.request_headers = {{"x-ms-requestid", "req-1"}, {"Authorization", "***"}};
    exchange.request_body = R"({"request":[]})";
    exchange.status = 200;
    exchange.response_body = R"({"result":[],"count":0})";
    exchange.request_id = "req-1";
    exchange.correlation_id = "corr-1";
    exchange.started = at("2026-01-01T08:21:00Z");
    exchange.duration = Duration{42};
    store::ExchangeLinks links;
    links.run_ids = {run_1};
    ASSERT_TRUE(store->append_exchange(exchange, links).ok());
    start();

    const Json runs = json_of(call("GET", "/integrationruns?billId=bill-1"));
    ASSERT_EQ(runs["data"].size(), 1u) << runs.dump();
    EXPECT_EQ(runs["data"][0]["id"], run_1);
    EXPECT_EQ(json_of(call("GET", "/integrationruns?accountId=acc-2"))["data"].size(), 1u);
    EXPECT_EQ(json_of(call("GET", "/integrationruns?from=2026-01-01T09:00:00Z"))["data"].size(), 0u);
    EXPECT_EQ(json_of(call("GET", "/integrationruns?from=soon")).at("error").at("field"), "from");

    const auto response = call("GET", "/integrationruns/" + std::to_string(run_1));
    ASSERT_EQ(response.status, 200) << response.body;
    const Json detail = json_of(response);
    EXPECT_EQ(detail["run"]["billId"], "bill-1");
    EXPECT_EQ(detail["run"]["config"]["id"], "int-1");  // the snapshot as JSON, not a string
    EXPECT_NE(response.body.find(R"("unit_price":0.01)"), std::string::npos);
    EXPECT_EQ(detail["delivery"]["bodyRetained"], true);
    EXPECT_EQ(detail["delivery"]["body"], bill_text("bill-1", 1, "acc-1", "4.00"));
    ASSERT_GE(detail["exchanges"].size(), 1u);
    const Json& logged = detail["exchanges"][0];
    EXPECT_EQ(logged["method"], "POST");
    EXPECT_EQ(logged["url"], exchange.url);
    EXPECT_EQ(logged["status"], 200);
    EXPECT_EQ(logged["requestId"], "req-1");
    EXPECT_EQ(logged["correlationId"], "corr-1");
    EXPECT_EQ(logged["durationMs"], 42);
    EXPECT_EQ(logged["requestBody"], R"({"request":[]})");
    EXPECT_EQ(logged["requestHeaders"][0], Json::array({"x-ms-requestid", "req-1"}));

    EXPECT_EQ(call("GET", "/integrationruns/999999").status, 404);
    EXPECT_EQ(call("GET", "/integrationruns/abc").status, 404);
}

// ------------------------------------------------------------------ events

TEST_F(OpsApiTest, EventsListWithSharesAndFilters) {
    populate();
    start();
    const Json all = json_of(call("GET", "/events"));
    ASSERT_EQ(all["data"].size(), 3u) << all.dump();
    const Json rejected = json_of(call("GET", "/events?status=rejected"));
    ASSERT_EQ(rejected["data"].size(), 1u);
    const Json& event = rejected["data"][0];
    EXPECT_EQ(event["id"], rejected_event);
    EXPECT_EQ(event["state"], "rejected");
    EXPECT_EQ(event["quantity"], 50);
    EXPECT_EQ(event["errorCode"], "ResourceNotFound");
    ASSERT_EQ(event["shares"].size(), 1u);
    EXPECT_EQ(event["shares"][0]["billId"], "bill-2");
    EXPECT_EQ(event["shares"][0]["units"], 50);

    EXPECT_EQ(json_of(call("GET", "/events?status=accepted&from=2026-01-01T09:00:00Z"))["data"].size(), 1u);
    const Json page = json_of(call("GET", "/events?limit=2"));
    ASSERT_EQ(page["data"].size(), 2u);
    ASSERT_TRUE(page["nextAfterId"].is_number_integer());
    const Json rest = json_of(call("GET", "/events?limit=2&afterId=" + page["nextAfterId"].dump()));
    EXPECT_EQ(rest["data"].size(), 1u);

    EXPECT_EQ(json_of(call("GET", "/events?status=lost"))["error"]["field"], "status");
    EXPECT_EQ(json_of(call("GET", "/events?limit=0"))["error"]["field"], "limit");
    EXPECT_EQ(json_of(call("GET", "/events?afterId=-1"))["error"]["field"], "afterId");
}

TEST_F(OpsApiTest, RetryRequeuesARejectedEventOnly) {
    populate();
    start();
    const auto retried = call("POST", "/events/" + std::to_string(rejected_event) + "/retry");
    ASSERT_EQ(retried.status, 202) << retried.body;
    EXPECT_EQ(json_of(retried)["state"], "requeued");
    EXPECT_EQ(wakes, 1);
    const auto metrics = store->metrics();
    ASSERT_TRUE(metrics.ok());
    EXPECT_EQ(metrics->pending_units, 50);  // the units wait for a slot again

    const auto again = call("POST", "/events/" + std::to_string(rejected_event) + "/retry");
    EXPECT_EQ(again.status, 409);
    EXPECT_EQ(json_of(again)["error"]["code"], "invalid_state");
    EXPECT_EQ(call("POST", "/events/" + std::to_string(accepted_event) + "/retry").status, 409);
    EXPECT_EQ(call("POST", "/events/999999/retry").status, 404);
    EXPECT_EQ(call("POST", "/events/x/retry").status, 404);
    EXPECT_EQ(call("GET", "/events/1/retry").status, 405);
    EXPECT_EQ(wakes, 1);
}

// ------------------------------------------------------------------ mappings

constexpr std::string_view kProductMapping =
    R"({"m3ter_entity":"Product","m3ter_id":"prod-1","external_system":"AzureMarketplace",)"
    R"("external_table":"Dimension","external_id":"storage","integration_id":"int-1"})";

TEST_F(OpsApiTest, MappingsCreateListDelete) {
    start();
    const Json before = json_of(call("GET", "/mappings"));
    ASSERT_EQ(before["data"].size(), 1u);
    EXPECT_EQ(before["data"][0]["id"], "cfg-0");
    EXPECT_EQ(before["data"][0]["source"], "config");
    EXPECT_EQ(before["data"][0]["m3ter_id"], "acc-1");

    const auto created = call("POST", "/mappings", std::string(kProductMapping));
    ASSERT_EQ(created.status, 201) << created.body;
    const Json mapping = json_of(created);
    ASSERT_TRUE(mapping["id"].is_string());
    const std::string id = mapping["id"];
    EXPECT_EQ(mapping["external_id"], "storage");
    EXPECT_EQ(mapping["source"], "api");
    EXPECT_EQ(created.headers.get("Location").value_or(""), "/mappings/" + id);

    const Json after = json_of(call("GET", "/mappings"));
    ASSERT_EQ(after["data"].size(), 2u);
    EXPECT_EQ(after["data"][1]["id"], id);
    EXPECT_EQ(after["data"][1]["source"], "api");

    const auto duplicate = call("POST", "/mappings", std::string(kProductMapping));
    EXPECT_EQ(duplicate.status, 409);
    EXPECT_EQ(json_of(duplicate)["error"]["code"], "duplicate_mapping");

    EXPECT_EQ(call("DELETE", "/mappings/" + id).status, 204);
    EXPECT_EQ(json_of(call("GET", "/mappings"))["data"].size(), 1u);
    EXPECT_EQ(call("DELETE", "/mappings/" + id).status, 404);
}

TEST_F(OpsApiTest, MappingsRefuseBadBodiesNamingTheField) {
    start();
    const auto form = call("POST", "/mappings", std::string(kProductMapping), std::string(kToken),
                           "application/x-www-form-urlencoded");
    EXPECT_EQ(form.status, 415);

    const auto entity = call("POST", "/mappings",
                             R"({"m3ter_entity":"Plan","m3ter_id":"x","external_system":"AzureMarketplace",)"
                             R"("external_table":"Dimension","external_id":"d"})");
    EXPECT_EQ(entity.status, 400);
    EXPECT_EQ(json_of(entity)["error"]["field"], "m3ter_entity");

    const auto missing = call("POST", "/mappings",
                              R"({"m3ter_entity":"Product","m3ter_id":"p","external_system":"AzureMarketplace",)"
                              R"("external_table":"Dimension"})");
    EXPECT_EQ(missing.status, 400);
    EXPECT_EQ(json_of(missing)["error"]["field"], "external_id");

    Json unknown_integration = parse_exact_json(kProductMapping).value();
    unknown_integration["integration_id"] = "int-9";
    const auto integration = call("POST", "/mappings", unknown_integration.dump());
    EXPECT_EQ(integration.status, 400);
    EXPECT_EQ(json_of(integration)["error"]["field"], "integration_id");

    EXPECT_EQ(call("POST", "/mappings", "{not json").status, 400);
    EXPECT_EQ(call("POST", "/mappings", "[]").status, 400);
    EXPECT_EQ(json_of(call("GET", "/mappings"))["data"].size(), 1u);  // nothing was stored
}

TEST_F(OpsApiTest, ConfigMappingsCannotBeDuplicatedOrDeleted) {
    start();
    const auto duplicate = call("POST", "/mappings",
                                R"({"m3ter_entity":"Account","m3ter_id":"acc-1","external_system":"AzureMarketplace",)"
                                R"("external_table":"Subscription","external_id":"sub-9"})");
    EXPECT_EQ(duplicate.status, 409);
    EXPECT_EQ(json_of(duplicate)["error"]["code"], "duplicate_mapping");

    const auto removal = call("DELETE", "/mappings/cfg-0");
    EXPECT_EQ(removal.status, 409);
    EXPECT_EQ(json_of(removal)["error"]["code"], "config_mapping");
    EXPECT_NE(json_of(removal)["error"]["message"].get<std::string>().find("config file"), std::string::npos);
    EXPECT_EQ(call("DELETE", "/mappings/42").status, 404);
}

// ------------------------------------------------------------------ health and metrics

TEST_F(OpsApiTest, ReadinessReportsTheFailingDependency) {
    azure_status = make_error("token_rejected", "Entra said invalid_client");
    start();
    const auto response = call("GET", "/readyz", {}, std::nullopt);
    EXPECT_EQ(response.status, 503);
    EXPECT_EQ(json_of(response)["error"]["field"], "azure");
    EXPECT_NE(json_of(response)["error"]["message"].get<std::string>().find("invalid_client"), std::string::npos);
    azure_status = Ok{};
    EXPECT_EQ(call("GET", "/readyz", {}, std::nullopt).status, 200);
}

TEST_F(OpsApiTest, MetricsExposeTheLedgerInPrometheusText) {
    populate();
    ExchangeRecord exchange;
    exchange.kind = ExchangeKind::Azure;
    exchange.method = "POST";
    exchange.url = "https://marketplaceapi.microsoft.com/api/batchUsageEvent";
    exchange.status = 429;
    exchange.started = at("2026-01-01T08:21:00Z");
    ASSERT_TRUE(store->append_exchange(exchange, {}).ok());
    // One pending entry, queued at 09:40 by the retry; the clock then moves on 5 minutes.
    start();
    ASSERT_EQ(call("POST", "/events/" + std::to_string(rejected_event) + "/retry").status, 202);
    clock.set(at("2026-01-01T09:45:00Z"));

    const auto response = call("GET", "/metrics", {}, std::nullopt);
    ASSERT_EQ(response.status, 200);
    EXPECT_EQ(response.headers.get("Content-Type").value_or(""), "text/plain; version=0.0.4; charset=utf-8");
    const std::string& text = response.body;
    for (const std::string line : {
             "# TYPE meterbridge_deliveries_total counter",
             "meterbridge_deliveries_total{result=\"new\"} 4",
             "meterbridge_deliveries_total{result=\"repeat\"} 0",
             "# TYPE meterbridge_events gauge",
             "meterbridge_events{state=\"accepted\"} 2",
             "meterbridge_events{state=\"requeued\"} 1",
             "meterbridge_events{state=\"rejected\"} 0",
             "meterbridge_event_units{state=\"accepted\"} 425",
             "meterbridge_event_units{state=\"rejected\"} 0",
             "meterbridge_event_units{state=\"sending\"} 0",
             "meterbridge_events_maybe_held 0",
             "meterbridge_pending_units 50",
             "meterbridge_over_reported_units 100",
             "meterbridge_azure_http_responses{code=\"429\"} 1",
             "# TYPE meterbridge_token_refreshes_total counter",
             "meterbridge_token_refreshes_total 0",
             "# HELP meterbridge_unprocessed_bill_versions ",
         }) {
        EXPECT_NE(text.find(line + (line.starts_with("#") ? "" : "\n")), std::string::npos) << line << "\n" << text;
    }
    EXPECT_NE(text.find("meterbridge_oldest_pending_age_seconds "), std::string::npos);
    for (std::size_t start = 0; start < text.size();) {
        const auto end = text.find('\n', start);
        ASSERT_NE(end, std::string::npos) << "the text must end with a newline";
        const std::string line = text.substr(start, end - start);
        EXPECT_TRUE(line.starts_with("# HELP meterbridge_") || line.starts_with("# TYPE meterbridge_") ||
                    line.starts_with("meterbridge_"))
            << line;
        start = end + 1;
    }
}

// Held line items of current bill versions (count and exact amount per
// integration, reason and currency) and skipped runs (issue 14).
TEST_F(OpsApiTest, MetricsShowHeldLineItemsOfCurrentVersionsAndSkippedRuns) {
    const Instant t1 = at("2026-01-01T08:10:00Z");
    const auto held = [](std::string integration, int index, HoldReason reason, std::string amount) {
        return HeldLineItem{std::move(integration), "", index, "li-" + std::to_string(index), reason, "why",
                            Decimal::parse(amount).value()};
    };
    const auto run = [&](std::int64_t version, std::string integration, std::vector<HeldLineItem> items,
                         SkipReason skipped = SkipReason::None) {
        store::IntegrationRunRecord r;
        r.bill_version_id = version;
        r.integration_id = std::move(integration);
        r.config_snapshot = "{}";
        r.skipped = skipped;
        r.held = std::move(items);
        r.started_at = r.finished_at = t1;
        ASSERT_TRUE(store->record_integration_run(r).ok());
    };
    // bill-1 v1 held two items; v2 (current) holds one credit: only v2 counts.
    const auto v1 = deliver(bill_text("bill-1", 1, "acc-1", "4.00"), t1);
    run(v1, "int-1", {held("int-1", 0, HoldReason::UnmappedProduct, "4.00"), held("int-1", 1, HoldReason::NoGroup, "-1")});
    const auto v2 = deliver(bill_text("bill-1", 2, "acc-1", "3.00"), t1);
    run(v2, "int-1", {held("int-1", 1, HoldReason::NoGroup, "-1.25")});
    // bill-2: the same reason, amounts add up; bill-3 in EUR is held as such.
    const auto b2 = deliver(bill_text("bill-2", 1, "acc-2", "0.50"), t1);
    run(b2, "int-1", {held("int-1", 2, HoldReason::NoGroup, "-0.005")});
    run(b2, "int-2", {held("int-2", -1, HoldReason::InvalidResourceId, "0")}, SkipReason::None);
    const auto b3 = deliver(R"({"id":"bill-3","version":1,"accountId":"acc-1","status":"APPROVED","currency":"EUR",)"
                            R"("lineItems":[{"lineItemType":"USAGE","subtotal":7.5},{"lineItemType":"USAGE","subtotal":1}]})",
                            t1);
    run(b3, "int-1", {held("int-1", 0, HoldReason::WrongCurrency, "7.5"), held("int-1", 1, HoldReason::WrongCurrency, "1")});
    run(b3, "int-3", {}, SkipReason::AccountNotAllowed);
    run(b2, "int-3", {}, SkipReason::AccountNotAllowed);
    run(v2, "int-4", {}, SkipReason::AwaitingApproval);
    start();

    const std::string text = call("GET", "/metrics", {}, std::nullopt).body;
    for (const std::string line : {
             "# TYPE meterbridge_held_line_items gauge",
             R"(meterbridge_held_line_items{integration="int-1",reason="no_product_or_aggregation"} 2)",
             R"(meterbridge_held_line_items{integration="int-1",reason="wrong_currency"} 2)",
             R"(meterbridge_held_line_items{integration="int-2",reason="invalid_resource_id"} 0)",
             "# TYPE meterbridge_held_amount gauge",
             R"(meterbridge_held_amount{integration="int-1",reason="no_product_or_aggregation",currency="USD"} -1.255)",
             R"(meterbridge_held_amount{integration="int-1",reason="wrong_currency",currency="EUR"} 8.5)",
             R"(meterbridge_held_amount{integration="int-2",reason="invalid_resource_id",currency="USD"} 0)",
             "# TYPE meterbridge_integration_runs_skipped_total counter",
             R"(meterbridge_integration_runs_skipped_total{integration="int-3",reason="account_not_in_account_ids"} 2)",
             R"(meterbridge_integration_runs_skipped_total{integration="int-4",reason="awaiting_approval"} 1)",
         }) {
        EXPECT_NE(text.find(line + (line.starts_with("#") ? "" : "\n")), std::string::npos) << line << "\n" << text;
    }
    EXPECT_EQ(text.find("unmapped_product"), std::string::npos) << "v1 is no longer current\n" << text;

    // /bills/{id}: the held items of the current version and their totals.
    const auto response = call("GET", "/bills/bill-1");
    const Json bill = json_of(response);
    ASSERT_EQ(bill["held"].size(), 1u) << response.body;
    ASSERT_EQ(bill["heldTotals"].size(), 1u) << response.body;
    EXPECT_EQ(bill["heldTotals"][0]["integrationId"], "int-1");
    EXPECT_EQ(bill["heldTotals"][0]["reason"], "no_product_or_aggregation");
    EXPECT_EQ(bill["heldTotals"][0]["lineItems"], 1);
    EXPECT_EQ(bill["heldTotals"][0]["currency"], "USD");
    EXPECT_NE(response.body.find(R"("heldTotals":[{"amount":-1.25,)"), std::string::npos) << response.body;
    const Json euro = json_of(call("GET", "/bills/bill-3"));
    EXPECT_EQ(euro["heldTotals"][0]["currency"], "EUR");
    EXPECT_EQ(euro["heldTotals"][0]["lineItems"], 2);
}

TEST(MetricsText, HeldAmountsAreExactAndLineItemsAddUpOverCurrencies) {
    store::StoreMetrics metrics;
    metrics.held.push_back({"EUR", HeldTotal{"int-1", HoldReason::WrongCurrency, 2, Decimal::parse("0.10").value()}});
    metrics.held.push_back({"GBP", HeldTotal{"int-1", HoldReason::WrongCurrency, 3, Decimal::parse("-7").value()}});
    metrics.held.push_back({"USD", HeldTotal{"int-1", HoldReason::AmountOverflow, 1, Decimal{}, true}});
    const std::string text = render_metrics(metrics, {}, at("2026-01-01T09:05:30Z"));
    EXPECT_NE(text.find(R"(meterbridge_held_line_items{integration="int-1",reason="wrong_currency"} 5)" "\n"),
              std::string::npos)
        << text;
    EXPECT_NE(text.find(R"(meterbridge_held_amount{integration="int-1",reason="wrong_currency",currency="EUR"} 0.1)" "\n"),
              std::string::npos)
        << text;
    EXPECT_NE(text.find(R"(meterbridge_held_amount{integration="int-1",reason="wrong_currency",currency="GBP"} -7)" "\n"),
              std::string::npos)
        << text;
    EXPECT_NE(text.find(R"(meterbridge_held_amount{integration="int-1",reason="amount_overflow",currency="USD"} NaN)" "\n"),
              std::string::npos)
        << text;
    // The families are there when nothing is held or skipped.
    const std::string empty = render_metrics({}, {}, at("2026-01-01T09:05:30Z"));
    for (const char* family : {"meterbridge_held_line_items gauge", "meterbridge_held_amount gauge",
                               "meterbridge_integration_runs_skipped_total counter"}) {
        EXPECT_NE(empty.find(std::string("# TYPE ") + family), std::string::npos) << family;
    }
}

TEST(MetricsText, OldestPendingAgeAndEscaping) {
    store::StoreMetrics metrics;
    metrics.oldest_pending = at("2026-01-01T09:00:00Z");
    metrics.events_by_state["mystery\"state"] = 3;
    const std::string text = render_metrics(metrics, ProcessMetrics{7, std::nullopt}, at("2026-01-01T09:05:30Z"));
    EXPECT_NE(text.find("meterbridge_oldest_pending_age_seconds 330\n"), std::string::npos) << text;
    EXPECT_NE(text.find("meterbridge_token_refreshes_total 7\n"), std::string::npos);
    EXPECT_NE(text.find(R"(meterbridge_events{state="mystery\"state"} 3)"), std::string::npos) << text;
    const std::string empty = render_metrics({}, {}, at("2026-01-01T09:05:30Z"));
    EXPECT_NE(empty.find("meterbridge_oldest_pending_age_seconds 0\n"), std::string::npos);
}

TEST(MetricsText, SendingWindowAndLatencyHistogram) {
    SendingFigures sending;
    sending.limit = 4;
    sending.maximum = 8;
    sending.outstanding = 3;
    sending.latency.observe(std::chrono::milliseconds(4));
    sending.latency.observe(std::chrono::milliseconds(120));
    const std::string text = render_metrics({}, ProcessMetrics{0, sending}, at("2026-01-01T09:05:30Z"));
    for (const char* line : {"meterbridge_send_window_limit 4\n", "meterbridge_send_window_max 8\n",
                             "meterbridge_batches_outstanding 3\n",
                             "meterbridge_send_latency_seconds_bucket{le=\"0.005\"} 1\n",
                             "meterbridge_send_latency_seconds_bucket{le=\"0.1\"} 1\n",
                             "meterbridge_send_latency_seconds_bucket{le=\"0.25\"} 2\n",
                             "meterbridge_send_latency_seconds_bucket{le=\"60\"} 2\n",
                             "meterbridge_send_latency_seconds_bucket{le=\"+Inf\"} 2\n",
                             "meterbridge_send_latency_seconds_sum 0.124\n",
                             "meterbridge_send_latency_seconds_count 2\n", "# TYPE meterbridge_send_latency_seconds histogram"}) {
        EXPECT_NE(text.find(line), std::string::npos) << line << "\n" << text;
    }
    // Without a scheduler the families are there, at zero.
    const std::string empty = render_metrics({}, {}, at("2026-01-01T09:05:30Z"));
    EXPECT_NE(empty.find("meterbridge_send_window_limit 0\n"), std::string::npos);
    EXPECT_NE(empty.find("meterbridge_send_latency_seconds_count 0\n"), std::string::npos);
}

// Issue 18's alerts read these: the age of the latest 2xx metering call (-1:
// none in the log), the scheduler's last pass and the webhook answers by class
// (only when the daemon supplies them).
TEST(MetricsText, AzureSuccessAgeSchedulerPassAgeAndWebhookAnswers) {
    store::StoreMetrics metrics;
    metrics.last_azure_success = at("2026-01-01T09:00:00Z");
    ProcessMetrics process;
    process.scheduler_pass_age_seconds = 4;
    process.webhook_responses = {{"2xx", 10}, {"4xx", 2}, {"5xx", 3}};
    const std::string text = render_metrics(metrics, process, at("2026-01-01T09:05:30Z"));
    for (const char* line : {"meterbridge_azure_last_success_age_seconds 330\n",
                             "# TYPE meterbridge_scheduler_last_pass_age_seconds gauge\n",
                             "meterbridge_scheduler_last_pass_age_seconds 4\n",
                             "# TYPE meterbridge_webhook_responses_total counter\n",
                             "meterbridge_webhook_responses_total{code=\"5xx\"} 3\n",
                             "meterbridge_webhook_responses_total{code=\"2xx\"} 10\n"}) {
        EXPECT_NE(text.find(line), std::string::npos) << line << text;
    }
    const std::string empty = render_metrics({}, {}, at("2026-01-01T09:05:30Z"));
    EXPECT_NE(empty.find("meterbridge_azure_last_success_age_seconds -1\n"), std::string::npos) << empty;
    EXPECT_EQ(empty.find("meterbridge_scheduler_last_pass_age_seconds"), std::string::npos);
    EXPECT_EQ(empty.find("meterbridge_webhook_responses_total"), std::string::npos);
}

// The store finds the latest 2xx metering call; failures and reconciliation reads do not count.
TEST_F(OpsApiTest, MetricsShowTheLatestSuccessfulAzureCall) {
    const auto append = [&](int status, const char* started) {
        ExchangeRecord exchange;
        exchange.kind = ExchangeKind::Azure;
        exchange.method = "POST";
        exchange.url = "https://marketplaceapi.microsoft.com/api/batchUsageEvent";
        exchange.status = status;
        exchange.started = at(started);
        ASSERT_TRUE(store->append_exchange(exchange, {}).ok());
    };
    start();
    EXPECT_NE(call("GET", "/metrics", {}, std::nullopt).body.find("meterbridge_azure_last_success_age_seconds -1\n"),
              std::string::npos);
    append(200, "2026-01-01T08:00:00Z");
    append(503, "2026-01-01T08:30:00Z");
    append(0, "2026-01-01T08:40:00Z");
    clock.set(at("2026-01-01T09:00:00Z"));
    const std::string text = call("GET", "/metrics", {}, std::nullopt).body;
    EXPECT_NE(text.find("meterbridge_azure_last_success_age_seconds 3600\n"), std::string::npos) << text;
}

// ------------------------------------------------------------------ testing clock

TEST_F(OpsApiTest, TestingClockIsAbsentUnlessEnabled) {
    start();
    const auto response = call("PUT", "/testing/clock", R"({"now":"2026-01-01T09:00:05Z"})");
    EXPECT_EQ(response.status, 404);
    EXPECT_EQ(json_of(response)["error"]["code"], "not_found");
    EXPECT_LT(clock.now(), at("2026-01-01T08:01:00Z"));
    EXPECT_EQ(wakes, 0);
}

TEST_F(OpsApiTest, TestingClockSetsNowWhenEnabled) {
    config.testing.clock_control = true;
    start();
    EXPECT_EQ(call("PUT", "/testing/clock", R"({"now":"2026-01-01T09:00:05Z"})", std::nullopt).status, 401);
    for (const std::string body : {R"({"now":"tomorrow"})", R"({"now":5})", R"({})", "nonsense"}) {
        const auto bad = call("PUT", "/testing/clock", body);
        EXPECT_EQ(bad.status, 400) << body;
        EXPECT_EQ(json_of(bad)["error"]["field"], "now") << body;
    }
    EXPECT_EQ(wakes, 0);

    const auto response = call("PUT", "/testing/clock", R"({"now":"2026-01-01T09:00:05Z"})");
    ASSERT_EQ(response.status, 200) << response.body;
    EXPECT_EQ(json_of(response), Json({{"now", "2026-01-01T09:00:05Z"}}));
    EXPECT_GE(clock.now(), at("2026-01-01T09:00:05Z"));
    EXPECT_LT(clock.now(), at("2026-01-01T09:01:05Z"));
    EXPECT_EQ(wakes, 1);
}

// Regression (fuzz/http_fuzzer.cpp): a path that is not UTF-8 (GET /%FF
// decodes to the byte 0xFF) made the 404 answer throw while writing its JSON.
TEST_F(OpsApiTest, AnErrorAnswerQuotingNonUtf8BytesIsStillJson) {
    start();
    const auto missing = call("GET", "/no/such/\xff\xfe");
    EXPECT_EQ(missing.status, 404);
    EXPECT_EQ(json_of(missing)["error"]["code"], "not_found");
    const auto bill = call("GET", "/bills/b-\xc3");  // a truncated two-byte sequence
    EXPECT_EQ(bill.status, 404) << bill.body;
    EXPECT_TRUE(parse_exact_json(bill.body).ok()) << bill.body;
}

// ------------------------------------------------------------ reconciliation (SPEC §8)

TEST_F(OpsApiTest, APostedReconciliationIsQueuedAndItsStoredReportIsServed) {
    with_reconciliation = true;
    start();
    EXPECT_EQ(call("POST", "/reconciliations", R"({"from":"2026-03-01","to":"2026-03-31"})", std::nullopt).status, 401);
    const auto posted = call("POST", "/reconciliations", R"({"from":"2026-03-01","to":"2026-03-31"})");
    ASSERT_EQ(posted.status, 202) << posted.body;
    const auto id = json_of(posted)["id"].get<std::int64_t>();
    ASSERT_EQ(asked.size(), 1U);
    EXPECT_EQ(recon::format_day(asked[0].from), "2026-03-01");
    EXPECT_EQ(asked[0].sources, std::vector<recon::Source>{recon::Source::UsageEvents});

    auto running = json_of(call("GET", "/reconciliations/" + std::to_string(id)));
    EXPECT_EQ(running["status"], "running");
    store::ReconciliationFinish finish;
    finish.report_json = R"({"discrepancies":true,"rows":[{"outcome":"unknown_to_us","azure":4.5}]})";
    finish.totals[recon::Outcome::UnknownToUs] = 1;
    ASSERT_TRUE(store->finish_reconciliation(id, finish, clock.now()).ok());
    const auto done = call("GET", "/reconciliations/" + std::to_string(id));
    ASSERT_EQ(done.status, 200);
    EXPECT_NE(done.body.find(R"("azure":4.5)"), std::string::npos) << done.body;  // exact, as stored
    const auto body = json_of(done);
    EXPECT_EQ(body["status"], "done");
    EXPECT_EQ(body["totals"]["unknown_to_us"], 1);
    EXPECT_EQ(body["discrepancies"], true);
    EXPECT_TRUE(body["exchanges"].is_array());

    const auto list = json_of(call("GET", "/reconciliations?from=2026-03-10&to=2026-03-12"));
    ASSERT_EQ(list["data"].size(), 1U);
    EXPECT_FALSE(list["data"][0].contains("rows"));
    EXPECT_EQ(call("GET", "/reconciliations/999").status, 404);
    const auto metrics = call("GET", "/metrics", {}, std::nullopt).body;
    EXPECT_NE(metrics.find("meterbridge_reconciliation_rows{outcome=\"unknown_to_us\"} 1"), std::string::npos);
}

TEST_F(OpsApiTest, BadReconciliationAndSettlementRequestsNameTheField) {
    with_reconciliation = true;
    start();
    EXPECT_EQ(json_of(call("POST", "/reconciliations", R"({"to":"2026-03-31"})"))["error"]["field"], "from");
    EXPECT_EQ(json_of(call("POST", "/reconciliations", R"({"from":"2026-3-1","to":"2026-03-31"})"))["error"]["field"],
              "from");
    EXPECT_EQ(json_of(call("POST", "/reconciliations", R"({"from":"2026-03-02","to":"2026-03-01"})"))["error"]["field"],
              "from");
    EXPECT_EQ(
        json_of(call("POST", "/reconciliations", R"({"from":"2026-03-01","to":"2026-03-01","sources":["azure"]})"))
            ["error"]["field"],
        "sources");
    EXPECT_EQ(call("POST", "/reconciliations", "from=2026-03-01", std::string(kToken), "text/plain").status, 415);
    EXPECT_TRUE(asked.empty());
    EXPECT_EQ(json_of(call("GET", "/reconciliations?from=March"))["error"]["field"], "from");

    const auto bad_verdict = call("POST", "/events/1/settle", R"({"as":"undecidable"})");
    EXPECT_EQ(bad_verdict.status, 400);
    EXPECT_EQ(json_of(bad_verdict)["error"]["field"], "as");
    EXPECT_EQ(call("POST", "/events/4242/settle", R"({"as":"recorded"})").status, 404);
}

TEST_F(OpsApiTest, WithoutTheReconciliationServiceItsRoutesDoNotExist) {
    start();
    EXPECT_EQ(call("POST", "/reconciliations", R"({"from":"2026-03-01","to":"2026-03-31"})").status, 404);
    EXPECT_EQ(call("POST", "/events/1/settle", R"({"as":"recorded"})").status, 404);
}

// ------------------------------------------------------------------ the console's views (issue 19)

TEST_F(OpsApiTest, OverviewShowsWhatWaitsWhatFailedAndUnitsAcceptedPerHour) {
    populate();
    set_target("bill-4", "sub-4", "compute", 7, at("2026-01-01T09:35:00Z"));  // pending, 5 minutes old
    start();
    const auto response = call("GET", "/overview?hours=3");
    ASSERT_EQ(response.status, 200) << response.body;
    const Json overview = json_of(response);
    // The test clock runs on from 09:40:00 (a slow run under ASan saw 09:40:00.001Z).
    EXPECT_EQ(overview["now"].get<std::string>().substr(0, 19), "2026-01-01T09:40:00");
    EXPECT_EQ(overview["pending"]["units"], 7);
    EXPECT_GE(overview["pending"]["oldestAgeSeconds"].get<std::int64_t>(), 300);
    EXPECT_LE(overview["pending"]["oldestAgeSeconds"].get<std::int64_t>(), 301);
    EXPECT_EQ(overview["pending"]["azureWindowSeconds"], 86400);
    EXPECT_EQ(overview["rejectedUnits"], 50);
    EXPECT_EQ(overview["unresolvedUnits"], 0);
    EXPECT_EQ(overview["overReportedUnits"], 100);
    ASSERT_EQ(overview["lastErrors"].size(), 1u);
    EXPECT_EQ(overview["lastErrors"][0]["eventId"], rejected_event);
    EXPECT_EQ(overview["lastErrors"][0]["errorCode"], "ResourceNotFound");
    // Three hours ending with the current one; an hour without units is 0.
    const Json& hours = overview["acceptedPerHour"];
    ASSERT_EQ(hours.size(), 3u) << hours.dump();
    EXPECT_EQ(hours[0]["hour"], "2026-01-01T07:00:00Z");
    EXPECT_EQ(hours[0]["units"], 0);
    EXPECT_EQ(hours[1]["hour"], "2026-01-01T08:00:00Z");
    EXPECT_EQ(hours[1]["units"], 400);  // the rejected 50 of that hour are not counted
    EXPECT_EQ(hours[2]["hour"], "2026-01-01T09:00:00Z");
    EXPECT_EQ(hours[2]["units"], 25);
    EXPECT_EQ(json_of(call("GET", "/overview"))["acceptedPerHour"].size(), 48u);

    EXPECT_EQ(json_of(call("GET", "/overview?hours=0"))["error"]["field"], "hours");
    EXPECT_EQ(json_of(call("GET", "/overview?hours=169"))["error"]["field"], "hours");
    EXPECT_EQ(call("GET", "/overview", {}, std::nullopt).status, 401);
}

TEST_F(OpsApiTest, BillsListNewestFirstAndThoseHoldingLineItems) {
    populate();
    store::IntegrationRunRecord run;
    run.bill_version_id = deliver(bill_text("bill-5", 1, "acc-1", "1.25"), at("2026-01-01T09:35:00Z"));
    run.integration_id = "int-1";
    run.config_snapshot = "{}";
    run.held.push_back(HeldLineItem{"int-1", "bill-5", 0, "li-1", HoldReason::UnmappedProduct, "no mapping for prod-1",
                                    Decimal::parse("1.25").value()});
    run.started_at = run.finished_at = at("2026-01-01T09:35:00Z");
    ASSERT_TRUE(store->record_integration_run(run).ok());
    start();

    const Json all = json_of(call("GET", "/bills"));
    ASSERT_EQ(all["data"].size(), 4u) << all.dump();
    EXPECT_EQ(all["data"][0]["billId"], "bill-5");
    EXPECT_EQ(all["data"][0]["heldItems"], 1);
    EXPECT_EQ(all["data"][1]["billId"], "bill-1");  // its version 2 came at 09:30
    EXPECT_EQ(all["data"][1]["version"], 2);
    EXPECT_EQ(all["data"][1]["heldItems"], 0);
    EXPECT_EQ(all["data"][1]["updatedAt"], "2026-01-01T09:30:00Z");
    EXPECT_EQ(all["data"][3]["billId"], "bill-2");

    const Json held = json_of(call("GET", "/bills?held=true"));
    ASSERT_EQ(held["data"].size(), 1u) << held.dump();
    EXPECT_EQ(held["data"][0]["billId"], "bill-5");
    EXPECT_EQ(json_of(call("GET", "/bills?limit=1"))["data"].size(), 1u);
    EXPECT_EQ(json_of(call("GET", "/bills?held=yes"))["error"]["field"], "held");
    EXPECT_EQ(json_of(call("GET", "/bills?limit=0"))["error"]["field"], "limit");
}

TEST_F(OpsApiTest, EventsFilterByBillResourceAndDimension) {
    populate();
    start();
    const Json bill_1 = json_of(call("GET", "/events?billId=bill-1"));
    ASSERT_EQ(bill_1["data"].size(), 1u) << bill_1.dump();
    EXPECT_EQ(bill_1["data"][0]["id"], accepted_event);
    EXPECT_EQ(json_of(call("GET", "/events?resourceId=sub-1"))["data"].size(), 2u);
    const Json compute = json_of(call("GET", "/events?dimension=compute"));
    ASSERT_EQ(compute["data"].size(), 1u);
    EXPECT_EQ(compute["data"][0]["id"], rejected_event);
    EXPECT_EQ(json_of(call("GET", "/events?billId=bill-3&dimension=compute"))["data"].size(), 0u);
    EXPECT_EQ(json_of(call("GET", "/events?billId=bill-3&status=accepted"))["data"].size(), 1u);
}

TEST_F(OpsApiTest, BillDiffShowsChangedLineItemsAndTargets) {
    populate();
    // The runs of both versions of bill-1, with the targets conversion gave.
    std::int64_t version_2 = 0;
    const auto versions = store->bill_versions("bill-1");
    ASSERT_TRUE(versions.ok());
    for (const auto& version : *versions) {
        if (version.version == 2) version_2 = version.id;
    }
    for (const auto& [version_id, units, amount] :
         {std::tuple{version_1, 400, "4.00"}, std::tuple{version_2, 300, "3.00"}}) {
        store::IntegrationRunRecord run;
        run.bill_version_id = version_id;
        run.integration_id = "int-1";
        run.config_snapshot = "{}";
        run.targets = {UsageTarget{"int-1", "bill-1", "sub-1", "plan-a", "storage", units, Decimal::parse(amount).value(),
                                   std::vector<int>{0}}};
        run.started_at = run.finished_at = at("2026-01-01T09:35:00Z");
        ASSERT_TRUE(store->record_integration_run(run).ok());
    }
    start();
    const auto response = call("GET", "/bills/bill-1/diff?from=1&to=2");
    ASSERT_EQ(response.status, 200) << response.body;
    const Json diff = json_of(response);
    EXPECT_EQ(diff["from"]["version"], 1);
    EXPECT_EQ(diff["to"]["version"], 2);
    ASSERT_EQ(diff["lineItems"].size(), 1u) << diff.dump();
    EXPECT_EQ(diff["lineItems"][0]["change"], "changed");
    EXPECT_EQ(diff["lineItems"][0]["fromIndex"], 0);
    // Exact decimals (Decimal drops trailing zeros: 4.00 is 4), never a double.
    EXPECT_EQ(exact_number_text(diff["lineItems"][0]["before"]["subtotal"]), "4");
    EXPECT_EQ(exact_number_text(diff["lineItems"][0]["after"]["subtotal"]), "3");
    ASSERT_EQ(diff["targets"].size(), 1u);
    EXPECT_EQ(diff["targets"][0]["dimension"], "storage");
    EXPECT_EQ(diff["targets"][0]["fromUnits"], 400);
    EXPECT_EQ(diff["targets"][0]["toUnits"], 300);
    // The bill view's "went to": each target names the line items it sums.
    const Json runs = json_of(call("GET", "/bills/bill-1"))["runs"];
    ASSERT_FALSE(runs.empty());
    EXPECT_EQ(runs[0]["targets"][0]["lineItems"], Json::array({0})) << runs.dump();

    EXPECT_EQ(json_of(call("GET", "/bills/bill-1/diff?from=2&to=2"))["lineItems"].size(), 0u);
    const auto unknown = call("GET", "/bills/bill-1/diff?from=1&to=9");
    EXPECT_EQ(unknown.status, 404);
    EXPECT_EQ(json_of(unknown)["error"]["field"], "to");
    EXPECT_EQ(json_of(call("GET", "/bills/bill-1/diff?to=2"))["error"]["field"], "from");
    EXPECT_EQ(call("GET", "/bills/nope/diff?from=1&to=2").status, 404);
    EXPECT_EQ(call("GET", "/bills/bill-1/diff?from=1&to=2", {}, std::nullopt).status, 401);
}

TEST_F(OpsApiTest, ConsoleIsServedWithoutTokenUnderARelativeRedirect) {
    start();
    const auto bare = call("GET", "/console", {}, std::nullopt);
    EXPECT_EQ(bare.status, 308);
    EXPECT_EQ(bare.headers.get("Location"), "console/");  // relative: a proxy's path prefix is kept

    const auto page = call("GET", "/console/", {}, std::nullopt);
    ASSERT_EQ(page.status, 200) << page.body;
    EXPECT_EQ(page.headers.get("Content-Type"), "text/html; charset=utf-8");
    const auto csp = page.headers.get("Content-Security-Policy").value_or("");
    EXPECT_NE(csp.find("default-src 'none'"), std::string::npos) << csp;
    EXPECT_NE(csp.find("script-src 'self'"), std::string::npos);
    EXPECT_NE(csp.find("frame-ancestors 'none'"), std::string::npos);
    EXPECT_EQ(csp.find("unsafe"), std::string::npos);
    EXPECT_EQ(page.headers.get("X-Content-Type-Options"), "nosniff");
    EXPECT_EQ(page.headers.get("Cache-Control"), "no-cache");

    const auto script = call("GET", "/console/app.js", {}, std::nullopt);
    ASSERT_EQ(script.status, 200);
    EXPECT_EQ(script.headers.get("Content-Type"), "text/javascript; charset=utf-8");
    EXPECT_EQ(call("GET", "/console/console.css", {}, std::nullopt).headers.get("Content-Type"),
              "text/css; charset=utf-8");
    EXPECT_EQ(call("GET", "/console/nope.js", {}, std::nullopt).status, 404);

    // An unchanged file is not sent again.
    net::HttpRequest again;
    again.method = "GET";
    again.path = again.target = "/console/app.js";
    again.headers.set("If-None-Match", script.headers.get("ETag").value_or(""));
    std::optional<net::HttpResponse> cached;
    router.dispatch(again, [&](net::HttpResponse response) { cached = std::move(response); });
    ASSERT_TRUE(cached);
    EXPECT_EQ(cached->status, 304);
    EXPECT_TRUE(cached->body.empty());
}

// Every file the page or a module names is served, and none is fetched from
// elsewhere (no CDN, no external font): the console works offline.
TEST_F(OpsApiTest, ConsoleAssetsReferenceOnlyEachOther) {
    start();
    std::vector<std::string> names;
    for (const ConsoleAsset& asset : console_assets()) names.emplace_back(asset.name);
    ASSERT_GE(names.size(), 8u);
    const std::regex reference(R"re((?:src|href)="([^"#:]+)"|from '\./([^']+)')re");
    for (const ConsoleAsset& asset : console_assets()) {
        const std::string body(asset.body);
        for (std::sregex_iterator it(body.begin(), body.end(), reference), end; it != end; ++it) {
            const std::string name = (*it)[1].matched ? (*it)[1].str() : (*it)[2].str();
            EXPECT_EQ(call("GET", "/console/" + name, {}, std::nullopt).status, 200)
                << asset.name << " refers to " << name;
        }
        // The only absolute URL allowed is SVG's namespace name, which is never fetched.
        std::string rest = body;
        for (std::size_t pos = rest.find("http://www.w3.org/2000/svg"); pos != std::string::npos;
             pos = rest.find("http://www.w3.org/2000/svg")) {
            rest.erase(pos, 26);
        }
        EXPECT_EQ(rest.find("http://"), std::string::npos) << asset.name;
        EXPECT_EQ(rest.find("https://"), std::string::npos) << asset.name;
        EXPECT_EQ(rest.find("@import"), std::string::npos) << asset.name;
    }
}

}  // namespace
}  // namespace meterbridge::app
