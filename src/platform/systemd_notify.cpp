#include "platform/systemd_notify.hpp"

#include <systemd/sd-daemon.h>

namespace meterbridge::app::systemd {

void ready() { sd_notify(0, "READY=1"); }
void stopping() { sd_notify(0, "STOPPING=1"); }
void watchdog() { sd_notify(0, "WATCHDOG=1"); }

std::optional<std::chrono::milliseconds> watchdog_interval() {
    std::uint64_t usec = 0;
    if (sd_watchdog_enabled(0, &usec) <= 0 || usec == 0) return std::nullopt;
    return std::chrono::milliseconds{usec / 2000};
}

}  // namespace meterbridge::app::systemd
