// The real client stack (HttpClient, TokenProvider, MeteringClient) against
// the sandbox on 127.0.0.1.
#include "meterbridge/azure/metering_client.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "azure_test_support.hpp"

namespace meterbridge::azure {
namespace {

using namespace std::chrono_literals;
using sandbox::Sandbox;
using sandbox::SandboxCatalog;
using sandbox::SandboxOptions;
using testing::at;

constexpr const char* kResource = "11111111-2222-3333-4444-555555555555";
constexpr const char* kSecret = "the-client-secret-xyz";

class ClientAgainstSandbox : public ::testing::Test {
protected:
    void SetUp() override {
        SandboxOptions options;
        options.core.client_secret = kSecret;
        options.core.catalog = *SandboxCatalog::parse(
            R"({"subscriptions":[{"resourceId":"11111111-2222-3333-4444-555555555555","planId":"plan1"}],
                "plans":[{"planId":"plan1","dimensions":["dim1","dim2","dim3"]}]})");
        options.base_clock = &clock;  // the sandbox and the client share one controlled clock
        auto started = Sandbox::start(std::move(options));
        ASSERT_TRUE(started.ok()) << started.error().message;
        sandbox = std::move(*started);
        make_client(kSecret);
    }

    void make_client(const std::string& secret, bool v2 = true) {
        metering.reset();
        tokens = std::make_unique<TokenProvider>(
            TokenProviderOptions{sandbox->token_url("tenant-1", v2), "client-1", secret, std::string(kMarketplaceResourceId), 5min, {}},
            http, clock, &log);
        MeteringClientOptions options;
        options.base_url = sandbox->base_url();
        options.request_timeout = 1500ms;
        options.deadline = 30s;
        metering = std::make_unique<MeteringClient>(options, http, *tokens, clock, &log,
                                                    RetryHooks{[] { return 0.0; }, [this](Duration d) { sleeps.push_back(d); }});
    }

    UsageEventRequest event(const char* dimension, std::int64_t quantity, const char* start = "2026-01-01T09:00:00Z",
                            std::string resource = kResource) {
        return UsageEventRequest{std::move(resource), "plan1", dimension, quantity, at(start)};
    }
    void fault(const std::string& body) {
        auto answer = http.send(testing::post_json(sandbox->base_url() + "/_sandbox/faults", body));
        ASSERT_TRUE(answer.ok());
        ASSERT_EQ(answer->status, 201);
    }

    testing::ManualClock clock{at("2026-01-01T10:15:00Z")};
    testing::MemoryExchangeLog log;
    net::HttpClient http{net::HttpClientOptions{2s, 5s, {}, 1 << 20, 30s, 4}};
    std::unique_ptr<Sandbox> sandbox;
    std::unique_ptr<TokenProvider> tokens;
    std::unique_ptr<MeteringClient> metering;
    std::vector<Duration> sleeps;
};

TEST_F(ClientAgainstSandbox, EveryPerEventStatusIsMappedToItsRequest) {
    std::vector<UsageEventRequest> first = {event("dim1", 5)};
    ASSERT_EQ(metering->post_batch(first).kind, BatchOutcomeKind::Answered);
    const std::vector<UsageEventRequest> events = {
        event("dim1", 5, "2026-01-01T09:30:00Z"),                                   // Duplicate
        event("dim2", 0),                                                           // InvalidQuantity
        event("dim3", 2, "2025-12-31T09:00:00Z"),                                   // Expired
        event("nope", 1),                                                           // InvalidDimension
        event("dim1", 1, "2026-01-01T09:00:00Z", "99999999-0000-0000-0000-000000000000"),  // ResourceNotFound
        event("dim3", 4, "2026-01-01T10:00:00Z"),                                   // Accepted
    };
    const auto outcome = metering->post_batch(events);
    ASSERT_EQ(outcome.kind, BatchOutcomeKind::Answered) << outcome.error;
    const std::vector<UsageEventStatus> expected = {UsageEventStatus::Duplicate, UsageEventStatus::InvalidQuantity,
                                                    UsageEventStatus::Expired, UsageEventStatus::InvalidDimension,
                                                    UsageEventStatus::ResourceNotFound, UsageEventStatus::Accepted};
    for (std::size_t i = 0; i < events.size(); ++i) {
        ASSERT_TRUE(outcome.results[i].has_value()) << i;
        EXPECT_EQ(outcome.results[i]->status, expected[i]) << i << " " << outcome.results[i]->status_text;
    }
    ASSERT_TRUE(outcome.results[0]->accepted_message.has_value());
    EXPECT_EQ(outcome.results[0]->accepted_message->quantity, Decimal::from_integer(5));
    EXPECT_FALSE(outcome.results[5]->usage_event_id.empty());
    EXPECT_TRUE(outcome.unmatched.empty());
}

TEST_F(ClientAgainstSandbox, A429WithRetryAfterIsHonouredThenSucceeds) {
    fault(R"({"kind":"status","status":429,"retry_after_s":2,"count":2})");
    const auto outcome = metering->post_batch(std::vector{event("dim1", 3)});
    EXPECT_EQ(outcome.kind, BatchOutcomeKind::Answered);
    EXPECT_EQ(outcome.attempts, 3);
    EXPECT_EQ(sleeps, (std::vector<Duration>{2000ms, 2000ms}));
    EXPECT_EQ(sandbox->core().events().size(), 1U);
}

TEST_F(ClientAgainstSandbox, ServerErrorsAreRetried) {
    fault(R"({"kind":"status","status":500})");
    fault(R"({"kind":"status","status":503})");
    const auto outcome = metering->post_batch(std::vector{event("dim1", 3)});
    EXPECT_EQ(outcome.kind, BatchOutcomeKind::Answered);
    EXPECT_EQ(outcome.attempts, 3);
    EXPECT_EQ(sleeps.size(), 2U);
}

TEST_F(ClientAgainstSandbox, ADelayBeyondTheReadTimeoutIsAnUnknownOutcome) {
    fault(R"({"kind":"delay_ms","delay_ms":2500})");
    const auto start = std::chrono::steady_clock::now();
    const auto outcome = metering->post_batch(std::vector{event("dim1", 3)});
    EXPECT_EQ(outcome.kind, BatchOutcomeKind::MayHold) << outcome.error;
    EXPECT_LT(std::chrono::steady_clock::now() - start, 2400ms);
    EXPECT_EQ(outcome.attempts, 1);
}

TEST_F(ClientAgainstSandbox, AResetIsAnUnknownOutcome) {
    fault(R"({"kind":"reset"})");
    const auto outcome = metering->post_batch(std::vector{event("dim1", 3)});
    EXPECT_EQ(outcome.kind, BatchOutcomeKind::MayHold);
    EXPECT_TRUE(sandbox->core().events().empty());
    const auto again = metering->post_batch(std::vector{event("dim1", 3)});
    ASSERT_EQ(again.kind, BatchOutcomeKind::Answered);
    EXPECT_EQ(again.results[0]->status, UsageEventStatus::Accepted);
}

TEST_F(ClientAgainstSandbox, ADroppedResponseThenAResendGivesDuplicateWithTheSameQuantity) {
    fault(R"({"kind":"drop_response"})");
    const std::vector events = {event("dim1", 42)};
    const auto lost = metering->post_batch(events);
    EXPECT_EQ(lost.kind, BatchOutcomeKind::MayHold);
    const auto resent = metering->post_batch(events);
    ASSERT_EQ(resent.kind, BatchOutcomeKind::Answered);
    ASSERT_EQ(resent.results[0]->status, UsageEventStatus::Duplicate);
    EXPECT_EQ(resent.results[0]->accepted_message->quantity, Decimal::from_integer(42));
    EXPECT_EQ(sandbox->core().events().size(), 1U);
}

TEST_F(ClientAgainstSandbox, TokensAreCachedAndRefreshedBeforeExpiry) {
    ASSERT_EQ(metering->post_batch(std::vector{event("dim1", 1)}).kind, BatchOutcomeKind::Answered);
    ASSERT_EQ(metering->post_batch(std::vector{event("dim2", 1)}).kind, BatchOutcomeKind::Answered);
    EXPECT_EQ(sandbox->core().token_requests(), 1U);
    clock.advance(56min);  // inside the 5-minute margin of a 60-minute token
    ASSERT_EQ(metering->post_batch(std::vector{event("dim1", 1, "2026-01-01T11:00:00Z")}).kind, BatchOutcomeKind::Answered);
    EXPECT_EQ(sandbox->core().token_requests(), 2U);
}

TEST_F(ClientAgainstSandbox, A403ForAnExpiredTokenRefreshesAndRetriesOnce) {
    ASSERT_EQ(metering->post_batch(std::vector{event("dim1", 1)}).kind, BatchOutcomeKind::Answered);
    // Only the sandbox's time jumps: our cached token looks fresh to us but Azure rejects it.
    sandbox->clock().set(at("2026-01-01T11:16:00Z"));
    const auto outcome = metering->post_batch(std::vector{event("dim2", 1, "2026-01-01T11:00:00Z")});
    EXPECT_EQ(outcome.kind, BatchOutcomeKind::Answered) << outcome.error;
    EXPECT_TRUE(outcome.token_refreshed);
    EXPECT_EQ(outcome.attempts, 2);
    EXPECT_EQ(sandbox->core().token_requests(), 2U);
}

TEST_F(ClientAgainstSandbox, V1TokenUrlsWork) {
    make_client(kSecret, false);
    EXPECT_EQ(metering->post_batch(std::vector{event("dim1", 1)}).kind, BatchOutcomeKind::Answered);
}

TEST_F(ClientAgainstSandbox, AWrongSecretIsAClearErrorWithoutTheSecret) {
    make_client("wrong-secret-abc");
    const auto outcome = metering->post_batch(std::vector{event("dim1", 1)});
    EXPECT_EQ(outcome.kind, BatchOutcomeKind::TokenError);
    EXPECT_NE(outcome.error.find("401"), std::string::npos);
    EXPECT_NE(outcome.error.find("invalid_client"), std::string::npos);
    EXPECT_NE(outcome.error.find("AADSTS7000215"), std::string::npos);
    EXPECT_EQ(outcome.error.find("wrong-secret-abc"), std::string::npos);
    EXPECT_EQ(log.dump().find("wrong-secret-abc"), std::string::npos);
    EXPECT_EQ(sandbox->core().api_requests(), 0U);
}

TEST_F(ClientAgainstSandbox, TwentySixEventsAreRefusedBeforeSending) {
    std::vector<UsageEventRequest> events;
    for (int i = 0; i < 26; ++i) events.push_back(event("dim1", 1));
    EXPECT_THROW(metering->post_batch(events), std::invalid_argument);
    EXPECT_EQ(sandbox->core().api_requests(), 0U);
}

TEST_F(ClientAgainstSandbox, TheExchangeLogGetsRedactedRecords) {
    ASSERT_EQ(metering->post_batch(std::vector{event("dim1", 1)}).kind, BatchOutcomeKind::Answered);
    const auto records = log.records();
    ASSERT_EQ(records.size(), 2U);
    EXPECT_EQ(records[0].kind, ExchangeKind::Token);
    EXPECT_EQ(records[1].kind, ExchangeKind::Azure);
    EXPECT_EQ(records[1].status, 200);
    EXPECT_FALSE(records[1].request_id.empty());
    EXPECT_FALSE(records[1].correlation_id.empty());
    EXPECT_NE(records[1].request_body.find("\"quantity\":1"), std::string::npos);
    EXPECT_NE(records[1].response_body.find("Accepted"), std::string::npos);
    const std::string access_token = *tokens->access_token();
    const std::string everything = log.dump();
    EXPECT_EQ(everything.find(kSecret), std::string::npos);
    EXPECT_EQ(everything.find(access_token), std::string::npos);
    EXPECT_NE(everything.find("Bearer [redacted]"), std::string::npos);
}

TEST_F(ClientAgainstSandbox, NothingListeningIsNotSent) {
    const auto url = sandbox->base_url();
    sandbox.reset();
    net::HttpClient fresh;
    auto answer = fresh.send(testing::get(url + "/api/usageEvents"));
    ASSERT_FALSE(answer.ok());
    EXPECT_EQ(answer.error().code, net::kNotSent);
}

}  // namespace
}  // namespace meterbridge::azure
