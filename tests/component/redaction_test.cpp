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
    // A blob container's SAS in the partner billing export's manifest.
    EXPECT_EQ(redact_json_secrets(R"({"sasToken":"sv=2021&sig=abc%2B","blobCount":1})"),
              R"({"sasToken":"[redacted]","blobCount":1})");
}

TEST(Redaction, HidesTheSignatureOfSasUrls) {
    EXPECT_EQ(redact_url("https://a.blob.core.windows.net/c/part-1.json.gz?sv=2021-08-06&sr=c&sig=ab%2Bcd&se=x"),
              "https://a.blob.core.windows.net/c/part-1.json.gz?sv=2021-08-06&sr=c&sig=[redacted]&se=x");
    EXPECT_EQ(redact_url("http://127.0.0.1:1/x?SIG=1"), "http://127.0.0.1:1/x?SIG=[redacted]");
    EXPECT_EQ(redact_url("http://127.0.0.1:1/x?signature=1&a=b"), "http://127.0.0.1:1/x?signature=1&a=b");
    EXPECT_EQ(redact_url("http://127.0.0.1:1/x"), "http://127.0.0.1:1/x");
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

// A transport that cannot stream hands the whole 2xx body to the sink at
// once; the log records its size and the caller's summary, not the body.
TEST(Redaction, StreamedBodiesAreLoggedByTheirCounts) {
    CannedTransport transport;
    testing::MemoryExchangeLog log;
    testing::ManualClock clock(testing::at("2026-01-01T09:00:00Z"));
    HttpRequestSpec request;
    request.url = "http://127.0.0.1:1/blobs/part-1.json.gz?sv=1&sig=s3cr3t";
    std::string received;
    const BodySink sink = [&](std::string_view chunk) -> Status {
        received += chunk;
        return Ok{};
    };
    const auto answer =
        send_streaming_logged(transport, request, sink, ExchangeKind::Azure, &log, clock, [] { return std::string("1 lines"); });
    ASSERT_TRUE(answer.ok());
    EXPECT_EQ(received, R"({"access_token":"secret-token"})");
    EXPECT_TRUE(answer->body.empty());
    EXPECT_EQ(answer->streamed_bytes, received.size());
    const auto records = log.records();
    ASSERT_EQ(records.size(), 1U);
    EXPECT_EQ(records[0].response_body, "[streamed: " + std::to_string(received.size()) + " bytes, 1 lines]");
    EXPECT_EQ(records[0].url, "http://127.0.0.1:1/blobs/part-1.json.gz?sv=1&sig=[redacted]");
    EXPECT_EQ(log.dump().find("s3cr3t"), std::string::npos);

    // The sink's Error ends the call with that Error.
    const BodySink refusing = [](std::string_view) -> Status { return make_error("bad_line", "no"); };
    const auto refused = send_streaming_logged(transport, request, refusing, ExchangeKind::Azure, &log, clock);
    ASSERT_FALSE(refused.ok());
    EXPECT_EQ(refused.error().code, "bad_line");
}

}  // namespace
}  // namespace meterbridge::net
