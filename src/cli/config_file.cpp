#include "cli/config_file.hpp"

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>

#include "platform/system_secret_source.hpp"

namespace meterbridge::app {

Config load_config_file(const std::string& path) { return load_config_file(path, SystemSecretSource()); }

Config load_config_file(const std::string& path, const SecretSource& secrets) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw ConfigError("", "cannot read config file " + path + ": " + std::strerror(errno));
    std::ostringstream text;
    text << in.rdbuf();
    if (in.bad()) throw ConfigError("", "cannot read config file " + path);
    return parse_config(text.str(), secrets);
}

std::string format_config_error(const ConfigError& error) {
    if (error.key().empty()) return std::string("meterbridge: config error: ") + error.what();
    return "meterbridge: config error at " + error.key() + ": " + error.what();
}

Result<std::string> config_path_from_args(Args args) {
    std::string path;
    for (std::size_t i = 0; i < args.size(); ++i) {
        const std::string_view arg = args[i];
        if (arg == "--config" && i + 1 < args.size()) {
            path = std::string(args[++i]);
        } else if (arg.rfind("--config=", 0) == 0) {
            path = std::string(arg.substr(9));
        } else {
            return make_error("usage", "unexpected argument '" + std::string(arg) + "'", std::string(arg));
        }
    }
    if (path.empty()) {
        const char* from_env = std::getenv("MB_CONFIG");
        if (from_env == nullptr || *from_env == '\0') return make_error("usage", "needs --config FILE (or MB_CONFIG)");
        path = from_env;
    }
    return path;
}

}  // namespace meterbridge::app
