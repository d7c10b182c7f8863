// `meterbridge check-config --config FILE` (SPEC §1): validates the config,
// prints it resolved with secrets masked as pretty JSON on stdout, warnings on
// stderr; exit 0 if valid, 1 with one "config error at <key>" line if not.
#include <cstdio>
#include <cstdlib>
#include <string>

#include "cli/commands.hpp"
#include "cli/config_file.hpp"

namespace meterbridge::app {
namespace {

// Like Json::dump(2), but writes exact numbers (kept as text by
// parse_exact_json, e.g. in `accounts`) as their original text.
void dump_pretty(const Json& value, int indent, std::string& out) {
    const std::string pad(static_cast<std::size_t>(indent + 2), ' ');
    if (const auto number = exact_number_text(value)) {
        out += *number;
    } else if (value.is_object() && !value.empty()) {
        out += "{\n";
        bool first = true;
        for (const auto& [name, member] : value.items()) {
            if (!first) out += ",\n";
            first = false;
            out += pad + Json(name).dump() + ": ";
            dump_pretty(member, indent + 2, out);
        }
        out += "\n" + std::string(static_cast<std::size_t>(indent), ' ') + "}";
    } else if (value.is_array() && !value.empty()) {
        out += "[\n";
        bool first = true;
        for (const auto& element : value) {
            if (!first) out += ",\n";
            first = false;
            out += pad;
            dump_pretty(element, indent + 2, out);
        }
        out += "\n" + std::string(static_cast<std::size_t>(indent), ' ') + "]";
    } else {
        out += value.dump(-1, ' ', false, Json::error_handler_t::replace);
    }
}

}  // namespace

int check_config_command(Args args) {
    const auto path = config_path_from_args(args);
    if (!path) {
        std::fprintf(stderr, "meterbridge: check-config: %s\nusage: meterbridge check-config --config FILE\n",
                     path.error().message.c_str());
        return 1;
    }
    try {
        const Config config = load_config_file(*path);
        for (const std::string& warning : config.warnings) std::fprintf(stderr, "meterbridge: warning: %s\n", warning.c_str());
        std::string out;
        dump_pretty(config_to_masked_json(config), 0, out);
        out += '\n';
        std::fputs(out.c_str(), stdout);
        return 0;
    } catch (const ConfigError& error) {
        std::fprintf(stderr, "%s\n", format_config_error(error).c_str());
        return 1;
    }
}

}  // namespace meterbridge::app
