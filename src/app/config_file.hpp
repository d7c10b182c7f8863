#pragma once
// Loading the config file at start-up (check-config and serve): read the file,
// resolve secrets from the environment and files, validate.
#include <string>

#include "meterbridge/core/config.hpp"

namespace meterbridge::app {

// Throws ConfigError (key "" for an unreadable file) on any problem.
Config load_config_file(const std::string& path);

// The one line printed for a bad config: "meterbridge: config error at <key>: <message>".
std::string format_config_error(const ConfigError& error);

}  // namespace meterbridge::app
