#include "meterbridge/azure/metering_client.hpp"

#include <regex>
#include <stdexcept>

#include <gtest/gtest.h>

#include "azure_test_support.hpp"
#include "meterbridge/azure/wire_format.hpp"
#include "scripted_transport.hpp"

namespace meterbridge::azure {
namespace {

using namespace std::chrono_literals;
using testing::at;
using testing::ManualClock;
using testing::ScriptedTransport;

UsageEventRequest event(std::string resource, const char* start, std::int64_t quantity = 5) {
    return UsageEventRequest{std::move(resource), "plan1", "dim1", quantity, at(start)};
}

std::string accepted(const UsageEventRequest& e, const std::string& id) {
    return R"({"usageEventId":")" + id + R"(","status":"Accepted","messageTime":"2026-01-01T10:00:01.0000000Z","resourceId":")" +
           e.resource_id + R"(","quantity":)" + std::to_string(e.quantity) + R"(.0,"dimension":")" + e.dimension +
           R"(","effectiveStartTime":")" + format_iso8601(e.effective_start_time) + R"(","planId":"plan1"})";
}

// The client under test with a scripted Azure, a scripted Entra, a manual
// clock whose "sleep" advances it, and recorded sleeps.
struct Harness {
    ManualClock clock{at("2026-01-01T10:00:00Z")};
    ScriptedTransport azure;
    ScriptedTransport entra;
    testing::MemoryExchangeLog log;
    std::vector<Duration> sleeps;
    TokenProvider tokens{TokenProviderOptions{"https://login.example/t/oauth2/v2.0/token", "c", "s", std::string(kMarketplaceResourceId), 5min, {}},
                         entra, clock, &log};
    MeteringClientOptions options = [] {
        MeteringClientOptions o;
        o.base_url = "https://marketplace.example/";
        o.deadline = 60s;
        o.backoff = BackoffPolicy{1000ms, 8000ms};
        return o;
    }();
    std::unique_ptr<MeteringClient> client;

    Harness() {
        entra.then_answer(200, R"({"expires_in":3600,"access_token":"tok-1"})");
        entra.then_answer(200, R"({"expires_in":3600,"access_token":"tok-2"})");
    }
    MeteringClient& make() {
        client = std::make_unique<MeteringClient>(options, azure, tokens, clock, &log,
                                                  RetryHooks{[] { return 0.0; }, [this](Duration d) {
                                                                 sleeps.push_back(d);
                                                                 clock.advance(d);
                                                             }});
        return *client;
    }
};

TEST(MeteringClient, SendsTheBatchWithIdsTokenAndApiVersion) {
    Harness h;
    const std::vector events = {event("r1", "2026-01-01T09:00:00Z")};
    h.azure.then_answer(200, "{\"count\":1,\"result\":[" + accepted(events[0], "u1") + "]}");
    const auto outcome = h.make().post_batch(events);
    ASSERT_EQ(outcome.kind, BatchOutcomeKind::Answered) << outcome.error;
    const auto sent = h.azure.sent();
    ASSERT_EQ(sent.size(), 1U);
    EXPECT_EQ(sent[0].method, "POST");
    EXPECT_EQ(sent[0].url, "https://marketplace.example/api/batchUsageEvent?api-version=2018-08-31");
    EXPECT_EQ(sent[0].headers.get("authorization"), "Bearer tok-1");
    EXPECT_EQ(sent[0].headers.get("content-type"), "application/json");
    const std::regex guid("[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}");
    EXPECT_TRUE(std::regex_match(*sent[0].headers.get("x-ms-requestid"), guid));
    EXPECT_TRUE(std::regex_match(*sent[0].headers.get("x-ms-correlationid"), guid));
    EXPECT_EQ(sent[0].body, encode_batch(events));
    ASSERT_TRUE(outcome.results[0].has_value());
    EXPECT_EQ(outcome.results[0]->usage_event_id, "u1");
}

TEST(MeteringClient, MatchesResultsToRequestsNotByPosition) {
    const std::vector events = {event("r1", "2026-01-01T09:00:00Z"), event("R2", "2026-01-01T09:00:00Z"),
                                event("r1", "2026-01-01T08:00:00Z")};
    std::vector<UsageEventResult> answer(3);
    answer[0].resource_id = "r1";
    answer[0].dimension = "dim1";
    answer[0].effective_start_time = at("2026-01-01T08:00:00Z");
    answer[0].usage_event_id = "third";
    answer[1].resource_id = "r2";  // Azure may change the case of GUIDs
    answer[1].dimension = "dim1";
    answer[1].effective_start_time = at("2026-01-01T09:12:00Z");  // a Duplicate echoes the held event's time
    answer[1].usage_event_id = "second";
    answer[2].resource_id = "r9";
    answer[2].dimension = "dim1";
    answer[2].effective_start_time = at("2026-01-01T09:00:00Z");
    BatchOutcome outcome;
    MeteringClient::match_results(events, answer, outcome);
    ASSERT_EQ(outcome.results.size(), 3U);
    EXPECT_FALSE(outcome.results[0].has_value());
    EXPECT_EQ(outcome.results[1]->usage_event_id, "second");
    EXPECT_EQ(outcome.results[2]->usage_event_id, "third");
    ASSERT_EQ(outcome.unmatched.size(), 1U);
    EXPECT_EQ(outcome.unmatched[0].resource_id, "r9");
}

TEST(MeteringClient, HonoursRetryAfterOn429AndKeepsTheCorrelationId) {
    Harness h;
    h.options.longest_wait = 10s;
    const std::vector events = {event("r1", "2026-01-01T09:00:00Z")};
    net::Headers retry_after;
    retry_after.add("Retry-After", "7");
    h.azure.then_answer(429, "{}", retry_after);
    h.azure.then_answer(200, "{\"count\":1,\"result\":[" + accepted(events[0], "u1") + "]}");
    const auto outcome = h.make().post_batch(events);
    EXPECT_EQ(outcome.kind, BatchOutcomeKind::Answered);
    EXPECT_EQ(outcome.attempts, 2);
    EXPECT_EQ(h.sleeps, std::vector<Duration>{7000ms});
    const auto sent = h.azure.sent();
    EXPECT_EQ(sent[0].headers.get("x-ms-correlationid"), sent[1].headers.get("x-ms-correlationid"));
    EXPECT_NE(sent[0].headers.get("x-ms-requestid"), sent[1].headers.get("x-ms-requestid"));
}

TEST(MeteringClient, Retries5xxAndNotSentWithExponentialBackoff) {
    Harness h;
    const std::vector events = {event("r1", "2026-01-01T09:00:00Z")};
    h.azure.then_answer(500, "{}");
    h.azure.then_fail(net::kNotSent);
    h.azure.then_answer(503, "{}");
    h.azure.then_answer(200, "{\"count\":1,\"result\":[" + accepted(events[0], "u1") + "]}");
    const auto outcome = h.make().post_batch(events);
    EXPECT_EQ(outcome.kind, BatchOutcomeKind::Answered);
    EXPECT_EQ(outcome.attempts, 4);
    EXPECT_EQ(h.sleeps, (std::vector<Duration>{500ms, 1000ms, 2000ms}));  // random01 = 0: half of 1, 2, 4 s
}

TEST(MeteringClient, StopsAtTheDeadline) {
    Harness h;
    h.options.deadline = 10s;
    h.options.max_attempts = 100;
    for (int i = 0; i < 100; ++i) h.azure.then_answer(503, R"({"code":"ServiceUnavailable"})");
    const auto outcome = h.make().post_batch(std::vector{event("r1", "2026-01-01T09:00:00Z")});
    // A 5xx may come from a gateway after Azure recorded the batch.
    EXPECT_EQ(outcome.kind, BatchOutcomeKind::MayHold);
    EXPECT_TRUE(outcome.may_hold);
    EXPECT_EQ(outcome.http_status, 503);
    EXPECT_EQ(outcome.body, R"({"code":"ServiceUnavailable"})");
    Duration slept{0};
    for (auto d : h.sleeps) slept += d;
    EXPECT_LT(slept, 10s);
    EXPECT_LE(outcome.attempts, 5);
}

TEST(MeteringClient, OutcomeUnknownIsReturnedAtOnce) {
    Harness h;
    h.azure.then_fail(net::kOutcomeUnknown);
    const auto outcome = h.make().post_batch(std::vector{event("r1", "2026-01-01T09:00:00Z")});
    EXPECT_EQ(outcome.kind, BatchOutcomeKind::MayHold);
    EXPECT_TRUE(outcome.may_hold);
    EXPECT_EQ(outcome.attempts, 1);
    EXPECT_TRUE(h.sleeps.empty());
}

TEST(MeteringClient, RefreshesTheTokenOnceOn401Or403) {
    for (int status : {401, 403}) {
        Harness h;
        const std::vector events = {event("r1", "2026-01-01T09:00:00Z")};
        h.azure.then_answer(status, "{}");
        h.azure.then_answer(200, "{\"count\":1,\"result\":[" + accepted(events[0], "u1") + "]}");
        const auto outcome = h.make().post_batch(events);
        EXPECT_EQ(outcome.kind, BatchOutcomeKind::Answered);
        EXPECT_TRUE(outcome.token_refreshed);
        EXPECT_EQ(h.azure.sent()[1].headers.get("authorization"), "Bearer tok-2");
        EXPECT_TRUE(h.sleeps.empty());
    }
    Harness h;
    h.azure.then_answer(403, "{}");
    h.azure.then_answer(403, "{}");
    const auto outcome = h.make().post_batch(std::vector{event("r1", "2026-01-01T09:00:00Z")});
    EXPECT_EQ(outcome.kind, BatchOutcomeKind::Refused);
    EXPECT_FALSE(outcome.may_hold);
    EXPECT_EQ(outcome.http_status, 403);
    EXPECT_EQ(outcome.attempts, 2);
}

TEST(MeteringClient, AnUnreadable200IsAnUnknownOutcome) {
    Harness h;
    h.azure.then_answer(200, "<html>");
    const auto outcome = h.make().post_batch(std::vector{event("r1", "2026-01-01T09:00:00Z")});
    EXPECT_EQ(outcome.kind, BatchOutcomeKind::MayHold);
    EXPECT_TRUE(outcome.may_hold);
}

// Issue 14: a gateway answered 502 after Azure recorded the batch, until the
// deadline; the daemon then treated the events as never sent.
TEST(MeteringClient, A5xxAfterWritingMeansAzureMayHoldTheEventsWhateverFollows) {
    Harness h;
    h.options.deadline = 10s;
    h.azure.then_answer(502, "<html>Bad Gateway</html>");
    for (int i = 0; i < 10; ++i) h.azure.then_fail(net::kNotSent);
    const auto outcome = h.make().post_batch(std::vector{event("r1", "2026-01-01T09:00:00Z")});
    EXPECT_EQ(outcome.kind, BatchOutcomeKind::MayHold) << outcome.error;
    EXPECT_TRUE(outcome.may_hold);
    EXPECT_GE(outcome.attempts, 2);
}

TEST(MeteringClient, AnAnswerAfterAn5xxSaysAnEarlierAttemptMayHoldTheEvents) {
    Harness h;
    const std::vector events = {event("r1", "2026-01-01T09:00:00Z")};
    h.azure.then_answer(500, "{}");
    h.azure.then_answer(200, "{\"count\":1,\"result\":[" + accepted(events[0], "u1") + "]}");
    const auto outcome = h.make().post_batch(events);
    EXPECT_EQ(outcome.kind, BatchOutcomeKind::Answered);
    EXPECT_TRUE(outcome.may_hold);

    Harness quiet;
    quiet.azure.then_answer(429, "{}");
    quiet.azure.then_answer(200, "{\"count\":1,\"result\":[" + accepted(events[0], "u1") + "]}");
    const auto throttled_first = quiet.make().post_batch(events);
    EXPECT_EQ(throttled_first.kind, BatchOutcomeKind::Answered);
    EXPECT_FALSE(throttled_first.may_hold);  // a 429 proves nothing was recorded
}

TEST(MeteringClient, ALongRetryAfterEndsTheCallAndIsReturnedToTheCaller) {
    Harness h;
    net::Headers retry_after;
    retry_after.add("Retry-After", "30");
    h.azure.then_answer(429, R"({"code":"TooManyRequests"})", retry_after);
    const auto outcome = h.make().post_batch(std::vector{event("r1", "2026-01-01T09:00:00Z")});
    EXPECT_EQ(outcome.kind, BatchOutcomeKind::Throttled);
    EXPECT_FALSE(outcome.may_hold);
    ASSERT_TRUE(outcome.retry_after.has_value());
    EXPECT_EQ(*outcome.retry_after, 30s);
    EXPECT_EQ(outcome.attempts, 1);
    EXPECT_TRUE(h.sleeps.empty());
}

TEST(MeteringClient, AWholeRequest4xxIsARefusalThatIsNotRetried) {
    for (int status : {400, 404, 409, 413}) {
        Harness h;
        h.azure.then_answer(status, R"({"message":"bad","code":"BadArgument"})");
        const auto outcome = h.make().post_batch(std::vector{event("r1", "2026-01-01T09:00:00Z")});
        EXPECT_EQ(outcome.kind, BatchOutcomeKind::Refused) << status;
        EXPECT_FALSE(outcome.may_hold);
        EXPECT_EQ(outcome.attempts, 1);
        EXPECT_EQ(outcome.body, R"({"message":"bad","code":"BadArgument"})");
    }
    Harness throttled;
    throttled.options.deadline = 5s;
    for (int i = 0; i < 20; ++i) throttled.azure.then_answer(429, "{}");
    EXPECT_EQ(throttled.make().post_batch(std::vector{event("r1", "2026-01-01T09:00:00Z")}).kind,
              BatchOutcomeKind::Throttled);
}

TEST(MeteringClient, AnswersWithoutEchoedFieldsAreMatchedByPosition) {
    const std::vector events = {event("r1", "2026-01-01T09:00:00Z"), event("r2", "2026-01-01T09:00:00Z")};
    std::vector<UsageEventResult> answer(2);
    answer[0].usage_event_id = "first";
    answer[1].usage_event_id = "second";
    answer[1].dimension = "dim1";
    BatchOutcome outcome;
    MeteringClient::match_results(events, answer, outcome);
    ASSERT_TRUE(outcome.results[0].has_value());
    ASSERT_TRUE(outcome.results[1].has_value());
    EXPECT_EQ(outcome.results[0]->usage_event_id, "first");
    EXPECT_EQ(outcome.results[1]->usage_event_id, "second");
    EXPECT_TRUE(outcome.unmatched.empty());

    // Not one entry per request: position means nothing.
    BatchOutcome short_answer;
    MeteringClient::match_results(events, std::vector<UsageEventResult>(1), short_answer);
    EXPECT_FALSE(short_answer.results[0].has_value());
    EXPECT_EQ(short_answer.unmatched.size(), 1U);
}

TEST(MeteringClient, RefusesMoreThan25EventsAndEmptyBatches) {
    Harness h;
    std::vector<UsageEventRequest> events;
    for (int i = 0; i < 26; ++i) events.push_back(event("r" + std::to_string(i), "2026-01-01T09:00:00Z"));
    EXPECT_THROW(h.make().post_batch(events), std::invalid_argument);
    EXPECT_THROW(h.make().post_batch({}), std::invalid_argument);
    EXPECT_TRUE(h.azure.sent().empty());
}

TEST(MeteringClient, ATokenFailureSendsNothing) {
    Harness h;
    ScriptedTransport entra;
    entra.then_answer(401, R"({"error":"invalid_client"})");
    TokenProvider tokens(TokenProviderOptions{"https://login.example/t/oauth2/token", "c", "s", std::string(kMarketplaceResourceId), 5min, {}},
                         entra, h.clock);
    MeteringClient client(h.options, h.azure, tokens, h.clock, nullptr, RetryHooks{[] { return 0.0; }, [](Duration) {}});
    const auto outcome = client.post_batch(std::vector{event("r1", "2026-01-01T09:00:00Z")});
    EXPECT_EQ(outcome.kind, BatchOutcomeKind::TokenError);
    EXPECT_NE(outcome.error.find("invalid_client"), std::string::npos);
    EXPECT_TRUE(h.azure.sent().empty());
}

}  // namespace
}  // namespace meterbridge::azure
