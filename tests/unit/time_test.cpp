#include "meterbridge/core/time.hpp"

#include <gtest/gtest.h>

namespace meterbridge {
namespace {

TEST(Time, ParsesAndFormatsUtc) {
    const auto t = parse_iso8601("2026-01-01T09:00:05Z");
    ASSERT_TRUE(t.ok());
    EXPECT_EQ(format_iso8601(*t), "2026-01-01T09:00:05Z");
    EXPECT_EQ(format_iso8601(*parse_iso8601("2018-12-01T08:30:14")), "2018-12-01T08:30:14Z");
    EXPECT_EQ(format_iso8601(*parse_iso8601("2020-01-12T13:19:35.3458658Z"), true), "2020-01-12T13:19:35.345Z");
    EXPECT_EQ(format_iso8601(*parse_iso8601("2026-03-01T01:30:00+02:00")), "2026-02-28T23:30:00Z");
    EXPECT_EQ(format_iso8601(*parse_iso8601("2024-02-29T23:59:59-00:30")), "2024-03-01T00:29:59Z");
}

TEST(Time, RejectsInvalidTimes) {
    for (std::string_view text : {"", "2026-01-01", "2026-13-01T00:00:00Z", "2026-02-30T00:00:00Z",
                                  "2026-01-01T24:00:00Z", "2026-01-01T00:00:00ZZ", "2026-01-01T00:00:00.Z",
                                  "2026-01-01T00:00:00+0100", "x026-01-01T00:00:00Z"}) {
        EXPECT_FALSE(parse_iso8601(text).ok()) << text;
    }
}

TEST(Time, FloorsToTheUtcHour) {
    EXPECT_EQ(format_iso8601(floor_hour(*parse_iso8601("2026-01-01T09:59:59.999Z"))), "2026-01-01T09:00:00Z");
    EXPECT_EQ(floor_hour(*parse_iso8601("2026-01-01T09:00:00Z")), *parse_iso8601("2026-01-01T09:00:00Z"));
}

}  // namespace
}  // namespace meterbridge
