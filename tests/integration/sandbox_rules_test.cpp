// The sandbox's rules through raw HTTP requests (never the metering client).
#include "meterbridge/sandbox/sandbox.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "azure_test_support.hpp"

namespace meterbridge::sandbox {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;
using testing::get;
using testing::post_form;
using testing::post_json;

constexpr const char* kResource = "11111111-2222-3333-4444-555555555555";

class SandboxRules : public ::testing::Test {
protected:
    void start(SandboxOptions options = {}) {
        auto started = Sandbox::start(std::move(options));
        ASSERT_TRUE(started.ok()) << started.error().message;
        sandbox = std::move(*started);
        sandbox->clock().set(testing::at("2026-01-01T10:30:00Z"));
    }
    void SetUp() override { start(); }

    std::string api(const std::string& route) const { return sandbox->base_url() + route; }
    std::string token() { return testing::sandbox_token(client, *sandbox); }
    void add_fault(const std::string& body) {
        auto answer = client.send(post_json(api("/_sandbox/faults"), body));
        ASSERT_TRUE(answer.ok());
        ASSERT_EQ(answer->status, 201) << answer->body;
    }

    static std::string event(const std::string& start, const std::string& quantity = "5",
                             const std::string& dimension = "dim1", const std::string& resource = kResource) {
        return R"({"resourceId":")" + resource + R"(","quantity":)" + quantity + R"(,"dimension":")" + dimension +
               R"(","effectiveStartTime":")" + start + R"(","planId":"plan1"})";
    }
    net::HttpExchangeResult batch(const std::vector<std::string>& events, const std::string& bearer) {
        std::string body = R"({"request":[)";
        for (std::size_t i = 0; i < events.size(); ++i) body += (i ? "," : "") + events[i];
        auto answer = client.send(post_json(api("/api/batchUsageEvent?api-version=2018-08-31"), body + "]}", bearer));
        EXPECT_TRUE(answer.ok()) << answer.error().message;
        return answer ? *answer : net::HttpExchangeResult{};
    }
    json batch_results(const std::vector<std::string>& events) {
        const auto answer = batch(events, token());
        EXPECT_EQ(answer.status, 200) << answer.body;
        return json::parse(answer.body);
    }

    net::HttpClient client{net::HttpClientOptions{2s, 5s, {}, 1 << 20, 30s, 4}};
    std::unique_ptr<Sandbox> sandbox;
};

TEST_F(SandboxRules, V2TokensCarryNumbersAndNeedAScope) {
    auto answer = client.send(post_form(sandbox->token_url("t1"), "grant_type=client_credentials&client_id=c&client_secret=s&scope=20e940b3-4c77-4b0b-9a53-9e16a1b010a7%2F.default"));
    ASSERT_TRUE(answer.ok());
    ASSERT_EQ(answer->status, 200);
    const auto body = json::parse(answer->body);
    EXPECT_EQ(body["token_type"], "Bearer");
    EXPECT_TRUE(body["expires_in"].is_number_integer());
    EXPECT_EQ(body["expires_in"], 3600);
    EXPECT_GE(body["access_token"].get<std::string>().size(), 32U);
    auto no_scope = client.send(post_form(sandbox->token_url("t1"), "grant_type=client_credentials&client_id=c&client_secret=s"));
    EXPECT_EQ(no_scope->status, 400);
    EXPECT_EQ(json::parse(no_scope->body)["error"], "invalid_request");
}

TEST_F(SandboxRules, V1TokensCarryStringsAndNeedAResource) {
    const auto url = sandbox->token_url("t1", false);
    auto answer = client.send(post_form(url, "grant_type=client_credentials&client_id=c&client_secret=s&resource=20e940b3-4c77-4b0b-9a53-9e16a1b010a7"));
    ASSERT_EQ(answer->status, 200);
    const auto body = json::parse(answer->body);
    EXPECT_EQ(body["expires_in"], "3600");
    EXPECT_TRUE(body["expires_on"].is_string());
    EXPECT_EQ(body["resource"], "20e940b3-4c77-4b0b-9a53-9e16a1b010a7");
    EXPECT_EQ(client.send(post_form(url, "grant_type=client_credentials&client_id=c&client_secret=s"))->status, 400);
    EXPECT_EQ(client.send(post_form(url, "grant_type=password&client_id=c&client_secret=s&resource=x"))->status, 400);
}

TEST_F(SandboxRules, AConfiguredSecretIsEnforcedWithEntrasError) {
    SandboxOptions options;
    options.core.client_secret = "right";
    start(options);
    auto wrong = client.send(post_form(sandbox->token_url(), "grant_type=client_credentials&client_id=c&client_secret=wrong&scope=20e940b3-4c77-4b0b-9a53-9e16a1b010a7/.default"));
    EXPECT_EQ(wrong->status, 401);
    EXPECT_EQ(json::parse(wrong->body)["error"], "invalid_client");
    EXPECT_NE(wrong->body.find("AADSTS7000215"), std::string::npos);
    auto right = client.send(post_form(sandbox->token_url(), "grant_type=client_credentials&client_id=c&client_secret=right&scope=20e940b3-4c77-4b0b-9a53-9e16a1b010a7/.default"));
    EXPECT_EQ(right->status, 200);
}

TEST_F(SandboxRules, TheApiNeedsAValidUnexpiredTokenForTheMarketplace) {
    const std::vector<std::string> one = {event("2026-01-01T10:00:00Z")};
    EXPECT_EQ(batch(one, "").status, 403);
    EXPECT_EQ(batch(one, "not-a-token").status, 403);
    const auto other = client.send(post_form(sandbox->token_url(), "grant_type=client_credentials&client_id=c&client_secret=s&scope=https://graph.microsoft.com/.default"));
    EXPECT_EQ(batch(one, json::parse(other->body)["access_token"]).status, 403);
    const std::string valid = token();
    sandbox->clock().set(testing::at("2026-01-01T11:30:01Z"));  // 3600 s later
    const auto expired = batch({event("2026-01-01T11:00:00Z")}, valid);
    EXPECT_EQ(expired.status, 403);
    EXPECT_EQ(json::parse(expired.body)["code"], "Forbidden");
    EXPECT_TRUE(sandbox->core().events().empty());
    EXPECT_EQ(client.send(post_json(api("/api/batchUsageEvent"), R"({"request":[]})", token()))->status, 400);  // api-version
}

TEST_F(SandboxRules, EachPerEventStatusHasTheSeedShape) {
    const auto body = batch_results({event("2026-01-01T10:00:00Z", "5"), event("2026-01-01T10:00:00Z", "0", "dim2"),
                                     event("2026-01-01T09:00:00Z", "-1", "dim3"),
                                     R"({"quantity":1,"dimension":"d","effectiveStartTime":"2026-01-01T10:00:00Z","planId":"p"})",
                                     event("2026-01-01T10:10:00Z", "2.5"),
                                     event("2025-12-31T10:00:00Z", "1", "old"), event("2026-01-01T11:00:00Z", "1", "future")});
    EXPECT_EQ(body["count"], 7);
    const auto& r = body["result"];
    EXPECT_EQ(r[0]["status"], "Accepted");
    for (const char* key : {"usageEventId", "messageTime", "resourceId", "quantity", "dimension", "effectiveStartTime", "planId"}) {
        EXPECT_TRUE(r[0].contains(key)) << key;
    }
    EXPECT_EQ(r[1]["status"], "InvalidQuantity");
    EXPECT_EQ(r[2]["status"], "InvalidQuantity");
    EXPECT_EQ(r[3]["status"], "BadArgument");
    EXPECT_EQ(r[3]["error"]["message"], "The resourceId is required.");
    EXPECT_EQ(r[4]["status"], "Duplicate");
    EXPECT_EQ(r[4]["messageTime"], "0001-01-01T00:00:00");
    EXPECT_EQ(r[4]["error"]["code"], "Conflict");
    const auto& held = r[4]["error"]["additionalInfo"]["acceptedMessage"];
    EXPECT_EQ(held["usageEventId"], r[0]["usageEventId"]);
    EXPECT_EQ(held["status"], "Duplicate");
    EXPECT_EQ(held["quantity"], 5.0);
    EXPECT_EQ(r[5]["status"], "Expired");  // more than 24 h old
    EXPECT_EQ(r[6]["status"], "Expired");  // in the future
    EXPECT_EQ(sandbox->core().events().size(), 1U);
}

TEST_F(SandboxRules, ExactQuantitiesAreKeptAndTheWindowIsTwentyFourHours) {
    const auto body = batch_results({event("2026-01-01T10:00:00Z", "0.29"), event("2025-12-31T10:31:00Z", "1", "edge"),
                                     event("2025-12-31T10:29:59Z", "1", "past")});
    EXPECT_EQ(body["result"][0]["status"], "Accepted");
    EXPECT_EQ(body["result"][1]["status"], "Accepted");
    EXPECT_EQ(body["result"][2]["status"], "Expired");
    auto events = client.send(get(api("/_sandbox/events")));
    EXPECT_NE(events->body.find("\"quantity\":0.29,"), std::string::npos) << events->body;
}

TEST_F(SandboxRules, MoreThan25EventsAre400AndNothingIsRecorded) {
    std::vector<std::string> events;
    for (int i = 0; i < 26; ++i) events.push_back(event("2026-01-01T10:00:00Z", "1", "d" + std::to_string(i)));
    const auto answer = batch(events, token());
    EXPECT_EQ(answer.status, 400);
    EXPECT_NE(answer.body.find("more than 25"), std::string::npos);
    events.pop_back();
    EXPECT_EQ(batch(events, token()).status, 200);
    EXPECT_EQ(sandbox->core().events().size(), 25U);
}

TEST_F(SandboxRules, TheSingleApiAnswers200Then409WithTheAcceptedMessageAnd400WithDetails) {
    const auto url = api("/api/usageEvent?api-version=2018-08-31");
    const std::string bearer = token();
    auto first = client.send(post_json(url, event("2026-01-01T10:05:00Z", "3"), bearer));
    ASSERT_EQ(first->status, 200);
    EXPECT_EQ(json::parse(first->body)["status"], "Accepted");
    auto again = client.send(post_json(url, event("2026-01-01T10:25:00Z", "4"), bearer));
    ASSERT_EQ(again->status, 409);
    const auto conflict = json::parse(again->body);
    EXPECT_EQ(conflict["code"], "Conflict");
    EXPECT_EQ(conflict["additionalInfo"]["acceptedMessage"]["quantity"], 3.0);
    auto bad = client.send(post_json(url, R"({"quantity":1})", bearer));
    ASSERT_EQ(bad->status, 400);
    const auto details = json::parse(bad->body);
    EXPECT_EQ(details["target"], "usageEventRequest");
    EXPECT_EQ(details["details"][0]["target"], "ResourceId");
    EXPECT_EQ(details["details"][0]["code"], "BadArgument");
}

TEST_F(SandboxRules, TheCatalogGivesResourceNotFoundAndInvalidDimension) {
    SandboxOptions options;
    options.core.catalog = *SandboxCatalog::parse(
        R"({"subscriptions":[{"resourceId":"11111111-2222-3333-4444-555555555555","planId":"plan1","azureSubscriptionId":"az-1"}],
            "plans":[{"planId":"plan1","dimensions":["dim1"]}]})");
    start(options);
    const auto body = batch_results({event("2026-01-01T10:00:00Z", "1", "dim1"), event("2026-01-01T10:00:00Z", "1", "nope"),
                                     event("2026-01-01T10:00:00Z", "1", "dim1", "99999999-2222-3333-4444-555555555555"),
                                     R"({"resourceId":"11111111-2222-3333-4444-555555555555","quantity":1,"dimension":"dim1","effectiveStartTime":"2026-01-01T09:00:00Z","planId":"gold"})"});
    EXPECT_EQ(body["result"][0]["status"], "Accepted");
    EXPECT_EQ(body["result"][1]["status"], "InvalidDimension");
    EXPECT_EQ(body["result"][2]["status"], "ResourceNotFound");
    EXPECT_EQ(body["result"][3]["status"], "ResourceNotFound");
}

TEST_F(SandboxRules, ConflictsCarryTheOriginallyAcceptedEventNotTheNewRequest) {
    const auto url = api("/api/usageEvent?api-version=2018-08-31");
    const std::string bearer = token();
    auto first = client.send(post_json(url, event("2026-01-01T10:05:00Z", "3"), bearer));
    ASSERT_EQ(first->status, 200);
    const auto accepted = json::parse(first->body);
    sandbox->clock().set(testing::at("2026-01-01T10:50:00Z"));
    auto again = client.send(post_json(url, event("2026-01-01T10:25:00Z", "4"), bearer));
    ASSERT_EQ(again->status, 409);
    const auto conflict = json::parse(again->body);
    EXPECT_EQ(conflict["message"], "This usage event already exist.");
    const auto& held = conflict["additionalInfo"]["acceptedMessage"];
    EXPECT_EQ(held["usageEventId"], accepted["usageEventId"]);
    EXPECT_EQ(held["status"], "Duplicate");
    EXPECT_EQ(held["quantity"], 3.0);
    EXPECT_EQ(held["messageTime"], accepted["messageTime"]);  // when it was accepted, not now
    EXPECT_EQ(held["effectiveStartTime"], "2026-01-01T10:05:00Z");
    EXPECT_EQ(held["planId"], "plan1");

    const auto batch_answer = batch_results({event("2026-01-01T10:40:00Z", "9")});
    const auto& entry = batch_answer["result"][0];
    EXPECT_EQ(entry["status"], "Duplicate");
    EXPECT_EQ(entry["quantity"], 9.0);  // the entry echoes the request ...
    const auto& original = entry["error"]["additionalInfo"]["acceptedMessage"];
    EXPECT_EQ(original["quantity"], 3.0);  // ... the acceptedMessage is the event Azure holds
    EXPECT_EQ(original["messageTime"], accepted["messageTime"]);
    EXPECT_EQ(original["effectiveStartTime"], "2026-01-01T10:05:00Z");
}

TEST_F(SandboxRules, RequestAndCorrelationIdsAreEchoedOrGenerated) {
    const std::string bearer = token();
    auto spec = post_json(api("/api/batchUsageEvent?api-version=2018-08-31"), R"({"request":[)" + event("2026-01-01T10:00:00Z") + "]}", bearer);
    spec.headers.set("x-ms-requestid", "req-1");
    spec.headers.set("x-ms-correlationid", "corr-1");
    auto answer = client.send(spec);
    ASSERT_EQ(answer->status, 200);
    EXPECT_EQ(answer->headers.get("x-ms-requestid"), "req-1");
    EXPECT_EQ(answer->headers.get("x-ms-correlationid"), "corr-1");

    const auto generated = batch({event("2026-01-01T09:00:00Z")}, bearer);
    const auto request_id = generated.headers.get("x-ms-requestid");
    ASSERT_TRUE(request_id.has_value());
    EXPECT_EQ(request_id->size(), 36U);  // a GUID
    ASSERT_TRUE(generated.headers.get("x-ms-correlationid").has_value());
    EXPECT_NE(generated.headers.get("x-ms-correlationid"), request_id);

    // Errors and the service's own throttling carry them too.
    spec.headers.set("Authorization", "Bearer nope");
    EXPECT_EQ(client.send(spec)->headers.get("x-ms-requestid"), "req-1");
    auto unversioned = client.send(post_json(api("/api/usageEvent"), event("2026-01-01T10:00:00Z"), bearer));
    EXPECT_TRUE(unversioned->headers.get("x-ms-correlationid").has_value());
    auto listing = client.send(get(api("/api/usageEvents?api-version=2018-08-31&usageStartDate=2026-01-01"), bearer));
    EXPECT_TRUE(listing->headers.get("x-ms-requestid").has_value());
    add_fault(R"({"kind":"status","status":429,"retry_after_s":1})");
    spec.headers.set("Authorization", "Bearer " + bearer);
    EXPECT_EQ(client.send(spec)->headers.get("x-ms-requestid"), "req-1");
}

TEST_F(SandboxRules, TheApiVersionMustBe20180831) {
    const std::string bearer = token();
    const std::string body = R"({"request":[)" + event("2026-01-01T10:00:00Z") + "]}";
    auto missing = client.send(post_json(api("/api/batchUsageEvent"), body, bearer));
    ASSERT_EQ(missing->status, 400);
    EXPECT_EQ(json::parse(missing->body)["error"]["code"], "ApiVersionUnspecified");
    auto wrong = client.send(post_json(api("/api/batchUsageEvent?api-version=2019-01-01"), body, bearer));
    ASSERT_EQ(wrong->status, 400);
    const auto error = json::parse(wrong->body)["error"];
    EXPECT_EQ(error["code"], "UnsupportedApiVersion");
    EXPECT_NE(error["message"].get<std::string>().find("'2019-01-01'"), std::string::npos);
    EXPECT_EQ(client.send(post_json(api("/api/usageEvent?api-version=2018-08-30"), event("2026-01-01T10:00:00Z"), bearer))->status, 400);
    EXPECT_EQ(client.send(get(api("/api/usageEvents?api-version=1.0&usageStartDate=2026-01-01"), bearer))->status, 400);
    EXPECT_TRUE(sandbox->core().events().empty());
    EXPECT_EQ(client.send(post_json(api("/api/batchUsageEvent?api-version=2018-08-31"), body, bearer))->status, 200);
}

TEST_F(SandboxRules, ForbiddenHasTheServiceBody) {
    for (const std::string& bearer : {std::string(), std::string("not-a-token")}) {
        const auto answer = batch({event("2026-01-01T10:00:00Z")}, bearer);
        ASSERT_EQ(answer.status, 403);
        const auto body = json::parse(answer.body);
        EXPECT_EQ(body["code"], "Forbidden");
        EXPECT_FALSE(body["message"].get<std::string>().empty());
    }
}

TEST_F(SandboxRules, ASubscriptionThatIsNotActiveGivesResourceNotActive) {
    SandboxOptions options;
    auto catalog = SandboxCatalog::parse(
        R"({"subscriptions":[{"resourceId":"11111111-2222-3333-4444-555555555555","planId":"plan1"},
                             {"resourceId":"22222222-2222-3333-4444-555555555555","planId":"plan1","status":"Suspended"},
                             {"resourceId":"33333333-2222-3333-4444-555555555555","planId":"plan1","status":"Unsubscribed"}],
            "plans":[{"planId":"plan1","dimensions":["dim1"]}]})");
    ASSERT_TRUE(catalog.ok()) << catalog.error().message;
    options.core.catalog = *catalog;
    start(options);
    const auto body = batch_results({event("2026-01-01T10:00:00Z", "1", "dim1"),
                                     event("2026-01-01T10:00:00Z", "1", "dim1", "22222222-2222-3333-4444-555555555555"),
                                     event("2026-01-01T10:00:00Z", "1", "dim1", "33333333-2222-3333-4444-555555555555")});
    EXPECT_EQ(body["result"][0]["status"], "Accepted");
    EXPECT_EQ(body["result"][1]["status"], "ResourceNotActive");
    EXPECT_EQ(body["result"][1]["error"]["code"], "ResourceNotActive");
    EXPECT_EQ(body["result"][2]["status"], "ResourceNotActive");
    EXPECT_EQ(sandbox->core().events().size(), 1U);
    auto single = client.send(post_json(api("/api/usageEvent?api-version=2018-08-31"),
                                        event("2026-01-01T10:00:00Z", "1", "dim1", "22222222-2222-3333-4444-555555555555"), token()));
    ASSERT_EQ(single->status, 400);
    EXPECT_EQ(json::parse(single->body)["details"][0]["code"], "ResourceNotActive");
    EXPECT_FALSE(SandboxCatalog::parse(R"({"subscriptions":[{"resourceId":"r","planId":"p","status":"Paused"}]})").ok());
}

TEST_F(SandboxRules, UsageEventsAggregatesPerDayWithFilters) {
    sandbox->clock().set(testing::at("2026-01-02T02:30:00Z"));
    batch_results({event("2026-01-01T09:00:00Z", "2", "dim1"), event("2026-01-01T10:00:00Z", "3.5", "dim1"),
                   event("2026-01-02T01:00:00Z", "4", "dim1"), event("2026-01-01T09:00:00Z", "1", "dim2")});
    // Past the processing delay (1 h after the events were received) for 2026-01-01 only.
    sandbox->clock().set(testing::at("2026-01-02T03:31:00Z"));
    const std::string bearer = token();
    auto all = client.send(get(api("/api/usageEvents?api-version=2018-08-31&usageStartDate=2026-01-01"), bearer));
    ASSERT_EQ(all->status, 200) << all->body;
    const auto rows = json::parse(all->body);
    ASSERT_EQ(rows.size(), 3U);
    std::map<std::string, json> by;
    for (const auto& row : rows) by[row["dimension"].get<std::string>() + row["usageDate"].get<std::string>().substr(0, 10)] = row;
    EXPECT_EQ(by["dim12026-01-01"]["submittedQuantity"], 5.5);
    EXPECT_EQ(by["dim12026-01-01"]["submittedCount"], 2);
    EXPECT_EQ(by["dim12026-01-01"]["reconStatus"], "Accepted");
    EXPECT_EQ(by["dim12026-01-02"]["reconStatus"], "Submitted");
    EXPECT_EQ(by["dim12026-01-01"]["usageResourceId"], kResource);
    auto filtered = client.send(get(api("/api/usageEvents?api-version=2018-08-31&usageStartDate=2026-01-01&usageEndDate=2026-01-01&dimension=dim1&planId=plan1"), bearer));
    EXPECT_EQ(json::parse(filtered->body).size(), 1U);
    auto none = client.send(get(api("/api/usageEvents?api-version=2018-08-31&usageStartDate=2026-01-01&planId=gold"), bearer));
    EXPECT_EQ(json::parse(none->body).size(), 0U);
    auto by_subscription = client.send(get(api("/api/usageEvents?api-version=2018-08-31&usageStartDate=2026-01-01&azureSubscriptionId=az-9"), bearer));
    EXPECT_EQ(json::parse(by_subscription->body).size(), 0U);
    EXPECT_EQ(client.send(get(api("/api/usageEvents?api-version=2018-08-31"), bearer))->status, 400);
}

TEST_F(SandboxRules, StatusFaultsAnswerTheNextNCallsWithRetryAfter) {
    ASSERT_EQ(client.send(post_json(api("/_sandbox/faults"), R"({"kind":"status","status":429,"retry_after_s":2,"count":2})"))->status, 201);
    const std::string bearer = token();  // token calls are not faulted
    for (int i = 0; i < 2; ++i) {
        const auto answer = batch({event("2026-01-01T10:00:00Z")}, bearer);
        EXPECT_EQ(answer.status, 429);
        EXPECT_EQ(answer.headers.get("retry-after"), "2");
    }
    EXPECT_EQ(batch({event("2026-01-01T10:00:00Z")}, bearer).status, 200);
    add_fault(R"({"kind":"status","status":503,"count":5})");
    EXPECT_EQ(batch({event("2026-01-01T09:00:00Z")}, bearer).status, 503);
    EXPECT_EQ(client.send(net::HttpRequestSpec{"DELETE", api("/_sandbox/faults"), {}, {}, {}})->status, 200);
    EXPECT_EQ(batch({event("2026-01-01T09:00:00Z")}, bearer).status, 200);
    EXPECT_EQ(client.send(post_json(api("/_sandbox/faults"), R"({"kind":"explode"})"))->status, 400);
}

TEST_F(SandboxRules, ResetAndDropResponseFaultsCutTheConnection) {
    const std::string bearer = token();
    add_fault(R"({"kind":"reset"})");
    auto reset = client.send(post_json(api("/api/batchUsageEvent?api-version=2018-08-31"), R"({"request":[)" + event("2026-01-01T10:00:00Z") + "]}", bearer));
    ASSERT_FALSE(reset.ok());
    EXPECT_EQ(reset.error().code, net::kOutcomeUnknown);
    EXPECT_TRUE(sandbox->core().events().empty());  // reset before processing

    add_fault(R"({"kind":"drop_response"})");
    auto dropped = client.send(post_json(api("/api/batchUsageEvent?api-version=2018-08-31"), R"({"request":[)" + event("2026-01-01T10:00:00Z") + "]}", bearer));
    ASSERT_FALSE(dropped.ok());
    EXPECT_EQ(dropped.error().code, net::kOutcomeUnknown);
    EXPECT_EQ(sandbox->core().events().size(), 1U);  // recorded, answer lost
}

TEST_F(SandboxRules, ProcessedThenStatusRecordsTheCallAndAnswersLikeAGateway) {
    const std::string bearer = token();
    add_fault(R"({"kind":"processed_then_status","status":502,"count":1,"retry_after_s":7})");
    const auto answer = batch({event("2026-01-01T10:00:00Z", "3")}, bearer);
    EXPECT_EQ(answer.status, 502);
    EXPECT_EQ(answer.headers.get("retry-after"), "7");
    EXPECT_NE(answer.body.find("502 Bad Gateway"), std::string::npos) << answer.body;
    EXPECT_EQ(answer.body.find("usageEventId"), std::string::npos);  // the real answer is lost
    ASSERT_EQ(sandbox->core().events().size(), 1U);  // Azure holds it although the client was told 502
    EXPECT_EQ(sandbox->core().events()[0].quantity.to_string(), "3");

    // The rules still apply under the fault: a smaller re-send of the slot records nothing.
    add_fault(R"({"kind":"processed_then_status","status":504})");
    EXPECT_EQ(batch({event("2026-01-01T10:00:00Z", "1")}, bearer).status, 504);
    EXPECT_EQ(sandbox->core().events().size(), 1U);
    const auto again = batch_results({event("2026-01-01T10:00:00Z", "1")});
    EXPECT_EQ(again["result"][0]["status"], "Duplicate");
    EXPECT_EQ(again["result"][0]["error"]["additionalInfo"]["acceptedMessage"]["quantity"], 3.0);

    // The single-event API too.
    add_fault(R"({"kind":"processed_then_status","status":502,"path":"/api/usageEvent"})");
    auto single = client.send(post_json(api("/api/usageEvent?api-version=2018-08-31"), event("2026-01-01T09:00:00Z", "2"), bearer));
    ASSERT_TRUE(single.ok());
    EXPECT_EQ(single->status, 502);
    EXPECT_EQ(sandbox->core().events().size(), 2U);
    EXPECT_EQ(client.send(post_json(api("/_sandbox/faults"), R"({"kind":"processed_then_status","status":99})"))->status, 400);
}

TEST_F(SandboxRules, RejectBatchWithAnswersEveryBatchHoldingTheEvent400UntilCleared) {
    const std::string bearer = token();
    const std::string bad = "99999999-aaaa-3333-4444-555555555555";
    add_fault(R"({"kind":"reject_batch_with","resource_id":"99999999-AAAA-3333-4444-555555555555"})");
    // A batch without the event is processed, and the fault stays queued for later batches.
    EXPECT_EQ(batch_results({event("2026-01-01T10:00:00Z", "1", "dim1")})["result"][0]["status"], "Accepted");
    for (int i = 0; i < 3; ++i) {
        const auto answer = batch({event("2026-01-01T10:00:00Z", "2", "dim2"), event("2026-01-01T10:00:00Z", "1", "dim1", bad)},
                                  bearer);
        ASSERT_EQ(answer.status, 400) << answer.body;
        const auto body = json::parse(answer.body);
        EXPECT_EQ(body["code"], "BadArgument");
        EXPECT_EQ(body["message"], "One or more errors have occurred.");
        EXPECT_EQ(body["target"], "batchUsageEventRequest");
        ASSERT_EQ(body["details"].size(), 1U);
        EXPECT_EQ(body["details"][0]["code"], "BadArgument");
        EXPECT_EQ(body["details"][0]["target"], "request[1].resourceId");
        EXPECT_FALSE(body["details"][0]["message"].get<std::string>().empty());
    }
    EXPECT_EQ(sandbox->core().events().size(), 1U);  // nothing of the rejected batches
    auto single = client.send(post_json(api("/api/usageEvent?api-version=2018-08-31"), event("2026-01-01T10:00:00Z", "1", "dim1", bad), bearer));
    ASSERT_EQ(single->status, 400);
    EXPECT_EQ(json::parse(single->body)["target"], "usageEventRequest");
    EXPECT_EQ(json::parse(single->body)["details"][0]["target"], "resourceId");
    EXPECT_EQ(sandbox->core().events().size(), 1U);

    EXPECT_EQ(client.send(net::HttpRequestSpec{"DELETE", api("/_sandbox/faults"), {}, {}, {}})->status, 200);
    const auto after = batch_results({event("2026-01-01T10:00:00Z", "2", "dim2"), event("2026-01-01T10:00:00Z", "1", "dim1", bad)});
    EXPECT_EQ(after["result"][0]["status"], "Accepted");
    EXPECT_EQ(after["result"][1]["status"], "Accepted");
}

TEST_F(SandboxRules, RejectBatchWithHonoursDimensionStatusAndCountAndLetsOtherFaultsThrough) {
    const std::string bearer = token();
    add_fault(std::string(R"({"kind":"reject_batch_with","resource_id":")") + kResource +
              R"(","dimension":"dim2","status":404,"count":1})");
    add_fault(R"({"kind":"status","status":503})");
    // The status fault queued behind it still answers the next call.
    EXPECT_EQ(batch({event("2026-01-01T10:00:00Z", "1", "dim2")}, bearer).status, 503);
    EXPECT_EQ(batch({event("2026-01-01T10:00:00Z", "1", "dim1")}, bearer).status, 200);  // other dimension
    EXPECT_EQ(batch({event("2026-01-01T10:00:00Z", "1", "dim2")}, bearer).status, 404);
    EXPECT_EQ(batch({event("2026-01-01T10:00:00Z", "1", "dim2")}, bearer).status, 200);  // count used up
    EXPECT_EQ(sandbox->core().queued_faults(), 0U);
    EXPECT_EQ(client.send(post_json(api("/_sandbox/faults"), R"({"kind":"reject_batch_with"})"))->status, 400);
    const auto bad_status = client.send(post_json(api("/_sandbox/faults"), R"({"kind":"reject_batch_with","resource_id":"x","status":200})"));
    EXPECT_EQ(bad_status->status, 400);
    EXPECT_NE(bad_status->body.find("status"), std::string::npos);
}

TEST_F(SandboxRules, DelayFaultsAnswerLate) {
    add_fault(R"({"kind":"delay_ms","delay_ms":300})");
    const std::string bearer = token();
    const auto start = std::chrono::steady_clock::now();
    const auto answer = batch({event("2026-01-01T10:00:00Z")}, bearer);
    EXPECT_EQ(answer.status, 200);
    EXPECT_GE(std::chrono::steady_clock::now() - start, 300ms);
}

TEST_F(SandboxRules, TheClockCanBeSetAndKeepsRunning) {
    auto set = client.send(net::HttpRequestSpec{"PUT", api("/_sandbox/clock"), {}, R"({"now":"2026-03-01T05:00:00Z"})", {}});
    ASSERT_EQ(set->status, 200);
    const auto now = sandbox->clock().now();
    EXPECT_GE(now, testing::at("2026-03-01T05:00:00Z"));
    EXPECT_LT(now, testing::at("2026-03-01T05:00:05Z"));
    EXPECT_EQ(batch_results({event("2026-03-01T04:00:00Z")})["result"][0]["status"], "Accepted");
    EXPECT_EQ(batch_results({event("2026-01-01T10:00:00Z")})["result"][0]["status"], "Expired");
    EXPECT_EQ(client.send(net::HttpRequestSpec{"PUT", api("/_sandbox/clock"), {}, R"({"now":"soon"})", {}})->status, 400);
}

TEST_F(SandboxRules, TheStateFileSurvivesARestart) {
    testing::TempDir dir;
    SandboxOptions options;
    options.core.state_file = (dir.path() / "state.json").string();
    start(options);
    batch_results({event("2026-01-01T10:00:00Z", "7.125")});
    sandbox.reset();
    start(options);
    ASSERT_EQ(sandbox->core().events().size(), 1U);
    EXPECT_EQ(sandbox->core().events()[0].quantity.to_string(), "7.125");
    const auto again = batch_results({event("2026-01-01T10:20:00Z", "1")});
    EXPECT_EQ(again["result"][0]["status"], "Duplicate");
    EXPECT_EQ(again["result"][0]["error"]["additionalInfo"]["acceptedMessage"]["quantity"], 7.125);
}

TEST_F(SandboxRules, RefusesNonLoopbackAddresses) {
    SandboxOptions options;
    options.listen_address = "0.0.0.0";
    EXPECT_FALSE(Sandbox::start(options).ok());
    options.listen_address = "10.1.2.3";
    EXPECT_FALSE(Sandbox::start(options).ok());
}

}  // namespace
}  // namespace meterbridge::sandbox
