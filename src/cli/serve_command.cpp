// `meterbridge serve [--config FILE]` (SPEC §1): runs the daemon until
// SIGTERM/SIGINT, then drains gracefully (10 s, or MB_DRAIN_TIMEOUT_S); a
// second signal forces exit.
// SIGHUP is logged and ignored: reloading the config is not supported (a
// restart applies it), and a hang-up must not kill the daemon.
#include <spdlog/spdlog.h>

#include <charconv>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <thread>
#include <unistd.h>

#include "cli/commands.hpp"
#include "cli/config_file.hpp"
#include "cli/daemon.hpp"
#include "platform/free_memory.hpp"
#include "platform/logging.hpp"
#include "platform/systemd_notify.hpp"

namespace meterbridge::app {
namespace {

constexpr const char* kServeUsage =
    "usage: meterbridge serve [--config FILE]   (or MB_CONFIG=FILE)\n"
    "  MB_DRAIN_TIMEOUT_S=N   seconds a stop may drain (1-300, default 10); the process is gone N+1 s\n"
    "                         after the signal at the latest\n";

// The drain deadline. SPEC §1 says 10 s; a container runtime that SIGKILLs
// after its own 10 s stop timeout needs less, and it is safe to give less:
// what a cut-short drain abandons is re-sent unchanged on restart.
std::optional<int> drain_timeout_s() {
    const char* text = std::getenv("MB_DRAIN_TIMEOUT_S");
    if (text == nullptr || *text == '\0') return 10;
    int seconds = 0;
    const char* end = text + std::strlen(text);
    const auto [stop, error] = std::from_chars(text, end, seconds);
    if (error != std::errc{} || stop != end || seconds < 1 || seconds > 300) return std::nullopt;
    return seconds;
}

}  // namespace

int serve_command(Args args) {
    for (const std::string_view arg : args) {
        if (arg == "--help" || arg == "-h") {
            std::fputs(kServeUsage, stdout);
            return 0;
        }
    }
    const auto config_path = config_path_from_args(args);
    if (!config_path) {
        std::fprintf(stderr, "meterbridge: serve: %s\n%s", config_path.error().message.c_str(), kServeUsage);
        return 2;
    }
    const std::string& path = *config_path;
    const auto drain_s = drain_timeout_s();
    if (!drain_s) {
        std::fprintf(stderr, "meterbridge: serve: MB_DRAIN_TIMEOUT_S must be whole seconds from 1 to 300, got '%s'\n",
                     std::getenv("MB_DRAIN_TIMEOUT_S"));
        return 2;
    }
    const int drain_seconds = *drain_s;

    limit_heap_arenas();
    // Signals are taken synchronously by this thread; block them before any
    // other thread starts so that none of those receives them.
    sigset_t signals;
    sigemptyset(&signals);
    sigaddset(&signals, SIGTERM);
    sigaddset(&signals, SIGINT);
    sigaddset(&signals, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &signals, nullptr);

    Config config;
    try {
        config = load_config_file(path);
    } catch (const ConfigError& error) {
        std::fprintf(stderr, "%s\n", format_config_error(error).c_str());
        return 1;
    }
    configure_logging(config.log);
    for (const auto& warning : config.warnings) spdlog::warn("config: {}", warning);

    std::unique_ptr<Daemon> daemon;
    try {
        daemon = Daemon::start(std::move(config));
    } catch (const std::exception& error) {
        spdlog::critical("cannot start: {}", error.what());
        std::fprintf(stderr, "meterbridge: cannot start: %s\n", error.what());
        return 1;
    }
    systemd::ready();

    int signal_number = 0;
    for (sigwait(&signals, &signal_number); signal_number == SIGHUP; sigwait(&signals, &signal_number)) {
        spdlog::warn("received SIGHUP: reloading the config is not supported; ignored (restart to apply changes)");
    }
    spdlog::info("received {}, draining ({} s; a second signal forces exit)", strsignal(signal_number), drain_seconds);
    systemd::stopping();
    std::thread force([signals]() mutable {
        int second = 0;
        do {
            sigwait(&signals, &second);
        } while (second == SIGHUP);
        std::fputs("meterbridge: second signal, exiting now\n", stderr);
        _exit(130);
    });
    force.detach();
    // The drain has its deadline, plus 1 s for what runs after the server's
    // drain (committer, scheduler tick, closing the database). A batch still waiting on Azure after that is safe to
    // abandon: its events are stored as `sending` and re-sent unchanged on
    // restart. So the stop an operator asked for succeeded: exit 0 (systemd
    // would otherwise mark every stop during an Azure brownout as failed).
    std::thread deadline([drain_seconds] {
        std::this_thread::sleep_for(std::chrono::seconds(drain_seconds + 1));
        std::fprintf(stderr,
                     "meterbridge: drain did not finish within %d s; exiting (in-flight events are re-sent on "
                     "restart)\n",
                     drain_seconds);
        _exit(0);
    });
    deadline.detach();
    daemon->stop(std::chrono::seconds(drain_seconds));
    daemon.reset();
    spdlog::info("stopped");
    spdlog::shutdown();
    return 0;
}

}  // namespace meterbridge::app
