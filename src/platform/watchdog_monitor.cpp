#include "platform/watchdog_monitor.hpp"

#include <spdlog/spdlog.h>

namespace meterbridge::app {

std::string_view to_string(HealthVerdict verdict) {
    switch (verdict) {
        case HealthVerdict::Healthy: return "healthy";
        case HealthVerdict::EventLoopSilent: return "the HTTP event loop did not answer";
        case HealthVerdict::WriterFailed: return "the database writer did not commit a probe write";
        case HealthVerdict::SchedulerStalled: return "the scheduler's loop made no progress";
    }
    return "unknown";
}

HealthVerdict judge_health(const HealthSample& sample, std::chrono::steady_clock::duration progress_bound) {
    if (!sample.event_loop_answered) return HealthVerdict::EventLoopSilent;
    if (!sample.writer_answered) return HealthVerdict::WriterFailed;
    // A pass stamped after `now` (read on another thread a moment later) is progress.
    if (sample.now - sample.scheduler_progress > progress_bound) return HealthVerdict::SchedulerStalled;
    return HealthVerdict::Healthy;
}

WatchdogMonitor::WatchdogMonitor(WatchdogOptions options, WatchdogProbes probes)
    : options_(std::move(options)), probes_(std::move(probes)), thread_([this] { loop(); }) {}

WatchdogMonitor::~WatchdogMonitor() { stop(); }

void WatchdogMonitor::stop() {
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
    }
    wake_.notify_all();
    if (thread_.joinable()) thread_.join();
}

std::uint64_t WatchdogMonitor::rounds() const {
    std::lock_guard lock(mutex_);
    return rounds_;
}

std::uint64_t WatchdogMonitor::pings() const {
    std::lock_guard lock(mutex_);
    return pings_;
}

HealthVerdict WatchdogMonitor::last_verdict() const {
    std::lock_guard lock(mutex_);
    return last_;
}

HealthVerdict WatchdogMonitor::round() {
    HealthSample sample;
    // Half an interval for the loop: a round then ends within 1.5 intervals of
    // the last ping, before systemd's deadline (two intervals) runs out.
    sample.event_loop_answered = probes_.event_loop(options_.interval / 2);
    // Asked only when the loop answered: one failure is enough to withhold the ping.
    sample.writer_answered = sample.event_loop_answered && probes_.writer();
    sample.scheduler_progress = probes_.scheduler_progress();
    sample.now = probes_.now();
    return judge_health(sample, options_.progress_bound);
}

void WatchdogMonitor::loop() {
    HealthVerdict previous = HealthVerdict::Healthy;
    for (;;) {
        // Rounds start every interval, however long the last one took.
        const auto next_round = std::chrono::steady_clock::now() + options_.interval;
        const HealthVerdict verdict = round();
        if (verdict == HealthVerdict::Healthy) options_.ping();
        if (verdict != previous) {  // a change is logged once, not every round
            if (verdict == HealthVerdict::Healthy) {
                spdlog::info("watchdog: healthy again; pinging systemd");
            } else {
                spdlog::error("watchdog: not pinging systemd: {}", to_string(verdict));
            }
        }
        previous = verdict;
        std::unique_lock lock(mutex_);
        last_ = verdict;
        ++rounds_;
        if (verdict == HealthVerdict::Healthy) ++pings_;
        if (wake_.wait_until(lock, next_round, [this] { return stopping_; })) return;
    }
}

}  // namespace meterbridge::app
