#pragma once
// stderr logging for the daemon (SPEC §1): text, or one JSON object per line,
// and the `log` section of the config file that chooses them.
#include <string>
#include <string_view>

#include "meterbridge/core/config_reader.hpp"

namespace meterbridge::app {

enum class LogFormat { Text, JsonLines };  // "text" | "json" (one JSON object per line)

struct LogConfig {
    std::string level = "info";  // trace | debug | info | warn | error | critical | off
    LogFormat format = LogFormat::Text;
};

// Reads root["log"] (absent: the defaults). Throws ConfigError.
LogConfig parse_log_config(const ConfigSection& root);
Json to_json(const LogConfig& log);
std::string_view to_string(LogFormat format);

// Installs the default spdlog logger. Call once at start-up.
void configure_logging(const LogConfig& config);

}  // namespace meterbridge::app
