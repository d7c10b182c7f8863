#pragma once
// The daemon's clocks: the system clock, and the settable clock behind
// `PUT /testing/clock` (SPEC §5): once set, now() is the instant given plus
// the real time elapsed since, so timers keep running.
#include <chrono>
#include <mutex>
#include <optional>

#include "meterbridge/core/time.hpp"

namespace meterbridge::app {

class SystemClock final : public Clock {
public:
    Instant now() const override;
};

// Thread-safe. Until set() is called it reads the system clock.
class SettableClock final : public Clock {
public:
    Instant now() const override;
    void set(Instant now);

private:
    mutable std::mutex mutex_;
    std::optional<Instant> base_;
    std::chrono::steady_clock::time_point base_at_;
};

}  // namespace meterbridge::app
