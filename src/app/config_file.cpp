#include "config_file.hpp"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "system_secret_source.hpp"

namespace meterbridge::app {

Config load_config_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw ConfigError("", "cannot read config file " + path + ": " + std::strerror(errno));
    std::ostringstream text;
    text << in.rdbuf();
    if (in.bad()) throw ConfigError("", "cannot read config file " + path);
    return parse_config(text.str(), SystemSecretSource());
}

std::string format_config_error(const ConfigError& error) {
    if (error.key().empty()) return std::string("meterbridge: config error: ") + error.what();
    return "meterbridge: config error at " + error.key() + ": " + error.what();
}

}  // namespace meterbridge::app
