#include "meterbridge/core/latency_histogram.hpp"

#include <gtest/gtest.h>

namespace meterbridge {
namespace {

using std::chrono::milliseconds;

TEST(LatencyHistogram, BucketsAreCumulativeWithASumAndACount) {
    LatencyHistogram histogram;
    histogram.observe(milliseconds(3));
    histogram.observe(milliseconds(100));   // on a bound: in that bucket
    histogram.observe(milliseconds(101));
    histogram.observe(milliseconds(90000));  // past the last bound: only in +Inf (the count)
    EXPECT_EQ(histogram.at_most(0), 1u);     // <= 5 ms
    EXPECT_EQ(histogram.at_most(3), 1u);     // <= 50 ms
    EXPECT_EQ(histogram.at_most(4), 2u);     // <= 100 ms
    EXPECT_EQ(histogram.at_most(5), 3u);     // <= 250 ms
    EXPECT_EQ(histogram.at_most(LatencyHistogram::kBoundsMs.size() - 1), 3u);
    EXPECT_EQ(histogram.count(), 4u);
    EXPECT_EQ(histogram.sum(), milliseconds(90204));
}

}  // namespace
}  // namespace meterbridge
