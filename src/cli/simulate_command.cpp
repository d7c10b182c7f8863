// `meterbridge simulate --config FILE [--format table|json] [--at ISO-8601]
//  [--account FILE] BILL.json` (issue 19): what the daemon would make of a
// bill (a bare Bill or an m3ter event envelope; "-" reads stdin), per
// integration: targets and their hours, held line items, skips. Touches
// neither the database nor Azure nor m3ter, and resolves no secret: it can
// run on a laptop with the production config. Exit 0 when it ran (held items
// included), 2 for bad input (arguments, config, bill, account).
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <iterator>
#include <optional>
#include <sstream>
#include <string>

#include "cli/commands.hpp"
#include "cli/config_file.hpp"
#include "cli/simulation_table.hpp"
#include "meterbridge/core/simulation.hpp"
#include "meterbridge/net/clocks.hpp"
#include "ops/simulation_json.hpp"
#include "pipeline/scheduler_config.hpp"

namespace meterbridge::app {
namespace {

constexpr int kRan = 0;
constexpr int kBadInput = 2;

constexpr const char* kUsage =
    "usage: meterbridge simulate --config FILE [--format table|json] [--at YYYY-MM-DDTHH:MM:SSZ]\n"
    "                            [--account ACCOUNT.json] BILL.json|-\n";

struct Options {
    std::string config_path;
    std::string bill_path;
    std::optional<std::string> account_path;
    std::optional<Instant> at;
    std::string format = "table";
};

int fail(const std::string& message) {
    std::fprintf(stderr, "meterbridge simulate: %s\n", message.c_str());
    return kBadInput;
}

// A simulation needs no credential: every "env:"/"file:" secret of the config
// stands for itself, unread, so that a missing variable or secret file (the
// daemon's, not the operator's) is no error here and no secret is ever read.
class UnreadSecrets final : public SecretSource {
public:
    std::optional<std::string> env(const std::string& name) const override { return "unread:env:" + name; }
    std::optional<std::string> file(const std::string& path) const override { return "unread:file:" + path; }
};

// nullopt with a message printed on a bad argument.
std::optional<Options> parse_args(Args args) {
    Options options;
    for (std::size_t i = 0; i < args.size(); ++i) {
        const std::string_view arg = args[i];
        if (arg == "--config" || arg == "--format" || arg == "--at" || arg == "--account") {
            if (i + 1 >= args.size()) {
                fail(std::string(arg) + " needs a value");
                return std::nullopt;
            }
            const std::string value(args[++i]);
            if (arg == "--config") options.config_path = value;
            if (arg == "--account") options.account_path = value;
            if (arg == "--format") {
                if (value != "table" && value != "json") {
                    fail("--format must be table or json, not '" + value + "'");
                    return std::nullopt;
                }
                options.format = value;
            }
            if (arg == "--at") {
                auto at = parse_iso8601(value);
                if (!at) {
                    fail("--at must be an ISO-8601 instant such as 2026-01-01T09:30:00Z, not '" + value + "'");
                    return std::nullopt;
                }
                options.at = *at;
            }
        } else if (arg.starts_with("--")) {
            fail("unexpected argument '" + std::string(arg) + "'");
            return std::nullopt;
        } else if (options.bill_path.empty()) {
            options.bill_path = std::string(arg);
        } else {
            fail("one bill at a time: unexpected '" + std::string(arg) + "'");
            return std::nullopt;
        }
    }
    if (options.config_path.empty() || options.bill_path.empty()) {
        std::fputs(kUsage, stderr);
        return std::nullopt;
    }
    return options;
}

// The whole file ("-": stdin), or an Error naming it.
Result<std::string> read_input(const std::string& path) {
    if (path == "-") return std::string(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
    std::ifstream in(path, std::ios::binary);
    if (!in) return make_error("unreadable", "cannot read " + path + ": " + std::strerror(errno));
    std::ostringstream text;
    text << in.rdbuf();
    if (in.bad()) return make_error("unreadable", "cannot read " + path);
    return text.str();
}

std::string describe(const Error& error) {
    return error.field.empty() ? error.message : error.field + ": " + error.message;
}

}  // namespace

int simulate_command(Args args) {
    const auto options = parse_args(args);
    if (!options) return kBadInput;
    std::optional<Config> loaded;
    try {
        loaded = load_config_file(options->config_path, UnreadSecrets());
    } catch (const ConfigError& error) {
        std::fprintf(stderr, "%s\n", format_config_error(error).c_str());
        return kBadInput;
    }
    const Config& config = *loaded;

    const auto text = read_input(options->bill_path);
    if (!text) return fail(text.error().message);
    // The webhook's own decoding: the same errors, naming the same fields.
    const auto event = decode_bill_event(*text);
    if (!event) return fail("the bill in " + options->bill_path + " is not valid: " + describe(event.error()));

    std::optional<Json> given;
    if (options->account_path) {
        const auto account_text = read_input(*options->account_path);
        if (!account_text) return fail(account_text.error().message);
        auto account = parse_exact_json(*account_text);
        if (!account) return fail("the account in " + *options->account_path + " is not JSON: " + account.error().message);
        if (!account->is_object()) return fail("the account in " + *options->account_path + " must be a JSON object");
        given = std::move(*account);
    }
    const Json* account = given ? &*given : nullptr;
    AccountOrigin origin = given ? AccountOrigin::Given : AccountOrigin::None;
    if (!given && event->bill) {
        account = find_static_account(config.rules.accounts, event->bill->account_id);
        if (account != nullptr) origin = AccountOrigin::Config;
    }

    const Instant now = options->at.value_or(net::SystemClock().now());
    const SimulationSetting setting{config.rules, {}, account, origin, now, slot_policy_of(config.scheduler)};
    auto simulation = simulate_event(*event, setting);
    if (!simulation) return fail("the bill in " + options->bill_path + " cannot be simulated: " + describe(simulation.error()));
    simulation->notes.push_back("only the config's external_mappings were used: mappings added at run time (POST "
                                "/mappings) live in the database, which simulate does not open; POST /simulate on "
                                "the daemon uses them too");

    for (const std::string& warning : config.warnings) std::fprintf(stderr, "meterbridge: warning: %s\n", warning.c_str());
    const std::string out = options->format == "json" ? dump_exact(simulation_json(*simulation)) + "\n"
                                                      : simulation_table(*simulation);
    std::fwrite(out.data(), 1, out.size(), stdout);
    return kRan;
}

}  // namespace meterbridge::app
