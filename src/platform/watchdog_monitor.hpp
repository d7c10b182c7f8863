#pragma once
// The systemd watchdog, pinged by a health check of the daemon itself (issue 18).
// A ping must mean "this daemon works", not "one thread is alive": the
// scheduler's loop used to ping, and it waits inside Azure calls, so a healthy
// daemon was killed during an Azure brownout, while a daemon whose HTTP event
// loop or database writer hung would have been kept. So a thread of its own
// asks, each round, the three parts that must answer: the HTTP server's event
// loop runs a posted no-op, the store's writer commits a probe write, and the
// scheduler's loop completed a pass recently. None of them waits on Azure.
// All three answer: ping. Any one does not: no ping, and systemd kills and
// restarts the daemon once WatchdogSec passes without one.
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string_view>
#include <thread>

namespace meterbridge::app {

using SteadyTime = std::chrono::steady_clock::time_point;

// One round of probes as the monitor saw them.
struct HealthSample {
    bool event_loop_answered = false;  // the no-op posted to the HTTP server's event loop ran in time
    bool writer_answered = false;      // the store's writer committed a probe write
    SteadyTime scheduler_progress;     // when the scheduler's loop last completed a pass
    SteadyTime now;
};

enum class HealthVerdict { Healthy, EventLoopSilent, WriterFailed, SchedulerStalled };
std::string_view to_string(HealthVerdict verdict);

// Pure: Healthy when all three answered and the scheduler's last pass is at
// most `progress_bound` old; otherwise the first part that did not answer.
HealthVerdict judge_health(const HealthSample& sample, std::chrono::steady_clock::duration progress_bound);

struct WatchdogProbes {
    // Posts a no-op to the event loop; true if it ran within `timeout`.
    std::function<bool(std::chrono::milliseconds timeout)> event_loop;
    // A cheap write through the store's writer. It may block: a writer that
    // hangs is exactly what the watchdog is for (no ping while it hangs).
    std::function<bool()> writer;
    std::function<SteadyTime()> scheduler_progress;
    std::function<SteadyTime()> now = [] { return std::chrono::steady_clock::now(); };
};

struct WatchdogOptions {
    std::chrono::milliseconds interval{};        // between rounds: half of systemd's WatchdogSec
    std::chrono::milliseconds progress_bound{};  // the oldest scheduler pass still called progress
    std::function<void()> ping;                  // systemd::watchdog() in the daemon
};

// Runs a round of probes every `interval` on its own thread (started by the
// constructor) and pings after each healthy round. Logs a change of verdict
// once, not every round. stop() is safe to call twice and from any thread
// but the monitor's own.
class WatchdogMonitor {
public:
    WatchdogMonitor(WatchdogOptions options, WatchdogProbes probes);
    ~WatchdogMonitor();
    WatchdogMonitor(const WatchdogMonitor&) = delete;
    WatchdogMonitor& operator=(const WatchdogMonitor&) = delete;

    void stop();

    std::uint64_t rounds() const;  // completed rounds (for tests)
    std::uint64_t pings() const;
    HealthVerdict last_verdict() const;

private:
    void loop();
    HealthVerdict round();

    WatchdogOptions options_;
    WatchdogProbes probes_;
    mutable std::mutex mutex_;
    std::condition_variable wake_;
    bool stopping_ = false;
    std::uint64_t rounds_ = 0;
    std::uint64_t pings_ = 0;
    HealthVerdict last_ = HealthVerdict::Healthy;
    std::thread thread_;  // last: started once everything above exists
};

}  // namespace meterbridge::app
