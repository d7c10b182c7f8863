#include "meterbridge/core/send_window.hpp"

#include <algorithm>
#include <stdexcept>

namespace meterbridge {

SendWindow::SendWindow(int maximum) : maximum_(maximum), limit_(maximum) {
    if (maximum < 1) throw std::invalid_argument("SendWindow: maximum must be at least 1");
}

int SendWindow::free(Instant now) const noexcept {
    if (paused_until(now)) return 0;
    return std::max(0, limit_ - outstanding_);
}

std::optional<Instant> SendWindow::paused_until(Instant now) const noexcept {
    if (paused_until_ > now) return paused_until_;
    return std::nullopt;
}

SendWindow::Ticket SendWindow::start() {
    ++outstanding_;
    return next_ticket_++;
}

void SendWindow::finish(Ticket ticket, Signal signal, std::optional<Duration> retry_after, Instant now) {
    outstanding_ = std::max(0, outstanding_ - 1);
    if (retry_after) paused_until_ = std::max(paused_until_, now + *retry_after);
    switch (signal) {
        case Signal::Clean:
            if (++clean_in_window_ >= limit_) {
                clean_in_window_ = 0;
                limit_ = std::min(maximum_, limit_ + 1);
            }
            return;
        case Signal::Congested:
            // One halving per round: the calls already outstanding when the
            // limit fell carry the same news and must not halve it again.
            if (ticket < decreased_at_) return;
            limit_ = std::max(1, limit_ / 2);
            clean_in_window_ = 0;
            decreased_at_ = next_ticket_;
            return;
        case Signal::Neutral: return;
    }
}

}  // namespace meterbridge
