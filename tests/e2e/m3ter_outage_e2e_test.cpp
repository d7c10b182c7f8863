// m3ter trouble end to end (issue 14 item 5): the real daemon with its m3ter
// API pointed at a fake m3ter on 127.0.0.1. An m3ter failure while resolving
// a bill's account must leave the version unprocessed and retried, never
// "processed" with nothing sent; an id-only delivery whose fetch fails is
// answered 503; a slow m3ter must not stall the HTTP I/O threads.
#include "daemon_fixture.hpp"

#include <gtest/gtest.h>

#include <future>
#include <string>
#include <vector>

#include "fake_m3ter.hpp"

namespace meterbridge::testing {
namespace {

const Instant kStart = parse_iso8601("2026-03-02T09:05:00Z").value();
const std::string kAccountPath = "/organizations/org-1/accounts/acc-bill";

std::int64_t ms_of(std::chrono::steady_clock::duration took) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(took).count();
}

class M3terOutageE2E : public ::testing::Test {
protected:
    void SetUp() override {
        // Token expiry at the fake follows this fixed clock: tokens never expire.
        fake = std::make_unique<FakeM3ter>(fake_clock);
        fake->put_account("acc-bill", R"({"id":"acc-bill","code":"ACME","customFields":{"country":"UK"}})");
        Json config = base_config(dir.path());
        config["m3ter"] = {{"base_url", fake->base_url()},
                           {"org_id", "org-1"},
                           {"client_id", "client-id-1"},
                           {"client_secret", "client-secret-1"}};
        config["integrations"][0]["account_filter"] = R"(customFields.country == "UK")";
        daemon = std::make_unique<DaemonProcess>(dir.path(), std::move(config));
        daemon->start();
        if (HasFatalFailure()) return;
        daemon->set_clock(kStart);
    }

    std::int64_t azure_units(const std::string& resource) {
        std::int64_t total = 0;
        for (const Json& e : daemon->sandbox_events()) {
            if (e["resourceId"] == resource) total += std::stoll(*exact_number_text(e["quantity"]));
        }
        return total;
    }

    // The value of an unlabelled sample in /metrics, or -1 when absent.
    std::int64_t metric(const std::string& name) {
        const std::string text = daemon->get("/metrics").body;
        const auto at = text.find("\n" + name + " ");
        if (at == std::string::npos) return -1;
        return std::stoll(text.substr(at + name.size() + 2));
    }

    Json current_version(const std::string& bill_id) {
        const Json detail = daemon->get("/bills/" + bill_id).json();
        return detail.is_object() && !detail["versions"].empty() ? detail["versions"].back() : Json();
    }

    ManualClock fake_clock{kStart};
    std::unique_ptr<FakeM3ter> fake;
    TempDir dir;
    std::unique_ptr<DaemonProcess> daemon;
};

TEST_F(M3terOutageE2E, AnAccountLookupThatFailsDefersTheBillUntilM3terAnswers) {
    fake->fail_next(503, 2);  // the first lookup and the first retry
    ASSERT_EQ(daemon->post_bill(envelope("billing.bill.created",
                                         bill_json("b-outage", 1, "acc-bill", {{"USAGE", "4.56", "prod-compute", ""}})))
                  .status,
              202);

    // While m3ter fails, the version waits: not processed, counted, nothing sent.
    ASSERT_TRUE(DaemonProcess::eventually([&] { return metric("meterbridge_bill_versions_waiting_on_m3ter") == 1; }))
        << "the version never showed as waiting on m3ter; account requests: " << fake->requests_for(kAccountPath)
        << "\n"
        << daemon->log();
    const Json waiting = current_version("b-outage");
    EXPECT_EQ(waiting["processed"], false) << waiting.dump();
    EXPECT_EQ(azure_units(kSubBill), 0);

    // m3ter recovers: every unit of the bill reaches Azure, once.
    ASSERT_TRUE(DaemonProcess::eventually([&] { return azure_units(kSubBill) == 456; }, std::chrono::seconds(30)))
        << "sandbox holds " << azure_units(kSubBill) << " units\n"
        << daemon->log();
    EXPECT_GE(fake->requests_for(kAccountPath), 3u);
    EXPECT_EQ(current_version("b-outage")["processed"], true);
    EXPECT_EQ(metric("meterbridge_bill_versions_waiting_on_m3ter"), 0);
    EXPECT_NE(daemon->log().find("acc-bill"), std::string::npos) << "the wait is logged with the account";
}

TEST_F(M3terOutageE2E, AnAccountM3terDoesNotKnowFailsTheFilterAndTheBillIsProcessed) {
    ASSERT_EQ(daemon->post_bill(envelope("billing.bill.created",
                                         bill_json("b-stranger", 1, "acc-unknown", {{"USAGE", "1.00", "", ""}})))
                  .status,
              202);
    ASSERT_TRUE(DaemonProcess::eventually([&] { return current_version("b-stranger")["processed"] == true; }))
        << daemon->log();
    EXPECT_EQ(metric("meterbridge_bill_versions_waiting_on_m3ter"), 0);
}

TEST_F(M3terOutageE2E, AnIdOnlyDeliveryWhoseFetchFailsIs503AndTheRetryIsBilled) {
    fake->put_bill("b-by-id", bill_json("b-by-id", 1, "acc-bill", {{"USAGE", "1.23", "prod-compute", ""}}));
    const std::string delivery =
        R"({"id":"evt-1","eventName":"billing.bill.created","m3terEvent":{"eventData":{"id":"b-by-id"}}})";
    fake->fail_next(503);
    const HttpAnswer refused = daemon->post_bill(delivery);
    EXPECT_EQ(refused.status, 503) << refused.body;
    EXPECT_NE(refused.body.find("b-by-id"), std::string::npos) << refused.body;

    // m3ter retries the delivery.
    const HttpAnswer accepted = daemon->post_bill(delivery);
    ASSERT_EQ(accepted.status, 202) << accepted.body;
    EXPECT_TRUE(DaemonProcess::eventually([&] { return azure_units(kSubBill) == 123; })) << daemon->log();
}

TEST_F(M3terOutageE2E, ASlowM3terDoesNotStallHealthOrOtherDeliveries) {
    fake->put_bill("b-slow", bill_json("b-slow", 1, "acc-bill", {{"USAGE", "0.10", "prod-compute", ""}}));
    // More slow id-only deliveries than the server has I/O threads.
    constexpr int kSlow = 4;
    fake->delay_next(std::chrono::seconds(4), kSlow);
    const std::string delivery =
        R"({"id":"evt-s","eventName":"billing.bill.updated","m3terEvent":{"eventData":{"id":"b-slow"}}})";
    std::vector<std::future<HttpAnswer>> slow;
    for (int i = 0; i < kSlow; ++i) {
        // Concurrent sends go out on separate connections, as m3ter's would.
        slow.push_back(std::async(std::launch::async, [&] { return daemon->post_bill(delivery); }));
    }
    const auto fetches = [&] { return fake->requests_for("/organizations/org-1/bills/b-slow"); };
    // Two waiting fetches are enough to hold both I/O threads if they ran there.
    ASSERT_TRUE(DaemonProcess::eventually([&] { return fetches() >= 2; }, std::chrono::seconds(3)))
        << "the fetches did not start";

    auto started = std::chrono::steady_clock::now();
    const HttpAnswer health = daemon->get("/healthz");
    const auto health_took = std::chrono::steady_clock::now() - started;
    EXPECT_EQ(health.status, 200) << health.body;
    EXPECT_LT(health_took, std::chrono::seconds(1));
    RecordProperty("healthz_ms", static_cast<int>(ms_of(health_took)));

    started = std::chrono::steady_clock::now();
    const HttpAnswer normal = daemon->post_bill(envelope(
        "billing.bill.created", bill_json("b-normal", 1, "acc-prod", {{"USAGE", "0.20", "prod-compute", ""}})));
    const auto normal_took = std::chrono::steady_clock::now() - started;
    EXPECT_EQ(normal.status, 202) << normal.body;
    EXPECT_LT(normal_took, std::chrono::seconds(1));
    RecordProperty("delivery_ms", static_cast<int>(ms_of(normal_took)));

    // The slow ones are answered once m3ter answers: one new version, repeats.
    int created = 0;
    for (auto& answer : slow) {
        const HttpAnswer result = answer.get();
        EXPECT_TRUE(result.status == 202 || result.status == 200) << result.status << " " << result.body;
        created += result.status == 202 ? 1 : 0;
    }
    EXPECT_EQ(created, 1);
}

}  // namespace
}  // namespace meterbridge::testing
