// `meterbridge backup --to FILE [--db PATH | --config FILE]` (issue 18): a
// consistent, checked copy of the database while the daemon runs (SQLite's
// online backup API; store::backup_database). --db names the database
// directly, so that it runs outside the service, where secrets the config
// reads from systemd credentials cannot be resolved. Exit 0: FILE is whole;
// 1: the copy failed; 2: usage.
#include <cstdio>
#include <string>
#include <vector>

#include "cli/commands.hpp"
#include "cli/config_file.hpp"
#include "meterbridge/store/store.hpp"

namespace meterbridge::app {
namespace {

constexpr const char* kUsage =
    "usage: meterbridge backup --to FILE [--db PATH | --config FILE]\n"
    "  copies the database (storage.sqlite_path of the config, or PATH) to FILE while the daemon runs;\n"
    "  FILE must not exist\n";

int usage_error(const std::string& message) {
    std::fprintf(stderr, "meterbridge backup: %s\n%s", message.c_str(), kUsage);
    return 2;
}

}  // namespace

int backup_command(Args args) {
    std::string to;
    std::string db;
    std::vector<std::string_view> config_args;
    for (std::size_t i = 0; i < args.size(); ++i) {
        const std::string_view arg = args[i];
        if (arg == "--help" || arg == "-h") {
            std::fputs(kUsage, stdout);
            return 0;
        }
        if (arg == "--to" || arg == "--db") {
            if (i + 1 >= args.size()) return usage_error(std::string(arg) + " needs a value");
            (arg == "--to" ? to : db) = std::string(args[++i]);
        } else {
            config_args.push_back(arg);
        }
    }
    if (to.empty()) return usage_error("needs --to FILE");
    if (db.empty()) {
        const auto config_path = config_path_from_args(config_args);
        if (!config_path) return usage_error(config_path.error().message + " or --db PATH");
        try {
            db = load_config_file(*config_path).storage.sqlite_path;
        } catch (const ConfigError& error) {
            std::fprintf(stderr, "%s\n", format_config_error(error).c_str());
            return 2;
        }
    } else if (!config_args.empty()) {
        return usage_error("unexpected argument '" + std::string(config_args.front()) +
                           "' (--db and --config exclude each other)");
    }
    const auto copied = store::backup_database(db, to);
    if (!copied) {
        std::fprintf(stderr, "meterbridge backup: %s\n", copied.error().message.c_str());
        return 1;
    }
    std::printf("backed up %s to %s (%lld bytes, schema version %d, integrity_check ok)\n", db.c_str(), to.c_str(),
                static_cast<long long>(copied->bytes), copied->schema_version);
    return 0;
}

}  // namespace meterbridge::app
