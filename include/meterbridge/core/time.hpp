#pragma once
// Instants, ISO-8601 text and the injected clock. The core never reads the
// system clock: every function that needs "now" takes it as an argument.
#include <chrono>
#include <string>
#include <string_view>

#include "meterbridge/core/result.hpp"

namespace meterbridge {

using Instant = std::chrono::sys_time<std::chrono::milliseconds>;
using Duration = std::chrono::milliseconds;
using std::chrono::hours;
using std::chrono::minutes;
using std::chrono::seconds;

// Accepts "YYYY-MM-DDTHH:MM:SS", an optional fraction (truncated to ms) and
// an optional "Z" or "+hh:mm"/"-hh:mm" offset; no offset means UTC (Azure's
// effectiveStartTime is often written that way).
Result<Instant> parse_iso8601(std::string_view text);

// "YYYY-MM-DDTHH:MM:SSZ", or with ".mmm" before the Z when `with_millis`.
std::string format_iso8601(Instant instant, bool with_millis = false);

// Start of the UTC hour that contains `instant`.
Instant floor_hour(Instant instant);

// Source of "now" for the I/O layers. Implementations: the system clock, and
// a settable clock for tests and `PUT /testing/clock`. Thread-safe.
class Clock {
public:
    virtual ~Clock() = default;
    virtual Instant now() const = 0;
};

}  // namespace meterbridge
