#pragma once
// A Prometheus-style histogram of durations (cumulative buckets, a sum and a
// count), for the send latency of batchUsageEvent calls (issue 17). Pure
// data; the owner guards it.
#include <array>
#include <cstdint>

#include "meterbridge/core/time.hpp"

namespace meterbridge {

class LatencyHistogram {
public:
    // Upper bounds in milliseconds, from loopback (a few ms) to the metering
    // client's deadline (60 s); +Inf is implied.
    static constexpr std::array<std::int64_t, 12> kBoundsMs = {5,   10,   25,   50,    100,   250,
                                                               500, 1000, 2500, 5000, 10000, 60000};

    void observe(Duration duration) noexcept;
    // Observations <= kBoundsMs[i] (cumulative, as Prometheus wants them).
    std::uint64_t at_most(std::size_t bucket) const noexcept;
    std::uint64_t count() const noexcept { return count_; }
    Duration sum() const noexcept { return sum_; }

private:
    std::array<std::uint64_t, kBoundsMs.size()> buckets_{};  // per bucket, not cumulative
    std::uint64_t count_ = 0;
    Duration sum_{};
};

// What /metrics shows of the sending: the adaptive window and the latency.
struct SendingFigures {
    int limit = 0;        // batches allowed in flight now
    int maximum = 0;      // scheduler.max_batches_in_flight
    int outstanding = 0;  // batches awaiting Azure's answer
    LatencyHistogram latency;
};

}  // namespace meterbridge
