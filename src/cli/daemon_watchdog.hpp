#pragma once
// The daemon's side of the systemd watchdog (issue 18): the monitor of
// platform/watchdog_monitor wired to this daemon's parts. Only the daemon
// needs it, so it lives beside daemon.cpp.
#include <chrono>
#include <functional>
#include <memory>

#include "platform/watchdog_monitor.hpp"

namespace meterbridge::net {
class HttpServer;
}
namespace meterbridge::store {
class OpsQueries;
}

namespace meterbridge::app {

// The scheduler's progress is asked through a function so that this file
// does not depend on the scheduler's header.
struct WatchdogParts {
    net::HttpServer& server;
    store::OpsQueries& store;                        // its writable(): a real write and commit
    std::function<SteadyTime()> scheduler_progress;  // when the scheduler's loop last completed a pass
    std::chrono::milliseconds scheduler_tick;         // how often an idle scheduler's loop passes
};

// A running monitor when systemd asked for a watchdog (WATCHDOG_USEC), null
// otherwise. Rounds run every half WatchdogSec; the scheduler is stalled when
// its last pass is older than max(WatchdogSec, 3 ticks). Every referenced part must outlive it: stop it first.
std::unique_ptr<WatchdogMonitor> start_watchdog(WatchdogParts parts);

}  // namespace meterbridge::app
