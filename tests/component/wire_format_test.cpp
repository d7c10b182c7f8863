#include "meterbridge/azure/wire_format.hpp"

#include <gtest/gtest.h>

#include "azure_test_support.hpp"

namespace meterbridge::azure {
namespace {

using testing::at;

UsageEventRequest event(std::string resource, std::string dimension, std::int64_t quantity, const char* start) {
    return UsageEventRequest{std::move(resource), "plan1", std::move(dimension), quantity, at(start)};
}

TEST(WireFormat, EncodesABatchWithIntegerQuantitiesAndZuluTimes) {
    const std::vector<UsageEventRequest> events = {event("r-1", "dim1", 5, "2026-01-01T09:00:00Z"),
                                                   event("r-\"2", "email", 39, "2026-01-01T10:00:00Z")};
    EXPECT_EQ(encode_batch(events),
              R"({"request":[{"resourceId":"r-1","quantity":5,"dimension":"dim1","effectiveStartTime":"2026-01-01T09:00:00Z","planId":"plan1"},)"
              R"({"resourceId":"r-\"2","quantity":39,"dimension":"email","effectiveStartTime":"2026-01-01T10:00:00Z","planId":"plan1"}]})");
}

// The seed's batch answer, verbatim shapes: Accepted and Duplicate.
constexpr const char* kSeedBatchAnswer = R"({
  "count": 2,
  "result": [
    {"usageEventId": "aaaa-1", "status": "Accepted", "messageTime": "2020-01-12T13:19:35.3458658Z",
     "resourceId": "guid1", "quantity": 5.0, "dimension": "dim1", "effectiveStartTime": "2018-12-01T08:30:14", "planId": "plan1"},
    {"status": "Duplicate", "messageTime": "0001-01-01T00:00:00",
     "error": {"additionalInfo": {"acceptedMessage": {"usageEventId": "bbbb-2", "status": "Duplicate",
        "messageTime": "2020-01-12T13:19:35.3458658Z", "resourceId": "guid2", "quantity": 1.10,
        "dimension": "email", "effectiveStartTime": "2020-01-12T11:03:28.14Z", "planId": "gold"}},
        "message": "This usage event already exist.", "code": "Conflict"},
     "resourceId": "guid2", "quantity": 1.0, "dimension": "email", "effectiveStartTime": "2020-01-12T11:03:28.14Z", "planId": "gold"}
  ]})";

TEST(WireFormat, DecodesTheSeedBatchAnswerExactly) {
    auto results = decode_batch_response(kSeedBatchAnswer);
    ASSERT_TRUE(results.ok()) << results.error().message;
    ASSERT_EQ(results->size(), 2U);
    const auto& accepted = (*results)[0];
    EXPECT_EQ(accepted.status, UsageEventStatus::Accepted);
    EXPECT_EQ(accepted.usage_event_id, "aaaa-1");
    EXPECT_EQ(accepted.message_time, "2020-01-12T13:19:35.3458658Z");
    EXPECT_EQ(accepted.quantity, Decimal::from_integer(5));
    EXPECT_EQ(accepted.effective_start_time, at("2018-12-01T08:30:14Z"));
    EXPECT_FALSE(accepted.accepted_message.has_value());
    const auto& duplicate = (*results)[1];
    EXPECT_EQ(duplicate.status, UsageEventStatus::Duplicate);
    EXPECT_EQ(duplicate.error_code, "Conflict");
    ASSERT_TRUE(duplicate.accepted_message.has_value());
    EXPECT_EQ(duplicate.accepted_message->usage_event_id, "bbbb-2");
    EXPECT_EQ(duplicate.accepted_message->quantity.to_string(), "1.1");  // exact, from the text
    EXPECT_EQ(duplicate.accepted_message->plan_id, "gold");
}

TEST(WireFormat, DecodesEveryStatusWordAndKeepsUnknownOnes) {
    for (const char* word : {"Accepted", "Expired", "Duplicate", "Error", "ResourceNotFound", "ResourceNotAuthorized",
                             "ResourceNotActive", "InvalidDimension", "InvalidQuantity", "BadArgument", "SomethingNew"}) {
        const std::string body = std::string(R"({"count":1,"result":[{"status":")") + word +
                                 R"(","resourceId":"r","quantity":0.29,"dimension":"d","effectiveStartTime":"2026-01-01T09:00:00Z","planId":"p","error":{"code":"X","message":"m"}}]})";
        auto results = decode_batch_response(body);
        ASSERT_TRUE(results.ok()) << word;
        EXPECT_EQ((*results)[0].status_text, word);
        EXPECT_EQ(to_string((*results)[0].status), std::string(word) == "SomethingNew" ? "Unrecognized" : word);
        EXPECT_EQ((*results)[0].quantity.to_string(), "0.29");
        EXPECT_EQ((*results)[0].error_message, "m");
    }
}

TEST(WireFormat, RejectsMalformedBatchAnswers) {
    EXPECT_FALSE(decode_batch_response("not json").ok());
    EXPECT_FALSE(decode_batch_response(R"({"count":1})").ok());
    EXPECT_FALSE(decode_batch_response(R"({"count":2,"result":[{"status":"Accepted"}]})").ok());
    EXPECT_FALSE(decode_batch_response(R"({"count":1,"result":[{"quantity":1}]})").ok());
}

TEST(WireFormat, DecodesTheSingleEventAnswers) {
    auto ok = decode_usage_event_response(200, R"({"usageEventId":"u1","status":"Accepted","messageTime":"2020-01-12T13:19:35.3458658Z","resourceId":"r","quantity":5.0,"dimension":"dim1","effectiveStartTime":"2018-12-01T08:30:14","planId":"plan1"})");
    ASSERT_TRUE(ok.ok());
    EXPECT_EQ(ok->status, UsageEventStatus::Accepted);
    EXPECT_EQ(ok->usage_event_id, "u1");

    auto conflict = decode_usage_event_response(409, R"({"additionalInfo":{"acceptedMessage":{"usageEventId":"u0","status":"Duplicate","messageTime":"2020-01-12T13:19:35.3458658Z","resourceId":"r","quantity":1.0,"dimension":"dim1","effectiveStartTime":"2020-01-12T11:03:28.14Z","planId":"plan1"}},"message":"This usage event already exist.","code":"Conflict"})");
    ASSERT_TRUE(conflict.ok());
    EXPECT_EQ(conflict->status, UsageEventStatus::Duplicate);
    ASSERT_TRUE(conflict->accepted_message.has_value());
    EXPECT_EQ(conflict->accepted_message->usage_event_id, "u0");
    EXPECT_EQ(conflict->accepted_message->quantity, Decimal::from_integer(1));
    EXPECT_EQ(conflict->error_code, "Conflict");

    auto bad = decode_usage_event_response(400, R"({"message":"One or more errors have occurred.","target":"usageEventRequest","details":[{"message":"The resourceId is required.","target":"ResourceId","code":"BadArgument"}],"code":"BadArgument"})");
    ASSERT_TRUE(bad.ok());
    EXPECT_EQ(bad->status, UsageEventStatus::BadArgument);
    EXPECT_EQ(bad->error_message, "The resourceId is required.");

    auto expired = decode_usage_event_response(400, R"({"message":"x","details":[{"message":"old","target":"EffectiveStartTime","code":"Expired"}],"code":"BadArgument"})");
    ASSERT_TRUE(expired.ok());
    EXPECT_EQ(expired->status, UsageEventStatus::Expired);

    auto inactive = decode_usage_event_response(400, R"({"message":"x","target":"usageEventRequest","details":[{"message":"not Subscribed","target":"ResourceId","code":"ResourceNotActive"}],"code":"BadArgument"})");
    ASSERT_TRUE(inactive.ok());
    EXPECT_EQ(inactive->status, UsageEventStatus::ResourceNotActive);
    EXPECT_EQ(inactive->status_text, "ResourceNotActive");

    EXPECT_FALSE(decode_usage_event_response(403, "").ok());
    EXPECT_FALSE(decode_usage_event_response(409, R"({"code":"Conflict"})").ok());
}

}  // namespace
}  // namespace meterbridge::azure
