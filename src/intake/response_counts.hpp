#pragma once
// Webhook answers by status class since the daemon started (issue 18): what
// the "webhook 5xx" alert watches. m3ter retries a 5xx, so a few are routine;
// a steady rate means deliveries are not being stored.
#include <array>
#include <atomic>
#include <cstdint>

namespace meterbridge::app {

class ResponseCounts {
public:
    // Thread-safe; any thread that answers a webhook.
    void count(int status) noexcept {
        const int hundreds = status / 100;
        if (hundreds >= 1 && hundreds <= 5) by_class_[static_cast<std::size_t>(hundreds)].fetch_add(1);
    }
    // Answers of class `hundreds` (2 for 2xx, ...); 0 outside 1-5.
    std::uint64_t of_class(int hundreds) const noexcept {
        if (hundreds < 1 || hundreds > 5) return 0;
        return by_class_[static_cast<std::size_t>(hundreds)].load();
    }

private:
    std::array<std::atomic<std::uint64_t>, 6> by_class_{};
};

}  // namespace meterbridge::app
