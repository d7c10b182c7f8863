#pragma once
// An HTTP/1.1 server on Boost.Beast (kept out of this header). Handlers are
// asynchronous: they receive the request and a Responder they may call later,
// from any thread.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "meterbridge/core/result.hpp"
#include "meterbridge/core/time.hpp"
#include "meterbridge/net/http_types.hpp"

namespace meterbridge::net {

struct TlsFiles {
    std::string cert_file;  // PEM certificate chain
    std::string key_file;   // PEM private key
};

struct HttpServerOptions {
    std::string address = "127.0.0.1";
    std::uint16_t port = 0;  // 0: an ephemeral port, see HttpServer::port()
    std::optional<TlsFiles> tls;
    Duration idle_timeout = std::chrono::seconds(60);    // keep-alive wait for a request's first byte
    Duration header_timeout = std::chrono::seconds(10);  // first byte to end of headers (and TLS handshake)
    Duration body_timeout = std::chrono::seconds(30);    // end of headers to end of body
    Duration write_timeout = std::chrono::seconds(30);
    std::size_t max_body_bytes = 1024 * 1024;  // larger bodies get 413 and the connection is closed
    std::size_t max_header_bytes = 16 * 1024;
    unsigned threads = 2;  // I/O threads owned by the server
};

// Delivers the handler's answer. Call it exactly once, from any thread; calls
// after the first, or after the connection is gone, are ignored.
using Responder = std::function<void(HttpResponse)>;

// Called on an I/O thread for every complete request. It must not block for
// long: slow work goes elsewhere and answers through the Responder. An
// exception thrown by the handler becomes a 500.
using HttpHandler = std::function<void(HttpRequest, Responder)>;

// Owns its io_context and `threads` I/O threads (started by start(), joined
// by stop()). Thread-safe; stop() may be called from any thread except an
// I/O thread of this server, and more than once.
class HttpServer {
public:
    // Binds, listens and starts serving. Errors (bad address, port in use,
    // unreadable certificate) are returned, not thrown.
    static Result<std::unique_ptr<HttpServer>> start(HttpServerOptions options, HttpHandler handler);

    ~HttpServer();  // stop() with a short deadline
    HttpServer(const HttpServer&) = delete;
    HttpServer& operator=(const HttpServer&) = delete;

    std::uint16_t port() const noexcept;  // the bound port (useful with port 0)
    const std::string& address() const noexcept;
    bool tls() const noexcept;

    // Stops accepting, closes idle keep-alive connections, lets requests in
    // flight finish (their connections then close) until `deadline`, then
    // aborts what remains and joins the I/O threads.
    void stop(Duration deadline = std::chrono::seconds(10));

    // Connections currently open (for tests and metrics).
    std::size_t open_connections() const;

    // Queues `task` on the event loop, behind what is already queued, to run
    // on an I/O thread; after stop() it never runs. The watchdog posts a no-op
    // here to learn that the loop still answers (platform/watchdog_monitor).
    void post(std::function<void()> task);

    struct Impl;

private:
    explicit HttpServer(std::shared_ptr<Impl> impl);
    std::shared_ptr<Impl> impl_;
};

}  // namespace meterbridge::net
