#include "meterbridge/net/clocks.hpp"

#include <chrono>

namespace meterbridge::net {

Instant SystemClock::now() const {
    return std::chrono::time_point_cast<Duration>(std::chrono::system_clock::now());
}

SettableClock::SettableClock(const Clock* base) : base_(base) {}

Instant SettableClock::base_now() const { return base_ ? base_->now() : SystemClock{}.now(); }

Instant SettableClock::now() const {
    const Instant base = base_now();
    std::lock_guard lock(mutex_);
    return base + offset_;
}

void SettableClock::set(Instant now) {
    const Instant base = base_now();
    std::lock_guard lock(mutex_);
    offset_ = now - base;
}

void SettableClock::reset() {
    std::lock_guard lock(mutex_);
    offset_ = Duration(0);
}

}  // namespace meterbridge::net
