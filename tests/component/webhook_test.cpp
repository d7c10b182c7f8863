// The webhook intake through the Router (no daemon): signature, content
// type, parsing, fetch-by-id from a fake m3ter API on loopback, and the
// durable record in an in-memory store before the answer.
#include "intake/webhook_handler.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <future>

#include "azure_test_support.hpp"
#include "fake_m3ter.hpp"
#include "meterbridge/m3ter/signature.hpp"

namespace meterbridge::app {
namespace {

using meterbridge::testing::at;
using meterbridge::testing::ManualClock;

constexpr const char* kUrl = "https://bridge.example.test";

class WebhookTest : public ::testing::Test {
protected:
    WebhookTest() {
        config.server.public_base_url = kUrl;
        config.webhook.api_key = Secret("key-1", "literal");
        config.webhook.api_secret = Secret("secret-1", "literal");
        config.server.trusted_proxies = {parse_cidr("10.0.0.0/8").value()};
    }

    void start(m3ter::ApiClient* m3ter = nullptr) {
        committer = std::make_unique<DeliveryCommitter>(*store);
        context = std::make_unique<WebhookContext>(
            WebhookContext{config.webhook, config.server, *committer, clock, m3ter, [this] { ++wakes; }, &fetchers});
        context->responses = &responses;
        add_webhook_route(router, *context);
    }

    net::HttpResponse post(const std::string& body, const std::string& content_type = "application/json",
                           std::optional<std::string> secret = std::string("secret-1")) {
        return dispatch(body, content_type, secret).get();
    }

    // Hands the request to the router as an I/O thread would; the answer comes later.
    std::future<net::HttpResponse> dispatch(const std::string& body,
                                            const std::string& content_type = "application/json",
                                            std::optional<std::string> secret = std::string("secret-1")) {
        net::HttpRequest request;
        request.method = "POST";
        request.target = request.path = "/webhooks/m3ter";
        request.remote_address = "10.1.2.3";
        request.headers.set("X-Forwarded-For", "198.51.100.7, 10.9.9.9");
        request.headers.set("Content-Type", content_type);
        const std::string timestamp = "1767258000";  // the clock's now
        request.headers.set("X-m3ter-apikey", "key-1");
        request.headers.set("X-m3ter-timestamp", timestamp);
        if (secret) {
            m3ter::WebhookConfig signer = config.webhook;
            signer.api_secret = Secret(*secret, "literal");
            request.headers.set("X-m3ter-signature",
                                m3ter::sign(signer, std::string(kUrl) + "/webhooks/m3ter", timestamp, body));
        }
        request.body = body;
        // The answer may come from the committer's thread, after the commit.
        auto answer = std::make_shared<std::promise<net::HttpResponse>>();
        auto future = answer->get_future();
        router.dispatch(request, [answer](net::HttpResponse response) { answer->set_value(std::move(response)); });
        return future;
    }

    std::unique_ptr<m3ter::ApiClient> m3ter_client(const meterbridge::testing::FakeM3ter& fake,
                                                   const std::string& secret = "client-secret-1") {
        m3ter::ApiClientOptions options;
        options.base_url = fake.base_url();
        options.org_id = "org-1";
        options.client_id = "client-id-1";
        options.client_secret = secret;
        return std::make_unique<m3ter::ApiClient>(options, http, clock);
    }

    // The config sections the webhook route reads.
    struct {
        m3ter::WebhookConfig webhook;
        net::ServerConfig server;
    } config;
    ManualClock clock{at("2026-01-01T09:00:00Z")};
    std::unique_ptr<store::Store> store = store::open_sqlite_store(":memory:");
    std::unique_ptr<DeliveryCommitter> committer;
    ResponseCounts responses;  // before the context, which points at it
    std::unique_ptr<WebhookContext> context;
    net::HttpClient http;
    net::Router router;
    WorkerPool fetchers;  // declared last: stopped first, before what its jobs use
    std::atomic<int> wakes = 0;
};

const std::string kBill =
    R"({"id":"b-1","version":2,"accountId":"acc-1","currency":"USD","lineItems":[{"lineItemType":"USAGE","subtotal":9.985}]})";

TEST_F(WebhookTest, ANewVersionIsStoredBeforeTheAnswerAndARepeatChangesNothing) {
    start();
    const auto first = post(kBill);
    EXPECT_EQ(first.status, 202) << first.body;
    EXPECT_EQ(wakes, 1);
    auto versions = store->bill_versions("b-1");
    ASSERT_TRUE(versions.ok());
    ASSERT_EQ(versions->size(), 1u);
    EXPECT_NE(versions->front().bill_json.find("9.985"), std::string::npos);  // exact amount kept
    const auto again = post(kBill);
    EXPECT_EQ(again.status, 200) << again.body;
    EXPECT_EQ(store->bill_versions("b-1")->size(), 1u);
    const auto delivery = store->delivery(1);
    ASSERT_TRUE(delivery.ok());
    EXPECT_EQ(delivery->remote_addr, "198.51.100.7");  // the last untrusted X-Forwarded-For hop
}

TEST_F(WebhookTest, ADeliveryThatCannotBeStoredGets503AndNothingIsAcknowledged) {
    start();
    committer->stop();  // the commit path is gone: nothing can become durable
    const auto answer = post(kBill);
    EXPECT_EQ(answer.status, 503) << answer.body;
    EXPECT_EQ(wakes, 0);
    EXPECT_EQ(store->bill_detail("b-1").error().code, store::kNotFound);
}

// Issue 18: every answer is counted by status class for
// meterbridge_webhook_responses_total (the 5xx alert).
TEST_F(WebhookTest, EveryAnswerIsCountedByItsStatusClass) {
    start();
    EXPECT_EQ(post(kBill).status, 202);
    EXPECT_EQ(post(kBill, "text/plain").status, 415);
    EXPECT_EQ(post(kBill, "application/json", std::string("wrong")).status, 401);
    committer->stop();
    EXPECT_EQ(post(kBill).status, 503);
    EXPECT_EQ(responses.of_class(2), 1U);
    EXPECT_EQ(responses.of_class(4), 2U);
    EXPECT_EQ(responses.of_class(5), 1U);
    EXPECT_EQ(responses.of_class(3), 0U);
    EXPECT_EQ(responses.of_class(9), 0U);
}

TEST_F(WebhookTest, BadRequestsGetTheirStatusAndAreNotStoredAsBills) {
    start();
    EXPECT_EQ(post(kBill, "text/plain").status, 415);
    EXPECT_EQ(post(kBill, "application/json", std::string("wrong")).status, 401);
    EXPECT_EQ(post(kBill, "application/json", std::nullopt).status, 401);
    const auto malformed = post(R"({"id":)");
    EXPECT_EQ(malformed.status, 400);
    const auto invalid = post(R"({"id":"b-2","version":1,"accountId":"a","currency":"USD","lineItems":[{"subtotal":1}]})");
    EXPECT_EQ(invalid.status, 400);
    EXPECT_NE(invalid.body.find("lineItems[0].lineItemType"), std::string::npos) << invalid.body;
    EXPECT_EQ(store->bill_detail("b-2").error().code, store::kNotFound);
    EXPECT_EQ(wakes, 0);
}

TEST_F(WebhookTest, AnIdOnlyDeliveryIsFetchedFromM3ter) {
    meterbridge::testing::FakeM3ter fake(clock);
    fake.put_bill("b-9", R"({"id":"b-9","version":4,"accountId":"acc-1","currency":"USD",
                             "lineItems":[{"lineItemType":"USAGE","subtotal":0.29}]})");
    const auto client = m3ter_client(fake);
    start(client.get());
    const auto answer = post(R"({"id":"evt-1","eventName":"billing.bill.updated","m3terEvent":{"eventData":{"id":"b-9"}}})");
    EXPECT_EQ(answer.status, 202) << answer.body;
    const auto versions = store->bill_versions("b-9");
    ASSERT_TRUE(versions.ok());
    ASSERT_EQ(versions->size(), 1u);
    EXPECT_EQ(versions->front().version, 4);
    EXPECT_NE(versions->front().bill_json.find("0.29"), std::string::npos);
    // Unknown to m3ter: a clear 400, nothing stored.
    const auto missing = post(R"({"id":"evt-2","eventName":"billing.bill.updated","m3terEvent":{"eventData":{"id":"b-x"}}})");
    EXPECT_EQ(missing.status, 400) << missing.body;
    EXPECT_NE(missing.body.find("b-x"), std::string::npos);
}

// Issue 14: a fetch that failed because m3ter was down was answered 400, so
// m3ter never sent the delivery again and the bill was lost.
TEST_F(WebhookTest, AnIdOnlyDeliveryWhoseFetchFailsIs503AndNothingIsStored) {
    meterbridge::testing::FakeM3ter fake(clock);
    fake.put_bill("b-9", R"({"id":"b-9","version":4,"accountId":"acc-1","currency":"USD",
                             "lineItems":[{"lineItemType":"USAGE","subtotal":0.29}]})");
    const auto client = m3ter_client(fake);
    start(client.get());
    const std::string delivery =
        R"({"id":"evt-1","eventName":"billing.bill.updated","m3terEvent":{"eventData":{"id":"b-9"}}})";
    for (const int status : {503, 500, 429}) {
        fake.fail_next(status);
        const auto answer = post(delivery);
        EXPECT_EQ(answer.status, 503) << status << ": " << answer.body;
        EXPECT_NE(answer.body.find("b-9"), std::string::npos) << answer.body;
        EXPECT_NE(answer.body.find("\"field\":\"id\""), std::string::npos) << answer.body;
    }
    EXPECT_EQ(store->bill_detail("b-9").error().code, store::kNotFound);
    EXPECT_FALSE(store->delivery(1).ok()) << "an unanswered fetch stores nothing";
    EXPECT_EQ(wakes, 0);

    const auto retried = post(delivery);  // m3ter sends it again
    EXPECT_EQ(retried.status, 202) << retried.body;
    EXPECT_EQ(store->bill_versions("b-9")->size(), 1u);
}

TEST_F(WebhookTest, ARefusedM3terTokenIs503Too) {
    meterbridge::testing::FakeM3ter fake(clock);
    fake.put_bill("b-9", kBill);
    const auto client = m3ter_client(fake, "wrong-secret");
    start(client.get());
    const auto answer =
        post(R"({"id":"evt-1","eventName":"billing.bill.updated","m3terEvent":{"eventData":{"id":"b-9"}}})");
    EXPECT_EQ(answer.status, 503) << answer.body;
}

// The fetch ran inside the handler, on the HTTP I/O thread: a slow m3ter
// stalled /healthz and every other delivery behind it.
TEST_F(WebhookTest, TheFetchNeverRunsOnTheCallingThread) {
    meterbridge::testing::FakeM3ter fake(clock);
    fake.put_bill("b-9", R"({"id":"b-9","version":4,"accountId":"acc-1","currency":"USD",
                             "lineItems":[{"lineItemType":"USAGE","subtotal":0.29}]})");
    const auto client = m3ter_client(fake);
    start(client.get());
    fake.delay_next(std::chrono::seconds(2));
    const auto started = std::chrono::steady_clock::now();
    auto answer = dispatch(R"({"id":"evt-1","eventName":"billing.bill.updated","m3terEvent":{"eventData":{"id":"b-9"}}})");
    EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::milliseconds(500)) << "the handler blocked";
    EXPECT_EQ(post(kBill).status, 202) << "another delivery is not held up";
    EXPECT_EQ(answer.wait_for(std::chrono::milliseconds(0)), std::future_status::timeout);
    EXPECT_EQ(answer.get().status, 202);
}

TEST_F(WebhookTest, WithoutAnM3terApiAnIdOnlyDeliveryIsRefusedButADeletionNeedsNoFetch) {
    start();
    EXPECT_EQ(post(R"({"id":"e","eventName":"billing.bill.created","m3terEvent":{"eventData":{"id":"b-3"}}})").status, 400);
    EXPECT_EQ(post(kBill).status, 202);
    const auto deleted = post(R"({"id":"e2","eventName":"billing.bill.deleted","m3terEvent":{"eventData":{"id":"b-1"}}})");
    EXPECT_LT(deleted.status, 300) << deleted.body;
    const auto pending = store->pending_bill_versions();
    ASSERT_TRUE(pending.ok());
    ASSERT_EQ(pending->size(), 1u);
    EXPECT_TRUE(pending->front().deleted);
}

TEST(ClientAddress, ForwardedForIsBelievedOnlyFromTrustedProxies) {
    const std::vector<Cidr> trusted = {parse_cidr("127.0.0.1/32").value(), parse_cidr("10.0.0.0/8").value()};
    net::HttpRequest request;
    request.remote_address = "203.0.113.5";
    request.headers.set("X-Forwarded-For", "1.2.3.4");
    EXPECT_EQ(client_address(request, trusted), "203.0.113.5");  // not a proxy: header ignored
    request.remote_address = "127.0.0.1";
    EXPECT_EQ(client_address(request, trusted), "1.2.3.4");
    request.headers.set("X-Forwarded-For", "6.6.6.6, 1.2.3.4, 10.0.0.2");
    EXPECT_EQ(client_address(request, trusted), "1.2.3.4");  // a client cannot spoof past the first untrusted hop
    request.headers.set("X-Forwarded-For", "garbage");
    EXPECT_EQ(client_address(request, trusted), "127.0.0.1");
}

}  // namespace
}  // namespace meterbridge::app
