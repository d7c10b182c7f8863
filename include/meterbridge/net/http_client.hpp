#pragma once
// A blocking HTTP/1.1 client on Boost.Beast + OpenSSL (kept out of this
// header). Each send() runs the exchange to completion on the calling thread,
// with deadlines; idle keep-alive connections are pooled per scheme/host/port.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "meterbridge/core/result.hpp"
#include "meterbridge/core/time.hpp"
#include "meterbridge/net/http_types.hpp"

namespace meterbridge::net {

// Error codes of a failed send(). The distinction is what lets callers avoid
// double-sending: after kNotSent the server cannot have seen the request.
inline constexpr std::string_view kNotSent = "not_sent";                // DNS, connect, TLS failed; request not fully written
inline constexpr std::string_view kOutcomeUnknown = "outcome_unknown";  // fully written, then timeout/reset/EOF/garbage
inline constexpr std::string_view kInvalidRequest = "invalid_request";  // bad URL, plain http to a non-loopback host

struct HttpRequestSpec {
    std::string method = "GET";
    std::string url;  // http://loopback-host... or https://...
    Headers headers;  // Host, Content-Length and Connection are set by the client
    std::string body;
    std::optional<Duration> read_timeout;  // overrides HttpClientOptions::read_timeout
};

struct HttpExchangeResult {
    int status = 0;
    Headers headers;
    std::string body;  // empty when send_streaming handed it to the sink
    bool reused_connection = false;
    std::uint64_t streamed_bytes = 0;  // send_streaming: body bytes handed to the sink
    std::size_t largest_chunk = 0;     // send_streaming: the largest piece handed to the sink
};

// The most HttpClient::send_streaming hands to a sink at once (its one buffer).
inline constexpr std::size_t kStreamChunkBytes = 64 * 1024;

// Receives a response body piece by piece, in order, on the sending thread.
// An Error stops the download: the connection is closed and send_streaming
// returns that Error.
using BodySink = std::function<Status(std::string_view chunk)>;

// The seam for tests and for logging wrappers. Implementations are thread-safe.
class HttpTransport {
public:
    virtual ~HttpTransport() = default;
    virtual Result<HttpExchangeResult> send(const HttpRequestSpec& request) = 0;

    // Like send(), but the body of a 2xx answer goes to `sink` as it arrives
    // instead of into HttpExchangeResult::body, so a download of any size is
    // never held whole (HttpClient: at most kStreamChunkBytes at a time, and
    // max_response_bytes does not apply). Other answers are collected in
    // `body` as by send() (an error body is small and worth reading). The
    // default, for transports that cannot stream (test fakes), sends and then
    // hands the whole body to the sink in one piece.
    virtual Result<HttpExchangeResult> send_streaming(const HttpRequestSpec& request, const BodySink& sink);
};

struct HttpClientOptions {
    Duration connect_timeout = std::chrono::seconds(10);  // DNS + TCP + TLS handshake
    Duration read_timeout = std::chrono::seconds(30);     // from the first byte written to the last byte read
    std::string ca_file;  // PEM CA bundle to trust; empty: the system store
    std::size_t max_response_bytes = 8 * 1024 * 1024;  // send(), and send_streaming's non-2xx answers
    Duration max_idle = std::chrono::seconds(30);  // pooled connections idle longer are closed, not reused
    std::size_t max_idle_per_host = 4;
};

// HTTPS requires TLS 1.2 or later, verifies the certificate chain and the
// host name (DNS name or IP address), and sends SNI for DNS names. Plain http
// is refused unless the host is loopback. Thread-safe: concurrent send()s use
// different connections.
class HttpClient final : public HttpTransport {
public:
    // Throws std::runtime_error if the TLS context cannot be set up (e.g. an
    // unreadable ca_file): a start-up error.
    explicit HttpClient(HttpClientOptions options = {});
    ~HttpClient() override;
    HttpClient(const HttpClient&) = delete;
    HttpClient& operator=(const HttpClient&) = delete;

    Result<HttpExchangeResult> send(const HttpRequestSpec& request) override;
    Result<HttpExchangeResult> send_streaming(const HttpRequestSpec& request, const BodySink& sink) override;

    std::size_t idle_connections() const;

private:
    Result<HttpExchangeResult> exchange(const HttpRequestSpec& request, const BodySink* sink);

    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace meterbridge::net
