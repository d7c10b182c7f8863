#pragma once
// How many batchUsageEvent calls may be outstanding at once (issue 17):
// additive increase, multiplicative decrease, as TCP does with its window.
// Azure's throttling (429) and its gateways' 5xx say the bridge sends too
// fast: the limit halves (never below 1). A window of clean answers (as many
// as the limit) earns one more batch in flight, up to the configured maximum.
// A Retry-After holds every new call back until it has passed, whichever
// batch heard it. Pure: the scheduler owns one, guards it with its mutex and
// tells it the time.
#include <cstdint>
#include <optional>

#include "meterbridge/core/time.hpp"

namespace meterbridge {

class SendWindow {
public:
    // What one finished call says about Azure's load.
    enum class Signal {
        Clean,      // answered at the first attempt
        Congested,  // 429, 5xx or a retried attempt: Azure or its gateway is overloaded
        Neutral,    // says nothing about load (no connection, no token, a refused request)
    };
    // Handed out by start(), given back to finish(): calls started before the
    // last decrease saw the old load, so their congestion halves nothing more.
    using Ticket = std::uint64_t;

    // `maximum` >= 1; the window starts there: a cold start sends at full speed.
    explicit SendWindow(int maximum);

    int limit() const noexcept { return limit_; }
    int maximum() const noexcept { return maximum_; }
    int outstanding() const noexcept { return outstanding_; }
    // The calls that may start at `now`: 0 while a Retry-After holds.
    int free(Instant now) const noexcept;
    std::optional<Instant> paused_until(Instant now) const noexcept;

    Ticket start();
    void finish(Ticket ticket, Signal signal, std::optional<Duration> retry_after, Instant now);

private:
    int maximum_;
    int limit_;
    int outstanding_ = 0;
    int clean_in_window_ = 0;
    Ticket next_ticket_ = 0;
    Ticket decreased_at_ = 0;  // the first ticket handed out after the last decrease
    Instant paused_until_{};
};

}  // namespace meterbridge
