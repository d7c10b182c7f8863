#pragma once
// sd_notify(3) when running under systemd (NOTIFY_SOCKET set); no-ops otherwise.
#include <chrono>
#include <optional>

namespace meterbridge::app::systemd {

void ready();
void stopping();
void watchdog();
// Half the watchdog interval systemd asked for (WATCHDOG_USEC), if any.
std::optional<std::chrono::milliseconds> watchdog_interval();

}  // namespace meterbridge::app::systemd
