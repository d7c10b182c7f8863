#pragma once
// The Azure sandbox as a server (SPEC §7): SandboxCore's rules behind an
// HttpServer on a loopback address, plus the /_sandbox control routes, the
// sandbox clock and fault injection. Used by `meterbridge sandbox` and
// in-process by the daemon's `azure.mode: sandbox` and by the tests.
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "meterbridge/core/result.hpp"
#include "meterbridge/core/time.hpp"
#include "meterbridge/net/clocks.hpp"
#include "meterbridge/net/http_server.hpp"
#include "meterbridge/sandbox/sandbox_core.hpp"

namespace meterbridge::sandbox {

// "Now" for the sandbox: a base clock (the system clock by default) plus an
// offset set by PUT /_sandbox/clock, so time keeps running from the instant
// set. The daemon's settable clock, shared.
using SandboxClock = net::SettableClock;

struct SandboxOptions {
    std::string listen_address = "127.0.0.1";  // must be a loopback address
    std::uint16_t port = 0;                    // 0: ephemeral, see Sandbox::port()
    std::optional<net::TlsFiles> tls;          // serve HTTPS with this certificate and key
    SandboxCoreOptions core;                   // secret, catalog, token lifetime, state file
    const Clock* base_clock = nullptr;         // null: the system clock
    unsigned threads = 2;
};

// Thread-safe. Stopping (or destroying) it drops delayed answers unsent.
class Sandbox {
public:
    // Refuses non-loopback addresses; errors for a bad state file, port in use, bad cert.
    static Result<std::unique_ptr<Sandbox>> start(SandboxOptions options);
    ~Sandbox();
    Sandbox(const Sandbox&) = delete;
    Sandbox& operator=(const Sandbox&) = delete;

    std::uint16_t port() const noexcept;
    std::string base_url() const;  // "http://127.0.0.1:PORT" (https when TLS): the metering_base_url
    // The token URL for a tenant: .../{tenant}/oauth2/v2.0/token, or .../oauth2/token when !v2.
    std::string token_url(std::string_view tenant = "sandbox-tenant", bool v2 = true) const;

    SandboxCore& core() noexcept { return *core_; }
    SandboxClock& clock() noexcept { return clock_; }

    void stop();

private:
    Sandbox(SandboxOptions options, std::unique_ptr<SandboxCore> core);
    void handle(net::HttpRequest request, net::Responder respond);
    net::HttpResponse control(const net::HttpRequest& request);

    class Delayer;
    SandboxOptions options_;
    SandboxClock clock_;
    std::unique_ptr<SandboxCore> core_;
    std::unique_ptr<Delayer> delayer_;
    std::unique_ptr<net::HttpServer> server_;
};

}  // namespace meterbridge::sandbox
