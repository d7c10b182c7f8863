// `meterbridge reconcile --config FILE --from YYYY-MM-DD --to YYYY-MM-DD
//  [--source NAME]... [--ea-file FILE] [--format table|json|csv]` (SPEC §8):
// compares Azure's records with the ledger and prints the report. It reads
// the database beside a running daemon (read-only, nothing stored) and asks
// Azure's live endpoints itself. Exit 0: everything matched (or pending);
// 1: discrepancies; 2: an error (usage, config, a source, the database).
#include <spdlog/spdlog.h>

#include <cstdio>
#include <optional>
#include <string>
#include <vector>

#include "cli/commands.hpp"
#include "cli/config_file.hpp"
#include "cli/reconcile_sources.hpp"
#include "meterbridge/net/clocks.hpp"
#include "meterbridge/store/store.hpp"
#include "reconcile/report_views.hpp"

namespace meterbridge::app {
namespace {

constexpr int kMatched = 0;
constexpr int kDiscrepancies = 1;
constexpr int kError = 2;

constexpr const char* kUsage =
    "usage: meterbridge reconcile --config FILE --from YYYY-MM-DD --to YYYY-MM-DD\n"
    "                             [--source usage_events|partner_billing|ea_charges]... [--ea-file FILE]\n"
    "                             [--format table|json|csv]\n";

struct Options {
    std::string config_path;
    std::optional<recon::Day> from, to;
    std::vector<recon::Source> sources;
    std::optional<std::string> ea_file;
    std::string format = "table";
};

int fail(const std::string& message) {
    std::fprintf(stderr, "meterbridge reconcile: %s\n", message.c_str());
    return kError;
}

// nullopt with a message printed on a bad argument.
std::optional<Options> parse_args(Args args) {
    Options options;
    for (std::size_t i = 0; i < args.size(); ++i) {
        const std::string_view arg = args[i];
        const auto value = [&]() -> std::optional<std::string> {
            if (i + 1 >= args.size()) return std::nullopt;
            return std::string(args[++i]);
        };
        std::optional<std::string> text;
        if (arg == "--config" || arg == "--from" || arg == "--to" || arg == "--source" || arg == "--ea-file" ||
            arg == "--format") {
            text = value();
            if (!text) {
                fail(std::string(arg) + " needs a value");
                return std::nullopt;
            }
        } else {
            fail("unexpected argument '" + std::string(arg) + "'");
            return std::nullopt;
        }
        if (arg == "--config") options.config_path = *text;
        if (arg == "--ea-file") options.ea_file = *text;
        if (arg == "--from" || arg == "--to") {
            auto day = recon::parse_day(*text);
            if (!day) {
                fail(std::string(arg) + " must be a UTC day YYYY-MM-DD, not '" + *text + "'");
                return std::nullopt;
            }
            (arg == "--from" ? options.from : options.to) = *day;
        }
        if (arg == "--source") {
            auto source = recon::source_from(*text);
            if (!source) {
                fail("--source must be usage_events, partner_billing or ea_charges, not '" + *text + "'");
                return std::nullopt;
            }
            options.sources.push_back(*source);
        }
        if (arg == "--format") {
            if (*text != "table" && *text != "json" && *text != "csv") {
                fail("--format must be table, json or csv, not '" + *text + "'");
                return std::nullopt;
            }
            options.format = *text;
        }
    }
    if (options.config_path.empty() || !options.from || !options.to) {
        std::fputs(kUsage, stderr);
        return std::nullopt;
    }
    if (*options.from > *options.to) {
        fail("--from is after --to");
        return std::nullopt;
    }
    return options;
}

}  // namespace

int reconcile_command(Args args) {
    const auto options = parse_args(args);
    if (!options) return kError;
    spdlog::set_level(spdlog::level::warn);  // stdout carries the report; problems go to stderr
    std::optional<Config> loaded;
    try {
        loaded = load_config_file(options->config_path);
    } catch (const ConfigError& error) {
        std::fprintf(stderr, "%s\n", format_config_error(error).c_str());
        return kError;
    }
    Config& config = *loaded;
    std::vector<recon::Source> sources = options->sources;
    if (sources.empty()) {
        sources = config.reconciliation.sources;
        if (options->ea_file && !config.reconciliation.uses(recon::Source::EaCharges)) {
            sources.push_back(recon::Source::EaCharges);
        }
    }
    for (const recon::Source source : sources) {
        const bool from_file = source == recon::Source::EaCharges && options->ea_file;
        if (!from_file && !config.reconciliation.uses(source)) {
            return fail(std::string(recon::to_string(source)) + " is not in reconciliation.sources of the config");
        }
        // The built-in sandbox lives inside the daemon: there is nothing to ask from here.
        if (!from_file && config.azure.mode == azure::AzureMode::Sandbox) {
            return fail("azure.mode is \"sandbox\": its Azure side lives inside the daemon; ask the daemon "
                        "(POST /reconciliations) or point azure at Azure or `meterbridge sandbox` (mode \"live\")");
        }
    }

    net::SystemClock clock;
    net::HttpClientOptions http_options;
    http_options.read_timeout = std::chrono::seconds{config.azure.request_timeout_s};
    net::HttpClient http(http_options);
    azure::TokenProviderOptions token;
    token.token_url = config.azure.token_url;
    token.client_id = config.azure.client_id;
    token.client_secret = config.azure.client_secret ? config.azure.client_secret->value() : std::string();
    azure::TokenProvider tokens(token, http, clock);
    std::optional<std::filesystem::path> ea_file;
    if (options->ea_file) ea_file = *options->ea_file;
    ReconcileSources readers(config, live_endpoints(config), http, tokens, clock, ea_file);

    ReconcileDeps deps;
    deps.sources = readers.readers();
    const std::string db = config.storage.sqlite_path;
    deps.ledger = [&db](Instant from, Instant to) { return store::read_reconciliation_events(db, from, to); };
    deps.subscriptions = config.reconciliation.subscriptions;
    deps.processing_delay = config.reconciliation.processing_delay;
    const auto report = run_reconciliation(ReconcileRequest{*options->from, *options->to, sources}, deps, clock.now());
    if (!report) {
        const Error& error = report.error();
        return fail(error.field.empty() ? error.message : error.message + " (" + error.field + ")");
    }
    std::string out;
    if (options->format == "json") out = dump_exact(report_json(*report)) + "\n";
    if (options->format == "csv") out = report_csv(*report);
    if (options->format == "table") out = report_table(*report);
    std::fwrite(out.data(), 1, out.size(), stdout);
    return report->has_discrepancies() ? kDiscrepancies : kMatched;
}

}  // namespace meterbridge::app
