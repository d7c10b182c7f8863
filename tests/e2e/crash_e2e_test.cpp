// Crash safety end to end (issue 4): the daemon is SIGKILLed after it stored
// its events as `sending` and before Azure's answer arrived; restarted on the
// same database, it re-sends them unchanged and Azure sees each unit once.
// Azure here is a standalone sandbox process with a state file, so that it
// outlives the daemon; and a catalog, so that a wrong dimension is rejected.
#include "daemon_fixture.hpp"

#include <gtest/gtest.h>

#include <csignal>
#include <fstream>
#include <set>

namespace meterbridge::testing {
namespace {

class StandaloneSandbox {
public:
    explicit StandaloneSandbox(const std::filesystem::path& dir) {
        std::ofstream(dir / "catalog.json")
            << R"({"subscriptions":[{"resourceId":")" << kSubBill << R"(","planId":"standard"},{"resourceId":")"
            << kSubProd << R"(","planId":"standard"}],
                  "plans":[{"planId":"standard","dimensions":["bill_total","storage","compute_v2"]}]})";
        process_ = std::make_unique<ChildProcess>(
            std::vector<std::string>{meterbridge_binary(), "sandbox", "--listen", "127.0.0.1:0", "--state",
                                     (dir / "sandbox-state.json").string(), "--catalog", (dir / "catalog.json").string()},
            std::map<std::string, std::string>{}, dir / "sandbox.log");
        const auto line = process_->wait_for_line("listening on ", std::chrono::seconds(20));
        if (line) url_ = line->substr(0, line->find(' '));
    }
    const std::string& url() const { return url_; }
    std::string log() const { return process_->log(); }

    int post(const std::string& path, const std::string& body) {
        net::HttpRequestSpec spec;
        spec.method = "POST";
        spec.url = url_ + path;
        spec.headers.set("Content-Type", "application/json");
        spec.body = body;
        auto answer = http_.send(spec);
        return answer ? answer->status : 0;
    }

private:
    std::unique_ptr<ChildProcess> process_;
    std::string url_;
    net::HttpClient http_;
};

Json live_config(const std::filesystem::path& dir, const std::string& azure_url) {
    Json config = base_config(dir);
    config["azure"] = {{"mode", "live"},
                       {"metering_base_url", azure_url},
                       {"token_url", azure_url + "/{tenant_id}/oauth2/v2.0/token"},
                       {"tenant_id", "tenant-e2e"},
                       {"client_id", "client-e2e"},
                       {"client_secret", "env:MB_E2E_API_SECRET"},
                       {"request_timeout_s", 10}};
    config["testing"]["clock_control"] = false;  // real time: the sandbox process runs on it too
    return config;
}

TEST(CrashE2E, SigkillBetweenStoringEventsAndAzuresAnswerSendsEachUnitOnce) {
    TempDir dir;
    StandaloneSandbox sandbox(dir.path());
    ASSERT_FALSE(sandbox.url().empty()) << sandbox.log();
    auto daemon = std::make_unique<DaemonProcess>(dir.path(), live_config(dir.path(), sandbox.url()));
    daemon->set_sandbox_url(sandbox.url());
    daemon->start();
    ASSERT_FALSE(HasFatalFailure());

    // Azure records the batch at once but answers only after 4 s.
    ASSERT_LT(sandbox.post("/_sandbox/faults", R"({"kind":"delay_ms","delay_ms":4000,"count":1})"), 300);
    ASSERT_EQ(daemon->post_bill(bill_json("b-crash", 1, "acc-bill", {{"USAGE", "12.34", "", ""}})).status, 202);
    ASSERT_TRUE(DaemonProcess::eventually([&] { return daemon->sandbox_events().size() == 1; })) << daemon->log();
    EXPECT_EQ(daemon->stop(SIGKILL), 128 + SIGKILL);  // the answer never reached it

    auto restarted = std::make_unique<DaemonProcess>(dir.path(), live_config(dir.path(), sandbox.url()));
    restarted->set_sandbox_url(sandbox.url());
    restarted->start();
    ASSERT_FALSE(HasFatalFailure());
    ASSERT_TRUE(DaemonProcess::eventually([&] {
        const Json page = restarted->get("/reportedusage?billId=b-crash").json();
        return page["data"].size() == 1 && page["data"][0]["reportedUsage"].dump().find(":1234}") != std::string::npos;
    })) << restarted->log();
    const auto events = restarted->sandbox_events();
    ASSERT_EQ(events.size(), 1u) << "Azure accepted the units more than once";
    EXPECT_EQ(Decimal::parse(*exact_number_text(events[0]["quantity"])).value(), Decimal::from_integer(1234));
    const Json outbox = restarted->get("/events").json();
    EXPECT_NE(outbox.dump().find("\"accepted\""), std::string::npos) << outbox.dump();
    EXPECT_NE(restarted->log().find("accepted"), std::string::npos);
}

TEST(CrashE2E, ARejectedEventIsRetriedAfterTheFix) {
    TempDir dir;
    StandaloneSandbox sandbox(dir.path());
    ASSERT_FALSE(sandbox.url().empty()) << sandbox.log();
    auto daemon = std::make_unique<DaemonProcess>(dir.path(), live_config(dir.path(), sandbox.url()));
    daemon->set_sandbox_url(sandbox.url());
    daemon->start();
    ASSERT_FALSE(HasFatalFailure());

    // prod-compute maps to "compute", which the plan does not have: InvalidDimension.
    ASSERT_EQ(daemon->post_bill(bill_json("b-reject", 1, "acc-prod",
                                          {{"USAGE", "2.00", "prod-compute", ""}, {"USAGE", "0.50", "prod-storage", ""}}))
                  .status,
              202);
    std::int64_t rejected_id = 0;
    ASSERT_TRUE(DaemonProcess::eventually([&] {
        const Json page = daemon->get("/events?status=rejected").json();
        for (const Json& event : page["data"]) rejected_id = event["id"].get<std::int64_t>();
        return rejected_id != 0;
    })) << daemon->get("/events").body << daemon->log();

    // The fix: a mapping linked to the integration wins over the config's unlinked one.
    const auto mapped = daemon->request("POST", "/mappings",
                                        R"({"m3ter_entity":"Product","m3ter_id":"prod-compute","external_table":"Dimension",
                                            "external_id":"compute_v2","integration_id":"per-product"})");
    ASSERT_EQ(mapped.status, 201) << mapped.body;
    ASSERT_EQ(daemon->request("POST", "/bills/b-reject/reprocess").status, 202);
    // The units move to the fixed dimension; a retry of the old event now has nothing left to send.
    const auto retry = daemon->request("POST", "/events/" + std::to_string(rejected_id) + "/retry");
    EXPECT_TRUE(retry.status == 202 || retry.status == 409) << retry.body;
    ASSERT_TRUE(DaemonProcess::eventually([&] {
        const Json page = daemon->get("/reportedusage?billId=b-reject").json();
        const std::string text = page.dump();
        return text.find("\"compute_v2\"") != std::string::npos && text.find("\"storage\"") != std::string::npos;
    })) << daemon->get("/reportedusage?billId=b-reject").body << daemon->log();
    std::map<std::string, std::int64_t> totals;
    for (const Json& e : daemon->sandbox_events()) {
        totals[e["dimension"].get<std::string>()] += std::stoll(*exact_number_text(e["quantity"]));
    }
    EXPECT_EQ(totals, (std::map<std::string, std::int64_t>{{"compute_v2", 200}, {"storage", 50}}));
}

}  // namespace
}  // namespace meterbridge::testing
