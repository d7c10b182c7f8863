#include "meterbridge/net/logged_exchange.hpp"

#include <gtest/gtest.h>

#include "azure_test_support.hpp"

namespace meterbridge::net {
namespace {

TEST(Redaction, HidesAuthorizationButKeepsTheScheme) {
    Headers headers;
    headers.add("Authorization", "Bearer abc.def");
    headers.add("x-ms-requestid", "r1");
    const auto redacted = redact_headers(headers);
    EXPECT_EQ(redacted.get("authorization"), "Bearer [redacted]");
    EXPECT_EQ(redacted.get("x-ms-requestid"), "r1");
}

TEST(Redaction, HidesClientSecretsInForms) {
    EXPECT_EQ(redact_form("grant_type=client_credentials&client_id=c&client_secret=s%26cret&scope=x"),
              "grant_type=client_credentials&client_id=c&client_secret=[redacted]&scope=x");
}

TEST(Redaction, HidesTokensInJson) {
    EXPECT_EQ(redact_json_secrets(R"({"token_type":"Bearer","access_token" : "ey\"J0","expires_in":3599})"),
              R"({"token_type":"Bearer","access_token" : "[redacted]","expires_in":3599})");
    EXPECT_EQ(redact_json_secrets("not json access_token"), "not json access_token");
}

// A transport that answers one canned response.
class CannedTransport final : public HttpTransport {
public:
    Result<HttpExchangeResult> send(const HttpRequestSpec&) override {
        HttpExchangeResult result;
        result.status = 200;
        result.headers.add("x-ms-correlationid", "c-9");
        result.body = R"({"access_token":"secret-token"})";
        return result;
    }
};

TEST(Redaction, SendLoggedRecordsARedactedExchange) {
    CannedTransport transport;
    testing::MemoryExchangeLog log;
    testing::ManualClock clock(testing::at("2026-01-01T09:00:00Z"));
    HttpRequestSpec request;
    request.method = "POST";
    request.url = "https://login.example/t/oauth2/v2.0/token";
    request.headers.set("Content-Type", "application/x-www-form-urlencoded");
    request.headers.set("x-ms-requestid", "r-1");
    request.body = "client_id=c&client_secret=hunter2";
    ASSERT_TRUE(send_logged(transport, request, ExchangeKind::Token, &log, clock).ok());
    const auto records = log.records();
    ASSERT_EQ(records.size(), 1U);
    EXPECT_EQ(records[0].kind, ExchangeKind::Token);
    EXPECT_EQ(records[0].status, 200);
    EXPECT_EQ(records[0].request_id, "r-1");
    EXPECT_EQ(records[0].correlation_id, "c-9");
    EXPECT_EQ(records[0].started, clock.now());
    EXPECT_EQ(log.dump().find("hunter2"), std::string::npos);
    EXPECT_EQ(log.dump().find("secret-token"), std::string::npos);
}

}  // namespace
}  // namespace meterbridge::net
