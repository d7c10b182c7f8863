#include "cli/daemon_watchdog.hpp"

#include <spdlog/spdlog.h>

#include <future>

#include "meterbridge/net/http_server.hpp"
#include "meterbridge/store/store.hpp"
#include "platform/systemd_notify.hpp"

namespace meterbridge::app {

std::unique_ptr<WatchdogMonitor> start_watchdog(WatchdogParts parts) {
    const auto half = systemd::watchdog_interval();
    if (!half) return nullptr;
    WatchdogOptions options;
    options.interval = *half;
    options.progress_bound = std::max(2 * *half, 3 * parts.scheduler_tick);
    options.ping = [] { systemd::watchdog(); };
    WatchdogProbes probes;
    net::HttpServer* server = &parts.server;
    probes.event_loop = [server](std::chrono::milliseconds timeout) {
        // Shared: a no-op that runs after the timeout still has its promise.
        auto answered = std::make_shared<std::promise<void>>();
        auto future = answered->get_future();
        server->post([answered] { answered->set_value(); });
        return future.wait_for(timeout) == std::future_status::ready;
    };
    store::OpsQueries* store = &parts.store;
    probes.writer = [store] { return store->writable().ok(); };
    probes.scheduler_progress = std::move(parts.scheduler_progress);
    spdlog::info("watchdog: systemd asked for a ping every {} ms at most; probing the event loop, the database "
                 "writer and the scheduler's progress every {} ms",
                 2 * half->count(), half->count());
    return std::make_unique<WatchdogMonitor>(std::move(options), std::move(probes));
}

}  // namespace meterbridge::app
