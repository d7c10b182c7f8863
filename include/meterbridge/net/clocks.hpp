#pragma once
// The clocks of the I/O layers (the core only sees meterbridge::Clock): the
// system clock, and the settable clock behind the daemon's
// `PUT /testing/clock` (SPEC §5) and the sandbox's `PUT /_sandbox/clock`.
#include <mutex>

#include "meterbridge/core/time.hpp"

namespace meterbridge::net {

class SystemClock final : public Clock {
public:
    Instant now() const override;
};

// A base clock (the system clock by default) plus an offset: once set, now()
// is the instant given plus the time the base has moved since, so timers keep
// running. Thread-safe.
class SettableClock final : public Clock {
public:
    explicit SettableClock(const Clock* base = nullptr);  // base must outlive this; null: the system clock
    Instant now() const override;
    void set(Instant now);  // from now on, now() == `now` + elapsed time
    void reset();           // back to the base clock

private:
    Instant base_now() const;

    const Clock* base_;
    mutable std::mutex mutex_;
    Duration offset_{0};
};

}  // namespace meterbridge::net
