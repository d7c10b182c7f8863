// `meterbridge sandbox`: the standalone Azure Marketplace sandbox (SPEC §7).
#include <csignal>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>

#include "cli/commands.hpp"
#include "meterbridge/sandbox/sandbox.hpp"

namespace meterbridge::app {
namespace {

constexpr const char* kSandboxUsage =
    "usage: meterbridge sandbox --listen 127.0.0.1:PORT [--state FILE] [--client-secret S]\n"
    "                           [--catalog FILE] [--tls-cert FILE --tls-key FILE] [--token-lifetime-s N]\n";

int fail(const std::string& message) {
    std::fprintf(stderr, "meterbridge sandbox: %s\n", message.c_str());
    return 2;
}

bool split_listen(std::string_view text, std::string& host, std::uint16_t& port) {
    const auto colon = text.rfind(':');
    if (colon == std::string_view::npos) return false;
    host = std::string(text.substr(0, colon));
    if (host.size() > 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
    if (host == "localhost") host = "127.0.0.1";
    const std::string port_text(text.substr(colon + 1));
    if (port_text.empty() || port_text.size() > 5 || port_text.find_first_not_of("0123456789") != std::string::npos) {
        return false;
    }
    const unsigned long value = std::stoul(port_text);
    if (value > 65535) return false;
    port = static_cast<std::uint16_t>(value);
    return true;
}

}  // namespace

int sandbox_command(Args args) {
    sandbox::SandboxOptions options;
    bool have_listen = false;
    std::string cert, key;
    for (std::size_t i = 0; i < args.size(); ++i) {
        const std::string_view arg = args[i];
        if (arg == "--help" || arg == "-h") {
            std::fputs(kSandboxUsage, stdout);
            return 0;
        }
        if (i + 1 >= args.size()) return fail("missing value after " + std::string(arg) + "\n" + kSandboxUsage);
        const std::string value(args[++i]);
        if (arg == "--listen") {
            if (!split_listen(value, options.listen_address, options.port)) return fail("bad --listen '" + value + "'");
            have_listen = true;
        } else if (arg == "--state") {
            options.core.state_file = value;
        } else if (arg == "--client-secret") {
            options.core.client_secret = value;
        } else if (arg == "--catalog") {
            std::ifstream in(value);
            if (!in) return fail("cannot read catalog " + value);
            std::ostringstream text;
            text << in.rdbuf();
            auto catalog = sandbox::SandboxCatalog::parse(text.str());
            if (!catalog) return fail("catalog " + value + ": " + catalog.error().message);
            options.core.catalog = std::move(*catalog);
        } else if (arg == "--tls-cert") {
            cert = value;
        } else if (arg == "--tls-key") {
            key = value;
        } else if (arg == "--token-lifetime-s") {
            if (value.empty() || value.find_first_not_of("0123456789") != std::string::npos || value.size() > 7) {
                return fail("bad --token-lifetime-s '" + value + "'");
            }
            options.core.token_lifetime = std::chrono::seconds(std::stol(value));
        } else {
            return fail("unknown option " + std::string(arg) + "\n" + kSandboxUsage);
        }
    }
    if (!have_listen) return fail(std::string("--listen is required\n") + kSandboxUsage);
    if (cert.empty() != key.empty()) return fail("--tls-cert and --tls-key go together");
    if (!cert.empty()) options.tls = net::TlsFiles{cert, key};

    // Block the stop signals before any thread starts, then wait for one.
    sigset_t signals;
    sigemptyset(&signals);
    sigaddset(&signals, SIGINT);
    sigaddset(&signals, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &signals, nullptr);

    auto sandbox = sandbox::Sandbox::start(std::move(options));
    if (!sandbox) return fail(sandbox.error().message);
    std::fprintf(stderr, "meterbridge sandbox: listening on %s (token URL %s)\n", (*sandbox)->base_url().c_str(),
                 (*sandbox)->token_url().c_str());
    int received = 0;
    sigwait(&signals, &received);
    std::fprintf(stderr, "meterbridge sandbox: stopping\n");
    (*sandbox)->stop();
    return 0;
}

}  // namespace meterbridge::app
