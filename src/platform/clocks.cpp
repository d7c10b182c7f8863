#include "platform/clocks.hpp"

namespace meterbridge::app {

Instant SystemClock::now() const {
    return std::chrono::time_point_cast<Duration>(std::chrono::system_clock::now());
}

Instant SettableClock::now() const {
    std::lock_guard lock(mutex_);
    if (!base_) return SystemClock{}.now();
    return *base_ + std::chrono::duration_cast<Duration>(std::chrono::steady_clock::now() - base_at_);
}

void SettableClock::set(Instant now) {
    std::lock_guard lock(mutex_);
    base_ = now;
    base_at_ = std::chrono::steady_clock::now();
}

}  // namespace meterbridge::app
