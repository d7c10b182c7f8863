#include "meterbridge/azure/token_provider.hpp"

#include <atomic>
#include <thread>

#include <gtest/gtest.h>

#include "azure_test_support.hpp"
#include "scripted_transport.hpp"

namespace meterbridge::azure {
namespace {

using namespace std::chrono_literals;
using testing::at;
using testing::ManualClock;
using testing::ScriptedTransport;

TokenProviderOptions options(std::string url = "https://login.example/tenant/oauth2/v2.0/token") {
    return TokenProviderOptions{std::move(url), "client-1", "s3cr&t", std::string(kMarketplaceResourceId), 5min, {}};
}

TEST(TokenProvider, BuildsV2AndV1Forms) {
    EXPECT_FALSE(is_v1_token_url("https://login.microsoftonline.com/t/oauth2/v2.0/token"));
    EXPECT_TRUE(is_v1_token_url("https://login.microsoftonline.com/t/oauth2/token"));
    EXPECT_TRUE(is_v1_token_url("http://127.0.0.1:9/t/oauth2/token/?x=1"));
    EXPECT_EQ(token_request_body(options()),
              "grant_type=client_credentials&client_id=client-1&client_secret=s3cr%26t&scope=20e940b3-4c77-4b0b-9a53-"
              "9e16a1b010a7%2F.default");
    EXPECT_EQ(token_request_body(options("https://login.example/t/oauth2/token")),
              "grant_type=client_credentials&client_id=client-1&client_secret=s3cr%26t&resource=20e940b3-4c77-4b0b-"
              "9a53-9e16a1b010a7");
}

TEST(TokenProvider, ParsesExpiresInAsNumberOrString) {
    const Instant now = at("2026-01-01T09:00:00Z");
    auto v2 = parse_token_response(R"({"token_type":"Bearer","expires_in":3599,"access_token":"a"})", now);
    ASSERT_TRUE(v2.ok());
    EXPECT_EQ(v2->expires_at, now + 3599s);
    auto v1 = parse_token_response(R"({"token_type":"Bearer","expires_in":"3599","access_token":"b"})", now);
    ASSERT_TRUE(v1.ok());
    EXPECT_EQ(v1->value, "b");
    EXPECT_EQ(v1->expires_at, now + 3599s);
    EXPECT_FALSE(parse_token_response(R"({"access_token":"c"})", now).ok());
    EXPECT_FALSE(parse_token_response(R"({"expires_in":"x","access_token":"c"})", now).ok());
    EXPECT_FALSE(parse_token_response("<html>", now).ok());
}

TEST(TokenProvider, CachesAndRefreshesFiveMinutesBeforeExpiry) {
    ManualClock clock(at("2026-01-01T09:00:00Z"));
    ScriptedTransport transport;
    transport.then_answer(200, R"({"expires_in":3600,"access_token":"one"})");
    transport.then_answer(200, R"({"expires_in":"3600","access_token":"two"})");
    TokenProvider tokens(options(), transport, clock);
    EXPECT_EQ(*tokens.access_token(), "one");
    clock.advance(54min + 59s);
    EXPECT_EQ(*tokens.access_token(), "one");
    EXPECT_EQ(tokens.fetch_count(), 1U);
    clock.advance(2s);  // 55:01: inside the 5-minute margin
    EXPECT_EQ(*tokens.access_token(), "two");
    EXPECT_EQ(tokens.fetch_count(), 2U);
    ASSERT_EQ(transport.sent().size(), 2U);
    EXPECT_EQ(transport.sent()[0].headers.get("content-type"), "application/x-www-form-urlencoded");
}

TEST(TokenProvider, InvalidateForcesARefreshOnlyForTheRejectedToken) {
    ManualClock clock(at("2026-01-01T09:00:00Z"));
    ScriptedTransport transport;
    transport.then_answer(200, R"({"expires_in":3600,"access_token":"one"})");
    transport.then_answer(200, R"({"expires_in":3600,"access_token":"two"})");
    TokenProvider tokens(options(), transport, clock);
    EXPECT_EQ(*tokens.access_token(), "one");
    tokens.invalidate("stale");  // not ours: kept
    EXPECT_EQ(*tokens.access_token(), "one");
    tokens.invalidate("one");
    EXPECT_EQ(*tokens.access_token(), "two");
}

TEST(TokenProvider, AWrongSecretGivesEntrasErrorButNeverTheSecret) {
    ManualClock clock(at("2026-01-01T09:00:00Z"));
    ScriptedTransport transport;
    transport.then_answer(401, R"({"error":"invalid_client","error_description":"AADSTS7000215: Invalid client secret provided. got s3cr&t"})");
    testing::MemoryExchangeLog log;
    TokenProvider tokens(options(), transport, clock, &log);
    auto token = tokens.access_token();
    ASSERT_FALSE(token.ok());
    EXPECT_EQ(token.error().code, "token_rejected");
    EXPECT_NE(token.error().message.find("AADSTS7000215"), std::string::npos);
    EXPECT_NE(token.error().message.find("401"), std::string::npos);
    EXPECT_EQ(token.error().message.find("s3cr&t"), std::string::npos);
    EXPECT_EQ(log.dump().find("s3cr%26t"), std::string::npos);
    ASSERT_EQ(log.records().size(), 1U);
    EXPECT_EQ(log.records()[0].kind, ExchangeKind::Token);
}

TEST(TokenProvider, ManyWaitingThreadsShareOneRefresh) {
    ManualClock clock(at("2026-01-01T09:00:00Z"));
    ScriptedTransport transport;
    std::atomic<bool> release{false};
    transport.then([&](const net::HttpRequestSpec&) -> Result<net::HttpExchangeResult> {
        while (!release) std::this_thread::sleep_for(1ms);
        return net::HttpExchangeResult{200, {}, R"({"expires_in":3600,"access_token":"shared"})", false};
    });
    TokenProvider tokens(options(), transport, clock);
    std::vector<std::thread> threads;
    std::atomic<int> got{0};
    for (int i = 0; i < 8; ++i) {
        threads.emplace_back([&] {
            auto token = tokens.access_token();
            if (token && *token == "shared") ++got;
        });
    }
    std::this_thread::sleep_for(50ms);
    release = true;
    for (auto& t : threads) t.join();
    EXPECT_EQ(got.load(), 8);
    EXPECT_EQ(transport.sent().size(), 1U);
}

TEST(TokenProvider, AFailedRefreshKeepsAStillValidToken) {
    ManualClock clock(at("2026-01-01T09:00:00Z"));
    ScriptedTransport transport;
    transport.then_answer(200, R"({"expires_in":3600,"access_token":"one"})");
    transport.then_fail(net::kNotSent);
    TokenProvider tokens(options(), transport, clock);
    EXPECT_EQ(*tokens.access_token(), "one");
    clock.advance(57min);
    EXPECT_EQ(*tokens.access_token(), "one");
    clock.advance(4min);
    EXPECT_FALSE(tokens.access_token().ok());
}

}  // namespace
}  // namespace meterbridge::azure
