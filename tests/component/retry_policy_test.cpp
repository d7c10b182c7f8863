#include "meterbridge/azure/retry_policy.hpp"

#include <gtest/gtest.h>

#include "azure_test_support.hpp"

namespace meterbridge::azure {
namespace {

using namespace std::chrono_literals;

TEST(RetryPolicy, BackoffDoublesWithEqualJitterUpToTheCap) {
    const BackoffPolicy policy{1000ms, 8000ms};
    EXPECT_EQ(backoff_delay(policy, 0, 0.0), 500ms);
    EXPECT_EQ(backoff_delay(policy, 0, 0.999), 999ms);
    EXPECT_EQ(backoff_delay(policy, 1, 0.0), 1000ms);
    EXPECT_EQ(backoff_delay(policy, 2, 0.5), 3000ms);
    EXPECT_EQ(backoff_delay(policy, 3, 1.0), 8000ms);
    EXPECT_EQ(backoff_delay(policy, 30, 1.0), 8000ms);
}

TEST(RetryPolicy, ParsesRetryAfterSecondsAndHttpDates) {
    const Instant now = testing::at("1994-11-06T08:49:30Z");
    EXPECT_EQ(parse_retry_after("2", now), Duration(2000));
    EXPECT_EQ(parse_retry_after(" 120 ", now), Duration(120000));
    EXPECT_EQ(parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT", now), Duration(7000));
    EXPECT_EQ(parse_retry_after("Sun, 06 Nov 1994 08:49:00 GMT", now), Duration(0));
    EXPECT_FALSE(parse_retry_after("soon", now).has_value());
    EXPECT_FALSE(parse_retry_after("-1", now).has_value());
    EXPECT_FALSE(parse_retry_after("Sun, 06 Foo 1994 08:49:37 GMT", now).has_value());
}

TEST(RetryPolicy, RetriesOnlyTransientStatuses) {
    for (int status : {408, 429, 500, 502, 503, 504}) EXPECT_TRUE(is_retryable_status(status)) << status;
    for (int status : {200, 400, 401, 403, 404, 409, 413}) EXPECT_FALSE(is_retryable_status(status)) << status;
}

}  // namespace
}  // namespace meterbridge::azure
