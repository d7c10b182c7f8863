// The daemon end to end (issue 4): webhook -> SQLite -> Azure sandbox, checked
// through /reportedusage, /bills/{id} and the sandbox's accepted events.
#include "daemon_fixture.hpp"

#include <gtest/gtest.h>

#include <csignal>
#include <map>
#include <set>

namespace meterbridge::testing {
namespace {

const Instant kStart = parse_iso8601("2026-03-02T09:05:00Z").value();

class DaemonE2E : public ::testing::Test {
protected:
    void SetUp() override { start(base_config(dir.path())); }

    void start(Json config) {
        daemon = std::make_unique<DaemonProcess>(dir.path(), std::move(config));
        daemon->start();
        if (HasFatalFailure()) return;
        daemon->set_clock(kStart);
    }

    // Accepted units per "resource/dimension" according to the sandbox; the
    // fixture's resources are named as "sub-bill", "sub-prod" and "sub-agg".
    std::map<std::string, std::int64_t> azure_totals() {
        const std::map<std::string, std::string> names = {
            {kSubBill, "sub-bill"}, {kSubProd, "sub-prod"}, {kSubAgg, "sub-agg"}};
        std::map<std::string, std::int64_t> totals;
        for (const Json& e : daemon->sandbox_events()) {
            const std::string resource = e["resourceId"].get<std::string>();
            const auto name = names.find(resource);
            totals[(name == names.end() ? resource : name->second) + "/" + e["dimension"].get<std::string>()] +=
                std::stoll(*exact_number_text(e["quantity"]));
        }
        return totals;
    }

    // Accepted units per "bill/dimension" according to /reportedusage.
    std::map<std::string, std::int64_t> reported() {
        std::map<std::string, std::int64_t> totals;
        const Json page = daemon->get("/reportedusage?pageSize=1000").json();
        for (const Json& entry : page["data"]) {
            for (const auto& [dimension, hours] : entry["reportedUsage"].items()) {
                for (const auto& [hour, units] : hours.items()) {
                    totals[entry["billId"].get<std::string>() + "/" + dimension] += units.get<std::int64_t>();
                }
            }
        }
        return totals;
    }

    bool reported_is(const std::map<std::string, std::int64_t>& expected) {
        return DaemonProcess::eventually([&] { return reported() == expected; });
    }

    // No (resource, dimension, hour) accepted twice by the sandbox.
    void expect_one_event_per_slot() {
        std::set<std::string> slots;
        for (const Json& e : daemon->sandbox_events()) {
            const std::string slot = e["resourceId"].get<std::string>() + "/" + e["dimension"].get<std::string>() + "/" +
                                     e["effectiveStartTime"].get<std::string>().substr(0, 13);
            EXPECT_TRUE(slots.insert(slot).second) << "slot accepted twice: " << slot;
        }
    }

    TempDir dir;
    std::unique_ptr<DaemonProcess> daemon;
};

TEST_F(DaemonE2E, ANewBillInEachSplitModeReachesAzureExactly) {
    ASSERT_EQ(daemon->post_bill(envelope("billing.bill.created",
                                         bill_json("b-bill", 1, "acc-bill",
                                                   {{"USAGE", "0.50", "prod-compute", ""},
                                                    {"STANDING_CHARGE", "9.985", "", ""}})))
                  .status,
              202);
    ASSERT_EQ(daemon->post_bill(bill_json("b-prod", 1, "acc-prod",
                                          {{"USAGE", "1.00", "prod-compute", ""}, {"USAGE", "0.29", "prod-storage", ""},
                                           {"USAGE", "1e-2", "prod-storage", ""}}))
                  .status,
              202);
    ASSERT_EQ(daemon->post_bill(bill_json("b-agg", 1, "acc-agg",
                                          {{"USAGE", "0.333", "", "agg-calls"}, {"USAGE", "0.333", "", "agg-calls"},
                                           {"USAGE", "0.334", "", "agg-calls"}}))
                  .status,
              202);
    EXPECT_TRUE(reported_is({{"b-bill/bill_total", 1049}, {"b-prod/compute", 100}, {"b-prod/storage", 30},
                             {"b-agg/api_calls", 100}}))
        << daemon->log();
    EXPECT_EQ(azure_totals(), (std::map<std::string, std::int64_t>{{"sub-bill/bill_total", 1049},
                                                                    {"sub-prod/compute", 100},
                                                                    {"sub-prod/storage", 30},
                                                                    {"sub-agg/api_calls", 100}}));
    // m3ter's shape: the hour key is the slot's start.
    const Json page = daemon->get("/reportedusage?billId=b-bill").json();
    ASSERT_EQ(page["data"].size(), 1u);
    EXPECT_EQ(page["data"][0]["externalSystem"], "Azure");
    EXPECT_EQ(page["data"][0]["accountId"], "acc-bill");
    EXPECT_EQ(page["data"][0]["reportedUsage"]["bill_total"]["2026-03-02T09:00:00Z"], 1049);
    expect_one_event_per_slot();
}

TEST_F(DaemonE2E, RecalculationSendsOnlyTheDeltaAndNeverANegative) {
    const auto version = [&](int v, const std::string& amount) {
        return daemon->post_bill(bill_json("b-recalc", v, "acc-bill", {{"USAGE", amount, "", ""}})).status;
    };
    ASSERT_EQ(version(1, "1.00"), 202);
    ASSERT_TRUE(reported_is({{"b-recalc/bill_total", 100}})) << daemon->log();
    daemon->set_clock(kStart + hours{1});
    ASSERT_EQ(version(2, "1.50"), 202);
    ASSERT_TRUE(reported_is({{"b-recalc/bill_total", 150}})) << daemon->log();
    EXPECT_EQ(daemon->sandbox_events().size(), 2u);  // 100 in slot 09:00, then only the delta 50 in 10:00
    daemon->set_clock(kStart + hours{2});
    ASSERT_EQ(version(3, "0.20"), 202);
    ASSERT_TRUE(DaemonProcess::eventually([&] {
        const Json bill = daemon->get("/bills/b-recalc").json();
        return bill.dump().find("\"overReported\":130") != std::string::npos;
    })) << daemon->get("/bills/b-recalc").body;
    daemon->set_clock(kStart + hours{3});
    std::this_thread::sleep_for(std::chrono::seconds(2));  // two ticks: nothing more may be sent
    EXPECT_EQ(daemon->sandbox_events().size(), 2u);
    EXPECT_EQ(azure_totals(), (std::map<std::string, std::int64_t>{{"sub-bill/bill_total", 150}}));
    for (const Json& e : daemon->sandbox_events()) EXPECT_GT(std::stoll(*exact_number_text(e["quantity"])), 0);
}

TEST_F(DaemonE2E, RepeatsAndOlderVersionsChangeNothing) {
    const std::string v2 = envelope("billing.bill.updated", bill_json("b-order", 2, "acc-bill", {{"USAGE", "2.00", "", ""}}));
    const std::string v1 = envelope("billing.bill.created", bill_json("b-order", 1, "acc-bill", {{"USAGE", "9.00", "", ""}}));
    EXPECT_EQ(daemon->post_bill(v2).status, 202);
    const auto repeat = daemon->post_bill(v2);
    EXPECT_EQ(repeat.status, 200);
    EXPECT_EQ(repeat.json()["result"], "repeat");
    const auto older = daemon->post_bill(v1);
    EXPECT_EQ(older.status, 200);
    EXPECT_EQ(older.json()["result"], "older");
    EXPECT_TRUE(reported_is({{"b-order/bill_total", 200}})) << daemon->log();
    std::this_thread::sleep_for(std::chrono::seconds(2));
    EXPECT_EQ(azure_totals(), (std::map<std::string, std::int64_t>{{"sub-bill/bill_total", 200}}));
}

TEST_F(DaemonE2E, AnUnmappedProductIsHeldThenSentAfterAMappingAndReprocess) {
    ASSERT_EQ(daemon->post_bill(bill_json("b-held", 1, "acc-prod",
                                          {{"USAGE", "1.00", "prod-compute", ""}, {"USAGE", "4.25", "prod-new", ""}}))
                  .status,
              202);
    ASSERT_TRUE(reported_is({{"b-held/compute", 100}})) << daemon->log();
    const Json bill = daemon->get("/bills/b-held").json();
    EXPECT_NE(bill.dump().find("unmapped_product"), std::string::npos) << bill.dump();

    const auto created = daemon->request("POST", "/mappings",
                                         R"({"m3ter_entity":"Product","m3ter_id":"prod-new","external_table":"Dimension",
                                             "external_id":"analytics"})");
    ASSERT_EQ(created.status, 201) << created.body;
    ASSERT_EQ(daemon->request("POST", "/bills/b-held/reprocess").status, 202);
    EXPECT_TRUE(reported_is({{"b-held/compute", 100}, {"b-held/analytics", 425}})) << daemon->log();
}

TEST_F(DaemonE2E, TheConfiguredSandboxCatalogRejectsUnknownResourcesDimensionsAndInactiveOnes) {
    daemon.reset();
    Json config = base_config(dir.path());
    // sub-agg is unknown; the standard plan has no "storage"; sub-bill is suspended.
    config["azure"]["sandbox_catalog"] = parse_exact_json(std::string(R"({
        "subscriptions":[{"resourceId":")") + kSubProd + R"(","planId":"standard"},
                         {"resourceId":")" + kSubBill + R"(","planId":"standard","status":"Suspended"}],
        "plans":[{"planId":"standard","dimensions":["bill_total","compute","api_calls"]}]})").value();
    start(std::move(config));
    ASSERT_FALSE(HasFatalFailure());
    ASSERT_EQ(daemon->post_bill(bill_json("b-cat", 1, "acc-prod",
                                          {{"USAGE", "1.00", "prod-compute", ""}, {"USAGE", "0.29", "prod-storage", ""}}))
                  .status,
              202);
    ASSERT_EQ(daemon->post_bill(bill_json("b-cat-agg", 1, "acc-agg", {{"USAGE", "0.50", "", "agg-calls"}})).status, 202);
    ASSERT_EQ(daemon->post_bill(bill_json("b-cat-bill", 1, "acc-bill", {{"USAGE", "0.70", "", ""}})).status, 202);
    std::map<std::string, std::string> rejected;  // dimension -> errorCode
    ASSERT_TRUE(DaemonProcess::eventually([&] {
        rejected.clear();
        const Json page = daemon->get("/events?status=rejected").json();
        for (const Json& event : page["data"]) {
            if (event["state"] == "rejected") {
                rejected[event["dimension"].get<std::string>()] = event["errorCode"].get<std::string>();
            }
        }
        return rejected.size() == 3;
    })) << daemon->get("/events").body << daemon->log();
    EXPECT_EQ(rejected["storage"], "InvalidDimension");
    EXPECT_EQ(rejected["api_calls"], "ResourceNotFound");
    EXPECT_EQ(rejected["bill_total"], "ResourceNotActive");
    EXPECT_TRUE(reported_is({{"b-cat/compute", 100}})) << daemon->log();
    EXPECT_EQ(azure_totals(), (std::map<std::string, std::int64_t>{{"sub-prod/compute", 100}}));
}

TEST_F(DaemonE2E, TwoBillsForOneResourceAndDimensionShareTheHourlyRule) {
    ASSERT_EQ(daemon->post_bill(bill_json("b-one", 1, "acc-bill", {{"USAGE", "1.00", "", ""}})).status, 202);
    ASSERT_EQ(daemon->post_bill(bill_json("b-two", 1, "acc-bill", {{"USAGE", "2.00", "", ""}})).status, 202);
    // Within the hour at most one event for (sub-bill, bill_total); the rest waits for the next hour.
    std::this_thread::sleep_for(std::chrono::seconds(3));
    expect_one_event_per_slot();
    daemon->set_clock(kStart + hours{1});
    EXPECT_TRUE(reported_is({{"b-one/bill_total", 100}, {"b-two/bill_total", 200}})) << daemon->log();
    EXPECT_EQ(azure_totals(), (std::map<std::string, std::int64_t>{{"sub-bill/bill_total", 300}}));
    expect_one_event_per_slot();
}

TEST_F(DaemonE2E, ABillSurvivesAThirtyHourAzureOutage) {
    net::HttpClient http;
    net::HttpRequestSpec fault;
    fault.method = "POST";
    fault.url = daemon->sandbox_url() + "/_sandbox/faults";
    fault.headers.set("Content-Type", "application/json");
    // 429s prove that Azure recorded nothing (a 5xx would not: issue 14,
    // see AzureEdgesE2E.AThirtyHour5xxOutageLeavesTheEventUnresolved).
    fault.body = R"({"kind":"status","status":429,"count":100000})";
    ASSERT_LT(http.send(fault)->status, 300);
    ASSERT_EQ(daemon->post_bill(bill_json("b-outage", 1, "acc-bill", {{"USAGE", "3.21", "", ""}})).status, 202);
    for (int hour = 1; hour <= 30; hour += 3) {
        daemon->set_clock(kStart + hours{hour});
        std::this_thread::sleep_for(std::chrono::milliseconds(1500));
    }
    EXPECT_TRUE(daemon->sandbox_events().empty());
    net::HttpRequestSpec clear;
    clear.method = "DELETE";
    clear.url = fault.url;
    ASSERT_LT(http.send(clear)->status, 300);
    ASSERT_TRUE(reported_is({{"b-outage/bill_total", 321}})) << daemon->log();
    const auto events = daemon->sandbox_events();
    ASSERT_EQ(events.size(), 1u);
    const Instant slot = parse_iso8601(events[0]["effectiveStartTime"].get<std::string>()).value();
    EXPECT_GT(slot, daemon->now() - hours{24});  // re-slotted into the window, never sent stale
}

TEST_F(DaemonE2E, BadDeliveriesGetTheirStatusAndLeaveNothingBehind) {
    const std::string body = bill_json("b-bad", 1, "acc-bill", {{"USAGE", "1.00", "", ""}});
    EXPECT_EQ(daemon->post_bill_signed_at(body, daemon->now(), "wrong-secret").status, 401);
    EXPECT_EQ(daemon->post_bill_signed_at(body, daemon->now() - minutes{10}).status, 401);  // replayed
    EXPECT_EQ(daemon->post_bill_signed_at(body, daemon->now() + minutes{10}).status, 401);  // from the future
    net::Headers plain;
    plain.set("Content-Type", "text/plain");
    EXPECT_EQ(daemon->request("POST", "/webhooks/m3ter", body, plain, false).status, 415);
    const auto big = daemon->post_bill(bill_json("b-big", 1, "acc-bill", {{"USAGE", "1.00", std::string(70000, 'x'), ""}}));
    EXPECT_EQ(big.status, 413);
    const auto malformed = daemon->post_bill(R"({"id":"b-bad","version":1,)");
    EXPECT_EQ(malformed.status, 400);
    EXPECT_EQ(malformed.json()["error"]["code"], "malformed_json");
    const auto invalid = daemon->post_bill(
        R"({"id":"b-bad","version":1,"accountId":"acc-bill","currency":"USD","lineItems":[{"lineItemType":"USAGE","subtotal":"1"}]})");
    EXPECT_EQ(invalid.status, 400);
    EXPECT_EQ(invalid.json()["error"]["field"], "lineItems[0].subtotal");
    std::this_thread::sleep_for(std::chrono::seconds(2));
    EXPECT_EQ(daemon->get("/bills/b-bad").status, 404);
    EXPECT_EQ(daemon->get("/bills/b-big").status, 404);
    EXPECT_TRUE(daemon->sandbox_events().empty());
}

TEST_F(DaemonE2E, SigtermDrainsAndExitsZero) {
    ASSERT_EQ(daemon->post_bill(bill_json("b-term", 1, "acc-bill", {{"USAGE", "0.07", "", ""}})).status, 202);
    ASSERT_TRUE(reported_is({{"b-term/bill_total", 7}})) << daemon->log();
    EXPECT_EQ(daemon->stop(SIGTERM), 0) << daemon->log();
    // Restarted on the same database, it knows the bill and sends nothing again.
    daemon = std::make_unique<DaemonProcess>(dir.path(), base_config(dir.path()));
    daemon->start();
    daemon->set_clock(kStart);
    EXPECT_EQ(daemon->get("/bills/b-term").status, 200);
    EXPECT_TRUE(reported_is({{"b-term/bill_total", 7}}));
}

TEST_F(DaemonE2E, ASecondDaemonOnTheSameDatabaseRefusesToStart) {
    Json config = base_config(dir.path());
    ChildProcess second({meterbridge_binary(), "serve", "--config", (dir.path() / "config.json").string()},
                        {{"MB_E2E_API_KEY", kApiKey}, {"MB_E2E_API_SECRET", kApiSecret}, {"MB_E2E_OPS_TOKEN", kOpsToken}},
                        dir.path() / "second.log");
    const auto status = second.stop(0, std::chrono::seconds(15));  // signal 0: just wait for it to exit
    EXPECT_EQ(status, 1) << second.log();
    EXPECT_NE(second.log().find("cannot start"), std::string::npos) << second.log();
}

}  // namespace
}  // namespace meterbridge::testing
