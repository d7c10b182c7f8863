#pragma once
// Backoff arithmetic for the metering client (SPEC §4): exponential with
// jitter, Retry-After in seconds or as an HTTP date. Pure functions.
#include <optional>
#include <string_view>

#include "meterbridge/core/time.hpp"

namespace meterbridge::azure {

struct BackoffPolicy {
    Duration initial = std::chrono::seconds(1);
    Duration maximum = std::chrono::seconds(30);
};

// Delay before retry number `retry` (0 for the first retry): base = initial *
// 2^retry capped at maximum; the delay is base/2 + random01 * base/2 ("equal
// jitter"), random01 in [0, 1).
Duration backoff_delay(const BackoffPolicy& policy, int retry, double random01);

// Retry-After: delta-seconds ("120") or an IMF-fixdate
// ("Sun, 06 Nov 1994 08:49:37 GMT", relative to `now`). Past dates give 0;
// anything else gives nullopt.
std::optional<Duration> parse_retry_after(std::string_view value, Instant now);

// True for statuses worth retrying unchanged: 408, 429, 500, 502, 503, 504.
bool is_retryable_status(int status) noexcept;

}  // namespace meterbridge::azure
