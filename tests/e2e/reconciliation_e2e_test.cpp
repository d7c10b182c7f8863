// Issue 16, reconciliation end to end: the real daemon against its built-in
// sandbox over a month of bills — a conflict with an event someone else sent,
// a recalculation, a dropped answer after Azure accepted, two events left
// unresolved by a 30-hour outage (one that Azure recorded, one it did not)
// and one planted discrepancy of each kind. Every discrepancy is found in each source that can show it, nothing
// else is flagged, both unresolved events get the right proposal and are
// settled through the API, and `meterbridge reconcile` says the same.
#include "daemon_fixture.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <map>
#include <set>
#include <thread>

namespace meterbridge::testing {
namespace {

using namespace std::chrono_literals;

const Instant kDay1 = parse_iso8601("2026-03-02T09:05:00Z").value();
constexpr const char* kMarketplaceScope = "20e940b3-4c77-4b0b-9a53-9e16a1b010a7/.default";

std::string lower(std::string text) {
    std::transform(text.begin(), text.end(), text.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return text;
}

class ReconciliationE2E : public ::testing::Test {
protected:
    void SetUp() override {
        config_ = base_config(dir.path());
        // Without a catalog the sandbox names each resource's Azure
        // subscription after the resource itself (docs/sandbox.md).
        Json subscriptions = Json::object();
        for (const char* resource : {kSubBill, kSubProd, kSubAgg}) subscriptions[lower(resource)] = resource;
        config_["reconciliation"] = {{"sources", {"usage_events", "partner_billing", "ea_charges"}},
                                     {"subscriptions", subscriptions},
                                     {"daily_at", nullptr}};
        daemon = std::make_unique<DaemonProcess>(dir.path(), config_);
        daemon->start();
        if (HasFatalFailure()) return;
        daemon->set_clock(kDay1);
    }

    std::vector<Json> events(const std::string& status = {}) {
        const Json page = daemon->get("/events?size=1000" + (status.empty() ? std::string() : "&status=" + status)).json();
        return page["data"].get<std::vector<Json>>();
    }

    // Units the sandbox accepted for (resource, dimension).
    std::int64_t azure_total(const std::string& resource, const std::string& dimension) {
        return daemon->sandbox_total(resource, dimension);
    }

    void post_and_wait_accepted(const std::string& bill, int version, const std::string& account,
                                const std::vector<Item>& items, std::size_t accepted_after) {
        ASSERT_EQ(daemon->post_bill(bill_json(bill, version, account, items)).status, 202);
        ASSERT_TRUE(DaemonProcess::eventually([&] { return events("accepted").size() >= accepted_after; }))
            << daemon->log();
    }

    // An event sent to Azure by someone else (another system metering the
    // same offer): meterbridge's own event for that hour then gets a conflict.
    void post_foreign_event(const std::string& resource, const std::string& dimension, const std::string& hour,
                            int quantity) {
        net::HttpClient http;
        net::HttpRequestSpec token_request;
        token_request.method = "POST";
        token_request.url = daemon->sandbox_url() + "/other-tenant/oauth2/v2.0/token";
        token_request.headers.set("Content-Type", "application/x-www-form-urlencoded");
        token_request.body =
            "grant_type=client_credentials&client_id=other&client_secret=other-secret&scope=" + std::string(kMarketplaceScope);
        const auto token = http.send(token_request);
        ASSERT_TRUE(token.ok() && token->status == 200) << (token.ok() ? token->body : token.error().message);
        net::HttpRequestSpec event;
        event.method = "POST";
        event.url = daemon->sandbox_url() + "/api/usageEvent?api-version=2018-08-31";
        event.headers.set("Content-Type", "application/json");
        event.headers.set("Authorization",
                          "Bearer " + parse_exact_json(token->body).value()["access_token"].get<std::string>());
        event.body = Json{{"resourceId", resource},
                          {"quantity", quantity},
                          {"dimension", dimension},
                          {"effectiveStartTime", hour},
                          {"planId", "standard"}}
                         .dump();
        const auto answer = http.send(event);
        ASSERT_TRUE(answer.ok());
        ASSERT_EQ(answer->status, 200) << answer->body;
    }

    void plant(const std::string& body) {
        net::HttpRequestSpec spec;
        spec.method = "POST";
        spec.url = daemon->sandbox_url() + "/_sandbox/recon";
        spec.headers.set("Content-Type", "application/json");
        spec.body = body;
        net::HttpClient http;
        const auto answer = http.send(spec);
        ASSERT_TRUE(answer.ok());
        ASSERT_EQ(answer->status, 201) << answer->body;
    }

    // Runs a reconciliation through the API and waits for its report.
    Json reconcile(const std::string& from, const std::string& to) {
        net::Headers json_type;
        json_type.set("Content-Type", "application/json");
        const auto posted = daemon->request("POST", "/reconciliations",
                                            R"({"from":")" + from + R"(","to":")" + to + R"("})", json_type);
        EXPECT_EQ(posted.status, 202) << posted.body;
        const std::string id = std::to_string(posted.json()["id"].get<std::int64_t>());
        Json report;
        EXPECT_TRUE(DaemonProcess::eventually(
            [&] {
                report = daemon->get("/reconciliations/" + id).json();
                return report.is_object() && report["status"] != "running";
            },
            60s))
            << daemon->log();
        EXPECT_EQ(report["status"], "done") << report.dump();
        return report;
    }

    // "source|resource|dimension|day" -> outcome, for every row not matched.
    static std::map<std::string, std::string> flagged(const Json& report) {
        std::map<std::string, std::string> out;
        for (const Json& row : report["rows"]) {
            if (row["outcome"] == "matched") continue;
            out[row["source"].get<std::string>() + "|" + row["resourceId"].get<std::string>() + "|" +
                row["dimension"].get<std::string>() + "|" + row["day"].get<std::string>()] = row["outcome"];
        }
        return out;
    }

    TempDir dir;
    Json config_;
    std::unique_ptr<DaemonProcess> daemon;
};

TEST_F(ReconciliationE2E, EveryPlantedDiscrepancyIsFoundInEachSourceAndUnresolvedEventsAreSettledBothWays) {
    // Day 1: a bill per split mode. Someone else already sent 7 units for the
    // per-bill resource at 09:00: our event conflicts and goes to 10:00.
    post_foreign_event(kSubBill, "bill_total", "2026-03-02T09:00:00Z", 7);
    ASSERT_EQ(daemon->post_bill(bill_json("b-day1", 1, "acc-bill", {{"USAGE", "12.34", "", ""}})).status, 202);
    ASSERT_TRUE(DaemonProcess::eventually([&] { return events("conflict").size() == 1; })) << daemon->log();
    daemon->set_clock(kDay1 + 1h);
    ASSERT_TRUE(DaemonProcess::eventually([&] { return azure_total(kSubBill, "bill_total") == 7 + 1234; }))
        << daemon->log();
    post_and_wait_accepted("p-day1", 1, "acc-prod",
                           {{"USAGE", "5.00", "prod-compute", ""}, {"USAGE", "2.50", "prod-storage", ""}}, 3);
    post_and_wait_accepted("a-day1", 1, "acc-agg", {{"USAGE", "0.75", "", "agg-calls"}}, 4);

    // Day 2: a recalculation upwards (v2 adds 1.00), and Azure's answer lost after it accepted.
    daemon->set_clock(kDay1 + 24h);
    post_and_wait_accepted("b-day2", 1, "acc-bill", {{"USAGE", "3.00", "", ""}}, 5);
    daemon->add_sandbox_fault(R"({"kind":"drop_response"})");
    ASSERT_EQ(daemon->post_bill(bill_json("b-day2", 2, "acc-bill", {{"USAGE", "4.00", "", ""}})).status, 202);
    daemon->set_clock(kDay1 + 25h);  // the 100 more units go to the next hour (09:00 holds an event)
    ASSERT_TRUE(DaemonProcess::eventually([&] { return azure_total(kSubBill, "bill_total") == 7 + 1234 + 400; }))
        << daemon->log();
    ASSERT_TRUE(DaemonProcess::eventually([&] { return events("sending").empty() && events("planned").empty(); }))
        << daemon->log();
    daemon->clear_sandbox_faults();

    // Day 3: a 30-hour outage. Azure records the first event behind a gateway
    // 502; the second never reaches it. Both end unresolved.
    const Instant day3 = kDay1 + 48h;
    daemon->set_clock(day3);
    daemon->add_sandbox_fault(R"({"kind":"processed_then_status","status":502,"count":100000})");
    ASSERT_EQ(daemon->post_bill(bill_json("p-day3", 1, "acc-prod", {{"USAGE", "6.00", "prod-compute", ""}})).status, 202);
    ASSERT_TRUE(DaemonProcess::eventually([&] { return azure_total(kSubProd, "compute") == 500 + 600; }))
        << daemon->log();
    daemon->clear_sandbox_faults();
    daemon->add_sandbox_fault(R"({"kind":"status","status":503,"count":100000})");
    ASSERT_EQ(daemon->post_bill(bill_json("p-day3", 2, "acc-prod",
                                          {{"USAGE", "6.00", "prod-compute", ""}, {"USAGE", "0.70", "prod-storage", ""}}))
                  .status,
              202);
    ASSERT_TRUE(DaemonProcess::eventually([&] {
        const auto sending = events("sending");
        return sending.size() == 2 &&
               std::all_of(sending.begin(), sending.end(), [](const Json& e) { return e["maybeSent"] == true; });
    })) << daemon->log();
    for (int hour = 1; hour <= 25; hour += 3) {
        daemon->set_clock(day3 + std::chrono::hours{hour});
        std::this_thread::sleep_for(1500ms);
    }
    ASSERT_TRUE(DaemonProcess::eventually([&] { return events("unresolved").size() == 2; })) << daemon->log();
    daemon->clear_sandbox_faults();
    std::int64_t recorded_id = 0, lost_id = 0;
    for (const Json& e : events("unresolved")) {
        (e["dimension"] == "compute" ? recorded_id : lost_id) = e["id"].get<std::int64_t>();
    }
    ASSERT_NE(recorded_id, 0);
    ASSERT_NE(lost_id, 0);
    ASSERT_EQ(azure_total(kSubProd, "storage"), 250);  // day 1's only: the 70 never arrived

    // One planted discrepancy of each kind, on keys of days 1 and 2.
    plant(R"({"kind":"extra","resourceId":")" + std::string(kSubAgg) +
          R"(","dimension":"api_calls","day":"2026-03-02","quantity":"25"})");
    plant(R"({"kind":"missing","resourceId":")" + std::string(kSubProd) + R"(","dimension":"storage","day":"2026-03-02"})");
    plant(R"({"kind":"rejected","resourceId":")" + std::string(kSubBill) + R"(","dimension":"bill_total","day":"2026-03-03"})");
    plant(R"({"kind":"mismatch","resourceId":")" + std::string(kSubProd) +
          R"(","dimension":"compute","day":"2026-03-02","quantity":"499"})");

    // The rest of the month: a bill every third day, all billed as sent.
    std::size_t accepted = events("accepted").size();
    for (int day = 8; day <= 29; day += 3) {
        daemon->set_clock(parse_iso8601((day < 10 ? "2026-03-0" : "2026-03-") + std::to_string(day) + "T09:05:00Z").value());
        post_and_wait_accepted("a-day" + std::to_string(day), 1, "acc-agg", {{"USAGE", "0.10", "", "agg-calls"}},
                               ++accepted);
    }

    // March final for every source (EA's delay is 72 h); its unbilled export is April's "last".
    daemon->set_clock(parse_iso8601("2026-04-04T12:00:00Z").value());
    const Json report = reconcile("2026-03-01", "2026-03-31");

    const std::string agg = lower(kSubAgg), prod = lower(kSubProd), bill = lower(kSubBill);
    const std::map<std::string, std::string> expected = {
        // The foreign 7 units: Azure bills 1,241 where we sent 1,234.
        {"usage_events|" + bill + "|bill_total|2026-03-02", "quantity_mismatch"},
        {"partner_billing|" + bill + "|bill_total|2026-03-02", "quantity_mismatch"},
        {"ea_charges|" + bill + "|bill_total|2026-03-02", "quantity_mismatch"},
        // Azure bills 25 calls nobody sent: over-billing, in every source.
        {"usage_events|" + agg + "|api_calls|2026-03-02", "quantity_mismatch"},
        {"partner_billing|" + agg + "|api_calls|2026-03-02", "quantity_mismatch"},
        {"ea_charges|" + agg + "|api_calls|2026-03-02", "quantity_mismatch"},
        // Accepted, then lost by Azure: missing in every source.
        {"usage_events|" + prod + "|storage|2026-03-02", "missing_at_azure"},
        {"partner_billing|" + prod + "|storage|2026-03-02", "missing_at_azure"},
        {"ea_charges|" + prod + "|storage|2026-03-02", "missing_at_azure"},
        // Rejected by Azure's reconciliation: usage_events says so; the billing
        // sources simply do not bill it.
        {"usage_events|" + bill + "|bill_total|2026-03-03", "rejected"},
        {"partner_billing|" + bill + "|bill_total|2026-03-03", "missing_at_azure"},
        {"ea_charges|" + bill + "|bill_total|2026-03-03", "missing_at_azure"},
        // Processed as 499 instead of 500: usage_events' Mismatch; billed as 499 elsewhere.
        {"usage_events|" + prod + "|compute|2026-03-02", "mismatch"},
        {"partner_billing|" + prod + "|compute|2026-03-02", "quantity_mismatch"},
        {"ea_charges|" + prod + "|compute|2026-03-02", "quantity_mismatch"},
    };
    EXPECT_EQ(flagged(report), expected) << report.dump(1);
    EXPECT_EQ(report["discrepancies"], true);

    // The unresolved events: Azure holds the 600 and not the 70, in every source.
    std::map<std::int64_t, std::string> proposals;
    for (const Json& p : report["proposals"]) proposals[p["eventId"].get<std::int64_t>()] = p["verdict"];
    EXPECT_EQ(proposals[recorded_id], "recorded") << report["proposals"].dump(1);
    EXPECT_EQ(proposals[lost_id], "not_recorded") << report["proposals"].dump(1);
    EXPECT_FALSE(report["exchanges"].empty());  // every source's calls are logged with the run

    // Settled both ways through the API: the 600 is accepted, the 70 sent once more in a new hour.
    const auto settle = [&](std::int64_t id, const char* as) {
        net::Headers json_type;
        json_type.set("Content-Type", "application/json");
        return daemon->request("POST", "/events/" + std::to_string(id) + "/settle",
                               std::string(R"({"as":")") + as + "\"}", json_type);
    };
    ASSERT_EQ(settle(recorded_id, "recorded").status, 200);
    ASSERT_EQ(settle(lost_id, "not_recorded").status, 200);
    EXPECT_EQ(settle(lost_id, "recorded").status, 409);  // never twice
    ASSERT_TRUE(DaemonProcess::eventually([&] { return azure_total(kSubProd, "storage") == 250 + 70; })) << daemon->log();
    std::this_thread::sleep_for(3s);  // more ticks: nothing else may follow
    EXPECT_EQ(azure_total(kSubProd, "storage"), 320);
    EXPECT_EQ(azure_total(kSubProd, "compute"), 1100);
    EXPECT_TRUE(events("unresolved").empty());

    // `meterbridge reconcile` beside the running daemon, against the same
    // sandbox as a live Azure, says the same for the sources it can ask.
    Json cli_config = config_;
    cli_config["azure"] = {{"mode", "live"},
                           {"metering_base_url", daemon->sandbox_url()},
                           {"token_url", daemon->sandbox_url() + "/sandbox-tenant/oauth2/v2.0/token"},
                           {"tenant_id", "sandbox-tenant"},
                           {"client_id", "cli"},
                           {"client_secret", "cli-secret"}};
    cli_config["reconciliation"]["ea_charges"] = {
        {"base_url", daemon->sandbox_url()}, {"enrollment", "100"}, {"api_key", "sandbox-ea-key"}};
    const auto config_path = dir.path() / "cli.json";
    std::ofstream(config_path) << cli_config.dump();
    ChildProcess cli({meterbridge_binary(), "reconcile", "--config", config_path.string(), "--from", "2026-03-01", "--to",
                      "2026-03-31", "--source", "usage_events", "--source", "ea_charges", "--format", "json"},
                     {{"MB_E2E_API_KEY", kApiKey}, {"MB_E2E_API_SECRET", kApiSecret}, {"MB_E2E_OPS_TOKEN", kOpsToken}},
                     dir.path() / "cli.log");
    const auto exit_code = cli.wait(60s);
    const std::string output = cli.log();
    ASSERT_EQ(exit_code, 1) << output;  // discrepancies
    const auto json_start = output.rfind("\n{\"");
    const auto printed = parse_exact_json(output.substr(json_start == std::string::npos ? 0 : json_start + 1));
    ASSERT_TRUE(printed.ok()) << output;
    std::map<std::string, std::string> cli_expected;
    for (const auto& [key, outcome] : expected) {
        if (key.rfind("partner_billing|", 0) != 0) cli_expected[key] = outcome;
    }
    EXPECT_EQ(flagged(*printed), cli_expected) << output;

    // Days without a discrepancy: exit 0. A bad argument: exit 2, nothing compared.
    ChildProcess clean({meterbridge_binary(), "reconcile", "--config", config_path.string(), "--from", "2026-03-08",
                        "--to", "2026-03-29", "--source", "usage_events", "--format", "csv"},
                       {{"MB_E2E_API_KEY", kApiKey}, {"MB_E2E_API_SECRET", kApiSecret}, {"MB_E2E_OPS_TOKEN", kOpsToken}},
                       dir.path() / "clean.log");
    EXPECT_EQ(clean.wait(60s), 0) << clean.log();
    EXPECT_NE(clean.log().find(",matched,"), std::string::npos) << clean.log();
    ChildProcess bad({meterbridge_binary(), "reconcile", "--config", config_path.string(), "--from", "2026-3-8", "--to",
                      "2026-03-29"},
                     {}, dir.path() / "bad.log");
    EXPECT_EQ(bad.wait(60s), 2);
    EXPECT_NE(bad.log().find("--from must be a UTC day"), std::string::npos) << bad.log();
}

}  // namespace
}  // namespace meterbridge::testing
