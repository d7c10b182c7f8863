#include "meterbridge/core/send_window.hpp"

#include <gtest/gtest.h>

#include <vector>

namespace meterbridge {
namespace {

using Signal = SendWindow::Signal;
const Instant kNow = parse_iso8601("2026-12-01T10:00:00Z").value();

// Starts and finishes one call with `signal`.
void call(SendWindow& window, Signal signal, std::optional<Duration> retry_after = std::nullopt,
          Instant now = kNow) {
    window.finish(window.start(), signal, retry_after, now);
}

TEST(SendWindow, StartsAtTheMaximumAndCountsOutstandingCalls) {
    SendWindow window(8);
    EXPECT_EQ(window.limit(), 8);
    EXPECT_EQ(window.free(kNow), 8);
    std::vector<SendWindow::Ticket> tickets;
    for (int i = 0; i < 8; ++i) tickets.push_back(window.start());
    EXPECT_EQ(window.outstanding(), 8);
    EXPECT_EQ(window.free(kNow), 0);
    window.finish(tickets[3], Signal::Clean, std::nullopt, kNow);
    EXPECT_EQ(window.free(kNow), 1);
    EXPECT_THROW(SendWindow(0), std::invalid_argument);
}

TEST(SendWindow, CongestionHalvesNeverBelowOne) {
    SendWindow window(8);
    call(window, Signal::Congested);
    EXPECT_EQ(window.limit(), 4);
    call(window, Signal::Congested);
    EXPECT_EQ(window.limit(), 2);
    call(window, Signal::Congested);
    call(window, Signal::Congested);
    call(window, Signal::Congested);
    EXPECT_EQ(window.limit(), 1);
}

TEST(SendWindow, CallsOutstandingAtADecreaseDoNotHalveAgain) {
    SendWindow window(8);
    std::vector<SendWindow::Ticket> round;
    for (int i = 0; i < 8; ++i) round.push_back(window.start());
    // All eight hit the same throttle: one halving, not three.
    for (auto ticket : round) window.finish(ticket, Signal::Congested, std::nullopt, kNow);
    EXPECT_EQ(window.limit(), 4);
    // A call started after the decrease that is throttled again halves again.
    call(window, Signal::Congested);
    EXPECT_EQ(window.limit(), 2);
}

TEST(SendWindow, AWindowOfCleanAnswersAddsOneUpToTheMaximum) {
    SendWindow window(4);
    call(window, Signal::Congested);
    call(window, Signal::Congested);
    ASSERT_EQ(window.limit(), 1);
    call(window, Signal::Clean);  // a window of 1
    EXPECT_EQ(window.limit(), 2);
    call(window, Signal::Clean);
    EXPECT_EQ(window.limit(), 2);  // a window of 2 needs two
    call(window, Signal::Clean);
    EXPECT_EQ(window.limit(), 3);
    for (int i = 0; i < 3; ++i) call(window, Signal::Clean);
    EXPECT_EQ(window.limit(), 4);
    for (int i = 0; i < 20; ++i) call(window, Signal::Clean);
    EXPECT_EQ(window.limit(), 4);
}

TEST(SendWindow, CongestionRestartsTheCleanCount) {
    SendWindow window(8);
    call(window, Signal::Congested);  // 4
    for (int i = 0; i < 3; ++i) call(window, Signal::Clean);
    call(window, Signal::Congested);  // 2, and the three clean answers count no more
    call(window, Signal::Clean);
    EXPECT_EQ(window.limit(), 2);
    call(window, Signal::Clean);
    EXPECT_EQ(window.limit(), 3);
}

TEST(SendWindow, NeutralOutcomesChangeNothing) {
    SendWindow window(8);
    call(window, Signal::Congested);
    call(window, Signal::Neutral);
    call(window, Signal::Neutral);
    call(window, Signal::Neutral);
    call(window, Signal::Neutral);
    EXPECT_EQ(window.limit(), 4);
}

TEST(SendWindow, RetryAfterHoldsEveryNewCallUntilItPasses) {
    SendWindow window(8);
    call(window, Signal::Congested, std::chrono::seconds(30));
    EXPECT_EQ(window.free(kNow), 0);
    EXPECT_EQ(window.free(kNow + std::chrono::seconds(29)), 0);
    EXPECT_EQ(window.paused_until(kNow + std::chrono::seconds(29)), kNow + std::chrono::seconds(30));
    EXPECT_EQ(window.free(kNow + std::chrono::seconds(30)), 4);
    EXPECT_FALSE(window.paused_until(kNow + std::chrono::seconds(30)));
    // A shorter Retry-After heard later does not cut a longer one short.
    call(window, Signal::Congested, std::chrono::seconds(60));
    call(window, Signal::Congested, std::chrono::seconds(5), kNow + std::chrono::seconds(1));
    EXPECT_EQ(window.free(kNow + std::chrono::seconds(59)), 0);
    EXPECT_GT(window.free(kNow + std::chrono::seconds(60)), 0);
}

}  // namespace
}  // namespace meterbridge
