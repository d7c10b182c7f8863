#pragma once
// Loading the config file at start-up (check-config and serve): read the file,
// resolve secrets from the environment and files, validate.
#include <string>

#include "cli/commands.hpp"
#include "cli/config.hpp"
#include "meterbridge/core/result.hpp"

namespace meterbridge::app {

// Throws ConfigError (key "" for an unreadable file) on any problem.
Config load_config_file(const std::string& path);
// The same with the secrets taken from `secrets` instead of the process's
// environment and files (`simulate` reads none).
Config load_config_file(const std::string& path, const SecretSource& secrets);

// The one line printed for a bad config: "meterbridge: config error at <key>: <message>".
std::string format_config_error(const ConfigError& error);

// The config file named by "--config FILE" or "--config=FILE", else by the
// MB_CONFIG environment variable. An Error names an unexpected argument, or
// says that no config was given.
Result<std::string> config_path_from_args(Args args);

}  // namespace meterbridge::app
