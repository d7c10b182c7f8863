// meterbridge: m3ter bills -> Azure Marketplace metered usage.
#include <cstdio>
#include <string_view>
#include <vector>

#include "cli/commands.hpp"

namespace {

constexpr const char* kUsage =
    "usage: meterbridge <command> [options]\n"
    "\n"
    "commands:\n"
    "  serve [--config FILE]                 run the daemon (MB_CONFIG when --config is absent)\n"
    "  check-config --config FILE            validate a config, print it with secrets masked\n"
    "  healthcheck [--config FILE]           ask the configured listener's /healthz (exit 0 healthy, 1 not)\n"
    "  reconcile --config FILE --from YYYY-MM-DD --to YYYY-MM-DD [--source NAME]... [--ea-file FILE]\n"
    "            [--format table|json|csv]\n"
    "                                        compare Azure's records with the ledger (exit 0 matched,\n"
    "                                        1 discrepancies, 2 error)\n"
    "  backup --to FILE [--db PATH | --config FILE]\n"
    "                                        copy the database while the daemon runs (checked, never overwrites)\n"
    "  simulate --config FILE [--format table|json] [--at ISO-8601] [--account FILE] BILL.json\n"
    "                                        dry run: what a bill would produce per integration (targets,\n"
    "                                        hours, held items); no database, Azure or m3ter (exit 0 ran,\n"
    "                                        2 bad input)\n"
    "  sandbox --listen 127.0.0.1:PORT [--state FILE] [--client-secret S] [--catalog FILE]\n"
    "                                        run the standalone Azure Marketplace sandbox\n"
    "  help [COMMAND]                        show this help\n"
    "  --version                             print the version\n";

}  // namespace

int main(int argc, char** argv) {
    std::vector<std::string_view> args(argv + 1, argv + argc);
    const std::string_view command = args.empty() ? "help" : args.front();
    const meterbridge::app::Args rest(args.data() + (args.empty() ? 0 : 1), args.empty() ? 0 : args.size() - 1);

    if (command == "--version" || command == "version") {
        std::printf("meterbridge %s\n", METERBRIDGE_VERSION);
        return 0;
    }
    if (command == "serve") return meterbridge::app::serve_command(rest);
    if (command == "check-config") return meterbridge::app::check_config_command(rest);
    if (command == "sandbox") return meterbridge::app::sandbox_command(rest);
    if (command == "reconcile") return meterbridge::app::reconcile_command(rest);
    if (command == "healthcheck") return meterbridge::app::healthcheck_command(rest);
    if (command == "backup") return meterbridge::app::backup_command(rest);
    if (command == "simulate") return meterbridge::app::simulate_command(rest);
    if (command == "help" || command == "--help" || command == "-h") {
        std::fputs(kUsage, stdout);
        return 0;
    }
    std::fprintf(stderr, "meterbridge: unknown command '%.*s'\n%s", static_cast<int>(command.size()), command.data(),
                 kUsage);
    return 2;
}
