// The watchdog's health check (issue 18): the pure verdict over one round of
// probes, and the monitor's rounds with fake probes and an injected clock.
#include "platform/watchdog_monitor.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

namespace meterbridge::app {
namespace {

using namespace std::chrono_literals;

const SteadyTime kT0 = SteadyTime{} + 1000h;

HealthSample sample(bool loop, bool writer, std::chrono::steady_clock::duration since_progress) {
    return HealthSample{loop, writer, kT0 - since_progress, kT0};
}

TEST(WatchdogHealth, HealthyOnlyWhenAllThreeAnswer) {
    EXPECT_EQ(judge_health(sample(true, true, 0s), 60s), HealthVerdict::Healthy);
    EXPECT_EQ(judge_health(sample(false, true, 0s), 60s), HealthVerdict::EventLoopSilent);
    EXPECT_EQ(judge_health(sample(true, false, 0s), 60s), HealthVerdict::WriterFailed);
    EXPECT_EQ(judge_health(sample(true, true, 61s), 60s), HealthVerdict::SchedulerStalled);
    // The first part that failed is named.
    EXPECT_EQ(judge_health(sample(false, false, 61s), 60s), HealthVerdict::EventLoopSilent);
    EXPECT_EQ(judge_health(sample(true, false, 61s), 60s), HealthVerdict::WriterFailed);
}

TEST(WatchdogHealth, TheProgressBoundIsInclusiveAndAFutureStampIsProgress) {
    EXPECT_EQ(judge_health(sample(true, true, 60s), 60s), HealthVerdict::Healthy);
    EXPECT_EQ(judge_health(sample(true, true, 60s + 1ns), 60s), HealthVerdict::SchedulerStalled);
    EXPECT_EQ(judge_health(sample(true, true, -5ms), 60s), HealthVerdict::Healthy);
}

TEST(WatchdogHealth, VerdictsHaveWords) {
    EXPECT_EQ(to_string(HealthVerdict::Healthy), "healthy");
    EXPECT_NE(to_string(HealthVerdict::SchedulerStalled).find("scheduler"), std::string_view::npos);
    EXPECT_NE(to_string(HealthVerdict::WriterFailed).find("writer"), std::string_view::npos);
    EXPECT_NE(to_string(HealthVerdict::EventLoopSilent).find("event loop"), std::string_view::npos);
}

// Fake probes the test flips while the monitor runs; the clock is the test's.
struct FakeDaemon {
    std::atomic<bool> loop_answers{true};
    std::atomic<bool> writer_answers{true};
    std::atomic<int> writer_asked{0};
    std::atomic<std::int64_t> now_s{0};       // the injected clock, seconds after kT0
    std::atomic<std::int64_t> progress_s{0};  // the scheduler's last pass, same scale
    std::atomic<int> pings{0};

    WatchdogProbes probes() {
        WatchdogProbes p;
        p.event_loop = [this](std::chrono::milliseconds) { return loop_answers.load(); };
        p.writer = [this] {
            ++writer_asked;
            return writer_answers.load();
        };
        p.scheduler_progress = [this] { return kT0 + std::chrono::seconds{progress_s.load()}; };
        p.now = [this] { return kT0 + std::chrono::seconds{now_s.load()}; };
        return p;
    }
    WatchdogOptions options() {
        return WatchdogOptions{2ms, 30s, [this] { ++pings; }};
    }
};

// Waits (real time, bounded) until `monitor` has done `target` rounds.
void wait_until_rounds(const WatchdogMonitor& monitor, std::uint64_t target) {
    const auto deadline = std::chrono::steady_clock::now() + 10s;
    while (monitor.rounds() < target && std::chrono::steady_clock::now() < deadline) std::this_thread::sleep_for(1ms);
    ASSERT_GE(monitor.rounds(), target);
}

// Waits for `n` more rounds of `monitor`.
void wait_rounds(const WatchdogMonitor& monitor, std::uint64_t n) { wait_until_rounds(monitor, monitor.rounds() + n); }

TEST(WatchdogMonitor, PingsAfterEveryHealthyRound) {
    FakeDaemon daemon;
    WatchdogMonitor monitor(daemon.options(), daemon.probes());
    wait_rounds(monitor, 3);
    monitor.stop();
    EXPECT_EQ(monitor.last_verdict(), HealthVerdict::Healthy);
    EXPECT_EQ(monitor.pings(), monitor.rounds());
    EXPECT_EQ(static_cast<std::uint64_t>(daemon.pings.load()), monitor.rounds());
}

TEST(WatchdogMonitor, NoPingWhileAPartDoesNotAnswerAndPingsAgainWhenItDoes) {
    FakeDaemon daemon;
    WatchdogMonitor monitor(daemon.options(), daemon.probes());
    wait_rounds(monitor, 1);

    daemon.writer_answers = false;
    wait_rounds(monitor, 2);  // one round may have read the writer before the flip
    int before = daemon.pings;
    wait_rounds(monitor, 3);
    EXPECT_EQ(daemon.pings, before);
    EXPECT_EQ(monitor.last_verdict(), HealthVerdict::WriterFailed);
    daemon.writer_answers = true;

    // The scheduler's last pass falls behind the bound on the injected clock.
    daemon.now_s = 31;
    wait_rounds(monitor, 2);
    before = daemon.pings;
    wait_rounds(monitor, 3);
    EXPECT_EQ(daemon.pings, before);
    EXPECT_EQ(monitor.last_verdict(), HealthVerdict::SchedulerStalled);
    daemon.progress_s = 30;  // a pass one second ago

    // A silent event loop: the writer is not even asked.
    daemon.loop_answers = false;
    wait_rounds(monitor, 2);
    before = daemon.pings;
    const int asked = daemon.writer_asked;
    wait_rounds(monitor, 3);
    EXPECT_EQ(daemon.pings, before);
    EXPECT_EQ(daemon.writer_asked, asked);
    EXPECT_EQ(monitor.last_verdict(), HealthVerdict::EventLoopSilent);

    daemon.loop_answers = true;
    wait_rounds(monitor, 2);
    EXPECT_GT(daemon.pings, before);
    EXPECT_EQ(monitor.last_verdict(), HealthVerdict::Healthy);
}

TEST(WatchdogMonitor, StopIsPromptAndSafeTwice) {
    FakeDaemon daemon;
    WatchdogOptions options = daemon.options();
    options.interval = 1h;  // stop() must not wait for the next round
    WatchdogMonitor monitor(options, daemon.probes());
    wait_until_rounds(monitor, 1);
    const auto started = std::chrono::steady_clock::now();
    monitor.stop();
    monitor.stop();
    EXPECT_LT(std::chrono::steady_clock::now() - started, 1s);
    EXPECT_EQ(monitor.rounds(), 1U);
}

}  // namespace
}  // namespace meterbridge::app
