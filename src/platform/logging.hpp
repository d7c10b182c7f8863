#pragma once
// stderr logging for the daemon (SPEC §1): text, or one JSON object per line.
#include "meterbridge/core/config.hpp"

namespace meterbridge::app {

// Installs the default spdlog logger. Call once at start-up.
void configure_logging(const LogConfig& config);

}  // namespace meterbridge::app
