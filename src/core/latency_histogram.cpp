#include "meterbridge/core/latency_histogram.hpp"

namespace meterbridge {

void LatencyHistogram::observe(Duration duration) noexcept {
    const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(duration).count();
    for (std::size_t i = 0; i < kBoundsMs.size(); ++i) {
        if (ms <= kBoundsMs[i]) {
            ++buckets_[i];
            break;
        }
    }
    ++count_;
    sum_ += duration;
}

std::uint64_t LatencyHistogram::at_most(std::size_t bucket) const noexcept {
    std::uint64_t total = 0;
    for (std::size_t i = 0; i <= bucket && i < buckets_.size(); ++i) total += buckets_[i];
    return total;
}

}  // namespace meterbridge
