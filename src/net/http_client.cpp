#include "meterbridge/net/http_client.hpp"

#include <poll.h>

#include <algorithm>
#include <limits>
#include <mutex>
#include <stdexcept>
#include <unordered_map>
#include <vector>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

#include "beast_names.hpp"

namespace meterbridge::net {

using SteadyClock = std::chrono::steady_clock;

namespace {

// One connection with its own io_context: a send() drives it on the calling
// thread, so connections need no locking while in use (the pool has a mutex).
struct Connection {
    std::string key;
    asio::io_context ioc{1};
    std::unique_ptr<beast::tcp_stream> plain;
    std::unique_ptr<beast::ssl_stream<beast::tcp_stream>> tls;
    beast::flat_buffer buffer;
    SteadyClock::time_point idle_since;

    beast::tcp_stream& tcp_layer() { return tls ? beast::get_lowest_layer(*tls) : *plain; }

    // Runs the operations started on this connection until they complete.
    void drive() {
        ioc.restart();
        ioc.run();
    }

    template <class F>
    void with_stream(F&& f) {
        if (tls) {
            f(*tls);
        } else {
            f(*plain);
        }
    }

    void close() {
        error_code ignored;
        tcp_layer().socket().close(ignored);
    }
};

// A pooled connection is reusable only if the peer has sent nothing and not
// closed it: any readable event on an idle HTTP connection means EOF, a reset
// or a TLS close_notify, and reusing it would turn a safe failure into an
// "outcome unknown" one.
bool still_usable(Connection& connection, Duration max_idle) {
    if (connection.buffer.size() != 0) return false;
    if (SteadyClock::now() - connection.idle_since > max_idle) return false;
    pollfd fd{};
    fd.fd = connection.tcp_layer().socket().native_handle();
    fd.events = POLLIN;
    return ::poll(&fd, 1, 0) == 0;
}

Duration remaining(SteadyClock::time_point deadline) {
    const auto left = std::chrono::duration_cast<Duration>(deadline - SteadyClock::now());
    return left.count() > 0 ? left : Duration(1);
}

bool has_crlf(std::string_view text) { return text.find_first_of("\r\n") != std::string_view::npos; }

std::string host_header(const Url& url) {
    std::string host = url.host.find(':') != std::string::npos ? "[" + url.host + "]" : url.host;
    const bool default_port = (url.scheme == "https" && url.port == 443) || (url.scheme == "http" && url.port == 80);
    if (!default_port) host += ":" + std::to_string(url.port);
    return host;
}

}  // namespace

struct HttpClient::Impl {
    HttpClientOptions options;
    ssl::context tls_context{ssl::context::tls_client};
    mutable std::mutex mutex;
    std::unordered_map<std::string, std::vector<std::unique_ptr<Connection>>> idle;  // after tls_context: destroyed first

    std::unique_ptr<Connection> take(const std::string& key) {
        std::lock_guard lock(mutex);
        auto& list = idle[key];
        while (!list.empty()) {
            auto connection = std::move(list.back());
            list.pop_back();
            if (still_usable(*connection, options.max_idle)) return connection;
        }
        return nullptr;
    }

    void give_back(std::unique_ptr<Connection> connection) {
        connection->idle_since = SteadyClock::now();
        std::lock_guard lock(mutex);
        auto& list = idle[connection->key];
        if (list.size() < options.max_idle_per_host) list.push_back(std::move(connection));
    }

    Result<std::unique_ptr<Connection>> connect(const Url& url, const std::string& key);
};

Result<std::unique_ptr<Connection>> HttpClient::Impl::connect(const Url& url, const std::string& key) {
    const auto deadline = SteadyClock::now() + options.connect_timeout;
    const std::string where = url.scheme + "://" + host_header(url);
    auto connection = std::make_unique<Connection>();
    connection->key = key;

    // Resolve, bounded by a timer (the resolver has no deadline of its own).
    tcp::resolver resolver(connection->ioc);
    asio::steady_timer timer(connection->ioc);
    error_code ec;
    tcp::resolver::results_type endpoints;
    bool timed_out = false;
    timer.expires_after(remaining(deadline));
    timer.async_wait([&](error_code timer_ec) {
        if (!timer_ec) {
            timed_out = true;
            resolver.cancel();
        }
    });
    resolver.async_resolve(url.host, std::to_string(url.port), [&](error_code resolve_ec, tcp::resolver::results_type r) {
        timer.cancel();
        ec = resolve_ec;
        endpoints = std::move(r);
    });
    connection->drive();
    if (ec) {
        return make_error(std::string(kNotSent),
                          "cannot resolve " + url.host + ": " + (timed_out ? std::string("timeout") : ec.message()));
    }

    if (url.scheme == "https") {
        connection->tls = std::make_unique<beast::ssl_stream<beast::tcp_stream>>(connection->ioc, tls_context);
        SSL* handle = connection->tls->native_handle();
        X509_VERIFY_PARAM* param = SSL_get0_param(handle);
        if (is_ip_literal(url.host)) {
            X509_VERIFY_PARAM_set1_ip_asc(param, url.host.c_str());
        } else {
            X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
            X509_VERIFY_PARAM_set1_host(param, url.host.c_str(), 0);
            // SNI (SSL_set_tlsext_host_name is a macro with a C cast).
            SSL_ctrl(handle, SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name,
                     const_cast<char*>(url.host.c_str()));
        }
    } else {
        connection->plain = std::make_unique<beast::tcp_stream>(connection->ioc);
    }

    connection->tcp_layer().expires_after(remaining(deadline));
    connection->tcp_layer().async_connect(endpoints, [&](error_code connect_ec, const tcp::endpoint&) { ec = connect_ec; });
    connection->drive();
    if (ec) {
        return make_error(std::string(kNotSent), "cannot connect to " + where + ": " +
                                                     (ec == beast::error::timeout ? "timeout" : ec.message()));
    }
    // A request is written whole and then waited on: Nagle's algorithm would
    // only hold its last segment back for the peer's delayed ACK (~40 ms).
    error_code nodelay_ignored;
    connection->tcp_layer().socket().set_option(tcp::no_delay(true), nodelay_ignored);
    if (connection->tls) {
        connection->tcp_layer().expires_after(remaining(deadline));
        connection->tls->async_handshake(ssl::stream_base::client, [&](error_code handshake_ec) { ec = handshake_ec; });
        connection->drive();
        if (ec) {
            std::string why = ec == beast::error::timeout ? "timeout" : ec.message();
            const long verify = SSL_get_verify_result(connection->tls->native_handle());
            if (verify != X509_V_OK) {
                why += std::string(" (certificate verification: ") + X509_verify_cert_error_string(verify) + ")";
            }
            return make_error(std::string(kNotSent), "TLS handshake with " + where + " failed: " + why);
        }
    }
    connection->tcp_layer().expires_never();
    return connection;
}

HttpClient::HttpClient(HttpClientOptions options) : impl_(std::make_unique<Impl>()) {
    impl_->options = std::move(options);
    auto& context = impl_->tls_context;
    context.set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 | ssl::context::no_sslv3 |
                        ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1);
    if (SSL_CTX_set_min_proto_version(context.native_handle(), TLS1_2_VERSION) != 1) {
        throw std::runtime_error("cannot require TLS 1.2");
    }
    context.set_verify_mode(ssl::verify_peer);
    error_code ec;
    if (impl_->options.ca_file.empty()) {
        context.set_default_verify_paths(ec);
    } else {
        context.load_verify_file(impl_->options.ca_file, ec);
    }
    if (ec) {
        throw std::runtime_error("cannot load CA certificates" +
                                 (impl_->options.ca_file.empty() ? std::string() : " from " + impl_->options.ca_file) +
                                 ": " + ec.message());
    }
}

HttpClient::~HttpClient() = default;

std::size_t HttpClient::idle_connections() const {
    std::lock_guard lock(impl_->mutex);
    std::size_t count = 0;
    for (const auto& [key, list] : impl_->idle) count += list.size();
    return count;
}

Result<HttpExchangeResult> HttpTransport::send_streaming(const HttpRequestSpec& request, const BodySink& sink) {
    auto result = send(request);
    if (!result || result->status < 200 || result->status > 299 || result->body.empty()) return result;
    if (auto fed = sink(result->body); !fed) return fed.error();
    result->streamed_bytes = result->body.size();
    result->largest_chunk = result->body.size();
    result->body.clear();
    return result;
}

Result<HttpExchangeResult> HttpClient::send(const HttpRequestSpec& request) { return exchange(request, nullptr); }

Result<HttpExchangeResult> HttpClient::send_streaming(const HttpRequestSpec& request, const BodySink& sink) {
    return exchange(request, &sink);
}

Result<HttpExchangeResult> HttpClient::exchange(const HttpRequestSpec& request, const BodySink* sink) {
    auto parsed = parse_url(request.url);
    if (!parsed) return make_error(std::string(kInvalidRequest), parsed.error().message);
    const Url& url = *parsed;
    if (url.scheme == "http" && !is_loopback_host(url.host)) {
        return make_error(std::string(kInvalidRequest),
                          "plain http is only allowed to loopback hosts, not '" + url.host + "'; use https");
    }
    if (request.method.empty() || has_crlf(request.method) || has_crlf(url.target) || url.target.find(' ') != std::string::npos) {
        return make_error(std::string(kInvalidRequest), "malformed method or target");
    }

    // Serialise by hand so that the byte count tells whether it all went out.
    std::string wire = request.method + " " + url.target + " HTTP/1.1\r\nHost: " + host_header(url) + "\r\n";
    bool has_agent = false;
    for (const auto& [name, value] : request.headers) {
        if (iequals(name, "host") || iequals(name, "content-length") || iequals(name, "connection") ||
            iequals(name, "transfer-encoding")) {
            continue;
        }
        if (has_crlf(name) || has_crlf(value) || name.find(':') != std::string::npos) {
            return make_error(std::string(kInvalidRequest), "header '" + name + "' contains a line break or colon");
        }
        has_agent = has_agent || iequals(name, "user-agent");
        wire += name + ": " + value + "\r\n";
    }
    if (!has_agent) wire += "User-Agent: meterbridge\r\n";
    if (!request.body.empty() || request.method == "POST" || request.method == "PUT" || request.method == "PATCH") {
        wire += "Content-Length: " + std::to_string(request.body.size()) + "\r\n";
    }
    wire += "\r\n";
    wire += request.body;

    const std::string key = url.scheme + "://" + host_header(url);
    auto connection = impl_->take(key);
    const bool reused = connection != nullptr;
    if (!connection) {
        auto fresh = impl_->connect(url, key);
        if (!fresh) return fresh.error();
        connection = std::move(fresh.value());
    }

    const auto deadline = SteadyClock::now() + request.read_timeout.value_or(impl_->options.read_timeout);
    const std::string what = request.method + " " + key + url.target.substr(0, url.target.find('?'));
    error_code ec;
    std::size_t written = 0;
    connection->tcp_layer().expires_after(remaining(deadline));
    connection->with_stream([&](auto& stream) {
        asio::async_write(stream, asio::buffer(wire), [&](error_code write_ec, std::size_t n) {
            ec = write_ec;
            written = n;
        });
    });
    connection->drive();
    if (ec) {
        connection->close();
        // A partly written request cannot have been processed by the server.
        const auto code = written < wire.size() ? kNotSent : kOutcomeUnknown;
        return make_error(std::string(code), what + ": write failed: " + ec.message());
    }

    const auto read_failed = [&](error_code read_ec) {
        connection->close();
        const std::string why = read_ec == beast::error::timeout ? "no complete answer before the read timeout"
                                                                 : "reading the answer failed: " + read_ec.message();
        return make_error(std::string(kOutcomeUnknown),
                          what + ": request sent, " + why + (reused ? " (reused connection)" : ""));
    };
    HttpExchangeResult result;
    result.reused_connection = reused;
    bool keep_alive = false;
    if (sink == nullptr) {
        http::response_parser<http::string_body> parser;
        parser.body_limit(impl_->options.max_response_bytes);
        parser.header_limit(64 * 1024);
        if (request.method == "HEAD") parser.skip(true);
        connection->tcp_layer().expires_after(remaining(deadline));
        connection->with_stream([&](auto& stream) {
            http::async_read(stream, connection->buffer, parser, [&](error_code read_ec, std::size_t) { ec = read_ec; });
        });
        connection->drive();
        if (ec) return read_failed(ec);
        auto message = parser.release();
        result.status = static_cast<int>(message.result_int());
        for (const auto& field : message) result.headers.add(std::string(field.name_string()), std::string(field.value()));
        result.body = std::move(message.body());
        keep_alive = message.keep_alive() && !message.need_eof();
    } else {
        // The header first, then the body through one fixed buffer: a 2xx
        // body goes to the sink piece by piece, any other is collected.
        http::response_parser<http::buffer_body> parser;
        // No limit: the body is not held. (Not boost::none: Beast 1.74 compares
        // the Content-Length with the optional, and any length exceeds "none".)
        parser.body_limit(std::numeric_limits<std::uint64_t>::max());
        parser.header_limit(64 * 1024);
        if (request.method == "HEAD") parser.skip(true);
        connection->tcp_layer().expires_after(remaining(deadline));
        connection->with_stream([&](auto& stream) {
            http::async_read_header(stream, connection->buffer, parser,
                                    [&](error_code read_ec, std::size_t) { ec = read_ec; });
        });
        connection->drive();
        if (ec) return read_failed(ec);
        result.status = static_cast<int>(parser.get().result_int());
        for (const auto& field : parser.get()) {
            result.headers.add(std::string(field.name_string()), std::string(field.value()));
        }
        const bool to_sink = result.status >= 200 && result.status <= 299;
        std::vector<char> chunk(kStreamChunkBytes);
        while (!parser.is_done()) {
            parser.get().body().data = chunk.data();
            parser.get().body().size = chunk.size();
            connection->tcp_layer().expires_after(remaining(deadline));
            connection->with_stream([&](auto& stream) {
                http::async_read(stream, connection->buffer, parser, [&](error_code read_ec, std::size_t) { ec = read_ec; });
            });
            connection->drive();
            if (ec == http::error::need_buffer) ec = {};
            if (ec) return read_failed(ec);
            const std::size_t n = chunk.size() - parser.get().body().size;
            if (n == 0) continue;
            const std::string_view piece(chunk.data(), n);
            if (!to_sink) {
                if (result.body.size() + n > impl_->options.max_response_bytes) {
                    connection->close();
                    return make_error(std::string(kOutcomeUnknown), what + ": request sent, HTTP " +
                                                                        std::to_string(result.status) +
                                                                        " answer larger than max_response_bytes");
                }
                result.body.append(piece);
                continue;
            }
            result.streamed_bytes += n;
            result.largest_chunk = std::max(result.largest_chunk, n);
            if (auto fed = (*sink)(piece); !fed) {
                connection->close();  // the rest of the body is not read: the connection cannot be reused
                return fed.error();
            }
        }
        keep_alive = parser.get().keep_alive() && !parser.need_eof();
    }
    connection->tcp_layer().expires_never();
    if (keep_alive) {
        impl_->give_back(std::move(connection));
    } else {
        connection->close();
    }
    return result;
}

}  // namespace meterbridge::net
